/* plot.h - what the picture files share: a canvas (a cairo image surface
 * written atomically as PNG), text, nice ticks and axes, legends, colour
 * maps and colour bars. Only compiled with cairo (LAMINA_HAVE_CAIRO). */
#ifndef LAM_PLOT_H
#define LAM_PLOT_H

#include "internal.h"
#include "plot_layout.h"

#include <cairo.h>

/* Font sizes in pixels: labels and ticks at least 11 so that they stay
 * readable, titles larger. */
#define LAM_FONT_TITLE 18.0
#define LAM_FONT_PANEL_TITLE 14.0
#define LAM_FONT_LABEL 13.0
#define LAM_FONT_TICK 12.0

typedef struct lam_rgb {
    double r, g, b;
} lam_rgb;

#define LAM_RGB_TEXT ((lam_rgb){0.13, 0.13, 0.13})
#define LAM_RGB_FRAME ((lam_rgb){0.25, 0.25, 0.25})
#define LAM_RGB_GRID ((lam_rgb){0.90, 0.90, 0.90})
#define LAM_RGB_ZERO ((lam_rgb){0.5, 0.5, 0.5})
#define LAM_RGB_BAR ((lam_rgb){0.27, 0.51, 0.71})
#define LAM_RGB_BAR_NEGATIVE ((lam_rgb){0.84, 0.37, 0.30})

/* -------------------------------------------------------------- canvas */
#define LAM_PLOT_MAX_SIDE 32767 /* cairo's image surfaces go no larger */

typedef struct lam_canvas {
    const char *path; /* named in every error */
    cairo_surface_t *surface;
    cairo_t *cr;
    int width, height;
} lam_canvas;

/* A white width x height picture, antialiased, DejaVu Sans (cairo's toy
 * "sans-serif", resolved by fontconfig) at LAM_FONT_LABEL. */
lam_status lam_canvas_begin(lam_canvas *c, const char *path, int width, int height);
/* Writes the picture to c->path as PNG, atomically. */
lam_status lam_canvas_write(lam_canvas *c);
/* Frees what lam_canvas_begin made (also after a failure). */
void lam_canvas_end(lam_canvas *c);

void lam_canvas_color(lam_canvas *c, lam_rgb rgb);
void lam_canvas_font(lam_canvas *c, double size, bool bold);

typedef enum { LAM_ALIGN_START, LAM_ALIGN_CENTER, LAM_ALIGN_END } lam_align;

/* The current font's width of s. */
double lam_canvas_text_width(lam_canvas *c, const char *s);
/* s anchored at (x, y): h left/centre/right of x, v top/middle/bottom of y
 * (by the font's ascent and descent, so that lines of text align). Cut at
 * max_width with an ellipsis when wider (max_width <= 0: never cut). */
void lam_canvas_text(lam_canvas *c, double x, double y, lam_align h, lam_align v,
                     double max_width, const char *s);
/* s centred at (x, y), reading upwards (a y axis label). */
void lam_canvas_text_up(lam_canvas *c, double x, double y, double max_width, const char *s);
/* A title centred over the picture's top band. */
void lam_canvas_title(lam_canvas *c, const char *title);

/* Axis-aligned 1-pixel lines on pixel boundaries (crisp, not blurred over two). */
void lam_canvas_hline(lam_canvas *c, double x0, double x1, double y);
void lam_canvas_vline(lam_canvas *c, double x, double y0, double y1);
void lam_canvas_frame(lam_canvas *c, double x0, double y0, double x1, double y1);

/* --------------------------------------------------------------- ticks */
#define LAM_TICKS_MAX 24
typedef struct lam_ticks {
    double lo, hi;   /* the axis's range (widened to whole steps when asked) */
    double step;
    int n;
    double v[LAM_TICKS_MAX];
    int decimals;    /* for labels; -1: %g */
} lam_ticks;

/* About `target` ticks at 1, 2 or 5 times a power of ten over [lo, hi]; with
 * widen, the range grows to whole steps. lo == hi is widened around lo. */
void lam_ticks_nice(double lo, double hi, int target, bool widen, lam_ticks *t);
void lam_tick_label(const lam_ticks *t, double v, char *buf, size_t n);

/* A value axis: v in [lo, hi] to pixels [p0, p1]. */
typedef struct lam_axis {
    double lo, hi, p0, p1;
} lam_axis;
static inline double lam_axis_px(const lam_axis *a, double v)
{
    return a->p0 + (v - a->lo) / (a->hi - a->lo) * (a->p1 - a->p0);
}

/* Ticks and labels below y (x axis) or left of x (y axis), grid lines across
 * [g0, g1] when g1 > g0. */
void lam_draw_x_ticks(lam_canvas *c, const lam_ticks *t, const lam_axis *a, double y, double g0,
                      double g1);
void lam_draw_y_ticks(lam_canvas *c, const lam_ticks *t, const lam_axis *a, double x, double g0,
                      double g1);
/* The widest y tick label in the tick font. */
double lam_ticks_label_width(lam_canvas *c, const lam_ticks *t);

/* An axis over [lo, hi] with a margin of 4 % each side and about `target`
 * nice ticks inside, to pixels [p0, p1]. */
void lam_axis_padded(double lo, double hi, double p0, double p1, int target, lam_ticks *t,
                     lam_axis *a);

/* ---------------------------------------------------------- colour maps */
typedef enum {
    LAM_CMAP_DIVERGING,  /* blue - white - red (ColorBrewer RdBu), 0.5 = zero */
    LAM_CMAP_SEQUENTIAL, /* black - purple - orange - pale yellow (matplotlib inferno) */
    LAM_CMAP_LOW_HIGH,   /* blue - purple - red: a feature's value (shap's red_blue) */
    LAM_CMAP_BLUES       /* white - dark blue (matplotlib Blues): counts, darker = more */
} lam_colormap;
/* The colour at t in [0, 1] (clamped). */
lam_rgb lam_colormap_at(lam_colormap m, double t);
/* Perceived lightness in [0, 1] (Rec. 709 luma), for choosing a text colour. */
double lam_rgb_luma(lam_rgb c);

/* A vertical colour bar in box, hi at the top. With numbers: ticks over
 * [lo, hi] at its right; else the words low_label and high_label under and
 * over it and caption reading upwards at its right. */
void lam_draw_colorbar(lam_canvas *c, lam_plot_box box, lam_colormap m, double lo, double hi);
void lam_draw_colorbar_words(lam_canvas *c, lam_plot_box box, lam_colormap m,
                             const char *low_label, const char *high_label, const char *caption);

/* --------------------------------------------------------------- series */
/* tab10, matplotlib's default cycle. */
lam_rgb lam_series_color(int k);
/* Marker k % 4 (circle, square, triangle, diamond) centred at (x, y). */
void lam_draw_marker(lam_canvas *c, int k, double x, double y, double radius);

/* ----------------------------------------------------------- validation */
/* LAM_ERR_NUMERIC naming what[i] when v[i] is not finite. */
lam_status lam_plot_check_finite_f(const char *fn, const char *what, const float *v, int64_t n);
lam_status lam_plot_check_finite_d(const char *fn, const char *what, const double *v, int64_t n);
/* LAM_ERR_ARG when s (may be NULL) is not valid UTF-8 (cairo draws only that). */
lam_status lam_plot_check_text(const char *fn, const char *what, int64_t i, const char *s);

#endif
