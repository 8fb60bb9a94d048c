# ---
# jupyter:
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 09 · TRM on text: a tiny language model
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/trm-workbook/trm-workbook/blob/main/notebooks/09_text.ipynb)
#
# New words are explained in the [glossary](GLOSSARY.md), and a teacher's guide is in
# [TEACHING.md](TEACHING.md) (on Colab, read them on GitHub:
# https://github.com/trm-workbook/trm-workbook/blob/main/notebooks/GLOSSARY.md).
#
# TRM was built for puzzles, where the whole question is given and the whole answer is asked for.
# A story is different: it is written one token at a time, and each next token may only depend on
# the ones before it. One switch turns the same model into a language model: **causal attention**.
# Then the same deep-supervision trainer teaches it next-token prediction, on TinyStories (short
# stories in the words a small child knows), the setting that a fork of the reference code uses
# for TRM on text.
#
# **What you will learn**
# - where TinyStories comes from, and how the workbook reads it without holding 2 GB in memory;
# - a 10K-token BPE tokenizer, trained on the training text and stored with the model as JSON;
# - causal attention: why a later token cannot change an earlier prediction, checked with an `assert`;
# - next-token prediction with deep supervision, and **perplexity after each supervision step**:
#   what the recursion adds for language;
# - generating stories, with temperature and top-k sampling.
#
# **What you need**: notebooks 03 and 04 (the model and the trainer). The `tokenizers` package
# (`pip install -e ".[notebooks]"`; on Colab the first code cell installs it). Real TinyStories is
# optional: without it, the notebook says how to get it and trains on a **synthetic stand-in**
# (simple template stories the workbook writes itself; not TinyStories).
#
# **Time**: about 4 minutes on a 2-core CPU (3 minutes of training), seconds in the fast test mode.
# On a GPU, `trm train --task tinystories --preset trm-lm-10m` trains the 10M model on all of
# TinyStories.
#
# *Working from a fork?* Set `TRM_WORKBOOK_URL` to your repository before running the first code cell
# (or edit `REPO_URL` there, and the badge link above); the shipped checkpoints then come from it too.

# %%
# Setup: the same first cell in every notebook of the workbook (only NEEDS differs). Safe to run twice.
NEEDS = {"tokenizers": "tokenizers>=0.15"}  # extra packages this notebook uses: {import name: pip requirement}
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

TINYSTORIES = None  # a TinyStories-train.txt, a .parquet/.arrow file or a folder; None: look in data/, $TINYSTORIES
N_TRAIN = 300 if FAST else 20_000  # training stories (TinyStories has 2.1 million)
N_TEST = 40 if FAST else 500  # held-out stories for the perplexity
VOCAB = 10_000  # BPE tokens at most (a small or synthetic text stops earlier)
PRESET = "trm-lm-1m"  # causal attention, D=48, T=2, n=2, 4 supervision steps
MODEL = dict(hidden_size=32, num_heads=2, seq_len=64) if FAST else {}  # overrides of the preset
STEPS = 6 if FAST else 0  # optimizer steps (0: no step limit)...
MINUTES = 0 if FAST else 3.0  # ... or minutes of training
CHECKPOINT = "results/09_text/checkpoint.pt"  # loaded if it is there (class mode), else trained and saved
SEED = 0
THREADS = 1  # CPU threads for torch: on models this small one thread is fastest (and kind to a shared machine)

# %% [markdown]
# ## 1. The text
#
# TinyStories ([arXiv 2305.07759](https://arxiv.org/abs/2305.07759)) is 2.1 million short stories
# written by GPT-3.5 and GPT-4 in the vocabulary of a three-year-old, on the Hugging Face hub as
# `roneneldan/TinyStories`. Its files come in two layouts, and `trm_core.data.text` reads both,
# as a stream:
#
# - `TinyStories-train.txt` / `TinyStories-valid.txt`: plain text, stories separated by
#   `<|endoftext|>` (read 1 MB at a time);
# - `data/train-*.parquet` (and the `.arrow` files `datasets` caches): a `text` column, read one
#   record batch at a time (arrow: memory-mapped).
#
# Token ids then go to a file on disk read back with `np.memmap`, so the whole set never has to be
# in memory. Online, `trm train --task tinystories --data hub` streams it with `datasets`.

# %%
from trm_core.data import text

torch.set_num_threads(THREADS)
found = None if FAST else text.local_tinystories(TINYSTORIES)
if found is None:
    print("No TinyStories on this machine: using the synthetic stand-in (template stories, NOT TinyStories).\n"
          "To use the real thing: pip install 'trm_core[text]' and `trm train --task tinystories --data hub`,\n"
          "or download TinyStories-train.txt and TinyStories-valid.txt from\n"
          "https://huggingface.co/datasets/roneneldan/TinyStories into data/ and run this notebook again.")
    n_stories = max(N_TRAIN, 2000)
    found = text.write_synthetic(f"results/09_text/synthetic-{n_stories}-{N_TEST}", n_train=n_stories,
                                 n_valid=N_TEST, seed=SEED)
DATA = str(found)
train_source, test_source = text.find_sources(DATA)
first = next(train_source.stories())
print(f"reading {train_source.describe()}\nthe first story:\n\n{first}")
assert first and "<|endoftext|>" not in first

# %% [markdown]
# ## 2. Tokens
#
# A language model predicts tokens, not characters. A **BPE** (byte-pair encoding) tokenizer starts
# from the 256 bytes and merges the most frequent neighbouring pair into a new token, again and
# again, until it has `VOCAB` tokens (or nothing left to merge): frequent words become one token,
# rare ones a few pieces, and any text at all can still be written. The TinyStories fork uses
# GPT-Neo's tokenizer capped at 10K tokens; `trm_core.data.tokenizer.gpt_neo` does that when a
# copy of its `tokenizer.json` is on the machine. Here we train our own on the training stories.

# %%
from trm_core.data.tokenizer import TextTokenizer, train_bpe

tokenizer = train_bpe(train_source.stories(N_TRAIN), VOCAB)
sentence = "Once upon a time, a little bird found a shiny ball."
ids = tokenizer.encode(sentence)
print(f"{tokenizer.vocab_size} tokens; {len(sentence)} characters -> {len(ids)} tokens:")
print(" | ".join(tokenizer.decode([i]) for i in ids))
assert tokenizer.decode(ids) == sentence  # byte-level: every text comes back exactly
assert TextTokenizer.from_json(tokenizer.to_json()).encode(sentence) == ids  # stored as JSON data
os.makedirs("results/09_text", exist_ok=True)
tokenizer.save("results/09_text/tokenizer.json")  # the training run below uses this one

# %% [markdown]
# ## 3. A causal TRM
#
# For puzzles every position of the answer sees every position of the question. For text, the
# answer `y` at position `t` is read as a guess of token `t + 1`, so it must see tokens `0..t` only:
# attention gets a causal mask (`ModelConfig.causal`, the reference model's `causal` switch;
# `scaled_dot_product_attention(is_causal=True)`). The recursion is unchanged. Since the carried
# `y` and `z` at position `t` were themselves computed from tokens `0..t`, every supervision step
# stays causal. There are no puzzle ids in text, so no puzzle embedding.
#
# Two presets: `trm-lm-1m` (about 1M parameters at 10K tokens, most of them in the token embedding
# and the output head) for a CPU, `trm-lm-10m` for a GPU. With a smaller vocabulary (the synthetic
# stand-in needs a few hundred tokens) the same model is much smaller.

# %%
from trm_core import build_model

for name in ("trm-lm-1m", "trm-lm-10m"):
    print(f"{name}: {build_model(name).num_parameters():,} parameters at 10,000 tokens")

torch.manual_seed(SEED)
probe = build_model(PRESET, vocab_size=tokenizer.vocab_size, seq_len=16, N_sup=2)
x = torch.randint(0, tokenizer.vocab_size, (1, 16))
x2 = x.clone()
x2[0, 10] = (x[0, 10] + 1) % tokenizer.vocab_size  # change token 10
before, after = probe.reason(x).logits, probe.reason(x2).logits  # (steps, B, L, V)
change = (before - after).abs().amax(dim=(0, 1, 3))  # (L,) the largest change at each position
print("largest change of the logits at each position:", np.round(change.numpy(), 4))
assert change[:10].max() < 1e-5 and change[10:].min() > 0  # earlier positions never see a later token

# %% [markdown]
# ## 4. Training: next-token prediction with deep supervision
#
# Each row is `<|endoftext|>` + a story + `<|endoftext|>`, cut into pieces of `seq_len` tokens; the
# labels are the inputs shifted by one, and padding is labelled `IGNORE_LABEL` (no loss). The
# trainer is the puzzles' one: one supervision step per optimizer step, the carry `(y, z)` kept
# across steps, EMA weights for evaluation. The loss is softmax cross-entropy, so it is the log of
# the perplexity. (The Q head learns that a story is never "exactly right", so rows run all
# `N_sup` steps.) `trm train --task tinystories` does the same from the command line.

# %%
from trm_core import lm

if not FAST and os.path.exists(CHECKPOINT):
    model, tokenizer, ckpt = lm.load_text_checkpoint(CHECKPOINT, DEVICE)
    task = lm.text_task(DATA, model.config.seq_len, N_TRAIN, N_TEST, tokenizer=tokenizer)
    history = []
    print(f"loaded {CHECKPOINT} (step {ckpt['step']}); delete it to train again")
else:
    settings = dict(data=DATA, n_train=N_TRAIN, n_test=N_TEST, preset=PRESET, model=MODEL,
                    task_options=dict(tokenizer="results/09_text/tokenizer.json"),
                    train=dict(max_steps=STEPS, max_minutes=MINUTES, progress=False, seed=SEED))
    trainer, task = lm.build_text_run(settings, DEVICE)
    print(f"{trainer.model.num_parameters():,} parameters; {task.train.num_rows:,} rows of "
          f"{task.train.seq_len} tokens from {task.train.num_stories:,} stories")
    trainer.fit()
    model, history = trainer.eval_model(), trainer.history
    if not FAST:
        trainer.save(CHECKPOINT)
    losses = [r["lm_loss"] / max(r["count"], 1) for r in history if r["kind"] == "train" and r["count"]]
    if losses:
        plt.plot(losses)
        plt.xlabel("logged step (every 10)")
        plt.ylabel("loss of halted rows (nats / token)")
        plt.title("training")
        plt.show()
assert model.config.causal

# %% [markdown]
# ## 5. What the recursion adds: perplexity after each supervision step
#
# **Perplexity** is `exp(mean cross-entropy)` on held-out text: the number of tokens the model is,
# on average, as unsure between as if it picked uniformly among them. Every row runs all
# supervision steps from the initial state; after each one we read the next-token guesses. Step 1
# is a plain (recursive) transformer pass; the later steps are TRM improving its guesses with the
# carried `y` and `z`. We also run a few steps more than training did.

# %%
steps = model.config.N_sup + 2
result = lm.perplexity_per_step(model, task.test, steps=steps)
per_step = result["per_step_perplexity"]
print(f"{result['tokens']:,} held-out tokens; perplexity after each supervision step:")
print("  ".join(f"{i + 1}:{p:.2f}" for i, p in enumerate(per_step)))
plt.plot(range(1, steps + 1), per_step, "o-")
plt.axvline(model.config.N_sup, color="grey", ls=":", label="trained N_sup")
plt.xlabel("supervision step")
plt.ylabel("perplexity")
plt.legend()
plt.show()
assert all(np.isfinite(per_step)) and min(per_step) >= 1

# %% [markdown]
# What a longer run gives (measured): `trm-lm-1m` trained with `trm train --task tinystories --data
# synthetic --minutes 10` on 2 shared CPU cores (1,064 optimizer steps of 32 rows), on the
# **synthetic stand-in** (20,000 template stories, a 579-token BPE, so 110,978 parameters), gave
# these perplexities on 1,000 held-out stand-in stories (55,596 tokens):
#
# | supervision step | 1 | 2 | 3 | 4 |
# |---|---|---|---|---|
# | perplexity | 1.640 | 1.632 | 1.631 | 1.632 |
#
# On text this predictable, the first step already gets almost everything and the later steps
# add half a percent. Real TinyStories is far richer: expect much higher perplexities at the same
# size and time, and more room for the recursion to matter; measuring that is exercise 1 below.

# %% [markdown]
# ## 6. Stories
#
# To write, the model reads the prompt, runs its supervision steps, and samples the next token from
# its last position's probabilities: divided by a **temperature** (low: safe and repetitive; high:
# surprising) and restricted to the `top_k` likeliest tokens. The new token is appended, and again.
# `trm generate --checkpoint C --prompt "Once upon a time"` does the same.

# %%
samples = [lm.generate(model, tokenizer, "Once upon a time", max_new_tokens=16 if FAST else 80,
                       temperature=0.8, top_k=50, seed=SEED + k) for k in range(3)]
for k, story in enumerate(samples):
    print(f"--- sample {k + 1}\n{story}\n")
assert all(s.startswith("Once upon a time") for s in samples)

# %% [markdown]
# ## Exercises
#
# **09.1** What is the perplexity of a model that gives each of the tokenizer's `V` tokens the same
# probability? (Compare it with section 5's numbers.)

# %%
from trm_core import exercises

answer = None  # a number
exercises.check("09.1", answer, vocab_size=tokenizer.vocab_size)

# %% [markdown]
# **09.2** In section 3 we changed token 10 of a 16-token row. With causal attention, at how many
# positions can the logits change?

# %%
answer = None  # a whole number
exercises.check("09.2", answer)

# %% [markdown]
# ## What to try next
#
# 1. **Does thinking longer help?** Train with `N_sup=1` (`MODEL = dict(N_sup=1)`) for the same
#    minutes and compare its perplexity with the 4-step model's after step 1 and after step 4.
# 2. **Depth in the recursion or in the layers?** Compare `T=1, n=1` with `T=2, n=2` at the same
#    training time (section 5's curve and the generated stories).
# 3. **Temperature.** Generate with temperature 0 (always the likeliest token), 0.5 and 1.2. Which
#    stories repeat themselves, which stop making sense?
# 4. **Real TinyStories.** Download `TinyStories-train.txt` and `-valid.txt` into `data/` and run
#    again: how far is the perplexity from the synthetic stand-in's, and why?
# 5. **GPT-Neo's tokenizer.** Put GPT-Neo's `tokenizer.json` on the machine and train with
#    `--task-option tokenizer=gpt-neo:PATH` (capped at 10K tokens). How many tokens does a story
#    take, compared with the BPE trained on the stories?
