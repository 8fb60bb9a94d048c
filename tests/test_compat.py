"""Loading reference TinyRecursiveModels checkpoints: same logits and q values as the reference.

The fixtures were produced by running the reference implementation (see tests/fixtures/README.md).
"""
from pathlib import Path

import pytest
import torch

from trm_core.compat import ReferenceCheckpointError, from_reference
from trm_core.hrm import HRM
from trm_core.losses import act_loss
from trm_core.trm import TRM

FIXTURES = Path(__file__).parent / "fixtures"
NAMES = ["trm_mlp", "trm_att_rope", "trm_att_learned", "hrm"]


def fixture(name):
    return torch.load(FIXTURES / f"reference_{name}.pt", weights_only=True)


@pytest.mark.parametrize("name", NAMES)
def test_reference_logits_and_q_values_are_reproduced(name):
    ref = fixture(name)
    model = from_reference(ref["state_dict"], ref["config"])
    assert isinstance(model, HRM if name == "hrm" else TRM)
    trace = model.reason(ref["inputs"], ref["puzzle_identifiers"], steps=ref["steps"])
    torch.testing.assert_close(trace.logits, ref["logits"], atol=1e-4, rtol=0)
    torch.testing.assert_close(trace.q_halt, ref["q_halt"], atol=1e-4, rtol=0)
    torch.testing.assert_close(trace.q_continue, ref["q_continue"], atol=1e-4, rtol=0)
    # and our ACT loss on those outputs is the reference loss head's
    for step in range(ref["steps"]):
        outputs = {"logits": trace.logits[step], "q_halt_logits": trace.q_halt[step], "q_continue_logits": trace.q_continue[step]}
        loss, _ = act_loss(outputs, ref["labels"], ref["halted"][step], torch.full((4,), step + 1), "stablemax")
        assert loss.item() == pytest.approx(ref["loss"][step].item(), rel=1e-5)


def test_the_config_name_selects_the_architecture():
    ref = fixture("hrm")
    model = from_reference(ref["state_dict"], {**ref["config"], "name": ref["arch_name"], "loss": ref["loss_config"]})
    assert isinstance(model, HRM)
    # naming TRM for an HRM checkpoint: the keys do not fit, and the error says which
    with pytest.raises(ReferenceCheckpointError, match="unexpected keys: .*H_net"):
        from_reference(ref["state_dict"], {**ref["config"], "name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"})


def test_missing_unexpected_and_mismatched_keys_are_named():
    ref = fixture("trm_mlp")
    sd = dict(ref["state_dict"])
    del sd["_orig_mod.model.inner.lm_head.weight"]
    sd["_orig_mod.model.inner.extra_thing"] = torch.zeros(1)
    with pytest.raises(ReferenceCheckpointError) as err:
        from_reference(sd, ref["config"])
    msg = str(err.value)
    assert "missing keys: lm_head.weight" in msg and "unexpected keys: extra_thing" in msg
    with pytest.raises(ReferenceCheckpointError, match=r"shape mismatches: embed_tokens.weight: checkpoint \(11, 64\) vs model \(12, 64\)"):
        from_reference(ref["state_dict"], {**ref["config"], "vocab_size": 12})


def test_bad_configs_are_named():
    ref = fixture("trm_att_rope")
    with pytest.raises(ReferenceCheckpointError, match="lacks required field.*hidden_size"):
        from_reference(ref["state_dict"], {k: v for k, v in ref["config"].items() if k != "hidden_size"})
    with pytest.raises(ReferenceCheckpointError, match="does not know: residual_connections"):
        from_reference(ref["state_dict"], {**ref["config"], "residual_connections": True})


def test_prefixes_are_optional():
    ref = fixture("trm_att_learned")
    plain = {k.replace("_orig_mod.model.", ""): v for k, v in ref["state_dict"].items()}
    model = from_reference(plain, ref["config"])
    trace = model.reason(ref["inputs"], ref["puzzle_identifiers"], steps=1)
    torch.testing.assert_close(trace.logits[0], ref["logits"][0], atol=1e-4, rtol=0)
