"""Optimizers and the learning-rate schedule of the published runs, in pure PyTorch.

- :class:`AdamAtan2`: Adam with ``atan2`` in place of the division by ``sqrt(v) + eps``, so no epsilon
  is needed and the update is bounded. The reference ships it as a CUDA kernel; this one runs on
  CPU, MPS and CUDA alike.
- :class:`SignSGD`: the puzzle-embedding optimizer: sign of the summed gradient of each puzzle
  row seen in the batch, with decoupled weight decay on those rows only.
- :func:`lr_at`: linear warmup, then cosine decay to ``min_ratio`` (1.0 = constant, as published)
  over the rest of the run's budget.
"""
from __future__ import annotations

import math

import torch

from . import distributed
from .errors import UserError
from .recursive import PuzzleEmbedding


class AdamAtan2(torch.optim.Optimizer):
    """``p <- p (1 - lr wd) - (lr / bc1) atan2(m, sqrt(v / bc2))`` with Adam's moments m, v."""

    def __init__(self, params, lr: float = 1e-4, betas=(0.9, 0.95), weight_decay: float = 0.0):
        if lr < 0 or weight_decay < 0 or not (0 <= betas[0] < 1 and 0 <= betas[1] < 1):
            raise UserError(f"invalid AdamAtan2 settings lr={lr}, betas={betas}, weight_decay={weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            lr, (b1, b2), wd = group["lr"], group["betas"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["m"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                    state["v"] = torch.zeros_like(p, memory_format=torch.preserve_format)
                state["step"] += 1
                m, v, t = state["m"], state["v"], state["step"]
                m.lerp_(p.grad, 1 - b1)
                v.mul_(b2).addcmul_(p.grad, p.grad, value=1 - b2)
                p.mul_(1 - lr * wd)
                denom = (v / (1 - b2**t)).sqrt_()
                p.add_(torch.atan2(m, denom), alpha=-lr / (1 - b1**t))
        return None


class SignSGD:
    """SignSGD with decoupled weight decay for a :class:`PuzzleEmbedding` table (sparse rows).

    Not a ``torch.optim.Optimizer`` (the table is a buffer): it reads the rows and gradient left by
    the embedding's last training forward pass. ``lr`` can be changed like a param group's.
    """

    def __init__(self, embedding: PuzzleEmbedding, lr: float = 1e-2, weight_decay: float = 0.1):
        self.embedding = embedding
        self.param_groups = [dict(lr=lr, weight_decay=weight_decay)]

    @torch.no_grad()
    def step(self) -> None:
        emb = self.embedding
        if emb.local_weights is None or emb.local_weights.grad is None:
            return
        group = self.param_groups[0]
        seen, rows_grad = emb.local_ids, emb.local_weights.grad
        ranks = distributed.current()
        if ranks is not None:  # data parallel: every rank applies the rows and gradients of all ranks
            seen, rows_grad = distributed.gather_rows(seen), distributed.gather_rows(rows_grad) / ranks.world
        ids, inverse = seen.unique(return_inverse=True)  # rows seen, each once
        grad = torch.zeros(len(ids), emb.weight.shape[1], dtype=rows_grad.dtype, device=ids.device)
        grad.index_add_(0, inverse, rows_grad)  # a puzzle seen twice sums its gradients
        rows = emb.weight[ids] * (1 - group["lr"] * group["weight_decay"]) - group["lr"] * grad.sign()
        emb.weight[ids] = rows.to(emb.weight.dtype)

    def zero_grad(self) -> None:
        self.embedding.local_weights = None
        self.embedding.local_ids = None

    def state_dict(self) -> dict:
        return {"param_groups": [dict(g) for g in self.param_groups]}

    def load_state_dict(self, state: dict) -> None:
        self.param_groups = [dict(g) for g in state["param_groups"]]


def lr_at(step: int, base_lr: float, warmup_steps: int, progress: float, min_ratio: float = 1.0,
          decay_from: float = 0.0) -> float:
    """Learning rate at optimizer step ``step`` (0-based): a cosine from ``base_lr`` to ``min_ratio * base_lr``
    as ``progress`` (the fraction of the run's budget spent, 0 to 1, by steps or by time; see
    ``Trainer.budget_used``) goes from ``decay_from`` to 1, with a linear warmup over the first
    ``warmup_steps``. ``decay_from`` > 0 holds ``base_lr`` until then: warmup-stable-decay, which
    learns at full speed for most of a fixed budget and still ends on a small learning rate.

    >>> lr_at(0, 1.0, 10, 0.0), lr_at(9, 1.0, 10, 0.1)
    (0.1, 1.0)
    >>> round(lr_at(500, 1.0, 10, 0.5, min_ratio=0.1), 6), round(lr_at(500, 1.0, 10, 1.0, min_ratio=0.1), 6)
    (0.55, 0.1)
    >>> lr_at(500, 1.0, 10, 0.6, min_ratio=0.1, decay_from=0.6), round(lr_at(500, 1.0, 10, 0.8, 0.1, 0.6), 6)
    (1.0, 0.55)
    """
    if step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps  # never 0, so the first step already learns
    if min_ratio >= 1.0:
        return base_lr
    progress = (progress - decay_from) / (1.0 - decay_from)
    return base_lr * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * min(1.0, max(0.0, progress)))))
