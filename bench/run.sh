#!/usr/bin/env bash
# Runs the whole seed comparison (lamina vs PyTorch vs Keras) and prints a markdown table.
#
#   bash bench/setup_venv.sh            # once
#   cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build   # for lamina + fma_peak
#   bash bench/run.sh > results.md
#
# Settings (environment): LIMIT=6000 (training samples; 0 = full 60000 epoch), REPEATS=3,
# THREADS="1 2", MODELS="cnn lstm", BATCH=32, BUILD=build, RESULTS=<file to keep the JSON lines>,
# FRAMEWORKS="lamina pytorch keras".
# lamina is timed through $BUILD/bench/bench_seed (same flags and JSON fields as the twins); when
# it is not built the lamina rows are skipped with a note. Progress goes to stderr.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
LIMIT="${LIMIT:-6000}"
REPEATS="${REPEATS:-3}"
THREADS="${THREADS:-1 2}"
MODELS="${MODELS:-cnn lstm}"
BATCH="${BATCH:-32}"
BUILD="${BUILD:-$root/build}"
FRAMEWORKS="${FRAMEWORKS:-lamina pytorch keras}"
PY="$here/.venv/bin/python"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
RESULTS="${RESULTS:-$tmp/results.jsonl}"
: > "$RESULTS"
notes="$tmp/notes"
: > "$notes"

[ -x "$PY" ] || { echo "no $PY: run bash bench/setup_venv.sh first" >&2; exit 1; }

# FMA peak: the lamina build's fma_peak, else a standalone compile of bench/fma_peak.c.
fma="$BUILD/bench/fma_peak"
if [ ! -x "$fma" ]; then
    fma="$tmp/fma_peak"
    cc -std=gnu11 -O2 -fopenmp "$here/fma_peak.c" -o "$fma" 2>"$tmp/cc.log" || fma=""
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
peak_json="{}"
if [ -n "$fma" ]; then
    echo "== fma_peak" >&2
    peak_json="$(OMP_NUM_THREADS="$(nproc)" "$fma" | tail -1)"
fi

run_one() {  # framework model threads
    local fw="$1" m="$2" t="$3" cmd
    local flags=(--model "$m" --threads "$t" --limit "$LIMIT" --batch-size "$BATCH" --repeats "$REPEATS")
    case "$fw" in
        lamina)
            if [ ! -x "$BUILD/bench/bench_seed" ]; then
                grep -q "bench_seed" "$notes" || echo "lamina skipped: ${BUILD#"$root"/}/bench/bench_seed is not built." >> "$notes"
                return
            fi
            cmd=(env OMP_NUM_THREADS="$t" "$BUILD/bench/bench_seed" "${flags[@]}") ;;
        pytorch) cmd=("$PY" "$here/torch_seed.py" "${flags[@]}") ;;
        keras) cmd=("$PY" "$here/keras_seed.py" "${flags[@]}") ;;
    esac
    echo "== $fw $m threads=$t: ${cmd[*]}" >&2
    local line
    line="$("${cmd[@]}" 2>"$tmp/err" | grep '^{' | tail -1)"
    if [ -n "$line" ]; then
        echo "$line" >> "$RESULTS"
    else
        echo "$fw $m threads=$t failed: $(tail -2 "$tmp/err" | tr '\n' ' ')" >> "$notes"
    fi
}

for m in $MODELS; do
    for t in $THREADS; do
        for fw in $FRAMEWORKS; do
            run_one "$fw" "$m" "$t"
        done
    done
done

echo "load average before: $load_before; after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null) (on $(nproc) CPUs; anything else running skews the figures)" >> "$notes"

"$PY" - "$RESULTS" "$notes" "$peak_json" "$LIMIT" "$REPEATS" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
notes = [l.rstrip() for l in open(sys.argv[2]) if l.strip()]
peak = json.loads(sys.argv[3])
# Training work per sample, forward + backward (see the performance notes): MFLOP.
mflop = {"cnn": 14.8, "lstm": 15.0}
print(f"# Seed benchmark: lamina vs PyTorch vs Keras (Fashion-MNIST, batch {rows[0]['batch_size'] if rows else '?'}, "
      f"{rows[0]['train_samples'] if rows else '?'} training samples, median of {sys.argv[5]} epochs)\n")
if peak.get("avx2_fma"):
    print(f"FMA peak (float32, AVX2): {peak['gflops_per_core']} GFLOP/s per core, "
          f"{peak['gflops_all_cores']} GFLOP/s on {peak['threads']} threads.\n")
print("| model | framework | threads | train µs/sample | train GFLOP/s | % of peak | epoch s | "
      "latency b1 µs | throughput b256 /s | peak RSS MB | test acc | version |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for r in sorted(rows, key=lambda r: (r["model"], r["threads"], r["framework"])):
    gf = mflop[r["model"]] * 1e6 / r["us_per_sample"] / 1e3 if r["us_per_sample"] else 0
    pk = ""
    if peak.get("avx2_fma"):
        ref = peak["gflops_per_core"] if r["threads"] == 1 else peak["gflops_all_cores"]
        pk = f"{100 * gf / ref:.0f}%"
    v = r.get("versions", {})
    ver = ", ".join(f"{k} {v[k]}" for k in ("lamina", "torch", "tensorflow", "keras") if k in v)
    print(f"| {r['model']} | {r['framework']} | {r['threads']} | {r['us_per_sample']:.0f} | {gf:.1f} | {pk} | "
          f"{r['epoch_s']:.2f} | {r['latency_b1_us']:.0f} | {r['throughput_b256_per_s']:.0f} | "
          f"{r['peak_rss_mb']:.0f} | {r['test_accuracy']:.4f} | {ver} |")
if notes:
    print()
    for n in notes:
        print(f"- {n}")
print("\nµs/sample excludes the first training step (tracing/compilation in Keras); epoch s is the "
      "whole epoch. Latency: median single-sample forward in inference mode. GFLOP/s and % of "
      "peak count useful work, the direct algorithms' multiply-adds (CNN 14.8, LSTM 15.0 MFLOP "
      "per training sample); lamina computes the CNN's second convolution by Winograd "
      "F(4x4, 3x3) and executes about 5.4 MFLOP per CNN sample, so its useful rate can pass "
      "the FMA peak: its executed rate is 5.4/14.8 of the figure shown.")
EOF
