"""Time to accuracy of ``trm demo`` recipes: exact accuracy on unseen 6x6 puzzles against training time.

Each recipe trains the demo's model on the demo's data (``recipes.DEMO`` with the recipe's overrides)
for ``--minutes``, with no evaluation during training; the EMA weights are copied every ``--every``
seconds and evaluated afterwards on ``--n-eval`` fresh minimal puzzles of another seed (training
puzzles removed), after the recipe's ``eval_steps`` supervision steps, so the evaluations cost the run
nothing. As in ``trm demo``, a recipe with a ``vote`` (the demo's: views and steps) trains for
``--minutes`` less the time that vote takes on the demo's 500 test puzzles (measured as the demo does),
and its final weights are also scored by that vote (column ``voted``; empty for the snapshots).
Recipes run one after the other: nothing else should run.

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
from trm_core.data.dataset import SudokuAugmenter
from trm_core.evaluate import evaluate, evaluate_voted

#: Every recipe is a set of overrides of ``recipes.DEMO`` (``task``, ``model``, ``train``; ``gemm`` and
#: ``bf16`` switch trm_core.gemm's backend and CPU bf16 autocast). "demo" is the adopted recipe itself.
#: The demo before this recipe: the preset's T=2 n=4, 6 supervision steps, constant lr 2e-3 after 100 steps.
OLD_DEMO = dict(model=dict(T=2, n=4, N_sup=6),
                train=dict(lr=2e-3, lr_warmup_steps=100, lr_min_ratio=1.0, lr_decay_from=0.0, depth_curriculum="",
                           eval_steps=0))
#: The steps from the old demo to the adopted one, then variations of the adopted one.
_T1N2 = dict(model=dict(T=1, n=2, N_sup=6), train={**OLD_DEMO["train"], "eval_steps": 16})
_T1N2_WSD = dict(model=_T1N2["model"], train={**_T1N2["train"], "lr": 3e-3, "lr_warmup_steps": 50,
                                              "lr_min_ratio": 0.05, "lr_decay_from": 0.7})
RECIPES = {
    "old-demo": OLD_DEMO,
    "T1n2": _T1N2,  # a cheaper recursion: half the step time of T=2 n=4
    "T1n2-wsd": _T1N2_WSD,  # + lr 3e-3, 50 warm-up steps, the full rate until 70% then a cosine to 5% of it
    "T1n2-wsd-curriculum": dict(model=_T1N2_WSD["model"], train={**_T1N2_WSD["train"], "depth_curriculum": "0.4:1:1"}),
    "demo-n2-end": dict(model=dict(n=2), train=dict(depth_curriculum="0.4:1:1")),  # + 8 supervision steps
    "demo": {},  # + deeper at the end: n=1, then 2, then 3 updates per cycle (recipes.DEMO)
    "demo-n4-end": dict(model=dict(n=4), train=dict(depth_curriculum="0.3:1:1,0.55:1:2,0.8:1:3")),
    "demo-T2-end": dict(model=dict(T=2, n=2), train=dict(depth_curriculum="0.4:1:1,0.8:1:2")),
    "demo-noema": dict(train=dict(ema=False)),
    "demo-ema0.98": dict(train=dict(ema_decay=0.98)),
    "demo-wsd0.5": dict(train=dict(lr_decay_from=0.5)),
    "demo-lr4e-3": dict(train=dict(lr=4e-3)),
    "demo-b48": dict(train=dict(batch_size=48)),
    "demo-n6000": dict(task=dict(n_train=6000)),
    "demo-nsup16": dict(model=dict(N_sup=16)),
    "demo-h96": dict(model=dict(hidden_size=96)),
    "demo-b128-lr4e-3": dict(train=dict(batch_size=128, lr=4e-3)),
    "demo-ema0.995": dict(train=dict(ema_decay=0.995)),
    "demo-h96-nsup16": dict(model=dict(hidden_size=96, N_sup=16)),
    "demo-b128-nsup16": dict(model=dict(N_sup=16), train=dict(batch_size=128, lr=4e-3)),
    # torch's own (MKL) products instead of trm_core.gemm's choice: the same math
    "demo-novote": dict(vote=None),  # the demo before the vote: all 2 minutes train, one view scored
    "demo-mkl": dict(gemm="torch"),
    # bf16 autocast on the CPU for training and evaluation (devices.CPU_BF16): not identical math
    "demo-bf16": dict(bf16=True),
}


#: The columns of ``--csv``.
FIELDS = ["recipe", "seconds", "step", "exact", "cells", "settings", "seed", "voted"]


def fresh_puzzles(n: int, seed: int, train_inputs: np.ndarray):
    """``n`` minimal 6x6 puzzles of ``seed`` that are not among the training puzzles."""
    test = make_task("sudoku", size=6, n_train=0, n_test=n, seed=seed, num_aug=0).test
    seen = {row.tobytes() for row in train_inputs}
    keep = np.array([row.tobytes() not in seen for row in test.inputs])
    return test.inputs[keep], test.labels[keep]


def run(name: str, overrides: dict, minutes: float, every: float, eval_split, seed: int = 0) -> list[dict]:
    settings = copy.deepcopy(recipes.DEMO)
    settings.update(overrides.get("task", {}))
    settings["train"].update(overrides.get("train", {}))
    settings["train"].update(max_minutes=minutes, eval_every=0, progress=False, checkpoint_minutes=0, seed=seed)
    settings["model"].update(overrides.get("model", {}))
    settings.update({k: v for k, v in overrides.items() if k == "vote"})
    trainer, task = recipes.build_run(settings, progress=False)
    vote = settings.get("vote")
    if vote:  # as trm demo: the time of its final one-view evaluation and vote comes off the training time
        reserve = recipes.reserve_for_vote(trainer, task.test.inputs, vote)
        print(f"{name:>22} trains {60 * trainer.config.max_minutes:.0f} s ({reserve:.0f} s kept for the evaluations)")
    trainer.eval_data = None  # no evaluation inside the timed run (the snapshots are scored outside it)
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
        rows = evaluate_snapshots(name, overrides, trainer, snapshots, eval_split, vote)
    finally:
        gemm.BACKEND, devices.CPU_BF16 = before
    return rows


def evaluate_snapshots(name: str, overrides: dict, trainer, snapshots: list, eval_split,
                       vote: dict | None = None) -> list[dict]:
    """Exact and cell accuracy of every EMA snapshot (and the final weights) on the evaluation puzzles;
    with ``vote``, the final weights' voted accuracy too."""
    snapshots.append((trainer.elapsed, trainer.step, copy.deepcopy(trainer.eval_model().state_dict())))
    model = copy.deepcopy(trainer.model)
    rows = []
    for seconds, step, state in snapshots:
        model.load_state_dict(state)
        m = evaluate(model, eval_split[0], labels=eval_split[1], steps=trainer.config.eval_steps or None,
                     batch_size=500)
        rows.append(dict(recipe=name, seconds=round(seconds, 1), step=step, exact=m["exact_accuracy"],
                         cells=m["cell_accuracy"], settings=json.dumps(overrides),
                         seed=trainer.config.seed, voted=""))
        print(f"{name:>22} {seconds:6.1f} s  step {step:5d}  exact {100 * m['exact_accuracy']:5.1f}%", flush=True)
    if vote:
        v = evaluate_voted(model, eval_split[0], eval_split[1], augmenter=SudokuAugmenter(6, None),
                           views=vote["views"], max_steps=vote["max_steps"], adaptive=False, batch_size=512)
        rows[-1]["voted"] = v["voted_exact_accuracy"]
        print(f"{name:>22} final weights, {vote['views']} views voting: exact {100 * v['voted_exact_accuracy']:5.1f}%")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--recipes", nargs="*", default=list(RECIPES))
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--every", type=float, default=15.0, help="seconds between snapshots")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-eval", type=int, default=2000)
    ap.add_argument("--eval-seed", type=int, default=4242)
    ap.add_argument("--seed", type=int, default=0, help="training seed (initial weights, batch order); the data stay")
    ap.add_argument("--csv", help="append the curves here")
    args = ap.parse_args(argv)
    if args.csv and os.path.exists(args.csv):  # checked before the runs, so none is lost to a mismatch
        with open(args.csv, newline="") as f:
            header = next(csv.reader(f), [])
        if header != FIELDS:
            ap.error(f"{args.csv} has the columns {header}, not {FIELDS}: name a new file")
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
        rows += run(name, RECIPES[name], args.minutes, args.every, eval_split, seed=args.seed)
        print(f"  ({time.perf_counter() - t:.0f} s)")
    if args.csv:
        new = not os.path.exists(args.csv)
        with open(args.csv, "a", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            if new:
                w.writeheader()
            w.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
