"""Losses: stablemax and softmax cross-entropy, and the deep-supervision (ACT) loss."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .data.dataset import IGNORE_LABEL
from .devices import high_precision_dtype
from .errors import UserError


def stablemax_s(x: torch.Tensor, eps: float = 1e-30) -> torch.Tensor:
    """The stablemax "exponential": ``x + 1`` for x >= 0 and ``1 / (1 - x)`` below (never overflows)."""
    return torch.where(x < 0, 1 / (1 - x + eps), x + 1)


def stablemax_probs(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Stablemax probabilities ``s(x_i) / sum_j s(x_j)`` along ``dim``: what a stablemax-trained model
    means by "how sure". Not shift-invariant (unlike softmax): apply it to the raw logits."""
    s = stablemax_s(x)
    return s / s.sum(dim=dim, keepdim=True)


def log_stablemax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    s = stablemax_s(x)
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def stablemax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                            ignore_index: int = IGNORE_LABEL) -> torch.Tensor:
    """Per-token stablemax cross-entropy (B, L), 0 at ignored positions.

    Computed in float64 where the device has it (float32 on MPS), as in the published runs.
    """
    logprobs = log_stablemax(logits.to(high_precision_dtype(logits.device)), dim=-1)  # (B, L, V)
    valid = labels != ignore_index
    picked = logprobs.gather(-1, torch.where(valid, labels, 0).long().unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid, picked, 0)


def softmax_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, ignore_index: int = IGNORE_LABEL) -> torch.Tensor:
    """Per-token softmax cross-entropy (B, L) in float32, 0 at ignored positions."""
    flat = F.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), labels.long().reshape(-1), ignore_index=ignore_index,
        reduction="none",
    )
    return flat.view(labels.shape)


LOSSES = {"stablemax": stablemax_cross_entropy, "softmax": softmax_cross_entropy}


def act_loss(outputs: dict, labels: torch.Tensor, halted: torch.Tensor, steps: torch.Tensor,
             loss_type: str = "stablemax"):
    """The deep-supervision loss of one segment, *summed* over the batch, and its metrics.

    ``loss = lm + 0.5 * (q_halt_loss [+ q_continue_loss])`` where ``lm`` is each sequence's mean
    token cross-entropy and ``q_halt_loss`` the BCE of q_halt against "this sequence is exactly
    right now". Divide by the (global) batch size before ``backward()``.

    Metrics are sums over the rows that halted this step (``count`` of them).
    """
    if loss_type not in LOSSES:
        raise UserError(f"unknown loss {loss_type!r}; choose one of {', '.join(LOSSES)}")
    logits, q_halt = outputs["logits"], outputs["q_halt_logits"]
    with torch.no_grad():
        mask = labels != IGNORE_LABEL  # (B, L)
        counts = mask.sum(-1)  # (B,)
        divisor = counts.clamp_min(1).unsqueeze(-1)
        is_correct = mask & (logits.argmax(-1) == labels)
        seq_correct = is_correct.sum(-1) == counts  # (B,)
        valid = halted & (counts > 0)
        metrics = {
            "count": valid.sum(),
            "accuracy": torch.where(valid, (is_correct.float() / divisor).sum(-1), 0).sum(),
            "exact_accuracy": (valid & seq_correct).sum(),
            "q_halt_accuracy": (valid & ((q_halt > 0) == seq_correct)).sum(),  # "I am right" as evaluate.py
            "steps": torch.where(valid, steps, 0).sum(),
        }
    lm = (LOSSES[loss_type](logits, labels) / divisor).sum()
    q_halt_loss = F.binary_cross_entropy_with_logits(q_halt, seq_correct.to(q_halt.dtype), reduction="sum")
    total = lm + 0.5 * q_halt_loss
    metrics["lm_loss"] = lm.detach()
    metrics["q_halt_loss"] = q_halt_loss.detach()
    if "target_q_continue" in outputs:
        q_cont_loss = F.binary_cross_entropy_with_logits(
            outputs["q_continue_logits"], outputs["target_q_continue"], reduction="sum"
        )
        total = total + 0.5 * q_cont_loss
        metrics["q_continue_loss"] = q_cont_loss.detach()
    return total, metrics
