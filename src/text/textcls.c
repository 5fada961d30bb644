/* textcls.c - labelled text for classification, from a folder:
 *
 *   DIR/CLASS/NAME.txt  one sub-folder per class, one sample per file (when DIR
 *                       has any sub-folder; files directly in DIR are then ignored)
 *   DIR/CLASS[.txt]     else one file per class: one sample per line, or, when a
 *                       line is exactly "%", one sample per "%"-separated record
 *                       (fortune's format: /usr/share/games/fortunes)
 *
 * Classes are numbered in name order (strcmp). Files named otherwise (fortune's
 * CLASS.dat indexes, CLASS.u8 links) and hidden ones are skipped; blank samples
 * (white space only) are skipped. Each sample remembers its file and line or record for messages. */
#include "text/text.h"

#include <string.h>

#define MAX_CLASSES (1 << 16)

struct lam_text_samples {
    char *text;           /* every sample back to back */
    size_t ntext, captext;
    int64_t n, cap;
    int64_t *start, *len;
    int32_t *label;
    int32_t *file;        /* index into files */
    int32_t *record;      /* 1-based line or record in its file; 0: the whole file */
    int nclasses;
    char **classes;
    int nfiles, capfiles;
    char **files;         /* paths */
    bool *by_record;      /* per file: "%"-separated records, not lines */
};

void lam_text_samples_free(lam_text_samples *s)
{
    if (!s) return;
    lam_free(s->text);
    lam_free(s->start);
    lam_free(s->len);
    lam_free(s->label);
    lam_free(s->file);
    lam_free(s->record);
    lam_text_names_free(s->classes, s->nclasses);
    lam_text_names_free(s->files, s->nfiles);
    lam_free(s->by_record);
    lam_free(s);
}

int64_t lam_text_samples_count(const lam_text_samples *s) { return s ? s->n : 0; }
int lam_text_samples_num_classes(const lam_text_samples *s) { return s ? s->nclasses : 0; }

const char *lam_text_samples_class_name(const lam_text_samples *s, int k)
{
    return s && k >= 0 && k < s->nclasses ? s->classes[k] : NULL;
}

const char *lam_text_samples_text(const lam_text_samples *s, int64_t i, size_t *len)
{
    if (!s || i < 0 || i >= s->n) return NULL;
    if (len) *len = (size_t)s->len[i];
    return s->text + s->start[i];
}

int32_t lam_text_samples_label(const lam_text_samples *s, int64_t i)
{
    return s && i >= 0 && i < s->n ? s->label[i] : -1;
}

/* "DIR/art, record 12" */
static void where(const lam_text_samples *s, int64_t i, char *buf, size_t n)
{
    const int f = s->file[i];
    if (s->record[i] == 0) snprintf(buf, n, "%s", s->files[f]);
    else snprintf(buf, n, "%s, %s %d", s->files[f], s->by_record[f] ? "record" : "line",
                  s->record[i]);
}

/* ------------------------------------------------------------- reading */

static lam_status add_file(lam_text_samples *s, const char *path, bool by_record)
{
    if (s->nfiles == s->capfiles) {
        int cap = s->capfiles ? s->capfiles * 2 : 64;
        char **f = lam_realloc(s->files, sizeof *f * (size_t)cap);
        if (f) s->files = f;
        bool *b = f ? lam_realloc(s->by_record, sizeof *b * (size_t)cap) : NULL;
        if (!b) return lam_error_context(LAM_ERR_NOMEM, "%s", path);
        s->by_record = b;
        s->capfiles = cap;
    }
    if (!(s->files[s->nfiles] = lam_strdup(path)))
        return lam_error_context(LAM_ERR_NOMEM, "%s", path);
    s->by_record[s->nfiles++] = by_record;
    return LAM_OK;
}

static bool blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (text[i] != ' ' && (text[i] < '\t' || text[i] > '\r')) return false;
    return true;
}

/* A sample of the last file added; blank ones (white space only) are skipped. */
static lam_status add_sample(lam_text_samples *s, const char *text, size_t len, int32_t label,
                             int32_t record)
{
    if (blank(text, len)) return LAM_OK;
    const char *path = s->files[s->nfiles - 1];
    if (s->n == INT32_MAX)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: more than %d samples", path, INT32_MAX);
    if (s->n == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 1024;
        int64_t *st = lam_realloc(s->start, sizeof *st * (size_t)cap);
        if (st) s->start = st;
        int64_t *ln = st ? lam_realloc(s->len, sizeof *ln * (size_t)cap) : NULL;
        if (ln) s->len = ln;
        int32_t *lb = ln ? lam_realloc(s->label, sizeof *lb * (size_t)cap) : NULL;
        if (lb) s->label = lb;
        int32_t *fl = lb ? lam_realloc(s->file, sizeof *fl * (size_t)cap) : NULL;
        if (fl) s->file = fl;
        int32_t *rc = fl ? lam_realloc(s->record, sizeof *rc * (size_t)cap) : NULL;
        if (!rc) return lam_error_context(LAM_ERR_NOMEM, "%s", path);
        s->record = rc;
        s->cap = cap;
    }
    if (s->ntext + len > s->captext) {
        size_t cap = (s->ntext + len) * 2;
        char *t = lam_realloc(s->text, cap);
        if (!t) return lam_error_context(LAM_ERR_NOMEM, "%s", path);
        s->text = t;
        s->captext = cap;
    }
    memcpy(s->text + s->ntext, text, len);
    s->start[s->n] = (int64_t)s->ntext;
    s->len[s->n] = (int64_t)len;
    s->label[s->n] = label;
    s->file[s->n] = s->nfiles - 1;
    s->record[s->n] = record;
    s->ntext += len;
    s->n++;
    return LAM_OK;
}

/* Line [b, e) without its "\n" and a "\r" before it. */
static size_t line_len(const char *b, const char *e)
{
    size_t n = (size_t)(e - b);
    if (n && b[n - 1] == '\n') n--;
    if (n && b[n - 1] == '\r') n--;
    return n;
}

static bool is_percent_line(const char *b, const char *e)
{
    return line_len(b, e) == 1 && b[0] == '%';
}

/* One file per class: lines, or "%"-separated records. */
static lam_status read_class_file(lam_text_samples *s, const char *path, int32_t label)
{
    char *text;
    size_t n;
    LAM_TRY(lam_text_read_file(path, &text, &n));
    const char *end = text + n;
    bool by_record = false;
    for (const char *b = text; b < end && !by_record;) {
        const char *e = memchr(b, '\n', (size_t)(end - b));
        e = e ? e + 1 : end;
        by_record = is_percent_line(b, e);
        b = e;
    }
    lam_status st = add_file(s, path, by_record);
    const char *rec = text; /* start of the current record */
    int32_t number = 1;
    for (const char *b = text; b < end && st == LAM_OK;) {
        const char *e = memchr(b, '\n', (size_t)(end - b));
        e = e ? e + 1 : end;
        if (!by_record) {
            st = add_sample(s, b, line_len(b, e), label, number++);
        } else if (is_percent_line(b, e)) {
            /* The record ends before the "%" line; its last newline is a separator. */
            st = add_sample(s, rec, rec < b ? line_len(rec, b) : 0, label, number++);
            rec = e;
        }
        b = e;
    }
    if (st == LAM_OK && by_record && rec < end)
        st = add_sample(s, rec, line_len(rec, end), label, number);
    lam_free(text);
    return st;
}

/* One sub-folder per class: every *.txt file is a sample. */
static bool txt_file(const char *name, bool is_dir, bool is_reg)
{
    return is_reg && lam_text_is_txt(name);
}

static lam_status read_class_dir(lam_text_samples *s, const char *dir, int32_t label)
{
    char **names;
    int count;
    LAM_TRY(lam_text_list_dir(dir, txt_file, &names, &count));
    lam_status st = LAM_OK;
    for (int i = 0; i < count && st == LAM_OK; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        char *text;
        size_t n;
        if ((st = lam_text_read_file(path, &text, &n)) != LAM_OK) break;
        st = add_file(s, path, false);
        if (st == LAM_OK) st = add_sample(s, text, n, label, 0);
        lam_free(text);
    }
    lam_text_names_free(names, count);
    return st;
}

static bool sub_dir(const char *name, bool is_dir, bool is_reg) { return is_dir; }

static bool class_file(const char *name, bool is_dir, bool is_reg)
{
    return is_reg && (!strchr(name, '.') || lam_text_is_txt(name));
}

/* The classes: sub-folders when there are any, else class files; class k's
 * name is names[k] without ".txt". */
static lam_status list_classes(const char *dir, lam_text_samples *s, bool *folders,
                               char ***entries, int *nentries)
{
    char **names;
    int n;
    LAM_TRY(lam_text_list_dir(dir, sub_dir, &names, &n));
    *folders = n > 0;
    if (n == 0) {
        lam_text_names_free(names, n);
        LAM_TRY(lam_text_list_dir(dir, class_file, &names, &n));
    }
    *entries = names;
    *nentries = n;
    if (n < 2) {
        return lam_error(LAM_ERR_FORMAT, "%s: %d class%s found, expected at least 2: one "
                         "sub-folder of .txt files per class, or one file per class (CLASS or "
                         "CLASS.txt)", dir, n, n == 1 ? "" : "es");
    }
    if (n > MAX_CLASSES) {
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: %d classes, at most %d", dir, n, MAX_CLASSES);
    }
    if (!(s->classes = lam_calloc((size_t)n, sizeof *s->classes)))
        return lam_error_context(LAM_ERR_NOMEM, "%s", dir);
    s->nclasses = n;
    for (int k = 0; k < n; k++) {
        size_t len = strlen(names[k]);
        if (!*folders && lam_text_is_txt(names[k])) len -= 4;
        if (!(s->classes[k] = lam_malloc(len + 1)))
            return lam_error_context(LAM_ERR_NOMEM, "%s", dir);
        memcpy(s->classes[k], names[k], len);
        s->classes[k][len] = '\0';
        /* Sorted names: "a" and "a.txt" would be neighbours only if nothing
         * sorts between them, so compare against every earlier class. */
        for (int j = 0; j < k; j++)
            if (strcmp(s->classes[j], s->classes[k]) == 0)
                return lam_error(LAM_ERR_FORMAT, "%s: class \"%s\" is given twice (%s and %s)",
                                 dir, s->classes[k], names[j], names[k]);
    }
    return LAM_OK;
}

lam_status lam_load_textcls(const char *dir, lam_text_samples **out)
{
    if (!dir || !out) return lam_error(LAM_ERR_ARG, "lam_load_textcls: NULL argument");
    *out = NULL;
    lam_text_samples *s = lam_calloc(1, sizeof *s);
    if (!s) return lam_error_context(LAM_ERR_NOMEM, "%s", dir);
    bool folders = false;
    char **entries = NULL;
    int nentries = 0;
    lam_status st = list_classes(dir, s, &folders, &entries, &nentries);
    for (int k = 0; k < s->nclasses && st == LAM_OK; k++) {
        char path[4096];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, entries[k]) >= sizeof path) {
            st = lam_error(LAM_ERR_ARG, "%s/%s: path too long", dir, entries[k]);
            break;
        }
        const int64_t before = s->n;
        st = folders ? read_class_dir(s, path, k) : read_class_file(s, path, k);
        if (st == LAM_OK && s->n == before)
            st = lam_error(LAM_ERR_FORMAT, "%s: class \"%s\" has no samples (%s)", path,
                           s->classes[k], folders ? "no .txt file with text" : "no line with text");
    }
    lam_text_names_free(entries, nentries);
    if (st != LAM_OK) {
        lam_text_samples_free(s);
        return st;
    }
    *out = s;
    return LAM_OK;
}

lam_status lam_text_samples_drop_small_classes(lam_text_samples *s, int64_t min_samples)
{
    if (!s) return lam_error(LAM_ERR_ARG, "lam_text_samples_drop_small_classes: NULL argument");
    if (min_samples < 0)
        return lam_error(LAM_ERR_ARG, "text classification: at least %lld samples per class, "
                         "expected a count >= 0", (long long)min_samples);
    int64_t *count = lam_calloc((size_t)s->nclasses, sizeof *count);
    int32_t *renumber = lam_malloc(sizeof *renumber * (size_t)s->nclasses);
    if (!count || !renumber) {
        lam_free(count);
        lam_free(renumber);
        return lam_error_context(LAM_ERR_NOMEM, "text classification: %d classes", s->nclasses);
    }
    for (int64_t i = 0; i < s->n; i++) count[s->label[i]]++;
    int kept = 0;
    int64_t largest_dropped = 0;
    for (int k = 0; k < s->nclasses; k++) {
        renumber[k] = count[k] >= min_samples ? kept++ : -1;
        if (renumber[k] < 0 && count[k] > largest_dropped) largest_dropped = count[k];
    }
    lam_free(count);
    /* Checked before anything changes: on error the samples stay as they were. */
    if (kept < 2) {
        lam_free(renumber);
        return lam_error(LAM_ERR_ARG, "text classification: %d of %d classes ha%s at least %lld "
                         "samples, expected at least 2 (the largest class left out has %lld)",
                         kept, s->nclasses, kept == 1 ? "s" : "ve", (long long)min_samples,
                         (long long)largest_dropped);
    }
    /* Kept samples keep their order; their text stays where it is in s->text. */
    int64_t n = 0;
    for (int64_t i = 0; i < s->n; i++) {
        if (renumber[s->label[i]] < 0) continue;
        s->start[n] = s->start[i];
        s->len[n] = s->len[i];
        s->label[n] = renumber[s->label[i]];
        s->file[n] = s->file[i];
        s->record[n] = s->record[i];
        n++;
    }
    s->n = n;
    for (int k = 0; k < s->nclasses; k++) {
        if (renumber[k] < 0) {
            lam_free(s->classes[k]);
            continue;
        }
        s->classes[renumber[k]] = s->classes[k];
    }
    s->nclasses = kept;
    lam_free(renumber);
    return LAM_OK;
}

void lam_text_samples_shuffle(lam_text_samples *s, uint64_t seed)
{
    if (!s) return;
    lam_rng r;
    lam_rng_seed(&r, seed);
    for (int64_t i = s->n - 1; i > 0; i--) { /* Fisher-Yates */
        const int64_t j = (int64_t)lam_rng_below(&r, (uint64_t)i + 1);
#define SWAP(a) do { __typeof__(a[0]) t_ = a[i]; a[i] = a[j]; a[j] = t_; } while (0)
        SWAP(s->start);
        SWAP(s->len);
        SWAP(s->label);
        SWAP(s->file);
        SWAP(s->record);
#undef SWAP
    }
}

lam_status lam_text_samples_join(const lam_text_samples *s, char **text, size_t *len)
{
    if (!s || !text || !len) return lam_error(LAM_ERR_ARG, "lam_text_samples_join: NULL argument");
    *text = NULL;
    *len = 0;
    size_t total = 0;
    for (int64_t i = 0; i < s->n; i++) total += (size_t)s->len[i] + 1;
    char *out = lam_malloc(total + 1);
    if (!out) return lam_error_context(LAM_ERR_NOMEM, "joining %lld text samples", (long long)s->n);
    size_t at = 0;
    for (int64_t i = 0; i < s->n; i++) {
        if (i) out[at++] = '\n';
        memcpy(out + at, s->text + s->start[i], (size_t)s->len[i]);
        at += (size_t)s->len[i];
    }
    out[at] = '\0';
    *text = out;
    *len = at;
    return LAM_OK;
}

/* ------------------------------------------------------------ data sets */

/* Sample i's token ids (free with free()); errors name its file and line. */
static lam_status encode_sample(const lam_text_samples *s, const lam_tokenizer *t, int64_t i,
                                int32_t **ids, int64_t *n)
{
    lam_status st = lam_tokenizer_encode(t, s->text + s->start[i], (size_t)s->len[i], ids, n);
    if (st != LAM_OK) {
        char w[4200];
        where(s, i, w, sizeof w);
        return lam_error_context(st, "%s", w);
    }
    return LAM_OK;
}

/* A data set of one row of width values per sample, with the samples'
 * labels: the count of each token id (counts; width = the vocabulary), or
 * each id + 1 up to width, 0 being the padding (rows start zeroed). */
static lam_status samples_dataset(const lam_text_samples *s, const lam_tokenizer *t,
                                  int64_t width, bool counts, lam_dataset **out)
{
    lam_dataset *ds;
    LAM_TRY(lam_dataset_create(&ds, LAM_F32, s->n, 1, &width, true, 0));
    float *x = lam_dataset_x(ds);
    int32_t *labels = lam_dataset_labels(ds);
    lam_status st = LAM_OK;
    for (int64_t i = 0; i < s->n && st == LAM_OK; i++) {
        int32_t *ids;
        int64_t n;
        if ((st = encode_sample(s, t, i, &ids, &n)) != LAM_OK) break;
        float *row = x + i * width;
        if (counts)
            for (int64_t k = 0; k < n; k++) row[ids[k]] += 1.0f;
        else
            for (int64_t k = 0; k < n && k < width; k++) row[k] = (float)(ids[k] + 1);
        labels[i] = s->label[i];
        free(ids);
    }
    if (st != LAM_OK) {
        lam_dataset_free(ds);
        return st;
    }
    *out = ds;
    return LAM_OK;
}

lam_status lam_textcls_dataset(const lam_text_samples *s, const lam_tokenizer *t,
                               int64_t max_len, lam_dataset **out)
{
    if (!s || !t || !out) return lam_error(LAM_ERR_ARG, "lam_textcls_dataset: NULL argument");
    *out = NULL;
    if (max_len < 1 || max_len > (1 << 24))
        return lam_error(LAM_ERR_ARG, "text classification: max length %lld, expected 1 to "
                         "16777216", (long long)max_len);
    return samples_dataset(s, t, max_len, false, out);
}

lam_status lam_textcls_counts(const lam_text_samples *s, const lam_tokenizer *t,
                              lam_dataset **out)
{
    if (!s || !t || !out) return lam_error(LAM_ERR_ARG, "lam_textcls_counts: NULL argument");
    *out = NULL;
    return samples_dataset(s, t, lam_tokenizer_vocab_size(t), true, out);
}
