/* pair_map.c - an open-addressing hash map from a pair of token ids to an
 * int32: BPE's merge ranks (encoding) and pair table (training). */
#include "text/text.h"

#include <string.h>

static inline uint64_t pair_key(int32_t a, int32_t b)
{
    return (((uint64_t)(uint32_t)a << 32) | (uint32_t)b) + 1; /* never 0: 0 marks empty */
}

static inline size_t pair_hash(uint64_t k, size_t mask)
{
    k ^= k >> 33; /* murmur3's finaliser: ids are small and sequential */
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & mask;
}

lam_status lam_pair_map_init(lam_pair_map *m, size_t expected)
{
    size_t cap = 64;
    while (cap < expected * 2) cap *= 2; /* load factor <= 1/2 */
    m->keys = lam_calloc(cap, sizeof *m->keys);
    m->values = lam_malloc(cap * sizeof *m->values);
    m->cap = cap;
    m->count = 0;
    if (!m->keys || !m->values) {
        lam_pair_map_free(m);
        return LAM_ERR_NOMEM;
    }
    return LAM_OK;
}

void lam_pair_map_free(lam_pair_map *m)
{
    lam_free(m->keys);
    lam_free(m->values);
    m->keys = NULL;
    m->values = NULL;
    m->cap = m->count = 0;
}

int32_t lam_pair_map_get(const lam_pair_map *m, int32_t a, int32_t b)
{
    const uint64_t k = pair_key(a, b);
    const size_t mask = m->cap - 1;
    for (size_t i = pair_hash(k, mask);; i = (i + 1) & mask) {
        if (m->keys[i] == k) return m->values[i];
        if (m->keys[i] == 0) return -1;
    }
}

static void insert(uint64_t *keys, int32_t *values, size_t mask, uint64_t k, int32_t v)
{
    size_t i = pair_hash(k, mask);
    while (keys[i] != 0 && keys[i] != k) i = (i + 1) & mask;
    keys[i] = k;
    values[i] = v;
}

lam_status lam_pair_map_put(lam_pair_map *m, int32_t a, int32_t b, int32_t value)
{
    if ((m->count + 1) * 2 > m->cap) {
        size_t cap = m->cap * 2;
        uint64_t *keys = lam_calloc(cap, sizeof *keys);
        int32_t *values = lam_malloc(cap * sizeof *values);
        if (!keys || !values) {
            lam_free(keys);
            lam_free(values);
            return LAM_ERR_NOMEM;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) insert(keys, values, cap - 1, m->keys[i], m->values[i]);
        lam_free(m->keys);
        lam_free(m->values);
        m->keys = keys;
        m->values = values;
        m->cap = cap;
    }
    const uint64_t k = pair_key(a, b);
    const size_t mask = m->cap - 1;
    size_t i = pair_hash(k, mask);
    while (m->keys[i] != 0 && m->keys[i] != k) i = (i + 1) & mask;
    if (m->keys[i] == 0) m->count++;
    m->keys[i] = k;
    m->values[i] = value;
    return LAM_OK;
}
