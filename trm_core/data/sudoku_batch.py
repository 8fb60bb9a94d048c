"""The Sudoku search of ``sudoku_solver`` run on many puzzles at once with NumPy.

Each live search ("worker") has one state (its candidate bitmasks, a column of ``X``) and a stack of
open choices. A step propagates every live state together (naked and hidden singles as whole-array
operations, repeated until no column changes), then each worker records a solution, guesses (pushes
the chosen cell's other candidates and tries the smallest) or backtracks (pops the next candidate).
When the batch thins out, the oldest open choices of the live workers go to new workers, so the last,
hardest puzzles are searched many branches at a time instead of one node per step.

The rules, the choice of cell and the order of candidates are ``sudoku_solver.search``'s, so a
search that runs to its end (``limit=2`` on a puzzle with one solution) makes exactly the same
number of guesses.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..errors import UserError
from .sudoku_solver import BOX_SHAPES, tables


@lru_cache(maxsize=None)
def _unit_index(size: int) -> np.ndarray:
    """Cells of every unit, (3, n cells, n units): [0] rows, [1] columns, [2] boxes."""
    units = np.array(tables(size).units).reshape(3, size, size)  # (kind, unit, cell)
    return units.transpose(0, 2, 1).reshape(-1)


def _by_unit(g: np.ndarray, size: int) -> np.ndarray:
    """The cells of grids g (n*n, R) gathered per unit: (3, n cells, n units, R)."""
    return g.take(_unit_index(size), axis=0).reshape(3, size, size, g.shape[1])


def _to_cells(v: np.ndarray, size: int) -> np.ndarray:
    """Per cell (n*n, R): the OR of a value per row, per column and per box (v: (3, n, R))."""
    br, bc = BOX_SHAPES[size]
    R = v.shape[2]
    rc = (v[0][:, None, :] | v[1][None, :, :]).reshape(size // br, br, size // bc, bc, R)
    return (rc | v[2].reshape(size // br, 1, size // bc, 1, R)).reshape(size * size, R)


def _propagate(X: np.ndarray, size: int) -> np.ndarray:
    """Naked and hidden singles, in place, on every column of X (n*n, B) of candidate bitmasks.

    Puzzles are stored cell-major (a column per puzzle) so that every operation runs along long
    contiguous runs of puzzles. Returns a boolean (B,): the puzzles that reached a contradiction.
    """
    full = (1 << size) - 1
    bad = np.zeros(X.shape[1], dtype=bool)
    live = np.arange(X.shape[1])
    x = X
    while len(live):
        free = -((x & (x - 1)) != 0).astype(np.int16)  # (N, R): all bits set where the cell is not fixed
        placed = _by_unit(x & ~free, size)  # (3, n, n, R)
        taken = np.bitwise_or.reduce(placed, axis=1)  # (3, n, R): digits placed in each unit
        contra = (placed.sum(axis=1, dtype=np.int16) != taken).any(axis=(0, 1))  # a digit placed twice
        y = x & ~(_to_cells(taken, size) & free)  # naked singles: placed digits leave their peers
        u = _by_unit(y, size)
        once, twice = u[:, 0].copy(), np.zeros_like(u[:, 0])  # (3, n, R): digits seen once / twice
        for k in range(1, size):
            twice |= once & u[:, k]
            once |= u[:, k]
        h = y & _to_cells(once & ~twice, size)  # hidden singles: a digit's only place in a unit
        y = (y & ((h != 0).astype(np.int16) - 1)) | h
        contra |= (once != full).any(axis=(0, 1))  # a digit with no place left in a unit
        contra |= ((h & (h - 1)) != 0).any(axis=0)  # two digits need one cell
        contra |= (y == 0).any(axis=0)
        changed = (y != x).any(axis=0)
        X[:, live] = y
        bad[live[contra]] = True
        go_on = changed & ~contra
        live = live[go_on]
        x = y[:, go_on]
    return bad


def solve_batch(puzzles: np.ndarray, size: int, limit: int = 1, chunk: int = 2048, workers: int = 2048):
    """Search each puzzle of ``puzzles`` (B, n*n) ints (0 = blank) for up to ``limit`` solutions.

    Returns ``(solutions, counts, guesses)``, arrays of length B: the first solution found of each
    puzzle (B, n*n), zeros where there is none; the number of solutions found (at most ``limit``;
    with ``limit=2``, 1 means unique and 0 unsolvable); and the guesses made.

    When fewer than ``workers`` searches are live, the open choices of the live ones are handed to
    new workers, so the last hard puzzles of a batch are searched many branches at a time. The
    guess count is therefore exactly ``solve_cells``'s whenever the whole tree is searched (e.g.
    ``limit=2`` on a puzzle with at most one solution); when the search stops early it is the
    work done, which may differ a little.
    """
    puzzles = np.asarray(puzzles)
    if puzzles.ndim != 2 or puzzles.shape[1] != size * size:
        raise UserError(f"puzzles have shape {puzzles.shape}, expected (B, {size * size}) for {size}x{size}")
    if puzzles.size and (puzzles.min() < 0 or puzzles.max() > size):
        raise UserError(f"puzzle digits must be 0 (blank) to {size}")
    parts = [_solve_chunk(puzzles[i:i + chunk], size, limit, workers) for i in range(0, len(puzzles), chunk)]
    if not parts:
        return np.zeros((0, size * size), np.int8), np.zeros(0, np.int64), np.zeros(0, np.int64)
    return tuple(np.concatenate(p) for p in zip(*parts))


def _solve_chunk(puzzles: np.ndarray, size: int, limit: int, workers: int):
    B, N = puzzles.shape
    full = (1 << size) - 1
    start = np.concatenate([[full], 1 << np.arange(size)]).astype(np.int16)
    X = np.ascontiguousarray(start[puzzles.astype(np.intp)].T)  # (N, A): the live state of each worker
    slot = np.arange(B)  # each live worker's slot, holding its stack of open choices
    W = max(B, workers)
    D = int((puzzles == 0).sum(axis=1).max()) + 1  # each open choice on a path is a different blank cell
    owner = np.zeros(W, dtype=np.intp)  # the puzzle of each slot
    owner[:B] = np.arange(B)
    stack = np.zeros((W, D, N), dtype=np.int16)  # states whose chosen cell keeps its untried candidates
    stack_cell = np.zeros((W, D), dtype=np.intp)
    base = np.zeros(W, dtype=np.intp)  # a slot's open choices are at levels base .. depth - 1
    depth = np.zeros(W, dtype=np.intp)
    free = list(range(W - 1, B - 1, -1))
    solutions = np.zeros((B, N), dtype=np.int8)
    counts = np.zeros(B, dtype=np.int64)
    guesses = np.zeros(B, dtype=np.int64)
    while len(slot):
        bad = _propagate(X, size)
        pop = np.bitwise_count(X)  # (N, A)
        pop[pop <= 1] = 99  # fixed cells are never chosen
        cell = pop.argmin(axis=0)  # minimum remaining values, first in reading order
        cols = np.arange(len(slot))
        done = (pop[cell, cols] == 99) & ~bad  # every cell fixed: a solution
        who = owner[slot]
        found = who[done]
        new = counts[found] == 0
        solutions[found[new]] = (np.bitwise_count(X[:, done][:, new] - 1) + 1).T
        np.add.at(counts, found, 1)
        np.minimum(counts, limit, out=counts)  # several workers of one puzzle may finish together
        # Guess: keep the other candidates of the chosen cell on the stack, try the smallest now.
        go = ~bad & ~done
        gi, gc, gs = cols[go], cell[go], slot[go]
        m = X[gc, gi]
        b = m & -m
        level = depth[gs]
        stack[gs, level] = X[:, gi].T
        stack[gs, level, gc] = m & ~b
        stack_cell[gs, level] = gc
        depth[gs] += 1
        X[gc, gi] = b
        np.add.at(guesses, who[go], 1)
        # Backtrack: contradictions, and solutions when more are wanted: the next untried candidate.
        back = ~go & (counts[who] < limit) & (depth[slot] > base[slot])
        bi = cols[back]
        bs = slot[bi]
        level = depth[bs] - 1
        c = stack_cell[bs, level]
        m = stack[bs, level, c]
        b = m & -m
        X[:, bi] = stack[bs, level].T
        X[c, bi] = b
        stack[bs, level, c] = m & ~b
        depth[bs] -= m == b
        np.add.at(guesses, who[bi], 1)
        keep = (go | back) & (counts[who] < limit)
        free.extend(slot[~keep].tolist())
        X, slot = X[:, keep], slot[keep]
        if len(slot) < workers and free:
            X, slot = _split(X, slot, workers, free, owner, stack, stack_cell, base, depth, guesses)
    return solutions, counts, guesses


def _split(X, slot, workers, free, owner, stack, stack_cell, base, depth, guesses):
    """Give the oldest open choice of live workers to new workers (the biggest untried subtrees)."""
    donors = slot[depth[slot] > base[slot]][: min(workers - len(slot), len(free))]
    if not len(donors):
        return X, slot
    new = np.array([free.pop() for _ in range(len(donors))], dtype=np.intp)
    level = base[donors]
    c = stack_cell[donors, level]
    state = stack[donors, level]  # (k, N)
    m = state[np.arange(len(donors)), c]
    b = m & -m
    rest = m & ~b
    owner[new] = owner[donors]
    stack[new, level] = state
    stack[new, level, c] = rest
    stack_cell[new, level] = c
    base[new] = level
    depth[new] = level + (rest != 0)
    base[donors] += 1
    state[np.arange(len(donors)), c] = b
    np.add.at(guesses, owner[new], 1)
    return np.concatenate([X, state.T], axis=1), np.concatenate([slot, new])
