# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · The PyTorch model, part by part
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/03_pytorch_model.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# Notebook 02 wrote the recursion out in NumPy. This one opens `trm_core`'s PyTorch model and looks
# at each part on its own, with a small experiment per part, and ends by counting the parameters of
# the five published models to the last digit.
#
# **What you will learn**
# - post-norm blocks with an RMSNorm that has no scale, and why a recursion wants them;
# - SwiGLU, and the rule that makes its hidden width 1536 in the paper's model;
# - the two token mixers: attention with rotary position embeddings (TRM-Att) and an MLP across
#   tokens (TRM-MLP), and what each one knows about positions;
# - puzzle embeddings: 16 extra positions, only the first one carrying anything;
# - the ACT wrapper: the carry, halting, and how a halted row is replaced by a new puzzle;
# - stablemax, the softmax replacement the published runs train with;
# - where 5,028,866 / 6,828,034 / 6,822,914 / 6,829,058 / 27,275,266 parameters come from, and the
#   effective depth of 42.
#
# **What you need**: PyTorch basics (`nn.Module`, tensors, `torch.no_grad`). Notebook 02 helps.
#
# **Time**: 11 seconds on a 2-core CPU, about the same with a GPU (the small models stay on the
# CPU; only one supervision step of the published TRM-MLP runs on the GPU, at full size).
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

D = 64 if FAST else 128  # hidden size of the small demonstration models (the paper: 512)
BATCH = 8  # rows in the ACT demonstrations
ACT_STEPS = 12 if FAST else 24  # optimizer steps in the ACT timeline
FULL_SIZE_STEP = not FAST  # time one supervision step of the real TRM-MLP (D = 512)
SEED = 0
THREADS = 1  # CPU threads for torch: on models this small one thread is fastest (and kind to a shared machine)

# %% [markdown]
# Small models stay on the CPU; the one full-size supervision step at the end of section 7 runs on
# `DEVICE`.
#
# ## 1. Post-norm blocks and an RMSNorm without a scale
#
# Every block of TRM and HRM is *post-norm*: the normalisation comes after the residual addition.
#
# ```
# h = rms(h + mix(h))
# h = rms(h + swiglu(h))
# ```
#
# `rms(v) = v / sqrt(mean(v^2) + 1e-5)` over the features, with **no learnable scale** (the
# reference code has none, and neither does `trm_core`). It is computed in at least float32 even
# when the model runs in bfloat16.

# %%
import inspect

from trm_core import layers

torch.set_num_threads(THREADS)
print(inspect.getsource(layers.rms_norm))

torch.manual_seed(SEED)
v = torch.randn(3, 5, D) * 7.0
normed = layers.rms_norm(v)
print("root mean square per position:", normed.square().mean(-1).sqrt()[0])
assert torch.allclose(normed.square().mean(-1).sqrt(), torch.ones(3, 5), atol=1e-5)
assert torch.allclose(normed, v / torch.sqrt(v.square().mean(-1, keepdim=True) + 1e-5), atol=1e-6)
assert torch.allclose(normed, torch.nn.RMSNorm(D, eps=1e-5, elementwise_affine=False)(v), atol=1e-6)
assert torch.allclose(layers.rms_norm(1000 * v), normed, atol=1e-5)  # the scale of the input is forgotten

# %% [markdown]
# A block, then, has weights only in its mixer and its SwiGLU: no norm parameters at all.
#
# One practical detail: inside `trm_core` blocks work on **sequence-first** tensors `(L, B, D)`.
# In that layout both token mixers are plain matrix products on contiguous memory (the MLP across
# tokens multiplies the `(L, B*D)` view from the left, the feature MLP the `(L*B, D)` view from the
# right), so no transposed copy is made; the model converts once per supervision step and shows
# `(B, L, D)` everywhere else.

# %%
torch.manual_seed(SEED)
block = layers.Block(hidden_size=D, num_heads=2, expansion=4.0, mixer="attention", seq_len=20, eps=1e-5, multiple=32)
for name, p in block.named_parameters():
    print(f"{name:<22} {tuple(p.shape)}")
assert not any("norm" in name for name, _ in block.named_parameters())

# %% [markdown]
# Why post-norm for a recursion? One supervision step passes the state through 42 blocks, and the
# state is carried across 16 supervision steps. With post-norm every block hands back a state
# whose positions all have a root mean square of 1. The *pre-norm* arrangement of GPT-style
# transformers,
# `h = h + mix(rms(h)); h = h + swiglu(rms(h))`, normalises only what goes *into* each sub-layer,
# so the state itself keeps growing. Below, the same block's weights are applied 42 times both ways
# (the pre-norm version is a toy written here, not part of `trm_core`).

# %%
rope20 = layers.RotaryEmbedding(D // 2, 20)
post = pre = torch.randn(20, 2, D)  # (L, B, D): sequence-first, the layout blocks work in
post_rms, pre_rms = [], []
with torch.no_grad():
    for _ in range(42):
        post = block(post, rope20)  # post-norm, as trm_core
        pre = pre + block.attn(layers.rms_norm(pre), rope20)  # pre-norm toy
        pre = pre + block.mlp(layers.rms_norm(pre))
        post_rms.append(post.square().mean(-1).sqrt().mean().item())
        pre_rms.append(pre.square().mean(-1).sqrt().mean().item())

plt.plot(range(1, 43), post_rms, label="post-norm (TRM, HRM)")
plt.plot(range(1, 43), pre_rms, label="pre-norm (toy)")
plt.xlabel("blocks applied")
plt.ylabel("RMS of the state")
plt.title("the same block, applied 42 times")
plt.legend()
plt.show()
assert max(abs(r - 1) for r in post_rms) < 1e-4
assert pre_rms[-1] > 5 * pre_rms[0]

# %% [markdown]
# ## 2. SwiGLU, and its width
#
# The feature MLP of every block is a SwiGLU: `down(silu(gate(h)) * up(h))`, with the gate and up
# matrices stored as one `gate_up` matrix. Its hidden width follows the reference code's rule:
# `round(expansion * width * 2/3)`, rounded **up** to a multiple of 256.

# %%
print(inspect.getsource(layers.swiglu_width))

widths = {
    "features, D = 512 (every published model)": layers.swiglu_width(512, 4.0),
    "tokens, Sudoku: 81 + 16 puzzle positions = 97": layers.swiglu_width(97, 4.0),
    "tokens, 30x30 grid: 900 + 16 = 916": layers.swiglu_width(916, 4.0),
    f"features, D = {D} rounded to 32 (laptop presets)": layers.swiglu_width(D, 4.0, multiple=32),
}
for what, width in widths.items():
    print(f"{what:<50} -> {width}")
assert layers.swiglu_width(512, 4.0) == 1536  # round(1365.3) = 1365 -> 1536
assert layers.swiglu_width(97, 4.0) == 512  # round(258.7) = 259 -> 512
assert layers.swiglu_width(916, 4.0) == 2560

# %% [markdown]
# The module computes exactly that formula, and holds `3 x width x hidden` weights (`gate_up` is
# `2 hidden x width`, `down` is `width x hidden`), no biases.

# %%
import torch.nn.functional as F

torch.manual_seed(SEED)
mlp = layers.SwiGLU(width=D, expansion=4.0, multiple=32)
h = torch.randn(2, 5, D)
gate_w, up_w = mlp.gate_up.weight.chunk(2, dim=0)
by_hand = (F.silu(h @ gate_w.T) * (h @ up_w.T)) @ mlp.down.weight.T
print(f"hidden width {mlp.hidden}, parameters {sum(p.numel() for p in mlp.parameters()):,}")
assert torch.allclose(mlp(h), by_hand, atol=1e-5)
assert sum(p.numel() for p in mlp.parameters()) == 3 * D * mlp.hidden

# %% [markdown]
# ## 3. Mixing tokens: attention with RoPE, or an MLP across tokens
#
# A SwiGLU works on each position separately. Information moves *between* positions (cells of the
# Sudoku) only in the token mixer, and the two variants of TRM differ exactly there:
#
# - **TRM-Att**: non-causal multi-head self-attention (head dimension 64 in the paper), fused qkv,
#   no biases, with rotary position embeddings (RoPE) on queries and keys;
# - **TRM-MLP** (`mlp_t` in the reference code): a SwiGLU applied across the sequence axis: the
#   state is transposed to `(B, D, L)`, the SwiGLU mixes the `L` positions for each feature, then
#   residual and RMSNorm over that axis, and back.
#
# RoPE rotates each (i, i + head_dim/2) pair of query and key features by an angle proportional to
# the position. A rotation by `a` followed by the inverse of a rotation by `b` is a rotation by
# `a - b`, so the attention score between positions `i` and `j` depends only on `j - i`. Check: the
# same query vector at every position and the same key vector at every position give a score
# matrix that is constant along each diagonal.

# %%
head_dim, length = 16, 12
rope = layers.RotaryEmbedding(head_dim, length)
q = torch.randn(head_dim).expand(1, 1, length, head_dim)  # (B, heads, L, hd), one vector everywhere
k = torch.randn(head_dim).expand(1, 1, length, head_dim)
scores = (layers.apply_rope(q, rope.cos, rope.sin) @ layers.apply_rope(k, rope.cos, rope.sin).transpose(-1, -2))[0, 0]
plt.imshow(scores, cmap="RdBu")
plt.colorbar()
plt.grid(False)
plt.xlabel("key position j")
plt.ylabel("query position i")
plt.title("RoPE scores depend only on j - i")
plt.show()
assert torch.allclose(scores[1:, 1:], scores[:-1, :-1], atol=1e-4)  # constant along diagonals
assert scores.std() > 0.1  # ... but not constant overall: positions matter

# %% [markdown]
# What does each mixer know about *where* a token is? Shuffle the positions of the input and see
# whether the output is the same shuffle of the old output (*permutation equivariance*):
#
# - attention **without** RoPE is blind to positions: the output is shuffled along with the input;
# - attention **with** RoPE sees relative positions;
# - the MLP across tokens has a separate weight for every position, so it sees absolute positions.
#   This is why TRM-MLP is tied to one sequence length (its weights are `(2 hidden, L_total)`), and
#   why it needs no position encoding at all.

# %%
torch.manual_seed(SEED)
L_mix = 20
attn = layers.Attention(hidden_size=D, num_heads=2)
token_mlp = layers.TokenMixerMLP(seq_len=L_mix, expansion=4.0, multiple=32)
rope_mix = layers.RotaryEmbedding(D // 2, L_mix)
h = torch.randn(L_mix, 2, D)  # (L, B, D), sequence-first
perm = torch.randperm(L_mix)

mixers = {
    "attention, no RoPE": lambda t: attn(t, None),
    "attention + RoPE": lambda t: attn(t, rope_mix),
    "MLP across tokens": token_mlp,
}
equivariant = {}
with torch.no_grad():
    for name, f in mixers.items():
        equivariant[name] = torch.allclose(f(h[perm]), f(h)[perm], atol=1e-5)
        print(f"{name:<20} shuffle in = shuffle out: {equivariant[name]}")
assert equivariant == {"attention, no RoPE": True, "attention + RoPE": False, "MLP across tokens": False}

print(f"\nparameters at D = 512, Sudoku (L_total = 97): attention {4 * 512 * 512:,}, "
      f"MLP across tokens {3 * 97 * layers.swiglu_width(97, 4.0):,}")

# %% [markdown]
# The MLP mixer is much smaller for Sudoku (97 positions) than attention (4 D^2 weights), which is
# the whole difference between TRM-MLP's 5.0M and TRM-Att's 6.8M parameters (section 7). On a
# 30x30 maze its 916 positions make it larger than attention, and the TRM paper reports 0.0% for
# TRM-MLP on Maze-Hard (85.3% with attention). On Sudoku's small, fixed 9x9 layout it wins: 87.4%
# against TRM-Att's 74.7%.
#
# ## 4. Puzzle embeddings: 16 positions, one vector
#
# The published TRMs all reserve room for a learned vector per puzzle; it matters most for ARC,
# where each task, and each augmented version of it, gets its own. The reference code *prepends*
# `puzzle_emb_len = 16` positions to the sequence: position 0 carries the puzzle's D-vector,
# positions 1-15 are zeros. The table starts at zero and is trained with SignSGD; it is not part of
# the published parameter counts. In `trm_core` it is a *buffer*, so `model.parameters()` does not
# see it.

# %%
torch.manual_seed(SEED)
small = dict(vocab_size=6, seq_len=16, hidden_size=D, num_heads=2, mlp_multiple=32)
with_pe = trm_core.build_model("trm-att-tiny", **small, puzzle_emb_ndim=D, puzzle_emb_len=16, num_puzzle_identifiers=3)
without_pe = trm_core.build_model("trm-att-tiny", **small)
with torch.no_grad():
    with_pe.puzzle_emb.weight.normal_()  # pretend training has filled the table

inputs = torch.randint(1, 6, (2, 16))
ids = torch.tensor([0, 2])
with torch.no_grad():
    x = with_pe.embed(inputs, ids)  # (B, 16 + L, D)
print("inputs", tuple(inputs.shape), "-> x", tuple(x.shape))
print("puzzle table:", tuple(with_pe.puzzle_emb.weight.shape), "(a buffer)")

scale = with_pe.embed_scale  # sqrt(D)
assert x.shape == (2, 16 + 16, D)
assert torch.allclose(x[:, 0], scale * with_pe.puzzle_emb.weight[ids])  # position 0: the puzzle's vector
assert torch.all(x[:, 1:16] == 0)  # positions 1-15: zeros
assert torch.allclose(x[:, 16:], scale * with_pe.embed_tokens(inputs))  # then the tokens
assert "puzzle_emb.weight" in dict(with_pe.named_buffers())
assert with_pe.num_parameters() == without_pe.num_parameters()  # the table is not counted

# %% [markdown]
# Position 0 matters twice: it carries the puzzle vector in, and the Q head reads the halting
# decision from `y[:, 0]`. The output head reads only the token positions, so the logits have `L`
# positions, not `16 + L`. (The zeros at positions 1-15 do not stay zero: attention spreads
# information into them, and `y`, `z` start from `y_init`, `z_init` there like everywhere.)

# %%
with torch.no_grad():
    trace = with_pe.reason(inputs, ids, steps=1)
print("logits:", tuple(trace.logits.shape), " q_halt:", tuple(trace.q_halt.shape))
assert trace.logits.shape == (1, 2, 16, 6)  # (steps, B, L, V): no puzzle positions

# %% [markdown]
# ## 5. The ACT wrapper and its carry
#
# Training runs **one** supervision step per optimizer step, for the whole batch at once. What must
# survive from one optimizer step to the next is the *carry* (`trm_core.act.Carry`): each row's
# latent state `(y, z)`, how many steps it has spent on its puzzle, whether it has halted, and the
# puzzle itself. A halted row is reset to the initial state and *replaced* by the incoming batch's
# row at the same index; the other rows keep thinking about their puzzles.
#
# `initial_carry` marks every row as halted, so the first `act_step` loads the whole batch.

# %%
from trm_core import act

torch.manual_seed(SEED)
cfg = trm_core.preset("trm-mlp-tiny", vocab_size=6, seq_len=16, hidden_size=D, mlp_multiple=32)
model = trm_core.build_model(cfg)
print(f"N_sup = {cfg.N_sup} supervision steps at most")


def new_batch(k: int) -> dict:
    """The k-th batch from a pretend data loader; `number` is a label to follow each puzzle by."""
    g = torch.Generator().manual_seed(k)
    return {
        "inputs": torch.randint(1, 6, (BATCH, 16), generator=g),
        "labels": torch.randint(2, 6, (BATCH, 16), generator=g),
        "number": torch.arange(k * BATCH, (k + 1) * BATCH),  # puzzles 0-7 in batch 0, 8-15 in batch 1...
    }


model.eval()  # in eval mode a row halts only after N_sup steps: predictable
carry = act.initial_carry(model, new_batch(0))
print("initial carry: halted", carry.halted.tolist())
assert carry.halted.all()

with torch.no_grad():
    carry, outputs = act.act_step(model, carry, new_batch(0))
print("after one step: puzzles", carry.batch["number"].tolist(), " steps", carry.steps.tolist())
assert torch.equal(carry.batch["number"], torch.arange(BATCH)) and torch.all(carry.steps == 1)
assert outputs["logits"].shape == (BATCH, 16, 6)

# %% [markdown]
# Now pretend rows 0 and 3 halted (their Q head said "done"), and feed the next batch. Those two
# rows, and only those, take the new batch's puzzles, restart their step count, and restart their
# latent state from `y_init`, `z_init`: their new state equals what a fresh model state gives on
# those puzzles.

# %%
carry.halted = torch.zeros(BATCH, dtype=torch.bool)
carry.halted[[0, 3]] = True
incoming = new_batch(1)
old_state = carry.state
with torch.no_grad():
    carry, _ = act.act_step(model, carry, incoming)
    fresh, *_ = model(model.initial_state(2), incoming["inputs"][[0, 3]])  # those rows, from scratch
    kept, *_ = model(old_state, carry.batch["inputs"])  # every row continued from its old state

print("puzzles", carry.batch["number"].tolist())
print("steps  ", carry.steps.tolist())
replaced, others = torch.tensor([0, 3]), torch.tensor([1, 2, 4, 5, 6, 7])
assert torch.equal(carry.batch["number"][replaced], incoming["number"][replaced])  # new puzzles 8 and 11
assert torch.equal(carry.batch["number"][others], others)  # the others keep theirs
assert torch.equal(carry.steps[replaced], torch.tensor([1, 1], dtype=torch.int32))
assert torch.all(carry.steps[others] == 2)
assert torch.allclose(carry.state.y[replaced], fresh.y, atol=1e-5)  # reset, then one step
assert torch.allclose(carry.state.y[others], kept.y[others], atol=1e-5)  # continued from their state

# %% [markdown]
# In training mode (`model.train()`) the rule is TRM's:
#
# - halt after `N_sup` steps, or as soon as `q_halt > 0` ("I think my answer is exactly right");
# - but with probability 0.1 (`halt_exploration_prob`) a row must first run a random minimum of
#   2 to `N_sup` steps, so the Q head also learns from later steps.
#
# A fresh Q head has zero weights and bias -5 (`sigmoid(-5)` = 0.7%: "almost never halt"). With
# exploration off, pushing the bias to +5 makes every row halt after one step:

# %%
model.train()
model.config.halt_exploration_prob = 0.0
outcomes = {}
with torch.no_grad():
    for bias in (-5.0, 5.0):
        model.q_head.bias.fill_(bias)
        c = act.initial_carry(model, new_batch(0))
        c, _ = act.act_step(model, c, new_batch(0))
        outcomes[bias] = c.halted.tolist()
        print(f"q_head bias {bias:+.0f}: halted after one step: {c.halted.tolist()}")
assert not any(outcomes[-5.0]) and all(outcomes[5.0])
model.config.halt_exploration_prob = 0.1

# %% [markdown]
# With a Q head that varies from row to row (random weights here; a trained one learns to say "done"
# when the answer is right) and exploration on, rows halt at different times. The picture shows
# which puzzle each row of the batch works on at each optimizer step (the number printed), coloured
# by how many supervision steps that puzzle has had: **a batch always mixes puzzles at different
# supervision steps.**

# %%
torch.manual_seed(SEED)
with torch.no_grad():
    model.q_head.weight.normal_(0.0, 1.0)
    model.q_head.bias.zero_()
carry = act.initial_carry(model, new_batch(0))
numbers, steps, halted = [], [], []
with torch.no_grad():
    for k in range(ACT_STEPS):
        carry, _ = act.act_step(model, carry, new_batch(k))
        numbers.append(carry.batch["number"].clone())
        steps.append(carry.steps.clone())
        halted.append(carry.halted.clone())
numbers, steps, halted = torch.stack(numbers, 1), torch.stack(steps, 1), torch.stack(halted, 1)  # (B, ACT_STEPS)

fig, ax = plt.subplots(figsize=(0.45 * ACT_STEPS + 1.5, 0.4 * BATCH + 1.2))
im = ax.imshow(steps, cmap="viridis", vmin=1, vmax=cfg.N_sup, aspect="auto")
for r in range(BATCH):
    for k in range(ACT_STEPS):
        ax.text(k, r, int(numbers[r, k]), ha="center", va="center", fontsize=7,
                color="white" if steps[r, k] < 4 else "black")
ax.set_xlabel("optimizer step")
ax.set_ylabel("row of the batch")
ax.set_title("which puzzle each row works on (colour: its supervision step)")
ax.grid(False)
fig.colorbar(im, ax=ax, label="supervision step")
plt.show()

assert int(steps.max()) <= cfg.N_sup
new_puzzle = numbers[:, 1:] != numbers[:, :-1]  # (B, ACT_STEPS - 1)
assert torch.equal(new_puzzle, halted[:, :-1])  # a row changes puzzle exactly after it halted
assert (torch.all(steps[:, 1:][new_puzzle] == 1)
        and torch.all(steps[:, 1:][~new_puzzle] == steps[:, :-1][~new_puzzle] + 1))
assert any(len(set(steps[:, k].tolist())) > 1 for k in range(ACT_STEPS))  # mixed steps in one batch

# %% [markdown]
# HRM trains a second Q output, `q_continue`, towards a Q-learning target that needs the *next*
# step's Q values, so each of its training steps runs the model twice (`act_continue=True`). TRM
# drops this (`no_ACT_continue`; the TRM paper's ablation: 86.1% with it, 87.4% without). Counting
# forward passes:

# %%
def forward_passes(m) -> int:
    count = []
    handle = m.register_forward_hook(lambda *_: count.append(1))
    with torch.no_grad():
        act.act_step(m, act.initial_carry(m, new_batch(0)), new_batch(0))
    handle.remove()
    return len(count)


hrm = trm_core.build_model("hrm-tiny", vocab_size=6, seq_len=16, hidden_size=D, mlp_multiple=32).train()
passes = {"TRM, train": forward_passes(model.train()), "HRM, train": forward_passes(hrm),
          "HRM, eval": forward_passes(hrm.eval())}
print(passes)
assert passes == {"TRM, train": 1, "HRM, train": 2, "HRM, eval": 1}

# %% [markdown]
# ## 6. Stablemax instead of softmax
#
# The published runs compute the answer's cross-entropy with *stablemax* (from "Grokking at the
# edge of numerical stability", Prieto et al. 2025), in float64: replace `exp` by
#
# `s(x) = x + 1` for `x >= 0`, and `s(x) = 1 / (1 - x)` for `x < 0`,
#
# and normalise: `p_i = s(x_i) / sum_j s(x_j)`. `s` is positive, increasing, equals `exp` at 0 with
# the same slope there, and grows only linearly, so it never overflows and it saturates slowly.

# %%
from trm_core import losses

xs = torch.linspace(-5, 5, 201, dtype=torch.float64)
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.semilogy(xs, torch.exp(xs), label="exp(x)")
ax1.semilogy(xs, losses.stablemax_s(xs), label="s(x)")
ax1.set_xlabel("x")
ax1.set_title("s(x) against exp(x)")
ax1.legend()

# Right: how confident each one gets as one logit pulls away from three others at 0.
gaps = torch.linspace(0, 10, 101, dtype=torch.float64)
logits_by_gap = torch.stack([gaps, torch.zeros_like(gaps), torch.zeros_like(gaps), torch.zeros_like(gaps)], dim=-1)
ax2.plot(gaps, torch.softmax(logits_by_gap, -1)[:, 0], label="softmax")
ax2.plot(gaps, losses.log_stablemax(logits_by_gap)[:, 0].exp(), label="stablemax")
ax2.set_xlabel("gap between the top logit and the other three")
ax2.set_ylabel("probability of the top class")
ax2.set_title("stablemax saturates slowly")
ax2.legend()
plt.show()

s = losses.stablemax_s
assert s(torch.tensor(0.0)) == 1 and s(torch.tensor(3.0)) == 4 and s(torch.tensor(-1.0)) == 0.5
assert torch.all(s(xs) > 0) and torch.all(s(xs)[1:] > s(xs)[:-1])  # positive and increasing
big = torch.tensor(100.0)  # float32
assert torch.isinf(torch.exp(big)) and s(big) == 101  # exp overflows float32 at 100; s does not

# %% [markdown]
# Two properties to keep in mind. Stablemax probabilities sum to 1 like softmax's, but they are
# **not** unchanged when the same constant is added to every logit, which softmax is. And the
# library's loss is computed in float64 (float32 on Apple's MPS, which has no float64).

# %%
logits = torch.tensor([[[2.0, 0.5, -1.0, -3.0]]])  # (B=1, L=1, V=4)
labels = torch.tensor([[0]])
p_stable = losses.log_stablemax(logits.double()).exp()
print("softmax   ", torch.softmax(logits, -1)[0, 0])
print("stablemax ", p_stable[0, 0])
print("stablemax, every logit + 2:", losses.log_stablemax(logits.double() + 2).exp()[0, 0])

ce = losses.stablemax_cross_entropy(logits, labels)  # (B, L)
assert torch.allclose(p_stable.sum(-1), torch.ones(1, 1, dtype=torch.float64))
assert torch.allclose(torch.softmax(logits + 2, -1), torch.softmax(logits, -1))  # softmax: shift-invariant
shifted = losses.log_stablemax(logits.double() + 2)
assert not torch.allclose(shifted, losses.log_stablemax(logits.double()))  # stablemax: not
s_values = torch.tensor([3.0, 1.5, 0.5, 0.25], dtype=torch.float64)  # s(2), s(0.5), s(-1), s(-3)
assert ce.dtype == torch.float64 and torch.isclose(ce[0, 0], -torch.log(s_values[0] / s_values.sum()))
assert torch.isclose(losses.softmax_cross_entropy(logits, labels)[0, 0], F.cross_entropy(logits[0], labels[0]))

# %% [markdown]
# ## 7. The published models, counted
#
# Building a model on PyTorch's `meta` device gives every tensor its shape but no storage, so
# counting even the 27M-parameter HRM costs no memory (the first use of `meta` takes a second or
# two to set up). The counts exclude the puzzle-embedding table (a
# buffer, section 4), as the papers do.

# %%
PUBLISHED = {  # preset -> parameter count of the published model
    "trm-mlp-sudoku": 5_028_866,
    "trm-att-sudoku": 6_828_034,
    "trm-att-maze": 6_822_914,
    "trm-att-arc": 6_829_058,
    "hrm-sudoku": 27_275_266,
}
SCORES = {  # the TRM paper's results for these models
    "trm-mlp-sudoku": "Sudoku-Extreme 87.4%",
    "trm-att-sudoku": "Sudoku-Extreme 74.7%",
    "trm-att-maze": "Maze-Hard 85.3%",
    "trm-att-arc": "ARC-AGI-1 44.6%, ARC-AGI-2 7.8%",
    "hrm-sudoku": "Sudoku-Extreme 55.0%",
}
counts, models = {}, {}
for name in PUBLISHED:
    with torch.device("meta"):
        models[name] = trm_core.build_model(name)
    counts[name] = models[name].num_parameters()
    c = models[name].config
    print(f"{name:<16} {counts[name]:>12,}   D={c.hidden_size} mixer={c.mixer:<9} T={c.T} n={c.n}   {SCORES[name]}")

for name, expected in PUBLISHED.items():
    assert counts[name] == expected, f"{name}: {counts[name]:,} parameters, the paper's model has {expected:,}"

# %% [markdown]
# Where the numbers come from, by hand, at `D = 512` with SwiGLU width `H = 1536`:
#
# - a SwiGLU over features: `3 D H` = 2,359,296; attention: `4 D^2` = 1,048,576;
#   an MLP across Sudoku's 97 positions: `3 x 97 x 512` = 148,992;
# - token embedding and output head: `2 V D`; Q head: `2 D + 2` = 1,026.
#
# TRM has 2 blocks, HRM has 8 (4 in `L_net`, 4 in `H_net`):

# %%
Dp, H = 512, layers.swiglu_width(512, 4.0)
swiglu_params, attention_params, token_mlp_params = 3 * Dp * H, 4 * Dp * Dp, 3 * 97 * layers.swiglu_width(97, 4.0)


def heads_params(V):
    return 2 * V * Dp + (2 * Dp + 2)  # embed_tokens + lm_head, q_head


by_hand = {
    "trm-mlp-sudoku": 2 * (token_mlp_params + swiglu_params) + heads_params(11),
    "trm-att-sudoku": 2 * (attention_params + swiglu_params) + heads_params(11),
    "trm-att-maze": 2 * (attention_params + swiglu_params) + heads_params(6),
    "trm-att-arc": 2 * (attention_params + swiglu_params) + heads_params(12),
    "hrm-sudoku": 8 * (attention_params + swiglu_params) + heads_params(11),
}
for name, n in by_hand.items():
    print(f"{name:<16} {n:>12,}")
assert by_hand == PUBLISHED

# The groups of the real module, for one of them:
groups = {}
for pname, p in models["trm-att-sudoku"].named_parameters():
    groups[pname.split(".")[0]] = groups.get(pname.split(".")[0], 0) + p.numel()
print("\ntrm-att-sudoku by module:", {k: f"{v:,}" for k, v in groups.items()})
assert groups["net"] == 2 * (attention_params + swiglu_params)

# %% [markdown]
# So TRM-Att differs from TRM-MLP only in the mixer (`2 x (1,048,576 - 148,992)` = 1,799,168), the
# three TRM-Att models only in their vocabularies, and HRM is four times TRM-Att's network.
#
# **Effective depth.** One supervision step of TRM applies `net` `T (n + 1)` times, each time
# through `layers` blocks: `3 x (6 + 1) x 2 = 42` blocks for Sudoku. HRM's step is
# `T (n L_layers + H_layers) = 2 x (2 x 4 + 4) = 24`: the smaller network runs deeper. A forward
# hook on every block counts the blocks one supervision step really passes through (on a narrow
# copy of TRM-MLP Sudoku in fast mode; on the real one, timed, at full size).

# %%
depths = {name: m.config.effective_depth for name, m in models.items()}
print(depths)
assert depths["trm-mlp-sudoku"] == depths["trm-att-sudoku"] == 3 * (6 + 1) * 2 == 42
assert depths["hrm-sudoku"] == 24 and depths["trm-att-maze"] == depths["trm-att-arc"] == 3 * (4 + 1) * 2

import time

torch.manual_seed(SEED)
if FULL_SIZE_STEP:
    depth_model = trm_core.build_model("trm-mlp-sudoku").to(DEVICE).eval()  # the real one, 5,028,866 parameters
else:
    depth_model = trm_core.build_model("trm-mlp-sudoku", hidden_size=D, puzzle_emb_ndim=D, mlp_multiple=32).eval()
blocks_run = []
hooks = [b.register_forward_hook(lambda *_: blocks_run.append(1)) for b in depth_model.net.layers]
sudoku_inputs = torch.randint(1, 11, (1, 81), device=depth_model.device)
with torch.no_grad(), trm_core.autocast_context(depth_model.device):
    depth_model(depth_model.initial_state(1), sudoku_inputs)  # counted by the hooks; also a warm-up
    for hk in hooks:
        hk.remove()
    start = time.perf_counter()
    depth_model(depth_model.initial_state(1), sudoku_inputs)  # timed
    if depth_model.device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
print(f"D = {depth_model.config.hidden_size}: {len(blocks_run)} blocks in one supervision step, "
      f"{1000 * seconds:.0f} ms for one Sudoku on {depth_model.device}")
assert len(blocks_run) == 42

# %% [markdown]
# ## Exercises
#
# Each exercise checks itself: replace the `None` with your answer and run the cell. Stuck?
# `exercises.hint("03.1")` gives a hint. (Teachers: worked solutions are in `solutions.ipynb`.)
#
# **03.1** What is the hidden width of a SwiGLU in the published TRM (`D = 512`, expansion 4)?

# %%
from trm_core import exercises

answer = None  # a whole number
exercises.check("03.1", answer)

# %% [markdown]
# **03.2** Write `stablemax(logits)` in NumPy (section 6): the probabilities over the last axis with
# `s(x) = x + 1` for `x >= 0` and `1 / (1 - x)` for `x < 0` in place of `exp(x)`.

# %%
def stablemax(logits):
    return None  # your code


exercises.check("03.2", stablemax)

# %% [markdown]
# **03.3** How long is the sequence that the networks of `trm-att-arc` see (a 30x30 canvas, plus
# the puzzle-embedding positions of section 4)?

# %%
answer = None  # a whole number
exercises.check("03.3", answer)

# %% [markdown]
# ## What to try next
#
# 1. **Count before you build.** Work out by hand the parameters of `trm_core.preset("trm-att-sudoku",
#    hidden_size=256, num_heads=4)`, then check with `num_parameters()` on the meta device. Which
#    term shrinks fastest when `D` halves?
# 2. **Learned positions.** Build a small TRM-Att with `pos_encodings="learned"` (no RoPE). Is
#    `model.net` alone permutation-equivariant? Is the whole step, `model.embed` then `model.net`,
#    when you shuffle the input tokens? Where does the position information enter?
# 3. **Halting statistics.** Run the ACT timeline for 200 optimizer steps and plot a histogram of
#    the number of supervision steps each puzzle got. How does it change with `q_head.bias` and with
#    `halt_exploration_prob`?
# 4. **Stablemax gradients.** Use `torch.autograd` to plot the gradient of the stablemax
#    cross-entropy with respect to the correct logit, next to softmax's, as that logit grows. Which
#    one keeps pushing a confident prediction further?
# 5. **Pre-norm recursion.** With the toy pre-norm loop of section 1, how many blocks does it take
#    before the state's RMS reaches 100? What would that do to a model that is run 42 x 16 = 672
#    blocks deep at test time?
