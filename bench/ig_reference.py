"""How exact can quadrature IG be on this model? A double-precision reference for lamina's
completeness deltas.

Integrated gradients by Gauss-Legendre quadrature cannot be exact on a ReLU network: the
integrand jumps wherever a unit switches on or off along the path. This script rebuilds a
lamina seed CNN in PyTorch in float64, computes IG of the predicted class (logit or
probability score, black baseline) with the same Gauss-Legendre nodes lamina uses, and
prints the worst and median relative completeness delta |sum(attr) - (F(x) - F(0))| /
|F(x) - F(0)| over the first --images test images: what the quadrature itself allows. With
--lamina-json (lines of `lamina explain ... --json`) it prints lamina's figures for the
same images beside it.

    lamina explain cnn.safetensors --data fashion-mnist --count 100 --method ig \\
        --steps 256 --json > ig.jsonl
    python bench/ig_reference.py --model cnn.safetensors --steps 256 --lamina-json ig.jsonl
"""
import argparse
import json
import statistics

import numpy as np
import torch

from captum_ig import build_torch, read_safetensors
from seed_common import load_fashion


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--images", type=int, default=100)
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--score", choices=["logit", "probability"], default="logit")
    p.add_argument("--lamina-json", help="lamina explain --json output for the same images")
    args = p.parse_args()

    model = build_torch(read_safetensors(args.model, np), torch).double()
    _, _, xte, _ = load_fashion(1)
    x_all = torch.from_numpy(xte[:args.images].reshape(-1, 1, 28, 28).astype(np.float64))
    nodes, weights = np.polynomial.legendre.leggauss(args.steps)
    alphas = torch.from_numpy((nodes + 1) / 2)
    w = torch.from_numpy(weights / 2)

    def score(z, c):
        return z[:, c] if args.score == "logit" else torch.softmax(z, 1)[:, c]

    rel = []
    for i in range(args.images):
        x = x_all[i:i + 1]
        with torch.no_grad():
            c = int(model(x).argmax())
            f_x, f_b = float(score(model(x), c)), float(score(model(torch.zeros_like(x)), c))
        path = (alphas.view(-1, 1, 1, 1) * x).requires_grad_(True)
        score(model(path), c).sum().backward()
        attr = x[0] * (w.view(-1, 1, 1, 1) * path.grad).sum(0)
        rel.append(abs(float(attr.sum()) - (f_x - f_b)) / abs(f_x - f_b))
    out = {"score": args.score, "steps": args.steps, "images": args.images,
           "float64_worst_relative_delta": max(rel),
           "float64_median_relative_delta": statistics.median(rel)}
    if args.lamina_json:
        rows = [json.loads(line) for line in open(args.lamina_json) if line.strip()]
        lam = [r["relative_delta"] for r in rows[:args.images]]
        out["lamina_worst_relative_delta"] = max(lam)
        out["lamina_median_relative_delta"] = statistics.median(lam)
        out["worst_image_lamina_over_float64"] = max(a / max(b, 1e-300) for a, b in zip(lam, rel))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
