"""Float32 matrix products of TRM's layers: torch's route (MKL) against oneDNN's (``trm_core.gemm``).

For a preset and batch size, times each product one training segment makes in a block (forward,
and the two products of each backward) both ways, side by side, and prints GFLOP/s and the ratio.

    python benchmarks/bench_gemm.py [--preset trm-mlp-sudoku] [--batch 16] [--threads 1 2] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from trm_core import gemm, layers, preset


def shapes(cfg, batch: int) -> dict[str, tuple[tuple[int, int], tuple[int, int], bool, bool]]:
    """name -> ((M, K), (K, N), a transposed?, b transposed?) for the products of one block."""
    L, D = cfg.seq_len + cfg.puzzle_emb_len, cfg.hidden_size
    H = layers.swiglu_width(D, cfg.expansion, cfg.mlp_multiple)
    rows = L * batch
    out = {  # the feature SwiGLU on (rows, D): x @ W^T, and its backward
        "mlp gate_up x@W.T": ((rows, D), (D, 2 * H), False, True),
        "mlp down h@W.T": ((rows, H), (H, D), False, True),
        "mlp d_input g@W": ((rows, 2 * H), (2 * H, D), False, False),
        "mlp d_weight g.T@x": ((2 * H, rows), (rows, D), True, False),
    }
    if cfg.mixer == "mlp":  # the SwiGLU across tokens on the (L, B*D) view: W @ x
        Ht = layers.swiglu_width(L, cfg.expansion, cfg.mlp_multiple)
        cols = batch * D
        out.update({
            "tokens gate_up W@x": ((2 * Ht, L), (L, cols), False, False),
            "tokens down W@h": ((L, Ht), (Ht, cols), False, False),
            "tokens d_input W.T@g": ((L, 2 * Ht), (2 * Ht, cols), True, False),
            "tokens d_weight g@x.T": ((2 * Ht, cols), (cols, L), False, True),
        })
    else:
        out["attn qkv x@W.T"] = ((rows, D), (D, 3 * D), False, True)
    return out


def keep_freed_memory() -> bool:
    """Ask glibc to keep freed memory for reuse instead of returning it to the system (Linux only).

    Timed alone, a product whose output is 32 MiB or more (the token mixer's gate_up for Sudoku at
    batch 16) gets fresh pages from the system on every call and spends about half its time
    faulting them in; inside a training step the same product reuses freed memory and runs at full
    speed (94.5 GFLOP/s in a Zen 4 segment's profile; system time is 4% of a bench_reference run).
    This makes the lone product behave as in training."""
    try:
        import ctypes
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows, musl): nothing to change
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)) and bool(libc.mallopt(M_TRIM_THRESHOLD, 1 << 30))


def operand(shape, transposed: bool) -> torch.Tensor:
    return torch.randn(shape[::-1]).t() if transposed else torch.randn(shape)


def timed(fn, repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="trm-mlp-sudoku")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    if not gemm._onednn_present():
        raise SystemExit("this PyTorch has no oneDNN: nothing to compare")
    cfg = preset(args.preset)
    if not keep_freed_memory():
        print("note: could not tune malloc: products with large outputs include page faults")
    rows = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        print(f"{args.preset}, batch {args.batch}, {threads} thread(s): GFLOP/s torch / oneDNN")
        for name, (sa, sb, ta, tb) in shapes(cfg, args.batch).items():
            a, b = operand(sa, ta), operand(sb, tb)
            flops = 2 * sa[0] * sa[1] * sb[1]
            t_torch = timed(lambda: torch.mm(a, b), args.repeats)
            t_onednn = timed(lambda: gemm._product(a, b), args.repeats)  # noqa: B023
            rows.append(dict(threads=threads, product=name, m=sa[0], k=sa[1], n=sb[1],
                             torch_gflops=flops / t_torch / 1e9, onednn_gflops=flops / t_onednn / 1e9,
                             ratio=t_torch / t_onednn))
            r = rows[-1]
            print(f"  {name:24s} {sa[0]:6d}x{sa[1]:5d}x{sb[1]:5d}  {r['torch_gflops']:6.0f} / "
                  f"{r['onednn_gflops']:6.0f}   x{r['ratio']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)
    return rows


if __name__ == "__main__":
    main()
