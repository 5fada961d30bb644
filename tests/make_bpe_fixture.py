#!/usr/bin/env python3
"""make_bpe_fixture.py - reference data for lamina's tokenizers (tests/test_text.c).

A tiny pure-Python byte-level BPE following the rule documented in docs/TEXT.md:

  * pre-split: GPT-2's pattern  's|'t|'re|'ve|'m|'ll|'d| ?L+| ?N+| ?[^\\sLN]+|\\s+(?!\\S)|\\s+
    on bytes, L = ASCII letters and every byte >= 0x80, N = ASCII digits,
    \\s = space \\t \\n \\v \\f \\r; merges never cross a chunk;
  * training: start from the 256 byte tokens; repeatedly merge the pair with the
    highest count (summed over all chunks); ties go to the smallest first id,
    then the smallest second id; merge i makes token 256 + i; merge every
    occurrence left to right; stop at the vocabulary size or when no pair is left;
  * encoding: as minbpe's, within each chunk repeatedly merge the adjacent pair
    with the earliest merge until none has one.

It also writes the char tokenizer's vocabulary: Python's sorted(set(text)).

Run from the repository root (any Python 3, no packages needed):
    python3 tests/make_bpe_fixture.py
Writes tests/fixtures/text/{corpus.txt, char_vocab.txt, bpe_merges.txt, bpe_probe.bin,
bpe_probe_ids.txt}; tests/fixtures/text/README.md describes them.
"""
import os
from collections import Counter

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "text")
VOCAB = 256 + 200

CORPUS = (
    "The quick brown fox jumps over the lazy dog. The dog didn't care; the fox did.\n"
    "We'll see: they're here, I'm there, you've been everywhere, she'd know, it's fine.\n"
    "  Two spaces, then\ttabs\t\tand a blank line follow.\n"
    "\n"
    "Numbers: 2024, 3.14159, 1000000 and 42 -- also 007 and 12345678901234567890.\n"
    "Punctuation!!! Really??? Yes... (parentheses) [brackets] {braces} <angles> \"quotes\".\n"
    "Unicode: na\u00efve caf\u00e9 \u00fcber \u2014 \u6771\u4eac \u0417\u0434\u0440\u0430"
    "\u0432\u0441\u0442\u0432\u0443\u0439\u0442\u0435 \U0001F600 \u00e9\u00e9\u00e9.\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbb abababababababab\n"
    "the theme of the thesis: then there, these three thieves thought thoroughly.\n"
    "    indented code(x) = x * 2 + 1;   trailing spaces   \n"
    "to be or not to be, that is the question; whether 'tis nobler in the mind to suffer\n"
    "the slings and arrows of outrageous fortune, or to take arms against a sea of troubles\n"
    "and by opposing end them. To die, to sleep; no more; and by a sleep to say we end\n"
    "the heart-ache and the thousand natural shocks that flesh is heir to.\n"
    "CAPITALS and MiXeD CaSe words, O'Neil's 'quoted' and don't, DON'T, 'S 'RE.\n"
) * 3

PROBE = (
    "The thesis of the fox: we'll encode 3.14 and \u6771\u4eac again, plus unseen bytes "
    "\u00a7\u00b6 and ~`^|"
).encode("utf-8") + bytes([0x00, 0xFF, 0xC0, 0x80, 0x0A, 0x20, 0x20, 0x41]) + b"  end\n\n"

LETTER, DIGIT, SPACE, OTHER = range(4)


def byte_class(c):
    if 0x61 <= c <= 0x7A or 0x41 <= c <= 0x5A or c >= 0x80:
        return LETTER
    if 0x30 <= c <= 0x39:
        return DIGIT
    if c == 0x20 or 0x09 <= c <= 0x0D:
        return SPACE
    return OTHER


def chunk_end(s, i):
    n = len(s)
    c = s[i]
    if c == ord("'") and i + 1 < n:
        d = s[i + 1]
        if d in b"stmd":
            return i + 2
        if i + 2 < n and bytes(s[i + 1:i + 3]) in (b"re", b"ve", b"ll"):
            return i + 3
    j = i
    if c == 0x20 and i + 1 < n and byte_class(s[i + 1]) != SPACE:
        j = i + 1
    k = byte_class(s[j])
    e = j + 1
    if k != SPACE:
        while e < n and byte_class(s[e]) == k:
            e += 1
        return e
    while e < n and byte_class(s[e]) == SPACE:
        e += 1
    if e == n or e - i == 1:
        return e
    return e - 1


def chunks(s):
    i = 0
    while i < len(s):
        e = chunk_end(s, i)
        yield s[i:e]
        i = e


def merge(ids, pair, new):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train(data, vocab):
    words = Counter(bytes(c) for c in chunks(data))
    seqs = [(list(w), f) for w, f in sorted(words.items())]
    merges = []
    while 256 + len(merges) < vocab:
        stats = Counter()
        for ids, f in seqs:
            for p in zip(ids, ids[1:]):
                stats[p] += f
        if not stats:
            break
        best = max(stats, key=lambda p: (stats[p], -p[0], -p[1]))
        new = 256 + len(merges)
        merges.append(best)
        seqs = [(merge(ids, best, new), f) for ids, f in seqs]
    return merges


def encode(data, merges):
    rank = {p: i for i, p in enumerate(merges)}
    out = []
    for c in chunks(data):
        ids = list(c)
        while len(ids) >= 2:
            pair = min(zip(ids, ids[1:]), key=lambda p: rank.get(p, float("inf")))
            if pair not in rank:
                break
            ids = merge(ids, pair, 256 + rank[pair])
        out.extend(ids)
    return out


def decode(ids, merges):
    vocab = {i: bytes([i]) for i in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    return b"".join(vocab[i] for i in ids)


def main():
    os.makedirs(OUT, exist_ok=True)
    data = CORPUS.encode("utf-8")
    with open(os.path.join(OUT, "corpus.txt"), "wb") as f:
        f.write(data)
    text = data.decode("utf-8")
    with open(os.path.join(OUT, "char_vocab.txt"), "w") as f:
        for ch in sorted(set(text)):
            f.write("%d\n" % ord(ch))
    merges = train(data, VOCAB)
    assert len(merges) == VOCAB - 256
    with open(os.path.join(OUT, "bpe_merges.txt"), "w") as f:
        for a, b in merges:
            f.write("%d %d\n" % (a, b))
    ids = encode(PROBE, merges)
    assert decode(ids, merges) == PROBE
    assert decode(encode(data, merges), merges) == data
    with open(os.path.join(OUT, "bpe_probe.bin"), "wb") as f:
        f.write(PROBE)
    with open(os.path.join(OUT, "bpe_probe_ids.txt"), "w") as f:
        f.write(" ".join(str(i) for i in ids) + "\n")
    corpus_ids = encode(data, merges)
    print("corpus %d bytes -> %d tokens; %d chars; %d merges; probe %d bytes -> %d tokens"
          % (len(data), len(corpus_ids), len(set(text)), len(merges), len(PROBE), len(ids)))


if __name__ == "__main__":
    main()
