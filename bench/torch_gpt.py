#!/usr/bin/env python3
"""PyTorch twin of examples/char_gpt.c (the configuration is in bench/gpt_common.py).

    bench/.venv/bin/python bench/torch_gpt.py --corpus data/shakespeare.txt --iters 2000 --threads 1 --json

--threads sets torch's intra-op threads; Debian's torch does its matrix products in OpenBLAS,
whose own threads follow OPENBLAS_NUM_THREADS (bench/run_gpt.sh sets both and reports them).
Prints, as its last line, one JSON object: ms_per_iter (median over iterations after the first),
train_loss, val_loss.
"""
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_common as gc  # noqa: E402

args = gc.parse_args("PyTorch")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

torch.set_num_threads(args.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass
torch.manual_seed(args.seed)


def glorot_(w, fan_in, fan_out):
    lim = math.sqrt(6.0 / (fan_in + fan_out))
    with torch.no_grad():
        w.uniform_(-lim, lim)


def dense(n_in, n_out):
    lin = nn.Linear(n_in, n_out)
    glorot_(lin.weight, n_in, n_out)
    nn.init.zeros_(lin.bias)
    return lin


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        C = gc.N_EMBD
        self.ln1 = nn.LayerNorm(C, eps=gc.LN_EPS)
        self.ln2 = nn.LayerNorm(C, eps=gc.LN_EPS)
        # Keras 3's MultiHeadAttention kernels are EinsumDense (C, H, hd) and (H, hd, C),
        # initialised glorot_uniform over the contracted and the produced axes (C in, H * hd
        # out, and back): the same limits as a Dense C -> C.
        self.q, self.k, self.v, self.o = dense(C, C), dense(C, C), dense(C, C), dense(C, C)
        self.fc, self.proj = dense(C, 4 * C), dense(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        H = gc.N_HEAD
        a = self.ln1(x)
        q = self.q(a).view(B, T, H, C // H).transpose(1, 2)
        k = self.k(a).view(B, T, H, C // H).transpose(1, 2)
        v = self.v(a).view(B, T, H, C // H).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        att = att.masked_fill(self.mask[:, :, :T, :T] == 0, float("-inf"))
        y = F.softmax(att, dim=-1) @ v
        x = x + self.o(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        C, T = gc.N_EMBD, gc.BLOCK
        self.tok = nn.Embedding(vocab, C)
        with torch.no_grad():
            self.tok.weight.uniform_(-0.05, 0.05)
        self.pos = nn.Parameter(torch.empty(T, C))
        glorot_(self.pos, T, C)
        self.blocks = nn.ModuleList(Block() for _ in range(gc.N_LAYER))
        mask = torch.tril(torch.ones(T, T)).view(1, 1, T, T)
        for b in self.blocks:
            b.register_buffer("mask", mask)
        self.ln_f = nn.LayerNorm(C, eps=gc.LN_EPS)
        self.head = dense(C, vocab)

    def forward(self, idx):
        x = self.tok(idx) + self.pos[: idx.shape[1]]
        for b in self.blocks:
            x = b(x)
        return self.head(self.ln_f(x))


chars, train_ids, val_ids = gc.load(args.corpus)
train_t = torch.tensor(train_ids, dtype=torch.long)
val_t = torch.tensor(val_ids, dtype=torch.long)
model = GPT(len(chars))
decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": gc.WEIGHT_DECAY},
                         {"params": no_decay, "weight_decay": 0.0}],
                        lr=gc.LR, betas=gc.BETAS, eps=gc.EPS)


def windows(data, offsets):
    ix = torch.tensor(offsets)
    x = torch.stack([data[i:i + gc.BLOCK] for i in ix])
    y = torch.stack([data[i + 1:i + 1 + gc.BLOCK] for i in ix])
    return x, y


@torch.no_grad()
def evaluate(data):
    model.eval()
    offs = gc.eval_offsets(len(data))
    total = 0.0
    for b in range(0, len(offs), gc.BATCH):
        x, y = windows(data, offs[b:b + gc.BATCH])
        logits = model(x)
        total += F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1),
                                 reduction="sum").item()
    model.train()
    return total / (len(offs) * gc.BLOCK)


times = []
for it in range(args.iters):
    for g in opt.param_groups:
        g["lr"] = gc.lr_at(it, args.iters)
    t0 = time.perf_counter()
    ix = torch.randint(len(train_t) - gc.BLOCK - 1, (gc.BATCH,)).tolist()
    x, y = windows(train_t, ix)
    logits = model(x)
    loss = F.cross_entropy(logits.view(-1, logits.size(-1)), y.view(-1))
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), gc.CLIP)
    opt.step()
    times.append((time.perf_counter() - t0) * 1e3)
    if not args.json and it % 100 == 0:
        print(f"iter {it}: loss {loss.item():.4f}, {times[-1]:.1f} ms", flush=True)

gc.report(args, times, evaluate(train_t), evaluate(val_t),
          {"framework": "pytorch", "version": torch.__version__,
           "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
           "params": sum(p.numel() for p in model.parameters())})
