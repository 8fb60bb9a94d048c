# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · HRM and TRM, side by side
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/01_hrm_vs_trm.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# The Tiny Recursive Model (TRM, arXiv 2510.04871) is a simplification of the Hierarchical
# Reasoning Model (HRM, arXiv 2506.21734). Both improve an answer by calling small networks over and
# over; they differ in how many networks, how deep the gradient goes, and how they learn when to
# stop. This notebook puts the two algorithms next to each other, from the papers' pseudocode to
# `trm_core`'s code, measures each difference, and then trains both at equal compute.
#
# **What you will learn**
# - the two algorithms, line by line: TRM's one network and *deep recursion* against HRM's two
#   networks and hierarchical cycles;
# - parameters and *effective depth* (blocks traversed per supervision step) of the published models;
# - which network calls receive gradients: HRM's 1-step gradient against TRM's full last cycle,
#   drawn as a timeline recorded with forward hooks;
# - ACT with and without HRM's extra forward pass for the "continue" target;
# - how the two compare when trained for the same time on 6x6 Sudoku, next to the papers' tables.
#
# **What you need**: PyTorch basics. Notebooks 02 and 03 go deeper into the recursion and the
# model; this one can be read first.
#
# **Time**: 82 seconds on a 2-core CPU as it opens, its slowest cell 53 s (class mode: section 5
# trains each model for a few dozen steps to show how, and compares the two checkpoints shipped in
# `data/`, trained for 4 CPU minutes each). `FULL = True` in the parameters cell trains both for
# those 4 minutes here (about 10 minutes in all). A GPU does not help much at this size: the models
# have 0.1M and 0.2M parameters.
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

D = 64  # hidden size of the small models in sections 2-4 (the paper: 512)
FULL = False  # True: section 5 trains both models for 4 CPU minutes each, as the shipped ones were (~10 min)
TRAIN_MINUTES = 4.0 if FULL else None  # section 5: CPU time for EACH model (None: train TRAIN_STEPS steps each)
TRAIN_STEPS = 10 if FAST else 60  # section 5, when TRAIN_MINUTES is None: optimizer steps for each model
N_TEST = 100 if FAST else 500  # unseen 6x6 test puzzles to evaluate on (the demo's task has 500)
USE_SHIPPED = not FULL  # compare the shipped checkpoints (data/trm-sudoku6.pt, data/hrm-sudoku6.pt), when present
SEED = 0
THREADS = 1  # CPU threads for torch: on models this small one thread is fastest (and kind to a shared machine)

# %% [markdown]
# The small models of sections 2-4 stay on the CPU; section 5 trains on `DEVICE`.
#
# ## 1. Two algorithms, from pseudocode to code
#
# **HRM** (the HRM paper's [Figure 4][hrm], which the TRM paper reproduces as its [Figure 2][trm]) has a low-level
# network `f_L` and a high-level network `f_H`, each a stack of 4 transformer blocks. One
# supervision step runs `N` high-level cycles of `T` low-level updates each; only the very last
# `f_L` and `f_H` calls keep their gradients:
#
# ```python
# def hrm(z, x, N=2, T=2):
#     x = input_embedding(x)
#     zH, zL = z
#     with torch.no_grad():
#         for _i in range(N * T - 1):
#             zL = L_net(zL, zH, x)
#             if (_i + 1) % T == 0:
#                 zH = H_net(zH, zL)
#     # 1-step grad
#     zL = L_net(zL, zH, x)
#     zH = H_net(zH, zL)
#     return (zH, zL), output_head(zH)
# ```
#
# **TRM** (the TRM paper's [Figure 3][trm]) keeps the rhythm but uses **one** 2-block network for both updates,
# and back-propagates through a whole latent recursion instead of one step:
#
# ```python
# def latent_recursion(x, y, z, n=6):
#     for i in range(n): # latent reasoning
#         z = net(x, y, z)
#     y = net(y, z) # refine output answer
#     return y, z
#
# def deep_recursion(x, y, z, n=6, T=3):
#     # recursing T-1 times to improve y and z (no gradients needed)
#     with torch.no_grad():
#         for j in range(T-1):
#             y, z = latent_recursion(x, y, z, n)
#     # recursing once to improve y and z
#     y, z = latent_recursion(x, y, z, n)
#     return (y.detach(), z.detach()), output_head(y), Q_head(y)
# ```
#
# The names differ between the papers, so `trm_core` uses TRM's everywhere:
#
# | | HRM paper | TRM paper | reference code | `trm_core` |
# |---|---|---|---|---|
# | the answer state | `zH` | `y` | `z_H` | `y` |
# | the latent state | `zL` | `z` | `z_L` | `z` |
# | outer cycles per supervision step | `N` | `T` | `H_cycles` | `T` |
# | inner updates per cycle | `T` | `n` | `L_cycles` | `n` |
#
# Here is `trm_core`'s TRM. `net(h, injection)` computes the blocks of `h + injection`, so
# `net(z, y + x)` is the paper's `net(x, y, z)`:
#
# [hrm]: https://arxiv.org/abs/2506.21734
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
import inspect

from trm_core import HRM, TRM

torch.set_num_threads(THREADS)
print(inspect.getsource(TRM.latent_recursion))
print(inspect.getsource(TRM.recursion))

# %% [markdown]
# and the HRM. The loop is written so that the last `L` and the last `H` update come out of the
# `no_grad` block, exactly the "1-step grad" of the pseudocode:

# %%
print(inspect.getsource(HRM.recursion))

# %% [markdown]
# The same two loops drawn as one supervision step each, time running left to right (a picture for
# a slide: `trm_core.viz.draw_flow`). Every box is one network call; pale boxes run under
# `no_grad`, framed ones are back-propagated through. `x` enters every `z` (`z_L`) update and
# never the `y` (`z_H`) update; what leaves the step is the answer read from `y`, the halting
# score, and the detached `(y, z)` carried into the next step.

# %%
from trm_core import viz

fig, axes = plt.subplots(2, 1, figsize=(11, 7.2))
viz.draw_flow("trm", n=6, T=3, ax=axes[0])  # the paper's Sudoku TRM
viz.draw_flow("hrm", n=2, T=2, ax=axes[1])  # the paper's HRM
fig.tight_layout()
plt.show()
trm_flow, hrm_flow = viz.flow_boxes("trm", n=6, T=3), viz.flow_boxes("hrm", n=2, T=2)
print(f"TRM: {len(trm_flow)} calls, {sum(b.grad for b in trm_flow)} with gradients; "
      f"HRM: {len(hrm_flow)} calls, {sum(b.grad for b in hrm_flow)} with gradients")
assert (len(trm_flow), sum(b.grad for b in trm_flow)) == (21, 7)
assert (len(hrm_flow), sum(b.grad for b in hrm_flow)) == (6, 2)

# %% [markdown]
# Everything else is shared (`trm_core.recursive.RecursiveReasoner`): the input embedding, the
# fixed initial states, the output head and the Q head. So the two classes differ in *exactly*
# these few lines, and so does everything we measure below.
#
# ## 2. Parameters and effective depth
#
# The published models, built on PyTorch's `meta` device (shapes without storage, so even the 27M
# HRM costs no memory). *Effective depth* is the number of blocks one supervision step passes
# through: `T (n + 1) layers` for TRM, `T (n layers_L + layers_H)` for HRM.

# %%
PAPER = {  # preset -> (Sudoku-Extreme exact accuracy in the TRM paper, parameters as published)
    "hrm-sudoku": (55.0, 27_275_266),
    "trm-att-sudoku": (74.7, 6_828_034),
    "trm-mlp-sudoku": (87.4, 5_028_866),
}
print(f"{'preset':<16} {'networks':<22} {'T':>2} {'n':>2} {'params':>12} {'depth':>6}  Sudoku-Extreme")
configs = {}
for name, (score, published) in PAPER.items():
    with torch.device("meta"):
        m = trm_core.build_model(name)
    c = configs[name] = m.config
    nets = f"L {c.layers} + H {c.h_layers} blocks" if c.arch == "hrm" else f"one net, {c.layers} blocks"
    print(f"{name:<16} {nets:<22} {c.T:>2} {c.n:>2} {m.num_parameters():>12,} {c.effective_depth:>6}  {score}%")
    assert m.num_parameters() == published

assert configs["hrm-sudoku"].effective_depth == 2 * (2 * 4 + 4) == 24
assert configs["trm-mlp-sudoku"].effective_depth == 3 * (6 + 1) * 2 == 42

# %% [markdown]
# Everything that separates the two models, in one table: the structure and the parameters come
# from the presets above (`viz.comparison_table()` builds them), the results are the TRM paper's
# ([Table 4][trm] and [Table 5][trm]); `viz.draw_comparison_table()` draws it for a slide.
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
from IPython.display import Markdown, display

comparison = viz.comparison_table()
display(Markdown(viz.comparison_markdown(comparison)))
rows = {row[0]: row[1:] for row in comparison.rows}
assert rows["parameters (Sudoku)"][0] == f"{PAPER['hrm-sudoku'][1]:,}"
assert rows["effective depth per step"] == [f"{configs['hrm-sudoku'].effective_depth} layers",
                                            f"{configs['trm-mlp-sudoku'].effective_depth} layers"]

# %% [markdown]
# TRM is 4 times smaller and almost twice as deep per supervision step: it trades parameters for
# recursion. (Notebook 03 counts every one of those parameters by hand.)
#
# ## 3. Which network calls receive gradients
#
# A forward hook on a network sees its output; `out.requires_grad` is True exactly when the call
# was made with gradients on, i.e. when backpropagation will go through it. We record every call
# of one training-mode supervision step, in order. To keep it cheap we use narrow models (`D` =
# 64) with the published *recursion shapes*: TRM with 2 layers, `T = 3`, `n = 6`; HRM with two
# 4-layer networks, `T = 2`, `n = 2`.

# %%
torch.manual_seed(SEED)
sudoku9 = dict(vocab_size=11, seq_len=81, hidden_size=D, mlp_multiple=32)
trm_shape = trm_core.build_model("trm-mlp-tiny", **sudoku9, T=3, n=6, layers=2).train()
hrm_shape = trm_core.build_model("hrm-tiny", **sudoku9, T=2, n=2, layers=4, h_layers=4).train()


def call_log(model, nets: dict) -> list[tuple[str, int, bool]]:
    """(network, blocks, requires_grad) of every network call in one supervision step."""
    log = []
    hooks = [
        net.register_forward_hook(
            lambda mod, inp, out, name=name: log.append((name, len(mod.layers), out.requires_grad))
        )
        for name, net in nets.items()
    ]
    inputs = torch.randint(1, 11, (2, 81))
    try:
        model(model.initial_state(2), inputs)  # one supervision step, gradients on (training)
    finally:
        for h in hooks:
            h.remove()
    return log


trm_log = call_log(trm_shape, {"net": trm_shape.net})
hrm_log = call_log(hrm_shape, {"L": hrm_shape.L_net, "H": hrm_shape.H_net})
# TRM calls the same network for both updates: name them by their place in the latent recursion.
n = trm_shape.config.n
trm_log = [("z" if i % (n + 1) < n else "y", blocks, grad) for i, (_, blocks, grad) in enumerate(trm_log)]
for label, log in (("TRM", trm_log), ("HRM", hrm_log)):
    print(f"{label}: " + " ".join(name + ("*" if grad else "") for name, _, grad in log), "  (* = with gradient)")
# The diagram of section 1 drew exactly these calls, with these gradients:
assert [(b.state, b.grad) for b in trm_flow] == [(name, grad) for name, _, grad in trm_log]
assert [b.grad for b in hrm_flow] == [grad for _, _, grad in hrm_log]

# %%
def draw_timeline(ax, log, title):
    """One box per network call, as wide as its number of blocks; orange = back-propagated through."""
    x = 0
    for name, blocks, grad in log:
        ax.barh(0, blocks, left=x, height=0.6, color="#ff9f1c" if grad else "#c8c8c8", edgecolor="black", lw=0.6)
        ax.text(x + blocks / 2, 0, name, ha="center", va="center", fontsize=9)
        x += blocks
    with_grad = sum(b for _, b, g in log if g)
    ax.set_title(f"{title}: {x} blocks per supervision step, {with_grad} of them back-propagated through",
                 fontsize=10, loc="left")
    ax.set_yticks([])
    ax.set_xlim(0, 44)
    ax.grid(False)


fig, axes = plt.subplots(2, 1, figsize=(10, 2.8), sharex=True)
draw_timeline(axes[0], trm_log, "TRM (one 2-block net, T=3, n=6)")
draw_timeline(axes[1], hrm_log, "HRM (L and H nets of 4 blocks, T=2, n=2)")
axes[1].set_xlabel("blocks traversed, in order (grey: no gradient, orange: gradient)")
fig.tight_layout()
plt.show()

trm_grad = [grad for _, _, grad in trm_log]
hrm_grad = [grad for _, _, grad in hrm_log]
assert len(trm_log) == 3 * (6 + 1) == 21 and sum(trm_grad) == 6 + 1  # the whole last latent recursion
assert trm_grad == [False] * 14 + [True] * 7
assert [name for name, _, _ in hrm_log] == ["L", "L", "H"] * 2
assert hrm_grad == [False] * 4 + [True] * 2  # the 1-step gradient: the last L and the last H
assert sum(b for _, b, g in trm_log if g) == 14 and sum(b for _, b, g in hrm_log if g) == 8

# %% [markdown]
# HRM back-propagates through 8 of its 24 blocks, TRM through 14 of its 42 (one full latent
# recursion: `n + 1` calls of a 2-block net). HRM justifies its 1-step gradient with the implicit
# function theorem, which assumes the recursion has reached a fixed point; the TRM paper argues it
# usually has not, and back-propagating through the whole last recursion is the single largest
# gain of its ablation (TRM paper, [Table 1][trm], Sudoku-Extreme): **87.4% with the full recursion,
# 56.5% with the 1-step gradient**.
#
# The gradient really stops where the colours say. Back-propagate a loss on the answer and look at
# which parameters receive a gradient, and whether anything reaches the incoming state:
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
torch.manual_seed(SEED)
inputs = torch.randint(1, 11, (2, 81))
for label, model in (("TRM", trm_shape), ("HRM", hrm_shape)):
    model.zero_grad()
    state = model.initial_state(2)
    state = type(state)(state.y.clone().requires_grad_(True), state.z.clone().requires_grad_(True))
    x = model.embed(inputs)
    new = model.recursion(x, state)
    model.heads(new.y)[0].float().square().mean().backward()
    with_grad = sorted({name.split(".")[0] for name, p in model.named_parameters()
                        if p.grad is not None and p.grad.abs().sum() > 0})
    print(f"{label}: parameters with a gradient: {with_grad};  "
          f"gradient reaches the incoming state: {state.y.grad is not None}")
    assert state.y.grad is None and state.z.grad is None  # every path from it runs through a no_grad cycle
assert (all(p.grad is not None for p in hrm_shape.L_net.parameters())
        and all(p.grad is not None for p in hrm_shape.H_net.parameters()))

# %% [markdown]
# Neither model sends a gradient back to the state it started the step from, even though we made
# that state require one: every path from it to the answer runs through the cycles computed under
# `torch.no_grad()` (TRM's first `T - 1` cycles, all but HRM's last L and H update), and a result
# computed without gradients is a constant for backpropagation. The gradient path starts at the
# no-grad cycles' output. (With `T = 1` a TRM has no such cycles and *would* back-propagate into
# its incoming state; that is why each supervision step also hands its state to the next one
# detached: *deep supervision* makes every step its own little training problem, see notebook 03.)
#
# ## 4. Halting: ACT with and without the extra forward pass
#
# Both models learn when to stop with a Q head on `y[:, 0]`. HRM trains two outputs, `q_halt` and
# `q_continue`, Q-learning style: the target of `q_continue` is the next step's best Q value, so
# every training step runs the model a **second time** from the new state. TRM keeps only
# `q_halt`, trained to predict "my answer is exactly right now", and drops the second pass
# (`no_ACT_continue` in the reference code; TRM paper, [Table 1][trm]: 87.4% without it, 86.1% with it).
#
# `trm_core.act.act_step` holds both rules: when `config.act_continue` is on (HRM) it calls
# `act.continue_target`, the extra pass:
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
from trm_core import act

print(inspect.getsource(act.continue_target))
assert "continue_target(" in inspect.getsource(act.act_step)  # called from act_step, only for act_continue

# %% [markdown]
# Count what one optimizer step of the real `Trainer` costs, with hooks on the model (one call =
# one supervision step) and on its networks, using the laptop presets of section 5 on a batch of
# 6x6 puzzles:

# %%
from trm_core.data import make_task
from trm_core.layers import Net
from trm_core.recipes import CPU_RECIPE, LoaderSource
from trm_core.trainer import TrainConfig, Trainer, throughput

small_task = make_task("sudoku", size=6, n_train=64, n_test=8, seed=SEED)
tiny = {name: trm_core.build_model(name, **small_task.model_dims()) for name in ("trm-mlp-tiny", "hrm-tiny")}


def calls_per_training_step(model) -> dict:
    counts = {"model calls": 0, "network calls": 0, "blocks": 0}

    def count_model(*_):
        counts["model calls"] += 1

    def count_net(mod, *_):
        counts["network calls"] += 1
        counts["blocks"] += len(mod.layers)

    nets = [m for m in model.modules() if isinstance(m, Net)]
    hooks = [model.register_forward_hook(count_model)] + [net.register_forward_hook(count_net) for net in nets]
    trainer = Trainer(model, LoaderSource(small_task.train_loader(32)),
                      TrainConfig(**{**CPU_RECIPE, "batch_size": 32, "progress": False}))
    try:
        trainer.train_step(trainer.source.next_batch())
    finally:
        for h in hooks:
            h.remove()
    return counts


per_step = {name: calls_per_training_step(m) for name, m in tiny.items()}
for name, counts in per_step.items():
    c = tiny[name].config
    print(f"{name:<13} T={c.T} n={c.n} act_continue={c.act_continue!s:<5}  per optimizer step: {counts}")
assert per_step["trm-mlp-tiny"]["model calls"] == 1 and per_step["hrm-tiny"]["model calls"] == 2
assert per_step["trm-mlp-tiny"]["blocks"] == tiny["trm-mlp-tiny"].config.effective_depth
assert per_step["hrm-tiny"]["blocks"] == 2 * tiny["hrm-tiny"].config.effective_depth  # the extra pass doubles it

# %% [markdown]
# HRM runs more blocks forward per optimizer step (24 against 20: its second pass), but TRM
# back-propagates through more of them (10 against 4, section 3), and a backward pass costs about
# twice a forward one. Timed through the trainer on a batch of 64 (on a busy machine these numbers
# move; the ratio is what matters):

# %%
batch64 = next(iter(small_task.train_loader(64)))
speed = {}
for name, m in tiny.items():
    speed[name] = throughput(m, batch64, TrainConfig(**CPU_RECIPE), segments=3 if FAST else 10)["seconds_per_segment"]
    print(f"{name:<13} {1000 * speed[name]:6.1f} ms per optimizer step ({tiny[name].num_parameters():,} parameters)")

# %% [markdown]
# ## 5. Trained at equal compute
#
# Now train both laptop models on the demo's task, minimal 6x6 Sudoku puzzles with a unique
# solution each, for the **same CPU time** (`TRAIN_MINUTES` each), then test them on puzzles
# they never saw. What was shrunk against the papers, and why:
#
# | | paper TRM-MLP | `trm-mlp-tiny` | paper HRM | `hrm-tiny` |
# |---|---|---|---|---|
# | task | 9x9 Sudoku-Extreme | 6x6 minimal | 9x9 Sudoku-Extreme | 6x6 minimal |
# | `D` | 512 | 64 | 512 | 64 |
# | networks | one, 2 blocks | one, 2 blocks | 4 + 4 blocks | 2 + 2 blocks |
# | mixer | MLP | MLP | attention | MLP |
# | `T`, `n` | 3, 6 | 2, 4 | 2, 2 | 2, 2 |
# | supervision steps | 16 | 6 | 16 | 6 |
# | training | 36 h on a GPU | minutes on a CPU | | minutes on a CPU |
#
# Both get the same data, the same CPU recipe (AdamW, batch 64, lr 2e-3) and the same CPU time
# with `FULL = True`; as the notebook opens they get the same small number of optimizer steps
# instead (`TRAIN_STEPS`), enough to see the race run, not to win it.

# %%
import time

from trm_core.evaluate import evaluate
from trm_core.recipes import DEMO, trainer_for

# The demo's task: 3000 training and 500 unseen test puzzles, generated once, shared by both models.
# (Fast mode: 300 + 100 of another seed, so that its test puzzles are still unseen by the shipped models.)
sizes = dict(n_train=300, n_test=N_TEST, seed=101) if FAST else dict(n_train=DEMO["n_train"], n_test=DEMO["n_test"],
                                                                      seed=DEMO["seed"])
task = make_task(DEMO["task"], size=DEMO["size"], **sizes)
test_inputs, test_labels = task.test.inputs[:N_TEST], task.test.labels[:N_TEST]
print(f"{task.train.num_examples} training puzzles, testing on {len(test_inputs)} unseen ones")

runs = {}
for name in ("trm-mlp-tiny", "hrm-tiny"):
    trainer = trainer_for(task, name, device=DEVICE, seed=SEED, progress=False)  # the recipe of `trm train`
    runs[name] = dict(trainer=trainer, seconds=0.0)

# Interleave the two, one optimizer step at a time, always advancing the one that has used less
# time (or done fewer steps): a busy machine then slows both alike.
budget = 60 * TRAIN_MINUTES if TRAIN_MINUTES else TRAIN_STEPS
while True:
    name, run = min(runs.items(), key=lambda kv: kv[1]["seconds"] if TRAIN_MINUTES else kv[1]["trainer"].step)
    if (run["seconds"] if TRAIN_MINUTES else run["trainer"].step) >= budget:
        break
    start = time.perf_counter()
    run["trainer"].train_step(run["trainer"].source.next_batch())
    run["seconds"] += time.perf_counter() - start

for name, run in runs.items():
    trainer = run["trainer"]
    run["metrics"] = m = evaluate(trainer.eval_model(), test_inputs, test_labels)
    print(f"{name:<13} {trainer.step:5d} optimizer steps in {run['seconds']:5.1f} s: "
          f"{100 * m['exact_accuracy']:5.1f}% of {m['n']} unseen puzzles exactly right "
          f"({100 * m['cell_accuracy']:.1f}% of cells)")
    assert m["n"] == len(test_inputs) and m["exact_accuracy"] <= m["cell_accuracy"]  # a right puzzle: all cells right
if not TRAIN_MINUTES:
    assert runs["trm-mlp-tiny"]["trainer"].step == runs["hrm-tiny"]["trainer"].step == TRAIN_STEPS

# %% [markdown]
# A few dozen steps leave both models far from solving anything. Minutes are needed, and who leads
# depends on when you stop: after 2 CPU minutes each (on a busy 2-core machine: 211 TRM and 288 HRM
# steps) we measured neither solving a single puzzle yet, with the HRM ahead on cells (70% against
# 49%); after 4 CPU minutes each, below, the TRM is far ahead. So that a class need not wait, the
# repository ships the two models trained exactly this way for four minutes of CPU time each
# (`data/trm-sudoku6.pt`, `data/hrm-sudoku6.pt`, made by `python benchmarks/hrm_vs_trm.py --minutes 4`).
# Load a checkpoint if there is one, else use the models just trained; the shipped ones are tested
# on the unseen test puzzles of the task stored in the checkpoint (the demo's task: the same as
# above).

# %%
from trm_core import pretrained

SHIPPED = {"trm-mlp-tiny": "trm-sudoku6", "hrm-tiny": "hrm-sudoku6"}
results = {}
for name, ckpt_name in SHIPPED.items():
    model, ckpt = pretrained.try_load(ckpt_name, device=DEVICE) if USE_SHIPPED else (None, "USE_SHIPPED = False")
    if model is not None:
        p = ckpt["data"]["params"]  # the task it was trained on
        same = all(task.params.get(k) == p[k] for k in ("size", "n_train", "n_test", "seed"))
        # (fast mode: this notebook's own unseen puzzles, of another seed than the checkpoint's)
        test = task.test if same or FAST else make_task(
            "sudoku", size=p["size"], n_train=p["n_train"], n_test=p["n_test"], seed=p["seed"]
        ).test
        m = evaluate(model, test.inputs[:N_TEST], test.labels[:N_TEST])
        origin = f"shipped {ckpt_name}.pt, {ckpt['step']} steps"
    else:
        print(f"no shipped {ckpt_name} ({ckpt}): using the model trained above")
        trainer = runs[name]["trainer"]
        model, m = trainer.eval_model(), runs[name]["metrics"]
        origin = f"trained above, {trainer.step} steps"
    results[name] = dict(model=model.eval(), metrics=m, origin=origin)
    print(f"{name:<13} ({origin}): {100 * m['exact_accuracy']:.1f}% exact on {m['n']} unseen puzzles")

assert set(results) == {"trm-mlp-tiny", "hrm-tiny"}
assert all(r["metrics"]["exact_accuracy"] <= r["metrics"]["cell_accuracy"] for r in results.values())
if all(r["origin"].startswith("shipped") for r in results.values()):  # the shipped pair: TRM well ahead
    assert results["trm-mlp-tiny"]["metrics"]["exact_accuracy"] > results["hrm-tiny"]["metrics"]["exact_accuracy"] + 0.1

# %% [markdown]
# Deep supervision means the answer is available after every supervision step. Does thinking
# longer help each model? Exact accuracy after each of the 6 supervision steps:

# %%
from trm_core import viz

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, r in results.items():
    viz.plot_per_step_accuracy(r["metrics"]["per_step_exact"], ax=ax, label=name)
ax.legend(loc="lower right")
ax.set_title("unseen 6x6 puzzles, exact accuracy after each supervision step")
plt.show()
for name, r in results.items():
    per_step = r["metrics"]["per_step_exact"]
    print(f"{name:<13} exact after step 1: {100 * per_step[0]:5.1f}%, after the last step: {100 * per_step[-1]:5.1f}%")
    assert len(per_step) == r["model"].config.N_sup

# %% [markdown]
# ### Next to the papers
#
# The TRM paper's ablation on Sudoku-Extreme ([Table 1][trm], exact accuracy on the 423k test puzzles,
# after training on 1000 puzzles with 1000 augmentations each):
#
# | model | Sudoku-Extreme |
# |---|---|
# | TRM-MLP, T = 3, n = 6 | **87.4** |
# | with the ACT continue loss (HRM's extra pass) | 86.1 |
# | separate networks f_H, f_L | 82.4 |
# | no EMA | 79.9 |
# | 4 layers, n = 3 | 79.5 |
# | self-attention instead of the MLP mixer | 74.7 |
# | T = 2, n = 2 | 73.7 |
# | 1-step gradient (HRM's) | 56.5 |
# | HRM | 55.0 |
#
# and its [Table 3][trm], HRM (4 layers, n = k) against TRM (2 layers, n = 2k) at the same (k, T):
#
# | (k, T) | HRM | TRM |
# |---|---|---|
# | (1, 1) | 46.4 | 63.2 |
# | (2, 2) | 55.0 | 81.9 |
# | (3, 3) | 61.6 | 87.4 |
# | (4, 4) | 59.5 | 84.2 |
#
# Our two laptop models, side by side with the rows of the paper they correspond to:
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
print(f"{'':<14} {'paper (Sudoku-Extreme)':<28} {'here (6x6, CPU)':<16} {'params':>8} {'depth':>6}  source")
PAPER_ROW = {"trm-mlp-tiny": "TRM-MLP 87.4%, 5.0M", "hrm-tiny": "HRM 55.0%, 27.3M"}
for name, r in results.items():
    m, c = r["metrics"], r["model"].config
    print(f"{name:<14} {PAPER_ROW[name]:<28} {100 * m['exact_accuracy']:>5.1f}% exact    "
          f"{r['model'].num_parameters():>8,} {c.effective_depth:>6}  {r['origin']}")

# %% [markdown]
# The shipped checkpoints come from `python benchmarks/hrm_vs_trm.py --minutes 4`, which measured,
# on a 2-core CPU, on all 500 unseen puzzles:
#
# | model | parameters | depth per step | optimizer steps | CPU minutes | exact | cells |
# |---|---|---|---|---|---|---|
# | TRM (trm-mlp-tiny) | 95,618 | 20 | 1036 | 4.0 | 98.4% | 99.5% |
# | HRM (hrm-tiny) | 190,082 | 12 | 1416 | 4.0 | 76.0% | 93.8% |
#
# In the same CPU time HRM made more optimizer steps (each is cheaper, section 4) with twice the
# parameters, and TRM still wins by 22 points, the same direction as the paper's 87.4% against
# 55.0%. Its answer is also usable sooner: read the exact accuracy after the first supervision step
# printed under the per-step curve (the shipped TRM is most of the way there after one step, the
# HRM far from it). Keep in mind what differs from the paper: a much easier
# task, minutes instead of a day of training, tiny widths, and an HRM only twice (not four times)
# the size of the TRM. What carries over is the mechanism: one network, a gradient through the
# whole last recursion, and no extra pass.

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("01.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **01.1** How deep is HRM per supervision step, with its published Sudoku settings (section 2)?
# Count layers, as `effective_depth` does.

# %%
from trm_core import exercises

answer = None  # a whole number of layers
exercises.check("01.1", answer)

# %% [markdown]
# **01.2** In one TRM supervision step with `T = 3`, `n = 6`, how many calls of the network does
# the backward pass reach (section 3)?

# %%
answer = None  # a whole number
exercises.check("01.2", answer)

# %% [markdown]
# **01.3** How many forward passes of the network does one *training* supervision step need for
# ACT, in HRM and in TRM (section 4)?

# %%
answer = None  # {"hrm": ..., "trm": ...}
exercises.check("01.3", answer)

# %% [markdown]
# ## What to try next
#
# 1. **The 1-step gradient in TRM.** Subclass `TRM` and override `recursion` so that only the
#    last `z` update and the `y` update run with gradients (copy the structure of `HRM.recursion`).
#    Check with `call_log` that you get HRM's pattern, then train it for the same time as
#    `trm-mlp-tiny` in section 5. (Paper: 56.5% instead of 87.4%.)
# 2. **TRM with the continue loss.** `trm_core.build_model("trm-mlp-tiny", act_continue=True, ...)`
#    turns HRM's extra pass on for TRM. How many model calls per optimizer step now, and how many
#    optimizer steps fit in `TRAIN_MINUTES`?
# 3. **Equal steps instead of equal time.** In the parameters cell set `TRAIN_MINUTES = None` and
#    `TRAIN_STEPS = 1000`: section 5 then gives both models the same number of optimizer steps.
#    Which one wins now, and which one took longer?
# 4. **[Table 3][trm] at laptop scale.** Train `hrm-tiny` with `n = k` and `trm-mlp-tiny` with `n = 2k`,
#    `T = k` for k = 1, 2, 3 (`trainer_for(task, name, model=dict(n=..., T=...))` overrides the
#    preset's fields, as section 5 calls it). Do you see the paper's peak
#    at k = 3? Notebook 06 runs this kind of grid.
# 5. **Two networks for TRM.** The paper's "separate f_H, f_L" row (82.4%) is `hrm-tiny` with full
#    back-propagation through the last cycle. Write that `recursion` and compare its parameters,
#    effective depth and accuracy with both models above.
#
# [trm]: https://arxiv.org/abs/2510.04871
