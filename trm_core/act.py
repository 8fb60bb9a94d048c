"""Adaptive computational time (ACT) around a TRM or HRM: the carry across supervision steps.

Training runs *one* supervision step per optimizer step for the whole batch. The carry keeps each
row's latent state, its step count and its puzzle; a row that halted is reset to the initial state
and replaced by the incoming batch's row at the same index. So a batch always mixes puzzles at
different supervision steps.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .errors import UserError
from .recursive import RecursiveReasoner, State


@dataclass
class Carry:
    state: State  # latent (y, z), (B, L_total, D) each
    steps: torch.Tensor  # (B,) int32, supervision steps done on the current puzzle
    halted: torch.Tensor  # (B,) bool, the row finished: replace it on the next step
    batch: dict  # the puzzles being worked on: inputs (B, L), labels (B, L), puzzle_identifiers (B,)


def halts(q_halt, q_continue=None, act_continue: bool = False, threshold: float | None = None):
    """The halting rule (torch or numpy): ``q_halt > q_continue`` for a model trained with the continue
    loss (HRM; ``config.act_continue``), else ``q_halt > 0`` (TRM: "I am right" with P > 0.5).

    With a ``threshold`` P (inference only), both models halt when P(halt) = sigmoid(q_halt) >= P."""
    if threshold is not None:
        if not 0.0 <= float(threshold) <= 1.0:
            raise UserError(f"a halting threshold is a probability in [0, 1], got {threshold}")
        if isinstance(q_halt, torch.Tensor):
            return torch.sigmoid(q_halt.double()) >= threshold
        return 1.0 / (1.0 + np.exp(-np.asarray(q_halt, np.float64))) >= threshold
    if act_continue:
        if q_continue is None:
            raise UserError("a model trained with the continue loss (HRM) halts on q_halt > q_continue: "
                            "give q_continue")
        return q_halt > q_continue
    return q_halt > 0


def initial_carry(model: RecursiveReasoner, batch: dict) -> Carry:
    """A carry in which every row has halted, so the first step loads the whole batch."""
    B = batch["inputs"].shape[0]
    device = batch["inputs"].device
    return Carry(
        state=model.initial_state(B),
        steps=torch.zeros(B, dtype=torch.int32, device=device),
        halted=torch.ones(B, dtype=torch.bool, device=device),
        batch={k: torch.zeros_like(v) for k, v in batch.items()},
    )


def act_step(model: RecursiveReasoner, carry: Carry, batch: dict, forward=None,
             global_rows: tuple[int, int] | None = None) -> tuple[Carry, dict]:
    """One supervision step of every row; returns the new carry and the model outputs.

    In training mode a row halts when it reached ``N_sup`` steps or its Q head says so
    (``q_halt > 0`` for TRM, ``q_halt > q_continue`` with the continue target for HRM); with
    probability ``halt_exploration_prob`` it must first run randint(2, N_sup) steps. In eval mode
    every row runs exactly ``N_sup`` steps.

    ``forward``: what runs the step (default ``model``; the trainer passes its DDP or compiled
    wrapper). ``global_rows=(first, total)``: these rows are rows ``first...`` of a global batch of
    ``total`` (data parallel); the exploration draws are made for the global batch and sliced, so
    every rank sees what a single process would.
    """
    cfg = model.config
    halted = carry.halted
    state = model.reset_state(carry.state, halted)
    steps = torch.where(halted, 0, carry.steps)
    data = {k: torch.where(halted.view(-1, *[1] * (v.ndim - 1)), batch[k], v) for k, v in carry.batch.items()}

    run = model if forward is None else forward  # not `forward or model`: a compiled module has no truth value
    new_state, logits, q_halt, q_continue = run(state, data["inputs"], data.get("puzzle_identifiers"))
    outputs = {"logits": logits, "q_halt_logits": q_halt, "q_continue_logits": q_continue}

    with torch.no_grad():
        steps = steps + 1
        is_last = steps >= cfg.N_sup
        halted = is_last
        if model.training and cfg.N_sup > 1:
            halted = halted | halts(q_halt, q_continue, cfg.act_continue)
            B = q_halt.shape[0]
            first, total = global_rows or (0, B)
            rows = slice(first, first + B)
            explore = torch.rand(total, dtype=q_halt.dtype, device=q_halt.device)[rows] < cfg.halt_exploration_prob
            draw = torch.randint(2, cfg.N_sup + 1, (total,), dtype=steps.dtype, device=steps.device)
            min_steps = explore * draw[rows]
            halted = halted & (steps >= min_steps)
            if cfg.act_continue:
                outputs["target_q_continue"] = continue_target(model, new_state, data, is_last)
    return Carry(new_state, steps, halted, data), outputs


def continue_target(model: RecursiveReasoner, new_state, data: dict, is_last: torch.Tensor) -> torch.Tensor:
    """HRM's Q-learning target for ``q_continue`` (B,): one more forward pass from the new state (no
    replay buffer), the best of the next step's halt and continue values, or its halt value at the last
    step. TRM (``act_continue=False``) never calls this: that is its saved forward pass."""
    _, _, next_halt, next_cont = model(new_state, data["inputs"], data.get("puzzle_identifiers"))
    return torch.sigmoid(torch.where(is_last, next_halt, torch.maximum(next_halt, next_cont)))
