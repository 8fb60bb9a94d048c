"""The trm command: train, resume, eval, solve, bench, demo, and one-line errors with exit code 2."""
import json
import time

import pytest
import torch

from trm_core import cli, commands
from trm_core import trainer as trainer_module
from trm_core.data import sudoku


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


TINY = ["hidden_size=32", "layers=1", "n=2", "T=1", "N_sup=2", "mlp_multiple=32", "batch_size=16", "eval_every=0",
        "progress=false"]


@pytest.fixture(scope="module")
def sudoku_run(tmp_path_factory):
    """A tiny 4x4 Sudoku run, trained for a few steps (shared by the tests below)."""
    out = tmp_path_factory.mktemp("run")
    code = cli.main(["train", "--task", "sudoku", "--size", "4", "--n-train", "40", "--n-test", "20", "--steps", "4",
                     "--out", str(out), *TINY])
    assert code == 0
    return out


def test_train_writes_a_run_directory(sudoku_run):
    assert (sudoku_run / "checkpoint.pt").exists() and (sudoku_run / "run.json").exists()
    lines = [json.loads(line) for line in (sudoku_run / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["kind"] == "eval" and lines[-1]["step"] == 4


def test_resume_continues_from_the_saved_step(sudoku_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(sudoku_run, copy)
    code, out, _ = run(capsys, "train", "--resume", str(copy), "--steps", "6")
    assert code == 0 and "resuming" in out and "at step 4" in out
    assert torch.load(copy / "checkpoint.pt", weights_only=False)["step"] == 6


class SteadyClock:
    """The trainer's clock, advancing 1/8 s per reading however fast the machine is.

    With the real clock the resumed run below trains only if the first one stopped before 1.2 s, i.e.
    if no single step took 0.6 s (8 ms here, but not on a loaded or emulated machine)."""

    def __init__(self):
        self.readings = 0

    def perf_counter(self):
        self.readings += 1
        return self.readings / 8

    def __getattr__(self, name):  # anything else the trainer asks of the time module
        return getattr(time, name)


def test_a_time_limited_run_has_no_step_limit_and_resumes_on_time(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(trainer_module, "time", SteadyClock())
    out = tmp_path / "timed"
    code, _, _ = run(capsys, "train", "--task", "sudoku", "--size", "4", "--n-train", "40", "--n-test", "8",
                     "--minutes", "0.01", "--out", str(out), *TINY, "lr_min_ratio=0.1")
    assert code == 0
    train = json.loads((out / "run.json").read_text())["train"]
    assert train["max_steps"] == 0 and train["max_minutes"] == 0.01  # the minutes decide, schedule included
    first = torch.load(out / "checkpoint.pt", weights_only=False)
    assert first["elapsed"] >= 0.6 and first["train_config"]["max_steps"] == 0
    code, _, _ = run(capsys, "train", "--resume", str(out), "--minutes", "0.02")  # a total of 0.02 minutes
    again = torch.load(out / "checkpoint.pt", weights_only=False)
    assert code == 0 and again["step"] > first["step"] and again["elapsed"] >= 1.2
    assert again["train_config"]["max_steps"] == 0  # the same definition as a fresh run


def test_train_refuses_to_overwrite_a_run(sudoku_run, capsys):
    code, _, err = run(capsys, "train", "--task", "sudoku", "--size", "4", "--out", str(sudoku_run))
    assert code == 2 and "already holds a run" in err and err.count("\n") == 1


def test_eval_json(sudoku_run, tmp_path, capsys):
    data = sudoku.from_puzzles(sudoku.generate(4, 12, seed=5))
    sudoku.write_csv(tmp_path / "test.csv", data)
    code, out, _ = run(capsys, "eval", "--checkpoint", str(sudoku_run / "checkpoint.pt"),
                       "--data", str(tmp_path / "test.csv"), "--json")
    assert code == 0
    m = json.loads(out)
    assert m["n"] == 12 and len(m["per_step_exact"]) == 2
    assert 0 <= m["exact_accuracy"] <= 1 and 0 <= m["cell_accuracy"] <= 1 and "valid_solution" in m


def test_eval_adaptive_and_test_time_compute(sudoku_run, tmp_path, capsys):
    sudoku.write_csv(tmp_path / "test.csv", sudoku.from_puzzles(sudoku.generate(4, 12, seed=5)))
    ckpt, data = str(sudoku_run / "checkpoint.pt"), str(tmp_path / "test.csv")
    code, out, _ = run(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--json", "--halt-threshold", "0")
    m = json.loads(out)
    assert code == 0 and m["mean_steps_used"] == 1.0 and m["halt_threshold"] == 0.0  # P >= 0: all stop at once
    assert 0 <= m["adaptive_exact_accuracy"] <= 1 and m["seconds"] > 0 and m["compute_fraction"] == 0.5
    code, out, _ = run(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--json", "--steps", "5",
                       "--halt-threshold", "1", "--samples", "3", "--noise", "0.5", "--ensemble", ckpt)
    m = json.loads(out)  # 2 members x 3 samples, none halts: 6 candidates x 5 steps each
    assert code == 0 and len(m["per_step_exact"]) == 5 and m["mean_steps_used"] == 30.0
    code, out, _ = run(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--select", "first")
    assert code == 0 and "adaptive (the model's rule, select first)" in out and "supervision steps per puzzle" in out
    code, out, _ = run(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--json", "--views", "3", "--steps", "3")
    m = json.loads(out)  # 3 views x 3 steps each
    assert code == 0 and m["views"] == 3 and 0 <= m["voted_exact_accuracy"] <= 1 and 1 / 3 <= m["agreement"] <= 1
    code, out, _ = run(capsys, "eval", "--checkpoint", ckpt, "--data", data, "--views", "2")
    assert code == 0 and "2 symmetric views of each puzzle voting" in out


@pytest.mark.parametrize("flag,value", [("--halt-threshold", "1.5"), ("--halt-threshold", "nan"), ("--noise", "-1"),
                                        ("--samples", "0"), ("--select", "vote")])
def test_eval_refuses_bad_solve_options(sudoku_run, capsys, flag, value):
    with pytest.raises(SystemExit) as stop:  # argparse refuses it before anything runs
        cli.main(["eval", "--checkpoint", str(sudoku_run), "--data", "x.csv", flag, value])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and flag in err and err.count("\n") == 1


def test_solve_stops_at_the_halting_step(sudoku_run, capsys):
    puzzle = sudoku.to_string(sudoku.generate(4, 1, seed=3)[0].question)
    code, out, _ = run(capsys, "solve", "--checkpoint", str(sudoku_run), "--halt-threshold", "0", puzzle)
    assert code == 0 and "step 1:" in out and "step 2:" not in out and "P(halt) >= 0: stops at step 1 of 2" in out
    code, out, _ = run(capsys, "solve", "--checkpoint", str(sudoku_run), "--steps", "4", "--halt-threshold", "1",
                       puzzle)
    assert code == 0 and "step 4:" in out and "never halts in 4 steps" in out


def test_eval_refuses_puzzles_of_another_size(sudoku_run, tmp_path, capsys):
    sudoku.write_csv(tmp_path / "six.csv", sudoku.from_puzzles(sudoku.generate(6, 2, seed=1)))
    code, _, err = run(capsys, "eval", "--checkpoint", str(sudoku_run), "--data", str(tmp_path / "six.csv"))
    assert code == 2 and "6x6" in err and "36" not in err.split("tokens")[0][-3:]


def test_solve_prints_every_step(sudoku_run, capsys):
    puzzle = sudoku.to_string(sudoku.generate(4, 1, seed=3)[0].question)
    code, out, _ = run(capsys, "solve", "--checkpoint", str(sudoku_run), puzzle)
    assert code == 0 and "step 1:" in out and "step 2:" in out and "P(halt)=" in out


@pytest.mark.parametrize(
    "argv,message",
    [
        (["solve", "--checkpoint", "CKPT", "12.."], "cells"),
        (["solve", "--checkpoint", "CKPT", "11.." + "." * 12], "1"),
        (["solve", "--checkpoint", "/nonexistent/ckpt.pt", "." * 16], "no checkpoint"),
        (["eval", "--checkpoint", "CKPT", "--data", "/nonexistent.csv"], "nonexistent.csv"),
        (["train", "--task", "sudoku", "--preset", "nope"], "unknown preset"),
        (["train", "--task", "sudoku", "colour=red"], "unknown setting 'colour'"),
        (["train", "--resume", "/nonexistent-run"], "not a training run"),
        (["bench", "--device", "tpu"], "unknown device"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(sudoku_run, capsys, argv, message):
    argv = [str(sudoku_run) if a == "CKPT" else a for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.startswith("trm: error:") and err.count("\n") == 1


def test_a_foreign_checkpoint_is_refused(tmp_path, capsys):
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    code, _, err = run(capsys, "solve", "--checkpoint", str(tmp_path / "foreign.pt"), "." * 16)
    assert code == 2 and "not a trm_core checkpoint" in err


def test_bench_json(capsys):
    code, out, _ = run(capsys, "bench", "--preset", "trm-mlp-tiny", "--batch-size", "4", "--segments", "1", "--json",
                       "hidden_size=32", "mlp_multiple=32")
    assert code == 0
    r = json.loads(out)
    assert r["samples_per_second"] > 0 and r["batch_size"] == 4


def test_demo_end_to_end(tmp_path, capsys, monkeypatch):
    small = json.loads(json.dumps(commands.DEMO))
    small.update(n_train=60, n_test=20)
    small["model"].update(hidden_size=32, n=2, T=1, N_sup=2)
    small["train"].update(max_steps=3, batch_size=16, progress=False)
    monkeypatch.setattr(commands, "DEMO", small)
    code, out, _ = run(capsys, "demo", "--out", str(tmp_path))
    assert code == 0
    assert "exact accuracy after each supervision step" in out and "step 2:" in out
    assert "4 symmetric views of each puzzle" in out and "one view (the puzzle as given)" in out
    assert (tmp_path / "checkpoint.pt").exists() and (tmp_path / "demo.png").stat().st_size > 1000
