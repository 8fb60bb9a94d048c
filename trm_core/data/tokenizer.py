"""Text tokenizers for the language-model path: a byte-level BPE trained on the training text (10K
tokens by default), or GPT-Neo's tokenizer capped at 10K tokens when a copy is on this machine.

A tokenizer travels with its model as JSON data (``to_json`` / ``from_json``, the ``tokenizers``
library's own format plus a few fields of ours), inside the checkpoint and as ``tokenizer.json``
next to it: never a pickle, so a tokenizer someone sends you is data, not code.

Ids: ``pad_id`` fills rows shorter than the context (its labels are IGNORE_LABEL, so it carries no
loss), ``eos_id`` is ``<|endoftext|>``, which ends every story and starts every row. A capped
tokenizer keeps the ids below ``cap - 2`` as they are, sends every rarer token to ``unk_id =
cap - 2`` and puts ``<|endoftext|>`` at ``cap - 1`` (padding uses it too), so the model's
vocabulary is exactly ``cap``.
"""
from __future__ import annotations

import glob
import hashlib
import json
import os
from typing import Iterable

from ..errors import UserError

EOS = "<|endoftext|>"
PAD = "<|pad|>"
DEFAULT_VOCAB = 10_000
INSTALL = 'pip install "trm_core[text]"  (or: pip install tokenizers)'


def _tokenizers():
    try:
        import tokenizers
    except ImportError:
        raise UserError(f"the text path needs the `tokenizers` library: {INSTALL}") from None
    return tokenizers


class TextTokenizer:
    """A ``tokenizers.Tokenizer`` with the ids the language model needs (and an optional cap)."""

    def __init__(self, tokenizer, kind: str = "bpe", cap: int | None = None):
        self.tok, self.kind, self.cap = tokenizer, kind, cap
        eos = tokenizer.token_to_id(EOS)
        if eos is None:
            raise UserError(f"the tokenizer has no {EOS} token: it cannot mark where a story ends")
        if cap is None:
            pad = tokenizer.token_to_id(PAD)
            self.eos_id, self.pad_id, self.unk_id = eos, eos if pad is None else pad, None
            self.vocab_size = tokenizer.get_vocab_size()
        else:
            if cap < 3:
                raise UserError(f"a tokenizer cap must be at least 3, got {cap}")
            self._raw_eos = eos
            self.unk_id, self.eos_id = cap - 2, cap - 1
            self.pad_id = self.eos_id
            self.vocab_size = cap

    # ids <-> text ----------------------------------------------------------------------------
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` (no special tokens added)."""
        ids = self.tok.encode(text, add_special_tokens=False).ids
        return ids if self.cap is None else [self._cap(i) for i in ids]

    def encode_batch(self, texts: list[str]) -> list[list[int]]:
        out = [e.ids for e in self.tok.encode_batch(texts, add_special_tokens=False)]
        return out if self.cap is None else [[self._cap(i) for i in ids] for ids in out]

    def _cap(self, i: int) -> int:
        return self.eos_id if i == self._raw_eos else (i if i < self.cap - 2 else self.unk_id)

    def decode(self, ids: Iterable[int]) -> str:
        """Text of ``ids``; padding, ``<|endoftext|>`` and capped-away tokens are left out."""
        drop = {self.pad_id, self.eos_id, self.unk_id}
        return self.tok.decode([int(i) for i in ids if int(i) not in drop])

    # JSON ----------------------------------------------------------------------------------------
    def to_json(self) -> str:
        """The whole tokenizer as one JSON string (what a checkpoint stores)."""
        return json.dumps({"format": "trm_core.tokenizer/1", "kind": self.kind, "cap": self.cap,
                           "tokenizer": json.loads(self.tok.to_str())})

    @classmethod
    def from_json(cls, text: str) -> "TextTokenizer":
        try:
            d = json.loads(text)
            inner = json.dumps(d["tokenizer"])
            kind, cap = d.get("kind", "bpe"), d.get("cap")
        except (json.JSONDecodeError, TypeError, KeyError):
            raise UserError("this is not a trm_core tokenizer (JSON with a 'tokenizer' field)") from None
        try:
            tok = _tokenizers().Tokenizer.from_str(inner)
        except Exception as e:  # the tokenizers library's own parse error
            raise UserError(f"the tokenizer JSON cannot be read ({str(e).splitlines()[0]})") from None
        return cls(tok, kind, cap)

    def save(self, path) -> None:
        from ..checkpoint import write_text_atomic

        write_text_atomic(path, self.to_json())

    @classmethod
    def load(cls, path) -> "TextTokenizer":
        if not os.path.isfile(path):
            raise UserError(f"no tokenizer at {path}")
        with open(path, encoding="utf-8") as f:
            return cls.from_json(f.read())

    def digest(self) -> str:
        """A short hash of the tokenizer (to name caches and to check a checkpoint's data)."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]


def train_bpe(stories: Iterable[str], vocab_size: int = DEFAULT_VOCAB) -> TextTokenizer:
    """A byte-level BPE of at most ``vocab_size`` tokens trained on ``stories`` (read as a stream).

    Small or repetitive text stops early with fewer tokens (every word already one token)."""
    tk = _tokenizers()
    tok = tk.Tokenizer(tk.models.BPE())
    tok.pre_tokenizer = tk.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = tk.decoders.ByteLevel()
    trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[PAD, EOS], show_progress=False,
                                     initial_alphabet=tk.pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(stories, trainer=trainer)
    return TextTokenizer(tok, "bpe")


def find_gpt_neo(path: str | None = None) -> str | None:
    """A local ``tokenizer.json`` of GPT-Neo: ``path`` (a file or folder), else the Hugging Face cache."""
    if path:
        candidate = os.path.join(path, "tokenizer.json") if os.path.isdir(path) else path
        return candidate if os.path.isfile(candidate) else None
    home = os.environ.get("HF_HOME", os.path.join(os.path.expanduser("~"), ".cache", "huggingface"))
    hits = sorted(glob.glob(os.path.join(home, "hub", "models--EleutherAI--gpt-neo-*", "snapshots", "*",
                                         "tokenizer.json")))
    return hits[0] if hits else None


def gpt_neo(path: str | None = None, cap: int = DEFAULT_VOCAB) -> TextTokenizer:
    """GPT-Neo's tokenizer (a local ``tokenizer.json``) capped at ``cap`` tokens."""
    found = find_gpt_neo(path)
    if found is None:
        raise UserError("no GPT-Neo tokenizer.json on this machine" + (f" at {path}" if path else "")
                        + ": download EleutherAI/gpt-neo-125M's tokenizer.json and pass its path, "
                          "or use tokenizer=bpe (trained on your text)")
    return TextTokenizer(_tokenizers().Tokenizer.from_file(found), "gpt-neo", cap)
