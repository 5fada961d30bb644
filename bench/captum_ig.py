"""Integrated gradients per image: lamina against Captum on the same weights.

The seed CNN trained by lamina (a .safetensors file) is rebuilt in PyTorch with the same
weights (Keras's NHWC flatten order kept by a permute before Flatten), its logits checked
against lamina's, then both explain the same Fashion-MNIST test images: IG of the predicted
class's logit from a black baseline with 50 Gauss-Legendre steps, all steps in one batch
(Captum: method="gausslegendre", internal_batch_size=steps; lamina: --batch-size >= steps).
Times are per image, excluding process start and model loading (lamina reports each
explanation's own time in --json); medians over images and repeats.

    python bench/captum_ig.py --model cnn.safetensors --lamina build/lamina --threads 1

Prints one JSON line. Needs torch, captum and numpy (bench/setup_venv.sh) and Fashion-MNIST.
"""
import argparse
import json
import os
import statistics
import struct
import subprocess
import sys
import time

from seed_common import set_thread_env


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a lamina seed-CNN .safetensors file")
    p.add_argument("--lamina", default="build/lamina")
    p.add_argument("--images", type=int, default=20)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    return p.parse_args()


def read_safetensors(path, np):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__" or t["dtype"] != "F32":
            continue
        a, b = t["data_offsets"]
        out[name] = np.frombuffer(raw[8 + n + a:8 + n + b], np.float32).reshape(t["shape"])
    return out


def build_torch(w, torch):
    nn = torch.nn

    class NHWCFlatten(nn.Module):
        def forward(self, x):  # Keras flattens (H, W, C)
            return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)

    m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
                      nn.ReLU(), nn.MaxPool2d(2), NHWCFlatten(), nn.Linear(1600, 64), nn.ReLU(),
                      nn.Linear(64, 10))
    with torch.no_grad():
        for layer, name in ((m[0], "conv2d"), (m[3], "conv2d_1")):
            layer.weight.copy_(torch.from_numpy(w[name + "/kernel"].transpose(3, 2, 0, 1).copy()))
            layer.bias.copy_(torch.from_numpy(w[name + "/bias"].copy()))
        for layer, name in ((m[7], "dense"), (m[9], "dense_1")):
            layer.weight.copy_(torch.from_numpy(w[name + "/kernel"].T.copy()))
            layer.bias.copy_(torch.from_numpy(w[name + "/bias"].copy()))
    return m.eval()


def run_lamina(args):
    cmd = [args.lamina, "explain", args.model, "--data", "fashion-mnist", "--index", "0",
           "--count", str(args.images), "--method", "ig", "--steps", str(args.steps),
           "--batch-size", str(max(64, args.steps)), "--threads", str(args.threads), "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main():
    args = parse_args()
    set_thread_env(args.threads)
    import numpy as np
    import torch
    from captum.attr import IntegratedGradients

    from seed_common import load_fashion

    torch.set_num_threads(args.threads)
    model = build_torch(read_safetensors(args.model, np), torch)
    _, _, xte, _ = load_fashion(1)
    x = torch.from_numpy(xte[:args.images].reshape(-1, 1, 28, 28).copy())

    ig = IntegratedGradients(model)
    with torch.no_grad():
        logits = model(x).numpy()
    # lamina and Captum alternate, repeat by repeat, so that both see the same machine.
    lamina_s, captum_s, rows, sums = [], [], None, []
    for rep in range(args.repeats):
        run = run_lamina(args)
        lamina_s += [r["seconds"] for r in run]
        rows = rows or run
        for i, r in enumerate(rows):
            xi = x[i:i + 1]
            t0 = time.perf_counter()
            attr, _ = ig.attribute(xi, baselines=torch.zeros_like(xi), target=r["class"],
                                   n_steps=args.steps, method="gausslegendre",
                                   internal_batch_size=args.steps,
                                   return_convergence_delta=True)
            captum_s.append(time.perf_counter() - t0)
            if rep == 0:
                sums.append(float(attr.sum()))
    score_err = max(abs(float(logits[i, r["class"]]) - r["score"]) / max(1.0, abs(r["score"]))
                    for i, r in enumerate(rows))
    if score_err > 1e-4:
        sys.exit(f"the PyTorch rebuild disagrees with lamina's logits (relative {score_err:.2e})")
    sum_err = max(abs(s - r["attribution_sum"]) / max(1e-6, abs(r["score"] - r["baseline_score"]))
                  for s, r in zip(sums, rows))
    lam_ms = 1e3 * statistics.median(lamina_s)
    cap_ms = 1e3 * statistics.median(captum_s)
    print(json.dumps({
        "threads": args.threads, "images": args.images, "steps": args.steps,
        "repeats": args.repeats, "lamina_ms_per_image": round(lam_ms, 3),
        "captum_ms_per_image": round(cap_ms, 3), "ratio": round(cap_ms / lam_ms, 2),
        "logit_max_rel_diff": score_err, "attribution_sum_max_rel_diff": sum_err,
        "torch": torch.__version__, "captum": __import__("captum").__version__,
        "cpu": os.uname().machine}))


if __name__ == "__main__":
    main()
