/* plot_confusion.c - a confusion matrix: true classes down, predicted ones
 * across, each cell's count written in it and its colour the count's share
 * of the true class (so that classes of different sizes compare: the
 * diagonal is each class's recall). */
#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

#include <math.h>
#include <stdio.h>

static const char CONFUSION[] = "lam_plot_confusion";

static lam_status check_confusion(const char *path, const char *title, const int64_t *counts,
                                  int classes, const char *const *class_names)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s: path is NULL", CONFUSION);
    if (!counts) return lam_error(LAM_ERR_ARG, "%s: %s: counts is NULL", CONFUSION, path);
    if (classes < 1 || classes > LAM_PLOT_CONFUSION_MAX_CLASSES)
        return lam_error(LAM_ERR_ARG, "%s: %s: %d classes (1 to %d expected)", CONFUSION, path,
                         classes, LAM_PLOT_CONFUSION_MAX_CLASSES);
    LAM_TRY(lam_plot_check_text(CONFUSION, "title", -1, title));
    for (int k = 0; class_names && k < classes; k++) {
        if (!class_names[k])
            return lam_error(LAM_ERR_ARG, "%s: %s: class_names[%d] is NULL", CONFUSION, path, k);
        LAM_TRY(lam_plot_check_text(CONFUSION, "class_names", k, class_names[k]));
    }
    for (int i = 0; i < classes * classes; i++)
        if (counts[i] < 0)
            return lam_error(LAM_ERR_ARG, "%s: %s: counts[%d] (true %d, predicted %d) is %lld "
                             "(>= 0 expected)", CONFUSION, path, i, i / classes, i % classes,
                             (long long)counts[i]);
    return LAM_OK;
}

static const char *class_name(const char *const *names, int k, char *buf, size_t n)
{
    if (names) return names[k];
    snprintf(buf, n, "%d", k);
    return buf;
}

lam_status lam_plot_confusion(const char *path, const char *title, const int64_t *counts,
                              int classes, const char *const *class_names)
{
    LAM_TRY(check_confusion(path, title, counts, classes, class_names));
    lam_confusion_layout l;
    lam_confusion_layout_of(classes, &l);
    lam_canvas cv;
    LAM_TRY(lam_canvas_begin(&cv, path, l.width, l.height));
    lam_canvas_title(&cv, title);
    const lam_plot_box mx = l.matrix;
    const int k = classes, cell = l.cell;
    /* Counts are written when they fit: from 24-pixel cells (up to 21 classes). */
    const double count_font = cell >= 40 ? LAM_FONT_TICK : cell >= 30 ? 11.0 : 9.0;
    char buf[32];
    for (int t = 0; t < k; t++) {
        int64_t row = 0;
        for (int p = 0; p < k; p++) row += counts[t * k + p];
        for (int p = 0; p < k; p++) {
            const int64_t n = counts[t * k + p];
            const double share = row > 0 ? (double)n / (double)row : 0;
            const lam_rgb fill = lam_colormap_at(LAM_CMAP_BLUES, share);
            const double x = mx.x + p * cell, y = mx.y + t * cell;
            lam_canvas_color(&cv, fill);
            cairo_rectangle(cv.cr, x, y, cell, cell);
            cairo_fill(cv.cr);
            if (cell < 24) continue;
            lam_canvas_font(&cv, count_font, t == p);
            lam_canvas_color(&cv, lam_rgb_luma(fill) < 0.5 ? (lam_rgb){1, 1, 1} : LAM_RGB_TEXT);
            snprintf(buf, sizeof buf, "%lld", (long long)n);
            lam_canvas_text(&cv, x + cell / 2.0, y + cell / 2.0, LAM_ALIGN_CENTER,
                            LAM_ALIGN_CENTER, cell - 2, buf);
        }
    }
    lam_canvas_color(&cv, LAM_RGB_FRAME);
    lam_canvas_frame(&cv, mx.x - 1, mx.y - 1, mx.x + mx.w, mx.y + mx.h);

    /* True classes at the left, predicted ones below at 45 degrees (as
     * matplotlib's rotation=45, ha="right"): each name ends at its column. */
    const double name_font = cell >= 20 ? LAM_FONT_LABEL : cell >= 14 ? 10.0 : 8.0;
    lam_canvas_color(&cv, LAM_RGB_TEXT);
    lam_canvas_font(&cv, name_font, false);
    double names_w = 0; /* the widest name as drawn: the axis labels go beside the names */
    for (int t = 0; t < k; t++)
        names_w = fmax(names_w, lam_canvas_text_width(&cv, class_name(class_names, t, buf,
                                                                        sizeof buf)));
    names_w = fmin(names_w, LAM_PLOT_CONFUSION_NAMES);
    for (int t = 0; t < k; t++) {
        lam_canvas_font(&cv, name_font, false);
        lam_canvas_text(&cv, mx.x - 8, mx.y + (t + 0.5) * cell, LAM_ALIGN_END, LAM_ALIGN_CENTER,
                        LAM_PLOT_CONFUSION_NAMES, class_name(class_names, t, buf, sizeof buf));
    }
    for (int p = 0; p < k; p++) {
        lam_canvas_font(&cv, name_font, false);
        cairo_save(cv.cr);
        cairo_translate(cv.cr, mx.x + (p + 0.5) * cell + 4, mx.y + mx.h + 10);
        cairo_rotate(cv.cr, -M_PI / 4);
        lam_canvas_text(&cv, 0, 0, LAM_ALIGN_END, LAM_ALIGN_CENTER, LAM_PLOT_CONFUSION_NAMES,
                        class_name(class_names, p, buf, sizeof buf));
        cairo_restore(cv.cr);
    }
    lam_canvas_font(&cv, LAM_FONT_LABEL, true);
    const double below = mx.y + mx.h + 10 + names_w * M_SQRT1_2 + 2 * name_font;
    lam_canvas_text(&cv, mx.x + mx.w / 2.0, fmin(below, l.height - LAM_PLOT_MARGIN),
                    LAM_ALIGN_CENTER, LAM_ALIGN_END, 0, "predicted class");
    lam_canvas_text_up(&cv, fmax(mx.x - 8 - names_w - 16, LAM_PLOT_MARGIN + 10),
                       mx.y + mx.h / 2.0, mx.h, "true class");

    lam_draw_colorbar(&cv, l.colorbar, LAM_CMAP_BLUES, 0, 1);
    lam_canvas_font(&cv, LAM_FONT_LABEL, false);
    lam_canvas_color(&cv, LAM_RGB_TEXT);
    lam_canvas_text_up(&cv, l.colorbar.x + l.colorbar.w + LAM_PLOT_COLORBAR_LABELS - 4,
                       l.colorbar.y + l.colorbar.h / 2.0, l.colorbar.h,
                       "share of the true class");
    lam_status s = lam_canvas_write(&cv);
    lam_canvas_end(&cv);
    return s;
}
#endif
