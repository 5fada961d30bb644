/* fuzz_encrypted.c - lam_model_load_key on arbitrary bytes with a fixed key:
 * the encrypted-file reader (header, key id, chunk walk, FINAL tag; then the
 * safetensors reader on what decrypts), and plaintext files given a key. A
 * model that loads is saved encrypted again with 64-byte chunks (many
 * chunks, every chunk boundary of the writer) and reloaded, which must
 * succeed. Seeds: fuzz/corpus/fuzz_encrypted/ (fuzz/make_encrypted_corpus.sh)
 * are encrypted with this key. */
#include "fuzz_common.h"
#include "io/encrypt.h"

/* 00 01 02 ... 1f, as 64 hex digits for LAMINA_KEY when making seeds. */
static lam_key *fuzz_encrypted_key(void)
{
    static lam_key *key;
    if (!key) {
        unsigned char raw[LAM_KEY_BYTES];
        for (int i = 0; i < LAM_KEY_BYTES; i++) raw[i] = (unsigned char)i;
        if (lam_key_from_bytes(raw, &key) != LAM_OK) {
            fprintf(stderr, "fuzz_encrypted: %s\n", lam_last_error());
            abort();
        }
    }
    return key;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const lam_key *key = fuzz_encrypted_key();
    const char *path = fuzz_path(0, "-enc.safetensors");
    fuzz_write(path, data, size);
    lam_model *m = NULL;
    lam_error_clear();
    lam_status s = lam_model_load_key(path, key, &m);
    fuzz_check(s, m, "lam_model_load_key");
    if (m) {
        const char *again = fuzz_path(1, "-enc-again.safetensors");
        lam_testing_set_encrypt_chunk(64);
        s = lam_model_save_encrypted(m, again, key);
        lam_testing_set_encrypt_chunk(0);
        if (s != LAM_OK) {
            fprintf(stderr, "a loaded model does not save encrypted: %s\n", lam_last_error());
            abort();
        }
        lam_model *m2 = NULL;
        s = lam_model_load_key(again, key, &m2);
        if (s != LAM_OK) {
            fprintf(stderr, "a loaded model, saved encrypted, does not load: %s\n",
                    lam_last_error());
            abort();
        }
        lam_model_free(m2);
        lam_model_free(m);
    }
    return 0;
}
