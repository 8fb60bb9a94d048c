"""Activation checkpointing (same gradients, fewer activations kept) and experiment tracking."""
import json

import pytest
import torch
from test_trainer import make_trainer

from conftest import random_batch, tiny
from trm_core.act import act_step, initial_carry
from trm_core.errors import UserError
from trm_core.losses import act_loss
from trm_core.trainer import TrainConfig


def segment_grads(model, batch, checkpointing):
    """Gradients of one training segment, and the bytes autograd kept for backward outside checkpoints."""
    model.checkpoint_activations = checkpointing
    model.zero_grad(set_to_none=True)
    kept = {}

    def pack(t):
        kept[(t.untyped_storage().data_ptr(), t.dtype)] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        carry, out = act_step(model, initial_carry(model, batch), batch)
        loss, _ = act_loss(out, carry.batch["labels"], carry.halted, carry.steps, "softmax")
    loss.backward()
    return {k: p.grad.clone() for k, p in model.named_parameters()}, sum(kept.values())


@pytest.mark.parametrize("arch", ["trm", "hrm"])
def test_activation_checkpointing_gives_the_same_gradients_and_keeps_less(arch):
    torch.manual_seed(0)
    model = tiny(arch, n=4).double().train()
    batch = random_batch(1, B=16)
    plain, kept_plain = segment_grads(model, batch, False)
    ckpt, kept_ckpt = segment_grads(model, batch, True)
    for k in plain:
        torch.testing.assert_close(ckpt[k], plain[k], rtol=1e-12, atol=1e-12, msg=k)
    assert kept_ckpt < kept_plain / 2, (kept_ckpt, kept_plain)


def test_trainer_switches_checkpointing_on():
    trainer = make_trainer(activation_checkpointing=True)
    assert trainer.model.checkpoint_activations
    trainer.train_step(trainer.source.next_batch())


def test_tensorboard_gets_what_metrics_jsonl_gets(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer = make_trainer(tmp_path, max_steps=20, eval_every=10, track="tensorboard")
    trainer.fit()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    loss = [(e.step, e.value) for e in events.Scalars("train/loss")]
    assert loss == [(r["step"], pytest.approx(r["loss"], rel=1e-6)) for r in lines if r["kind"] == "train"]
    exact = [(e.step, e.value) for e in events.Scalars("eval/exact_accuracy")]
    assert exact == [(r["step"], pytest.approx(r["exact_accuracy"], abs=1e-7)) for r in lines if r["kind"] == "eval"]


def test_wandb_offline_run_in_the_run_folder(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    trainer = make_trainer(tmp_path, max_steps=10, track="wandb")
    trainer.fit()
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    run_id = (tmp_path / "wandb_id.txt").read_text().strip()
    assert runs[0].name.endswith(run_id) and any(f.stat().st_size > 0 for f in runs[0].glob("*.wandb"))


def test_tracking_needs_a_known_tool_and_a_run_folder():
    with pytest.raises(UserError, match="track must be one of"):
        TrainConfig(track="mlflow")
    trainer = make_trainer(None, track="tensorboard")
    with pytest.raises(UserError, match="writes into the run folder"):
        trainer.fit()
