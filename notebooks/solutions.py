# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Solutions to the exercises (for teachers)
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/solutions.ipynb)
#
# Worked answers to the exercises at the end of notebooks 00 to 08, each computed here and passed
# through the same checker a student's answer goes through (`trm_core.exercises.check`). Keep this
# notebook out of the students' copy (it is not linked from theirs); the guide, `TEACHING.md`,
# says how. Each answer says why, in a comment, because a right number without the reason teaches
# little.
#
# **Time**: about 20 seconds on a laptop CPU (it loads the shipped 6x6 checkpoint for 05).

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
FAST = os.environ.get("TRM_FAST") == "1"  # CI sets TRM_FAST=1: fewer puzzles for 05
N_PUZZLES = 100 if FAST else 300  # unseen 6x6 puzzles for the exercises of 05
UNSEEN_SEED = 2026

# %%
import math

from trm_core import exercises, pretrained
from trm_core.config import preset
from trm_core.data import maze, sudoku
from trm_core.data.grids import inverse_dihedral
from trm_core.layers import swiglu_width
from trm_core.optim import lr_at
from trm_core.trainer import TrainConfig

results = {}

# %% [markdown]
# ## 00 · Start here

# %%
T, n = 3, 6
results["00.1"] = exercises.check("00.1", T * (n + 1))  # each cycle: n updates of z and one of y

# A generated puzzle is minimal; 6x6 ones have about 8 to 12 givens.
candidates = (sudoku.to_string(p.question) for p in sudoku.generate(6, 20, seed=3))
my_proper_puzzle = next(p for p in candidates if sum(ch != "." for ch in p) <= 12)
print(my_proper_puzzle)
results["00.2"] = exercises.check("00.2", my_proper_puzzle)

# %% [markdown]
# ## 01 · HRM vs TRM

# %%
hrm = preset("hrm-sudoku")
results["01.1"] = exercises.check("01.1", hrm.T * (hrm.n * hrm.layers + hrm.h_layers))  # 2 x (2 x 4 + 4)
results["01.2"] = exercises.check("01.2", n + 1)  # only the last cycle is back-propagated
results["01.3"] = exercises.check("01.3", {"hrm": 2, "trm": 1})  # HRM's continue target: one more pass

# %% [markdown]
# ## 02 · The NumPy reference

# %%
tiny = preset("trm-mlp-tiny", vocab_size=8, seq_len=36)
results["02.1"] = exercises.check("02.1", (4, tiny.total_len, tiny.hidden_size))


def rms_norm(x):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + 1e-5)


def latent_recursion(net, x, y, z, n):
    for _ in range(n):
        z = net(z, y + x)  # think: z from x, y and z
    y = net(y, z)  # answer: y from y and z (no x)
    return y, z


results["02.2"] = exercises.check("02.2", rms_norm)
results["02.3"] = exercises.check("02.3", latent_recursion)

# %% [markdown]
# ## 03 · The PyTorch model

# %%
results["03.1"] = exercises.check("03.1", swiglu_width(512, 4))  # round(4 * 512 * 2/3) = 1365, up to 1536


def stablemax(logits):
    s = np.where(logits >= 0, logits + 1, 1 / (1 - np.minimum(logits, 0)))  # minimum: no 1/0 warning
    return s / s.sum(-1, keepdims=True)


results["03.2"] = exercises.check("03.2", stablemax)
arc_model = preset("trm-att-arc", vocab_size=12, seq_len=900)
results["03.3"] = exercises.check("03.3", arc_model.seq_len + arc_model.num_puzzle_positions)

# %% [markdown]
# ## 04 · Training

# %%
published = TrainConfig()
results["04.1"] = exercises.check("04.1", lr_at(999, published.lr, published.lr_warmup_steps, 0.0))

k, ema = 0, 0.0
while ema < 0.5:  # the averaged copy moves 0.1% of the way to the weight at every step
    ema, k = 0.999 * ema + 0.001 * 1.0, k + 1
results["04.2"] = exercises.check("04.2", k)
results["04.3"] = exercises.check("04.3", 768 * math.ceil(1600 / 16))  # each row takes a puzzle every 16 steps

# %% [markdown]
# ## 05 · Latent states

# %%
model, why = pretrained.try_load("trm-sudoku6", device=DEVICE)
if model is None:
    print(f"no shipped checkpoint ({why}): the answers to 05 need one")
else:
    puzzles = sudoku.generate(6, N_PUZZLES, seed=UNSEEN_SEED)
    inputs = torch.as_tensor(sudoku.to_tokens(np.stack([p.question.reshape(-1) for p in puzzles])))
    labels = sudoku.to_tokens(np.stack([p.answer.reshape(-1) for p in puzzles]))
    out = model.reason(inputs)
    right = (out.predictions.cpu().numpy() == labels[None]).all(-1)  # (steps, puzzles)
    repaired = np.flatnonzero(~right[0] & right[-1])
    print(f"{len(repaired)} of {N_PUZZLES} puzzles are wrong after step 1 and right at the end")
    context = dict(model=model, puzzles=inputs, solutions=labels)
    if len(repaired):
        results["05.1"] = exercises.check("05.1", int(repaired[0]), **context)
    halted = (out.q_halt[0] > 0).cpu().numpy()
    if halted.any():
        results["05.2"] = exercises.check("05.2", float(right[0][halted].mean()), **context)

# %% [markdown]
# ## 06 · Recursion vs scale

# %%
depths = {(layers, T, n): layers * T * (n + 1) for layers, T, n in [(4, 2, 1), (2, 2, 3), (1, 2, 7)]}
results["06.1"] = exercises.check("06.1", depths)
results["06.2"] = exercises.check("06.2", (1, 4, 5))  # 1 x 4 x 6 = 24 = 2 x 3 x 4 (also (1, 3, 7), (1, 6, 3), ...)

# %% [markdown]
# ## 07 · Mazes and ARC

# %%
question = maze.parse(exercises.maze_question())
results["07.1"] = exercises.check("07.1", maze.to_string(maze.solve(question)))  # BFS finds a shortest path
results["07.2"] = exercises.check("07.2", 8 * math.factorial(9))  # black fixed: 9! orders of the other colours


def undo(grid, aug):
    inverse_colours = np.argsort(np.asarray(aug.colours))  # the colour map is a permutation
    return inverse_dihedral(inverse_colours[grid], aug.k)


results["07.3"] = exercises.check("07.3", undo)

# %% [markdown]
# ## 08 · Thinking longer, stopping earlier

# %%
if model is not None:
    from trm_core.data import make_task
    from trm_core.evaluate import THRESHOLDS, halting_tradeoff

    results["08.1"] = exercises.check("08.1", model.solve(inputs).mean_steps, model=model, puzzles=inputs)
    hard = make_task("sudoku", size=6, n_train=1, n_test=N_PUZZLES // 3, seed=4242, min_guesses=1).test
    trace = model.reason(torch.as_tensor(hard.inputs))
    table = halting_tradeoff(trace.predictions.cpu().numpy(), trace.q_halt.cpu().numpy(), hard.labels)
    everything = next(r for r in table if r["rule"] == "all steps")["exact_accuracy"]
    good = [r for r in table if r["threshold"] in THRESHOLDS and r["exact_accuracy"] >= everything - 0.01]
    cheapest = min(good, key=lambda r: r["mean_steps"])["threshold"]  # within a point, fewest steps
    results["08.2"] = exercises.check("08.2", cheapest, model=model, puzzles=hard.inputs, solutions=hard.labels)

# %% [markdown]
# ## 09 · TRM on text

# %%
results["09.1"] = exercises.check("09.1", 579, vocab_size=579)  # uniform over V tokens: perplexity V
results["09.2"] = exercises.check("09.2", 16 - 10)  # positions 10..15 see token 10

# %% [markdown]
# Every solution passes its checker:

# %%
wrong = [id for id, result in results.items() if not result.ok]
print(f"{len(results) - len(wrong)} of {len(exercises.EXERCISES)} exercises answered and right")
assert not wrong, f"these solutions no longer pass their checkers: {wrong}"
assert set(results) == set(exercises.EXERCISES) or model is None

# %% [markdown]
# ## What to try next
#
# - Give a wrong answer to a checker (for example `exercises.check("00.1", 18)`) and read what it
#   says: each usual mistake has its own sentence. `exercises.hint(id)` shows what students see.
# - Add an exercise of your own: write a checker in `trm_core/exercises.py` with the `@exercise`
#   decorator, ask it in a notebook, and answer it here; `tests/test_exercises.py` checks all three.
