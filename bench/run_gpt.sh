#!/usr/bin/env bash
# The char-GPT comparison: examples/char_gpt.c against its PyTorch and Keras twins
# (bench/torch_gpt.py, bench/keras_gpt.py; the shared configuration is bench/gpt_common.py),
# run one after the other on the same corpus, and a markdown table of the results.
#
#   bash bench/setup_venv.sh && sh scripts/get_shakespeare.sh     # once
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build
#   bash bench/run_gpt.sh > gpt.md
#
# Settings (environment): ITERS=2000, FRAMEWORKS="lamina pytorch keras", BUILD=build,
# CORPUS=data/shakespeare.txt, RESULTS=<file to keep the JSON lines>.
# Thread settings tried (2 cores): lamina 1 and 2 threads; PyTorch with one torch thread and
# OpenBLAS on 1 or 2 threads, and two torch threads with OpenBLAS on 2 (Debian's torch does
# its matrix products in OpenBLAS, whose own threads OPENBLAS_NUM_THREADS sets); Keras 1 and 2
# intra-op threads. The table names PyTorch's best setting.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
ITERS="${ITERS:-2000}"
FRAMEWORKS="${FRAMEWORKS:-lamina pytorch keras}"
BUILD="${BUILD:-$root/build}"
CORPUS="${CORPUS:-$root/data/shakespeare.txt}"
PY="$here/.venv/bin/python"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
RESULTS="${RESULTS:-$tmp/results.jsonl}"
: > "$RESULTS"
[ -s "$CORPUS" ] || { echo "no $CORPUS: run sh scripts/get_shakespeare.sh" >&2; exit 1; }

peak_json="{}"
if [ -x "$BUILD/bench/fma_peak" ]; then
    peak_json="$(OMP_NUM_THREADS="$(nproc)" "$BUILD/bench/fma_peak" | tail -1)"
fi

run() {  # label command...
    local label="$1"; shift
    echo "== $label: $*" >&2
    local line
    line="$("$@" 2>"$tmp/err" | grep '^{' | tail -1)"
    if [ -n "$line" ]; then
        echo "$line" | "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); d['setting']='$label'; print(json.dumps(d))" >> "$RESULTS"
    else
        echo "$label failed: $(tail -3 "$tmp/err" | tr '\n' ' ')" >&2
    fi
}

common=(--corpus "$CORPUS" --iters "$ITERS" --json)
for fw in $FRAMEWORKS; do
    case "$fw" in
    lamina)
        for t in 1 2; do
            run "lamina, $t threads" env OMP_NUM_THREADS="$t" "$BUILD/examples/char_gpt" \
                "${common[@]}" --threads "$t" --out "$tmp/char_gpt.safetensors"
        done ;;
    pytorch)
        run "PyTorch, 1 torch thread, OpenBLAS 2 threads" env OPENBLAS_NUM_THREADS=2 \
            OMP_NUM_THREADS=1 "$PY" "$here/torch_gpt.py" "${common[@]}" --threads 1
        run "PyTorch, 1 torch thread, OpenBLAS 1 thread" env OPENBLAS_NUM_THREADS=1 \
            OMP_NUM_THREADS=1 "$PY" "$here/torch_gpt.py" "${common[@]}" --threads 1
        run "PyTorch, 2 torch threads, OpenBLAS 2 threads" env OPENBLAS_NUM_THREADS=2 \
            OMP_NUM_THREADS=2 "$PY" "$here/torch_gpt.py" "${common[@]}" --threads 2 ;;
    keras)
        for t in 1 2; do
            run "Keras, $t threads" "$PY" "$here/keras_gpt.py" "${common[@]}" --threads "$t"
        done ;;
    esac
done

"$PY" - "$RESULTS" "$peak_json" "$ITERS" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
peak = json.loads(sys.argv[2])
iters = int(sys.argv[3])
# Training FLOPs per iteration (PaLM's count): 6 x matrix weights x tokens + 12 x layers x
# heads x head_dim x block x tokens for attention scores and weighted sums (full T x T).
L, H, C, T, B, V = 4, 4, 128, 64, 12, 84
weights = L * 12 * C * C + C * V
flop = 6 * weights * B * T + 12 * L * H * (C // H) * T * B * T
print(f"# char-GPT: lamina vs PyTorch vs Keras ({iters} iterations, batch {B} x block {T}, "
      f"{flop / 1e9:.2f} GFLOP per iteration)\n")
if peak.get("gflops_all_cores"):
    print(f"FMA peak (float32): {peak['gflops_per_core']} GFLOP/s per core, "
          f"{peak['gflops_all_cores']} on {peak['threads']} threads.\n")
print("| setting | ms / iteration | GFLOP/s | % of FMA peak | train loss | val loss |")
print("|---|---:|---:|---:|---:|---:|")
for r in rows:
    gf = flop / (r["ms_per_iter"] * 1e-3) / 1e9
    pk = ""
    if peak.get("gflops_all_cores"):
        two = "2 thread" in r["setting"] or "OpenBLAS 2" in r["setting"]
        ref = peak["gflops_all_cores"] if two else peak["gflops_per_core"]
        pk = f"{100 * gf / ref:.0f}%"
    print(f"| {r['setting']} | {r['ms_per_iter']:.1f} | {gf:.0f} | {pk} | {r['train_loss']:.4f} | "
          f"{r['val_loss']:.4f} |")
torch = [r for r in rows if r.get("framework") == "pytorch"]
lam = [r for r in rows if r.get("framework") == "lamina"]
if torch and lam:
    bt = min(torch, key=lambda r: r["ms_per_iter"])
    bl = min(lam, key=lambda r: r["ms_per_iter"])
    print(f"\nPyTorch's best setting: {bt['setting']} ({bt['ms_per_iter']:.1f} ms). lamina's best: "
          f"{bl['setting']} ({bl['ms_per_iter']:.1f} ms): {bt['ms_per_iter'] / bl['ms_per_iter']:.2f}x "
          f"faster; validation loss {bl['val_loss']:.4f} vs {bt['val_loss']:.4f} "
          f"(difference {bl['val_loss'] - bt['val_loss']:+.4f}).")
PYEOF
