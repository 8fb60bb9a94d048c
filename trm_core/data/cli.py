"""``trm data``: generate puzzle files and check them.

    trm data generate sudoku --size 6 --count 2000 --seed 0 --out sudoku6.csv [--min-guesses 5]
    trm data generate maze --size 15 --count 1000 --seed 0 --out maze15.csv [--min-path 40]
    trm data check FILE.csv --task sudoku|maze [--unique]

``check`` prints the number of rows and each invalid row (the first row after the header is row 1)
with its reason; exit code 0 when every row is valid, 1 when some are not, 2 when the file cannot be
used at all.
"""
from __future__ import annotations

import sys

import numpy as np

from ..cli import UsageError, bounded, positive_int
from . import csvio, maze, sudoku


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="generate and check puzzle datasets", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="data_command", parser_class=type(p), metavar="{generate,check}")

    g = sub.add_parser("generate", help="write generated puzzles in the hub CSV layout")
    g.add_argument("task", choices=["sudoku", "maze"])
    g.add_argument("--size", type=positive_int("--size"), default=None,
                   help="Sudoku side 4, 6 or 9 (default 9); maze side (default 15)")
    g.add_argument("--count", type=positive_int("--count"), default=1000, help="number of puzzles (default 1000)")
    g.add_argument("--seed", type=bounded(int, 0, "--seed"), default=0)
    g.add_argument("--out", required=True, help="CSV file to write")
    g.add_argument("--min-guesses", type=bounded(int, 0, "--min-guesses"), default=None,
                   help="sudoku: minimum difficulty (solver guesses)")
    g.add_argument("--min-path", type=bounded(int, 0, "--min-path"), default=None,
                   help="maze: minimum shortest-path length in moves")
    g.add_argument("--loops", type=bounded(float, 0.0, "--loops"), default=None,
                   help="maze: fraction of inner walls opened (default 0.1)")
    g.set_defaults(func=_generate)

    c = sub.add_parser("check", help="check every row of a CSV: answers valid (and puzzles unique)")
    c.add_argument("file")
    c.add_argument("--task", choices=["sudoku", "maze"], required=True)
    c.add_argument("--unique", action="store_true", help="sudoku: also require exactly one solution")
    c.set_defaults(func=_check)

    p.set_defaults(func=lambda args: _usage(p))


def _usage(parser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _usage_error(message: str) -> UsageError:
    """A one-line error with exit code 2 (the root ``main`` catches it)."""
    return UsageError(message)


def _generate(args) -> int:
    if args.count < 1:
        raise _usage_error(f"--count must be at least 1, got {args.count}")
    csvio.check_writable(args.out)  # before minutes of generating
    if args.task == "sudoku":
        if args.min_path is not None or args.loops is not None:
            raise _usage_error("--min-path and --loops apply to mazes, not sudoku")
        size = 9 if args.size is None else args.size
        if size not in sudoku.SIZES:
            raise _usage_error(f"--size must be 4, 6 or 9 for sudoku, got {size}")
        step = max(1, args.count // 10)

        def progress(k):  # hard puzzles take seconds each: show that work goes on
            if k % step == 0 and k < args.count:
                print(f"  {k}/{args.count} puzzles", file=sys.stderr, flush=True)

        puzzles = sudoku.generate(size, args.count, seed=args.seed, min_guesses=args.min_guesses or 0,
                                  progress=progress)
        sudoku.write_csv(args.out, puzzles, source=f"trm-sudoku-{size}x{size}-seed{args.seed}")
        ratings = [p.rating for p in puzzles]
        print(f"wrote {len(puzzles)} {size}x{size} Sudoku puzzles to {args.out} "
              f"(mean {np.mean(ratings):.1f} guesses, max {max(ratings)})")
    else:
        if args.min_guesses is not None:
            raise _usage_error("--min-guesses applies to sudoku, not mazes")
        size = 15 if args.size is None else args.size
        if size < 3:
            raise _usage_error(f"--size must be at least 3 for a maze, got {size}")
        data = maze.generate(size, args.count, seed=args.seed, min_path=args.min_path,
                             loops=0.1 if args.loops is None else args.loops)
        data.sources = [f"trm-maze-{size}x{size}-seed{args.seed}"] * len(data)
        maze.write_csv(args.out, data)
        print(f"wrote {len(data)} {size}x{size} mazes to {args.out} "
              f"(shortest paths {data.ratings.min()}-{data.ratings.max()} moves, mean {data.ratings.mean():.1f})")
    return 0


def _check(args) -> int:
    rows = list(csvio.iter_rows(args.file))  # missing file or wrong header: one line, exit 2
    if args.unique and args.task != "sudoku":
        raise _usage_error("--unique applies to sudoku")
    good = [r for r in rows if not r.problem]
    questions, answers = [r.question for r in good], [r.answer for r in good]
    if args.task == "sudoku":
        reasons = sudoku.check_rows(questions, answers, args.unique)
    else:
        reasons = maze.check_rows(questions, answers)
    bad = {r.row: r.problem for r in rows if r.problem}
    bad.update({r.row: reason for r, reason in zip(good, reasons) if reason})
    print(f"{args.file}: {len(rows)} rows, {len(bad)} invalid")
    for i in sorted(bad):
        print(f"row {i}: {bad[i]}")
    return 1 if bad else 0
