"""Nothing lost, nothing executed: files are data, any stop is a pause, and every user error is one line.

1. A crafted pickle given to every load path never runs its payload.
2. SIGTERM, SIGINT in the middle of a step, and SIGKILL, each sent to a real `trm train` process:
   `trm train --resume` then ends bit-identical to an uninterrupted run of the same total steps.
3. Run folders are locked while in use and never overwritten without --overwrite.
4. Bad input of every kind: exit code 2, one line on stderr, no traceback; bugs keep theirs.
"""
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from trm_core import checkpoint as ckpt_io
from trm_core import cli, pretrained
from trm_core.compat import ReferenceCheckpointError, from_reference
from trm_core.data import sudoku

TINY = ["hidden_size=32", "layers=1", "n=2", "T=1", "N_sup=2", "mlp_multiple=32", "batch_size=16", "eval_every=0",
        "progress=false"]
TRAIN = ["train", "--task", "sudoku", "--size", "4", "--n-train", "40", "--n-test", "8"]


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(code, err):
    return code == 2 and err.startswith("trm: error: ") and err.count("\n") == 1 and "Traceback" not in err


# ------------------------------------------------------------------------------------------------
# 1. A file is data, never code
# ------------------------------------------------------------------------------------------------
class Payload:
    """Unpickling this object would create the marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def crafted(tmp_path):
    """A 'checkpoint' whose unpickling would create ``marker``; returns (path, marker)."""
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil" / "checkpoint.pt"
    path.parent.mkdir()
    torch.save({"format": ckpt_io.FORMAT, "model": Payload(marker)}, path)
    assert not marker.exists()
    return path, marker


def test_a_crafted_pickle_runs_on_no_load_path(crafted, tmp_path, capsys, monkeypatch):
    path, marker = crafted
    csv = tmp_path / "p.csv"
    sudoku.write_csv(csv, sudoku.generate(4, 3, seed=0))
    (path.parent / "run.json").write_text(json.dumps({"task": "sudoku", "size": 4, "n_train": 40, "n_test": 8,
                                                      "preset": "trm-mlp-tiny", "model": {}, "train": {}}))
    commands = [
        ["solve", "--checkpoint", path, "1..." * 4],
        ["eval", "--checkpoint", path, "--data", csv],
        ["train", "--resume", path.parent],
    ]
    for argv in commands:
        code, _, err = run(capsys, *argv)
        assert one_line_error(code, err) and "refusing to load" in err, (argv, err)
    with pytest.raises(ckpt_io.CheckpointError, match="refusing to load"):
        ckpt_io.load(path)
    with pytest.raises(ckpt_io.CheckpointError, match="refusing to load"):
        pretrained.export(path, tmp_path / "slim.pt")
    # pretrained.load: even a file that passes the checksum (here: recorded for the crafted file) is loaded safely
    monkeypatch.setattr(pretrained, "_folders", lambda: [path.parent])
    monkeypatch.setitem(pretrained.CHECKPOINTS, "trm-sudoku6", ("checkpoint.pt", pretrained.sha256(path)))
    with pytest.raises(ckpt_io.CheckpointError, match="refusing to load"):
        pretrained.load("trm-sudoku6")
    assert not marker.exists()


def test_what_the_workbook_saves_loads_with_weights_only(tmp_path, capsys):
    """Training checkpoints (RNG states included) and slim exports are plain data."""
    code, _, _ = run(capsys, *TRAIN, "--steps", "3", "--out", tmp_path / "r", *TINY)
    assert code == 0
    full = torch.load(tmp_path / "r" / "checkpoint.pt", weights_only=True)
    assert isinstance(full["rng"]["numpy"]["keys"], torch.Tensor)
    slim = pretrained.export(tmp_path / "r", tmp_path / "slim.pt")
    torch.load(slim, weights_only=True)


# ------------------------------------------------------------------------------------------------
# 2. Any stop is a pause: signals sent to real training processes
# ------------------------------------------------------------------------------------------------
STEPS = 400
SIGNAL_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}


def trm(*argv, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "trm_core.cli", *map(str, argv)], env=SIGNAL_ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def train_argv(out, steps=STEPS):
    return [*TRAIN, "--steps", steps, "--out", out, *TINY, "checkpoint_every=50", "halt_exploration_prob=0.5"]


def wait_for(predicate, timeout=120):
    end = time.time() + timeout
    while not predicate():
        if time.time() > end:
            raise TimeoutError("the training process did not get there in time")
        time.sleep(0.05)


def weights(folder):
    ckpt = torch.load(Path(folder) / "checkpoint.pt", weights_only=True)
    return ckpt["step"], {**ckpt["model"], **{f"ema.{k}": v for k, v in ckpt["ema"]["shadow"].items()}}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("straight") / "run"
    proc = trm(*train_argv(out))
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    return weights(out)


def steps_logged(out):
    log = Path(out) / "metrics.jsonl"
    return log.exists() and len(log.read_text().splitlines()) >= 8


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_a_stopped_run_resumes_bit_identical(sig, uninterrupted, tmp_path):
    out = tmp_path / "run"
    proc = trm(*train_argv(out))
    wait_for(lambda: steps_logged(out) and (sig != signal.SIGKILL or (out / "checkpoint.pt").exists()))
    proc.send_signal(sig)  # lands wherever the process is: almost always in the middle of a step
    code = proc.wait(timeout=120)
    err = proc.stderr.read()
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL
    else:
        assert code == 128 + sig and f"stopped by {sig.name} at step" in err and f"--resume {out}" in err, err
        assert "Traceback" not in err
    stopped_at, _ = weights(out)
    assert 0 < stopped_at < STEPS
    resumed = trm("train", "--resume", out)
    assert resumed.wait(timeout=300) == 0, resumed.stderr.read()
    step, got = weights(out)
    want_step, want = uninterrupted
    assert step == want_step == STEPS
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()
             if json.loads(line)["kind"] == "train"]
    assert steps == sorted(set(steps)), "metrics.jsonl logs some steps twice"


def test_the_final_checkpoint_is_saved_before_the_final_evaluation(tmp_path, capsys, monkeypatch):
    from trm_core import trainer as trainer_module

    def broken(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer_module, "evaluate", broken)
    code, _, _ = run(capsys, *TRAIN, "--steps", "3", "--out", tmp_path / "r", *TINY)
    assert code == 130 and ckpt_io.load(tmp_path / "r")["step"] == 3


def test_a_signal_during_training_in_process_stops_after_the_step(tmp_path, capsys, monkeypatch):
    """The handler only sets a flag: the step in progress finishes, the trainer saves and stops."""
    from trm_core import trainer as trainer_module

    original = trainer_module.Trainer.train_step

    def step_then_signal(self, batch):
        out = original(self, batch)
        if self.step == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return out

    monkeypatch.setattr(trainer_module.Trainer, "train_step", step_then_signal)
    code, _, err = run(capsys, *TRAIN, "--steps", "50", "--out", tmp_path / "r", *TINY)
    assert code == 128 + signal.SIGTERM and "stopped by SIGTERM at step 2" in err
    assert ckpt_io.load(tmp_path / "r")["step"] == 2
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # handlers are put back


# ------------------------------------------------------------------------------------------------
# 3. Run folders
# ------------------------------------------------------------------------------------------------
def test_a_run_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "busy"
    with ckpt_io.run_lock(out):  # another process would hold it the same way
        other = trm(*TRAIN, "--steps", "2", "--out", out, *TINY)
        assert other.wait(timeout=120) == 2
        assert "in use by another training process" in other.stderr.read()
    assert not (out / "run.json").exists()


@pytest.mark.slow
def test_two_trainings_into_one_folder_do_not_both_succeed(tmp_path):
    out = tmp_path / "shared"
    procs = [trm(*TRAIN, "--steps", "60", "--out", out, *TINY) for _ in range(2)]
    codes = sorted(p.wait(timeout=300) for p in procs)
    assert codes == [0, 2]


def test_an_existing_run_is_never_overwritten_without_a_flag(tmp_path, capsys):
    out = tmp_path / "r"
    assert run(capsys, *TRAIN, "--steps", "2", "--out", out, *TINY)[0] == 0
    before = (out / "checkpoint.pt").read_bytes()
    code, _, err = run(capsys, *TRAIN, "--steps", "2", "--out", out, *TINY)
    assert one_line_error(code, err) and "already holds a run" in err and "--overwrite" in err
    assert (out / "checkpoint.pt").read_bytes() == before
    code, _, err = run(capsys, "demo", "--out", out, "--minutes", "0.01")
    assert one_line_error(code, err) and (out / "checkpoint.pt").read_bytes() == before
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "metrics.jsonl").write_text('{"kind": "train", "step": 99}\n')  # a run's leftovers
    code, _, err = run(capsys, *TRAIN, "--steps", "2", "--out", tmp_path / "old", *TINY)
    assert one_line_error(code, err)
    assert run(capsys, *TRAIN, "--steps", "2", "--out", tmp_path / "old", "--overwrite", *TINY)[0] == 0
    steps = [json.loads(line)["step"] for line in (tmp_path / "old" / "metrics.jsonl").read_text().splitlines()]
    assert 99 not in steps


def test_the_demo_picks_a_fresh_folder(tmp_path, capsys, monkeypatch):
    from trm_core import commands

    monkeypatch.chdir(tmp_path)
    small = json.loads(json.dumps(commands.DEMO))
    small.update(n_train=40, n_test=8)
    small["train"].update(max_minutes=0.005, eval_every=0, progress=False)
    monkeypatch.setattr(commands, "DEMO", small)
    for expected in ("runs/demo", "runs/demo-2"):
        code, out, _ = run(capsys, "demo")
        assert code == 0 and f"in {expected}" in out and (tmp_path / expected / "checkpoint.pt").exists()


# ------------------------------------------------------------------------------------------------
# 4. One error policy
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("trained") / "run"
    assert cli.main([*TRAIN, "--steps", "2", "--out", str(out), *TINY]) == 0
    return out


def bad_cases(trained, tmp):
    """(argv, a phrase of the expected message) for bad input of every kind."""
    (tmp / "a_file").write_text("x")
    (tmp / "bom.csv").write_bytes(b"\xef\xbb\xbf" + b"source,question,answer,rating\n")
    (tmp / "header_only.csv").write_text("source,question,answer,rating\n")
    (tmp / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (tmp / "huge.csv").write_text("source,question,answer,rating\nx," + "1" * 200_000 + ",2,0\n")
    (tmp / "empty_run").mkdir()
    (tmp / "empty_run" / "run.json").write_text("{}")
    (tmp / "no_checkpoint").mkdir()
    (tmp / "no_checkpoint" / "run.json").write_text(json.dumps({"task": "sudoku", "preset": "trm-mlp-tiny"}))
    (tmp / "bad_json").mkdir()
    (tmp / "bad_json" / "run.json").write_text("{not json")
    slim_dir = tmp / "slim_run"
    shutil.copytree(trained, slim_dir)
    pretrained.export(trained, slim_dir / "checkpoint.pt")
    ckpt = trained / "checkpoint.pt"
    base = [*TRAIN, "--steps", "2"]
    return [
        (["train", "--device", "cuda", "--out", tmp / "o1"], "not available"),
        (["train", "--device", "mps", "--out", tmp / "o2"], "not available"),
        (["train", "--device", "tpu", "--out", tmp / "o3"], "unknown device"),
        ([*base, "--out", tmp / "a_file", *TINY], "is a file"),
        ([*base, "--out", tmp / "a_file" / "sub", *TINY], "a_file"),
        ([*base, "--out", tmp / "o4", *TINY, "batch_size=abc"], "batch_size='abc' must be int"),
        ([*base, "--out", tmp / "o5", *TINY, "lr=null"], "lr=None must be float"),
        ([*base, "--out", tmp / "o6", *TINY, "hidden_size=1.5"], "hidden_size=1.5 must be int"),
        ([*base, "--out", tmp / "o7", "num_heads=0", "mixer=attention"], "num_heads must be at least 1"),
        ([*base, "--out", tmp / "o8", "lr=-1"], "lr must be > 0"),
        ([*base, "--out", tmp / "o9", "nonsense=1"], "unknown setting"),
        ([*TRAIN, "--steps", "0"], "--steps must be >= 1"),
        ([*TRAIN, "--minutes", "0"], "--minutes must be > 0"),
        ([*TRAIN, "--minutes", "-1"], "--minutes must be > 0"),
        ([*TRAIN, "--minutes", "nan"], "--minutes must be > 0"),
        ([*TRAIN[:-2], "--n-test", "0"], "--n-test must be >= 1"),
        (["bench", "--segments", "0"], "--segments must be >= 1"),
        (["bench", "--threads", "0"], "--threads must be >= 1"),
        (["bench", "--batch-size", "x"], "--batch-size must be a int"),
        (["train", "--resume", tmp / "empty_run"], "lacks task, preset"),
        (["train", "--resume", tmp / "bad_json"], "not valid JSON"),
        (["train", "--resume", tmp / "nowhere"], "not a training run folder"),
        (["train", "--resume", tmp / "no_checkpoint"], "no checkpoint yet"),
        (["train", "--resume", slim_dir], "slim checkpoint"),
        (["eval", "--checkpoint", ckpt, "--data", tmp / "header_only.csv"], "no data rows"),
        (["eval", "--checkpoint", ckpt, "--data", tmp / "bom.csv"], "no data rows"),  # the BOM is fine
        (["eval", "--checkpoint", ckpt, "--data", tmp / "binary.csv"], "binary.csv"),
        (["eval", "--checkpoint", ckpt, "--data", tmp / "huge.csv"], "huge.csv"),
        (["eval", "--checkpoint", ckpt, "--data", tmp], "is not a file"),
        (["eval", "--checkpoint", tmp / "a_file", "--data", tmp / "bom.csv"], "not a readable checkpoint"),
        (["eval", "--checkpoint", tmp, "--data", tmp / "bom.csv"], "no checkpoint"),
        (["solve", "--checkpoint", ckpt, "1.3"], "puzzle"),
        (["data", "check", tmp / "binary.csv", "--task", "sudoku"], "binary.csv"),
        (["data", "generate", "sudoku", "--size", "4", "--count", "2", "--out", tmp / "a_file" / "x.csv"],
         "is a file, not a folder"),
        (["data", "generate", "sudoku", "--size", "4", "--count", "2", "--out", tmp], "is a folder"),
        (["train", "--task", "addition", "--size", "30", "--out", tmp / "o10"], "1 to 9 digits"),
        ([*base, "--out", tmp / "o11", "seq_len=5"], "the task fixes seq_len=16"),
    ]


def test_bad_input_is_one_line_and_exit_2(trained, tmp_path, capsys):
    for argv, phrase in bad_cases(trained, tmp_path):
        try:
            code, _, err = run(capsys, *argv)
        except SystemExit as e:  # argparse's own errors (bad flag values)
            code, err = e.code, capsys.readouterr().err
        assert one_line_error(code, err), (argv, err)
        assert phrase in err, (argv, err)


def test_a_full_disk_is_one_line(trained, tmp_path, capsys, monkeypatch):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "r" / "checkpoint.pt"))

    monkeypatch.setattr(ckpt_io.torch, "save", full)
    code, _, err = run(capsys, *TRAIN, "--steps", "2", "--out", tmp_path / "r", *TINY)
    assert one_line_error(code, err) and "No space left on device" in err


def test_bugs_keep_their_traceback(monkeypatch):
    """Only user errors become one line: a bug inside a command (here a ZeroDivisionError) is raised."""
    from trm_core import trainer as trainer_module

    monkeypatch.setattr(trainer_module, "throughput", lambda *a, **k: 1 / 0)
    from trm_core import commands

    monkeypatch.setattr(commands, "throughput", lambda *a, **k: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli.main(["bench", "--preset", "trm-mlp-tiny", "--vocab-size", "5", "--seq-len", "4"])


def test_library_entry_points_give_clear_errors_for_wrong_types():
    from trm_core import build_model

    model = build_model("trm-mlp-tiny", vocab_size=5, seq_len=4, num_puzzle_identifiers=3, puzzle_emb_ndim=8)
    assert model.reason([[1, 2, 3, 4]], [2], steps=1).logits.shape == (1, 1, 4, 5)  # lists are fine
    for inputs, ids, phrase in [(["abcd"], None, "inputs must be integer token ids"),
                                ([[1, 2, 3, 4]], ["x"], "puzzle_ids must be"),
                                ([[1.5, 2, 3, 4]], None, "integer token ids"),
                                ([[1, 2, 3]], None, "shape"),
                                ([[1, 2, 3, 9]], None, "must lie in")]:
        with pytest.raises(ValueError, match=phrase):
            model.reason(inputs, ids, steps=1)
    with pytest.raises(ReferenceCheckpointError, match="arch_config must be"):
        from_reference({"x": torch.zeros(1)}, None)
    with pytest.raises(ReferenceCheckpointError, match="must be tensors"):
        from_reference({"x": [1, 2]}, {})
