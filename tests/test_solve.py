"""Adaptive inference (``model.solve``): rows halt and leave the batch, the answers are reason's at the
step each row stopped, each model's halting rule; test-time compute (more steps, noisy samples,
ensembles with first-to-halt); the offline trade-off and the threshold calibration."""
import numpy as np
import pytest
import torch

from conftest import tiny
from trm_core.errors import UserError
from trm_core.evaluate import calibrate_threshold, evaluate_adaptive, halt_steps, halting_tradeoff, solve_all

B = 64


def halting_model(arch="trm", seed=0, bias=0.0, **kw):
    """A tiny float64 model whose Q head is random, so that rows halt at different steps."""
    torch.manual_seed(seed)
    model = tiny(arch, N_sup=5, **kw).double().eval()
    with torch.no_grad():
        model.q_head.weight.normal_(0.0, 2.0)
        model.q_head.bias.fill_(bias)
    return model


def inputs(seed=1, n=B):
    return torch.randint(0, 7, (n, 10), generator=torch.Generator().manual_seed(seed))


def record_batch_sizes(model):
    """A list that fills with the batch size of every forward call of ``model``."""
    sizes = []
    model.register_forward_pre_hook(lambda module, args: sizes.append(args[1].shape[0]))
    return sizes


@pytest.mark.parametrize("arch", ["trm", "hrm"])
def test_solve_gives_reasons_answer_at_the_step_each_row_stopped(arch):
    model = halting_model(arch)
    x = inputs()
    trace = model.reason(x)
    sol = model.solve(x)
    expected = halt_steps(trace.q_halt.numpy(), trace.q_continue.numpy(), model.config.act_continue)  # 0-based
    stop = np.minimum(expected, 4)
    assert 1 < len(set(stop.tolist()))  # rows stop at different steps: the test means something
    assert sol.steps.tolist() == (stop + 1).tolist()
    assert sol.halted.tolist() == (expected < 5).tolist()
    rows = torch.arange(B)
    assert torch.equal(sol.answers, trace.predictions[torch.as_tensor(stop), rows])
    # float64: a different batch composition moves the numbers by rounding only (measured < 1e-13)
    torch.testing.assert_close(sol.q_halt, trace.q_halt[torch.as_tensor(stop), rows], atol=1e-9, rtol=0)
    assert torch.equal(sol.row_steps, sol.steps) and sol.max_steps == 5


def test_rows_leave_the_batch():
    model = halting_model()
    sizes = record_batch_sizes(model)
    sol = model.solve(inputs())
    running = [(sol.steps >= s).sum().item() for s in range(1, 6)]  # rows still running at each step
    assert sizes == [r for r in running if r]
    assert sizes[0] == B and sizes[-1] < B and sol.calls == len(sizes)
    assert sum(sizes) == sol.row_steps.sum().item()


def test_the_hrm_rule_is_q_halt_above_q_continue():
    model = halting_model("hrm", seed=3)
    x = inputs()
    trace = model.reason(x)
    qh, qc = trace.q_halt.numpy(), trace.q_continue.numpy()
    hrm_rule = np.minimum(halt_steps(qh, qc, act_continue=True), 4) + 1
    trm_rule = np.minimum(halt_steps(qh), 4) + 1
    assert (hrm_rule != trm_rule).any()  # the two rules disagree on this model
    assert model.solve(x).steps.tolist() == hrm_rule.tolist()


def test_a_threshold_halts_on_the_halting_probability():
    model = halting_model("hrm", seed=2)  # a threshold is the same rule for HRM and TRM
    x = inputs()
    trace = model.reason(x)
    for p in (0.3, 0.8, 0.95):
        expected = np.minimum(halt_steps(trace.q_halt.numpy(), threshold=p), 4) + 1
        sol = model.solve(x, halt_threshold=p)
        assert sol.steps.tolist() == expected.tolist()
        assert (sol.halt_probability[sol.halted] >= p).all()
    assert model.solve(x, halt_threshold=0.0).steps.eq(1).all()


def test_more_steps_than_trained_and_no_halting():
    model = halting_model()
    x = inputs()
    trace = model.reason(x, steps=9)
    sol = model.solve(x, max_steps=9, adaptive=False)
    assert sol.steps.eq(9).all() and not sol.halted.any() and sol.calls == 9
    assert torch.equal(sol.answers, trace.predictions[-1])
    adaptive = model.solve(x, max_steps=9)
    assert adaptive.steps.max() <= 9 and adaptive.mean_steps < sol.mean_steps


def test_noiseless_samples_agree_and_cost_k_times():
    model = halting_model()
    x = inputs()
    one, four = model.solve(x), model.solve(x, samples=4)
    assert torch.equal(one.answers, four.answers) and torch.equal(one.steps, four.steps)
    assert torch.equal(four.row_steps, 4 * one.row_steps)


def test_noisy_samples_q_head_chooses_and_seed_repeats():
    model = halting_model(bias=-1.0)
    x = inputs()
    clean = model.solve(x, adaptive=False)
    noisy = model.solve(x, adaptive=False, samples=4, noise=0.5, seed=7)
    again = model.solve(x, adaptive=False, samples=4, noise=0.5, seed=7)
    assert torch.equal(noisy.answers, again.answers) and torch.equal(noisy.chosen, again.chosen)
    assert (noisy.chosen > 0).any()  # some puzzles took a noisy sample's answer...
    assert (noisy.halt_probability >= clean.halt_probability - 1e-12).all()  # ...only when the Q head preferred it
    assert not torch.equal(noisy.answers, model.solve(x, adaptive=False, samples=4, noise=0.5, seed=8).answers)


def test_first_to_halt_ensemble():
    never, always = halting_model(seed=0, bias=-30.0), halting_model(seed=1, bias=30.0)
    with torch.no_grad():
        never.q_head.weight.zero_()
        always.q_head.weight.zero_()
    x = inputs()
    sizes = record_batch_sizes(never)
    sol = never.solve(x, members=[always], select="first")
    assert sol.chosen.eq(1).all() and sol.steps.eq(1).all() and sol.halted.all()
    assert torch.equal(sol.answers, always.reason(x, steps=1).predictions[0])
    assert sol.row_steps.eq(2).all() and sizes == [B]  # the slow member stopped when the other halted
    q_rule = never.solve(x, members=[always], select="q")  # no early stop: the slow member runs on
    assert q_rule.row_steps.eq(6).all()


def test_first_to_halt_of_samples_takes_the_earliest_halt():
    model = halting_model(seed=4)
    sol = model.solve(inputs(), samples=3, noise=0.3, select="first")
    alone = model.solve(inputs())
    assert (sol.steps <= alone.steps).all() and (sol.steps < alone.steps).any()


@pytest.mark.parametrize("kwargs,message", [
    (dict(max_steps=0), "max_steps"),
    (dict(samples=0), "samples"),
    (dict(noise=-1.0), "noise"),
    (dict(noise=float("nan")), "noise"),
    (dict(select="vote"), "select"),
    (dict(halt_threshold=1.5), "probability"),
])
def test_bad_options_are_clear_errors(kwargs, message):
    with pytest.raises(UserError, match=message):
        halting_model().solve(inputs(n=2), **kwargs)


def test_bad_inputs_and_members_are_clear_errors():
    model = halting_model()
    with pytest.raises(UserError, match="shape"):
        model.solve(torch.zeros(2, 11, dtype=torch.long))
    with pytest.raises(UserError, match="same puzzles"):
        model.solve(inputs(n=2), members=[tiny(seq_len=12).double()])


def test_empty_batch():
    sol = halting_model().solve(torch.zeros(0, 10, dtype=torch.long))
    assert sol.answers.shape == (0, 10) and sol.mean_steps == 0.0


def test_halting_tradeoff_from_known_arrays():
    labels = np.array([[1, 1], [2, 2], [3, 3]])
    # step 1: only puzzle 0 right; step 2: all right
    preds = np.array([[[1, 1], [0, 2], [0, 0]], [[1, 1], [2, 2], [3, 3]]])
    q = np.array([[5.0, 5.0, -5.0], [5.0, 5.0, 5.0]])  # puzzle 1 halts too early (wrong at step 1)
    rows = {r["rule"]: r for r in halting_tradeoff(preds, q, labels, thresholds=(0.999,))}
    assert rows["model"]["exact_accuracy"] == pytest.approx(2 / 3)
    assert rows["model"]["mean_steps"] == pytest.approx(4 / 3)
    assert rows["P>=0.999"]["mean_steps"] == 2.0 and rows["P>=0.999"]["exact_accuracy"] == 1.0
    assert rows["all steps"]["exact_accuracy"] == 1.0
    assert rows["oracle"]["exact_accuracy"] == 1.0 and rows["oracle"]["mean_steps"] == pytest.approx(5 / 3)


def test_solve_all_and_evaluate_adaptive_match_one_batch():
    model = halting_model()
    x = inputs(n=50)
    labels = model.reason(x).predictions[2].numpy()  # "right" = the answer after step 3
    whole = model.solve(x)
    parts = solve_all(model, x.numpy(), batch_size=16)
    assert torch.equal(parts.answers, whole.answers) and torch.equal(parts.steps, whole.steps)
    assert parts.calls > whole.calls  # four batches
    m = evaluate_adaptive(model, x.numpy(), labels, batch_size=16)
    exact = (whole.answers.numpy() == labels).all(-1).mean()
    assert m["adaptive_exact_accuracy"] == pytest.approx(exact)
    assert m["mean_steps_used"] == pytest.approx(whole.mean_steps)
    assert m["compute_fraction"] == pytest.approx(whole.mean_steps / 5)
    assert sum(m["stop_step_histogram"]) == 50 and m["seconds"] > 0


def test_calibrate_threshold_picks_the_cheapest_within_tolerance():
    model = halting_model()
    x = inputs(n=200)
    labels = model.solve(x, halt_threshold=0.9).answers.numpy()  # "right" = where P(halt) >= 0.9 stops
    c = calibrate_threshold(model, x.numpy(), labels, tolerance=0.02)
    ok = [r for r in c["table"] if r["threshold"] is not None
          and r["exact_accuracy"] >= c["all_steps_accuracy"] - 0.02]
    assert any(r["threshold"] == 0.9 for r in ok)
    assert c["threshold"] is not None and c["mean_steps"] == min(r["mean_steps"] for r in ok)
    assert c["exact_accuracy"] >= c["all_steps_accuracy"] - 0.02


def test_calibrate_threshold_says_none_when_no_threshold_is_good_enough():
    model = halting_model()
    x = inputs(n=200)
    labels = model.reason(x).predictions[-1].numpy()  # only the last step is right: every early stop costs
    c = calibrate_threshold(model, x.numpy(), labels, tolerance=0.0, thresholds=(0.5, 0.9))
    assert c["all_steps_accuracy"] == 1.0
    assert all(r["exact_accuracy"] < 1.0 for r in c["table"] if r["threshold"] is not None)
    assert c["threshold"] is None and c["mean_steps"] == 5.0 and c["exact_accuracy"] == 1.0
