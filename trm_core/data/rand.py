"""Counter-based random numbers: the same keys always give the same numbers, in any order.

On-the-fly augmentation draws version ``k`` of puzzle ``g`` from ``hash_uniform(seed, [g, k])``, so
"1000 augmentations per puzzle" are 1000 fixed versions without storing them, and a resumed run
sees exactly the versions it would have seen.
"""
from __future__ import annotations

import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wrapping arithmetic)."""
    z = z + _GOLDEN
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def hash_uniform(seed: int, keys, n: int) -> np.ndarray:
    """Uniform floats in [0, 1), shape (B, n), a pure function of ``seed`` and each row of ``keys``.

    ``keys``: (B,) or (B, m) non-negative ints, e.g. (puzzle, version) pairs.
    """
    keys = np.asarray(keys, dtype=np.int64)
    if keys.ndim == 1:
        keys = keys[:, None]
    with np.errstate(over="ignore"):
        h = _mix(np.full(len(keys), seed & 0xFFFFFFFFFFFFFFFF, dtype=np.uint64))
        for j in range(keys.shape[1]):
            h = _mix(h ^ keys[:, j].astype(np.uint64))
        z = _mix(h[:, None] ^ (np.arange(n, dtype=np.uint64) * _GOLDEN)[None, :])  # (B, n)
    return (z >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
