"""Shipped checkpoints: slim export, lookup, and the checkpoints in data/ really solve unseen puzzles."""
import numpy as np
import pytest
import torch

from trm_core import checkpoint as ckpt_io
from trm_core import pretrained
from trm_core.data import make_task
from trm_core.evaluate import evaluate

from test_trainer import make_trainer


def test_export_keeps_the_averaged_weights_and_drops_training_state(tmp_path):
    trainer = make_trainer(tmp_path / "run", max_steps=4)
    trainer.fit()
    dst = pretrained.export(tmp_path / "run", tmp_path / "slim.pt", note={"command": "test"})
    slim = ckpt_io.load(dst)
    assert "optimizer" not in slim and "carry" not in slim and slim["note"] == {"command": "test"}
    assert dst.stat().st_size < (tmp_path / "run" / "checkpoint.pt").stat().st_size
    model = ckpt_io.model_from_checkpoint(slim)
    x = torch.randint(0, 6, (3, 8))
    expected = trainer.eval_model().reason(x, steps=2).logits
    torch.testing.assert_close(model.reason(x, steps=2).logits, expected)


def test_lookup(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="unknown pretrained checkpoint"):
        pretrained.path("gpt-5")
    monkeypatch.setenv("TRM_DATA_DIR", str(tmp_path))
    (tmp_path / "hrm-sudoku6.pt").write_bytes(b"x")
    assert pretrained.path("hrm-sudoku6", download=False) == tmp_path / "hrm-sudoku6.pt"


@pytest.mark.parametrize("name,minimum", [("trm-sudoku6", 0.9), ("hrm-sudoku6", 0.2)])
def test_shipped_checkpoints_solve_unseen_puzzles(name, minimum):
    if not pretrained.available(name):
        pytest.skip(f"{name} is not in data/")
    model, ckpt = pretrained.load(name)
    task = make_task("sudoku", size=6, n_train=0, n_test=100, seed=777)  # puzzles it never saw
    m = evaluate(model, task.test.inputs, task.test.labels)
    assert m["exact_accuracy"] >= minimum
    assert np.all(np.diff(m["per_step_exact"][:3]) >= -0.02)  # more steps do not hurt
