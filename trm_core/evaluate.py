"""Evaluation: every row runs all supervision steps; accuracy after each step, halting, calibration.

One path: :func:`evaluate` = :func:`predict` (the model's answers and Q values after every step, in
batches of an :class:`~trm_core.data.EvalLoader`) + :func:`metrics_from_predictions` (+ the task's own
metrics when given a task). Accuracy has one definition, :func:`trm_core.data.dataset.score`.

The numbers a user of a recursive model wants:

- ``exact_accuracy`` / ``cell_accuracy`` after the last step (what the paper reports),
- ``per_step_exact``: exact accuracy after step 1, 2, ..., N (does recursion keep improving?),
- ``halt_step_histogram``: the step at which the model's own halting rule first says "stop" (TRM:
  ``q_halt > 0``; HRM and any model trained with the continue loss: ``q_halt > q_continue``; see
  :func:`trm_core.act.halts`); the last bucket (index N): it never did,
- ``mean_halt_step`` and ``accuracy_at_halt``: where ACT would stop, and the exact accuracy of the
  answer it gives there (the last step's for rows that never halt),
- ``q_halt_accuracy``: how often ``q_halt > 0`` ("I am right") agrees with being right, after the
  last step, and ``q_halt_calibration``: predicted P(correct) = sigmoid(q_halt) against the observed
  rate. (sigmoid(q_halt) is trained to be P(correct) in both models.)
"""
from __future__ import annotations

import numpy as np
import torch

from .act import halts
from .data.dataset import EvalLoader, Split, as_numpy, score
from .errors import UserError
from .recursive import RecursiveReasoner


def as_split(data, labels=None, puzzle_ids=None) -> Split:
    """A :class:`Split` from a Split, a task's split, or arrays of inputs (N, L) [and labels (N, L), ids (N,)]."""
    if isinstance(data, Split):
        return data
    inputs = as_numpy(data)
    labels = np.zeros_like(inputs) if labels is None else as_numpy(labels)
    return Split.one_per_group(inputs, labels, None if puzzle_ids is None else as_numpy(puzzle_ids))


@torch.no_grad()
def predict(model: RecursiveReasoner, data, puzzle_ids=None, steps: int | None = None, batch_size: int = 256,
            progress: bool = False) -> dict:
    """The model's answers after every supervision step for a whole set, in batches, as numpy.

    ``data``: a Split or inputs (N, L). Returns ``predictions`` (steps, N, L) token ids and
    ``q_halt``, ``q_continue`` (steps, N) float32. ``progress``: a progress bar over the batches.
    """
    split = as_split(data, puzzle_ids=puzzle_ids)
    use_ids = model.puzzle_emb is not None
    preds, q_halt, q_cont = [], [], []
    batches = EvalLoader(split, batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, total=-(-split.num_examples // batch_size), desc="evaluating", unit="batch")
    for batch in batches:
        trace = model.reason(batch["inputs"], batch["puzzle_identifiers"] if use_ids else None, steps=steps)
        preds.append(trace.predictions.cpu())
        q_halt.append(trace.q_halt.float().cpu())
        q_cont.append(trace.q_continue.float().cpu())
    if not preds:
        S = model.config.N_sup if steps is None else int(steps)
        return {"predictions": np.zeros((S, 0, split.seq_len), np.int64), "q_halt": np.zeros((S, 0), np.float32),
                "q_continue": np.zeros((S, 0), np.float32)}
    return {"predictions": torch.cat(preds, 1).numpy(), "q_halt": torch.cat(q_halt, 1).numpy(),
            "q_continue": torch.cat(q_cont, 1).numpy()}


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


def halt_steps(q_halt: np.ndarray, q_continue: np.ndarray | None = None, act_continue: bool = False,
               threshold: float | None = None) -> np.ndarray:
    """(N,) index of the first step at which each row halts by its model's rule (or by
    sigmoid(q_halt) >= ``threshold``); ``steps`` if never."""
    stop = halts(q_halt, q_continue, act_continue, threshold)  # (steps, N)
    return np.where(stop.any(0), stop.argmax(0), stop.shape[0])


def metrics_from_predictions(predictions: np.ndarray, q_halt: np.ndarray, labels, q_continue: np.ndarray | None = None,
                             act_continue: bool = False) -> dict:
    """All metrics from predictions (steps, N, L), q_halt (steps, N) and labels (N, L).

    ``act_continue`` selects the halting rule (``model.config.act_continue``: True for HRM); it needs
    ``q_continue`` (steps, N).
    """
    exact, cells = score(predictions, labels)  # (steps, N) each
    steps, n = exact.shape
    first = halt_steps(q_halt, q_continue, act_continue)  # (N,), `steps` = never
    answer_step = np.minimum(first, steps - 1)  # ACT returns the last answer of a row that never halts
    final_prob = 1 / (1 + np.exp(-np.asarray(q_halt[-1], np.float64)))
    if not n:
        return {"n": 0, "steps": int(steps), "exact_accuracy": 0.0, "cell_accuracy": 0.0, "per_step_exact": [],
                "per_step_cell": [], "halt_step_histogram": [0] * (steps + 1), "mean_halt_step": 0.0,
                "accuracy_at_halt": 0.0, "q_halt_accuracy": 0.0, "q_halt_calibration": []}
    return {
        "n": int(n),
        "steps": int(steps),
        "exact_accuracy": float(exact[-1].mean()),
        "cell_accuracy": float(cells[-1].mean()),
        "per_step_exact": [float(v) for v in exact.mean(-1)],
        "per_step_cell": [float(v) for v in cells.mean(-1)],
        "halt_step_histogram": [int(v) for v in np.bincount(first, minlength=steps + 1)],
        "mean_halt_step": float((answer_step + 1).mean()),
        "accuracy_at_halt": float(exact[answer_step, np.arange(n)].mean()),
        "q_halt_accuracy": float(((q_halt[-1] > 0) == exact[-1]).mean()),
        "q_halt_calibration": _calibration(final_prob, exact[-1]),
    }


def task_and_split(data, labels, puzzle_ids, split: str, caller: str):
    """(the Task or None, the Split to score) from a Task (its ``split``), a Split, or inputs and labels."""
    task = data if hasattr(data, "task_metrics") else None
    if task is None and labels is None and not isinstance(data, Split):
        raise UserError(f"{caller} needs labels: give a Task, a Split, or inputs and labels")
    return task, (task.split(split) if task is not None else as_split(data, labels, puzzle_ids))


def evaluate(model: RecursiveReasoner, data, labels=None, puzzle_ids=None, steps: int | None = None,
             batch_size: int = 256, split: str = "test", progress: bool = False) -> dict:
    """Evaluate ``model`` on a whole set: a :class:`~trm_core.data.Task` (its ``split``, with the task's
    own metrics: valid solutions, valid shortest paths, ARC pass@k by voting), a Split, or arrays
    ``inputs`` (N, L) with ``labels`` (N, L). ``progress``: a progress bar over the batches."""
    task, s = task_and_split(data, labels, puzzle_ids, split, "evaluate")
    out = predict(model, s, steps=steps, batch_size=batch_size, progress=progress)
    metrics = metrics_from_predictions(out["predictions"], out["q_halt"], s.labels, out["q_continue"],
                                       model.config.act_continue)
    if task is not None:
        metrics.update(task.task_metrics(out["predictions"][-1], out["q_halt"][-1], split))
    return metrics


# ---------------------------------------------------------------------------------------------
# Adaptive inference: where to stop, and what stopping costs
# ---------------------------------------------------------------------------------------------
# P(halt) thresholds tried by halting_tradeoff and calibrate_threshold.
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.97, 0.98, 0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999)


def halting_tradeoff(predictions: np.ndarray, q_halt: np.ndarray, labels, q_continue: np.ndarray | None = None,
                     act_continue: bool = False, thresholds=THRESHOLDS) -> list[dict]:
    """Accuracy against compute of stopping rules, from one all-steps run (no model call).

    ``predictions`` (steps, N, L), ``q_halt``/``q_continue`` (steps, N) as from :func:`predict`.
    One row per rule: ``rule`` ("model": the model's own; "P>=t": sigmoid(q_halt) >= t; "all steps";
    "oracle": stop at the first right answer, a bound no halting head can beat), its ``threshold``,
    ``exact_accuracy`` and ``mean_steps`` (a row that never halts counts all steps).
    """
    exact, _ = score(predictions, labels)  # (steps, N)
    steps, n = exact.shape
    rows = []

    def add(rule, threshold, stop):  # stop: (N,) 0-based step index
        acc = float(exact[stop, np.arange(n)].mean()) if n else 0.0
        rows.append(dict(rule=rule, threshold=threshold, exact_accuracy=acc,
                         mean_steps=float((stop + 1).mean()) if n else 0.0))

    add("model", None, np.minimum(halt_steps(q_halt, q_continue, act_continue), steps - 1))
    for t in thresholds:
        add(f"P>={t:g}", float(t), np.minimum(halt_steps(q_halt, threshold=t), steps - 1))
    add("all steps", None, np.full(n, steps - 1))
    add("oracle", None, np.where(exact.any(0), exact.argmax(0), 0))
    return rows


def calibrate_threshold(model: RecursiveReasoner, data, labels=None, tolerance: float = 0.005,
                        max_steps: int | None = None, thresholds=THRESHOLDS, batch_size: int = 256) -> dict:
    """Choose a halting threshold on a validation set: the cheapest P(halt) threshold whose exact
    accuracy stays within ``tolerance`` (0.005: half a point) of running all ``max_steps`` steps.

    Returns ``threshold`` (None when no threshold of the grid qualifies: then halt by the model's
    rule only at the last step), its validation ``exact_accuracy`` and ``mean_steps``, the
    ``all_steps_accuracy`` and the whole ``table`` (see :func:`halting_tradeoff`). Choose it on
    puzzles you will not report on: the choice fits the set it is made on.
    """
    s = as_split(data, labels)
    out = predict(model, s, steps=max_steps, batch_size=batch_size)
    table = halting_tradeoff(out["predictions"], out["q_halt"], s.labels, out["q_continue"],
                             model.config.act_continue, thresholds)
    full = next(r for r in table if r["rule"] == "all steps")
    ok = [r for r in table if r["threshold"] is not None and r["exact_accuracy"] >= full["exact_accuracy"] - tolerance]
    best = min(ok, key=lambda r: (r["mean_steps"], -r["exact_accuracy"])) if ok else None
    return dict(threshold=best["threshold"] if best else None,
                exact_accuracy=(best or full)["exact_accuracy"], mean_steps=(best or full)["mean_steps"],
                all_steps_accuracy=full["exact_accuracy"], steps=int(out["predictions"].shape[0]), table=table)


def solve_all(model: RecursiveReasoner, data, puzzle_ids=None, batch_size: int = 256, **options):
    """:func:`trm_core.solve.solve` over a whole set in batches: one :class:`~trm_core.solve.Solution`.
    ``data``: a Split or inputs (N, L); ``options``: those of ``solve``."""
    from .solve import concat, solve

    split = as_split(data, puzzle_ids=puzzle_ids)
    use_ids = model.puzzle_emb is not None or any(m.puzzle_emb is not None for m in options.get("members", ()))
    parts = [solve(model, b["inputs"], b["puzzle_identifiers"] if use_ids else None, **options)
             for b in EvalLoader(split, batch_size)]
    if not parts:  # an empty set: solve one empty batch for the right shapes
        parts = [solve(model, np.zeros((0, split.seq_len), np.int64), **options)]
    return concat(parts)


def evaluate_adaptive(model: RecursiveReasoner, data, labels=None, batch_size: int = 256, **options) -> dict:
    """Solve a set adaptively (``options``: ``max_steps``, ``halt_threshold``, ``samples``, ...; see
    :func:`trm_core.solve.solve`) and score it: ``adaptive_exact_accuracy``, ``adaptive_cell_accuracy``,
    ``mean_steps_used`` (supervision steps per puzzle, all samples and members together),
    ``compute_fraction`` (that over the model's N_sup: 1.0 is what ``reason`` spends), the fraction
    that ``halted`` by the rule, the histogram of stopping steps, ``calls`` and ``seconds``."""
    _, s = task_and_split(data, labels, None, "test", "evaluate_adaptive")
    sol = solve_all(model, s, batch_size=batch_size, **options)
    exact, cells = score(sol.answers.cpu().numpy()[None], s.labels)
    n = len(s.labels)
    return {
        "n": int(n),
        "max_steps": sol.max_steps,
        "adaptive_exact_accuracy": float(exact.mean()) if n else 0.0,
        "adaptive_cell_accuracy": float(cells.mean()) if n else 0.0,
        "mean_steps_used": sol.mean_steps,
        "compute_fraction": sol.mean_steps / model.config.N_sup,
        "halted": float(sol.halted.double().mean()) if n else 0.0,
        "stop_step_histogram": [int(v) for v in np.bincount(sol.steps.cpu().numpy(), minlength=sol.max_steps + 1)[1:]],
        "calls": sol.calls,
        "seconds": sol.seconds,
    }


def evaluate_voted(model: RecursiveReasoner, data, labels=None, augmenter=None, views: int = 8,
                   batch_size: int = 256, **options) -> dict:
    """Score :func:`trm_core.solve.vote`: ``views`` symmetric versions of each puzzle solved, their
    answers mapped back and voted on. ``data``: a Task (its test split; ``augmenter`` defaults to the
    task's) or a Split / inputs with ``labels`` and an ``augmenter``; ``options``: those of ``solve``.
    Returns ``voted_exact_accuracy``, ``voted_cell_accuracy``, ``views``, ``agreement`` (the mean
    fraction of views that gave the voted answer), ``voted_steps_used`` (supervision steps per
    puzzle, all views together) and ``voted_seconds``."""
    from .solve import vote

    task, s = task_and_split(data, labels, None, "test", "evaluate_voted")
    augmenter = augmenter if augmenter is not None else getattr(task, "augmenter", None)
    if augmenter is None:
        raise UserError("evaluate_voted needs an augmenter to build the views: give a Task that has one "
                        "(Sudoku, mazes) or augmenter=...")
    use_ids = model.puzzle_emb is not None
    answers, votes, steps, seconds = [], [], [], 0.0
    per_batch = max(1, int(batch_size) // max(1, int(views)))  # puzzles per batch: batch_size rows, all views
    for start in range(0, s.num_examples, per_batch):
        rows = np.arange(start, min(start + per_batch, s.num_examples))
        v = vote(model, s.inputs[rows], augmenter, views, s.puzzle_identifiers[rows] if use_ids else None,
                 groups=rows, **options)
        answers.append(v.answers.cpu().numpy())
        votes.append(v.votes.numpy())
        steps.append(v.solution.row_steps.view(views, -1).sum(0).numpy())
        seconds += v.solution.seconds
    n = s.num_examples
    if not n:
        return {"n": 0, "views": int(views), "voted_exact_accuracy": 0.0, "voted_cell_accuracy": 0.0,
                "agreement": 0.0, "voted_steps_used": 0.0, "voted_seconds": 0.0}
    exact, cells = score(np.concatenate(answers)[None], s.labels)
    return {
        "n": int(n),
        "views": int(views),
        "voted_exact_accuracy": float(exact.mean()),
        "voted_cell_accuracy": float(cells.mean()),
        "agreement": float(np.concatenate(votes).mean()) / views,
        "voted_steps_used": float(np.concatenate(steps).mean()),
        "voted_seconds": seconds,
    }
