#!/usr/bin/env python3
"""Opacus's DP-SGD step against a plain PyTorch step on the seed CNN, beside
bench/bench_dp_step.c (lamina's). Batch 256 of Fashion-MNIST, Adam; each "run" trains one
epoch of --steps batches from fresh weights and the median ms/step over --runs is printed,
plain and DP alternating. Opacus: PrivacyEngine.make_private with Poisson sampling off
(fixed batches, so both sides do the same work per step; lamina's bench draws Poisson batches
of the same expected size), noise multiplier 1, clip 1, its default hooks-based per-sample
gradients.

Opacus 1.5+ needs torch >= 2.0; Debian 12's PyTorch is 1.13, which Opacus 1.4.0 supports.
It is installed apart from the venv's newer Opacus (used for the accountant fixtures):

    bench/.venv/bin/pip install --no-deps --target /tmp/opacus14 opacus==1.4.0
    PYTHONPATH=/tmp/opacus14 bench/.venv/bin/python bench/opacus_dp_step.py --threads 2
"""
import argparse
import os
import sys
import time

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument("--threads", type=int, default=2)
p.add_argument("--batch", type=int, default=256)
p.add_argument("--steps", type=int, default=20)
p.add_argument("--runs", type=int, default=5)
args = p.parse_args()

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_common as sc  # noqa: E402

sc.set_thread_env(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402
import opacus  # noqa: E402
from opacus import PrivacyEngine  # noqa: E402

torch.set_num_threads(args.threads)


class SeedCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(1600, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


n = args.batch * args.steps
xtr, ytr, _, _ = sc.load_fashion(n)
data = torch.utils.data.TensorDataset(torch.from_numpy(xtr).unsqueeze(1), torch.from_numpy(ytr))


def run(private):
    torch.manual_seed(1)
    model = SeedCNN()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch, shuffle=True)
    if private:
        model, opt, loader = PrivacyEngine().make_private(
            module=model, optimizer=opt, data_loader=loader, noise_multiplier=1.0,
            max_grad_norm=1.0, poisson_sampling=False)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    steps = 0
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
        steps += 1
    return (time.perf_counter() - t0) / steps


run(False)  # warm-up
times = {False: [], True: []}
for _ in range(args.runs):
    for private in (False, True):
        times[private].append(run(private))
plain, dp = np.median(times[False]), np.median(times[True])
print(f"torch {torch.__version__}, opacus {opacus.__version__}, {args.threads} threads, "
      f"batch {args.batch}, {args.steps} steps, median of {args.runs}")
print(f"plain             {plain * 1e3:8.2f} ms/step")
print(f"dp (opacus)       {dp * 1e3:8.2f} ms/step  (x{dp / plain:.2f} plain)")
