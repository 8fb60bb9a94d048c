"""Reference checkpoints load into trm_core and give the reference's outputs, on any CPU.

The fixtures were made by running the reference implementation (``tests/fixtures/make_fixtures.py``,
reading a clone of SamsungSAILMontreal/TinyRecursiveModels): the same weights run once in float32 and
once in float64. The recursion amplifies rounding step by step, so float32 outputs recorded on one
CPU cannot be met to a fixed tolerance on another (other kernels, other thread counts). Hence:

1. **float64, tight.** trm_core in float64 against the reference in float64. The tolerance is the
   reference's own float32 drift ``|ref32 - ref64|`` at that step, scaled down by the ratio of the two
   machine epsilons (2**-52 / 2**-23) and up by ``SAFETY_64``: measured ours-vs-reference float64
   differences sit about 50x inside it on every kernel tried. A one-line bug (a wrong RMSNorm epsilon,
   a dropped L cycle, y and z swapped) moves the outputs by 1e-6 or more, six orders above it.
2. **float32, bounded by the drift.** Step 1 against the reference's float32 numbers within
   ``K_32`` times its drift; every step, trm_core's own float32 drift from its float64 run within
   ``K_32`` times the reference's (a precision bug, e.g. a norm computed in bf16, shows here).
   Measured ratios (AVX-512, AVX2 and the default kernels, 1 and 2 threads): at most 3.1.
"""
import pytest
import torch

from conftest import FIXTURES
from trm_core.compat import ReferenceCheckpointError, from_reference
from trm_core.hrm import HRM
from trm_core.losses import act_loss
from trm_core.trm import TRM

NAMES = ["trm_mlp", "trm_att_rope", "trm_att_learned", "hrm"]
EPS_RATIO = torch.finfo(torch.float64).eps / torch.finfo(torch.float32).eps  # 2**-29
SAFETY_64 = 100.0
K_32 = 10.0
OUTPUTS = ("logits", "q_halt", "q_continue")


def fixture(name):
    return torch.load(FIXTURES / f"reference_{name}.pt", weights_only=True)


def per_step_max(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """max |a - b| over everything but the leading step axis, in float64: (steps,)."""
    return (a.double() - b.double()).abs().flatten(1).amax(1)


def reference_drift(ref: dict, key: str) -> torch.Tensor:
    """The reference's float32 rounding error at each step (with a floor of one float32 ulp)."""
    ulp = torch.finfo(torch.float32).eps * ref[f"{key}64"].abs().flatten(1).amax(1)
    return torch.maximum(per_step_max(ref[key], ref[f"{key}64"]), ulp)


def run(model, ref, dtype):
    trace = model.to(dtype).reason(ref["inputs"], ref["puzzle_identifiers"], steps=ref["steps"])
    return {k: getattr(trace, k) for k in OUTPUTS}


def parity_failures(model, ref) -> list[str]:
    """Every way ``model`` departs from the reference beyond the tolerances above (empty: it agrees)."""
    out32, out64 = run(model, ref, torch.float32), run(model, ref, torch.float64)
    failures = []
    for key in OUTPUTS:
        drift = reference_drift(ref, key)
        checks = [
            ("float64 vs reference float64", per_step_max(out64[key], ref[f"{key}64"]), SAFETY_64 * EPS_RATIO * drift),
            ("float32 step 1 vs reference float32", per_step_max(out32[key], ref[key])[:1], K_32 * drift[:1]),
            ("float32 drift vs the reference's", per_step_max(out32[key], out64[key]), K_32 * drift),
        ]
        for what, got, allowed in checks:
            for step in torch.nonzero(got > allowed).flatten().tolist():
                failures.append(f"{key} step {step + 1}, {what}: {got[step]:.2e} > {allowed[step]:.2e}")
    return failures


@pytest.mark.parametrize("name", NAMES)
def test_reference_outputs_are_reproduced(name):
    ref = fixture(name)
    model = from_reference(ref["state_dict"], ref["config"])
    assert isinstance(model, HRM if name == "hrm" else TRM)
    assert parity_failures(model, ref) == []


@pytest.mark.parametrize("name", NAMES)
def test_act_loss_is_the_reference_loss_heads(name):
    """Our ACT loss on the reference's logits is its loss head's value.

    The stablemax part is float64; the Q-halt BCE is float32 in both (on float32 Q logits), whose
    rounding differs by kernel: 5e-9 relative measured, so 1e-6 (about 8 float32 ulps)."""
    ref = fixture(name)
    B = ref["inputs"].shape[0]
    for step in range(ref["steps"]):
        outputs = {"logits": ref["logits"][step], "q_halt_logits": ref["q_halt"][step],
                   "q_continue_logits": ref["q_continue"][step]}
        loss, _ = act_loss(outputs, ref["labels"], ref["halted"][step], torch.full((B,), step + 1), "stablemax")
        assert loss.item() == pytest.approx(ref["loss"][step].item(), rel=1e-6)


class SwappedTRM(TRM):
    """A deliberate bug: y and z swapped in the answer update (``z = net(z + y)``, y never written).

    (Swapping the two *inputs* of ``net(y + z)`` would change nothing: they are added.)
    """

    def latent_recursion(self, x, y, z):
        injection = y + x
        for _ in range(self.config.n):
            z = self.net(z, injection, self.rope)
        z = self.net(z, y, self.rope)
        return y, z


MUTANTS = {
    "wrong RMSNorm epsilon": lambda ref: from_reference(ref["state_dict"], {**ref["config"], "rms_norm_eps": 1e-6}),
    "one L cycle dropped": lambda ref: from_reference(ref["state_dict"],
                                                      {**ref["config"], "L_cycles": ref["config"]["L_cycles"] - 1}),
}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("mutant", MUTANTS)
def test_the_parity_check_catches_one_line_bugs(name, mutant):
    ref = fixture(name)
    assert parity_failures(MUTANTS[mutant](ref), ref), f"{mutant} passed the parity check on {name}"


@pytest.mark.parametrize("name", ["trm_mlp", "trm_att_rope", "trm_att_learned"])
def test_the_parity_check_catches_swapped_y_and_z(name):
    ref = fixture(name)
    good = from_reference(ref["state_dict"], ref["config"])
    swapped = SwappedTRM(good.config)
    swapped.load_state_dict(good.state_dict())
    assert parity_failures(swapped.eval(), ref)


def test_the_config_name_selects_the_architecture():
    ref = fixture("hrm")
    model = from_reference(ref["state_dict"], {**ref["config"], "name": ref["arch_name"], "loss": ref["loss_config"]})
    assert isinstance(model, HRM)
    # naming TRM for an HRM checkpoint: the keys do not fit, and the error says which
    with pytest.raises(ReferenceCheckpointError, match="unexpected keys: .*H_net"):
        from_reference(ref["state_dict"],
                       {**ref["config"], "name": "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"})


def test_missing_unexpected_and_mismatched_keys_are_named():
    ref = fixture("trm_mlp")
    sd = dict(ref["state_dict"])
    del sd["_orig_mod.model.inner.lm_head.weight"]
    sd["_orig_mod.model.inner.extra_thing"] = torch.zeros(1)
    with pytest.raises(ReferenceCheckpointError) as err:
        from_reference(sd, ref["config"])
    msg = str(err.value)
    assert "missing keys: lm_head.weight" in msg and "unexpected keys: extra_thing" in msg
    with pytest.raises(ReferenceCheckpointError,
                       match=r"shape mismatches: embed_tokens.weight: checkpoint \(11, 64\) vs model \(12, 64\)"):
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
    assert parity_failures(from_reference(plain, ref["config"]), ref) == []
