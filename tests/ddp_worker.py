"""Trains the distributed test's run in float64, alone or as one rank under ``torchrun``; writes its state.

    python -m torch.distributed.run --standalone --nproc-per-node 2 tests/ddp_worker.py OUT.pt STEPS [RESUME.pt]

Float64 makes the comparison with one process exact to about 1e-12: in float32 the recursion
amplifies the different rounding of a half batch step by step (measured: weight differences of
1e-5 after 5 steps, 1e-3 after 8 at lr 2e-3, as Adam turns tiny gradient differences into whole steps).
"""
import sys

import torch

from trm_core import checkpoint as ckpt_io
from trm_core import distributed, recipes
from trm_core.data import make_task

# 4x4 Sudoku, a puzzle embedding (so the gathered SignSGD step runs), N_sup=3 (rows halt and are
# replaced within the run), global batch 8.
MODEL = dict(N_sup=3, puzzle_emb_ndim=64, hidden_size=64)
TRAIN = dict(batch_size=8, lr_warmup_steps=2, checkpoint_minutes=0, progress=False, eval_batch_size=16)


def main(out: str, steps: int, resume: str | None = None) -> None:
    distributed.setup(torch.device("cpu"))
    try:
        task = make_task("sudoku", size=4, n_train=64, n_test=16)
        trainer = recipes.trainer_for(task, "trm-mlp-tiny", model=MODEL, dtype=torch.float64, max_steps=steps, **TRAIN)
        trainer.eval_data = None
        if resume:
            trainer.load_state_dict(ckpt_io.load(resume))
        trainer.fit()
        state = trainer.state_dict()  # every rank takes part (the carry is gathered)
        trainer.close()  # DDP lets go of the process group before teardown leaves it
        if trainer.is_main:
            ckpt_io.save_atomic(state, out)
    finally:
        distributed.teardown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
