"""The chunked token mixer (trm_core.fused) computes what the plain version in layers.py does."""
import copy

import pytest
import torch
import torch.nn.functional as F

from trm_core import build_model, fused, gemm, layers, preset


@pytest.fixture(autouse=True)
def torch_products(monkeypatch):
    """The chunked path runs where the products are torch's (gemm's oneDNN route takes the plain one)."""
    monkeypatch.setattr(gemm, "BACKEND", "torch")


def plain(x, w_gate_up, w_down):
    """The definition: x + W_down (silu(gate) * up), (gate, up) = W_gate_up x, for x (L, N)."""
    gate, up = torch.mm(w_gate_up, x).chunk(2, dim=0)
    return x + torch.mm(w_down, F.silu(gate) * up)


def operands(dtype, K=7, H=12, N=301, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(K, N, generator=g, dtype=dtype)
    w_gate_up = torch.randn(2 * H, K, generator=g, dtype=dtype) / K**0.5
    w_down = torch.randn(K, H, generator=g, dtype=dtype) / H**0.5
    return [t.requires_grad_(True) for t in (x, w_gate_up, w_down)]


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(fused, "CHUNK_ELEMENTS", 24 * 64)  # chunks of 64: 301 = 4 whole chunks and a part
    assert len(fused._chunks(301, 24)) == 5


def test_forward_and_gradients_match_the_plain_version_in_float64(small_chunks):
    ops = operands(torch.float64)
    ops2 = [t.detach().clone().requires_grad_(True) for t in ops]
    out, ref = fused.token_mixer(*ops), plain(*ops2)
    assert out.shape == ref.shape
    torch.testing.assert_close(out, ref, rtol=1e-13, atol=1e-13)
    upstream = torch.randn_like(ref)
    (out * upstream).sum().backward()
    (ref * upstream).sum().backward()
    for a, b in zip(ops, ops2):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-12, atol=1e-12)


def test_gradcheck(small_chunks):
    ops = operands(torch.float64, K=3, H=4, N=150)
    assert torch.autograd.gradcheck(fused.token_mixer, ops)


def test_float32_error_is_the_plain_versions_own(small_chunks):
    """Against the float64 truth, the chunked float32 result drifts no more than the plain float32 one
    (a tolerance from the drift measured here, not a fixed number)."""
    ops = operands(torch.float64, K=97, H=64, N=700)
    truth = plain(*ops).detach()
    ops32 = [t.detach().float() for t in ops]
    with torch.no_grad():
        plain_err = (plain(*ops32).double() - truth).abs().max()
        chunked_err = (fused.token_mixer(*ops32).double() - truth).abs().max()
    assert plain_err > 0
    assert chunked_err <= 4 * plain_err


def test_no_gradient_path_and_partial_gradients(small_chunks):
    x, w_gate_up, w_down = operands(torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fused.token_mixer(x, w_gate_up, w_down),
                                   plain(x, w_gate_up, w_down), rtol=1e-13, atol=1e-13)
    x = x.detach()  # the weights want gradients, x does not
    fused.token_mixer(x, w_gate_up, w_down).sum().backward()
    assert x.grad is None and w_gate_up.grad is not None and w_down.grad is not None


def training_step(model, inputs, chunked):
    layers.CHUNKED = chunked
    try:
        model = copy.deepcopy(model).train()
        state = model.initial_state(inputs.shape[0])
        state = type(state)(state.y.double(), state.z.double())
        new_state, logits, q_halt, _ = model(state, inputs)
        (logits.square().mean() + q_halt.sum()).backward()
        return new_state.y, {k: p.grad for k, p in model.named_parameters()}
    finally:
        layers.CHUNKED = True


@pytest.mark.parametrize("name", ["trm-mlp-tiny", "hrm-tiny"])
def test_a_training_step_of_the_model_is_unchanged(name, monkeypatch):
    monkeypatch.setattr(fused, "CHUNK_ELEMENTS", 4096)  # several chunks even at this size
    torch.manual_seed(0)
    model = build_model(preset(name, vocab_size=8, seq_len=36)).double()
    inputs = torch.randint(1, 8, (6, 36))
    y0, g0 = training_step(model, inputs, chunked=False)
    y1, g1 = training_step(model, inputs, chunked=True)
    torch.testing.assert_close(y1, y0, rtol=1e-11, atol=1e-11)
    assert g0.keys() == g1.keys()
    for k in g0:
        torch.testing.assert_close(g1[k], g0[k], rtol=1e-10, atol=1e-12, msg=k)


def test_only_plain_cpu_float_tensors_take_the_chunked_path():
    x = torch.zeros(3, 4)
    assert fused.applies(x) and fused.applies(x.double())
    assert not fused.applies(x.bfloat16())
    big = fused.MIN_CHUNKS * fused.CHUNK_ELEMENTS  # small mixers run the plain version (faster there)
    assert fused.applies(x, hidden_elements=big) and not fused.applies(x, hidden_elements=big - 1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert not fused.applies(x)


@pytest.mark.skipif(not gemm._onednn_present(), reason="this PyTorch has no oneDNN")
def test_the_onednn_route_takes_the_plain_path(monkeypatch):
    monkeypatch.setattr(gemm, "BACKEND", "onednn")
    assert not fused.applies(torch.zeros(3, 4))
    assert fused.applies(torch.zeros(3, 4).double())  # oneDNN has no float64: chunks as before


@pytest.mark.parametrize("dim", [0, -1])
def test_glu_backward_writes_what_autograd_computes_for_both_halves(dim):
    g = torch.Generator().manual_seed(3)
    gate_up = torch.randn(10, 14, generator=g, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: layers.glu(t, dim), (gate_up,))
    d_out = torch.randn(layers.glu(gate_up.detach(), dim).shape, generator=g, dtype=torch.float64)
    gate, up = gate_up.chunk(2, dim=dim)
    want, = torch.autograd.grad(F.silu(gate) * up, gate_up, d_out)  # autograd's own, through chunk
    out = layers.glu(gate_up, dim)
    assert type(out.grad_fn).__name__ == "_GLUBackward"  # the written-out backward really runs
    got, = torch.autograd.grad(out, gate_up, d_out)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(layers.glu_backward(d_out, gate_up.detach(), dim), want, rtol=1e-12, atol=1e-12)
