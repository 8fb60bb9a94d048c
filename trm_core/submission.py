"""ARC Prize submissions: two attempts per test input, from the voting ranks, and a format check.

The Kaggle ARC Prize format is one JSON object, ``{task_id: [{"attempt_1": grid, "attempt_2": grid},
...]}``, one dict per test input of the task in the challenges file's order; a grid is a list of rows
of colours 0-9, 1 to 30 rows of 1 to 30 colours each. As the reference's evaluator does, every
augmented version of a task that the checkpoint knows (its puzzle identifiers, see
:mod:`trm_core.data.arc_kaggle`) answers each test input, the answers are un-augmented and voted on
(:class:`~trm_core.data.arc.ArcVoter`), and the two best are the attempts (the best twice when there is
only one). A task the checkpoint was not trained on gets the blank identifier (the paper's protocol
needs every task's identifiers: expect 0% there).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .data.arc import MAX_SIZE, ArcData, ArcError, ArcVoter, Aug, _split_arrays, encode_padded, pad_grids
from .data.arc_kaggle import read_challenges
from .errors import UserError


class SubmissionError(UserError):
    pass


def query(known: ArcData, tasks: list, versions: int | None = None) -> tuple[ArcData, int]:
    """An ArcData whose test split holds every test input of ``tasks`` under every identifier that
    ``known`` (the checkpoint's training data) gives the task's id (the first ``versions`` of them, the
    original first, when given); and how many tasks were unknown."""
    by_id: dict = {}
    for ident in range(1, known.num_puzzle_identifiers):
        by_id.setdefault(known.tasks[int(known.identifier_task[ident])].id, []).append(ident)
    parts, groups, unknown = [], [], 0
    for ti, task in enumerate(tasks):
        idents = by_id.get(task.id)
        if not idents:
            unknown += 1
            idents = [0]
        idents = idents[:versions] if versions else idents
        for ident in idents:
            aug = known.augs[ident - 1] if ident else Aug()
            g, s = pad_grids([aug.apply(i) for i, _ in task.test])
            x = encode_padded(g, s)
            parts.append((x, np.zeros_like(x), ident, ti))
        groups.append(len(idents))
    data = ArcData(known.version, list(tasks), list(range(len(tasks))), known.augs, known.identifier_task,
                   _split_arrays([], []), _split_arrays(parts, groups), dict(known.info))
    return data, unknown


def attempts(voter: ArcVoter, task: int, pair: int, k: int = 2) -> list[list]:
    """The top ``k`` voted grids (as lists), padded with the best; [[0]] when nothing was voted."""
    top = [g.tolist() for g, _, _ in voter.ranked(task, pair)[:k]] or [[[0]]]
    return top + [top[0]] * (k - len(top))


def make_submission(model, known: ArcData, challenges, steps: int | None = None, batch_size: int = 256,
                    progress: bool = False, versions: int | None = None) -> tuple[dict, dict]:
    """(submission dict, summary) for the tasks of a challenges file (no outputs needed); ``versions``:
    vote over only that many augmented versions per task (all by default, as published)."""
    from .evaluate import predict

    tasks = read_challenges(challenges, outputs="none")
    data, unknown = query(known, tasks, versions)
    out = predict(model, data.test, steps=steps, batch_size=batch_size, progress=progress)
    voter = ArcVoter(data)
    voter.add(np.arange(data.test.num_examples), out["predictions"][-1], out["q_halt"][-1])
    submission = {}
    for ti, task in enumerate(tasks):
        submission[task.id] = []
        for p in range(len(task.test)):
            a1, a2 = attempts(voter, ti, p)
            submission[task.id].append({"attempt_1": a1, "attempt_2": a2})
    summary = dict(tasks=len(tasks), test_inputs=sum(len(t.test) for t in tasks), unknown_tasks=unknown,
                   rows=int(data.test.num_examples))
    return submission, summary


def write_submission(submission: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(submission))
    tmp.replace(path)
    return path


def _grid_problem(g) -> str | None:
    if not isinstance(g, list) or not g or not all(isinstance(r, list) for r in g):
        return "is not a non-empty list of rows"
    if not 1 <= len(g) <= MAX_SIZE:
        return f"has {len(g)} rows (1 to {MAX_SIZE})"
    widths = {len(r) for r in g}
    if len(widths) != 1:
        return f"is not rectangular (row lengths {sorted(widths)})"
    w = widths.pop()
    if not 1 <= w <= MAX_SIZE:
        return f"has rows of {w} colours (1 to {MAX_SIZE})"
    if not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 9 for r in g for c in r):
        return "has a colour that is not an integer 0-9"
    return None


def validate_submission(submission, challenges) -> dict:
    """Check a submission (a dict or a JSON file) against a challenges file (or its dict): every task,
    one entry per test input, each with exactly ``attempt_1`` and ``attempt_2``, each a valid grid.

    Returns a summary; raises :class:`SubmissionError` listing the first problems."""
    if not isinstance(submission, dict):
        with open(submission) as f:
            submission = json.load(f)
    if not isinstance(challenges, dict):
        with open(challenges) as f:
            challenges = json.load(f)
    problems = []
    if not isinstance(submission, dict):
        raise SubmissionError("a submission is a JSON object of task id -> list of attempts")
    for tid, task in challenges.items():
        if tid not in submission:
            problems.append(f"task {tid} is missing")
            continue
        entries, n = submission[tid], len(task["test"])
        if not isinstance(entries, list) or len(entries) != n:
            problems.append(f"task {tid}: expected a list of {n} entries (one per test input)")
            continue
        for i, e in enumerate(entries):
            if not isinstance(e, dict) or set(e) != {"attempt_1", "attempt_2"}:
                problems.append(f"task {tid} test {i}: expected exactly the keys attempt_1 and attempt_2")
                continue
            for key in ("attempt_1", "attempt_2"):
                why = _grid_problem(e[key])
                if why:
                    problems.append(f"task {tid} test {i} {key} {why}")
    extra = sorted(set(submission) - set(challenges))
    if extra:
        problems.append(f"{len(extra)} task(s) not in the challenges file, e.g. {extra[0]}")
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise SubmissionError(f"{len(problems)} problem(s) in the submission: " + "; ".join(problems[:10]) + more)
    return dict(tasks=len(challenges), test_inputs=sum(len(t["test"]) for t in challenges.values()))


def score_submission(submission: dict, solutions) -> float:
    """pass@2 of a submission against a solutions file (task id -> list of output grids): the mean over
    tasks of the fraction of test inputs one of whose attempts is right (the ARC Prize score)."""
    if not isinstance(solutions, dict):
        with open(solutions) as f:
            solutions = json.load(f)
    if not solutions:
        raise ArcError("the solutions file has no tasks")
    total = 0.0
    for tid, outs in solutions.items():
        entries = submission.get(tid, [])
        hits = sum(any(e.get(k) == o for k in ("attempt_1", "attempt_2")) for e, o in zip(entries, outs))
        total += hits / len(outs)
    return total / len(solutions)
