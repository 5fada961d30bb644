/* desensitize.c - per-column rules applied to a CSV table: drop, keyed hash,
 * bins, suppression of rare values (lamina_desensitize.h). The table is read
 * whole (csv_table.c), checked against the rules before anything is written
 * (unknown columns, non-numeric cells under bin), and written atomically. */
#include "io/encrypt.h"
#include "privacy/csv_table.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef LAMINA_HAVE_SODIUM
#include <sodium.h>
#endif

/* Bytes of a hash token (hex doubles them): 128 bits make collisions between
 * distinct values of one column negligible (birthday bound ~2^64 values). */
#define TOKEN_BYTES 16
#define TOKEN_KEY_INFO "lamina desensitize hash v1"

typedef struct rule {
    char *column;
    lam_desens_kind kind;
    int64_t line;
    double *edges; /* bin with edges: nedges > 1, strictly increasing */
    int nedges;
    double width;  /* bin with one number: equal width from 0 */
    int64_t k;     /* suppress */
} rule;

struct lam_desens_rules {
    char *name;
    rule *rule;
    int n;
};

const char *lam_desens_kind_name(lam_desens_kind kind)
{
    switch (kind) {
    case LAM_DESENS_KEEP: return "keep";
    case LAM_DESENS_DROP: return "drop";
    case LAM_DESENS_HASH: return "hash";
    case LAM_DESENS_BIN: return "bin";
    case LAM_DESENS_SUPPRESS: return "suppress";
    }
    return "?";
}

void lam_desens_rules_free(lam_desens_rules *r)
{
    if (!r) return;
    for (int i = 0; i < r->n; i++) {
        lam_free(r->rule[i].column);
        lam_free(r->rule[i].edges);
    }
    lam_free(r->rule);
    lam_free(r->name);
    lam_free(r);
}

bool lam_desens_rules_need_key(const lam_desens_rules *r)
{
    for (int i = 0; r && i < r->n; i++)
        if (r->rule[i].kind == LAM_DESENS_HASH) return true;
    return false;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

/* A finite number filling all of s (surrounding blanks allowed). */
static bool parse_number(const char *s, double *v)
{
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    if (end == s) return false;
    while (isspace((unsigned char)*end)) end++;
    return *end == '\0' && isfinite(*v);
}

/* "0,18,30" or "10" into r. */
static lam_status parse_bins(const lam_desens_rules *rs, rule *r, char *arg)
{
    int n = 1;
    for (const char *p = arg; *p; p++) n += *p == ',';
    r->edges = lam_malloc((size_t)n * sizeof *r->edges);
    if (!r->edges) return lam_error_context(LAM_ERR_NOMEM, "%s: line %lld", rs->name,
                                            (long long)r->line);
    char *p = arg;
    for (int i = 0; i < n; i++) {
        char *comma = strchr(p, ',');
        if (comma) *comma = '\0';
        if (!parse_number(p, &r->edges[i]))
            return lam_error(LAM_ERR_FORMAT, "%s: line %lld: bin: '%s' is not a number "
                             "(expected bin:EDGE,EDGE,... or bin:WIDTH)", rs->name,
                             (long long)r->line, trim(p));
        if (i && !(r->edges[i] > r->edges[i - 1]))
            return lam_error(LAM_ERR_FORMAT, "%s: line %lld: bin: edges must increase "
                             "(%g after %g)", rs->name, (long long)r->line, r->edges[i],
                             r->edges[i - 1]);
        p = comma ? comma + 1 : p;
    }
    r->nedges = n;
    if (n == 1) {
        r->width = r->edges[0];
        if (!(r->width > 0))
            return lam_error(LAM_ERR_FORMAT, "%s: line %lld: bin:%g: a width must be > 0",
                             rs->name, (long long)r->line, r->width);
    }
    return LAM_OK;
}

/* One non-blank line (comment removed) into a new rule. */
static lam_status parse_rule(lam_desens_rules *rs, char *text, int64_t line)
{
    char *colon = strchr(text, ':');
    if (!colon)
        return lam_error(LAM_ERR_FORMAT, "%s: line %lld: '%s': expected 'COLUMN: RULE' with "
                         "RULE one of keep, drop, hash, bin:..., suppress:K", rs->name,
                         (long long)line, text);
    *colon = '\0';
    char *name = trim(text), *spec = trim(colon + 1);
    if (!*name)
        return lam_error(LAM_ERR_FORMAT, "%s: line %lld: no column name before ':'", rs->name,
                         (long long)line);
    for (int i = 0; i < rs->n; i++)
        if (!strcmp(rs->rule[i].column, name))
            return lam_error(LAM_ERR_FORMAT, "%s: line %lld: column '%s' already has a rule "
                             "(line %lld)", rs->name, (long long)line, name,
                             (long long)rs->rule[i].line);
    char *arg = strchr(spec, ':');
    if (arg) {
        *arg++ = '\0';
        arg = trim(arg);
    }
    spec = trim(spec);
    lam_desens_kind kind;
    if (!strcmp(spec, "keep")) kind = LAM_DESENS_KEEP;
    else if (!strcmp(spec, "drop")) kind = LAM_DESENS_DROP;
    else if (!strcmp(spec, "hash")) kind = LAM_DESENS_HASH;
    else if (!strcmp(spec, "bin")) kind = LAM_DESENS_BIN;
    else if (!strcmp(spec, "suppress")) kind = LAM_DESENS_SUPPRESS;
    else
        return lam_error(LAM_ERR_FORMAT, "%s: line %lld: unknown rule '%s' for column '%s' "
                         "(expected keep, drop, hash, bin:..., suppress:K)", rs->name,
                         (long long)line, spec, name);
    bool wants_arg = kind == LAM_DESENS_BIN || kind == LAM_DESENS_SUPPRESS;
    if (wants_arg && (!arg || !*arg))
        return lam_error(LAM_ERR_FORMAT, "%s: line %lld: %s needs an argument (%s)", rs->name,
                         (long long)line, spec,
                         kind == LAM_DESENS_BIN ? "bin:0,18,65 or bin:WIDTH" : "suppress:K");
    if (!wants_arg && arg)
        return lam_error(LAM_ERR_FORMAT, "%s: line %lld: %s takes no argument (got ':%s')",
                         rs->name, (long long)line, spec, arg);

    rule *grown = lam_realloc(rs->rule, (size_t)(rs->n + 1) * sizeof *grown);
    if (!grown) return lam_error_context(LAM_ERR_NOMEM, "%s: line %lld", rs->name,
                                         (long long)line);
    rs->rule = grown;
    rule *r = &rs->rule[rs->n];
    memset(r, 0, sizeof *r);
    r->column = lam_strdup(name);
    if (!r->column) return lam_error_context(LAM_ERR_NOMEM, "%s: line %lld", rs->name,
                                             (long long)line);
    rs->n++; /* from here the rule is owned by rs (freed with it on failure) */
    r->kind = kind;
    r->line = line;
    if (kind == LAM_DESENS_BIN) return parse_bins(rs, r, arg);
    if (kind == LAM_DESENS_SUPPRESS) {
        char *end;
        errno = 0;
        long long k = strtoll(arg, &end, 10);
        if (end == arg || *end || errno || k < 1)
            return lam_error(LAM_ERR_FORMAT, "%s: line %lld: suppress:%s: expected a whole "
                             "number K >= 1", rs->name, (long long)line, arg);
        r->k = k;
    }
    return LAM_OK;
}

lam_status lam_desens_rules_parse(const char *text, const char *name, lam_desens_rules **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_desens_rules_parse: NULL argument");
    *out = NULL;
    if (!text) return lam_error(LAM_ERR_ARG, "lam_desens_rules_parse: NULL argument");
    lam_desens_rules *rs = lam_calloc(1, sizeof *rs);
    if (!rs) return lam_error_context(LAM_ERR_NOMEM, "desensitisation rules");
    rs->name = lam_strdup(name ? name : "rules");
    lam_status st = rs->name ? LAM_OK : lam_error_context(LAM_ERR_NOMEM, "desensitisation rules");
    int64_t line = 0;
    for (const char *p = text; st == LAM_OK && *p;) {
        line++;
        size_t len = strcspn(p, "\n");
        char *copy = lam_malloc(len + 1);
        if (!copy) {
            st = lam_error_context(LAM_ERR_NOMEM, "%s: line %lld", rs->name, (long long)line);
            break;
        }
        memcpy(copy, p, len);
        copy[len] = '\0';
        char *hash = strchr(copy, '#');
        if (hash) *hash = '\0';
        char *t = trim(copy);
        if (*t) st = parse_rule(rs, t, line);
        lam_free(copy);
        p += len + (p[len] == '\n');
    }
    if (st != LAM_OK) {
        lam_desens_rules_free(rs);
        return st;
    }
    *out = rs;
    return LAM_OK;
}

lam_status lam_desens_rules_load(const char *path, lam_desens_rules **out)
{
    if (!out) return lam_error(LAM_ERR_ARG, "lam_desens_rules_load: NULL argument");
    *out = NULL;
    if (!path) return lam_error(LAM_ERR_ARG, "lam_desens_rules_load: NULL argument");
    FILE *f = fopen(path, "rb");
    if (!f) return lam_error(LAM_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    /* A rules file is a few lines; 1 MiB is far beyond any real one. */
    enum { MAX_RULES_BYTES = 1 << 20 };
    char *buf = lam_malloc(MAX_RULES_BYTES + 1);
    if (!buf) {
        fclose(f);
        return lam_error_context(LAM_ERR_NOMEM, "%s", path);
    }
    size_t n = fread(buf, 1, MAX_RULES_BYTES + 1, f);
    bool bad = ferror(f);
    fclose(f);
    lam_status st;
    if (bad) st = lam_error(LAM_ERR_IO, "%s: read failed", path);
    else if (n > MAX_RULES_BYTES)
        st = lam_error(LAM_ERR_FORMAT, "%s: larger than 1 MiB; not a rules file?", path);
    else if (memchr(buf, '\0', n))
        st = lam_error(LAM_ERR_FORMAT, "%s: holds a NUL byte; not a rules file?", path);
    else {
        buf[n] = '\0';
        st = lam_desens_rules_parse(buf, path, out);
    }
    lam_free(buf);
    return st;
}

/* ------------------------------------------------------------ applying */

typedef struct job {
    const lam_csv_table *t;
    const char *in;
    const rule **col_rule;  /* per input column, NULL for keep */
    unsigned char *suppress; /* rows * cols: 1 where the cell becomes "*" */
    unsigned char token_key[32];
    lam_desens_summary *sum;
} job;

static void fmt_num(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.15g", v == 0 ? 0.0 : v); /* no "-0" */
}

/* The bin label of v under r into buf. */
static void bin_label(const rule *r, double v, char *buf, size_t n)
{
    char a[32], b[32];
    if (r->nedges == 1) {
        double k = floor(v / r->width);
        fmt_num(a, sizeof a, k * r->width);
        fmt_num(b, sizeof b, (k + 1) * r->width);
    } else if (v < r->edges[0]) {
        snprintf(a, sizeof a, "-inf");
        fmt_num(b, sizeof b, r->edges[0]);
        snprintf(buf, n, "(%s, %s)", a, b);
        return;
    } else if (v >= r->edges[r->nedges - 1]) {
        fmt_num(a, sizeof a, r->edges[r->nedges - 1]);
        snprintf(buf, n, "[%s, inf)", a);
        return;
    } else {
        int lo = 0, hi = r->nedges - 1; /* edges[lo] <= v < edges[hi] */
        while (hi - lo > 1) {
            int mid = (lo + hi) / 2;
            if (v >= r->edges[mid]) lo = mid;
            else hi = mid;
        }
        fmt_num(a, sizeof a, r->edges[lo]);
        fmt_num(b, sizeof b, r->edges[hi]);
    }
    snprintf(buf, n, "[%s, %s)", a, b);
}

static void hash_token(const job *j, const char *cell, char hex[2 * TOKEN_BYTES + 1])
{
#ifdef LAMINA_HAVE_SODIUM
    unsigned char out[TOKEN_BYTES];
    crypto_generichash(out, sizeof out, (const unsigned char *)cell, strlen(cell), j->token_key,
                       sizeof j->token_key);
    sodium_bin2hex(hex, 2 * TOKEN_BYTES + 1, out, sizeof out);
#else
    (void)j;
    (void)cell;
    hex[0] = '\0'; /* unreachable: lam_desensitize_csv refuses hash without libsodium */
#endif
}

typedef struct sort_item { const char *s; int64_t row; } sort_item;

static int cmp_item(const void *a, const void *b)
{
    const sort_item *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    return c ? c : (x->row > y->row) - (x->row < y->row);
}

/* Marks the cells of column c whose value occurs in fewer than k rows. */
static lam_status mark_rare(job *j, int c, int64_t k)
{
    const lam_csv_table *t = j->t;
    sort_item *it = lam_malloc((size_t)(t->rows ? t->rows : 1) * sizeof *it);
    if (!it) return lam_error_context(LAM_ERR_NOMEM, "%s: suppress column '%s'", j->in,
                                      lam_csv_table_at(t, 0, c));
    for (int64_t r = 0; r < t->rows; r++) it[r] = (sort_item){lam_csv_table_at(t, r + 1, c), r};
    qsort(it, (size_t)t->rows, sizeof *it, cmp_item);
    for (int64_t a = 0; a < t->rows;) {
        int64_t b = a + 1;
        while (b < t->rows && !strcmp(it[a].s, it[b].s)) b++;
        if (b - a < k)
            for (int64_t i = a; i < b; i++) j->suppress[it[i].row * t->cols + c] = 1;
        a = b;
    }
    lam_free(it);
    return LAM_OK;
}

static lam_status write_table(FILE *f, void *user)
{
    job *j = user;
    const lam_csv_table *t = j->t;
    lam_desens_summary *sum = j->sum;
    int out_cols = sum->columns_out;
    for (int64_t r = 0; r <= t->rows; r++) {
        int written = 0;
        bool changed = false, suppressed = false;
        for (int c = 0; c < t->cols; c++) {
            const rule *ru = j->col_rule[c];
            if (ru && ru->kind == LAM_DESENS_DROP) continue;
            const char *in = lam_csv_table_at(t, r, c), *cell = in;
            char buf[96];
            if (r > 0 && ru) {
                if (ru->kind == LAM_DESENS_HASH) {
                    hash_token(j, in, buf);
                    cell = buf;
                } else if (ru->kind == LAM_DESENS_BIN && *in) {
                    double v;
                    parse_number(in, &v); /* checked before writing */
                    bin_label(ru, v, buf, sizeof buf);
                    cell = buf;
                } else if (ru->kind == LAM_DESENS_SUPPRESS &&
                           j->suppress[(r - 1) * t->cols + c]) {
                    cell = "*";
                    suppressed = true;
                    sum->cells_suppressed++;
                }
            }
            if (r > 0 && strcmp(cell, in)) {
                changed = true;
                sum->column[c].cells_changed++;
            }
            if (written && fputc(',', f) == EOF) goto fail;
            if (!lam_csv_write_field(f, cell,
                                     lam_csv_must_quote(cell, out_cols == 1, r == 0 && !written)))
                goto fail;
            written++;
        }
        if (fputc('\n', f) == EOF) goto fail;
        sum->rows_changed += changed;
        sum->rows_suppressed += suppressed;
    }
    return LAM_OK;
fail:
    return lam_error(LAM_ERR_IO, "writing the desensitised table failed");
}

void lam_desens_summary_free(lam_desens_summary *s)
{
    if (!s) return;
    if (s->column)
        for (int c = 0; c < s->columns; c++) lam_free(s->column[c].name);
    lam_free(s->column);
    memset(s, 0, sizeof *s);
}

/* Fills sum's per-column part and checks the table against the rules. */
static lam_status prepare(job *j, const lam_desens_rules *rules)
{
    const lam_csv_table *t = j->t;
    lam_desens_summary *sum = j->sum;
    for (int i = 0; i < rules->n; i++) {
        const rule *ru = &rules->rule[i];
        int c = 0;
        while (c < t->cols && strcmp(lam_csv_table_at(t, 0, c), ru->column)) c++;
        if (c == t->cols)
            return lam_error(LAM_ERR_FORMAT, "%s: line %lld: column '%s' is not in %s (its "
                             "header has %d column%s)", rules->name, (long long)ru->line,
                             ru->column, j->in, t->cols, t->cols == 1 ? "" : "s");
        j->col_rule[c] = ru;
    }
    sum->rows = t->rows;
    sum->columns = t->cols;
    sum->column = lam_calloc((size_t)t->cols, sizeof *sum->column);
    if (!sum->column) return lam_error_context(LAM_ERR_NOMEM, "%s: summary", j->in);
    for (int c = 0; c < t->cols; c++) {
        const rule *ru = j->col_rule[c];
        lam_desens_kind kind = ru ? ru->kind : LAM_DESENS_KEEP;
        sum->column[c].kind = kind;
        sum->column[c].name = lam_strdup(lam_csv_table_at(t, 0, c));
        if (!sum->column[c].name) return lam_error_context(LAM_ERR_NOMEM, "%s: summary", j->in);
        sum->dropped += kind == LAM_DESENS_DROP;
        sum->hashed += kind == LAM_DESENS_HASH;
        sum->binned += kind == LAM_DESENS_BIN;
        sum->suppressed += kind == LAM_DESENS_SUPPRESS;
        if (kind == LAM_DESENS_BIN)
            for (int64_t r = 1; r <= t->rows; r++) {
                const char *cell = lam_csv_table_at(t, r, c);
                double v;
                if (*cell && !parse_number(cell, &v))
                    return lam_error(LAM_ERR_FORMAT, "%s: line %lld (row %lld), column %d "
                                     "('%s'): '%.40s' is not a number (rule bin, %s line %lld)",
                                     j->in, (long long)t->line[r], (long long)r, c + 1,
                                     sum->column[c].name, cell, rules->name,
                                     (long long)ru->line);
            }
        if (kind == LAM_DESENS_SUPPRESS) {
            if (!j->suppress) {
                j->suppress = lam_calloc((size_t)(t->rows ? t->rows : 1) * (size_t)t->cols, 1);
                if (!j->suppress) return lam_error_context(LAM_ERR_NOMEM, "%s: suppress", j->in);
            }
            LAM_TRY(mark_rare(j, c, ru->k));
        }
    }
    sum->columns_out = t->cols - sum->dropped;
    if (sum->columns_out == 0)
        return lam_error(LAM_ERR_ARG, "%s: every column is dropped; nothing would be written",
                         rules->name);
    return LAM_OK;
}

lam_status lam_desensitize_csv(const char *in, const char *out, const lam_desens_rules *rules,
                               const lam_key *key, lam_desens_summary *summary)
{
    if (summary) memset(summary, 0, sizeof *summary);
    if (!in || !out || !rules) return lam_error(LAM_ERR_ARG, "lam_desensitize_csv: NULL argument");
    if (lam_desens_rules_need_key(rules)) {
#ifndef LAMINA_HAVE_SODIUM
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: the hash rule needs libsodium: lamina was "
                         "built without it; install libsodium-dev and reconfigure", rules->name);
#endif
        if (!key)
            return lam_error(LAM_ERR_ARG, "%s: the hash rule needs a key (lam_key; for the "
                             "lamina command LAMINA_KEY_FILE or LAMINA_KEY)", rules->name);
    }
    lam_csv_table t;
    LAM_TRY(lam_csv_table_read(in, &t));
    lam_desens_summary local;
    memset(&local, 0, sizeof local);
    job j = {.t = &t, .in = in, .sum = &local};
    j.col_rule = lam_calloc((size_t)t.cols, sizeof *j.col_rule);
    lam_status st = j.col_rule ? LAM_OK : lam_error_context(LAM_ERR_NOMEM, "%s", in);
    if (st == LAM_OK) st = prepare(&j, rules);
#ifdef LAMINA_HAVE_SODIUM
    if (st == LAM_OK && key && local.hashed)
        crypto_generichash(j.token_key, sizeof j.token_key, (const unsigned char *)TOKEN_KEY_INFO,
                           sizeof TOKEN_KEY_INFO - 1, key->raw, sizeof key->raw);
#endif
    if (st == LAM_OK) st = lam_write_atomic(out, write_table, &j);
    lam_wipe(j.token_key, sizeof j.token_key);
    lam_free(j.suppress);
    lam_free(j.col_rule);
    lam_csv_table_free(&t);
    if (st != LAM_OK || !summary) lam_desens_summary_free(&local);
    else *summary = local;
    return st;
}
