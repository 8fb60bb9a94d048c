"""What TRM and HRM share: input embedding, fixed initial states, output heads and ``reason()``.

A subclass only says how one supervision step updates the latent state (``recursion``).
Names: the paper's answer ``y`` is the reference code's ``z_H``; the latent ``z`` is ``z_L``.
"""
from __future__ import annotations

import math
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import torch.utils.checkpoint
from torch import nn

from .config import ModelConfig
from .devices import autocast_context
from .errors import UserError
from .layers import Net, RotaryEmbedding, lecun_linear, trunc_normal_

#: ``reason`` and ``solve`` run under ``torch.inference_mode`` (no autograd bookkeeping at all, not even
#: version counters); False: under ``torch.no_grad`` only. Their outputs are ordinary tensors either way.
INFERENCE_MODE = True


def inference():
    """The context ``reason`` and ``solve`` compute in: ``torch.inference_mode`` unless INFERENCE_MODE is off."""
    return torch.inference_mode(INFERENCE_MODE)


def at_least_float32(t: torch.Tensor) -> torch.Tensor:
    """``t`` in float32 when it is narrower (bf16 under autocast); float64 stays float64."""
    return t.to(torch.promote_types(t.dtype, torch.float32))


def as_index_tensor(x, name: str) -> torch.Tensor | None:
    """``x`` (a tensor, an array, nested lists of ints) as a tensor; a clear error for anything else."""
    if x is None or isinstance(x, torch.Tensor):
        return x
    try:
        return torch.as_tensor(np.asarray(x))
    except (TypeError, ValueError, RuntimeError):
        raise UserError(f"{name} must be integer token ids (a tensor, an array or lists of ints), "
                        f"got {type(x).__name__}") from None


@dataclass
class State:
    """The latent state carried across supervision steps."""

    y: torch.Tensor  # (B, L_total, D)  the embedded answer   (reference: z_H)
    z: torch.Tensor  # (B, L_total, D)  the latent reasoning  (reference: z_L)

    def detach(self) -> "State":
        return State(self.y.detach(), self.z.detach())


@dataclass
class Trace:
    """What ``model.reason`` returns: the model's outputs after every supervision step."""

    logits: torch.Tensor  # (steps, B, L, V) float32 (or float64), answer logits after each step
    q_halt: torch.Tensor  # (steps, B), halting logit (TRM halts when > 0)
    q_continue: torch.Tensor  # (steps, B), HRM's continue logit (HRM halts when q_halt > q_continue)
    y: torch.Tensor | None = None  # (steps, B, L_total, D) when keep_states=True
    z: torch.Tensor | None = None  # (steps, B, L_total, D) when keep_states=True

    @property
    def predictions(self) -> torch.Tensor:  # (steps, B, L) token ids
        return self.logits.argmax(-1)

    @property
    def halt_probability(self) -> torch.Tensor:  # (steps, B)
        return torch.sigmoid(self.q_halt)


class PuzzleEmbedding(nn.Module):
    """A per-puzzle vector (zero-initialised), trained with SignSGD by the trainer.

    The table is a buffer, not a parameter: in training, the rows of the batch are copied into a
    fresh leaf tensor (``self.local_weights``, with its ids in ``self.local_ids``) whose gradient the
    sparse SignSGD optimizer applies to the table. This is the reference's scheme.
    """

    def __init__(self, num_ids: int, dim: int):
        super().__init__()
        self.register_buffer("weight", torch.zeros(num_ids, dim))
        self.local_ids: torch.Tensor | None = None
        self.local_weights: torch.Tensor | None = None

    def forward(self, ids: torch.Tensor) -> torch.Tensor:  # (B,) -> (B, dim)
        rows = self.weight[ids]
        if self.training and torch.is_grad_enabled():
            rows = rows.detach().requires_grad_(True)
            self.local_ids, self.local_weights = ids, rows
        return rows


class RecursiveReasoner(nn.Module):
    """Base class of :class:`~trm_core.trm.TRM` and :class:`~trm_core.hrm.HRM`."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        D, V = config.hidden_size, config.vocab_size
        self.embed_scale = math.sqrt(D)
        self.embed_tokens = nn.Embedding(V, D)
        trunc_normal_(self.embed_tokens.weight, std=1.0 / self.embed_scale)
        self.puzzle_emb = (PuzzleEmbedding(config.num_puzzle_identifiers, config.puzzle_emb_ndim)
                           if config.puzzle_emb_ndim else None)
        self.embed_pos = None
        if config.pos_encodings == "learned":
            self.embed_pos = nn.Parameter(trunc_normal_(torch.empty(config.total_len, D), std=1.0 / self.embed_scale))
        self.rope = None
        if config.pos_encodings == "rope":
            self.rope = RotaryEmbedding(D // config.num_heads, config.total_len, config.rope_theta)
        self.lm_head = lecun_linear(D, V)
        self.q_head = lecun_linear(D, 2, bias=True)
        with torch.no_grad():  # start "almost never halt": Q near sigmoid(-5)
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5.0)
        #: Recompute the back-propagated updates' activations in backward
        #: (``TrainConfig.activation_checkpointing``).
        self.checkpoint_activations = False
        # Fixed (not learned) initial states, truncated normal std 1.
        self.register_buffer("y_init", trunc_normal_(torch.empty(D), std=1.0))
        self.register_buffer("z_init", trunc_normal_(torch.empty(D), std=1.0))

    # ---------------------------------------------------------------------------------------
    # Pieces
    # ---------------------------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return self.y_init.device

    def make_net(self, num_layers: int) -> Net:
        """A stack of ``num_layers`` blocks shaped by this model's config."""
        c = self.config
        return Net(num_layers, hidden_size=c.hidden_size, num_heads=c.num_heads, expansion=c.expansion, mixer=c.mixer,
                   seq_len=c.total_len, eps=c.rms_norm_eps, multiple=c.mlp_multiple, causal=c.causal)

    def apply_net(self, net: Net, hidden: torch.Tensor, injection: torch.Tensor) -> torch.Tensor:
        """``net(hidden + injection)``; with ``checkpoint_activations`` (and gradients on), only the two inputs
        are kept for backward and the call's activations are recomputed there: one net call's
        activations alive at a time instead of the whole cycle's, for one more forward of each call."""
        if self.checkpoint_activations and torch.is_grad_enabled():
            return torch.utils.checkpoint.checkpoint(net, hidden, injection, self.rope, use_reentrant=False)
        return net(hidden, injection, self.rope)

    def num_parameters(self) -> int:
        """Trainable parameters (the puzzle-embedding table, a buffer, is not counted)."""
        return sum(p.numel() for p in self.parameters())

    def check_inputs(self, inputs: torch.Tensor, puzzle_ids: torch.Tensor | None) -> None:
        """Raise a clear error for a batch this model cannot read."""
        cfg = self.config
        if not isinstance(inputs, torch.Tensor):
            raise UserError(f"inputs must be a torch.Tensor of token ids, got {type(inputs).__name__}")
        if puzzle_ids is not None and not isinstance(puzzle_ids, torch.Tensor):
            raise UserError(f"puzzle_ids must be a torch.Tensor of integers, got {type(puzzle_ids).__name__}")
        if inputs.ndim != 2 or inputs.shape[1] != cfg.seq_len:
            raise UserError(f"inputs must have shape (batch, {cfg.seq_len}), got {tuple(inputs.shape)}")
        if inputs.dtype.is_floating_point or inputs.dtype == torch.bool:
            raise UserError(f"inputs must hold integer token ids, got dtype {inputs.dtype}")
        if inputs.numel() and (int(inputs.min()) < 0 or int(inputs.max()) >= cfg.vocab_size):
            raise UserError(f"token ids must lie in [0, {cfg.vocab_size}), "
                            f"got [{int(inputs.min())}, {int(inputs.max())}]")
        if puzzle_ids is not None:
            if puzzle_ids.dtype.is_floating_point or puzzle_ids.dtype == torch.bool:
                raise UserError(f"puzzle_ids must hold integers, got dtype {puzzle_ids.dtype}")
            if puzzle_ids.shape != (inputs.shape[0],):
                raise UserError(f"puzzle_ids must have shape ({inputs.shape[0]},), got {tuple(puzzle_ids.shape)}")
            if puzzle_ids.numel() and (int(puzzle_ids.min()) < 0
                                       or int(puzzle_ids.max()) >= cfg.num_puzzle_identifiers):
                raise UserError(f"puzzle ids must lie in [0, {cfg.num_puzzle_identifiers})")

    def embed(self, inputs: torch.Tensor, puzzle_ids: torch.Tensor | None = None) -> torch.Tensor:
        """Token ids (B, L) -> input embedding x (B, L_total, D), scaled by sqrt(D)."""
        x = self.embed_tokens(inputs.long())  # (B, L, D)
        if self.puzzle_emb is not None:
            B, D, P = inputs.shape[0], self.config.hidden_size, self.config.num_puzzle_positions
            if puzzle_ids is None:
                puzzle_ids = torch.zeros(B, dtype=torch.long, device=inputs.device)
            emb = self.puzzle_emb(puzzle_ids.long())  # (B, ndim)
            emb = F.pad(emb, (0, P * D - emb.shape[-1]))  # position 0 carries the vector, the rest zeros
            x = torch.cat((emb.view(B, P, D).to(x.dtype), x), dim=1)  # (B, L_total, D)
        if self.embed_pos is not None:
            x = 0.707106781 * (x + self.embed_pos)  # 1/sqrt(2) keeps the variance
        return self.embed_scale * x

    def initial_state(self, batch_size: int) -> State:
        shape = (batch_size, self.config.total_len, self.config.hidden_size)
        return State(self.y_init.expand(shape), self.z_init.expand(shape))

    def reset_state(self, state: State, reset: torch.Tensor) -> State:
        """Rows where ``reset`` (B,) is True go back to the initial state."""
        mask = reset.view(-1, 1, 1)
        return State(torch.where(mask, self.y_init, state.y), torch.where(mask, self.z_init, state.z))

    def heads(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Answer logits (B, L, V) from the token positions; Q logits (B,) from position 0."""
        logits = self.lm_head(y[:, self.config.num_puzzle_positions:])
        q = at_least_float32(self.q_head(y[:, 0]))  # (B, 2)
        return logits, q[:, 0], q[:, 1]

    def recursion(self, x: torch.Tensor, state: State) -> State:
        """One supervision step's updates of (y, z). Subclasses implement it."""
        raise NotImplementedError

    # ---------------------------------------------------------------------------------------
    # One supervision step, and the inference API
    # ---------------------------------------------------------------------------------------
    def forward(self, state: State, inputs: torch.Tensor, puzzle_ids: torch.Tensor | None = None):
        """One supervision step: returns (detached new state, logits (B, L, V), q_halt (B,), q_continue (B,))."""
        x = self.embed(inputs, puzzle_ids)  # (B, L_total, D)
        state = self.recursion(x, state)
        logits, q_halt, q_continue = self.heads(state.y)
        return state.detach(), logits, q_halt, q_continue

    @torch.no_grad()
    def reason(
        self,
        inputs: torch.Tensor,
        puzzle_ids: torch.Tensor | None = None,
        steps: int | None = None,
        keep_states: bool = False,
        autocast: bool = True,
    ) -> Trace:
        """Run ``steps`` supervision steps (default ``N_sup``) from the initial state, every row to the end.

        No gradients. ``autocast`` uses bf16 on CUDA (see :func:`trm_core.devices.autocast_context`);
        outputs are float32 (float64 for a float64 model) and on the model's device.
        """
        steps = self.config.N_sup if steps is None else int(steps)
        if steps < 1:
            raise UserError(f"steps must be at least 1, got {steps}")
        inputs, puzzle_ids = as_index_tensor(inputs, "inputs"), as_index_tensor(puzzle_ids, "puzzle_ids")
        self.check_inputs(inputs, puzzle_ids)
        inputs = inputs.to(self.device)
        puzzle_ids = None if puzzle_ids is None else puzzle_ids.to(self.device)
        was_training = self.training
        self.eval()
        try:
            state = self.initial_state(inputs.shape[0])
            logits, q_halt, q_cont, ys, zs = [], [], [], [], []
            with inference(), autocast_context(self.device) if autocast else nullcontext():
                for _ in range(steps):
                    state, lg, qh, qc = self(state, inputs, puzzle_ids)
                    logits.append(at_least_float32(lg))
                    q_halt.append(at_least_float32(qh))
                    q_cont.append(at_least_float32(qc))
                    if keep_states:
                        ys.append(at_least_float32(state.y))
                        zs.append(at_least_float32(state.z))
        finally:
            self.train(was_training)
        return Trace(
            logits=torch.stack(logits),
            q_halt=torch.stack(q_halt),
            q_continue=torch.stack(q_cont),
            y=torch.stack(ys) if keep_states else None,
            z=torch.stack(zs) if keep_states else None,
        )

    def solve(self, inputs, puzzle_ids=None, max_steps: int | None = None, halt_threshold: float | None = None,
              **options):
        """Adaptive inference: each row stops when it halts and leaves the batch; test-time compute
        (more steps, noisy samples, ensembles) by ``options``. See :func:`trm_core.solve.solve`."""
        from .solve import solve

        return solve(self, inputs, puzzle_ids, max_steps, halt_threshold, **options)


@contextmanager
def recursion_settings(model, n: int | None = None, T: int | None = None):
    """Run ``model`` with another ``n`` (latent updates per cycle) and ``T`` (cycles per step) for a
    while, at inference. The model's own config object is put back afterwards, even after an error.

    >>> from trm_core import build_model
    >>> model = build_model("trm-mlp-tiny", vocab_size=8, seq_len=16)
    >>> with recursion_settings(model, n=8) as cfg:      # think harder than in training
    ...     trace = model.reason(torch.ones(2, 16, dtype=torch.long))
    >>> cfg.n, model.config.n
    (8, 4)
    """
    original = model.config
    changes = {k: int(v) for k, v in (("n", n), ("T", T)) if v is not None}
    model.config = original.replace(**changes) if changes else original  # replace() validates (n, T >= 1)
    try:
        yield model.config
    finally:
        model.config = original
