# cli_common.sh - what the shell tests of the `lamina` command share; sourced
# by tests/test_cli*.sh (POSIX sh, run by ctest from tests/ with
# LAMINA_BUILD_DIR set). Sets L (the command) and tmp (a folder removed on exit).

L="${LAMINA_BUILD_DIR:-../build}/lamina"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok - $*"; }
# Value of a numeric "key" in a one-line JSON object (the first occurrence).
json_num() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" "$2" | head -n 1; }
# Runs the command expecting exit status $1; output to $tmp/out, $tmp/err.
expect_rc() {
    want=$1; shift
    set +e
    "$L" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    set -e
    [ "$got" -eq "$want" ] || { cat "$tmp/err" >&2; fail "lamina $* exited $got, expected $want"; }
}
err_has() { grep -q -- "$1" "$tmp/err" || { cat "$tmp/err" >&2; fail "stderr lacks: $1"; }; }
out_has() { grep -q -- "$1" "$tmp/out" || { cat "$tmp/out" >&2; fail "stdout lacks: $1"; }; }
# A tiny synthetic problem into file $1: 200 rows "label,a,b,c,d", 2 separated classes.
tiny_csv() {
    awk 'BEGIN { srand(7); print "label,a,b,c,d";
                 for (i = 0; i < 200; i++) { c = i % 2; m = c ? 1.5 : -1.5;
                     printf "%d,%.3f,%.3f,%.3f,%.3f\n", c, m + rand() - .5, m + rand() - .5,
                            -m + rand() - .5, rand() - .5 } }' >"$1"
}
