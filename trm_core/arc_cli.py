"""``trm eval`` on ARC checkpoints and ``trm arc submit`` / ``trm arc validate``.

An ARC checkpoint records the options its data was built with (``data.params.options``), so its
data, and with it the meaning of every puzzle identifier, can be built again: ``trm eval`` scores
pass@1 / pass@2 by voting on (a seeded subset of) its evaluation tasks, ``trm arc submit`` answers a
challenges file in the Kaggle ARC Prize format.
"""
from __future__ import annotations

import json
import time

from .cli import UsageError, positive_int


def arc_task_for_checkpoint(ckpt: dict, data=None, eval_tasks=None, eval_seed: int = 0, eval_versions=None):
    """The checkpoint's ARC task, built again from its recorded options (``data``: another folder
    in the Kaggle layout holding the same files; ``eval_tasks``: score only that many)."""
    from .data import make_task

    described = ckpt.get("data", {})
    name, params = described.get("name", ""), dict(described.get("params", {}))
    options = dict(params.get("options") or {})
    if not options:  # a checkpoint from before the options were recorded: the workbook's builder
        options = {k: params[k] for k in ("num_aug", "seed", "translate", "extra_train", "max_tasks") if k in params}
    if data is not None:
        options.update(data=str(data), protocol="reference")
    options.update(eval_tasks=eval_tasks, eval_seed=eval_seed, eval_versions=eval_versions)
    seed = options.pop("seed", 0)
    task = make_task(name, seed=seed, **options)
    expected = ckpt["model_config"].get("num_puzzle_identifiers")
    if expected is not None and expected != task.num_puzzle_identifiers:
        raise UsageError(f"the checkpoint has {expected} puzzle identifiers but its data, built again, has "
                         f"{task.num_puzzle_identifiers}: it was trained on other ARC files or options")
    return task


def eval_arc(args, model, ckpt, device) -> int:
    """``trm eval`` for an ARC checkpoint: pass@1 / pass@2 by voting, with a progress bar."""
    from .evaluate import evaluate

    task = arc_task_for_checkpoint(ckpt, args.data, args.eval_tasks, args.seed, args.eval_versions)
    n = len(task.source.eval_tasks)
    print(f"evaluating on {n} ARC evaluation tasks ({task.test.num_examples} augmented test inputs)")
    t0 = time.perf_counter()
    metrics = evaluate(model, task, steps=args.steps, batch_size=args.batch_size, progress=not args.json)
    metrics.update(seconds=time.perf_counter() - t0, eval_tasks=n)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"pass@1 {100 * metrics['pass@1']:.1f}%, pass@2 {100 * metrics['pass@2']:.1f}% over {n} tasks; "
              f"exact accuracy per augmented input {100 * metrics['exact_accuracy']:.1f}%; {metrics['seconds']:.1f} s")
    return 0


def cmd_arc_submit(args) -> int:
    from . import checkpoint as ckpt_io
    from .devices import pick_device
    from .submission import make_submission, score_submission, validate_submission, write_submission

    device = pick_device(args.device)
    ckpt = ckpt_io.load(args.checkpoint, map_location="cpu")
    if not ckpt.get("data", {}).get("name", "").startswith("arc"):
        raise UsageError("trm arc submit needs an ARC checkpoint")
    model = ckpt_io.model_from_checkpoint(ckpt, device=device)
    known = arc_task_for_checkpoint(ckpt, args.data).source
    t0 = time.perf_counter()
    submission, summary = make_submission(model, known, args.tasks, steps=args.steps, batch_size=args.batch_size,
                                          progress=True, versions=args.versions)
    path = write_submission(submission, args.out)
    validate_submission(submission, args.tasks)
    print(f"wrote {path}: {summary['tasks']} tasks, {summary['test_inputs']} test inputs, two attempts each "
          f"({summary['rows']} augmented inputs voted, {time.perf_counter() - t0:.1f} s); format checked")
    if summary["unknown_tasks"]:
        print(f"warning: {summary['unknown_tasks']} task(s) have no puzzle identifier in this checkpoint "
              "(not in its training data): answered with the blank identifier")
    if args.solutions:
        print(f"pass@2 against {args.solutions}: {100 * score_submission(submission, args.solutions):.1f}%")
    return 0


def cmd_arc_validate(args) -> int:
    from .submission import score_submission, validate_submission

    summary = validate_submission(args.submission, args.tasks)
    print(f"{args.submission}: valid ({summary['tasks']} tasks, {summary['test_inputs']} test inputs)")
    if args.solutions:
        with open(args.submission) as f:
            submission = json.load(f)
        print(f"pass@2 against {args.solutions}: {100 * score_submission(submission, args.solutions):.1f}%")
    return 0


def register(sub) -> None:
    p = sub.add_parser("arc", help="ARC Prize submissions: write one from a checkpoint, or check one")
    arc_sub = p.add_subparsers(dest="arc_command", parser_class=type(p))
    s = arc_sub.add_parser("submit", help="answer a challenges file in the Kaggle ARC Prize format (two attempts)")
    s.add_argument("--checkpoint", required=True)
    s.add_argument("--tasks", required=True, metavar="FILE.json", help="a challenges file (arc-agi_*_challenges.json)")
    s.add_argument("--out", required=True, metavar="submission.json")
    s.add_argument("--data", metavar="FOLDER",
                   help="the Kaggle-layout folder the checkpoint was trained from, if it moved")
    s.add_argument("--solutions", metavar="FILE.json", help="also score the submission (pass@2) against these")
    s.add_argument("--steps", type=positive_int("--steps"), help="supervision steps (default the trained N_sup)")
    s.add_argument("--versions", type=positive_int("--versions"), metavar="K",
                   help="vote over the first K augmented versions of each task (default all, as published)")
    s.add_argument("--batch-size", type=positive_int("--batch-size"), default=256)
    s.add_argument("--device")
    s.set_defaults(func=cmd_arc_submit)
    v = arc_sub.add_parser("validate", help="check a submission file against a challenges file")
    v.add_argument("--submission", required=True)
    v.add_argument("--tasks", required=True, metavar="FILE.json")
    v.add_argument("--solutions", metavar="FILE.json")
    v.set_defaults(func=cmd_arc_validate)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])

