#!/usr/bin/env python3
"""PyTorch twin of the seed programs, for side-by-side timing with lamina and Keras.

    bench/.venv/bin/python bench/torch_seed.py --model cnn|lstm --threads 1 --limit 6000 --repeats 3

Faithful to the Keras seed: same layer sizes, Keras initialisers (glorot_uniform kernels, zero
biases; LSTM orthogonal recurrent kernel and forget-gate bias 1), Adam(lr 1e-3, betas 0.9/0.999,
eps 1e-7), sparse categorical cross-entropy on the logits (= Keras softmax + sparse CE),
batch 32, shuffled. The CNN runs NCHW internally (PyTorch's native layout); the LSTM is
nn.LSTM(28, 64, num_layers=3, batch_first=True), mathematically three stacked Keras LSTM(64)
layers (PyTorch keeps two bias vectors per layer; the second is zero and trained).
Remaining difference: PyTorch adds eps to sqrt(v_hat) after bias correction, Keras to the
uncorrected sqrt(v).

Timing: us_per_sample = training time of one epoch excluding the first step (as Keras' progress
bar does), divided by the samples of the remaining steps; median over --repeats epochs, each from
fresh weights. epoch_s = whole epoch wall time. latency_b1_us = median of single-sample forward
calls in eval mode under torch.no_grad(); throughput_b256_per_s = forward samples/s at batch 256.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seed_common as sc  # noqa: E402

args = sc.parse_args("PyTorch")
sc.set_thread_env(args.threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

torch.set_num_threads(args.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


class SeedCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3)
        self.conv2 = nn.Conv2d(32, 64, 3)
        self.fc1 = nn.Linear(1600, 64)
        self.fc2 = nn.Linear(64, 10)
        for m in (self.conv1, self.conv2, self.fc1, self.fc2):
            nn.init.xavier_uniform_(m.weight)  # same fan_in/fan_out as Keras glorot_uniform
            nn.init.zeros_(m.bias)

    def forward(self, x):  # x [N, 28, 28] -> NCHW
        x = x.unsqueeze(1)
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        x = torch.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)  # logits; softmax lives in the loss


class SeedLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(28, 64, num_layers=3, batch_first=True)
        self.fc = nn.Linear(64, 10)
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight_ih"):
                nn.init.xavier_uniform_(p)
            elif name.startswith("weight_hh"):
                nn.init.orthogonal_(p)
            elif name.startswith("bias_ih"):
                nn.init.zeros_(p)
                with torch.no_grad():
                    p[64:128] = 1.0  # unit_forget_bias (gate order i, f, g, o)
            else:
                nn.init.zeros_(p)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)

    def forward(self, x):  # x [N, 28 steps, 28 features]
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def make_model():
    return SeedCNN() if args.model == "cnn" else SeedLSTM()


def train_epoch(model, xtr, ytr, rng):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    perm = rng.permutation(len(xtr))
    bs = args.batch_size
    t_start = time.perf_counter()
    t_after_first = None
    samples_after_first = 0
    for k, s in enumerate(range(0, len(xtr), bs)):
        idx = perm[s:s + bs]
        xb = torch.from_numpy(xtr[idx])
        yb = torch.from_numpy(ytr[idx])
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        if k == 0:
            t_after_first = time.perf_counter()
        else:
            samples_after_first += len(idx)
    t_end = time.perf_counter()
    us = (t_end - t_after_first) / max(samples_after_first, 1) * 1e6
    return us, t_end - t_start


@torch.no_grad()
def evaluate(model, xte, yte):
    model.eval()
    correct = 0
    for s in range(0, len(xte), 1000):
        pred = model(torch.from_numpy(xte[s:s + 1000])).argmax(1).numpy()
        correct += int((pred == yte[s:s + 1000]).sum())
    return correct / len(xte)


@torch.no_grad()
def latency_and_throughput(model, xte):
    model.eval()
    for i in range(10):
        model(torch.from_numpy(xte[i:i + 1]))
    times = []
    for i in range(args.latency_calls):
        xb = torch.from_numpy(xte[i:i + 1])
        t0 = time.perf_counter()
        model(xb)
        times.append(time.perf_counter() - t0)
    lat = float(np.median(times)) * 1e6
    model(torch.from_numpy(xte[:256]))
    n = 0
    t0 = time.perf_counter()
    for b in range(args.throughput_batches):
        s = (b * 256) % (len(xte) - 256)
        model(torch.from_numpy(xte[s:s + 256]))
        n += 256
    return lat, n / (time.perf_counter() - t0)


def main():
    xtr, ytr, xte, yte = sc.load_fashion(args.limit)
    args.n_train = len(xtr)
    train_us, epoch_s = [], []
    model = None
    for r in range(args.repeats):
        torch.manual_seed(args.seed + r)
        rng = np.random.default_rng(args.seed + r)
        model = make_model()
        us, secs = train_epoch(model, xtr, ytr, rng)
        train_us.append(us)
        epoch_s.append(secs)
    acc = evaluate(model, xte, yte)
    lat, thr = latency_and_throughput(model, xte)
    versions = {"torch": torch.__version__, "numpy": np.__version__,
                "torch_threads": torch.get_num_threads()}
    sc.report(args, "pytorch", versions, train_us, epoch_s, lat, thr, acc)


if __name__ == "__main__":
    main()
