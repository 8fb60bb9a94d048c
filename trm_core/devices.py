"""Device selection, seeding and the mixed-precision policy (CUDA, then MPS, then CPU)."""
from __future__ import annotations

import os
import random
from contextlib import nullcontext

import numpy as np
import torch

from .errors import UserError

_VALID = ("cpu", "cuda", "mps")


def _available(kind: str) -> bool:
    if kind == "cuda":
        return torch.cuda.is_available()
    if kind == "mps":
        return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    return kind == "cpu"


def pick_device(preferred: str | None = None) -> torch.device:
    """The best device: ``preferred``, else ``$TRM_DEVICE``, else CUDA, then MPS, then CPU.

    An explicit request for a device that is not there is an error (not a silent fallback), so a
    typo in ``TRM_DEVICE`` or ``--device`` is noticed.
    """
    choice = preferred or os.environ.get("TRM_DEVICE") or ""
    choice = choice.strip().lower()
    if choice and choice != "auto":
        kind = choice.split(":")[0]
        if kind not in _VALID:
            raise UserError(f"unknown device {choice!r}: use one of cpu, cuda, cuda:N, mps, auto")
        if not _available(kind):
            raise UserError(f"device {choice!r} was requested but is not available on this machine")
        return torch.device(choice)
    for kind in ("cuda", "mps"):
        if _available(kind):
            return torch.device(kind)
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


#: bf16 autocast on the CPU as well (``TRM_CPU_BF16=1``): not the float32 math of the paper, an
#: option for CPUs with bf16 instructions (AVX-512-BF16, AMX), measured in
#: ``benchmarks/bench_reference.py --bf16`` and ``benchmarks/demo_recipes.py`` (recipe "*-bf16").
CPU_BF16 = os.environ.get("TRM_CPU_BF16", "") == "1"


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """The policy: bf16 autocast on CUDA; none (float32) on MPS and CPU, unless :data:`CPU_BF16` is set."""
    kind = torch.device(device).type
    if kind == "cuda" or (kind == "cpu" and CPU_BF16):
        return torch.bfloat16
    return None


def autocast_context(device: torch.device | str):
    """A context manager applying :func:`autocast_dtype` (a no-op off CUDA)."""
    dtype = autocast_dtype(device)
    if dtype is None:
        return nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def high_precision_dtype(device: torch.device | str) -> torch.dtype:
    """float64 where the device has it, float32 on MPS (which has no float64)."""
    return torch.float32 if torch.device(device).type == "mps" else torch.float64
