/* bpe_train.c - learning byte-level BPE merges (GPT-2, minbpe's
 * BasicTokenizer): start from the 256 byte tokens and repeatedly merge the
 * most frequent adjacent pair into a new token, inside the chunks of the
 * GPT-2 pre-split (pre_split.c).
 *
 * Tie rule: among pairs of equal count the one with the smallest first id
 * wins, then the smallest second id (tests/make_bpe_fixture.py is the
 * reference). Training stops early when no pair is left.
 *
 * Speed: minbpe recounts every pair after each merge (O(corpus) per merge).
 * Here identical chunks are counted once (a word with a frequency), symbols
 * of all words sit in one linked array, every pair keeps a count and the list
 * of nodes where it occurs, and a max-heap with lazy invalidation finds the
 * best pair: a merge costs time proportional to the occurrences it changes.
 * Measured: a 1000-token vocabulary from a 5 MB English corpus (bench note in
 * docs/TEXT.md) takes well under a second. */
#include "text/text.h"

#include <string.h>

/* ------------------------------------------------------------ word count */

typedef struct word {
    const unsigned char *s;
    uint32_t len;
    int64_t count;
} word;

typedef struct word_table {
    word *words;
    int32_t n, cap;
    int32_t *slots; /* word index + 1; 0 = empty */
    size_t nslots;  /* a power of two */
} word_table;

static uint64_t bytes_hash(const unsigned char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static lam_status word_table_grow(word_table *t)
{
    size_t nslots = t->nslots ? t->nslots * 2 : 1024;
    int32_t *slots = lam_calloc(nslots, sizeof *slots);
    if (!slots) return LAM_ERR_NOMEM;
    for (int32_t w = 0; w < t->n; w++) {
        size_t i = bytes_hash(t->words[w].s, t->words[w].len) & (nslots - 1);
        while (slots[i]) i = (i + 1) & (nslots - 1);
        slots[i] = w + 1;
    }
    lam_free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return LAM_OK;
}

static lam_status word_table_add(word_table *t, const unsigned char *s, size_t len)
{
    if ((size_t)(t->n + 1) * 2 > t->nslots) LAM_TRY(word_table_grow(t));
    size_t i = bytes_hash(s, len) & (t->nslots - 1);
    for (; t->slots[i]; i = (i + 1) & (t->nslots - 1)) {
        word *w = &t->words[t->slots[i] - 1];
        if (w->len == len && memcmp(w->s, s, len) == 0) {
            w->count++;
            return LAM_OK;
        }
    }
    if (t->n == t->cap) {
        int32_t cap = t->cap ? t->cap * 2 : 1024;
        word *words = lam_realloc(t->words, sizeof *words * (size_t)cap);
        if (!words) return LAM_ERR_NOMEM;
        t->words = words;
        t->cap = cap;
    }
    t->words[t->n] = (word){s, (uint32_t)len, 1};
    t->slots[i] = ++t->n;
    return LAM_OK;
}

/* ----------------------------------------------------------------- pairs */

typedef struct pair {
    int32_t a, b;
    int64_t count;     /* occurrences weighted by word frequency */
    int32_t *occ;      /* left nodes where the pair was formed (some stale) */
    int32_t nocc, capocc;
    int32_t touched;   /* the merge that last changed count (to push it once) */
} pair;

typedef struct heap_entry {
    int64_t count;
    int32_t pair;
} heap_entry;

typedef struct trainer {
    /* Nodes: every byte of every distinct word, words back to back. */
    int32_t *sym, *prev, *next, *word_of;
    const word *words;
    pair *pairs;
    int32_t npairs, cappairs;
    lam_pair_map index;   /* (a, b) -> pair */
    heap_entry *heap;
    int64_t nheap, capheap;
    int32_t *touched;     /* pairs changed by the current merge */
    int32_t ntouched, captouched;
} trainer;

/* a beats b: larger count, then smaller first id, then smaller second id. */
static inline bool heap_before(const trainer *t, heap_entry x, heap_entry y)
{
    if (x.count != y.count) return x.count > y.count;
    const pair *p = &t->pairs[x.pair], *q = &t->pairs[y.pair];
    if (p->a != q->a) return p->a < q->a;
    return p->b < q->b;
}

static lam_status heap_push(trainer *t, int32_t pi)
{
    if (t->nheap == t->capheap) {
        int64_t cap = t->capheap ? t->capheap * 2 : 4096;
        heap_entry *h = lam_realloc(t->heap, sizeof *h * (size_t)cap);
        if (!h) return LAM_ERR_NOMEM;
        t->heap = h;
        t->capheap = cap;
    }
    heap_entry e = {t->pairs[pi].count, pi};
    int64_t i = t->nheap++;
    while (i > 0) {
        int64_t up = (i - 1) / 2;
        if (!heap_before(t, e, t->heap[up])) break;
        t->heap[i] = t->heap[up];
        i = up;
    }
    t->heap[i] = e;
    return LAM_OK;
}

static heap_entry heap_pop(trainer *t)
{
    heap_entry top = t->heap[0], last = t->heap[--t->nheap];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= t->nheap) break;
        if (c + 1 < t->nheap && heap_before(t, t->heap[c + 1], t->heap[c])) c++;
        if (!heap_before(t, t->heap[c], last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (t->nheap > 0) t->heap[i] = last;
    return top;
}

/* The pair (a, b), created with count 0 if new; -1 when out of memory. */
static int32_t pair_get(trainer *t, int32_t a, int32_t b)
{
    int32_t pi = lam_pair_map_get(&t->index, a, b);
    if (pi >= 0) return pi;
    if (t->npairs == t->cappairs) {
        int32_t cap = t->cappairs ? t->cappairs * 2 : 4096;
        pair *p = lam_realloc(t->pairs, sizeof *p * (size_t)cap);
        if (!p) return -1;
        t->pairs = p;
        t->cappairs = cap;
    }
    pi = t->npairs;
    if (lam_pair_map_put(&t->index, a, b, pi) != LAM_OK) return -1;
    t->pairs[t->npairs++] = (pair){a, b, 0, NULL, 0, 0, -1};
    return pi;
}

/* Adds delta to the count of (a, b); with a node, records an occurrence there. */
static lam_status pair_add(trainer *t, int32_t a, int32_t b, int64_t delta, int32_t node,
                           int32_t merge)
{
    int32_t pi = pair_get(t, a, b);
    if (pi < 0) return LAM_ERR_NOMEM;
    pair *p = &t->pairs[pi];
    p->count += delta;
    if (node >= 0) {
        if (p->nocc == p->capocc) {
            int32_t cap = p->capocc ? p->capocc * 2 : 4;
            int32_t *o = lam_realloc(p->occ, sizeof *o * (size_t)cap);
            if (!o) return LAM_ERR_NOMEM;
            p->occ = o;
            p->capocc = cap;
        }
        p->occ[p->nocc++] = node;
    }
    if (p->touched != merge) {
        p->touched = merge;
        if (t->ntouched == t->captouched) {
            int32_t cap = t->captouched ? t->captouched * 2 : 256;
            int32_t *tt = lam_realloc(t->touched, sizeof *tt * (size_t)cap);
            if (!tt) return LAM_ERR_NOMEM;
            t->touched = tt;
            t->captouched = cap;
        }
        t->touched[t->ntouched++] = pi;
    }
    return LAM_OK;
}

static int cmp_i32(const void *x, const void *y)
{
    int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
    return (a > b) - (a < b);
}

/* Merges pair pi into token c at every node where it still occurs, left to
 * right within a word (nodes of a word are numbered left to right, so sorting
 * the occurrences gives minbpe's order for runs such as "aaa"). */
static lam_status apply_merge(trainer *t, int32_t pi, int32_t c, int32_t merge)
{
    const int32_t a = t->pairs[pi].a, b = t->pairs[pi].b;
    int32_t *occ = t->pairs[pi].occ, nocc = t->pairs[pi].nocc;
    t->pairs[pi].occ = NULL; /* detached: new pairs may move the pair table */
    t->pairs[pi].nocc = t->pairs[pi].capocc = 0;
    qsort(occ, (size_t)nocc, sizeof *occ, cmp_i32);
    lam_status st = LAM_OK;
    int32_t *sym = t->sym, *prev = t->prev, *next = t->next;
    for (int32_t k = 0; k < nocc && st == LAM_OK; k++) {
        const int32_t i = occ[k];
        if (k > 0 && occ[k - 1] == i) continue;
        const int32_t j = next[i];
        if (sym[i] != a || j < 0 || sym[j] != b) continue; /* stale */
        const int64_t f = t->words[t->word_of[i]].count;
        const int32_t p = prev[i], q = next[j];
        st = pair_add(t, a, b, -f, -1, merge);
        if (st == LAM_OK && p >= 0) {
            st = pair_add(t, sym[p], a, -f, -1, merge);
            if (st == LAM_OK) st = pair_add(t, sym[p], c, f, p, merge);
        }
        if (st == LAM_OK && q >= 0) {
            st = pair_add(t, b, sym[q], -f, -1, merge);
            if (st == LAM_OK) st = pair_add(t, c, sym[q], f, i, merge);
        }
        sym[i] = c;
        sym[j] = -1;
        next[i] = q;
        if (q >= 0) prev[q] = i;
    }
    lam_free(occ);
    return st;
}

static void trainer_free(trainer *t)
{
    lam_free(t->sym);
    lam_free(t->prev);
    lam_free(t->next);
    lam_free(t->word_of);
    for (int32_t i = 0; i < t->npairs; i++) lam_free(t->pairs[i].occ);
    lam_free(t->pairs);
    lam_pair_map_free(&t->index);
    lam_free(t->heap);
    lam_free(t->touched);
}

/* Lays out the words as nodes and counts their pairs. */
static lam_status trainer_init(trainer *t, const word_table *wt)
{
    int64_t nodes = 0;
    for (int32_t w = 0; w < wt->n; w++) nodes += wt->words[w].len;
    const size_t nn = (size_t)(nodes ? nodes : 1);
    t->words = wt->words;
    t->sym = lam_malloc(nn * sizeof *t->sym);
    t->prev = lam_malloc(nn * sizeof *t->prev);
    t->next = lam_malloc(nn * sizeof *t->next);
    t->word_of = lam_malloc(nn * sizeof *t->word_of);
    if (!t->sym || !t->prev || !t->next || !t->word_of) return LAM_ERR_NOMEM;
    /* Distinct pairs start at most at min(nodes, 65536); the map grows with merges. */
    LAM_TRY(lam_pair_map_init(&t->index, (size_t)(nodes < (1 << 16) ? nodes : (1 << 16))));
    int32_t at = 0;
    for (int32_t w = 0; w < wt->n; w++) {
        const word *wd = &wt->words[w];
        for (uint32_t k = 0; k < wd->len; k++, at++) {
            t->sym[at] = wd->s[k];
            t->prev[at] = k ? at - 1 : -1;
            t->next[at] = k + 1 < wd->len ? at + 1 : -1;
            t->word_of[at] = w;
            if (k) LAM_TRY(pair_add(t, t->sym[at - 1], t->sym[at], wd->count, at - 1, -1));
        }
    }
    for (int32_t i = 0; i < t->npairs; i++) LAM_TRY(heap_push(t, i));
    t->ntouched = 0;
    return LAM_OK;
}

/* Learns up to vocab_size - 256 merges into merges[] (2 ids each). */
static lam_status learn(trainer *t, int nwanted, int32_t *merges, int *nmerges)
{
    *nmerges = 0;
    while (*nmerges < nwanted && t->nheap > 0) {
        heap_entry e = heap_pop(t);
        const pair *p = &t->pairs[e.pair];
        if (e.count != p->count || p->count <= 0) continue; /* stale entry */
        const int32_t merge = *nmerges, c = 256 + merge;
        merges[2 * merge] = p->a;
        merges[2 * merge + 1] = p->b;
        t->ntouched = 0;
        LAM_TRY(apply_merge(t, e.pair, c, merge));
        for (int32_t k = 0; k < t->ntouched; k++)
            if (t->pairs[t->touched[k]].count > 0) LAM_TRY(heap_push(t, t->touched[k]));
        (*nmerges)++;
    }
    return LAM_OK;
}

lam_status lam_bpe_train(int vocab_size, const char *text, size_t len, lam_tokenizer **out)
{
    if (len > INT32_MAX)
        return lam_error(LAM_ERR_UNSUPPORTED, "BPE training: %zu bytes of text, at most %d "
                         "supported", len, INT32_MAX);
    const unsigned char *s = (const unsigned char *)text;
    word_table wt;
    memset(&wt, 0, sizeof wt);
    trainer t;
    memset(&t, 0, sizeof t);
    int32_t *merges = NULL;
    int nmerges = 0;
    lam_status st = LAM_OK;
    for (size_t i = 0; i < len && st == LAM_OK;) {
        size_t e = lam_bpe_chunk_end(s, len, i);
        st = word_table_add(&wt, s + i, e - i);
        i = e;
    }
    const int nwanted = vocab_size - 256;
    if (st == LAM_OK && !(merges = lam_malloc(sizeof *merges * 2 * (size_t)(nwanted ? nwanted : 1))))
        st = LAM_ERR_NOMEM;
    if (st == LAM_OK) st = trainer_init(&t, &wt);
    if (st == LAM_OK) st = learn(&t, nwanted, merges, &nmerges);
    trainer_free(&t);
    lam_free(wt.words);
    lam_free(wt.slots);
    lam_tokenizer *tok = NULL;
    if (st == LAM_OK) st = lam_tokenizer_alloc(LAM_TOKENIZER_BPE, 256 + nmerges, &tok);
    if (st == LAM_OK) {
        memcpy(tok->merges, merges, sizeof *merges * 2 * (size_t)nmerges);
        st = lam_bpe_finish(tok, "BPE training");
    }
    lam_free(merges);
    if (st != LAM_OK) {
        lam_tokenizer_free(tok);
        if (st == LAM_ERR_NOMEM) return lam_error_context(st, "BPE training");
        return st;
    }
    *out = tok;
    return LAM_OK;
}
