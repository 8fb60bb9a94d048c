"""Loss values against hand-computed cases."""
import math

import pytest
import torch

from trm_core.losses import IGNORE_LABEL, act_loss, log_stablemax, softmax_cross_entropy, stablemax_cross_entropy


def test_stablemax_by_hand():
    logits = torch.tensor([[[0.0, 1.0, -1.0]]])  # s = [1, 2, 1/2], sum 3.5
    labels = torch.tensor([[1]])
    loss = stablemax_cross_entropy(logits, labels)
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(-math.log(2 / 3.5), rel=1e-12)
    probs = log_stablemax(logits.double()).exp()
    torch.testing.assert_close(probs, torch.tensor([[[1 / 3.5, 2 / 3.5, 0.5 / 3.5]]], dtype=torch.float64))


def test_stablemax_never_overflows():
    logits = torch.tensor([[[1e30, -1e30, 0.0]]])
    loss = stablemax_cross_entropy(logits, torch.tensor([[0]]))
    assert torch.isfinite(loss).all() and loss.item() == pytest.approx(0.0, abs=1e-12)


def test_softmax_by_hand_and_ignore_masking():
    logits = torch.tensor([[[0.0, math.log(3.0)], [5.0, 1.0]]])  # p = [1/4, 3/4] at position 0
    labels = torch.tensor([[1, IGNORE_LABEL]])
    loss = softmax_cross_entropy(logits, labels)
    assert loss[0, 0].item() == pytest.approx(-math.log(0.75), rel=1e-6)
    assert loss[0, 1].item() == 0.0
    assert stablemax_cross_entropy(logits, labels)[0, 1].item() == 0.0


def test_act_loss_by_hand():
    # two sequences of 2 tokens; the second has one ignored token
    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0]], [[0.0, 2.0], [0.0, 0.0]]])
    labels = torch.tensor([[0, 1], [0, IGNORE_LABEL]])
    q_halt = torch.tensor([1.0, -1.0])
    outputs = {"logits": logits, "q_halt_logits": q_halt, "q_continue_logits": torch.zeros(2)}
    halted = torch.tensor([True, True])
    total, m = act_loss(outputs, labels, halted, torch.tensor([3, 5]), "softmax")
    ce_right = -math.log(math.exp(2) / (math.exp(2) + 1))  # correct token, margin 2
    ce_wrong = -math.log(1 / (math.exp(2) + 1))
    lm = (ce_right + ce_right) / 2 + ce_wrong / 1  # per-sequence means, summed
    def bce(x, t):
        return -(t * math.log(1 / (1 + math.exp(-x))) + (1 - t) * math.log(1 - 1 / (1 + math.exp(-x))))

    q_loss = bce(1.0, 1.0) + bce(-1.0, 0.0)  # sequence 0 is exactly right, sequence 1 is not
    assert m["lm_loss"].item() == pytest.approx(lm, rel=1e-5)
    assert m["q_halt_loss"].item() == pytest.approx(q_loss, rel=1e-5)
    assert total.item() == pytest.approx(lm + 0.5 * q_loss, rel=1e-5)
    assert m["count"].item() == 2 and m["exact_accuracy"].item() == 1
    assert m["accuracy"].item() == pytest.approx(1.0)  # 2/2 + 0/1
    assert m["q_halt_accuracy"].item() == 2 and m["steps"].item() == 8


def test_act_loss_adds_the_continue_term_and_rejects_unknown_losses():
    outputs = {
        "logits": torch.zeros(1, 1, 2), "q_halt_logits": torch.zeros(1),
        "q_continue_logits": torch.zeros(1), "target_q_continue": torch.ones(1),
    }
    labels = torch.tensor([[0]])
    total, m = act_loss(outputs, labels, torch.tensor([False]), torch.tensor([1]), "stablemax")
    assert m["q_continue_loss"].item() == pytest.approx(math.log(2))
    assert m["count"].item() == 0  # metrics count only halted rows
    assert total.item() == pytest.approx(math.log(2) + 0.5 * (math.log(2) + math.log(2)))
    with pytest.raises(ValueError, match="unknown loss"):
        act_loss(outputs, labels, torch.tensor([True]), torch.tensor([1]), "hinge")
