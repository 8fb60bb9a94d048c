"""Tasks and data: Sudoku, mazes, ARC and arithmetic, behind one data layer.

The trainer needs only ``make_task``::

    from trm_core.data import make_task
    task = make_task("sudoku", size=6, n_train=1000, n_test=200, seed=0)
    config = preset("trm-mlp-tiny", **task.model_dims())
    for batch in task.train_loader(batch_size=256, seed=0):   # one epoch
        ...                                                   # batch: inputs, labels, puzzle_identifiers
    metrics = task.evaluate(predictions)                      # predictions for task.eval_loader(...) rows

Modules: ``sudoku`` (+ ``sudoku_solver``, ``sudoku_batch``), ``maze``, ``arc`` (+ ``arc_kaggle``: the
reference's JSON files and builder), ``arithmetic``,
``dataset`` (the array layout and loaders), ``tasks`` (``make_task``), ``csvio`` (hub-layout CSV);
``text`` and ``tokenizer``: TinyStories for TRM as a language model (see :mod:`trm_core.lm`).
"""
from .dataset import EvalLoader, Split, TrainLoader
from .tasks import TASK_NAMES, Task, make_task, task_from_csv

__all__ = ["make_task", "task_from_csv", "Task", "TASK_NAMES", "Split", "TrainLoader", "EvalLoader"]
