"""trm_core.gemm: oneDNN's float32 products give torch's results to float rounding, gradients included."""
import copy
import warnings

import pytest
import torch
import torch.nn.functional as F

from trm_core import build_model, gemm, preset

needs_onednn = pytest.mark.skipif(not gemm._onednn_present(), reason="this PyTorch has no oneDNN")


@pytest.fixture
def onednn(monkeypatch):
    monkeypatch.setattr(gemm, "BACKEND", "onednn")
    monkeypatch.setattr(gemm, "_failed", False)
    assert gemm.backend() == "onednn"


def layouts(M=37, K=29, N=23, seed=0):
    """(a, b) pairs for a @ b in the layouts the layers use: contiguous, transposed views, column slices."""
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.randn(*s, generator=g)  # noqa: E731
    return {"contiguous": (r(M, K), r(K, N)), "transposed": (r(K, M).t(), r(N, K).t()),
            "sliced": (r(M, 2 * K)[:, :K], r(K, 3 * N)[:, 5:5 + N]),
            # a weight's transpose with M*N > M*K + K*N: its gradient is made from a.T, not g.T
            "transposed_wide": (r(M, 7), r(4 * M, 7).t())}


def run(fn, *ops):
    """fn's output and its operands' gradients for a fixed upstream gradient."""
    ops = [t.detach().clone().requires_grad_(True) for t in ops]
    out = fn(*ops)
    (out * torch.linspace(-1, 1, out.numel()).view(out.shape)).sum().backward()
    return [out.detach()] + [t.grad for t in ops]


@needs_onednn
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "sliced", "transposed_wide"])
def test_mm_and_addmm_match_torch_values_and_gradients(onednn, layout):
    a, b = layouts()[layout]
    c = torch.randn(a.shape[0], b.shape[1])
    for ours, theirs, ops in [(gemm.mm, torch.mm, (a, b)), (gemm.addmm, torch.addmm, (c, a, b))]:
        got, want = run(ours, *ops), run(theirs, *ops)
        assert got[0].grad_fn is None and run(ours, *ops)[0].dtype == torch.float32
        for x, y in zip(got, want):
            assert x.shape == y.shape and x.stride() == y.stride()  # each gradient in its operand's layout
            torch.testing.assert_close(x, y, rtol=1e-5, atol=1e-5)  # K = 29 float32 sums: ~1e-6 apart


@needs_onednn
def test_the_route_is_really_taken_and_linear_keeps_leading_axes(onednn):
    x, w = torch.randn(5, 3, 8, requires_grad=True), torch.randn(4, 8, requires_grad=True)
    y = gemm.linear(x, w)
    assert y.shape == (5, 3, 4) and type(y.grad_fn).__name__ == "ViewBackward0"
    assert type(gemm.mm(x[0], w.t()).grad_fn).__name__ == "_MMBackward"
    torch.testing.assert_close(y, F.linear(x, w), rtol=1e-5, atol=1e-5)
    y.sum().backward()
    assert w.grad.is_contiguous()  # the weight's gradient comes in the weight's layout


def test_everything_else_gets_the_plain_torch_functions(monkeypatch):
    a, b = torch.randn(4, 3, requires_grad=True), torch.randn(3, 2)
    monkeypatch.setattr(gemm, "BACKEND", "onednn")
    assert type(gemm.mm(a.double(), b.double()).grad_fn).__name__ == "MmBackward0"  # oneDNN has no float64
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert type(gemm.mm(a, b).grad_fn).__name__ == "MmBackward0"
    monkeypatch.setattr(gemm, "BACKEND", "torch")
    assert gemm.backend() == "torch" and type(gemm.mm(a, b).grad_fn).__name__ == "MmBackward0"
    monkeypatch.setattr(gemm, "BACKEND", "fast")
    with pytest.raises(ValueError, match="'auto', 'onednn' or 'torch'"):
        gemm.backend()


@pytest.mark.parametrize("vendor, flags, expected", [
    ("AuthenticAMD", "fpu avx2 avx512f avx512bw", True),  # Zen 4, Zen 5
    ("AuthenticAMD", "fpu avx2 fma", False),  # Zen 1-3: MKL's AVX2 kernels are as fast
    ("GenuineIntel", "fpu avx2 avx512f", False),  # MKL has its AVX-512 kernels here
    ("AuthenticAMD", "fpu avx2 avx512_vnni", False),  # a flag that only looks like AVX-512F
])
def test_auto_takes_onednn_only_on_amd_cpus_with_avx512(monkeypatch, vendor, flags, expected):
    info = f"processor\t: 0\nvendor_id\t: {vendor}\ncpu family\t: 25\nflags\t\t: {flags}\n\nprocessor\t: 1\n"
    monkeypatch.setattr(gemm, "_cpuinfo_head", lambda: info)
    assert gemm._is_amd_avx512() is expected
    monkeypatch.setattr(gemm, "_cpuinfo_head", lambda: "")  # no /proc/cpuinfo (macOS, Windows)
    assert gemm._is_amd_avx512() is False


@needs_onednn
def test_a_failing_onednn_warns_once_and_falls_back(onednn, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no kernel for this CPU")
    monkeypatch.setattr(gemm, "_product", broken)
    a, b = torch.randn(4, 3), torch.randn(3, 2)
    with pytest.warns(RuntimeWarning, match="no kernel for this CPU"):
        out = gemm.mm(a, b)
    torch.testing.assert_close(out, a @ b)
    assert gemm.backend() == "torch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gemm.addmm(torch.zeros(4, 2), a, b)  # no second warning


def segment_grads(model, inputs, dtype):
    """The ACT state and every parameter's gradient after one supervision segment, in ``dtype``."""
    model = copy.deepcopy(model).to(dtype).train()
    state = model.initial_state(inputs.shape[0])
    state = type(state)(state.y.to(dtype), state.z.to(dtype))
    new_state, logits, q_halt, _ = model(state, inputs)
    (logits.square().mean() + q_halt.sum()).backward()
    return {"y": new_state.y.detach().double(), **{k: p.grad.double() for k, p in model.named_parameters()}}


@needs_onednn
@pytest.mark.parametrize("name", ["trm-mlp-tiny", "trm-att-tiny", "hrm-tiny"])
def test_a_training_segment_drifts_from_float64_no_more_than_torchs_float32(name, monkeypatch):
    """Identical math: against the float64 truth, the oneDNN float32 segment (state and gradients)
    is no further off than torch's float32 segment, up to a factor (measured here: at most 1.11)."""
    torch.manual_seed(0)
    model = build_model(preset(name, vocab_size=8, seq_len=36))
    inputs = torch.randint(1, 8, (6, 36))
    truth = segment_grads(model, inputs, torch.float64)  # float64: the plain torch route
    errors = {}
    for route in ("torch", "onednn"):
        monkeypatch.setattr(gemm, "BACKEND", route)
        got = segment_grads(model, inputs, torch.float32)
        errors[route] = {k: ((got[k] - truth[k]).abs().max() / truth[k].abs().max().clamp_min(1e-30)).item()
                         for k in truth}
    for k in truth:
        assert errors["onednn"][k] <= 2 * errors["torch"][k] + 1e-7, (k, errors["onednn"][k], errors["torch"][k])
        assert errors["onednn"][k] < 1e-3, k
