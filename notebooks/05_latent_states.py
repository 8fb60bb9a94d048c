# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · What the model "thinks": latent states, step by step
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/05_latent_states.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# A trained TRM carries two arrays from one supervision step to the next: the answer `y` and the
# latent `z`. This notebook opens them up on the 6x6 Sudoku model the workbook ships: what the
# answer looks like after every step and how sure the model is of each cell, where `y` and `z`
# travel (and whether they settle), when the model decides it is done and whether it is right to,
# and what happens if you let it think longer than it was trained to. Two explorers let you do all
# of this with sliders.
#
# **What you will learn**
# - that the answer is *read out* of `y` by a linear layer, and what `z` holds when you read it the same way;
# - how the decoded answer and its confidence change over supervision steps;
# - principal component analysis (PCA) of the states, and distances between successive states;
# - halting: when `q_halt` first says "done", and whether `sigmoid(q_halt)` is an honest probability;
# - how to change `n` and `T` at inference, by code and with the explorers.
#
# **What you need**: notebook 00. A trained model: the shipped checkpoint (or the notebook trains
# one, 4 minutes on a CPU).
#
# **Time**: 56 seconds on a 2-core CPU with the shipped checkpoint, its slowest cell 43 s (section
# 7, other step counts and other `n`, `T` on unseen puzzles); 26 seconds in the fast test mode
# `TRM_FAST=1`, well under a minute with a GPU.
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
FULL = False  # True: halting statistics on 500 puzzles instead of 300

USE_PRETRAINED = True  # load the shipped checkpoint when there is one; False: train your own
FALLBACK_MINUTES = 0.25 if FAST else 2.0  # training time when there is no checkpoint (the `trm demo` run)
N_STATES = 16  # puzzles whose states (y, z) we keep and look at
N_EVAL = 100 if FAST else (500 if FULL else 300)  # puzzles for the halting statistics
EXTRA_STEPS = 4 if FAST else 10  # supervision steps beyond training's N_sup, in section 6
UNSEEN_SEED = 2027  # the shipped model was trained on puzzles generated with seed 0
SEED = 0
THREADS = 2  # CPU threads for torch (2 suits a laptop; the models here are tiny)

# %% [markdown]
# ## 1. A trained model and some puzzles it has never seen
#
# Load a checkpoint if there is one, else train (the `trm demo` run; shorter and weaker in fast
# mode, and then the notebook's checks are looser).

# %%
import json

from trm_core import pretrained, recipes, viz
from trm_core.data import sudoku

torch.set_num_threads(THREADS)
model, why = pretrained.try_load("trm-sudoku6", device=DEVICE) if USE_PRETRAINED else (None, "USE_PRETRAINED = False")
PRETRAINED = model is not None
if not PRETRAINED:
    print(f"NO SHIPPED CHECKPOINT ({why}): training one for {FALLBACK_MINUTES:g} minutes. A model trained for "
          "less than the full 2 minutes solves few puzzles: the pictures below then show a beginner.")
if not PRETRAINED:
    settings = json.loads(json.dumps(recipes.DEMO))  # the `trm demo` run: 6x6 Sudoku, trm-mlp-tiny
    settings["train"].update(max_minutes=FALLBACK_MINUTES, eval_every=0)
    if FAST:
        settings.update(n_train=500, n_test=50)
    trainer, _ = recipes.build_run(settings, DEVICE, progress=not FAST)
    trainer.fit()
    model = trainer.eval_model().eval()
cfg = model.config
print(f"{'shipped' if PRETRAINED else 'freshly trained'} TRM: "
      f"D={cfg.hidden_size}, T={cfg.T}, n={cfg.n}, N_sup={cfg.N_sup}")

puzzles = sudoku.generate(6, N_EVAL, seed=UNSEEN_SEED)  # minimal 6x6 puzzles, none from training
questions = np.stack([p.question.reshape(-1) for p in puzzles])  # (N_EVAL, 36) digits, 0 = blank
answers = np.stack([p.answer.reshape(-1) for p in puzzles])
inputs = torch.as_tensor(sudoku.to_tokens(questions))  # (N_EVAL, 36) tokens
labels = sudoku.to_tokens(answers)
assert inputs.shape == (N_EVAL, cfg.seq_len)

# %% [markdown]
# `keep_states=True` makes `model.reason` keep `y` and `z` after every supervision step:
# `(steps, B, L, D)` each, one `D`-vector per cell (this model has no puzzle-embedding positions,
# so `L` is the 36 cells).

# %%
trace = model.reason(inputs[:N_STATES], keep_states=True)
for name in ("logits", "q_halt", "y", "z"):
    print(f"{name:<7} {tuple(getattr(trace, name).shape)}")
assert trace.y.shape == trace.z.shape == (cfg.N_sup, N_STATES, cfg.total_len, cfg.hidden_size)

# %% [markdown]
# ## 2. The answer is read out of `y`; what does `z` hold?
#
# The output head is one linear layer, `D -> V` (`lm_head`), applied to each cell's vector of `y`.
# Applying it to the stored `y` gives back the logits exactly. The TRM paper reinterprets HRM's two
# states this way: `z_H` is the embedded answer `y`, `z_L` a latent reasoning feature `z`. Only `y`
# is trained to be read by the head; nothing says what `z` must hold, so we look: apply the same
# head to `z`.

# %%
def decoded_accuracy(states) -> np.ndarray:
    """Fraction of blank cells right when each step's states are decoded by the output head -> (steps,)."""
    with torch.no_grad():
        digits = np.clip(sudoku.from_tokens(model.lm_head(states).argmax(-1).cpu().numpy()), 0, 6)  # (steps, B, L)
    blanks = questions[:N_STATES] == 0
    return np.array([(d == answers[:N_STATES])[blanks].mean() for d in digits])


with torch.no_grad():
    reread = model.heads(trace.y[-1].to(DEVICE))[0]  # logits (B, L, V) from the last y
print("max |lm_head(y) - logits| =", float((reread.cpu() - trace.logits[-1].cpu()).abs().max()))
from_y, from_z = decoded_accuracy(trace.y.to(DEVICE)), decoded_accuracy(trace.z.to(DEVICE))
print("blank cells right, decoding y:", np.round(from_y, 2))
print("blank cells right, decoding z:", np.round(from_z, 2))

assert torch.allclose(reread.cpu(), trace.logits[-1].cpu(), atol=1e-4)
if PRETRAINED:
    assert from_y[-1] > 0.9  # y holds the answer
    assert from_z[-1] > 0.5  # and, read the same way, z holds much of it too (the next cell's surprise)

# %% [markdown]
# A surprise worth keeping: in this small model `z` decodes to nearly the same digits as `y`. The
# answer is written into both; `z` is updated `n` times per cycle *with* the puzzle `x` added, `y`
# once per cycle *from* `z`, so `y` is in effect a cleaned-up copy of what `z` has worked out. They
# are not the same vectors, though (section 4 puts them far apart), and the paper's [Table 2][trm] finds
# that keeping both beats a single state (87.4% against 71.9% on Sudoku-Extreme). "Latent" means
# that nothing in the loss asks `z` to be an answer, not that it cannot contain one.
#
# ## 3. The decoded answer after every step, coloured by confidence
#
# `plot_steps_grid` turns the logits after each supervision step into digits and colours each cell
# by the stablemax probability of that digit (the loss it was trained with; red unsure, green sure);
# wrong cells get a red frame.
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
steps_view = viz.decode_sudoku_steps(trace, index=0)  # digits, confidence (steps, 6, 6), halt probability
viz.plot_steps_grid(trace, puzzle=puzzles[0].question, index=0, solution=puzzles[0].answer)
plt.show()
print("P(halt) after each step:", np.round(steps_view.halt_probability, 2))

# %% [markdown]
# The same, as an animation for a slide: one frame per supervision step, on the puzzle whose answer
# changes most across the steps (with this model most puzzles are already right after step 1, and
# an animation of those shows nothing happening). ▶ plays it, in JupyterLab, Colab and the book.

# %%
pred = trace.predictions.cpu().numpy()  # (steps, B, L)
changes = (pred[1:] != pred[:-1]).sum(axis=(0, 2))  # (B,) cells changed over the steps
moving = int(changes.argmax())
anim = viz.animate_solve(trace, puzzle=puzzles[moving].question, index=moving, solution=puzzles[moving].answer)
print(f"puzzle {moving}: {int(changes[moving])} cell changes over {cfg.N_sup} steps;", " -> ".join(anim.frame_texts))
assert len(anim.frame_texts) == cfg.N_sup
if PRETRAINED:
    assert changes[moving] > 0  # the answer does change across the steps
viz.animation_html(anim)

# %% [markdown]
# Over all `N_STATES` puzzles: the mean confidence on blank cells, the fraction of blank cells
# right and the mean halting probability after each step.

# %%
blanks = questions[:N_STATES].reshape(N_STATES, 6, 6) == 0
decoded = [viz.decode_sudoku_steps(trace, index=b) for b in range(N_STATES)]
confidence = np.array([[d.confidence[s][blanks[b]].mean() for b, d in enumerate(decoded)]
                       for s in range(cfg.N_sup)]).mean(1)
right = np.array([[(d.digits[s] == puzzles[b].answer)[blanks[b]].mean() for b, d in enumerate(decoded)]
                  for s in range(cfg.N_sup)]).mean(1)
halting = trace.halt_probability.cpu().numpy().mean(1)

x_steps = np.arange(1, cfg.N_sup + 1)
plt.plot(x_steps, confidence, "o-", color="tab:green", label="mean confidence (blanks)")
plt.plot(x_steps, right, "o-", color="tab:blue", label="blank cells right")
plt.plot(x_steps, halting, "s--", color="tab:red", label="mean P(halt)")
plt.xticks(x_steps)
plt.ylim(0, 1.02)
plt.xlabel("supervision step")
plt.title(f"{N_STATES} unseen puzzles")
plt.legend(fontsize=8)
plt.show()

assert confidence[-1] > confidence[0] and right[-1] >= right[0]  # surer, and at least as right
if PRETRAINED:
    assert halting[-1] > halting[0]  # and it knows it

# %% [markdown]
# ## 4. Where `y` and `z` travel: PCA
#
# Each state is `(L, D)`: 36 cells times 64 numbers. To draw a trajectory we average over the
# cells (one `D`-vector per puzzle and step) and project onto the two directions along which those
# vectors vary most: principal component analysis, fitted once on all puzzles' `y` **and** `z`, so
# both live in the same axes. `viz.pca` is ten lines of NumPy (an SVD of the centred points).

# %%
import inspect

print(inspect.getsource(viz.pca))
ys, zs, fit = viz.latent_pca(trace.y, trace.z)  # (steps, B, 2) each, in shared axes
print("variance explained by PC 1 and PC 2:", np.round(fit.explained_variance_ratio, 2))
viz.plot_latent_trajectories(trace.y, trace.z, puzzles=range(4))
plt.show()
assert ys.shape == zs.shape == (cfg.N_sup, N_STATES, 2)
assert np.allclose(np.linalg.norm(fit.components, axis=1), 1.0)  # unit directions

# %% [markdown]
# `y` (circles) and `z` (squares) sit in different regions: the two carry different kinds of
# information, which is the paper's argument for keeping both ([Table 2][trm]: 87.4% with `y` and `z`,
# 71.9% with a single `z`). Both take their largest move in the first step or two and then move
# less and less.
#
# ## 5. How far does each step move the state?
#
# `state_distances` measures `||s_t - s_(t-1)||` over all cells and features, averaged over puzzles.
# Shrinking distances mean the recursion is settling towards a fixed point; HRM assumed it reaches
# one (its 1-step gradient rests on that), TRM does not need to.
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
dy, dz = viz.state_distances(trace.y, relative=True), viz.state_distances(trace.z, relative=True)
viz.plot_state_distances(trace, relative=True)
plt.show()
print("relative change of y per step:", np.round(dy, 3))
print("relative change of z per step:", np.round(dz, 3))
assert dy.shape == dz.shape == (cfg.N_sup - 1,)
if PRETRAINED:
    assert dy[-1] < dy[0] and dz[-1] < dz[0]  # the states settle

# %% [markdown]
# ## 6. Halting: when does the model say "done", and should we believe it?
#
# `evaluate` runs every puzzle through all `N_sup` steps and records the first step at which
# `q_halt > 0` (in training, the puzzle would have stopped there). The *accuracy at halt* is the
# exact accuracy of the answer at that step: what ACT would hand back. Calibration asks whether
# `P(halt) = sigmoid(q_halt)` after the last step matches the fraction of puzzles actually solved.

# %%
from trm_core.evaluate import evaluate

metrics = evaluate(model, inputs, labels)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
viz.plot_halting_histogram(metrics, ax=ax1)
viz.plot_calibration(metrics, ax=ax2)
fig.tight_layout()
plt.show()
print(f"exact after all {cfg.N_sup} steps: {100 * metrics['exact_accuracy']:.1f}%; at the halting step: "
      f"{100 * metrics['accuracy_at_halt']:.1f}% (mean step {metrics['mean_halt_step']:.2f}); "
      f"Q head right about the final answer: {100 * metrics['q_halt_accuracy']:.1f}%")

assert sum(metrics["halt_step_histogram"]) == N_EVAL
assert sum(b["count"] for b in metrics["q_halt_calibration"]) == N_EVAL
if PRETRAINED:
    assert metrics["q_halt_accuracy"] > 0.8
    assert metrics["accuracy_at_halt"] > metrics["exact_accuracy"] - 0.1  # stopping early costs little
    assert metrics["mean_halt_step"] < cfg.N_sup  # and it does stop early

# %% [markdown]
# ## 7. Thinking longer, or harder, than in training
#
# Nothing in the model fixes how many times it recurses. At inference you can run more supervision
# steps than `N_sup`, or change `n` (latent updates per cycle) and `T` (cycles per step):
# `trm_core.widgets.recursion_settings` swaps the config for a while and puts it back afterwards.

# %%
from trm_core.widgets import recursion_settings

longer = evaluate(model, inputs, labels, steps=cfg.N_sup + EXTRA_STEPS)
print(f"{cfg.N_sup} steps: {100 * metrics['exact_accuracy']:.1f}%;  {cfg.N_sup + EXTRA_STEPS} steps: "
      f"{100 * longer['exact_accuracy']:.1f}%")

grid = {}
for n in (1, cfg.n, 2 * cfg.n):
    for T in (1, cfg.T, 2 * cfg.T):
        with recursion_settings(model, n=n, T=T):
            grid[n, T] = evaluate(model, inputs, labels)["exact_accuracy"]
print("exact accuracy (%) by n (rows) and T (columns):")
print("      " + "".join(f"T={T:<6}" for T in (1, cfg.T, 2 * cfg.T)))
for n in (1, cfg.n, 2 * cfg.n):
    print(f"n={n:<3} " + "".join(f"{100 * grid[n, T]:<8.1f}" for T in (1, cfg.T, 2 * cfg.T)))

assert (model.config.n, model.config.T) == (cfg.n, cfg.T)  # the model's own settings are back
assert grid[cfg.n, cfg.T] == metrics["exact_accuracy"]  # the trained setting reproduces section 6
if PRETRAINED:
    assert longer["exact_accuracy"] >= metrics["exact_accuracy"] - 0.02  # extra steps do no harm
    assert grid[1, 1] < grid[cfg.n, cfg.T]  # far less recursion than in training hurts

# %% [markdown]
# A model trained with `n = 4, T = 2` does best close to those values: the network has learned what
# one update should do given how many follow. Much less recursion hurts; more is at best neutral.
# Running extra supervision steps, on the other hand, is safe: deep supervision taught the model to
# keep an answer it is sure of.
#
# ## 8. The explorers
#
# `SudokuStepExplorer` shows one puzzle's answer after a chosen step, beside its confidence,
# correctness and P(halt) curves; sliders pick the puzzle, the step, `n` and `T`.
# `LatentExplorer` shows the PCA trajectories (the chosen puzzle bold) and the distances per step.
# Each is a pure `render(...)` function plus thin ipywidgets wiring, so they can be driven from
# code: below, the controls are set programmatically and the numbers the explorer reports in
# `last_info` are checked. Run the notebook yourself to drag the sliders.
#
# The shipped model solves most puzzles at its first step, and on those there is nothing to
# watch. So the explorers open on the first puzzle whose answer *changes* from step to step
# (`explorer.start_index`; `explorer.changing_puzzles()` lists them all, and the puzzle menu marks
# them "answer changes"). Pass `start=0` to open on the first puzzle instead.

# %%
from IPython.display import display

from trm_core.widgets import LatentExplorer, SudokuStepExplorer

explorer = SudokuStepExplorer(model, puzzles[:24])  # solutions come with the Puzzle objects
changing = explorer.changing_puzzles()
print(f"{len(changing)} of {len(explorer)} puzzles change their answer over the steps: {changing}")
box = explorer.widget()  # builds the controls and renders the start: a changing puzzle, the last step
assert explorer.last_info["step"] == cfg.N_sup and explorer.last_info["puzzle_index"] == explorer.start_index
assert not changing or explorer.start_index == changing[0]

explorer.controls["step"].value = 1  # slide back to the first step
first_step = dict(explorer.last_info)
explorer.controls["step"].value = cfg.N_sup
last_step = dict(explorer.last_info)
print(first_step)
print(last_step)
assert first_step["step"] == 1 and first_step["changed"] is None
assert last_step["wrong"] <= first_step["wrong"]
if changing:  # the start puzzle's answer really changes between steps
    start_pred = explorer.trace(explorer.start_index).predictions[:, 0]  # (steps, cells)
    assert (start_pred[1:] != start_pred[:-1]).any()
if PRETRAINED and changing:
    assert last_step["wrong"] < first_step["wrong"]  # the later steps repaired cells of this puzzle

explorer.controls["n"].value = 1  # think less: one latent update per cycle
print(explorer.last_text)
assert explorer.last_info["n"] == 1 and model.config.n == cfg.n  # only the explorer's run used n = 1
explorer.controls["n"].value = cfg.n

# %% [markdown]
# The widget itself (drag the sliders; on Colab and JupyterLab the picture is redrawn on every
# change):

# %%
box

# %% [markdown]
# And the picture the widget shows at its current settings, as a plain figure for readers without
# a live kernel:

# %%
display(explorer.render(puzzle_index=1, step=2))
print(explorer.last_text)
assert explorer.last_info["puzzle_index"] == 1 and explorer.last_info["step"] == 2

# %% [markdown]
# The latent explorer, driven the same way: pick another puzzle, then double `T` and see that the
# trajectories change (the cache keeps the traces, so going back is instant).

# %%
latent = LatentExplorer(model, puzzles[:N_STATES])
latent_box = latent.widget()  # opens on a changing puzzle too
latent.controls["puzzle_index"].value = 3
at_trained = dict(latent.last_info)
latent.controls["T"].value = 2 * cfg.T
at_double = dict(latent.last_info)
print(latent.last_text)
assert at_trained["puzzle_index"] == at_double["puzzle_index"] == 3
assert at_double["T"] == 2 * cfg.T and model.config.T == cfg.T
assert not np.allclose(at_trained["y_distances"], at_double["y_distances"])  # more cycles, another path
latent.controls["T"].value = cfg.T

# %%
latent_box

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("05.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **05.1** Find a puzzle among `inputs` that the model gets wrong after step 1 but right after its
# last step (section 3).

# %%
from trm_core import exercises

answer = None  # an index into inputs
exercises.check("05.1", answer, model=model, puzzles=inputs, solutions=labels)

# %% [markdown]
# **05.2** Of the puzzles in `inputs` on which the model would halt after step 1 (`q_halt > 0`),
# what fraction does it have right (section 6)?

# %%
answer = None  # a fraction between 0 and 1
exercises.check("05.2", answer, model=model, puzzles=inputs, solutions=labels)

# %% [markdown]
# ## What to try next
#
# 1. **A bad step.** In the step explorer, find a puzzle the model gets wrong at the last step. Is
#    it unsure (red) exactly where it is wrong? Is its P(halt) low? Would you trust the Q head as a
#    "check your answer" signal?
# 2. **Per-cell trajectories.** Section 4 averages over cells. Run `viz.pca` on `trace.y[:, 0]`
#    (one puzzle, every cell as a point) and colour the points by the digit the model writes there.
#    Do cells with the same digit end up together?
# 3. **Decode z, properly.** `lm_head` was trained on `y`, not on `z`, yet section 2 reads much of
#    the answer out of `z` with it. A *new* linear layer fitted on `z` might read more: fit one by
#    least squares on some puzzles' final `z`, test it on others. What does the result say about what `z` holds?
# 4. **HRM's fixed point.** Run section 5 with 30 supervision steps (`model.reason(..., steps=30,
#    keep_states=True)`). Do the distances reach zero? What would that mean for HRM's 1-step gradient
#    argument?
# 5. **Calibration after training.** Section 6's calibration is for the last step. Compute it for
#    step 1 with `trm_core.evaluate.metrics_from_predictions` on a truncated run (`steps=1`). Is the
#    Q head more or less honest early on?
