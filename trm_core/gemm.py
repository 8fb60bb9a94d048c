"""Float32 matrix products on AMD CPUs through oneDNN: the same arithmetic, twice as fast there.

PyTorch's CPU build multiplies float32 matrices with Intel's MKL, which picks its fastest kernels
(AVX-512) only on Intel processors; on AMD ones it runs AVX2 code. oneDNN, which PyTorch bundles
(as ``mkldnn``) and uses for convolutions, picks its kernels from the instruction set the CPU
reports. On an AMD EPYC (Zen 5, AVX-512) the products of TRM's layers run 2.0-2.5x faster through
it, at 1 and 2 threads (``benchmarks/bench_gemm.py``). Both compute the same float32 dot products
(no reduced-precision tricks); only the order of the additions differs, so results agree to float
rounding (``tests/test_gemm.py`` checks values and gradients against ``torch.mm``).

:func:`mm`, :func:`addmm` and :func:`linear` are ``torch.mm``, ``torch.addmm`` and ``F.linear``
with that route and a hand-written backward (its three products go through oneDNN too). They take
it for float32 CPU tensors outside autocast and ``torch.compile``; everything else (CUDA, MPS,
float64, bf16, compiled code, other CPUs) gets the plain torch function. ``BACKEND`` chooses:

- ``"auto"`` (default): oneDNN on AMD x86-64 CPUs with AVX-512 when this PyTorch has it, torch elsewhere
  (on AVX2-only AMD CPUs both run AVX2 code, equally fast: ``benchmarks/bench_gemm.py``);
- ``"onednn"``: oneDNN on any CPU that has it; ``"torch"``: always the plain functions.

The environment variable ``TRM_GEMM`` sets it at import. If oneDNN fails at run time the module
warns once and falls back to torch.
"""
from __future__ import annotations

import functools
import os
import platform
import warnings

import torch
import torch.nn.functional as F

#: "auto", "onednn" or "torch" (see the module docstring).
BACKEND = os.environ.get("TRM_GEMM", "auto")
_failed = False


def _cpuinfo_head() -> str:
    """The start of /proc/cpuinfo (the first processor's entry), or "" where there is none."""
    try:
        with open("/proc/cpuinfo") as f:
            return f.read(8192)
    except OSError:
        return ""


def _is_amd_avx512() -> bool:
    """An AMD CPU with AVX-512 (Zen 4 and later): where oneDNN's kernels outrun MKL's AVX2 ones.

    On AVX2-only AMD CPUs (Zen 1-3) both libraries run AVX2 code at the same speed, and oneDNN's
    backward costs transposing copies, so torch's products stay there."""
    info = _cpuinfo_head()
    flags = next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), [])
    return "AuthenticAMD" in info and "avx512f" in flags


@functools.cache
def _onednn_present() -> bool:
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        torch.ops.mkldnn._linear_pointwise  # noqa: B018  (raises where the op is not built in)
    except (AttributeError, RuntimeError):
        return False
    return True


_AUTO = platform.machine().lower() in ("x86_64", "amd64") and _is_amd_avx512() and _onednn_present()


def backend() -> str:
    """The route float32 CPU products take now: "onednn" or "torch"."""
    if BACKEND not in ("auto", "onednn", "torch"):
        raise ValueError(f"TRM_GEMM / gemm.BACKEND must be 'auto', 'onednn' or 'torch', got {BACKEND!r}")
    if _failed or BACKEND == "torch":
        return "torch"
    if BACKEND == "onednn":
        return "onednn" if _onednn_present() else "torch"
    return "onednn" if _AUTO else "torch"


def active(*tensors: torch.Tensor) -> bool:
    """Whether these operands take the oneDNN route."""
    t = tensors[0]
    return (t.device.type == "cpu" and all(x.dtype == torch.float32 for x in tensors)
            and not torch.is_autocast_enabled("cpu") and not torch.compiler.is_compiling()
            and backend() == "onednn")


def _plain(x: torch.Tensor) -> torch.Tensor:
    """``x`` if it, or its transpose, is contiguous (layouts oneDNN reads directly); else a contiguous copy."""
    return x if x.is_contiguous() or x.t().is_contiguous() else x.contiguous()


def _product(a: torch.Tensor, b: torch.Tensor, add: torch.Tensor | None = None) -> torch.Tensor:
    """``a @ b`` (+ ``add``) through oneDNN, for 2-D float32 ``a`` (M, K) and ``b`` (K, N): (M, N)."""
    a, bt = _plain(a), _plain(b).t()  # oneDNN's linear computes input @ weight.T, weight (N, K)
    if add is None:
        return torch.ops.mkldnn._linear_pointwise(a, bt, None, "none", [], "")
    return torch.ops.mkldnn._linear_pointwise.binary(a, add.contiguous(), bt, None, "add")


def _grads(g: torch.Tensor, a: torch.Tensor, b: torch.Tensor, need_a: bool, need_b: bool):
    """Gradients of ``a @ b`` for the output gradient ``g`` (M, N), each made in the layout of its operand.

    A weight passed as ``w.t()`` gets ``(g.T a).T``, so autograd hands ``w`` a contiguous gradient.
    """
    da = db = None
    if need_a:
        da = _product(g, b.t()) if a.is_contiguous() else _product(b, g.t()).t()  # (M, K)
    if need_b:
        M, K = a.shape
        N = g.shape[1]
        if b.is_contiguous():
            db = _product(a.t(), g)  # (K, N)
        elif M * N <= M * K + K * N:
            db = _product(g.t(), a).t()  # oneDNN copies g.T (M*N numbers) into its layout
        else:  # cheaper to copy a.T and lay the result out as b is (the feature MLP's gate_up: 1.07x)
            db = _product(a.t(), g).t().contiguous().t()
    return da, db


class _MM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _product(a, b)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        return _grads(g.contiguous(), a, b, *ctx.needs_input_grad)


class _AddMM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, c, a, b):
        ctx.save_for_backward(a, b)
        return _product(a, b, add=c)

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_c, need_a, need_b = ctx.needs_input_grad
        g = g.contiguous()
        return (g if need_c else None, *_grads(g, a, b, need_a, need_b))


def _routed(onednn, plain, *operands: torch.Tensor) -> torch.Tensor:
    """``onednn(*operands)`` where the route applies (falling back for good if it fails), else ``plain``."""
    global _failed
    if active(*operands):
        try:
            return onednn(*operands)
        except RuntimeError as e:
            _failed = True
            warnings.warn(f"oneDNN matrix products failed ({e}); using torch's from now on", RuntimeWarning,
                          stacklevel=3)
    return plain(*operands)


def mm(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch.mm(a, b)``: (M, K) @ (K, N) -> (M, N)."""
    return _routed(_MM.apply, torch.mm, a, b)


def addmm(c: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``torch.addmm(c, a, b)`` = ``c + a @ b`` for ``c`` (M, N) (the residual fused into the product)."""
    if c.shape != (a.shape[0], b.shape[1]):  # a broadcast c: torch's
        return torch.addmm(c, a, b)
    return _routed(_AddMM.apply, torch.addmm, c, a, b)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.linear(x, weight, bias)``: (..., K) with weight (N, K) -> (..., N)."""
    if bias is None and x.dim() >= 2 and active(x, weight):
        flat = x.reshape(-1, x.shape[-1])  # (M, K)
        return mm(flat, weight.t()).view(*x.shape[:-1], weight.shape[0])
    return F.linear(x, weight, bias)
