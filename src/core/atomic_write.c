/* atomic_write.c - write a file so that readers see the old or the new
 * contents, never a mix, and a kill at any moment leaves no debris.
 *
 * The data goes into an unnamed file in the destination's folder
 * (O_TMPFILE), is fsync'ed, is given a temporary name only once complete,
 * and is renamed over the destination; then the folder is fsync'ed so the
 * rename itself survives a crash. Where O_TMPFILE is not available (other
 * file systems or kernels) a named temporary file "PATH.tmp.PID" is used
 * instead, which a kill during the write can leave behind. */
#define _GNU_SOURCE /* O_TMPFILE */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void lam_path_folder(const char *path, char *dir, size_t n)
{
    snprintf(dir, n, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash) snprintf(dir, n, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
}

/* Opens the file to write: unnamed when the system allows. */
static int open_temporary(const char *dir, const char *tmp, bool *unnamed)
{
#ifdef O_TMPFILE
    int fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
        *unnamed = true;
        return fd;
    }
#endif
    *unnamed = false;
    return open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

/* Gives the unnamed file fd the name tmp (replacing a stale one). */
static int name_temporary(int fd, const char *tmp)
{
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    unlink(tmp);
    return linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW);
}

lam_status lam_write_atomic(const char *path, lam_write_fn fn, void *user)
{
    char dir[PATH_MAX], tmp[PATH_MAX];
    if (!path || !*path) return lam_error(LAM_ERR_ARG, "write: empty file name");
    if (strlen(path) + 32 >= sizeof tmp)
        return lam_error(LAM_ERR_ARG, "%.200s...: file name too long", path);
    lam_path_folder(path, dir, sizeof dir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());

    bool unnamed;
    int fd = open_temporary(dir, tmp, &unnamed);
    if (fd < 0)
        return lam_error(LAM_ERR_IO, "%s: cannot create a file in %s: %s", path, dir,
                         strerror(errno));
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        lam_status s = lam_error(LAM_ERR_IO, "%s: cannot open a stream: %s", path, strerror(errno));
        close(fd);
        if (!unnamed) remove(tmp);
        return s;
    }
    lam_status s = fn(f, user);
    if (s == LAM_OK && fflush(f) != 0)
        s = lam_error(LAM_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    if (s == LAM_OK && fsync(fd) != 0)
        s = lam_error(LAM_ERR_IO, "%s: fsync failed: %s", path, strerror(errno));
    if (s == LAM_OK && unnamed && name_temporary(fd, tmp) != 0)
        s = lam_error(LAM_ERR_IO, "%s: cannot name the written file %s: %s", path, tmp,
                      strerror(errno));
    if (fclose(f) != 0 && s == LAM_OK)
        s = lam_error(LAM_ERR_IO, "%s: close failed: %s", path, strerror(errno));
    if (s == LAM_OK && rename(tmp, path) != 0)
        s = lam_error(LAM_ERR_IO, "%s: rename from %s failed: %s", path, tmp, strerror(errno));
    if (s != LAM_OK) {
        remove(tmp); /* an unnamed file vanished with its descriptor */
        return s;
    }
    /* Make the rename itself durable. */
    int dfd = open(dir, O_RDONLY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return LAM_OK;
}
