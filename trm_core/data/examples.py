"""One example of each published benchmark to look at: a real row when a copy is at hand, else a
generated one of the same kind, labelled as such.

    ex = examples.maze_hard()          # a Maze-Hard maze (30x30), real or generated
    viz.draw_maze(ex.question, title=ex.label)

Where real rows are looked for, in order: ``folder`` if given; ``$TRM_SHARED_DATA``; the local
copies of the hub files (``$TRM_DATA_DIR/<dataset>/train.csv``, see ``csvio.local_path``); a
``shared/data`` folder beside the workbook's clone. With ``download=True`` the hub is tried last
(needs ``huggingface_hub`` and a network). Files are read as data (CSV), never executed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UserError
from . import csvio, maze, sudoku

GENERATED_SEED = 2026
HARD_SUDOKU_GUESSES = 30  # generated stand-in: needs at least this many solver guesses (about a second)


@dataclass
class Example:
    question: np.ndarray  # (n, n) grid: Sudoku digits (0 blank) or maze charset indices
    answer: np.ndarray  # (n, n)
    source: str  # the file it was read from, or how it was generated
    real: bool  # read from the benchmark's own data

    @property
    def label(self) -> str:
        return f"{'real' if self.real else 'GENERATED (no copy of the benchmark found)'}: {self.source}"


def _folders(folder) -> list[Path]:
    places = [folder, os.environ.get("TRM_SHARED_DATA")]
    places = [Path(p).expanduser() for p in places if p]
    clone = Path(__file__).resolve().parents[2]  # trm_core/data/examples.py -> the repository
    return places + [clone.parent / "shared" / "data"]


def _find(folder, hub_repo: str, words: tuple[str, ...], download: bool) -> Path | None:
    for place in _folders(folder):
        if place.is_dir():
            for path in sorted(place.glob("*.csv")):
                if all(w in path.name.lower() for w in words):
                    return path
    local = csvio.local_path(hub_repo, "train.csv")
    if local.is_file():
        return local
    if download:
        try:
            return csvio.hub_file(hub_repo, "train.csv")
        except UserError:
            return None
    return None


def sudoku_extreme(folder=None, download: bool = False, index: int = 0) -> Example:
    """A Sudoku-Extreme puzzle (9x9), else a generated 9x9 that the solver cannot do without guessing."""
    path = _find(folder, sudoku.HUB_REPO, ("sudoku", "extreme"), download)
    if path is not None:
        rows = sudoku.read_csv(path, limit=index + 1)
        return Example(rows.questions[index].reshape(9, 9), rows.answers[index].reshape(9, 9),
                       f"Sudoku-Extreme, row {index + 1} of {path.name}", True)
    p = sudoku.generate(9, 1, seed=GENERATED_SEED, min_guesses=HARD_SUDOKU_GUESSES)[0]
    return Example(p.question, p.answer, f"a generated 9x9 needing {p.rating} solver guesses "
                   "(Sudoku-Extreme's median: about 160)", False)


def maze_hard(folder=None, download: bool = False, index: int = 0) -> Example:
    """A Maze-Hard maze (30x30, shortest path 110 moves or more), else a generated one as long."""
    path = _find(folder, maze.HUB_REPO, ("maze", "hard"), download)
    if path is not None:
        rows = maze.read_csv(path, limit=index + 1)
        n = int(round(rows.questions.shape[1] ** 0.5))
        return Example(rows.questions[index].reshape(n, n), rows.answers[index].reshape(n, n),
                       f"Maze-Hard, row {index + 1} of {path.name}", True)
    made = maze.generate(30, 1, seed=GENERATED_SEED, min_path=110)
    return Example(made.questions[0].reshape(30, 30), made.answers[0].reshape(30, 30),
                   f"a generated 30x30 corridor maze, shortest path {made.ratings[0]} moves", False)
