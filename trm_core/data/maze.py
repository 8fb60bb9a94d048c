"""Mazes: generate, solve (BFS), check that a path is a shortest path, augment, read/write CSV.

A maze is an n x n grid over the Maze-Hard charset ``"# SGo"``: wall, open, start, goal, path.
The question has one S, one G and no 'o'; the answer is the question with the cells strictly
between S and G on one shortest path turned into 'o' (S and G stay). Mazes usually have several
shortest paths, so ``check_answer`` accepts any of them, not just the one in the file.

Grids are uint8 arrays of charset indices (0 '#', 1 ' ', 2 'S', 3 'G', 4 'o'); tokens are
index + 1 with PAD 0 (vocabulary 6). Path length = the number of moves from S to G (BFS distance);
Maze-Hard's are 109 to 140 on 30 x 30.
"""
from __future__ import annotations

import os
import random

import numpy as np

from ..errors import UserError
from . import csvio
from .grids import dihedral

CHARSET = "# SGo"
WALL, OPEN, START, GOAL, PATH = range(5)
HUB_REPO = "sapientinc/maze-30x30-hard-1k"
VOCAB_SIZE = len(CHARSET) + 1  # + PAD
_CODE = {ch: i for i, ch in enumerate(CHARSET)}


class MazeError(UserError):
    """A maze or answer that is malformed or wrong."""


# Parsing ------------------------------------------------------------------------------------------


def parse(text, size: int | None = None) -> np.ndarray:
    """A maze string (row-major, n*n characters of "# SGo") or grid as an (n, n) uint8 grid."""
    if not isinstance(text, str):
        g = np.asarray(text)
        if g.ndim != 2 or g.shape[0] != g.shape[1]:
            raise MazeError(f"maze grid must be square, got shape {g.shape}")
        if g.size and (g.min() < 0 or g.max() >= len(CHARSET)):
            raise MazeError(f"maze grid values must be 0-{len(CHARSET) - 1} (indices into {CHARSET!r})")
        return np.ascontiguousarray(g, dtype=np.uint8)
    n2 = len(text)
    n = size if size is not None else int(round(n2 ** 0.5))
    if n * n != n2:
        if size:
            raise MazeError(f"maze has {n2} cells, expected {n * n} ({n}x{n})")
        raise MazeError(f"maze has {n2} cells, not a square number")
    codes = np.array([_CODE.get(ch, 255) for ch in text], dtype=np.uint8)
    bad = np.flatnonzero(codes == 255)
    if len(bad):
        r, c = divmod(int(bad[0]), n)
        raise MazeError(f"bad character {text[bad[0]]!r} at row {r + 1}, column {c + 1}; use {CHARSET!r}")
    return codes.reshape(n, n)


def to_string(grid) -> str:
    return "".join(CHARSET[int(v)] for v in np.asarray(grid).reshape(-1))


def to_tokens(grids) -> np.ndarray:
    """Charset indices -> tokens (index + 1), same shape."""
    return np.asarray(grids).astype(np.int64) + 1


def from_tokens(tokens) -> np.ndarray:
    """Flat tokens -> charset indices (PAD and unknown tokens become walls)."""
    t = np.asarray(tokens).astype(np.int64) - 1
    return np.where((t >= 0) & (t < len(CHARSET)), t, WALL).astype(np.uint8)


# Search ------------------------------------------------------------------------------------------


def _grow(frontier: np.ndarray) -> np.ndarray:
    """Cells one move from the frontier (B, n, n)."""
    grow = np.zeros_like(frontier)
    grow[:, 1:] |= frontier[:, :-1]
    grow[:, :-1] |= frontier[:, 1:]
    grow[:, :, 1:] |= frontier[:, :, :-1]
    grow[:, :, :-1] |= frontier[:, :, 1:]
    return grow


def bfs(passable: np.ndarray, source: np.ndarray) -> np.ndarray:
    """Moves from ``source`` to every cell, for a batch: passable (B, n, n) bool, source (B,) flat
    cell index. Returns (B, n, n) int32 distances, -1 where unreachable."""
    passable = np.asarray(passable, dtype=bool)
    B, n, _ = passable.shape
    dist = np.full((B, n, n), -1, dtype=np.int32)
    frontier = np.zeros((B, n, n), dtype=bool)
    frontier.reshape(B, -1)[np.arange(B), source] = True
    frontier &= passable
    step = 0
    while frontier.any():
        dist[frontier] = step
        frontier = _grow(frontier) & passable & (dist < 0)
        step += 1
    return dist


def distances(passable: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Moves from ``source`` to ``target`` (flat cell indices, (B,)) through passable cells
    (B, n, n), -1 when unreachable. Each maze stops as soon as its target is reached."""
    passable = np.ascontiguousarray(passable, dtype=bool)
    B = len(passable)
    out = np.full(B, -1, dtype=np.int64)
    frontier = np.zeros(passable.shape, dtype=bool)
    frontier.reshape(B, -1)[np.arange(B), source] = True
    frontier &= passable
    seen = frontier.copy()
    live, target = np.arange(B), np.asarray(target)
    step = 0
    while len(live):
        hit = frontier.reshape(len(live), -1)[np.arange(len(live)), target]
        out[live[hit]] = step
        go_on = ~hit & frontier.any(axis=(1, 2))
        if not go_on.all():
            live, target = live[go_on], target[go_on]
            frontier, seen, passable = frontier[go_on], seen[go_on], passable[go_on]
        frontier = _grow(frontier) & passable & ~seen
        seen |= frontier
        step += 1
    return out


def _endpoints(q: np.ndarray) -> tuple[int, int]:
    flat = q.reshape(-1)
    return int(np.argmax(flat == START)), int(np.argmax(flat == GOAL))


def validate_question(q) -> np.ndarray:
    """Parse a question and check it: one S, one G, no path marks, G reachable from S."""
    q = parse(q)
    problem = question_problems(q[None])[0]
    if problem:
        raise MazeError(problem)
    if shortest_path_length(q) < 0:
        raise MazeError("goal 'G' cannot be reached from start 'S'")
    return q


def shortest_path_length(q) -> int:
    """Moves on a shortest path from S to G, -1 when G is unreachable."""
    q = parse(q)
    s, g = _endpoints(q)
    return int(distances((q != WALL)[None], np.array([s]), np.array([g]))[0])


def solve(q, rng: random.Random | None = None) -> np.ndarray:
    """The answer: q with one shortest path marked 'o' (a random one when ``rng`` is given)."""
    q = validate_question(q)
    n = len(q)
    s, g = _endpoints(q)
    dist = bfs((q != WALL)[None], np.array([s]))[0]
    answer = q.copy()
    r, c = divmod(g, n)
    while dist[r, c] > 1:  # walk back from G to S through cells one move closer each time
        steps = [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                 if 0 <= r + dr < n and 0 <= c + dc < n and dist[r + dr, c + dc] == dist[r, c] - 1]
        r, c = steps[rng.randrange(len(steps))] if rng else steps[0]
        answer[r, c] = PATH
    return answer


def check_answer(question, answer) -> str | None:
    """Why ``answer`` is not a valid solution of ``question``, or None when it is.

    Valid: the grid is unchanged except open cells marked 'o', and the 'o' cells form a path from S
    to G of exactly the shortest length (so it is a shortest path; there may be several).
    """
    try:
        q, a = parse(question), parse(answer)
    except MazeError as e:
        return str(e)
    if a.shape != q.shape:
        return f"answer is {a.shape[0]}x{a.shape[1]}, question is {q.shape[0]}x{q.shape[1]}"
    return check_answers(q[None], a[None])[0]


def question_problems(questions: np.ndarray) -> list:
    """For a batch of questions (B, n, n): why each is not a usable maze, or None."""
    q = np.asarray(questions)
    B = len(q)
    flat = q.reshape(B, -1)
    out: list = [None] * B
    n_s, n_g, n_o = (flat == START).sum(1), (flat == GOAL).sum(1), (flat == PATH).sum(1)
    ok = (n_s == 1) & (n_g == 1) & (n_o == 0)
    for i in np.flatnonzero(~ok):
        out[i] = (f"maze has {n_s[i]} start 'S' cells, expected 1" if n_s[i] != 1 else
                  f"maze has {n_g[i]} goal 'G' cells, expected 1" if n_g[i] != 1 else
                  "question already has path cells 'o'")
    return out


def check_answers(questions: np.ndarray, answers: np.ndarray) -> list:
    """check_answer for many mazes at once, (B, n, n) or (B, n*n) grids: a reason or None each."""
    B = len(questions)
    n = int(round(np.sqrt(np.asarray(questions[0]).size))) if B else 0
    q, a = np.asarray(questions).reshape(B, n, n), np.asarray(answers).reshape(B, n, n)
    out = question_problems(q)
    flat = q.reshape(B, -1)
    s, g = np.argmax(flat == START, axis=1), np.argmax(flat == GOAL, axis=1)
    best = distances(q != WALL, s, g)  # shortest length
    along = distances((a == PATH) | (a == START) | (a == GOAL), s, g)  # length using only marked cells
    marked = (a == PATH).sum(axis=(1, 2))
    changed = (q != a) & ~((q == OPEN) & (a == PATH))
    bad_change = changed.any(axis=(1, 2))
    for i in range(B):
        if out[i]:
            continue
        if best[i] < 0:
            out[i] = "goal 'G' cannot be reached from start 'S'"
        elif bad_change[i]:
            r, c = np.argwhere(changed[i])[0]
            out[i] = (f"answer changes row {r + 1}, column {c + 1} "
                      f"from {CHARSET[q[i, r, c]]!r} to {CHARSET[a[i, r, c]]!r}")
        elif marked[i] != best[i] - 1:
            out[i] = f"path has {marked[i]} cells; a shortest path from S to G has {best[i] - 1}"
        elif along[i] != best[i]:
            out[i] = "path cells do not connect S to G"
    return out


def check_rows(questions: list[str], answers: list[str]) -> list:
    """For CSV rows given as strings: the reason each row is invalid, or None (size from the first)."""
    out: list = [None] * len(questions)
    parsed, size = [], None
    for i, (qs, as_) in enumerate(zip(questions, answers)):
        try:
            q = parse(qs, size)
            size = len(q)
            parsed.append((i, q, parse(as_, size)))
        except MazeError as e:
            out[i] = str(e)
    if parsed:
        reasons = check_answers(np.stack([q for _, q, _ in parsed]), np.stack([a for _, _, a in parsed]))
        for (i, _, _), reason in zip(parsed, reasons):
            out[i] = reason
    return out


# Generation --------------------------------------------------------------------------------------


def _carve(size: int, rng: random.Random, loops: float) -> np.ndarray:
    """A maze of walls and open cells: a random depth-first spanning tree of the cells at even
    coordinates, plus a fraction ``loops`` of the remaining walls between them opened (so there are
    cycles and often several shortest paths)."""
    m = (size + 1) // 2  # cells per side
    grid = np.full((size, size), WALL, dtype=np.uint8)
    grid[0::2, 0::2][:m, :m] = OPEN
    seen = np.zeros((m, m), dtype=bool)
    start = (rng.randrange(m), rng.randrange(m))
    seen[start] = True
    stack = [start]
    while stack:
        r, c = stack[-1]
        nbrs = [(r + dr, c + dc) for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
                if 0 <= r + dr < m and 0 <= c + dc < m and not seen[r + dr, c + dc]]
        if not nbrs:
            stack.pop()
            continue
        nr, nc = nbrs[rng.randrange(len(nbrs))]
        grid[r + nr, c + nc] = OPEN  # the wall between (2r, 2c) and (2nr, 2nc)
        seen[nr, nc] = True
        stack.append((nr, nc))
    walls = [(2 * i, 2 * j + 1) for i in range(m) for j in range(m - 1)]  # between two cells of a row
    walls += [(2 * i + 1, 2 * j) for i in range(m - 1) for j in range(m)]  # ... of a column
    for r, c in walls:
        if grid[r, c] == WALL and rng.random() < loops:
            grid[r, c] = OPEN
    if size % 2 == 0:  # the extra last row / column: openings next to open cells
        for k in range(size - 1):
            if grid[size - 2, k] == OPEN and rng.random() < 0.5:
                grid[size - 1, k] = OPEN
            if grid[k, size - 2] == OPEN and rng.random() < 0.5:
                grid[k, size - 1] = OPEN
    return grid


class MazeSet(csvio.PuzzleSet):
    """Mazes with their answers, as arrays of charset indices. Questions (n, size*size) uint8; answers uint8;
    ratings: shortest path length, or -1 when unknown."""


def generate_one(size: int, rng: random.Random, min_path: int | None = None, loops: float = 0.1, max_tries: int = 1000):
    """One maze (question, answer, path length) with a shortest path of at least ``min_path`` moves.

    S is a random open cell; G is a random cell at least ``min_path`` moves away (without
    ``min_path``: one of the farthest cells). Mazes that have none are drawn again.
    """
    if size < 3:
        raise MazeError(f"maze size must be at least 3, got {size}")
    for _ in range(max_tries):
        grid = _carve(size, rng, loops)
        cells = np.flatnonzero(grid.reshape(-1) == OPEN)
        s = int(cells[rng.randrange(len(cells))])
        dist = bfs((grid != WALL)[None], np.array([s]))[0].reshape(-1)
        far = dist.max() if min_path is None else min_path
        goals = np.flatnonzero(dist >= max(far, 1))
        if len(goals):
            g = int(goals[rng.randrange(len(goals))])
            q = grid.copy().reshape(-1)
            q[s], q[g] = START, GOAL
            q = q.reshape(size, size)
            return q, solve(q, rng), int(dist[g])
    raise MazeError(f"no {size}x{size} maze with a path of {min_path} moves in {max_tries} tries; lower min_path")


def generate(size: int = 15, count: int = 1, seed: int = 0, min_path: int | None = None, loops: float = 0.1) -> MazeSet:
    """``count`` distinct mazes, deterministic under ``seed``; ratings hold the path lengths."""
    rng = random.Random(seed)
    seen, qs, as_, lens = set(), [], [], []
    tries = 0
    while len(qs) < count:
        q, a, d = generate_one(size, rng, min_path, loops)
        tries += 1
        if q.tobytes() in seen:
            if tries > 10 * count + 100:
                raise MazeError(f"could not find {count} distinct {size}x{size} mazes; ask for fewer")
            continue
        seen.add(q.tobytes())
        qs.append(q.reshape(-1))
        as_.append(a.reshape(-1))
        lens.append(d)
    n2 = size * size
    return MazeSet(np.array(qs, np.uint8).reshape(-1, n2), np.array(as_, np.uint8).reshape(-1, n2),
                   np.array(lens, np.int64), ["trm-generated"] * count)


def augment(question, answer, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Dihedral transform ``k`` (0-7) of a question and its answer ((n, n) grids)."""
    return dihedral(np.asarray(question), k), dihedral(np.asarray(answer), k)


# CSV ---------------------------------------------------------------------------------------------


def read_csv(path: str | os.PathLike, limit: int | None = None, validate: bool = True, sample: int | None = None,
             seed: int = 0) -> MazeSet:
    """Read a Maze-Hard layout CSV; raises MazeError naming the first bad row.

    ``limit`` keeps the first rows, ``sample`` that many random rows (a function of ``seed``). With
    ``validate`` every answer must be a valid shortest path of its question.
    """
    rows = csvio.select_rows(path, sample, seed, limit)
    for r in rows:
        if r.problem:
            raise MazeError(f"{path}: row {r.row}: {r.problem}")
    if not rows and sample != 0 and limit != 0:
        raise MazeError(f"{path} has a header but no data rows")
    qs, as_ = [], []
    size = None
    for r in rows:
        try:
            q = parse(r.question, size)
            size = len(q)
            a = parse(r.answer, size)
        except MazeError as e:
            raise MazeError(f"{path}: row {r.row}: {e}") from None
        qs.append(q.reshape(-1))
        as_.append(a.reshape(-1))
    n2 = (size or 30) ** 2
    data = MazeSet(np.array(qs, np.uint8).reshape(-1, n2), np.array(as_, np.uint8).reshape(-1, n2),
                   np.array([int(float(r.rating)) if r.rating.strip() else -1 for r in rows], np.int64),
                   [r.source for r in rows])
    if validate and len(data):
        for r, reason in zip(rows, check_answers(data.questions, data.answers)):
            if reason:
                raise MazeError(f"{path}: row {r.row}: {reason}")
    return data


def write_csv(path: str | os.PathLike, data: MazeSet, source: str = "trm-generated") -> None:
    rows = [
        (data.sources[i] if data.sources else source, to_string(data.questions[i]), to_string(data.answers[i]),
         "" if data.ratings[i] < 0 else int(data.ratings[i]))
        for i in range(len(data))
    ]
    csvio.write_rows(path, rows)


def load_hub(split: str = "train", limit: int | None = None, validate: bool = True, sample: int | None = None,
             seed: int = 0) -> MazeSet:
    """Maze-Hard's ``train.csv`` or ``test.csv`` (a local copy, else the hub; see csvio)."""
    if split not in ("train", "test"):
        raise MazeError(f"split must be 'train' or 'test', got {split!r}")
    return read_csv(csvio.hub_file(HUB_REPO, f"{split}.csv"), limit=limit, validate=validate, sample=sample, seed=seed)
