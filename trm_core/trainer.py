"""Deep-supervision training with ACT and EMA, as in the published runs.

Each optimizer step runs ONE supervision step for the whole batch. The ACT carry keeps every row's
latent state (y, z) and puzzle across optimizer steps; rows that halted are replaced by the rows of
the incoming batch. So over time each puzzle gets up to ``N_sup`` supervision steps, each a fresh
gradient step, and easy puzzles leave early.

The loss of a segment is summed over the batch and divided by the batch size (the local batch of this
process). Under data parallelism (``torchrun``, see :mod:`trm_core.distributed`), DDP averages the
gradients over ranks, which makes that the mean over the global batch, as the reference computes it.

How long a run lasts: ``max_steps`` optimizer steps, or ``max_minutes`` of training time (summed over
resumed sessions), whichever comes first; 0 switches a limit off. The learning-rate schedule follows
the same budget: its progress is the larger of ``step / max_steps`` and ``elapsed / max_minutes``, so
a time-limited run warms up by steps and then decays over its minutes (a cosine schedule with
``lr_min_ratio`` < 1 reaches its floor when the time is up; ``lr_decay_from`` holds the full rate for
that fraction of the budget first). Such a schedule follows the clock: for a
schedule that is the same on every machine, limit by steps.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import torch

from . import checkpoint as ckpt_io
from . import distributed
from .act import Carry, act_step, initial_carry
from .config import checked_fields
from .devices import autocast_context
from .ema import EMA
from .errors import UserError
from .evaluate import evaluate
from .losses import LOSSES, act_loss
from .optim import AdamAtan2, SignSGD, lr_at
from .recursive import RecursiveReasoner, State, recursion_settings
from .tracking import TRACKERS, open_tracker


class TrainingStopped(KeyboardInterrupt):
    """Training stopped by SIGINT or SIGTERM after a whole step (and saved, when there is an out_dir)."""

    def __init__(self, signal_name: str, step: int, where: str):
        super().__init__(f"stopped by {signal_name} at step {step}: {where}")
        self.signal_name, self.step = signal_name, step
        self.exit_code = 128 + int(getattr(signal, signal_name))


class _StopOnSignals:
    """While active, the first SIGINT or SIGTERM only sets ``signal`` (the loop stops after the step in
    progress); a second one raises KeyboardInterrupt at once. Outside the main thread (where Python
    cannot install handlers) it does nothing."""

    def __init__(self):
        self.signal, self._previous = None, {}

    def _handle(self, signum, frame):
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False


class BatchSource(Protocol):
    """Where training batches come from: deterministic, and resumable from its state."""

    def next_batch(self) -> dict:  # inputs (B, L), labels (B, L), puzzle_identifiers (B,): long tensors
        ...

    def state_dict(self) -> dict:
        ...

    def load_state_dict(self, state: dict) -> None:
        ...


@dataclass
class TrainConfig:
    """Optimisation settings. Defaults are the published Sudoku run's, except where noted."""

    batch_size: int = 768
    lr: float = 1e-4
    lr_warmup_steps: int = 2000
    lr_min_ratio: float = 1.0  # 1.0: constant after warmup (published)
    lr_decay_from: float = 0.0  # fraction of the budget before the cosine starts (0.7: warmup-stable-decay)
    weight_decay: float = 1.0
    betas: tuple = (0.9, 0.95)
    optimizer: str = "adam_atan2"  # or "adamw"
    puzzle_emb_lr: float = 1e-2
    puzzle_emb_weight_decay: float = 0.1
    grad_clip: float = 0.0  # 0: off
    ema: bool = True
    ema_decay: float = 0.999
    loss: str = "stablemax"  # or "softmax"
    max_steps: int = 10_000  # optimizer steps (= supervision segments); 0: no step limit (needs max_minutes)
    max_minutes: float = 0.0  # training minutes over all sessions; 0: no time limit
    eval_every: int = 0  # steps; 0: only at the end
    eval_batch_size: int = 256
    # Supervision steps per puzzle at evaluation; 0: the model's N_sup. More than N_sup lets the model
    # "think longer" at test time than it was trained to (reported as such: ``per_step_exact``).
    eval_steps: int = 0
    checkpoint_every: int = 0  # steps; 0: by time only
    checkpoint_minutes: float = 5.0  # save at least this often (training time); 0: only at the end
    seed: int = 0
    # A depth curriculum (in the spirit of CGAR, arXiv 2511.08653): "F:T:n,..." trains with T cycles of n
    # updates until the fraction F of the budget is spent, then the next entry, then the model's own T, n.
    depth_curriculum: str = ""
    compile: bool = False  # torch.compile the model (CUDA)
    # Recompute the last cycle's activations in backward, one net call at a time, instead of keeping
    # them: the same gradients for about a third more compute, much less memory (small GPUs).
    activation_checkpointing: bool = False
    track: str = ""  # also send metrics to "tensorboard" or "wandb" (offline unless WANDB_MODE says otherwise)
    progress: bool = True  # tqdm bar

    def __post_init__(self):
        for key, value in checked_fields(type(self), dataclasses.asdict(self)).items():
            setattr(self, key, value)
        problems = []
        if self.optimizer not in ("adam_atan2", "adamw"):
            problems.append(f"optimizer must be 'adam_atan2' or 'adamw', got {self.optimizer!r}")
        if self.track not in TRACKERS:
            problems.append(f"track must be one of {', '.join(repr(t) for t in TRACKERS)}, got {self.track!r}")
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        for name in ("batch_size", "eval_batch_size"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_steps", "max_minutes", "lr_warmup_steps", "weight_decay", "puzzle_emb_lr",
                     "puzzle_emb_weight_decay", "grad_clip", "eval_every", "eval_steps", "checkpoint_every",
                     "checkpoint_minutes"):
            if getattr(self, name) < 0:
                problems.append(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.lr > 0:
            problems.append(f"lr must be > 0, got {self.lr}")
        if not 0 <= self.lr_min_ratio <= 1:
            problems.append(f"lr_min_ratio must be in [0, 1], got {self.lr_min_ratio}")
        if not 0 <= self.lr_decay_from < 1:
            problems.append(f"lr_decay_from must be in [0, 1), got {self.lr_decay_from}")
        if not 0 <= self.ema_decay < 1:
            problems.append(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            problems.append(f"betas must be two numbers in [0, 1), got {self.betas}")
        if self.max_steps == 0 and self.max_minutes == 0:
            problems.append("a run needs a limit: max_steps > 0 or max_minutes > 0")
        try:
            self.depth_stages()
        except UserError as e:
            problems.append(str(e))
        if problems:
            raise UserError("invalid TrainConfig: " + "; ".join(problems))

    def depth_stages(self) -> list[tuple[float, int, int]]:
        """``depth_curriculum`` as (until fraction, T, n) triples, fractions increasing in (0, 1]."""
        stages = []
        for entry in filter(None, (e.strip() for e in self.depth_curriculum.split(","))):
            try:
                until, T, n = entry.split(":")
                stage = (float(until), int(T), int(n))
            except ValueError:
                raise UserError(f"depth_curriculum entries are UNTIL:T:n (e.g. 0.3:1:2), got {entry!r}") from None
            if not (0 < stage[0] <= 1 and stage[1] >= 1 and stage[2] >= 1) or (stages and stage[0] <= stages[-1][0]):
                raise UserError(f"depth_curriculum: {entry!r} needs 0 < UNTIL <= 1 (increasing), T >= 1, n >= 1")
            stages.append(stage)
        return stages

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **checked_fields(type(self), changes))


def _carry_to_dict(carry: Carry | None) -> dict | None:
    if carry is None:
        return None
    return {"y": carry.state.y.cpu(), "z": carry.state.z.cpu(), "steps": carry.steps.cpu(),
            "halted": carry.halted.cpu(), "batch": {k: v.cpu() for k, v in carry.batch.items()}}


def _carry_from_dict(d: dict | None, device, rows: slice = slice(None)) -> Carry | None:
    """The carry saved by :func:`_carry_to_dict` (its ``rows`` only: a data-parallel rank's share)."""
    if d is None:
        return None
    return Carry(State(d["y"][rows].to(device), d["z"][rows].to(device)), d["steps"][rows].to(device),
                 d["halted"][rows].to(device), {k: v[rows].to(device) for k, v in d["batch"].items()})


def _gather_carry(carry: Carry | None) -> Carry | None:
    """The global carry of a data-parallel run (every rank's rows, in rank order)."""
    if carry is None:
        return None
    g = distributed.gather_rows
    return Carry(State(g(carry.state.y), g(carry.state.z)), g(carry.steps), g(carry.halted),
                 {k: g(v) for k, v in carry.batch.items()})


class Trainer:
    """Trains a TRM or HRM from a :class:`BatchSource`; evaluates on ``eval_data``; saves and resumes.

    ``eval_data``: a :class:`~trm_core.data.Task` (evaluated on its test split, with its own metrics)
    or a :class:`~trm_core.data.Split`; see :func:`trm_core.evaluate.evaluate`.
    """

    def __init__(
        self,
        model: RecursiveReasoner,
        source: BatchSource,
        config: TrainConfig,
        eval_data=None,
        out_dir: str | os.PathLike | None = None,
        data_description: dict | None = None,
        device: torch.device | str = "cpu",
    ):
        self.ranks = distributed.current()  # None: this process trains alone
        self.is_main = self.ranks is None or self.ranks.is_main  # the process that writes files
        if self.ranks is not None:
            self.ranks.local_batch(config.batch_size)  # an error now when the ranks cannot share the batch
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.source = source
        self.config = config
        self.eval_data = eval_data
        self.out_dir = Path(out_dir) if out_dir else None
        self.data_description = data_description or {}
        self.step = 0
        self.elapsed = 0.0  # training seconds, over all resumed sessions
        self.carry: Carry | None = None
        self.history: list[dict] = []
        self.tracker = None  # TensorBoard / W&B while fit() runs (config.track)

        params = [p for p in self.model.parameters() if p.requires_grad]
        if config.optimizer == "adam_atan2":
            self.optimizer = AdamAtan2(params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay)
        else:
            fused = self.device.type in ("cpu", "cuda")  # one kernel per step instead of a loop over tensors
            self.optimizer = torch.optim.AdamW(params, lr=config.lr, betas=config.betas,
                                               weight_decay=config.weight_decay, fused=fused)
        self.puzzle_optimizer = None
        if self.model.puzzle_emb is not None:
            self.puzzle_optimizer = SignSGD(self.model.puzzle_emb, config.puzzle_emb_lr, config.puzzle_emb_weight_decay)
        self.ema = EMA(self.model, config.ema_decay) if config.ema else None
        self.model.checkpoint_activations = config.activation_checkpointing
        self._forward = self.model
        if self.ranks is not None:  # gradients averaged over ranks during backward
            self._forward = distributed.wrap(self.model, self.device)
        if config.compile:
            self._forward = torch.compile(self._forward)

    # ---------------------------------------------------------------------------------------
    # One optimizer step = one supervision segment for the whole batch
    # ---------------------------------------------------------------------------------------
    def budget_used(self) -> float:
        """How much of the run's budget is spent, 0 to 1: the larger of the step and the time fractions."""
        cfg = self.config
        by_steps = self.step / cfg.max_steps if cfg.max_steps else 0.0
        by_time = self.elapsed / (60 * cfg.max_minutes) if cfg.max_minutes else 0.0
        return min(1.0, max(by_steps, by_time))

    def finished(self) -> bool:
        return self.budget_used() >= 1.0

    def _set_lr(self) -> None:
        cfg = self.config
        scale = lr_at(self.step, 1.0, cfg.lr_warmup_steps, self.budget_used(), cfg.lr_min_ratio, cfg.lr_decay_from)
        for g in self.optimizer.param_groups:
            g["lr"] = cfg.lr * scale
        if self.puzzle_optimizer is not None:
            self.puzzle_optimizer.param_groups[0]["lr"] = cfg.puzzle_emb_lr * scale

    def close(self) -> None:
        """Let go of the data-parallel (and compiled) wrapper; call it before ``distributed.teardown``.

        DDP's reducer holds the process group. Left to garbage collection it may outlive the group, and
        an end in interpreter exit can abort a gloo process ("terminate called without an active
        exception"): PyTorch keeps the trainer that created the first optimizer alive until exit (the
        frames of the ``torch._dynamo`` import that the optimizer triggers hold it). Evaluation, saving
        and ``state_dict`` still work after ``close``; training does not.
        """
        self._forward = None

    def train_step(self, batch: dict) -> dict:
        """One segment: ACT step, loss, backward, optimizer steps, EMA. Returns float metrics."""
        if self._forward is None:
            raise RuntimeError("this trainer was closed (Trainer.close): build a new one to train again")
        model, cfg = self.model, self.config
        model.train()
        batch = {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}
        if self.carry is None:
            self.carry = initial_carry(model, batch)
        used = self.budget_used()
        T, n = next(((T, n) for until, T, n in cfg.depth_stages() if used < until), (None, None))
        B = batch["inputs"].shape[0]  # this process's rows
        rows = None if self.ranks is None else (self.ranks.rank * B, self.ranks.world * B)
        with recursion_settings(model, n=n, T=T), autocast_context(self.device):
            carry, outputs = act_step(model, self.carry, batch, forward=self._forward, global_rows=rows)
            loss, metrics = act_loss(outputs, carry.batch["labels"], carry.halted, carry.steps, cfg.loss)
        self.carry = carry
        (loss / B).backward()
        self._set_lr()
        grad_norm = None
        if cfg.grad_clip > 0:  # after DDP's averaging: the same on every rank
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.puzzle_optimizer is not None:
            self.puzzle_optimizer.step()
            self.puzzle_optimizer.zero_grad()
        if self.ema is not None:
            self.ema.update(model)
        self.step += 1
        metrics["loss"] = loss.detach()
        names = list(metrics)  # sums over rows: added up over ranks
        sums = distributed.reduce(torch.stack([metrics[k].double() for k in names])).tolist()
        out = dict(zip(names, sums))
        count = max(out["count"], 1.0)
        for k in ("accuracy", "exact_accuracy", "q_halt_accuracy", "steps"):
            out[k] /= count  # means over the rows that halted this step
        out["loss"] /= B * (self.ranks.world if self.ranks else 1)
        out["lr"] = self.optimizer.param_groups[0]["lr"]
        if grad_norm is not None:
            out["grad_norm"] = float(grad_norm)
        return out

    # ---------------------------------------------------------------------------------------
    # Evaluation, checkpoints
    # ---------------------------------------------------------------------------------------
    def eval_model(self) -> RecursiveReasoner:
        """The model used for evaluation: the EMA weights when EMA is on."""
        return self.ema.averaged_model(self.model) if self.ema is not None else self.model

    def evaluate(self, steps: int | None = None) -> dict:
        """Metrics on the evaluation data after ``steps`` supervision steps (default: ``eval_steps``)."""
        if self.eval_data is None:
            raise UserError("this trainer has no evaluation data")
        steps = steps or self.config.eval_steps or None
        return evaluate(self.eval_model(), self.eval_data, steps=steps, batch_size=self.config.eval_batch_size)

    def state_dict(self) -> dict:
        return {
            "format": ckpt_io.FORMAT,
            "model_config": self.model.config.to_dict(),
            "train_config": self.config.to_dict(),
            "data": self.data_description,
            "model": self.model.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else None,
            "optimizer": self.optimizer.state_dict(),
            "puzzle_optimizer": self.puzzle_optimizer.state_dict() if self.puzzle_optimizer else None,
            "step": self.step,
            "elapsed": self.elapsed,
            "rng": ckpt_io.rng_state(),
            "carry": _carry_to_dict(self.carry if self.ranks is None else _gather_carry(self.carry)),
            "source": self.source.state_dict(),
        }

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the checkpoint (data parallel: every rank calls this, rank 0 writes the global state)."""
        if path is None:
            if self.out_dir is None:
                raise UserError("no path given and the trainer has no out_dir")
            path = self.out_dir / "checkpoint.pt"
        state = self.state_dict()
        return ckpt_io.save_atomic(state, path) if self.is_main else Path(path)

    def load_state_dict(self, state: dict) -> None:
        """Resume from :meth:`state_dict`; refuses a checkpoint of another model or task, or a slim one."""
        missing = [k for k in ("model_config", "model", "optimizer", "step", "rng", "carry", "source")
                   if k not in state]
        if missing:
            slim = "optimizer" in missing and "model" in state
            raise ckpt_io.CheckpointError(
                "this is a slim checkpoint (weights for evaluation, no optimizer or data position): it cannot be "
                "resumed; evaluate it, or resume from the run folder's checkpoint.pt" if slim else
                f"the checkpoint lacks {', '.join(missing)}: it was not written by trm_core's Trainer")
        saved = {"causal": False, **state["model_config"]}  # checkpoints from before the causal field
        ckpt_io.check_compatible(saved, self.model.config.to_dict(), "model config")
        if self.data_description:
            ckpt_io.check_compatible(state.get("data", {}), self.data_description, "task")
        self.model.load_state_dict(state["model"])
        if self.ema is not None and state.get("ema"):
            self.ema.load_state_dict(state["ema"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.puzzle_optimizer is not None and state.get("puzzle_optimizer"):
            self.puzzle_optimizer.load_state_dict(state["puzzle_optimizer"])
        self.step = state["step"]
        self.elapsed = state.get("elapsed", 0.0)
        ckpt_io.set_rng_state(state["rng"])
        carry = state["carry"]
        rows = slice(None)
        if self.ranks is not None and carry is not None:
            rows = self.ranks.rows(len(carry["steps"]))  # this rank's share of the saved global carry
        self.carry = _carry_from_dict(carry, self.device, rows)
        self.source.load_state_dict(state["source"])
        self._trim_log()

    def _trim_log(self) -> None:
        """Drop the records after this step from ``metrics.jsonl`` (a run killed after its last checkpoint
        logged steps that the resumed run will do again)."""
        log = self.out_dir / "metrics.jsonl" if self.out_dir is not None and self.is_main else None
        if log is None or not log.exists():
            return
        lines = log.read_text().splitlines()
        kept = [line for line in lines if line.strip() and json.loads(line).get("step", 0) <= self.step]
        if len(kept) != len(lines):
            ckpt_io.write_text_atomic(log, "".join(line + "\n" for line in kept))

    # ---------------------------------------------------------------------------------------
    # The loop
    # ---------------------------------------------------------------------------------------
    def _log(self, record: dict) -> None:
        self.history.append(record)
        if self.out_dir is not None and self.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with open(self.out_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
        if self.tracker is not None:
            self.tracker.log(record)

    def fit(self, callback: Callable[[dict], None] | None = None) -> dict:
        """Train until the budget (``max_steps``, ``max_minutes``) is spent; evaluate and save as configured.

        ``callback(record)`` is called with every logged record (``kind`` = "train" or "eval"), e.g.
        for live plots in a notebook. Returns the last evaluation (or the last training record when
        there is no evaluation data).

        Nothing is lost: with an ``out_dir``, the run folder is locked while training, a checkpoint is
        written every ``checkpoint_minutes`` (and every ``checkpoint_every`` steps), and the final one
        before the final evaluation. SIGINT (Ctrl-C) and SIGTERM finish the step in progress, save, and
        raise :class:`TrainingStopped`; a second signal stops at once, saving nothing more. Resuming
        from any of these checkpoints ends with exactly the weights of an uninterrupted run.
        """
        locked = self.out_dir is not None and self.is_main
        with ckpt_io.run_lock(self.out_dir) if locked else nullcontext(), _StopOnSignals() as stop:
            if self.is_main:
                self.tracker = open_tracker(self.config.track, self.out_dir,
                                            {**self.config.to_dict(), **self.model.config.to_dict()})
            try:
                return self._fit(callback, stop)
            finally:
                if self.tracker is not None:
                    self.tracker.close()
                    self.tracker = None

    def _agree(self, stop: "_StopOnSignals") -> str | None:
        """The stop signal, if any; data parallel: the clock and the signal agreed by all ranks (the
        latest clock, a signal on any rank), so every rank stops, saves and evaluates at the same step."""
        if self.ranks is None:
            return stop.signal
        latest, stopped = distributed.reduce(
            torch.tensor([self.elapsed, float(stop.signal is not None)], dtype=torch.float64, device=self.device),
            op="max").tolist()
        self.elapsed = latest
        return (stop.signal or "SIGTERM") if stopped else None

    def _fit(self, callback, stop: "_StopOnSignals") -> dict:
        from tqdm.auto import tqdm

        cfg = self.config
        start_step, t0, t_prev = self.step, time.perf_counter(), self.elapsed
        last_save = self.elapsed
        bar = tqdm(total=cfg.max_steps if cfg.max_steps and not cfg.max_minutes else None, initial=self.step,
                   disable=not (cfg.progress and self.is_main), desc="train", unit="step", dynamic_ncols=True)
        last, smoothed, stopping = {}, None, None
        try:
            while not self.finished() and not (stopping or (self.ranks is None and stop.signal)):
                rec = self.train_step(self.source.next_batch())
                self.elapsed = t_prev + time.perf_counter() - t0
                stopping = self._agree(stop)
                rec.update(kind="train", step=self.step, time=self.elapsed)
                smoothed = rec if smoothed is None else {k: 0.9 * smoothed[k] + 0.1 * v if isinstance(v, float) else v
                                                         for k, v in rec.items()}
                if self.step % 10 == 0 or self.finished():
                    self._log(rec)
                    if callback:
                        callback(rec)
                bar.update(1)
                bar.set_postfix(loss=f"{smoothed['loss']:.3f}", exact=f"{smoothed['exact_accuracy']:.2f}",
                                halt=f"{smoothed['steps']:.1f}")
                last = rec
                if (self.eval_data is not None and cfg.eval_every and self.step % cfg.eval_every == 0
                        and not self.finished() and not stopping):
                    last = self._eval_and_log(callback)
                due = (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or (
                    cfg.checkpoint_minutes and self.elapsed - last_save >= 60 * cfg.checkpoint_minutes)
                if self.out_dir is not None and due and not self.finished():
                    self.save()
                    last_save = self.elapsed
        finally:
            bar.close()
        if self.out_dir is not None and self.step > start_step:
            self.save()  # before the final evaluation: an interrupt or error there loses nothing
        signal_name = stopping or (stop.signal if self.ranks is None else None)
        if signal_name:
            where = (f"saved {self.out_dir / 'checkpoint.pt'}" if self.out_dir is not None
                     else "nothing saved (no out_dir)")
            raise TrainingStopped(signal_name, self.step, where)
        if self.eval_data is not None and (not last or last.get("kind") != "eval"):
            last = self._eval_and_log(callback)
        return last

    def _eval_and_log(self, callback) -> dict:
        if not self.is_main:  # data parallel: rank 0 evaluates, the others wait for it
            distributed.barrier()
            return {"kind": "eval", "step": self.step, "time": self.elapsed}
        metrics = self.evaluate()
        if self.ranks is not None:
            distributed.barrier()
        rec = {"kind": "eval", "step": self.step, "time": self.elapsed,
               **{k: v for k, v in metrics.items() if k != "q_halt_calibration"}}
        self._log(rec)
        if callback:
            callback(rec)
        return {**rec, "q_halt_calibration": metrics["q_halt_calibration"]}


def throughput(model: RecursiveReasoner, batch: dict, config: TrainConfig, segments: int = 5, warmup: int = 1,
               device="cpu") -> dict:
    """Training throughput through the trainer: samples x segments per second (and s per segment)."""

    class _Repeat:
        def next_batch(self):
            return batch

        def state_dict(self):
            return {}

        def load_state_dict(self, state):
            pass

    trainer = Trainer(model, _Repeat(), config.replace(progress=False), device=device)
    for _ in range(warmup):
        trainer.train_step(batch)
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(segments):
        trainer.train_step(batch)
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    dt = (time.perf_counter() - t) / segments
    B = batch["inputs"].shape[0]
    return {"seconds_per_segment": dt, "samples_per_second": B / dt, "batch_size": B,
            "peak_memory_mb": (torch.cuda.max_memory_allocated() / 2**20 if torch.device(device).type == "cuda"
                               else math.nan)}
