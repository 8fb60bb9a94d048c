"""Adaptive inference and test-time compute: ``model.solve``.

:meth:`~trm_core.recursive.RecursiveReasoner.reason` runs every row for every supervision step.
:func:`solve` lets each row stop as soon as its halting rule says so; a stopped row leaves the
batch, so the later steps run on fewer rows and the saving is real wall time, not a count.

The halting rule is the model's own (TRM: ``q_halt > 0``; HRM: ``q_halt > q_continue``; see
:func:`trm_core.act.halts`), or, with ``halt_threshold=P``, P(halt) = sigmoid(q_halt) >= P for both.

Test-time compute spends more work instead of less, on the same trained weights:

- **more steps than trained**: ``max_steps`` may exceed ``N_sup``;
- **noisy samples**: ``samples=K, noise=sigma`` runs K copies of each puzzle, Gaussian noise of
  standard deviation sigma added to the latent z before every supervision step (copy 0 stays
  clean), and the Q head chooses among them (``select="q"``: the copy with the highest P(halt)
  when it stopped);
- **ensembles, first to halt**: ``members=[other models]`` (and/or noisy samples) race; with
  ``select="first"`` the first candidate to halt answers and the others of that puzzle stop there.

Compute is counted in supervision steps of one row (``row_steps``): one such step is T (n + 1)
applications of the network, for TRM and HRM alike. ``reason`` on N puzzles costs N x N_sup.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch

from .act import halts
from .devices import autocast_context
from .errors import UserError
from .recursive import State, as_index_tensor, inference

SELECT_RULES = ("q", "first")


@dataclass
class Solution:
    """What :func:`solve` returns, one row per puzzle."""

    answers: torch.Tensor  # (B, L) token ids: the chosen candidate's answer when it stopped
    steps: torch.Tensor  # (B,) int64: the supervision step (1-based) at which that candidate stopped
    halted: torch.Tensor  # (B,) bool: it stopped by the halting rule (False: it ran out of steps)
    halt_probability: torch.Tensor  # (B,) float64: sigmoid(q_halt) at that stop
    q_halt: torch.Tensor  # (B,) the chosen candidate's halting logit at its stop
    q_continue: torch.Tensor  # (B,) its continue logit there
    chosen: torch.Tensor  # (B,) int64: which candidate answered, member * samples + sample
    row_steps: torch.Tensor  # (B,) int64: supervision steps run for the puzzle, all candidates together
    calls: int  # batched forward calls of a model (one supervision step of the rows still running)
    max_steps: int
    seconds: float  # wall time of the whole solve

    @property
    def mean_steps(self) -> float:
        """Supervision steps per puzzle, all candidates together (compute in units of one row-step)."""
        return float(self.row_steps.double().mean()) if self.row_steps.numel() else 0.0


def _check_members(models: list) -> None:
    first = models[0].config
    for m in models[1:]:
        c = m.config
        if (c.seq_len, c.vocab_size) != (first.seq_len, first.vocab_size):
            raise UserError(f"ensemble members must read the same puzzles: sequences of {first.seq_len} tokens, "
                            f"vocabulary {first.vocab_size}; a member has {c.seq_len} and {c.vocab_size}")
        if m.device != models[0].device:
            raise UserError(f"ensemble members must be on one device: {models[0].device} and {m.device}")


def _check_options(max_steps: int, samples: int, noise: float, select: str) -> None:
    if max_steps < 1:
        raise UserError(f"max_steps must be at least 1, got {max_steps}")
    if samples < 1:
        raise UserError(f"samples must be at least 1, got {samples}")
    if not noise >= 0:  # NaN too
        raise UserError(f"noise is a standard deviation, at least 0; got {noise}")
    if select not in SELECT_RULES:
        raise UserError(f"select must be one of {', '.join(SELECT_RULES)}; got {select!r}")


@torch.no_grad()
def solve(
    model,
    inputs,
    puzzle_ids=None,
    max_steps: int | None = None,
    halt_threshold: float | None = None,
    *,
    adaptive: bool = True,
    samples: int = 1,
    noise: float = 0.0,
    select: str = "q",
    members: tuple | list = (),
    seed: int = 0,
    autocast: bool = True,
) -> Solution:
    """Solve a batch, each candidate stopping when it halts (``adaptive``) or after ``max_steps``.

    ``inputs`` (B, L) token ids; ``max_steps`` defaults to the model's ``N_sup``. A candidate is one
    (model, sample) pair: ``len(members) + 1`` models times ``samples``. ``select`` picks each
    puzzle's answer among its candidates: ``"q"`` the highest P(halt) at its stop, ``"first"`` the
    first to halt by its rule (the others stop there too; ties and no halt at all: the highest
    P(halt)). ``seed`` seeds the noise. With one candidate, ``solve(...).answers`` equals
    ``reason(...).predictions[steps - 1]`` row by row.
    """
    models = [model, *members]
    _check_members(models)
    cfg = model.config
    S = cfg.N_sup if max_steps is None else int(max_steps)
    K, noise = int(samples), float(noise)
    _check_options(S, K, noise, select)
    inputs, puzzle_ids = as_index_tensor(inputs, "inputs"), as_index_tensor(puzzle_ids, "puzzle_ids")
    for m in models:
        m.check_inputs(inputs, puzzle_ids)
    device = model.device
    inputs = inputs.to(device)
    puzzle_ids = None if puzzle_ids is None else puzzle_ids.to(device)
    if halt_threshold is not None:
        halts(torch.zeros(1), threshold=halt_threshold)  # validates the threshold before any work
    B, L, C = inputs.shape[0], cfg.seq_len, len(models) * K

    # One slot per (puzzle, candidate), flat index b * C + c.
    answers = torch.zeros(B * C, L, dtype=torch.long, device=device)
    stop_step = torch.zeros(B * C, dtype=torch.long, device=device)  # 0: never finished (cut off)
    by_rule = torch.zeros(B * C, dtype=torch.bool, device=device)
    q_halt = torch.full((B * C,), float("-inf"), dtype=torch.float64, device=device)
    q_cont = torch.zeros(B * C, dtype=torch.float64, device=device)
    row_steps = torch.zeros(B, dtype=torch.long, device=device)
    gen = torch.Generator(device=device).manual_seed(int(seed)) if noise > 0 and K > 1 else None

    modes = [m.training for m in models]
    for m in models:
        m.eval()
    t0 = time.perf_counter()
    calls = 0
    try:
        # Per model: the candidate rows still running (member-local ids b * K + k) and their state.
        live = [(torch.arange(B * K, device=device), m.initial_state(B * K)) for m in models]
        with inference(), autocast_context(device) if autocast else nullcontext():
            for step in range(1, S + 1):
                winners = torch.zeros(B, dtype=torch.bool, device=device)
                for mi, m in enumerate(models):
                    rows, state = live[mi]
                    if not rows.numel():
                        continue
                    b, k = rows // K, rows % K
                    if gen is not None:
                        eps = torch.randn(state.z.shape, generator=gen, device=device, dtype=state.z.dtype)
                        state = State(state.y, state.z + noise * eps * (k > 0).view(-1, 1, 1).to(eps.dtype))
                    ids = None if puzzle_ids is None or m.puzzle_emb is None else puzzle_ids[b]
                    state, logits, qh, qc = m(state, inputs[b], ids)  # one step of the rows still running
                    calls += 1
                    row_steps.index_add_(0, b, torch.ones_like(b))
                    rule = (halts(qh, qc, m.config.act_continue, halt_threshold) if adaptive
                            else torch.zeros_like(qh, dtype=torch.bool))
                    done = rule | (step == S)
                    slot = b[done] * C + mi * K + k[done]
                    answers[slot] = logits[done].argmax(-1)
                    stop_step[slot] = step
                    by_rule[slot] = rule[done]
                    q_halt[slot] = qh[done].double()
                    q_cont[slot] = qc[done].double()
                    winners[b[rule]] = True
                    keep = ~done
                    live[mi] = (rows[keep], State(state.y[keep], state.z[keep]))
                if select == "first" and C > 1 and winners.any():  # the others of a won puzzle stop now
                    live = [(rows[~winners[rows // K]], State(st.y[~winners[rows // K]], st.z[~winners[rows // K]]))
                            for rows, st in live]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    finally:
        for m, mode in zip(models, modes):
            m.train(mode)
    seconds = time.perf_counter() - t0

    p = torch.sigmoid(q_halt)  # (B * C,) float64; 0 where a candidate never finished
    if select == "first":  # halted by rule, then earliest, then most confident
        score = by_rule.double() * 4 * (S + 1) + 2 * (S + 1 - stop_step).double() + p
    else:
        score = p
    score = torch.where(stop_step > 0, score, torch.full_like(score, -1.0)).view(B, C)
    chosen = score.argmax(1) if B else torch.zeros(0, dtype=torch.long, device=device)
    pick = torch.arange(B, device=device) * C + chosen
    return Solution(answers=answers[pick], steps=stop_step[pick], halted=by_rule[pick], halt_probability=p[pick],
                    q_halt=q_halt[pick], q_continue=q_cont[pick], chosen=chosen, row_steps=row_steps, calls=calls,
                    max_steps=S, seconds=seconds)


@dataclass
class Vote:
    """What :func:`vote` returns, one row per puzzle."""

    answers: torch.Tensor  # (B, L) token ids: the answer most views gave, in the puzzle's own frame
    votes: torch.Tensor  # (B,) int64: how many views gave it
    halt_probability: torch.Tensor  # (B,) float64: their mean sigmoid(q_halt) when they stopped
    views: int
    solution: Solution  # the solve of all views, view-major: row v * B + b is view v of puzzle b

    @property
    def agreement(self) -> float:
        """The mean fraction of views that gave the voted answer."""
        return float(self.votes.double().mean()) / self.views if self.votes.numel() else 0.0


def vote(model, inputs, augmenter, views: int = 8, puzzle_ids=None, groups=None, **options) -> Vote:
    """Solve ``views`` rule-preserving versions of each puzzle and let their answers vote.

    ``augmenter``: a task's :class:`~trm_core.data.dataset.Augmenter` (``task.augmenter``): view 0 is
    the puzzle as given, view v its version v (Sudoku: digits relabelled, bands, rows, stacks and
    columns shuffled; mazes: a rotation or reflection). Each view is solved by :func:`solve`
    (``options``: its options; by default every view stops at its own halt), its answer is mapped
    back, and the answer most views agree on wins (ties: the higher mean P(halt)), as the published
    ARC evaluation votes over augmentations. ``groups`` (B,): the version seeds of the rows (default
    0..B-1). Costs ``views`` times the compute of one solve.
    """
    V = int(views)
    if V < 1:
        raise UserError(f"views must be at least 1, got {views}")
    if augmenter.num_versions is not None and V > augmenter.num_versions:
        raise UserError(f"this augmenter has {augmenter.num_versions} versions of a puzzle, so views <= "
                        f"{augmenter.num_versions}, got {V}")
    x = as_index_tensor(inputs, "inputs").cpu().numpy()  # (B, L)
    B = len(x)
    groups = np.arange(B) if groups is None else np.asarray(groups)
    if groups.shape != (B,):
        raise UserError(f"groups must have one entry per puzzle ({B}), got shape {groups.shape}")
    group_v, version_v = np.tile(groups, V), np.repeat(np.arange(V), B)  # (V * B,) view-major
    x_v, _ = augmenter(np.tile(x, (V, 1)), np.tile(x, (V, 1)), group_v, version_v)
    ids = None if puzzle_ids is None else as_index_tensor(puzzle_ids, "puzzle_ids").repeat(V)
    sol = solve(model, x_v, ids, **options)
    back = torch.as_tensor(augmenter.undo(sol.answers.cpu().numpy(), group_v, version_v))
    answers = back.view(V, B, -1).transpose(0, 1)  # (B, V, L)
    best, votes, mean_p = majority(answers, sol.halt_probability.cpu().view(V, B).T)
    return Vote(answers=answers[torch.arange(B), best].to(sol.answers.device), votes=votes, halt_probability=mean_p,
                views=V, solution=sol)


def majority(answers: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The winning view of each puzzle: answers (B, V, L), p (B, V) P(halt) of each view's answer.

    The answer given by the most views wins; among equally many, the one with the higher mean p.
    Returns (index of a view that gave it (B,), its votes (B,), their mean p (B,))."""
    B = answers.shape[0]
    same = (answers[:, :, None] == answers[:, None, :]).all(-1)  # (B, V, V): views i and j agree
    votes = same.sum(-1)  # (B, V)
    mean_p = (same.double() * p.double()[:, None, :]).sum(-1) / votes  # (B, V)
    best = (votes.double() * 2 + mean_p).argmax(1) if B else torch.zeros(0, dtype=torch.long)  # 0 <= mean_p <= 1
    rows = torch.arange(B)
    return best, votes[rows, best], mean_p[rows, best]


def concat(solutions: list[Solution]) -> Solution:
    """One :class:`Solution` from the solutions of consecutive batches (calls and seconds add up)."""
    if not solutions:
        raise UserError("nothing to concatenate: no batches were solved")
    cat = {f: torch.cat([getattr(s, f) for s in solutions]) for f in
           ("answers", "steps", "halted", "halt_probability", "q_halt", "q_continue", "chosen", "row_steps")}
    return Solution(**cat, calls=sum(s.calls for s in solutions), max_steps=solutions[0].max_steps,
                    seconds=sum(s.seconds for s in solutions))
