"""Training-segment speed of trm_core against the reference TinyRecursiveModels code, side by side.

One segment = one ACT supervision step for the batch (deep recursion forward), stablemax loss,
backward, optimizer steps (the same AdamW on both sides, plus each side's puzzle-embedding SignSGD).
The two implementations are timed alternately in one process, so machine noise hits both alike.

    python benchmarks/bench_reference.py --reference /path/to/TinyRecursiveModels [--preset trm-mlp-sudoku]
        [--batch 16] [--threads 2] [--repeats 5] [--device cpu] [--torch-gemm] [--bf16] [--cpu-time] [--json OUT.json]

trm_core's products take ``trm_core.gemm``'s route (oneDNN on AMD CPUs; ``gemm`` in the output says
which); --torch-gemm also times it with torch's own, the ones the reference uses. Without
--reference only trm_core is timed. On CUDA both sides use bf16 autocast (ours) / bf16
forward_dtype (reference); add --compile to torch.compile both.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

import torch

from trm_core import build_model, devices, gemm, layers, preset
from trm_core.trainer import TrainConfig, Trainer


def reference_config(cfg, batch_size: int, dtype: str) -> dict:
    """The arch config dict the reference model class receives for our ModelConfig."""
    return dict(
        batch_size=batch_size, seq_len=cfg.seq_len, vocab_size=cfg.vocab_size,
        num_puzzle_identifiers=cfg.num_puzzle_identifiers, puzzle_emb_ndim=cfg.puzzle_emb_ndim,
        puzzle_emb_len=cfg.puzzle_emb_len, H_cycles=cfg.T, L_cycles=cfg.n, H_layers=0, L_layers=cfg.layers,
        hidden_size=cfg.hidden_size, expansion=cfg.expansion, num_heads=cfg.num_heads,
        pos_encodings=cfg.pos_encodings, halt_max_steps=cfg.N_sup, halt_exploration_prob=cfg.halt_exploration_prob,
        forward_dtype=dtype, mlp_t=cfg.mixer == "mlp", no_ACT_continue=not cfg.act_continue, causal=False,
    )


def make_batch(cfg, batch_size: int, device) -> dict:
    g = torch.Generator().manual_seed(0)
    inputs = torch.randint(1, cfg.vocab_size, (batch_size, cfg.seq_len), generator=g)
    labels = torch.randint(2, cfg.vocab_size, (batch_size, cfg.seq_len), generator=g)
    return {"inputs": inputs.to(device), "labels": labels.to(device),
            "puzzle_identifiers": torch.zeros(batch_size, dtype=torch.long, device=device)}


class ReferenceRunner:
    """Drives the reference code the way its pretrain.py does, one segment per call."""

    def __init__(self, path: str, cfg, batch: dict, device, compile: bool):
        sys.path.insert(0, path)
        from models.losses import ACTLossHead  # type: ignore
        from models.recursive_reasoning.trm import TinyRecursiveReasoningModel_ACTV1  # type: ignore
        from models.sparse_embedding import CastedSparseEmbeddingSignSGD_Distributed  # type: ignore

        dtype = "bfloat16" if torch.device(device).type == "cuda" else "float32"
        B = batch["inputs"].shape[0]
        with torch.device(device):
            model = TinyRecursiveReasoningModel_ACTV1(reference_config(cfg, B, dtype))
            self.head = ACTLossHead(model, loss_type="stablemax_cross_entropy").to(device)
        self.head.train()
        self.forward = torch.compile(self.head) if compile else self.head
        params = [p for n, p in self.head.named_parameters() if "puzzle_emb" not in n]
        self.opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), weight_decay=1.0)
        self.sparse_opt = None
        if cfg.puzzle_emb_ndim:
            self.sparse_opt = CastedSparseEmbeddingSignSGD_Distributed(
                self.head.model.puzzle_emb.buffers(), world_size=1, lr=1e-2, weight_decay=0.1)
        self.batch = batch
        with torch.device(device):
            self.carry = self.head.initial_carry(batch)

    def segment(self):
        self.carry, loss, _, _, _ = self.forward(carry=self.carry, batch=self.batch, return_keys=[])
        (loss / self.batch["inputs"].shape[0]).backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        if self.sparse_opt is not None:
            self.sparse_opt.step()
            self.sparse_opt.zero_grad()


#: Operators that are matrix products (torch's and trm_core.gemm's oneDNN route).
PRODUCTS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "mkldnn::_linear_pointwise")


def profile(step) -> dict:
    """Self CPU time of one segment by operator; prints the top ones and the matrix products' share."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    ops = sorted(((e.key, e.self_cpu_time_total) for e in prof.key_averages()), key=lambda kv: -kv[1])
    total = sum(t for _, t in ops)
    products = sum(t for k, t in ops if k.startswith(PRODUCTS))
    print(f"profile of one trm_core segment: {total / 1e6:.2f} s of operator self time, "
          f"matrix products {100 * products / total:.1f}%")
    for k, t in ops[:12]:
        print(f"  {100 * t / total:5.1f}%  {k}")
    return {"total_s": total / 1e6, "products_share": products / total,
            "top": [(k, t / total) for k, t in ops[:20]]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", help="path to a clone of SamsungSAILMontreal/TinyRecursiveModels")
    ap.add_argument("--preset", default="trm-mlp-sudoku")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=5, help="timed segments per implementation")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--compile", action="store_true")
    ap.add_argument("--plain", action="store_true",
                    help="also time trm_core with its plain layers (layers.CHUNKED = False), the version before")
    ap.add_argument("--torch-gemm", action="store_true",
                    help="also time trm_core with torch's own products (gemm.BACKEND = 'torch'), as the reference has")
    ap.add_argument("--bf16", action="store_true",
                    help="also time trm_core under bf16 autocast on the CPU (devices.CPU_BF16; not identical math)")
    ap.add_argument("--cpu-time", action="store_true",
                    help="measure the CPU time of this thread instead of wall time "
                         "(with --threads 1: robust on a busy machine)")
    ap.add_argument("--profile", action="store_true",
                    help="after timing, profile one trm_core segment: where the time goes (torch.profiler)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    cfg = preset(args.preset)
    batch = make_batch(cfg, args.batch, device)
    torch.manual_seed(0)
    model = build_model(cfg)
    config = TrainConfig(batch_size=args.batch, optimizer="adamw", lr=1e-4, lr_warmup_steps=1, progress=False,
                         ema=False, compile=args.compile)
    ours = Trainer(model, None, config, device=device)  # type: ignore[arg-type]
    runners = {"trm_core": lambda: ours.train_step(batch)}

    def variant(module, name: str, value):
        """A step of a fresh trainer of the same model, run with ``module.name = value`` (then restored)."""
        torch.manual_seed(0)
        trainer = Trainer(build_model(cfg), None, config, device=device)  # type: ignore[arg-type]

        def step():
            before = getattr(module, name)
            setattr(module, name, value)
            try:
                trainer.train_step(batch)
            finally:
                setattr(module, name, before)
        return step

    if args.plain:  # the plain layers (layers.CHUNKED off): the "before"
        runners["trm_core-plain"] = variant(layers, "CHUNKED", False)
    if args.torch_gemm:  # torch's products (MKL on x86) instead of trm_core.gemm's route
        runners["trm_core-torch-gemm"] = variant(gemm, "BACKEND", "torch")
    if args.bf16:  # bf16 autocast on the CPU: reported separately, it is not the float32 math
        runners["trm_core-bf16"] = variant(devices, "CPU_BF16", True)
    if args.reference:
        torch.manual_seed(0)
        ref = ReferenceRunner(args.reference, cfg, batch, device, args.compile)
        runners["reference"] = ref.segment

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    clock = time.thread_time if args.cpu_time else time.perf_counter
    if args.cpu_time and args.threads != 1:
        ap.error("--cpu-time needs --threads 1 (other threads' work would not be counted)")
    times = {name: [] for name in runners}
    peak = {}
    for name, run in runners.items():  # warm up (and compile)
        for _ in range(2):
            run()
    for _ in range(args.repeats):  # alternate, so noise hits both alike
        for name, run in runners.items():
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats()
            sync()
            t = clock()
            run()
            sync()
            times[name].append(clock() - t)
            if device.type == "cuda":
                peak[name] = torch.cuda.max_memory_allocated() / 2**20
    result = {"preset": args.preset, "batch": args.batch, "threads": args.threads, "device": str(device),
              "gemm": gemm.backend(),
              "clock": "thread CPU time" if args.cpu_time else "wall",
              "compile": args.compile, "torch": torch.__version__}
    for name, ts in times.items():
        med = statistics.median(ts)
        result[name] = {"median_s_per_segment": med, "samples_per_s": args.batch / med, "all_s": ts,
                        "peak_mem_mb": peak.get(name)}
        print(f"{name:>10}: {med:.3f} s/segment  {args.batch / med:8.1f} samples/s"
              + (f"  peak {peak[name]:.0f} MiB" if name in peak else ""))
    if "reference" in result:
        result["speedup"] = result["reference"]["median_s_per_segment"] / result["trm_core"]["median_s_per_segment"]
        print(f"speed-up of trm_core over the reference: {result['speedup']:.2f}x")
    if "trm_core-torch-gemm" in result and "reference" in result:
        result["speedup_torch_gemm"] = (result["reference"]["median_s_per_segment"]
                                        / result["trm_core-torch-gemm"]["median_s_per_segment"])
        print(f"speed-up over the reference with torch's products: {result['speedup_torch_gemm']:.2f}x")
    if "trm_core-bf16" in result:
        result["speedup_bf16"] = (result["trm_core"]["median_s_per_segment"]
                                  / result["trm_core-bf16"]["median_s_per_segment"])
        print(f"bf16 autocast over float32 trm_core: {result['speedup_bf16']:.2f}x (not identical math)")
    if "trm_core-plain" in result:
        result["speedup_over_plain"] = (result["trm_core-plain"]["median_s_per_segment"]
                                        / result["trm_core"]["median_s_per_segment"])
        print(f"speed-up of trm_core over its plain layers: {result['speedup_over_plain']:.2f}x")
    if args.profile:
        result["profile"] = profile(runners["trm_core"])
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == "__main__":
    main()
