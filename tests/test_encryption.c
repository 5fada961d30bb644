/* test_encryption.c - encrypted model files (lamina_encrypt.h): round trip
 * with bit-identical predictions; every byte of a small file changed in
 * turn, every truncation, appended bytes, reordered chunks and a wrong key
 * refused; no plaintext in the written file; keys from hex and key files;
 * an encrypted checkpoint resumed equals a plaintext one resumed; the
 * encrypted ModelCheckpoint callback. Skipped (77) in a build without
 * libsodium. */
#define _GNU_SOURCE /* memmem */
#include "lamina.h"
#include "io/encrypt.h"
#include "test.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void spit(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    CHECK(fd >= 0, "cannot write %s", path);
    if (fd < 0) return;
    CHECK(write(fd, p, n) == (ssize_t)n, "short write to %s", path);
    fchmod(fd, mode); /* whatever the umask */
    close(fd);
}

/* Dense 4 -> 5 (tanh) -> 3 (softmax), Adam: weights and two optimizer slots. */
static lam_model *small_model(uint64_t seed)
{
    lam_model *m = lam_sequential("enc");
    lam_model_add_input(m, 1, (int64_t[]){4});
    CHECK_OK(lam_model_add_dense(m, 5, LAM_ACT_TANH));
    CHECK_OK(lam_model_add_dropout(m, 0.2f));
    CHECK_OK(lam_model_add_dense(m, 3, LAM_ACT_SOFTMAX));
    lam_model_set_seed(m, seed);
    lam_optimizer adam = lam_adam();
    adam.learning_rate = 0.01f;
    CHECK_OK(lam_model_compile(m, &adam, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    return m;
}

static lam_dataset *random_data(int64_t n)
{
    lam_dataset *ds = NULL;
    CHECK_OK(lam_dataset_create(&ds, LAM_F32, n, 1, (int64_t[]){4}, true, 0));
    float *x = lam_dataset_x(ds);
    int32_t *y = lam_dataset_labels(ds);
    for (int64_t i = 0; i < n * 4; i++) x[i] = test_rndf();
    for (int64_t i = 0; i < n; i++) y[i] = (int32_t)(i % 3);
    return ds;
}

static bool same_params(lam_model *a, lam_model *b)
{
    int64_t n = lam_model_param_count(a);
    if (n != lam_model_param_count(b)) return false;
    if (memcmp(lam_model_params(a), lam_model_params(b), sizeof(float) * (size_t)n)) return false;
    for (int s = 0; s < lam_model_num_slots(a); s++)
        if (memcmp(lam_model_slot(a, s), lam_model_slot(b, s), sizeof(float) * (size_t)n))
            return false;
    return true;
}

static lam_key *key_a, *key_b;

/* Loading path with key_a must fail with LAM_ERR_FORMAT and no model. */
static bool refused(const char *path)
{
    lam_model *m = NULL;
    lam_status s = lam_model_load_key(path, key_a, &m);
    bool ok = s == LAM_ERR_FORMAT && !m && lam_last_error()[0] && strstr(lam_last_error(), path);
    lam_model_free(m);
    return ok;
}

static void test_round_trip(void)
{
    lam_dataset *ds = random_data(30);
    lam_model *m = small_model(1);
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 8;
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    const char *path = tmp_path("round.safetensors");
    CHECK_OK(lam_model_save_encrypted(m, path, key_a));
    bool enc = false;
    CHECK_OK(lam_model_file_encrypted(path, &enc));
    CHECK(enc, "lam_model_file_encrypted: a file lam_model_save_encrypted wrote is not seen as "
               "encrypted");
    lam_model *back = NULL;
    CHECK_OK(lam_model_load_key(path, key_a, &back));
    if (back) {
        CHECK(same_params(m, back), "weights or optimizer slots differ after the round trip");
        float p1[30 * 3], p2[30 * 3];
        CHECK_OK(lam_predict(m, ds, 8, p1));
        CHECK_OK(lam_predict(back, ds, 8, p2));
        CHECK(memcmp(p1, p2, sizeof p1) == 0, "predictions differ after the round trip");
        lam_train_state a, b;
        lam_model_train_state(m, &a);
        lam_model_train_state(back, &b);
        CHECK(a.step == b.step && a.epoch == b.epoch && !memcmp(a.rng, b.rng, sizeof a.rng),
              "training state differs after the round trip");
    }
    lam_model_free(back);

    /* Without a key: refused, saying it is encrypted. */
    lam_model *none = NULL;
    CHECK_FAILS(lam_model_load(path, &none), LAM_ERR_FORMAT, "encrypted");
    CHECK(!none, "a model came back from a refused load");
    CHECK_FAILS(lam_model_load_key(path, NULL, &none), LAM_ERR_FORMAT, "needs its key");
    /* The wrong key: named as such. */
    CHECK_FAILS(lam_model_load_key(path, key_b, &none), LAM_ERR_FORMAT, "wrong key");
    CHECK(!none, "a model came back with the wrong key");

    /* A plaintext file loads whether a key is given or not. */
    const char *plain = tmp_path("plain.safetensors");
    CHECK_OK(lam_model_save(m, plain));
    CHECK_OK(lam_model_file_encrypted(plain, &enc));
    CHECK(!enc, "a plaintext file is seen as encrypted");
    CHECK_OK(lam_model_load_key(plain, key_a, &back));
    CHECK(back && same_params(m, back), "plaintext file loaded with a key differs");
    lam_model_free(back);

    /* Encrypting twice gives different files (a fresh nonce each time). */
    const char *again = tmp_path("again.safetensors");
    CHECK_OK(lam_model_save_encrypted(m, again, key_a));
    size_t n1, n2;
    unsigned char *b1 = test_read_file(path, &n1), *b2 = test_read_file(again, &n2);
    CHECK(n1 == n2 && memcmp(b1 + LAM_ENC_FIXED_BYTES, b2 + LAM_ENC_FIXED_BYTES,
                             n1 - LAM_ENC_FIXED_BYTES) != 0,
          "two encryptions of one model are identical: the nonce is not fresh");
    free(b1);
    free(b2);
    lam_model_free(m);
    lam_dataset_free(ds);
}

/* Every byte changed, every truncation, appended bytes, reordered chunks:
 * each refused, none loads. chunk: plaintext bytes per chunk (small ones
 * put several chunks into a small file). */
static void test_tampering(uint32_t chunk)
{
    lam_testing_set_encrypt_chunk(chunk);
    lam_model *m = small_model(2);
    char name[64];
    snprintf(name, sizeof name, "tamper-%u.safetensors", (unsigned)chunk);
    const char *path = tmp_path(name);
    CHECK_OK(lam_model_save_encrypted(m, path, key_a));
    lam_testing_set_encrypt_chunk(0);
    size_t n;
    unsigned char *good = test_read_file(path, &n);
    unsigned char *bad = malloc(n + 2 * chunk + 64);
    const char *t = tmp_path("tampered.safetensors");
    const size_t nchunks = (n - LAM_ENC_HEADER_BYTES + chunk + 16) / (chunk + 17);

    int changed_ok = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(bad, good, n);
        bad[i] ^= (unsigned char)(1u << (i % 8)); /* one bit, a different one each time */
        spit(t, bad, n, 0644);
        if (refused(t)) changed_ok++;
        else printf("byte %zu of %zu changed: not refused (%s)\n", i, n, lam_last_error());
    }
    CHECK(changed_ok == (int)n, "chunk %u: %d of %zu changed bytes refused", (unsigned)chunk,
          changed_ok, n);

    int cut_ok = 0;
    for (size_t len = 0; len < n; len++) {
        spit(t, good, len, 0644);
        if (refused(t)) cut_ok++;
        else printf("truncated to %zu of %zu bytes: not refused (%s)\n", len, n, lam_last_error());
    }
    CHECK(cut_ok == (int)n, "chunk %u: %d of %zu truncations refused", (unsigned)chunk, cut_ok, n);
    /* A cut at a chunk boundary (all whole chunks, the FINAL one missing) is
     * named as truncation, not as a changed byte. */
    if (nchunks > 1) {
        spit(t, good, n - (n - LAM_ENC_HEADER_BYTES) % (chunk + 17), 0644);
        CHECK(refused(t) && strstr(lam_last_error(), "truncated"),
              "cut at a chunk boundary: %s", lam_last_error());
    }

    /* Appended bytes: one, a tag's worth, a whole chunk (a copy of the last). */
    const size_t extra[] = {1, 17, chunk + 17};
    for (int k = 0; k < 3; k++) {
        memcpy(bad, good, n);
        size_t e = extra[k] < n ? extra[k] : n;
        memcpy(bad + n, good + n - e, e);
        spit(t, bad, n + e, 0644);
        CHECK(refused(t), "chunk %u: %zu bytes appended: not refused (%s)", (unsigned)chunk, e,
              lam_last_error());
    }
    /* Two chunks swapped. */
    if (nchunks > 2) {
        const size_t c = chunk + 17, a = LAM_ENC_HEADER_BYTES;
        memcpy(bad, good, n);
        memcpy(bad + a, good + a + c, c);
        memcpy(bad + a + c, good + a, c);
        spit(t, bad, n, 0644);
        CHECK(refused(t), "chunks 0 and 1 swapped: not refused");
    }
    CHECK(nchunks == 1 || chunk < 4096, "expected several chunks with a %u-byte chunk",
          (unsigned)chunk);
    printf("chunk %u: %zu-byte file in %zu chunk(s): %d changed bytes, %d truncations refused\n",
           (unsigned)chunk, n, nchunks, changed_ok, cut_ok);
    free(bad);
    free(good);
    lam_model_free(m);
}

/* Does hay contain any 64-byte run of needle? */
static bool shares_run(const unsigned char *hay, size_t nh, const unsigned char *needle,
                       size_t nn)
{
    for (size_t i = 0; i + 64 <= nn; i += 8)
        if (memmem(hay, nh, needle + i, 64)) return true;
    return false;
}

/* The encrypted file holds no 64-byte run of the plaintext file. The atomic
 * writer only appends (fwrite, no seeks) to the temporary that is then
 * renamed, so the final file is everything that temporary ever received;
 * and no other file appears in the folder. */
static void test_no_plaintext(void)
{
    lam_model *m = lam_sequential("pattern");
    lam_model_add_input(m, 1, (int64_t[]){64});
    CHECK_OK(lam_model_add_dense(m, 512, LAM_ACT_RELU)); /* 130 KiB of weights: 3 chunks */
    CHECK_OK(lam_model_add_dense(m, 2, LAM_ACT_SOFTMAX));
    lam_optimizer sgd = lam_sgd();
    CHECK_OK(lam_model_compile(m, &sgd, LAM_LOSS_SPARSE_CATEGORICAL_CE));
    float *w = lam_model_params(m);
    for (int64_t i = 0; i < lam_model_param_count(m); i++) w[i] = 1.0f + (float)(i % 7);
    const char *plain = tmp_path("pattern-plain.safetensors");
    const char *enc = tmp_path("pattern.safetensors");
    CHECK_OK(lam_model_save(m, plain));
    size_t np, ne;
    unsigned char *p = test_read_file(plain, &np);
    unlink(plain);
    DIR *d = opendir(dir);
    struct dirent *e;
    int before = 0, after = 0;
    while ((e = readdir(d))) before++;
    closedir(d);
    CHECK_OK(lam_model_save_encrypted(m, enc, key_a));
    d = opendir(dir);
    while ((e = readdir(d))) after++;
    closedir(d);
    CHECK(after == before + 1, "the encrypted save left %d files, expected 1", after - before);
    unsigned char *c = test_read_file(enc, &ne);
    CHECK(np > 130000 && ne > np, "plaintext %zu bytes, encrypted %zu", np, ne);
    CHECK(!shares_run(c, ne, p, np), "the encrypted file contains plaintext");
    /* The check can fail: the plaintext file shares runs with itself. */
    CHECK(shares_run(p, np, p, np), "shares_run finds nothing");
    free(p);
    free(c);
    lam_model_free(m);
}

static void test_keys(void)
{
    static const char HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1F";
    unsigned char raw[32];
    for (int i = 0; i < 32; i++) raw[i] = (unsigned char)i;
    lam_key *from_raw = NULL, *k = NULL;
    CHECK_OK(lam_key_from_bytes(raw, &from_raw));
    char want[17], got[17];
    lam_key_id_hex(from_raw, want);
    CHECK(strlen(want) == 16 && strcmp(want, "0001020304050607") != 0, "key id %s", want);

    CHECK_OK(lam_key_from_hex(HEX, &k));
    if (k) lam_key_id_hex(k, got);
    CHECK(k && !strcmp(got, want), "hex key id %s, raw key id %s", got, want);
    lam_key_free(k);
    CHECK_FAILS(lam_key_from_hex("0011", &k), LAM_ERR_ARG, "64 hex digits");
    char bad[65];
    memcpy(bad, HEX, 65);
    bad[10] = 'g';
    CHECK_FAILS(lam_key_from_hex(bad, &k), LAM_ERR_ARG, "non-hex");
    CHECK(!k, "a key from bad hex");

    /* Key files: raw, hex with and without newline (LF, CRLF). */
    const char *f = tmp_path("k.key");
    const struct { const char *text; size_t n; } ok[] = {
        {(const char *)raw, 32}, {HEX, 64}, {"", 0}, {"", 0}};
    char lf[66], crlf[67];
    snprintf(lf, sizeof lf, "%s\n", HEX);
    snprintf(crlf, sizeof crlf, "%s\r\n", HEX);
    for (int i = 0; i < 4; i++) {
        const char *text = i == 2 ? lf : i == 3 ? crlf : ok[i].text;
        size_t n = i == 2 ? 65 : i == 3 ? 66 : ok[i].n;
        spit(f, text, n, 0600);
        CHECK_OK(lam_key_load_file(f, &k));
        if (k) lam_key_id_hex(k, got);
        CHECK(k && !strcmp(got, want), "key file form %d: id %s, expected %s", i, got, want);
        lam_key_free(k);
    }
    spit(f, HEX, 63, 0600);
    CHECK_FAILS(lam_key_load_file(f, &k), LAM_ERR_FORMAT, "expected 32 raw bytes or 64 hex");
    spit(f, "\n\n\n\n", 4, 0600);
    CHECK_FAILS(lam_key_load_file(f, &k), LAM_ERR_FORMAT, "expected 32 raw bytes");
    char longer[80];
    snprintf(longer, sizeof longer, "%s\n\n\n\n", HEX);
    spit(f, longer, strlen(longer), 0600);
    CHECK_FAILS(lam_key_load_file(f, &k), LAM_ERR_FORMAT, "or more");
    spit(f, lf, 65, 0640);
    CHECK_FAILS(lam_key_load_file(f, &k), LAM_ERR_ARG, "chmod 600");
    CHECK(!k, "a key from a group-readable file");
    CHECK_FAILS(lam_key_load_file(tmp_path("missing.key"), &k), LAM_ERR_IO, "missing.key");
    unlink(f);

    /* Saved keys: mode 0600, read back equal, never overwritten. */
    lam_key *gen = NULL;
    CHECK_OK(lam_key_generate(&gen));
    const char *g = tmp_path("gen.key");
    CHECK_OK(lam_key_save_file(gen, g));
    struct stat sb;
    CHECK(stat(g, &sb) == 0 && (sb.st_mode & 0777) == 0600, "key file mode %o",
          (unsigned)(sb.st_mode & 0777));
    CHECK_OK(lam_key_load_file(g, &k));
    char gid[17];
    lam_key_id_hex(gen, gid);
    if (k) lam_key_id_hex(k, got);
    CHECK(k && !strcmp(gid, got), "saved key reads back with id %s, expected %s", got, gid);
    lam_key_free(k);
    CHECK_FAILS(lam_key_save_file(from_raw, g), LAM_ERR_IO, "never replaced");
    CHECK_OK(lam_key_load_file(g, &k));
    if (k) lam_key_id_hex(k, got);
    CHECK(k && !strcmp(gid, got), "a refused save changed the key file");
    lam_key_free(k);
    unlink(g);
    lam_key_free(gen);
    lam_key_free(from_raw);
    lam_key_free(NULL);
}

/* fit stops after its second checkpoint (as SIGINT would). */
typedef struct ckpt { const char *path; const lam_key *key; int taken; } ckpt;

static lam_status save_checkpoint(lam_model *m, void *user)
{
    ckpt *c = user;
    lam_status st = c->key ? lam_model_save_encrypted(m, c->path, c->key)
                           : lam_model_save(m, c->path);
    if (++c->taken == 2) lam_request_stop();
    return st;
}

/* Stops inside epoch 1 with a checkpoint (encrypted with key, or not), loads
 * it and trains on to epoch 2: the final weights. */
static lam_model *interrupted_run(const lam_dataset *ds, const lam_key *key, const char *path)
{
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 8;
    fo.epochs = 2;
    ckpt c = {path, key, 0};
    fo.checkpoint = save_checkpoint;
    fo.checkpoint_user = &c;
    fo.checkpoint_every_steps = 3;
    lam_model *a = small_model(9);
    CHECK_FAILS(lam_fit(a, ds, &fo, NULL), LAM_ERR_INTERRUPTED, "step 7");
    lam_clear_stop();
    lam_model_free(a);
    lam_model *b = NULL;
    CHECK_OK(lam_model_load_key(path, key, &b));
    if (!b) return NULL;
    fo.checkpoint = NULL;
    CHECK_OK(lam_fit(b, ds, &fo, NULL));
    return b;
}

static void test_checkpoint_resume(void)
{
    lam_dataset *ds = random_data(80);
    lam_model *full = small_model(9);
    lam_fit_options fo = lam_fit_defaults();
    fo.verbose = 0;
    fo.batch_size = 8;
    fo.epochs = 2;
    CHECK_OK(lam_fit(full, ds, &fo, NULL));
    const char *ep = tmp_path("ckpt-enc.safetensors"), *pp = tmp_path("ckpt-plain.safetensors");
    lam_model *enc = interrupted_run(ds, key_a, ep);
    lam_model *plain = interrupted_run(ds, NULL, pp);
    bool is_enc = false;
    CHECK_OK(lam_model_file_encrypted(ep, &is_enc));
    CHECK(is_enc, "the encrypted checkpoint is not encrypted");
    CHECK(enc && plain && same_params(enc, plain),
          "resume from an encrypted checkpoint differs from resume from a plaintext one");
    CHECK(enc && same_params(enc, full), "resume from an encrypted checkpoint differs from an "
                                         "uninterrupted run");
    lam_model_free(enc);
    lam_model_free(plain);

    /* The ModelCheckpoint callback, encrypted: {epoch} files, each encrypted. */
    lam_callback cb = lam_model_checkpoint_encrypted(tmp_path("cb-{epoch}.safetensors"), key_a);
    fo.callbacks = &cb;
    fo.ncallbacks = 1;
    lam_model *m = small_model(4);
    CHECK_OK(lam_fit(m, ds, &fo, NULL));
    for (int e = 1; e <= 2; e++) {
        char name[64];
        snprintf(name, sizeof name, "cb-%d.safetensors", e);
        lam_model *back = NULL;
        CHECK_OK(lam_model_file_encrypted(tmp_path(name), &is_enc));
        CHECK(is_enc, "ModelCheckpoint %s is not encrypted", name);
        CHECK_OK(lam_model_load_key(tmp_path(name), key_a, &back));
        if (e == 2) CHECK(back && same_params(back, m), "the last ModelCheckpoint differs");
        lam_model_free(back);
    }
    cb.save_encrypted = NULL;
    CHECK_FAILS(lam_fit(m, ds, &fo, NULL), LAM_ERR_ARG, "save_encrypted");
    lam_model_free(m);
    lam_model_free(full);
    lam_dataset_free(ds);
}

int main(void)
{
    lam_set_threads(1);
    lam_key *probe = NULL;
    if (lam_key_generate(&probe) == LAM_ERR_UNSUPPORTED) {
        printf("test_encryption: skipped: %s\n", lam_last_error());
        return 77;
    }
    lam_key_free(probe);
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/lamina-enc-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    CHECK_OK(lam_key_generate(&key_a));
    CHECK_OK(lam_key_generate(&key_b));
    test_keys();
    test_round_trip();
    test_tampering(LAM_ENC_DEFAULT_CHUNK);
    test_tampering(256);
    test_no_plaintext();
    test_checkpoint_resume();
    lam_key_free(key_a);
    lam_key_free(key_b);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return test_summary("test_encryption");
}
