"""Shipped checkpoints: slim export, lookup, and the checkpoints in data/ really solve unseen puzzles."""
import numpy as np
import pytest
import torch
from test_trainer import make_trainer

from trm_core import checkpoint as ckpt_io
from trm_core import pretrained
from trm_core.data import make_task
from trm_core.evaluate import evaluate


def test_export_keeps_the_averaged_weights_and_drops_training_state(tmp_path):
    trainer = make_trainer(tmp_path / "run", max_steps=4)
    trainer.fit()
    dst = pretrained.export(tmp_path / "run", tmp_path / "slim.pt", note={"command": "test"})
    slim = ckpt_io.load(dst)
    assert "optimizer" not in slim and "carry" not in slim and slim["note"] == {"command": "test"}
    assert dst.stat().st_size < (tmp_path / "run" / "checkpoint.pt").stat().st_size
    model = ckpt_io.model_from_checkpoint(slim)
    x = torch.randint(0, 6, (3, 8))
    expected = trainer.eval_model().reason(x, steps=2).logits
    torch.testing.assert_close(model.reason(x, steps=2).logits, expected)


def test_lookup_checks_every_file_and_never_reads_the_current_directory(tmp_path, monkeypatch):
    with pytest.raises(pretrained.PretrainedError, match="unknown pretrained checkpoint"):
        pretrained.path("gpt-5")
    monkeypatch.setattr(pretrained, "CACHE", tmp_path / "cache")
    monkeypatch.setenv("TRM_DATA_DIR", str(tmp_path / "mine"))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "hrm-sudoku6.pt").write_bytes(b"x")  # not the shipped file
    with pytest.raises(pretrained.PretrainedError, match="is not the shipped file"):
        pretrained.path("hrm-sudoku6", download=False)
    name, digest = pretrained.CHECKPOINTS["hrm-sudoku6"]
    (tmp_path / "mine" / "hrm-sudoku6.pt").write_bytes(b"y")
    monkeypatch.setitem(pretrained.CHECKPOINTS, "hrm-sudoku6", (name, pretrained.sha256(tmp_path / "mine" / name)))
    assert pretrained.path("hrm-sudoku6", download=False) == tmp_path / "mine" / "hrm-sudoku6.pt"
    # ./data and ../data are not looked in
    monkeypatch.delenv("TRM_DATA_DIR")
    monkeypatch.setattr(pretrained, "_folders", lambda: [pretrained.CACHE])  # as installed without a clone
    (tmp_path / "cwd" / "data").mkdir(parents=True)
    (tmp_path / "cwd" / "data" / name).write_bytes(b"y")
    monkeypatch.chdir(tmp_path / "cwd")
    with pytest.raises(pretrained.PretrainedError, match="not found"):
        pretrained.path("hrm-sudoku6", download=False)


def test_a_download_lands_only_when_its_checksum_matches(tmp_path, monkeypatch):
    import hashlib

    served = tmp_path / "served"
    (served / "data").mkdir(parents=True)
    good = b"the shipped bytes"
    served_file = served / "data" / "trm-sudoku6.pt"
    served_file.write_bytes(good)
    monkeypatch.setenv("TRM_WORKBOOK_URL", served.as_uri())  # a local clone, as a fork would give it
    monkeypatch.setattr(pretrained, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(pretrained, "_folders", lambda: [pretrained.CACHE])
    monkeypatch.setitem(pretrained.CHECKPOINTS, "trm-sudoku6", ("trm-sudoku6.pt", hashlib.sha256(good).hexdigest()))
    assert pretrained.path("trm-sudoku6").read_bytes() == good  # downloaded into the cache
    (tmp_path / "cache" / "trm-sudoku6.pt").unlink()
    served_file.write_bytes(b"tampered or truncated")
    with pytest.raises(pretrained.PretrainedError, match="not the shipped file"):
        pretrained.path("trm-sudoku6")
    assert list((tmp_path / "cache").iterdir()) == []  # nothing half-written or wrong stays behind


def test_the_files_in_data_are_the_recorded_ones():
    for name, (filename, digest) in pretrained.CHECKPOINTS.items():
        local = pretrained.Path(pretrained.__file__).resolve().parents[1] / "data" / filename
        if local.exists():
            assert pretrained.sha256(local) == digest, f"data/{filename} changed: update its SHA-256 in pretrained.py"


@pytest.mark.slow
@pytest.mark.parametrize("name,minimum", [("trm-sudoku6", 0.9), ("hrm-sudoku6", 0.2)])
def test_shipped_checkpoints_solve_unseen_puzzles(name, minimum):
    if not pretrained.available(name):
        pytest.skip(f"{name} is not in data/")
    model, ckpt = pretrained.load(name)
    task = make_task("sudoku", size=6, n_train=0, n_test=100, seed=777)  # puzzles it never saw
    m = evaluate(model, task.test.inputs, task.test.labels)
    assert m["exact_accuracy"] >= minimum
    assert np.all(np.diff(m["per_step_exact"][:3]) >= -0.02)  # more steps do not hurt


@pytest.mark.slow
def test_the_shipped_maze_model_finds_shortest_paths_in_unseen_mazes():
    """At least 90% valid shortest paths on 7x7 perfect mazes of another seed, none of its training mazes."""
    from trm_core.data import maze
    from trm_core.evaluate import predict

    if not pretrained.available("trm-maze7"):
        pytest.skip("trm-maze7 is not in data/")
    model, ckpt = pretrained.load("trm-maze7")
    trained_on = {q.tobytes() for q in maze.generate(7, 3300, seed=0, loops=0.0).questions}
    made = maze.generate(7, 320, seed=777, loops=0.0)
    questions = np.stack([q for q in made.questions if q.tobytes() not in trained_on][:300])
    answers = maze.from_tokens(predict(model, maze.to_tokens(questions))["predictions"][-1])
    valid = np.mean([r is None for r in maze.check_answers(questions, answers)])
    assert valid >= 0.9, f"{100 * valid:.1f}% valid shortest paths"
    assert np.mean([r is None for r in maze.check_answers(questions, questions)]) == 0  # copying finds none


def test_download_addresses_follow_the_repository(monkeypatch):
    monkeypatch.delenv("TRM_WORKBOOK_URL", raising=False)
    import trm_core

    owner_repo = trm_core.REPO_URL.removeprefix("https://github.com/")
    assert pretrained.file_url("x.pt") == f"https://raw.githubusercontent.com/{owner_repo}/main/data/x.pt"
    monkeypatch.setenv("TRM_WORKBOOK_URL", "https://github.com/someone/fork.git")
    assert pretrained.file_url("x.pt") == "https://raw.githubusercontent.com/someone/fork/main/data/x.pt"
    monkeypatch.setenv("TRM_WORKBOOK_URL", "file:///tmp/clone/")
    assert pretrained.file_url("x.pt") == "file:///tmp/clone/data/x.pt"


@pytest.mark.slow
def test_the_shipped_trm_stops_early_without_losing_accuracy():
    """A threshold chosen on validation puzzles keeps the shipped TRM within a point and a half of
    running all steps on other unseen puzzles (1000-puzzle benchmark: 98.9% vs 98.8%), with at most
    40% of the steps; the model's own rule (P > 0.5) is cheaper and worse."""
    from trm_core.evaluate import calibrate_threshold

    if not pretrained.available("trm-sudoku6"):
        pytest.skip("trm-sudoku6 is not in data/")
    model, _ = pretrained.load("trm-sudoku6")
    val = make_task("sudoku", size=6, n_train=0, n_test=300, seed=31).test
    test = make_task("sudoku", size=6, n_train=0, n_test=300, seed=32).test
    c = calibrate_threshold(model, val.inputs, val.labels)
    assert c["threshold"] is not None and c["threshold"] > 0.5
    full = (model.reason(test.inputs).predictions[-1].numpy() == test.labels).all(-1).mean()
    sol = model.solve(test.inputs, halt_threshold=c["threshold"])
    adaptive = (sol.answers.numpy() == test.labels).all(-1).mean()
    assert adaptive >= full - 0.015 and sol.mean_steps <= 0.4 * model.config.N_sup
    own = model.solve(test.inputs)
    assert own.mean_steps < sol.mean_steps
