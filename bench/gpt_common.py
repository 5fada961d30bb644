"""What the char-GPT twins (bench/torch_gpt.py, bench/keras_gpt.py) share with
examples/char_gpt.c, so that the three train and measure the same thing.

Configuration: nanoGPT's CPU run of shakespeare_char (4 layers, 4 heads, n_embd 128, block 64,
batch 12, dropout 0, 2000 iterations, AdamW lr 1e-3 betas 0.9/0.99 eps 1e-8, weight decay 0.1 on
the matrices and embeddings only, global gradient norm clipped to 1, learning rate warmed up
linearly over 100 iterations then cosine-decayed to 1e-4 at 2000), with the model written
Keras-style: biases in every Dense and LayerNormalization (epsilon 1e-5), a learned position
embedding added to the token embedding, pre-LayerNorm blocks, exact GELU in a 4 x n_embd MLP, a
final LayerNorm and an untied Dense head; Keras's initialisers (Embedding uniform +-0.05, the
position embedding and every kernel glorot_uniform with Keras's fans, zero biases).

Data: the corpus as characters; the vocabulary is sorted(set(corpus)); the first 90% of the
characters train, the last 10% validate. Training batches are random windows (each framework
draws its own offsets). train_loss and val_loss are the mean cross-entropy over EVAL_WINDOWS
fixed windows of each split, offsets spread evenly (eval_offsets), the same in the three
programs.
"""
import argparse
import json
import statistics

N_LAYER, N_HEAD, N_EMBD, BLOCK, BATCH = 4, 4, 128, 64, 12
LR, MIN_LR, WARMUP, BETAS, EPS, WEIGHT_DECAY, CLIP, LN_EPS = 1e-3, 1e-4, 100, (0.9, 0.99), 1e-8, 0.1, 1.0, 1e-5
EVAL_WINDOWS = 960


def parse_args(who):
    p = argparse.ArgumentParser(description=f"{who} twin of examples/char_gpt.c")
    p.add_argument("--corpus", default="data/shakespeare.txt")
    p.add_argument("--iters", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--json", action="store_true")
    return p.parse_args()


def load(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = [index[c] for c in text]
    n = int(0.9 * len(ids))
    return chars, ids[:n], ids[n:]


def eval_offsets(n):
    """EVAL_WINDOWS window starts spread evenly over a split of n tokens."""
    last = n - BLOCK - 1
    return [i * last // (EVAL_WINDOWS - 1) for i in range(EVAL_WINDOWS)]


def lr_at(step, iters):
    """Keras CosineDecay(initial 0, warmup_target LR, warmup_steps WARMUP,
    decay_steps iters - WARMUP, alpha MIN_LR / LR) at optimizer step `step` (0-based)."""
    import math
    if step < WARMUP:
        return LR * step / WARMUP
    s = min(step - WARMUP, iters - WARMUP)
    cos = 0.5 * (1 + math.cos(math.pi * s / (iters - WARMUP)))
    alpha = MIN_LR / LR
    return LR * ((1 - alpha) * cos + alpha)


def report(args, times_ms, train_loss, val_loss, extra):
    out = {"ms_per_iter": statistics.median(times_ms[1:] if len(times_ms) > 1 else times_ms),
           "train_loss": train_loss, "val_loss": val_loss, "iters": args.iters,
           "threads": args.threads}
    out.update(extra)
    print(json.dumps(out))
