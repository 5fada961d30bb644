#!/bin/sh
# test_cli_dp.sh - `lamina train --dp-*` (DP-SGD): epsilon printed and equal to
# `lamina privacy` for the same sigma, q, steps and delta; --dp-epsilon lands at
# or below its target; the model file keeps the accounting and a resumed run
# continues it; bad combinations refused. POSIX sh; run by ctest from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

tiny_csv "$tmp/d.csv"
cat >"$tmp/dense.json" <<'EOF'
{"module": "keras", "class_name": "Sequential", "config": {"name": "tiny", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "input_layer"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 8, "activation": "tanh"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense_1", "units": 2, "activation": "softmax"}}]}}
EOF

# 200 samples, batch 20: q = 0.1, 10 steps an epoch, 3 epochs = 30 steps.
expect_rc 0 train --model "$tmp/dense.json" --data "$tmp/d.csv" --epochs 3 --batch-size 20 \
    --lr 0.05 --dp-clip 1 --dp-noise 1.1 --dp-delta 1e-5 --json --out "$tmp/m.safetensors"
cp "$tmp/out" "$tmp/train.json"
e=$(sed -n 's/.*"privacy":{"epsilon":\([-0-9.eE+]*\).*/\1/p' "$tmp/train.json")
[ -n "$e" ] || fail "train --json lacks privacy.epsilon: $(cat "$tmp/train.json")"
grep -q '"history":\[{"epoch":1,[^]]*"epsilon":' "$tmp/train.json" || fail "no epsilon per epoch"
expect_rc 0 privacy --noise-multiplier 1.1 --sample-rate 0.1 --steps 30 --delta 1e-5 --json
p=$(json_num epsilon "$tmp/out")
[ "$e" = "$p" ] || fail "train epsilon $e, lamina privacy $p"
ok "train --dp-noise 1.1: epsilon $e = lamina privacy's"

# The text output prints it too.
expect_rc 0 train --model "$tmp/dense.json" --data "$tmp/d.csv" --epochs 1 --batch-size 20 \
    --dp-clip 1 --dp-noise 1.1 --dp-delta 1e-5 --verbose 2
out_has "privacy: epsilon"
out_has " - eps "
ok "text output: the epsilon line and the progress line's eps"

# Resuming continues the accounting: 30 + 10 steps.
expect_rc 0 train --resume "$tmp/m.safetensors" --data "$tmp/d.csv" --epochs 4 --batch-size 20 \
    --dp-clip 1 --dp-noise 1.1 --dp-delta 1e-5 --json
e=$(sed -n 's/.*"privacy":{"epsilon":\([-0-9.eE+]*\).*/\1/p' "$tmp/out")
expect_rc 0 privacy --noise-multiplier 1.1 --sample-rate 0.1 --steps 40 --delta 1e-5 --json
p=$(json_num epsilon "$tmp/out")
[ "$e" = "$p" ] || fail "resumed epsilon $e, lamina privacy for 40 steps $p"
ok "resume: epsilon $e = lamina privacy's for 40 steps"

# --dp-epsilon 3: sigma calibrated for 30 steps, epsilon spent <= 3.
expect_rc 0 train --model "$tmp/dense.json" --data "$tmp/d.csv" --epochs 3 --batch-size 20 \
    --dp-clip 1 --dp-epsilon 3 --dp-delta 1e-5 --json
e=$(sed -n 's/.*"privacy":{"epsilon":\([-0-9.eE+]*\).*/\1/p' "$tmp/out")
awk -v e="$e" 'BEGIN { exit !(e <= 3 && e > 2.9) }' || fail "--dp-epsilon 3 spent $e"
ok "--dp-epsilon 3: spent $e"

expect_rc 2 train --model "$tmp/dense.json" --data "$tmp/d.csv" --dp-clip 1 --dp-delta 1e-5
err_has "one of --dp-noise"
expect_rc 2 train --model "$tmp/dense.json" --data "$tmp/d.csv" --dp-noise 1
err_has "need --dp-clip"
expect_rc 2 train --model "$tmp/dense.json" --data "$tmp/d.csv" --dp-clip 1 --dp-noise 1
err_has "needs --dp-delta"
ok "bad --dp-* combinations refused"
