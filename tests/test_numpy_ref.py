"""The NumPy reference (trm_core.numpy_ref) and the PyTorch model agree on the same weights.

All comparisons run the torch model in float64. Two details of the torch code have to be taken
into account to see the agreement at float64 precision:

* The RoPE tables are computed in float32 (as the reference code does), so a float64 model's
  tables hold float32 values; the tests swap in tables computed in float64.
* An untrained recursion is chaotic: a rounding difference grows about tenfold per supervision
  step, so any float32 rounding inside a float64 model would become visible after a few steps.

``model.reason`` and ``model.heads`` keep a float64 model's outputs in float64, so every comparison
is at float64 precision (atol 1e-9). The largest difference measured, over the AVX-512, AVX2 and
generic ATen kernels, MKL's AVX2 and COMPATIBLE paths and OpenBLAS's Prescott kernels (NumPy's
side), was 5e-13 (through two supervision steps): 1e-9 leaves a margin of 2000.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import trm_core
from trm_core import layers
from trm_core import numpy_ref as ref

TIGHT = 1e-9  # float64 all the way (largest measured difference: 5e-13, see above)


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """These models are tiny: one thread is faster, and far faster on a busy shared machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


seq_first = layers.seq_first  # blocks and nets work on (L, B, D); the NumPy reference on (B, L, D)


def batch_first(t: torch.Tensor) -> torch.Tensor:
    return t.transpose(0, 1)


def _float64_rope(rope: layers.RotaryEmbedding, head_dim: int, length: int, theta: float) -> None:
    """Replace a RotaryEmbedding's float32-computed tables by float64 ones (computed in torch)."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.outer(torch.arange(length, dtype=torch.float64), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    rope.cos, rope.sin = angles.cos(), angles.sin()


def make_model(name: str, seed: int = 0, **overrides):
    """A small float64 model with random q_head and puzzle embeddings (both start constant)."""
    torch.manual_seed(seed)
    model = trm_core.build_model(name, **overrides).double().eval()
    cfg = model.config
    with torch.no_grad():
        model.q_head.weight.normal_(0.0, cfg.hidden_size**-0.5)
        model.q_head.bias.normal_()
        if model.puzzle_emb is not None:
            model.puzzle_emb.weight.normal_()
    if model.rope is not None:
        _float64_rope(model.rope, cfg.hidden_size // cfg.num_heads, cfg.total_len, cfg.rope_theta)
    return model


def model_for(key: str):
    preset, overrides = CONFIGS[key]
    return make_model(preset, **overrides)


def make_batch(cfg, batch: int = 3, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, cfg.vocab_size, (batch, cfg.seq_len), generator=g)
    puzzle_ids = None
    if cfg.puzzle_emb_ndim:
        puzzle_ids = torch.randint(0, cfg.num_puzzle_identifiers, (batch,), generator=g)
    return inputs, puzzle_ids


def np_(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def rand(*shape, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# Small configs covering every option: both mixers, rope / learned / none, puzzle embeddings, HRM.
SMALL = dict(vocab_size=8, seq_len=12)
CONFIGS = {
    "trm-mlp": ("trm-mlp-tiny", dict(SMALL)),
    "trm-att-rope": ("trm-att-tiny", dict(SMALL, hidden_size=64, num_heads=2, n=3)),
    "trm-att-learned-puzzle": (
        "trm-att-tiny",
        dict(SMALL, hidden_size=64, num_heads=4, n=3, pos_encodings="learned", puzzle_emb_ndim=64, puzzle_emb_len=4,
             num_puzzle_identifiers=5),
    ),
    "trm-mlp-puzzle": (
        "trm-mlp-tiny",
        dict(SMALL, hidden_size=48, puzzle_emb_ndim=48, puzzle_emb_len=2, num_puzzle_identifiers=3),
    ),
    "trm-att-none-2pos": (  # puzzle_emb_len=0: ceil(80 / 64) = 2 positions, the second half-filled
        "trm-att-tiny",
        dict(SMALL, hidden_size=64, num_heads=2, n=2, pos_encodings="none", puzzle_emb_ndim=80, puzzle_emb_len=0,
             num_puzzle_identifiers=4),
    ),
    "hrm-mlp": ("hrm-tiny", dict(SMALL)),
    "hrm-att-rope-puzzle": (
        "hrm-tiny",
        dict(SMALL, hidden_size=64, mixer="attention", pos_encodings="rope", h_layers=1, puzzle_emb_ndim=64,
             puzzle_emb_len=1, num_puzzle_identifiers=3),
    ),
}


# ----------------------------------------------------------------------------------------------
# Building blocks against their torch counterparts
# ----------------------------------------------------------------------------------------------
def test_rms_norm_matches_torch():
    x = rand(2, 5, 7)
    for axis in (-1, 1):
        assert max_diff(ref.rms_norm(np_(x), axis=axis), np_(layers.rms_norm(x, 1e-5, dim=axis))) < TIGHT
    norm = ref.rms_norm(np_(x) * 100.0)
    assert np.allclose(np.sqrt(np.mean(norm**2, axis=-1)), 1.0, atol=1e-6)  # unit root mean square


def test_silu_matches_torch():
    x = rand(50) * 10
    assert max_diff(ref.silu(np_(x)), np_(torch.nn.functional.silu(x))) < 1e-12


def test_swiglu_matches_torch():
    torch.manual_seed(0)
    mlp = layers.SwiGLU(16, 4.0).double()
    x = rand(2, 3, 16)
    out = ref.swiglu(np_(x), np_(mlp.gate_up.weight), np_(mlp.down.weight))
    assert out.shape == (2, 3, 16)
    assert max_diff(out, np_(mlp(x))) < TIGHT


def test_token_mixer_mlp_matches_torch():
    torch.manual_seed(0)
    mixer = layers.TokenMixerMLP(seq_len=10, expansion=4.0).double()
    h = rand(2, 10, 6)
    out = ref.token_mixer_mlp(np_(h), np_(mixer.mlp.gate_up.weight), np_(mixer.mlp.down.weight))
    assert max_diff(out, np_(batch_first(mixer(seq_first(h))))) < TIGHT


def test_rope_tables_match_torch():
    rope = layers.RotaryEmbedding(head_dim=8, max_len=20, theta=10000.0)
    cos, sin = ref.rope_tables(8, 20, 10000.0)
    assert max_diff(cos, np_(rope.cos)) < 1e-5 and max_diff(sin, np_(rope.sin)) < 1e-5  # torch: float32


def test_rope_matches_torch():
    x = rand(2, 3, 20, 8)
    cos, sin = ref.rope_tables(8, 20)
    assert max_diff(ref.rope(np_(x), cos, sin), np_(layers.apply_rope(x, torch.tensor(cos), torch.tensor(sin)))) < TIGHT
    # A rotation keeps the length of every (i, i + hd/2) pair.
    rotated = ref.rope(np_(x), cos, sin)
    assert np.allclose(rotated[..., :4] ** 2 + rotated[..., 4:] ** 2, np_(x)[..., :4] ** 2 + np_(x)[..., 4:] ** 2)


@pytest.mark.parametrize("use_rope", [False, True])
def test_attention_matches_torch(use_rope):
    torch.manual_seed(0)
    attn = layers.Attention(hidden_size=16, num_heads=4).double()
    rope = None
    if use_rope:
        rope = layers.RotaryEmbedding(4, 9)
        _float64_rope(rope, 4, 9, 10000.0)
    h = rand(2, 9, 16)
    cos_sin = ref.rope_tables(4, 9) if use_rope else None
    out = ref.attention(np_(h), np_(attn.qkv.weight), np_(attn.out.weight), num_heads=4, rope_cos_sin=cos_sin)
    assert max_diff(out, np_(batch_first(attn(seq_first(h), rope)))) < TIGHT


@pytest.mark.parametrize("name", ["trm-mlp", "trm-att-rope"])
def test_block_and_net_match_torch(name):
    model = model_for(name)
    cfg, w = model.config, ref.weights_from_torch(model)
    cos_sin = ref.rope_tables(cfg.hidden_size // cfg.num_heads, cfg.total_len) if model.rope is not None else None
    h, injection = rand(2, cfg.total_len, cfg.hidden_size, seed=1), rand(2, cfg.total_len, cfg.hidden_size, seed=2)
    with torch.no_grad():
        torch_block = batch_first(model.net.layers[0](seq_first(h), model.rope))
        torch_net = batch_first(model.net(seq_first(h), seq_first(injection), model.rope))
    assert max_diff(ref.block(np_(h), w["net"][0], cfg, cos_sin), np_(torch_block)) < TIGHT
    assert max_diff(ref.net(np_(h), np_(injection), w["net"], cfg, cos_sin), np_(torch_net)) < TIGHT
    assert max_diff(ref.make_net(w["net"], cfg)(np_(h), np_(injection)), np_(torch_net)) < TIGHT


# ----------------------------------------------------------------------------------------------
# Embedding, heads, one supervision step
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["trm-mlp", "trm-att-learned-puzzle", "trm-att-none-2pos"])
def test_embed_matches_torch(name):
    model = model_for(name)
    cfg, w = model.config, ref.weights_from_torch(model)
    inputs, puzzle_ids = make_batch(cfg)
    x = ref.embed(w, cfg, inputs.numpy(), None if puzzle_ids is None else puzzle_ids.numpy())
    assert x.shape == (3, cfg.total_len, cfg.hidden_size)
    with torch.no_grad():
        assert max_diff(x, np_(model.embed(inputs, puzzle_ids))) < TIGHT
        if puzzle_ids is not None:  # no ids means puzzle 0, in both
            assert max_diff(ref.embed(w, cfg, inputs.numpy()), np_(model.embed(inputs))) < TIGHT


def test_heads_match_torch():
    model = model_for("trm-att-learned-puzzle")
    cfg, w = model.config, ref.weights_from_torch(model)
    y = rand(3, cfg.total_len, cfg.hidden_size)
    logits, q_halt, q_continue = ref.heads(w, cfg, np_(y))
    with torch.no_grad():
        t_logits, t_halt, t_continue = model.heads(y)
    assert logits.shape == (3, cfg.seq_len, cfg.vocab_size)
    assert max_diff(logits, np_(t_logits)) < TIGHT
    # the q values stay float64 for a float64 model (at_least_float32): the same precision applies
    assert max_diff(q_halt, np_(t_halt)) < TIGHT and max_diff(q_continue, np_(t_continue)) < TIGHT


@pytest.mark.parametrize("name", ["trm-mlp", "trm-att-rope"])
def test_trm_recursion_matches_torch(name):
    model = model_for(name)
    cfg, w = model.config, ref.weights_from_torch(model)
    inputs, puzzle_ids = make_batch(cfg)
    f = ref.make_net(w["net"], cfg)
    with torch.no_grad():
        x = model.embed(inputs, puzzle_ids)
        state = model.initial_state(3)
        y1, z1 = map(batch_first, model.latent_recursion(seq_first(x), seq_first(state.y), seq_first(state.z)))
        step = model.recursion(x, state)
    y0, z0 = ref.initial_state(w, cfg, 3)
    assert max_diff(y0, np_(state.y)) == 0 and max_diff(z0, np_(state.z)) == 0
    y, z = ref.latent_recursion(f, np_(x), y0, z0, cfg.n)
    assert max_diff(y, np_(y1)) < TIGHT and max_diff(z, np_(z1)) < TIGHT
    y, z = ref.deep_recursion(f, np_(x), y0, z0, cfg.n, cfg.T)
    assert max_diff(y, np_(step.y)) < TIGHT and max_diff(z, np_(step.z)) < TIGHT


def test_hrm_recursion_matches_torch():
    model = model_for("hrm-att-rope-puzzle")
    cfg, w = model.config, ref.weights_from_torch(model)
    assert len(w["H_net"]) == 1 and len(w["L_net"]) == 2
    inputs, puzzle_ids = make_batch(cfg)
    with torch.no_grad():
        x = model.embed(inputs, puzzle_ids)
        step = model.recursion(x, model.initial_state(3))
    y0, z0 = ref.initial_state(w, cfg, 3)
    L_net, H_net = ref.make_net(w["L_net"], cfg), ref.make_net(w["H_net"], cfg)
    y, z = ref.hrm_recursion(L_net, H_net, np_(x), y0, z0, cfg.n, cfg.T)
    assert max_diff(y, np_(step.y)) < TIGHT and max_diff(z, np_(step.z)) < TIGHT


# ----------------------------------------------------------------------------------------------
# The whole thing: reason() against model.reason()
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(CONFIGS))
def test_reason_matches_torch(name):
    model = model_for(name)
    cfg = model.config
    inputs, puzzle_ids = make_batch(cfg)
    steps = 2
    trace = model.reason(inputs, puzzle_ids, steps=steps, keep_states=True, autocast=False)
    out = ref.reason(ref.weights_from_torch(model), cfg, inputs.numpy(),
                     None if puzzle_ids is None else puzzle_ids.numpy(), steps=steps)
    B, L, V, Lt, D = 3, cfg.seq_len, cfg.vocab_size, cfg.total_len, cfg.hidden_size
    assert out["logits"].shape == (steps, B, L, V)
    assert out["q_halt"].shape == out["q_continue"].shape == (steps, B)
    assert out["y"].shape == out["z"].shape == (steps, B, Lt, D)
    for key in ("logits", "q_halt", "q_continue", "y", "z"):
        assert max_diff(out[key], np_(getattr(trace, key))) < TIGHT, key
    # And step by step by hand, through the model's own pieces.
    with torch.no_grad():
        x, state = model.embed(inputs, puzzle_ids), model.initial_state(3)
        for s in range(steps):
            state = model.recursion(x, state)
            q = model.q_head(state.y[:, 0])  # (B, 2)
            assert max_diff(out["logits"][s], np_(model.lm_head(state.y[:, cfg.num_puzzle_positions:]))) < TIGHT
            assert max_diff(out["q_halt"][s], np_(q[:, 0])) < TIGHT
            assert max_diff(out["q_continue"][s], np_(q[:, 1])) < TIGHT
            assert max_diff(out["y"][s], np_(state.y)) < TIGHT and max_diff(out["z"][s], np_(state.z)) < TIGHT
    # Nothing trivially constant: the answers and q values differ between rows and steps.
    assert out["logits"].std(axis=1).min() > 1e-3
    assert np.abs(np.diff(out["q_halt"], axis=0)).max() > 1e-3


def test_reason_rejects_bad_inputs():
    model = model_for("trm-mlp")
    w = ref.weights_from_torch(model)
    with pytest.raises(ValueError, match="shape"):
        ref.reason(w, model.config, np.zeros((2, 5), dtype=np.int64), steps=1)
    with pytest.raises(ValueError, match="steps"):
        ref.reason(w, model.config, np.zeros((2, 12), dtype=np.int64), steps=0)


def test_weights_are_float64_copies():
    model = model_for("hrm-mlp")
    w = ref.weights_from_torch(model)
    assert w["embed_tokens"].dtype == np.float64
    w["embed_tokens"][:] = 0.0
    assert model.embed_tokens.weight.abs().sum() > 0  # the model is untouched
