"""Memory saved by activation checkpointing of the last cycle (``activation_checkpointing=true``), on CPU.

Each setting trains in a fresh process (so no allocator cache is shared): the peak resident memory of
three training segments above the process's memory just before them (model built), and the best time
of the last two. The optimizer state is the same in both settings, so the difference between them is
what a segment keeps alive for backward.

    python benchmarks/activation_memory.py [--preset trm-mlp-sudoku] [--batch 64] [--threads 2] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def resident_mib() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def measure(preset_name: str, batch_size: int, checkpointing: bool, threads: int) -> dict:
    """Three training segments in this (child) process: peak memory above the built model, best time."""
    import torch

    from trm_core import build_model, preset
    from trm_core.trainer import TrainConfig, Trainer

    torch.set_num_threads(threads)
    cfg = preset(preset_name)
    g = torch.Generator().manual_seed(0)
    batch = {"inputs": torch.randint(1, cfg.vocab_size, (batch_size, cfg.seq_len), generator=g),
             "labels": torch.randint(1, cfg.vocab_size, (batch_size, cfg.seq_len), generator=g),
             "puzzle_identifiers": torch.zeros(batch_size, dtype=torch.long)}
    torch.manual_seed(0)
    model = build_model(cfg)
    before_mib = resident_mib()  # the process with its model, before any training
    config = TrainConfig(batch_size=batch_size, optimizer="adamw", progress=False, ema=False,
                         activation_checkpointing=checkpointing)
    trainer = Trainer(model, None, config)  # type: ignore[arg-type]
    trainer.train_step(batch)  # warm-up: threads, allocator, the optimizer's first state
    seconds = []
    for _ in range(2):
        t = time.perf_counter()
        out = trainer.train_step(batch)
        seconds.append(time.perf_counter() - t)
    seconds = min(seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"checkpointing": checkpointing, "segment_peak_mib": peak / 1024 - before_mib, "seconds": seconds,
            "lm_loss": out["lm_loss"]}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="trm-mlp-sudoku")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    ap.add_argument("--child", choices=["on", "off"], help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.preset, args.batch, args.child == "on", args.threads)))
        return None
    rows = []
    for mode in ("off", "on"):
        done = subprocess.run([sys.executable, __file__, "--preset", args.preset, "--batch", str(args.batch),
                               "--threads", str(args.threads), "--child", mode], capture_output=True, text=True)
        if done.returncode:
            sys.exit(done.stderr)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"activation checkpointing {mode:>3}: segment peak +{r['segment_peak_mib']:7.1f} MiB  "
              f"{r['seconds']:.2f} s  (lm loss {r['lm_loss']:.4f})")
    off, on = rows
    print(f"saved {off['segment_peak_mib'] - on['segment_peak_mib']:.1f} MiB "
          f"({off['segment_peak_mib'] / max(on['segment_peak_mib'], 1e-9):.1f}x less), "
          f"time x{on['seconds'] / off['seconds']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"preset": args.preset, "batch": args.batch, "runs": rows}, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
