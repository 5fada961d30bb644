/* test_io_readers.c - the data set readers (IDX, Fashion-MNIST, CSV, .npy,
 * libsvm) on small good and broken files written into a temporary folder.
 * Good files must load with exact values; broken ones must fail with the
 * right status and a message that names the file and the problem. */
#define _GNU_SOURCE
#include "internal.h"
#include "io/npy.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char tmpdir[256];

/* tmpdir/name, in one of a few rotating buffers so that a call can take two. */
static const char *tpath(const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static void write_bytes(const char *name, const void *data, size_t n)
{
    FILE *f = fopen(tpath(name), "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", tpath(name));
        exit(2);
    }
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static void write_text(const char *name, const char *s) { write_bytes(name, s, strlen(s)); }

static void write_gz(const char *name, const void *data, size_t n)
{
    gzFile g = gzopen(tpath(name), "wb");
    if (!g) exit(2);
    gzwrite(g, data, (unsigned)n);
    gzclose(g);
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

/* Runs a good load with every allocation in turn failing: each must give
 * LAM_ERR_NOMEM cleanly (valgrind then shows no leak on those paths). */
#define CHECK_NOMEM_SWEEP(call, dsvar)                                         \
    do {                                                                       \
        int swept_ = 0;                                                        \
        for (long k_ = 1; k_ < 100; k_++) {                                    \
            lam_testing_fail_alloc_after(k_);                                  \
            lam_status s_ = (call);                                            \
            lam_testing_fail_alloc_after(0);                                   \
            if (s_ == LAM_OK) {                                                \
                lam_dataset_free(dsvar);                                       \
                dsvar = NULL;                                                  \
                swept_ = 1;                                                    \
                break;                                                         \
            }                                                                  \
            CHECK(s_ == LAM_ERR_NOMEM && dsvar == NULL,                        \
                  "%s with allocation %ld failing gave %d: %s", #call, k_, s_, \
                  lam_last_error());                                           \
        }                                                                      \
        CHECK(swept_, "%s never succeeded in the allocation sweep", #call);    \
    } while (0)

/* ------------------------------------------------------------------ IDX */

static size_t make_idx(unsigned char *buf, int type, int rank, const uint32_t *dims,
                       const unsigned char *data)
{
    size_t n = 0, count = 1;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = (unsigned char)type;
    buf[n++] = (unsigned char)rank;
    for (int i = 0; i < rank; i++) {
        buf[n++] = (unsigned char)(dims[i] >> 24);
        buf[n++] = (unsigned char)(dims[i] >> 16);
        buf[n++] = (unsigned char)(dims[i] >> 8);
        buf[n++] = (unsigned char)dims[i];
        count *= dims[i];
    }
    if (data) {
        memcpy(buf + n, data, count);
        n += count;
    }
    return n;
}

static void test_idx(void)
{
    unsigned char pix[3 * 2 * 4], lab[3] = {9, 0, 5};
    for (int i = 0; i < 24; i++) pix[i] = (unsigned char)(i * 11 + 3);
    unsigned char img[64], lbl[32], tmp[64];
    size_t ni = make_idx(img, 0x08, 3, (uint32_t[]){3, 2, 4}, pix);
    size_t nl = make_idx(lbl, 0x08, 1, (uint32_t[]){3}, lab);
    write_bytes("img.idx", img, ni);
    write_bytes("lbl.idx", lbl, nl);
    write_gz("img.idx.gz", img, ni);
    write_gz("lbl.idx.gz", lbl, nl);

    const char *pairs[][2] = {{"img.idx", "lbl.idx"}, {"img.idx.gz", "lbl.idx.gz"},
                              {"img.idx.gz", "lbl.idx"}};
    for (int p = 0; p < 3; p++) {
        lam_dataset *ds = NULL;
        CHECK_OK(lam_load_idx(tpath(pairs[p][0]), tpath(pairs[p][1]), &ds));
        if (!ds) continue;
        int64_t shape[4];
        CHECK(lam_dataset_count(ds) == 3, "count %lld", (long long)lam_dataset_count(ds));
        CHECK(lam_dataset_shape(ds, shape) == 3 && shape[0] == 2 && shape[1] == 4 &&
                  shape[2] == 1, "shape %lld %lld %lld", (long long)shape[0],
              (long long)shape[1], (long long)shape[2]);
        CHECK(lam_dataset_dtype(ds) == LAM_U8, "dtype");
        CHECK(memcmp(lam_dataset_x(ds), pix, 24) == 0, "pixels differ (%s)", pairs[p][0]);
        const int32_t *l = lam_dataset_labels(ds);
        CHECK(l[0] == 9 && l[1] == 0 && l[2] == 5, "labels %d %d %d", l[0], l[1], l[2]);
        float x[8];
        int32_t y;
        CHECK_OK(lam_dataset_gather(ds, (int64_t[]){2}, 1, x, &y, NULL));
        CHECK(x[5] == (float)pix[21] * (1.0f / 255.0f) && y == 5, "scaled pixel %g", x[5]);
        lam_dataset_free(ds);
    }
    lam_dataset *ds = NULL;
    CHECK_NOMEM_SWEEP(lam_load_idx(tpath("img.idx.gz"), tpath("lbl.idx"), &ds), ds);

    /* Missing file. */
    CHECK_FAILS(lam_load_idx(tpath("nope-images.idx"), tpath("lbl.idx"), &ds), LAM_ERR_IO,
                "nope-images.idx");
    CHECK(strstr(lam_last_error(), "No such file") != NULL, "%s", lam_last_error());
    CHECK(ds == NULL, "out set on failure");
    CHECK_FAILS(lam_load_idx(tpath("img.idx"), tpath("nope-labels.idx"), &ds), LAM_ERR_IO,
                "nope-labels.idx");
    CHECK_FAILS(lam_load_idx(tmpdir, tpath("lbl.idx"), &ds), LAM_ERR_IO, "folder");

    /* Wrong magic: garbage, and a labels file given as images. */
    write_text("text.idx", "hello, this is not IDX at all");
    CHECK_FAILS(lam_load_idx(tpath("text.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "text.idx: bad magic");
    CHECK(strstr(lam_last_error(), "0x00000803") != NULL, "%s", lam_last_error());
    CHECK_FAILS(lam_load_idx(tpath("lbl.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "lbl.idx: IDX rank 1");
    CHECK_FAILS(lam_load_idx(tpath("img.idx"), tpath("img.idx"), &ds), LAM_ERR_FORMAT,
                "expected rank 1");

    /* Unsupported element type (float32 images). */
    size_t nf = make_idx(tmp, 0x0D, 3, (uint32_t[]){1, 1, 1}, NULL);
    memset(tmp + nf, 0, 4);
    write_bytes("float.idx", tmp, nf + 4);
    CHECK_FAILS(lam_load_idx(tpath("float.idx"), tpath("lbl.idx"), &ds), LAM_ERR_UNSUPPORTED,
                "float.idx: IDX element type 0x0d (float32)");

    /* Truncated: data, header, and a cut gzip stream. */
    write_bytes("short.idx", img, ni - 1);
    CHECK_FAILS(lam_load_idx(tpath("short.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "short.idx: truncated images: expected 24 bytes, found 23");
    write_bytes("shorthdr.idx", img, 9);
    CHECK_FAILS(lam_load_idx(tpath("shorthdr.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "shorthdr.idx: truncated dimensions");
    write_bytes("empty.idx", "", 0);
    CHECK_FAILS(lam_load_idx(tpath("empty.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "empty.idx: truncated header");
    {
        /* A gzip stream of incompressible data, cut in the middle. */
        unsigned char big[4096];
        uint32_t r = 12345;
        for (int i = 0; i < 4096; i++) big[i] = (unsigned char)((r = r * 1103515245 + 12345) >> 16);
        size_t nb = make_idx(tmp, 0x08, 3, (uint32_t[]){1, 64, 64}, NULL);
        unsigned char *whole = malloc(nb + 4096);
        memcpy(whole, tmp, nb);
        memcpy(whole + nb, big, 4096);
        write_gz("cut.idx.gz", whole, nb + 4096);
        free(whole);
        int64_t gsz = file_size(tpath("cut.idx.gz"));
        unsigned char *gz = malloc((size_t)gsz);
        FILE *f = fopen(tpath("cut.idx.gz"), "rb");
        CHECK(f && fread(gz, 1, (size_t)gsz, f) == (size_t)gsz, "read back gz");
        if (f) fclose(f);
        write_bytes("cut.idx.gz", gz, (size_t)gsz / 2);
        free(gz);
        nb = make_idx(tmp, 0x08, 1, (uint32_t[]){1}, (unsigned char[]){3});
        write_bytes("lbl1.idx", tmp, nb);
        CHECK_FAILS(lam_load_idx(tpath("cut.idx.gz"), tpath("lbl1.idx"), &ds), LAM_ERR_FORMAT,
                    "cut.idx.gz: truncated images");
    }

    /* Zero and absurd dimensions. */
    nf = make_idx(tmp, 0x08, 3, (uint32_t[]){3, 0, 4}, NULL);
    write_bytes("zero.idx", tmp, nf);
    CHECK_FAILS(lam_load_idx(tpath("zero.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "zero.idx: IDX dimension 1 is 0");
    nf = make_idx(tmp, 0x08, 3, (uint32_t[]){0xFFFFFFFFu, 0xFFFFFFFFu, 0xFFFFFFFFu}, NULL);
    write_bytes("huge.idx", tmp, nf);
    CHECK_FAILS(lam_load_idx(tpath("huge.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "huge.idx: IDX dimensions claim more than");

    /* A tiny file whose header claims 10 GB: truncated, without allocating 10 GB. */
    nf = make_idx(tmp, 0x08, 3, (uint32_t[]){3, 2, 0x63000004u}, NULL);
    memset(tmp + nf, 0, 8);
    write_bytes("claims.idx", tmp, nf + 8);
    CHECK_FAILS(lam_load_idx(tpath("claims.idx"), tpath("lbl.idx"), &ds), LAM_ERR_FORMAT,
                "claims.idx: truncated images: expected 9965666328 bytes, found 8");

    /* Count mismatch. */
    unsigned char lab4[4] = {1, 2, 3, 4};
    nf = make_idx(tmp, 0x08, 1, (uint32_t[]){4}, lab4);
    write_bytes("lbl4.idx", tmp, nf);
    CHECK_FAILS(lam_load_idx(tpath("img.idx"), tpath("lbl4.idx"), &ds), LAM_ERR_FORMAT,
                "holds 3 images but");
    CHECK(strstr(lam_last_error(), "lbl4.idx holds 4 labels") != NULL, "%s", lam_last_error());

    /* Trailing bytes are rejected. */
    memcpy(tmp, lbl, nl);
    tmp[nl] = 7;
    write_bytes("trail.idx", tmp, nl + 1);
    CHECK_FAILS(lam_load_idx(tpath("img.idx"), tpath("trail.idx"), &ds), LAM_ERR_FORMAT,
                "trail.idx: unexpected bytes after");
    CHECK(ds == NULL, "out stays NULL");
}

static void test_fashion_mnist(void)
{
    /* A synthetic t10k pair, plain (not .gz), to exercise the fallback. */
    mkdir(tpath("fm"), 0700);
    unsigned char pix[2 * 28 * 28], img[2 * 28 * 28 + 16], lbl[16];
    for (int i = 0; i < (int)sizeof pix; i++) pix[i] = (unsigned char)i;
    size_t ni = make_idx(img, 0x08, 3, (uint32_t[]){2, 28, 28}, pix);
    size_t nl = make_idx(lbl, 0x08, 1, (uint32_t[]){2}, (unsigned char[]){9, 2});
    write_bytes("fm/t10k-images-idx3-ubyte", img, ni);
    write_bytes("fm/t10k-labels-idx1-ubyte", lbl, nl);

    lam_dataset *ds = NULL;
    CHECK_OK(lam_load_fashion_mnist(tpath("fm"), false, &ds));
    if (ds) {
        CHECK(lam_dataset_count(ds) == 2 && lam_dataset_labels(ds)[0] == 9, "synthetic set");
        lam_dataset_free(ds);
        ds = NULL;
    }
    /* The train pair is missing: the message names it and the install command. */
    CHECK_FAILS(lam_load_fashion_mnist(tpath("fm"), true, &ds), LAM_ERR_IO,
                "train-images-idx3-ubyte");
    CHECK(strstr(lam_last_error(), "sudo apt-get install dataset-fashion-mnist") != NULL,
          "%s", lam_last_error());
    CHECK_FAILS(lam_load_fashion_mnist(tpath("no-such-folder"), false, &ds), LAM_ERR_IO,
                "Fashion-MNIST not found in");
    CHECK(strstr(lam_last_error(), "no-such-folder") && strstr(lam_last_error(), "LAMINA_DATA"),
          "%s", lam_last_error());
    /* A broken file inside is reported with the folder as context. */
    write_bytes("fm/t10k-labels-idx1-ubyte.gz", "junk", 4);
    CHECK_FAILS(lam_load_fashion_mnist(tpath("fm"), false, &ds), LAM_ERR_FORMAT,
                "t10k-labels-idx1-ubyte.gz: bad magic");
    unlink(tpath("fm/t10k-labels-idx1-ubyte.gz"));

    /* A folder without the files names it and where it came from. The library
     * reads no environment: LAMINA_DATA set to another folder changes nothing. */
    CHECK_FAILS(lam_load_fashion_mnist(tpath("empty-data"), false, &ds), LAM_ERR_IO,
                "empty-data");
    CHECK(strstr(lam_last_error(), "the dir argument") != NULL, "%s", lam_last_error());
    const char *old = getenv("LAMINA_DATA");
    char *saved = old ? strdup(old) : NULL;
    setenv("LAMINA_DATA", tpath("fm"), 1);
    lam_status st = lam_load_fashion_mnist(NULL, false, &ds);
    CHECK(st == LAM_OK ? ds && lam_dataset_count(ds) == 10000
                       : strstr(lam_last_error(), "/usr/share/datasets/fashion-mnist") != NULL,
          "dir NULL must mean the Debian folder, whatever LAMINA_DATA says: %s",
          st == LAM_OK ? "loaded another data set" : lam_last_error());
    lam_dataset_free(ds);
    ds = NULL;
    if (saved) setenv("LAMINA_DATA", saved, 1);
    else unsetenv("LAMINA_DATA");
    free(saved);
    /* The real data set is checked by test_fashion_mnist, which ctest
     * reports as skipped where it is not installed. */
}

/* ------------------------------------------------------------------ CSV */

static void test_csv(void)
{
    lam_dataset *ds = NULL;
    lam_csv_options o = lam_csv_defaults();
    CHECK(o.header && !o.label_column && o.label_index == 0 && o.delimiter == ',' &&
              o.scale == 1.0f, "defaults");

    /* Label by name, CRLF, quoted numbers, padding, blank lines at the end. */
    write_text("good.csv", "a,label, \"b\"\r\n1.5,2,\"3\"\r\n-4, 0 ,5e-1\r\n\r\n\r\n");
    o.label_column = "label";
    CHECK_OK(lam_load_csv(tpath("good.csv"), &o, &ds));
    if (ds) {
        int64_t shape[4];
        const float *x = lam_dataset_x(ds);
        const int32_t *l = lam_dataset_labels(ds);
        CHECK(lam_dataset_count(ds) == 2 && lam_dataset_shape(ds, shape) == 1 && shape[0] == 2,
              "csv size");
        CHECK(lam_dataset_dtype(ds) == LAM_F32, "dtype");
        CHECK(x[0] == 1.5f && x[1] == 3.0f && x[2] == -4.0f && x[3] == 0.5f,
              "values %g %g %g %g", x[0], x[1], x[2], x[3]);
        CHECK(l[0] == 2 && l[1] == 0, "labels %d %d", l[0], l[1]);
        lam_dataset_free(ds);
        ds = NULL;
    }
    CHECK_NOMEM_SWEEP(lam_load_csv(tpath("good.csv"), &o, &ds), ds);

    /* No header, last column, ';', scale, no final newline, label "3.0". */
    write_text("semi.csv", "\xEF\xBB\xBF" "1;2;3.0\n4;5;6");
    o = lam_csv_defaults();
    o.header = false;
    o.label_index = -1;
    o.delimiter = ';';
    o.scale = 0.5f;
    CHECK_OK(lam_load_csv(tpath("semi.csv"), &o, &ds));
    if (ds) {
        const float *x = lam_dataset_x(ds);
        const int32_t *l = lam_dataset_labels(ds);
        CHECK(lam_dataset_count(ds) == 2 && lam_dataset_sample_size(ds) == 2, "size");
        CHECK(x[0] == 0.5f && x[1] == 1.0f && x[2] == 2.0f && x[3] == 2.5f, "scaled values");
        CHECK(l[0] == 3 && l[1] == 6, "labels %d %d", l[0], l[1]);
        lam_dataset_free(ds);
        ds = NULL;
    }
    /* Defaults (NULL options): header, label in column 0. */
    write_text("first.csv", "y,f1,f2\n1,0.25,7\n0,8,-1\n");
    CHECK_OK(lam_load_csv(tpath("first.csv"), NULL, &ds));
    if (ds) {
        const float *x = lam_dataset_x(ds);
        CHECK(x[0] == 0.25f && x[3] == -1.0f && lam_dataset_labels(ds)[0] == 1, "first col");
        lam_dataset_free(ds);
        ds = NULL;
    }

    /* Broken files. */
    CHECK_FAILS(lam_load_csv(tpath("missing.csv"), NULL, &ds), LAM_ERR_IO, "missing.csv");
    write_text("ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    CHECK_FAILS(lam_load_csv(tpath("ragged.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "ragged.csv:3: ragged row: 2 fields, expected 3");
    write_text("cell.csv", "y,f1,f2\n1,2,3\n0,4,abc\n");
    CHECK_FAILS(lam_load_csv(tpath("cell.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "cell.csv:3: column 3 (\"f2\"): \"abc\" is not a finite number");
    write_text("nan.csv", "y,f1\n1,nan\n");
    CHECK_FAILS(lam_load_csv(tpath("nan.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "nan.csv:2: column 2");
    write_text("emptycell.csv", "1,,3\n");
    o = lam_csv_defaults();
    o.header = false;
    CHECK_FAILS(lam_load_csv(tpath("emptycell.csv"), &o, &ds), LAM_ERR_FORMAT,
                "emptycell.csv:1: column 2: \"\" is not a finite number");
    write_text("flabel.csv", "y,f\n1.5,2\n");
    CHECK_FAILS(lam_load_csv(tpath("flabel.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "flabel.csv:2: column 1 (\"y\"): label \"1.5\" is not an integer");
    write_text("neglabel.csv", "y,f\n-1,2\n");
    CHECK_FAILS(lam_load_csv(tpath("neglabel.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "neglabel.csv:2: column 1");
    write_text("empty.csv", "");
    CHECK_FAILS(lam_load_csv(tpath("empty.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "empty.csv: empty CSV file");
    write_text("blank.csv", "\n\r\n  \n");
    CHECK_FAILS(lam_load_csv(tpath("blank.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "blank.csv: empty");
    write_text("onlyhdr.csv", "a,b\n");
    CHECK_FAILS(lam_load_csv(tpath("onlyhdr.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "onlyhdr.csv: no data rows");
    o = lam_csv_defaults();
    o.label_column = "target";
    CHECK_FAILS(lam_load_csv(tpath("first.csv"), &o, &ds), LAM_ERR_ARG,
                "first.csv:1: no column named \"target\"");
    CHECK(strstr(lam_last_error(), "\"f1\"") != NULL, "%s", lam_last_error());
    o.header = false;
    CHECK_FAILS(lam_load_csv(tpath("first.csv"), &o, &ds), LAM_ERR_ARG, "no header");
    o = lam_csv_defaults();
    o.label_index = 5;
    CHECK_FAILS(lam_load_csv(tpath("first.csv"), &o, &ds), LAM_ERR_ARG,
                "first.csv:1: label index 5 outside the 3 columns");
    write_text("quote.csv", "y,f\n1,\"2\n");
    CHECK_FAILS(lam_load_csv(tpath("quote.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "quote.csv:2: column 2: unterminated quoted field");
    write_text("onecol.csv", "y\n1\n");
    CHECK_FAILS(lam_load_csv(tpath("onecol.csv"), NULL, &ds), LAM_ERR_FORMAT,
                "onecol.csv:1: 1 column");
    CHECK(ds == NULL, "out stays NULL");
}

/* ------------------------------------------------------------------ npy */

/* Writes a .npy file with the given dict text (padded as NumPy does). */
static void write_npy(const char *name, int major, const char *dict, const void *data,
                      size_t n)
{
    size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64, hlen = total - pre;
    unsigned char *buf = calloc(1, total + n + 1);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    buf[8] = (unsigned char)hlen;
    buf[9] = (unsigned char)(hlen >> 8);
    if (major > 1) buf[10] = buf[11] = 0;
    memcpy(buf + pre, dict, dl);
    memset(buf + pre + dl, ' ', hlen - dl - 1);
    buf[total - 1] = '\n';
    if (n) memcpy(buf + total, data, n);
    write_bytes(name, buf, total + n);
    free(buf);
}

static void test_npy(void)
{
    lam_dataset *ds = NULL;
    float xv[12];
    for (int i = 0; i < 12; i++) xv[i] = (float)i * 0.5f - 1.0f;
    CHECK_OK(lam_npy_write_f32(tpath("x.npy"), 3, (int64_t[]){3, 2, 2}, xv));
    /* The writer's header: NumPy's layout, data on a 64-byte boundary. */
    CHECK(file_size(tpath("x.npy")) % 64 == 48, "x.npy is %lld bytes",
          (long long)file_size(tpath("x.npy")));
    int64_t y8[3] = {2, 0, 1}; /* little-endian host assumed by the fixture */
    write_npy("y.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", y8,
              sizeof y8);
    CHECK_OK(lam_load_npy(tpath("x.npy"), tpath("y.npy"), &ds));
    if (ds) {
        int64_t shape[4];
        CHECK(lam_dataset_count(ds) == 3 && lam_dataset_shape(ds, shape) == 2 &&
                  shape[0] == 2 && shape[1] == 2, "npy shape");
        CHECK(lam_dataset_dtype(ds) == LAM_F32, "dtype");
        CHECK(memcmp(lam_dataset_x(ds), xv, sizeof xv) == 0, "npy values differ");
        const int32_t *l = lam_dataset_labels(ds);
        CHECK(l[0] == 2 && l[1] == 0 && l[2] == 1, "labels");
        lam_dataset_free(ds);
        ds = NULL;
    }
    CHECK_NOMEM_SWEEP(lam_load_npy(tpath("x.npy"), tpath("y.npy"), &ds), ds);

    /* Rank-1 writer header ends in "(3,)". */
    CHECK_OK(lam_npy_write_f32(tpath("v.npy"), 1, (int64_t[]){3}, xv));
    {
        char head[80] = {0};
        FILE *f = fopen(tpath("v.npy"), "rb");
        if (f) {
            CHECK(fread(head, 1, 79, f) == 79, "read v.npy");
            fclose(f);
        }
        CHECK(strstr(head + 10, "'shape': (3,)") != NULL, "header %s", head + 10);
    }
    CHECK_FAILS(lam_load_npy(tpath("v.npy"), NULL, &ds), LAM_ERR_SHAPE,
                "v.npy: x has shape (3,), expected 2 to 5 axes");

    /* float64 x (v2.0 header), no y. */
    double xd[6] = {0.25, -1, 3.5, 1e-3, 7, -8.125};
    write_npy("xd.npy", 2, "{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (2, 3)}",
              xd, sizeof xd);
    CHECK_OK(lam_load_npy(tpath("xd.npy"), NULL, &ds));
    if (ds) {
        const float *x = lam_dataset_x(ds);
        int ok = 1;
        for (int i = 0; i < 6; i++) ok &= x[i] == (float)xd[i];
        CHECK(ok && lam_dataset_sample_size(ds) == 3, "f8 values");
        CHECK(lam_dataset_labels(ds) == NULL, "no labels without y");
        lam_dataset_free(ds);
        ds = NULL;
    }

    /* uint8 x of rank 4 (v3.0), '|u1' y of shape (n, 1). */
    unsigned char xu[2 * 2 * 3 * 1] = {0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100};
    write_npy("xu.npy", 3, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2, 3, 1), }",
              xu, sizeof xu);
    write_npy("yu.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1), }",
              (unsigned char[]){4, 7}, 2);
    CHECK_OK(lam_load_npy(tpath("xu.npy"), tpath("yu.npy"), &ds));
    if (ds) {
        int64_t shape[4];
        CHECK(lam_dataset_dtype(ds) == LAM_U8, "u8 stays u8");
        CHECK(lam_dataset_shape(ds, shape) == 3 && shape[0] == 2 && shape[1] == 3 &&
                  shape[2] == 1, "u8 shape");
        CHECK(memcmp(lam_dataset_x(ds), xu, sizeof xu) == 0, "u8 values");
        float g[6];
        CHECK_OK(lam_dataset_gather(ds, NULL, 1, g, NULL, NULL));
        CHECK(g[1] == 1.0f && g[2] == 10.0f / 255.0f, "u8 scale %g", g[2]);
        CHECK(lam_dataset_labels(ds)[1] == 7, "u1 labels");
        lam_dataset_free(ds);
        ds = NULL;
    }
    int32_t y4[3] = {5, 6, 7};
    write_npy("y4.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", y4,
              sizeof y4);
    CHECK_OK(lam_load_npy(tpath("x.npy"), tpath("y4.npy"), &ds));
    if (ds) {
        CHECK(lam_dataset_labels(ds)[2] == 7, "i4 labels");
        lam_dataset_free(ds);
        ds = NULL;
    }

    /* Broken files. */
    CHECK_FAILS(lam_load_npy(tpath("none.npy"), NULL, &ds), LAM_ERR_IO, "none.npy");
    CHECK_FAILS(lam_load_npy(tpath("x.npy"), tpath("ynone.npy"), &ds), LAM_ERR_IO,
                "ynone.npy");
    write_text("magic.npy", "PK\x03\x04 this is a zip, not npy");
    CHECK_FAILS(lam_load_npy(tpath("magic.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "magic.npy: not a .npy file");
    write_npy("fort.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
              xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("fort.npy"), NULL, &ds), LAM_ERR_UNSUPPORTED,
                "fort.npy: .npy array is in Fortran order");
    write_npy("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }",
              xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("be.npy"), NULL, &ds), LAM_ERR_UNSUPPORTED,
                "be.npy: big-endian");
    write_npy("c8.npy", 1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 1), }",
              xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("c8.npy"), NULL, &ds), LAM_ERR_UNSUPPORTED,
                "c8.npy: .npy dtype '<c8' is not supported");
    write_npy("i4x.npy", 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }",
              xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("i4x.npy"), NULL, &ds), LAM_ERR_UNSUPPORTED,
                "i4x.npy: x dtype '<i4'");
    write_npy("struct.npy", 1,
              "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }", xv, 8);
    CHECK_FAILS(lam_load_npy(tpath("struct.npy"), NULL, &ds), LAM_ERR_UNSUPPORTED,
                "struct.npy: structured");
    write_npy("hdr.npy", 1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2), }",
              xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("hdr.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "hdr.npy: bad .npy header: expected True or False");
    write_npy("nokey.npy", 1, "{'descr': '<f4', 'shape': (2, 2), }", xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("nokey.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "nokey.npy: bad .npy header: missing key 'fortran_order'");
    write_npy("extra.npy", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), 'x': 1}", xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("extra.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "extra.npy: bad .npy header: unexpected or repeated key 'x'");
    write_npy("shape.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -2), }",
              xv, 16);
    CHECK_FAILS(lam_load_npy(tpath("shape.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "shape.npy: bad .npy header: expected a dimension");
    {
        unsigned char cut[9] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 200};
        write_bytes("cuthdr.npy", cut, 9);
        CHECK_FAILS(lam_load_npy(tpath("cuthdr.npy"), NULL, &ds), LAM_ERR_FORMAT,
                    "cuthdr.npy: truncated .npy header");
        unsigned char v9[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 9, 0, 16, 0};
        write_bytes("v9.npy", v9, 10);
        CHECK_FAILS(lam_load_npy(tpath("v9.npy"), NULL, &ds), LAM_ERR_UNSUPPORTED,
                    "v9.npy: .npy format version 9.0");
    }
    write_npy("trunc.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }",
              xv, 47);
    CHECK_FAILS(lam_load_npy(tpath("trunc.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "trunc.npy: truncated .npy data");
    CHECK(strstr(lam_last_error(), "needs 48 bytes, found 47") != NULL, "%s", lam_last_error());
    write_npy("ytrunc.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
              y8, 20);
    CHECK_FAILS(lam_load_npy(tpath("x.npy"), tpath("ytrunc.npy"), &ds), LAM_ERR_FORMAT,
                "ytrunc.npy: truncated");
    write_npy("claims.npy", 1,
              "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 100000), }", xv, 8);
    CHECK_FAILS(lam_load_npy(tpath("claims.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "claims.npy: truncated .npy data");
    write_npy("long.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
              xv, 20);
    CHECK_FAILS(lam_load_npy(tpath("long.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "long.npy: unexpected bytes after");
    write_npy("y2.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", y8,
              16);
    CHECK_FAILS(lam_load_npy(tpath("x.npy"), tpath("y2.npy"), &ds), LAM_ERR_SHAPE,
                "has 3 samples (shape (3, 2, 2)) but");
    CHECK(strstr(lam_last_error(), "y2.npy has 2 labels") != NULL, "%s", lam_last_error());
    write_npy("yf.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", xv,
              12);
    CHECK_FAILS(lam_load_npy(tpath("x.npy"), tpath("yf.npy"), &ds), LAM_ERR_UNSUPPORTED,
                "yf.npy: y dtype '<f4'");
    int64_t yneg[3] = {0, -3, 1};
    write_npy("yneg.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
              yneg, sizeof yneg);
    CHECK_FAILS(lam_load_npy(tpath("x.npy"), tpath("yneg.npy"), &ds), LAM_ERR_FORMAT,
                "yneg.npy: label -3 at index 1");
    int64_t y6[6] = {0, 1, 2, 3, 4, 5};
    write_npy("y23.npy", 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3, 2), }",
              y6, sizeof y6);
    CHECK_FAILS(lam_load_npy(tpath("x.npy"), tpath("y23.npy"), &ds), LAM_ERR_SHAPE,
                "y23.npy: y has shape (3, 2)");
    float bad[4] = {1, 2, NAN, 4};
    write_npy("xnan.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }",
              bad, sizeof bad);
    CHECK_FAILS(lam_load_npy(tpath("xnan.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "xnan.npy: element 2 is nan");
    write_npy("x0.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }", xv,
              0);
    CHECK_FAILS(lam_load_npy(tpath("x0.npy"), NULL, &ds), LAM_ERR_FORMAT,
                "x0.npy: x has shape (0, 2)");
    CHECK_FAILS(lam_npy_write_f32(tpath("w.npy"), 0, (int64_t[]){1}, xv), LAM_ERR_ARG,
                "w.npy");
    CHECK(ds == NULL, "out stays NULL");
}

/* ------------------------------------------------------------------ libsvm */

static void test_libsvm(void)
{
    lam_dataset *ds = NULL;
    /* -1/+1 labels map to 0/1; comments, blank lines, CRLF, label-only row. */
    write_text("pm.svm", "# a comment line\n+1 1:0.5 3:-2 # trailing comment\r\n"
                         "\n-1 2:1.25\n+1\n");
    CHECK_OK(lam_load_libsvm(tpath("pm.svm"), 0, &ds));
    if (ds) {
        const float *x = lam_dataset_x(ds);
        const int32_t *l = lam_dataset_labels(ds);
        CHECK(lam_dataset_count(ds) == 3 && lam_dataset_sample_size(ds) == 3, "svm size");
        const float want[9] = {0.5f, 0, -2, 0, 1.25f, 0, 0, 0, 0};
        CHECK(memcmp(x, want, sizeof want) == 0, "svm values");
        CHECK(l[0] == 1 && l[1] == 0 && l[2] == 1, "mapped labels %d %d %d", l[0], l[1], l[2]);
        lam_dataset_free(ds);
        ds = NULL;
    }
    CHECK_NOMEM_SWEEP(lam_load_libsvm(tpath("pm.svm"), 0, &ds), ds);
    /* Labels -1/0/+1 -> 0/1/2. */
    write_text("three.svm", "1 1:1\n-1 1:2\n0 1:3\n");
    CHECK_OK(lam_load_libsvm(tpath("three.svm"), 0, &ds));
    if (ds) {
        const int32_t *l = lam_dataset_labels(ds);
        CHECK(l[0] == 2 && l[1] == 0 && l[2] == 1, "three labels");
        lam_dataset_free(ds);
        ds = NULL;
    }
    /* Non-negative labels stay; n_features given; qid ignored. */
    write_text("cls.svm", "2 qid:1 1:1\n0 qid:1 4:2.0\n");
    CHECK_OK(lam_load_libsvm(tpath("cls.svm"), 6, &ds));
    if (ds) {
        const float *x = lam_dataset_x(ds);
        const int32_t *l = lam_dataset_labels(ds);
        CHECK(lam_dataset_sample_size(ds) == 6 && x[0] == 1 && x[6 + 3] == 2, "cls values");
        CHECK(l[0] == 2 && l[1] == 0, "kept labels");
        lam_dataset_free(ds);
        ds = NULL;
    }

    CHECK_FAILS(lam_load_libsvm(tpath("nofile.svm"), 0, &ds), LAM_ERR_IO, "nofile.svm");
    /* 60 short lines whose one index is in the millions would expand to
     * 60 x 4555555 floats (1.1 GB): refused before any allocation. */
    {
        char big[60 * 16 + 1] = "";
        for (int i = 0; i < 60; i++) strcat(big, "1 4555555:1\n");
        write_text("expands.svm", big);
        CHECK_FAILS(lam_load_libsvm(tpath("expands.svm"), 0, &ds), LAM_ERR_UNSUPPORTED,
                    "60 samples x 4555555 features is too large for a dense data set");
        CHECK(ds == NULL, "no data set on refusal");
    }
    write_text("order.svm", "1 1:1\n1 3:1 2:1\n");
    CHECK_FAILS(lam_load_libsvm(tpath("order.svm"), 0, &ds), LAM_ERR_FORMAT,
                "order.svm:2: non-ascending index in token \"2:1\"");
    write_text("zero.svm", "1 0:1\n");
    CHECK_FAILS(lam_load_libsvm(tpath("zero.svm"), 0, &ds), LAM_ERR_FORMAT,
                "zero.svm:1: index 0 in token \"0:1\"");
    write_text("num.svm", "1 1:1\n\n0 1:abc\n");
    CHECK_FAILS(lam_load_libsvm(tpath("num.svm"), 0, &ds), LAM_ERR_FORMAT,
                "num.svm:3: bad number in token \"1:abc\"");
    write_text("empty.svm", "1 1:\n");
    CHECK_FAILS(lam_load_libsvm(tpath("empty.svm"), 0, &ds), LAM_ERR_FORMAT,
                "empty.svm:1: bad number in token \"1:\"");
    write_text("big.svm", "1 1:1 3:1\n");
    CHECK_FAILS(lam_load_libsvm(tpath("big.svm"), 2, &ds), LAM_ERR_FORMAT,
                "big.svm:1: index 3 in token \"3:1\" is greater than n_features 2");
    write_text("tok.svm", "1 1:1 foo\n");
    CHECK_FAILS(lam_load_libsvm(tpath("tok.svm"), 0, &ds), LAM_ERR_FORMAT,
                "tok.svm:1: bad token \"foo\"");
    write_text("idx.svm", "1 x:1\n");
    CHECK_FAILS(lam_load_libsvm(tpath("idx.svm"), 0, &ds), LAM_ERR_FORMAT,
                "idx.svm:1: bad index in token \"x:1\"");
    write_text("lab.svm", "yes 1:1\n");
    CHECK_FAILS(lam_load_libsvm(tpath("lab.svm"), 0, &ds), LAM_ERR_FORMAT,
                "lab.svm:1: bad label \"yes\"");
    write_text("real.svm", "0.5 1:1\n");
    CHECK_FAILS(lam_load_libsvm(tpath("real.svm"), 0, &ds), LAM_ERR_FORMAT,
                "real.svm:1: label \"0.5\" is not an integer");
    write_text("nothing.svm", "# only a comment\n\n");
    CHECK_FAILS(lam_load_libsvm(tpath("nothing.svm"), 0, &ds), LAM_ERR_FORMAT,
                "nothing.svm: no samples");
    write_text("nofeat.svm", "1\n0\n");
    CHECK_FAILS(lam_load_libsvm(tpath("nofeat.svm"), 0, &ds), LAM_ERR_FORMAT,
                "nofeat.svm: no features");
    CHECK_FAILS(lam_load_libsvm(tpath("pm.svm"), -1, &ds), LAM_ERR_ARG, "pm.svm");
    CHECK(ds == NULL, "out stays NULL");
}

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char p[1024];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(p);
        else unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/lamina_io_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    test_idx();
    test_fashion_mnist();
    test_csv();
    test_npy();
    test_libsvm();
    remove_tree(tmpdir);
    return test_summary("test_io_readers");
}
