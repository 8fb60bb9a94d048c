"""Inference speed, in puzzles per second, before and after (side by side, alternating, in one run).

"before": ``reason`` / ``solve`` under ``torch.no_grad`` with the plain layers (``recursive.INFERENCE_MODE``
and ``layers.CHUNKED`` off); "after": under ``torch.inference_mode`` with the chunked token mixer, the
defaults. Both give the same answers (checked here). The shipped models, on unseen puzzles.

    python benchmarks/bench_inference.py [--model trm-sudoku6] [--n 1000] [--batch 1 16 256 1000]
        [--threads 2] [--repeats 5] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from trm_core import layers, pretrained, recursive
from trm_core.data import make_task

SETTINGS = {"before": dict(inference_mode=False, chunked=False), "after": dict(inference_mode=True, chunked=True)}


def run(model, inputs, batch: int, how: str, setting: dict):
    """All of ``inputs`` in batches of ``batch``: (seconds, answers (N, L))."""
    recursive.INFERENCE_MODE, layers.CHUNKED = setting["inference_mode"], setting["chunked"]
    try:
        answers = []
        t = time.perf_counter()
        for i in range(0, len(inputs), batch):
            chunk = inputs[i:i + batch]
            if how == "reason":
                answers.append(model.reason(chunk).predictions[-1])
            else:
                answers.append(model.solve(chunk).answers)
        return time.perf_counter() - t, torch.cat(answers)
    finally:
        recursive.INFERENCE_MODE, layers.CHUNKED = True, True


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="trm-sudoku6", help="a shipped checkpoint (trm_core.pretrained)")
    ap.add_argument("--n", type=int, default=1000, help="puzzles")
    ap.add_argument("--batch", type=int, nargs="*", default=[1, 16, 256, 1000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, _ = pretrained.load(args.model)
    size = int(round(model.config.seq_len ** 0.5))
    inputs = torch.as_tensor(make_task("sudoku", size=size, n_train=0, n_test=args.n, seed=777, num_aug=0).test.inputs)
    result = {"model": args.model, "n": args.n, "threads": args.threads, "torch": torch.__version__, "runs": []}
    for how in ("reason", "solve"):
        for batch in args.batch:
            n = min(len(inputs), 64) if batch == 1 else len(inputs)  # one at a time: 64 puzzles suffice
            times = {k: [] for k in SETTINGS}
            answers = {}
            for k, s in SETTINGS.items():  # warm up
                answers[k] = run(model, inputs[:n], batch, how, s)[1]
            if not torch.equal(answers["before"], answers["after"]):
                raise SystemExit(f"{how} batch {batch}: before and after disagree")
            for _ in range(args.repeats):
                for k, s in SETTINGS.items():
                    times[k].append(run(model, inputs[:n], batch, how, s)[0])
            row = {"how": how, "batch": batch, "puzzles": n}
            for k in SETTINGS:
                row[f"{k}_puzzles_per_s"] = n / statistics.median(times[k])
            row["speedup"] = row["after_puzzles_per_s"] / row["before_puzzles_per_s"]
            result["runs"].append(row)
            print(f"{how:>6} batch {batch:5d}: before {row['before_puzzles_per_s']:8.1f} puzzles/s, "
                  f"after {row['after_puzzles_per_s']:8.1f} puzzles/s  ({row['speedup']:.2f}x)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
