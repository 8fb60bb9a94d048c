# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Thinking longer, stopping earlier: compute at inference
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/08_thinking_longer.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# A trained recursive model can be run for as many supervision steps as you like: it was trained
# with `N_sup` of them, but nothing stops you from running fewer (when the puzzle is easy) or more
# (when it is hard). Its Q head says after every step how sure it is that the answer is right. This
# notebook turns those two facts into a dial: **stop earlier** when the model is sure, saving
# compute, and **think longer**, by more steps or by several noisy tries, when accuracy matters
# more than time. Everything here runs on the same trained weights: nothing is retrained.
#
# **What you will learn**
# - `model.solve`: adaptive inference, where each puzzle stops when its halting rule says so and
#   leaves the batch (so the saving is real wall time), and what the TRM and HRM rules are;
# - why halting as trained costs accuracy, and how a threshold chosen on a validation set gets it back;
# - three ways to spend more compute at test time (more steps, noisy samples chosen by the Q head,
#   first-to-halt races) and what each buys, on puzzles the model finds easy and on hard ones;
# - to read an accuracy-against-compute curve.
#
# **What you need**: notebooks 00 and 05 (section 6, halting). The shipped 6x6 TRM and HRM.
#
# **Time**: 111 seconds on a 2-core CPU with the shipped checkpoints, its slowest cell 51 s (section
# 5, noisy samples and races on 200 hard puzzles); 15 seconds in the fast test mode `TRM_FAST=1`.
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
FULL = False  # True: the benchmark's sizes (1000 minimal and 500 hard puzzles; about 10 CPU minutes here)

N_EVAL = 60 if FAST else (1000 if FULL else 300)  # unseen minimal puzzles (the training distribution)
N_HARD = 24 if FAST else (500 if FULL else 200)  # unseen hard puzzles: they need a guess of the exact solver
N_VALIDATION = 60 if FAST else 300  # other unseen puzzles, to choose a halting threshold on
LONG_STEPS = 8 if FAST else 16  # how far beyond the trained N_sup = 6 we let the models think
SAMPLES = (1, 2) if FAST else (1, 2, 4, 8)  # noisy samples per puzzle in section 5
NOISE = 1.0  # std of the Gaussian noise added to z (whose size per cell is about 1) before each step
TEST_SEED, HARD_SEED, VALIDATION_SEED = 12345, 4242, 777  # the shipped models were trained on seed 0
THREADS = 2  # CPU threads for torch (2 suits a laptop; the models here are tiny)

# %% [markdown]
# ## 1. Two trained models and puzzles they have never seen
#
# The shipped TRM (98-99% exact on unseen 6x6 puzzles after its 6 steps) and the shipped HRM (about
# 80%), trained for the same 4 CPU minutes (notebook 01). Two sets of unseen puzzles: **minimal**
# ones like those they were trained on, and **hard** ones: minimal puzzles that the workbook's exact
# solver cannot finish by the two simple rules alone (it has to guess at least once,
# `min_guesses=1`). On the hard set the TRM is not near 100%, and there is something to gain.

# %%
from trm_core import exercises, pretrained, viz
from trm_core.data import make_task

torch.set_num_threads(THREADS)
trm, why = pretrained.try_load("trm-sudoku6", device=DEVICE)
hrm, why_hrm = pretrained.try_load("hrm-sudoku6", device=DEVICE)
if trm is None:
    raise RuntimeError(f"this notebook needs the shipped TRM: {why}")
MODELS = {"TRM": trm, **({"HRM": hrm} if hrm is not None else {})}
if hrm is None:
    print(f"NO SHIPPED HRM ({why_hrm}): the HRM parts are left out")
N_SUP = trm.config.N_sup


def unseen(n, seed, min_guesses=0):
    split = make_task("sudoku", size=6, n_train=1, n_test=n, seed=seed, min_guesses=min_guesses).test
    return torch.as_tensor(split.inputs), split.labels  # (n, 36) tokens each


inputs, labels = unseen(N_EVAL, TEST_SEED)
hard_inputs, hard_labels = unseen(N_HARD, HARD_SEED, min_guesses=1)
val_inputs, val_labels = unseen(N_VALIDATION, VALIDATION_SEED)
tested = {bytes(r) for r in inputs.numpy()}
assert not any(bytes(r) in tested for r in val_inputs.numpy()), "a validation puzzle is also a test puzzle"
for name, m in MODELS.items():
    print(f"{name}: {m.num_parameters():,} parameters, T={m.config.T}, n={m.config.n}, N_sup={m.config.N_sup}")
print(f"{len(inputs)} minimal and {len(hard_inputs)} hard test puzzles, {len(val_inputs)} validation puzzles")

# %% [markdown]
# ## 2. Thinking longer: more supervision steps than trained
#
# `model.reason(inputs, steps=S)` runs every puzzle for `S` steps and returns the answer after each.
# Training used `N_sup = 6`; nothing in the model stops at 6, so we can look past it.

# %%
def exact_per_step(model, x, y, steps):
    pred = model.reason(x, steps=steps).predictions.cpu().numpy()  # (steps, n, 36)
    return (pred == y[None]).all(-1).mean(-1)  # (steps,)


per_step = {(name, s): exact_per_step(m, x, y, LONG_STEPS) for name, m in MODELS.items()
            for s, (x, y) in {"minimal": (inputs, labels), "hard": (hard_inputs, hard_labels)}.items()}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
for ax, s in zip(axes, ("minimal", "hard")):
    for name in MODELS:
        viz.plot_per_step_accuracy(per_step[name, s], ax=ax, label=name)
    ax.axvline(N_SUP, color="k", lw=0.8, ls=":")
    ax.set_title(f"{s} puzzles: accuracy after each step (dotted: trained N_sup)")
plt.show()
for key, acc in per_step.items():
    print(f"{key[0]} on {key[1]} puzzles: {100 * acc[0]:.1f}% after step 1, {100 * acc[N_SUP - 1]:.1f}% after "
          f"step {N_SUP}, {100 * acc[-1]:.1f}% after step {LONG_STEPS}")
assert all(acc[N_SUP - 1] >= acc[0] for acc in per_step.values())  # the trained steps always pay

# %% [markdown]
# Both models keep improving past `N_sup` on the hard puzzles (the TRM by a few points from 6 to 16
# steps on the benchmark's 500, `data/thinking_longer.csv`): the recursion has learned an update
# that keeps repairing the answer, not a fixed six-step program. On the minimal puzzles the TRM is
# nearly done after three steps. That is the other half of the story: most puzzles need far
# fewer steps than `N_sup`.
#
# ## 3. Stopping earlier: adaptive halting with `model.solve`
#
# The Q head was trained so that sigmoid(`q_halt`) is the probability that the current answer is
# right (notebook 03, section 5). Each model has its own **halting rule**:
#
# - TRM halts when `q_halt > 0`, that is P(halt) > 0.5;
# - HRM halts when `q_halt > q_continue` (it was trained with the extra continue target).
#
# In training, ACT uses the rule to move on to new puzzles (notebook 04). At inference `reason`
# ignores it. `model.solve(inputs)` uses it: every puzzle stops at the first step where its rule
# says halt, or at `max_steps`, and a stopped puzzle **leaves the batch**, so the next step runs on
# fewer rows. It returns each puzzle's answer, the step it stopped at, and the compute used.

# %%
sizes = []  # the batch size of every supervision step that solve runs
hook = trm.register_forward_pre_hook(lambda module, args: sizes.append(args[1].shape[0]))
sol = trm.solve(inputs)  # the model's own rule, up to N_sup steps
hook.remove()
trace = trm.reason(inputs)  # every puzzle, all N_sup steps
rows = torch.arange(len(inputs))
assert torch.equal(sol.answers, trace.predictions[sol.steps - 1, rows])  # reason's answer at each puzzle's stop
right = (sol.answers.numpy() == labels).all(-1)
print("rows in the batch at each step:", sizes)
print(f"steps per puzzle: {sol.mean_steps:.2f} of {N_SUP} ({100 * sol.mean_steps / N_SUP:.0f}% of the compute); "
      f"exact {100 * right.mean():.1f}% (all {N_SUP} steps: {100 * per_step['TRM', 'minimal'][N_SUP - 1]:.1f}%)")
assert sizes[0] == len(inputs) and sizes == sorted(sizes, reverse=True) and sum(sizes) == int(sol.row_steps.sum())

# %% [markdown]
# Most puzzles stop after one step, and the batch shrinks fast. But the answer given at the halt is
# right less often than the answer after all six steps: the TRM says "I am right" (P > 0.5) a little
# too early. Halting as trained trades accuracy for compute. How much of each? One all-steps run
# holds everything needed to answer that for every rule at once (where each puzzle would stop and
# whether it is right there): `trm_core.evaluate.halting_tradeoff`. The **oracle** stops each puzzle
# at its first right answer: no halting head can do better.

# %%
from trm_core.evaluate import calibrate_threshold, halting_tradeoff

fig, axes = plt.subplots(1, len(MODELS), figsize=(5.5 * len(MODELS), 3.6), squeeze=False)
tables = {}
for ax, (name, m) in zip(axes[0], MODELS.items()):
    tr = m.reason(inputs)
    tables[name] = halting_tradeoff(tr.predictions.cpu().numpy(), tr.q_halt.cpu().numpy(), labels,
                                    tr.q_continue.cpu().numpy(), m.config.act_continue)
    viz.plot_halting_tradeoff(tables[name], per_step[name, "minimal"][:N_SUP], ax=ax, title=f"{name}: stopping rules")
plt.show()
for name, table in tables.items():
    show = {r["rule"]: r for r in table}
    print(name + ": " + "; ".join(f"{k} {100 * show[k]['exact_accuracy']:.1f}% at {show[k]['mean_steps']:.2f} steps"
                                  for k in ("model", "P>=0.9", "P>=0.99", "all steps", "oracle")))

# %% [markdown]
# A threshold is a dial: halt only when P(halt) >= t. Higher t waits longer and is right more often.
# For the TRM a threshold near 0.95 gets all the accuracy back for a quarter of the compute. For the
# HRM the picture is different: its answers need three to five steps to be right, so even the
# oracle spends about 40% of the steps (on the benchmark's 1000 puzzles, 2.5 of 6, and it gets
# there only by stopping the puzzles it never solves after one step), and its own rule 68%.
#
# ## 4. A better stop: choose the threshold on a validation set
#
# Choosing t on the puzzles we report on would flatter it. `calibrate_threshold` picks the cheapest
# threshold whose accuracy stays within half a point of running all steps, on **other** unseen
# puzzles; then we measure it, with real adaptive solves, on the test puzzles.

# %%
import time

calibrated = {}
for name, m in MODELS.items():
    c = calibrate_threshold(m, val_inputs.numpy(), val_labels, tolerance=0.005)
    calibrated[name] = c["threshold"]
    t0 = time.perf_counter()
    everything = m.reason(inputs)
    all_seconds = time.perf_counter() - t0
    all_right = (everything.predictions[-1].numpy() == labels).all(-1).mean()
    s = m.solve(inputs, halt_threshold=c["threshold"])
    acc = (s.answers.numpy() == labels).all(-1).mean()
    print(f"{name}: threshold {c['threshold']} (validation: {100 * c['exact_accuracy']:.1f}% at "
          f"{c['mean_steps']:.2f} steps). Test: {100 * acc:.1f}% exact at {s.mean_steps:.2f} steps per puzzle "
          f"({100 * s.mean_steps / N_SUP:.0f}% of the compute) in {s.seconds:.2f} s; all {N_SUP} steps: "
          f"{100 * all_right:.1f}% in {all_seconds:.2f} s")
    if name == "TRM" and not FAST:  # the bar: within half a point, at most 40% of the compute
        assert acc >= all_right - 0.015 and s.mean_steps <= 0.4 * N_SUP, (acc, all_right, s.mean_steps)

# %% [markdown]
# For the TRM, the calibrated threshold keeps the accuracy of all six steps (on 1000 unseen puzzles
# in the benchmark: 98.9% against 98.8%) with about 1.5 steps per puzzle, a quarter of the compute,
# and the solve takes a third of the wall time of `reason` (2.3 s against 7.9 s on 2 cores).
# Why not retrain the halting head instead? Its probabilities are already well ordered (section
# 6 of notebook 05: higher P(halt), right more often); it is only the cut at 0.5 that is too
# eager. A threshold fixes the cut without touching the model. The HRM cannot meet the same bar
# with any stop: even its oracle needs 42% of the steps.
#
# ## 5. Thinking harder: noisy samples and first-to-halt races
#
# More steps is one way to spend compute. Another is to try several times: run `K` copies of each
# puzzle with a little Gaussian noise added to the latent `z` before every step (copy 1 stays
# clean), so that each copy wanders down a slightly different path, and let the Q head choose the
# copy it is most sure of (`select="q"`). A cheaper variant races the copies: the first one to halt
# answers, and the others stop there (`select="first"`). `members=[other models]` races whole
# models the same way. Recent work reports large gains from such test-time compute on trained TRMs
# ([arXiv 2605.19943](https://arxiv.org/abs/2605.19943), [arXiv 2601.19085](https://arxiv.org/abs/2601.19085)).
# We try them on the hard puzzles, where there is room to gain.

# %%
def measure(model, x, y, **options):
    s = model.solve(x, **options)
    return dict(exact=float((s.answers.numpy() == y).all(-1).mean()), steps=s.mean_steps, seconds=s.seconds)


noisy = {K: measure(trm, hard_inputs, hard_labels, adaptive=False, samples=K, noise=NOISE) for K in SAMPLES}
race = {K: measure(trm, hard_inputs, hard_labels, samples=K, noise=NOISE, select="first",
                   max_steps=2 * N_SUP, halt_threshold=calibrated["TRM"]) for K in SAMPLES}
fig, ax = plt.subplots(figsize=(6.5, 3.8))
ax.plot(np.arange(1, LONG_STEPS + 1), 100 * per_step["TRM", "hard"], "o-", color="gray", label="more steps")
ax.plot([v["steps"] for v in noisy.values()], [100 * v["exact"] for v in noisy.values()], "^-", color="tab:purple",
        label=f"K noisy samples ({N_SUP} steps each), Q chooses")
ax.plot([v["steps"] for v in race.values()], [100 * v["exact"] for v in race.values()], "v-", color="tab:red",
        label="K noisy samples, first to halt")
for K, v in noisy.items():
    ax.annotate(f"K={K}", (v["steps"], 100 * v["exact"]), fontsize=8, xytext=(4, -10), textcoords="offset points")
ax.set(xscale="log", xlabel="supervision steps per puzzle, all samples (log scale)", ylabel="exact accuracy (%)",
       title="TRM on hard puzzles: ways to spend compute")
ax.legend(fontsize=8)
plt.show()
for K in SAMPLES:
    q, r = noisy[K], race[K]
    print(f"K={K}: Q chooses {100 * q['exact']:.1f}% at {q['steps']:.0f} steps ({q['seconds']:.1f} s); "
          f"first to halt {100 * r['exact']:.1f}% at {r['steps']:.1f} steps ({r['seconds']:.1f} s)")
if not FAST:
    assert noisy[max(SAMPLES)]["exact"] > noisy[1]["exact"]  # noise plus the Q head's choice buys accuracy

# %% [markdown]
# The noise does not make any single copy better; it makes the copies *different*, and the Q head
# is good at telling which one got it right. On the benchmark's 500 hard puzzles, 4 copies lift the
# TRM from 91% to 96%, and 8 copies to 98%, for 4 and 8 times the compute (the HRM: from 50% to 68%
# and 77%). The race is far
# cheaper but gains less: a noisy copy that halts early is sometimes confidently wrong, and a race
# takes the first confident answer, not the best one.
#
# ### Voting over symmetric views
#
# A third way to try several times needs no noise: a Sudoku stays a Sudoku when its digits are
# relabelled, its bands, rows, stacks and columns shuffled, or the grid transposed, and its solution
# moves with it. `trm_core.solve.vote` solves `views` such versions of each puzzle (view 1 is the
# puzzle as given), maps each answer back, and the answer most views give wins (ties: the more
# confident one), as the published ARC evaluation votes over its augmentations. `trm demo` reports
# this vote over 4 views; `trm eval --views K` measures it on any CSV.

# %%
from trm_core.data.dataset import SudokuAugmenter
from trm_core.solve import vote

symmetries = SudokuAugmenter(6, num_aug=None)  # builds version v of any puzzle, and undoes it
voted = {V: vote(trm, hard_inputs, symmetries, views=V, adaptive=False) for V in SAMPLES}
for V, v in voted.items():
    exact = float((v.answers.numpy() == hard_labels).all(-1).mean())
    print(f"{V} views: {100 * exact:.1f}% exact on the hard puzzles; {100 * v.agreement:.0f}% of the views "
          f"give the voted answer; {v.solution.mean_steps:.0f} supervision steps per puzzle")
assert all(v.votes.min() >= 1 for v in voted.values())

# %% [markdown]
# On the 200 hard puzzles of class mode (2 cores): 91% with one view, 97.5% with 2 views, 99.5% with 4
# and with 8, each view running the 6 trained steps. That is more than 4 noisy samples give at the
# same compute: a relabelled, shuffled puzzle sends the model down a more different path than a
# little noise does, and the vote needs the Q head only to break ties.
#
# ### The full curves, measured on 1000 + 500 puzzles
#
# `benchmarks/thinking_longer.py` measures all of this for both models on 1000 minimal and 500 hard
# unseen puzzles (about 15 minutes on a 2-core CPU); its results ship as `data/thinking_longer.csv`.

# %%
import csv

try:
    with open(pretrained.path("thinking-longer"), newline="") as f:
        shipped = list(csv.DictReader(f))
except pretrained.PretrainedError as e:
    shipped = []
    print(f"no shipped results ({e}): run `python benchmarks/thinking_longer.py` to make them")
if shipped:
    names = sorted({r["model"] for r in shipped})
    fig, axes = plt.subplots(len(names), 2, figsize=(11, 3.6 * len(names)), squeeze=False)
    for i, name in enumerate(names):
        for j, s in enumerate(("minimal", "hard")):
            sel = [r for r in shipped if r["model"] == name and r["set"] == s]
            viz.plot_compute_curves(sel, ax=axes[i, j], title=f"{name}, {s} puzzles (n={sel[0]['n']})", n_sup=N_SUP)
    fig.tight_layout()
    plt.show()
    assert {r["method"] for r in shipped} >= {"steps", "halt", "calibrated", "noisy", "first"}

# %% [markdown]
# ## 6. The dial, with sliders
#
# Set the threshold, the number of samples, the noise and how the answer is chosen, and watch the
# accuracy and the compute move (on the hard puzzles, up to 12 steps). Left: at which step each
# puzzle gave its answer, right or wrong. Right: where this setting lands against simply running
# every puzzle for S steps.

# %%
from trm_core.widgets import compute_explorer

explorer = compute_explorer(trm, hard_inputs, hard_labels, max_steps=2 * N_SUP)
explorer.render(threshold=calibrated["TRM"])
print(explorer.last_text)
assert 0 < explorer.last_info["mean_steps"] <= 2 * N_SUP
explorer

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("08.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **08.1** With its own halting rule and at most `N_sup` steps, how many supervision steps per
# puzzle does the TRM spend on `inputs`, on average (section 3)?

# %%
answer = None  # a number of steps per puzzle
exercises.check("08.1", answer, model=trm, puzzles=inputs)

# %% [markdown]
# **08.2** Which threshold of `trm_core.evaluate.THRESHOLDS` is the cheapest (fewest steps per puzzle)
# whose exact accuracy on `hard_inputs` stays within one point of running all `N_sup` steps there?
# (Section 4 does this on other puzzles, with half a point.)

# %%
answer = None  # a threshold, e.g. 0.9
exercises.check("08.2", answer, model=trm, puzzles=hard_inputs, solutions=hard_labels)

# %% [markdown]
# ## What to try next
#
# 1. **Calibrate the HRM.** Section 4 found no cheap stop for it. Would a threshold chosen for at most
#    40% of the compute (instead of for accuracy) lose much? Use `halting_tradeoff` on its rows.
# 2. **How much noise?** Section 5 uses `NOISE = 1.0`. Try 0.25, 0.5 and 2 with 4 samples. Too little
#    and the copies agree; too much and none is right. Where is the best value, and is it the same
#    on the minimal puzzles?
# 3. **Longer races.** Give the first-to-halt race more steps (`max_steps=16`) and a stricter
#    threshold (0.99). Does it catch up with the Q head's choice? At what cost?
# 4. **An ensemble of two models.** Train a second TRM with another seed (`trm train --task sudoku
#    --size 6 --preset trm-mlp-tiny --minutes 4 --seed 1`), load it, and race it against the shipped
#    one: `trm.solve(hard_inputs, members=[other], select="first")`. The same from the command line:
#    `trm eval --checkpoint A --ensemble B --select first --data hard.csv`.
# 5. **Is the saving real?** Time `trm.reason(inputs)` against `trm.solve(inputs, halt_threshold=t)`
#    for several thresholds and plot seconds against mean steps. Is it a straight line? Why not
#    quite (hint: small batches use the CPU less well)?
