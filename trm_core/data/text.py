"""Text for TRM as a language model: TinyStories, read as a stream, tokenized into memory maps.

Where the stories come from (``data=``):

- ``"hub"`` (or ``roneneldan/TinyStories``): the Hugging Face hub through the ``datasets`` library,
  streamed (``pip install "trm_core[text]"``);
- a ``.txt`` file in the dataset's own layout, stories separated by ``<|endoftext|>``
  (``TinyStories-train.txt``; a ``TinyStories-valid.txt`` beside it is the test split);
- a ``.parquet`` or ``.arrow`` file with a ``text`` column (the hub's ``data/train-*.parquet``,
  or what ``datasets`` keeps in its cache), read batch by batch (arrow: memory-mapped);
- a folder holding any of those (``*train*`` files are the training split, ``*valid*`` the test).

Nothing holds the whole set in memory: files are read in chunks or record batches, and the token
ids go to a ``uint16`` file on disk read back with ``np.memmap`` (cached under ``$TRM_CACHE``,
default ``~/.cache/trm_core``), as nanoGPT does. Rows for training: ``<|endoftext|>`` + a story +
``<|endoftext|>``, cut into pieces of ``seq_len + 1`` tokens; inputs are a piece's first
``seq_len`` tokens, labels the same shifted by one (next-token prediction), padding labelled
IGNORE_LABEL.

:func:`synthetic_stories` writes simple children's stories from templates: a **synthetic stand-in**
for TinyStories, for classes and tests without the download (it is not TinyStories).
"""
from __future__ import annotations

import glob
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..errors import UserError
from .dataset import IGNORE_LABEL, to_batch
from .tokenizer import EOS, TextTokenizer

HUB_DATASET = "roneneldan/TinyStories"
GET_IT = ("get TinyStories with `pip install \"trm_core[text]\"` and data=hub, or download "
          "TinyStories-train.txt and TinyStories-valid.txt from huggingface.co/datasets/roneneldan/TinyStories")
_CHUNK = 1 << 20  # characters read at a time from a .txt file


# ----------------------------------------------------------------------------------------------
# Reading stories, as a stream
# ----------------------------------------------------------------------------------------------
def read_txt(path, limit: int | None = None) -> Iterator[str]:
    """Stories of a ``.txt`` file separated by ``<|endoftext|>``, one at a time (1 MB read at a time)."""
    count, rest = 0, ""
    with open(path, encoding="utf-8", errors="replace") as f:
        while True:
            chunk = f.read(_CHUNK)
            rest += chunk
            parts = rest.split(EOS)
            rest = parts.pop() if chunk else ""  # the last piece may continue in the next chunk
            for story in parts if chunk else [*parts, rest]:
                story = story.strip()
                if story:
                    yield story
                    count += 1
                    if limit is not None and count >= limit:
                        return
            if not chunk:
                return


def _arrow_batches(path):
    import pyarrow as pa

    source = pa.memory_map(str(path), "r")  # memory-mapped: pages come in as they are read
    try:
        reader = pa.ipc.open_file(source)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
    except pa.ArrowInvalid:  # the streaming layout (what `datasets` writes)
        source.seek(0)
        yield from pa.ipc.open_stream(source)


def read_table(path, limit: int | None = None, column: str = "text") -> Iterator[str]:
    """Stories of a ``.parquet`` or ``.arrow`` file's ``text`` column, one record batch at a time."""
    try:
        import pyarrow  # noqa: F401  (datasets installs it too)
    except ImportError:
        raise UserError(f"reading {Path(path).suffix} files needs pyarrow: pip install \"trm_core[text]\"") from None
    if str(path).endswith(".parquet"):
        import pyarrow.parquet as pq

        batches = pq.ParquetFile(str(path)).iter_batches(batch_size=1024, columns=[column])
    else:
        batches = _arrow_batches(path)
    count = 0
    for batch in batches:
        if column not in batch.schema.names:
            raise UserError(f"{path} has no {column!r} column (it has: {', '.join(batch.schema.names)})")
        for story in batch.column(column).to_pylist():
            story = (story or "").strip()
            if story:
                yield story
                count += 1
                if limit is not None and count >= limit:
                    return


def read_hub(split: str, limit: int | None = None) -> Iterator[str]:
    """Stories of the hub's TinyStories ``split`` ("train" or "validation"), streamed by ``datasets``."""
    try:
        import datasets
    except ImportError:
        raise UserError('reading TinyStories from the hub needs the datasets library: '
                        'pip install "trm_core[text]" (or give --data a local TinyStories-train.txt)') from None
    stream = datasets.load_dataset(HUB_DATASET, split=split, streaming=True)
    for i, row in enumerate(stream):
        if limit is not None and i >= limit:
            return
        story = (row.get("text") or "").strip()
        if story:
            yield story


_LAYOUTS = (".txt", ".parquet", ".arrow")


def read_file(path, limit: int | None = None) -> Iterator[str]:
    """Stories of one file in any of the layouts."""
    return read_txt(path, limit) if str(path).endswith(".txt") else read_table(path, limit)


@dataclass
class TextSource:
    """Where a split's stories are: files (read in order) or the hub. ``describe()`` names it."""

    files: list = field(default_factory=list)
    hub_split: str | None = None

    def stories(self, limit: int | None = None, skip: int = 0) -> Iterator[str]:
        """The stories in order (after the first ``skip``), at most ``limit`` of them."""
        total = None if limit is None else limit + skip

        def everything():
            if self.hub_split:
                yield from read_hub(self.hub_split, total)
                return
            left = total
            for path in self.files:
                for story in read_file(path, left):
                    yield story
                    if left is not None:
                        left -= 1
                if left is not None and left <= 0:
                    return

        for i, story in enumerate(everything()):
            if i >= skip:
                yield story

    def describe(self) -> str:
        return f"hub:{HUB_DATASET}/{self.hub_split}" if self.hub_split else ",".join(map(str, self.files))

    def fingerprint(self) -> str:
        """What the cache key depends on: the files' paths, sizes and modification times."""
        if self.hub_split:
            return self.describe()
        return ";".join(f"{os.path.abspath(p)}:{os.path.getsize(p)}:{os.path.getmtime(p)}" for p in self.files)


def find_sources(data) -> tuple[TextSource, TextSource | None]:
    """(train, test or None) sources of ``data`` (see the module docstring for what it may be)."""
    if data is None or str(data) in ("hub", HUB_DATASET):
        return TextSource(hub_split="train"), TextSource(hub_split="validation")
    path = Path(data)
    if not path.exists():
        raise UserError(f"no such file or folder: {path}; {GET_IT}")
    if path.is_file():
        if path.suffix not in _LAYOUTS:
            raise UserError(f"{path} is not a .txt, .parquet or .arrow file of stories")
        valid = None
        if "train" in path.name:
            for word in ("valid", "validation"):
                sibling = path.with_name(path.name.replace("train", word))
                if sibling.is_file():
                    valid = TextSource([sibling])
                    break
        return TextSource([path]), valid
    files = sorted(p for p in path.rglob("*") if p.suffix in _LAYOUTS and p.is_file())
    if not files:
        raise UserError(f"{path} holds no .txt, .parquet or .arrow files of stories; {GET_IT}")
    train = [p for p in files if "train" in p.name]
    valid = [p for p in files if "valid" in p.name or "test" in p.name]
    if not train:
        train = [p for p in files if p not in valid]
    if not train:
        raise UserError(f"{path} has no training file (a name with 'train' in it)")
    for layout in _LAYOUTS:  # one layout per split: TinyStories folders often hold .txt and .parquet
        if any(p.suffix == layout for p in train):
            train = [p for p in train if p.suffix == layout]
            valid = [p for p in valid if p.suffix == layout] or valid
            break
    return TextSource(train), TextSource(valid) if valid else None


# ----------------------------------------------------------------------------------------------
# Tokens on disk, rows for training
# ----------------------------------------------------------------------------------------------
def cache_dir() -> Path:
    return Path(os.environ.get("TRM_CACHE") or Path.home() / ".cache" / "trm_core") / "text"


def tokenize_to_file(stories: Iterable[str], tokenizer: TextTokenizer, path, batch: int = 512) -> int:
    """Token ids of ``stories`` (each framed by ``<|endoftext|>``) appended to ``path`` as uint16; returns
    the number of stories. Written under a temporary name first, so a stopped run leaves no half file."""
    if tokenizer.vocab_size > 65_535:
        raise UserError(f"a {tokenizer.vocab_size}-token vocabulary does not fit uint16 token files")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    count, pending = 0, []
    eos = tokenizer.eos_id
    try:
        with open(tmp, "wb") as f:
            def flush():
                for ids in tokenizer.encode_batch(pending):
                    np.asarray([eos, *ids], dtype=np.uint16).tofile(f)
                pending.clear()

            for story in stories:
                pending.append(story)
                count += 1
                if len(pending) >= batch:
                    flush()
            flush()
            np.asarray([eos], dtype=np.uint16).tofile(f)  # the last story ends too
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return count


def row_starts(tokens: np.ndarray, eos: int, seq_len: int) -> np.ndarray:
    """Start offsets of the training rows: each story (from its leading ``<|endoftext|>``) cut into
    pieces of ``seq_len`` predicted tokens."""
    bounds = np.flatnonzero(np.asarray(tokens) == eos).astype(np.int64)  # (stories + 1,): each starts at an EOS
    first, lengths = bounds[:-1], np.diff(bounds)  # a story's tokens after its EOS, closing EOS included
    pieces = -(lengths // -seq_len)  # (stories,) rows per story
    story = np.repeat(np.arange(len(first)), pieces)
    within = np.arange(pieces.sum()) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    return first[story] + seq_len * within  # the row at s predicts tokens s+1 ... s+seq_len


@dataclass
class TextSplit:
    """One split as token ids on disk (``tokens``, a memmap) and the rows cut from it."""

    tokens: np.ndarray  # (N,) uint16, memory-mapped
    starts: np.ndarray  # (rows,) int64
    num_stories: int
    eos_id: int
    pad_id: int
    seq_len: int

    @property
    def num_rows(self) -> int:
        return len(self.starts)

    @property
    def num_tokens(self) -> int:
        return len(self.tokens)

    def rows(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(inputs, labels) (B, seq_len) of the rows ``index``: labels are the inputs shifted by one,
        IGNORE_LABEL after a story's closing ``<|endoftext|>`` (where the next story would begin)."""
        L = self.seq_len
        inputs = np.full((len(index), L), self.pad_id, np.int64)
        labels = np.full((len(index), L), IGNORE_LABEL, np.int64)
        for r, start in enumerate(self.starts[index]):
            piece = np.asarray(self.tokens[start:start + L + 1], np.int64)
            ends = np.flatnonzero(piece[1:] == self.eos_id)  # the story's end inside this piece
            n = len(piece) - 1 if not len(ends) else int(ends[0]) + 1  # predict up to and including the EOS
            inputs[r, :n] = piece[:n]
            labels[r, :n] = piece[1:n + 1]
        return inputs, labels


def build_split(source: TextSource, tokenizer: TextTokenizer, seq_len: int, limit: int | None = None,
                skip: int = 0, cache: Path | None = None) -> TextSplit:
    """Tokenize a source's stories (once: cached by data, tokenizer and range) and cut them into rows."""
    key = hashlib.sha256(f"{source.fingerprint()}|{tokenizer.digest()}|{limit}|{skip}".encode()).hexdigest()[:20]
    path = Path(cache or cache_dir()) / f"{key}.u16"
    count_file = path.with_suffix(".count")
    if not (path.exists() and count_file.exists()):
        n = tokenize_to_file(source.stories(limit, skip), tokenizer, path)
        count_file.write_text(str(n))
    num_stories = int(count_file.read_text())
    if num_stories == 0:
        raise UserError(f"{source.describe()} holds no stories (an empty file, or nothing between the "
                        f"{EOS} separators)")
    tokens = np.memmap(path, dtype=np.uint16, mode="r")
    return TextSplit(tokens, row_starts(tokens, tokenizer.eos_id, seq_len), num_stories, tokenizer.eos_id,
                     tokenizer.pad_id, seq_len)


class TextBatches:
    """Shuffled training rows, ``batch_size`` at a time: deterministic in (seed, epoch), resumable
    from ``state_dict()`` (the trainer's BatchSource)."""

    def __init__(self, split: TextSplit, batch_size: int, seed: int = 0):
        if split.num_rows == 0:
            raise UserError("the training text has no rows")
        self.split, self.batch_size, self.seed = split, batch_size, seed
        self.epoch, self.batch = 0, 0

    def _order(self) -> np.ndarray:
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.split.num_rows)

    def batches_per_epoch(self) -> int:
        return max(1, self.split.num_rows // self.batch_size)

    def next_batch(self) -> dict:
        if self.batch >= self.batches_per_epoch():
            self.epoch, self.batch = self.epoch + 1, 0
        order = self._order()
        index = order[self.batch * self.batch_size:(self.batch + 1) * self.batch_size]
        if len(index) < self.batch_size:  # fewer rows than one batch: repeat them
            index = np.resize(order, self.batch_size)
        self.batch += 1
        x, y = self.split.rows(index)
        return to_batch(x, y, np.zeros(len(index), np.int64))

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "batch": self.batch}

    def load_state_dict(self, state: dict) -> None:
        if state.get("seed", self.seed) != self.seed:
            raise UserError(f"loader state is for seed {state['seed']}, this loader uses seed {self.seed}")
        self.epoch, self.batch = int(state["epoch"]), int(state["batch"])


def eval_batches(split: TextSplit, batch_size: int, max_rows: int | None = None) -> Iterator[dict]:
    """Every row of ``split`` once, in order (the first ``max_rows``)."""
    n = split.num_rows if max_rows is None else min(max_rows, split.num_rows)
    for start in range(0, n, batch_size):
        x, y = split.rows(np.arange(start, min(start + batch_size, n)))
        yield to_batch(x, y, np.zeros(len(x), np.int64))


# ----------------------------------------------------------------------------------------------
# A synthetic stand-in for TinyStories
# ----------------------------------------------------------------------------------------------
_NAMES = ["Lily", "Tom", "Mia", "Ben", "Sara", "Max", "Anna", "Sam", "Lucy", "Tim", "Zoe", "Leo"]
_ANIMALS = ["dog", "cat", "bird", "bunny", "frog", "duck", "bear", "fox"]
_PLACES = ["park", "garden", "forest", "beach", "farm", "lake", "hill", "town"]
_THINGS = ["ball", "kite", "hat", "box", "flower", "book", "toy car", "red apple", "shell", "boat"]
_FEELINGS = ["happy", "sad", "scared", "excited", "tired", "curious"]
_ADJ = ["big", "little", "shiny", "soft", "funny", "old", "bright", "tiny"]
_WEATHER = ["sunny", "rainy", "windy", "cold", "warm"]


def synthetic_stories(n: int, seed: int = 0) -> list[str]:
    """``n`` short children's stories from templates (deterministic in ``seed``): a **synthetic
    stand-in** for TinyStories with its flavour (a character, a place, a problem, a kind ending),
    not TinyStories itself. A model can learn its grammar and its plots in CPU minutes."""
    rng = np.random.default_rng(seed)

    def pick(words):
        return words[int(rng.integers(len(words)))]

    stories = []
    for _ in range(n):
        name, friend = rng.choice(_NAMES, 2, replace=False)
        animal, place, thing, adj = pick(_ANIMALS), pick(_PLACES), pick(_THINGS), pick(_ADJ)
        feeling, weather = pick(_FEELINGS), pick(_WEATHER)
        he = "she" if name in ("Lily", "Mia", "Sara", "Anna", "Lucy", "Zoe") else "he"
        His = "Her" if he == "she" else "His"
        opening = pick([f"Once upon a time, there was a {adj} {animal} named {name}.",
                        f"One {weather} day, {name} went to the {place}.",
                        f"Once upon a time, there was a little girl named {name}." if he == "she" else
                        f"Once upon a time, there was a little boy named {name}."])
        middle = pick([
            f"{name} found a {adj} {thing} in the {place}. {he.capitalize()} was very {feeling}.",
            f"{name} wanted to play with the {thing}, but it was up in a tall tree.",
            f"{name} lost {His.lower()} {thing} near the {place}. {he.capitalize()} looked everywhere.",
            f"At the {place}, {name} saw a {animal} that was {feeling}.",
        ])
        turn = pick([
            f"Then {friend} came to help. \"Let's look together,\" {friend} said.",
            f"{friend} said, \"Do not worry, I will help you.\"",
            f"A kind {animal} came and said, \"I can help you find it.\"",
            f"{name} asked {friend}, \"Can you help me, please?\"",
        ])
        ending = pick([
            f"They found the {thing} and played all day. {name} was happy.",
            f"In the end, {name} and {friend} became best friends.",
            f"{name} said thank you. They shared the {thing} and smiled.",
            f"They went home and told {His.lower()} mom about the {adj} {thing}.",
        ])
        moral = pick(["", " Helping friends is good.", " It is nice to share.", ""])
        stories.append(f"{opening} {middle} {turn} {ending}{moral}")
    return stories


def write_stories(path, stories: Iterable[str]) -> Path:
    """Write stories in TinyStories' ``.txt`` layout: each followed by a line ``<|endoftext|>``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for story in stories:
            f.write(story.strip() + "\n" + EOS + "\n")
    return path


def write_synthetic(folder, n_train: int = 20_000, n_valid: int = 1000, seed: int = 0) -> Path:
    """``folder/TinyStories-train.txt`` and ``-valid.txt`` of synthetic stories (the stand-in); returns
    the train file. Existing files are kept."""
    folder = Path(folder)
    train = folder / "TinyStories-train.txt"
    if not train.exists():
        write_stories(train, synthetic_stories(n_train, seed))
    valid = folder / "TinyStories-valid.txt"
    if not valid.exists():
        write_stories(valid, synthetic_stories(n_valid, seed + 1))
    return train


def local_tinystories(folder=None) -> Path | None:
    """A real TinyStories train file on this machine, if any: ``folder``, ``$TINYSTORIES``, ``data/``."""
    for base in filter(None, (folder, os.environ.get("TINYSTORIES"), "data/tinystories", "data")):
        base = Path(base)
        if base.is_file():
            return base
        for pattern in ("TinyStories*-train.txt", "**/train-*.parquet"):
            hits = sorted(glob.glob(str(base / pattern), recursive=True))
            if hits:
                return Path(hits[0])
    return None
