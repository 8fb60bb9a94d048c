"""Training recipes: which settings train which preset, and a trainer for a task in one call.

    from trm_core import recipes
    from trm_core.data import make_task

    task = make_task("sudoku", size=6, n_train=3000, n_test=500)
    trainer = recipes.trainer_for(task, "trm-mlp-tiny", max_minutes=2)   # any TrainConfig field
    metrics = trainer.fit()                                              # evaluates on task.test

The published presets train with the published settings (``TrainConfig``'s defaults); the laptop
presets (``*-tiny``, ``*-small``) with :data:`CPU_RECIPE`, tuned for a few minutes on a CPU.
``trm train`` and ``trm demo`` use :func:`build_run`, which does the same from a settings dict (what
a run directory's ``run.json`` stores, so a run can be resumed).
"""
from __future__ import annotations

import time

import torch

from . import distributed
from .config import PRESETS, preset
from .devices import seed_everything
from .errors import UserError
from .models import build_model
from .trainer import TrainConfig, Trainer

#: TrainConfig settings of the laptop presets.
CPU_RECIPE = dict(batch_size=64, lr=2e-3, lr_warmup_steps=100, weight_decay=0.1, optimizer="adamw",
                  ema_decay=0.99, eval_batch_size=512)
#: Default presets per task: (TRM, HRM).
DEFAULT_PRESET = {"sudoku": ("trm-mlp-tiny", "hrm-tiny"), "sudoku-extreme": ("trm-mlp-sudoku", "hrm-sudoku"),
                  "maze": ("trm-att-tiny", "hrm-tiny"), "maze-hard": ("trm-att-maze", "hrm-sudoku"),
                  "arc-agi-1": ("trm-att-tiny", "hrm-tiny"), "arc-agi-2": ("trm-att-tiny", "hrm-tiny"),
                  "addition": ("trm-mlp-tiny", "hrm-tiny")}
TASK_ALIASES = {"arc": "arc-agi-1", "arithmetic": "addition"}
#: The ``trm demo`` run: 6x6 Sudoku with one solution each, trm-mlp-tiny, 2 minutes of training.
#: On a CPU the number of optimizer steps decides how far 2 minutes get, so the demo trains one
#: cycle per supervision step (T=1, not the preset's 2) and deepens it as it goes, a CGAR-style depth
#: curriculum: n=1 latent update per cycle for the first 30% of the time, n=2 until 70%, then n=3, the
#: depth it is evaluated at (the cheap shallow steps come first; the last, deepest stage is the one
#: that solves the puzzles that need a guess). 8 supervision steps; a learning rate of 3e-3 after 50
#: warm-up steps, held until 70% of the time and then decayed to 5% of it; weight decay 1.0 (the
#: published Sudoku value) and the softmax loss. No evaluation during training (each costs ~40 steps
#: on a slow CPU); the final one uses 16 supervision steps ("thinking longer" than it trains with).
#: The accuracy the demo reports is a vote (``vote``, :func:`trm_core.solve.vote`): each test puzzle is
#: solved in 4 symmetric views (digits relabelled; bands, rows, stacks and columns shuffled; a
#: transpose), 12 supervision steps each, and the answer most views give wins, as the published ARC
#: evaluation votes over augmentations. ``trm demo`` times the vote and the one-view evaluation on
#: the fresh model first and trains for its minutes less that (about 11 s on 2 cores), so that all fit;
#: the one-view accuracy is printed beside it. On a Zen 4 over seeds 0-3, 2000 fresh puzzles: voted
#: 99.7/100.0/99.8/99.9%, one view 99.3/99.5/99.0/99.5% (``demo_recipes.py``; ``demo-novote``: no vote).
#: ``benchmarks/demo_recipes.py`` has the learning curves: exact accuracy on 2000 fresh puzzles after
#: 2 minutes on 2 cores of an Intel Ice Lake, one view, 99.6/99.6/99.1/99.3% for training seeds 0-3 (the
#: previous recipe, ending at n=2: 99.0/99.2/99.2/99.1%; the one before, T=2 n=4, constant lr: 98.9%).
DEMO = dict(task="sudoku", size=6, n_train=3000, n_test=500, seed=0, preset="trm-mlp-tiny",
            model=dict(T=1, n=3, N_sup=8),
            train=dict(max_steps=0, max_minutes=2.0, eval_every=0, weight_decay=1.0, loss="softmax",
                       lr=3e-3, lr_warmup_steps=50, lr_min_ratio=0.05, lr_decay_from=0.7,
                       depth_curriculum="0.3:1:1,0.7:1:2", eval_steps=16),
            vote=dict(views=4, max_steps=12))


def reserve_for_vote(trainer: Trainer, test_inputs, vote: dict) -> float:
    """Take the time a final vote (``vote``: views, max_steps) will need off ``trainer``'s max_minutes,
    so that training and the evaluations after it fit them; returns those seconds (at most a third).

    After training come the trainer's own one-view evaluation (``eval_steps``, by default N_sup
    supervision steps, when it has evaluation data) and the vote (views x max_steps). The estimate:
    one supervision step of ``test_inputs`` timed on the model (fresh weights cost what trained ones
    do; the fastest of three calls, past the first-call set-up), times those steps."""
    x = torch.as_tensor(test_inputs[:512])
    times = []
    for _ in range(3):
        t = time.perf_counter()
        trainer.model.reason(x, steps=1)
        times.append(time.perf_counter() - t)
    final = (trainer.config.eval_steps or trainer.model.config.N_sup) if trainer.eval_data is not None else 0
    steps = vote["views"] * vote["max_steps"] + final
    minutes = trainer.config.max_minutes
    reserve = min(min(times) * len(test_inputs) / max(1, len(x)) * steps, 20 * minutes)
    trainer.config.max_minutes = minutes - reserve / 60
    return reserve


def recipe_for(preset_name: str) -> dict:
    """TrainConfig defaults for a preset: the published ones for paper presets, CPU_RECIPE for laptop ones."""
    laptop = any(preset_name.endswith(s) for s in ("-tiny", "-small"))
    return dict(CPU_RECIPE) if laptop else {}


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


def model_config_for(task, preset_name: str, **overrides):
    """The preset's ModelConfig with the task's sizes; a task with many puzzles (ARC) gets puzzle embeddings."""
    if preset_name not in PRESETS:
        raise UserError(f"unknown preset {preset_name!r}; choose one of: {', '.join(PRESETS)}")
    fixed = {k: v for k, v in task.model_dims().items() if k in overrides and overrides[k] != v}
    if fixed:
        raise UserError("the task fixes " + ", ".join(f"{k}={v}" for k, v in fixed.items()) + ": leave them out")
    overrides = {k: v for k, v in overrides.items() if k not in task.model_dims()}
    if task.num_puzzle_identifiers > 1 and not PRESETS[preset_name].get("puzzle_emb_ndim"):
        overrides.setdefault("puzzle_emb_ndim", PRESETS[preset_name]["hidden_size"])  # one vector per puzzle
    return preset(preset_name, **task.model_dims(), **overrides)


def trainer_for(task, preset_name: str, device="cpu", out_dir=None, model: dict | None = None, dtype=None,
                **train) -> Trainer:
    """A :class:`Trainer` of a fresh ``preset_name`` model on ``task``, evaluated on its test split.

    ``model``: ModelConfig overrides; ``train``: TrainConfig fields over the preset's recipe; ``dtype``:
    e.g. ``torch.float64`` for exactness checks. Seeds everything with the TrainConfig's ``seed``
    first, so the same call builds the same model.
    """
    config = TrainConfig(**{**recipe_for(preset_name), **train})
    seed_everything(config.seed)
    net = build_model(model_config_for(task, preset_name, **dict(model or {})))
    if dtype is not None:
        net = net.to(dtype)
    ranks = distributed.current()  # data parallel (torchrun): this rank reads its share of every batch
    shard = (ranks.rank, ranks.world) if ranks else (0, 1)
    source = LoaderSource(task.train_loader(config.batch_size, seed=config.seed, shard=shard))
    return Trainer(net, source, config, task, out_dir=out_dir, data_description=task.describe(), device=device)


def build_run(settings: dict, device="cpu", out_dir=None, progress: bool | None = None):
    """(trainer, task) from a run's settings dict (what ``run.json`` stores; also used to resume).

    ``progress`` overrides the settings' own (a progress bar unless they say ``progress: false``)."""
    from .data import make_task

    task = make_task(settings["task"], size=settings.get("size"), n_train=settings.get("n_train"),
                     n_test=settings.get("n_test"), seed=settings.get("seed", 0), **settings.get("task_options", {}))
    trainer = trainer_for(task, settings["preset"], device=device, out_dir=out_dir, model=settings.get("model"),
                          **{**settings.get("train", {}), **({} if progress is None else {"progress": progress})})
    return trainer, task
