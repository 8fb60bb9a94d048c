"""The Hierarchical Reasoning Model: a low-level net L and a high-level net H.

Per supervision step, with T high-level cycles of n low-level updates (reference: ``H_cycles``,
``L_cycles``; the HRM paper calls them N and T):

    for each of T cycles:  repeat n times: z_L = L(z_L + z_H + x);   then z_H = H(z_H + z_L)

Every update except the very last L and the very last H runs without gradients: the "1-step
gradient" approximation, justified in the HRM paper by the implicit function theorem. Here ``y``
is HRM's ``z_H`` and ``z`` its ``z_L``.
"""
from __future__ import annotations

import torch

from .config import ModelConfig
from .errors import UserError
from .layers import seq_first
from .recursive import RecursiveReasoner, State


class HRM(RecursiveReasoner):
    def __init__(self, config: ModelConfig):
        if config.arch != "hrm":
            raise UserError(f"HRM needs a config with arch='hrm', got {config.arch!r}")
        super().__init__(config)
        self.H_net = self.make_net(config.h_layers)
        self.L_net = self.make_net(config.layers)

    def recursion(self, x: torch.Tensor, state: State) -> State:
        T, n = self.config.T, self.config.n
        x, y, z = seq_first(x), seq_first(state.y), seq_first(state.z)  # z_H, z_L; (L_total, B, D) inside
        with torch.no_grad():
            for cycle in range(T):
                last_cycle = cycle == T - 1
                for step in range(n - 1 if last_cycle else n):  # skip the final L update
                    z = self.L_net(z, y + x, self.rope)
                if not last_cycle:
                    y = self.H_net(y, z, self.rope)
        # The 1-step gradient: only these two updates are back-propagated through.
        z = self.apply_net(self.L_net, z, y + x)
        y = self.apply_net(self.H_net, y, z)
        return State(y.transpose(0, 1), z.transpose(0, 1))
