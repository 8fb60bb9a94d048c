"""Checkpoints: atomic saves, and loads that say clearly what does not match.

A training checkpoint holds the model, the EMA, the optimizers, the step, the RNG states, the ACT
carry (the puzzles in flight and their latent states), the data stream's position, the configs and
a description of the data: everything needed for a resumed run to end with exactly the weights of
an uninterrupted one.
"""
from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

import numpy as np
import torch

from .config import ModelConfig
from .models import build_model

FORMAT = "trm_core.checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or from another model or task."""


def save_atomic(obj: dict, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file beside ``path``, then rename: a crash leaves the old file intact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load(path: str | os.PathLike, map_location="cpu") -> dict:
    """Read a trm_core checkpoint, with one-line errors for a missing or foreign file."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.pt"
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # truncated file, not a torch file, ...
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise CheckpointError(
            f"{path} is not a trm_core checkpoint (for reference-code checkpoints use trm_core.compat.from_reference)"
        )
    return ckpt


def check_compatible(saved: dict, expected: dict, what: str) -> None:
    """Raise if two config dicts differ, naming the fields (``what``: "model config", "task", ...)."""
    diffs = [f"{k}: checkpoint {saved.get(k)!r} vs {expected.get(k)!r}"
             for k in sorted(set(saved) | set(expected)) if saved.get(k) != expected.get(k)]
    if diffs:
        raise CheckpointError(f"checkpoint was made for another {what} ({'; '.join(diffs)})")


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
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
