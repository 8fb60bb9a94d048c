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


class _Clock:
    """A perf_counter that advances 0.25 s per reading: every timed call seems to take 0.25 s."""

    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 0.25
        return self.now


@pytest.mark.parametrize("eval_steps, with_eval, final", [(5, True, 5), (0, True, 2), (5, False, 0)])
def test_reserve_for_vote_counts_the_vote_and_the_final_evaluation(monkeypatch, eval_steps, with_eval, final):
    """views x max_steps of the vote plus the trainer's own final evaluation, in one-step times."""
    task = make_task("sudoku", size=6, n_train=20, n_test=8, seed=3)
    trainer = recipes.trainer_for(task, "trm-mlp-tiny", model=dict(hidden_size=32, N_sup=2), max_steps=1,
                                  max_minutes=2.0, eval_steps=eval_steps, progress=False)
    if not with_eval:
        trainer.eval_data = None
    monkeypatch.setattr(recipes, "time", _Clock())
    reserve = recipes.reserve_for_vote(trainer, task.test.inputs, dict(views=4, max_steps=3))
    assert reserve == pytest.approx(0.25 * (4 * 3 + final))  # 8 puzzles: one timed batch
    assert trainer.config.max_minutes == pytest.approx(2.0 - reserve / 60)
    # never more than a third of the budget
    trainer.config.max_minutes = 0.01
    assert recipes.reserve_for_vote(trainer, task.test.inputs, dict(views=4, max_steps=3)) == pytest.approx(0.2)
