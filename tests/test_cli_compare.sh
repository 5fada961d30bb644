#!/bin/sh
# test_cli_compare.sh - `lamina compare` with model settings (scikit-learn's names) and
# feature scaling, and `lamina train --standardize`, on tiny synthetic data. POSIX sh;
# run by ctest with LAMINA_BUILD_DIR set, from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

# 300 rows, 2 classes told apart by "a" and "c" (scale 0.01 and 0.001) while "b" is
# noise of scale 1000: unscaled, an RBF SVM's gamma ("scale") sees only the noise.
awk 'BEGIN { srand(5); print "label,a,b,c";
             for (i = 0; i < 300; i++) { k = i % 2; s = k ? 1 : -1;
                 printf "%d,%.6f,%.3f,%.7f\n", k, 0.01 * (s + 0.6 * (rand() - .5)),
                        1000 * rand(), 0.001 * (s + 0.6 * (rand() - .5)) } }' >"$tmp/d.csv"

acc_of() { sed -n "s/.*\"model\":\"$1\",\"accuracy\":\([0-9.eE+-]*\).*/\1/p" "$tmp/out"; }

# --- scaling ------------------------------------------------------------------
expect_rc 0 compare --data "$tmp/d.csv" --models svm,linear --json
raw_svm=$(acc_of svm)
out_has '"scaling":"none"'
expect_rc 0 compare --data "$tmp/d.csv" --models svm,linear,tree --standardize --json
std_svm=$(acc_of svm); std_lin=$(acc_of linear)
awk -v r="$raw_svm" -v s="$std_svm" -v l="$std_lin" 'BEGIN { exit !(r < 0.8 && s >= 0.95 && l >= 0.95) }' ||
    fail "svm $raw_svm unscaled, $std_svm standardized (linear $std_lin)"
out_has '"scaling":"standard"'
# Trees are unchanged by per-feature scaling and get none.
grep -q '"model":"tree".*"hyperparameters":{[^}]*"scaling":"none"' "$tmp/out" ||
    fail "tree scaling: $(cat "$tmp/out")"
expect_rc 0 compare --data "$tmp/d.csv" --models svm --minmax --json
awk -v s="$(acc_of svm)" 'BEGIN { exit !(s >= 0.95) }' || fail "svm min-max $(acc_of svm)"
ok "compare --standardize / --minmax: svm $raw_svm -> $std_svm"

# --- settings -----------------------------------------------------------------
expect_rc 0 compare --data "$tmp/d.csv" --json \
    --models "svm:C=10:gamma=auto:kernel=rbf,tree:criterion=entropy:max_depth=3,forest:n_estimators=7:max_features=None:bootstrap=false,linear:C=0.5:loss=hinge:scaling=minmax"
for m in 'svm:C=10:gamma=auto:kernel=rbf' 'tree:criterion=entropy:max_depth=3' \
         'forest:n_estimators=7:max_features=None:bootstrap=false' 'linear:C=0.5:loss=hinge:scaling=minmax'; do
    grep -q "\"model\":\"$m\",\"accuracy\"" "$tmp/out" || fail "no result for $m: $(cat "$tmp/out")"
done
# Every setting, defaults included; gamma "auto" is 1 / n_features.
out_has '"hyperparameters":{"C":10,"kernel":"rbf","gamma":"auto","gamma_value":0.33333'
out_has '"degree":3,"coef0":0,"tol":0.001,"cache_size":200,"shrinking":true,"max_iter":-1,"scaling":"none"}'
out_has '"hyperparameters":{"criterion":"entropy","max_depth":3,"min_samples_split":2,"min_samples_leaf":1,"max_features":null,"random_state":0,"scaling":"none"}'
out_has '"n_estimators":7,"bootstrap":false,"criterion":"gini","max_depth":null'
out_has '"C":0.5,"loss":"hinge","tol":0.1,"max_iter":1000,"fit_intercept":true,"intercept_scaling":1,"random_state":0,"scaling":"minmax"'
# The settings change the model: a stump-depth tree is no deeper than asked.
expect_rc 0 compare --data "$tmp/d.csv" --models "tree:max_depth=1" --json
out_has '"max_depth":1'
ok "compare --models with settings, recorded in the JSON"

# A spec with fit options and scaling; the table names it with its settings.
cat >"$tmp/mlp.json" <<'JSON'
{"class_name": "Sequential", "config": {"name": "mlp", "layers": [
 {"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}},
 {"class_name": "Dense", "config": {"units": 8, "activation": "relu"}},
 {"class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]}}
JSON
expect_rc 0 compare --data "$tmp/d.csv" --models "spec:$tmp/mlp.json:epochs=30:learning_rate=0.01:batch_size=16" --standardize --json
out_has '"model":"mlp:epochs=30:learning_rate=0.01:batch_size=16"'
out_has '"hyperparameters":{"epochs":30,"batch_size":16,"optimizer":"adam","learning_rate":0.01'
awk -v s="$(acc_of 'mlp:epochs=30:learning_rate=0.01:batch_size=16')" 'BEGIN { exit !(s >= 0.95) }' ||
    fail "standardized mlp: $(cat "$tmp/out")"
ok "compare: a spec with fit settings and --standardize"

# --- errors name the model, the key and the valid keys ----------------------------
expect_rc 2 compare --data "$tmp/d.csv" --models "svm:foo=1"
err_has 'svm has no setting "foo"; valid keys: C, gamma, kernel'
expect_rc 2 compare --data "$tmp/d.csv" --models "tree:criterion=log_loss"
err_has 'tree: criterion=log_loss: expected gini or entropy'
expect_rc 2 compare --data "$tmp/d.csv" --models "svm:gamma=-1"
err_has 'expected scale, auto or a number > 0'
expect_rc 2 compare --data "$tmp/d.csv" --models "forest:scaling=standard"
err_has 'unchanged by per-feature scaling'
expect_rc 2 compare --data "$tmp/d.csv" --models "cnn:epochs"
err_has '"epochs" is not KEY=VALUE'
expect_rc 2 compare --data "$tmp/d.csv" --models "knn"
err_has 'unknown model "knn"'
expect_rc 2 compare --data "$tmp/d.csv" --standardize --minmax
ok "compare: bad models, keys and values are refused by name"

# --- train --standardize: the scaling is saved with the model -------------------
expect_rc 0 train --model "$tmp/mlp.json" --data "$tmp/d.csv" --standardize --epochs 30 \
    --batch-size 16 --lr 0.01 --out "$tmp/m.safetensors" --verbose 0
expect_rc 0 summary "$tmp/m.safetensors"
out_has 'Normalization'
expect_rc 0 evaluate "$tmp/m.safetensors" --data "$tmp/d.csv" --json
a=$(json_num accuracy "$tmp/out")
awk -v a="$a" 'BEGIN { exit !(a >= 0.95) }' || fail "evaluate on raw data after --standardize: $a"
expect_rc 0 train --model "$tmp/mlp.json" --data "$tmp/d.csv" --epochs 30 --batch-size 16 \
    --lr 0.01 --out "$tmp/raw.safetensors" --verbose 0
expect_rc 0 evaluate "$tmp/raw.safetensors" --data "$tmp/d.csv" --json
r=$(json_num accuracy "$tmp/out")
awk -v a="$a" -v r="$r" 'BEGIN { exit !(a > r) }' || fail "standardized $a, raw $r"
expect_rc 2 train --model "$tmp/m.safetensors" --data "$tmp/d.csv" --standardize
err_has 'keeps the preprocessing it was trained with'
ok "train --standardize: accuracy $a on raw data (without: $r)"
