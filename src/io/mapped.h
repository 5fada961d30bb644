/* mapped.h - samples read straight from read-only file mappings, for data
 * sets larger than memory (docs/STREAMING.md). A data set's x is then one or
 * more shards, each a whole file mapped with mmap and a pointer to its first
 * sample; slices share the mapping (reference counted). */
#ifndef LAM_IO_MAPPED_H
#define LAM_IO_MAPPED_H

#include "internal.h"

/* Gathering accounts this much mapping per sample beyond its own bytes: the
 * kernel maps up to 16 pages around a faulting one that are already cached
 * (fault_around_bytes, 64 KiB by default), and all of them count in RSS. */
#define LAM_MAPPED_FAULT_AROUND ((int64_t)64 << 10)
/* Once gathers have touched this much mapping, its pages are dropped from
 * the process (MADV_DONTNEED; the page cache keeps them): what bounds the
 * resident size of a streamed data set, whatever its size. */
#define LAM_MAPPED_TRIM_BYTES ((int64_t)64 << 20)

typedef struct lam_mapped_shard {
    void *base;                /* the whole file's mapping */
    size_t len;
    const unsigned char *data; /* its first sample */
    int64_t first, n;          /* samples [first, first + n) of the set */
} lam_mapped_shard;

typedef struct lam_mapped {
    int refs; /* the data set and its slices */
    int nshards;
    lam_mapped_shard *shards;
    int64_t sample_bytes;
    int64_t n;       /* samples over all shards */
    int64_t touched; /* accounted bytes since the last trim (atomic) */
} lam_mapped;

lam_status lam_mapped_create(lam_mapped **out, int nshards, int64_t sample_bytes);
/* Maps the open file fd (path for messages) as the next shard: n samples from
 * byte offset on. The file must hold exactly offset + n * sample_bytes bytes:
 * fewer is a truncated file, more means the header is wrong. */
lam_status lam_mapped_add(lam_mapped *m, int fd, const char *path, const char *what,
                          int64_t offset, int64_t n);
void lam_mapped_retain(lam_mapped *m);
void lam_mapped_release(lam_mapped *m);
/* Sample j (0 <= j < m->n). */
const unsigned char *lam_mapped_sample(const lam_mapped *m, int64_t j);
/* Accounts count gathered samples; trims when LAM_MAPPED_TRIM_BYTES is passed.
 * Safe from several threads (the pages of a read-only mapping re-fault from
 * the page cache if another thread still reads them). */
void lam_mapped_touch(lam_mapped *m, int64_t count);
/* Asks the kernel to start reading sample j (MADV_WILLNEED) without waiting:
 * a batch's random samples then come from disk in parallel, not one by one. */
void lam_mapped_will_need(const lam_mapped *m, int64_t j);
/* Drops every shard's pages from the process now. */
void lam_mapped_trim(lam_mapped *m);

/* A data set of m->n samples of the given type and shape read from m, which
 * it takes over on success, with labels (m->n zeroed) when with_labels. */
lam_status lam_dataset_from_mapped(lam_dataset **out, lam_dtype dtype, int rank,
                                   const int64_t *shape, lam_mapped *m, bool with_labels);

#endif
