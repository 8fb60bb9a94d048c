"""CSV files in the hub layout (``source,question,answer,rating``) and the Hugging Face hub.

Sudoku-Extreme and Maze-Hard share this layout. Row numbers count data rows: the first row after
the header is row 1, as ``trm data check`` reports them.

Hub files are read from a local copy when there is one (``local_path``), else downloaded with the
optional package ``huggingface_hub``; without it, or offline, the error says where to put the file.
"""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import UserError

HEADER = ("source", "question", "answer", "rating")


class DataFileError(UserError):
    """A data file that cannot be used as a whole (missing header, wrong columns, not on disk)."""


@dataclass
class Row:
    """One data row of a hub-layout CSV; ``problem`` is set when the row itself is malformed."""

    row: int  # 1 = the first row after the header
    source: str = ""
    question: str = ""
    answer: str = ""
    rating: str = ""
    problem: str | None = None


FIELD_LIMIT = 1 << 16  # characters in one field: 64 KiB, far above a 30x30 grid (900)


def iter_rows(path: str | os.PathLike) -> Iterator[Row]:
    """Yield every data row of a hub-layout CSV, malformed ones with ``problem`` set.

    Raises DataFileError for a missing, unreadable or binary file and when the header is not
    ``source,question,answer,rating`` (a UTF-8 byte-order mark before it is fine).
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"no such file: {path}" if not path.exists() else f"{path} is not a file")
    saved_limit = csv.field_size_limit(FIELD_LIMIT)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            try:
                header = next(reader, None)
                if header is None:
                    raise DataFileError(f"{path} is empty; expected a header line {','.join(HEADER)}")
                if tuple(h.strip() for h in header) != HEADER:
                    shown = ",".join(header)[:80]
                    raise DataFileError(f"{path} has columns {shown!r}; expected {','.join(HEADER)}")
                for i, fields in enumerate(reader, start=1):
                    if len(fields) != len(HEADER):
                        yield Row(i, problem=f"expected 4 fields ({','.join(HEADER)}), got {len(fields)}")
                    else:
                        yield Row(i, *fields)
            except csv.Error as e:
                raise DataFileError(
                    f"{path}: line {reader.line_num}: not a CSV row the workbook can read ({e})"
                ) from None
    except UnicodeDecodeError as e:
        raise DataFileError(f"{path} is not a UTF-8 text file (byte {e.start}): is it a CSV?") from None
    except PermissionError:
        raise DataFileError(f"{path} cannot be read (permission denied)") from None
    finally:
        csv.field_size_limit(saved_limit)


def count_rows(path: str | os.PathLike) -> int:
    """Number of data rows (the header not counted)."""
    return sum(1 for _ in iter_rows(path))


def select_rows(path: str | os.PathLike, n: int | None = None, seed: int = 0, limit: int | None = None) -> list[Row]:
    """Rows of a hub-layout CSV, malformed ones included (``problem`` set): the first ``limit``, or
    ``n`` drawn at random (in file order, a function of ``seed``), or all.

    Drawing reads the file twice and keeps only the chosen rows, so a 1000-row sample of the
    3.8-million-row Sudoku-Extreme train.csv needs little memory.
    """
    if n is None:
        rows = []
        for r in iter_rows(path):
            if limit is not None and len(rows) >= limit:
                break
            rows.append(r)
        return rows
    total = count_rows(path)
    if n > total:
        raise DataFileError(f"{path} has {total} rows, fewer than the {n} asked for")
    import numpy as np

    chosen = set(np.random.default_rng(seed).choice(total, size=n, replace=False).tolist())
    return [r for r in iter_rows(path) if r.row - 1 in chosen]


def read_rows(path: str | os.PathLike) -> list[Row]:
    """All rows of a hub-layout CSV; raises DataFileError naming the first malformed row."""
    rows = []
    for r in iter_rows(path):
        if r.problem:
            raise DataFileError(f"{path}: row {r.row}: {r.problem}")
        rows.append(r)
    return rows


def check_writable(path: str | os.PathLike) -> Path:
    """Raise a DataFileError now if a file cannot be written at ``path`` (a folder there, or a file above it)."""
    path = Path(path)
    if path.is_dir():
        raise DataFileError(f"{path} is a folder: give a file name to write, e.g. {path / 'puzzles.csv'}")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise DataFileError(f"cannot write {path}: {parent} is a file, not a folder")
            if not os.access(parent, os.W_OK):
                raise DataFileError(f"cannot write {path}: {parent} is not writable")
            break
    return path


def write_rows(path: str | os.PathLike, rows) -> Path:
    """Write (source, question, answer, rating) tuples under the hub header; returns the path."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(HEADER)
        for source, question, answer, rating in rows:
            w.writerow((source, question, answer, "" if rating is None else rating))
    return path


def data_dir() -> Path:
    """Where hub files are looked for first: ``$TRM_DATA_DIR`` or ``~/.cache/trm_workbook``."""
    return Path(os.environ.get("TRM_DATA_DIR", Path.home() / ".cache" / "trm_workbook")).expanduser()


def local_path(repo_id: str, filename: str) -> Path:
    """The local copy of a hub file: ``data_dir() / <dataset name> / filename``."""
    return data_dir() / repo_id.split("/")[-1] / filename


def hub_file(repo_id: str, filename: str) -> Path:
    """A file of a hub dataset: the local copy if present, else a download (needs ``huggingface_hub``)."""
    local = local_path(repo_id, filename)
    if local.is_file():
        return local
    place = (
        f"download it from https://huggingface.co/datasets/{repo_id} and place it at {local} "
        f"(or set TRM_DATA_DIR), or pass a local CSV path instead"
    )
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise DataFileError(
            f"reading {filename} of {repo_id} needs the optional package huggingface_hub "
            f"(pip install 'trm_core[hub]'); or {place}"
        ) from None
    try:
        return Path(hf_hub_download(repo_id=repo_id, filename=filename, repo_type="dataset"))
    except Exception as e:  # offline, proxy, missing file: the library raises many kinds
        raise DataFileError(f"could not download {filename} of {repo_id} ({type(e).__name__}); {place}") from None


@dataclass
class PuzzleSet:
    """Rows of a hub-layout CSV as arrays: questions and answers (n, size*size), ratings, sources."""

    questions: np.ndarray  # (n, size*size)
    answers: np.ndarray  # (n, size*size)
    ratings: np.ndarray  # (n,) int, -1 when unknown
    sources: list = field(default_factory=list)

    @property
    def size(self) -> int:
        return int(round(np.sqrt(self.questions.shape[1])))

    def __len__(self) -> int:
        return len(self.questions)

    def subset(self, idx):
        """The rows ``idx``, as the same kind of set."""
        idx = np.asarray(idx)
        return type(self)(self.questions[idx], self.answers[idx], self.ratings[idx], [self.sources[i] for i in idx])
