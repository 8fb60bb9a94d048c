"""An exact Sudoku solver and a generator of puzzles with one solution (4x4, 6x6, 9x9).

The solver keeps one bitmask of candidates per cell (bit ``d - 1`` set while digit ``d`` is still
possible) and propagates two rules to a fixed point:

- naked single: a cell with one candidate removes it from its peers (row, column and box);
- hidden single: a digit with one place left in a row, column or box goes there.

Then it searches depth first: it picks the empty cell with the fewest candidates (minimum remaining
values; the first such cell in reading order) and tries its candidates one by one, smallest first
(or in random order when given ``rng``, to draw random grids).

``guesses`` counts the trial assignments the search made: 0 for a puzzle the two rules alone solve.
With ``limit=2`` (find the solution and prove there is no other) it is the difficulty rating used
throughout the workbook. ``sudoku_batch.py`` runs the same search on many puzzles at once with
NumPy (the same guesses whenever the search runs to its end, as it does for a rating).

Everything here works on flat lists of ``size * size`` ints, 0 for a blank; ``sudoku.py`` wraps it
with parsing, validation and error messages.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from ..errors import UserError

#: Box shape (rows, columns) of each supported size.
BOX_SHAPES = {4: (2, 2), 6: (2, 3), 9: (3, 3)}


@dataclass(frozen=True)
class Tables:
    """Lookup tables of one grid size."""

    size: int
    full: int  # every candidate bit set
    units: tuple  # 3 * size tuples of cells: rows, then columns, then boxes
    peers: tuple  # peers[c]: cells sharing a row, column or box with c
    cell_units: tuple  # cell_units[c]: bitmask over units of the 3 units holding c
    popcount: tuple  # popcount[mask]


@lru_cache(maxsize=None)
def tables(size: int) -> Tables:
    if size not in BOX_SHAPES:
        raise UserError(f"unsupported Sudoku size {size}; choose 4, 6 or 9")
    br, bc = BOX_SHAPES[size]
    rows = [tuple(r * size + c for c in range(size)) for r in range(size)]
    cols = [tuple(r * size + c for r in range(size)) for c in range(size)]
    boxes = [
        tuple((r0 + r) * size + c0 + c for r in range(br) for c in range(bc))
        for r0 in range(0, size, br)
        for c0 in range(0, size, bc)
    ]
    units = tuple(rows + cols + boxes)
    cells = range(size * size)
    peers = tuple(tuple(sorted({p for u in units if c in u for p in u} - {c})) for c in cells)
    cell_units = tuple(sum(1 << i for i, u in enumerate(units) if c in u) for c in cells)
    popcount = tuple(bin(m).count("1") for m in range(1 << size))
    return Tables(size, (1 << size) - 1, units, peers, cell_units, popcount)


@dataclass
class SolveResult:
    """What a search found."""

    solutions: list  # flat digit lists, at most ``limit`` of them
    guesses: int  # trial assignments made
    complete: bool  # True when the search ran to its end: len(solutions) is then the exact count

    @property
    def count(self) -> int:
        return len(self.solutions)


def propagate(cands: list, queue: list, t: Tables, dirty: int) -> bool:
    """Apply naked and hidden singles in place until nothing changes. False on a contradiction.

    ``queue`` holds cells fixed but not yet removed from their peers; ``dirty`` is a bitmask of the
    units to re-check for hidden singles (units where a cell lost a candidate).
    """
    peers, units, full, cell_units = t.peers, t.units, t.full, t.cell_units
    while True:
        while queue:  # naked singles
            c = queue.pop()
            m = cands[c]
            keep = ~m
            for p in peers[c]:
                pm = cands[p]
                if pm & m:
                    pm &= keep
                    if not pm:
                        return False  # a cell with no candidate left
                    cands[p] = pm
                    dirty |= cell_units[p]
                    if not pm & (pm - 1):
                        queue.append(p)
        while dirty:  # hidden singles, unit by unit
            low = dirty & -dirty
            dirty ^= low
            unit = units[low.bit_length() - 1]
            once = twice = 0
            for c in unit:
                m = cands[c]
                twice |= once & m
                once |= m
            if once != full:
                return False  # a digit with no place left in this unit
            hidden = once & ~twice
            if hidden:
                for c in unit:
                    m = cands[c]
                    h = m & hidden
                    if h:
                        if h & (h - 1):
                            return False  # two digits need this one cell
                        if h == m:
                            continue
                        cands[c] = h
                        dirty |= cell_units[c]
                        queue.append(c)
            if queue:
                break
        if not queue:
            return True


def choose_cell(cands: list, popcount: tuple) -> int:
    """The first cell with the fewest candidates (more than one); -1 when every cell is fixed."""
    best, fewest = -1, 99
    for c, m in enumerate(cands):
        if m & (m - 1):
            k = popcount[m]
            if k < fewest:
                best, fewest = c, k
                if k == 2:
                    break
    return best


def _pick(m: int, rng: random.Random | None) -> int:
    """One candidate bit of ``m``: the smallest, or a random one."""
    if rng is None:
        return m & -m
    bits = [1 << i for i in range(m.bit_length()) if m >> i & 1]
    return bits[rng.randrange(len(bits))]


def search(
    cands: list, queue: list, dirty: int, t: Tables, limit: int, stack: list | None = None,
    rng: random.Random | None = None, max_guesses: int | None = None, guesses: int = 0,
) -> SolveResult:
    """Depth-first search from ``cands`` (a state still to propagate) and a stack of open choices.

    A stack entry ``(state, cell)`` is a propagated state whose ``cell`` still holds the candidates
    not tried yet. ``sudoku_batch`` hands its unfinished puzzles over through this function.
    """
    stack = [] if stack is None else stack
    solutions: list = []
    cell_units, popcount = t.cell_units, t.popcount
    while True:
        if propagate(cands, queue, t, dirty):
            c = choose_cell(cands, popcount)
            if c >= 0:  # guess: try one candidate now, keep the others for later
                if max_guesses is not None and guesses >= max_guesses:
                    return SolveResult([[m.bit_length() for m in s] for s in solutions], guesses, False)
                m = cands[c]
                b = _pick(m, rng)
                rest = cands[:]
                rest[c] = m & ~b
                stack.append((rest, c))
                cands[c] = b
                queue, dirty = [c], cell_units[c]
                guesses += 1
                continue
            solutions.append(cands)
            if len(solutions) >= limit:
                return SolveResult([[m.bit_length() for m in s] for s in solutions], guesses, not stack)
        if not stack:  # every branch explored
            return SolveResult([[m.bit_length() for m in s] for s in solutions], guesses, True)
        if max_guesses is not None and guesses >= max_guesses:
            return SolveResult([[m.bit_length() for m in s] for s in solutions], guesses, False)
        state, c = stack[-1]  # backtrack: the next candidate of the latest open choice
        m = state[c]
        b = _pick(m, rng)
        if m == b:
            stack.pop()
            cands = state
        else:
            cands = state[:]
            state[c] = m & ~b
        cands[c] = b
        queue, dirty = [c], cell_units[c]
        guesses += 1


def initial_state(digits: list, t: Tables) -> tuple[list, list, int]:
    """Candidates, propagation queue and dirty units of a digit list (0 = blank)."""
    full = t.full
    digits = [int(d) for d in digits]
    cands = [1 << (d - 1) if d else full for d in digits]
    return cands, [c for c, d in enumerate(digits) if d], (1 << len(t.units)) - 1


def solve_cells(
    digits: list, size: int, limit: int = 1, rng: random.Random | None = None, max_guesses: int | None = None,
    exclude: tuple[int, int] | None = None,
) -> SolveResult:
    """Search a flat digit list (0 = blank) for up to ``limit`` solutions.

    ``rng`` shuffles the order in which candidates are tried (used to draw random full grids);
    ``max_guesses`` stops early (``complete`` is then False); ``exclude=(cell, digit)`` forbids one
    digit in one blank cell (the generator's fast uniqueness test). The digits must be in range and
    the givens need not be consistent (a contradiction simply has no solution).
    """
    t = tables(size)
    cands, queue, dirty = initial_state(digits, t)
    if exclude is not None:
        cell, d = exclude
        cands[cell] &= ~(1 << (d - 1))
        if not cands[cell] & (cands[cell] - 1):
            queue.append(cell)
        if not cands[cell]:
            return SolveResult([], 0, True)
    return search(cands, queue, dirty, t, limit, rng=rng, max_guesses=max_guesses)


# Generator ---------------------------------------------------------------------------------------


def random_grid(size: int, rng: random.Random) -> list:
    """A uniformly shuffled complete grid: the search on an empty grid with random candidate order."""
    return solve_cells([0] * (size * size), size, rng=rng).solutions[0]


def minimize(puzzle: list, size: int, rng: random.Random) -> list:
    """Remove givens of a uniquely solvable puzzle in random order while it stays unique.

    Removing a given ``d`` from cell ``c`` keeps the puzzle unique exactly when no solution has
    ``c != d``, which one search with ``exclude=(c, d)`` answers. After one pass no given can be
    removed (fewer givens never make a puzzle unique again): the puzzle is minimal.
    """
    puzzle = list(puzzle)
    order = [c for c in range(size * size) if puzzle[c]]
    rng.shuffle(order)
    for c in order:
        d = puzzle[c]
        puzzle[c] = 0
        if solve_cells(puzzle, size, limit=1, exclude=(c, d)).count:
            puzzle[c] = d  # another solution appears: keep this given
    return puzzle


def rating(digits: list, size: int) -> int:
    """Difficulty: the guesses needed to find the solution and prove there is no other."""
    return solve_cells(digits, size, limit=2).guesses


def _neighbour(puzzle: list, solution: list, size: int, rng: random.Random) -> list:
    """A nearby minimal puzzle with the same solution: drop one or two givens, add givens from the
    solution until it is unique again, then minimise."""
    p = list(puzzle)
    givens = [c for c, d in enumerate(p) if d]
    for c in rng.sample(givens, min(len(givens), rng.choice((1, 2)))):
        p[c] = 0
    blanks = [c for c, d in enumerate(p) if not d]
    rng.shuffle(blanks)
    for c in blanks:
        if solve_cells(p, size, limit=2).count == 1:
            break
        p[c] = solution[c]
    return minimize(p, size, rng)


def generate_one(
    size: int, rng: random.Random, min_guesses: int = 0, climb: int = 300, max_grids: int = 1000
) -> tuple[list, list, int]:
    """One minimal puzzle with a unique solution and a rating of at least ``min_guesses``.

    Returns (puzzle, solution, rating). A random grid gives a random minimal puzzle; while it is too
    easy, a hill climb tries neighbouring minimal puzzles of the same grid and keeps any that is at
    least as hard; after ``climb`` tries without reaching the target it starts over on a new grid.
    """
    for _ in range(max_grids):
        solution = random_grid(size, rng)
        puzzle = minimize(solution, size, rng)
        r = rating(puzzle, size)
        for _ in range(climb):
            if r >= min_guesses:
                break
            candidate = _neighbour(puzzle, solution, size, rng)
            rc = rating(candidate, size)
            if rc >= r:
                puzzle, r = candidate, rc
        if r >= min_guesses:
            return puzzle, solution, r
    raise RuntimeError(
        f"no {size}x{size} puzzle with min_guesses={min_guesses} after {max_grids} grids; lower min_guesses"
    )
