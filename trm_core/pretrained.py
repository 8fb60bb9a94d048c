"""The small pretrained checkpoints the workbook ships in ``data/``, so notebooks run instantly.

>>> model, ckpt = trm_core.pretrained.load("trm-sudoku6")      # doctest: +SKIP

Where a checkpoint is looked for, in order: ``$TRM_DATA_DIR``, the repository's ``data/`` folder (a
clone, or an editable install), then the download cache ``~/.cache/trm_workbook``. Never the current
directory. When the package was installed without the repository (``pip install git+...`` on Colab)
the file is downloaded once into the cache: to a temporary name first, then checked against the
SHA-256 recorded here, then renamed, so an interrupted or altered download never lands in the cache.
Every file is checked against its SHA-256 before it is loaded, wherever it was found.
``data/README.md`` lists each checkpoint with the command that reproduces it and its accuracy.
"""
from __future__ import annotations

import hashlib
import os
import re
import urllib.request
from pathlib import Path

from . import checkpoint as ckpt_io
from .errors import UserError

REVISION = "main"  # the branch the files are downloaded from (the checksums pin their content)
# name: (file, SHA-256 of its bytes). Re-exporting a checkpoint means updating its hash here
# (tests/test_pretrained.py checks that the files in data/ match).
CHECKPOINTS = {
    # trm-mlp-tiny
    "trm-sudoku6": ("trm-sudoku6.pt", "772cee74043cb8291504ae3523e81e419e7beeb259d1b48b2e4f7c614bdf004d"),
    # hrm-tiny
    "hrm-sudoku6": ("hrm-sudoku6.pt", "a4d5c91c502dfeb3cc0e6dbcd82710f12a6d9720179c1ca7d43e05a508fcc5d8"),
    # trm-mlp-tiny on 7x7 perfect mazes (notebook 07)
    "trm-maze7": ("trm-maze7.pt", "2f3abd893cffd0730f1de06a419746b64a05af76d946e0de31bcb088c3b423c2"),
    # notebook 06's full-size grid (a CSV, not a checkpoint: read it with the csv module)
    "recursion-vs-scale": ("recursion_vs_scale.csv",
                           "896d1ea1d131ab8f827f439c84e9b9aa5c641b6d1c18c5adca132688dc3c05d2"),
    # notebook 08's accuracy-against-compute measurements (benchmarks/thinking_longer.py; a CSV)
    "thinking-longer": ("thinking_longer.csv", "7d83e579de32567a920115b1f695292595db0ad58de03d5ec60dda38566d49e3"),
}
CACHE = Path.home() / ".cache" / "trm_workbook"


class PretrainedError(UserError, FileNotFoundError):
    """A shipped checkpoint that is unknown, not on disk and not downloadable, or not the file we shipped."""


def sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def repo_url() -> str:
    """The workbook's repository: ``$TRM_WORKBOOK_URL`` (a fork, a ``file://`` clone) or trm_core.REPO_URL."""
    from . import REPO_URL

    return os.environ.get("TRM_WORKBOOK_URL") or REPO_URL


def file_url(filename: str, repo: str | None = None) -> str:
    """Where ``data/filename`` of the repository can be downloaded: GitHub's raw address for a GitHub
    repository, else ``<repository>/data/<filename>`` (a web server or a ``file://`` clone)."""
    repo = (repo or repo_url()).rstrip("/")
    github = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)(\.git)?", repo)
    if github:
        return f"https://raw.githubusercontent.com/{github[1]}/{github[2]}/{REVISION}/data/{filename}"
    return f"{repo}/data/{filename}"


def _folders() -> list[Path]:
    dirs = [Path(__file__).resolve().parents[1] / "data", CACHE]
    if os.environ.get("TRM_DATA_DIR"):
        dirs.insert(0, Path(os.environ["TRM_DATA_DIR"]))
    return dirs


def _checked(path: Path, expected: str) -> Path:
    got = sha256(path)
    if got != expected:
        raise PretrainedError(f"{path} is not the shipped file (SHA-256 {got[:12]}..., expected {expected[:12]}...); "
                              "delete it to download it again")
    return path


def fetch(url: str, target: Path, expected: str) -> Path:
    """``url`` -> ``target`` through a temporary file, renamed only once its SHA-256 is ``expected``."""
    digest = hashlib.sha256()
    with ckpt_io.atomic_write(target) as f, urllib.request.urlopen(url, timeout=60) as response:
        for chunk in iter(lambda: response.read(1 << 20), b""):
            digest.update(chunk)
            f.write(chunk)
        if digest.hexdigest() != expected:
            raise PretrainedError(f"the download from {url} is not the shipped file (SHA-256 "
                                  f"{digest.hexdigest()[:12]}..., expected {expected[:12]}...); nothing was saved")
    return target


def path(name: str, download: bool = True) -> Path:
    """Where the checkpoint ``name`` lies, checked against its SHA-256 (downloaded if allowed and missing)."""
    if name not in CHECKPOINTS:
        raise PretrainedError(f"unknown pretrained checkpoint {name!r}; choose one of {', '.join(CHECKPOINTS)}")
    filename, expected = CHECKPOINTS[name]
    folders = _folders()
    for folder in folders:
        if (folder / filename).is_file():
            return _checked(folder / filename, expected)
    if not download:
        raise PretrainedError(f"pretrained checkpoint {filename} not found (looked in "
                              f"{', '.join(str(d) for d in folders)})")
    url = file_url(filename)
    try:
        return fetch(url, CACHE / filename, expected)
    except PretrainedError:
        raise
    except OSError as e:
        raise PretrainedError(f"pretrained checkpoint {filename} is not on disk and could not be downloaded from "
                              f"{url} ({e}); put the file in $TRM_DATA_DIR or {CACHE}") from None


def available(name: str) -> bool:
    """True when the checkpoint is on disk and intact (no download attempted)."""
    try:
        path(name, download=False)
        return True
    except PretrainedError:
        return False


def load(name: str, device="cpu", use_ema: bool = True):
    """(model, checkpoint dict) of a shipped checkpoint; the model is in eval mode with EMA weights."""
    ckpt = ckpt_io.load(path(name), map_location="cpu")
    return ckpt_io.model_from_checkpoint(ckpt, use_ema=use_ema, device=device), ckpt


def try_load(name: str, device="cpu"):
    """:func:`load`, or ``(None, reason)`` when the checkpoint cannot be had (not on disk, no network,
    not the shipped file): for notebooks that train their own model instead, and say why."""
    try:
        return load(name, device=device)
    except UserError as e:  # PretrainedError, CheckpointError
        return None, str(e)


def export(src, dst, note: dict | None = None) -> Path:
    """Write a slim, shareable copy of the training checkpoint ``src`` (a file or run directory) to ``dst``.

    ``note`` (e.g. the command that made it and its measured accuracy) is stored under ``"note"``.
    """
    ckpt = ckpt_io.load(src, map_location="cpu")
    return ckpt_io.save_atomic(ckpt_io.slim(ckpt, {"note": note or {}}), dst)
