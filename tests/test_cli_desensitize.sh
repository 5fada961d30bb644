#!/bin/sh
# test_cli_desensitize.sh - `lamina desensitize` end to end: drop, hash, bin
# and suppress on a small table, the text and --json summaries, the same
# tokens under one key and others under another, refusal of hash rules
# without a key, bad rules refused naming the line. The hash part is skipped
# without libsodium. POSIX sh; run by ctest with LAMINA_BUILD_DIR set, from tests/.
set -eu

. "$(dirname "$0")/cli_common.sh"
unset LAMINA_KEY LAMINA_KEY_FILE || true

cat >"$tmp/in.csv" <<'CSV'
name,email,age,zip
"Smith, Ann",ann@x.org,34,1000
Bob,bob@y.org,17,1000
Cid,ann@x.org,71,2000
CSV
cat >"$tmp/plain.txt" <<'R'
# no hash: needs no key
name: drop
age: bin:0,18,65
zip: suppress:2
R
expect_rc 0 desensitize "$tmp/in.csv" --out "$tmp/out.csv" --rules "$tmp/plain.txt"
printf 'email,age,zip\nann@x.org,"[18, 65)",1000\nbob@y.org,"[0, 18)",1000\nann@x.org,"[65, inf)",*\n' \
    >"$tmp/want.csv"
cmp -s "$tmp/out.csv" "$tmp/want.csv" || { cat "$tmp/out.csv" >&2; fail "output differs"; }
grep -q "3 rows, 3 of 4 columns written" "$tmp/out" || fail "summary: $(cat "$tmp/out")"
grep -q "1 cells suppressed in 1 rows; 3 rows changed" "$tmp/out" || fail "summary: $(cat "$tmp/out")"
ok "drop, bin, suppress and the text summary"

expect_rc 0 desensitize "$tmp/in.csv" --out "$tmp/out.csv" --rules "$tmp/plain.txt" --json
[ "$(json_num rows "$tmp/out")" = 3 ] || fail "json rows: $(cat "$tmp/out")"
[ "$(json_num cells_suppressed "$tmp/out")" = 1 ] || fail "json cells_suppressed"
[ "$(json_num rows_changed "$tmp/out")" = 3 ] || fail "json rows_changed"
[ "$(json_num dropped "$tmp/out")" = 1 ] || fail "json dropped"
grep -q '"name":"zip","rule":"suppress","cells_changed":1' "$tmp/out" || fail "json per_column"
ok "--json summary"

printf 'name: drop\nemail: hash\n' >"$tmp/hash.txt"
expect_rc 1 desensitize "$tmp/in.csv" --out "$tmp/h.csv" --rules "$tmp/hash.txt"
grep -q "needs a secret key" "$tmp/err" || fail "no-key message: $(cat "$tmp/err")"
[ ! -e "$tmp/h.csv" ] || fail "refused run wrote a file"
ok "hash refused without a key"

printf 'name: drop\nemail: scramble\n' >"$tmp/bad.txt"
expect_rc 1 desensitize "$tmp/in.csv" --out "$tmp/b.csv" --rules "$tmp/bad.txt"
grep -q "bad.txt: line 2: unknown rule 'scramble'" "$tmp/err" || fail "bad rule: $(cat "$tmp/err")"
printf 'nosuch: drop\n' >"$tmp/bad.txt"
expect_rc 1 desensitize "$tmp/in.csv" --out "$tmp/b.csv" --rules "$tmp/bad.txt"
grep -q "line 1: column 'nosuch' is not in" "$tmp/err" || fail "unknown column: $(cat "$tmp/err")"
expect_rc 2 desensitize "$tmp/in.csv" --rules "$tmp/plain.txt"
ok "bad rules and usage refused"

if ! "$L" keygen "$tmp/k1.key" >/dev/null 2>"$tmp/err"; then
    grep -q "libsodium" "$tmp/err" && { echo "skip: hash needs libsodium"; exit 0; }
    fail "keygen: $(cat "$tmp/err")"
fi
"$L" keygen "$tmp/k2.key" >/dev/null
LAMINA_KEY_FILE="$tmp/k1.key" "$L" desensitize "$tmp/in.csv" --out "$tmp/h1.csv" --rules "$tmp/hash.txt" --json >"$tmp/out"
[ "$(json_num hashed "$tmp/out")" = 1 ] || fail "json hashed"
LAMINA_KEY_FILE="$tmp/k1.key" "$L" desensitize "$tmp/in.csv" --out "$tmp/h2.csv" --rules "$tmp/hash.txt" >/dev/null
LAMINA_KEY="$(cat "$tmp/k2.key")" "$L" desensitize "$tmp/in.csv" --out "$tmp/h3.csv" --rules "$tmp/hash.txt" >/dev/null
cmp -s "$tmp/h1.csv" "$tmp/h2.csv" || fail "one key, different tokens"
cmp -s "$tmp/h1.csv" "$tmp/h3.csv" && fail "two keys, same tokens"
t1=$(sed -n 2p "$tmp/h1.csv" | cut -d, -f1)
t3=$(sed -n 4p "$tmp/h1.csv" | cut -d, -f1)
[ "$t1" = "$t3" ] || fail "same e-mail, different tokens: $t1 $t3"
echo "$t1" | grep -Eq '^[0-9a-f]{32}$' || fail "token $t1 is not 32 hex digits"
grep -q "ann@" "$tmp/h1.csv" && fail "e-mail left in the output"
ok "hash: deterministic under one key, different under another"
