"""TRM and HRM: published parameter counts, shapes, which updates get gradients, input errors."""
import pytest
import torch

import trm_core
from conftest import tiny
from trm_core import build_model, preset
from trm_core.layers import seq_first
from trm_core.recursive import State

PUBLISHED = {
    "trm-mlp-sudoku": 5_028_866,
    "trm-att-sudoku": 6_828_034,
    "trm-att-maze": 6_822_914,
    "trm-att-arc": 6_829_058,
    "hrm-sudoku": 27_275_266,
}


@pytest.mark.parametrize("name,count", PUBLISHED.items())
def test_published_parameter_counts(name, count):
    assert build_model(name).num_parameters() == count


def test_every_preset_builds_and_has_a_note():
    for name in trm_core.PRESETS:
        assert name in trm_core.PRESET_NOTES
        assert build_model(name, vocab_size=8, seq_len=36).num_parameters() > 0


def test_effective_depth_of_the_paper_config():
    assert preset("trm-mlp-sudoku").effective_depth == 42  # T (n + 1) layers = 3 * 7 * 2



@pytest.mark.parametrize(
    "kw",
    [
        dict(mixer="mlp", pos_encodings="none"),
        dict(mixer="attention", pos_encodings="rope"),
        dict(mixer="attention", pos_encodings="learned", puzzle_emb_ndim=32, puzzle_emb_len=4,
             num_puzzle_identifiers=3),
        dict(mixer="mlp", pos_encodings="none", puzzle_emb_ndim=48, puzzle_emb_len=0, num_puzzle_identifiers=3),
    ],
)
@pytest.mark.parametrize("arch", ["trm", "hrm"])
def test_reason_shapes(arch, kw):
    torch.manual_seed(0)
    model = tiny(arch, **kw)
    B, P = 3, model.config.num_puzzle_positions
    inputs = torch.randint(0, 7, (B, 10))
    ids = torch.tensor([0, 1, 2]) if model.config.puzzle_emb_ndim else None
    trace = model.reason(inputs, ids, steps=4, keep_states=True)
    assert trace.logits.shape == (4, B, 10, 7) and trace.logits.dtype == torch.float32
    assert trace.q_halt.shape == (4, B) and trace.q_continue.shape == (4, B)
    assert trace.y.shape == trace.z.shape == (4, B, 10 + P, 32)
    assert trace.predictions.shape == (4, B, 10)
    assert not trace.logits.requires_grad
    # reason() runs every row from the initial state: a row's answer does not depend on its batch mates
    alone = model.reason(inputs[:1], None if ids is None else ids[:1], steps=4)
    # Batch sizes 1 and 3 may take different float32 GEMM paths: bit-equal with MKL's default kernels, but
    # MKL_CBWR=COMPATIBLE makes them differ by up to 0.08 of this tolerance; the whole float32 rounding
    # (float32 vs float64 of the same 4 steps) uses up to 0.24 of it (measured).
    torch.testing.assert_close(alone.logits[:, 0], trace.logits[:, 0], atol=2e-4, rtol=1e-3)


def test_reason_restores_training_mode_and_defaults_to_N_sup_steps():
    model = tiny()
    model.train()
    trace = model.reason(torch.zeros(2, 10, dtype=torch.long))
    assert model.training
    assert trace.logits.shape[0] == model.config.N_sup


def test_q_head_starts_at_minus_five():
    model = tiny()
    trace = model.reason(torch.randint(0, 7, (2, 10)), steps=1)
    torch.testing.assert_close(trace.q_halt, torch.full((1, 2), -5.0))


@pytest.mark.parametrize(
    "bad,match",
    [
        (torch.zeros(2, 9, dtype=torch.long), r"shape \(batch, 10\)"),
        (torch.zeros(10, dtype=torch.long), r"shape \(batch, 10\)"),
        (torch.zeros(2, 10), "integer token ids"),
        (torch.full((2, 10), 7), r"\[0, 7\)"),
        (torch.full((2, 10), -1), r"\[0, 7\)"),
    ],
)
def test_bad_inputs_give_clear_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        tiny().reason(bad)


def test_bad_puzzle_ids_give_clear_errors():
    model = tiny(puzzle_emb_ndim=32, puzzle_emb_len=2, num_puzzle_identifiers=3)
    x = torch.zeros(2, 10, dtype=torch.long)
    with pytest.raises(ValueError, match="puzzle ids"):
        model.reason(x, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        model.reason(x, torch.tensor([0]))


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="mixer"):
        preset("trm-mlp-tiny", mixer="conv")
    with pytest.raises(ValueError, match="unknown preset"):
        preset("trm-huge")
    with pytest.raises(ValueError, match="unknown ModelConfig field"):
        preset("trm-mlp-tiny", hidden=3)


# ------------------------------------------------------------------------------------------
# Gradients: TRM back-propagates through the whole last cycle; HRM through one L and one H update.
# ------------------------------------------------------------------------------------------
def _leaf_state(model, B):
    s = model.initial_state(B)
    return State(s.y.clone().requires_grad_(True), s.z.clone().requires_grad_(True))


def _param_grads(model):
    return {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}


def _loss(logits):
    return logits.square().mean()


@pytest.mark.parametrize("T", [1, 3])
def test_trm_only_the_last_cycle_gets_gradients(T):
    torch.manual_seed(0)
    model = tiny(T=T, n=2)
    x_ids = torch.randint(0, 7, (2, 10))
    state = _leaf_state(model, 2)
    new_state, logits, _, _ = model(state, x_ids)
    _loss(logits).backward()
    assert not new_state.y.requires_grad and not new_state.z.requires_grad  # the carry is detached
    if T == 1:  # the single cycle is the last one: the incoming state gets a gradient
        assert state.y.grad is not None and state.z.grad is not None
    else:  # the T-1 no-grad cycles cut the incoming state off the graph
        assert state.y.grad is None and state.z.grad is None
        # and the parameter gradients are those of the last cycle alone, started from detached states
        grads = _param_grads(model)
        model.zero_grad(set_to_none=True)
        with torch.no_grad():  # latent_recursion works on sequence-first (L, B, D) tensors
            x = seq_first(model.embed(x_ids))
            y, z = seq_first(model.initial_state(2).y), seq_first(model.initial_state(2).z)
            for _ in range(T - 1):
                y, z = model.latent_recursion(x, y, z)
        x = seq_first(model.embed(x_ids))
        y, z = model.latent_recursion(x, y.clone(), z.clone())
        _loss(model.heads(y.transpose(0, 1))[0]).backward()
        manual = _param_grads(model)
        assert grads.keys() == manual.keys()
        for k in grads:
            torch.testing.assert_close(grads[k], manual[k])


def test_trm_counts_n_plus_one_updates_with_gradient():
    model = tiny(T=3, n=4)
    calls = []
    model.net.register_forward_hook(lambda m, inp, out: calls.append(out.requires_grad))
    model(model.initial_state(1), torch.zeros(1, 10, dtype=torch.long))
    assert len(calls) == 3 * (4 + 1)
    assert calls == [False] * 10 + [True] * 5


def test_hrm_uses_the_one_step_gradient():
    torch.manual_seed(0)
    model = tiny("hrm", T=2, n=3)
    calls = []
    model.L_net.register_forward_hook(lambda m, inp, out: calls.append(("L", out.requires_grad)))
    model.H_net.register_forward_hook(lambda m, inp, out: calls.append(("H", out.requires_grad)))
    x_ids = torch.randint(0, 7, (2, 10))
    state = _leaf_state(model, 2)
    _, logits, _, _ = model(state, x_ids)
    _loss(logits).backward()
    # T * n L-updates and T H-updates, of which only the last L and the last H have gradients
    assert [c for c in calls if c[0] == "L"] == [("L", False)] * 5 + [("L", True)]
    assert [c for c in calls if c[0] == "H"] == [("H", False), ("H", True)]
    assert state.y.grad is None and state.z.grad is None
    assert all(p.grad is not None for p in model.H_net.parameters())
    assert all(p.grad is not None for p in model.L_net.parameters())


def test_puzzle_embedding_gradient_reaches_the_local_rows_only_in_training():
    model = tiny(puzzle_emb_ndim=32, puzzle_emb_len=2, num_puzzle_identifiers=4)
    model.train()
    ids = torch.tensor([1, 3])
    _, logits, q, _ = model(model.initial_state(2), torch.zeros(2, 10, dtype=torch.long), ids)
    (_loss(logits) + q.sum()).backward()
    emb = model.puzzle_emb
    assert torch.equal(emb.local_ids, ids)
    assert emb.local_weights.grad is not None and emb.local_weights.grad.abs().sum() > 0
    assert emb.weight.grad is None  # the table itself is a buffer, updated by SignSGD
