#!/bin/sh
# test_example_explain.sh - examples/explain.c as documented: trains the seed
# CNN for an epoch on 10,000 images, explains a test image with IG by
# quadrature and exactly and the other methods, and draws them. The exact
# completeness delta must be far below the quadrature's. Exits 77 (skipped)
# without Fashion-MNIST. Run by ctest from tests/ with LAMINA_BUILD_DIR set.
set -eu
. "$(dirname "$0")/cli_common.sh"
data="${LAMINA_DATA:-/usr/share/datasets/fashion-mnist}"
if [ ! -d "$data" ]; then
    echo "SKIPPED: Fashion-MNIST is not installed in $data (make test installs dataset-fashion-mnist)"
    exit 77
fi
"${LAMINA_BUILD_DIR:-../build}/examples/explain" --index 3 --out "$tmp/e.png" >"$tmp/out" 2>"$tmp/err" ||
    { cat "$tmp/err" >&2; fail "examples/explain"; }
quad=$(sed -n 's/^IG, 256 Gauss-Legendre steps: .*completeness delta \([-0-9.e+]*\)$/\1/p' "$tmp/out")
exact=$(sed -n 's/^IG, exact over [0-9]* linear regions: .*completeness delta \([-0-9.e+]*\)$/\1/p' "$tmp/out")
[ -n "$quad" ] && [ -n "$exact" ] || { cat "$tmp/out" >&2; fail "no completeness deltas printed"; }
awk -v e="$exact" 'BEGIN { if (e < 0) e = -e; exit !(e < 1e-4) }' ||
    fail "exact IG's completeness delta $exact is not below 1e-4"
if grep -q "without cairo" "$tmp/out"; then
    echo "skip - the picture: lamina was built without cairo"
else
    head -c 8 "$tmp/e.png" | od -An -c | grep -q "P   N   G" || fail "no PNG written"
fi
ok "examples/explain: quadrature delta $quad, exact delta $exact"
