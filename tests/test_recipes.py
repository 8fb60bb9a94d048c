"""Recipe settings: what the trainer does with them."""
import pytest

from trm_core import recipes
from trm_core.data import make_task
from trm_core.errors import UserError
from trm_core.trainer import TrainConfig


def test_eval_steps_sets_how_long_the_trainer_evaluates():
    """TrainConfig.eval_steps: the trainer's evaluation runs that many supervision steps (more than N_sup)."""
    task = make_task("sudoku", size=6, n_train=20, n_test=8, seed=3)
    trainer = recipes.trainer_for(task, "trm-mlp-tiny", model=dict(hidden_size=32, N_sup=2), max_steps=1,
                                  eval_steps=5, progress=False)
    assert len(trainer.evaluate()["per_step_exact"]) == 5
    assert len(trainer.evaluate(steps=3)["per_step_exact"]) == 3
    with pytest.raises(UserError, match="eval_steps"):
        TrainConfig(eval_steps=-1)
