#!/usr/bin/env bash
# Creates bench/.venv (gitignored) holding the peer frameworks for the benchmark twins
# (bench/torch_seed.py, bench/keras_seed.py) and for tests/make_fixtures.py.
#
#   bash bench/setup_venv.sh            # idempotent; re-run to repair
#
# What it installs, and why this way:
#   * OpenBLAS (Debian libopenblas0-pthread): Debian's torch does its matrix products through
#     the system BLAS, and the reference BLAS that is there otherwise is 5-30x slower.
#   * PyTorch comes from Debian (apt-get install python3-torch, 1.13 on Debian 12, CPU-only,
#     ~100 MB). The PyPI torch wheel for Linux x86_64 is the CUDA build: it depends on the
#     nvidia-*-cu12 wheels (several GB) and will not import without them, and the CPU-only
#     wheels are not on PyPI. So the venv is made from the system python3 with
#     --system-site-packages, which lets it see Debian's torch.
#   * captum (bench/captum_ig.py) with --no-deps, so that Debian's torch stays.
#   * tensorflow-cpu (current, ships Keras 3) and tf-keras (Keras 2, the legacy tf.keras,
#     used only by tests/make_fixtures.py for the tf.keras 2 JSON forms) come from PyPI.
#   * numpy is pinned below 2: Debian's torch 1.13 is built against the NumPy 1.x ABI and
#     breaks (torch.from_numpy etc.) under NumPy 2; tensorflow-cpu accepts 1.26.
#   * shap (tests/make_shap_fixtures.py) is pinned at 0.46.0 with pandas < 2.3: newer shap
#     and pandas 3 require NumPy 2 and would replace the pinned NumPy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
PY=/usr/bin/python3

# Debian's torch calls the system BLAS; without OpenBLAS that is the reference BLAS, 5-30x
# slower on matrix products, which would make PyTorch an unfair peer. libopenblas0-pthread
# registers itself as libblas.so.3 through update-alternatives.
if ! dpkg-query -W -f='${Status}' libopenblas0-pthread 2>/dev/null | grep -q "install ok installed"; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread
    else
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread
    fi
fi

if ! $PY -c 'import torch' 2>/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-venv
    else
        sudo apt-get update -qq
        sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-venv
    fi
fi

if [ ! -x "$venv/bin/python" ]; then
    $PY -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install -q --upgrade pip
"$venv/bin/python" -m pip install -q "numpy>=1.26,<2" tensorflow-cpu tf-keras scikit-learn \
    "shap==0.46.0" "pandas<2.3"
# Captum (bench/captum_ig.py) without its dependencies: pip would otherwise replace Debian's
# torch with the PyPI CUDA wheel (several GB of nvidia-* wheels). matplotlib is imported by
# captum.attr.
"$venv/bin/python" -m pip install -q matplotlib
"$venv/bin/python" -m pip install -q --no-deps captum
# Opacus (tests/make_accountant_fixtures.py: the privacy accountants' reference) without its
# dependencies, for the same reason: it asks for torch >= 2. Only its accountants are used
# (pure NumPy/SciPy); the rest of the package does not import on torch 1.13.
"$venv/bin/python" -m pip install -q --no-deps "opacus==1.6.0"
# onnxruntime and onnx (bench/check_onnx.py, tests/make_onnx_fixtures.py) without their
# dependencies, so that numpy 1.26 stays; numpy, protobuf, flatbuffers, packaging and sympy are
# there already, and coloredlogs (with humanfriendly) is the one pure-Python addition.
"$venv/bin/python" -m pip install -q --no-deps onnxruntime onnx coloredlogs humanfriendly
"$venv/bin/python" - <<'EOF'
import numpy, torch, tensorflow as tf, keras
print(f"numpy {numpy.__version__}, torch {torch.__version__}, tensorflow {tf.__version__}, keras {keras.__version__}")
EOF
