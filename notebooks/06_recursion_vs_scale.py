# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 · Recursion or scale?
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/06_recursion_vs_scale.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# The TRM paper's central claim is that a *tiny* network applied *many times* beats a larger
# network applied fewer times: its best Sudoku model has 2 layers, and going to 4 layers makes it
# worse. This notebook runs that experiment at laptop scale: a grid of TRMs that differ in the
# number of layers, the inner recursion `n` and the outer recursion `T`, all trained the same way on
# small Sudoku puzzles, with the results saved as a CSV file and drawn four ways.
#
# **What you will learn**
# - how layers, `n` and `T` combine into the *effective depth* `T (n + 1) layers`, and what each
#   costs in parameters and in time;
# - how to run a small, reproducible hyperparameter grid with `trm_core` and save it as CSV;
# - four ways to read such a grid: accuracy against recursion, network size at equal depth, the
#   generalisation gap, and accuracy per parameter;
# - how the result compares with the TRM paper's ablations, and what a laptop grid can and cannot
#   tell you.
#
# **What you need**: notebook 01 or 03 (what `T`, `n` and the layers are). No GPU, no download.
#
# **Time**: 33 seconds on a 2-core CPU as it opens (class mode: a live grid of 4 configurations on
# 4x4 Sudoku, and the full grid drawn from its results shipped in `data/recursion_vs_scale.csv`); 20
# seconds in the fast test mode. `FULL = True` trains the full grid here (9 configurations on 6x6
# Sudoku, 500 steps each): about 25 minutes on a 2-core CPU. A GPU helps little: the models are tiny
# and the batch is small.
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
FULL = False  # True: train the full grid yourself (about 25 minutes on a 2-core CPU); False: a small live grid,
# and the pictures of the full grid drawn from its shipped results (data/recursion_vs_scale.csv)

# The full grid, (layers, T, n) of every configuration: a recursion sweep at 2 layers, three network
# sizes at the same effective depth 16, and the paper's "4 layers, n = 3 against 2 layers, n = 6" at
# T = 2 and equal depth 32: (4, 2, 3) against (2, 2, 7).
FULL_GRID = [
    (2, 1, 1), (2, 1, 3), (2, 2, 2), (2, 2, 3), (2, 3, 3),
    (1, 2, 7), (4, 2, 1),
    (4, 2, 3), (2, 2, 7),
]
FULL_SETTINGS = dict(size=6, n_train=2000, n_test=300, n_eval_train=300, steps=500, hidden_size=64, n_sup=6)
LIVE_GRID = [(2, 1, 1), (2, 2, 3), (1, 2, 7), (4, 2, 1)]  # what class and fast mode train here
LIVE_SETTINGS = dict(size=4, n_train=300, n_test=100, n_eval_train=100, steps=20 if FAST else 150, hidden_size=32,
                     n_sup=4)
GRID, settings = (FULL_GRID, FULL_SETTINGS) if FULL else (LIVE_GRID, LIVE_SETTINGS)
SIZE, N_TRAIN, N_TEST = settings["size"], settings["n_train"], settings["n_test"]
N_EVAL_TRAIN = settings["n_eval_train"]  # training puzzles re-evaluated for the generalisation gap
STEPS, D, N_SUP = settings["steps"], settings["hidden_size"], settings["n_sup"]  # steps: the same for every config
RESULTS_DIR = "results" if FULL else None  # where the CSV goes; None: a temporary folder (leaves the checkout clean)
SEED = 0
THREADS = 1  # CPU threads for torch: on models this small one thread is fastest (and kind to a shared machine)

# %% [markdown]
# ## 1. Three ways to make a TRM deeper
#
# One supervision step of a TRM applies its network `net` (`layers` blocks) `n` times to the latent
# `z` and once to the answer `y`, and repeats that `T` times:
#
# ```
# repeat T times:                    # the first T - 1 without gradients
#     repeat n times: z = net(z + y + x)
#     y = net(y + z)
# ```
#
# so it passes through `T (n + 1) layers` blocks: its *effective depth*. There are three knobs, and
# they do not cost the same:
#
# - **layers** adds parameters, compute, *and* back-propagation depth;
# - **n** adds compute and back-propagation depth (the last cycle keeps its gradients), no parameters;
# - **T** adds compute only: the extra cycles run without gradients.
#
# The TRM paper's ablation on Sudoku-Extreme ([Table 1][trm]) turns each knob: its best model, 2 layers with
# `T = 3`, `n = 6` (effective depth 42), scores **87.4%**; 4 layers with `n = 3` (depth 48, twice the
# parameters) **79.5%**; `T = 2`, `n = 2` (depth 12) **73.7%**. Its [Table 3][trm] compares HRM and TRM at
# growing (k, T) and finds TRM best at (3, 3) (87.4%) and slightly worse at (4, 4) (84.2%):
# more recursion helps up to a point.
#
# Here is the grid of this notebook, with the cost of every configuration:
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
from trm_core.data import make_task

torch.set_num_threads(THREADS)
task = make_task("sudoku", size=SIZE, n_train=N_TRAIN, n_test=N_TEST, seed=SEED)
print(f"{SIZE}x{SIZE} Sudoku: {task.train.num_examples} training puzzles, {task.test.num_examples} unseen test puzzles")


def config_for(layers: int, T: int, n: int):
    return trm_core.preset("trm-mlp-tiny", **task.model_dims(), hidden_size=D, layers=layers, T=T, n=n, N_sup=N_SUP)


print(f"{'layers':>6} {'T':>2} {'n':>3} {'depth':>6} {'params':>8} {'back-propagated blocks':>24}")
for layers, T, n in GRID:
    cfg = config_for(layers, T, n)
    with torch.device("meta"):
        params = trm_core.build_model(cfg).num_parameters()
    print(f"{layers:>6} {T:>2} {n:>3} {cfg.effective_depth:>6} {params:>8,} {(n + 1) * layers:>24}")
    assert cfg.effective_depth == T * (n + 1) * layers

# %% [markdown]
# ## 2. Train every configuration the same way
#
# Every configuration gets the same data, seed, recipe (the laptop recipe of `trm demo`: AdamW,
# batch 64, lr 2e-3) and number of optimizer steps (`STEPS`). Equal steps, not equal time: a deeper
# model is slower per step, and the table records by how much. After training we measure exact
# accuracy (every cell right) on the unseen test puzzles and on `N_EVAL_TRAIN` of the training
# puzzles, with the EMA weights, after all `N_SUP` supervision steps.

# %%
from trm_core.evaluate import evaluate
from trm_core.recipes import CPU_RECIPE, LoaderSource
from trm_core.trainer import TrainConfig, Trainer


def run_config(layers: int, T: int, n: int) -> dict:
    trm_core.seed_everything(SEED)
    model = trm_core.build_model(config_for(layers, T, n))
    warmup = min(CPU_RECIPE["lr_warmup_steps"], STEPS // 5)  # short runs: do not spend them all warming up
    train_cfg = TrainConfig(**{**CPU_RECIPE, "lr_warmup_steps": warmup, "max_steps": STEPS, "progress": False,
                               "seed": SEED})
    loader = LoaderSource(task.train_loader(train_cfg.batch_size, seed=SEED))
    trainer = Trainer(model, loader, train_cfg, task.test, device=DEVICE)
    test = trainer.fit()  # trains STEPS steps, then evaluates on the test puzzles
    seen = evaluate(trainer.eval_model(), task.train.inputs[:N_EVAL_TRAIN], task.train.labels[:N_EVAL_TRAIN])
    cfg = model.config
    return dict(layers=layers, T=T, n=n, effective_depth=cfg.effective_depth, parameters=model.num_parameters(),
                steps=trainer.step, seconds=round(trainer.elapsed, 2), train_exact=seen["exact_accuracy"],
                test_exact=test["exact_accuracy"], train_cell=seen["cell_accuracy"], test_cell=test["cell_accuracy"])


rows = []
for layers, T, n in GRID:
    rows.append(run_config(layers, T, n))
    r = rows[-1]
    print(f"layers={layers} T={T} n={n:<2} depth {r['effective_depth']:>2}: exact test {100 * r['test_exact']:5.1f}% "
          f"train {100 * r['train_exact']:5.1f}%;  "
          f"cells test {100 * r['test_cell']:5.1f}% train {100 * r['train_cell']:5.1f}%  "
          f"({r['seconds']:.1f} s of training)")

# %% [markdown]
# ## 3. Save the results as CSV
#
# One row per configuration, written with the standard library's `csv` module (open it in any
# spreadsheet, or `pandas.read_csv`). The folder is created if it does not exist.

# %%
import csv
import tempfile

results_dir = RESULTS_DIR or tempfile.mkdtemp(prefix="trm-results-")
os.makedirs(results_dir, exist_ok=True)
csv_path = os.path.join(results_dir, "recursion_vs_scale.csv")
COLUMNS = list(rows[0])
with open(csv_path, "w", newline="") as f:
    writer = csv.DictWriter(f, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)

with open(csv_path, newline="") as f:  # read it back: what a later session would load
    table = list(csv.DictReader(f))
print(f"{csv_path}: {len(table)} rows")
print(open(csv_path).read())

assert len(table) == len(GRID) and list(table[0]) == COLUMNS
assert {(int(r["layers"]), int(r["T"]), int(r["n"])) for r in table} == set(GRID)
for r in table:
    assert int(r["effective_depth"]) == int(r["T"]) * (int(r["n"]) + 1) * int(r["layers"])
    assert int(r["steps"]) == STEPS
    assert all(0.0 <= float(r[k]) <= 1.0 for k in ("train_exact", "test_exact", "train_cell", "test_cell"))

# %% [markdown]
# The parameter count depends on the layers only: `n` and `T` are free.

# %%
by_layers = {}
for r in rows:
    by_layers.setdefault(r["layers"], set()).add(r["parameters"])
print({k: sorted(v) for k, v in sorted(by_layers.items())})
assert all(len(v) == 1 for v in by_layers.values())  # one count per number of layers
counts = [next(iter(by_layers[k])) for k in sorted(by_layers)]
assert counts == sorted(counts) and len(set(counts)) == len(counts)  # more layers, more parameters

# %% [markdown]
# ## 4. Four pictures of the grid
#
# The pictures are of the **full grid** (6x6 Sudoku, 500 steps per configuration, 9 configurations):
# trained above when `FULL = True`, otherwise the results shipped with the workbook
# (`data/recursion_vs_scale.csv`, made by running this notebook with `FULL = True` on a 2-core CPU),
# read with the same `csv` module. They show *exact* accuracy (every cell right, what the paper
# reports). Only if the shipped file cannot be had do they fall back to the small live grid, and then
# to *cell* accuracy: 150 steps on 4x4 puzzles are too few for many puzzles to come out exactly right.

# %%
from trm_core import pretrained


def typed(row: dict) -> dict:
    """A CSV row (all strings) with its numbers as numbers."""
    return {k: (float(v) if "." in v else int(v)) for k, v in row.items()}


if FULL:
    grid, source = rows, "trained above"
else:
    try:
        with open(pretrained.path("recursion-vs-scale"), newline="") as f:
            grid, source = [typed(r) for r in csv.DictReader(f)], "the shipped full-size results"
    except pretrained.PretrainedError as e:
        grid, source = rows, "the small live grid above: the shipped results cannot be had"
        print(f"{e}\n")
FULL_RESULTS = grid is not rows or FULL
METRIC = "exact" if FULL_RESULTS else "cell"
TEST, TRAIN = f"test_{METRIC}", f"train_{METRIC}"  # the CSV columns the pictures use
GRID_SIZE, GRID_STEPS = (FULL_SETTINGS["size"], FULL_SETTINGS["steps"]) if FULL_RESULTS else (SIZE, STEPS)
print(f"the pictures show {len(grid)} configurations from {source}, {METRIC} accuracy ({TEST}, {TRAIN})")
assert set(COLUMNS) <= set(grid[0]) and all(int(r["steps"]) == GRID_STEPS for r in grid)
if FULL_RESULTS:
    assert {(r["layers"], r["T"], r["n"]) for r in grid} == set(FULL_GRID)
grid_layers = sorted({r["layers"] for r in grid})

# %% [markdown]
# **Accuracy against recursion.** Test accuracy against effective depth, one colour per number of
# layers. At 2 layers, the points from left to right are the recursion sweep (more `T` and `n`).

# %%
COLOURS = {1: "tab:green", 2: "tab:blue", 4: "tab:red"}


def label(r) -> str:
    return f"T{r['T']} n{r['n']}"


fig, ax = plt.subplots()
for layers in grid_layers:
    sel = sorted((r for r in grid if r["layers"] == layers), key=lambda r: r["effective_depth"])
    ax.plot([r["effective_depth"] for r in sel], [100 * r[TEST] for r in sel], "o-" if layers == 2 else "o",
            color=COLOURS[layers], label=f"{layers} layer{'s' if layers > 1 else ''}")
    for r in sel:
        ax.annotate(label(r), (r["effective_depth"], 100 * r[TEST]), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
ax.set_xlabel("effective depth T (n + 1) layers")
ax.set_ylabel(f"test {METRIC} accuracy (%)")
ax.set_title(f"accuracy against recursion ({GRID_SIZE}x{GRID_SIZE} Sudoku, {GRID_STEPS} steps each)")
ax.set_ylim(-2, 102)
ax.legend()
plt.show()

# %% [markdown]
# **Network size at equal depth.** The configurations whose effective depth is 16 use the same
# number of blocks per supervision step, spent differently: 1 layer recursed 8 times per cycle,
# 2 layers 4 times, 4 layers twice. Only the parameters (and the back-propagated depth) differ.

# %%
equal_depth = sorted((r for r in grid if r["effective_depth"] == 16), key=lambda r: r["layers"])
fig, ax = plt.subplots()
xs = np.arange(len(equal_depth))
ax.bar(xs, [100 * r[TEST] for r in equal_depth], color=[COLOURS[r["layers"]] for r in equal_depth])
ax.set_xticks(xs, [f"{r['layers']} layer{'s' if r['layers'] > 1 else ''}\n"
                   f"T={r['T']} n={r['n']}\n{r['parameters']:,} params"
                   for r in equal_depth])
ax.set_ylabel(f"test {METRIC} accuracy (%)")
ax.set_ylim(0, 100)
ax.set_title("network size at equal effective depth (16)")
plt.show()
assert [r["layers"] for r in equal_depth] == [1, 2, 4]

# %% [markdown]
# **The generalisation gap.** Exact accuracy on training puzzles against unseen ones. Points on the
# diagonal generalise perfectly; points below it have memorised. The paper's argument for tiny
# networks is exactly this: with only 1000 training puzzles a larger network overfits.

# %%
fig, ax = plt.subplots(figsize=(4.5, 4.5))
for r in grid:
    ax.scatter(100 * r[TRAIN], 100 * r[TEST], color=COLOURS[r["layers"]], s=20 + r["effective_depth"])
    ax.annotate(f"L{r['layers']} {label(r)}", (100 * r[TRAIN], 100 * r[TEST]), fontsize=7,
                xytext=(3, -9), textcoords="offset points")
ax.plot([0, 100], [0, 100], "--", color="gray", lw=1)
ax.set_xlim(-2, 102)
ax.set_ylim(-2, 102)
ax.set_xlabel(f"training puzzles, {METRIC} (%)")
ax.set_ylabel(f"unseen puzzles, {METRIC} (%)")
ax.set_title("generalisation gap (marker size: depth)")
plt.show()
gaps = {(r["layers"], r["T"], r["n"]): r[TRAIN] - r[TEST] for r in grid}
print(f"train - test {METRIC} accuracy:", {k: f"{100 * v:+.1f}" for k, v in gaps.items()})

# %% [markdown]
# **Parameter efficiency.** Left: test accuracy against the number of parameters; right: test
# accuracy per thousand parameters. Recursion is free in parameters, so a configuration that
# reaches the same accuracy with fewer layers wins by this measure by a factor of two or four.

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
for r in grid:
    ax1.scatter(r["parameters"], 100 * r[TEST], color=COLOURS[r["layers"]], s=20 + r["effective_depth"])
    ax1.annotate(label(r), (r["parameters"], 100 * r[TEST]), fontsize=7, xytext=(3, 3), textcoords="offset points")
ax1.set_xscale("log")
ax1.set_xlabel("parameters")
ax1.set_ylabel(f"test {METRIC} accuracy (%)")
ax1.set_title("accuracy against size (marker size: depth)")
order = sorted(grid, key=lambda r: (r["layers"], r["effective_depth"]))
xs = np.arange(len(order))
per_k = [100 * r[TEST] / (r["parameters"] / 1000) for r in order]
ax2.bar(xs, per_k, color=[COLOURS[r["layers"]] for r in order])
ax2.set_xticks(xs, [f"L{r['layers']}\n{label(r)}" for r in order], fontsize=7)
ax2.set_ylabel(f"test {METRIC} (%) per 1k parameters")
ax2.set_title("parameter efficiency")
fig.tight_layout()
plt.show()
assert all(v >= 0 for v in per_k)

# %% [markdown]
# ## 5. What the grid says, and what it cannot
#
# Read the four pictures against the paper's ablations (Sudoku-Extreme, TRM paper [Tables 1 and
# 3][trm]):
#
# - **2 layers, T = 3, n = 6 against 4 layers, n = 3**: 87.4% against 79.5% in the paper, at nearly
#   the same effective depth (42 and 48) with twice the parameters. The same question in this grid,
#   at `T = 2` and exactly equal depth 32: `(2, 2, 7)` against `(4, 2, 3)`; and at depth 16 the
#   three sizes `(1, 2, 7)`, `(2, 2, 3)`, `(4, 2, 1)` of the second picture. (Comparing `(4, 2, 3)`
#   with `(2, 2, 3)` instead would double the depth along with the parameters.)
# - **T = 3, n = 6 against T = 2, n = 2**: 87.4% against 73.7% in the paper; the same question in this
#   grid: the 2-layer recursion sweep, left to right in the first picture.
# - **TRM at (k, T) = (1, 1), (2, 2), (3, 3), (4, 4)**: 63.2, 81.9, 87.4, 84.2% in the paper; the same
#   question in this grid: does accuracy keep rising with depth, or level off?
#
# The live grid of sections 2 and 3 (4x4 puzzles, 150 steps; 60 in fast mode) shows how such a grid
# is run; the pictures are of the full grid (6x6 puzzles, 500 steps per configuration, 9
# configurations), which `FULL = True` trains here in about 25 minutes. Three cautions before
# reading a law into the result:
#
# - **One seed.** Differences of a few points between two configurations are within the noise of a
#   single seed; run `SEED = 1, 2` and average before you believe them.
# - **Equal steps is not equal compute.** The deepest configurations take about four times longer
#   per step than the shallowest (the `seconds` column). The paper trains every ablation for the
#   same number of epochs too, so this is the paper's comparison, but at equal *time* the shallow
#   models would get more steps.
# - **An easy task, and little training.** 6x6 Sudoku is much easier than Sudoku-Extreme, where the
#   paper's effects are 8 to 14 points, and 500 steps are a few minutes of training: a larger model
#   may simply not have had the time to overfit, and a deeper one the time to pay off.
#
# What the shipped grid found (one seed, exact accuracy on 300 unseen 6x6 puzzles after 500 steps):
# at equal depth 16, **1 layer 55.3%, 2 layers 36.0%, 4 layers 1.3%**; at depth 32, 2 layers 25.0%
# and 4 layers 1.0%. Fewer layers with more recursion won clearly, as in the paper, but the
# 4-layer networks also had the hardest start: with this recipe they had barely begun to solve
# whole puzzles after 500 steps (79% of cells against 89-92% for the others), so this is partly a
# statement about training speed. Along the 2-layer sweep, accuracy rose from 21.3% (depth 4)
# to 39.3% (depth 24) and then fell to 25.0% at depth 32: the deepest model needed more than 500
# steps (the paper, too, sees accuracy fall past `(k, T) = (3, 3)`: 87.4% to 84.2%).
#
# [trm]: https://arxiv.org/abs/2510.04871

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("06.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **06.1** What is the effective depth of each of `(layers, T, n)` = `(4, 2, 1)`, `(2, 2, 3)` and
# `(1, 2, 7)` (section 1)?

# %%
from trm_core import exercises

answer = None  # {(4, 2, 1): ..., (2, 2, 3): ..., (1, 2, 7): ...}
exercises.check("06.1", answer)

# %% [markdown]
# **06.2** Give a configuration `(layers, T, n)` with one layer and the same effective depth as
# `(2, 3, 3)`.

# %%
answer = None  # a tuple (layers, T, n)
exercises.check("06.2", answer)

# %% [markdown]
# ## What to try next
#
# 1. **More seeds.** Add a `seed` column and run the full grid for seeds 0, 1 and 2. Plot the mean
#    and the spread of test accuracy against effective depth. Which differences survive?
# 2. **Equal time instead of equal steps.** In `run_config`, give `TrainConfig` `max_minutes=1.0` and
#    `max_steps=0` (no step limit) instead of `max_steps=STEPS`. Does the ranking of the configurations change?
# 3. **T against n at equal depth.** `T = 2, n = 3` and `T = 4, n = 1` have the same effective
#    depth (16) at 2 layers, but back-propagate through 8 and 4 blocks. Add both to `GRID`. Which
#    matters more, the depth or the gradient's depth?
# 4. **Width instead of depth.** Add a `hidden_size` column: `D = 32, 64, 128` at 2 layers,
#    `T = 2, n = 3`. How does accuracy per parameter compare with adding layers?
# 5. **Harder puzzles.** `make_task("sudoku", size=6, min_guesses=2, ...)` keeps only puzzles the
#    solver cannot finish without guessing. Does deeper recursion help more on them?
