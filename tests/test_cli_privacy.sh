#!/bin/sh
# test_cli_privacy.sh - `lamina privacy`: epsilon from the RDP and PRV
# accountants, noise calibration, --batch-size/--samples and --epochs, and bad
# input refused with a message and exit status 2. The expected values are
# Opacus 1.6's (tests/fixtures/accountant/accountant.json and Opacus's own
# unit tests). POSIX sh; run by ctest with LAMINA_BUILD_DIR set, from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"

json_str() { sed -n "s/.*\"$1\":\"\([a-z]*\)\".*/\1/p" "$2" | head -n 1; }
# near A B TOL: |A - B| <= TOL
near() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }

# Opacus's test_rdp_accountant: sigma 1.5, q 0.04, 2250 steps, delta 1e-5 -> 7.32911117143.
expect_rc 0 privacy --noise-multiplier 1.5 --sample-rate 0.04 --steps 2250 --delta 1e-5 --json
e=$(json_num epsilon "$tmp/out")
near "$e" 7.32911117143 1e-8 || fail "rdp epsilon $e, Opacus 7.32911117143"
[ "$(json_str accountant "$tmp/out")" = rdp ] || fail "accountant: $(cat "$tmp/out")"
[ "$(json_num steps "$tmp/out")" = 2250 ] || fail "steps: $(cat "$tmp/out")"
[ "$(json_num optimal_order "$tmp/out")" = 3.9 ] || fail "order: $(cat "$tmp/out")"
for k in delta noise_multiplier sample_rate; do
    [ -n "$(json_num $k "$tmp/out")" ] || fail "--json lacks $k: $(cat "$tmp/out")"
done
ok "rdp epsilon $e (Opacus 7.32911117143)"

# --epochs 90 at q 0.04 is ceil(90 / 0.04) = 2250 steps (not 2251 from rounding).
expect_rc 0 privacy --noise-multiplier 1.5 --sample-rate 0.04 --epochs 90 --delta 1e-5 --json
[ "$(json_num steps "$tmp/out")" = 2250 ] || fail "epochs -> steps: $(cat "$tmp/out")"
ok "--epochs 90 -> 2250 steps"

# Fixture grid: sigma 1, q 0.01, 10000 steps, delta 1e-5 -> 6.712738297403128 (RDP, Opacus).
expect_rc 0 privacy --noise-multiplier 1.0 --batch-size 100 --samples 10000 --steps 10000 \
    --delta 1e-5 --json
e=$(json_num epsilon "$tmp/out")
near "$(json_num sample_rate "$tmp/out")" 0.01 1e-15 || fail "q = B / N: $(cat "$tmp/out")"
near "$e" 6.712738297403128 1e-6 || fail "rdp grid epsilon $e"
ok "batch-size/samples: epsilon $e"

# PRV: Opacus's test_prv_accountant case (Opacus 1.6 with scipy 1.17: 6.779132...).
expect_rc 0 privacy --noise-multiplier 1.5 --sample-rate 0.04 --steps 2250 --delta 1e-5 \
    --accountant prv --json
e=$(json_num epsilon "$tmp/out")
near "$e" 6.779132077722244 1e-4 || fail "prv epsilon $e, Opacus 6.779132"
[ "$(json_str accountant "$tmp/out")" = prv ] || fail "accountant: $(cat "$tmp/out")"
ok "prv epsilon $e (Opacus 6.779132)"

# Noise calibration: Opacus's test_get_noise_multiplier_rdp_steps -> 1.3562 (4 places).
expect_rc 0 privacy --target-epsilon 8 --sample-rate 0.04 --steps 2000 --delta 1e-5 --json
s=$(json_num noise_multiplier "$tmp/out")
e=$(json_num epsilon "$tmp/out")
near "$s" 1.3562 5e-5 || fail "noise multiplier $s, Opacus 1.3562"
awk -v e="$e" 'BEGIN { exit !(e <= 8 && e >= 7.99) }' || fail "calibrated epsilon $e"
ok "target epsilon 8 -> sigma $s (epsilon $e)"

# Plain text output names the accountant and the order.
expect_rc 0 privacy --noise-multiplier 1.5 --sample-rate 0.04 --steps 2250 --delta 1e-5
grep -q "^epsilon 7.32911 at delta 1e-05" "$tmp/out" || fail "text: $(cat "$tmp/out")"
grep -q "optimal order 3.9" "$tmp/out" || fail "text: $(cat "$tmp/out")"
ok "text output"

# Bad input: exit 2 and a message naming what is wrong.
bad() {
    needle=$1; shift
    expect_rc 2 privacy "$@"
    grep -q -- "$needle" "$tmp/err" || fail "lamina privacy $*: message lacks '$needle': $(cat "$tmp/err")"
}
bad "noise multiplier 0; expected" --noise-multiplier 0 --sample-rate 0.01 --steps 10 --delta 1e-5
bad "noise multiplier -2" --noise-multiplier -2 --sample-rate 0.01 --steps 10 --delta 1e-5
bad "expected 0 < Q <= 1" --noise-multiplier 1 --sample-rate 1.5 --steps 10 --delta 1e-5
bad "expected 0 < Q <= 1" --noise-multiplier 1 --sample-rate 0 --steps 10 --delta 1e-5
bad "delta 1; expected delta in (0, 1)" --noise-multiplier 1 --sample-rate 0.01 --steps 10 --delta 1
bad "delta 0; expected" --noise-multiplier 1 --sample-rate 0.01 --steps 10 --delta 0
bad "expected >= 0" --noise-multiplier 1 --sample-rate 0.01 --steps -5 --delta 1e-5
bad "--delta is required" --noise-multiplier 1 --sample-rate 0.01 --steps 10
bad "exactly one of --steps and --epochs" --noise-multiplier 1 --sample-rate 0.01 --delta 1e-5
bad "exactly one of --noise-multiplier" --sample-rate 0.01 --steps 10 --delta 1e-5
bad "exactly one of --noise-multiplier" --noise-multiplier 1 --target-epsilon 3 \
    --sample-rate 0.01 --steps 10 --delta 1e-5
bad "batch size <= samples" --noise-multiplier 1 --batch-size 500 --samples 100 --steps 10 \
    --delta 1e-5
bad "expected rdp or prv" --noise-multiplier 1 --sample-rate 0.01 --steps 10 --delta 1e-5 \
    --accountant gdp
bad "privacy budget is too low" --target-epsilon 1e-9 --sample-rate 1 --steps 100 --delta 1e-5
bad "is not a number" --noise-multiplier abc --sample-rate 0.01 --steps 10 --delta 1e-5
ok "bad input refused with exit 2"

# Too large for PRV: a failure (exit 1) that points at RDP.
expect_rc 1 privacy --noise-multiplier 0.5 --sample-rate 1 --steps 10000 --delta 1e-5 \
    --accountant prv
grep -q "use the RDP accountant" "$tmp/err" || fail "prv too large: $(cat "$tmp/err")"
ok "PRV refuses a domain it cannot hold"
