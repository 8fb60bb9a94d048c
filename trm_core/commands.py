"""The ``trm`` subcommands: demo, train, eval, solve, bench.

Each command is a small function over the library: a notebook can do the same in a few lines.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import build_model
from . import checkpoint as ckpt_io
from .cli import UsageError
from .config import PRESETS, ModelConfig, preset
from .devices import pick_device, seed_everything
from .trainer import EvalSet, TrainConfig, Trainer, throughput

# Training recipes. The published presets train with the published settings (TrainConfig's
# defaults); the laptop presets with settings tuned for a few minutes on a CPU.
CPU_RECIPE = dict(batch_size=64, lr=2e-3, lr_warmup_steps=100, weight_decay=0.1, optimizer="adamw",
                  ema_decay=0.99, eval_batch_size=512)
# Default presets per task: (TRM, HRM).
DEFAULT_PRESET = {"sudoku": ("trm-mlp-tiny", "hrm-tiny"), "sudoku-extreme": ("trm-mlp-sudoku", "hrm-sudoku"),
                  "maze": ("trm-att-tiny", "hrm-tiny"), "maze-hard": ("trm-att-maze", "hrm-sudoku"),
                  "arc-agi-1": ("trm-att-tiny", "hrm-tiny"), "arc-agi-2": ("trm-att-tiny", "hrm-tiny"),
                  "addition": ("trm-mlp-tiny", "hrm-tiny")}
TASK_ALIASES = {"arc": "arc-agi-1", "arithmetic": "addition"}


class LoaderSource:
    """Adapts a task's resumable ``TrainLoader`` to the trainer's ``next_batch()`` interface."""

    def __init__(self, loader):
        self.loader = loader
        self._it = None

    def next_batch(self) -> dict:
        while True:
            if self._it is None:
                self._it = iter(self.loader)
            try:
                return next(self._it)
            except StopIteration:
                self._it = None

    def state_dict(self) -> dict:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.loader.load_state_dict(state)
        self._it = None


def recipe_for(preset_name: str) -> dict:
    """TrainConfig defaults for a preset: the published ones for paper presets, CPU_RECIPE for laptop ones."""
    laptop = any(preset_name.endswith(s) for s in ("-tiny", "-small"))
    return dict(CPU_RECIPE) if laptop else {}


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


# ---------------------------------------------------------------------------------------------
# Building a run from its settings (also used to resume one)
# ---------------------------------------------------------------------------------------------
def build_run(settings: dict, device, out_dir=None, progress=True):
    """(trainer, task) from a run's settings dict (what ``run.json`` stores)."""
    from .data import make_task

    task = make_task(settings["task"], size=settings.get("size"), n_train=settings.get("n_train"),
                     n_test=settings.get("n_test"), seed=settings.get("seed", 0), **settings.get("task_options", {}))
    preset_name = settings["preset"]
    overrides = dict(settings.get("model", {}))
    if task.num_puzzle_identifiers > 1 and not PRESETS[preset_name].get("puzzle_emb_ndim"):
        overrides.setdefault("puzzle_emb_ndim", PRESETS[preset_name]["hidden_size"])  # ARC: one vector per puzzle
    model_cfg = preset(preset_name, **task.model_dims(), **overrides)
    train_cfg = TrainConfig(**{**recipe_for(preset_name), **settings.get("train", {}), "progress": progress})
    seed_everything(train_cfg.seed)
    model = build_model(model_cfg)
    loader = task.train_loader(train_cfg.batch_size, seed=train_cfg.seed)
    test = task.test
    eval_set = EvalSet(test.inputs, test.labels, test.puzzle_identifiers, task_metrics(task))
    trainer = Trainer(model, LoaderSource(loader), train_cfg, eval_set, out_dir=out_dir,
                      data_description=task.describe(), device=device)
    return trainer, task


def _print_eval(metrics: dict, file=None) -> None:
    file = file or sys.stdout
    per = metrics.get("per_step_exact", [])
    print(f"exact accuracy on {metrics['n']} unseen puzzles: {100 * metrics['exact_accuracy']:.1f}%  "
          f"(cells {100 * metrics['cell_accuracy']:.1f}%)", file=file)
    if per:
        print("exact accuracy after each supervision step: " + "  ".join(f"{i + 1}:{100 * v:.1f}%" for i, v in enumerate(per)),
              file=file)


# ---------------------------------------------------------------------------------------------
# trm train
# ---------------------------------------------------------------------------------------------
def cmd_train(args) -> int:
    device = pick_device(args.device)
    if args.resume:
        out = Path(args.resume)
        if not (out / "run.json").exists():
            raise UsageError(f"{out} is not a training run directory (no run.json)")
        settings = json.loads((out / "run.json").read_text())
        if args.steps:
            settings.setdefault("train", {})["max_steps"] = args.steps
        if args.minutes is not None:
            settings.setdefault("train", {})["max_minutes"] = args.minutes
        trainer, task = build_run(settings, device, out)
        trainer.load_state_dict(ckpt_io.load(out / "checkpoint.pt", map_location=device))
        print(f"resuming {out} at step {trainer.step}")
    else:
        task_name = TASK_ALIASES.get(args.task, args.task)
        model_over, train_over = parse_overrides(args.overrides)
        if task_name not in DEFAULT_PRESET:
            raise UsageError(f"unknown task {args.task!r}; choose one of: {', '.join([*DEFAULT_PRESET, *TASK_ALIASES])}")
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
                train_over["max_steps"] = 10**9
        settings = dict(task=task_name, size=args.size, n_train=args.n_train, n_test=args.n_test, seed=args.seed,
                        preset=preset_name, model=model_over, train=train_over)
        out = Path(args.out or f"runs/{task_name}-{preset_name}")
        if (out / "checkpoint.pt").exists():
            raise UsageError(f"{out} already holds a run: use --resume {out}, or another --out")
        out.mkdir(parents=True, exist_ok=True)
        (out / "run.json").write_text(json.dumps(settings, indent=2))
        trainer, task = build_run(settings, device, out)
        print(f"training {preset_name} ({trainer.model.num_parameters():,} parameters) on {task_name} "
              f"({task.train.num_examples} training puzzles) on {device}; run directory {out}")
    try:
        metrics = trainer.fit()
    except KeyboardInterrupt:
        return 130
    _print_eval(metrics)
    print(f"saved {out / 'checkpoint.pt'}")
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
    """(split, extra-metrics function) from a CSV in the hub layout, checked against the checkpoint's model."""
    from .data import task_from_csv

    family = task_family(ckpt)
    if family not in ("sudoku", "maze"):
        raise UsageError(f"trm eval reads Sudoku and maze CSV files; this checkpoint is for {family}")
    task = task_from_csv(family, path)
    cfg, size = ckpt["model_config"], task.params["size"]
    if task.seq_len != cfg["seq_len"] or task.vocab_size != cfg["vocab_size"]:
        raise UsageError(f"{path} holds {size}x{size} {family} puzzles, but the checkpoint's model reads "
                         f"sequences of {cfg['seq_len']} tokens (vocabulary {cfg['vocab_size']})")
    return task.test, task_metrics(task)


def task_metrics(task):
    """The task's own metrics (valid solutions, valid shortest paths, pass@k) as an ``EvalSet.extra`` hook."""

    def extra(final_pred, q_halt):
        m = task.evaluate(final_pred, q_halt[-1])
        return {k: v for k, v in m.items() if k not in ("count", "exact_accuracy", "token_accuracy")}

    return extra


def cmd_eval(args) -> int:
    from .evaluate import evaluate

    device = pick_device(args.device)
    model, ckpt = load_checkpoint_model(args.checkpoint, device)
    split, extra = read_eval_file(ckpt, args.data)
    metrics = evaluate(model, split.inputs, split.labels, None, steps=args.steps, batch_size=args.batch_size, extra=extra)
    if args.json:
        print(json.dumps(metrics))
    else:
        _print_eval(metrics)
        for k in ("valid_solution", "valid_shortest_path"):
            if k in metrics:
                print(f"{k.replace('_', ' ')}: {100 * metrics[k]:.1f}%")
        print(f"mean halting step {metrics['mean_halt_step']:.2f}; accuracy at the halting step "
              f"{100 * metrics['accuracy_at_halt']:.1f}%")
    return 0


def render_sudoku_steps(model, puzzle: str, steps: int | None = None, file=None) -> dict:
    """Print a Sudoku being solved, one supervision step at a time; returns the trace and the final grid."""
    file = file or sys.stdout
    from .data import sudoku

    size = int(round(model.config.seq_len ** 0.5))
    grid = sudoku.validate_puzzle(puzzle, size)
    tokens = torch.as_tensor(sudoku.to_tokens(grid.reshape(1, -1)))
    trace = model.reason(tokens, steps=steps)
    print("puzzle:", file=file)
    print(sudoku.pretty(grid), file=file)
    prev = None
    for s in range(trace.logits.shape[0]):
        pred = np.clip(sudoku.from_tokens(trace.predictions[s, 0].cpu().numpy()), 0, size).reshape(size, size)
        changed = 0 if prev is None else int((pred != prev).sum())
        ok = not sudoku.conflicts(pred) and (pred > 0).all() and ((grid == 0) | (grid == pred)).all()
        p_halt = float(trace.halt_probability[s, 0])
        print(f"\nstep {s + 1}: P(halt)={p_halt:.2f}  {'valid solution' if ok else 'not yet valid'}"
              + (f"  ({changed} cells changed)" if prev is not None else ""), file=file)
        print(sudoku.pretty(pred), file=file)
        prev = pred
    return {"trace": trace, "final": prev, "valid": ok}


def cmd_solve(args) -> int:
    device = pick_device(args.device)
    model, ckpt = load_checkpoint_model(args.checkpoint, device)
    family = task_family(ckpt)
    if family != "sudoku":
        raise UsageError("trm solve handles Sudoku checkpoints (mazes and ARC: see notebook 07)")
    render_sudoku_steps(model, args.puzzle, args.steps)
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
    tcfg = TrainConfig(**{**recipe_for(args.preset), **train_over, "batch_size": B, "compile": args.compile, "progress": False})
    r = throughput(model, batch, tcfg, segments=args.segments, device=device)
    r.update(preset=args.preset, device=str(device), threads=torch.get_num_threads(), parameters=model.num_parameters())
    if args.json:
        print(json.dumps(r))
    else:
        print(f"{args.preset} ({r['parameters']:,} parameters), batch {B}, {device}, {r['threads']} threads: "
              f"{r['seconds_per_segment']:.3f} s per segment, {r['samples_per_second']:.1f} samples x segments per second"
              + (f", peak memory {r['peak_memory_mb']:.0f} MiB" if r["peak_memory_mb"] == r["peak_memory_mb"] else ""))
    return 0


# ---------------------------------------------------------------------------------------------
# trm demo
# ---------------------------------------------------------------------------------------------
DEMO = dict(task="sudoku", size=6, n_train=3000, n_test=500, seed=0, preset="trm-mlp-tiny",
            model={}, train=dict(max_steps=10**9, max_minutes=4.2, eval_every=250))


def save_demo_plot(history: list[dict], metrics: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .viz import plot_per_step_accuracy, plot_training_curve

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    plot_training_curve(history, ax=axes[0])
    plot_per_step_accuracy(metrics["per_step_exact"], ax=axes[1])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_demo(args) -> int:
    out = Path(args.out)
    device = pick_device(args.device)
    settings = json.loads(json.dumps(DEMO))
    if args.minutes is not None:
        settings["train"]["max_minutes"] = args.minutes
    t0 = time.perf_counter()
    print(f"TRM demo: generating {settings['n_train']} + {settings['n_test']} minimal 6x6 Sudoku puzzles "
          "(one solution each)...", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "checkpoint.pt").exists():
        (out / "checkpoint.pt").unlink()  # the demo always trains afresh
    (out / "metrics.jsonl").unlink(missing_ok=True)
    (out / "run.json").write_text(json.dumps(settings, indent=2))
    trainer, task = build_run(settings, device, out)
    cfg = trainer.model.config
    print(f"  done in {time.perf_counter() - t0:.0f} s. Training a TRM-MLP ({trainer.model.num_parameters():,} parameters, "
          f"n={cfg.n}, T={cfg.T}, {cfg.N_sup} supervision steps) on {device} for "
          f"{settings['train']['max_minutes']:g} minutes:", flush=True)
    metrics = trainer.fit()
    print()
    _print_eval(metrics)
    test = task.test
    print("\nAn unseen puzzle, solved one supervision step at a time:\n")
    from .data import sudoku

    model = trainer.eval_model().eval()
    puzzle = sudoku.to_string(sudoku.from_tokens(test.inputs[0]))
    render_sudoku_steps(model, puzzle)
    save_demo_plot(trainer.history, metrics, out / "demo.png")
    print(f"\nsaved {out / 'checkpoint.pt'} and {out / 'demo.png'} "
          f"(total {time.perf_counter() - t0:.0f} s). Next: trm solve --checkpoint {out / 'checkpoint.pt'} PUZZLE")
    return 0


# ---------------------------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------------------------
def register(sub) -> None:
    p = sub.add_parser("demo", help="train a small TRM on 6x6 Sudoku in minutes and watch it reason")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--minutes", type=float, help="training time (default 4.2)")
    p.add_argument("--device")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("train", help="train a TRM or HRM on a task (or resume a run)")
    p.add_argument("--task", default="sudoku", help="sudoku, sudoku-extreme, maze, maze-hard, arc-agi-1, arc-agi-2, addition")
    p.add_argument("--size", type=int, help="Sudoku side (4, 6, 9), maze side, or addition digits")
    p.add_argument("--model", choices=["trm", "hrm"])
    p.add_argument("--preset", help=f"one of: {', '.join(PRESETS)}")
    p.add_argument("--steps", type=int, help="optimizer steps (supervision segments)")
    p.add_argument("--minutes", type=float, help="stop after this much training time")
    p.add_argument("--n-train", type=int)
    p.add_argument("--n-test", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device")
    p.add_argument("--out", help="run directory (default runs/TASK-PRESET)")
    p.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR")
    p.add_argument("overrides", nargs="*", help="key=value settings of ModelConfig or TrainConfig")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("eval", help="evaluate a checkpoint on a CSV file")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("solve", help="show a checkpoint solving a puzzle step by step")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--steps", type=int)
    p.add_argument("--device")
    p.add_argument("puzzle", help="the puzzle as a string, '.' or '0' for blanks")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("bench", help="training throughput of a preset on a device")
    p.add_argument("--preset", default="trm-mlp-sudoku")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--segments", type=int, default=3)
    p.add_argument("--vocab-size", type=int)
    p.add_argument("--seq-len", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--device")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--json", action="store_true")
    p.add_argument("overrides", nargs="*", help="key=value settings of ModelConfig or TrainConfig")
    p.set_defaults(func=cmd_bench)
