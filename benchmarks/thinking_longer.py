"""Thinking longer, stopping earlier: accuracy against compute at inference, on the shipped models.

    python benchmarks/thinking_longer.py [--n 1000] [--n-hard 500] [--threads 2] [--out data/thinking_longer.csv]

For the shipped 6x6 TRM and HRM, on unseen generated puzzles of two sets, "minimal" (the
training distribution) and "hard" (minimal puzzles that need at least one guess of the exact
solver, ``min_guesses=1``, where the models are not near 100%), it measures:

- ``steps``: all rows run S supervision steps, S = 1..16 (the trained N_sup is 6): longer recursion;
- ``halt``: adaptive halting by the model's rule and by P(halt) thresholds (real solves, rows leave
  the batch), and ``calibrated``: the threshold chosen on a separate validation set of minimal
  puzzles (:func:`trm_core.evaluate.calibrate_threshold`), also with more steps allowed;
- ``noisy``: K samples with Gaussian noise on z, the Q head choosing (``select="q"``), all steps
  (or, with a threshold, each sample stopping at the calibrated threshold, up to 2 N_sup steps);
- ``first``: K noisy samples racing, the first to pass the calibrated threshold answers.

Compute is supervision steps per puzzle (``mean_steps``; all samples together), seconds are wall
time of the solve (all of ``reason`` for ``steps`` at N_sup). Writes one CSV row per measurement.
Time it alone on the machine: a busy core changes the seconds, not the accuracies.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
import torch

from trm_core import pretrained
from trm_core.data import make_task
from trm_core.data.dataset import Split
from trm_core.evaluate import calibrate_threshold, evaluate_adaptive, predict

FIELDS = ["model", "set", "method", "samples", "noise", "select", "max_steps", "threshold", "exact_accuracy",
          "mean_steps", "compute", "seconds", "n"]
SETS = {"minimal": dict(seed=12345, min_guesses=0), "hard": dict(seed=4242, min_guesses=1)}
VALIDATION = dict(seed=777, min_guesses=0)


def puzzles(n: int, seed: int, min_guesses: int):
    return make_task("sudoku", size=6, n_train=1, n_test=n, seed=seed, min_guesses=min_guesses).test


def measure(model, split, **options) -> dict:
    m = evaluate_adaptive(model, split, **options)
    return dict(exact_accuracy=m["adaptive_exact_accuracy"], mean_steps=m["mean_steps_used"], seconds=m["seconds"])


def run_model(name: str, model, sets: dict, validation, writer, noise: float) -> None:
    N = model.config.N_sup
    cal = calibrate_threshold(model, validation)
    thr = cal["threshold"]
    print(f"{name}: calibrated threshold {thr} on {len(validation.labels)} validation puzzles "
          f"({100 * cal['exact_accuracy']:.1f}% at {cal['mean_steps']:.2f} steps; all steps "
          f"{100 * cal['all_steps_accuracy']:.1f}%)", flush=True)

    for set_name, split in sets.items():
        def row(method, samples=1, noise_=0.0, select="q", max_steps=N, threshold=None, **m):
            r = dict(model=name, set=set_name, method=method, samples=samples, noise=noise_, select=select,
                     max_steps=max_steps, threshold="" if threshold is None else threshold,
                     exact_accuracy=round(m["exact_accuracy"], 5), mean_steps=round(m["mean_steps"], 4),
                     compute=round(m["mean_steps"] / N, 4), seconds=round(m["seconds"], 3), n=len(split.labels))
            writer.writerow(r)
            print("  ", {k: r[k] for k in ("set", "method", "samples", "noise", "max_steps", "threshold",
                                           "exact_accuracy", "mean_steps", "seconds")}, flush=True)

        preds = predict(model, split, steps=16)["predictions"]  # (16, n, L)
        per_step = (preds == split.labels[None]).all(-1).mean(-1)
        t0 = time.perf_counter()
        predict(model, split, steps=N)
        all_seconds = time.perf_counter() - t0
        for S in range(1, 17):
            row("steps", max_steps=S, exact_accuracy=per_step[S - 1], mean_steps=S,
                seconds=all_seconds if S == N else float("nan"))
        row("halt", **measure(model, split))  # the model's own rule
        for t in (0.5, 0.9, 0.95, 0.99, 0.999):
            row("halt", threshold=t, **measure(model, split, halt_threshold=t))
        if thr is not None:
            for S in (N, 2 * N, 16):
                row("calibrated", max_steps=S, threshold=thr, **measure(model, split, halt_threshold=thr, max_steps=S))
        for K in (2, 4, 8):
            row("noisy", samples=K, noise_=noise, **measure(model, split, adaptive=False, samples=K, noise=noise))
        for sigma in (0.25, 0.5, 2.0):
            row("noisy", samples=4, noise_=sigma, **measure(model, split, adaptive=False, samples=4, noise=sigma))
        for K in (4, 8):
            row("noisy", samples=K, noise_=noise, max_steps=2 * N, threshold=thr,
                **measure(model, split, samples=K, noise=noise, max_steps=2 * N, halt_threshold=thr))
        for K in (2, 4, 8):
            row("first", samples=K, noise_=noise, select="first", max_steps=2 * N, threshold=thr,
                **measure(model, split, samples=K, noise=noise, select="first", max_steps=2 * N, halt_threshold=thr))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000, help="unseen minimal puzzles")
    ap.add_argument("--n-hard", type=int, default=500, help="unseen hard puzzles (min_guesses=1)")
    ap.add_argument("--n-validation", type=int, default=500, help="validation puzzles for the threshold")
    ap.add_argument("--noise", type=float, default=1.0, help="noise std of the K-sample rows")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", nargs="+", default=["trm-sudoku6", "hrm-sudoku6"])
    ap.add_argument("--out", default="data/thinking_longer.csv")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    sets = {"minimal": puzzles(args.n, **SETS["minimal"]), "hard": puzzles(args.n_hard, **SETS["hard"])}
    validation = puzzles(args.n_validation, **VALIDATION)
    tested = {bytes(r) for s in sets.values() for r in s.inputs}
    fresh = np.array([bytes(r) not in tested for r in validation.inputs])
    validation = Split.one_per_group(validation.inputs[fresh], validation.labels[fresh])  # never a test puzzle
    print(f"puzzles made in {time.perf_counter() - t0:.0f} s; {int((~fresh).sum())} validation puzzles "
          "left out as they are also test puzzles")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as f:
        writer = csv.DictWriter(f, FIELDS)
        writer.writeheader()
        for name in args.models:
            model = pretrained.load(name)[0]
            run_model(name, model, sets, validation, writer, args.noise)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    raise SystemExit(main())
