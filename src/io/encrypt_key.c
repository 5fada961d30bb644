/* encrypt_key.c - the secret keys of encrypted model files: made from bytes,
 * hex or a key file, generated, written to a new 0600 file, wiped when freed.
 *
 * The key the user holds is never used directly: two keyed BLAKE2b hashes of
 * fixed strings give the secretstream key and a 16-byte key id. The id is
 * stored in every file so that a wrong key is named as such before any
 * decryption, and reveals nothing about the key (a PRF output). */
#define _GNU_SOURCE /* O_TMPFILE */
#include "io/encrypt.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef LAMINA_HAVE_SODIUM
#include <pthread.h>
#include <sodium.h>

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_status = -1;

static void sodium_start(void) { sodium_status = sodium_init(); }

lam_status lam_sodium_ready(void)
{
    pthread_once(&sodium_once, sodium_start);
    if (sodium_status < 0)
        return lam_error(LAM_ERR_UNSUPPORTED, "libsodium failed to initialise (sodium_init)");
    return LAM_OK;
}

void lam_wipe(void *p, size_t n)
{
    if (p) sodium_memzero(p, n);
}

static const char STREAM_KEY_INFO[] = "lamina model file key v1";
static const char KEY_ID_INFO[] = "lamina key id v1";

lam_status lam_key_from_bytes(const unsigned char bytes[LAM_KEY_BYTES], lam_key **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_key_from_bytes: NULL argument");
    *out = NULL;
    if (!bytes) return lam_error(LAM_ERR_ARG, "lam_key_from_bytes: NULL argument");
    LAM_TRY(lam_sodium_ready());
    lam_key *k = lam_malloc(sizeof *k);
    if (!k) return lam_error_context(LAM_ERR_NOMEM, "a key");
    memcpy(k->raw, bytes, LAM_KEY_BYTES);
    crypto_generichash(k->stream, sizeof k->stream, (const unsigned char *)STREAM_KEY_INFO,
                       sizeof STREAM_KEY_INFO - 1, k->raw, sizeof k->raw);
    crypto_generichash(k->id, sizeof k->id, (const unsigned char *)KEY_ID_INFO,
                       sizeof KEY_ID_INFO - 1, k->raw, sizeof k->raw);
    *out = k;
    return LAM_OK;
}

/* Exactly 2 * LAM_KEY_BYTES hex digits at s (len bytes) -> raw. */
static bool parse_hex(const char *s, size_t len, unsigned char raw[LAM_KEY_BYTES])
{
    if (len != 2 * LAM_KEY_BYTES) return false;
    size_t got = 0;
    const char *end = NULL;
    return sodium_hex2bin(raw, LAM_KEY_BYTES, s, len, NULL, &got, &end) == 0 &&
           got == LAM_KEY_BYTES && end == s + len;
}

lam_status lam_key_from_hex(const char *hex, lam_key **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_key_from_hex: NULL argument");
    *out = NULL;
    if (!hex) return lam_error(LAM_ERR_ARG, "lam_key_from_hex: NULL argument");
    LAM_TRY(lam_sodium_ready());
    unsigned char raw[LAM_KEY_BYTES];
    if (!parse_hex(hex, strlen(hex), raw))
        return lam_error(LAM_ERR_ARG, "a key in hex must be exactly %d hex digits (%d bytes); got "
                         "%zu characters%s", 2 * LAM_KEY_BYTES, LAM_KEY_BYTES, strlen(hex),
                         strlen(hex) == 2 * LAM_KEY_BYTES ? " with a non-hex one" : "");
    lam_status st = lam_key_from_bytes(raw, out);
    sodium_memzero(raw, sizeof raw);
    return st;
}

lam_status lam_key_load_file(const char *path, lam_key **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_key_load_file: NULL argument");
    *out = NULL;
    if (!path) return lam_error(LAM_ERR_ARG, "lam_key_load_file: NULL argument");
    LAM_TRY(lam_sodium_ready());
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lam_error(LAM_ERR_IO, "key file %s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        lam_status st = lam_error(LAM_ERR_IO, "key file %s: %s", path, strerror(errno));
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return lam_error(LAM_ERR_ARG, "key file %s: not a regular file", path);
    }
    if (sb.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return lam_error(LAM_ERR_ARG, "key file %s: mode %03o lets others than its owner use it; "
                         "a secret key must be private: chmod 600 %s", path,
                         (unsigned)(sb.st_mode & 0777), path);
    }
    /* One byte more than the longest valid content shows an overlong file. */
    char text[2 * LAM_KEY_BYTES + 3];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof text && (r = read(fd, text + n, sizeof text - n)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            lam_status st = lam_error(LAM_ERR_IO, "key file %s: read failed: %s", path,
                                      strerror(errno));
            close(fd);
            sodium_memzero(text, sizeof text);
            return st;
        }
        n += (size_t)r;
    }
    close(fd);
    unsigned char raw[LAM_KEY_BYTES];
    size_t hex_len = n;
    if (hex_len && text[hex_len - 1] == '\n') hex_len--;
    if (hex_len && text[hex_len - 1] == '\r') hex_len--;
    lam_status st;
    if (n == LAM_KEY_BYTES) {
        memcpy(raw, text, LAM_KEY_BYTES);
        st = lam_key_from_bytes(raw, out);
    } else if (parse_hex(text, hex_len, raw)) {
        st = lam_key_from_bytes(raw, out);
    } else {
        st = lam_error(LAM_ERR_FORMAT, "key file %s: %zu%s bytes; expected %d raw bytes or %d hex "
                       "digits and an optional newline (lamina keygen writes one)", path, n,
                       n == sizeof text ? " or more" : "", LAM_KEY_BYTES, 2 * LAM_KEY_BYTES);
    }
    sodium_memzero(text, sizeof text);
    sodium_memzero(raw, sizeof raw);
    return st;
}

lam_status lam_key_generate(lam_key **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_key_generate: NULL argument");
    *out = NULL;
    LAM_TRY(lam_sodium_ready());
    unsigned char raw[LAM_KEY_BYTES];
    randombytes_buf(raw, sizeof raw);
    lam_status st = lam_key_from_bytes(raw, out);
    sodium_memzero(raw, sizeof raw);
    return st;
}

static bool write_fully(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* Like lam_write_atomic, but the file is created 0600 and is linked (not
 * renamed) to its name, which fails when the name exists: a key is never
 * replaced, and never seen half-written. */
lam_status lam_key_save_file(const lam_key *key, const char *path)
{
    if (!key || !path || !*path) return lam_error(LAM_ERR_ARG, "lam_key_save_file: NULL argument");
    char dir[PATH_MAX], tmp[PATH_MAX];
    if (strlen(path) + 32 >= sizeof tmp)
        return lam_error(LAM_ERR_ARG, "%.200s...: file name too long", path);
    lam_path_folder(path, dir, sizeof dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    char text[2 * LAM_KEY_BYTES + 2];
    sodium_bin2hex(text, sizeof text, key->raw, LAM_KEY_BYTES);
    text[2 * LAM_KEY_BYTES] = '\n';
    bool unnamed = false;
    int fd = -1;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    unnamed = fd >= 0;
#endif
    if (fd < 0) fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    lam_status st = LAM_OK;
    if (fd < 0) {
        st = lam_error(LAM_ERR_IO, "%s: cannot create a file in %s: %s", path, dir,
                       strerror(errno));
    } else {
        if (!write_fully(fd, text, 2 * LAM_KEY_BYTES + 1) || fsync(fd) != 0)
            st = lam_error(LAM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        int rc = 0;
        if (st == LAM_OK) {
            if (unnamed) {
                char proc[64];
                snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
                rc = linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
            } else {
                rc = link(tmp, path);
            }
        }
        if (st == LAM_OK && rc != 0)
            st = lam_error(LAM_ERR_IO, "%s: %s%s", path, strerror(errno),
                           errno == EEXIST ? " (a key file is never replaced: remove it first, "
                                             "or choose another name)" : "");
        close(fd);
        if (!unnamed) unlink(tmp);
    }
    sodium_memzero(text, sizeof text);
    if (st == LAM_OK) {
        int dfd = open(dir, O_RDONLY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return st;
}

void lam_key_id_hex(const lam_key *key, char *out)
{
    sodium_bin2hex(out, 17, key->id, 8);
}

void lam_key_free(lam_key *key)
{
    if (!key) return;
    sodium_memzero(key, sizeof *key);
    lam_free(key);
}

#else /* built without libsodium */

#define NO_SODIUM "built without libsodium: install libsodium-dev and reconfigure"

void lam_wipe(void *p, size_t n)
{
    /* A volatile pointer keeps the compiler from dropping the stores. */
    volatile unsigned char *v = p;
    while (p && n--) *v++ = 0;
}

lam_status lam_key_from_bytes(const unsigned char bytes[LAM_KEY_BYTES], lam_key **out)
{
    if (out) *out = NULL;
    return lam_error(LAM_ERR_UNSUPPORTED, "encryption keys: " NO_SODIUM);
}

lam_status lam_key_from_hex(const char *hex, lam_key **out)
{
    if (out) *out = NULL;
    return lam_error(LAM_ERR_UNSUPPORTED, "encryption keys: " NO_SODIUM);
}

lam_status lam_key_load_file(const char *path, lam_key **out)
{
    if (out) *out = NULL;
    return lam_error(LAM_ERR_UNSUPPORTED, "key file %s: " NO_SODIUM, path ? path : "(null)");
}

lam_status lam_key_generate(lam_key **out)
{
    if (out) *out = NULL;
    return lam_error(LAM_ERR_UNSUPPORTED, "encryption keys: " NO_SODIUM);
}

lam_status lam_key_save_file(const lam_key *key, const char *path)
{
    return lam_error(LAM_ERR_UNSUPPORTED, "encryption keys: " NO_SODIUM);
}

void lam_key_id_hex(const lam_key *key, char *out) { out[0] = '\0'; }

/* No lam_key can exist in this build. */
void lam_key_free(lam_key *key) { lam_free(key); }

#endif
