#!/bin/sh
# test_cli_select.sh - `lamina select` (feature ranking and selection) and
# `lamina surrogate` (surrogate trees of a trained model) on tiny synthetic
# data. POSIX sh; run by ctest with LAMINA_BUILD_DIR set, from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

# 400 rows, 6 features: the class (0..2) is decided by "size" and "shape"
# together (with some overlap); the other four are noise.
awk 'BEGIN { srand(11); print "label,noise_a,size,noise_b,shape,noise_c,noise_d";
             for (i = 0; i < 400; i++) { s = rand(); h = rand();
                 c = (s + 0.6 * h + 0.15 * rand() < 0.8) ? 0 : (s > 0.6 ? 2 : 1);
                 printf "%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f\n", c, rand(), s, rand(), h, rand(),
                        rand() } }' >"$tmp/d.csv"

for sub in select surrogate; do
    "$L" "$sub" --help | grep -q "usage: lamina $sub" || fail "$sub --help"
    "$L" --help | grep -q "^  $sub " || fail "$sub missing from lamina --help"
done
ok "help for select and surrogate"

# --- select: SHAP ranking, table, reduced data set ---------------------------
expect_rc 0 select --data "$tmp/d.csv" --trees 25 --k 1,2,all --out "$tmp/red" --json
j="$tmp/out"
[ "$(grep -c . "$j")" -eq 1 ] || fail "select --json prints one line"
first=$(sed -n 's/.*"ranking":\[{"feature":[0-9]*,"name":"\([^"]*\)".*/\1/p' "$j")
second=$(sed -n 's/.*"ranking":\[{[^}]*},{"feature":[0-9]*,"name":"\([^"]*\)".*/\1/p' "$j")
case "$first,$second" in
    size,shape|shape,size) ;;
    *) fail "SHAP ranks \"$first\", \"$second\" first; expected size and shape (CSV names)" ;;
esac
grep -q '"table":\[{"k":1,"accuracy":[0-9.]*},{"k":2,"accuracy":[0-9.]*},{"k":6,' "$j" ||
    fail "select table for k = 1, 2, all: $(cat "$j")"
best=$(json_num best_k "$j")
kept=$(json_num kept "$j")
[ "$kept" = "$best" ] || fail "kept $kept features, best k is $best"
for f in train.npy train.labels.npy test.npy test.labels.npy features.txt; do
    [ -s "$tmp/red.$f" ] || fail "select --out wrote no red.$f"
done
[ "$(grep -c . "$tmp/red.features.txt")" -eq "$kept" ] || fail "features.txt lists $kept lines"
ok "select --rank shap: size and shape first, best k $best, reduced data written"

# Deterministic for a seed; the reduced data feed back into compare.
cp "$j" "$tmp/first.json"
expect_rc 0 select --data "$tmp/d.csv" --trees 25 --k 1,2,all --out "$tmp/red" --json
cmp -s "$tmp/out" "$tmp/first.json" || fail "select gave another answer for the same seed"
expect_rc 0 compare --data "$tmp/red.train.npy:$tmp/red.train.labels.npy" --models tree --json
grep -q '"accuracy":' "$tmp/out" || fail "compare on the reduced data"
ok "select is deterministic; its output trains in compare"

# Permutation importance with a single tree; noise features score 0 or near it.
expect_rc 0 select --data "$tmp/d.csv" --rank permutation --model tree --k 2 --out "$tmp/p" \
    --keep 3 --json
first=$(sed -n 's/.*"ranking":\[{"feature":[0-9]*,"name":"\([^"]*\)".*/\1/p' "$tmp/out")
case "$first" in size|shape) ;; *) fail "permutation ranks \"$first\" first" ;; esac
[ "$(json_num kept "$tmp/out")" = 3 ] || fail "--keep 3"
[ "$(grep -c . "$tmp/p.features.txt")" -eq 3 ] || fail "--keep 3 wrote other than 3 features"
ok "select --rank permutation --model tree --keep 3"

# Impurity ranking, text output: the ranking and the table.
expect_rc 0 select --data "$tmp/d.csv" --rank impurity --trees 10 --k 1,all
grep -q "ranking by impurity decrease" "$tmp/out" || fail "impurity heading"
grep -q "best k:" "$tmp/out" || fail "best k line"
ok "select --rank impurity (text)"

# --plot: drawn, or (a build without pictures) the error after everything else, exit 1.
set +e
"$L" select --data "$tmp/d.csv" --rank impurity --trees 5 --k 1,2 --plot "$tmp/acc.png" \
    --out "$tmp/pl" >"$tmp/out" 2>"$tmp/err"
rc=$?
set -e
if [ "$rc" -eq 0 ]; then
    [ -s "$tmp/acc.png" ] || fail "--plot exited 0 without a picture"
    ok "select --plot drew $tmp/acc.png"
else
    [ "$rc" -eq 1 ] || fail "--plot exited $rc"
    grep -q -- "--plot .*acc.png" "$tmp/err" || fail "--plot error does not name the file"
    grep -q "best k:" "$tmp/out" || fail "a failed --plot stopped the table"
    [ -s "$tmp/pl.train.npy" ] || fail "a failed --plot stopped the reduced data"
    ok "select --plot without pictures: table and files, then the error, exit 1"
fi

# Usage errors.
expect_rc 2 select --data "$tmp/d.csv" --rank bogus
grep -q -- '--rank "bogus": expected shap, permutation or impurity' "$tmp/err" || fail "bad --rank message"
expect_rc 2 select --data "$tmp/d.csv" --k 0
grep -q -- '--k: "0" is not a feature count' "$tmp/err" || fail "--k 0 message"
expect_rc 2 select --data "$tmp/d.csv" --trees 5 --k 2,7
grep -q -- "--k 7: the data have 6 features" "$tmp/err" || fail "--k out of range message"
expect_rc 2 select --data "$tmp/d.csv" --keep 2
grep -q -- "--keep needs --out" "$tmp/err" || fail "--keep without --out message"
expect_rc 2 select --data "$tmp/d.csv" --model svm
expect_rc 2 select --rank shap
expect_rc 1 select --data "$tmp/missing.csv"
ok "select rejects bad --rank, --k out of range, --keep without --out, --model, no --data"

# --- surrogate ------------------------------------------------------------------
cat >"$tmp/dense.json" <<'EOF'
{"module": "keras", "class_name": "Sequential", "config": {"name": "tiny", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 6], "name": "input_layer"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 16, "activation": "relu"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 3, "activation": "softmax"}}]}}
EOF
"$L" train --model "$tmp/dense.json" --data "$tmp/d.csv" --epochs 30 --lr 0.01 \
    --out "$tmp/m.safetensors" >/dev/null 2>&1 || fail "training the tiny model"
expect_rc 0 surrogate "$tmp/m.safetensors" --data "$tmp/d.csv" --max-depth 1,3,6 \
    --rules "$tmp/rules.txt" --json
[ "$(grep -c . "$tmp/out")" -eq 1 ] || fail "surrogate --json prints one line"
grep -q '"surrogates":\[{"max_depth":1,"depth":1,' "$tmp/out" || fail "surrogate depth 1 row"
fid1=$(sed -n 's/.*"max_depth":1,[^}]*"fidelity":\([0-9.]*\).*/\1/p' "$tmp/out")
fid6=$(sed -n 's/.*"max_depth":6,[^}]*"fidelity":\([0-9.]*\).*/\1/p' "$tmp/out")
macc=$(json_num model_accuracy "$tmp/out")
awk -v a="$fid1" -v b="$fid6" -v m="$macc" 'BEGIN { exit !(b > a && b >= 0.8 && b <= 1 && m > 0.6) }' ||
    fail "fidelity depth 1: $fid1, depth 6: $fid6, model accuracy $macc"
grep -q '"rules_depth":6' "$tmp/out" || fail "rules of the deepest tree by default"
head -n 1 "$tmp/rules.txt" | grep -q "^if [a-z_]* <= " || fail "rules: $(head -n 1 "$tmp/rules.txt")"
grep -q "^    .*class [0-2] (" "$tmp/rules.txt" || fail "rules have no leaf line"
ok "surrogate: fidelity $fid1 (depth 1) -> $fid6 (depth 6), model accuracy $macc, rules"

expect_rc 0 surrogate "$tmp/m.safetensors" --data "$tmp/d.csv" --max-depth 2,4 \
    --rules "$tmp/r2.txt" --rules-depth 2
grep -q "max depth  fidelity  accuracy  model accuracy  leaves" "$tmp/out" || fail "table header"
[ "$(grep -c "^if \|^else" "$tmp/r2.txt")" -eq 2 ] || fail "depth-2 rules: one split at the top"
ok "surrogate text table, --rules-depth"

expect_rc 1 surrogate "$tmp/none.safetensors" --data "$tmp/d.csv"
grep -q "none.safetensors" "$tmp/err" || fail "bad model path is not named"
expect_rc 2 surrogate "$tmp/m.safetensors" --data "$tmp/d.csv" --max-depth 0,4
grep -q -- '--max-depth: "0" is not a depth' "$tmp/err" || fail "bad depth message"
expect_rc 2 surrogate "$tmp/m.safetensors" --data "$tmp/d.csv" --max-depth 3,x
expect_rc 2 surrogate "$tmp/m.safetensors" --data "$tmp/d.csv" --rules "$tmp/r" --rules-depth 5
expect_rc 1 surrogate "$tmp/m.safetensors" --data "$tmp/p.train.npy:$tmp/p.train.labels.npy"
grep -q "takes inputs of shape (6,)" "$tmp/err" || fail "feature mismatch message: $(cat "$tmp/err")"
expect_rc 1 surrogate "$tmp/dense.json" --data "$tmp/d.csv"
grep -q "untrained architecture" "$tmp/err" || fail "spec as a model"
ok "surrogate rejects a bad model path, bad depths, mismatched features, a spec"
