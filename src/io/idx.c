/* idx.c - IDX files (the MNIST / Fashion-MNIST format), plain or gzip.
 *
 * An IDX file is a 4-byte magic (0, 0, type, rank), rank big-endian uint32
 * dimensions, then the values in row-major order. lamina reads the two kinds
 * that image classification sets use: uint8 images of rank 3 (0x00000803:
 * count, rows, cols) and uint8 labels of rank 1 (0x00000801: count).
 *
 * Decisions:
 *   - zlib's gzread reads gzip and plain files alike, so one code path serves
 *     "x.idx" and "x.idx.gz".
 *   - Bytes after the declared data are rejected (LAM_ERR_FORMAT): a file
 *     longer than its header says almost always means the header is wrong or
 *     the wrong file was given, and reading on silently would hide that.
 *   - Other IDX element types (int8, int16, int32, float, double) are valid
 *     IDX but not image/label data lamina expects: LAM_ERR_UNSUPPORTED. A type
 *     byte IDX does not define at all is a bad magic: LAM_ERR_FORMAT.
 *   - A count mismatch between images and labels is LAM_ERR_FORMAT.
 *   - lam_open_idx maps plain (not gzip) images (docs/STREAMING.md): the file
 *     must then hold exactly the declared bytes, as reading requires; labels
 *     are always read (one byte a sample).
 */
#include "internal.h"
#include "io/mapped.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* Larger than any real image set (Fashion-MNIST train is 47 MB) yet far
 * below what would overflow a size_t product; a header claiming more is
 * corrupt rather than big. */
#define IDX_MAX_BYTES ((int64_t)1 << 34)
/* First buffer for the data; it doubles as more arrives. */
#define IDX_FIRST_CHUNK ((int64_t)1 << 22)

typedef struct idx_file {
    const char *path;
    gzFile gz;
    int rank;
    int64_t dims[3];
    int64_t bytes; /* product of dims: uint8 values that follow the header */
} idx_file;

static const char *idx_type_name(int t)
{
    switch (t) {
    case 0x08: return "uint8";
    case 0x09: return "int8";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return NULL;
    }
}

/* The zlib error after a failed or short gzread, as a status and message. */
static lam_status idx_read_error(const idx_file *f, const char *what, int64_t want,
                                 int64_t got)
{
    int zerr = Z_OK;
    const char *zmsg = gzerror(f->gz, &zerr);
    if (zerr == Z_ERRNO)
        return lam_error(LAM_ERR_IO, "%s: reading %s: %s", f->path, what, strerror(errno));
    if (zerr != Z_OK && zerr != Z_BUF_ERROR)
        return lam_error(LAM_ERR_FORMAT, "%s: corrupt gzip data while reading %s (%s)",
                         f->path, what, zmsg);
    /* Z_BUF_ERROR is zlib's "unexpected end of file" in a gzip stream, i.e.
     * the same truncation as a short plain file. */
    return lam_error(LAM_ERR_FORMAT, "%s: truncated %s: expected %lld bytes, found %lld",
                     f->path, what, (long long)want, (long long)got);
}

/* Reads exactly n bytes (gzread takes an unsigned int, so in chunks). */
static lam_status idx_read(idx_file *f, void *dst, int64_t n, const char *what)
{
    int64_t done = 0;
    while (done < n) {
        int64_t chunk = n - done;
        if (chunk > (1 << 30)) chunk = 1 << 30;
        int r = gzread(f->gz, (char *)dst + done, (unsigned)chunk);
        if (r < 0) return idx_read_error(f, what, n, done);
        if (r == 0) return idx_read_error(f, what, n, done);
        done += r;
    }
    return LAM_OK;
}

static void idx_close(idx_file *f)
{
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* Opens path and reads and checks its header against the expected rank. */
static lam_status idx_open(idx_file *f, const char *path, int want_rank, const char *role)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    if (!path) return lam_error(LAM_ERR_ARG, "IDX %s: no file name given", role);
    /* open() ourselves so that errno reliably names why a file is missing;
     * gzopen may leave errno untouched on some failures. */
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return lam_error(LAM_ERR_IO, "%s: cannot open IDX %s file: %s", path, role,
                         strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return lam_error(LAM_ERR_IO, "%s: is a folder, expected an IDX %s file", path, role);
    }
    f->gz = gzdopen(fd, "rb");
    if (!f->gz) {
        close(fd);
        return lam_error(LAM_ERR_NOMEM, "%s: out of memory opening a gzip stream", path);
    }

    unsigned char hdr[4];
    lam_status s = idx_read(f, hdr, 4, "header");
    if (s != LAM_OK) goto fail;
    const unsigned expect_magic = 0x0800u | (unsigned)want_rank;
    const unsigned magic = ((unsigned)hdr[0] << 24) | ((unsigned)hdr[1] << 16) |
                           ((unsigned)hdr[2] << 8) | hdr[3];
    if (hdr[0] != 0 || hdr[1] != 0 || !idx_type_name(hdr[2])) {
        s = lam_error(LAM_ERR_FORMAT,
                      "%s: bad magic 0x%08x, expected 0x%08x (IDX uint8 %s, rank %d); "
                      "is this an IDX file?", path, magic, expect_magic, role, want_rank);
        goto fail;
    }
    if (hdr[2] != 0x08) {
        s = lam_error(LAM_ERR_UNSUPPORTED,
                      "%s: IDX element type 0x%02x (%s) is not supported, expected 0x08 "
                      "(uint8) for %s (magic 0x%08x, expected 0x%08x)",
                      path, hdr[2], idx_type_name(hdr[2]), role, magic, expect_magic);
        goto fail;
    }
    if (hdr[3] != want_rank) {
        s = lam_error(LAM_ERR_FORMAT,
                      "%s: IDX rank %d (magic 0x%08x), expected rank %d (magic 0x%08x) "
                      "for %s", path, hdr[3], magic, want_rank, expect_magic, role);
        goto fail;
    }
    f->rank = want_rank;

    unsigned char dimb[12];
    s = idx_read(f, dimb, 4 * (int64_t)want_rank, "dimensions");
    if (s != LAM_OK) goto fail;
    int64_t bytes = 1;
    for (int i = 0; i < want_rank; i++) {
        const unsigned char *b = dimb + 4 * i;
        int64_t d = ((int64_t)b[0] << 24) | ((int64_t)b[1] << 16) | ((int64_t)b[2] << 8) | b[3];
        if (d == 0) {
            s = lam_error(LAM_ERR_FORMAT, "%s: IDX dimension %d is 0, expected >= 1",
                          path, i);
            goto fail;
        }
        /* Checked before multiplying: 2^34 * (2^32 - 1) would overflow int64. */
        if (bytes > IDX_MAX_BYTES / d) {
            s = lam_error(LAM_ERR_FORMAT,
                          "%s: IDX dimensions claim more than %lld bytes (dimension %d "
                          "is %lld); the header is corrupt", path,
                          (long long)IDX_MAX_BYTES, i, (long long)d);
            goto fail;
        }
        bytes *= d;
        f->dims[i] = d;
    }
    f->bytes = bytes;
    return LAM_OK;
fail:
    idx_close(f);
    return s;
}

/* Reads all the data into a new buffer and checks that nothing follows it.
 * The buffer grows as data actually arrives instead of being sized from the
 * header up front: a corrupt 40-byte file must not make us allocate the
 * gigabytes its header claims (gzip hides the real size until it is read). */
static lam_status idx_slurp(idx_file *f, const char *role, uint8_t **out)
{
    *out = NULL;
    int64_t cap = f->bytes < IDX_FIRST_CHUNK ? f->bytes : IDX_FIRST_CHUNK, done = 0;
    uint8_t *buf = lam_malloc((size_t)cap);
    if (!buf) return LAM_ERR_NOMEM;
    lam_status s = LAM_OK;
    while (done < f->bytes) {
        if (done == cap) {
            int64_t ncap = cap * 2 < f->bytes ? cap * 2 : f->bytes;
            uint8_t *nb = lam_realloc(buf, (size_t)ncap);
            if (!nb) {
                s = LAM_ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        int64_t chunk = cap - done;
        if (chunk > (1 << 30)) chunk = 1 << 30;
        int r = gzread(f->gz, buf + done, (unsigned)chunk);
        if (r <= 0) {
            s = idx_read_error(f, role, f->bytes, done);
            break;
        }
        done += r;
    }
    if (s == LAM_OK) {
        unsigned char extra;
        int r = gzread(f->gz, &extra, 1);
        if (r < 0)
            s = idx_read_error(f, "trailer", 0, 0);
        else if (r > 0)
            s = lam_error(LAM_ERR_FORMAT,
                          "%s: unexpected bytes after the %lld bytes of %s data the header "
                          "declares; the header or the file is wrong", f->path,
                          (long long)f->bytes, role);
    }
    if (s != LAM_OK) {
        lam_free(buf);
        return s;
    }
    *out = buf;
    return LAM_OK;
}

/* Maps the images of a plain (not gzip) IDX file whose header f holds. The
 * file is opened again for the mapping, so its header is checked again in
 * the mapping itself: the file may have changed in between. */
static lam_status idx_map_images(const idx_file *f, lam_mapped **out)
{
    *out = NULL;
    const int64_t offset = 4 + 4 * (int64_t)f->rank;
    unsigned char want[16] = {0, 0, 0x08, (unsigned char)f->rank};
    for (int i = 0; i < f->rank; i++)
        for (int k = 0; k < 4; k++)
            want[4 + 4 * i + k] = (unsigned char)(f->dims[i] >> (24 - 8 * k));
    int fd = open(f->path, O_RDONLY);
    if (fd < 0)
        return lam_error(LAM_ERR_IO, "%s: cannot open IDX images file: %s", f->path,
                         strerror(errno));
    lam_mapped *m = NULL;
    lam_status s = lam_mapped_create(&m, 1, f->dims[1] * f->dims[2]);
    if (s == LAM_OK) s = lam_mapped_add(m, fd, f->path, "IDX images", offset, f->dims[0]);
    close(fd); /* the mapping stays */
    if (s == LAM_OK && memcmp(m->shards[0].base, want, (size_t)offset) != 0)
        s = lam_error(LAM_ERR_IO, "%s: the IDX header changed while the file was opened",
                      f->path);
    if (s != LAM_OK) {
        lam_mapped_release(m);
        return s;
    }
    *out = m;
    return LAM_OK;
}

lam_status lam_open_idx(const char *images_path, const char *labels_path, lam_storage storage,
                        lam_dataset **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_open_idx: out is NULL");
    *out = NULL;
    if (storage != LAM_STORAGE_AUTO && storage != LAM_STORAGE_MEMORY &&
        storage != LAM_STORAGE_MAPPED)
        return lam_error(LAM_ERR_ARG, "lam_open_idx: unknown storage %d", (int)storage);
    idx_file im, lb;
    memset(&lb, 0, sizeof lb);
    uint8_t *pix = NULL, *raw = NULL;
    lam_dataset *ds = NULL;
    lam_mapped *map = NULL;

    LAM_TRY(idx_open(&im, images_path, 3, "images"));
    lam_status s = idx_open(&lb, labels_path, 1, "labels");
    if (s != LAM_OK) goto done;
    /* Checked before reading megabytes of pixels, so a mismatched pair fails fast. */
    if (im.dims[0] != lb.dims[0]) {
        s = lam_error(LAM_ERR_FORMAT, "%s holds %lld images but %s holds %lld labels; "
                      "expected the same count", images_path, (long long)im.dims[0],
                      labels_path, (long long)lb.dims[0]);
        goto done;
    }
    /* gzdirect: zlib found no gzip header, the file is plain and can be mapped. */
    const bool plain = gzdirect(im.gz) == 1;
    if (storage == LAM_STORAGE_MAPPED && !plain) {
        s = lam_error(LAM_ERR_UNSUPPORTED, "%s: gzip-compressed IDX images cannot be "
                      "memory-mapped; gunzip the file first", images_path);
        goto done;
    }
    const bool map_it = storage == LAM_STORAGE_MAPPED ||
                        (storage == LAM_STORAGE_AUTO && plain &&
                         im.bytes >= LAM_MAP_THRESHOLD_BYTES);
    const int64_t shape[3] = {im.dims[1], im.dims[2], 1};
    if (map_it) {
        s = idx_map_images(&im, &map);
    } else {
        s = idx_slurp(&im, "images", &pix);
    }
    if (s != LAM_OK) goto done;
    s = idx_slurp(&lb, "labels", &raw);
    if (s != LAM_OK) goto done;
    if (map_it) {
        s = lam_dataset_from_mapped(&ds, LAM_U8, 3, shape, map, true);
        if (s != LAM_OK) goto done;
        map = NULL; /* the data set's now */
    } else {
        s = lam_dataset_adopt(&ds, LAM_U8, im.dims[0], 3, shape, pix);
        if (s != LAM_OK) goto done;
        pix = NULL; /* the data set's now */
    }
    for (int64_t i = 0; i < ds->n; i++) ds->labels[i] = raw[i];
    ds->scale = 1.0f / 255.0f;
    *out = ds;
    ds = NULL;
done:
    idx_close(&im);
    idx_close(&lb);
    lam_free(pix);
    lam_free(raw);
    lam_mapped_release(map);
    lam_dataset_free(ds);
    return s;
}

lam_status lam_load_idx(const char *images_path, const char *labels_path, lam_dataset **out)
{
    return lam_open_idx(images_path, labels_path, LAM_STORAGE_MEMORY, out);
}

/* ------------------------------------------------------------ Fashion-MNIST */

#define FMNIST_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define FMNIST_HINT                                                               \
    "install it with `sudo apt-get install dataset-fashion-mnist`, or give the folder " \
    "holding the IDX files (the lamina command and examples read it from LAMINA_DATA)"

/* Finds dir/base.gz, else dir/base; 1 when found (path filled). */
static int fmnist_find(const char *dir, const char *base, char *path, size_t cap)
{
    static const char *const ext[] = {".gz", ""};
    for (int i = 0; i < 2; i++) {
        int n = snprintf(path, cap, "%s/%s%s", dir, base, ext[i]);
        if (n < 0 || (size_t)n >= cap) continue;
        struct stat st;
        if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) return 1;
    }
    return 0;
}

lam_status lam_load_fashion_mnist(const char *dir, bool train, lam_dataset **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_load_fashion_mnist: out is NULL");
    *out = NULL;
    const char *from = "the dir argument";
    if (!dir || !*dir) {
        dir = FMNIST_DEFAULT_DIR;
        from = "the default folder";
    }
    if (strlen(dir) > 3900)
        return lam_error(LAM_ERR_ARG, "Fashion-MNIST: folder name too long (%zu chars)",
                         strlen(dir));
    struct stat st;
    if (stat(dir, &st) != 0)
        return lam_error(LAM_ERR_IO, "Fashion-MNIST not found in %s (%s: %s): " FMNIST_HINT,
                         dir, from, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return lam_error(LAM_ERR_IO, "Fashion-MNIST not found in %s (%s is not a folder): "
                         FMNIST_HINT, dir, from);

    const char *split = train ? "train" : "t10k";
    char ibase[64], lbase[64], ipath[4096], lpath[4096];
    snprintf(ibase, sizeof ibase, "%s-images-idx3-ubyte", split);
    snprintf(lbase, sizeof lbase, "%s-labels-idx1-ubyte", split);
    if (!fmnist_find(dir, ibase, ipath, sizeof ipath))
        return lam_error(LAM_ERR_IO, "Fashion-MNIST not found in %s (%s; no %s or %s.gz): "
                         FMNIST_HINT, dir, from, ibase, ibase);
    if (!fmnist_find(dir, lbase, lpath, sizeof lpath))
        return lam_error(LAM_ERR_IO, "Fashion-MNIST not found in %s (%s; no %s or %s.gz): "
                         FMNIST_HINT, dir, from, lbase, lbase);
    lam_status s = lam_load_idx(ipath, lpath, out);
    if (s != LAM_OK)
        return lam_error_context(s, "loading Fashion-MNIST %s set from %s", split, dir);
    return LAM_OK;
}
