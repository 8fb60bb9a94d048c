"""Benchmark the data layer: generators, Sudoku solvers, the training loader, puzzle difficulty.

    .venv/bin/python benchmarks/bench_data.py [--hard-count 3] [--min-guesses 160]

Real rows come from ../shared/data (Sudoku-Extreme and Maze-Hard samples) when present. All
timings are single-process, single-thread wall clock.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from trm_core.data import make_task, maze, sudoku  # noqa: E402
from trm_core.data.sudoku_batch import solve_batch  # noqa: E402
from trm_core.data.sudoku_solver import solve_cells  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
EXTREME = SHARED / "sudoku-extreme-train-1k.csv"


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def stats(x) -> str:
    x = np.asarray(x)
    return f"mean {x.mean():6.1f}  median {np.median(x):6.1f}  max {x.max():5d}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hard-count", type=int, default=3, help="hard 9x9 puzzles to generate")
    ap.add_argument("--min-guesses", type=int, default=160, help="difficulty asked of them (Sudoku-Extreme's median)")
    args = ap.parse_args()

    print("== generators (puzzles per second) ==")
    for size, n in ((4, 300), (6, 150), (9, 40)):
        puzzles, dt = timed(lambda: sudoku.generate(size, n, seed=0))
        print(f"sudoku {size}x{size} minimal, unique      {n / dt:8.1f}/s   "
              f"ratings {stats([p.rating for p in puzzles])}")
    for size, n, min_path in ((15, 100, None), (30, 30, 110)):
        _, dt = timed(lambda: maze.generate(size, n, seed=0, min_path=min_path))
        print(f"maze {size}x{size} min_path={min_path!s:4}          {n / dt:8.1f}/s")

    if EXTREME.is_file():
        data = sudoku.read_csv(EXTREME)
        q = data.questions
        print(f"\n== solvers on {len(q)} real Sudoku-Extreme rows ==")
        _, dt = timed(lambda: [solve_cells(p.tolist(), 9, limit=1) for p in q[:300]])
        print(f"pure Python, first solution             {300 / dt:8.1f}/s  (first 300 rows)")
        _, dt = timed(lambda: [solve_cells(p.tolist(), 9, limit=2) for p in q[:300]])
        print(f"pure Python, solution + uniqueness      {300 / dt:8.1f}/s  (first 300 rows)")
        (sols, counts, _), dt = timed(lambda: solve_batch(q, 9, limit=1))
        assert (sols == data.answers).all()
        print(f"NumPy batch, first solution             {len(q) / dt:8.1f}/s")
        (sols, counts, real_guesses), dt = timed(lambda: solve_batch(q, 9, limit=2))
        assert (counts == 1).all() and (sols == data.answers).all()
        print(f"NumPy batch, solution + uniqueness      {len(q) / dt:8.1f}/s")

        print("\n== training loader (sudoku 9x9, batch 768, on-the-fly augmentation) ==")
        task = make_task("sudoku", train_csv=EXTREME, n_train=999, n_test=1, seed=0)
        loader = task.train_loader(768, seed=0)
        n = 0
        t = time.perf_counter()
        while time.perf_counter() - t < 3:
            for _ in loader:
                n += 1
        print(f"batches per second                      {n / (time.perf_counter() - t):8.1f}")
    else:
        print(f"\n{EXTREME} not found: skipping the real-row benchmarks")
        real_guesses = None

    print("\n== difficulty (guesses to solve and prove uniqueness) ==")
    easy = sudoku.generate(9, 40, seed=1)
    print(f"generated 9x9, min_guesses=0  (n={len(easy):4d})   {stats([p.rating for p in easy])}")
    hard, dt = timed(lambda: sudoku.generate(9, args.hard_count, seed=1, min_guesses=args.min_guesses))
    print(f"generated 9x9, min_guesses={args.min_guesses} (n={len(hard):4d})   {stats([p.rating for p in hard])}"
          f"   ({dt / len(hard):.1f} s per puzzle)")
    if real_guesses is not None:
        print(f"Sudoku-Extreme rows           (n={len(real_guesses):4d})   {stats(real_guesses)}")


if __name__ == "__main__":
    main()
