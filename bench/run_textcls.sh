#!/usr/bin/env bash
# The fortunes text classification benchmark (docs/BENCHMARKS.md, "Text classification:
# fortunes"): `lamina compare` puts the transformer of examples/text_transformer.json beside a
# linear model and a random forest on bag-of-tokens features, and bench/keras_textcls.py
# trains the transformer's Keras twin on the same token ids and split. Prints a markdown table.
#
#   cmake --build build -j2                      # build/lamina, build/bench/textcls_to_npy
#   KERAS_HUB=DIR bash bench/run_textcls.sh      # DIR: keras_hub installed apart, see
#                                                # examples/make_text_transformer_json.py
#
# Settings (environment): DATA (/usr/share/games/fortunes, Debian package fortunes),
# MIN_CLASS_SAMPLES (300), TOKENIZER (bpe:2000), EPOCHS (10), BATCH (32), THREADS (2),
# SEEDS ("1 2 3": the transformers are trained once per seed, both frameworks; the table
# gives the mean and the range), MODEL (examples/text_transformer.json), BUILD (build),
# PYTHON (bench/.venv/bin/python), KEEP_MASK_TWIN (1: also train the twin with the
# attention's input mask kept, lamina's semantics, see bench/keras_textcls.py; 0: not).
# The runs are sequential: the timings share no core.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
DATA="${DATA:-/usr/share/games/fortunes}"
MIN_CLASS_SAMPLES="${MIN_CLASS_SAMPLES:-300}"
TOKENIZER="${TOKENIZER:-bpe:2000}"
EPOCHS="${EPOCHS:-10}"
BATCH="${BATCH:-32}"
THREADS="${THREADS:-2}"
SEEDS="${SEEDS:-1 2 3}"
MODEL="${MODEL:-$root/examples/text_transformer.json}"
BUILD="${BUILD:-$root/build}"
PYTHON="${PYTHON:-$here/.venv/bin/python}"
KEEP_MASK_TWIN="${KEEP_MASK_TWIN:-1}"
lamina="$BUILD/lamina"
export_npy="$BUILD/bench/textcls_to_npy"
for f in "$lamina" "$export_npy"; do
    [ -x "$f" ] || { echo "run_textcls.sh: $f not built (cmake --build build)" >&2; exit 1; }
done
[ -d "$DATA" ] || { echo "run_textcls.sh: $DATA: no such folder (apt-get install fortunes)" >&2; exit 1; }
if [ -n "${KERAS_HUB:-}" ]; then export PYTHONPATH="$KERAS_HUB${PYTHONPATH:+:$PYTHONPATH}"; fi

# The spec's input length is the number of tokens per sample.
maxlen="$("$PYTHON" -c 'import json, sys
c = json.load(open(sys.argv[1]))["config"]["layers"][0]["config"]
print(c["batch_shape"][1])' "$MODEL")"

work="$(mktemp -d /tmp/lamina-textcls-XXXXXX)"
trap 'rm -rf "$work"' EXIT
common=(--data "textcls:$DATA" --min-class-samples "$MIN_CLASS_SAMPLES" --tokenizer "$TOKENIZER"
        --threads "$THREADS" --json)

echo "lamina: linear, forest" >&2
"$lamina" compare "${common[@]}" --models linear,forest --seed 42 2>/dev/null > "$work/classic.json"
"$export_npy" --data "$DATA" --min-class-samples "$MIN_CLASS_SAMPLES" --tokenizer "$TOKENIZER" \
    --max-len "$maxlen" --out "$work" 2>/dev/null
for seed in $SEEDS; do
    echo "lamina: transformer, seed $seed" >&2
    "$lamina" compare "${common[@]}" --models "spec:$MODEL" --epochs "$EPOCHS" \
        --batch-size "$BATCH" --seed "$seed" 2>/dev/null > "$work/lamina_$seed.json"
    echo "keras: transformer, seed $seed" >&2
    "$PYTHON" "$here/keras_textcls.py" --data "$work" --model "$MODEL" --epochs "$EPOCHS" \
        --batch-size "$BATCH" --seed "$seed" --threads "$THREADS" 2>/dev/null \
        | grep '^{' > "$work/keras_$seed.json"
    if [ "$KEEP_MASK_TWIN" = 1 ]; then
        echo "keras: transformer with the mask kept, seed $seed" >&2
        "$PYTHON" "$here/keras_textcls.py" --data "$work" --model "$MODEL" --epochs "$EPOCHS" \
            --batch-size "$BATCH" --seed "$seed" --threads "$THREADS" --keep-mask 2>/dev/null \
            | grep '^{' > "$work/kept_$seed.json"
    fi
done

"$PYTHON" - "$work" "$SEEDS" <<'EOF'
import json, os, statistics, sys
work, seeds = sys.argv[1], sys.argv[2].split()
info = json.load(open(os.path.join(work, "info.json")))
classic = json.load(open(os.path.join(work, "classic.json")))
rows = []
for m in classic["models"]:
    rows.append((m["model"], "lamina", [m["accuracy"]], [m["train_seconds"]],
                 [m["predict_us_per_sample"]], m["size_kb"], None))
lam = [json.load(open(os.path.join(work, f"lamina_{s}.json")))["models"][0] for s in seeds]
ker = [json.loads(open(os.path.join(work, f"keras_{s}.json")).read()) for s in seeds]
kept = [json.loads(open(os.path.join(work, f"kept_{s}.json")).read()) for s in seeds
        if os.path.exists(os.path.join(work, f"kept_{s}.json"))]
keras_name = "Keras " + ker[0]["versions"]["keras"]
for name, fw, runs in (("transformer", "lamina", lam),
                       ("transformer, Keras twin", keras_name, ker),
                       ("transformer, Keras twin, mask kept", keras_name, kept)):
    if runs:
        rows.append((name, fw, [r["accuracy"] for r in runs], [r["train_seconds"] for r in runs],
                     [r["predict_us_per_sample"] for r in runs], runs[0]["size_kb"],
                     runs[0].get("params")))
print(f"{classic['train_samples']} training samples, {classic['test_samples']} test samples, "
      f"{len(info['classes'])} classes; tokenizer {info['tokenizer']} ({info['vocab_size']} "
      f"tokens), {info['max_len']} tokens per sample for the transformers; transformer seeds "
      f"{', '.join(seeds)}\n")
print("| model | framework | test accuracy | train (s) | predict (µs/sample) | size (KB) | params |")
print("|---|---|---|---|---|---|---|")
for name, fw, acc, tr, pr, kb, params in rows:
    a = f"{statistics.mean(acc):.4f}"
    if len(acc) > 1:
        a += f" ({min(acc):.4f}–{max(acc):.4f})"
    print(f"| {name} | {fw} | {a} | {statistics.mean(tr):.1f} | {statistics.mean(pr):.1f} | "
          f"{kb:.1f} | {params if params else '–'} |")
mean = lambda runs: statistics.mean(r["accuracy"] for r in runs)
print(f"\nlamina transformer - Keras twin: {100 * (mean(lam) - mean(ker)):+.2f} points of accuracy "
      "(mean over seeds)")
if kept:
    print(f"lamina transformer - Keras twin with the mask kept: "
          f"{100 * (mean(lam) - mean(kept)):+.2f} points")
EOF
