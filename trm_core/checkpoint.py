"""Checkpoints: atomic saves, and loads that say clearly what does not match.

A training checkpoint holds the model, the EMA, the optimizers, the step, the RNG states, the ACT
carry (the puzzles in flight and their latent states), the data stream's position, the configs and
a description of the data: everything needed for a resumed run to end with exactly the weights of
an uninterrupted one.

A checkpoint is data, never code: everything in it is a tensor, a number, a string, or a list, tuple
or dict of those, and :func:`load` reads it with ``torch.load(weights_only=True)``, which refuses any
other object (a crafted pickle cannot run its payload). Keep it so: store a NumPy array as a tensor.
"""
from __future__ import annotations

import os
import pickle
import random
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .config import ModelConfig
from .errors import UserError
from .models import build_model

FORMAT = "trm_core.checkpoint/1"


class CheckpointError(UserError):
    """A checkpoint that is missing, unreadable, or from another model or task."""


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb"):
    """Write ``path`` through a temporary file beside it, renamed over ``path`` only when the block ends
    without an error: a crash, an interrupt or a failed check inside the block leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_atomic(obj: dict, path: str | os.PathLike) -> Path:
    """``torch.save`` through :func:`atomic_write`."""
    with atomic_write(path) as f:
        torch.save(obj, f)
    return Path(path)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Text through :func:`atomic_write`."""
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def load(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a trm_core checkpoint, with one-line errors for a missing or foreign file."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        if "Unsupported global" not in str(e):  # not a torch file at all
            raise CheckpointError(f"{path} is not a readable checkpoint (not a torch file)") from None
        # an object that is not plain data: refused before it is built
        first = str(e).split("GLOBAL ", 1)[-1].split(" ", 1)[0]  # the first thing it would have built
        raise CheckpointError(f"{path} holds more than tensors and plain data ({first}); refusing to load it, "
                              "since unpickling it could run code. Only load files whose source you trust.") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path} is a folder, not a checkpoint") from None
    except PermissionError:
        raise CheckpointError(f"{path} cannot be read (permission denied)") from None
    except Exception as e:  # truncated file, not a torch file, ...
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: {reason})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a trm_core checkpoint (for reference-code checkpoints use trm_core.compat.from_reference)"
        )
    return ckpt


_HELD: dict[Path, int] = {}  # run folders this process holds, with how many nested run_lock()s


@contextmanager
def run_lock(folder: str | os.PathLike):
    """Hold the run folder ``folder`` for this process: another process that tries gets a CheckpointError.

    An OS file lock (``flock``) on ``folder/.lock``: released when the process ends however it ends
    (SIGKILL included), so a crashed run never leaves a stale lock. Nested use in one process is fine.
    Where there is no ``fcntl`` (Windows) nothing is locked.
    """
    folder = Path(folder).resolve()
    if folder in _HELD:
        _HELD[folder] += 1
        try:
            yield folder
        finally:
            _HELD[folder] -= 1
        return
    if folder.exists() and not folder.is_dir():
        raise CheckpointError(f"{folder} is a file, not a run folder: choose another one")
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        fcntl = None
    handle = open(folder / ".lock", "a+")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                pid = handle.read().strip() or "unknown"
                raise CheckpointError(f"{folder} is in use by another training process (pid {pid}): "
                                      "wait for it to finish, or train into another folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        _HELD[folder] = 1
        try:
            yield folder
        finally:
            del _HELD[folder]
    finally:
        handle.close()  # closing releases the flock


def check_compatible(saved: dict, expected: dict, what: str) -> None:
    """Raise if two config dicts differ, naming the fields (``what``: "model config", "task", ...)."""
    diffs = [f"{k}: checkpoint {saved.get(k)!r} vs {expected.get(k)!r}"
             for k in sorted(set(saved) | set(expected)) if saved.get(k) != expected.get(k)]
    if diffs:
        raise CheckpointError(f"checkpoint was made for another {what} ({'; '.join(diffs)})")


def rng_state() -> dict:
    """Python's, NumPy's and torch's random states, as plain data (NumPy's keys as a tensor)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state(legacy=True)
    state = {"python": random.getstate(), "torch": torch.get_rng_state(),
             "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                       "has_gauss": int(has_gauss), "gauss": float(gauss)}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def model_from_checkpoint(ckpt: dict | str | os.PathLike, use_ema: bool = True, device="cpu"):
    """Rebuild the model saved in a checkpoint (with EMA weights when present), in eval mode."""
    if not isinstance(ckpt, dict):
        ckpt = load(ckpt)
    model = build_model(ModelConfig.from_dict(ckpt["model_config"]))
    model.load_state_dict(ckpt["model"])
    if use_ema and ckpt.get("ema"):
        params = dict(model.named_parameters())
        with torch.no_grad():
            for k, v in ckpt["ema"]["shadow"].items():
                params[k].copy_(v)
    return model.to(device).eval()


def slim(ckpt: dict, extra: dict | None = None) -> dict:
    """A small copy of a training checkpoint for sharing: the (EMA) weights, configs and data description.

    No optimizer state, carry or RNG: it cannot resume training, only be evaluated and explored.
    """
    model = model_from_checkpoint(ckpt, use_ema=True)
    out = {k: ckpt[k] for k in ("format", "model_config", "train_config", "data", "step", "elapsed") if k in ckpt}
    out.update(model={k: v.clone() for k, v in model.state_dict().items()}, ema=None, **(extra or {}))
    return out
