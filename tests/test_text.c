/* test_text.c - text in: model metadata, the char and BPE tokenizers (against
 * tests/make_bpe_fixture.py's Python reference), text files, language-model
 * windows and batches, the text classification reader, and every error they
 * promise. Fixtures: tests/fixtures/text/README.md. */
#include "lamina.h"
#include "test.h"
#include "text/text.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static const char *tmp_path(const char *name)
{
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* memmem, which C11 lacks. */
static char *find_bytes(char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0) return hay + i;
    return NULL;
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (n && fwrite(data, 1, n, f) != n) exit(2);
    fclose(f);
}

static char *read_fixture(const char *name, size_t *len)
{
    char path[256];
    snprintf(path, sizeof path, "fixtures/text/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) exit(2);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Whitespace-separated integers of a fixture file. */
static int64_t read_ints(const char *name, int32_t **out)
{
    size_t len;
    char *text = read_fixture(name, &len);
    int32_t *v = malloc(sizeof *v * (len + 1));
    int64_t n = 0;
    char *p = text, *end;
    for (long x = strtol(p, &end, 10); end != p; x = strtol(p, &end, 10)) {
        v[n++] = (int32_t)x;
        p = end;
    }
    free(text);
    *out = v;
    return n;
}

/* A compiled model small enough to save in a moment. */
static lam_model *tiny_model(void)
{
    lam_model *m = lam_sequential("tiny");
    CHECK_OK(lam_model_add_input(m, 1, (int64_t[]){4}));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    lam_optimizer adam = lam_adam();
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    return m;
}

/* ------------------------------------------------------------- metadata */

static void test_metadata(void)
{
    lam_model *m = tiny_model();
    CHECK(lam_model_metadata(m, "absent") == NULL, "no metadata yet");
    CHECK_OK(lam_model_set_metadata(m, "zeta", "last"));
    CHECK_OK(lam_model_set_metadata(m, "alpha.1", "first"));
    CHECK_OK(lam_model_set_metadata(m, "mid_key-2", "caf\xc3\xa9 \xe6\x9d\xb1"));
    CHECK_OK(lam_model_set_metadata(m, "empty", ""));
    CHECK_OK(lam_model_set_metadata(m, "alpha.1", "replaced"));
    CHECK(strcmp(lam_model_metadata(m, "alpha.1"), "replaced") == 0, "replaced value");
    CHECK_OK(lam_model_set_metadata(m, "zeta", NULL)); /* removal */
    CHECK(lam_model_metadata(m, "zeta") == NULL, "removed");
    CHECK_OK(lam_model_set_metadata(m, "never-set", NULL)); /* removing nothing is fine */
    char k63[64];
    memset(k63, 'k', 63);
    k63[63] = '\0';
    CHECK_OK(lam_model_set_metadata(m, k63, "longest key"));

    /* Bad keys and values name what was expected. */
    char k64[65];
    memset(k64, 'k', 64);
    k64[64] = '\0';
    CHECK_FAILS(lam_model_set_metadata(m, k64, "x"), LAM_ERR_ARG, "1 to 63");
    CHECK_FAILS(lam_model_set_metadata(m, "", "x"), LAM_ERR_ARG, "1 to 63");
    CHECK_FAILS(lam_model_set_metadata(m, "a b", "x"), LAM_ERR_ARG, "byte 1 is 0x20");
    CHECK_FAILS(lam_model_set_metadata(m, "caf\xc3\xa9", "x"), LAM_ERR_ARG, "A-Z a-z 0-9 _ . -");
    CHECK_FAILS(lam_model_set_metadata(m, "a/b", "x"), LAM_ERR_ARG, "metadata key");
    CHECK_FAILS(lam_model_set_metadata(m, NULL, "x"), LAM_ERR_ARG, "NULL");
    CHECK_FAILS(lam_model_set_metadata(m, "bin", "ok\xff"), LAM_ERR_ARG, "offset 2");
    CHECK(lam_model_metadata(m, "bin") == NULL, "a refused value is not stored");

    /* Round trip through a model file; the file keeps them under "meta.". */
    const char *path = tmp_path("meta.safetensors");
    CHECK_OK(lam_model_save(m, path));
    lam_model *back = NULL;
    CHECK_OK(lam_model_load(path, &back));
    if (back) {
        CHECK(strcmp(lam_model_metadata(back, "alpha.1"), "replaced") == 0, "alpha.1 loaded");
        CHECK(strcmp(lam_model_metadata(back, "mid_key-2"), "caf\xc3\xa9 \xe6\x9d\xb1") == 0,
              "UTF-8 value loaded");
        CHECK(strcmp(lam_model_metadata(back, "empty"), "") == 0, "empty value loaded");
        CHECK(strcmp(lam_model_metadata(back, k63), "longest key") == 0, "63-char key loaded");
        CHECK(lam_model_metadata(back, "zeta") == NULL, "removed key stays removed");
        /* Saving the loaded model gives the same bytes: keys are kept sorted. */
        const char *again = tmp_path("meta2.safetensors");
        CHECK_OK(lam_model_save(back, again));
        size_t n1, n2;
        char *a = NULL, *b = NULL;
        FILE *f1 = fopen(path, "rb"), *f2 = fopen(again, "rb");
        if (f1 && f2) {
            a = malloc(1 << 20);
            b = malloc(1 << 20);
            n1 = fread(a, 1, 1 << 20, f1);
            n2 = fread(b, 1, 1 << 20, f2);
            CHECK(n1 == n2 && memcmp(a, b, n1) == 0, "re-saved file differs");
            CHECK(find_bytes(a, n1, "\"meta.alpha.1\":\"replaced\"") != NULL,
                  "the header holds meta.alpha.1");
        }
        if (f1) fclose(f1);
        if (f2) fclose(f2);

        /* A file whose metadata key is not a valid key is refused, naming it:
         * same length, so the header stays well-formed. */
        char *p = a ? find_bytes(a, n1, "\"meta.alpha.1\"") : NULL;
        if (p) {
            memcpy(p, "\"meta.alpha!1\"", 14);
            const char *bad = tmp_path("badmeta.safetensors");
            write_file(bad, a, n1);
            lam_model *x = NULL;
            CHECK_FAILS(lam_model_load(bad, &x), LAM_ERR_FORMAT, "alpha!1");
            CHECK(strstr(lam_last_error(), "badmeta.safetensors") != NULL, "names the file: %s",
                  lam_last_error());
            CHECK(x == NULL, "no model on failure");
        }
        free(a);
        free(b);
    }
    lam_model_free(back);
    lam_model_free(m);
}

/* ------------------------------------------------------------------ char */

static void test_char_tokenizer(void)
{
    size_t len;
    char *text = read_fixture("corpus.txt", &len);
    int32_t *want;
    int64_t nwant = read_ints("char_vocab.txt", &want);
    lam_tokenizer *t = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, text, len, &t));
    if (!t) return;
    CHECK(lam_tokenizer_kind_of(t) == LAM_TOKENIZER_CHAR, "kind");
    CHECK(lam_tokenizer_vocab_size(t) == nwant, "vocabulary %d, Python's sorted(set(text)) has %lld",
          lam_tokenizer_vocab_size(t), (long long)nwant);
    for (int64_t i = 0; i < nwant && i < lam_tokenizer_vocab_size(t); i++)
        CHECK(t->code_points[i] == (uint32_t)want[i], "token %lld is U+%04X, Python has U+%04X",
              (long long)i, t->code_points[i], (unsigned)want[i]);

    int32_t *ids = NULL;
    int64_t n = 0;
    CHECK_OK(lam_tokenizer_encode(t, text, len, &ids, &n));
    char *back = NULL;
    size_t blen = 0;
    CHECK_OK(lam_tokenizer_decode(t, ids, n, &back, &blen));
    CHECK(blen == len && back && memcmp(back, text, len) == 0, "char round trip");
    /* Ids are the rank of the character: "T" then "h" of "The". */
    CHECK(ids && n > 2, "ids");
    const char *tb;
    size_t tl;
    CHECK_OK(lam_tokenizer_decode_token(t, ids[0], &tb, &tl));
    CHECK(tl == 1 && tb[0] == 'T', "first token decodes to T");
    /* A multi-byte character is one token of its UTF-8 bytes. */
    int32_t *one = NULL;
    int64_t none = 0;
    CHECK_OK(lam_tokenizer_encode(t, "\xe6\x9d\xb1", 3, &one, &none));
    CHECK(none == 1, "one token for U+6771");
    if (none == 1) {
        CHECK_OK(lam_tokenizer_decode_token(t, one[0], &tb, &tl));
        CHECK(tl == 3 && memcmp(tb, "\xe6\x9d\xb1", 3) == 0, "U+6771's bytes");
    }
    free(one);
    free(ids);
    free(back);

    /* JSON round trip: same vocabulary, same ids. */
    char *json = NULL;
    CHECK_OK(lam_tokenizer_to_json(t, &json));
    lam_tokenizer *u = NULL;
    CHECK_OK(lam_tokenizer_from_json(json, "test", &u));
    CHECK(u && lam_tokenizer_vocab_size(u) == lam_tokenizer_vocab_size(t), "JSON vocab");
    if (u) {
        int32_t *a = NULL, *b = NULL;
        int64_t na = 0, nb = 0;
        CHECK_OK(lam_tokenizer_encode(t, text, len, &a, &na));
        CHECK_OK(lam_tokenizer_encode(u, text, len, &b, &nb));
        CHECK(na == nb && a && b && memcmp(a, b, sizeof *a * (size_t)na) == 0, "same ids");
        free(a);
        free(b);
    }
    lam_tokenizer_free(u);
    free(json);

    /* Errors. */
    int32_t *x = NULL;
    int64_t nx = 0;
    CHECK_FAILS(lam_tokenizer_encode(t, "The \xc3\xb1!", 7, &x, &nx), LAM_ERR_FORMAT,
                "U+00F1 '\xc3\xb1' at byte offset 4");
    CHECK(x == NULL, "no ids on failure");
    CHECK_FAILS(lam_tokenizer_encode(t, "Th\x01", 3, &x, &nx), LAM_ERR_FORMAT,
                "U+0001 at byte offset 2");
    CHECK_FAILS(lam_tokenizer_encode(t, "The\xe6\x9d", 5, &x, &nx), LAM_ERR_FORMAT,
                "invalid UTF-8 at byte offset 3");
    CHECK_FAILS(lam_tokenizer_decode(t, (int32_t[]){0, 9999}, 2, &back, &blen), LAM_ERR_ARG,
                "token 1 is id 9999");
    CHECK_FAILS(lam_tokenizer_decode_token(t, -1, &tb, &tl), LAM_ERR_ARG, "id -1");
    lam_tokenizer *bad = NULL;
    CHECK_FAILS(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, "ab\xc0\xafz", 5, &bad),
                LAM_ERR_FORMAT, "invalid UTF-8 at byte offset 2 (byte 0xC0)"); /* overlong '/' */
    CHECK_FAILS(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, "\xed\xa0\x80", 3, &bad),
                LAM_ERR_FORMAT, "byte offset 0"); /* a surrogate */
    CHECK_FAILS(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, "", 0, &bad), LAM_ERR_ARG, "empty");
    CHECK_FAILS(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 2, "abc", 3, &bad), LAM_ERR_ARG,
                "3 distinct characters, more than the vocabulary size 2");
    CHECK(bad == NULL, "no tokenizer on failure");
    /* U+0000 is a character like any other (JSON keeps code points). */
    lam_tokenizer *z = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, "a\0b", 3, &z));
    if (z) {
        CHECK(lam_tokenizer_vocab_size(z) == 3 && z->code_points[0] == 0, "NUL is token 0");
        CHECK_OK(lam_tokenizer_to_json(z, &json));
        lam_tokenizer *z2 = NULL;
        CHECK_OK(lam_tokenizer_from_json(json, "nul", &z2));
        CHECK(z2 && lam_tokenizer_vocab_size(z2) == 3, "NUL survives JSON");
        lam_tokenizer_free(z2);
        free(json);
    }
    lam_tokenizer_free(z);
    lam_tokenizer_free(t);
    free(want);
    free(text);
}

/* ------------------------------------------------------------------- BPE */

static void test_bpe_fixture(void)
{
    size_t len;
    char *text = read_fixture("corpus.txt", &len);
    int32_t *merges;
    int64_t nm = read_ints("bpe_merges.txt", &merges) / 2;
    lam_tokenizer *t = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_BPE, (int)(256 + nm), text, len, &t));
    if (!t) return;
    CHECK(lam_tokenizer_vocab_size(t) == 256 + nm, "vocabulary %d, expected %lld",
          lam_tokenizer_vocab_size(t), (long long)(256 + nm));
    int first_bad = -1;
    for (int64_t i = 0; i < nm && i < t->nmerges; i++)
        if (first_bad < 0 && (t->merges[2 * i] != merges[2 * i] ||
                              t->merges[2 * i + 1] != merges[2 * i + 1]))
            first_bad = (int)i;
    CHECK(first_bad < 0, "merge %d is (%d, %d), Python's is (%d, %d)", first_bad,
          first_bad >= 0 ? t->merges[2 * first_bad] : 0,
          first_bad >= 0 ? t->merges[2 * first_bad + 1] : 0,
          first_bad >= 0 ? merges[2 * first_bad] : 0, first_bad >= 0 ? merges[2 * first_bad + 1] : 0);

    /* Encoding text it never saw (bytes that are not UTF-8 included) gives
     * Python's ids, and decodes back. */
    size_t plen;
    char *probe = read_fixture("bpe_probe.bin", &plen);
    int32_t *want;
    int64_t nwant = read_ints("bpe_probe_ids.txt", &want);
    int32_t *ids = NULL;
    int64_t n = 0;
    CHECK_OK(lam_tokenizer_encode(t, probe, plen, &ids, &n));
    CHECK(n == nwant && ids && memcmp(ids, want, sizeof *ids * (size_t)n) == 0,
          "probe: %lld ids, Python gives %lld (or they differ)", (long long)n, (long long)nwant);
    char *back = NULL;
    size_t blen = 0;
    CHECK_OK(lam_tokenizer_decode(t, ids, n, &back, &blen));
    CHECK(blen == plen && back && memcmp(back, probe, plen) == 0, "probe round trip");
    free(back);
    free(ids);

    /* Streaming: token by token gives the same bytes. */
    CHECK_OK(lam_tokenizer_encode(t, text, len, &ids, &n));
    CHECK(n < (int64_t)len / 2, "BPE compresses the corpus it learnt (%lld tokens for %zu bytes)",
          (long long)n, len);
    size_t at = 0;
    bool same = true;
    for (int64_t i = 0; i < n && same; i++) {
        const char *b;
        size_t k;
        CHECK_OK(lam_tokenizer_decode_token(t, ids[i], &b, &k));
        same = at + k <= len && memcmp(text + at, b, k) == 0;
        at += k;
    }
    CHECK(same && at == len, "streamed decode");
    free(ids);

    /* JSON round trip. */
    char *json = NULL;
    CHECK_OK(lam_tokenizer_to_json(t, &json));
    lam_tokenizer *u = NULL;
    CHECK_OK(lam_tokenizer_from_json(json, "test", &u));
    if (u) {
        CHECK(u->nmerges == t->nmerges &&
              memcmp(u->merges, t->merges, sizeof *u->merges * 2 * (size_t)t->nmerges) == 0,
              "same merges after JSON");
        int32_t *a = NULL;
        int64_t na = 0;
        CHECK_OK(lam_tokenizer_encode(u, probe, plen, &a, &na));
        CHECK(na == nwant && a && memcmp(a, want, sizeof *a * (size_t)na) == 0, "JSON encodes alike");
        free(a);
    }
    lam_tokenizer_free(u);
    free(json);
    lam_tokenizer_free(t);
    free(probe);
    free(want);
    free(merges);
    free(text);
}

static void test_bpe_round_trip_and_errors(void)
{
    /* A tokenizer trained on structured bytes encodes random bytes exactly. */
    size_t len;
    char *text = read_fixture("corpus.txt", &len);
    lam_tokenizer *t = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_BPE, 400, text, len, &t));
    free(text);
    if (!t) return;
    for (int trial = 0; trial < 200; trial++) {
        size_t n = test_rnd() % 300;
        unsigned char buf[300];
        /* Half the trials draw from a small alphabet so that merges apply. */
        for (size_t i = 0; i < n; i++)
            buf[i] = trial & 1 ? (unsigned char)test_rnd() : (unsigned char)" theaxs'\n"[test_rnd() % 9];
        int32_t *ids = NULL;
        int64_t k = 0;
        CHECK_OK(lam_tokenizer_encode(t, (const char *)buf, n, &ids, &k));
        char *back = NULL;
        size_t blen = 0;
        CHECK_OK(lam_tokenizer_decode(t, ids, k, &back, &blen));
        CHECK(blen == n && back && memcmp(back, buf, n) == 0, "random bytes round trip (trial %d)",
              trial);
        free(ids);
        free(back);
    }
    lam_tokenizer_free(t);

    /* Running out of pairs stops early. */
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_BPE, 1000, "ab ab", 5, &t));
    CHECK(t && lam_tokenizer_vocab_size(t) == 258, "ab ab: merges a+b then ' '+ab, got %d",
          lam_tokenizer_vocab_size(t));
    lam_tokenizer_free(t);
    /* Runs such as "aaaaa" merge left to right (minbpe): aa aa a. */
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_BPE, 257, "aaaaa", 5, &t));
    if (t) {
        int32_t *ids = NULL;
        int64_t k = 0;
        CHECK_OK(lam_tokenizer_encode(t, "aaaaa", 5, &ids, &k));
        CHECK(k == 3 && ids[0] == 256 && ids[1] == 256 && ids[2] == 'a', "aaaaa -> aa aa a");
        free(ids);
    }
    lam_tokenizer_free(t);

    /* Vocabulary sizes and the command's spelling. */
    lam_tokenizer *bad = NULL;
    CHECK_FAILS(lam_tokenizer_train(LAM_TOKENIZER_BPE, 255, "abc", 3, &bad), LAM_ERR_ARG,
                "vocabulary too small");
    CHECK_FAILS(lam_tokenizer_train(LAM_TOKENIZER_BPE, LAM_TOKENIZER_MAX_VOCAB + 1, "abc", 3, &bad),
                LAM_ERR_ARG, "vocabulary too large");
    CHECK(bad == NULL, "no tokenizer on failure");
    lam_tokenizer_kind kind;
    int vocab;
    CHECK_OK(lam_tokenizer_parse("char", &kind, &vocab));
    CHECK(kind == LAM_TOKENIZER_CHAR && vocab == 0, "char");
    CHECK_OK(lam_tokenizer_parse("bpe:1000", &kind, &vocab));
    CHECK(kind == LAM_TOKENIZER_BPE && vocab == 1000, "bpe:1000");
    CHECK_FAILS(lam_tokenizer_parse("bpe:100", &kind, &vocab), LAM_ERR_ARG, "vocabulary too small");
    CHECK_FAILS(lam_tokenizer_parse("bpe:99999999999", &kind, &vocab), LAM_ERR_ARG, "too large");
    CHECK_FAILS(lam_tokenizer_parse("bpe:", &kind, &vocab), LAM_ERR_ARG, "bpe:VOCAB");
    CHECK_FAILS(lam_tokenizer_parse("bpe:-5", &kind, &vocab), LAM_ERR_ARG, "bpe:VOCAB");
    CHECK_FAILS(lam_tokenizer_parse("bpe:12x", &kind, &vocab), LAM_ERR_ARG, "bpe:VOCAB");
    CHECK_FAILS(lam_tokenizer_parse("word", &kind, &vocab), LAM_ERR_ARG, "\"char\" or \"bpe:VOCAB\"");

    /* Broken JSON names the source and what was expected. */
    static const struct { const char *json, *needle; } cases[] = {
        {"[1]", "not a JSON object"},
        {"{\"type\":\"char\",\"code_points\":[97]}", "\"version\" must be 1"},
        {"{\"type\":\"word\",\"version\":1}", "\"type\" must be"},
        {"{\"type\":\"char\",\"version\":1,\"code_points\":[]}", "0 code points"},
        {"{\"type\":\"char\",\"version\":1,\"code_points\":[98,97]}", "strictly increasing"},
        {"{\"type\":\"char\",\"version\":1,\"code_points\":[97,97]}", "strictly increasing"},
        {"{\"type\":\"char\",\"version\":1,\"code_points\":[55296]}", "surrogate"},
        {"{\"type\":\"char\",\"version\":1,\"code_points\":[1114112]}", "code_points[0]"},
        {"{\"type\":\"char\",\"version\":1,\"code_points\":[1.5]}", "code_points[0]"},
        {"{\"type\":\"bpe\",\"version\":1,\"merges\":[]}", "pre_split"},
        {"{\"type\":\"bpe\",\"version\":1,\"pre_split\":\"gpt2-bytes\"}", "\"merges\""},
        {"{\"type\":\"bpe\",\"version\":1,\"pre_split\":\"gpt2-bytes\",\"merges\":[[97,256]]}",
         "merge 0 (token 256) joins 97 and 256"},
        {"{\"type\":\"bpe\",\"version\":1,\"pre_split\":\"gpt2-bytes\",\"merges\":[[97,98],[97,98]]}",
         "merge 1 repeats merge 0"},
        {"{\"type\":\"bpe\",\"version\":1,\"pre_split\":\"gpt2-bytes\",\"merges\":[[97]]}",
         "merges[0]"},
        {"{\"type\":\"bpe\",\"version\":1,\"pre_split\":\"gpt2-bytes\",\"merges\":[[-1,2]]}",
         "merges[0]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_FAILS(lam_tokenizer_from_json(cases[i].json, "case.json", &bad), LAM_ERR_FORMAT,
                    cases[i].needle);
        CHECK(strstr(lam_last_error(), "case.json") != NULL, "names the source: %s",
              lam_last_error());
        CHECK(bad == NULL, "no tokenizer on failure");
    }
    /* Merges that double a token's length each time would need 2^k bytes:
     * refused before allocating them. */
    char big[4096];
    int k = snprintf(big, sizeof big, "{\"type\":\"bpe\",\"version\":1,\"pre_split\":\"gpt2-bytes\","
                     "\"merges\":[[97,97]");
    for (int i = 1; i < 60; i++) k += snprintf(big + k, sizeof big - (size_t)k, ",[%d,%d]", 255 + i, 255 + i);
    snprintf(big + k, sizeof big - (size_t)k, "]}");
    CHECK_FAILS(lam_tokenizer_from_json(big, "big.json", &bad), LAM_ERR_FORMAT, "more than");
}

/* Training a 1000-token vocabulary on a few MB takes seconds at most (the
 * incremental pair counts); a full recount per merge would take minutes. */
static void test_bpe_speed(void)
{
    size_t len;
    char *base = read_fixture("corpus.txt", &len);
    const size_t want = 2 << 20;
    char *text = malloc(want);
    size_t n = 0;
    /* Vary the copies so that the corpus is not one repeated chunk list. */
    for (int rep = 0; n + len + 16 < want; rep++) {
        n += (size_t)snprintf(text + n, 16, "%d ", rep * 7919 % 100003);
        memcpy(text + n, base, len);
        n += len;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lam_tokenizer *t = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_BPE, 1000, text, n, &t));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("BPE: 1000-token vocabulary from %.1f MB in %.2f s\n", (double)n / 1e6, s);
    CHECK(t && lam_tokenizer_vocab_size(t) == 1000, "vocabulary 1000");
    /* Generous bound (sanitizer builds, a loaded machine): catches a
     * quadratic algorithm, not a slow day. */
    CHECK(s < 60, "BPE training took %.1f s", s);
    lam_tokenizer_free(t);
    free(text);
    free(base);
}

/* ------------------------------------------------------------ text files */

static void test_load_text(void)
{
    const char *folder = tmp_path("corpus");
    mkdir(folder, 0755);
    char p[512];
    snprintf(p, sizeof p, "%s/b.txt", folder);
    write_file(p, "second ", 7);
    snprintf(p, sizeof p, "%s/a.txt", folder);
    write_file(p, "first ", 6);
    snprintf(p, sizeof p, "%s/B.txt", folder); /* 'B' < 'a' in byte order */
    write_file(p, "zeroth ", 7);
    snprintf(p, sizeof p, "%s/c.md", folder); /* not .txt: skipped */
    write_file(p, "skipped", 7);
    snprintf(p, sizeof p, "%s/.hidden.txt", folder);
    write_file(p, "hidden", 6);
    char *text = NULL;
    size_t len = 0;
    CHECK_OK(lam_load_text(folder, &text, &len));
    CHECK(text && len == 20 && strcmp(text, "zeroth first second ") == 0, "folder in name order: "
          "\"%s\"", text ? text : "(null)");
    free(text);

    snprintf(p, sizeof p, "%s/one.txt", dir);
    write_file(p, "caf\xc3\xa9\n", 6);
    CHECK_OK(lam_load_text(p, &text, &len));
    CHECK(text && len == 6 && text[6] == '\0', "one file, NUL-terminated");
    free(text);

    text = NULL;
    snprintf(p, sizeof p, "%s/empty.txt", dir);
    write_file(p, "", 0);
    CHECK_FAILS(lam_load_text(p, &text, &len), LAM_ERR_FORMAT, "empty corpus");
    CHECK(strstr(lam_last_error(), "empty.txt") != NULL, "names the file");
    snprintf(p, sizeof p, "%s/latin1.txt", dir);
    write_file(p, "ok\ncaf\xe9\n", 8);
    CHECK_FAILS(lam_load_text(p, &text, &len), LAM_ERR_FORMAT, "invalid UTF-8 at byte offset 6");
    CHECK(strstr(lam_last_error(), "latin1.txt") != NULL, "names the file");
    /* In a folder the message names the file inside it. */
    snprintf(p, sizeof p, "%s/c.txt", folder);
    write_file(p, "\xff", 1);
    CHECK_FAILS(lam_load_text(folder, &text, &len), LAM_ERR_FORMAT, "c.txt: invalid UTF-8");
    const char *none = tmp_path("no_txt");
    mkdir(none, 0755);
    CHECK_FAILS(lam_load_text(none, &text, &len), LAM_ERR_FORMAT, "no .txt files");
    CHECK_FAILS(lam_load_text(tmp_path("missing.txt"), &text, &len), LAM_ERR_IO, "missing.txt");
    CHECK(text == NULL, "no text on failure");
}

/* -------------------------------------------------------- language model */

static void test_lm(void)
{
    int32_t ids[23];
    for (int i = 0; i < 23; i++) ids[i] = (i * 7) % 11;
    lam_dataset *ds = NULL;
    CHECK_OK(lam_lm_dataset(ids, 23, 5, &ds));
    if (ds) {
        /* (23 - 1) / 5 = 4 windows at 0, 5, 10, 15; the last 2 tokens only
         * serve as labels or are left over. */
        CHECK(lam_dataset_count(ds) == 4, "4 windows, got %lld", (long long)lam_dataset_count(ds));
        int64_t shape[4];
        CHECK(lam_dataset_shape(ds, shape) == 1 && shape[0] == 5, "input shape (5,)");
        CHECK(lam_dataset_label_size(ds) == 5, "5 labels per window");
        const float *x = lam_dataset_x(ds);
        const int32_t *y = lam_dataset_labels(ds);
        bool ok = true;
        for (int w = 0; w < 4; w++)
            for (int t = 0; t < 5; t++)
                ok = ok && x[w * 5 + t] == (float)ids[w * 5 + t] && y[w * 5 + t] == ids[w * 5 + t + 1];
        CHECK(ok, "windows hold ids[5w + t], labels ids[5w + t + 1]");
    }
    lam_dataset_free(ds);
    ds = NULL;
    CHECK_OK(lam_lm_dataset(ids, 6, 5, &ds)); /* exactly one window */
    CHECK(ds && lam_dataset_count(ds) == 1, "one window");
    lam_dataset_free(ds);
    ds = NULL;
    CHECK_FAILS(lam_lm_dataset(ids, 5, 5, &ds), LAM_ERR_SHAPE, "block 5 is larger than the corpus");
    CHECK_FAILS(lam_lm_dataset(ids, 23, 0, &ds), LAM_ERR_ARG, "block 0");
    CHECK_FAILS(lam_lm_dataset((int32_t[]){1, -2, 3}, 3, 1, &ds), LAM_ERR_ARG, "token 1 is id -2");
    CHECK(ds == NULL, "no data set on failure");

    /* nanoGPT's split: the first int(n * 0.9) tokens train, the rest validate. */
    int32_t many[1000];
    for (int i = 0; i < 1000; i++) many[i] = i % 50;
    lam_dataset *tr = NULL, *va = NULL;
    CHECK_OK(lam_lm_split(many, 1000, 8, 0.1, &tr, &va));
    CHECK(tr && lam_dataset_count(tr) == (900 - 1) / 8, "train windows %lld",
          (long long)lam_dataset_count(tr));
    CHECK(va && lam_dataset_count(va) == (100 - 1) / 8, "val windows");
    if (va) {
        const float *x = lam_dataset_x(va);
        CHECK(x[0] == (float)many[900] && lam_dataset_labels(va)[0] == many[901],
              "validation starts at token 900");
    }
    lam_dataset_free(tr);
    lam_dataset_free(va);
    CHECK_OK(lam_lm_split(many, 1000, 8, 0, &tr, &va));
    CHECK(va == NULL && tr && lam_dataset_count(tr) == 999 / 8, "no validation split");
    lam_dataset_free(tr);
    CHECK_FAILS(lam_lm_split(many, 1000, 200, 0.1, &tr, &va), LAM_ERR_SHAPE, "validation data");
    CHECK(tr == NULL && va == NULL, "nothing on failure");
    CHECK_FAILS(lam_lm_split(many, 1000, 8, 1.0, &tr, &va), LAM_ERR_ARG, "fraction");

    /* Random windows: y is x shifted by one, offsets a function of (seed, step). */
    float x1[4 * 8], x2[4 * 8], x3[4 * 8];
    int32_t y1[4 * 8], y2[4 * 8], y3[4 * 8];
    int32_t seq[100];
    for (int i = 0; i < 100; i++) seq[i] = i;
    CHECK_OK(lam_lm_batch(seq, 100, 8, 4, 42, 7, x1, y1));
    CHECK_OK(lam_lm_batch(seq, 100, 8, 4, 42, 7, x2, y2));
    CHECK_OK(lam_lm_batch(seq, 100, 8, 4, 42, 8, x3, y3));
    CHECK(memcmp(x1, x2, sizeof x1) == 0 && memcmp(y1, y2, sizeof y1) == 0, "reproducible");
    CHECK(memcmp(x1, x3, sizeof x1) != 0, "another step, other windows");
    bool ok = true;
    for (int b = 0; b < 4; b++)
        for (int t = 0; t < 8; t++)
            ok = ok && y1[b * 8 + t] == (int32_t)x1[b * 8 + t] + 1 &&
                 (t == 0 || x1[b * 8 + t] == x1[b * 8 + t - 1] + 1) && x1[b * 8] <= 91;
    CHECK(ok, "windows of consecutive ids, labels shifted by one, offsets <= n - block - 1");
    CHECK_FAILS(lam_lm_batch(seq, 8, 8, 4, 42, 0, x1, y1), LAM_ERR_SHAPE, "larger than the corpus");
}

/* -------------------------------------------------- text classification */

static void check_sample(const lam_text_samples *s, int64_t i, const char *text, int label)
{
    size_t len = 0;
    const char *t = lam_text_samples_text(s, i, &len);
    CHECK(t && len == strlen(text) && memcmp(t, text, len) == 0, "sample %lld is \"%.*s\", "
          "expected \"%s\"", (long long)i, t ? (int)len : 6, t ? t : "(null)", text);
    CHECK(lam_text_samples_label(s, i) == label, "sample %lld has class %d, expected %d",
          (long long)i, lam_text_samples_label(s, i), label);
}

static void test_textcls(void)
{
    lam_text_samples *s = NULL;
    CHECK_OK(lam_load_textcls("fixtures/text/textcls_files", &s));
    if (!s) return;
    /* alpha ("%" records), beta.txt (lines), delta.txt; gamma.dat and .hidden skipped. */
    CHECK(lam_text_samples_num_classes(s) == 3, "3 classes, got %d", lam_text_samples_num_classes(s));
    CHECK(strcmp(lam_text_samples_class_name(s, 0), "alpha") == 0 &&
          strcmp(lam_text_samples_class_name(s, 1), "beta") == 0 &&
          strcmp(lam_text_samples_class_name(s, 2), "delta") == 0, "class names in order");
    CHECK(lam_text_samples_count(s) == 7, "7 samples, got %lld", (long long)lam_text_samples_count(s));
    check_sample(s, 0, "first alpha record\nspans two lines", 0);
    check_sample(s, 1, "second alpha", 0);
    check_sample(s, 2, "third", 0);
    check_sample(s, 3, "b one", 1);
    check_sample(s, 4, "b two", 1);
    check_sample(s, 5, "b three", 1);
    check_sample(s, 6, "d", 2);
    CHECK(lam_text_samples_text(s, 7, NULL) == NULL && lam_text_samples_label(s, -1) == -1,
          "out of range");

    /* Char tokenizer on the samples; ids + 1, padded with 0, truncated. */
    char *joined = NULL;
    size_t jlen = 0;
    CHECK_OK(lam_text_samples_join(s, &joined, &jlen));
    lam_tokenizer *t = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, joined, jlen, &t));
    free(joined);
    lam_dataset *ds = NULL;
    CHECK_OK(lam_textcls_dataset(s, t, 6, &ds));
    if (ds && t) {
        CHECK(lam_dataset_count(ds) == 7 && lam_dataset_sample_size(ds) == 6, "7 x 6");
        const float *x = lam_dataset_x(ds);
        int32_t *ids = NULL;
        int64_t n = 0;
        CHECK_OK(lam_tokenizer_encode(t, "b one", 5, &ids, &n));
        bool ok = n == 5;
        for (int k = 0; k < 5 && ok; k++) ok = x[3 * 6 + k] == (float)(ids[k] + 1);
        CHECK(ok && x[3 * 6 + 5] == 0, "\"b one\": ids + 1 then padding 0");
        free(ids);
        CHECK(x[6 * 6] > 0 && x[6 * 6 + 1] == 0, "\"d\": one token then padding");
        CHECK_OK(lam_tokenizer_encode(t, "first ", 6, &ids, &n));
        ok = n == 6;
        for (int k = 0; k < 6 && ok; k++) ok = x[k] == (float)(ids[k] + 1);
        CHECK(ok, "a long sample keeps its first 6 tokens");
        free(ids);
        CHECK(lam_dataset_labels(ds)[6] == 2 && lam_dataset_num_classes(ds) == 3, "labels");
    }
    lam_dataset_free(ds);
    ds = NULL;
    CHECK_OK(lam_textcls_counts(s, t, &ds));
    if (ds && t) {
        CHECK(lam_dataset_sample_size(ds) == lam_tokenizer_vocab_size(t), "one column per token");
        const float *x = lam_dataset_x(ds);
        int64_t v = lam_dataset_sample_size(ds);
        int32_t *ids = NULL;
        int64_t n = 0;
        CHECK_OK(lam_tokenizer_encode(t, "e", 1, &ids, &n));
        /* "b three": e twice. */
        CHECK(n == 1 && x[5 * v + ids[0]] == 2, "count of 'e' in \"b three\"");
        free(ids);
        double sum = 0;
        for (int64_t k = 0; k < v; k++) sum += x[5 * v + k];
        CHECK(sum == 7, "7 characters in \"b three\"");
    }
    lam_dataset_free(ds);

    /* Shuffle: a permutation fixed by the seed. */
    lam_text_samples *s2 = NULL;
    CHECK_OK(lam_load_textcls("fixtures/text/textcls_files", &s2));
    lam_text_samples_shuffle(s, 5);
    lam_text_samples_shuffle(s2, 5);
    bool same = true, moved = false;
    int label_sum = 0;
    for (int64_t i = 0; i < 7; i++) {
        size_t a, b;
        const char *ta = lam_text_samples_text(s, i, &a), *tb = lam_text_samples_text(s2, i, &b);
        same = same && a == b && memcmp(ta, tb, a) == 0;
        moved = moved || lam_text_samples_label(s, i) != (i < 3 ? 0 : i < 6 ? 1 : 2);
        label_sum += lam_text_samples_label(s, i);
    }
    CHECK(same && moved && label_sum == 5, "shuffle: same order for the same seed, labels kept");
    lam_text_samples_free(s2);

    /* A tokenizer that lacks a character names the file and the record. */
    lam_tokenizer *small = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_CHAR, 0, "abcdefghijklmnopqrstuvwxyz ", 27, &small));
    lam_text_samples *fresh = NULL;
    CHECK_OK(lam_load_textcls("fixtures/text/textcls_files", &fresh));
    CHECK_FAILS(lam_textcls_dataset(fresh, small, 8, &ds), LAM_ERR_FORMAT,
                "textcls_files/alpha, record 1: character U+000A at byte offset 18");
    CHECK_FAILS(lam_textcls_dataset(fresh, small, 0, &ds), LAM_ERR_ARG, "max length 0");
    lam_text_samples_free(fresh);
    lam_tokenizer_free(small);
    lam_tokenizer_free(t);
    lam_text_samples_free(s);

    /* Sub-folders: one sample per .txt file; empty files skipped. */
    CHECK_OK(lam_load_textcls("fixtures/text/textcls_dirs", &s));
    if (s) {
        CHECK(lam_text_samples_num_classes(s) == 2 && strcmp(lam_text_samples_class_name(s, 0), "neg") == 0,
              "neg, pos");
        CHECK(lam_text_samples_count(s) == 4, "4 samples, got %lld", (long long)lam_text_samples_count(s));
        check_sample(s, 0, "bad movie", 0);
        check_sample(s, 1, "awful\n", 0);
        check_sample(s, 2, "good film\nreally", 1);
        check_sample(s, 3, "great", 1);
    }
    lam_text_samples_free(s);
    s = NULL;

    /* Errors. */
    const char *one = tmp_path("one_class");
    mkdir(one, 0755);
    char p[512];
    snprintf(p, sizeof p, "%s/only.txt", one);
    write_file(p, "x\n", 2);
    CHECK_FAILS(lam_load_textcls(one, &s), LAM_ERR_FORMAT, "1 class found, expected at least 2");
    snprintf(p, sizeof p, "%s/blank", one);
    write_file(p, "\n\n%\n", 4);
    CHECK_FAILS(lam_load_textcls(one, &s), LAM_ERR_FORMAT, "class \"blank\" has no samples");
    snprintf(p, sizeof p, "%s/blank", one);
    write_file(p, "x\n", 2);
    snprintf(p, sizeof p, "%s/only", one);
    write_file(p, "y\n", 2);
    CHECK_FAILS(lam_load_textcls(one, &s), LAM_ERR_FORMAT, "class \"only\" is given twice");
    const char *bad = tmp_path("bad_utf8");
    mkdir(bad, 0755);
    snprintf(p, sizeof p, "%s/a", bad);
    write_file(p, "fine\n", 5);
    snprintf(p, sizeof p, "%s/b", bad);
    write_file(p, "x\n\xfe\n", 4);
    CHECK_FAILS(lam_load_textcls(bad, &s), LAM_ERR_FORMAT, "bad_utf8/b: invalid UTF-8 at byte offset 2");
    CHECK_FAILS(lam_load_textcls(tmp_path("absent"), &s), LAM_ERR_IO, "absent");
    CHECK(s == NULL, "nothing on failure");
}

/* Keeping the classes with enough samples: alpha 3, beta 3, delta 1 in the fixture. */
static void test_drop_small_classes(void)
{
    lam_text_samples *s = NULL;
    CHECK_OK(lam_load_textcls("fixtures/text/textcls_files", &s));
    if (!s) return;
    /* Fewer than 2 classes left: an error that changes nothing. */
    CHECK_FAILS(lam_text_samples_drop_small_classes(s, 4), LAM_ERR_ARG,
                "0 of 3 classes have at least 4 samples, expected at least 2 (the largest "
                "class left out has 3)");
    CHECK_FAILS(lam_text_samples_drop_small_classes(s, -1), LAM_ERR_ARG, "expected a count >= 0");
    CHECK(lam_text_samples_num_classes(s) == 3 && lam_text_samples_count(s) == 7,
          "unchanged after the errors");
    CHECK_OK(lam_text_samples_drop_small_classes(s, 1)); /* every class has one */
    CHECK(lam_text_samples_num_classes(s) == 3 && lam_text_samples_count(s) == 7, "all kept");
    /* Shuffled first, so that the kept samples' order is not the file order. */
    lam_text_samples_shuffle(s, 3);
    const char *before[7];
    int32_t label_before[7];
    for (int64_t i = 0; i < 7; i++) {
        before[i] = lam_text_samples_text(s, i, NULL);
        label_before[i] = lam_text_samples_label(s, i);
    }
    CHECK_OK(lam_text_samples_drop_small_classes(s, 2));
    CHECK(lam_text_samples_num_classes(s) == 2 && lam_text_samples_count(s) == 6,
          "2 classes and 6 samples left, got %d and %lld", lam_text_samples_num_classes(s),
          (long long)lam_text_samples_count(s));
    CHECK(strcmp(lam_text_samples_class_name(s, 0), "alpha") == 0 &&
          strcmp(lam_text_samples_class_name(s, 1), "beta") == 0 &&
          lam_text_samples_class_name(s, 2) == NULL, "alpha and beta kept, delta dropped");
    /* The kept samples in their order, with their classes (alpha 0 and beta 1 keep their
     * numbers here; delta's sample is gone). */
    int64_t k = 0;
    for (int64_t i = 0; i < 7; i++) {
        if (label_before[i] == 2) continue;
        CHECK(lam_text_samples_text(s, k, NULL) == before[i] &&
              lam_text_samples_label(s, k) == label_before[i], "sample %lld kept in order",
              (long long)k);
        k++;
    }
    lam_text_samples_free(s);

    /* A dropped class before the kept ones: the kept ones are renumbered from 0. */
    const char *folder = tmp_path("renumber");
    mkdir(folder, 0755);
    char p[512];
    snprintf(p, sizeof p, "%s/a", folder);
    write_file(p, "one\n", 4);
    snprintf(p, sizeof p, "%s/b", folder);
    write_file(p, "b1\nb2\n", 6);
    snprintf(p, sizeof p, "%s/c", folder);
    write_file(p, "c1\nc2\nc3\n", 9);
    CHECK_OK(lam_load_textcls(folder, &s));
    if (!s) return;
    CHECK_OK(lam_text_samples_drop_small_classes(s, 2));
    CHECK(lam_text_samples_num_classes(s) == 2 && strcmp(lam_text_samples_class_name(s, 0), "b") == 0 &&
          strcmp(lam_text_samples_class_name(s, 1), "c") == 0, "b and c kept");
    check_sample(s, 0, "b1", 0);
    check_sample(s, 1, "b2", 0);
    check_sample(s, 2, "c1", 1);
    check_sample(s, 4, "c3", 1);
    CHECK(lam_text_samples_count(s) == 5, "5 samples");
    lam_text_samples_free(s);
}

/* The fortune collection, when installed: the format it was written for. */
static void test_fortunes(void)
{
    const char *fortunes = "/usr/share/games/fortunes";
    struct stat sb;
    if (stat(fortunes, &sb) != 0) {
        printf("test_fortunes: %s not installed (apt-get install fortunes), skipped\n", fortunes);
        return;
    }
    lam_text_samples *s = NULL;
    CHECK_OK(lam_load_textcls(fortunes, &s));
    if (!s) return;
    printf("fortunes: %d classes, %lld samples\n", lam_text_samples_num_classes(s),
           (long long)lam_text_samples_count(s));
    CHECK(lam_text_samples_num_classes(s) >= 10 && lam_text_samples_count(s) > 1000, "fortunes read");
    bool no_percent = true;
    for (int64_t i = 0; i < lam_text_samples_count(s); i++) {
        size_t len;
        const char *t = lam_text_samples_text(s, i, &len);
        no_percent = no_percent && !(len >= 2 && t[len - 1] == '%' && t[len - 2] == '\n');
    }
    CHECK(no_percent, "no record keeps its separator");
    /* The benchmark's classes (docs/BENCHMARKS.md): the files with at least 300 records,
     * in name order, as Debian 12's package has them. */
    static const char *const big[] = {"art", "computers", "cookie", "definitions", "fortunes",
                                      "knghtbrd", "linux", "men-women", "miscellaneous",
                                      "people", "platitudes", "politics", "science",
                                      "songs-poems", "wisdom", "work", "zippy"};
    const int nbig = (int)(sizeof big / sizeof big[0]);
    CHECK_OK(lam_text_samples_drop_small_classes(s, 300));
    bool same = lam_text_samples_num_classes(s) == nbig;
    for (int k = 0; same && k < nbig; k++)
        same = strcmp(lam_text_samples_class_name(s, k), big[k]) == 0;
    printf("fortunes: %d classes with at least 300 records, %lld samples%s\n",
           lam_text_samples_num_classes(s), (long long)lam_text_samples_count(s),
           same ? "" : " (not the 17 of Debian 12: another version of the package?)");
    CHECK(lam_text_samples_num_classes(s) >= 2, "fortunes: classes with 300 records");
    lam_text_samples_free(s);
}

/* --------------------------------------------- a tokenizer in a model file */

static void test_model_tokenizer(void)
{
    size_t len;
    char *text = read_fixture("corpus.txt", &len);
    lam_tokenizer *t = NULL;
    CHECK_OK(lam_tokenizer_train(LAM_TOKENIZER_BPE, 300, text, len, &t));
    lam_model *m = tiny_model();
    lam_tokenizer *none = (lam_tokenizer *)1;
    CHECK_OK(lam_model_tokenizer(m, &none));
    CHECK(none == NULL, "no tokenizer yet");
    CHECK_OK(lam_model_set_tokenizer(m, t));
    const char *path = tmp_path("tok.safetensors");
    CHECK_OK(lam_model_save(m, path));
    lam_model *back = NULL;
    CHECK_OK(lam_model_load(path, &back));
    lam_tokenizer *u = NULL;
    if (back) CHECK_OK(lam_model_tokenizer(back, &u));
    if (u && t) {
        int32_t *a = NULL, *b = NULL;
        int64_t na = 0, nb = 0;
        CHECK_OK(lam_tokenizer_encode(t, text, len, &a, &na));
        CHECK_OK(lam_tokenizer_encode(u, text, len, &b, &nb));
        CHECK(na == nb && memcmp(a, b, sizeof *a * (size_t)na) == 0, "same ids after the file");
        free(a);
        free(b);
    } else {
        CHECK(false, "the tokenizer came back");
    }
    /* A damaged tokenizer entry is refused naming the model and the key. */
    if (back) {
        CHECK_OK(lam_model_set_metadata(back, LAM_TOKENIZER_METADATA_KEY, "{\"type\":\"bpe\"}"));
        lam_tokenizer *x = NULL;
        CHECK_FAILS(lam_model_tokenizer(back, &x), LAM_ERR_FORMAT, "metadata \"tokenizer\"");
    }
    lam_tokenizer_free(u);
    lam_tokenizer_free(t);
    lam_model_free(back);
    lam_model_free(m);
    free(text);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/lamina_test_text.%ld", (long)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) return 2;
    test_metadata();
    test_char_tokenizer();
    test_bpe_fixture();
    test_bpe_round_trip_and_errors();
    test_bpe_speed();
    test_load_text();
    test_lm();
    test_textcls();
    test_drop_small_classes();
    test_fortunes();
    test_model_tokenizer();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_text");
}
