/* mapped.c - read-only file mappings holding a data set's samples.
 *
 * Decisions:
 *   - The whole file is mapped (offset 0: mmap offsets must be page aligned,
 *     a .npy header is 64-byte aligned) with PROT_READ and MAP_PRIVATE, so
 *     the data can never be written through the data set.
 *   - Pages touched by gathers count in the process's RSS until dropped; a
 *     shuffled epoch over a 4 GB file would otherwise end with 4 GB resident.
 *     lam_mapped_touch drops them (MADV_DONTNEED) every LAM_MAPPED_TRIM_BYTES
 *     of accounted reads: a read-only page re-faults from the page cache, so
 *     this costs a minor fault for a page read again, never a disk read
 *     while the file stays cached.
 */
#include "io/mapped.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

lam_status lam_mapped_create(lam_mapped **out, int nshards, int64_t sample_bytes)
{
    *out = NULL;
    if (nshards < 1 || sample_bytes < 1)
        return lam_error(LAM_ERR_ARG, "mapped data: %d shards of %lld-byte samples, expected "
                         ">= 1 of each", nshards, (long long)sample_bytes);
    lam_mapped *m = lam_calloc(1, sizeof *m);
    if (!m) return LAM_ERR_NOMEM;
    m->shards = lam_calloc((size_t)nshards, sizeof *m->shards);
    if (!m->shards) {
        lam_free(m);
        return LAM_ERR_NOMEM;
    }
    m->refs = 1;
    m->sample_bytes = sample_bytes;
    *out = m;
    return LAM_OK;
}

lam_status lam_mapped_add(lam_mapped *m, int fd, const char *path, const char *what,
                          int64_t offset, int64_t n)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return lam_error(LAM_ERR_IO, "%s: cannot stat the %s file: %s", path, what,
                         strerror(errno));
    if (!S_ISREG(st.st_mode))
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: the %s file is not a regular file and "
                         "cannot be memory-mapped", path, what);
    const int64_t need = offset + n * m->sample_bytes, have = (int64_t)st.st_size;
    if (have < need)
        return lam_error(LAM_ERR_FORMAT, "%s: truncated %s file: its header declares %lld "
                         "samples of %lld bytes (%lld bytes with the header), the file has "
                         "%lld bytes", path, what, (long long)n, (long long)m->sample_bytes,
                         (long long)need, (long long)have);
    if (have > need)
        return lam_error(LAM_ERR_FORMAT, "%s: unexpected bytes after the %lld bytes of data the "
                         "%s header declares (file: %lld bytes); the header or the file is "
                         "wrong", path, (long long)(n * m->sample_bytes), what,
                         (long long)have);
    void *base = mmap(NULL, (size_t)have, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED)
        return lam_error(errno == ENOMEM ? LAM_ERR_NOMEM : LAM_ERR_IO,
                         "%s: cannot memory-map the %s file (%lld bytes): %s", path, what,
                         (long long)have, strerror(errno));
    lam_mapped_shard *s = &m->shards[m->nshards++];
    s->base = base;
    s->len = (size_t)have;
    s->data = (const unsigned char *)base + offset;
    s->first = m->n;
    s->n = n;
    m->n += n;
    return LAM_OK;
}

void lam_mapped_retain(lam_mapped *m) { __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED); }

void lam_mapped_release(lam_mapped *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
    for (int i = 0; i < m->nshards; i++) munmap(m->shards[i].base, m->shards[i].len);
    lam_free(m->shards);
    lam_free(m);
}

const unsigned char *lam_mapped_sample(const lam_mapped *m, int64_t j)
{
    /* The last shard whose first sample is <= j (shards are in order). */
    int lo = 0, hi = m->nshards - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (m->shards[mid].first <= j) lo = mid;
        else hi = mid - 1;
    }
    const lam_mapped_shard *s = &m->shards[lo];
    return s->data + (j - s->first) * m->sample_bytes;
}

void lam_mapped_will_need(const lam_mapped *m, int64_t j)
{
    const uintptr_t page = 4096, at = (uintptr_t)lam_mapped_sample(m, j);
    const uintptr_t from = at & ~(page - 1), to = at + (uintptr_t)m->sample_bytes;
    madvise((void *)from, to - from, MADV_WILLNEED);
}

void lam_mapped_trim(lam_mapped *m)
{
    for (int i = 0; i < m->nshards; i++) madvise(m->shards[i].base, m->shards[i].len,
                                                 MADV_DONTNEED);
}

void lam_mapped_touch(lam_mapped *m, int64_t count)
{
    const int64_t bytes = count * (m->sample_bytes + LAM_MAPPED_FAULT_AROUND);
    if (__atomic_add_fetch(&m->touched, bytes, __ATOMIC_RELAXED) < LAM_MAPPED_TRIM_BYTES) return;
    __atomic_store_n(&m->touched, 0, __ATOMIC_RELAXED);
    lam_mapped_trim(m);
}

lam_status lam_dataset_from_mapped(lam_dataset **out, lam_dtype dtype, int rank,
                                   const int64_t *shape, lam_mapped *m, bool with_labels)
{
    LAM_TRY(lam_dataset_create(out, dtype, 0, rank, shape, false, 0));
    lam_dataset *ds = *out;
    if (with_labels && !(ds->labels = lam_calloc((size_t)(m->n ? m->n : 1), sizeof(int32_t)))) {
        lam_dataset_free(ds);
        *out = NULL;
        return LAM_ERR_NOMEM;
    }
    lam_free(ds->x);
    ds->x = NULL;
    ds->n = m->n;
    ds->mapped = m;
    return LAM_OK;
}

bool lam_dataset_is_mapped(const lam_dataset *ds) { return ds && ds->mapped; }
