#!/usr/bin/env bash
# The GPU checks of the workbook, as one prepared run (about 10 minutes on one CUDA GPU):
#
#   1. the CUDA subset of the tests (tests/test_cuda.py, and every test that is not CPU-only);
#   2. training throughput against the reference at the published TRM-MLP and TRM-Att Sudoku configs,
#      batch 768, side by side in one process: bf16 autocast, then bf16 + torch.compile; peak memory;
#   3. a time-boxed Sudoku-Extreme run (the paper's 1K training puzzles x 1000 augmentations), exact
#      accuracy on held-out puzzles against minutes, its checkpoint kept.
#
#   REF=/path/to/TinyRecursiveModels DATA=/path/to/sudoku-extreme-train-1k.csv OUT=runs/gpu \
#       bash benchmarks/gpu_check.sh
#
# REF (a clone or snapshot of SamsungSAILMontreal/TinyRecursiveModels; it needs pydantic and einops)
# and DATA (a hub-layout Sudoku-Extreme CSV) are optional: without them those parts are skipped.
# MINUTES (default 4) sets the training time. Everything lands in OUT; summary.txt says what ran.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/gpu}
MINUTES=${MINUTES:-4}
PY=${PY:-python}
mkdir -p "$OUT"
summary="$OUT/summary.txt"
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }

note "== $(date -u +%FT%TZ) $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null)"
note "torch $($PY -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())')"

# 1. tests on the GPU (TRM_DEVICE=cuda makes pick_device's default the GPU everywhere)
TRM_DEVICE=cuda timeout 240 $PY -m pytest -q -x tests/test_cuda.py tests/test_devices.py tests/test_models.py \
    tests/test_trainer.py -m "not slow" -p no:cacheprovider > "$OUT/tests.log" 2>&1
note "tests: exit $? ($(tail -1 "$OUT/tests.log"))"

# 2. throughput and peak memory against the reference, side by side
if [ -n "${REF:-}" ]; then
    for preset in trm-mlp-sudoku trm-att-sudoku; do
        for mode in bf16 compile; do
            flag=""; [ "$mode" = compile ] && flag="--compile"
            timeout 150 $PY benchmarks/bench_reference.py --reference "$REF" --preset $preset --batch 768 \
                --device cuda --repeats 5 $flag --json "$OUT/bench-$preset-$mode.json" > "$OUT/bench-$preset-$mode.log" 2>&1
            note "bench $preset $mode: exit $? | $(grep -E 'segment|speed-up' "$OUT/bench-$preset-$mode.log" | tr '\n' ' ')"
        done
    done
else
    note "bench: skipped (no REF)"
fi

# 3. a time-boxed Sudoku-Extreme curve: 900 training puzzles, 100 held out, evaluated every 500 steps
if [ -n "${DATA:-}" ]; then
    timeout $(( MINUTES * 60 + 240 )) $PY -m trm_core.cli train --task sudoku-extreme --preset trm-mlp-sudoku \
        --task-option "train_csv=$DATA" --n-train 900 --n-test 100 --minutes "$MINUTES" --out "$OUT/extreme" \
        --overwrite eval_every=500 progress=false > "$OUT/extreme.log" 2>&1
    note "sudoku-extreme: exit $? | $(tail -2 "$OUT/extreme.log" | tr '\n' ' ')"
    $PY - "$OUT/extreme/metrics.jsonl" <<'EOF' | tee -a "$summary"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["kind"] == "eval":
        print(f"  {r['time'] / 60:5.1f} min  step {r['step']:6d}  exact {100 * r['exact_accuracy']:5.1f}%")
EOF
else
    note "sudoku-extreme: skipped (no DATA)"
fi
note "== done $(date -u +%FT%TZ)"
