"""Shared pieces of the benchmark twins (bench/torch_seed.py, bench/keras_seed.py).

Data: Fashion-MNIST gzip IDX files from $LAMINA_DATA, else /usr/share/datasets/fashion-mnist
(Debian-style package dataset-fashion-mnist), read with numpy + gzip only.
Both twins print one JSON line with the same fields as lamina's build/bench/bench_seed.
"""
import argparse
import gzip
import json
import os
import platform
import resource
import statistics
import sys

import numpy as np

DATA_DIRS = [os.environ.get("LAMINA_DATA", ""), "/usr/share/datasets/fashion-mnist"]


def parse_args(framework):
    p = argparse.ArgumentParser(description=f"{framework} twin of the lamina seed benchmark")
    p.add_argument("--model", choices=["cnn", "lstm"], default="cnn")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--limit", type=int, default=0, help="train on the first N samples (0 = all 60000)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=1, help="train epochs timed, from fresh weights each")
    p.add_argument("--latency-calls", type=int, default=200)
    p.add_argument("--throughput-batches", type=int, default=8, help="batches of 256 for throughput")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


def set_thread_env(n):
    """Must run before the framework is imported."""
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[k] = str(n)


def _find(name):
    for d in DATA_DIRS:
        if d and os.path.exists(os.path.join(d, name)):
            return os.path.join(d, name)
    sys.exit(f"Fashion-MNIST file {name} not found in $LAMINA_DATA or /usr/share/datasets/fashion-mnist")


def _idx(name):
    with gzip.open(_find(name), "rb") as fh:
        raw = fh.read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion(limit):
    n = limit if limit and limit > 0 else None
    xtr = _idx("train-images-idx3-ubyte.gz")[:n].astype(np.float32) / np.float32(255.0)
    ytr = _idx("train-labels-idx1-ubyte.gz")[:n].astype(np.int64)
    xte = _idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / np.float32(255.0)
    yte = _idx("t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return xtr, ytr, xte, yte


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # ru_maxrss is KiB on Linux


def report(args, framework, versions, train_us, epoch_s, latency_us, throughput, accuracy, extra=None):
    out = {
        "framework": framework,
        "model": args.model,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "train_samples": args.n_train,
        "repeats": args.repeats,
        "us_per_sample": round(statistics.median(train_us), 2),
        "us_per_sample_all": [round(v, 2) for v in train_us],
        "epoch_s": round(statistics.median(epoch_s), 3),
        "latency_b1_us": round(latency_us, 2),
        "throughput_b256_per_s": round(throughput, 1),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "test_accuracy": round(float(accuracy), 4),
        "versions": dict(versions, python=platform.python_version()),
    }
    if extra:
        out.update(extra)
    print(json.dumps(out), flush=True)
