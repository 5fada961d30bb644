#!/bin/sh
# test_cli_encrypt.sh - encrypted model files through the `lamina` command:
# keygen (mode 0600, never overwrites), train --encrypt (refused without a
# key), every reading command with the key from LAMINA_KEY_FILE or LAMINA_KEY,
# clear refusals without it, with another key, with a group-readable key file
# or both variables set; a resume keeps the file encrypted and equals a
# plaintext resume. Skipped (77) without libsodium. Run by ctest from tests/.
set -eu
. "$(dirname "$0")/cli_common.sh"
unset LAMINA_KEY LAMINA_KEY_FILE

if ! "$L" keygen "$tmp/k.key" >"$tmp/out" 2>"$tmp/err"; then
    grep -q "without libsodium" "$tmp/err" && { echo "skipped: $(cat "$tmp/err")"; exit 77; }
    cat "$tmp/err" >&2; fail "keygen"
fi
[ "$(stat -c %a "$tmp/k.key")" = 600 ] || fail "key file mode $(stat -c %a "$tmp/k.key")"
[ "$(tr -d '\n' <"$tmp/k.key" | wc -c)" -eq 64 ] || fail "key file is not 64 hex digits"
cp "$tmp/k.key" "$tmp/k.copy"
expect_rc 1 keygen "$tmp/k.key"; err_has "never replaced"
cmp -s "$tmp/k.key" "$tmp/k.copy" || fail "keygen changed an existing key file"
"$L" keygen "$tmp/other.key" >/dev/null
ok "keygen: mode 0600, 64 hex digits, never overwrites"

awk 'BEGIN { srand(7); print "label,a,b,c,d";
             for (i = 0; i < 120; i++) { c = i % 2; m = c ? 1.5 : -1.5;
                 printf "%d,%.3f,%.3f,%.3f,%.3f\n", c, m + rand() - .5, m + rand() - .5,
                        m + rand() - .5, m + rand() - .5 } }' >"$tmp/d.csv"
cat >"$tmp/spec.json" <<'JSON'
{"module": "keras", "class_name": "Sequential", "config": {"name": "enc", "layers": [
 {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"units": 8, "activation": "relu"}},
 {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2, "activation": "softmax"}}]}}
JSON
train="train --model $tmp/spec.json --data $tmp/d.csv --epochs 2 --verbose 0 --seed 3"
# shellcheck disable=SC2086
expect_rc 1 $train --out "$tmp/m.st" --encrypt; err_has "needs a key in the environment"
[ ! -e "$tmp/m.st" ] || fail "a refused --encrypt wrote a file"
# shellcheck disable=SC2086
expect_rc 2 $train --encrypt; err_has "needs a file to write"
train="$train --validation-split 0.2 --checkpoint-every 2"
# shellcheck disable=SC2086
LAMINA_KEY_FILE="$tmp/k.key" expect_rc 0 $train --out "$tmp/m.st" --encrypt --save-best "$tmp/best.st"
# shellcheck disable=SC2086
expect_rc 0 $train --out "$tmp/p.st" --save-best "$tmp/pbest.st"
for f in m.st best.st; do
    [ "$(head -c 6 "$tmp/$f")" = LAMENC ] || fail "$f is not encrypted"
done
! grep -q -a '"format":"lamina"' "$tmp/m.st" || fail "plaintext metadata in the encrypted file"
ok "train --encrypt: --out and --save-best encrypted; refused without a key"

expect_rc 1 evaluate "$tmp/m.st" --data "$tmp/d.csv"; err_has "is encrypted: give its key with LAMINA_KEY_FILE"
LAMINA_KEY_FILE="$tmp/other.key" expect_rc 1 evaluate "$tmp/m.st" --data "$tmp/d.csv"; err_has "wrong key"
LAMINA_KEY=0011 expect_rc 1 evaluate "$tmp/m.st" --data "$tmp/d.csv"; err_has "LAMINA_KEY: a key in hex must be exactly 64"
LAMINA_KEY="$(cat "$tmp/k.key")" LAMINA_KEY_FILE="$tmp/k.key" expect_rc 1 evaluate "$tmp/m.st" --data "$tmp/d.csv"
err_has "set only one"
cp "$tmp/k.key" "$tmp/open.key"; chmod 644 "$tmp/open.key"
LAMINA_KEY_FILE="$tmp/open.key" expect_rc 1 evaluate "$tmp/m.st" --data "$tmp/d.csv"; err_has "chmod 600"
ok "refusals: no key, wrong key, bad hex, both variables, group-readable key file"

LAMINA_KEY_FILE="$tmp/k.key" expect_rc 0 evaluate "$tmp/m.st" --data "$tmp/d.csv" --json
LAMINA_KEY_FILE="$tmp/k.key" expect_rc 0 summary "$tmp/m.st"; grep -q "Trained: 2 epochs" "$tmp/out" || fail "summary"
LAMINA_KEY="$(cat "$tmp/k.key")" expect_rc 0 predict "$tmp/m.st" --data "$tmp/d.csv" --limit 3
LAMINA_KEY_FILE="$tmp/k.key" expect_rc 0 evaluate "$tmp/best.st" --data "$tmp/d.csv"
LAMINA_KEY_FILE="$tmp/k.key" expect_rc 0 evaluate "$tmp/p.st" --data "$tmp/d.csv"
ok "evaluate, summary, predict read the encrypted files (key file or hex); plaintext still reads with a key set"

# Resume: stays encrypted (no --encrypt needed) and equals the plaintext resume.
LAMINA_KEY_FILE="$tmp/k.key" expect_rc 0 train --resume "$tmp/m.st" --data "$tmp/d.csv" --epochs 4 --verbose 0 --json
[ "$(head -c 6 "$tmp/m.st")" = LAMENC ] || fail "resume wrote the checkpoint back in plaintext"
sed 's/"seconds":[0-9.e+-]*//g' "$tmp/out" >"$tmp/enc.json"
expect_rc 0 train --resume "$tmp/p.st" --data "$tmp/d.csv" --epochs 4 --verbose 0 --json
sed 's/"seconds":[0-9.e+-]*//g; s#"out":"[^"]*"##' "$tmp/out" >"$tmp/plain.json"
sed -i 's#"out":"[^"]*"##' "$tmp/enc.json"
cmp -s "$tmp/enc.json" "$tmp/plain.json" || { cat "$tmp/enc.json" "$tmp/plain.json" >&2; fail "encrypted resume differs from plaintext resume"; }
ok "resume of an encrypted model stays encrypted and equals the plaintext resume"
