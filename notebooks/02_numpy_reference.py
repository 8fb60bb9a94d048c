# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · The recursion in NumPy, checked against PyTorch
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/02_numpy_reference.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# A Tiny Recursive Model is a small network called over and over on its own output. In this
# notebook you write out that loop with nothing but NumPy arrays, look at the shape of every array
# on the way, and then check that `trm_core`'s PyTorch model computes **exactly** the same numbers
# from the same weights.
#
# **What you will learn**
# - what `x`, `y` and `z` are, and their shapes: `(B, L_total, D)` all three;
# - what one block does to a state (token mixing, then a SwiGLU, each followed by an RMSNorm);
# - TRM's *latent recursion* and *deep recursion* (paper pseudocode, then the same in NumPy), and
#   HRM's two-network cycles next to it;
# - why an untrained recursion is chaotic, and why the comparison therefore runs in float64.
#
# **What you need**: NumPy (slicing, broadcasting, `@`); the earlier notebooks help but are not
# required. No GPU, no data download, no training.
#
# **Time**: 7 seconds on a 2-core CPU; the same with a GPU (everything here runs on the CPU).
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

D = 32 if FAST else 64  # hidden size (the paper: 512)
BATCH = 2 if FAST else 4  # puzzles in the batch
CHAOS_STEPS = 5 if FAST else 8  # supervision steps in the float32-vs-float64 experiment
SEED = 0
THREADS = 1  # CPU threads for torch: on models this small one thread is fastest (and kind to a shared machine)

# %% [markdown]
# Everything in this notebook runs on the CPU: NumPy has no GPU, and the PyTorch side of the
# comparison must run in float64, which Apple's MPS does not have. The device printed above is what
# the *other* notebooks will use.
#
# ## 1. A tiny network, and its weights as NumPy arrays
#
# We take the laptop preset `trm-mlp-tiny` (the MLP-mixer TRM) and shrink it further for a 4x4
# Sudoku. What changes against the paper's TRM-MLP for Sudoku-Extreme, and why:
#
# | | paper | here | why |
# |---|---|---|---|
# | hidden size `D` | 512 | 32 or 64 | arrays small enough to print |
# | tokens `L` | 81 (9x9) | 16 (4x4) | same |
# | puzzle positions `P` | 16 | 2 | enough to see what they do |
# | SwiGLU widths rounded to | 256 | 16 | 256 would make a hidden layer 8 times wider than the state |
# | `T`, `n`, layers | 3, 6, 2 | 3, 6, 2 | unchanged: the recursion is the point |
#
# `model.double()` puts the PyTorch model in float64, so that later the two implementations can be
# compared to 1e-9. `numpy_ref.weights_from_torch` copies every weight into a plain dict of float64
# arrays: from then on, the NumPy side never touches torch.

# %%
from trm_core import numpy_ref as ref
from trm_core.data import sudoku

torch.set_num_threads(THREADS)
torch.manual_seed(SEED)
cfg = trm_core.preset(
    "trm-mlp-tiny", vocab_size=6, seq_len=16, hidden_size=D, T=3, n=6, layers=2, mlp_multiple=16,
    puzzle_emb_ndim=D, puzzle_emb_len=2, num_puzzle_identifiers=BATCH,
)
model = trm_core.build_model(cfg).double().eval()

# A fresh model's Q head has zero weights (q = -5 everywhere: "not done yet") and its puzzle
# embeddings are zeros. Both would make the comparison at the end trivially true, so give them the
# kind of random values training would.
with torch.no_grad():
    model.q_head.weight.normal_(0.0, D**-0.5)
    model.q_head.bias.normal_()
    model.puzzle_emb.weight.normal_()

W = ref.weights_from_torch(model)
for name, value in W.items():
    if isinstance(value, list):
        print(f"{name}: {len(value)} blocks, each " + ", ".join(f"{k} {v.shape}" for k, v in value[0].items()))
    else:
        print(f"{name}: {value.shape}")

V, L, P, L_total = cfg.vocab_size, cfg.seq_len, cfg.num_puzzle_positions, cfg.total_len
assert (L, P, L_total) == (16, 2, 18)
assert W["embed_tokens"].shape == (V, D) and W["lm_head"].shape == (V, D) and W["q_head"].shape == (2, D)
assert len(W["net"]) == cfg.layers == 2
assert all(a.dtype == np.float64 for a in W["net"][0].values())

# %% [markdown]
# Matrices keep PyTorch's `nn.Linear` layout `(out_features, in_features)`, so a linear layer is
# `h @ W.T`. The SwiGLU matrices are stacked: `mlp_gate_up` holds the gate matrix on top of the up
# matrix. Note the *token* mixer's matrices: their in-width is `L_total = 18`, the number of
# positions, not `D`. That is what "an MLP across tokens" means, and we will see it at work in a
# moment.
#
# ## 2. The input: a batch of puzzles becomes `x`
#
# One 4x4 Sudoku and `BATCH - 1` rule-preserving shuffles of it (digit relabelling, row and column
# permutations, transposition: the augmentations the paper trains with). Tokens follow the
# reference: PAD 0, blank 1, digit `d` -> `d + 1`, so `V = 6`.

# %%
question = sudoku.parse("...3 .1.2 .4.. ....")
answer = sudoku.unique_solution(question)
rng = np.random.default_rng(SEED)
grids = [question] + [sudoku.augment(question, answer, rng)[0] for _ in range(BATCH - 1)]
inputs = sudoku.to_tokens(np.stack(grids)).reshape(BATCH, L)  # (B, L) token ids
puzzle_ids = np.arange(BATCH)  # each version its own puzzle identifier, as in the paper's ARC setup

print(sudoku.pretty(question))
print("tokens of puzzle 0:", inputs[0])
assert inputs.shape == (BATCH, L) and inputs.min() >= 1 and inputs.max() < V

# %% [markdown]
# `embed` looks up a D-vector per token, puts `P` puzzle positions in front (the puzzle's own vector
# at position 0, zeros after it) and multiplies everything by `sqrt(D)`. The result `x` is computed
# **once** per supervision step and re-injected at every latent update.

# %%
x = ref.embed(W, cfg, inputs, puzzle_ids)  # (B, L_total, D)
print("x:", x.shape)

assert x.shape == (BATCH, L_total, D)
assert np.allclose(x[:, 0], np.sqrt(D) * W["puzzle_emb"][puzzle_ids])  # position 0: the puzzle vector
assert np.all(x[:, 1:P] == 0)  # the other puzzle positions: zeros
assert np.allclose(x[:, P:], np.sqrt(D) * W["embed_tokens"][inputs])  # then the tokens

# %% [markdown]
# The answer `y` and the latent `z` start from two fixed vectors (`y_init`, `z_init`, drawn once at
# initialisation and never trained), copied to every position. They have the same shape as `x`:
# the model adds them together, so they must.

# %%
y0, z0 = ref.initial_state(W, cfg, BATCH)  # (B, L_total, D) each
print("y:", y0.shape, " z:", z0.shape)
assert y0.shape == z0.shape == x.shape
assert np.all(y0 == W["y_init"]) and np.all(z0 == W["z_init"])  # the same vector at every position

# %% [markdown]
# ## 3. One block, shape by shape
#
# The network `net` is a stack of 2 *post-norm* blocks. A block first mixes information across
# positions, then transforms each position's features:
#
# ```
# h = rms(h + mix(h))        # mix tokens (TRM-MLP: a SwiGLU across the sequence axis)
# h = rms(h + swiglu(h))     # transform features, position by position
# ```
#
# Below, the MLP-mixer block is written out by hand with every intermediate shape printed and
# asserted; then it is checked against `numpy_ref.block`, the library's version.

# %%
def show(name, array, expected):
    """Print an array's shape and check it is the expected one."""
    print(f"  {name:<34} {str(array.shape):<16}")
    assert array.shape == expected, f"{name}: expected {expected}, got {array.shape}"


def traced_block(h, w):
    """One TRM-MLP block, written out by hand, printing every shape."""
    B = h.shape[0]
    H_tok = w["token_gate_up"].shape[0] // 2  # hidden width of the token mixer
    H = w["mlp_gate_up"].shape[0] // 2  # hidden width of the feature SwiGLU
    show("h, the block's input", h, (B, L_total, D))
    # Token mixing: put the positions on the last axis, so the matrices act across positions.
    ht = h.transpose(0, 2, 1)
    show("h transposed", ht, (B, D, L_total))
    gate, up = ht @ w["token_gate_up"][:H_tok].T, ht @ w["token_gate_up"][H_tok:].T
    show("token gate, token up", gate, (B, D, H_tok))
    mixed = (ref.silu(gate) * up) @ w["token_down"].T
    show("token SwiGLU output", mixed, (B, D, L_total))
    h = ref.rms_norm(ht + mixed, axis=-1).transpose(0, 2, 1)  # residual + norm over positions
    show("after token mixing", h, (B, L_total, D))
    # Feature SwiGLU: the usual MLP of a transformer, position by position.
    gate, up = h @ w["mlp_gate_up"][:H].T, h @ w["mlp_gate_up"][H:].T
    show("feature gate, feature up", gate, (B, L_total, H))
    h = ref.rms_norm(h + (ref.silu(gate) * up) @ w["mlp_down"].T)  # residual + norm over features
    show("block output", h, (B, L_total, D))
    return h


w0 = W["net"][0]
h_in = z0 + y0 + x  # what the first z update feeds the network
h_out = traced_block(h_in, w0)
assert np.allclose(h_out, ref.block(h_in, w0, cfg), atol=1e-12)  # the library's block: the same
# Post-norm: every position leaves the block with a root mean square of 1 (up to the eps = 1e-5
# added under the square root).
assert np.allclose(np.sqrt(np.mean(h_out**2, axis=-1)), 1.0, atol=1e-4)

# %% [markdown]
# Two widths appear that are neither `L` nor `D`: the SwiGLU hidden widths, `round(4 * width * 2/3)`
# rounded up to a multiple of `mlp_multiple` (here 16): 96 for the features (width `D`) and 48 for
# the tokens (width `L_total = 18`) when `D = 32`. Notebook 03 shows the same rule giving 1536 and
# 512 in the paper's model.
#
# The network is two such blocks after one addition: `net(h, injection) = block2(block1(h + injection))`.
# `numpy_ref.make_net` binds the weights so it can be called the way the paper writes it.

# %%
net = ref.make_net(W["net"], cfg)  # net(h, injection) -> (B, L_total, D)
h_net = net(z0, y0 + x)
assert h_net.shape == (BATCH, L_total, D)
assert np.allclose(h_net, ref.block(ref.block(z0 + y0 + x, W["net"][0], cfg), W["net"][1], cfg), atol=1e-12)
print("net(z, y + x):", h_net.shape)

# %% [markdown]
# ## 4. TRM: latent recursion and deep recursion
#
# The TRM paper (arXiv 2510.04871, [Figure 3][trm]) gives the whole algorithm as PyTorch-like pseudocode:
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
# `net(x, y, z)` means "the network applied to the sum `x + y + z`": the inputs are *injected by
# addition*. The same network does both jobs: with `x` in the sum it refines the latent `z`
# ("think"), without `x` it rewrites the answer `y` from `z` ("act").
#
# Here is `latent_recursion` once more, in NumPy, logging what each call updates. (The paper's
# `y` is the reference code's `z_H`, its `z` is `z_L`, and `T`, `n` are `H_cycles`, `L_cycles`.)
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
def traced_latent_recursion(x, y, z, n, log):
    for _ in range(n):
        z = net(z, y + x)  # z = net(x + y + z)   (B, L_total, D)
        log.append("z")
    y = net(y, z)  # y = net(y + z)               (B, L_total, D)
    log.append("y")
    return y, z


log = []
y1, z1 = traced_latent_recursion(x, y0, z0, cfg.n, log)
print("one latent recursion updates:", " ".join(log))
assert log == ["z"] * cfg.n + ["y"]
assert y1.shape == z1.shape == (BATCH, L_total, D)
y_lib, z_lib = ref.latent_recursion(net, x, y0, z0, cfg.n)  # the library's version
assert np.array_equal(y1, y_lib) and np.array_equal(z1, z_lib)

# %% [markdown]
# `deep_recursion` is `T` latent recursions in a row. In PyTorch the first `T - 1` run under
# `torch.no_grad()` and only the last is back-propagated through; the *values* are the same either
# way, and NumPy has no gradients, so here it is one loop. We count the network calls and the
# blocks they pass through: this is the "effective depth" of one supervision step,
# `T (n + 1) layers`, which is 42 for the paper's `T = 3, n = 6, 2 layers`, and also for this tiny
# network, which keeps those three numbers.

# %%
calls = []


def counting_net(h, injection):
    calls.append(1)
    return net(h, injection)


y_step, z_step = ref.deep_recursion(counting_net, x, y0, z0, cfg.n, cfg.T)
depth = len(calls) * cfg.layers
print(f"network calls per supervision step: {len(calls)} = T (n + 1) = {cfg.T} x {cfg.n + 1}")
print(f"blocks traversed (effective depth): {depth}")
assert len(calls) == cfg.T * (cfg.n + 1) == 21
assert depth == cfg.effective_depth == 42

# %% [markdown]
# After the recursion, two small heads read the answer `y`: the output head turns every *token*
# position (the puzzle positions are dropped) into `V` logits, and the Q head reads position 0 and
# says whether the model thinks it is done (`q_halt > 0`).

# %%
logits, q_halt, q_continue = ref.heads(W, cfg, y_step)
print("logits:", logits.shape, " q_halt:", q_halt.shape)
assert logits.shape == (BATCH, L, V)  # only the L token positions, not the P puzzle positions
assert q_halt.shape == q_continue.shape == (BATCH,)
assert np.allclose(logits, y_step[:, P:] @ W["lm_head"].T)
prediction = sudoku.from_tokens(logits.argmax(-1)).reshape(BATCH, 4, 4)  # token d + 1 -> digit d
print("the untrained model's answer to puzzle 0 (0 = blank or PAD):")
print(sudoku.pretty(prediction[0]))

# %% [markdown]
# One *supervision step* is `deep_recursion` plus the heads. The model is trained to improve its
# answer over up to `N_sup = 16` such steps, each starting from the `(y, z)` the previous one left
# (training is for a later notebook). `numpy_ref.reason` runs them all and keeps everything:

# %%
out = ref.reason(W, cfg, inputs, puzzle_ids, steps=2)
for key, value in out.items():
    print(f"{key:<10} {value.shape}")
assert out["logits"].shape == (2, BATCH, L, V) and out["y"].shape == (2, BATCH, L_total, D)
assert np.array_equal(out["y"][0], y_step)  # step 1 is the deep recursion we ran by hand
assert not np.allclose(out["y"][1], out["y"][0])  # step 2 starts from there and moves on

# %% [markdown]
# ## 5. HRM: two networks, the same loop
#
# The Hierarchical Reasoning Model (arXiv 2506.21734), which TRM simplifies, has a low-level network
# `L_net` (4 blocks) and a high-level network `H_net` (4 more). Its paper gives this pseudocode,
# with `N` high-level cycles of `T` low-level steps each:
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
# Careful with the letters: HRM's `N, T` are `trm_core`'s `T, n` (the reference code's `H_cycles`,
# `L_cycles`), and HRM's `zH, zL` are TRM's `y, z`. Only the last `L` and the last `H` update get
# gradients: the "1-step gradient" that HRM justifies with the implicit function theorem, and that
# TRM replaces by back-propagating through a whole latent recursion.
#
# Without gradients the loop is simply: `T` times, `n` low-level updates then one high-level update.
# Logging which network each call uses shows the rhythm:

# %%
torch.manual_seed(SEED)
hrm_cfg = trm_core.preset("hrm-tiny", vocab_size=6, seq_len=16, hidden_size=D, mlp_multiple=16)
hrm = trm_core.build_model(hrm_cfg).double().eval()
W_hrm = ref.weights_from_torch(hrm)
L_net, H_net = ref.make_net(W_hrm["L_net"], hrm_cfg), ref.make_net(W_hrm["H_net"], hrm_cfg)

rhythm = []


def logged_L(h, inj):
    rhythm.append("L")
    return L_net(h, inj)


def logged_H(h, inj):
    rhythm.append("H")
    return H_net(h, inj)


x_hrm = ref.embed(W_hrm, hrm_cfg, inputs)  # (B, L, D): no puzzle positions in this config
y_h, z_h = ref.initial_state(W_hrm, hrm_cfg, BATCH)
y_h, z_h = ref.hrm_recursion(logged_L, logged_H, x_hrm, y_h, z_h, hrm_cfg.n, hrm_cfg.T)
print("one HRM supervision step:", " ".join(rhythm))
print(f"effective depth: {hrm_cfg.T} x ({hrm_cfg.n} x {hrm_cfg.layers} + {hrm_cfg.h_layers}) "
      f"= {hrm_cfg.effective_depth} blocks")
assert rhythm == (["L"] * hrm_cfg.n + ["H"]) * hrm_cfg.T
assert y_h.shape == z_h.shape == (BATCH, L, D)

# %% [markdown]
# Compare the two logs: TRM's step is `z z z z z z y` three times with **one** network, HRM's is
# `L L H` twice with **two**. The same loop with one 2-block network instead of two 4-block ones
# (5M parameters instead of 27M in the published models), and better Sudoku-Extreme accuracy
# (TRM paper, [Table 1][trm]): 87.4% for TRM-MLP against 55.0% for HRM.
#
# ## 6. The check: NumPy against PyTorch on the same weights
#
# The PyTorch `TRM` runs its recursion with `torch` ops (`F.rms_norm`, fused `nn.Linear`s, a
# no-grad loop for the first `T - 1` cycles). If both implementations are right they must agree to
# rounding error. First the recursion itself, in float64 end to end: `model.embed`,
# `model.initial_state` and `model.recursion` (one supervision step) against ours.
#
# [trm]: https://arxiv.org/abs/2510.04871

# %%
def as_numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def max_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


inputs_t, ids_t = torch.from_numpy(inputs), torch.from_numpy(puzzle_ids)
with torch.no_grad():
    x_t = model.embed(inputs_t, ids_t)
    state = model.recursion(x_t, model.initial_state(BATCH))

diffs = {"x": max_diff(x, as_numpy(x_t)), "y": max_diff(y_step, as_numpy(state.y)),
         "z": max_diff(z_step, as_numpy(state.z))}
print({k: f"{v:.1e}" for k, v in diffs.items()})
assert max(diffs.values()) < 1e-9

with torch.no_grad():  # and HRM's two-network recursion
    hrm_state = hrm.recursion(hrm.embed(inputs_t), hrm.initial_state(BATCH))
hrm_diff = max(max_diff(y_h, as_numpy(hrm_state.y)), max_diff(z_h, as_numpy(hrm_state.z)))
print(f"HRM: {hrm_diff:.1e}")
assert hrm_diff < 1e-9

# %% [markdown]
# Then the public inference API: `model.reason` runs supervision steps from the initial state and
# returns its outputs in the model's precision, never lower: float64 here, float32 for a float32
# model (on a GPU it computes in bfloat16 under autocast and still returns float32; `autocast=False`
# keeps this comparison in float64). So the comparison through it holds to float64 precision too.

# %%
trace = model.reason(inputs_t, ids_t, steps=2, keep_states=True, autocast=False)
for key in ("logits", "q_halt", "q_continue", "y", "z"):
    d = max_diff(out[key], as_numpy(getattr(trace, key)))
    print(f"{key:<10} max |numpy - torch| = {d:.1e}")
    assert getattr(trace, key).dtype == torch.float64 and d < 1e-9, key

# %% [markdown]
# ## 7. Why float64? An untrained recursion is chaotic
#
# Why not simply compare in float32? Run the PyTorch model in float32 and in float64 for several
# supervision steps, and measure how far each drifts from NumPy's float64 answer `y`.

# %%
long = ref.reason(W, cfg, inputs, puzzle_ids, steps=CHAOS_STEPS)
model32 = trm_core.build_model(cfg)  # same config, float32
model32.load_state_dict(model.state_dict())  # the same weights, rounded to float32
model32.eval()

drift = {}
for name, m in (("float64", model), ("float32", model32)):
    with torch.no_grad():
        x_m, st, d = m.embed(inputs_t, ids_t), m.initial_state(BATCH), []
        for s in range(CHAOS_STEPS):
            st = m.recursion(x_m, st)
            d.append(max_diff(long["y"][s], as_numpy(st.y)))
    drift[name] = np.array(d)

steps_axis = np.arange(1, CHAOS_STEPS + 1)
for name, d in drift.items():
    plt.semilogy(steps_axis, d, "o-", label=f"PyTorch {name}")
plt.axhline(1e-9, color="gray", ls="--", lw=1, label="tolerance of the check, 1e-9")
plt.xticks(steps_axis)
plt.xlabel("supervision step")
plt.ylabel("max |y_numpy - y_torch|")
plt.title("rounding differences grow step after step")
plt.legend()
plt.show()
print({name: [f"{v:.0e}" for v in d] for name, d in drift.items()})

assert drift["float64"][0] < 1e-9 < drift["float32"][0]  # float32 misses 1e-9 after a single step
assert drift["float32"][-1] > 100 * drift["float32"][0]  # ... and the gap keeps growing
assert np.all(drift["float64"] < drift["float32"])

# %% [markdown]
# A freshly initialised recursion amplifies a tiny difference many times over with every
# supervision step (each step is 42 blocks deep). In float32 the two implementations are already
# about 1e-5 to 1e-4 apart after one step and soon disagree completely; in float64 they start near 1e-13, so
# there is room for several steps before any test tolerance is reached. That is why the check uses
# `model.double()`, a single step at 1e-9, and only two steps through `model.reason`.
#
# One more float64 subtlety, for TRM-Att: the RoPE tables (notebook 03) are computed in float32, as
# the reference code does, so even `model.double()` holds float32-accurate `cos` and `sin`. The
# attention model agrees with NumPy only to about 1e-7 or 1e-6 until the tables are recomputed in
# float64.

# %%
torch.manual_seed(SEED)
att_cfg = trm_core.preset("trm-att-tiny", vocab_size=6, seq_len=16, hidden_size=D, num_heads=2, T=3, n=6,
                          mlp_multiple=16)
att = trm_core.build_model(att_cfg).double().eval()
W_att = ref.weights_from_torch(att)
y_att, z_att = ref.deep_recursion(
    ref.make_net(W_att["net"], att_cfg), ref.embed(W_att, att_cfg, inputs), *ref.initial_state(W_att, att_cfg, BATCH),
    att_cfg.n, att_cfg.T,
)


def torch_att_step():
    with torch.no_grad():
        return att.recursion(att.embed(inputs_t), att.initial_state(BATCH)).y


before = max_diff(y_att, as_numpy(torch_att_step()))
cos, sin = ref.rope_tables(D // att_cfg.num_heads, att_cfg.total_len, att_cfg.rope_theta)  # float64
att.rope.cos, att.rope.sin = torch.from_numpy(cos), torch.from_numpy(sin)
after = max_diff(y_att, as_numpy(torch_att_step()))
print(f"TRM-Att, float32 RoPE tables: {before:.1e};  float64 tables: {after:.1e}")
assert after < 1e-9 < before

# %% [markdown]
# The test suite (`tests/test_numpy_ref.py`) runs the same comparisons for every option: both
# mixers, RoPE, learned positions, puzzle embeddings, HRM.

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("02.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **02.1** What is the shape of `x` for a batch of 4 puzzles of 6x6 in `trm-mlp-tiny` (`D = 64`)?

# %%
from trm_core import exercises

answer = None  # a tuple
exercises.check("02.1", answer)

# %% [markdown]
# **02.2** Write `rms_norm(x)` in NumPy, as in section 3: divide by the root mean square over the
# last axis, with `eps = 1e-5` inside the root and no learnable scale.

# %%
def rms_norm(x):
    return None  # your code


exercises.check("02.2", rms_norm)

# %% [markdown]
# **02.3** Write TRM's `latent_recursion(net, x, y, z, n)` in NumPy (section 4): `n` updates of `z`,
# then one of `y`; return `(y, z)`. `net(h, injection)` computes `net(h + injection)`.

# %%
def latent_recursion(net, x, y, z, n):
    return None  # your code


exercises.check("02.3", latent_recursion)

# %% [markdown]
# ## What to try next
#
# 1. **Predict, then run.** Before changing `T=3, n=6` to `T=2, n=2` in section 1, write down the
#    network calls per supervision step, the effective depth and the HRM-style call log you expect.
#    (The paper's [Table 1][trm]: `T=2, n=2` drops Sudoku accuracy from 87.4% to 73.7%.)
# 2. **A single latent.** The paper's [Table 2][trm] tries keeping only `z` (71.9% instead of 87.4%). Write
#    a NumPy `single_z_recursion(net, x, z, n)` where the network only ever updates `z`, and decide
#    which position of `z` the output head should read.
# 3. **Attention in NumPy.** Rebuild section 1 with `mixer="attention"` and write `traced_block`
#    for it using `ref.attention`: what is the shape of the attention score array, and how does it
#    grow with `L`?
# 4. **Break it on purpose.** Change the `1e-5` in the NumPy `rms_norm` (pass `eps=1e-6` in your
#    traced block) and see how big the disagreement with PyTorch becomes after one and after two
#    supervision steps. Which tolerance in section 6 catches it?
# 5. **Chaos and scale.** Repeat section 7 with a smaller `n` or fewer layers. Does the growth per
#    supervision step depend on the effective depth?
#
# [trm]: https://arxiv.org/abs/2510.04871
