"""The Tiny Recursive Model: one small network, applied recursively to (x, y, z).

Per supervision step ("deep recursion", paper Figure 3):

    repeat T-1 times without gradients:  latent_recursion(x, y, z)
    once with gradients:                 latent_recursion(x, y, z)

    latent_recursion:  repeat n times: z = net(z + y + x)      # think
                       y = net(y + z)                          # answer

so the effective depth per supervision step is T (n + 1) layers (42 for T=3, n=6, 2 layers).
"""
from __future__ import annotations

import torch

from .config import ModelConfig
from .errors import UserError
from .layers import seq_first
from .recursive import RecursiveReasoner, State


class TRM(RecursiveReasoner):
    def __init__(self, config: ModelConfig):
        if config.arch != "trm":
            raise UserError(f"TRM needs a config with arch='trm', got {config.arch!r}")
        super().__init__(config)
        self.net = self.make_net(config.layers)

    def latent_recursion(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """n updates of z from (x, y, z), then one update of y from (y, z). All sequence-first (L_total, B, D)."""
        injection = y + x  # the same for all n updates
        for _ in range(self.config.n):
            z = self.apply_net(self.net, z, injection)  # z = net(z + y + x)
        y = self.apply_net(self.net, y, z)  # y = net(y + z)
        return y, z

    def recursion(self, x: torch.Tensor, state: State) -> State:
        """Deep recursion: x (B, L_total, D) and the state in, the new state (B, L_total, D) out."""
        x, y, z = seq_first(x), seq_first(state.y), seq_first(state.z)  # (L_total, B, D) inside
        with torch.no_grad():  # T-1 cycles improve (y, z) without building a graph
            for _ in range(self.config.T - 1):
                y, z = self.latent_recursion(x, y, z)
        y, z = self.latent_recursion(x, y, z)  # the last cycle is back-propagated through
        return State(y.transpose(0, 1), z.transpose(0, 1))
