/* lamina_streaming.h - data larger than memory (docs/STREAMING.md): samples
 * read from memory-mapped files, several files (shards) as one data set, and
 * the next batch gathered on a background thread (lam_fit_options.prefetch).
 * Included by lamina.h. */
#ifndef LAMINA_STREAMING_H
#define LAMINA_STREAMING_H

/* Where a reader keeps the samples. A mapped data set reads them from the
 * page cache when a batch is taken and keeps at most about 64 MiB of the
 * file resident in the process; its labels are in memory (4 bytes each).
 * lam_dataset_x returns NULL for it: use lam_dataset_gather. */
typedef enum lam_storage {
    LAM_STORAGE_AUTO = 0, /* mapped when the file can be and its data is >= the threshold */
    LAM_STORAGE_MEMORY,   /* read into memory (lam_load_npy, lam_load_idx) */
    LAM_STORAGE_MAPPED    /* mapped, or an error saying why the file cannot be */
} lam_storage;
/* LAM_STORAGE_AUTO maps data of at least this many bytes: below it reading is
 * as fast, and a small set in memory costs nothing worth saving. */
#define LAM_MAP_THRESHOLD_BYTES ((int64_t)64 << 20)

/* lam_load_npy with a choice of storage. Mappable: x '<f4' or '|u1' on a
 * little-endian machine, in a regular file ('<f8' is read and narrowed).
 * Opening checks the whole header, that the file holds exactly the declared
 * bytes and (for '<f4') that every value is finite, as reading does; y is
 * read into memory. */
lam_status lam_open_npy(const char *x_path, const char *y_path, lam_storage storage,
                        lam_dataset **out);
/* One data set over count .npy files, mapped, in the given order (samples of
 * x_paths[0] first): every shard has the same dtype and per-sample shape;
 * y_paths (NULL: no labels) gives each shard's labels. */
lam_status lam_open_npy_shards(int count, const char *const *x_paths,
                               const char *const *y_paths, lam_dataset **out);
/* lam_load_idx with a choice of storage; gzip files are always read. */
lam_status lam_open_idx(const char *images_path, const char *labels_path, lam_storage storage,
                        lam_dataset **out);
/* true when the samples are read from file mappings. */
bool lam_dataset_is_mapped(const lam_dataset *ds);

#endif
