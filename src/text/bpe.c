/* bpe.c - byte-level BPE: checking a merge list and encoding with it.
 *
 * Encoding applies the merges in the order they were learnt, as minbpe's
 * encode (repeatedly merge, everywhere in the chunk, the adjacent pair with
 * the earliest merge): a min-heap of (merge rank, position) over a linked
 * list of symbols does the same in O(L log L) per chunk of L bytes instead of
 * O(L^2). It is the same result because a merge can only create pairs that
 * involve its new token, whose own merges come later; so the pairs of one rank
 * are all present when the first of them is taken, and the heap takes them
 * left to right. */
#include "text/text.h"

#include <string.h>

lam_status lam_bpe_finish(lam_tokenizer *t, const char *source)
{
    const int nm = t->nmerges;
    t->ranks = lam_calloc(1, sizeof *t->ranks);
    int64_t *len = lam_malloc(sizeof *len * (size_t)(256 + nm));
    if (!t->ranks || !len || lam_pair_map_init(t->ranks, (size_t)nm) != LAM_OK) {
        lam_free(len);
        return lam_error_context(LAM_ERR_NOMEM, "%s", source);
    }
    int64_t total = 256;
    lam_status st = LAM_OK;
    for (int i = 0; i < 256; i++) len[i] = 1;
    for (int i = 0; i < nm && st == LAM_OK; i++) {
        const int32_t a = t->merges[2 * i], b = t->merges[2 * i + 1];
        if (a < 0 || b < 0 || a >= 256 + i || b >= 256 + i) {
            st = lam_error(LAM_ERR_FORMAT, "%s: merge %d (token %d) joins %d and %d, expected ids "
                           "of earlier tokens (0 to %d)", source, i, 256 + i, a, b, 255 + i);
            break;
        }
        const int32_t dup = lam_pair_map_get(t->ranks, a, b);
        if (dup >= 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: merge %d repeats merge %d (%d, %d)", source, i,
                           dup, a, b);
            break;
        }
        len[256 + i] = len[a] + len[b];
        total += len[256 + i];
        if (total > LAM_TOKENIZER_MAX_BYTES) {
            st = lam_error(LAM_ERR_FORMAT, "%s: the tokens of merges 0 to %d hold more than %lld "
                           "bytes", source, i, (long long)LAM_TOKENIZER_MAX_BYTES);
            break;
        }
        if (lam_pair_map_put(t->ranks, a, b, i) != LAM_OK)
            st = lam_error_context(LAM_ERR_NOMEM, "%s", source);
    }
    if (st == LAM_OK) {
        t->offsets = lam_malloc(sizeof *t->offsets * (size_t)(t->vocab + 1));
        t->bytes = lam_malloc((size_t)total);
        if (!t->offsets || !t->bytes) st = lam_error_context(LAM_ERR_NOMEM, "%s", source);
    }
    if (st == LAM_OK) {
        int64_t at = 0;
        for (int i = 0; i < t->vocab; i++) {
            t->offsets[i] = at;
            if (i < 256) {
                t->bytes[at] = (char)i;
            } else {
                const int32_t a = t->merges[2 * (i - 256)], b = t->merges[2 * (i - 256) + 1];
                memcpy(t->bytes + at, t->bytes + t->offsets[a], (size_t)len[a]);
                memcpy(t->bytes + at + len[a], t->bytes + t->offsets[b], (size_t)len[b]);
            }
            at += len[i];
        }
        t->offsets[t->vocab] = at;
    }
    lam_free(len);
    return st;
}

/* ---------------------------------------------------------------- encode */

typedef struct cand {
    int32_t rank, pos;
} cand;

typedef struct encoder {
    const lam_tokenizer *t;
    int32_t *sym, *next, *prev;
    cand *heap;
    size_t nheap;
} encoder;

static inline bool cand_before(cand x, cand y)
{
    return x.rank != y.rank ? x.rank < y.rank : x.pos < y.pos;
}

static void push(encoder *e, int32_t rank, int32_t pos)
{
    cand c = {rank, pos};
    size_t i = e->nheap++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!cand_before(c, e->heap[up])) break;
        e->heap[i] = e->heap[up];
        i = up;
    }
    e->heap[i] = c;
}

static cand pop(encoder *e)
{
    cand top = e->heap[0], last = e->heap[--e->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= e->nheap) break;
        if (c + 1 < e->nheap && cand_before(e->heap[c + 1], e->heap[c])) c++;
        if (!cand_before(e->heap[c], last)) break;
        e->heap[i] = e->heap[c];
        i = c;
    }
    if (e->nheap > 0) e->heap[i] = last;
    return top;
}

static void consider(encoder *e, int32_t pos)
{
    const int32_t r = lam_pair_map_get(e->t->ranks, e->sym[pos], e->sym[e->next[pos]]);
    if (r >= 0) push(e, r, pos);
}

/* One chunk s[0..L) -> ids; returns how many. */
static int64_t encode_chunk(encoder *e, const unsigned char *s, int32_t L, int32_t *ids)
{
    if (L == 1 || e->t->nmerges == 0) {
        for (int32_t k = 0; k < L; k++) ids[k] = s[k];
        return L;
    }
    int32_t *sym = e->sym, *next = e->next, *prev = e->prev;
    const int32_t *merges = e->t->merges;
    e->nheap = 0;
    for (int32_t k = 0; k < L; k++) {
        sym[k] = s[k];
        prev[k] = k - 1;
        next[k] = k + 1 < L ? k + 1 : -1;
    }
    for (int32_t k = 0; k + 1 < L; k++) consider(e, k);
    while (e->nheap > 0) {
        const cand c = pop(e);
        const int32_t i = c.pos, j = next[i];
        if (sym[i] < 0 || j < 0 || sym[i] != merges[2 * c.rank] || sym[j] != merges[2 * c.rank + 1])
            continue; /* the pair changed since it was pushed */
        sym[i] = 256 + c.rank;
        sym[j] = -1;
        next[i] = next[j];
        if (next[i] >= 0) prev[next[i]] = i;
        if (prev[i] >= 0) consider(e, prev[i]);
        if (next[i] >= 0) consider(e, i);
    }
    int64_t n = 0;
    for (int32_t k = 0; k >= 0; k = next[k]) ids[n++] = sym[k];
    return n;
}

lam_status lam_bpe_encode(const lam_tokenizer *t, const char *text, size_t len, int32_t *ids,
                          int64_t *n)
{
    const unsigned char *s = (const unsigned char *)text;
    /* Scratch for the longest chunk: one pass to find it keeps memory to what
     * the text needs (a few bytes for prose, all of it for one long run). */
    size_t longest = 0;
    for (size_t i = 0; i < len;) {
        size_t e = lam_bpe_chunk_end(s, len, i);
        if (e - i > longest) longest = e - i;
        i = e;
    }
    if (longest > INT32_MAX)
        return lam_error(LAM_ERR_UNSUPPORTED, "BPE encode: a chunk of %zu bytes without a "
                         "break, at most %d supported", longest, INT32_MAX);
    *n = 0;
    if (len == 0) return LAM_OK;
    encoder e = {.t = t};
    e.sym = lam_malloc(sizeof *e.sym * longest);
    e.next = lam_malloc(sizeof *e.next * longest);
    e.prev = lam_malloc(sizeof *e.prev * longest);
    /* Every merge pushes at most 2 candidates and there are at most L - 1
     * merges, after L - 1 initial ones: 3L bounds the heap. */
    e.heap = lam_malloc(sizeof *e.heap * 3 * longest);
    lam_status st = LAM_OK;
    if (!e.sym || !e.next || !e.prev || !e.heap) st = lam_error_context(LAM_ERR_NOMEM, "BPE encode");
    int64_t count = 0;
    for (size_t i = 0; i < len && st == LAM_OK;) {
        size_t end = lam_bpe_chunk_end(s, len, i);
        count += encode_chunk(&e, s + i, (int32_t)(end - i), ids + count);
        i = end;
    }
    lam_free(e.sym);
    lam_free(e.next);
    lam_free(e.prev);
    lam_free(e.heap);
    if (st == LAM_OK) *n = count;
    return st;
}
