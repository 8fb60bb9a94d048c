"""Data parallelism with PyTorch's own engine: ``torchrun`` + DistributedDataParallel.

    torchrun --standalone --nproc-per-node 4 $(command -v trm) train --task maze-hard ...

``torchrun`` starts one process per GPU (or per CPU slot) and tells each its ``RANK``, ``LOCAL_RANK``
and ``WORLD_SIZE``; :func:`setup` joins them into one process group (nccl on CUDA, gloo on CPU).
The trainer then follows the reference's scheme:

* ``batch_size`` is the *global* batch. Every rank walks the same shuffled epoch plan and reads only
  its own contiguous slice of every batch (``local = batch_size // world``), so rank ``r`` holds
  rows ``r * local ... (r + 1) * local - 1`` of what a single process would hold, ACT carry included.
* The loss is divided by the local batch and DDP averages the gradients over ranks: the mean over the
  global batch, exactly what one process computes. Halting exploration draws its random numbers for
  the global batch on every rank and keeps its slice, so every rank sees the draws of one process.
* Every rank takes identical optimizer and EMA steps; the puzzle-embedding rows and gradients are
  gathered from all ranks before the sparse SignSGD step.
* Only rank 0 writes checkpoints, logs and tracking; a checkpoint holds the *global* carry (gathered
  in rank order), so it is the checkpoint one process would write and resumes on any number of ranks
  that divides the batch. The clock and the stop signal are agreed on every step, so all ranks stop,
  save and evaluate at the same step (rank 0 evaluates while the others wait).
"""
from __future__ import annotations

import datetime
import gc
import inspect
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from .errors import UserError


@dataclass(frozen=True)
class Ranks:
    """Where this process stands in the group."""

    rank: int
    world: int
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def local_batch(self, global_batch: int) -> int:
        """Rows per rank of a global batch; an error when the ranks cannot share it evenly."""
        if global_batch % self.world:
            raise UserError(f"batch_size={global_batch} cannot be split evenly over {self.world} processes: "
                            f"choose a multiple of {self.world}")
        return global_batch // self.world

    def rows(self, global_batch: int) -> slice:
        """This rank's rows of a global batch."""
        local = self.local_batch(global_batch)
        return slice(self.rank * local, (self.rank + 1) * local)


def launched() -> bool:
    """True in a process started by ``torchrun`` with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def current() -> Ranks | None:
    """This process's place in the initialised group, or None when it trains alone."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return None
    return Ranks(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def setup(device: torch.device) -> torch.device:
    """Join the process group ``torchrun`` described (a no-op without torchrun); returns this rank's device.

    CUDA: one GPU per local rank, nccl. CPU: gloo. ``TRM_DIST_TIMEOUT_MINUTES`` (default 60) bounds how
    long a rank waits for the others (for example while rank 0 evaluates).
    """
    if not launched() or (dist.is_available() and dist.is_initialized()):
        return device
    if not dist.is_available():
        raise UserError("this PyTorch build has no torch.distributed: train with a single process")
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise UserError(f"local rank {local_rank} has no GPU ({torch.cuda.device_count()} visible): "
                            "use at most one process per GPU (--nproc-per-node)")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    elif device.type == "cpu":
        backend = "gloo"
    else:
        raise UserError(f"data-parallel training runs on CUDA (nccl) or CPU (gloo), not {device.type}: "
                        "add --device cpu, or train with a single process")
    minutes = float(os.environ.get("TRM_DIST_TIMEOUT_MINUTES", "60"))
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=minutes))
    return device


def teardown() -> None:
    """Leave the group, once every rank is done (a rank leaving early aborts the others)."""
    if dist.is_available() and dist.is_initialized():
        gc.collect()  # wrappers no longer referenced let go of the group while it still exists
        dist.barrier()
        dist.destroy_process_group()


def wrap(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` in DistributedDataParallel: gradients averaged over ranks during backward.

    Buffers (the initial states, the puzzle table) are synced once at the start and then stay in step
    by themselves (every rank applies the same updates), so they are not re-sent before every forward."""
    from torch.nn.parallel import DistributedDataParallel as DDP

    no_resync = ({"forward_sync_buffers": False} if "forward_sync_buffers" in inspect.signature(DDP).parameters
                 else {"broadcast_buffers": False})  # the older name
    return DDP(model, device_ids=[device.index] if device.type == "cuda" else None, **no_resync)


def barrier() -> None:
    if current() is not None:
        dist.barrier()


def reduce(values: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """``values`` combined over all ranks (``op``: sum or max); unchanged when training alone."""
    if current() is None:
        return values
    out = values.clone()
    dist.all_reduce(out, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return out


def gather_rows(t: torch.Tensor) -> torch.Tensor:
    """The ranks' tensors of equal shape, concatenated along dim 0 in rank order (on every rank)."""
    ranks = current()
    if ranks is None:
        return t
    sent = t.to(torch.uint8) if t.dtype == torch.bool else t.contiguous()  # gloo has no bool
    parts = [torch.empty_like(sent) for _ in range(ranks.world)]
    dist.all_gather(parts, sent)
    return torch.cat(parts).to(t.dtype)
