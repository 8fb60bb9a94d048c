"""Exponential moving average of the weights (0.999 in the published runs), used for evaluation."""
from __future__ import annotations

import copy

import torch
from torch import nn

from .errors import UserError


class EMA:
    """``shadow <- decay * shadow + (1 - decay) * weights`` after every optimizer step."""

    def __init__(self, model: nn.Module, decay: float = 0.999):
        if not 0.0 <= decay < 1.0:
            raise UserError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = decay
        self.shadow = {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        params = dict(model.named_parameters())
        keys = list(self.shadow)
        torch._foreach_lerp_([self.shadow[k] for k in keys], [params[k].detach() for k in keys], 1.0 - self.decay)

    def copy_to(self, model: nn.Module) -> None:
        """Write the averaged weights into ``model`` (buffers are left as they are)."""
        params = dict(model.named_parameters())
        with torch.no_grad():
            for k, v in self.shadow.items():
                params[k].copy_(v)

    def averaged_model(self, model: nn.Module) -> nn.Module:
        """A copy of ``model`` carrying the averaged weights (the model is not changed)."""
        clone = copy.deepcopy(model)
        self.copy_to(clone)
        return clone

    def state_dict(self) -> dict:
        return {"decay": self.decay, "shadow": self.shadow}

    def load_state_dict(self, state: dict) -> None:
        if set(state["shadow"]) != set(self.shadow):
            raise UserError("EMA state does not match this model's parameters")
        self.decay = state["decay"]
        for k, v in state["shadow"].items():
            self.shadow[k].copy_(v)
