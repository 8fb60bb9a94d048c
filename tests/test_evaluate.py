"""Evaluation metrics, computed by hand, for both halting rules (TRM: q_halt > 0; HRM: q_halt > q_continue)."""
import numpy as np
import pytest
import torch

from conftest import tiny
from trm_core.act import halts
from trm_core.data import make_task
from trm_core.data.dataset import IGNORE_LABEL, score
from trm_core.evaluate import evaluate, metrics_from_predictions, predict
from trm_core.losses import act_loss

LABELS = np.array([[1, 2], [3, IGNORE_LABEL], [1, 1]])  # row 1 has one labelled position
PREDICTIONS = np.array([
    [[1, 0], [3, 0], [0, 0]],  # step 1: row 0 half right, row 1 right, row 2 wrong
    [[1, 2], [0, 5], [1, 1]],  # step 2: row 0 right, row 1 wrong, row 2 right
])
Q_HALT = np.array([[1.0, -1.0, -2.0], [2.0, 0.5, -3.0]])  # (steps, N)
Q_CONTINUE = np.array([[2.0, -3.0, 0.0], [0.0, 0.0, -4.0]])


def test_score_is_the_one_accuracy_definition():
    exact, cells = score(PREDICTIONS, LABELS)
    np.testing.assert_array_equal(exact, [[False, True, False], [True, False, True]])
    np.testing.assert_allclose(cells, [[0.5, 1.0, 0.0], [1.0, 0.0, 1.0]])
    exact, cells = score(np.zeros((1, 2)), np.full((1, 2), IGNORE_LABEL))  # nothing to get wrong
    assert exact.all() and cells[0] == 1.0


def test_trm_metrics_by_hand():
    m = metrics_from_predictions(PREDICTIONS, Q_HALT, LABELS)  # TRM: halt when q_halt > 0
    assert m["n"] == 3 and m["steps"] == 2
    assert m["exact_accuracy"] == pytest.approx(2 / 3) and m["cell_accuracy"] == pytest.approx(2 / 3)
    assert m["per_step_exact"] == pytest.approx([1 / 3, 2 / 3]) and m["per_step_cell"] == pytest.approx([0.5, 2 / 3])
    # row 0 halts at step 1, row 1 at step 2 (0.5 > 0), row 2 never (its answer is the last one)
    assert m["halt_step_histogram"] == [1, 1, 1]
    assert m["mean_halt_step"] == pytest.approx(5 / 3)
    assert m["accuracy_at_halt"] == pytest.approx(1 / 3)  # row 0 wrong at step 1, row 1 wrong, row 2 right
    assert m["q_halt_accuracy"] == pytest.approx(1 / 3)  # q_halt > 0 at the end [T, T, F] vs right [T, F, T]
    assert sum(b["count"] for b in m["q_halt_calibration"]) == 3


def test_hrm_metrics_by_hand():
    m = metrics_from_predictions(PREDICTIONS, Q_HALT, LABELS, Q_CONTINUE, act_continue=True)
    # q_halt > q_continue: row 0 at step 2 (2 > 0), row 1 at step 1 (-1 > -3), row 2 at step 2 (-3 > -4)
    assert m["halt_step_histogram"] == [1, 2, 0]
    assert m["mean_halt_step"] == pytest.approx(5 / 3)
    assert m["accuracy_at_halt"] == pytest.approx(1.0)  # each answered where it is right
    assert m["q_halt_accuracy"] == pytest.approx(1 / 3)  # the Q head as a correctness classifier: same rule
    with pytest.raises(ValueError, match="q_continue"):
        metrics_from_predictions(PREDICTIONS, Q_HALT, LABELS, act_continue=True)


def test_halts_is_the_rule_training_uses_too():
    qh, qc = torch.tensor([0.0, 1.0, -1.0]), torch.tensor([-1.0, 2.0, -2.0])
    assert halts(qh, qc).tolist() == [False, True, False]  # exactly 0 is not "I am right"
    assert halts(qh, qc, act_continue=True).tolist() == [True, False, True]
    np.testing.assert_array_equal(halts(qh.numpy(), qc.numpy(), True), [True, False, True])


def test_loss_metric_q_halt_accuracy_uses_the_same_threshold():
    logits = torch.zeros(2, 1, 3)
    logits[0, 0, 1] = 1.0  # row 0 predicts 1 (right), row 1 predicts 1 (wrong: label 2)
    outputs = {"logits": logits, "q_halt_logits": torch.tensor([0.0, 0.0]), "q_continue_logits": torch.zeros(2)}
    logits[1, 0, 1] = 1.0
    _, m = act_loss(outputs, torch.tensor([[1], [2]]), torch.tensor([True, True]), torch.tensor([1, 1]))
    assert m["q_halt_accuracy"].item() == 1  # q_halt = 0 says "not right": right for row 1 only


@pytest.mark.parametrize("arch", ["trm", "hrm"])
def test_evaluate_applies_each_models_own_rule(arch):
    torch.manual_seed(0)
    model = tiny(arch, N_sup=4).eval()
    with torch.no_grad():
        model.q_head.weight.normal_(0, 1.0)  # make Q vary between rows and steps
        model.q_head.bias.zero_()
    inputs = torch.randint(0, 7, (40, 10), generator=torch.Generator().manual_seed(1))
    labels = torch.randint(0, 7, (40, 10), generator=torch.Generator().manual_seed(2))
    trace = model.reason(inputs)
    got = evaluate(model, inputs, labels, batch_size=16)  # in batches: the same as one pass
    by_hand = metrics_from_predictions(trace.predictions.numpy(), trace.q_halt.numpy(), labels.numpy(),
                                       trace.q_continue.numpy(), act_continue=(arch == "hrm"))
    assert got["halt_step_histogram"] == by_hand["halt_step_histogram"]
    assert got["accuracy_at_halt"] == pytest.approx(by_hand["accuracy_at_halt"])
    assert got["mean_halt_step"] == pytest.approx(by_hand["mean_halt_step"])
    other = metrics_from_predictions(trace.predictions.numpy(), trace.q_halt.numpy(), labels.numpy(),
                                     trace.q_continue.numpy(), act_continue=(arch != "hrm"))
    assert other["halt_step_histogram"] != got["halt_step_histogram"]  # the rules really differ here


def test_evaluate_on_a_task_adds_its_own_metrics_with_the_same_accuracy():
    task = make_task("sudoku", size=4, n_train=20, n_test=30, seed=0)
    torch.manual_seed(0)
    model = tiny(**task.model_dims()).eval()
    m = evaluate(model, task)
    final = predict(model, task.test)["predictions"][-1]
    by_task = task.evaluate(final)
    assert m["n"] == 30 and "valid_solution" in m
    assert (m["exact_accuracy"] == by_task["exact_accuracy"]
            and m["cell_accuracy"] == pytest.approx(by_task["cell_accuracy"]))
    with pytest.raises(ValueError, match="needs labels"):
        evaluate(model, task.test.inputs)
