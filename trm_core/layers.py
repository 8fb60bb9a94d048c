"""Building blocks shared by TRM and HRM: init, RMSNorm, SwiGLU, attention with RoPE, the block.

Every block is *post-norm*: ``h = rms(h + mix(h)); h = rms(h + swiglu(h))``, with an RMSNorm that
has no learnable scale (as in the reference implementations).

Layout: blocks and nets work on **sequence-first** tensors ``(L, B, D)``. Then both token mixers
are plain matrix products on contiguous memory: the MLP across tokens multiplies the ``(L, B*D)``
view from the left, the feature MLP the ``(L*B, D)`` view from the right, and no transposed copy
is ever made (the reference transposes twice per block). The models convert once per supervision
step; everything outside this file sees ``(B, L, D)``.

Matrix products: ``gemm.mm`` / ``gemm.addmm`` / ``gemm.linear`` are ``torch.mm`` / ``torch.addmm`` /
``F.linear`` (the same float32 arithmetic) that run through oneDNN on AMD CPUs, where torch's MKL
lacks its AVX-512 kernels: twice as fast there (:mod:`trm_core.gemm`; ``TRM_GEMM=torch`` turns it off).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import fused, gemm
from .errors import UserError

#: On the CPU, TRM-MLP's token mixer runs in cache-sized chunks (:mod:`trm_core.fused`) when it is
#: large: the same arithmetic, up to twice as fast. False runs the plain version below everywhere.
CHUNKED = True


# ----------------------------------------------------------------------------------------------
# Initialisation
# ----------------------------------------------------------------------------------------------
def trunc_normal_(tensor: torch.Tensor, std: float = 1.0, lower: float = -2.0, upper: float = 2.0) -> torch.Tensor:
    """Fill ``tensor`` with a normal truncated at ``[lower, upper]`` standard deviations.

    JAX style: the standard deviation is corrected so the *truncated* distribution has std ``std``
    (a plain truncation at 2 sigma would shrink it by about 12%).
    """
    with torch.no_grad():
        if std == 0:
            return tensor.zero_()
        sqrt2 = math.sqrt(2.0)
        a, b = math.erf(lower / sqrt2), math.erf(upper / sqrt2)
        z = (b - a) / 2
        c = 1.0 / math.sqrt(2 * math.pi)
        pdf_u, pdf_l = c * math.exp(-0.5 * upper**2), c * math.exp(-0.5 * lower**2)
        true_std = std / math.sqrt(1 - (upper * pdf_u - lower * pdf_l) / z - ((pdf_u - pdf_l) / z) ** 2)
        # Inverse-CDF sampling: uniform in erf space, then erfinv.
        tensor.uniform_(a, b).erfinv_().mul_(sqrt2 * true_std).clamp_(lower * true_std, upper * true_std)
        return tensor


def lecun_linear(in_features: int, out_features: int, bias: bool = False) -> nn.Linear:
    """A ``nn.Linear`` with truncated LeCun-normal weights (std 1/sqrt(fan_in)) and zero bias."""
    layer = nn.Linear(in_features, out_features, bias=bias)
    trunc_normal_(layer.weight, std=1.0 / math.sqrt(in_features))
    if bias:
        nn.init.zeros_(layer.bias)
    return layer


def swiglu_width(width: int, expansion: float, multiple: int = 256) -> int:
    """Hidden width of a SwiGLU: ``round(expansion * width * 2/3)`` rounded up to a multiple of 256."""
    return -(round(expansion * width * 2 / 3) // -multiple) * multiple


# ----------------------------------------------------------------------------------------------
# Normalisation
# ----------------------------------------------------------------------------------------------
def rms_norm(x: torch.Tensor, eps: float = 1e-5, dim: int = -1) -> torch.Tensor:
    """RMSNorm without a learnable scale, computed in at least float32, returned in ``x.dtype``."""
    xf = x.to(torch.promote_types(x.dtype, torch.float32))
    if dim == -1 or dim == x.ndim - 1:
        return F.rms_norm(xf, (x.shape[-1],), eps=eps).to(x.dtype)
    return (xf * torch.rsqrt(xf.square().mean(dim, keepdim=True) + eps)).to(x.dtype)


# ----------------------------------------------------------------------------------------------
# SwiGLU, over features (the usual MLP) or across tokens (TRM-MLP's mixer)
# ----------------------------------------------------------------------------------------------
def glu(gate_up: torch.Tensor, dim: int) -> torch.Tensor:
    """``silu(gate) * up`` for the two halves of ``gate_up`` along ``dim`` (in place when no gradient is needed)."""
    gate, up = gate_up.chunk(2, dim=dim)
    if not torch.is_grad_enabled():
        return F.silu(gate, inplace=True).mul_(up)
    if gate_up.requires_grad and gate_up.device.type == "cpu":
        return _GLU.apply(gate_up, dim)  # the same values; a backward without autograd's concatenation
    return F.silu(gate) * up  # the plain version


def glu_backward(d_out: torch.Tensor, gate_up: torch.Tensor, dim: int,
                 silu_gate: torch.Tensor | None = None) -> torch.Tensor:
    """The gradient w.r.t. ``gate_up`` of ``glu(gate_up, dim)``, given ``d_out``; ``silu_gate`` = silu(gate) if kept.

    Both halves are written straight into one buffer: autograd's backward of ``chunk`` would
    concatenate two separate gradients, a copy of the whole hidden layer (30 per Sudoku training
    segment, 1.6% of its time at 1 CPU thread). Same formulas as autograd's:
    d up = d_out silu(gate), d gate = d_out up silu'(gate).
    """
    gate, up = gate_up.chunk(2, dim=dim)
    d = torch.empty_like(gate_up)
    d_gate, d_up = d.chunk(2, dim=dim)
    torch.mul(d_out, F.silu(gate) if silu_gate is None else silu_gate, out=d_up)
    torch.ops.aten.silu_backward.grad_input(d_out * up, gate, grad_input=d_gate)
    return d


class _GLU(torch.autograd.Function):
    """:func:`glu` with :func:`glu_backward` (keeps silu(gate), as autograd does)."""

    @staticmethod
    def forward(ctx, gate_up, dim):
        gate, up = gate_up.chunk(2, dim=dim)
        silu_gate = F.silu(gate)
        ctx.save_for_backward(gate_up, silu_gate)
        ctx.dim = dim
        return silu_gate * up

    @staticmethod
    def backward(ctx, d_out):
        gate_up, silu_gate = ctx.saved_tensors
        return glu_backward(d_out, gate_up, ctx.dim, silu_gate), None


class SwiGLU(nn.Module):
    """``down(silu(gate(x)) * up(x))`` over the last axis; gate and up share one matrix."""

    def __init__(self, width: int, expansion: float, multiple: int = 256):
        super().__init__()
        self.hidden = swiglu_width(width, expansion, multiple)
        self.gate_up = lecun_linear(width, 2 * self.hidden)  # (2H, W)
        self.down = lecun_linear(self.hidden, width)  # (W, H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (..., W) -> (..., W)
        return gemm.linear(glu(gemm.linear(x, self.gate_up.weight), -1), self.down.weight)

    def residual(self, x: torch.Tensor) -> torch.Tensor:  # (..., W) -> x + swiglu(x)
        """``x + forward(x)``, with the addition fused into the down projection (``addmm``)."""
        flat = x.reshape(-1, x.shape[-1])  # (N, W)
        hidden = glu(gemm.mm(flat, self.gate_up.weight.t()), -1)  # (N, H)
        return gemm.addmm(flat, hidden, self.down.weight.t()).view(x.shape)


class TokenMixerMLP(nn.Module):
    """TRM-MLP's mixer: a SwiGLU applied *across the sequence axis*, then residual + RMSNorm over it.

    On the sequence-first state the token axis comes first, so the SwiGLU over tokens is two
    left-multiplications of the ``(L, B*D)`` view: no transposes (the reference makes two copies).
    """

    def __init__(self, seq_len: int, expansion: float, eps: float = 1e-5, multiple: int = 256):
        super().__init__()
        self.mlp = SwiGLU(seq_len, expansion, multiple)  # over L: weights (2H, L) and (L, H)
        self.eps = eps

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # (L, B, D) -> (L, B, D)
        flat = h.reshape(h.shape[0], -1)  # (L, B*D)
        if CHUNKED and fused.applies(flat, 2 * self.mlp.hidden * flat.shape[1]):  # chunk by chunk (fused)
            mixed = fused.token_mixer(flat, self.mlp.gate_up.weight, self.mlp.down.weight)
        else:
            hidden = glu(gemm.mm(self.mlp.gate_up.weight, flat), 0)  # (H, B*D)
            mixed = gemm.addmm(flat, self.mlp.down.weight, hidden)  # h + W_down @ hidden: (L, B*D)
        return rms_norm(mixed, self.eps, dim=0).view(h.shape)  # normalised over the token axis


# ----------------------------------------------------------------------------------------------
# Attention with rotary position embeddings
# ----------------------------------------------------------------------------------------------
class RotaryEmbedding(nn.Module):
    """Precomputed cos/sin tables for RoPE, (L, head_dim) each, in the "rotate half" layout."""

    def __init__(self, head_dim: int, max_len: int, theta: float = 10000.0):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        freqs = torch.outer(torch.arange(max_len, dtype=torch.float32), inv_freq)  # (L, hd/2)
        angles = torch.cat((freqs, freqs), dim=-1)  # (L, hd)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate ``x`` (B, heads, L, hd) by position; ``cos``/``sin`` are (L, hd)."""
    x1, x2 = x.chunk(2, dim=-1)
    rotated = torch.cat((-x2, x1), dim=-1)
    wide = torch.promote_types(x.dtype, cos.dtype)  # float32 tables: at least float32 math
    return (x.to(wide) * cos + rotated.to(wide) * sin).to(x.dtype)


class Attention(nn.Module):
    """Multi-head self-attention, fused qkv projection, no biases, optional RoPE.

    Non-causal (every position sees every other) for puzzles; ``causal=True`` lets position t see
    only positions <= t, which makes the model a language model (next-token prediction).
    """

    def __init__(self, hidden_size: int, num_heads: int, causal: bool = False):
        super().__init__()
        self.causal = causal
        if hidden_size % num_heads:
            raise UserError(f"hidden_size {hidden_size} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.head_dim = hidden_size // num_heads
        self.qkv = lecun_linear(hidden_size, 3 * hidden_size)
        self.out = lecun_linear(hidden_size, hidden_size)

    def forward(self, h: torch.Tensor, rope: RotaryEmbedding | None) -> torch.Tensor:  # (L, B, D)
        L, B, D = h.shape
        qkv = gemm.linear(h, self.qkv.weight).view(L, B, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 1, 3, 0, 4).unbind(0)  # (B, heads, L, hd) each
        if rope is not None:
            q, k = apply_rope(q, rope.cos, rope.sin), apply_rope(k, rope.cos, rope.sin)
        o = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)  # (B, heads, L, hd)
        return gemm.linear(o.permute(2, 0, 1, 3).reshape(L, B, D), self.out.weight)


# ----------------------------------------------------------------------------------------------
# The block and the network (a stack of blocks with input injection)
# ----------------------------------------------------------------------------------------------
class Block(nn.Module):
    """One post-norm block: token mixing (attention or MLP across tokens), then a SwiGLU."""

    def __init__(self, hidden_size: int, num_heads: int, expansion: float, mixer: str, seq_len: int, eps: float,
                 multiple: int = 256, causal: bool = False):
        super().__init__()
        self.mixer = mixer
        self.eps = eps
        if causal and mixer != "attention":
            raise UserError("a causal block needs mixer='attention' (the MLP across tokens mixes every position)")
        if mixer == "attention":
            self.attn = Attention(hidden_size, num_heads, causal)
        elif mixer == "mlp":
            self.token_mlp = TokenMixerMLP(seq_len, expansion, eps, multiple)
        else:
            raise UserError(f"unknown mixer {mixer!r}: expected 'attention' or 'mlp'")
        self.mlp = SwiGLU(hidden_size, expansion, multiple)

    def forward(self, h: torch.Tensor, rope: RotaryEmbedding | None = None) -> torch.Tensor:  # (L, B, D)
        if self.mixer == "attention":
            h = rms_norm(h + self.attn(h, rope), self.eps)
        else:
            h = self.token_mlp(h)
        return rms_norm(self.mlp.residual(h), self.eps)


def seq_first(x: torch.Tensor) -> torch.Tensor:
    """(B, L, D) -> contiguous (L, B, D), the layout blocks work in (a no-op if it already is)."""
    return x.transpose(0, 1).contiguous()


class Net(nn.Module):
    """The recursive network: ``net(h, injection) = blocks(h + injection)``, on (L, B, D) tensors."""

    def __init__(self, num_layers: int, **block_kwargs):
        super().__init__()
        self.layers = nn.ModuleList(Block(**block_kwargs) for _ in range(num_layers))

    def forward(self, h: torch.Tensor, injection: torch.Tensor, rope: RotaryEmbedding | None = None) -> torch.Tensor:
        h = h + injection  # (L, B, D)
        for layer in self.layers:
            h = layer(h, rope)
        return h
