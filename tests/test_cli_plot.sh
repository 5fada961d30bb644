#!/bin/sh
# test_cli_plot.sh - the pictures of the command: `lamina plot` from the
# history a model file keeps (two epochs, then one more resumed) and from a
# CSVLogger file, and `lamina evaluate --confusion-matrix`, on a tiny
# two-class CSV problem. PNG sizes are read from the files' IHDR. Skips (77)
# in a build without cairo. POSIX sh; run by ctest with LAMINA_BUILD_DIR set,
# from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

# Width and height of a PNG: bytes 16-23, two big-endian 32-bit numbers.
png_size() { od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d", ($1 * 2^24 + $2 * 2^16 + $3 * 256 + $4), ($5 * 2^24 + $6 * 2^16 + $7 * 256 + $8) }'; }
is_png() { [ "$(od -An -c -j1 -N3 "$1" | tr -d ' ')" = PNG ]; }

"$L" --help | grep -q "^  plot " || fail "plot missing from lamina --help"
"$L" plot --help | grep -q "usage: lamina plot" || fail "plot --help"

tiny_csv "$tmp/data.csv"
cat >"$tmp/m.json" <<'EOF_JSON'
{"module": "keras", "class_name": "Sequential", "config": {"name": "tiny", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "input_layer"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "softmax"}}]}}
EOF_JSON
"$L" train --model "$tmp/m.json" --data "$tmp/data.csv" --epochs 2 --validation-split 0.2 \
    --csv-log "$tmp/log.csv" --out "$tmp/m.safetensors" --verbose 0 >/dev/null 2>&1 ||
    fail "training the tiny model"

set +e
"$L" plot "$tmp/m.safetensors" --out "$tmp/curves.png" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if [ $rc -ne 0 ] && grep -q "without cairo" "$tmp/err"; then
    echo "SKIP: $(cat "$tmp/err")"
    exit 77
fi
[ $rc -eq 0 ] || { cat "$tmp/err" >&2; fail "lamina plot MODEL exited $rc"; }
is_png "$tmp/curves.png" || fail "curves.png is not a PNG"
[ "$(png_size "$tmp/curves.png")" = 928x436 ] ||
    fail "two panels (loss, accuracy): 928x436 expected, got $(png_size "$tmp/curves.png")"
out_has "saved $tmp/curves.png (2 epochs)"
ok "plot MODEL: learning curves from the model file's history"

# The history in the file continues when training resumes.
"$L" train --resume "$tmp/m.safetensors" --data "$tmp/data.csv" --epochs 3 \
    --validation-split 0.2 --csv-log "$tmp/log.csv" --csv-append --verbose 0 >/dev/null 2>&1 ||
    fail "resuming"
expect_rc 0 plot "$tmp/m.safetensors" --out "$tmp/curves.png" --json
out_has '"epoch":\[0,1,2\]'
out_has '"val_loss":\[[0-9.e-]*,[0-9.e-]*,[0-9.e-]*\]'
out_has '"learning_rate":'
ok "plot --json: three epochs after a resumed run, with validation values"

# The CSV log (CSVLogger's format) gives the same epochs.
expect_rc 0 plot "$tmp/log.csv" --out "$tmp/log.png" --metrics loss --title "the log"
[ "$(png_size "$tmp/log.png")" = 472x436 ] || fail "one panel: 472x436, got $(png_size "$tmp/log.png")"
out_has "(3 epochs)"
expect_rc 0 plot "$tmp/log.csv" --out "$tmp/log3.png" --metrics loss,accuracy,val_loss
[ "$(png_size "$tmp/log3.png")" = 1384x436 ] || fail "three panels, got $(png_size "$tmp/log3.png")"
ok "plot LOG.csv: one and three panels"

# What cannot be drawn says why.
expect_rc 1 plot "$tmp/log.csv" --out "$tmp/x.png" --metrics loss,recall
err_has 'no "recall" in the curves (they have: accuracy, loss, val_accuracy, val_loss)'
expect_rc 1 plot "$tmp/m.json" --out "$tmp/x.png"
err_has "has no training history"
printf 'step,loss\n0,1\n' >"$tmp/bad.csv"
expect_rc 1 plot "$tmp/bad.csv" --out "$tmp/x.png"
err_has 'bad.csv: line 1: the header "step,loss" does not start with "epoch"'
expect_rc 2 plot "$tmp/log.csv"
err_has "--out FILE.png is required"
[ ! -e "$tmp/x.png" ] || fail "a failed plot left x.png"
ok "plot: unknown quantities, models without history, bad logs, no --out"

# --- evaluate --confusion-matrix ---------------------------------------------
expect_rc 0 evaluate "$tmp/m.safetensors" --data "$tmp/data.csv" \
    --confusion-matrix "$tmp/cm.png" --json
is_png "$tmp/cm.png" || fail "cm.png is not a PNG"
[ "$(png_size "$tmp/cm.png")" = 640x406 ] || fail "2 classes: 640x406, got $(png_size "$tmp/cm.png")"
m=$(sed -n 's/.*"confusion_matrix":\[\[\([0-9]*\),\([0-9]*\)\],\[\([0-9]*\),\([0-9]*\)\]\].*/\1 \2 \3 \4/p' "$tmp/out")
[ -n "$m" ] || fail "no 2x2 confusion_matrix in $(cat "$tmp/out")"
acc=$(json_num accuracy "$tmp/out")
echo "$m" | awk -v acc="$acc" '{ n = $1 + $2 + $3 + $4; d = ($1 + $4) / n;
    exit !(n == 200 && $1 + $2 == 100 && d - acc < 1e-6 && acc - d < 1e-6) }' ||
    fail "confusion matrix $m: 200 samples, 100 of class 0, diagonal share = accuracy $acc"
out_has "\"confusion_matrix_file\":\"$tmp/cm.png\""
printf 'negative\npositive\n' >"$tmp/names.txt"
expect_rc 0 evaluate "$tmp/m.safetensors" --data "$tmp/data.csv" \
    --confusion-matrix "$tmp/cm2.png" --labels "$tmp/names.txt"
out_has "confusion matrix (rows: true class, columns: predicted):"
out_has "  negative\$"
out_has "saved $tmp/cm2.png"
expect_rc 1 evaluate "$tmp/m.safetensors" --data "$tmp/data.csv" --confusion-matrix /nonexistent/cm.png
err_has "/nonexistent/cm.png"
ok "evaluate --confusion-matrix: picture, JSON matrix (accuracy $acc), text with class names"
