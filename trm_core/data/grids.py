"""The 8 symmetries of a square (the dihedral group), for mazes and ARC grids.

Transform ``k`` acts on the last two axes, so it applies to one grid or a batch alike.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import UserError

DIHEDRAL = ("identity", "rot90", "rot180", "rot270", "flip_lr", "flip_ud", "transpose", "anti_transpose")
#: DIHEDRAL_INVERSE[k] undoes transform k.
DIHEDRAL_INVERSE = (0, 3, 2, 1, 4, 5, 6, 7)


def dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    """Transform ``k`` (0-7, see DIHEDRAL) of the last two axes; rotations are counter-clockwise."""
    g = np.asarray(grid)
    if k == 0:
        return g
    if k in (1, 2, 3):
        return np.rot90(g, k, axes=(-2, -1))
    if k == 4:
        return g[..., :, ::-1]
    if k == 5:
        return g[..., ::-1, :]
    if k == 6:
        return np.swapaxes(g, -1, -2)
    if k == 7:
        return np.swapaxes(g[..., ::-1, ::-1], -1, -2)
    raise UserError(f"dihedral transform must be 0-7, got {k}")


def inverse_dihedral(grid: np.ndarray, k: int) -> np.ndarray:
    return dihedral(grid, DIHEDRAL_INVERSE[k])


@lru_cache(maxsize=None)
def dihedral_perms(n: int) -> np.ndarray:
    """(8, n*n) index maps of an n x n grid: ``dihedral(g, k).ravel() == g.ravel()[perms[k]]``."""
    idx = np.arange(n * n).reshape(n, n)
    perms = np.stack([dihedral(idx, k).reshape(-1) for k in range(8)])
    perms.setflags(write=False)
    return perms
