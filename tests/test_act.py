"""ACT: the carry across supervision steps, resets and replacement of halted rows, exploration."""
import pytest
import torch

from conftest import random_batch as batch
from conftest import tiny as tiny_model
from trm_core.act import act_step, initial_carry


def tiny(arch="trm", **kw):
    return tiny_model(arch, **{"N_sup": 4, **kw})


def test_first_step_loads_the_whole_batch_and_eval_runs_all_steps():
    torch.manual_seed(0)
    model = tiny().eval()
    a = batch(1)
    carry = initial_carry(model, a)
    assert carry.halted.all()
    for step in range(1, 5):
        incoming = a if step == 1 else batch(100 + step)  # later batches must not leak in
        carry, out = act_step(model, carry, incoming)
        assert torch.equal(carry.batch["inputs"], a["inputs"])
        assert torch.equal(carry.steps, torch.full((4,), step, dtype=torch.int32))
        assert carry.halted.all() == (step == 4)  # eval: every row runs exactly N_sup steps
    assert out["logits"].shape == (4, 10, 7)


def test_halted_rows_are_reset_and_replaced_others_carry_on():
    torch.manual_seed(0)
    model = tiny().eval()
    a, b = batch(1), batch(2)
    carry, _ = act_step(model, initial_carry(model, a), a)
    carry, _ = act_step(model, carry, a)
    carry.halted = torch.tensor([False, True, False, True])
    new, out = act_step(model, carry, b)
    keep, swap = torch.tensor([0, 2]), torch.tensor([1, 3])
    # replaced rows hold the new puzzles and restart their step count
    assert torch.equal(new.batch["inputs"][swap], b["inputs"][swap])
    assert torch.equal(new.batch["inputs"][keep], a["inputs"][keep])
    assert new.steps.tolist() == [3, 1, 3, 1]
    # replaced rows start from the initial state: same as a fresh first step on b
    fresh, fresh_out = act_step(model, initial_carry(model, b), b)
    torch.testing.assert_close(out["logits"][swap], fresh_out["logits"][swap], atol=2e-4, rtol=1e-3)
    # kept rows continue from their carried state: same as a third step without interruption
    cont = carry
    cont.halted = torch.zeros(4, dtype=torch.bool)
    _, cont_out = act_step(model, cont, b)
    torch.testing.assert_close(out["logits"][keep], cont_out["logits"][keep], atol=2e-4, rtol=1e-3)


def _halting_steps(model, rows=400):
    """Run training-mode ACT on a batch until every row halted once; return each row's halting step."""
    data = batch(3, B=rows)
    carry = initial_carry(model, data)
    carry, _ = act_step(model, carry, data)
    first_halt = torch.where(carry.halted, carry.steps, 0)
    for _ in range(model.config.N_sup - 1):
        carry, _ = act_step(model, carry, data)
        first_halt = torch.where((first_halt == 0) & carry.halted, carry.steps, first_halt)
    return first_halt


@pytest.mark.slow
def test_training_halts_when_q_says_so_and_exploration_sets_a_minimum():
    torch.manual_seed(0)
    model = tiny(N_sup=6).train()
    with torch.no_grad():
        model.q_head.bias.fill_(5.0)  # q_halt = 5 > 0: "halt now" for every row
    model.config.halt_exploration_prob = 0.0
    assert _halting_steps(model).tolist() == [1] * 400
    model.config.halt_exploration_prob = 1.0  # every row must first run randint(2, N_sup) steps
    steps = _halting_steps(model)
    assert steps.min() == 2 and steps.max() == 6
    assert set(steps.tolist()) == {2, 3, 4, 5, 6}
    model.config.halt_exploration_prob = 0.1
    frac_explored = (_halting_steps(model) > 1).float().mean()
    assert 0.04 < frac_explored < 0.16  # about 0.1 * (4/5 of draws exceed 1 ... all draws >= 2) = 0.1


def test_without_a_halt_signal_rows_run_to_N_sup():
    torch.manual_seed(0)
    model = tiny(N_sup=3).train()  # q_halt starts at -5: never halts early
    assert _halting_steps(model, rows=50).tolist() == [3] * 50


def test_hrm_continue_target_uses_an_extra_forward_pass():
    torch.manual_seed(0)
    model = tiny("hrm", N_sup=3).train()
    with torch.no_grad():
        model.q_head.weight.normal_(0, 0.1)
    calls = []
    model.register_forward_hook(lambda m, i, o: calls.append(1))
    data = batch(4)
    carry = initial_carry(model, data)
    carry, out = act_step(model, carry, data)
    assert len(calls) == 2  # the step itself and the bootstrap pass
    assert "target_q_continue" in out and ((0 <= out["target_q_continue"]) & (out["target_q_continue"] <= 1)).all()
    # at the last step the target is sigmoid(q_halt') of the next state; check it by hand
    carry.halted[:] = False
    carry.steps[:] = 2
    state_before = carry.state
    new, out = act_step(model, carry, data)
    _, _, next_halt, _ = model(new.state, new.batch["inputs"], new.batch["puzzle_identifiers"])
    torch.testing.assert_close(out["target_q_continue"], torch.sigmoid(next_halt))
    assert state_before is not new.state


def test_trm_has_no_continue_target_by_default():
    model = tiny().train()
    data = batch(5)
    _, out = act_step(model, initial_carry(model, data), data)
    assert "target_q_continue" not in out


def test_a_compiled_forward_runs_the_step_like_the_model():
    """The trainer's ``compile=True`` passes a torch.compile wrapper as ``forward`` (here with the
    eager backend, which needs no C++ compiler): the step must run it and agree with the model."""
    torch.manual_seed(0)
    model = tiny().eval()
    a = batch(1)
    _, plain = act_step(model, initial_carry(model, a), a)
    _, compiled = act_step(model, initial_carry(model, a), a, forward=torch.compile(model, backend="eager"))
    torch.testing.assert_close(compiled["logits"], plain["logits"])
