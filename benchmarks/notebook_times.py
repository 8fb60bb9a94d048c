"""How long each notebook takes as a class runs it: every cell timed, one notebook at a time.

    python benchmarks/notebook_times.py                    # class mode (no settings), all notebooks
    python benchmarks/notebook_times.py 04 05 --fast       # TRM_FAST=1, the CI mode
    python benchmarks/notebook_times.py --json runs/times.json

Runs each notebook in a fresh kernel from the ``notebooks/`` folder (as JupyterLab does), with
nbclient, and prints its total time, its slowest cell and whether it meets the class budget (the
whole notebook within ``--budget`` seconds, no cell over ``--cell-budget``). Time it on a quiet
machine: another busy process on a 2-core CPU roughly doubles the figures.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"


def time_notebook(path: Path, fast: bool, timeout: int) -> dict:
    """Execute ``path`` in a fresh kernel; its total seconds and (seconds, first line) of every code cell."""
    nb = nbformat.read(path, as_version=4)
    env_fast = os.environ.pop("TRM_FAST", None)
    if fast:
        os.environ["TRM_FAST"] = "1"
    try:
        client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                resources={"metadata": {"path": str(NOTEBOOKS)}})
        cells = []
        start = time.perf_counter()
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                t0 = time.perf_counter()
                client.execute_cell(cell, index)
                first = next((line for line in cell.source.splitlines() if line.strip()), "")
                cells.append({"index": index, "seconds": round(time.perf_counter() - t0, 2), "first_line": first[:70]})
        total = time.perf_counter() - start
    finally:
        os.environ.pop("TRM_FAST", None)
        if env_fast is not None:
            os.environ["TRM_FAST"] = env_fast
    return {"notebook": path.stem, "seconds": round(total, 1), "cells": cells}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("which", nargs="*", help="notebook numbers or names (default: all)")
    parser.add_argument("--fast", action="store_true", help="TRM_FAST=1 (the CI mode)")
    parser.add_argument("--budget", type=float, default=300.0, help="seconds a whole notebook may take")
    parser.add_argument("--cell-budget", type=float, default=90.0, help="seconds one cell may take")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds before a cell is abandoned")
    parser.add_argument("--json", help="also write the timings here")
    args = parser.parse_args(argv)

    paths = sorted(NOTEBOOKS.glob("0*.ipynb"))
    if args.which:
        paths = [p for p in paths if any(p.stem.startswith(w) for w in args.which)]
        if not paths:
            parser.error(f"no notebook matches {args.which}")
    results, ok = [], True
    for path in paths:
        r = time_notebook(path, args.fast, args.timeout)
        slowest = max(r["cells"], key=lambda c: c["seconds"])
        r["within_budget"] = r["seconds"] <= args.budget and slowest["seconds"] <= args.cell_budget
        ok &= r["within_budget"]
        results.append(r)
        print(f"{r['notebook']:<24} {r['seconds']:7.1f} s   slowest cell {slowest['seconds']:6.1f} s "
              f"(cell {slowest['index']}: {slowest['first_line']!r})   {'ok' if r['within_budget'] else 'OVER'}",
              flush=True)
    print(f"all: {sum(r['seconds'] for r in results):.1f} s")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
