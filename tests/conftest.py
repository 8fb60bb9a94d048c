"""What several test files share: where the data lies, and small models and batches."""
import os
from pathlib import Path

import pytest
import torch

from trm_core import build_model

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"
REPO = TESTS.parent
# Real hub-layout CSVs kept beside the checkout (never committed); $TRM_SHARED_DATA points elsewhere.
SHARED = Path(os.environ.get("TRM_SHARED_DATA", REPO.parent / "shared" / "data"))
EXTREME = SHARED / "sudoku-extreme-train-1k.csv"
HARD = SHARED / "maze-30x30-hard-1k-train.csv"
needs_extreme = pytest.mark.skipif(not EXTREME.is_file(), reason=f"{EXTREME} not present (shared data)")
needs_hard = pytest.mark.skipif(not HARD.is_file(), reason=f"{HARD} not present (shared data)")

TINY = dict(vocab_size=7, seq_len=10, hidden_size=32, num_heads=2, layers=1, T=2, n=2, N_sup=3)


def tiny(arch="trm", **kw):
    """A TRM-MLP (or HRM) of a few thousand parameters on sequences of 10 tokens over 7 symbols."""
    return build_model("hrm-tiny" if arch == "hrm" else "trm-mlp-tiny", **{**TINY, **kw})


def random_batch(seed, B=4, vocab_size=7, seq_len=10):
    """A seeded batch of random inputs and labels, in the trainer's dict layout."""
    g = torch.Generator().manual_seed(seed)
    return {
        "inputs": torch.randint(0, vocab_size, (B, seq_len), generator=g),
        "labels": torch.randint(0, vocab_size, (B, seq_len), generator=g),
        "puzzle_identifiers": torch.zeros(B, dtype=torch.long),
    }
