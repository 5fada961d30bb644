/* encrypt.h - what encrypt.c and encrypt_key.c share with model_file.c:
 * the encrypted-file layout (docs/MODEL_FILES.md, "Encrypted files"), the key
 * as the library holds it, and the encrypting and decrypting streams. */
#ifndef LAM_ENCRYPT_H
#define LAM_ENCRYPT_H

#include "internal.h"

/* Header: magic "LAMENC", version (uint16 LE), plaintext bytes per chunk
 * (uint32 LE), key id (16 bytes), secretstream header (24 bytes). */
#define LAM_ENC_MAGIC "LAMENC"
#define LAM_ENC_MAGIC_LEN 6
#define LAM_ENC_VERSION 1
#define LAM_ENC_KEY_ID_BYTES 16
#define LAM_ENC_STREAM_HEADER_BYTES 24
#define LAM_ENC_FIXED_BYTES (LAM_ENC_MAGIC_LEN + 2 + 4 + LAM_ENC_KEY_ID_BYTES)
#define LAM_ENC_HEADER_BYTES (LAM_ENC_FIXED_BYTES + LAM_ENC_STREAM_HEADER_BYTES)
#define LAM_ENC_DEFAULT_CHUNK 65536u
/* Chunk sizes a reader accepts: anything lamina may write (tests use small
 * chunks to cross chunk boundaries in small files). */
#define LAM_ENC_MIN_CHUNK 16u
#define LAM_ENC_MAX_CHUNK (16u << 20)

struct lam_key {
    unsigned char raw[LAM_KEY_BYTES];    /* what the key file holds */
    unsigned char stream[LAM_KEY_BYTES]; /* BLAKE2b(key=raw, "lamina model file key v1") */
    unsigned char id[LAM_ENC_KEY_ID_BYTES]; /* BLAKE2b(key=raw, "lamina key id v1") */
};

/* Whether buf (n bytes) starts with the magic. */
bool lam_encrypted_magic(const unsigned char *buf, size_t n);

/* lam_write_atomic, with fn's bytes encrypted on their way to the file. */
lam_status lam_write_atomic_encrypted(const char *path, lam_write_fn fn, void *user,
                                      const lam_key *key);

/* The plaintext of an encrypted file's bytes in (n of them), in *out
 * (lam_malloc'ed, *out_n bytes; the caller wipes and frees it); path names
 * the file in messages. */
lam_status lam_decrypt_bytes(const char *path, const unsigned char *in, size_t n,
                             const lam_key *key, unsigned char **out, size_t *out_n);

/* The key id of an encrypted file's header as 16 hex digits (out: 17 bytes);
 * in holds at least LAM_ENC_FIXED_BYTES. */
void lam_encrypted_key_id_hex(const unsigned char *in, char *out);

/* Wipes n bytes (sodium_memzero where built with libsodium). */
void lam_wipe(void *p, size_t n);

/* Testing hook: the plaintext chunk size of files written from now on
 * (LAM_ENC_MIN_CHUNK..LAM_ENC_MAX_CHUNK; 0 restores the default 64 KiB). */
void lam_testing_set_encrypt_chunk(uint32_t bytes);

#ifdef LAMINA_HAVE_SODIUM
/* sodium_init, once per process (thread-safe). */
lam_status lam_sodium_ready(void);
#endif

#endif
