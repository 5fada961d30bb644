#!/bin/sh
# test_cli_explain.sh - `lamina explain` end to end: a tiny CNN trained on
# synthetic 6x6 images whose class is decided by the top-left 2x2 block,
# explained from a PGM file and from data-set rows. POSIX sh; run by ctest
# with LAMINA_BUILD_DIR set, from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

"$L" explain --help | grep -q "usage: lamina explain" || fail "explain --help"
"$L" --help | grep -q "^  explain " || fail "explain missing from lamina --help"

# 600 images of 6x6 values in [0, 1): class 1 when the top-left 2x2 block is bright.
awk 'BEGIN { srand(5); printf "label"; for (i = 0; i < 36; i++) printf ",p%d", i; print "";
             for (n = 0; n < 600; n++) { c = n % 2; printf "%d", c;
                 for (i = 0; i < 36; i++) { r = int(i / 6); q = i % 6;
                     v = (r < 2 && q < 2) ? (c ? 0.6 + 0.4 * rand() : 0.4 * rand()) : rand();
                     printf ",%.3f", v }
                 print "" } }' >"$tmp/img.csv"
cat >"$tmp/cnn.json" <<'EOF'
{"module": "keras", "class_name": "Sequential", "config": {"name": "tiny_cnn", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 6, 6, 1], "name": "input_layer"}},
 {"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv", "filters": 4, "kernel_size": [3, 3], "activation": "relu"}},
 {"module": "keras.layers", "class_name": "Flatten", "config": {"name": "flatten"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 2, "activation": "softmax"}}]}}
EOF
"$L" train --model "$tmp/cnn.json" --data "$tmp/img.csv" --epochs 15 --lr 0.01 \
    --out "$tmp/m.safetensors" --verbose 0 >/dev/null 2>&1 || fail "training the tiny CNN"
# A bright top-left block in a dim image (P2 PGM, maximum 255).
{ echo "P2 6 6 255"; for r in 0 1 2 3 4 5; do for q in 0 1 2 3 4 5; do
      if [ $r -lt 2 ] && [ $q -lt 2 ]; then printf "240 "; else printf "60 "; fi
  done; echo; done; } >"$tmp/bright.pgm"
ok "tiny CNN trained"

# --- one method per line, JSON fields, the completeness identity -------------
expect_rc 0 explain "$tmp/m.safetensors" "$tmp/bright.pgm" --method all --json
[ "$(grep -c . "$tmp/out")" -eq 6 ] || fail "--method all: 6 lines, got $(cat "$tmp/out")"
for m in saliency gradxinput ig smoothgrad gradcam occlusion; do
    grep -q "\"method\":\"$m\"" "$tmp/out" || fail "no $m line"
done
grep '"method":"ig"' "$tmp/out" >"$tmp/ig.json"
grep -q '"class":1' "$tmp/ig.json" || fail "the bright block is not class 1: $(cat "$tmp/ig.json")"
s=$(json_num score "$tmp/ig.json"); b=$(json_num baseline_score "$tmp/ig.json")
sum=$(json_num attribution_sum "$tmp/ig.json"); d=$(json_num completeness_delta "$tmp/ig.json")
awk -v s="$s" -v b="$b" -v a="$sum" -v d="$d" \
    'BEGIN { e = a - (s - b) - d; exit !(e < 1e-5 * (1 + (s - b)) && e > -1e-5 * (1 + (s - b))) }' ||
    fail "completeness_delta $d is not attribution_sum - (score - baseline_score)"
ok "explain --method all --json: six methods, completeness identity"

# --- IG attributions land on the deciding block --------------------------------
expect_rc 0 explain "$tmp/m.safetensors" --data "$tmp/img.csv" --index 1 --method ig \
    --steps 128 --json
rel=$(json_num relative_delta "$tmp/out")
awk -v r="$rel" 'BEGIN { exit !(r < 0.05) }' || fail "IG relative delta $rel with 128 steps"
grep -q '"true_class":1' "$tmp/out" || fail "--data rows carry their true class"
ok "IG over a data-set row: relative delta $rel"

# --- permutation importance of a deep model: the block's pixels first ----------
expect_rc 0 explain "$tmp/m.safetensors" --method permutation --data "$tmp/img.csv" \
    --limit 200 --repeats 2 --json
top=$(sed -n 's/.*"features":\[{"name":"\([^"]*\)".*/\1/p' "$tmp/out")
case "$top" in
    p0 | p1 | p6 | p7) ;;
    *) fail "permutation ranks \"$top\" first, expected a pixel of the top-left block" ;;
esac
ok "permutation importance ranks $top first"

# --- a forest saved by select, explained by SHAP --------------------------------
"$L" select --data "$tmp/img.csv" --trees 20 --k all --save-model "$tmp/forest.safetensors" \
    --json >/dev/null 2>&1 || fail "select --save-model"
expect_rc 0 explain "$tmp/forest.safetensors" --method shap --data "$tmp/img.csv" --json
top=$(sed -n 's/.*"features":\[{"name":"\([^"]*\)".*/\1/p' "$tmp/out")
case "$top" in
    p0 | p1 | p6 | p7) ;;
    *) fail "mean |SHAP| ranks \"$top\" first, expected a pixel of the top-left block" ;;
esac
expect_rc 1 explain "$tmp/forest.safetensors" "$tmp/bright.pgm" --method ig
grep -q "shap, permutation or impurity" "$tmp/err" || fail "ig on a forest: $(cat "$tmp/err")"
ok "a forest from select --save-model: mean |SHAP| ranks $top first"

# --- pictures ------------------------------------------------------------------
set +e
"$L" explain "$tmp/m.safetensors" "$tmp/bright.pgm" --method ig,gradcam \
    --out "$tmp/e.png" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if grep -q "without cairo" "$tmp/err"; then
    echo "skip - pictures: lamina was built without cairo"
else
    [ "$rc" -eq 0 ] || { cat "$tmp/err" >&2; fail "explain --out"; }
    head -c 8 "$tmp/e.png" | od -An -c | grep -q "P   N   G" || fail "--out is not a PNG"
    ok "explain --out draws a PNG"
fi

# --- bad input -------------------------------------------------------------------
expect_rc 1 explain "$tmp/m.safetensors" "$tmp/bright.pgm" --class 7
grep -q "out of range" "$tmp/err" || fail "class 7 of 2: $(cat "$tmp/err")"
expect_rc 1 explain "$tmp/m.safetensors" "$tmp/bright.pgm" --method gradcam --layer nosuch
grep -q '"nosuch"' "$tmp/err" || fail "unknown layer not named: $(cat "$tmp/err")"
expect_rc 1 explain "$tmp/m.safetensors" "$tmp/bright.pgm" --method gradcam --layer dense
grep -q "not a Conv2D" "$tmp/err" || fail "a Dense layer for Grad-CAM: $(cat "$tmp/err")"
expect_rc 2 explain "$tmp/m.safetensors" "$tmp/bright.pgm" --method nosuch
expect_rc 2 explain "$tmp/m.safetensors" "$tmp/bright.pgm" --window 0x2 --method occlusion
expect_rc 1 explain "$tmp/m.safetensors" --method shap --data "$tmp/img.csv"
grep -q "trees and forests" "$tmp/err" || fail "shap on a deep model: $(cat "$tmp/err")"
awk 'BEGIN { print "label,a,b,c"; print "0,1,2,3"; print "1,2,3,4" }' >"$tmp/narrow.csv"
expect_rc 1 explain "$tmp/m.safetensors" --data "$tmp/narrow.csv"
grep -q "narrow.csv" "$tmp/err" || fail "data of the wrong shape not named: $(cat "$tmp/err")"
expect_rc 1 explain "$tmp/m.safetensors" --data "$tmp/img.csv" --index 5000
grep -q "5000" "$tmp/err" || fail "index past the split: $(cat "$tmp/err")"
ok "bad input: class, layer, method, window, shap on a deep model, shape, index"
