# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 00 · Start here: a Tiny Recursive Model in one page
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/00_start_here.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# A Tiny Recursive Model (TRM) answers a puzzle by writing a first answer, then improving it, again
# and again, with one small network. This notebook says what that means in one page, gets the
# workbook running on your machine, and then lets a TRM that the workbook ships (trained for four
# minutes on a laptop CPU) solve a 6x6 Sudoku it has never seen, while you watch its answer get
# better one step at a time.
#
# **What you will learn**
# - the three arrays a TRM works with: the question `x`, the answer `y` and the latent `z`;
# - the recursion (update `z` n times, then `y`; repeat `T` times), *deep supervision* (up to
#   `N_sup` improvement steps, each trained) and *ACT* (a head that says "I am done");
# - how to set up the workbook on Colab, with conda or with pip;
# - how to load a trained model, ask it to reason, and look at its answer after every step.
#
# **What you need**: Python. Nothing about TRM, no GPU, no data download.
#
# **Time**: 7 seconds on a 2-core CPU with the shipped checkpoint, the same with a GPU. Without
# the checkpoint the notebook trains its own model first: 4 minutes on a CPU (15 seconds in the fast
# test mode, with a weaker model).
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

USE_PRETRAINED = True  # load the shipped checkpoint when there is one; False: always train your own
FALLBACK_MINUTES = 0.25 if FAST else 2.0  # training time when there is no checkpoint (`trm demo` trains 2)
N_PUZZLES = 8 if FAST else 40  # unseen puzzles in the tour
UNSEEN_SEED = 2026  # the shipped model was trained on puzzles generated with seed 0: another seed, other puzzles
SEED = 0
THREADS = 2  # CPU threads for torch (2 suits a laptop; the models here are tiny)

# %% [markdown]
# ## 1. TRM in one page
#
# The TRM paper (Jolicoeur-Martineau, "Less is More: Recursive Reasoning with Tiny Networks",
# arXiv 2510.04871) describes the model in the caption of its [Figure 1][trm]:
#
# > TRM recursively improves its predicted answer y with a tiny network. It starts with the embedded
# > input question x and initial embedded answer y, and latent z. For up to K improvements steps, it
# > tries to improve its answer y. It does so by i) recursively updating its latent z given the
# > question x, current answer y, and current latent z (recursive reasoning), and then ii) updating
# > its answer y given the current answer y and current latent z. This recursive process allows the
# > model to progressively improve its answer (potentially addressing any errors from its previous
# > answer) in an extremely parameter-efficient manner while minimizing overfitting.
#
# Four ideas, each a later notebook:
#
# - **Three arrays, one network.** `x` is the puzzle, embedded; `y` is the current answer, embedded
#   (one vector per cell); `z` is a latent "scratch pad" of the same shape. One small network `net`
#   (2 blocks) does every update: `z = net(x + y + z)` ("think", `n` times), then `y = net(y + z)`
#   ("answer"). Together that is one *latent recursion*; `T` of them in a row are one *supervision
#   step* (notebooks 02 and 03).
# - **Deep supervision.** The model gets up to `N_sup` = 16 supervision steps per puzzle, each
#   starting from the `(y, z)` the previous one left. During training *every* step's answer is
#   compared with the solution and trained, so the model learns to improve whatever answer it has
#   (notebook 04).
# - **ACT** (adaptive computational time). A second head reads `y` and outputs `q_halt`, the model's
#   own estimate that its answer is already right. In training a puzzle stops as soon as
#   `q_halt > 0`, so easy puzzles leave early and make room for new ones (notebooks 04 and 05).
# - **Smaller than HRM.** The Hierarchical Reasoning Model (arXiv 2506.21734), which TRM simplifies,
#   uses two networks of 4 blocks each, 27M parameters; TRM uses one network of 2 blocks, 5-7M
#   parameters, and scores higher: 87.4% against 55.0% exact on Sudoku-Extreme (TRM paper, [Table 1][trm]).
#   Notebook 01 compares the two.
#
# The picture below is one supervision step, measured rather than drawn: a hook on the network
# records every call it receives during one step of a freshly built TRM with the paper's `T = 3`,
# `n = 6`, and whether PyTorch was recording gradients at that moment.
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
torch.set_num_threads(THREADS)
torch.manual_seed(SEED)
paper_shape = trm_core.build_model("trm-mlp-tiny", vocab_size=8, seq_len=36, T=3, n=6)  # small D, the paper's T and n
calls = []  # (call number, gradients on?) for every call of the network
paper_shape.net.register_forward_hook(lambda module, args, out: calls.append(torch.is_grad_enabled()))
paper_shape.train()
paper_shape(paper_shape.initial_state(1), torch.ones(1, 36, dtype=torch.long))  # one supervision step

T, n = paper_shape.config.T, paper_shape.config.n
kinds = ["y" if (i + 1) % (n + 1) == 0 else "z" for i in range(len(calls))]  # every (n + 1)-th call updates y
fig, ax = plt.subplots(figsize=(10, 1.9))
for i, (kind, grad) in enumerate(zip(kinds, calls)):
    ax.add_patch(plt.Rectangle((i, 0), 0.9, 1, color="tab:blue" if kind == "y" else "tab:orange",
                               alpha=1.0 if grad else 0.35))
    ax.text(i + 0.45, 0.5, kind, ha="center", va="center", color="white" if grad else "black", fontsize=11)
for j in range(T):
    ax.text(j * (n + 1) + (n + 1) / 2 - 0.05, -0.35,
            f"latent recursion {j + 1}" + ("" if j == T - 1 else " (no gradient)"),
            ha="center", va="center", fontsize=9)
ax.set_xlim(-0.2, len(calls) + 0.1)
ax.set_ylim(-0.7, 1.1)
ax.axis("off")
ax.set_title(f"one supervision step: {len(calls)} calls of the same network "
             f"(orange: z = net(x + y + z), blue: y = net(y + z); pale: no gradient)", fontsize=10)
plt.show()

assert len(calls) == T * (n + 1) == 21  # 21 network calls, 42 blocks deep
assert calls == [False] * (T - 1) * (n + 1) + [True] * (n + 1)  # only the last latent recursion is trained
assert kinds.count("y") == T

# %% [markdown]
# A trained TRM is then used like this: start from the fixed initial `y` and `z`, run supervision
# steps, and after each one read the answer out of `y` (a linear layer turns each cell's vector into
# scores for the digits). `model.reason(inputs)` does exactly that and returns everything it saw.
#
# ## 2. Setting up
#
# You are probably already set up, since this cell runs. For the record, the three ways:
#
# - **Colab**: open any notebook with the badge at its top. Its first cell installs `trm_core`
#   from the repository with `pip install --no-deps`, so Colab's own torch and numpy stay as they
#   are. The default CPU runtime is enough: the models here are tiny, and every notebook opens in
#   class mode with shipped checkpoints. A GPU (*Runtime > Change runtime type*) pays off only for
#   the opt-in full-size runs, such as 9x9 Sudoku in notebook 04.
# - **conda** (a Mac with Apple silicon, or anyone who prefers conda-forge), with Python 3.11:
#
#   ```bash
#   git clone https://github.com/trm-workbook/trm-workbook && cd trm-workbook
#   conda env create -f environment.yml      # installs trm_core in editable mode
#   conda activate trm-workbook
#   jupyter lab notebooks/
#   ```
#
# - **pip**, into any environment that already has PyTorch (see `README.md`):
#
#   ```bash
#   pip install -e ".[notebooks,dev]"
#   trm demo        # the command-line version of this notebook's tour: trains 4 minutes, then solves
#   ```
#
#   `make demo` and `make test` do the same in a fresh `.venv` (`make test` runs every notebook in
#   the fast mode `TRM_FAST=1`).
#
# The cell below checks what the rest of the workbook relies on.

# %%
import importlib

from trm_core import pretrained

for module in ("trm_core.data", "trm_core.trainer", "trm_core.evaluate", "trm_core.viz", "trm_core.widgets"):
    importlib.import_module(module)  # raises if something is missing
widgets_ok = importlib.util.find_spec("ipywidgets") is not None
print(f"device {DEVICE}; interactive widgets {'available' if widgets_ok else 'missing: pip install ipywidgets'}; "
      f"shipped checkpoint on disk: {pretrained.available('trm-sudoku6')}")
assert (torch.arange(4.0, device=DEVICE) * 2).sum().item() == 12  # the device really computes

# %% [markdown]
# ## 3. The two-minute tour: a TRM solves a Sudoku it has never seen
#
# The workbook ships `data/trm-sudoku6.pt`: a TRM-MLP (95,618 parameters, the laptop preset
# `trm-mlp-tiny`) trained for 4 CPU minutes (1036 optimizer steps) on 3000 *minimal* 6x6 Sudoku
# (no given can be removed without losing the unique solution), with the recipe `trm demo` uses.
# It solves 98.4% of 500 unseen puzzles (`data/README.md` says how it was made). What was shrunk
# against the paper, and why:
#
# | | paper (TRM-MLP, Sudoku-Extreme) | here | why |
# |---|---|---|---|
# | grid | 9x9, very hard | 6x6, minimal | learnable in minutes on a CPU |
# | hidden size `D` | 512 | 64 | speed |
# | `T`, `n` | 3, 6 | 2, 4 | speed |
# | supervision steps `N_sup` | 16 | 6 | 6x6 needs fewer |
# | training | 36 hours on a GPU | 4 minutes on 2 CPU cores | a classroom |
#
# Load a checkpoint if there is one, else train (the same run as `trm demo`, shorter in fast mode).

# %%
import json

from trm_core import recipes, viz

model, ckpt = pretrained.try_load("trm-sudoku6", device=DEVICE) if USE_PRETRAINED else (None, "USE_PRETRAINED = False")
PRETRAINED = model is not None  # on Colab the checkpoint is downloaded once (0.4 MB)
if PRETRAINED:
    print(f"loaded the shipped checkpoint: {ckpt['model_config']['hidden_size']}-wide TRM trained for "
          f"{ckpt.get('step', '?')} optimizer steps")
else:
    print(f"NO SHIPPED CHECKPOINT ({ckpt})")
if not PRETRAINED:
    print(f"Training a fresh model for {FALLBACK_MINUTES:g} minutes instead (the `trm demo` run). With the full "
          "2 minutes it solves about 99% of unseen puzzles; with less it solves far fewer, so read the tour "
          "below as the portrait of a beginner, with the accuracy measured here.")
    settings = json.loads(json.dumps(recipes.DEMO))  # the `trm demo` run: 6x6 Sudoku, trm-mlp-tiny
    settings["train"].update(max_minutes=FALLBACK_MINUTES, eval_every=0)
    if FAST:
        settings.update(n_train=500, n_test=50)
    trainer, _ = recipes.build_run(settings, DEVICE, progress=not FAST)
    fallback = trainer.fit()  # trains, then evaluates on the run's own unseen test puzzles
    model = trainer.eval_model().eval()  # the EMA weights
    print(f"trained for {trainer.step} optimizer steps ({trainer.elapsed:.0f} s): this model solves "
          f"{100 * fallback['exact_accuracy']:.0f}% of {fallback['n']} unseen puzzles exactly")

cfg = model.config
print(f"{model.num_parameters():,} parameters; T={cfg.T}, n={cfg.n}, N_sup={cfg.N_sup}; "
      f"effective depth per step {cfg.effective_depth} blocks")
assert (cfg.seq_len, cfg.vocab_size) == (36, 8)  # 6x6 cells; PAD, blank, digits 1-6

# %% [markdown]
# Now some puzzles the model has never seen. The shipped model was trained on puzzles generated
# with seed 0; these come from another seed, so they are new (the chance that a random minimal
# puzzle repeats is negligible). Tokens: blank 1, digit `d` -> `d + 1`.

# %%
from trm_core.data import sudoku

puzzles = sudoku.generate(6, N_PUZZLES, seed=UNSEEN_SEED)  # each with exactly one solution
questions = np.stack([p.question.reshape(-1) for p in puzzles])  # (N, 36) digits, 0 = blank
answers = np.stack([p.answer.reshape(-1) for p in puzzles])
inputs = torch.as_tensor(sudoku.to_tokens(questions))  # (N, 36) token ids

print(sudoku.pretty(puzzles[0].question))
print(f"{int((puzzles[0].question == 0).sum())} blanks to fill")
assert inputs.shape == (N_PUZZLES, 36)

# %% [markdown]
# `model.reason` runs every supervision step and keeps the answer's logits after each one
# (`(steps, batch, cells, vocabulary)`) and the halting logit `q_halt`. `plot_steps_grid` decodes
# the answer after every step: bold digits are the givens, the others the model's, each cell
# coloured by how sure the model is (red unsure, green sure), wrong cells framed in red.

# %%

trace = model.reason(inputs)  # all N_sup steps, every puzzle
print("logits", tuple(trace.logits.shape), " q_halt", tuple(trace.q_halt.shape))
viz.plot_steps_grid(trace, puzzle=puzzles[0].question, index=0, solution=puzzles[0].answer)
plt.show()

assert trace.logits.shape == (cfg.N_sup, N_PUZZLES, 36, 8)

# %% [markdown]
# Is the final answer a *valid* Sudoku solution (complete, no repeated digit in a row, column or
# box, and keeping every given)? We check every puzzle, not just the one in the picture.

# %%
final = np.clip(sudoku.from_tokens(trace.predictions[-1].cpu().numpy()), 0, 6)  # (N, 36) digits
valid = ~sudoku.invalid_mask(questions, final)
cells_right = (final == answers)[questions == 0].mean()
print(f"valid solutions: {int(valid.sum())} of {N_PUZZLES}; blank cells filled correctly: {100 * cells_right:.0f}%")
print(f"the model's own confidence P(halt) at the last step: {np.round(trace.halt_probability[-1].cpu().numpy(), 2)}")

# Each puzzle has exactly one solution, so "valid" and "equal to the stored answer" must agree:
assert (valid == (final == answers).all(axis=1)).all()
if PRETRAINED:
    assert valid.mean() >= 0.75  # most unseen puzzles solved (about 97% on 500 puzzles)
else:
    print(f"(not the shipped model: this one was trained for {FALLBACK_MINUTES:g} minutes here, and solves "
          f"{100 * valid.mean():.0f}% of these puzzles; the tour's pictures show a beginner)")

# %% [markdown]
# Does thinking longer help? `trm_core.evaluate.evaluate` runs the same puzzles and reports, among
# other things, the exact accuracy after each supervision step.

# %%
from trm_core.evaluate import evaluate

labels = sudoku.to_tokens(answers)
metrics = evaluate(model, inputs, labels)
per_step = np.array(metrics["per_step_exact"])
print("exact accuracy after each step:", "  ".join(f"{i + 1}: {100 * v:.0f}%" for i, v in enumerate(per_step)))
viz.plot_per_step_accuracy(per_step)
plt.show()

assert per_step[-1] >= per_step[0]  # more steps, not fewer solved
assert np.all(np.diff(per_step) >= -1.5 / N_PUZZLES)  # never worse by more than one puzzle from step to step
if PRETRAINED:
    assert per_step[-1] > per_step[0]  # the recursion really helps: step 1 alone solves fewer

# %% [markdown]
# ### Your turn
#
# Type a 6x6 puzzle of your own (`.` for a blank, rows one after another; boxes are 2 rows by 3
# columns). `sudoku.validate_puzzle` says clearly what is wrong with a malformed one, and the
# printout is what `trm solve --checkpoint data/trm-sudoku6.pt PUZZLE` shows in a terminal.

# %%
my_puzzle = ".2.5...4.3....1...2.3......64......2"  # try your own
grid = sudoku.validate_puzzle(my_puzzle, size=6, unique=True)  # a readable error if it is not a proper puzzle
shown = viz.print_sudoku_steps(model, my_puzzle)  # text, one grid per supervision step
assert shown["final"].shape == (6, 6)

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("00.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **00.1** How many times does TRM call its network in one supervision step of the published
# Sudoku model (`T = 3` cycles, `n = 6`)? Section 1's pseudocode has the answer.

# %%
from trm_core import exercises

answer = None  # a whole number
exercises.check("00.1", answer)

# %% [markdown]
# **00.2** Write a 6x6 puzzle (36 characters, `.` for a blank) with exactly one solution and at
# most 12 givens. Then give it to the model with `viz.print_sudoku_steps(model, your_puzzle)`.

# %%
my_proper_puzzle = None  # a string such as ".2.5...4.3....1...2.3......64......2"
exercises.check("00.2", my_proper_puzzle)

# %% [markdown]
# ## What to try next
#
# 1. **Fewer steps.** Run `model.reason(inputs, steps=1)` and check `valid` again: how much of the
#    work does the first supervision step do on its own? Which puzzles need the later steps?
# 2. **Think harder than in training.** `trm_core.widgets.recursion_settings(model, n=8)` runs the
#    model with more latent updates per cycle. Does accuracy go up, down, or stay? (Notebook 05 has
#    a widget for this.)
# 3. **Harder puzzles.** `sudoku.generate(6, 20, seed=1, min_guesses=3)` makes puzzles the solver
#    cannot finish without guessing. How does the model do on those?
# 4. **Train your own.** Set `USE_PRETRAINED = False` and `FALLBACK_MINUTES = 1` in the parameters
#    cell. How close does one minute of training get to the shipped model?
# 5. **Read the code.** Open `trm_core/trm.py`: the whole recursion of section 1 is about 15 lines.
