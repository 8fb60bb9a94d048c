"""Data-parallel training: 2 CPU processes on gloo against one process with the same global batch."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import TESTS, random_batch, tiny
from trm_core import checkpoint as ckpt_io
from trm_core.act import act_step, initial_carry
from trm_core.data import make_task
from trm_core.distributed import Ranks
from trm_core.recipes import LoaderSource

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed")

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "TRM_DEVICE": "cpu"}
# Float64 (tests/ddp_worker.py): the two sides add the same numbers in another order, so they agree
# to rounding. Measured: weights and optimizer moments within 1e-11, while training moved the weights
# by about 1e-2; the carried latent state, 30 net calls deep after 3 supervision steps, within 7e-9.
TOL64 = 1e-9
STATE_TOL64 = 1e-6


def launch(args, processes):
    """``python ARGS`` in one process, or under torchrun as ``processes`` ranks; returns the output."""
    launcher = [sys.executable]
    if processes > 1:
        launcher += ["-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    done = subprocess.run([*launcher, *args], capture_output=True, text=True, env=ENV, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def worker(out, steps, processes, resume=None):
    launch([str(TESTS / "ddp_worker.py"), str(out), str(steps), *([str(resume)] if resume else [])], processes)
    return ckpt_io.load(out)


def assert_same_run(a, b, tol, state_tol=None):
    """Two training states at the same step: the same weights, EMA, optimizer state, carry and data position."""
    assert a["step"] == b["step"] and a["source"] == b["source"]
    for part in ("model", "ema"):
        assert a[part].keys() == b[part].keys()
        for k in a[part]:
            torch.testing.assert_close(a[part][k], b[part][k], rtol=0, atol=tol, msg=f"{part}.{k}")
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        torch.testing.assert_close(sa["exp_avg"], sb["exp_avg"], rtol=0, atol=tol)
        torch.testing.assert_close(sa["exp_avg_sq"], sb["exp_avg_sq"], rtol=0, atol=tol)
    ca, cb = a["carry"], b["carry"]
    assert torch.equal(ca["steps"], cb["steps"]) and torch.equal(ca["halted"], cb["halted"])
    for k in ca["batch"]:
        assert torch.equal(ca["batch"][k], cb["batch"][k]), k
    state_tol = tol if state_tol is None else state_tol
    torch.testing.assert_close(ca["y"], cb["y"], rtol=0, atol=state_tol)
    torch.testing.assert_close(ca["z"], cb["z"], rtol=0, atol=state_tol)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Float64: one process for 8 steps; two processes for 8 steps; two for 4, then one for 4 more."""
    d = tmp_path_factory.mktemp("ddp64")
    single = worker(d / "single.pt", 8, 1)
    double = worker(d / "double.pt", 8, 2)
    half = worker(d / "half.pt", 4, 2)
    resumed = worker(d / "resumed.pt", 8, 1, resume=d / "half.pt")
    return single, double, half, resumed


def test_two_processes_match_one_in_float64(runs):
    single, double, half, _ = runs
    assert_same_run(single, double, TOL64, STATE_TOL64)
    # rows halted and were replaced (N_sup=3 over 8 steps), and training moved the weights far more
    # than the two runs differ: the comparison can fail
    assert int(single["carry"]["steps"].max()) < 3 and single["source"]["batch"] == 8
    moved = max((single["model"][k] - half["model"][k]).abs().max().item() for k in single["model"])
    assert moved > 1e6 * TOL64


def test_a_two_process_checkpoint_resumes_on_one(runs):
    single, _, half, resumed = runs
    assert half["carry"]["steps"].shape == (8,)  # the global carry
    assert_same_run(single, resumed, TOL64, STATE_TOL64)


# the installed console script, as in the README's `torchrun ... $(command -v trm) train`
TRM = shutil.which("trm", path=os.path.dirname(sys.executable)) or shutil.which("trm")


def trm_train(out, steps, processes, *extra):
    args = [*([TRM] if TRM else ["-m", "trm_core.cli"]), "train",
            "--task", "sudoku", "--size", "4", "--n-train", "64", "--n-test", "16",
            "--preset", "trm-mlp-tiny", "--steps", str(steps), "--out", str(out),
            "N_sup=3", "puzzle_emb_ndim=64", "batch_size=8", "checkpoint_minutes=0", "progress=false", *extra]
    return launch(args, processes)


def test_torchrun_trm_train_and_resume(tmp_path):
    """The command people run: rank 0 alone writes the folder; an interrupted run resumes exactly."""
    whole, part = tmp_path / "whole", tmp_path / "part"
    log = trm_train(whole, 6, 2)
    assert "x 2 processes (gloo)" in log and log.count("training trm-mlp-tiny") == 1
    assert sorted(p.name for p in whole.iterdir()) == [".lock", "checkpoint.pt", "metrics.jsonl", "run.json"]
    records = [json.loads(line) for line in (whole / "metrics.jsonl").read_text().splitlines()]
    assert [r["kind"] for r in records] == ["train", "eval"] and records[0]["step"] == 6
    trm_train(part, 3, 2)
    out = launch(["-m", "trm_core.cli", "train", "--resume", str(part), "--steps", "6"], 2)
    assert "resuming" in out and "at step 3 on 2 processes" in out
    a, b = ckpt_io.load(whole / "checkpoint.pt"), ckpt_io.load(part / "checkpoint.pt")
    assert_same_run(a, b, 0.0)  # the same ranks add the same numbers: bit for bit


def test_uneven_batch_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                           "-m", "trm_core.cli", "train", "--task", "sudoku", "--size", "4", "--n-train", "64",
                           "--steps", "1", "--out", str(tmp_path / "x"), "batch_size=7"],
                          capture_output=True, text=True, timeout=300, env=ENV)
    assert done.returncode != 0
    assert "batch_size=7 cannot be split evenly over 2 processes" in done.stderr


# --- the pieces, in one process --------------------------------------------------------------


def test_sharded_loader_rows_make_up_the_global_batch():
    task = make_task("sudoku", size=4, n_train=40, n_test=4, seed=1)
    whole = LoaderSource(task.train_loader(8, seed=3))
    shards = [LoaderSource(task.train_loader(8, seed=3, shard=(r, 4))) for r in range(4)]
    for _ in range(7):  # across an epoch boundary (40 // 8 = 5 batches per epoch)
        full = whole.next_batch()
        parts = [s.next_batch() for s in shards]
        for k in full:
            assert torch.equal(full[k], torch.cat([p[k] for p in parts])), k


def test_exploration_draws_are_the_global_batch_sliced():
    model = tiny(halt_exploration_prob=0.5)
    with torch.no_grad():
        model.q_head.bias.fill_(5.0)  # every row wants to halt at once: only the exploration draws keep one
    model.train()
    batch = random_batch(0, B=8)
    torch.manual_seed(5)
    whole, _ = act_step(model, initial_carry(model, batch), batch)
    halves = []
    for r in range(2):
        rows = slice(4 * r, 4 * r + 4)
        part = {k: v[rows] for k, v in batch.items()}
        torch.manual_seed(5)
        halves.append(act_step(model, initial_carry(model, part), part, global_rows=(4 * r, 8))[0])
    assert 0 < int(whole.halted.sum()) < 8  # some rows explore: the draws decide
    assert torch.equal(whole.halted, torch.cat([h.halted for h in halves]))
    assert torch.equal(whole.steps, torch.cat([h.steps for h in halves]))


def test_rows_of_a_global_batch():
    assert Ranks(1, 4).rows(16) == slice(4, 8)
    with pytest.raises(Exception, match="multiple of 4"):
        Ranks(0, 4).local_batch(10)
    assert np.array_equal(np.arange(16)[Ranks(3, 4).rows(16)], [12, 13, 14, 15])
