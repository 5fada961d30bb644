#!/bin/sh
# test_cli_textcls.sh - the transformer text classifier beside the classic models:
# `lamina compare --models linear,forest,spec:SPEC.json` on a textcls folder, the class
# selection --min-class-samples, and the parameter totals of the transformer specs
# (Keras's: examples/make_text_transformer_json.py). POSIX sh; run by ctest from tests/
# with LAMINA_BUILD_DIR set. A few seconds.
set -eu

. "$(dirname "$0")/cli_common.sh"
F="$(cd "$(dirname "$0")/fixtures/text" && pwd)"
EX="$(cd "$(dirname "$0")/../examples" && pwd)"

# --- the specs load with Keras's parameter totals ---------------------------------
expect_rc 0 summary "$EX/text_transformer.json"
out_has "Total params: 79,801 "
out_has "(MultiHeadAttention"
expect_rc 0 summary "$F/text_transformer_tiny.json"
out_has "Total params: 13,427 "
ok "examples/text_transformer.json (79,801) and the tiny spec (13,427) have Keras's totals"

# --- a small textcls folder: three classes told apart by their letters, and a fourth
# class with too few samples for --min-class-samples 10 ------------------------------
d="$tmp/cls"
mkdir -p "$d"
i=1
while [ $i -le 40 ]; do
    printf 'ab ba abba %d\n' $i >>"$d/ab"
    printf 'mn nm mnnm %d\n' $i >>"$d/mn"
    printf 'xy yx xyyx %d\n' $i >>"$d/xy"
    i=$((i + 1))
done
printf 'rare one\nrare two\n' >"$d/rare"

expect_rc 0 compare --data "textcls:$d" --min-class-samples 10 \
    --models "linear,forest,spec:$F/text_transformer_tiny.json" --epochs 8 --batch-size 8 --json
err_has "3 of 4 classes have at least 10 samples (120 samples)"
out_has '"train_samples":96,"test_samples":24'
for m in linear forest text_transformer_tiny; do
    grep -q "\"model\":\"$m\",\"accuracy\"" "$tmp/out" || fail "no result for $m: $(cat "$tmp/out")"
done
out_has '"params":13427'
acc=$(sed -n 's/.*"model":"text_transformer_tiny","accuracy":\([0-9.eE+-]*\).*/\1/p' "$tmp/out")
# Three classes (chance 1/3) that single letters tell apart: a transformer that learns
# anything gets most of the 24 test samples right.
awk -v a="$acc" 'BEGIN { exit !(a >= 0.75 && a <= 1) }' || fail "transformer accuracy $acc"
ok "compare: linear, forest and the transformer spec on the same split (transformer $acc)"

# The table names the spec by its file name.
expect_rc 0 compare --data "textcls:$d" --min-class-samples 10 \
    --models "spec:$F/text_transformer_tiny.json" --epochs 1
grep -q -E '^text_transformer_tiny +[01]\.[0-9]{4} +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$tmp/out" ||
    fail "table row: $(cat "$tmp/out")"
ok "compare's table shows the spec by name"

# Without --min-class-samples the tiny spec has one class too few: the error says so.
expect_rc 1 compare --data "textcls:$d" --models "spec:$F/text_transformer_tiny.json"
err_has "4 classes to predict"
expect_rc 1 compare --data "textcls:$d" --models "spec:$tmp/absent.json"
err_has "absent.json"
expect_rc 1 compare --data "textcls:$d" --models "spec:$d/ab"
err_has "spec:$d/ab: expected a Keras JSON spec"
expect_rc 2 compare --data "textcls:$d" --min-class-samples -1
expect_rc 1 compare --data "textcls:$d" --min-class-samples 50 --models linear
err_has "0 of 4 classes have at least 50 samples, expected at least 2"
ok "compare's errors: too few outputs, a missing spec, not a spec, too few classes"

# A model trained on the selected classes refuses data numbered otherwise.
expect_rc 0 train --model "$F/text_transformer_tiny.json" --data "textcls:$d" \
    --min-class-samples 10 --epochs 1 --verbose 0 --out "$tmp/t.safetensors"
expect_rc 0 evaluate "$tmp/t.safetensors" --data "textcls:$d" --min-class-samples 10 --json
out_has '"samples":120'
expect_rc 1 evaluate "$tmp/t.safetensors" --data "textcls:$d"
err_has "class 2 is \"rare\" here but \"xy\" in model"
ok "train and evaluate with --min-class-samples; other classes are refused"

# Attributions per token: the tokens of --text coloured by IG, as HTML (escaping is
# test_plot's); a character outside the tokenizer's vocabulary is refused by name.
expect_rc 1 explain "$tmp/t.safetensors" --text "mn <b>"
err_has "U+003C"
expect_rc 0 explain "$tmp/t.safetensors" --text "mn nm ab" --method ig,gradxinput --json
out_has '"method":"ig"'
ntok=$(sed -n 's/.*"per_position":\[\([^]]*\)\].*/\1/p' "$tmp/out" | head -n 1 | tr ',' '\n' | grep -c .)
set +e
"$L" explain "$tmp/t.safetensors" --text "mn nm ab" --method ig --out "$tmp/tok.html" \
    >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if grep -q "without cairo" "$tmp/err"; then
    echo "skip - token pictures: lamina was built without cairo"
else
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "explain --text --out"; }
    spans=$(grep -o "<span" "$tmp/tok.html" | grep -c .)
    [ "$spans" -eq 8 ] || fail "\"mn nm ab\" is 8 characters: $spans spans in the HTML"
    [ "$ntok" -ge 8 ] || fail "per_position has $ntok values, the input length is at least 8"
    ok "explain --text: IG per token, drawn as HTML ($spans tokens)"
fi
