/* lamina_encrypt.h - model files and checkpoints encrypted at rest
 * (libsodium: crypto_secretstream_xchacha20poly1305). Included by lamina.h.
 * File format and key files: docs/MODEL_FILES.md, "Encrypted files".
 *
 * Intended usage:
 *
 *     lam_key *key;
 *     lam_key_load_file("model.key", &key);        // 32 bytes, raw or 64 hex digits
 *     lam_model_save_encrypted(m, "m.safetensors", key);
 *     lam_model *back;
 *     lam_model_load_key("m.safetensors", key, &back);
 *     lam_key_free(key);                             // wiped
 *
 * The library never reads the environment: the lamina command takes the key
 * from LAMINA_KEY_FILE or LAMINA_KEY and passes it here. A build without
 * libsodium (LAMINA_SODIUM=OFF, or libsodium-dev missing) has these calls,
 * and they return LAM_ERR_UNSUPPORTED. */
#ifndef LAMINA_ENCRYPT_H
#define LAMINA_ENCRYPT_H

#include "lamina.h"

#define LAM_KEY_BYTES 32

/* A 32-byte secret key (opaque; lam_key is declared in lamina.h). */
lam_status lam_key_from_bytes(const unsigned char bytes[LAM_KEY_BYTES], lam_key **out);
/* Exactly 64 hex digits (either case); surrounding white space is refused
 * too, so that a mangled key cannot be half-used. */
lam_status lam_key_from_hex(const char *hex, lam_key **out);
/* A key file: 32 raw bytes, or 64 hex digits with an optional final newline.
 * Refused when the group or others may read it (chmod 600), as ssh refuses
 * such private keys. */
lam_status lam_key_load_file(const char *path, lam_key **out);
/* A fresh random key (libsodium's randombytes). */
lam_status lam_key_generate(lam_key **out);
/* Writes the key as 64 hex digits and a newline to a new file of mode 0600;
 * atomic (the file appears complete or not at all) and never replaces an
 * existing file (LAM_ERR_IO naming it). */
lam_status lam_key_save_file(const lam_key *key, const char *path);
/* 16 hex digits identifying the key (a keyed BLAKE2b of a fixed string:
 * it reveals nothing about the key); out holds at least 17 bytes. */
void lam_key_id_hex(const lam_key *key, char *out);
/* Wipes (sodium_memzero) and frees; NULL is allowed. */
void lam_key_free(lam_key *key);

/* lam_model_save, but the file holds the safetensors bytes encrypted and
 * authenticated; the temporary file of the atomic write only ever receives
 * ciphertext. */
lam_status lam_model_save_encrypted(const lam_model *m, const char *path, const lam_key *key);
/* lam_model_load for encrypted and plaintext files alike: an encrypted file
 * (recognised by its magic) is decrypted in memory with key, a plaintext one
 * is read as by lam_model_load whatever key is given (key may be NULL).
 * A key does not make a plaintext file trustworthy: a caller that must have
 * authenticated files checks lam_model_file_encrypted first. Wrong key,
 * changed bytes, truncation and bytes after the end are refused with
 * LAM_ERR_FORMAT naming the file. */
lam_status lam_model_load_key(const char *path, const lam_key *key, lam_model **out);
/* Whether the file starts with the encrypted-file magic (false, LAM_OK when
 * it does not; LAM_ERR_IO when it cannot be read). Works without libsodium. */
lam_status lam_model_file_encrypted(const char *path, bool *encrypted);
/* A ModelCheckpoint callback (lam_model_checkpoint) saving encrypted with
 * key, which must outlive the fit. */
lam_callback lam_model_checkpoint_encrypted(const char *path, const lam_key *key);

#endif
