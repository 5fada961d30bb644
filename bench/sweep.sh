#!/usr/bin/env bash
# The cost curve: epoch time of the seed CNN against batch size (8, 32, 128,
# 512) and against the number of training samples, for every framework, each
# at THREADS threads. Prints a markdown table; uses bench/run.sh for the runs.
#
#   bash bench/sweep.sh > sweep.md      # THREADS=2 MODEL=cnn REPEATS=1 LIMIT=3000
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
THREADS="${THREADS:-2}"
MODEL="${MODEL:-cnn}"
REPEATS="${REPEATS:-1}"
LIMIT="${LIMIT:-3000}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for b in 8 32 128 512; do
    RESULTS="$out/batch_$b.jsonl" LIMIT="$LIMIT" BATCH="$b" THREADS="$THREADS" MODELS="$MODEL" \
        REPEATS="$REPEATS" bash "$here/run.sh" > /dev/null
done
for n in 1500 6000 24000; do
    RESULTS="$out/limit_$n.jsonl" LIMIT="$n" BATCH=32 THREADS="$THREADS" MODELS="$MODEL" \
        REPEATS="$REPEATS" bash "$here/run.sh" > /dev/null
done
"$here/.venv/bin/python" - "$out" "$MODEL" "$THREADS" "$LIMIT" <<'PY'
import glob, json, os, sys
out, model, threads, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rows = [json.loads(l) for f in sorted(glob.glob(os.path.join(out, "*.jsonl")))
        for l in open(f) if l.startswith("{")]
fws = sorted({r["framework"] for r in rows})

def table(title, key, values, keep):
    print(f"\n### {title}\n")
    print(f"| {key} | " + " | ".join(f"{fw} epoch s | {fw} µs/sample" for fw in fws) + " |")
    print("|---" * (1 + 2 * len(fws)) + "|")
    for v in values:
        cells = []
        for fw in fws:
            r = [x for x in rows if x["framework"] == fw and x[key] == v and keep(x)]
            cells += [f"{r[0]['epoch_s']:.2f}", f"{r[0]['us_per_sample']:.0f}"] if r else ["-", "-"]
        print(f"| {v} | " + " | ".join(cells) + " |")

table(f"Epoch time against batch size ({model}, {threads} threads, {limit} samples)",
      "batch_size", [8, 32, 128, 512], lambda x: x["train_samples"] == limit)
table(f"Epoch time against training samples ({model}, {threads} threads, batch 32)",
      "train_samples", sorted({r["train_samples"] for r in rows if r["batch_size"] == 32}),
      lambda x: x["batch_size"] == 32)
PY
