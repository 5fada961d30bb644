/* canvas.c - the surface every picture is drawn on: a white cairo image
 * surface, text in DejaVu Sans, nice ticks, axes, markers and colour bars,
 * written as PNG through the library's atomic writer. */
#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

lam_status lam_canvas_begin(lam_canvas *c, const char *path, int width, int height)
{
    *c = (lam_canvas){.path = path, .width = width, .height = height};
    if (width > LAM_PLOT_MAX_SIDE || height > LAM_PLOT_MAX_SIDE)
        return lam_error(LAM_ERR_UNSUPPORTED, "%s: a %d x %d picture is more than cairo draws "
                         "(%d pixels a side): show fewer bars, features or tokens", path, width,
                         height, LAM_PLOT_MAX_SIDE);
    c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    if (cairo_surface_status(c->surface) != CAIRO_STATUS_SUCCESS) {
        lam_status s = lam_error(LAM_ERR_NOMEM, "%s: cairo cannot make a %d x %d picture: %s",
                                 path, width, height,
                                 cairo_status_to_string(cairo_surface_status(c->surface)));
        lam_canvas_end(c);
        return s;
    }
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        lam_status s = lam_error(LAM_ERR_NOMEM, "%s: cairo cannot draw: %s", path,
                                 cairo_status_to_string(cairo_status(c->cr)));
        lam_canvas_end(c);
        return s;
    }
    cairo_set_antialias(c->cr, CAIRO_ANTIALIAS_GOOD);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
    cairo_set_font_options(c->cr, fo);
    cairo_font_options_destroy(fo);
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    cairo_set_line_width(c->cr, 1.0);
    lam_canvas_font(c, LAM_FONT_LABEL, false);
    return LAM_OK;
}

void lam_canvas_end(lam_canvas *c)
{
    if (c->cr) cairo_destroy(c->cr);
    if (c->surface) cairo_surface_destroy(c->surface);
    c->cr = NULL;
    c->surface = NULL;
}

static cairo_status_t png_to_file(void *closure, const unsigned char *data, unsigned int length)
{
    return fwrite(data, 1, length, closure) == length ? CAIRO_STATUS_SUCCESS
                                                       : CAIRO_STATUS_WRITE_ERROR;
}

static lam_status write_png(FILE *f, void *user)
{
    lam_canvas *c = user;
    cairo_status_t st = cairo_surface_write_to_png_stream(c->surface, png_to_file, f);
    if (st != CAIRO_STATUS_SUCCESS)
        return lam_error(st == CAIRO_STATUS_NO_MEMORY ? LAM_ERR_NOMEM : LAM_ERR_IO,
                         "%s: writing the PNG failed: %s", c->path, cairo_status_to_string(st));
    return LAM_OK;
}

lam_status lam_canvas_write(lam_canvas *c)
{
    /* cairo records the first failure in the context and ignores what
     * follows, so one check after drawing covers every call. */
    cairo_status_t st = cairo_status(c->cr);
    if (st != CAIRO_STATUS_SUCCESS)
        return lam_error(st == CAIRO_STATUS_NO_MEMORY ? LAM_ERR_NOMEM : LAM_ERR_STATE,
                         "%s: drawing failed: %s", c->path, cairo_status_to_string(st));
    cairo_surface_flush(c->surface);
    return lam_write_atomic(c->path, write_png, c);
}

void lam_canvas_color(lam_canvas *c, lam_rgb rgb)
{
    cairo_set_source_rgb(c->cr, rgb.r, rgb.g, rgb.b);
}

void lam_canvas_font(lam_canvas *c, double size, bool bold)
{
    cairo_select_font_face(c->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(c->cr, size);
}

/* ------------------------------------------------------------------ text */

double lam_canvas_text_width(lam_canvas *c, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(c->cr, s, &e);
    return e.x_advance;
}

/* s, or its longest prefix (whole characters) followed by an ellipsis, that
 * fits in max_width, into buf. */
static const char *fit_text(lam_canvas *c, const char *s, double max_width, char *buf, size_t n)
{
    if (max_width <= 0 || lam_canvas_text_width(c, s) <= max_width) return s;
    static const char ellipsis[] = "\xE2\x80\xA6"; /* U+2026 */
    size_t len = strlen(s);
    if (len > n - sizeof ellipsis) len = n - sizeof ellipsis;
    for (;;) {
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80) len--; /* a whole character */
        memcpy(buf, s, len);
        memcpy(buf + len, ellipsis, sizeof ellipsis);
        if (len == 0 || lam_canvas_text_width(c, buf) <= max_width) return buf;
        len--;
    }
}

void lam_canvas_text(lam_canvas *c, double x, double y, lam_align h, lam_align v,
                     double max_width, const char *s)
{
    char buf[512];
    s = fit_text(c, s, max_width, buf, sizeof buf);
    cairo_font_extents_t fe;
    cairo_font_extents(c->cr, &fe);
    const double w = lam_canvas_text_width(c, s);
    const double bx = h == LAM_ALIGN_START ? x : h == LAM_ALIGN_CENTER ? x - w / 2 : x - w;
    const double by = v == LAM_ALIGN_START    ? y + fe.ascent
                      : v == LAM_ALIGN_CENTER ? y + (fe.ascent - fe.descent) / 2
                                              : y - fe.descent;
    cairo_move_to(c->cr, bx, by);
    cairo_show_text(c->cr, s);
}

void lam_canvas_text_up(lam_canvas *c, double x, double y, double max_width, const char *s)
{
    cairo_save(c->cr);
    cairo_translate(c->cr, x, y);
    cairo_rotate(c->cr, -M_PI / 2);
    lam_canvas_text(c, 0, 0, LAM_ALIGN_CENTER, LAM_ALIGN_CENTER, max_width, s);
    cairo_restore(c->cr);
}

void lam_canvas_title(lam_canvas *c, const char *title)
{
    if (!title || !*title) return;
    lam_canvas_font(c, LAM_FONT_TITLE, true);
    lam_canvas_color(c, LAM_RGB_TEXT);
    lam_canvas_text(c, c->width / 2.0, LAM_PLOT_TITLE_BAND / 2.0 + 2, LAM_ALIGN_CENTER,
                    LAM_ALIGN_CENTER, c->width - 2 * LAM_PLOT_MARGIN, title);
}

/* ----------------------------------------------------------------- lines */

void lam_canvas_hline(lam_canvas *c, double x0, double x1, double y)
{
    const double py = floor(y) + 0.5;
    cairo_move_to(c->cr, floor(x0), py);
    cairo_line_to(c->cr, floor(x1) + 1, py);
    cairo_stroke(c->cr);
}

void lam_canvas_vline(lam_canvas *c, double x, double y0, double y1)
{
    const double px = floor(x) + 0.5;
    cairo_move_to(c->cr, px, floor(y0));
    cairo_line_to(c->cr, px, floor(y1) + 1);
    cairo_stroke(c->cr);
}

void lam_canvas_frame(lam_canvas *c, double x0, double y0, double x1, double y1)
{
    cairo_rectangle(c->cr, floor(x0) + 0.5, floor(y0) + 0.5, floor(x1) - floor(x0),
                    floor(y1) - floor(y0));
    cairo_stroke(c->cr);
}

/* ----------------------------------------------------------------- ticks */

void lam_ticks_nice(double lo, double hi, int target, bool widen, lam_ticks *t)
{
    if (!(hi > lo)) { /* one value: a range around it */
        const double pad = lo != 0 ? fabs(lo) * 0.1 : 1.0;
        lo -= pad;
        hi += pad;
    }
    const double raw = (hi - lo) / (target > 1 ? target : 1);
    const double mag = pow(10.0, floor(log10(raw)));
    const double f = raw / mag;
    const double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    double step = nice * mag;
    if (widen) {
        lo = floor(lo / step + 1e-9) * step;
        hi = ceil(hi / step - 1e-9) * step;
    }
    /* Never more ticks than fit. */
    while ((hi - lo) / step > LAM_TICKS_MAX - 1) step *= 2;
    t->lo = lo;
    t->hi = hi;
    t->step = step;
    t->n = 0;
    for (double k = ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9 && t->n < LAM_TICKS_MAX;
         k++) {
        const double v = k * step;
        t->v[t->n++] = fabs(v) < step * 1e-9 ? 0.0 : v; /* no "-0" */
    }
    const double ls = log10(step);
    /* Plain decimals for steps of a readable size, %g beyond. */
    t->decimals = ls < -4 || ls > 6 ? -1 : ls >= 0 ? 0 : (int)ceil(-ls - 1e-9);
}

void lam_tick_label(const lam_ticks *t, double v, char *buf, size_t n)
{
    if (t->decimals < 0) snprintf(buf, n, "%.3g", v);
    else snprintf(buf, n, "%.*f", t->decimals, v);
}

void lam_axis_padded(double lo, double hi, double p0, double p1, int target, lam_ticks *t,
                     lam_axis *a)
{
    if (!(hi > lo)) {
        lam_ticks_nice(lo, hi, target, false, t); /* widened around the one value */
        lo = t->lo;
        hi = t->hi;
    }
    const double pad = 0.04 * (hi - lo);
    lam_ticks_nice(lo - pad, hi + pad, target, false, t);
    *a = (lam_axis){t->lo, t->hi, p0, p1};
}

double lam_ticks_label_width(lam_canvas *c, const lam_ticks *t)
{
    lam_canvas_font(c, LAM_FONT_TICK, false);
    double w = 0;
    for (int i = 0; i < t->n; i++) {
        char buf[48];
        lam_tick_label(t, t->v[i], buf, sizeof buf);
        const double tw = lam_canvas_text_width(c, buf);
        if (tw > w) w = tw;
    }
    return w;
}

void lam_draw_x_ticks(lam_canvas *c, const lam_ticks *t, const lam_axis *a, double y, double g0,
                      double g1)
{
    lam_canvas_font(c, LAM_FONT_TICK, false);
    for (int i = 0; i < t->n; i++) {
        const double px = lam_axis_px(a, t->v[i]);
        if (g1 > g0) {
            lam_canvas_color(c, LAM_RGB_GRID);
            lam_canvas_vline(c, px, g0, g1);
        }
        lam_canvas_color(c, LAM_RGB_FRAME);
        lam_canvas_vline(c, px, y, y + 5);
        char buf[48];
        lam_tick_label(t, t->v[i], buf, sizeof buf);
        lam_canvas_color(c, LAM_RGB_TEXT);
        lam_canvas_text(c, px, y + 7, LAM_ALIGN_CENTER, LAM_ALIGN_START, 0, buf);
    }
}

void lam_draw_y_ticks(lam_canvas *c, const lam_ticks *t, const lam_axis *a, double x, double g0,
                      double g1)
{
    lam_canvas_font(c, LAM_FONT_TICK, false);
    for (int i = 0; i < t->n; i++) {
        const double py = lam_axis_px(a, t->v[i]);
        if (g1 > g0) {
            lam_canvas_color(c, LAM_RGB_GRID);
            lam_canvas_hline(c, g0, g1, py);
        }
        lam_canvas_color(c, LAM_RGB_FRAME);
        lam_canvas_hline(c, x - 5, x, py);
        char buf[48];
        lam_tick_label(t, t->v[i], buf, sizeof buf);
        lam_canvas_color(c, LAM_RGB_TEXT);
        lam_canvas_text(c, x - 8, py, LAM_ALIGN_END, LAM_ALIGN_CENTER, 0, buf);
    }
}

/* ----------------------------------------------------------- colour bars */

/* The bar itself: one row of pixels per colour, hi at the top. */
static void colorbar_fill(lam_canvas *c, lam_plot_box box, lam_colormap m)
{
    for (int i = 0; i < box.h; i++) {
        lam_canvas_color(c, lam_colormap_at(m, 1.0 - (i + 0.5) / box.h));
        cairo_rectangle(c->cr, box.x, box.y + i, box.w, 1);
        cairo_fill(c->cr);
    }
    lam_canvas_color(c, LAM_RGB_FRAME);
    lam_canvas_frame(c, box.x - 1, box.y - 1, box.x + box.w, box.y + box.h);
}

void lam_draw_colorbar(lam_canvas *c, lam_plot_box box, lam_colormap m, double lo, double hi)
{
    colorbar_fill(c, box, m);
    lam_ticks t;
    lam_ticks_nice(lo, hi, box.h >= 200 ? 6 : 4, false, &t);
    const lam_axis a = {lo, hi, box.y + box.h, box.y};
    lam_canvas_font(c, LAM_FONT_TICK, false);
    for (int i = 0; i < t.n; i++) {
        const double py = lam_axis_px(&a, t.v[i]);
        lam_canvas_color(c, LAM_RGB_FRAME);
        lam_canvas_hline(c, box.x + box.w, box.x + box.w + 4, py);
        char buf[48];
        lam_tick_label(&t, t.v[i], buf, sizeof buf);
        lam_canvas_color(c, LAM_RGB_TEXT);
        lam_canvas_text(c, box.x + box.w + 7, py, LAM_ALIGN_START, LAM_ALIGN_CENTER,
                        LAM_PLOT_COLORBAR_LABELS - 8, buf);
    }
}

void lam_draw_colorbar_words(lam_canvas *c, lam_plot_box box, lam_colormap m,
                             const char *low_label, const char *high_label, const char *caption)
{
    colorbar_fill(c, box, m);
    lam_canvas_font(c, LAM_FONT_TICK, false);
    lam_canvas_color(c, LAM_RGB_TEXT);
    const double cx = box.x + box.w / 2.0;
    lam_canvas_text(c, cx, box.y - 4, LAM_ALIGN_CENTER, LAM_ALIGN_END, 0, high_label);
    lam_canvas_text(c, cx, box.y + box.h + 4, LAM_ALIGN_CENTER, LAM_ALIGN_START, 0, low_label);
    lam_canvas_font(c, LAM_FONT_LABEL, false);
    lam_canvas_text_up(c, box.x + box.w + 16, box.y + box.h / 2.0, box.h + 60, caption);
}

/* --------------------------------------------------------------- series */

lam_rgb lam_series_color(int k)
{
    static const unsigned char tab10[10][3] = {
        {31, 119, 180}, {255, 127, 14}, {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
        {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
    const unsigned char *c = tab10[k % 10];
    return (lam_rgb){c[0] / 255.0, c[1] / 255.0, c[2] / 255.0};
}

void lam_draw_marker(lam_canvas *c, int k, double x, double y, double r)
{
    switch (k % 4) {
    case 0: cairo_arc(c->cr, x, y, r, 0, 2 * M_PI); break;
    case 1: cairo_rectangle(c->cr, x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7); break;
    case 2:
        cairo_move_to(c->cr, x, y - r * 1.15);
        cairo_line_to(c->cr, x + r, y + r * 0.75);
        cairo_line_to(c->cr, x - r, y + r * 0.75);
        cairo_close_path(c->cr);
        break;
    default:
        cairo_move_to(c->cr, x, y - r * 1.2);
        cairo_line_to(c->cr, x + r, y);
        cairo_line_to(c->cr, x, y + r * 1.2);
        cairo_line_to(c->cr, x - r, y);
        cairo_close_path(c->cr);
        break;
    }
    cairo_fill(c->cr);
}
#endif
