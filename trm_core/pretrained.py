"""The small pretrained checkpoints the workbook ships in ``data/``, so notebooks run instantly.

>>> model = trm_core.pretrained.load("trm-sudoku6")      # doctest: +SKIP

Looked for in the repository's ``data/`` folder (a clone, or an editable install), then in
``$TRM_DATA_DIR``; when the package was installed without the repository (``pip install git+...``
on Colab) the file is downloaded once from the repository into ``~/.cache/trm_workbook``.
``data/README.md`` lists each checkpoint with the command that reproduces it and its accuracy.
"""
from __future__ import annotations

import os
import urllib.request
from pathlib import Path

from . import checkpoint as ckpt_io

REPO_RAW = "https://raw.githubusercontent.com/trm-workbook/trm-workbook/main/data"
CHECKPOINTS = {
    "trm-sudoku6": "trm-sudoku6.pt",  # TRM-MLP (trm-mlp-tiny) on minimal 6x6 Sudoku
    "hrm-sudoku6": "hrm-sudoku6.pt",  # HRM (hrm-tiny) on the same task
}


def _candidates(filename: str) -> list[Path]:
    dirs = [Path(__file__).resolve().parents[1] / "data", Path.cwd() / "data", Path.cwd().parent / "data"]
    if os.environ.get("TRM_DATA_DIR"):
        dirs.insert(0, Path(os.environ["TRM_DATA_DIR"]))
    dirs.append(Path.home() / ".cache" / "trm_workbook")
    return [d / filename for d in dirs]


def path(name: str, download: bool = True) -> Path:
    """Where the checkpoint ``name`` lies (downloading it if allowed and nowhere on disk)."""
    if name not in CHECKPOINTS:
        raise ValueError(f"unknown pretrained checkpoint {name!r}; choose one of {', '.join(CHECKPOINTS)}")
    candidates = _candidates(CHECKPOINTS[name])
    for p in candidates:
        if p.exists():
            return p
    if not download:
        raise FileNotFoundError(f"pretrained checkpoint {CHECKPOINTS[name]} not found (looked in "
                                f"{', '.join(str(p.parent) for p in candidates)})")
    target = candidates[-1]
    target.parent.mkdir(parents=True, exist_ok=True)
    url = f"{REPO_RAW}/{CHECKPOINTS[name]}"
    try:
        urllib.request.urlretrieve(url, target)
    except OSError as e:
        raise FileNotFoundError(f"pretrained checkpoint {CHECKPOINTS[name]} is not on disk and could not be "
                                f"downloaded from {url} ({e}); put the file in data/ or $TRM_DATA_DIR") from None
    return target


def available(name: str) -> bool:
    """True when the checkpoint is on disk (no download attempted)."""
    try:
        path(name, download=False)
        return True
    except FileNotFoundError:
        return False


def load(name: str, device="cpu", use_ema: bool = True):
    """(model, checkpoint dict) of a shipped checkpoint; the model is in eval mode with EMA weights."""
    ckpt = ckpt_io.load(path(name), map_location="cpu")
    return ckpt_io.model_from_checkpoint(ckpt, use_ema=use_ema, device=device), ckpt


def export(src, dst, note: dict | None = None) -> Path:
    """Write a slim, shareable copy of the training checkpoint ``src`` (a file or run directory) to ``dst``.

    ``note`` (e.g. the command that made it and its measured accuracy) is stored under ``"note"``.
    """
    ckpt = ckpt_io.load(src, map_location="cpu")
    return ckpt_io.save_atomic(ckpt_io.slim(ckpt, {"note": note or {}}), dst)
