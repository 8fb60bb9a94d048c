"""Multi-digit addition as a fixed-length sequence-to-sequence task: the quickest task to learn.

With ``digits = D`` the sequence has ``3 D + 3`` positions::

    a (D digits) + b (D digits) = s (D + 1 blanks in the input, the sum's digits in the labels)

Operands have 1 to D digits, right-aligned with PAD on the left; the sum is written with leading
zeros to D + 1 digits. Only the D + 1 answer positions carry a loss (labels elsewhere are
IGNORE_LABEL), so "exact accuracy" means the whole sum is right.

Tokens: PAD 0, blank 1, digits 0-9 -> 2-11, '+' 12, '=' 13 (vocabulary 14).
"""
from __future__ import annotations

import numpy as np

from ..errors import UserError
from .dataset import IGNORE_LABEL

MAX_DIGITS = 9  # operands stay well inside int64 (and their pairs inside 10**18)

PAD, BLANK, PLUS, EQUALS = 0, 1, 12, 13
DIGIT0 = 2
VOCAB_SIZE = 14
_TEXT = {PAD: "_", BLANK: "?", PLUS: "+", EQUALS: "="} | {DIGIT0 + d: str(d) for d in range(10)}


def seq_len(digits: int) -> int:
    return 3 * digits + 3


def _digits_of(x: np.ndarray, width: int) -> np.ndarray:
    """Decimal digits of non-negative ints x (B,), most significant first, (B, width)."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (x[:, None] // powers) % 10


def encode(a: np.ndarray, b: np.ndarray, digits: int) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and labels (B, 3D + 3) for the sums a + b (each below 10**digits)."""
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    if (a < 0).any() or (b < 0).any() or (a >= 10 ** digits).any() or (b >= 10 ** digits).any():
        raise UserError(f"operands must be between 0 and {10 ** digits - 1} for digits={digits}")
    B, D = len(a), digits

    def operand(x):
        tok = _digits_of(x, D) + DIGIT0
        length = np.maximum(1, np.floor(np.log10(np.maximum(x, 1))).astype(np.int64) + 1)  # digits actually used
        return np.where(np.arange(D)[None, :] >= D - length[:, None], tok, PAD)

    inputs = np.concatenate([
        operand(a), np.full((B, 1), PLUS), operand(b), np.full((B, 1), EQUALS), np.full((B, D + 1), BLANK),
    ], axis=1)
    labels = np.full((B, seq_len(D)), IGNORE_LABEL, dtype=np.int64)
    labels[:, 2 * D + 2:] = _digits_of(a + b, D + 1) + DIGIT0
    return inputs.astype(np.int64), labels


def decode_answer(tokens: np.ndarray, digits: int) -> np.ndarray:
    """The sums written in the answer positions of (B, 3D + 3) tokens; -1 where not all digits."""
    ans = np.asarray(tokens)[:, 2 * digits + 2:] - DIGIT0
    ok = ((ans >= 0) & (ans <= 9)).all(axis=1)
    value = (np.where(ok[:, None], ans, 0) * 10 ** np.arange(digits, -1, -1, dtype=np.int64)).sum(axis=1)
    return np.where(ok, value, -1)


def to_text(tokens: np.ndarray) -> str:
    """One sequence as text, e.g. ``_12+_34=???``."""
    return "".join(_TEXT.get(int(t), "~") for t in np.asarray(tokens).reshape(-1))


def sample_pairs(n: int, digits: int, rng: np.random.Generator,
                 exclude: set | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct (a, b) pairs not in ``exclude``; each operand has a uniformly drawn number of
    digits (1 to D) so short and long numbers are equally common."""
    exclude = set() if exclude is None else exclude
    total = 10 ** (2 * digits)
    if n + len(exclude) > total:
        raise UserError(f"only {total} distinct sums exist with digits={digits}; asked for {n + len(exclude)}")
    pairs: set = set()
    out = []
    while len(out) < n:
        k = 2 * (n - len(out)) + 16
        la, lb = rng.integers(1, digits + 1, size=(2, k))
        a = rng.integers(0, 10 ** la)
        b = rng.integers(0, 10 ** lb)
        for x, y in zip(a.tolist(), b.tolist()):
            if (x, y) not in pairs and (x, y) not in exclude:
                pairs.add((x, y))
                out.append((x, y))
                if len(out) == n:
                    break
        if len(pairs) + len(exclude) >= total:
            break
    arr = np.array(out, dtype=np.int64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]
