"""Evaluation: every row runs all supervision steps; accuracy after each step, halting, calibration.

The numbers a user of a recursive model wants:

- ``exact_accuracy`` / ``cell_accuracy`` after the last step (what the paper reports),
- ``per_step_exact``: exact accuracy after step 1, 2, ..., N (does recursion keep improving?),
- ``halt_step_histogram``: the step at which q_halt first says "done" (N+1 bucket: never),
- ``accuracy_at_halt``: exact accuracy of the answer given at that step (what ACT would deliver),
- ``q_halt_calibration``: predicted P(correct) = sigmoid(q_halt) against the observed rate.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .losses import IGNORE_LABEL
from .recursive import RecursiveReasoner


@torch.no_grad()
def predict(
    model: RecursiveReasoner,
    inputs,
    puzzle_ids=None,
    steps: int | None = None,
    batch_size: int = 256,
) -> dict:
    """Predictions (steps, N, L) and q_halt (steps, N) for a whole set, in batches, as numpy."""
    inputs = torch.as_tensor(np.asarray(inputs))
    ids = None if puzzle_ids is None or model.puzzle_emb is None else torch.as_tensor(np.asarray(puzzle_ids))
    preds, q_halt = [], []
    for start in range(0, len(inputs), batch_size):
        sl = slice(start, start + batch_size)
        trace = model.reason(inputs[sl], None if ids is None else ids[sl], steps=steps)
        preds.append(trace.predictions.cpu())
        q_halt.append(trace.q_halt.cpu())
    return {"predictions": torch.cat(preds, 1).numpy(), "q_halt": torch.cat(q_halt, 1).numpy()}


def _calibration(prob: np.ndarray, correct: np.ndarray, bins: int = 10) -> list[dict]:
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(prob, edges) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        sel = which == b
        if sel.any():
            out.append(dict(lo=float(edges[b]), hi=float(edges[b + 1]), count=int(sel.sum()),
                            mean_confidence=float(prob[sel].mean()), fraction_correct=float(correct[sel].mean())))
    return out


def metrics_from_predictions(predictions: np.ndarray, q_halt: np.ndarray, labels) -> dict:
    """All metrics from predictions (steps, N, L), q_halt (steps, N) and labels (N, L)."""
    labels = np.asarray(labels)
    mask = labels != IGNORE_LABEL  # (N, L)
    counts = np.maximum(mask.sum(-1), 1)
    right = (predictions == labels[None]) & mask[None]  # (steps, N, L)
    exact = right.sum(-1) == mask.sum(-1)[None]  # (steps, N)
    cell = (right.sum(-1) / counts[None]).mean(-1)  # (steps,)
    steps, n = exact.shape
    halted = q_halt > 0
    halt_step = np.where(halted.any(0), halted.argmax(0), steps - 1)  # index of the answer ACT returns
    never = ~halted.any(0)
    hist = np.bincount(np.where(never, steps, halt_step), minlength=steps + 1)  # bucket `steps` = never
    final_prob = 1 / (1 + np.exp(-q_halt[-1].astype(np.float64)))
    return {
        "n": int(n),
        "steps": int(steps),
        "exact_accuracy": float(exact[-1].mean()) if n else 0.0,
        "cell_accuracy": float(cell[-1]) if n else 0.0,
        "per_step_exact": [float(v) for v in exact.mean(-1)] if n else [],
        "per_step_cell": [float(v) for v in cell] if n else [],
        "halt_step_histogram": [int(v) for v in hist],
        "mean_halt_step": float((halt_step + 1).mean()) if n else 0.0,
        "accuracy_at_halt": float(exact[halt_step, np.arange(n)].mean()) if n else 0.0,
        "q_halt_accuracy": float(((q_halt[-1] > 0) == exact[-1]).mean()) if n else 0.0,
        "q_halt_calibration": _calibration(final_prob, exact[-1]),
    }


def evaluate(
    model: RecursiveReasoner,
    inputs,
    labels,
    puzzle_ids=None,
    steps: int | None = None,
    batch_size: int = 256,
    extra: Callable[[np.ndarray, np.ndarray], dict] | None = None,
) -> dict:
    """Evaluate ``model`` on a whole set. ``extra(final_predictions (N, L), q_halt (steps, N))`` may add
    task metrics (a maze's valid-shortest-path rate, ARC's pass@k by voting)."""
    out = predict(model, inputs, puzzle_ids, steps=steps, batch_size=batch_size)
    metrics = metrics_from_predictions(out["predictions"], out["q_halt"], labels)
    if extra is not None:
        metrics.update(extra(out["predictions"][-1], out["q_halt"]))
    return metrics

