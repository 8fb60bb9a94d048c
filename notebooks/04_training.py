# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 04 · Training: deep supervision, ACT and EMA
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/04_training.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# Notebooks 02 and 03 took the model apart. This one trains it: first on two-digit addition, a
# warm-up whose loss starts falling within a few hundred steps, then on 6x6 Sudoku with a live plot
# of the loss and the accuracy, and it ends by stopping a run and resuming it exactly where it was.
#
# **What you will learn**
# - *deep supervision*: one optimizer step per supervision step, the latent state carried from one
#   optimizer step to the next;
# - *ACT* during training: puzzles leave the batch when the Q head says "done", and the Q head is
#   trained to say it only when the answer is right;
# - *EMA*: why the weights you evaluate are an average of the weights you train;
# - what the laptop recipe changes against the paper's, and why;
# - accuracy after each supervision step, and how to save and resume a run exactly.
#
# **What you need**: notebook 00; notebook 03 section 5 (the ACT carry) helps. No GPU: on a GPU the
# Sudoku part switches to 9x9 by itself (parameters cell).
#
# **Time**: 101 seconds on a 2-core CPU as it opens, its slowest cell 56 s (the 200-step live
# Sudoku run; the long run loads the shipped 6x6 checkpoint, and trains for 4 minutes only if there is
# none); 36 seconds in the fast test mode `TRM_FAST=1`. `FULL = True` in the parameters cell makes
# the runs full size (15+ minutes on a CPU); on a GPU it also switches Sudoku to 9x9, trained from
# scratch: allow 40 minutes.
#
# *Working from a fork?* Set `TRM_WORKBOOK_URL` to your repository before running the first code cell
# (or edit `REPO_URL` there, and the badge link above); the shipped checkpoints then come from it too.

# %%
# Setup: the same first cell in every notebook of the workbook (only NEEDS differs). Safe to run twice.
NEEDS = {}  # extra packages this notebook uses: {import name: pip requirement}
import importlib.util
import os
import subprocess
import sys

# The workbook's repository (trm_core.REPO_URL); a fork, or a test, sets TRM_WORKBOOK_URL instead.
REPO_URL = os.environ.setdefault("TRM_WORKBOOK_URL", "https://github.com/trm-workbook/trm-workbook")

wanted = {**{name: name for name in ("matplotlib", "tqdm", "ipywidgets")}, **NEEDS}
if "google.colab" in sys.modules:
    # Colab already has torch, numpy and matplotlib: install trm_core alone (--no-deps), then only what
    # is really missing, so Colab's own torch and numpy are never replaced.
    if importlib.util.find_spec("trm_core") is None:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", f"git+{REPO_URL}"],
                       check=True)
    missing = [req for name, req in wanted.items() if importlib.util.find_spec(name) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing], check=True)
    importlib.invalidate_caches()  # let this running kernel see the packages just installed
elif importlib.util.find_spec("trm_core") is None and os.path.isdir(os.path.join("..", "trm_core")):
    sys.path.insert(0, os.path.abspath(".."))  # a clone that was never `pip install -e .`-ed
missing = [req for name, req in wanted.items() if importlib.util.find_spec(name) is None]
if missing:
    print(f"this notebook also needs: pip install {' '.join(missing)}")
if sys.platform == "darwin":
    os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")  # must be set before torch is imported

import matplotlib.pyplot as plt
import numpy as np
import torch

import trm_core

# %matplotlib inline
plt.rcParams.update({"figure.figsize": (6, 3.5), "figure.dpi": 100, "axes.grid": True})
DEVICE = trm_core.pick_device()
print(f"trm_core {trm_core.__version__} · torch {torch.__version__} · numpy {np.__version__} · device: {DEVICE}")

# %% tags=["parameters"]
FAST = os.environ.get("TRM_FAST") == "1"  # CI sets TRM_FAST=1: the smallest sizes, a few seconds
FULL = False  # True: the full-size runs (2000 addition steps, 1000 Sudoku steps; 9x9 Sudoku on a GPU): 15+ min

# Warm-up: addition
ADD_DIGITS = 2  # operands of up to this many digits
ADD_STEPS = 200 if FAST else (2000 if FULL else 400)  # optimizer steps
# Sudoku
SUDOKU_SIZE = 9 if (FULL and DEVICE.type == "cuda") else 6  # 9x9 wants a GPU (and FULL); 6x6 learns on a CPU
SUDOKU_PRESET = "trm-mlp-small" if SUDOKU_SIZE == 9 else "trm-mlp-tiny"
N_TRAIN = 200 if FAST else (3000 if SUDOKU_SIZE == 6 else 1000)  # training puzzles
N_TEST = 50 if FAST else 500  # unseen test puzzles
DATA_SEED = 1  # the shipped checkpoint was trained on seed 0's puzzles: these are all new to it
SUDOKU_STEPS = 60 if FAST else (1000 if FULL else 200)  # the live-plotted run
EVAL_EVERY = 30 if FAST else (250 if FULL else 50)  # evaluate on the test puzzles every this many steps
LIVE_PLOT = not FAST  # redraw the plot while training (fast mode: one plot at the end)
USE_PRETRAINED = True  # the long run: load the shipped 6x6 checkpoint when there is one
LONG_MINUTES = 0.25 if FAST else (4.2 if SUDOKU_SIZE == 6 else 30.0)  # else train this long (9x9: on a GPU)
# Resuming
RESUME_FIRST, RESUME_EXTRA = 8, 3  # steps before the checkpoint, steps after it
SEED = 0
THREADS = 2  # CPU threads for torch (2 suits a laptop; the models here are tiny)

# %% [markdown]
# ## 1. Deep supervision, ACT and EMA
#
# The TRM paper (arXiv 2510.04871, [Figure 3][trm]) trains like this (the loop around the
# `deep_recursion` of notebook 02, slightly abridged):
#
# ```python
# for x_input, y_true in train_dataloader:
#     y, z = y_init, z_init
#     for step in range(N_supervision):
#         x = input_embedding(x_input)
#         (y, z), y_hat, q_hat = deep_recursion(x, y, z)
#         loss = softmax_cross_entropy(y_hat, y_true)
#         loss += binary_cross_entropy(q_hat, (y_hat == y_true))
#         loss.backward()
#         opt.step()
#         opt.zero_grad()
#         if q_hat > 0:  # early-stopping
#             break
# ```
#
# Three ideas in ten lines:
#
# - **Deep supervision.** Every supervision step ends with its own loss and its own optimizer step.
#   The state `(y, z)` goes on to the next step *detached*: gradients never flow from one step into
#   the previous one, so memory does not grow with the number of steps, yet the model learns to
#   improve whatever `(y, z)` it is handed.
# - **ACT** (adaptive computational time). The Q head's `q_hat` is trained, by binary cross-entropy,
#   to predict "my answer is exactly right now". When it says so (`q_hat > 0`) the puzzle stops, and
#   its place is taken by a new one. Easy puzzles cost one or two steps, hard ones up to `N_sup`.
# - **Batches of puzzles at different steps.** A real implementation cannot break out of a loop per
#   puzzle. The reference code (and `trm_core`) keeps a *carry*: each row of the batch holds one
#   puzzle, its `(y, z)` and its step count; each optimizer step runs **one** supervision step for
#   the whole batch, and rows that halted take the next puzzle from the data (notebook 03, section 5).
#
# And one idea the pseudocode leaves out:
#
# - **EMA** (exponential moving average). After every optimizer step the trainer updates
#   `shadow = 0.999 shadow + 0.001 weights`; evaluation and checkpoints use `shadow`. Small-data
#   training is noisy, and the average of the last thousand or so weights generalises better than
#   the last one (the paper's [Table 1][trm]: 87.4% with EMA, 79.9% without).
#
# This is one optimizer step of `trm_core.trainer.Trainer`, the whole of it:
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
import inspect

from trm_core.trainer import TrainConfig, Trainer

torch.set_num_threads(THREADS)
print(inspect.getsource(Trainer.train_step))

# %% [markdown]
# `act_step` (in `trm_core/act.py`) is the carry: reset the rows that halted, take new puzzles into
# them, run one supervision step, decide who halts. `act_loss` (in `trm_core/losses.py`) is
# `lm + 0.5 * q_halt_loss`: the per-puzzle mean token cross-entropy (stablemax, notebook 03) plus
# the binary cross-entropy of `q_halt` against "this answer is exactly right".
#
# ## 2. The laptop recipe
#
# The published runs train for a day or more on a GPU with a batch of 768. On a CPU, the workbook's
# tiny presets use `trm_core.recipes.CPU_RECIPE`:

# %%
from trm_core import recipes

PAPER = TrainConfig()  # the defaults: the published Sudoku run's lr, decay, batch, warm-up and EMA (see below)
for key, value in recipes.CPU_RECIPE.items():
    print(f"{key:<16} paper {getattr(PAPER, key)!s:<12} here {value}")
assert PAPER.batch_size == 768 and PAPER.lr == 1e-4 and PAPER.ema_decay == 0.999

# %% [markdown]
# `TrainConfig()`'s defaults are the published Sudoku run's learning rate, weight decay, batch,
# warm-up and EMA; its puzzle-embedding learning rate and decay (1e-2, 0.1) are the published ARC
# run's, the one task where per-puzzle embeddings matter (the 6x6 presets here have none).
#
# Why each change: a batch of 64 instead of 768 because a CPU is slow and a run is minutes long; so
# a larger learning rate (2e-3), a short warm-up (100 steps instead of 2000) and less weight decay
# (0.1 instead of 1.0, which only pays off over tens of thousands of steps); AdamW instead of
# Adam-atan2 (the same idea without the `atan2`; `trm_core` has both); and an EMA decay of 0.99,
# which averages over about the last 100 steps: 0.999 would still remember the random
# initialisation after a 1000-step run.
#
# ## 3. Warm-up: addition
#
# `make_task("addition", size=D)` writes `a + b = ` followed by `D + 1` blanks, and the answer is the
# sum's digits in those blanks (only those positions carry a loss). Carrying a 1 from one column to
# the next is exactly the kind of thing a few rounds of "look again" help with.

# %%
from trm_core.data import arithmetic, make_task

add = make_task("addition", size=ADD_DIGITS, n_train=5000, n_test=200, seed=SEED)
answer_from = 2 * ADD_DIGITS + 2  # the answer positions
for x_row, y_row in zip(add.train.inputs[:3], add.train.labels[:3]):
    print(f"input {arithmetic.to_text(x_row)}   answer positions {arithmetic.to_text(y_row[answer_from:])}")
print("model dimensions:", add.model_dims())
assert add.seq_len == 3 * ADD_DIGITS + 3 and add.vocab_size == 14

# %% [markdown]
# A `Trainer` needs a model, a source of batches (`LoaderSource` adapts a task's loader, which can
# be saved and restored, so runs resume exactly), a `TrainConfig` and, for evaluation, a task (or a
# `Split` of it). `recipes.trainer_for(task, preset, ...)` builds all of it in one call; here the parts,
# Before training, the model is at chance level.

# %%
from trm_core.recipes import LoaderSource

torch.manual_seed(SEED)
add_model = trm_core.build_model("trm-mlp-tiny", **add.model_dims())  # D=64, T=2, n=4, N_sup=6
add_config = TrainConfig(**{**recipes.CPU_RECIPE, "max_steps": ADD_STEPS, "eval_every": ADD_STEPS // 3,
                            "progress": not FAST, "seed": SEED})
add_trainer = Trainer(add_model, LoaderSource(add.train_loader(add_config.batch_size, seed=SEED)), add_config,
                      add, device=DEVICE)
before = add_trainer.evaluate()
print(f"{add_model.num_parameters():,} parameters; before training: exact {100 * before['exact_accuracy']:.1f}%, "
      f"digits {100 * before['cell_accuracy']:.1f}% (chance: 10%)")

# %%
import time

t0 = time.perf_counter()
add_result = add_trainer.fit()
print(f"{add_trainer.step} steps in {time.perf_counter() - t0:.0f} s: exact {100 * add_result['exact_accuracy']:.1f}%, "
      f"digits {100 * add_result['cell_accuracy']:.1f}% on {add_result['n']} unseen sums")

train_records = [r for r in add_trainer.history if r["kind"] == "train"]
first_loss = np.mean([r["loss"] for r in train_records[:3]])
last_loss = np.mean([r["loss"] for r in train_records[-3:]])
print(f"training loss: {first_loss:.2f} -> {last_loss:.2f}")
assert last_loss < 0.85 * first_loss
assert add_result["cell_accuracy"] > max(0.15, before["cell_accuracy"] + 0.1)  # above chance (10% per digit)

# %% [markdown]
# The trainer logs a record every 10 steps (and one per evaluation) in `trainer.history`. Two of the
# training metrics show ACT at work: `steps` is the mean number of supervision steps the puzzles
# that halted in that optimizer step had used, and `q_halt_accuracy` how often the Q head's "done /
# not done" agreed with the truth.

# %%
from trm_core import viz

fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
viz.plot_training_curve(add_trainer.history, ax=axes[0])
halted_records = [r for r in train_records if r["count"] > 0]  # the ACT metrics average over rows that halted
steps_axis = [r["step"] for r in halted_records]
axes[1].plot(steps_axis, [r["steps"] for r in halted_records], color="tab:purple",
             label="supervision steps used (halted rows)")
axes[1].set_ylabel("supervision steps")
axes[1].set_xlabel("optimizer step")
ax_q = axes[1].twinx()
ax_q.plot(steps_axis, [100 * r["q_halt_accuracy"] for r in halted_records], color="tab:green", label="Q head right (%)")
ax_q.set_ylim(0, 100)
ax_q.set_ylabel("Q head right (%)", color="tab:green")
axes[1].set_title("ACT during training")
axes[1].legend(fontsize=8, loc="lower left")
fig.tight_layout()
plt.show()

assert halted_records and all(1 <= r["steps"] <= add_model.config.N_sup for r in halted_records)

# %% [markdown]
# At first nothing is ever right, so the Q head learns to say "not done", puzzles run all
# `N_sup` = 6 steps, and the Q head is "right" simply by always saying no. Once sums start coming
# out right (give it a few thousand steps: the full-size run), the Q head has to learn *which*
# answers are right, and puzzles begin to leave early. A few hundred steps only get the easy part:
# the sum's leading digit, which is almost always 0 or 1, and the general shape of the answer.
#
# **EMA in numbers.** `trainer.evaluate()` uses the averaged weights; the raw weights of the last
# step are `trainer.model`.

# %%
from trm_core.evaluate import evaluate

raw = evaluate(add_trainer.model, add.test.inputs, add.test.labels)
ema = add_trainer.evaluate()
print(f"exact accuracy on unseen sums: raw weights {100 * raw['exact_accuracy']:.1f}%, "
      f"EMA weights {100 * ema['exact_accuracy']:.1f}%")
shadow = add_trainer.ema.shadow
differs = [k for k, p in add_trainer.model.named_parameters() if not torch.equal(p.detach(), shadow[k])]
assert differs  # the averaged weights are a different model ...
assert set(shadow) == {k for k, _ in add_trainer.model.named_parameters()}  # ... with the same parameters

# %% [markdown]
# ## 4. Sudoku, with a live plot
#
# Now the real thing: minimal 6x6 Sudoku (a GPU makes it 9x9 with the bigger `trm-mlp-small`
# preset), generated with `DATA_SEED`, so that none of these puzzles was seen by the checkpoint the
# workbook ships. Evaluating on a task adds the task's own metric to every evaluation:
# here `valid_solution`, which counts any correct grid even if it is not the one in the file.

# %%
task = make_task("sudoku", size=SUDOKU_SIZE, n_train=N_TRAIN, n_test=N_TEST, seed=DATA_SEED)
print(f"{task.train.num_examples} training and {task.test.num_examples} test puzzles, {SUDOKU_SIZE}x{SUDOKU_SIZE}; "
      f"each epoch shows every puzzle once, in a random rule-preserving version (digits relabelled, rows and "
      f"columns shuffled)")
from trm_core.data import sudoku

print(sudoku.pretty(sudoku.from_tokens(task.test.inputs[0]).reshape(SUDOKU_SIZE, SUDOKU_SIZE)))


def sudoku_trainer(max_steps: int, max_minutes: float = 0.0, progress: bool = True) -> Trainer:
    """A fresh model and trainer on `task` (the same recipe as `trm train` and `trm demo`)."""
    return recipes.trainer_for(task, SUDOKU_PRESET, device=DEVICE, max_steps=max_steps, max_minutes=max_minutes,
                               eval_every=EVAL_EVERY, progress=progress, seed=SEED)


sudoku_run = sudoku_trainer(SUDOKU_STEPS, progress=not FAST)
print(f"{SUDOKU_PRESET}: {sudoku_run.model.num_parameters():,} parameters, {SUDOKU_STEPS} optimizer steps, "
      f"evaluating every {EVAL_EVERY}")

# %% [markdown]
# `Trainer.fit(callback)` calls `callback(record)` for every logged record. The callback below
# redraws one figure in place (IPython's `display(..., display_id=True)` and `handle.update`), so you
# watch the loss fall and the test accuracy rise. In fast mode it only collects, and the plot comes
# at the end.

# %%
from IPython.display import display


def training_figure(history):
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    viz.plot_training_curve(history, ax=axes[0])
    train = [r for r in history if r["kind"] == "train" and r["count"] > 0]  # steps: mean over rows that halted
    axes[1].plot([r["step"] for r in train], [r["steps"] for r in train], color="tab:purple")
    axes[1].set_xlabel("optimizer step")
    axes[1].set_ylabel("supervision steps used")
    axes[1].set_title("ACT: steps per puzzle (halted rows)")
    fig.tight_layout()
    return fig


handle = display("training: the plot appears here and is redrawn as it goes", display_id=True) if LIVE_PLOT else None


def live_plot(record: dict) -> None:
    if handle is not None and (record["kind"] == "eval" or record["step"] % 50 == 0):
        fig = training_figure(sudoku_run.history)
        handle.update(fig)
        plt.close(fig)


t0 = time.perf_counter()
sudoku_result = sudoku_run.fit(callback=live_plot)
seconds = time.perf_counter() - t0
if handle is None:
    training_figure(sudoku_run.history)
    plt.show()
print(f"{sudoku_run.step} steps in {seconds:.0f} s ({1000 * seconds / sudoku_run.step:.0f} ms per step): "
      f"test exact {100 * sudoku_result['exact_accuracy']:.1f}%, cells {100 * sudoku_result['cell_accuracy']:.1f}%, "
      f"valid solutions {100 * sudoku_result['valid_solution']:.1f}%")

train = [r for r in sudoku_run.history if r["kind"] == "train"]
evals = [r for r in sudoku_run.history if r["kind"] == "eval"]
assert np.mean([r["loss"] for r in train[-3:]]) < np.mean([r["loss"] for r in train[:3]])
assert len(evals) == SUDOKU_STEPS // EVAL_EVERY
if not FAST:  # a few dozen steps (fast mode) are still in the learning-rate warm-up
    assert sudoku_result["cell_accuracy"] > 1 / SUDOKU_SIZE  # better than guessing a digit

# %% [markdown]
# ## 5. The long run: load a checkpoint if there is one, else train
#
# A few hundred steps teach the model the rules only roughly. The 6x6 checkpoint the workbook ships
# is this same recipe trained for 4 CPU minutes (1036 optimizer steps, on 3000 puzzles of seed 0;
# `data/README.md` has the command), and solves 98.4% of its 500 test puzzles.
# Without it (or with `USE_PRETRAINED = False`, or on a GPU for 9x9) the cell trains for
# `LONG_MINUTES` instead; `trm train --task sudoku --size 6 --minutes 4.2` is the same from a
# terminal.

# %%
from trm_core import checkpoint as ckpt_io
from trm_core import pretrained

long_model, long_ckpt = None, "it is for 6x6 puzzles" if SUDOKU_SIZE != 6 else "USE_PRETRAINED = False"
if USE_PRETRAINED and SUDOKU_SIZE == 6:
    long_model, long_ckpt = pretrained.try_load("trm-sudoku6", device=DEVICE)
LOADED = long_model is not None
if LOADED:
    print(f"loaded the shipped checkpoint ({long_ckpt.get('step', '?')} optimizer steps)")
else:
    print(f"no shipped checkpoint ({long_ckpt}): training for {LONG_MINUTES:g} minutes instead")
if not LOADED:
    long_run = sudoku_trainer(0, max_minutes=LONG_MINUTES, progress=not FAST)  # 0: no step limit
    long_run.config.eval_every = 0  # evaluate once, below
    long_run.fit()
    long_model = long_run.eval_model()
    print(f"trained {long_run.step} steps in {long_run.elapsed:.0f} s")
assert long_model.config.seq_len == task.seq_len

# %% [markdown]
# ## 6. Accuracy after each supervision step
#
# In evaluation every puzzle runs all `N_sup` steps (no early stopping), and `evaluate` reports the
# exact accuracy after each of them. Deep supervision trains the model to improve from any step,
# so the curve should rise and then stay up: the model should not *un*-solve a puzzle by thinking
# longer.

# %%
short = evaluate(sudoku_run.eval_model(), task.test.inputs, task.test.labels)
long = evaluate(long_model, task.test.inputs, task.test.labels)
ax = viz.plot_per_step_accuracy(short["per_step_exact"], label=f"{sudoku_run.step} steps (section 4)")
viz.plot_per_step_accuracy(long["per_step_exact"], ax=ax,
                           label="shipped checkpoint" if LOADED else f"{LONG_MINUTES:g} minutes")
plt.show()
print("long run, exact after each step:", "  ".join(f"{100 * v:.0f}%" for v in long["per_step_exact"]))

per_step = np.array(long["per_step_exact"])
assert per_step[-1] >= per_step[0]
assert np.all(np.diff(per_step) >= -0.02)  # thinking longer never costs more than 2% of the puzzles
if LOADED:
    assert per_step[-1] > 0.8 and per_step[-1] > per_step[0] + 0.1  # recursion is where the accuracy comes from

# %% [markdown]
# The first supervision step alone solves only part of the puzzles; the later steps, which run the
# *same* network on the model's own previous answer, solve most of the rest. That is the whole
# point of a recursive model. Notebook 05 looks inside those steps.
#
# ## 7. Stop, save, resume
#
# A run can be stopped and resumed so exactly that the resumed run ends with **bit-identical**
# weights to a run that was never stopped. For that the checkpoint holds much more than the
# weights: the EMA, the optimizer's moments, the step, every random number generator, the ACT carry
# (the puzzles in flight and their `(y, z)`) and the position in the data stream.
#
# The demonstration, on addition because it is quick: train `RESUME_FIRST` steps and save; build a
# brand-new trainer, load the checkpoint and train `RESUME_EXTRA` more; compare with a trainer that
# ran `RESUME_FIRST + RESUME_EXTRA` steps in one go. (`tests/test_trainer.py` proves the same for
# every optimizer and option.)

# %%
import tempfile
from pathlib import Path


def addition_trainer(max_steps: int, **model_changes) -> Trainer:
    torch.manual_seed(SEED)  # the same initial weights every time
    model = trm_core.build_model("trm-mlp-tiny", **add.model_dims(), **model_changes)
    config = TrainConfig(**{**recipes.CPU_RECIPE, "max_steps": max_steps, "progress": False, "seed": SEED})
    return Trainer(model, LoaderSource(add.train_loader(config.batch_size, seed=SEED)), config,
                   data_description=add.describe(), device="cpu")


run_dir = Path(tempfile.mkdtemp(prefix="trm-resume-"))
first = addition_trainer(RESUME_FIRST)
first.fit()
saved = first.save(run_dir / "checkpoint.pt")
print(f"saved {saved.name} at step {first.step}: {saved.stat().st_size / 1e6:.1f} MB, "
      f"holding {sorted(ckpt_io.load(saved))}")

resumed = addition_trainer(RESUME_FIRST + RESUME_EXTRA)  # a new model, new optimizer, new data stream
resumed.load_state_dict(ckpt_io.load(saved))
assert resumed.step == RESUME_FIRST  # it knows where it was
resumed.fit()
straight = addition_trainer(RESUME_FIRST + RESUME_EXTRA)
straight.fit()

same = all(torch.equal(a, b) for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values()))
same_ema = all(torch.equal(resumed.ema.shadow[k], straight.ema.shadow[k]) for k in straight.ema.shadow)
print(f"step {resumed.step} after resuming, {straight.step} straight; "
      f"weights identical: {same}; EMA identical: {same_ema}")
assert resumed.step == straight.step == RESUME_FIRST + RESUME_EXTRA
assert same and same_ema

# %% [markdown]
# A checkpoint also knows what it belongs to. Loading it into a trainer for another model fails
# with a message that says what differs, instead of a shape error from deep inside PyTorch:

# %%
try:
    addition_trainer(10, hidden_size=32).load_state_dict(ckpt_io.load(saved))
    raise AssertionError("a checkpoint of another model was accepted")
except ckpt_io.CheckpointError as e:
    print(e)
    assert "hidden_size" in str(e)

# %% [markdown]
# From a terminal the same is `trm train --task sudoku --size 6 --minutes 2 --out runs/s6`, then
# `trm train --resume runs/s6 --steps 5000` (Ctrl-C saves before it stops).

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("04.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **04.1** What is the learning rate of the published run (`TrainConfig()`) at optimizer step
# 999, counting from 0?

# %%
from trm_core import exercises

answer = None  # a number
exercises.check("04.1", answer)

# %% [markdown]
# **04.2** A weight jumps from 0 to 1 and stays there. With EMA decay 0.999, after how many
# optimizer steps has its averaged copy first reached 0.5?

# %%
answer = None  # a whole number
exercises.check("04.2", answer)

# %% [markdown]
# **04.3** A carry of 768 rows, and every puzzle halts after exactly 16 supervision steps. How
# many distinct puzzles enter training in 1600 optimizer steps (section 1)?

# %%
answer = None  # a whole number
exercises.check("04.3", answer)

# %% [markdown]
# ## What to try next
#
# 1. **No EMA.** Train section 4's run with `ema=False` in the `TrainConfig` and compare the test
#    accuracy curves. The paper's [Table 1][trm] says 79.9% without EMA against 87.4% with it on
#    Sudoku-Extreme; what do you see at this scale?
# 2. **One supervision step.** Build the Sudoku model with `N_sup=1`: no deep supervision, no ACT.
#    Give it the same training time. How much worse is it, and where does its per-step curve end?
# 3. **Halting exploration.** Set `halt_exploration_prob` to 0 and then to 0.5 in the model config
#    and watch the "steps per puzzle" panel. What does exploration buy the Q head?
# 4. **Softmax or stablemax.** `TrainConfig(loss="softmax")` uses the ordinary cross-entropy. Does
#    the 6x6 run notice the difference?
# 5. **The paper's recipe.** Train the addition task with `TrainConfig()` defaults (batch 768,
#    lr 1e-4, 2000 warm-up steps). How many steps before the loss even moves, and why?
# 6. **Longer numbers.** Train on 4-digit addition and test on 4-digit sums only. Does the per-step
#    accuracy curve rise more slowly than for 2 digits? (Carries have further to travel.)
#
# [trm]: https://arxiv.org/abs/2510.04871
