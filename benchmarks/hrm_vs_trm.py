"""HRM vs TRM at equal compute on the 6x6 Sudoku task: train each for the same wall-clock time.

    python benchmarks/hrm_vs_trm.py [--minutes 4] [--threads 2] [--json OUT.json] [--out DIR]

Both use the demo's data (minimal 6x6 puzzles, unseen test puzzles) and the CPU recipe; the HRM
uses its continue loss and extra forward pass, as published. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from trm_core.commands import DEMO, build_run

MODELS = {
    "TRM (trm-mlp-tiny)": dict(preset="trm-mlp-tiny", model={}),
    "HRM (hrm-tiny)": dict(preset="hrm-tiny", model={}),
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=4.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--out", help="save each model's checkpoint here as PRESET.pt")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    for label, spec in MODELS.items():
        settings = {**DEMO, "preset": spec["preset"], "model": spec["model"],
                    "train": {**DEMO["train"], "max_minutes": args.minutes, "progress": False}}
        trainer, _ = build_run(settings, "cpu", progress=False)
        t = time.perf_counter()
        metrics = trainer.fit()
        if args.out:
            trainer.save(f"{args.out}/{spec['preset']}.pt")
        cfg = trainer.model.config
        rows.append(dict(model=label, parameters=trainer.model.num_parameters(), effective_depth=cfg.effective_depth,
                         steps=trainer.step, minutes=(time.perf_counter() - t) / 60,
                         exact_accuracy=metrics["exact_accuracy"], cell_accuracy=metrics["cell_accuracy"],
                         per_step_exact=metrics["per_step_exact"]))
        print(f"{label}: {100 * metrics['exact_accuracy']:.1f}% exact after {trainer.step} steps", flush=True)
    print("\n| model | parameters | depth per step | optimizer steps | minutes | exact | cells |")
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
