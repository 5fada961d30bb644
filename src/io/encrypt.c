/* encrypt.c - encrypted model files: an encrypting stream between a file
 * writer and the atomic temporary file, and the decryption of a whole file
 * in memory. Layout: docs/MODEL_FILES.md, "Encrypted files".
 *
 *   [6: "LAMENC"][2: version 1, LE][4: plaintext bytes per chunk, LE]
 *   [16: key id][24: secretstream header]
 *   [chunks: crypto_secretstream_xchacha20poly1305, each chunk's plaintext
 *    bytes + 17; every chunk but the last full and tagged MESSAGE, the last
 *    tagged FINAL]
 *
 * The first 28 bytes are the additional data of every chunk, so a changed
 * version, chunk size or key id fails authentication like a changed chunk.
 * secretstream chains the chunks (reordering, dropping or repeating one
 * fails) and the FINAL tag marks the end (a file cut at a chunk boundary is
 * caught as well as one cut inside a chunk). */
#define _GNU_SOURCE /* fopencookie */
#include "io/encrypt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static uint32_t chunk_bytes = LAM_ENC_DEFAULT_CHUNK;

void lam_testing_set_encrypt_chunk(uint32_t bytes)
{
    chunk_bytes = bytes ? bytes : LAM_ENC_DEFAULT_CHUNK;
}

bool lam_encrypted_magic(const unsigned char *buf, size_t n)
{
    return n >= LAM_ENC_MAGIC_LEN && memcmp(buf, LAM_ENC_MAGIC, LAM_ENC_MAGIC_LEN) == 0;
}

void lam_encrypted_key_id_hex(const unsigned char *in, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *id = in + LAM_ENC_MAGIC_LEN + 2 + 4;
    for (int i = 0; i < 8; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[16] = '\0';
}

#ifdef LAMINA_HAVE_SODIUM
#include <sodium.h>

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le(const unsigned char *p, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

/* ------------------------------------------------------------------ write */

typedef struct enc_stream {
    FILE *f; /* the atomic temporary: ciphertext only */
    crypto_secretstream_xchacha20poly1305_state state;
    unsigned char ad[LAM_ENC_FIXED_BYTES];
    unsigned char *plain;  /* one chunk being filled */
    unsigned char *cipher; /* its encryption */
    size_t chunk, used;
} enc_stream;

static bool push_chunk(enc_stream *e, unsigned char tag)
{
    unsigned long long clen = 0;
    crypto_secretstream_xchacha20poly1305_push(&e->state, e->cipher, &clen, e->plain, e->used,
                                               e->ad, sizeof e->ad, tag);
    e->used = 0;
    return fwrite(e->cipher, 1, (size_t)clen, e->f) == (size_t)clen;
}

/* fopencookie's write: fills the chunk buffer, and encrypts a full chunk
 * only when more bytes come, so that the last chunk (tagged FINAL at the
 * end) is never empty unless the whole plaintext is. Returns 0 on error
 * (fwrite's errno stays for the writer's message). */
static ssize_t cookie_write(void *cookie, const char *p, size_t n)
{
    enc_stream *e = cookie;
    size_t done = 0;
    while (done < n) {
        if (e->used == e->chunk && !push_chunk(e, TAG_MESSAGE)) return 0;
        size_t k = n - done < e->chunk - e->used ? n - done : e->chunk - e->used;
        memcpy(e->plain + e->used, p + done, k);
        e->used += k;
        done += k;
    }
    return (ssize_t)n;
}

typedef struct enc_write_ctx {
    const char *path;
    lam_write_fn fn;
    void *user;
    const lam_key *key;
} enc_write_ctx;

static lam_status write_header(enc_stream *e, const lam_key *key, const char *path)
{
    unsigned char h[LAM_ENC_HEADER_BYTES];
    memcpy(h, LAM_ENC_MAGIC, LAM_ENC_MAGIC_LEN);
    put_le(h + LAM_ENC_MAGIC_LEN, LAM_ENC_VERSION, 2);
    put_le(h + LAM_ENC_MAGIC_LEN + 2, (uint32_t)e->chunk, 4);
    memcpy(h + LAM_ENC_MAGIC_LEN + 6, key->id, LAM_ENC_KEY_ID_BYTES);
    crypto_secretstream_xchacha20poly1305_init_push(&e->state, h + LAM_ENC_FIXED_BYTES, key->stream);
    memcpy(e->ad, h, sizeof e->ad);
    if (fwrite(h, 1, sizeof h, e->f) != sizeof h)
        return lam_error(LAM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return LAM_OK;
}

/* lam_write_atomic's writer: the inner writer's bytes go through an
 * unbuffered cookie stream into the chunk buffer, so that no plaintext
 * reaches f (nor a stdio buffer this code does not wipe). */
static lam_status encrypt_write(FILE *f, void *user)
{
    const enc_write_ctx *c = user;
    enc_stream e;
    memset(&e, 0, sizeof e);
    e.f = f;
    e.chunk = chunk_bytes;
    e.plain = lam_malloc(e.chunk);
    e.cipher = e.plain ? lam_malloc(e.chunk + ABYTES) : NULL;
    lam_status st = LAM_OK;
    if (!e.cipher) st = lam_error_context(LAM_ERR_NOMEM, "%s: encryption buffers", c->path);
    if (st == LAM_OK) st = write_header(&e, c->key, c->path);
    FILE *plain = NULL;
    if (st == LAM_OK) {
        cookie_io_functions_t io = {.write = cookie_write};
        plain = fopencookie(&e, "wb", io);
        if (!plain || setvbuf(plain, NULL, _IONBF, 0) != 0)
            st = lam_error(LAM_ERR_NOMEM, "%s: cannot open the encrypting stream", c->path);
    }
    if (st == LAM_OK) st = c->fn(plain, c->user);
    if (st == LAM_OK && fflush(plain) != 0)
        st = lam_error(LAM_ERR_IO, "%s: write failed: %s", c->path, strerror(errno));
    if (st == LAM_OK && !push_chunk(&e, TAG_FINAL))
        st = lam_error(LAM_ERR_IO, "%s: write failed: %s", c->path, strerror(errno));
    if (plain) fclose(plain);
    lam_wipe(e.plain, e.chunk);
    lam_free(e.plain);
    lam_free(e.cipher);
    sodium_memzero(&e.state, sizeof e.state);
    return st;
}

lam_status lam_write_atomic_encrypted(const char *path, lam_write_fn fn, void *user,
                                      const lam_key *key)
{
    if (!key) return lam_error(LAM_ERR_ARG, "%s: no key to encrypt with", path);
    LAM_TRY(lam_sodium_ready());
    enc_write_ctx c = {path, fn, user, key};
    return lam_write_atomic(path, encrypt_write, &c);
}

/* ------------------------------------------------------------------ read */

lam_status lam_decrypt_bytes(const char *path, const unsigned char *in, size_t n,
                             const lam_key *key, unsigned char **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    LAM_TRY(lam_sodium_ready());
    if (n < LAM_ENC_HEADER_BYTES)
        return lam_error(LAM_ERR_FORMAT, "%s: truncated: %zu bytes, but an encrypted lamina file "
                         "has a %d-byte header", path, n, LAM_ENC_HEADER_BYTES);
    const uint32_t version = get_le(in + LAM_ENC_MAGIC_LEN, 2);
    if (version != LAM_ENC_VERSION)
        return lam_error(LAM_ERR_FORMAT, "%s: encrypted-file version %u; this lamina reads "
                         "version %d", path, (unsigned)version, LAM_ENC_VERSION);
    const uint32_t chunk = get_le(in + LAM_ENC_MAGIC_LEN + 2, 4);
    if (chunk < LAM_ENC_MIN_CHUNK || chunk > LAM_ENC_MAX_CHUNK)
        return lam_error(LAM_ERR_FORMAT, "%s: chunk size %u, expected %u to %u; the header was "
                         "changed", path, (unsigned)chunk, LAM_ENC_MIN_CHUNK, LAM_ENC_MAX_CHUNK);
    if (memcmp(in + LAM_ENC_MAGIC_LEN + 6, key->id, LAM_ENC_KEY_ID_BYTES) != 0) {
        char file_id[17], key_id[17];
        lam_encrypted_key_id_hex(in, file_id);
        lam_key_id_hex(key, key_id);
        return lam_error(LAM_ERR_FORMAT, "%s: wrong key: the file was encrypted with key id %s, "
                         "the key given has id %s (or the file's header was changed)", path,
                         file_id, key_id);
    }
    crypto_secretstream_xchacha20poly1305_state state;
    /* init_pull only copies the header into the state; it cannot fail. */
    crypto_secretstream_xchacha20poly1305_init_pull(&state, in + LAM_ENC_FIXED_BYTES, key->stream);
    /* Every chunk carries ABYTES of overhead: the plaintext is shorter than
     * the rest of the file. */
    const size_t body = n - LAM_ENC_HEADER_BYTES;
    unsigned char *plain = lam_malloc(body + 1);
    if (!plain) {
        sodium_memzero(&state, sizeof state);
        return lam_error_context(LAM_ERR_NOMEM, "%s: decrypting", path);
    }
    lam_status st = LAM_OK;
    size_t pos = LAM_ENC_HEADER_BYTES, got = 0;
    for (size_t index = 0;; index++) {
        const size_t left = n - pos;
        if (left == 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: truncated: the file ends after chunk %zu without "
                           "the final one (%zu bytes)", path, index, n);
            break;
        }
        const size_t take = left < chunk + ABYTES ? left : chunk + ABYTES;
        if (take < ABYTES) {
            st = lam_error(LAM_ERR_FORMAT, "%s: truncated: %zu bytes of chunk %zu, less than its "
                           "%d-byte tag", path, take, index, (int)ABYTES);
            break;
        }
        unsigned long long mlen = 0;
        unsigned char tag = 0;
        if (crypto_secretstream_xchacha20poly1305_pull(&state, plain + got, &mlen, &tag, in + pos,
                                                       take, in, LAM_ENC_FIXED_BYTES) != 0) {
            st = lam_error(LAM_ERR_FORMAT, "%s: authentication failed in chunk %zu (bytes %zu to "
                           "%zu): the file was changed, truncated or extended", path, index, pos,
                           pos + take);
            break;
        }
        got += (size_t)mlen;
        pos += take;
        if (tag == TAG_FINAL) {
            if (pos != n)
                st = lam_error(LAM_ERR_FORMAT, "%s: %zu bytes after the final chunk (ends at byte "
                               "%zu); something was appended", path, n - pos, pos);
            break;
        }
        if (tag != TAG_MESSAGE) {
            st = lam_error(LAM_ERR_FORMAT, "%s: chunk %zu has tag %u, which lamina never writes",
                           path, index, (unsigned)tag);
            break;
        }
    }
    sodium_memzero(&state, sizeof state);
    if (st != LAM_OK) {
        sodium_memzero(plain, got);
        lam_free(plain);
        return st;
    }
    *out = plain;
    *out_n = got;
    return LAM_OK;
}

#else /* built without libsodium */

lam_status lam_write_atomic_encrypted(const char *path, lam_write_fn fn, void *user,
                                      const lam_key *key)
{
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: cannot encrypt: built without libsodium: install "
                     "libsodium-dev and reconfigure", path);
}

lam_status lam_decrypt_bytes(const char *path, const unsigned char *in, size_t n,
                             const lam_key *key, unsigned char **out, size_t *out_n)
{
    *out = NULL;
    *out_n = 0;
    return lam_error(LAM_ERR_UNSUPPORTED, "%s: an encrypted lamina model file, and this lamina was "
                     "built without libsodium: install libsodium-dev and reconfigure", path);
}

#endif
