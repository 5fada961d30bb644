/* text_files.c - reading text: one UTF-8 file, or a folder of *.txt files
 * in name order (byte order, strcmp, so the order does not depend on the
 * locale or the file system). */
#include "text/text.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

lam_status lam_text_read_file(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = lam_malloc(cap);
    lam_status st = buf ? LAM_OK : lam_error_context(LAM_ERR_NOMEM, "%s", path);
    /* Read to the end rather than trusting a size: pipes and /proc files have none. */
    while (st == LAM_OK) {
        if (n + 1 >= cap) {
            char *b = cap <= SIZE_MAX / 2 ? lam_realloc(buf, cap * 2) : NULL;
            if (!b) {
                st = lam_error_context(LAM_ERR_NOMEM, "%s", path);
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) st = lam_error(LAM_ERR_IO, "%s: read failed after %zu bytes", path, n);
            break;
        }
    }
    fclose(f);
    if (st == LAM_OK) {
        int64_t bad = lam_utf8_invalid_at(buf, n);
        if (bad >= 0)
            st = lam_error(LAM_ERR_FORMAT, "%s: invalid UTF-8 at byte offset %lld (byte 0x%02X); "
                           "expected UTF-8 text", path, (long long)bad, (unsigned char)buf[bad]);
    }
    if (st != LAM_OK) {
        lam_free(buf);
        return st;
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return LAM_OK;
}

void lam_text_names_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++) lam_free(names[i]);
    lam_free(names);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

lam_status lam_text_list_dir(const char *dir, lam_text_entry_filter keep, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return lam_error(LAM_ERR_IO, "%s: cannot open the folder: %s", dir, strerror(errno));
    char **list = NULL;
    int count = 0, cap = 0;
    lam_status st = LAM_OK;
    for (struct dirent *e; st == LAM_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.') continue; /* ".", "..", hidden files */
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= sizeof path) {
            st = lam_error(LAM_ERR_ARG, "%s/%s: path too long", dir, e->d_name);
            break;
        }
        struct stat sb;
        if (stat(path, &sb) != 0) continue; /* a dangling link: nothing to read */
        if (!keep(e->d_name, S_ISDIR(sb.st_mode), S_ISREG(sb.st_mode))) continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **l = lam_realloc(list, sizeof *l * (size_t)cap);
            if (!l) {
                st = lam_error_context(LAM_ERR_NOMEM, "%s", dir);
                break;
            }
            list = l;
        }
        if (!(list[count] = lam_strdup(e->d_name))) st = lam_error_context(LAM_ERR_NOMEM, "%s", dir);
        else count++;
    }
    closedir(d);
    if (st != LAM_OK) {
        lam_text_names_free(list, count);
        return st;
    }
    if (count) qsort(list, (size_t)count, sizeof *list, cmp_names);
    *names = list;
    *n = count;
    return LAM_OK;
}

bool lam_text_is_txt(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".txt") == 0;
}

static bool txt_file(const char *name, bool is_dir, bool is_reg)
{
    return is_reg && lam_text_is_txt(name);
}

lam_status lam_load_text(const char *path, char **text, size_t *len)
{
    if (!path || !text || !len) return lam_error(LAM_ERR_ARG, "lam_load_text: NULL argument");
    *text = NULL;
    *len = 0;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *all = NULL;
    size_t n = 0;
    if (!S_ISDIR(sb.st_mode)) {
        LAM_TRY(lam_text_read_file(path, &all, &n));
    } else {
        char **names;
        int count;
        LAM_TRY(lam_text_list_dir(path, txt_file, &names, &count));
        if (count == 0) {
            lam_text_names_free(names, count);
            return lam_error(LAM_ERR_FORMAT, "%s: no .txt files in this folder (a text corpus is "
                             "a UTF-8 file or a folder of *.txt files)", path);
        }
        lam_status st = LAM_OK;
        size_t cap = 0;
        for (int i = 0; i < count && st == LAM_OK; i++) {
            char file[4096];
            snprintf(file, sizeof file, "%s/%s", path, names[i]);
            char *t;
            size_t k;
            if ((st = lam_text_read_file(file, &t, &k)) != LAM_OK) break;
            if (n + k + 1 > cap) {
                size_t c = (n + k + 1) * 2;
                char *a = lam_realloc(all, c);
                if (!a) st = lam_error_context(LAM_ERR_NOMEM, "%s", file);
                else {
                    all = a;
                    cap = c;
                }
            }
            if (st == LAM_OK) {
                memcpy(all + n, t, k);
                n += k;
                all[n] = '\0';
            }
            lam_free(t);
        }
        lam_text_names_free(names, count);
        if (st != LAM_OK) {
            lam_free(all);
            return st;
        }
    }
    if (n == 0) {
        lam_free(all);
        return lam_error(LAM_ERR_FORMAT, "%s: empty corpus: no text to read", path);
    }
    *text = all;
    *len = n;
    return LAM_OK;
}
