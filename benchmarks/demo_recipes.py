"""Time to accuracy of ``trm demo`` recipes: exact accuracy on unseen 6x6 puzzles against training time.

Each recipe trains the demo's model on the demo's data (``recipes.DEMO``) for ``--minutes``, with no
evaluation during training; the EMA weights are copied every ``--every`` seconds and evaluated
afterwards on ``--n-eval`` fresh minimal puzzles of another seed (training puzzles removed), so the
evaluations cost the run nothing. Recipes run one after the other: nothing else should run.

    python benchmarks/demo_recipes.py [--recipes NAME ...] [--minutes 2] [--threads 2] [--csv OUT.csv]
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import time

import numpy as np
import torch

from trm_core import devices, gemm, recipes
from trm_core.data import make_task
from trm_core.evaluate import evaluate

#: The demo's train settings before it adopted "wd1.0-softmax": every recipe starts from these.
BEFORE = dict(weight_decay=recipes.CPU_RECIPE["weight_decay"], loss="stablemax")
#: Candidate recipes: overrides of the demo's ``train`` and ``model`` settings (on top of BEFORE).
RECIPES = {
    "published-demo": dict(train={}, model={}),  # BEFORE: constant lr 2e-3, batch 64, EMA 0.99, wd 0.1, stablemax
    "cosine": dict(train=dict(lr_min_ratio=0.05), model={}),
    "cosine-lr4e-3": dict(train=dict(lr=4e-3, lr_min_ratio=0.05), model={}),
    "cosine-b32": dict(train=dict(batch_size=32, lr_min_ratio=0.05), model={}),
    "cosine-b128-lr4e-3": dict(train=dict(batch_size=128, lr=4e-3, lr_min_ratio=0.05), model={}),
    "cosine-ema0.98": dict(train=dict(lr_min_ratio=0.05, ema_decay=0.98), model={}),
    "batch32": dict(train=dict(batch_size=32), model={}),
    "lr3e-3": dict(train=dict(lr=3e-3), model={}),
    # CGAR-style depth curriculum: T=1 n=2 for the first 30% of the time, T=2 n=2 until 60%, then T=2 n=4
    "curriculum": dict(train=dict(depth_curriculum="0.3:1:2,0.6:2:2"), model={}),
    "softmax": dict(train=dict(loss="softmax"), model={}),
    "ema0.95": dict(train=dict(ema_decay=0.95), model={}),
    "wd1.0": dict(train=dict(weight_decay=1.0), model={}),
    "wd0": dict(train=dict(weight_decay=0.0), model={}),
    "nsup4": dict(train={}, model=dict(N_sup=4)),
    "hidden96": dict(train={}, model=dict(hidden_size=96)),
    "hidden48": dict(train={}, model=dict(hidden_size=48)),
    "beta2-0.99": dict(train=dict(betas=(0.9, 0.99)), model={}),
    "wd2.0": dict(train=dict(weight_decay=2.0), model={}),
    "wd1.0-softmax": dict(train=dict(weight_decay=1.0, loss="softmax"), model={}),
    # the same with torch's own (MKL) products instead of trm_core.gemm's choice ("gemm" sets gemm.BACKEND)
    "wd1.0-softmax-mkl": dict(gemm="torch", train=dict(weight_decay=1.0, loss="softmax"), model={}),
    # bf16 autocast on the CPU for training and evaluation (devices.CPU_BF16): not identical math
    "wd1.0-softmax-bf16": dict(bf16=True, train=dict(weight_decay=1.0, loss="softmax"), model={}),
    "wd1.0-lr3e-3": dict(train=dict(weight_decay=1.0, lr=3e-3), model={}),
    "wd1.0-ema0.98": dict(train=dict(weight_decay=1.0, ema_decay=0.98), model={}),
    "wd1.0-warmup50": dict(train=dict(weight_decay=1.0, lr_warmup_steps=50), model={}),
    "wd1.0-hidden48": dict(train=dict(weight_decay=1.0), model=dict(hidden_size=48)),
    "wd1.0-nsup4": dict(train=dict(weight_decay=1.0), model=dict(N_sup=4)),
    "wd1.0-hidden48-nsup4": dict(train=dict(weight_decay=1.0), model=dict(hidden_size=48, N_sup=4)),
    "wd1.0-hidden32": dict(train=dict(weight_decay=1.0), model=dict(hidden_size=32)),
    "wd1.0-hidden48-lr3e-3": dict(train=dict(weight_decay=1.0, lr=3e-3), model=dict(hidden_size=48)),
    "wd1.0-hidden48-ema0.98": dict(train=dict(weight_decay=1.0, ema_decay=0.98), model=dict(hidden_size=48)),
    "wd1.0-hidden48-b48": dict(train=dict(weight_decay=1.0, batch_size=48), model=dict(hidden_size=48)),
    "wd1.0-softmax-hidden48": dict(train=dict(weight_decay=1.0, loss="softmax"), model=dict(hidden_size=48)),
    "wd1.0-softmax-hidden48-ema0.98": dict(train=dict(weight_decay=1.0, loss="softmax", ema_decay=0.98),
                                           model=dict(hidden_size=48)),
    # warmup-stable-decay: the full rate until a fraction of the time, then a cosine to 5% of it
    "wd1.0-softmax-wsd0.5": dict(train=dict(weight_decay=1.0, loss="softmax", lr_min_ratio=0.05,
                                            lr_decay_from=0.5), model={}),
    "wd1.0-softmax-wsd0.7": dict(train=dict(weight_decay=1.0, loss="softmax", lr_min_ratio=0.05,
                                            lr_decay_from=0.7), model={}),
    "wd1.0-softmax-wsd0.8": dict(train=dict(weight_decay=1.0, loss="softmax", lr_min_ratio=0.05,
                                            lr_decay_from=0.8), model={}),
    "wd1.0-softmax-wsd0.7-lr3e-3": dict(train=dict(weight_decay=1.0, loss="softmax", lr=3e-3, lr_min_ratio=0.05,
                                                   lr_decay_from=0.7), model={}),
    "wd1.0-softmax-hidden96": dict(train=dict(weight_decay=1.0, loss="softmax"), model=dict(hidden_size=96)),
    "wd1.0-softmax-b128-lr3e-3": dict(train=dict(weight_decay=1.0, loss="softmax", batch_size=128, lr=3e-3),
                                      model={}),
    "wd1.0-softmax-n10000": dict(task=dict(n_train=10000), train=dict(weight_decay=1.0, loss="softmax"), model={}),
    # twice the training puzzles (``task`` overrides the demo's data settings)
    "wd1.0-softmax-n6000": dict(task=dict(n_train=6000), train=dict(weight_decay=1.0, loss="softmax"), model={}),
    "wd1.0-softmax-n6000-wsd0.7": dict(task=dict(n_train=6000), train=dict(weight_decay=1.0, loss="softmax",
                                       lr_min_ratio=0.05, lr_decay_from=0.7), model={}),
}


def fresh_puzzles(n: int, seed: int, train_inputs: np.ndarray):
    """``n`` minimal 6x6 puzzles of ``seed`` that are not among the training puzzles."""
    test = make_task("sudoku", size=6, n_train=0, n_test=n, seed=seed, num_aug=0).test
    seen = {row.tobytes() for row in train_inputs}
    keep = np.array([row.tobytes() not in seen for row in test.inputs])
    return test.inputs[keep], test.labels[keep]


def run(name: str, overrides: dict, minutes: float, every: float, eval_split) -> list[dict]:
    settings = copy.deepcopy(recipes.DEMO)
    settings.update(overrides.get("task", {}))
    settings["train"].update(max_minutes=minutes, eval_every=0, progress=False, checkpoint_minutes=0)
    settings["train"].update(BEFORE)
    settings["train"].update(overrides.get("train", {}))
    settings["model"].update(overrides.get("model", {}))
    trainer, _ = recipes.build_run(settings, progress=False)
    trainer.eval_data = None  # no evaluation inside the timed run
    snapshots, next_t = [], every

    def snap(record):
        nonlocal next_t
        if record["kind"] == "train" and record["time"] >= next_t:
            snapshots.append((record["time"], record["step"], copy.deepcopy(trainer.eval_model().state_dict())))
            next_t += every

    before = gemm.BACKEND, devices.CPU_BF16
    gemm.BACKEND, devices.CPU_BF16 = overrides.get("gemm", gemm.BACKEND), overrides.get("bf16", False)
    try:
        trainer.fit(callback=snap)
        rows = evaluate_snapshots(name, overrides, trainer, snapshots, eval_split)
    finally:
        gemm.BACKEND, devices.CPU_BF16 = before
    return rows


def evaluate_snapshots(name: str, overrides: dict, trainer, snapshots: list, eval_split) -> list[dict]:
    """Exact and cell accuracy of every EMA snapshot (and the final weights) on the evaluation puzzles."""
    snapshots.append((trainer.elapsed, trainer.step, copy.deepcopy(trainer.eval_model().state_dict())))
    model = copy.deepcopy(trainer.model)
    rows = []
    for seconds, step, state in snapshots:
        model.load_state_dict(state)
        m = evaluate(model, eval_split[0], labels=eval_split[1], batch_size=500)
        rows.append(dict(recipe=name, seconds=round(seconds, 1), step=step, exact=m["exact_accuracy"],
                         cells=m["cell_accuracy"], settings=json.dumps(overrides)))
        print(f"{name:>22} {seconds:6.1f} s  step {step:5d}  exact {100 * m['exact_accuracy']:5.1f}%", flush=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", nargs="*", default=list(RECIPES))
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--every", type=float, default=15.0, help="seconds between snapshots")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-eval", type=int, default=2000)
    ap.add_argument("--eval-seed", type=int, default=4242)
    ap.add_argument("--csv", help="append the curves here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    seen = []  # every recipe's training and test puzzles stay out of the evaluation
    for n_train in sorted({RECIPES[r].get("task", {}).get("n_train", recipes.DEMO["n_train"]) for r in args.recipes}):
        demo = make_task("sudoku", size=6, n_train=n_train, n_test=recipes.DEMO["n_test"],
                         seed=recipes.DEMO["seed"], num_aug=0)
        seen += [demo.train.inputs, demo.test.inputs]
    eval_split = fresh_puzzles(args.n_eval, args.eval_seed, np.concatenate(seen))
    print(f"evaluating on {len(eval_split[0])} unseen puzzles (seed {args.eval_seed})")
    rows = []
    for name in args.recipes:
        t = time.perf_counter()
        rows += run(name, RECIPES[name], args.minutes, args.every, eval_split)
        print(f"  ({time.perf_counter() - t:.0f} s)")
    if args.csv:
        new = not os.path.exists(args.csv)
        with open(args.csv, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            if new:
                w.writeheader()
            w.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
