/* summary.c - Keras 3's model.summary() table. */
#include "core/model.h"

#include <string.h>

/* "121,930" */
static void with_commas(char *buf, size_t n, int64_t v)
{
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", (long long)v), k = 0;
    for (int i = 0; i < len && (size_t)k + 1 < n; i++) {
        if (i > 0 && (len - i) % 3 == 0) buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    buf[k] = '\0';
}

/* "476.29 KB" */
static void human_bytes(char *buf, size_t n, double bytes)
{
    const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, n, "%.2f %s", bytes, units[u]);
}

/* Pads a UTF-8 string with spaces to `width` columns (all our text is ASCII). */
static void cell(FILE *out, const char *s, int width, bool right)
{
    int len = (int)strlen(s);
    if (right) fprintf(out, " %*s%s ", width - 2 - len > 0 ? width - 2 - len : 0, "", s);
    else fprintf(out, " %s%*s ", s, width - 2 - len > 0 ? width - 2 - len : 0, "");
}

static void rule(FILE *out, const char *l, const char *mid, const char *r, const char *h,
                 const int *w, int ncols)
{
    fputs(l, out);
    for (int c = 0; c < ncols; c++) {
        for (int i = 0; i < w[c]; i++) fputs(h, out);
        fputs(c < ncols - 1 ? mid : r, out);
    }
    fputc('\n', out);
}

/* Line `line` of s wrapped to `width` columns as Keras's table (rich) wraps
 * it: at spaces, a word longer than a line cut at the width. Writes "" past
 * the last line; returns the number of lines. */
static int wrap_line(const char *s, int width, int line, char *buf, size_t n)
{
    int count = 0;
    buf[0] = '\0';
    if (width < 1) width = 1;
    while (*s) {
        while (*s == ' ') s++;
        if (!*s) break;
        /* Fill one line: whole words while they fit, else a cut word. */
        const char *start = s, *end = s;
        for (;;) {
            const char *w = end;
            while (*w == ' ') w++;
            const char *we = w;
            while (*we && *we != ' ') we++;
            if (we == w) break;
            if (we - start <= width) {
                end = we;
                continue;
            }
            if (end == start) end = start + width; /* a word longer than the line */
            break;
        }
        if (count == line) snprintf(buf, n, "%.*s", (int)(end - start), start);
        count++;
        s = end;
    }
    return count;
}

/* One table row whose cells may wrap over several lines. */
static void row(FILE *out, const char *const *text, const int *w, const bool *right, int ncols)
{
    int lines = 1;
    char buf[512];
    for (int c = 0; c < ncols; c++) {
        int k = wrap_line(text[c], w[c] - 2, 0, buf, sizeof buf);
        if (k > lines) lines = k;
    }
    for (int l = 0; l < lines; l++) {
        for (int c = 0; c < ncols; c++) {
            fputs("│", out);
            wrap_line(text[c], w[c] - 2, l, buf, sizeof buf);
            cell(out, buf, w[c], right[c]);
        }
        fputs("│\n", out);
    }
}

static void shape_text(char *shape, size_t n, const lam_shape *s)
{
    int k = snprintf(shape, n, "(None");
    for (int d = 0; d < s->rank; d++)
        k += snprintf(shape + k, n - (size_t)k, ", %lld", (long long)s->dim[d]);
    snprintf(shape + k, n - (size_t)k, ")");
}

/* Keras's "Connected to": every tensor each call of layer i reads, as
 * layer[node_index][tensor_index], comma-separated; "-" for an input. */
static void connected_to(const lam_model *m, int i, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int j = i; j < m->n; j++) {
        const lam_node *nd = &m->nodes[j];
        if (nd->owner != i) continue;
        for (int a = 0; a < nd->ninputs; a++) {
            int src = nd->inputs[a], owner = m->nodes[src].owner, call = 0;
            for (int t = owner; t < src; t++) call += m->nodes[t].owner == owner;
            int w = snprintf(buf + k, n - k, "%s%s[%d][0]", k ? ", " : "",
                             m->nodes[owner].spec.name, call);
            if (w < 0 || (size_t)w >= n - k) {
                /* Too long to show whole: end with an ellipsis. */
                if (n > 4) memcpy(buf + n - 4, "...", 4);
                return;
            }
            k += (size_t)w;
        }
    }
    if (!k) snprintf(buf, n, "-");
}

lam_status lam_model_summary(const lam_model *m, FILE *out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_model_summary: NULL argument");
    /* Keras's widths at 80 columns: Sequential has three columns and hides
     * the InputLayer; a functional model adds "Connected to" and shows its
     * inputs. */
    const bool seq = m->sequential;
    const int ncols = seq ? 3 : 4;
    const int *w = seq ? (const int[]){33, 24, 15} : (const int[]){21, 19, 12, 19};
    static const bool right[4] = {false, false, true, false};
    static const char *const head[4] = {"Layer (type)", "Output Shape", "Param #", "Connected to"};
    fprintf(out, "Model: \"%s\"\n", m->name);
    rule(out, "┏", "┳", "┓", "━", w, ncols);
    for (int c = 0; c < ncols; c++) {
        fputs("┃", out);
        cell(out, head[c], w[c], right[c]);
    }
    fputs("┃\n", out);
    rule(out, "┡", "╇", "┩", "━", w, ncols);
    bool first = true;
    for (int i = seq ? 1 : 0; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        if (nd->owner != i) continue; /* a shared layer is one row */
        char name[160], shape[96], params[32], conn[1024];
        snprintf(name, sizeof name, "%s (%s)", nd->spec.name,
                 nd->op ? nd->op->class_name : "InputLayer");
        shape_text(shape, sizeof shape, &nd->out);
        for (int j = i + 1; j < m->n; j++) /* calls of other shapes: Keras's "multiple" */
            if (m->nodes[j].owner == i &&
                (m->nodes[j].out.rank != nd->out.rank ||
                 memcmp(m->nodes[j].out.dim, nd->out.dim, sizeof nd->out.dim) != 0))
                snprintf(shape, sizeof shape, "multiple");
        with_commas(params, sizeof params, nd->param_count + nd->state_count);
        if (!seq) connected_to(m, i, conn, sizeof conn);
        if (!first) rule(out, "├", "┼", "┤", "─", w, ncols);
        first = false;
        const char *text[4] = {name, shape, params, conn};
        /* Sequential rows stay one line each, as lamina always printed them. */
        row(out, text, w, right, ncols);
    }
    rule(out, "└", "┴", "┘", "─", w, ncols);
    char count[32], size[32];
    const int64_t total = m->nparams + m->nstate;
    with_commas(count, sizeof count, total);
    human_bytes(size, sizeof size, 4.0 * (double)total);
    fprintf(out, " Total params: %s (%s)\n", count, size);
    with_commas(count, sizeof count, m->nparams);
    human_bytes(size, sizeof size, 4.0 * (double)m->nparams);
    fprintf(out, " Trainable params: %s (%s)\n", count, size);
    with_commas(count, sizeof count, m->nstate);
    human_bytes(size, sizeof size, 4.0 * (double)m->nstate);
    fprintf(out, " Non-trainable params: %s (%s)\n", count, size);
    return LAM_OK;
}
