/* atomic_write.c - write a file so that readers see the old or the new
 * contents, never a mix: temporary file, fsync, rename, fsync the folder. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

lam_status lam_write_atomic(const char *path, lam_write_fn fn, void *user)
{
    size_t n = strlen(path);
    char *tmp = lam_malloc(n + 32);
    if (!tmp) return LAM_ERR_NOMEM;
    snprintf(tmp, n + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        lam_status s = lam_error(LAM_ERR_IO, "%s: cannot create temporary file %s: %s", path,
                                 tmp, strerror(errno));
        lam_free(tmp);
        return s;
    }
    lam_status s = fn(f, user);
    if (s == LAM_OK && fflush(f) != 0)
        s = lam_error(LAM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (s == LAM_OK && fsync(fileno(f)) != 0)
        s = lam_error(LAM_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (fclose(f) != 0 && s == LAM_OK)
        s = lam_error(LAM_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (s == LAM_OK && rename(tmp, path) != 0)
        s = lam_error(LAM_ERR_IO, "%s: rename from %s failed: %s", path, tmp, strerror(errno));
    if (s != LAM_OK) {
        remove(tmp);
    } else {
        /* Make the rename itself durable. */
        char *dir = lam_strdup(path);
        if (dir) {
            char *slash = strrchr(dir, '/');
            const char *d = ".";
            if (slash) {
                *slash = '\0';
                d = slash == dir ? "/" : dir;
            }
            int fd = open(d, O_RDONLY);
            if (fd >= 0) {
                fsync(fd);
                close(fd);
            }
            lam_free(dir);
        }
    }
    lam_free(tmp);
    return s;
}
