/* plot_charts.c - charts over axes: horizontal bars (importances), the SHAP
 * summary beeswarm, and lines (curves over steps). */
#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A value with the index it came from, so that sorts are stable by index. */
typedef struct ranked {
    double v;
    int64_t i;
} ranked;

static int by_value_descending(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? 1 : -1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int by_value_ascending(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v) return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The widest of the labels' widths in the current font, at most cap. */
static double widest(lam_canvas *c, const char *const *labels, const ranked *order, int n,
                     double cap)
{
    double w = 0;
    for (int r = 0; r < n; r++) {
        const double tw = lam_canvas_text_width(c, labels[order[r].i]);
        if (tw > w) w = tw;
    }
    return w < cap ? w : cap;
}

static void x_label(lam_canvas *c, double x0, double x1, const char *label)
{
    if (!label || !*label) return;
    lam_canvas_font(c, LAM_FONT_LABEL, false);
    lam_canvas_color(c, LAM_RGB_TEXT);
    lam_canvas_text(c, (x0 + x1) / 2, c->height - LAM_PLOT_MARGIN, LAM_ALIGN_CENTER,
                    LAM_ALIGN_END, c->width - 2 * LAM_PLOT_MARGIN, label);
}

/* ----------------------------------------------------------------- bars */

static const char BARS[] = "lam_plot_bars";

static lam_status check_bars(const char *path, const char *title, const char *xlabel,
                             const char *const *labels, const double *values,
                             const double *errors, int n, int max_bars)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s: path is NULL", BARS);
    if (!labels || !values)
        return lam_error(LAM_ERR_ARG, "%s: %s: %s is NULL", BARS, path,
                         labels ? "values" : "labels");
    if (n < 1)
        return lam_error(LAM_ERR_ARG, "%s: %s: %d bars (at least 1 expected)", BARS, path, n);
    if (max_bars < 0)
        return lam_error(LAM_ERR_ARG, "%s: %s: max_bars %d (0 for all, or a count)", BARS, path,
                         max_bars);
    LAM_TRY(lam_plot_check_text(BARS, "title", -1, title));
    LAM_TRY(lam_plot_check_text(BARS, "xlabel", -1, xlabel));
    for (int i = 0; i < n; i++) {
        if (!labels[i]) return lam_error(LAM_ERR_ARG, "%s: %s: labels[%d] is NULL", BARS, path, i);
        LAM_TRY(lam_plot_check_text(BARS, "labels", i, labels[i]));
    }
    LAM_TRY(lam_plot_check_finite_d(BARS, "values", values, n));
    if (errors) {
        LAM_TRY(lam_plot_check_finite_d(BARS, "errors", errors, n));
        for (int i = 0; i < n; i++)
            if (errors[i] < 0)
                return lam_error(LAM_ERR_ARG, "%s: %s: errors[%d] is %g (>= 0 expected)", BARS,
                                 path, i, errors[i]);
    }
    return LAM_OK;
}

lam_status lam_plot_bars(const char *path, const char *title, const char *xlabel,
                         const char *const *labels, const double *values,
                         const double *errors, int n, int max_bars)
{
    LAM_TRY(check_bars(path, title, xlabel, labels, values, errors, n, max_bars));
    ranked *order = lam_malloc((size_t)n * sizeof *order);
    if (!order) return lam_error_context(LAM_ERR_NOMEM, "%s: %s", BARS, path);
    for (int i = 0; i < n; i++) order[i] = (ranked){values[i], i};
    qsort(order, (size_t)n, sizeof *order, by_value_descending);
    const int nb = max_bars > 0 && max_bars < n ? max_bars : n;

    lam_canvas c;
    lam_status s = lam_canvas_begin(&c, path, LAM_PLOT_WIDTH, lam_plot_bars_height(nb));
    if (s != LAM_OK) {
        lam_free(order);
        return s;
    }
    lam_canvas_title(&c, title);

    /* Value range of what is shown, with 0 always in it (bars start there). */
    double lo = 0, hi = 0, value_w = 0;
    char buf[48];
    lam_canvas_font(&c, LAM_FONT_TICK, false);
    for (int r = 0; r < nb; r++) {
        const int64_t i = order[r].i;
        const double e = errors ? errors[i] : 0;
        lo = fmin(lo, values[i] - e);
        hi = fmax(hi, values[i] + e);
        snprintf(buf, sizeof buf, "%.3g", values[i]);
        value_w = fmax(value_w, lam_canvas_text_width(&c, buf));
    }
    lam_canvas_font(&c, LAM_FONT_LABEL, false);
    const double label_w = widest(&c, labels, order, nb, 0.3 * c.width);
    const double x0 = LAM_PLOT_MARGIN + label_w + 10, x1 = c.width - LAM_PLOT_MARGIN;
    const double y0 = LAM_PLOT_FRAME_TOP, y1 = y0 + LAM_PLOT_BAR_ROW * nb + 8;
    /* Room for the value written at a bar's end, on the side it points to. */
    const double pad_left = lo < 0 ? value_w + 10 : 0, pad_right = hi > 0 ? value_w + 10 : 0;
    lam_ticks t;
    lam_ticks_nice(lo, hi, 6, false, &t);
    if (!(hi > lo)) lo = t.lo, hi = t.hi; /* all zero: an axis around 0 */
    const lam_axis a = {lo, hi, x0 + pad_left, x1 - pad_right};
    lam_draw_x_ticks(&c, &t, &a, y1, y0 + 1, y1 - 1);

    const double zero = lam_axis_px(&a, 0);
    for (int r = 0; r < nb; r++) {
        const int64_t i = order[r].i;
        const double v = values[i], e = errors ? errors[i] : 0;
        const double yc = y0 + 4 + LAM_PLOT_BAR_ROW * (r + 0.5), px = lam_axis_px(&a, v);
        lam_canvas_color(&c, v >= 0 ? LAM_RGB_BAR : LAM_RGB_BAR_NEGATIVE);
        cairo_rectangle(c.cr, fmin(zero, px), yc - 9, fabs(px - zero), 18);
        cairo_fill(c.cr);
        lam_canvas_color(&c, LAM_RGB_FRAME);
        if (e > 0) {
            const double ea = lam_axis_px(&a, v - e), eb = lam_axis_px(&a, v + e);
            cairo_set_line_width(c.cr, 1.5);
            cairo_move_to(c.cr, ea, yc);
            cairo_line_to(c.cr, eb, yc);
            cairo_move_to(c.cr, ea, yc - 5);
            cairo_line_to(c.cr, ea, yc + 5);
            cairo_move_to(c.cr, eb, yc - 5);
            cairo_line_to(c.cr, eb, yc + 5);
            cairo_stroke(c.cr);
            cairo_set_line_width(c.cr, 1.0);
        }
        lam_canvas_font(&c, LAM_FONT_TICK, false);
        lam_canvas_color(&c, LAM_RGB_TEXT);
        snprintf(buf, sizeof buf, "%.3g", v);
        if (v >= 0)
            lam_canvas_text(&c, lam_axis_px(&a, v + e) + 5, yc, LAM_ALIGN_START,
                            LAM_ALIGN_CENTER, 0, buf);
        else
            lam_canvas_text(&c, lam_axis_px(&a, v - e) - 5, yc, LAM_ALIGN_END, LAM_ALIGN_CENTER,
                            0, buf);
        lam_canvas_font(&c, LAM_FONT_LABEL, false);
        lam_canvas_text(&c, x0 - 8, yc, LAM_ALIGN_END, LAM_ALIGN_CENTER, label_w, labels[i]);
    }
    lam_canvas_color(&c, LAM_RGB_FRAME);
    if (lo < 0) lam_canvas_vline(&c, zero, y0, y1);
    lam_canvas_frame(&c, x0, y0, x1, y1);
    x_label(&c, x0, x1, xlabel);
    s = lam_canvas_write(&c);
    lam_canvas_end(&c);
    lam_free(order);
    return s;
}

/* ------------------------------------------------------------- beeswarm */

static const char SWARM[] = "lam_plot_beeswarm";

#define SWARM_RADIUS 2.6
#define SWARM_BIN 4.0        /* pixels: points closer than this along x stack up */
#define SWARM_LAYER 3.0      /* pixels between stacked points, at most */
#define SWARM_HALF_ROW 12.0  /* how far a row's points may spread up or down */

static lam_status check_beeswarm(const char *path, const char *title,
                                 const char *const *feature_names, const double *phi,
                                 const float *x, int64_t n, int64_t d, int max_features)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s: path is NULL", SWARM);
    if (!phi || !x)
        return lam_error(LAM_ERR_ARG, "%s: %s: %s is NULL", SWARM, path, phi ? "x" : "phi");
    if (n < 1 || d < 1 || n > INT32_MAX || d > INT32_MAX || n * d > INT32_MAX)
        return lam_error(LAM_ERR_ARG, "%s: %s: %lld samples x %lld features (at least 1 each, "
                         "at most 2^31 values)", SWARM, path, (long long)n, (long long)d);
    if (max_features < 0)
        return lam_error(LAM_ERR_ARG, "%s: %s: max_features %d (0 for all, or a count)", SWARM,
                         path, max_features);
    LAM_TRY(lam_plot_check_text(SWARM, "title", -1, title));
    if (feature_names)
        for (int64_t j = 0; j < d; j++) {
            if (!feature_names[j])
                return lam_error(LAM_ERR_ARG, "%s: %s: feature_names[%lld] is NULL", SWARM, path,
                                 (long long)j);
            LAM_TRY(lam_plot_check_text(SWARM, "feature_names", j, feature_names[j]));
        }
    LAM_TRY(lam_plot_check_finite_d(SWARM, "phi", phi, n * d));
    LAM_TRY(lam_plot_check_finite_f(SWARM, "x", x, n * d));
    return LAM_OK;
}

/* Colour position of each sample's value of feature j: its rank over the
 * samples (ties share their mean rank) in [0, 1]. by: n scratch entries. */
static void value_quantiles(const float *x, int64_t n, int64_t d, int64_t j, ranked *by,
                            double *q)
{
    for (int64_t i = 0; i < n; i++) by[i] = (ranked){x[i * d + j], i};
    qsort(by, (size_t)n, sizeof *by, by_value_ascending);
    for (int64_t a = 0; a < n;) {
        int64_t b = a;
        while (b + 1 < n && by[b + 1].v == by[a].v) b++;
        const double rank = n > 1 ? 0.5 * (a + b) / (n - 1) : 0.5;
        for (int64_t k = a; k <= b; k++) q[by[k].i] = rank;
        a = b + 1;
    }
}

/* Vertical offsets (pixels) of a row's points, as shap's beeswarm: points
 * binned by x in SWARM_BIN pixels, and within a bin stacked alternately
 * above and below the row's line, so that a row is as thick as its points
 * are dense. px: the points' x pixels; by: n scratch entries. */
static void swarm_offsets(const double *px, int64_t n, ranked *by, double *dy)
{
    for (int64_t i = 0; i < n; i++) by[i] = (ranked){floor(px[i] / SWARM_BIN), i};
    qsort(by, (size_t)n, sizeof *by, by_value_ascending);
    double widest = 1;
    for (int64_t k = 0, layer = 0; k < n; k++) {
        layer = k > 0 && by[k].v == by[k - 1].v ? layer + 1 : 0;
        const double off = ceil(layer / 2.0) * (layer % 2 ? 1 : -1);
        dy[by[k].i] = off;
        widest = fmax(widest, fabs(off));
    }
    const double step = fmin(SWARM_LAYER, SWARM_HALF_ROW / widest);
    for (int64_t i = 0; i < n; i++) dy[i] *= step;
}

lam_status lam_plot_beeswarm(const char *path, const char *title,
                             const char *const *feature_names, const double *phi,
                             const float *x, int64_t n, int64_t d, int max_features)
{
    LAM_TRY(check_beeswarm(path, title, feature_names, phi, x, n, d, max_features));
    const int nf = max_features > 0 && max_features < d ? max_features : (int)d;
    ranked *order = lam_malloc((size_t)d * sizeof *order);
    ranked *scratch = order ? lam_malloc((size_t)n * sizeof *scratch) : NULL;
    double *q = scratch ? lam_malloc((size_t)n * sizeof *q) : NULL;
    double *px = q ? lam_malloc((size_t)n * sizeof *px) : NULL;
    double *dy = px ? lam_malloc((size_t)n * sizeof *dy) : NULL;
    char **names = dy ? lam_calloc((size_t)nf, sizeof *names) : NULL;
    lam_canvas c = {0};
    lam_status s = names ? LAM_OK : lam_error_context(LAM_ERR_NOMEM, "%s: %s", SWARM, path);
    if (s != LAM_OK) goto done;

    /* Features by mean |SHAP|, largest on top. */
    for (int64_t j = 0; j < d; j++) {
        double sum = 0;
        for (int64_t i = 0; i < n; i++) sum += fabs(phi[i * d + j]);
        order[j] = (ranked){sum / n, j};
    }
    qsort(order, (size_t)d, sizeof *order, by_value_descending);
    double lo = 0, hi = 0;
    for (int r = 0; r < nf; r++) {
        const int64_t j = order[r].i;
        for (int64_t i = 0; i < n; i++) {
            lo = fmin(lo, phi[i * d + j]);
            hi = fmax(hi, phi[i * d + j]);
        }
        if (feature_names) names[r] = lam_strdup(feature_names[j]);
        else {
            char buf[32];
            snprintf(buf, sizeof buf, "feature %lld", (long long)j);
            names[r] = lam_strdup(buf);
        }
        if (!names[r]) {
            s = lam_error_context(LAM_ERR_NOMEM, "%s: %s", SWARM, path);
            goto done;
        }
    }

    s = lam_canvas_begin(&c, path, LAM_PLOT_WIDTH, lam_plot_beeswarm_height(nf));
    if (s != LAM_OK) goto done;
    lam_canvas_title(&c, title);
    lam_canvas_font(&c, LAM_FONT_LABEL, false);
    double label_w = 0;
    for (int r = 0; r < nf; r++) label_w = fmax(label_w, lam_canvas_text_width(&c, names[r]));
    label_w = fmin(label_w, 0.3 * c.width);
    const double x0 = LAM_PLOT_MARGIN + label_w + 10;
    const double x1 = c.width - LAM_PLOT_MARGIN - LAM_PLOT_SWARM_LEGEND;
    const double y0 = LAM_PLOT_FRAME_TOP, y1 = y0 + LAM_PLOT_SWARM_ROW * nf + 8;
    lam_ticks t;
    lam_axis a;
    lam_axis_padded(lo, hi, x0, x1, 6, &t, &a);
    lam_draw_x_ticks(&c, &t, &a, y1, y0 + 1, y1 - 1);
    lam_canvas_color(&c, LAM_RGB_ZERO);
    lam_canvas_vline(&c, lam_axis_px(&a, 0), y0, y1);

    for (int r = 0; r < nf; r++) {
        const int64_t j = order[r].i;
        const double yc = y0 + 4 + LAM_PLOT_SWARM_ROW * (r + 0.5);
        lam_canvas_color(&c, LAM_RGB_TEXT);
        lam_canvas_font(&c, LAM_FONT_LABEL, false);
        lam_canvas_text(&c, x0 - 8, yc, LAM_ALIGN_END, LAM_ALIGN_CENTER, label_w, names[r]);
        value_quantiles(x, n, d, j, scratch, q);
        for (int64_t i = 0; i < n; i++) px[i] = lam_axis_px(&a, phi[i * d + j]);
        swarm_offsets(px, n, scratch, dy);
        for (int64_t i = 0; i < n; i++) {
            lam_canvas_color(&c, lam_colormap_at(LAM_CMAP_LOW_HIGH, q[i]));
            cairo_arc(c.cr, px[i], yc + dy[i], SWARM_RADIUS, 0, 2 * M_PI);
            cairo_fill(c.cr);
        }
    }
    lam_canvas_color(&c, LAM_RGB_FRAME);
    lam_canvas_frame(&c, x0, y0, x1, y1);
    x_label(&c, x0, x1, "SHAP value");
    const int bar_h = (int)fmax(60, y1 - y0 - 40); /* room for its caption */
    const lam_plot_box bar = {(int)x1 + 24, (int)((y0 + y1) / 2 - bar_h / 2.0), 12, bar_h};
    lam_draw_colorbar_words(&c, bar, LAM_CMAP_LOW_HIGH, "low", "high", "feature value");
    s = lam_canvas_write(&c);
done:
    lam_canvas_end(&c);
    if (names)
        for (int r = 0; r < nf; r++) lam_free(names[r]);
    lam_free(names);
    lam_free(dy);
    lam_free(px);
    lam_free(q);
    lam_free(scratch);
    lam_free(order);
    return s;
}

/* ---------------------------------------------------------------- lines */

static const char LINES[] = "lam_plot_lines";

static lam_status check_lines(const char *path, const char *title, const char *xlabel,
                              const char *ylabel, const double *x, const double *const *y,
                              const char *const *names, int nseries, int npoints)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s: path is NULL", LINES);
    if (!x || !y) return lam_error(LAM_ERR_ARG, "%s: %s: %s is NULL", LINES, path, x ? "y" : "x");
    if (nseries < 1 || npoints < 1)
        return lam_error(LAM_ERR_ARG, "%s: %s: %d series of %d points (at least 1 each)", LINES,
                         path, nseries, npoints);
    LAM_TRY(lam_plot_check_text(LINES, "title", -1, title));
    LAM_TRY(lam_plot_check_text(LINES, "xlabel", -1, xlabel));
    LAM_TRY(lam_plot_check_text(LINES, "ylabel", -1, ylabel));
    LAM_TRY(lam_plot_check_finite_d(LINES, "x", x, npoints));
    for (int k = 0; k < nseries; k++) {
        if (!y[k]) return lam_error(LAM_ERR_ARG, "%s: %s: y[%d] is NULL", LINES, path, k);
        char what[32];
        snprintf(what, sizeof what, "y[%d]", k);
        LAM_TRY(lam_plot_check_finite_d(LINES, what, y[k], npoints));
        if (names) LAM_TRY(lam_plot_check_text(LINES, "names", k, names[k]));
    }
    return LAM_OK;
}

#define LINES_MARKERS_UP_TO 60 /* points per series; beyond, markers hide the line */
#define LEGEND_ROW 22.0

/* Series k's name ("series k+1" when not given) into buf. */
static const char *series_name(const char *const *names, int k, char *buf, size_t n)
{
    if (names && names[k]) return names[k];
    snprintf(buf, n, "series %d", k + 1);
    return buf;
}

lam_status lam_plot_lines(const char *path, const char *title, const char *xlabel,
                          const char *ylabel, const double *x, const double *const *y,
                          const char *const *names, int nseries, int npoints)
{
    LAM_TRY(check_lines(path, title, xlabel, ylabel, x, y, names, nseries, npoints));
    lam_canvas c;
    LAM_TRY(lam_canvas_begin(&c, path, LAM_PLOT_WIDTH, LAM_PLOT_LINES_HEIGHT));
    lam_canvas_title(&c, title);

    /* A legend right of the frame when there is something to tell apart. */
    const bool legend = nseries > 1 || (names && names[0] && *names[0]);
    char buf[48];
    double legend_w = 0;
    if (legend) {
        lam_canvas_font(&c, LAM_FONT_LABEL, false);
        for (int k = 0; k < nseries; k++)
            legend_w = fmax(legend_w,
                            lam_canvas_text_width(&c, series_name(names, k, buf, sizeof buf)));
        legend_w = fmin(legend_w, 180) + 46;
    }
    double xlo = x[0], xhi = x[0], ylo = y[0][0], yhi = y[0][0];
    for (int i = 0; i < npoints; i++) xlo = fmin(xlo, x[i]), xhi = fmax(xhi, x[i]);
    for (int k = 0; k < nseries; k++)
        for (int i = 0; i < npoints; i++) ylo = fmin(ylo, y[k][i]), yhi = fmax(yhi, y[k][i]);

    const double y0 = LAM_PLOT_FRAME_TOP, y1 = c.height - 64;
    lam_ticks ty, tx;
    lam_axis ay, ax;
    lam_axis_padded(ylo, yhi, y1, y0, 6, &ty, &ay);
    const double ylabel_w = ylabel && *ylabel ? 24 : 0;
    const double x0 = LAM_PLOT_MARGIN + ylabel_w + lam_ticks_label_width(&c, &ty) + 10;
    const double x1 = c.width - LAM_PLOT_MARGIN - legend_w;
    lam_axis_padded(xlo, xhi, x0, x1, 7, &tx, &ax);
    lam_draw_x_ticks(&c, &tx, &ax, y1, y0 + 1, y1 - 1);
    lam_draw_y_ticks(&c, &ty, &ay, x0, x0 + 1, x1 - 1);

    cairo_save(c.cr);
    cairo_rectangle(c.cr, x0, y0, x1 - x0, y1 - y0);
    cairo_clip(c.cr);
    cairo_set_line_width(c.cr, 2.0);
    cairo_set_line_join(c.cr, CAIRO_LINE_JOIN_ROUND);
    for (int k = 0; k < nseries; k++) {
        lam_canvas_color(&c, lam_series_color(k));
        for (int i = 0; i < npoints; i++)
            cairo_line_to(c.cr, lam_axis_px(&ax, x[i]), lam_axis_px(&ay, y[k][i]));
        cairo_stroke(c.cr);
        if (npoints <= LINES_MARKERS_UP_TO)
            for (int i = 0; i < npoints; i++)
                lam_draw_marker(&c, k, lam_axis_px(&ax, x[i]), lam_axis_px(&ay, y[k][i]), 3.5);
    }
    cairo_restore(c.cr);
    lam_canvas_color(&c, LAM_RGB_FRAME);
    lam_canvas_frame(&c, x0, y0, x1, y1);
    x_label(&c, x0, x1, xlabel);
    if (ylabel && *ylabel) {
        lam_canvas_font(&c, LAM_FONT_LABEL, false);
        lam_canvas_color(&c, LAM_RGB_TEXT);
        lam_canvas_text_up(&c, LAM_PLOT_MARGIN + 8, (y0 + y1) / 2, y1 - y0, ylabel);
    }
    if (legend) {
        lam_canvas_font(&c, LAM_FONT_LABEL, false);
        const double lx = x1 + 12;
        for (int k = 0; k < nseries; k++) {
            const double ly = y0 + 8 + LEGEND_ROW * (k + 0.5);
            if (ly > y1) break; /* more series than fit: the rest unnamed */
            lam_canvas_color(&c, lam_series_color(k));
            cairo_set_line_width(c.cr, 2.0);
            cairo_move_to(c.cr, lx, ly);
            cairo_line_to(c.cr, lx + 24, ly);
            cairo_stroke(c.cr);
            cairo_set_line_width(c.cr, 1.0);
            lam_draw_marker(&c, k, lx + 12, ly, 3.5);
            lam_canvas_color(&c, LAM_RGB_TEXT);
            lam_canvas_text(&c, lx + 30, ly, LAM_ALIGN_START, LAM_ALIGN_CENTER, legend_w - 34,
                            series_name(names, k, buf, sizeof buf));
        }
    }
    lam_status s = lam_canvas_write(&c);
    lam_canvas_end(&c);
    return s;
}
#endif
