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
                 const int *w)
{
    fputs(l, out);
    for (int c = 0; c < 3; c++) {
        for (int i = 0; i < w[c]; i++) fputs(h, out);
        fputs(c < 2 ? mid : r, out);
    }
    fputc('\n', out);
}

/* Keras (rich) wraps a long "name (Class)" cell at the space, and folds a
 * word longer than the cell: up to 4 lines of at most `width` columns. */
static int wrap_cell(const char *text, int width, char lines[4][160])
{
    int n = 0, len = 0;
    lines[0][0] = '\0';
    for (const char *p = text; *p && n < 4;) {
        while (*p == ' ') p++;
        int wl = 0;
        while (p[wl] && p[wl] != ' ') wl++;
        if (wl == 0) break;
        if (len > 0 && len + 1 + wl > width) {
            if (++n == 4) break;
            lines[n][0] = '\0';
            len = 0;
        }
        if (len > 0) lines[n][len++] = ' ';
        for (int i = 0; i < wl; i++) {
            if (len == width) {
                lines[n][len] = '\0';
                if (++n == 4) return n;
                len = 0;
            }
            lines[n][len++] = p[i];
        }
        lines[n][len] = '\0';
        p += wl;
    }
    return n < 4 ? n + 1 : 4;
}

lam_status lam_model_summary(const lam_model *m, FILE *out)
{
    if (!m || !out) return lam_error(LAM_ERR_ARG, "lam_model_summary: NULL argument");
    const int w[3] = {33, 24, 15};
    fprintf(out, "Model: \"%s\"\n", m->name);
    rule(out, "┏", "┳", "┓", "━", w);
    fputs("┃", out);
    cell(out, "Layer (type)", w[0], false);
    fputs("┃", out);
    cell(out, "Output Shape", w[1], false);
    fputs("┃", out);
    cell(out, "Param #", w[2], true);
    fputs("┃\n", out);
    rule(out, "┡", "╇", "┩", "━", w);
    for (int i = 1; i < m->n; i++) {
        const lam_node *nd = &m->nodes[i];
        char name[160], shape[96], params[32], lines[4][160];
        snprintf(name, sizeof name, "%s (%s)", nd->spec.name, nd->op->class_name);
        const int nlines = wrap_cell(name, w[0] - 2, lines);
        int k = snprintf(shape, sizeof shape, "(None");
        for (int d = 0; d < nd->out.rank; d++)
            k += snprintf(shape + k, sizeof shape - (size_t)k, ", %lld", (long long)nd->out.dim[d]);
        snprintf(shape + k, sizeof shape - (size_t)k, ")");
        /* A layer's count is all its weights, moving statistics included. */
        with_commas(params, sizeof params, nd->param_count + nd->state_count);
        for (int l = 0; l < nlines; l++) {
            fputs("│", out);
            cell(out, lines[l], w[0], false);
            fputs("│", out);
            cell(out, l == 0 ? shape : "", w[1], false);
            fputs("│", out);
            cell(out, l == 0 ? params : "", w[2], true);
            fputs("│\n", out);
        }
        if (i + 1 < m->n) rule(out, "├", "┼", "┤", "─", w);
    }
    rule(out, "└", "┴", "┘", "─", w);
    const int64_t counts[3] = {m->nparams + m->nstate, m->nparams, m->nstate};
    const char *const what[3] = {"Total", "Trainable", "Non-trainable"};
    for (int k = 0; k < 3; k++) {
        char count[32], size[32];
        with_commas(count, sizeof count, counts[k]);
        human_bytes(size, sizeof size, 4.0 * (double)counts[k]);
        fprintf(out, " %s params: %s (%s)\n", what[k], count, size);
    }
    return LAM_OK;
}
