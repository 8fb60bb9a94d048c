"""Experiment tracking through TensorBoard or Weights & Biases, switched by one setting.

The run folder's ``metrics.jsonl`` is always written (see ``Trainer``); ``TrainConfig.track`` (``trm
train --track tensorboard``) also sends every logged record to one of these tools:

* ``tensorboard``: event files in ``RUN/tensorboard`` (``tensorboard --logdir RUN``);
* ``wandb``: a W&B run in ``RUN/wandb``, offline unless ``WANDB_MODE`` says otherwise (upload it later
  with ``wandb sync RUN/wandb/offline-run-*``); a resumed run continues the same W&B run.

Scalars are named ``train/loss``, ``eval/exact_accuracy`` and so on, against the optimizer step.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from .errors import UserError

TRACKERS = ("", "tensorboard", "wandb")
#: What tracking adds to a run folder (removed with the run by ``trm train --overwrite``).
TRACKING_FILES = ("tensorboard", "wandb", "wandb_id.txt")


def scalars(record: dict) -> dict[str, float]:
    """``kind/name: value`` for the numbers of a logged record (step and time are the axes)."""
    kind = record.get("kind", "train")
    return {f"{kind}/{k}": float(v) for k, v in record.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("step", "kind")}


class TensorBoardTracker:
    def __init__(self, out_dir: Path, config: dict):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise UserError("track='tensorboard' needs the tensorboard package: pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(out_dir / "tensorboard"))
        self.writer.add_text("config", "\n".join(f"    {k}: {v}" for k, v in sorted(config.items())))

    def log(self, record: dict) -> None:
        for name, value in scalars(record).items():
            self.writer.add_scalar(name, value, record["step"])

    def close(self) -> None:
        self.writer.close()


class WandbTracker:
    def __init__(self, out_dir: Path, config: dict):
        try:
            import wandb
        except ImportError:
            raise UserError("track='wandb' needs the wandb package: pip install wandb") from None
        id_file = out_dir / "wandb_id.txt"  # the same W&B run when this run folder is resumed
        if not id_file.exists():
            id_file.write_text(uuid.uuid4().hex[:12])
        self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", "trm-workbook"), name=out_dir.name,
                              id=id_file.read_text().strip(), resume="allow", dir=str(out_dir), config=config,
                              mode=os.environ.get("WANDB_MODE", "offline"))

    def log(self, record: dict) -> None:
        self.run.log(scalars(record), step=record["step"])

    def close(self) -> None:
        self.run.finish()


def open_tracker(kind: str, out_dir, config: dict):
    """The tracker named ``kind`` writing into the run folder ``out_dir``, or None for ``""``."""
    if not kind:
        return None
    if kind not in TRACKERS:
        raise UserError(f"track must be one of {', '.join(repr(t) for t in TRACKERS)}, got {kind!r}")
    if out_dir is None:
        raise UserError(f"track={kind!r} writes into the run folder: give the trainer an out_dir")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return (TensorBoardTracker if kind == "tensorboard" else WandbTracker)(out_dir, config)
