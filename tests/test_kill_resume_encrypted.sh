#!/bin/sh
# test_kill_resume_encrypted.sh - test_kill_resume.sh with encryption on:
# every run writes its checkpoint encrypted (--encrypt, a key made by
# `lamina keygen` in LAMINA_KEY_FILE), which must stay encrypted and load
# after each of 10 SIGKILLs, the SIGINT and the final resume. Skipped (77)
# when lamina was built without libsodium.
set -eu
L="${LAMINA_BUILD_DIR:-$(dirname "$0")/../build}/lamina"
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT INT TERM
if ! "$L" keygen "$t/probe.key" >"$t/out" 2>&1; then
    grep -q "without libsodium" "$t/out" && { echo "skipped: $(cat "$t/out")"; exit 77; }
    cat "$t/out" >&2
    exit 1
fi
ENCRYPT=1 sh "$(dirname "$0")/../scripts/kill_resume.sh" 10
