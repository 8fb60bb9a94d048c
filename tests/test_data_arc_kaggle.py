"""ARC the reference's way: Kaggle-style JSON files, the reference's builder replayed array for array,
seeded evaluation subsets, and ARC Prize submissions (written and format-checked)."""
import json
from pathlib import Path

import numpy as np
import pytest

from trm_core.data import arc, arc_kaggle, make_task
from trm_core.data.arc import ArcError, Aug
from trm_core.submission import (
    SubmissionError,
    make_submission,
    query,
    score_submission,
    validate_submission,
    write_submission,
)

FIX = Path(__file__).parent / "fixtures"
FOLDER = FIX / "arc_kaggle"
SUBSETS = ["training", "evaluation", "concept"]


@pytest.fixture(scope="module")
def built():
    meta = json.loads((FIX / "arc_reference_identifiers.json").read_text())
    return arc_kaggle.build(arc_kaggle.load_folder(FOLDER, meta["subsets"]), meta["test_set"],
                            num_aug=meta["num_aug"], seed=meta["seed"])


def test_equals_the_reference_builder_array_for_array(built):
    """tests/fixtures/arc_reference_build.npz was written by the reference's build_arc_dataset.py from
    the same files, seed and num_aug (tests/fixtures/make_arc_fixtures.py)."""
    ref = np.load(FIX / "arc_reference_build.npz")
    meta = json.loads((FIX / "arc_reference_identifiers.json").read_text())
    assert arc_kaggle.identifier_names(built) == meta["identifiers"]
    for split, s in (("train", built.train), ("test", built.test)):
        ours = arc_kaggle.reference_arrays(s)
        for k, v in ours.items():
            r = ref[f"{split}__{k}"]
            assert v.dtype == r.dtype and v.shape == r.shape, (split, k)
            assert (v == r).all(), (split, k)
    # the translation is real (some training examples are off the corner), the test split is not moved
    assert (built.train.inputs.reshape(-1, 30, 30)[:, 0, 0] == arc.PAD).any()
    assert (built.test.inputs.reshape(-1, 30, 30)[:, 0, 0] != arc.PAD).all()


def test_identifiers_say_task_and_augmentation(built):
    names = arc_kaggle.identifier_names(built)
    assert names[0] == "<blank>" and built.num_puzzle_identifiers == len(names)
    for ident, name in enumerate(names[1:], start=1):
        tid, aug = arc_kaggle.parse_name(name)
        assert tid == built.tasks[built.identifier_task[ident]].id and aug == built.augs[ident - 1]
        assert arc_kaggle.aug_name(tid, aug) == name
    # evaluation tasks: demonstrations train under the same identifiers their test inputs are scored with
    test_ids = set(built.test.puzzle_identifiers.tolist())
    assert test_ids <= set(built.train.puzzle_identifiers.tolist())


def test_perfect_predictions_vote_to_full_marks(built):
    perfect = np.where(built.test.labels == -100, 0, built.test.labels)
    r = arc.evaluate(built, perfect)
    assert r["pass@1"] == 1.0 and r["tasks"] == 3


def test_eval_subset_is_seeded_and_scores_only_those_tasks(built):
    a, b = arc.subset_eval(built, 2, seed=5), arc.subset_eval(built, 2, seed=5)
    assert a.eval_tasks == b.eval_tasks and len(a.eval_tasks) == 2
    assert set(a.test.example_task.tolist()) == set(a.eval_tasks)
    assert a.test.num_groups == 2 and (a.train.inputs is built.train.inputs)
    perfect = np.where(a.test.labels == -100, 0, a.test.labels)
    assert arc.evaluate(a, perfect)["pass@2"] == 1.0
    assert arc.subset_eval(built, 99) is built
    one = arc.subset_eval(built, None, versions=1)  # the original version of every task only
    assert one.test.num_puzzles == 3 and set(one.test.puzzle_identifiers.tolist()) <= {
        i for i, name in enumerate(arc_kaggle.identifier_names(built)) if "|||" not in name}
    assert arc.evaluate(one, np.where(one.test.labels == -100, 0, one.test.labels))["pass@1"] == 1.0


def test_make_task_reads_a_kaggle_folder():
    task = make_task("arc-agi-1", data=str(FOLDER), num_aug=2, eval_tasks=1)
    assert task.params["options"]["protocol"] == "reference" and len(task.source.eval_tasks) == 1
    assert task.num_puzzle_identifiers == 1 + 8 * 3


def test_reference_layout_files(built, tmp_path):
    arc_kaggle.write_reference_layout(built, tmp_path)
    assert json.loads((tmp_path / "identifiers.json").read_text())[0] == "<blank>"
    ids = np.load(tmp_path / "test" / "all__puzzle_identifiers.npy")
    assert ids.dtype == np.int32 and len(ids) == built.test.num_puzzles
    assert json.loads((tmp_path / "train" / "dataset.json").read_text())["num_puzzle_identifiers"] == 73


def _write(tmp_path, task, solutions=None, name="x"):
    (tmp_path / f"arc-agi_{name}_challenges.json").write_text(json.dumps({"t1": task}))
    if solutions is not None:
        (tmp_path / f"arc-agi_{name}_solutions.json").write_text(json.dumps({"t1": solutions}))


@pytest.mark.parametrize("task, solutions, message", [
    ({"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]]}]}, None, "solutions.json is missing"),
    ({"train": [{"input": [[1] * 31], "output": [[2]]}], "test": [{"input": [[1]]}]}, [[[1]]], "bigger than 30x30"),
    ({"train": [{"input": [[10]], "output": [[2]]}], "test": [{"input": [[1]]}]}, [[[1]]], "outside 0-9"),
    ({"train": [{"input": [[1, 2], [3]], "output": [[2]]}], "test": [{"input": [[1]]}]}, [[[1]]], "different or zero"),
    ({"train": [{"input": [[1]]}], "test": [{"input": [[1]]}]}, [[[1]]], "no output grid"),
    ({"train": [], "test": [{"input": [[1]]}]}, [[[1]]], "at least one"),
    ({"train": [{"input": [[1]], "output": [[2]]}], "test": [{"input": [[1]]}]}, [], "no list of 1 output"),
])
def test_malformed_files_are_user_errors(tmp_path, task, solutions, message):
    _write(tmp_path, task, solutions)
    with pytest.raises(ArcError, match=message):
        arc_kaggle.load_folder(tmp_path, ["x"])


def test_missing_subset_and_bad_json(tmp_path):
    with pytest.raises(ArcError, match="missing"):
        arc_kaggle.load_folder(FOLDER, ["training2"])
    (tmp_path / "arc-agi_x_challenges.json").write_text("{not json")
    (tmp_path / "arc-agi_x_solutions.json").write_text("{}")
    with pytest.raises(ArcError, match="not valid JSON"):
        arc_kaggle.load_folder(tmp_path, ["x"])
    with pytest.raises(ArcError, match="before the test set"):
        arc_kaggle.build({"evaluation": [], "training": []}, "evaluation")


# Submissions -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A tiny, randomly initialised ARC model saved through trm_core's own checkpoint code."""
    from trm_core import checkpoint as ckpt_io
    from trm_core import recipes

    task = make_task("arc-agi-1", data=str(FOLDER), num_aug=2)
    trainer = recipes.trainer_for(task, "trm-att-tiny", model=dict(hidden_size=32, num_heads=1, T=1, n=1, N_sup=1,
                                                                    layers=1, puzzle_emb_len=1), max_steps=1)
    path = trainer.save(tmp_path_factory.mktemp("arc") / "checkpoint.pt")
    return path, ckpt_io.load(path)


def test_submission_has_two_attempts_per_test_input(checkpoint, tmp_path):
    from trm_core import checkpoint as ckpt_io
    from trm_core.arc_cli import arc_task_for_checkpoint

    path, ckpt = checkpoint
    known = arc_task_for_checkpoint(ckpt).source
    model = ckpt_io.model_from_checkpoint(ckpt)
    challenges = FOLDER / "arc-agi_evaluation_challenges.json"
    sub, summary = make_submission(model, known, challenges)
    assert summary["unknown_tasks"] == 0 and summary["rows"] == 3 * summary["test_inputs"]
    out = write_submission(sub, tmp_path / "submission.json")
    assert validate_submission(out, challenges)["tasks"] == 3
    raw = json.loads(challenges.read_text())
    assert list(sub) == list(raw) and all(len(sub[t]) == len(raw[t]["test"]) for t in raw)
    assert 0.0 <= score_submission(sub, FOLDER / "arc-agi_evaluation_solutions.json") <= 1.0
    # a task the checkpoint never saw is answered with the blank identifier, still in format
    other = FOLDER / "arc-agi_concept_challenges.json"
    sub2, summary2 = make_submission(model, known, other)
    assert summary2["unknown_tasks"] == 0  # concept tasks are training tasks of this checkpoint
    validate_submission(sub2, other)


def test_cli_submit_and_validate(checkpoint, tmp_path, capsys):
    from trm_core.cli import main

    path, _ = checkpoint
    challenges = str(FOLDER / "arc-agi_evaluation_challenges.json")
    out = tmp_path / "s.json"
    assert main(["arc", "submit", "--checkpoint", str(path), "--tasks", challenges, "--out", str(out)]) == 0
    assert main(["arc", "validate", "--submission", str(out), "--tasks", challenges]) == 0
    assert "valid (3 tasks" in capsys.readouterr().out
    assert main(["arc", "submit", "--checkpoint", str(path), "--tasks", challenges, "--out", str(out),
                 "--versions", "1", "--solutions", challenges.replace("challenges", "solutions")]) == 0
    assert "3 augmented inputs voted" in capsys.readouterr().out
    assert main(["eval", "--checkpoint", str(path), "--eval-tasks", "2", "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert metrics["eval_tasks"] == 2 and 0 <= metrics["pass@2"] <= 1


def test_validator_rejects_what_kaggle_would():
    challenges = json.loads((FOLDER / "arc-agi_evaluation_challenges.json").read_text())
    good = {t: [{"attempt_1": [[0]], "attempt_2": [[1, 2]]} for _ in c["test"]] for t, c in challenges.items()}
    validate_submission(good, challenges)
    first = next(iter(challenges))
    bad_cases = [
        ({k: v for k, v in good.items() if k != first}, "is missing"),
        ({**good, first: []}, "one per test input"),
        ({**good, first: [{"attempt_1": [[0]]}]}, "attempt_1 and attempt_2"),
        ({**good, first: [{"attempt_1": [[0], [1, 2]], "attempt_2": [[0]]}]}, "not rectangular"),
        ({**good, first: [{"attempt_1": [[10]], "attempt_2": [[0]]}]}, "0-9"),
        ({**good, first: [{"attempt_1": [[True]], "attempt_2": [[0]]}]}, "0-9"),
        ({**good, first: [{"attempt_1": [[0] * 31], "attempt_2": [[0]]}]}, "1 to 30"),
        ({**good, first: [{"attempt_1": [], "attempt_2": [[0]]}]}, "non-empty"),
        ({**good, "extra": []}, "not in the challenges"),
    ]
    for sub, message in bad_cases:
        with pytest.raises(SubmissionError, match=message):
            validate_submission(sub, challenges)


def test_voter_treats_the_blank_identifier_as_unaugmented(built):
    data, unknown = query(built, [
        arc.ArcTask("never-seen", [(np.zeros((2, 2), np.int8), np.ones((2, 2), np.int8))],
                    [(np.full((3, 2), 4, np.int8), np.zeros((1, 1), np.int8))])])
    assert unknown == 1 and (data.test.puzzle_identifiers == 0).all()
    voter = arc.ArcVoter(data)
    voter.add(np.arange(1), data.test.inputs)  # "predict" the input itself
    assert (voter.ranked(0, 0)[0][0] == 4).all() and Aug().is_identity


def test_trm_train_reads_a_kaggle_folder_and_scores_a_subset(tmp_path, capsys):
    from trm_core.cli import main

    out = tmp_path / "run"
    assert main(["train", "--task", "arc-agi-1", "--data", str(FOLDER), "--eval-tasks", "1", "--steps", "1",
                 "--out", str(out), "--task-option", "num_aug=1", "hidden_size=32", "num_heads=1", "T=1", "n=1",
                 "N_sup=1", "layers=1", "puzzle_emb_len=1", "batch_size=4", "progress=false"]) == 0
    settings = json.loads((out / "run.json").read_text())
    assert settings["task_options"] == {"num_aug": 1, "data": str(FOLDER), "eval_tasks": 1, "eval_seed": 0}
    assert main(["train", "--task", "sudoku", "--eval-tasks", "3", "--out", str(tmp_path / "x")]) == 2
    assert "--eval-tasks is for ARC" in capsys.readouterr().err
