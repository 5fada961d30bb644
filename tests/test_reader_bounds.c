/* test_reader_bounds.c - every size check of every reader in src/io, on both
 * sides of its limit: n = limit - 1 and limit pass that check, limit + 1 is
 * refused with its message. Where the value at the limit cannot be accepted
 * for another reason (a header that claims 16 GiB in a 30-byte file), the
 * test asserts that it is refused by the *next* check, with that check's
 * message: proof that the bound under test let it through. A loosened bound
 * (`n > size` for `n > size - 8`) or a tightened one fails here, where a
 * far-off value (2^47) would not notice.
 *
 * Bounds not tested on their accepting side, and why:
 *   model_file.c MAX_HEADER (256 MiB): needs a file of that size;
 *   npy.c, idx.c totals at 2^42 / 2^34 bytes are tested through the
 *   truncation check that follows (no data is allocated for them). */
#include "lamina.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmpdir[256];

static const char *tpath(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ % 4];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static void write_file(const char *name, const void *a, size_t na, const void *b, size_t nb)
{
    FILE *f = fopen(tpath(name), "wb");
    if (!f) {
        fprintf(stderr, "cannot write %s\n", tpath(name));
        exit(2);
    }
    if (na) fwrite(a, 1, na, f);
    if (nb) fwrite(b, 1, nb, f);
    fclose(f);
}

/* Loads path as a model; expects LAM_OK (needle NULL) or a failure whose
 * message holds needle and does not hold avoid (avoid may be NULL). */
static void expect_model(const char *what, const char *path, const char *needle,
                         const char *avoid)
{
    lam_model *m = NULL;
    lam_status st = lam_model_load(path, &m);
    if (!needle) {
        CHECK(st == LAM_OK, "%s: refused: %s", what, lam_last_error());
    } else {
        CHECK(st != LAM_OK && m == NULL, "%s: loaded, expected a refusal with \"%s\"", what, needle);
        CHECK(strstr(lam_last_error(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              lam_last_error(), needle);
        if (avoid)
            CHECK(strstr(lam_last_error(), avoid) == NULL, "%s: message \"%s\" is the check "
                  "under test (\"%s\"), which should have let it through", what, lam_last_error(),
                  avoid);
    }
    lam_model_free(m);
}

/* ------------------------------------------------------- safetensors (model_file.c) */

/* A saved model file split into its parts: header text (n bytes) and data. */
typedef struct {
    unsigned char *buf;
    size_t size;
    uint64_t n;
    char *header; /* NUL-terminated copy */
} st_file;

static bool st_read(const char *path, st_file *f)
{
    memset(f, 0, sizeof *f);
    f->buf = test_read_file(path, &f->size);
    if (!f->buf || f->size < 8) return false;
    for (int i = 0; i < 8; i++) f->n |= (uint64_t)f->buf[i] << (8 * i);
    if (f->n > f->size - 8) return false;
    f->header = calloc(1, f->n + 1);
    memcpy(f->header, f->buf + 8, f->n);
    return true;
}

static void put_u64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

/* Writes name: the 8-byte size field n_field, then the header text, then
 * data. */
static void st_write(const char *name, uint64_t n_field, const char *header, size_t header_len,
                     const unsigned char *data, size_t data_len)
{
    unsigned char *b = malloc(8 + header_len + data_len + 1);
    put_u64(b, n_field);
    if (header_len) memcpy(b + 8, header, header_len);
    if (data_len) memcpy(b + 8 + header_len, data, data_len);
    write_file(name, b, 8 + header_len + data_len, NULL, 0);
    free(b);
}

/* The header with one substring replaced (must occur), length kept by
 * padding with spaces or growing. */
static char *replaced(const char *h, const char *from, const char *to)
{
    const char *at = strstr(h, from);
    CHECK(at != NULL, "header lacks \"%s\"", from);
    if (!at) return strdup(h);
    size_t a = (size_t)(at - h), nf = strlen(from), nt = strlen(to), nh = strlen(h);
    char *r = malloc(nh - nf + nt + 1);
    memcpy(r, h, a);
    memcpy(r + a, to, nt);
    memcpy(r + a + nt, at + nf, nh - a - nf + 1);
    return r;
}

static void check_safetensors(void)
{
    /* A model without weights: the header is the whole file after the
     * 8-byte size, so the size bound's limit (size - 8) is a valid file. */
    lam_model *m = lam_sequential("bounds");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){2}));
    CHECK_OK(lam_model_add_activation(m, LAM_ACT_RELU));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_save(m, tpath("empty.safetensors")));
    lam_model_free(m);
    st_file e;
    CHECK(st_read(tpath("empty.safetensors"), &e), "cannot read the saved empty model");
    if (!e.header) return;
    CHECK(e.n == e.size - 8, "a weightless model's header fills the file: n %llu, size %zu",
          (unsigned long long)e.n, e.size);
    const char *big = "is larger than the file";
    /* n = limit = size - 8: loads. */
    st_write("st_n_limit", e.size - 8, e.header, e.n, NULL, 0);
    expect_model("n = size - 8", tpath("st_n_limit"), NULL, NULL);
    /* n = limit + 1: would read one byte past the buffer. */
    st_write("st_n_over", e.size - 7, e.header, e.n, NULL, 0);
    expect_model("n = size - 7", tpath("st_n_over"), big, NULL);
    /* n = limit - 1: passes the bound; the header's last byte becomes data. */
    st_write("st_n_under", e.size - 9, e.header, e.n, NULL, 0);
    expect_model("n = size - 9", tpath("st_n_under"), "1 data bytes but no tensors", big);
    /* The smallest header: n = 1 is implausible, n = 2 ("{}") is JSON but no model. */
    st_write("st_n1", 1, "{}", 2, NULL, 0);
    expect_model("n = 1", tpath("st_n1"), "header size 1 is implausible", NULL);
    st_write("st_n2", 2, "{}", 2, NULL, 0);
    expect_model("n = 2", tpath("st_n2"), "no __metadata__", "implausible");
    /* Shorter than the size field itself: 7 bytes refused, 8 bytes (n = 0) reach the next check. */
    st_write("st_7", 0, NULL, 0, NULL, 0);
    {
        unsigned char seven[7] = {0};
        write_file("st_7", seven, 7, NULL, 0);
    }
    expect_model("7-byte file", tpath("st_7"), "truncated: 7 bytes", NULL);
    st_write("st_8", 0, NULL, 0, NULL, 0);
    expect_model("8-byte file", tpath("st_8"), "header size 0 is implausible", "truncated: 8");
    free(e.buf), free(e.header);

    /* A model with weights: dense/kernel [2, 1] at [0, 8], dense/bias [1] at [8, 12]. */
    m = lam_sequential("bounds");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){2}));
    CHECK_OK(lam_model_add_dense(m, 1, LAM_ACT_LINEAR));
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_MSE));
    CHECK_OK(lam_model_save(m, tpath("dense.safetensors")));
    lam_model_free(m);
    st_file d;
    CHECK(st_read(tpath("dense.safetensors"), &d), "cannot read the saved dense model");
    if (!d.header) return;
    const unsigned char *data = d.buf + 8 + d.n;
    const size_t dlen = d.size - 8 - d.n;
    CHECK(dlen == 12, "dense model: %zu data bytes, expected 12", dlen);
    CHECK(strstr(d.header, "\"dense/bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}") &&
              strstr(d.header, "\"dense/kernel\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[0,8]}"),
          "the saved header's tensor entries changed form: %s", d.header);
    /* The size bound with data after the header. */
    st_write("std_over", d.size - 7, d.header, d.n, data, dlen);
    expect_model("dense: n = size - 7", tpath("std_over"), big, NULL);
    st_write("std_limit", d.size - 8, d.header, d.n, data, dlen);
    expect_model("dense: n = size - 8 (the data read as header)", tpath("std_limit"),
                 "out of range: the data section has 0 bytes", big);
    /* A tensor's end against the data size: 12 = limit loads (above),
     * 11 bytes of data (end = limit + 1) is out of range, 13 leaves one uncovered. */
    st_write("std_data11", d.n, d.header, d.n, data, dlen - 1);
    expect_model("dense: data 11 bytes", tpath("std_data11"),
                 "data_offsets [8, 12] out of range: the data section has 11 bytes", NULL);
    unsigned char data13[13];
    memcpy(data13, data, 12);
    data13[12] = 0;
    st_write("std_data13", d.n, d.header, d.n, data13, 13);
    expect_model("dense: data 13 bytes", tpath("std_data13"), "the tensors cover 12 of the 13 data bytes",
                 NULL);
    st_write("std_ok", d.n, d.header, d.n, data, dlen);
    expect_model("dense: as saved", tpath("std_ok"), NULL, NULL);
    /* The span must be exactly 4 * count: one byte more or less is refused. */
    struct { const char *from, *to, *needle, *avoid; } edits[] = {
        {"\"data_offsets\":[8,12]", "\"data_offsets\":[8,13]", "data_offsets [8, 13] out of range", NULL},
        {"\"data_offsets\":[8,12]", "\"data_offsets\":[8,11]", "span 3 bytes, but its shape needs 4", NULL},
        {"\"data_offsets\":[8,12]", "\"data_offsets\":[9,12]", "span 3 bytes, but its shape needs 4", NULL},
        {"\"data_offsets\":[8,12]", "\"data_offsets\":[12,8]", "with begin <= end", NULL},
        /* contiguity: the kernel one byte short leaves a gap before the bias */
        {"\"shape\":[2,1],\"data_offsets\":[0,8]", "\"shape\":[1,1],\"data_offsets\":[0,4]",
         "starts at data byte 8, expected 4", NULL},
        /* Shape entries: at most 2^32 each (passes, then the span disagrees),
         * 2^32 + 1 refused; the product guarded against overflow. */
        {"\"shape\":[1]", "\"shape\":[4294967296]", "shape needs 17179869184", "bad shape entry"},
        {"\"shape\":[1]", "\"shape\":[4294967297]", "tensor \"dense/bias\": bad shape entry", NULL},
        {"\"shape\":[1]", "\"shape\":[4294967296,1073741823]", "its shape needs", "bad shape entry"},
        {"\"shape\":[1]", "\"shape\":[4294967296,1073741824]", "tensor \"dense/bias\": bad shape entry", NULL},
        {"\"shape\":[1]", "\"shape\":[-1]", "bad shape entry", NULL},
    };
    /* The span against the shape from above: a 5-byte bias inside 13 data
     * bytes is in range and contiguous, and must still be refused. */
    {
        char *h = replaced(d.header, "\"data_offsets\":[8,12]", "\"data_offsets\":[8,13]");
        st_write("std_span5", strlen(h), h, strlen(h), data13, 13);
        expect_model("dense: bias span 5 bytes in 13", tpath("std_span5"),
                     "span 5 bytes, but its shape needs 4", NULL);
        free(h);
    }
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *h = replaced(d.header, edits[i].from, edits[i].to);
        st_write("std_edit", strlen(h), h, strlen(h), data, dlen);
        char what[160];
        snprintf(what, sizeof what, "dense: %s", edits[i].to);
        expect_model(what, tpath("std_edit"), edits[i].needle, edits[i].avoid);
        free(h);
    }
    free(d.buf), free(d.header);
}

/* ------------------------------------------------------------------ NumPy (npy.c) */

/* A .npy file: format version (1 or 2), header text (padded here to a
 * multiple of 16 with spaces and a newline), then data. */
static void npy_write(const char *name, int version, const char *dict, const void *data,
                      size_t n)
{
    size_t pre = version == 1 ? 10 : 12, len = strlen(dict) + 1;
    size_t total = (pre + len + 15) / 16 * 16, hlen = total - pre;
    unsigned char *b = calloc(1, total + n + 1);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)version;
    b[7] = 0;
    for (size_t i = 0; i < pre - 8; i++) b[8 + i] = (unsigned char)(hlen >> (8 * i));
    memset(b + pre, ' ', hlen);
    memcpy(b + pre, dict, strlen(dict));
    b[total - 1] = '\n';
    if (n) memcpy(b + total, data, n);
    write_file(name, b, total + n, NULL, 0);
    free(b);
}

static void expect_npy(const char *what, const char *x, const char *y, const char *needle,
                       const char *avoid)
{
    lam_dataset *ds = NULL;
    lam_status st = lam_load_npy(tpath(x), y ? tpath(y) : NULL, &ds);
    if (!needle) {
        CHECK(st == LAM_OK, "%s: refused: %s", what, lam_last_error());
    } else {
        CHECK(st != LAM_OK && !ds, "%s: loaded, expected \"%s\"", what, needle);
        CHECK(strstr(lam_last_error(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              lam_last_error(), needle);
        if (avoid)
            CHECK(strstr(lam_last_error(), avoid) == NULL, "%s: \"%s\" is the check under test",
                  what, lam_last_error());
    }
    lam_dataset_free(ds);
}

static void check_npy(void)
{
    float v[6] = {1, 2, 3, 4, 5, 6};
    const char *f32x3 = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    /* The data: exactly 24 bytes loads; 23 is truncated; 25 has a stray byte. */
    npy_write("x_ok.npy", 1, f32x3, v, 24);
    expect_npy("24 data bytes", "x_ok.npy", NULL, NULL, NULL);
    npy_write("x_short.npy", 1, f32x3, v, 23);
    expect_npy("23 data bytes", "x_short.npy", NULL, "needs 24 bytes, found 23", NULL);
    unsigned char v25[25] = {0};
    memcpy(v25, v, 24);
    npy_write("x_long.npy", 1, f32x3, v25, 25);
    expect_npy("25 data bytes", "x_long.npy", NULL, "unexpected bytes after the 24 bytes", NULL);
    /* Total size: (2^42,) uint8 = 2^42 bytes is the limit (refused only as
     * truncated), 2^42 + 1 is corrupt. */
    npy_write("x_2p42.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4398046511104,), }",
              NULL, 0);
    expect_npy("2^42 bytes", "x_2p42.npy", NULL, "needs 4398046511104 bytes, found 0", "claims more");
    npy_write("x_2p42p1.npy", 1,
              "{'descr': '|u1', 'fortran_order': False, 'shape': (4398046511105,), }", NULL, 0);
    expect_npy("2^42 + 1 bytes", "x_2p42p1.npy", NULL, "shape claims more than 4398046511104 bytes",
               NULL);
    npy_write("x_2p40f4.npy", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", NULL, 0);
    expect_npy("2^40 float32 = 2^42 bytes", "x_2p40f4.npy", NULL, "needs 4398046511104 bytes",
               "claims more");
    npy_write("x_2p40f4p.npy", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627777,), }", NULL, 0);
    expect_npy("2^40 + 1 float32", "x_2p40f4p.npy", NULL, "shape claims more than", NULL);
    /* One dimension's digits stop once the value read so far exceeds 2^42
     * (before it could overflow): 2^42 followed by a digit still goes on to
     * the total's check; 2^42 + 1 followed by one is refused at once. */
    npy_write("x_dim.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (43980465111049,), }",
              NULL, 0);
    expect_npy("dimension 2^42 then a digit", "x_dim.npy", NULL, "shape claims more than",
               "absurdly large");
    npy_write("x_dim.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (43980465111050,), }",
              NULL, 0);
    expect_npy("dimension 2^42 + 1 then a digit", "x_dim.npy", NULL,
               "dimension 0 is absurdly large", NULL);
    /* Rank: 8 axes parse (the data set then refuses rank 7 per sample), 9 do not. */
    npy_write("x_r8.npy", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1), }", v, 4);
    expect_npy("8 axes", "x_r8.npy", NULL, "x has shape", "more than 8 axes");
    npy_write("x_r9.npy", 1,
              "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, 1, 1), }", v, 4);
    expect_npy("9 axes", "x_r9.npy", NULL, "more than 8 axes", NULL);
    /* Header length (format 2.0's 4-byte field): 2^20 passes (then the file
     * is too short for it), 2^20 + 1 is refused, 0 too. */
    for (int k = 0; k < 3; k++) {
        const uint32_t hl = k == 0 ? (1u << 20) : k == 1 ? (1u << 20) + 1 : 0;
        unsigned char b[64] = "\x93NUMPY\x02\x00";
        for (int i = 0; i < 4; i++) b[8 + i] = (unsigned char)(hl >> (8 * i));
        memset(b + 12, ' ', 52);
        write_file("x_hlen.npy", b, sizeof b, NULL, 0);
        if (k == 0) expect_npy("header length 2^20", "x_hlen.npy", NULL, "truncated .npy header", "bad .npy header length");
        else if (k == 1) expect_npy("header length 2^20 + 1", "x_hlen.npy", NULL, "bad .npy header length 1048577, expected 1..1048576", NULL);
        else expect_npy("header length 0", "x_hlen.npy", NULL, "bad .npy header length 0", NULL);
    }
    /* Labels: 0..INT32_MAX; INT32_MAX loads, INT32_MAX + 1 and -1 do not. */
    const char *i8x2 = "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }";
    int64_t lab[2] = {0, INT32_MAX};
    npy_write("y_max.npy", 1, i8x2, lab, sizeof lab);
    expect_npy("label INT32_MAX", "x_ok.npy", "y_max.npy", NULL, NULL);
    lab[1] = (int64_t)INT32_MAX + 1;
    npy_write("y_over.npy", 1, i8x2, lab, sizeof lab);
    expect_npy("label INT32_MAX + 1", "x_ok.npy", "y_over.npy", "label 2147483648 at index 1", NULL);
    lab[1] = -1;
    npy_write("y_neg.npy", 1, i8x2, lab, sizeof lab);
    expect_npy("label -1", "x_ok.npy", "y_neg.npy", "label -1 at index 1", NULL);
}

/* -------------------------------------------------------------------- IDX (idx.c) */

static size_t idx_header(unsigned char *b, int rank, const uint32_t *dims)
{
    size_t n = 0;
    b[n++] = 0, b[n++] = 0, b[n++] = 0x08, b[n++] = (unsigned char)rank;
    for (int i = 0; i < rank; i++)
        for (int k = 3; k >= 0; k--) b[n++] = (unsigned char)(dims[i] >> (8 * k));
    return n;
}

static void expect_idx(const char *what, const char *needle, const char *avoid)
{
    lam_dataset *ds = NULL;
    lam_status st = lam_load_idx(tpath("img.idx"), tpath("lbl.idx"), &ds);
    if (!needle) {
        CHECK(st == LAM_OK, "%s: refused: %s", what, lam_last_error());
    } else {
        CHECK(st != LAM_OK && !ds, "%s: loaded", what);
        CHECK(strstr(lam_last_error(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              lam_last_error(), needle);
        if (avoid)
            CHECK(strstr(lam_last_error(), avoid) == NULL, "%s: \"%s\" is the check under test",
                  what, lam_last_error());
    }
    lam_dataset_free(ds);
}

static void check_idx(void)
{
    unsigned char h[32], px[2 * 2 * 3 + 1] = {0}, lb[3] = {1, 2, 3};
    size_t nl = idx_header(h, 1, (uint32_t[]){2});
    write_file("lbl.idx", h, nl, lb, 2);
    /* Image data: exactly 12 bytes loads, 11 is truncated, 13 has a stray byte. */
    size_t ni = idx_header(h, 3, (uint32_t[]){2, 2, 3});
    write_file("img.idx", h, ni, px, 12);
    expect_idx("12 pixel bytes", NULL, NULL);
    write_file("img.idx", h, ni, px, 11);
    expect_idx("11 pixel bytes", "expected 12 bytes, found 11", NULL);
    write_file("img.idx", h, ni, px, 13);
    expect_idx("13 pixel bytes", "unexpected bytes after the 12 bytes", NULL);
    /* Labels: 2 bytes for 2 images; 1 truncated, 3 a stray byte. */
    write_file("img.idx", h, ni, px, 12);
    write_file("lbl.idx", h, idx_header(h, 1, (uint32_t[]){2}), lb, 1);
    expect_idx("1 label byte", "expected 2 bytes, found 1", NULL);
    write_file("lbl.idx", h, idx_header(h, 1, (uint32_t[]){2}), lb, 3);
    expect_idx("3 label bytes", "unexpected bytes after the 2 bytes", NULL);
    write_file("lbl.idx", h, idx_header(h, 1, (uint32_t[]){2}), lb, 2);
    /* The dimensions' product: at most 2^34 bytes. 2^34 - 1 and 2^34 pass
     * (then the file is too short), 2^34 + 1 = 5 * 3435973837 is refused. */
    struct { uint32_t d[3]; const char *needle, *avoid; } dims[] = {
        {{1, 131071, 131073}, "expected 17179869183 bytes, found 0", "claim more"},
        {{4, 65536, 65536}, "expected 17179869184 bytes, found 0", "claim more"},
        {{1, 5, 3435973837u}, "IDX dimensions claim more than 17179869184 bytes (dimension 2", NULL},
        {{0, 1, 1}, "IDX dimension 0 is 0", NULL},
    };
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        /* as many labels as images, so the counts agree */
        unsigned char lbls[4] = {0};
        write_file("lbl.idx", h, idx_header(h, 1, (uint32_t[]){dims[i].d[0] ? dims[i].d[0] : 1}),
                   lbls, dims[i].d[0] ? dims[i].d[0] : 1);
        write_file("img.idx", h, idx_header(h, 3, dims[i].d), NULL, 0);
        char what[96];
        snprintf(what, sizeof what, "dims %u x %u x %u", dims[i].d[0], dims[i].d[1], dims[i].d[2]);
        expect_idx(what, dims[i].needle, dims[i].avoid);
    }
}

/* ---------------------------------------------------------------- libsvm (libsvm.c) */

static void expect_svm(const char *what, const char *text, int64_t nf, const char *needle,
                       const char *avoid, int64_t want_features)
{
    write_file("d.svm", text, strlen(text), NULL, 0);
    lam_dataset *ds = NULL;
    lam_status st = lam_load_libsvm(tpath("d.svm"), nf, &ds);
    if (!needle) {
        CHECK(st == LAM_OK, "%s: refused: %s", what, lam_last_error());
        if (ds) CHECK(lam_dataset_sample_size(ds) == want_features, "%s: %lld features", what,
                      (long long)lam_dataset_sample_size(ds));
    } else {
        CHECK(st != LAM_OK && !ds, "%s: loaded", what);
        CHECK(strstr(lam_last_error(), needle) != NULL, "%s: message \"%s\" lacks \"%s\"", what,
              lam_last_error(), needle);
        if (avoid)
            CHECK(strstr(lam_last_error(), avoid) == NULL, "%s: \"%s\" is the check under test",
                  what, lam_last_error());
    }
    lam_dataset_free(ds);
}

static void check_libsvm(void)
{
    /* n_features given: an index equal to it loads, one more is refused. */
    expect_svm("index = n_features", "1 3:1\n0 1:2\n", 3, NULL, NULL, 3);
    expect_svm("index = n_features + 1", "1 4:1\n0 1:2\n", 3, "index 4 in token \"4:1\" is greater "
               "than n_features 3", NULL, 0);
    /* At most 2^24 features: index 2^24 loads (a 64 MiB dense row; calloc
     * leaves it untouched), 2^24 + 1 is refused. */
    expect_svm("index 2^24 - 1", "1 16777215:1\n", 0, NULL, NULL, 16777215);
    expect_svm("index 2^24", "1 16777216:1\n", 0, NULL, NULL, 16777216);
    expect_svm("index 2^24 + 1", "1 16777217:1\n", 0, "1 samples x 16777217 features is too large",
               NULL, 0);
    /* At most 2^28 values: 16 rows of 2^24 features is the limit (1 GiB of
     * calloc'ed zeros, untouched but for 16 values), 17 rows are refused. */
    static char text[17 * 24 + 1];
    for (int rows = 15; rows <= 17; rows++) {
        text[0] = '\0';
        for (int r = 0; r < rows; r++) strcat(text, r ? "0 1:1\n" : "1 16777216:1\n");
        char what[64];
        snprintf(what, sizeof what, "%d rows x 2^24 features", rows);
        if (rows <= 16) expect_svm(what, text, 0, NULL, NULL, 16777216);
        else expect_svm(what, text, 0, "17 samples x 16777216 features is too large", NULL, 0);
    }
}

/* ---------------------------------------------------------------------- CSV (csv.c) */

static void check_csv(void)
{
    lam_csv_options o = lam_csv_defaults();
    o.header = false;
    /* A field keeps 255 characters: "00...01" of 255 characters loads as 1;
     * of 256 it is refused as cut ("..."), not read as its first 255 (0). */
    char line[600];
    for (int len = 255; len <= 256; len++) {
        int n = snprintf(line, sizeof line, "1,");
        for (int i = 0; i < len - 1; i++) line[n++] = '0';
        line[n++] = '1';
        line[n++] = '\n';
        line[n] = '\0';
        write_file("f.csv", line, strlen(line), NULL, 0);
        lam_dataset *ds = NULL;
        lam_status st = lam_load_csv(tpath("f.csv"), &o, &ds);
        if (len == 255) {
            CHECK(st == LAM_OK, "255-character field: %s", lam_last_error());
            if (ds) CHECK(((float *)lam_dataset_x(ds))[0] == 1.0f, "255-character field read as %g",
                          (double)((float *)lam_dataset_x(ds))[0]);
        } else {
            CHECK(st == LAM_ERR_FORMAT && strstr(lam_last_error(), "...\" is not a finite number"),
                  "256-character field: status %d: %s", st, lam_last_error());
        }
        lam_dataset_free(ds);
    }
    /* At most 1,000,000 columns per line. */
    for (int cols = 1000000; cols <= 1000001; cols++) {
        size_t n = (size_t)cols * 2;
        char *t = malloc(n + 1);
        if (!t) return;
        for (size_t i = 0; i < n; i++) t[i] = i % 2 ? ',' : '0';
        t[n - 1] = '\n';
        t[n] = '\0';
        write_file("wide.csv", t, n, NULL, 0);
        free(t);
        lam_dataset *ds = NULL;
        lam_status st = lam_load_csv(tpath("wide.csv"), &o, &ds);
        if (cols == 1000000) {
            CHECK(st == LAM_OK, "1,000,000 columns: %s", lam_last_error());
            if (ds) CHECK(lam_dataset_sample_size(ds) == 999999, "999,999 features");
        } else {
            CHECK(st == LAM_ERR_FORMAT && strstr(lam_last_error(), "more than 1000000 columns"),
                  "1,000,001 columns: %s", lam_last_error());
        }
        lam_dataset_free(ds);
    }
}

int main(void)
{
    lam_set_threads(1);
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/lamina_bounds_XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 2;
    }
    check_safetensors();
    check_npy();
    check_idx();
    check_libsvm();
    check_csv();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary("test_reader_bounds");
}
