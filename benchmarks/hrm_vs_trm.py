"""HRM vs TRM at equal compute on the 6x6 Sudoku task: the same CPU time for each.

    python benchmarks/hrm_vs_trm.py [--minutes 4] [--threads 2] [--json OUT.json] [--out DIR]

Both use the demo's data (minimal 6x6 puzzles; unseen test puzzles) and the CPU recipe; the HRM
keeps its continue loss and extra forward pass, as published. The two are trained *interleaved*,
one optimizer step at a time, always advancing the one that has used less time, so a busy machine
slows both alike. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from trm_core.recipes import DEMO, build_run

MODELS = {"TRM (trm-mlp-tiny)": "trm-mlp-tiny", "HRM (hrm-tiny)": "hrm-tiny"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=4.0, help="training time for each model")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--out", help="save each model's checkpoint here as PRESET.pt")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    runs = {}
    for label, preset_name in MODELS.items():
        settings = {**DEMO, "preset": preset_name, "model": {}, "train": {**DEMO["train"], "eval_every": 0}}
        trainer, _ = build_run(settings, "cpu", progress=False)
        runs[label] = dict(trainer=trainer, seconds=0.0)
    budget = 60 * args.minutes
    while True:
        label, run = min(runs.items(), key=lambda kv: kv[1]["seconds"])
        if run["seconds"] >= budget:
            break
        trainer = run["trainer"]
        t = time.perf_counter()
        trainer.train_step(trainer.source.next_batch())
        run["seconds"] += time.perf_counter() - t
    rows = []
    for label, run in runs.items():
        trainer = run["trainer"]
        metrics = trainer.evaluate()
        if args.out:
            trainer.save(f"{args.out}/{MODELS[label]}.pt")
        cfg = trainer.model.config
        rows.append(dict(model=label, preset=MODELS[label], parameters=trainer.model.num_parameters(),
                         effective_depth=cfg.effective_depth, steps=trainer.step, minutes=run["seconds"] / 60,
                         exact_accuracy=metrics["exact_accuracy"], cell_accuracy=metrics["cell_accuracy"],
                         per_step_exact=metrics["per_step_exact"]))
    print("| model | parameters | depth per step | optimizer steps | CPU minutes | exact | cells |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {r['parameters']:,} | {r['effective_depth']} | {r['steps']} | {r['minutes']:.1f} | "
              f"{100 * r['exact_accuracy']:.1f}% | {100 * r['cell_accuracy']:.1f}% |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
