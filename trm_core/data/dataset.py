"""One data layer for every task: the reference's array layout, and the batches the trainer eats.

A split holds numpy arrays in the reference layout:

- ``inputs`` (N, L) and ``labels`` (N, L) tokens (IGNORE_LABEL = -100 where there is no loss);
- ``puzzle_identifiers`` (N,): the identifier of each example's puzzle (0 = the blank identifier);
- ``puzzle_indices`` (P + 1,): puzzle p owns examples ``puzzle_indices[p]:puzzle_indices[p + 1]``;
- ``group_indices`` (G + 1,): group g owns puzzles ``group_indices[g]:group_indices[g + 1]``, the
  stored (augmented) versions of one original puzzle.

``TrainLoader`` samples, each epoch, one version of every group in a shuffled order and yields all
the examples of the chosen puzzles in batches, as the reference does. Sudoku and mazes store one
version per group and build the others on the fly (``Augmenter``): version 0 is the original and
version v of group g is always the same grid, so "1000 augmentations per puzzle" costs no memory.
Everything is a function of (seed, epoch), so a run resumes exactly from ``state_dict()``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import UserError
from . import sudoku
from .grids import dihedral_perms
from .rand import hash_uniform

IGNORE_LABEL = -100  # the label of positions that carry no loss and no metric (padding, the question part)


@dataclass
class Split:
    """Examples of one split in the reference layout (see the module docstring)."""

    inputs: np.ndarray  # (N, L)
    labels: np.ndarray  # (N, L), IGNORE_LABEL where no loss
    puzzle_identifiers: np.ndarray  # (N,)
    puzzle_indices: np.ndarray  # (P + 1,)
    group_indices: np.ndarray  # (G + 1,)

    def __post_init__(self):
        n = len(self.inputs)
        problems = []
        if self.labels.shape != self.inputs.shape:
            problems.append(f"labels {self.labels.shape} and inputs {self.inputs.shape} differ")
        if self.puzzle_identifiers.shape != (n,):
            problems.append(f"puzzle_identifiers has shape {self.puzzle_identifiers.shape}, expected ({n},)")
        if self.puzzle_indices[0] != 0 or self.puzzle_indices[-1] != n or (np.diff(self.puzzle_indices) < 0).any():
            problems.append("puzzle_indices must rise from 0 to the number of examples")
        if self.group_indices[0] != 0 or self.group_indices[-1] != len(self.puzzle_indices) - 1:
            problems.append("group_indices must rise from 0 to the number of puzzles")
        if problems:
            raise UserError("inconsistent split: " + "; ".join(problems))

    @classmethod
    def one_per_group(cls, inputs, labels, puzzle_identifiers=None) -> "Split":
        """Each example is its own puzzle and its own group (Sudoku, mazes, arithmetic).

        Tokens are stored as int16 (batches are int64 tensors).
        """
        n = len(inputs)
        ids = np.zeros(n, dtype=np.int32) if puzzle_identifiers is None else np.asarray(puzzle_identifiers)
        idx = np.arange(n + 1, dtype=np.int64)
        return cls(np.asarray(inputs, dtype=np.int16), np.asarray(labels, dtype=np.int16), ids, idx, idx.copy())

    @property
    def num_examples(self) -> int:
        return len(self.inputs)

    @property
    def num_puzzles(self) -> int:
        return len(self.puzzle_indices) - 1

    @property
    def num_groups(self) -> int:
        return len(self.group_indices) - 1

    @property
    def seq_len(self) -> int:
        return self.inputs.shape[1]


def as_numpy(x) -> np.ndarray:
    """A torch tensor (any device; bf16 as float32) or anything array-like as a NumPy array."""
    if hasattr(x, "detach"):
        x = x.detach()
        x = (x.float() if x.dtype in (torch.bfloat16, torch.float16) else x).cpu().numpy()
    return np.asarray(x)


def to_batch(inputs, labels, puzzle_identifiers) -> dict:
    """Numpy arrays -> the trainer's batch: a dict of torch long tensors."""
    return {
        "inputs": torch.from_numpy(np.ascontiguousarray(inputs, dtype=np.int64)),
        "labels": torch.from_numpy(np.ascontiguousarray(labels, dtype=np.int64)),
        "puzzle_identifiers": torch.from_numpy(np.ascontiguousarray(puzzle_identifiers, dtype=np.int64)),
    }


def score(predictions: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The one definition of accuracy: ``(exact, cells)`` of predicted tokens against labels.

    ``predictions`` (..., N, L) (any leading axes, e.g. supervision steps) and ``labels`` (N, L).
    ``exact`` (..., N) bool: every labelled position right. ``cells`` (..., N): the fraction of the
    row's labelled positions that are right (1.0 for a row with none). Positions labelled
    IGNORE_LABEL count for neither. A split's cell accuracy is the mean of ``cells`` over rows.
    """
    labels = np.asarray(labels)
    mask = labels != IGNORE_LABEL  # (N, L)
    counts = mask.sum(-1)  # (N,)
    right = ((np.asarray(predictions) == labels) & mask).sum(-1)  # (..., N)
    return right == counts, right / np.maximum(counts, 1) + (counts == 0)


# On-the-fly augmentation -------------------------------------------------------------------------


def gather_rows(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """``out[b, i] = a[b, index[b, i]]`` for 2-D arrays (faster than take_along_axis)."""
    offsets = (np.arange(len(a), dtype=np.intp) * a.shape[1])[:, None]
    return np.take(a, index + offsets)



class Augmenter:
    """Builds version ``v`` of group ``g`` on the fly; version 0 is the stored original.

    ``num_versions`` is 1 + the number of augmentations (None: a fresh one every time).
    """

    num_versions: int | None = None

    def __call__(self, inputs: np.ndarray, labels: np.ndarray, groups: np.ndarray, versions: np.ndarray):
        raise NotImplementedError

    def undo(self, tokens: np.ndarray, groups: np.ndarray, versions: np.ndarray) -> np.ndarray:
        """Map answers (B, L) given to version ``versions[b]`` of group ``groups[b]`` back to version 0,
        so that the answers to several versions of one puzzle can be compared (voted on)."""
        raise NotImplementedError(f"{type(self).__name__} cannot map answers back")

    def describe(self) -> dict:
        return {"kind": type(self).__name__, "num_versions": self.num_versions}


class SudokuAugmenter(Augmenter):
    """Digit permutation, transpose (square boxes), band/row and stack/column permutations."""

    def __init__(self, size: int, num_aug: int | None = 1000, seed: int = 0):
        self.size, self.seed = size, seed
        self.num_versions = None if num_aug is None else num_aug + 1

    def _maps(self, groups, versions) -> tuple[np.ndarray, np.ndarray]:
        """(cell_perm (B, n*n), token_map (B, n + 2)) of each row's version; version 0: the identity."""
        n = self.size
        u = hash_uniform(self.seed, np.stack([groups, versions], 1), sudoku.num_transform_randoms(n))  # (B, k)
        t = sudoku.transforms_from_uniform(n, u)
        ident = np.asarray(versions) == 0
        t.digit_map[ident] = np.arange(n + 1)
        t.cell_perm[ident] = np.arange(n * n)
        # tokens: PAD 0 and blank 1 stay, digit d (token d + 1) -> token digit_map[d] + 1
        token_map = np.concatenate([np.zeros((len(groups), 1), np.int64), t.digit_map + 1], axis=1)  # (B, n + 2)
        token_map[:, 1] = sudoku.BLANK
        return t.cell_perm, token_map

    def _move(self, a: np.ndarray, cell_perm: np.ndarray, token_map: np.ndarray) -> np.ndarray:
        """Cells permuted, then tokens relabelled; IGNORE labels (negative) stay IGNORE."""
        moved = gather_rows(a, cell_perm)
        mapped = gather_rows(token_map, np.clip(moved, 0, self.size + 1).astype(np.intp)).astype(a.dtype)
        return np.where(moved < 0, moved, mapped) if (moved < 0).any() else mapped

    def __call__(self, inputs, labels, groups, versions):
        perm, token_map = self._maps(groups, versions)
        return self._move(inputs, perm, token_map), self._move(labels, perm, token_map)

    def undo(self, tokens, groups, versions):
        perm, token_map = self._maps(groups, versions)
        relabelled = gather_rows(np.argsort(token_map, axis=1), np.clip(tokens, 0, self.size + 1).astype(np.intp))
        return gather_rows(relabelled, np.argsort(perm, axis=1)).astype(np.asarray(tokens).dtype)

    def describe(self) -> dict:
        return {**super().describe(), "size": self.size}


class DihedralAugmenter(Augmenter):
    """The 8 symmetries of an n x n grid (mazes): version v is dihedral transform v % 8."""

    def __init__(self, size: int, num_aug: int = 7):
        if not 0 <= num_aug <= 7:
            raise UserError(f"a square grid has 8 symmetries, so num_aug must be 0-7, got {num_aug}")
        self.size = size
        self.num_versions = num_aug + 1

    def __call__(self, inputs, labels, groups, versions):
        perm = dihedral_perms(self.size)[versions % 8]  # (B, N)
        return gather_rows(inputs, perm), gather_rows(labels, perm)

    def undo(self, tokens, groups, versions):
        perm = dihedral_perms(self.size)[np.asarray(versions) % 8]  # (B, N)
        return gather_rows(np.asarray(tokens), np.argsort(perm, axis=1))

    def describe(self) -> dict:
        return {**super().describe(), "size": self.size}


# Loaders -----------------------------------------------------------------------------------------


class TrainLoader(torch.utils.data.IterableDataset):
    """Training batches: each epoch, one version of every group, shuffled; deterministic in (seed, epoch).

    ``for batch in loader`` runs the rest of the current epoch, then moves to the next; ``len`` is
    the number of batches per epoch. The last incomplete batch of an epoch is dropped (as the
    reference), unless the epoch has fewer examples than one batch. ``state_dict()`` /
    ``load_state_dict()`` save and restore the position. Usable directly or inside
    ``torch.utils.data.DataLoader(loader, batch_size=None)`` with the default ``num_workers=0``
    (it is fast enough in the main process; worker processes would each repeat the epoch).
    """

    def __init__(self, split: Split, batch_size: int, seed: int = 0, augmenter: Augmenter | None = None,
                 shard: tuple[int, int] = (0, 1)):
        if batch_size < 1:
            raise UserError(f"batch_size must be at least 1, got {batch_size}")
        if split.num_examples == 0:
            raise UserError("the training split has no examples")
        rank, world = shard
        if not 0 <= rank < world or batch_size % world:
            raise UserError(f"batch_size={batch_size} cannot be split evenly over {world} processes: "
                            f"choose a multiple of {world}")
        self.split, self.batch_size, self.seed, self.augmenter = split, batch_size, seed, augmenter
        self.shard = (rank, world)
        self.epoch, self.batch = 0, 0
        self._plan_epoch = None
        self._plan = None

    def _epoch_plan(self, epoch: int):
        """(example indices, group of each, version of each) of one epoch, in batch order."""
        if self._plan_epoch == epoch:
            return self._plan
        s = self.split
        rng = np.random.default_rng([self.seed, epoch])
        groups = rng.permutation(s.num_groups)
        sizes = np.diff(s.group_indices)[groups]
        # one stored version each
        puzzles = s.group_indices[groups] + (rng.random(len(groups)) * sizes).astype(np.int64)
        nv = self.augmenter.num_versions if self.augmenter else 1
        versions = np.zeros(len(groups), np.int64)  # version 0: the stored puzzle
        if self.augmenter:  # nv None: unlimited, a fresh version each time
            versions = rng.integers(0, nv if nv else 2 ** 62, size=len(groups))
        start, count = s.puzzle_indices[puzzles], np.diff(s.puzzle_indices)[puzzles]
        owner = np.repeat(np.arange(len(puzzles)), count)  # examples of the chosen puzzles, in shuffled order
        offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        order = np.lexsort((rng.random(len(owner)), owner))  # shuffle examples within each puzzle
        examples = (start[owner] + offsets)[order]
        self._plan_epoch, self._plan = epoch, (examples, groups[owner][order], versions[owner][order])
        return self._plan

    def __len__(self) -> int:
        n = len(self._epoch_plan(self.epoch)[0])
        return max(1, n // self.batch_size)

    def __iter__(self):
        examples, groups, versions = self._epoch_plan(self.epoch)
        if self.batch >= max(1, len(examples) // self.batch_size):  # stopped right after an epoch's end
            self.epoch, self.batch = self.epoch + 1, 0
            examples, groups, versions = self._epoch_plan(self.epoch)
        n_batches = max(1, len(examples) // self.batch_size)
        rank, world = self.shard
        if world > 1 and len(examples) < self.batch_size:
            raise UserError(f"an epoch has {len(examples)} examples, fewer than one batch ({self.batch_size}): "
                            "data-parallel training needs whole batches; lower batch_size")
        local = self.batch_size // world
        while self.batch < n_batches:
            first = self.batch * self.batch_size + rank * local  # this rank's rows of the global batch
            sl = slice(first, first + local)
            idx = examples[sl]
            x, y = self.split.inputs[idx], self.split.labels[idx]
            if self.augmenter is not None:
                x, y = self.augmenter(x, y, groups[sl], versions[sl])
            self.batch += 1
            yield to_batch(x, y, self.split.puzzle_identifiers[idx])
        self.epoch, self.batch = self.epoch + 1, 0

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict) -> None:
        if state.get("seed", self.seed) != self.seed:
            raise UserError(f"loader state is for seed {state['seed']}, this loader uses seed {self.seed}")
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])


class EvalLoader:
    """Every example of a split once, in order, no augmentation: a fixed evaluation set.

    With ``pad_last`` the last batch is filled up to ``batch_size`` with PAD inputs, IGNORE labels and
    identifier 0 (rows that carry no loss and no metric).
    """

    def __init__(self, split: Split, batch_size: int, pad_last: bool = False):
        self.split, self.batch_size, self.pad_last = split, batch_size, pad_last

    def __len__(self) -> int:
        return -(-self.split.num_examples // self.batch_size)

    def __iter__(self):
        s = self.split
        for start in range(0, s.num_examples, self.batch_size):
            x, y, ids = (a[start:start + self.batch_size] for a in (s.inputs, s.labels, s.puzzle_identifiers))
            if self.pad_last and len(x) < self.batch_size:
                k = self.batch_size - len(x)
                x = np.concatenate([x, np.zeros((k, x.shape[1]), x.dtype)])
                y = np.concatenate([y, np.full((k, y.shape[1]), IGNORE_LABEL, y.dtype)])
                ids = np.concatenate([ids, np.zeros(k, ids.dtype)])
            yield to_batch(x, y, ids)
