"""Sudoku puzzles of size 4 (2x2 boxes), 6 (boxes of 2 rows x 3 columns) and 9 (3x3 boxes).

Parse and format, validate with errors that say what is wrong and where, solve and count solutions
(``sudoku_solver``; ``sudoku_batch`` for thousands at once), generate puzzles with exactly one
solution, augment without breaking the rules, and read/write the Sudoku-Extreme CSV layout.

Grids are NumPy int arrays of shape (size, size), 0 for a blank. Tokens follow the reference:
PAD 0, blank 1, digit d -> d + 1 (vocabulary size + 2: 11 for 9x9).
"""
from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from . import csvio
from .sudoku_batch import solve_batch
from .sudoku_solver import BOX_SHAPES, generate_one, solve_cells, tables

SIZES = tuple(BOX_SHAPES)
HUB_REPO = "sapientinc/sudoku-extreme"
PAD, BLANK = 0, 1


class SudokuError(UserError):
    """A puzzle or answer that is malformed or breaks the rules."""


def box_shape(size: int) -> tuple[int, int]:
    """(rows, columns) of one box."""
    if size not in BOX_SHAPES:
        raise SudokuError(f"unsupported Sudoku size {size}; choose 4, 6 or 9")
    return BOX_SHAPES[size]


def vocab_size(size: int) -> int:
    return size + 2


# Parsing and formatting --------------------------------------------------------------------------

_SIZE_OF_CELLS = {s * s: s for s in SIZES}


def _cells_message(n: int, size: int | None) -> str:
    if size is not None:
        return f"puzzle has {n} cells, expected {size * size} ({size}x{size})"
    return f"puzzle has {n} cells, expected 16 (4x4), 36 (6x6) or 81 (9x9)"


def parse(puzzle, size: int | None = None) -> np.ndarray:
    """A puzzle as a (size, size) int8 grid, 0 for blanks.

    Accepts a string ('.' or '0' for blanks, whitespace and '|' ignored), a flat or nested list, or
    an array. The size is inferred from the number of cells when not given.
    """
    if isinstance(puzzle, str):
        text = "".join(ch for ch in puzzle if not ch.isspace() and ch not in "|-+")
        n = len(text)
        if size is None and n not in _SIZE_OF_CELLS or size is not None and n != size * size:
            raise SudokuError(_cells_message(n, size))
        size = size or _SIZE_OF_CELLS[n]
        digits = []
        for i, ch in enumerate(text):
            if ch == "." or ch == "0":
                digits.append(0)
            elif ch.isdigit() and 1 <= int(ch) <= size:
                digits.append(int(ch))
            else:
                r, c = divmod(i, size)
                raise SudokuError(
                    f"bad character {ch!r} at row {r + 1}, column {c + 1}; "
                    f"use 1-{size} for digits and '.' or '0' for blanks"
                )
        return np.array(digits, dtype=np.int8).reshape(size, size)
    try:
        arr = np.asarray(puzzle)
    except ValueError:
        raise SudokuError("puzzle rows have different lengths") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise SudokuError(f"puzzle must be a string or a grid of numbers, got {type(puzzle).__name__}")
    n = arr.size
    if size is None and n not in _SIZE_OF_CELLS or size is not None and n != size * size:
        raise SudokuError(_cells_message(n, size))
    size = size or _SIZE_OF_CELLS[n]
    if arr.ndim == 2 and arr.shape != (size, size):
        raise SudokuError(f"puzzle grid has shape {arr.shape}, expected ({size}, {size})")
    flat = arr.reshape(-1)
    bad = np.flatnonzero((flat < 0) | (flat > size) | (flat != np.round(flat)))
    if len(bad):
        r, c = divmod(int(bad[0]), size)
        raise SudokuError(
            f"bad value {flat[bad[0]]} at row {r + 1}, column {c + 1}; use 1-{size} for digits and 0 for blanks"
        )
    return flat.astype(np.int8).reshape(size, size)


def to_string(grid, blank: str = ".") -> str:
    """The one-line string of a grid: digits, ``blank`` for empty cells (the CSV layout)."""
    g = np.asarray(grid).reshape(-1)
    return "".join(blank if d == 0 else str(int(d)) for d in g)


def pretty(grid) -> str:
    """A grid as text with box borders, for printing."""
    g = parse(grid) if not isinstance(grid, np.ndarray) or grid.ndim != 2 else grid
    size = len(g)
    br, bc = box_shape(size)
    lines = []
    for r in range(size):
        if r and r % br == 0:
            lines.append("+".join(["-" * (2 * bc + 1)] * (size // bc)))
        cells = [" ".join("." if d == 0 else str(int(d)) for d in g[r, c:c + bc]) for c in range(0, size, bc)]
        lines.append(" " + " | ".join(cells))
    return "\n".join(lines)


# Validation --------------------------------------------------------------------------------------


def _unit_cells(size: int):
    """(kind, number, cells) of every row, column and box; numbers from 1."""
    br, bc = box_shape(size)
    for r in range(size):
        yield "row", r + 1, [(r, c) for c in range(size)]
    for c in range(size):
        yield "column", c + 1, [(r, c) for r in range(size)]
    for b, (r0, c0) in enumerate((r0, c0) for r0 in range(0, size, br) for c0 in range(0, size, bc)):
        yield "box", b + 1, [(r0 + r, c0 + c) for r in range(br) for c in range(bc)]


def conflicts(grid) -> list[str]:
    """Every repeated digit, as messages like "digit 5 twice in row 3 (columns 1 and 7)"."""
    g = np.asarray(grid)
    out = []
    for kind, number, cells in _unit_cells(len(g)):
        seen: dict[int, tuple[int, int]] = {}
        for r, c in cells:
            d = int(g[r, c])
            if d == 0:
                continue
            if d in seen:
                (r0, c0) = seen[d]
                where = f"columns {c0 + 1} and {c + 1}" if kind == "row" else (
                    f"rows {r0 + 1} and {r + 1}" if kind == "column"
                    else f"cells r{r0 + 1}c{c0 + 1} and r{r + 1}c{c + 1}"
                )
                out.append(f"digit {d} twice in {kind} {number} ({where})")
            else:
                seen[d] = (r, c)
    return out


def validate_puzzle(puzzle, size: int | None = None, unique: bool = False) -> np.ndarray:
    """Parse a puzzle and check its givens do not contradict each other; returns the grid.

    With ``unique``, also require exactly one solution (SudokuError for none or several).
    """
    g = parse(puzzle, size)
    problems = conflicts(g)
    if problems:
        raise SudokuError("puzzle givens contradict each other: " + "; ".join(problems))
    if unique:
        n = solve_cells(g.reshape(-1).tolist(), len(g), limit=2).count
        if n != 1:
            raise SudokuError("puzzle has no solution" if n == 0 else "puzzle has more than one solution")
    return g


def validate_answer(puzzle, answer, size: int | None = None) -> np.ndarray:
    """Check an answer is complete, keeps every rule and agrees with the puzzle's givens.

    Returns the answer grid; raises SudokuError saying what is wrong and where.
    """
    q = validate_puzzle(puzzle, size)
    size = len(q)
    try:
        a = parse(answer, size)
    except SudokuError as e:
        raise SudokuError(f"answer: {e}") from None
    blanks = np.argwhere(a == 0)
    if len(blanks):
        r, c = blanks[0]
        raise SudokuError(f"answer has {len(blanks)} blank cell(s), the first at row {r + 1}, column {c + 1}")
    problems = conflicts(a)
    if problems:
        raise SudokuError("answer breaks the rules: " + "; ".join(problems))
    wrong = np.argwhere((q != 0) & (q != a))
    if len(wrong):
        r, c = wrong[0]
        raise SudokuError(f"answer has {a[r, c]} at row {r + 1}, column {c + 1} where the puzzle gives {q[r, c]}")
    return a


# Solving -----------------------------------------------------------------------------------------


@dataclass
class Solution:
    """What the solver found for one puzzle."""

    grid: np.ndarray | None  # the first solution, None if there is none
    count: int  # solutions found, at most the limit asked for
    guesses: int  # trial assignments of the search: the difficulty rating when limit=2
    complete: bool  # the search ran to its end, so ``count`` is exact


def solve(puzzle, limit: int = 1, size: int | None = None) -> Solution:
    """Solve one puzzle (naked/hidden singles + search), looking for up to ``limit`` solutions."""
    g = validate_puzzle(puzzle, size)
    n = len(g)
    r = solve_cells(g.reshape(-1).tolist(), n, limit=limit)
    grid = np.array(r.solutions[0], dtype=np.int8).reshape(n, n) if r.solutions else None
    return Solution(grid, r.count, r.guesses, r.complete)


def count_solutions(puzzle, limit: int = 2, size: int | None = None) -> int:
    """Number of solutions, counted up to ``limit`` (2 is enough to tell unique from not)."""
    return solve(puzzle, limit=limit, size=size).count


def rating(puzzle, size: int | None = None) -> int:
    """Difficulty: the guesses needed to find the solution and prove it is the only one."""
    return solve(puzzle, limit=2, size=size).guesses


def unique_solution(puzzle, size: int | None = None) -> np.ndarray:
    """The solution of a puzzle that must have exactly one; SudokuError otherwise."""
    s = solve(puzzle, limit=2, size=size)
    if s.count == 0:
        raise SudokuError("puzzle has no solution")
    if s.count > 1:
        raise SudokuError("puzzle has more than one solution")
    return s.grid


# Generation --------------------------------------------------------------------------------------


@dataclass
class Puzzle:
    question: np.ndarray  # (size, size), 0 = blank
    answer: np.ndarray  # (size, size)
    rating: int  # guesses to solve and prove uniqueness

    @property
    def size(self) -> int:
        return len(self.question)


def generate(size: int = 9, count: int = 1, seed: int = 0, min_guesses: int = 0, progress=None) -> list[Puzzle]:
    """``count`` distinct minimal puzzles, each with exactly one solution.

    Minimal: no given can be removed without losing uniqueness. ``min_guesses`` asks for puzzles the
    solver cannot finish without that many guesses (hard 9x9 ones, like Sudoku-Extreme, need tens
    to hundreds and take seconds each). Deterministic under ``seed``. ``progress``, if given, is
    called with the number made so far.
    """
    box_shape(size)
    rng = random.Random(seed)
    seen, out = set(), []
    tries = 0
    while len(out) < count:
        q, a, r = generate_one(size, rng, min_guesses)
        tries += 1
        key = bytes(q)
        if key in seen:
            if tries > 20 * count + 100:
                raise SudokuError(f"could not find {count} distinct {size}x{size} puzzles; ask for fewer")
            continue
        seen.add(key)
        out.append(Puzzle(np.array(q, dtype=np.int8).reshape(size, size),
                          np.array(a, dtype=np.int8).reshape(size, size), r))
        if progress:
            progress(len(out))
    return out


# Augmentation ------------------------------------------------------------------------------------


@dataclass
class Transform:
    """A rule-preserving relabelling: ``new[i] = digit_map[old[cell_perm[i]]]`` on flat grids.

    Arrays may carry a leading batch axis: digit_map (..., size + 1) with digit_map[..., 0] = 0,
    cell_perm (..., size * size).
    """

    digit_map: np.ndarray
    cell_perm: np.ndarray

    def apply(self, grids: np.ndarray) -> np.ndarray:
        """Apply to grids (..., size*size) or (..., size, size); the shape is kept."""
        g = np.asarray(grids)
        shape = g.shape
        n2 = self.cell_perm.shape[-1]
        flat = g.reshape(-1, n2) if g.size else g.reshape(0, n2)
        perm = np.broadcast_to(self.cell_perm, (len(flat), n2)) if self.cell_perm.ndim == 1 else self.cell_perm
        dmap = self.digit_map
        if dmap.ndim == 1:
            dmap = np.broadcast_to(dmap, (len(flat), dmap.shape[-1]))
        moved = np.take_along_axis(flat, perm, axis=1)
        return np.take_along_axis(dmap, moved.astype(np.intp), axis=1).astype(g.dtype).reshape(shape)

    def inverse(self) -> "Transform":
        inv_perm = np.argsort(self.cell_perm, axis=-1)
        inv_digits = np.argsort(self.digit_map, axis=-1)
        return Transform(inv_digits, inv_perm)


def num_transform_randoms(size: int) -> int:
    """How many uniform numbers ``transforms_from_uniform`` needs per transform."""
    br, bc = box_shape(size)
    return size + 1 + size // br + size + size // bc + size


def transforms_from_uniform(size: int, u: np.ndarray) -> Transform:
    """Batched random transforms from uniforms u (B, num_transform_randoms(size)).

    Each one: a permutation of the digits; for square boxes a transpose with probability 1/2; a
    permutation of the bands (groups of box-height rows) and of the rows inside each band; the same
    for stacks (groups of box-width columns) and their columns.
    """
    br, bc = box_shape(size)
    B = len(u)
    nb, ns = size // br, size // bc
    parts = np.split(u, np.cumsum([size, 1, nb, size, ns]), axis=1)
    u_dig, u_tr, u_band, u_rows, u_stack, u_cols = parts
    digit_map = np.zeros((B, size + 1), dtype=np.int64)
    digit_map[:, 1:] = np.argsort(u_dig, axis=1) + 1
    bands = np.argsort(u_band, axis=1)  # (B, nb)
    rows = bands[:, :, None] * br + np.argsort(u_rows.reshape(B, nb, br), axis=2)  # (B, nb, br)
    stacks = np.argsort(u_stack, axis=1)
    cols = stacks[:, :, None] * bc + np.argsort(u_cols.reshape(B, ns, bc), axis=2)
    rows, cols = rows.reshape(B, size), cols.reshape(B, size)
    perm = rows[:, :, None] * size + cols[:, None, :]  # (B, n, n): new (r, c) takes old (rows[r], cols[c])
    if br == bc:  # then transpose the result: new (r, c) takes old (rows[c], cols[r])
        perm = np.where(u_tr[:, :, None] < 0.5, perm.transpose(0, 2, 1), perm)
    return Transform(digit_map, perm.reshape(B, size * size))


def random_transform(size: int, rng: np.random.Generator) -> Transform:
    """One random rule-preserving transform (arrays without a batch axis)."""
    t = transforms_from_uniform(size, rng.random((1, num_transform_randoms(size))))
    return Transform(t.digit_map[0], t.cell_perm[0])


def augment(question, answer, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The same random transform applied to a question and its answer."""
    q, a = np.asarray(question), np.asarray(answer)
    t = random_transform(int(round(np.sqrt(q.size))), rng)
    return t.apply(q), t.apply(a)


# Tokens ------------------------------------------------------------------------------------------


def to_tokens(grids) -> np.ndarray:
    """Digits -> tokens, same shape: blank 1, digit d -> d + 1."""
    g = np.asarray(grids)
    return np.where(g == 0, BLANK, g + 1).astype(np.int64)


def from_tokens(tokens) -> np.ndarray:
    """Flat tokens -> digits (0 for blank and for PAD)."""
    t = np.asarray(tokens)
    return np.where(t <= BLANK, 0, t - 1).astype(np.int8)


# CSV in the Sudoku-Extreme layout ---------------------------------------------------------------


class SudokuSet(csvio.PuzzleSet):
    """Puzzles with their answers, as arrays. Questions (n, size*size) int8, 0 = blank; answers int8;
    ratings: -1 when unknown."""


def check_row(question: str, answer: str, size: int | None = None, unique: bool = False) -> str | None:
    """The reason a CSV row is invalid, or None when it is valid."""
    try:
        validate_answer(question, answer, size)
        if unique:
            validate_puzzle(question, size, unique=True)
    except SudokuError as e:
        return str(e)
    return None


_DIGIT_OF_BYTE = np.full(256, -1, dtype=np.int8)
_DIGIT_OF_BYTE[ord(".")] = 0
_DIGIT_OF_BYTE[ord("0"):ord("9") + 1] = np.arange(10)


def _parse_fast(strings: list[str], size: int) -> np.ndarray | None:
    """Many same-length strings at once; None if any is unusual (the slow path then explains)."""
    n2 = size * size
    if any(len(s) != n2 for s in strings):
        return None
    try:
        raw = np.frombuffer("".join(strings).encode("ascii"), dtype=np.uint8).reshape(len(strings), n2)
    except UnicodeEncodeError:
        return None
    digits = _DIGIT_OF_BYTE[raw]
    if (digits < 0).any() or (digits > size).any():
        return None
    return digits


def invalid_mask(questions: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """Vectorised check of many (question, answer) pairs (n, size*size): True where a pair is invalid.

    Invalid: givens that repeat a digit in a unit, an answer that is incomplete, breaks a rule or
    disagrees with a given. ``validate_answer`` says why.
    """
    size = int(round(np.sqrt(questions.shape[1])))
    units = np.array(tables(size).units)  # (3n, n)
    full = np.arange(1, size + 1)
    a = np.sort(answers[:, units], axis=2)  # (n, 3n, n)
    bad_answer = (a != full).any(axis=(1, 2))
    q = np.sort(questions[:, units], axis=2)
    bad_question = ((q[:, :, 1:] == q[:, :, :-1]) & (q[:, :, 1:] != 0)).any(axis=(1, 2))
    mismatch = ((questions != 0) & (questions != answers)).any(axis=1)
    return bad_answer | bad_question | mismatch


def read_csv(path: str | os.PathLike, size: int | None = None, limit: int | None = None, validate: bool = True,
             sample: int | None = None, seed: int = 0) -> SudokuSet:
    """Read a Sudoku-Extreme layout CSV; raises SudokuError naming the first bad row.

    ``limit`` keeps the first rows, ``sample`` that many random rows (a function of ``seed``). With
    ``validate`` each answer must be complete, keep the rules and agree with its question.
    """
    rows = csvio.select_rows(path, sample, seed, limit)
    for r in rows:
        if r.problem:
            raise SudokuError(f"{path}: row {r.row}: {r.problem}")
    if not rows and sample != 0 and limit != 0:
        raise SudokuError(f"{path} has a header but no data rows")
    if size is None and rows:
        size = _SIZE_OF_CELLS.get(len(rows[0].question.strip()))
        if size is None:
            raise SudokuError(f"{path}: row 1: {_cells_message(len(rows[0].question.strip()), None)}")
    size = size or 9
    q = _parse_fast([r.question for r in rows], size)
    a = _parse_fast([r.answer for r in rows], size)
    bad = np.ones(len(rows), dtype=bool) if q is None or a is None else (
        invalid_mask(q, a) if validate else np.zeros(len(rows), dtype=bool))
    for i in np.flatnonzero(bad):  # the slow path names the problem (or finds the row fine)
        problem = check_row(rows[i].question, rows[i].answer, size) if validate else None
        try:
            parse(rows[i].question, size), parse(rows[i].answer, size)
        except SudokuError as e:
            problem = problem or str(e)
        if problem:
            raise SudokuError(f"{path}: row {rows[i].row}: {problem}")
    if q is None or a is None:
        q = np.array([parse(r.question, size).reshape(-1) for r in rows], dtype=np.int8).reshape(-1, size * size)
        a = np.array([parse(r.answer, size).reshape(-1) for r in rows], dtype=np.int8).reshape(-1, size * size)
    ratings = np.array([int(float(r.rating)) if r.rating.strip() else -1 for r in rows], dtype=np.int64)
    return SudokuSet(q.astype(np.int8), a.astype(np.int8), ratings, [r.source for r in rows])


def write_csv(path: str | os.PathLike, data: SudokuSet | list, source: str = "trm-generated") -> None:
    """Write puzzles (a SudokuSet or a list of Puzzle) in the Sudoku-Extreme layout."""
    if isinstance(data, SudokuSet):
        rows = [
            (data.sources[i] if data.sources else source, to_string(data.questions[i]), to_string(data.answers[i]),
             "" if data.ratings[i] < 0 else int(data.ratings[i]))
            for i in range(len(data))
        ]
    else:
        rows = [(source, to_string(p.question), to_string(p.answer), p.rating) for p in data]
    csvio.write_rows(path, rows)


def from_puzzles(puzzles: list[Puzzle], source: str = "trm-generated") -> SudokuSet:
    size = puzzles[0].size if puzzles else 9
    return SudokuSet(
        np.array([p.question.reshape(-1) for p in puzzles], dtype=np.int8).reshape(-1, size * size),
        np.array([p.answer.reshape(-1) for p in puzzles], dtype=np.int8).reshape(-1, size * size),
        np.array([p.rating for p in puzzles], dtype=np.int64), [source] * len(puzzles),
    )


def check_rows(questions: list[str], answers: list[str], unique: bool = False) -> list:
    """For CSV rows given as strings: the reason each row is invalid, or None.

    The size is taken from the first question. Valid rows are found in bulk (vectorised checks;
    with ``unique``, the NumPy batch search), and only the invalid ones get a per-row explanation.
    """
    if not questions:
        return []
    size = _SIZE_OF_CELLS.get(len(questions[0].strip()))
    q = a = None
    if size is not None:
        q, a = _parse_fast(questions, size), _parse_fast(answers, size)
    flagged = np.ones(len(questions), bool) if q is None or a is None else invalid_mask(q, a)
    out = [check_row(qs, as_, size) if flag else None for qs, as_, flag in zip(questions, answers, flagged)]
    valid = [i for i, r in enumerate(out) if r is None]
    if unique and valid:
        grids = q[valid] if q is not None else np.stack([parse(questions[i], size).reshape(-1) for i in valid])
        _, counts, _ = solve_batch(grids, size, limit=2)
        for i, n in zip(valid, counts):
            if n != 1:
                out[i] = "puzzle has no solution" if n == 0 else "puzzle has more than one solution"
    return out


def load_hub(split: str = "train", limit: int | None = None, validate: bool = True, sample: int | None = None,
             seed: int = 0) -> SudokuSet:
    """Sudoku-Extreme's ``train.csv`` or ``test.csv`` (a local copy, else the hub; see csvio).

    ``sample=1000`` draws the paper's 1k training subset (random rows under ``seed``).
    """
    if split not in ("train", "test"):
        raise SudokuError(f"split must be 'train' or 'test', got {split!r}")
    path = csvio.hub_file(HUB_REPO, f"{split}.csv")
    return read_csv(path, size=9, limit=limit, validate=validate, sample=sample, seed=seed)
