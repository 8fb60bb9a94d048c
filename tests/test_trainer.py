"""The trainer: it learns, it resumes exactly, it refuses foreign checkpoints, saves are atomic."""
import json

import numpy as np
import pytest
import torch

from trm_core import build_model
from trm_core import checkpoint as ckpt_io
from trm_core.data import Split
from trm_core.errors import UserError
from trm_core.optim import AdamAtan2, SignSGD, lr_at
from trm_core.trainer import TrainConfig, Trainer


class CopySource:
    """A toy task: the answer is the input reversed. Deterministic and resumable."""

    def __init__(self, seed=0, batch_size=16, seq_len=8, vocab=6):
        self.seed, self.batch_size, self.seq_len, self.vocab, self.index = seed, batch_size, seq_len, vocab, 0

    def make(self, index, n):
        g = torch.Generator().manual_seed(self.seed * 100_003 + index)
        x = torch.randint(2, self.vocab, (n, self.seq_len), generator=g)
        return {"inputs": x, "labels": x.flip(-1), "puzzle_identifiers": torch.randint(0, 3, (n,), generator=g)}

    def next_batch(self):
        self.index += 1
        return self.make(self.index, self.batch_size)

    def state_dict(self):
        return {"index": self.index}

    def load_state_dict(self, state):
        self.index = state["index"]


def make_trainer(tmp_path=None, puzzle=False, **cfg):
    torch.manual_seed(0)
    extra = dict(puzzle_emb_ndim=16, puzzle_emb_len=1, num_puzzle_identifiers=3) if puzzle else {}
    model = build_model("trm-mlp-tiny", vocab_size=6, seq_len=8, hidden_size=32, layers=1, T=2, n=2, N_sup=3, **extra)
    config = TrainConfig(**{**dict(batch_size=16, lr=3e-3, lr_warmup_steps=5, weight_decay=0.0, max_steps=6,
                                   optimizer="adamw", progress=False), **cfg})
    ev = CopySource(seed=99).make(0, 64)
    eval_split = Split.one_per_group(ev["inputs"].numpy(), ev["labels"].numpy())
    return Trainer(model, CopySource(), config, eval_split, out_dir=tmp_path,
                   data_description={"task": "reverse", "L": 8})


@pytest.mark.slow
def test_training_reduces_the_loss():
    trainer = make_trainer(max_steps=120, optimizer="adam_atan2", lr=3e-3, ema_decay=0.9)
    first = [trainer.train_step(trainer.source.next_batch())["lm_loss"] for _ in range(5)]
    trainer.fit()
    last = [trainer.train_step(trainer.source.next_batch())["lm_loss"] for _ in range(5)]
    assert np.mean(last) < 0.7 * np.mean(first)
    assert trainer.evaluate()["cell_accuracy"] > 0.35  # chance is 0.25


@pytest.mark.slow
@pytest.mark.parametrize("puzzle,ema,opt", [(False, True, "adamw"), (True, True, "adam_atan2"), (True, False, "adamw")])
def test_resume_gives_exactly_the_same_weights(tmp_path, puzzle, ema, opt):
    straight = make_trainer(tmp_path / "a", puzzle=puzzle, ema=ema, optimizer=opt)
    straight.model.config.halt_exploration_prob = 0.5  # exercise the RNG in the carry
    straight.fit()

    first = make_trainer(tmp_path / "b", puzzle=puzzle, ema=ema, optimizer=opt, max_steps=3)
    first.model.config.halt_exploration_prob = 0.5
    first.fit()
    torch.manual_seed(12345)  # whatever happens in between must not matter
    torch.rand(10)
    resumed = make_trainer(tmp_path / "b", puzzle=puzzle, ema=ema, optimizer=opt)
    resumed.model.config.halt_exploration_prob = 0.5
    resumed.load_state_dict(ckpt_io.load(tmp_path / "b" / "checkpoint.pt"))
    resumed.fit()

    for (k, a), (_, b) in zip(straight.model.state_dict().items(), resumed.model.state_dict().items()):
        assert torch.equal(a, b), k
    if ema:
        for k in straight.ema.shadow:
            assert torch.equal(straight.ema.shadow[k], resumed.ema.shadow[k]), k


def test_checkpoint_of_another_config_or_task_is_refused(tmp_path):
    trainer = make_trainer(tmp_path)
    trainer.fit()
    state = ckpt_io.load(tmp_path)
    other = build_model("trm-mlp-tiny", vocab_size=6, seq_len=8, hidden_size=48, layers=1, T=2, n=2, N_sup=3)
    t2 = Trainer(other, CopySource(), trainer.config, data_description=trainer.data_description)
    with pytest.raises(ckpt_io.CheckpointError, match="another model config.*hidden_size: checkpoint 32 vs 48"):
        t2.load_state_dict(state)
    t3 = make_trainer()
    t3.data_description = {"task": "sudoku", "L": 8}
    with pytest.raises(ckpt_io.CheckpointError, match="another task.*task: checkpoint 'reverse' vs 'sudoku'"):
        t3.load_state_dict(state)


def test_load_errors_are_clear(tmp_path):
    with pytest.raises(ckpt_io.CheckpointError, match="no checkpoint"):
        ckpt_io.load(tmp_path / "nothing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ckpt_io.CheckpointError, match="not a readable checkpoint"):
        ckpt_io.load(tmp_path / "junk.pt")
    torch.save({"a": 1}, tmp_path / "foreign.pt")
    with pytest.raises(ckpt_io.CheckpointError, match="not a trm_core checkpoint"):
        ckpt_io.load(tmp_path / "foreign.pt")


def test_a_crash_during_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path)
    trainer.fit()
    before = (tmp_path / "checkpoint.pt").read_bytes()

    def exploding_save(obj, f, *a, **k):
        f.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", exploding_save)
    with pytest.raises(OSError, match="disk full"):
        trainer.save()
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []
    ckpt_io.load(tmp_path)  # still loads


def test_metrics_history_and_callback(tmp_path):
    seen = []
    trainer = make_trainer(tmp_path, max_steps=20, eval_every=10)
    result = trainer.fit(callback=seen.append)
    kinds = [r["kind"] for r in seen]
    assert kinds.count("eval") == 2 and kinds.count("train") == 2
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line["kind"] for line in lines] == kinds
    assert result["kind"] == "eval" and len(result["per_step_exact"]) == 3


def test_adam_atan2_matches_its_formula():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = AdamAtan2([p], lr=0.1, betas=(0.9, 0.95), weight_decay=0.5)
    grads = [torch.tensor([0.5, -1.0]), torch.tensor([-0.25, 2.0])]
    expected, m, v = torch.tensor([1.0, -2.0]), torch.zeros(2), torch.zeros(2)
    for t, g in enumerate(grads, start=1):
        p.grad = g.clone()
        opt.step()
        m = 0.9 * m + 0.1 * g
        v = 0.95 * v + 0.05 * g * g
        expected = expected * (1 - 0.1 * 0.5) - 0.1 / (1 - 0.9**t) * torch.atan2(m, (v / (1 - 0.95**t)).sqrt())
    torch.testing.assert_close(p.detach(), expected)


def test_sign_sgd_updates_only_the_rows_seen():
    from trm_core.recursive import PuzzleEmbedding

    emb = PuzzleEmbedding(4, 2)
    emb.weight.fill_(1.0)
    emb.train()
    ids = torch.tensor([2, 0, 2])
    with torch.enable_grad():
        rows = emb(ids)
        (rows * torch.tensor([[1.0, -1.0], [2.0, 0.0], [-3.0, 2.0]])).sum().backward()
    SignSGD(emb, lr=0.1, weight_decay=0.5).step()
    # row 2: summed grad [-2, 1] -> sign [-1, 1]; row 0: grad [2, 0] -> sign [1, 0]; rows 1, 3 untouched
    expected = torch.tensor([[0.95 - 0.1, 0.95], [1, 1], [0.95 + 0.1, 0.95 - 0.1], [1, 1]])
    torch.testing.assert_close(emb.weight, expected)


def test_learning_rate_schedule():
    assert lr_at(0, 1.0, 10, 0.0) == pytest.approx(0.1)
    assert lr_at(9, 1.0, 10, 0.09) == pytest.approx(1.0)
    assert lr_at(50, 1.0, 10, 0.5) == 1.0  # constant after warmup, as published
    assert lr_at(50, 1.0, 10, 0.5, min_ratio=0.1) == pytest.approx(0.55)  # half way down the cosine
    assert lr_at(100, 1.0, 10, 1.0, min_ratio=0.1) == pytest.approx(0.1)


def test_a_time_limited_schedule_decays_over_its_minutes():
    """Budget = the larger of the step and time fractions; the cosine follows it; the run ends at 1."""
    trainer = make_trainer(max_steps=0, max_minutes=1.0, lr_min_ratio=0.1, lr_warmup_steps=2)
    trainer.step, trainer.elapsed = 10, 30.0  # half of the minute spent
    trainer._set_lr()
    assert trainer.budget_used() == 0.5 and not trainer.finished()
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(3e-3 * 0.55)
    trainer.elapsed = 60.0
    trainer._set_lr()
    assert trainer.finished() and trainer.optimizer.param_groups[0]["lr"] == pytest.approx(3e-3 * 0.1)
    assert trainer.fit()["kind"] == "eval" and trainer.step == 10  # out of time: no more steps
    both = make_trainer(max_steps=100, max_minutes=1.0)
    both.step, both.elapsed = 80, 30.0
    assert both.budget_used() == pytest.approx(0.8)  # the nearer limit counts


def test_a_run_needs_a_limit():
    with pytest.raises(ValueError, match="needs a limit"):
        TrainConfig(max_steps=0, max_minutes=0)


def test_a_depth_curriculum_trains_shallow_first_then_at_the_models_depth():
    trainer = make_trainer(max_steps=4, depth_curriculum="0.25:1:1,0.5:1:2")
    model = trainer.model
    calls = []
    model.net.register_forward_hook(lambda *_: calls.append(1))
    per_step = []
    for _ in range(4):
        calls.clear()
        trainer.train_step(trainer.source.next_batch())
        per_step.append(len(calls))
    T, n = model.config.T, model.config.n
    assert per_step == [1 * (1 + 1), 1 * (2 + 1), T * (n + 1), T * (n + 1)]  # stages by the budget used
    assert (model.config.T, model.config.n) == (T, n)  # the model's own depth is put back


@pytest.mark.parametrize("bad", ["0.5", "0.5:1", "x:1:2", "0.5:0:2", "1.5:1:2", "0.5:1:2,0.3:1:1"])
def test_a_malformed_depth_curriculum_is_refused(bad):
    with pytest.raises(UserError, match="depth_curriculum"):
        TrainConfig(depth_curriculum=bad)


def test_a_closed_trainer_still_evaluates_and_saves_but_no_longer_trains(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=2)
    trainer.fit()
    trainer.close()
    assert 0.0 <= trainer.evaluate()["cell_accuracy"] <= 1.0
    assert trainer.state_dict()["step"] == 2
    with pytest.raises(RuntimeError, match="closed"):
        trainer.train_step(trainer.source.next_batch())
