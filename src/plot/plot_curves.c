/* plot_curves.c - learning curves: one panel per quantity (loss, accuracy,
 * ...), the training values and the validation ones against the epoch, as
 * the figures Keras users draw from History.history with matplotlib. */
#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char CURVES[] = "lam_plot_curves";

#define CURVES_MAX_PANELS 12
#define CURVES_MARKERS_UP_TO 40 /* epochs; beyond, markers hide the line */
#define TRAIN_SERIES 0          /* tab10 blue, circles (matplotlib's first colour) */
#define VAL_SERIES 1            /* tab10 orange, squares */
#define VAL_NAME_ROOM 512       /* "val_" + a name (longer names have no validation twin) */

/* The quantities drawn: those asked for, else loss and accuracy (those c
 * has), else c's first column that is not a validation one. */
static lam_status choose(const lam_curves *c, const char *const *quantities, int nq,
                         const char **out, int *n)
{
    *n = 0;
    if (nq > 0) {
        for (int i = 0; i < nq; i++) {
            if (!quantities[i])
                return lam_error(LAM_ERR_ARG, "%s: quantities[%d] is NULL", CURVES, i);
            if (lam_curves_column(c, quantities[i]) < 0) {
                char have[512] = "";
                for (int k = 0; k < c->columns && strlen(have) < 400; k++)
                    snprintf(have + strlen(have), sizeof have - strlen(have), "%s%s",
                             k ? ", " : "", c->names[k]);
                return lam_error(LAM_ERR_ARG, "%s: no \"%.64s\" in the curves (they have: %s)",
                                 CURVES, quantities[i], have);
            }
            out[(*n)++] = quantities[i];
        }
        return LAM_OK;
    }
    static const char *const usual[] = {"loss", "accuracy"};
    for (int i = 0; i < 2; i++)
        if (lam_curves_column(c, usual[i]) >= 0) out[(*n)++] = usual[i];
    for (int k = 0; k < c->columns && *n == 0; k++)
        if (strncmp(c->names[k], "val_", 4)) out[(*n)++] = c->names[k];
    if (*n == 0) out[(*n)++] = c->names[0]; /* only validation columns */
    return LAM_OK;
}

static lam_status check_curves(const char *path, const char *title, const lam_curves *c,
                               const char *const *quantities, int nq)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s: path is NULL", CURVES);
    if (!c) return lam_error(LAM_ERR_ARG, "%s: %s: curves are NULL", CURVES, path);
    if (c->epochs < 1 || c->columns < 1 || !c->epoch || !c->names || !c->values)
        return lam_error(LAM_ERR_ARG, "%s: %s: %d epochs of %d quantities (at least 1 each, "
                         "with their arrays)", CURVES, path, c->epochs, c->columns);
    if (nq < 0 || nq > CURVES_MAX_PANELS || (nq > 0 && !quantities))
        return lam_error(LAM_ERR_ARG, "%s: %s: %d quantities (0 for the usual ones, at most %d, "
                         "and not NULL)", CURVES, path, nq, CURVES_MAX_PANELS);
    LAM_TRY(lam_plot_check_text(CURVES, "title", -1, title));
    for (int k = 0; k < c->columns; k++) {
        if (!c->names[k]) return lam_error(LAM_ERR_ARG, "%s: %s: names[%d] is NULL", CURVES, path, k);
        LAM_TRY(lam_plot_check_text(CURVES, "names", k, c->names[k]));
        for (int i = 0; i < c->epochs; i++)
            if (isinf(c->values[(size_t)k * c->epochs + i]))
                return lam_error(LAM_ERR_NUMERIC, "%s: %s: %s at epoch %d is %g (finite values, "
                                 "or NaN for none, expected)", CURVES, path, c->names[k],
                                 c->epoch[i], c->values[(size_t)k * c->epochs + i]);
    }
    return LAM_OK;
}

/* Whole epochs on the x axis: nice ticks, but never between two epochs. */
static void epoch_ticks(double lo, double hi, lam_ticks *t)
{
    lam_ticks_nice(lo, hi, 6, false, t);
    if (t->step >= 1) return;
    t->n = 0;
    for (double v = ceil(lo); v <= hi && t->n < LAM_TICKS_MAX; v++) t->v[t->n++] = v;
    t->step = 1;
    t->decimals = 0;
}

/* One series: a line through its values, broken where an epoch has none,
 * and markers when there are few epochs. */
static void draw_series(lam_canvas *cv, const lam_curves *c, int col, int series,
                        const lam_axis *ax, const lam_axis *ay)
{
    const double *v = c->values + (size_t)col * c->epochs;
    lam_canvas_color(cv, lam_series_color(series));
    cairo_set_line_width(cv->cr, 2.0);
    cairo_set_line_join(cv->cr, CAIRO_LINE_JOIN_ROUND);
    cairo_new_path(cv->cr);
    for (int i = 0; i < c->epochs; i++) {
        if (isnan(v[i])) {
            cairo_new_sub_path(cv->cr);
            continue;
        }
        cairo_line_to(cv->cr, lam_axis_px(ax, c->epoch[i] + 1), lam_axis_px(ay, v[i]));
    }
    cairo_stroke(cv->cr);
    cairo_set_line_width(cv->cr, 1.0);
    if (c->epochs <= CURVES_MARKERS_UP_TO)
        for (int i = 0; i < c->epochs; i++)
            if (!isnan(v[i]))
                lam_draw_marker(cv, series, lam_axis_px(ax, c->epoch[i] + 1),
                                lam_axis_px(ay, v[i]), 3.5);
}

static void draw_panel(lam_canvas *cv, lam_plot_box box, const lam_curves *c, const char *name)
{
    char val_name[VAL_NAME_ROOM];
    snprintf(val_name, sizeof val_name, "val_%s", name);
    const int tc = lam_curves_column(c, name);
    const int vc = strncmp(name, "val_", 4) ? lam_curves_column(c, val_name) : -1;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (int s = 0; s < 2; s++) {
        const int col = s ? vc : tc;
        for (int i = 0; col >= 0 && i < c->epochs; i++) {
            const double v = c->values[(size_t)col * c->epochs + i];
            if (isnan(v)) continue;
            xlo = fmin(xlo, c->epoch[i] + 1);
            xhi = fmax(xhi, c->epoch[i] + 1);
            ylo = fmin(ylo, v);
            yhi = fmax(yhi, v);
        }
    }
    const bool empty = !(xhi >= xlo);
    if (empty) xlo = xhi = 1, ylo = yhi = 0;

    lam_canvas_font(cv, LAM_FONT_PANEL_TITLE, true);
    lam_canvas_color(cv, LAM_RGB_TEXT);
    lam_canvas_text(cv, box.x + box.w / 2.0, box.y + 4, LAM_ALIGN_CENTER, LAM_ALIGN_START,
                    box.w, name);
    const double y0 = box.y + 30, y1 = box.y + box.h - 50;
    lam_ticks ty, tx;
    lam_axis ay, ax;
    lam_axis_padded(ylo, yhi, y1, y0, 5, &ty, &ay);
    const double x0 = box.x + 26 + lam_ticks_label_width(cv, &ty) + 10;
    const double x1 = box.x + box.w - 12;
    /* The x axis: whole epochs, with half an epoch of room at each end. */
    epoch_ticks(xlo - 0.5, xhi + 0.5, &tx);
    ax = (lam_axis){xlo - (xhi > xlo ? 0.04 * (xhi - xlo) : 0.5),
                    xhi + (xhi > xlo ? 0.04 * (xhi - xlo) : 0.5), x0, x1};
    int n = 0;
    for (int i = 0; i < tx.n; i++)
        if (tx.v[i] >= ax.lo && tx.v[i] <= ax.hi) tx.v[n++] = tx.v[i];
    tx.n = n;
    lam_draw_x_ticks(cv, &tx, &ax, y1, y0 + 1, y1 - 1);
    lam_draw_y_ticks(cv, &ty, &ay, x0, x0 + 1, x1 - 1);
    cairo_save(cv->cr);
    cairo_rectangle(cv->cr, x0, y0, x1 - x0, y1 - y0);
    cairo_clip(cv->cr);
    if (tc >= 0) draw_series(cv, c, tc, strncmp(name, "val_", 4) ? TRAIN_SERIES : VAL_SERIES,
                             &ax, &ay);
    if (vc >= 0) draw_series(cv, c, vc, VAL_SERIES, &ax, &ay);
    cairo_restore(cv->cr);
    lam_canvas_color(cv, LAM_RGB_FRAME);
    lam_canvas_frame(cv, x0, y0, x1, y1);
    lam_canvas_font(cv, LAM_FONT_LABEL, false);
    lam_canvas_color(cv, LAM_RGB_TEXT);
    lam_canvas_text(cv, (x0 + x1) / 2, box.y + box.h - 6, LAM_ALIGN_CENTER, LAM_ALIGN_END,
                    x1 - x0, "epoch");
    lam_canvas_text_up(cv, box.x + 9, (y0 + y1) / 2, y1 - y0, name);
    if (empty)
        lam_canvas_text(cv, (x0 + x1) / 2, (y0 + y1) / 2, LAM_ALIGN_CENTER, LAM_ALIGN_CENTER,
                        x1 - x0, "no values");
}

/* One legend entry: a short line with the series' marker, then its name;
 * returns the x after it. */
static double legend_entry(lam_canvas *cv, double x, double y, int series, const char *name)
{
    lam_canvas_color(cv, lam_series_color(series));
    cairo_set_line_width(cv->cr, 2.0);
    cairo_move_to(cv->cr, x, y);
    cairo_line_to(cv->cr, x + 28, y);
    cairo_stroke(cv->cr);
    cairo_set_line_width(cv->cr, 1.0);
    lam_draw_marker(cv, series, x + 14, y, 3.5);
    lam_canvas_color(cv, LAM_RGB_TEXT);
    lam_canvas_text(cv, x + 34, y, LAM_ALIGN_START, LAM_ALIGN_CENTER, 0, name);
    return x + 34 + lam_canvas_text_width(cv, name) + 24;
}

lam_status lam_plot_curves(const char *path, const char *title, const lam_curves *c,
                           const char *const *quantities, int nquantities)
{
    LAM_TRY(check_curves(path, title, c, quantities, nquantities));
    const char *shown[CURVES_MAX_PANELS];
    int n;
    LAM_TRY(choose(c, quantities, nquantities, shown, &n));
    bool train = false, val = false;
    for (int p = 0; p < n; p++) {
        char val_name[VAL_NAME_ROOM];
        snprintf(val_name, sizeof val_name, "val_%s", shown[p]);
        const bool is_val = !strncmp(shown[p], "val_", 4);
        train |= !is_val;
        val |= is_val || lam_curves_column(c, val_name) >= 0;
    }
    int width, height;
    lam_curves_size(n, &width, &height);
    lam_canvas cv;
    LAM_TRY(lam_canvas_begin(&cv, path, width, height));
    lam_canvas_title(&cv, title);
    for (int p = 0; p < n; p++) draw_panel(&cv, lam_curves_panel_box(p), c, shown[p]);

    /* The legend, centred in its band under the title. */
    lam_canvas_font(&cv, LAM_FONT_LABEL, false);
    const double entry_w = 34 + 24;
    const double w = (train ? entry_w + lam_canvas_text_width(&cv, "training") : 0) +
                     (val ? entry_w + lam_canvas_text_width(&cv, "validation") : 0) - 24;
    double x = (cv.width - w) / 2;
    const double y = LAM_PLOT_TITLE_BAND + LAM_PLOT_CURVES_LEGEND / 2.0;
    if (train) x = legend_entry(&cv, x, y, TRAIN_SERIES, "training");
    if (val) legend_entry(&cv, x, y, VAL_SERIES, "validation");
    lam_status s = lam_canvas_write(&cv);
    lam_canvas_end(&cv);
    return s;
}
#endif
