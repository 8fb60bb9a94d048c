"""The ``trm`` subcommands: demo, train, eval, solve, bench.

Each command is a small function over the library (recipes, evaluate, viz): a notebook can do the
same in a few lines.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from . import checkpoint as ckpt_io
from . import distributed
from .cli import UsageError, bounded, positive_float, positive_int
from .config import PRESETS, ModelConfig, preset
from .devices import pick_device
from .models import build_model
from .recipes import DEFAULT_PRESET, DEMO, TASK_ALIASES, build_run, recipe_for, reserve_for_vote
from .tracking import TRACKING_FILES
from .trainer import TrainConfig, TrainingStopped, throughput
from .viz import print_sudoku_steps, save_training_summary


def parse_overrides(pairs: list[str]) -> tuple[dict, dict]:
    """``key=value`` pairs -> (ModelConfig fields, TrainConfig fields), values parsed as JSON when they can be."""
    import dataclasses

    model_fields = {f.name for f in dataclasses.fields(ModelConfig)}
    train_fields = {f.name for f in dataclasses.fields(TrainConfig)}
    model, train = {}, {}
    for pair in pairs:
        if "=" not in pair:
            raise UsageError(f"override {pair!r} is not key=value")
        key, raw = pair.split("=", 1)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        if key in model_fields:
            model[key] = value
        elif key in train_fields:
            train[key] = value
        else:
            raise UsageError(f"unknown setting {key!r}: not a ModelConfig or TrainConfig field")
    return model, train


def parse_task_options(pairs: list[str]) -> dict:
    """``--task-option key=value`` pairs -> make_task keywords, values parsed as JSON when they can be."""
    options = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise UsageError(f"--task-option {pair!r} is not key=value")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    return options


def _print_eval(metrics: dict, file=None, label: str = "") -> None:
    file = file or sys.stdout
    per = metrics.get("per_step_exact", [])
    print(f"exact accuracy on {metrics['n']} unseen puzzles{label}: {100 * metrics['exact_accuracy']:.1f}%  "
          f"(cells {100 * metrics['cell_accuracy']:.1f}%)", file=file)
    if per:
        print("exact accuracy after each supervision step: "
              + "  ".join(f"{i + 1}:{100 * v:.1f}%" for i, v in enumerate(per)),
              file=file)


# ---------------------------------------------------------------------------------------------
# trm train
# ---------------------------------------------------------------------------------------------
RUN_FILES = ("checkpoint.pt", "run.json", "metrics.jsonl", "demo.png")


def holds_run(folder: Path) -> bool:
    return any((folder / name).exists() for name in RUN_FILES)


def prepare_run_folder(out: Path, overwrite: bool) -> None:
    """Make ``out`` ready for a new run: refuse one that holds a run, unless ``overwrite`` (then clear it)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file, not a run folder: choose another --out")
    if holds_run(out):
        if not overwrite:
            raise UsageError(f"{out} already holds a run: resume it with --resume {out}, "
                             "train into another --out, or replace it with --overwrite")
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
        for name in TRACKING_FILES:  # the old run's TensorBoard / W&B records
            path = out / name
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)


def read_run_settings(out: Path) -> dict:
    """The settings of the run in ``out`` (its run.json), checked enough to rebuild the run."""
    if not (out / "run.json").is_file():
        raise UsageError(f"{out} is not a training run folder (no run.json)")
    try:
        settings = json.loads((out / "run.json").read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise UsageError(f"{out / 'run.json'} is not valid JSON ({e})") from None
    missing = [k for k in ("task", "preset") if not isinstance(settings, dict) or k not in settings]
    if missing:
        raise UsageError(f"{out / 'run.json'} lacks {', '.join(missing)}: it was not written by trm train")
    for key in ("model", "train", "task_options"):
        if not isinstance(settings.get(key, {}), dict):
            raise UsageError(f"{out / 'run.json'}: {key} must be a JSON object")
    return settings


def cmd_train(args) -> int:
    """``trm train``; under ``torchrun`` every process runs this, data parallel (rank 0 writes the files)."""
    device = distributed.setup(pick_device(args.device))
    try:
        code = _cmd_train(args, device)
    except TrainingStopped as e:  # agreed by all ranks, after the save: leave together
        ranks = distributed.current()
        distributed.teardown()
        if ranks is not None and not ranks.is_main:
            raise SystemExit(e.exit_code) from None  # rank 0 says how to resume
        raise
    # any other error leaves the group as it is: the other ranks may be inside a collective, and
    # torchrun stops them once this process has exited
    distributed.teardown()
    return code


def _cmd_train(args, device) -> int:
    from . import lm

    if lm.is_text_run(args):  # TRM as a language model (trm_core/lm.py)
        return lm.cmd_train(args, device)
    is_arc = TASK_ALIASES.get(args.task, args.task).startswith("arc")
    if (args.data is not None and not is_arc) or args.smoke:
        raise UsageError("--data is for --task tinystories and ARC (a Kaggle-layout folder), --smoke for tinystories "
                         "(puzzle files: --task-option train_csv=PATH)")
    if args.eval_tasks is not None and not is_arc:
        raise UsageError("--eval-tasks is for ARC tasks")
    ranks = distributed.current()
    main = ranks is None or ranks.is_main
    say = print if main else (lambda *a, **k: None)
    lock = ckpt_io.run_lock if main else (lambda out: nullcontext())  # rank 0 holds the run folder
    if args.resume:
        out = Path(args.resume)
        with lock(out):
            settings = read_run_settings(out)
            if args.steps:
                settings.setdefault("train", {})["max_steps"] = args.steps
            if args.minutes is not None:
                settings.setdefault("train", {})["max_minutes"] = args.minutes
            if args.track is not None:
                settings.setdefault("train", {})["track"] = args.track
            if not (out / "checkpoint.pt").exists():
                raise UsageError(f"{out} has no checkpoint yet (the run stopped before its first save): "
                                 f"start it again with the same command and --overwrite")
            state = ckpt_io.load(out / "checkpoint.pt", map_location=device)
            trainer, task = build_run(settings, device, out)
            trainer.load_state_dict(state)
            say(f"resuming {out} at step {trainer.step}" + (f" on {ranks.world} processes" if ranks else ""))
            return _train(trainer, out, say)
    task_name = TASK_ALIASES.get(args.task, args.task)
    model_over, train_over = parse_overrides(args.overrides)
    if task_name not in DEFAULT_PRESET:
        names = ", ".join([*DEFAULT_PRESET, *TASK_ALIASES, "tinystories"])
        raise UsageError(f"unknown task {args.task!r}; choose one of: {names}")
    preset_name = args.preset or DEFAULT_PRESET[task_name][args.model == "hrm"]
    if preset_name not in PRESETS:
        raise UsageError(f"unknown preset {preset_name!r}; choose one of: {', '.join(PRESETS)}")
    if args.model and PRESETS[preset_name]["arch"] != args.model:
        raise UsageError(f"preset {preset_name!r} is not a {args.model.upper()} preset")
    if args.steps:
        train_over["max_steps"] = args.steps
    if args.minutes is not None:
        train_over["max_minutes"] = args.minutes
        if not args.steps:
            train_over["max_steps"] = 0  # no step limit: the minutes decide, schedule included
    if args.track is not None:
        train_over["track"] = args.track
    settings = dict(task=task_name, size=args.size, n_train=args.n_train, n_test=args.n_test, seed=args.seed,
                    preset=preset_name, model=model_over, train=train_over,
                    task_options=parse_task_options(args.task_option))
    if is_arc:  # ARC: the reference's files and builder (--data), a seeded subset of evaluation tasks
        settings["task_options"].update({k: v for k, v in (("data", args.data), ("eval_tasks", args.eval_tasks))
                                         if v is not None})
        if args.eval_tasks is not None:
            settings["task_options"].setdefault("eval_seed", args.seed)
    out = Path(args.out or f"runs/{task_name}-{preset_name}")
    with lock(out):  # a second `trm train` into the same folder stops here
        if main:
            prepare_run_folder(out, args.overwrite)
        distributed.barrier()  # the other ranks start once rank 0 has the folder ready
        trainer, task = build_run(settings, device, out)  # validates everything before run.json is written
        if main:
            (out / "run.json").write_text(json.dumps(settings, indent=2))
        where = f"{device}" + (f" x {ranks.world} processes ({torch.distributed.get_backend()})" if ranks else "")
        say(f"training {preset_name} ({trainer.model.num_parameters():,} parameters) on {task_name} "
            f"({task.train.num_examples} training puzzles) on {where}; run directory {out}")
        return _train(trainer, out, say)


def _fit(trainer, out: Path) -> dict:
    """``trainer.fit()``; a stop by SIGINT or SIGTERM goes up to cli.main saying how to resume."""
    try:
        return trainer.fit()
    except TrainingStopped as e:
        raise TrainingStopped(e.signal_name, e.step, f"saved {out / 'checkpoint.pt'}; continue with: "
                              f"trm train --resume {out}") from None
    finally:
        trainer.close()  # data parallel: DDP lets go of the process group before cmd_train leaves it


def _train(trainer, out: Path, say=print) -> int:
    metrics = _fit(trainer, out)
    if trainer.is_main:
        _print_eval(metrics)
    say(f"saved {out / 'checkpoint.pt'}")
    return 0


# ---------------------------------------------------------------------------------------------
# trm eval / trm solve
# ---------------------------------------------------------------------------------------------
def load_checkpoint_model(path, device):
    ckpt = ckpt_io.load(path, map_location="cpu")
    return ckpt_io.model_from_checkpoint(ckpt, device=device), ckpt


def task_family(ckpt: dict) -> str:
    name = ckpt.get("data", {}).get("name", "")
    for family in ("sudoku", "maze", "arc", "addition"):
        if name.startswith(family):
            return family
    raise UsageError(f"the checkpoint does not say which task it was trained on (data name {name!r})")


def read_eval_file(ckpt: dict, path: str):
    """The task of a CSV in the hub layout (its rows are the test split), checked against the checkpoint's model."""
    from .data import task_from_csv

    family = task_family(ckpt)
    if family not in ("sudoku", "maze"):
        raise UsageError(f"trm eval reads Sudoku and maze CSV files; this checkpoint is for {family}")
    task = task_from_csv(family, path)
    cfg, size = ckpt["model_config"], task.params["size"]
    if task.seq_len != cfg["seq_len"] or task.vocab_size != cfg["vocab_size"]:
        raise UsageError(f"{path} holds {size}x{size} {family} puzzles, but the checkpoint's model reads "
                         f"sequences of {cfg['seq_len']} tokens (vocabulary {cfg['vocab_size']})")
    return task


def solve_options(args, device) -> dict:
    """The adaptive-inference and test-time-compute options of ``trm eval`` for :func:`trm_core.solve.solve`."""
    members = [load_checkpoint_model(path, device)[0] for path in args.ensemble]
    return dict(max_steps=args.steps, halt_threshold=args.halt_threshold, samples=args.samples, noise=args.noise,
                select=args.select, members=members, seed=args.seed)


def cmd_eval(args) -> int:
    from . import lm
    from .evaluate import evaluate, evaluate_adaptive

    device = pick_device(args.device)
    model, ckpt = load_checkpoint_model(args.checkpoint, device)
    if lm.is_text_checkpoint(ckpt):  # a language model: perplexity after each supervision step
        return lm.cmd_eval(args, model, ckpt, device)
    if task_family(ckpt) == "arc":  # pass@k by voting over the checkpoint's own ARC data (trm_core/arc_cli.py)
        from .arc_cli import eval_arc

        return eval_arc(args, model, ckpt, device)
    if args.data is None:
        raise UsageError("trm eval needs --data (a puzzle CSV, or text for a language model)")
    if args.eval_tasks is not None or args.eval_versions is not None:
        raise UsageError("--eval-tasks and --eval-versions are for ARC checkpoints")
    task = read_eval_file(ckpt, args.data)
    options = solve_options(args, device)
    t0 = time.perf_counter()
    metrics = evaluate(model, task, steps=args.steps, batch_size=args.batch_size)
    metrics["all_steps_seconds"] = time.perf_counter() - t0
    metrics.update(evaluate_adaptive(model, task, batch_size=args.batch_size, **options))
    metrics["halt_threshold"] = args.halt_threshold
    if args.views > 1:  # every view runs all --steps (default N_sup) and the answers vote
        from .data.dataset import DihedralAugmenter, SudokuAugmenter
        from .evaluate import evaluate_voted

        size = task.params["size"]
        symmetries = SudokuAugmenter(size, None) if task_family(ckpt) == "sudoku" else DihedralAugmenter(size)
        metrics.update(evaluate_voted(model, task, augmenter=symmetries, views=args.views, max_steps=args.steps,
                                      adaptive=False, batch_size=args.batch_size))
    if args.json:
        print(json.dumps(metrics))
    else:
        _print_eval(metrics)
        for k in ("valid_solution", "valid_shortest_path"):
            if k in metrics:
                print(f"{k.replace('_', ' ')}: {100 * metrics[k]:.1f}%")
        print(f"mean halting step {metrics['mean_halt_step']:.2f}; accuracy at the halting step "
              f"{100 * metrics['accuracy_at_halt']:.1f}%")
        rule = "the model's rule" if args.halt_threshold is None else f"P(halt) >= {args.halt_threshold:g}"
        extra = (f", {args.samples} samples (noise {args.noise:g})" if args.samples > 1 else "") + \
                (f", {len(options['members']) + 1} ensemble members" if options["members"] else "")
        print(f"adaptive ({rule}{extra}, select {args.select}): {100 * metrics['adaptive_exact_accuracy']:.1f}% exact "
              f"with {metrics['mean_steps_used']:.2f} supervision steps per puzzle "
              f"({100 * metrics['compute_fraction']:.0f}% of running all {model.config.N_sup}), "
              f"{metrics['seconds']:.2f} s (all steps: {metrics['all_steps_seconds']:.2f} s)")
        if args.views > 1:
            print(f"{args.views} symmetric views of each puzzle voting: {100 * metrics['voted_exact_accuracy']:.1f}% "
                  f"exact (cells {100 * metrics['voted_cell_accuracy']:.1f}%); on average "
                  f"{100 * metrics['agreement']:.0f}% of the views gave the voted answer")
    return 0


def cmd_solve(args) -> int:
    device = pick_device(args.device)
    model, ckpt = load_checkpoint_model(args.checkpoint, device)
    family = task_family(ckpt)
    if family != "sudoku":
        raise UsageError("trm solve handles Sudoku checkpoints (mazes and ARC: see notebook 07)")
    print_sudoku_steps(model, args.puzzle, args.steps, halt_threshold=args.halt_threshold,
                       stop=args.halt_threshold is not None)
    return 0


# ---------------------------------------------------------------------------------------------
# trm bench
# ---------------------------------------------------------------------------------------------
def cmd_bench(args) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    dims = {}
    if args.vocab_size:
        dims["vocab_size"] = args.vocab_size
    if args.seq_len:
        dims["seq_len"] = args.seq_len
    model_over, train_over = parse_overrides(args.overrides)
    cfg = preset(args.preset, **dims, **model_over)
    torch.manual_seed(0)
    model = build_model(cfg)
    B = args.batch_size
    g = torch.Generator().manual_seed(0)
    batch = {"inputs": torch.randint(1, cfg.vocab_size, (B, cfg.seq_len), generator=g).to(device),
             "labels": torch.randint(1, cfg.vocab_size, (B, cfg.seq_len), generator=g).to(device),
             "puzzle_identifiers": torch.zeros(B, dtype=torch.long, device=device)}
    tcfg = TrainConfig(**{**recipe_for(args.preset), **train_over, "batch_size": B, "compile": args.compile,
                          "progress": False})
    r = throughput(model, batch, tcfg, segments=args.segments, device=device)
    r.update(preset=args.preset, device=str(device), threads=torch.get_num_threads(), parameters=model.num_parameters())
    if args.json:
        print(json.dumps(r))
    else:
        print(f"{args.preset} ({r['parameters']:,} parameters), batch {B}, {device}, {r['threads']} threads: "
              f"{r['seconds_per_segment']:.3f} s per segment, "
              f"{r['samples_per_second']:.1f} samples x segments per second"
              + (f", peak memory {r['peak_memory_mb']:.0f} MiB" if r["peak_memory_mb"] == r["peak_memory_mb"] else ""))
    return 0


# ---------------------------------------------------------------------------------------------
# trm demo
# ---------------------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    out = Path(args.out) if args.out else _fresh_folder(Path("runs/demo"))
    device = pick_device(args.device)
    settings = json.loads(json.dumps(DEMO))
    if args.minutes is not None:
        settings["train"]["max_minutes"] = args.minutes
    t0 = time.perf_counter()
    with ckpt_io.run_lock(out):
        prepare_run_folder(out, args.overwrite)
        print(f"TRM demo, in {out}: generating {settings['n_train']} + {settings['n_test']} minimal 6x6 Sudoku "
              "puzzles (one solution each)...", flush=True)
        (out / "run.json").write_text(json.dumps(settings, indent=2))
        return _demo(settings, device, out, t0)


def _fresh_folder(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``, ... : the first that holds no run."""
    candidate, k = base, 1
    while holds_run(candidate):
        k += 1
        candidate = base.with_name(f"{base.name}-{k}")
    return candidate


def _demo(settings: dict, device, out: Path, t0: float) -> int:
    trainer, task = build_run(settings, device, out)
    cfg = trainer.model.config
    minutes, vote = settings["train"]["max_minutes"], settings.get("vote")
    kept = ""
    if vote:  # the minutes cover training and the voted evaluation
        reserve = reserve_for_vote(trainer, task.test.inputs, vote)
        kept = f" ({minutes:g} minutes less {reserve:.0f} s for the final evaluation and the vote)"
    print(f"  done in {time.perf_counter() - t0:.0f} s. "
          f"Training a TRM-MLP ({trainer.model.num_parameters():,} parameters, "
          f"n={cfg.n}, T={cfg.T}, {cfg.N_sup} supervision steps) on {device} for "
          f"{trainer.config.max_minutes:.2f} minutes{kept}:", flush=True)
    metrics = _fit(trainer, out)
    print()
    model = trainer.eval_model().eval()
    if vote:
        from .evaluate import evaluate_voted

        v = evaluate_voted(model, task, views=vote["views"], max_steps=vote["max_steps"], adaptive=False,
                           batch_size=512)
        print(f"exact accuracy on {v['n']} unseen puzzles: {100 * v['voted_exact_accuracy']:.1f}%  "
              f"(cells {100 * v['voted_cell_accuracy']:.1f}%): {v['views']} symmetric views of each puzzle "
              f"(digits relabelled, rows and columns shuffled) voting, {vote['max_steps']} supervision steps "
              f"each, {v['voted_seconds']:.0f} s")
    _print_eval(metrics, label=", one view (the puzzle as given)" if vote else "")
    test = task.test
    print("\nAn unseen puzzle, solved one supervision step at a time:\n")
    from .data import sudoku

    puzzle = sudoku.to_string(sudoku.from_tokens(test.inputs[0]))
    print_sudoku_steps(model, puzzle)
    save_training_summary(trainer.history, metrics, out / "demo.png")
    print(f"\nsaved {out / 'checkpoint.pt'} and {out / 'demo.png'} "
          f"(total {time.perf_counter() - t0:.0f} s). Next: trm solve --checkpoint {out / 'checkpoint.pt'} PUZZLE")
    return 0


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------
def add_halt_threshold(parser, then: str = "") -> None:
    def probability(text: str) -> float:
        value = bounded(float, 0.0, "--halt-threshold")(text)
        if value > 1:
            raise argparse.ArgumentTypeError(f"--halt-threshold is a probability in [0, 1], got {text}")
        return value

    parser.add_argument("--halt-threshold", type=probability, metavar="P",
                        help=f"halt when P(halt) = sigmoid(q_halt) >= P{then} (default: the model's own rule)")


def register(sub) -> None:
    p = sub.add_parser("demo", help="train a small TRM on 6x6 Sudoku in minutes and watch it reason")
    p.add_argument("--out", help="run directory (default runs/demo, or runs/demo-2, ... when that holds a run)")
    p.add_argument("--minutes", type=positive_float("--minutes"),
                   help=f"training time (default {DEMO['train']['max_minutes']:g})")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--device")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train", help="train a TRM or HRM on a task (or resume a run)")
    p.add_argument("--task", default="sudoku",
                   help="sudoku, sudoku-extreme, maze, maze-hard, arc-agi-1, arc-agi-2, addition, tinystories")
    p.add_argument("--data", metavar="PATH",
                   help="tinystories: a TinyStories .txt/.parquet/.arrow file or folder, 'hub' (default; needs "
                        "the datasets library) or 'synthetic' (a generated stand-in)")
    p.add_argument("--smoke", action="store_true", help="tinystories: train on two batches of a few stories, then exit")
    p.add_argument("--size", type=positive_int("--size"), help="Sudoku side (4, 6, 9), maze side, or addition digits")
    p.add_argument("--model", choices=["trm", "hrm"])
    p.add_argument("--preset", help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--steps", type=positive_int("--steps"), help="optimizer steps (supervision segments)")
    p.add_argument("--minutes", type=positive_float("--minutes"), help="stop after this much training time")
    p.add_argument("--n-train", type=positive_int("--n-train"))
    p.add_argument("--n-test", type=positive_int("--n-test"))
    p.add_argument("--seed", type=bounded(int, 0, "--seed"), default=0)
    p.add_argument("--device")
    p.add_argument("--out", help="run directory (default runs/TASK-PRESET)")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    p.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    p.add_argument("--track", choices=["tensorboard", "wandb"],
                   help="also log to TensorBoard (RUN/tensorboard) or Weights & Biases (offline, RUN/wandb)")
    p.add_argument("--task-option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the task (repeatable), e.g. loops=0 for perfect mazes; see make_task")
    p.add_argument("--eval-tasks", type=positive_int("--eval-tasks"), metavar="N",
                   help="ARC: evaluate on N evaluation tasks drawn with --seed (default all)")
    p.add_argument("overrides", nargs="*", help="key=value settings of ModelConfig or TrainConfig")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a checkpoint on a CSV file (a language model: perplexity on text)")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", help="a puzzle CSV, or text for a language model (as trm train --data); ARC: the "
                                  "Kaggle-layout folder the checkpoint was trained from, if it moved (else not needed)")
    p.add_argument("--eval-tasks", type=positive_int("--eval-tasks"), metavar="N",
                   help="ARC: score N evaluation tasks drawn with --seed (default all)")
    p.add_argument("--eval-versions", type=positive_int("--eval-versions"), metavar="K",
                   help="ARC: vote over the first K augmented versions of each task (default all, as published)")
    p.add_argument("--max-stories", type=positive_int("--max-stories"),
                   help="language models: read at most this many stories (default all)")
    p.add_argument("--steps", type=positive_int("--steps"),
                   help="supervision steps (default the trained N_sup; more is test-time compute)")
    add_halt_threshold(p)
    p.add_argument("--samples", type=positive_int("--samples"), default=1,
                   help="noisy samples per puzzle (test-time compute; sample 1 stays clean)")
    p.add_argument("--noise", type=bounded(float, 0.0, "--noise"), default=0.0,
                   help="std of the Gaussian noise added to z before each step of samples 2..K")
    p.add_argument("--select", choices=["q", "first"], default="q",
                   help="answer of the sample/member with the highest P(halt) (q) or the first to halt (first)")
    p.add_argument("--ensemble", action="append", default=[], metavar="CHECKPOINT",
                   help="another checkpoint racing beside --checkpoint (repeatable)")
    p.add_argument("--seed", type=bounded(int, 0, "--seed"), default=0, help="seed of the noise")
    p.add_argument("--views", type=positive_int("--views"), default=1, metavar="K",
                   help="also solve K symmetric versions of each puzzle (Sudoku: digits relabelled, rows and "
                        "columns shuffled; mazes: at most 8 rotations and reflections) and let them vote")
    p.add_argument("--batch-size", type=positive_int("--batch-size"), default=256)
    p.add_argument("--device")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("solve", help="show a checkpoint solving a puzzle step by step")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--steps", type=positive_int("--steps"),
                   help="supervision steps (default the trained N_sup; more is test-time compute)")
    add_halt_threshold(p, " and stop there")
    p.add_argument("--device")
    p.add_argument("puzzle", help="the puzzle as a string, '.' or '0' for blanks")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("bench", help="training throughput of a preset on a device")
    p.add_argument("--preset", default="trm-mlp-sudoku")
    p.add_argument("--batch-size", type=positive_int("--batch-size"), default=16)
    p.add_argument("--segments", type=positive_int("--segments"), default=3)
    p.add_argument("--vocab-size", type=positive_int("--vocab-size"))
    p.add_argument("--seq-len", type=positive_int("--seq-len"))
    p.add_argument("--threads", type=positive_int("--threads"))
    p.add_argument("--device")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("overrides", nargs="*", help="key=value settings of ModelConfig or TrainConfig")
    p.set_defaults(func=cmd_bench)
