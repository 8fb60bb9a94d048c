"""TRM-MLP's token mixer computed in chunks on the CPU: the same arithmetic, less memory traffic.

The mixer is a SwiGLU across the sequence axis with its residual, ``h + W_down glu(W_gate_up h)`` on the
``(L, N)`` view of the state (N = B*D; see :class:`trm_core.layers.TokenMixerMLP`, whose plain
version is the definition). Computed whole, its hidden activations ``(2H, N)`` are ten times the
size of ``h`` and far larger than the CPU's caches: the product writes them to memory and the
SwiGLU reads them back, and a product with so short an inner dimension (L = 97 for Sudoku) is
bound by that traffic, at a third of the speed of the feature MLP's products. Every column of ``h``
is mixed independently, so here the columns are cut into chunks whose hidden activations fit in
the cache, and each chunk goes through the whole mixer before the next starts. Every output is the
same sum of the same products as in the plain version, so the results agree to float rounding
(``tests/test_fused.py`` checks forward and gradients against the plain version).

The backward pass is written out (an ``autograd.Function``): chunk by chunk too, writing the gate
and up gradients straight into one buffer (autograd's backward of ``chunk`` concatenates them) and
accumulating the weight gradients in place.

Used on the CPU only, outside autocast; elsewhere (CUDA, MPS) the plain version runs. The feature
MLP gains nothing from chunks (its inner dimension is D = 512) and stays plain.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from . import gemm, layers  # (layers imports this module: only used at call time)

#: Hidden activations per chunk, in elements (2H x columns): 1 MiB of float32, an L2 cache's worth.
CHUNK_ELEMENTS = 256 * 1024


#: Below this many chunks' worth of hidden activations the plain version is faster: trm-mlp-tiny's
#: mixer on the 6x6 demo (3 chunks' worth) trains 3% faster plain on an Intel Ice Lake (CPU time, 1
#: thread); trm-mlp-sudoku's (32) 1.18x faster chunked.
MIN_CHUNKS = 16


def applies(x: torch.Tensor, hidden_elements: int | None = None) -> bool:
    """Whether the chunked version is used for ``x``: a float32/float64 CPU tensor, no autocast, and
    (given ``hidden_elements``, the size of the mixer's hidden activations) a large mixer.

    Not where :mod:`trm_core.gemm` sends the products to oneDNN: its kernels are not bound by the
    memory traffic that chunks save, and the plain version is faster there (1.13x at 2 threads).
    """
    return (x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
            and not torch.is_autocast_enabled("cpu") and not gemm.active(x)
            and (hidden_elements is None or hidden_elements >= MIN_CHUNKS * CHUNK_ELEMENTS))


def _chunks(n: int, hidden2: int) -> list[tuple[int, int]]:
    """(start, stop) pairs covering range(n), each CHUNK_ELEMENTS / hidden2 long (at least 64, a multiple of 16)."""
    size = max(64, CHUNK_ELEMENTS // hidden2 // 16 * 16)
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def _forward(x, w_gate_up, w_down, keep: bool):
    """Chunked forward; with ``keep``, also each chunk's hidden activations (gate_up, glu) for backward."""
    outs, saved = [], []
    for i, j in _chunks(x.shape[1], w_gate_up.shape[0]):
        xc = x[:, i:j]  # (L, c)
        g = torch.mm(w_gate_up, xc)  # (2H, c)
        gate, up = g.chunk(2, dim=0)
        a = F.silu(gate) * up if keep else F.silu(gate, inplace=True).mul_(up)  # (H, c); in place without grad
        outs.append(torch.addmm(xc, w_down, a))  # xc + W_down a: (L, c)
        if keep:
            saved.append((g, a))
    return (torch.cat(outs, dim=1) if len(outs) > 1 else outs[0]), saved


class _TokenMixer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w_gate_up, w_down):
        out, ctx.hidden = _forward(x, w_gate_up, w_down, keep=True)
        ctx.save_for_backward(x, w_gate_up, w_down)
        return out

    @staticmethod
    def backward(ctx, dout):
        x, w_gate_up, w_down = ctx.saved_tensors
        need_x, need_gate_up, need_down = ctx.needs_input_grad
        d_gate_up = torch.zeros_like(w_gate_up) if need_gate_up else None
        d_down = torch.zeros_like(w_down) if need_down else None
        dxs = []
        for (i, j), (g, a) in zip(_chunks(x.shape[1], w_gate_up.shape[0]), ctx.hidden):
            dm = dout[:, i:j]  # (L, c)
            if need_down:
                d_down.addmm_(dm, a.t())
            dg = layers.glu_backward(torch.mm(w_down.t(), dm), g, 0)  # (2H, c)
            if need_gate_up:
                d_gate_up.addmm_(dg, x[:, i:j].t())
            if need_x:
                dxs.append(torch.addmm(dm, w_gate_up.t(), dg))  # the residual's gradient + the product's
        dx = (torch.cat(dxs, dim=1) if len(dxs) > 1 else dxs[0]) if need_x else None
        return dx, d_gate_up, d_down


def token_mixer(x: torch.Tensor, w_gate_up: torch.Tensor, w_down: torch.Tensor) -> torch.Tensor:
    """``x + W_down glu(W_gate_up x)`` for ``x`` (L, N), gate_up (2H, L), down (L, H), chunked along N."""
    if torch.is_grad_enabled() and (x.requires_grad or w_gate_up.requires_grad or w_down.requires_grad):
        return _TokenMixer.apply(x, w_gate_up, w_down)
    return _forward(x, w_gate_up, w_down, keep=False)[0]
