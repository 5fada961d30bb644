/* plot_attributions.c - an image and its attribution maps side by side: the
 * image first, then each map over a grey copy of it with its colour bar.
 *
 * Small images are upscaled by a whole factor with nearest-neighbour
 * sampling, so that a 28 x 28 digit shows as 224 x 224 sharp squares: one
 * square per input value, which is what an attribution is about. A map with
 * negative values gets a diverging map (blue - white - red, symmetric around
 * 0 at +-max |map|); one without (saliency, Grad-CAM) a sequential one
 * (inferno) from 0 to its max. The overlay's opacity grows with |value|, so
 * that the image shows through where the map is near 0. */
#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

#include <math.h>
#include <stdio.h>

static const char FN[] = "lam_plot_attributions";

/* Image values to [0, 1] by the image's own min and max (0.5 when flat). */
typedef struct value_range {
    float lo, hi;
} value_range;

static value_range range_of(const float *v, int64_t n)
{
    value_range r = {v[0], v[0]};
    for (int64_t i = 1; i < n; i++) {
        if (v[i] < r.lo) r.lo = v[i];
        if (v[i] > r.hi) r.hi = v[i];
    }
    return r;
}

static double unit(value_range r, float v)
{
    return r.hi > r.lo ? (v - r.lo) / (r.hi - r.lo) : 0.5;
}

static uint32_t pack(double r, double g, double b, double a)
{
    /* cairo's ARGB32 is premultiplied; RGB24 ignores the top byte. */
    return (uint32_t)(a * 255 + 0.5) << 24 | (uint32_t)(r * a * 255 + 0.5) << 16 |
           (uint32_t)(g * a * 255 + 0.5) << 8 | (uint32_t)(b * a * 255 + 0.5);
}

/* An h x w surface whose pixel (i, j) is pixel(user, i * w + j). */
typedef uint32_t (*pixel_fn)(const void *user, int64_t i);

static cairo_surface_t *surface_of(int h, int w, cairo_format_t format, pixel_fn pixel,
                                   const void *user)
{
    cairo_surface_t *s = cairo_image_surface_create(format, w, h);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) return s;
    cairo_surface_flush(s);
    unsigned char *data = cairo_image_surface_get_data(s);
    const int stride = cairo_image_surface_get_stride(s);
    for (int i = 0; i < h; i++) {
        uint32_t *row = (uint32_t *)(data + (size_t)i * stride);
        for (int j = 0; j < w; j++) row[j] = pixel(user, (int64_t)i * w + j);
    }
    cairo_surface_mark_dirty(s);
    return s;
}

typedef struct image_view {
    const float *v;
    int channels;
    value_range r;
} image_view;

static uint32_t image_pixel(const void *user, int64_t i)
{
    const image_view *im = user;
    if (im->channels == 1) {
        const double g = unit(im->r, im->v[i]);
        return pack(g, g, g, 1);
    }
    const float *p = im->v + i * 3;
    return pack(unit(im->r, p[0]), unit(im->r, p[1]), unit(im->r, p[2]), 1);
}

/* The grey under the maps: the image's lightness squeezed into [0.2, 0.9],
 * so that neither black nor white hides the colours over it. */
static uint32_t grey_pixel(const void *user, int64_t i)
{
    const image_view *im = user;
    double g;
    if (im->channels == 1) g = unit(im->r, im->v[i]);
    else {
        const float *p = im->v + i * 3;
        g = 0.299 * unit(im->r, p[0]) + 0.587 * unit(im->r, p[1]) + 0.114 * unit(im->r, p[2]);
    }
    g = 0.2 + 0.7 * g;
    return pack(g, g, g, 1);
}

typedef struct map_view {
    const float *v;
    lam_colormap cmap;
    double max;  /* max |v|, 1 when all are 0 */
} map_view;

static uint32_t map_pixel(const void *user, int64_t i)
{
    const map_view *m = user;
    const double s = m->v[i] / m->max; /* [-1, 1] or [0, 1] */
    const double t = m->cmap == LAM_CMAP_DIVERGING ? 0.5 + 0.5 * s : s;
    const lam_rgb c = lam_colormap_at(m->cmap, t);
    return pack(c.r, c.g, c.b, 0.15 + 0.8 * fabs(s));
}

/* src (h x w) drawn into box, pixels as sharp squares. */
static void paint_scaled(lam_canvas *c, cairo_surface_t *src, int h, int w, lam_plot_box box)
{
    cairo_save(c->cr);
    cairo_translate(c->cr, box.x, box.y);
    cairo_scale(c->cr, (double)box.w / w, (double)box.h / h);
    cairo_set_source_surface(c->cr, src, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(c->cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(c->cr, 0, 0, w, h);
    cairo_fill(c->cr);
    cairo_restore(c->cr);
}

static void panel_title(lam_canvas *c, const lam_attributions_layout *l, lam_plot_box im,
                        const char *title)
{
    lam_canvas_font(c, LAM_FONT_PANEL_TITLE, false);
    lam_canvas_color(c, LAM_RGB_TEXT);
    const double y = im.y - LAM_PLOT_PANEL_TITLE / 2.0;
    if (lam_canvas_text_width(c, title) <= im.w)
        lam_canvas_text(c, im.x + im.w / 2.0, y, LAM_ALIGN_CENTER, LAM_ALIGN_CENTER, 0, title);
    else
        lam_canvas_text(c, im.x, y, LAM_ALIGN_START, LAM_ALIGN_CENTER, l->cell_w, title);
}

static lam_status check(const char *path, const float *image, int h, int w, int channels,
                        const float *const *maps, const char *const *map_titles, int nmaps,
                        const char *title)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s: path is NULL", FN);
    if (!image) return lam_error(LAM_ERR_ARG, "%s: %s: image is NULL", FN, path);
    if (h < 1 || w < 1 || h > 32767 || w > 32767)
        return lam_error(LAM_ERR_ARG, "%s: %s: image size %d x %d (1 to 32767 each expected)",
                         FN, path, h, w);
    if (channels != 1 && channels != 3)
        return lam_error(LAM_ERR_ARG, "%s: %s: %d channels (1 or 3 expected)", FN, path,
                         channels);
    if (nmaps < 1 || !maps)
        return lam_error(LAM_ERR_ARG, "%s: %s: no maps (%d, maps %s)", FN, path, nmaps,
                         maps ? "given" : "NULL");
    LAM_TRY(lam_plot_check_text(FN, "title", -1, title));
    LAM_TRY(lam_plot_check_finite_f(FN, "image", image, (int64_t)h * w * channels));
    for (int k = 0; k < nmaps; k++) {
        if (!maps[k]) return lam_error(LAM_ERR_ARG, "%s: %s: maps[%d] is NULL", FN, path, k);
        char what[32];
        snprintf(what, sizeof what, "maps[%d]", k);
        LAM_TRY(lam_plot_check_finite_f(FN, what, maps[k], (int64_t)h * w));
        if (map_titles) LAM_TRY(lam_plot_check_text(FN, "map_titles", k, map_titles[k]));
    }
    return LAM_OK;
}

lam_status lam_plot_attributions(const char *path, const char *title, const float *image,
                                 int h, int w, int channels, const float *const *maps,
                                 const char *const *map_titles, int nmaps)
{
    LAM_TRY(check(path, image, h, w, channels, maps, map_titles, nmaps, title));
    lam_attributions_layout l;
    lam_attributions_layout_of(h, w, 1 + nmaps, &l);
    lam_canvas c;
    LAM_TRY(lam_canvas_begin(&c, path, l.width, l.height));
    lam_canvas_title(&c, title);

    const image_view im = {image, channels, range_of(image, (int64_t)h * w * channels)};
    cairo_surface_t *picture = surface_of(h, w, CAIRO_FORMAT_RGB24, image_pixel, &im);
    cairo_surface_t *grey = surface_of(h, w, CAIRO_FORMAT_RGB24, grey_pixel, &im);
    lam_plot_box box = lam_attributions_image_box(&l, 0);
    /* A failed surface puts the context in error: lam_canvas_write reports it. */
    paint_scaled(&c, picture, h, w, box);
    panel_title(&c, &l, box, "input");
    lam_canvas_color(&c, LAM_RGB_FRAME);
    lam_canvas_frame(&c, box.x - 1, box.y - 1, box.x + box.w, box.y + box.h);

    for (int k = 0; k < nmaps; k++) {
        const value_range r = range_of(maps[k], (int64_t)h * w);
        const double max = fmax(fabs(r.lo), fabs(r.hi));
        const map_view mv = {maps[k], r.lo >= 0 ? LAM_CMAP_SEQUENTIAL : LAM_CMAP_DIVERGING,
                             max > 0 ? max : 1.0};
        box = lam_attributions_image_box(&l, k + 1);
        paint_scaled(&c, grey, h, w, box);
        cairo_surface_t *overlay = surface_of(h, w, CAIRO_FORMAT_ARGB32, map_pixel, &mv);
        paint_scaled(&c, overlay, h, w, box);
        cairo_surface_destroy(overlay);
        lam_canvas_color(&c, LAM_RGB_FRAME);
        lam_canvas_frame(&c, box.x - 1, box.y - 1, box.x + box.w, box.y + box.h);
        char fallback[32];
        snprintf(fallback, sizeof fallback, "map %d", k + 1);
        panel_title(&c, &l, box, map_titles && map_titles[k] ? map_titles[k] : fallback);
        lam_draw_colorbar(&c, lam_attributions_colorbar_box(&l, k + 1), mv.cmap,
                          mv.cmap == LAM_CMAP_DIVERGING ? -mv.max : 0, mv.max);
    }
    cairo_surface_destroy(grey);
    cairo_surface_destroy(picture);
    lam_status s = lam_canvas_write(&c);
    lam_canvas_end(&c);
    return s;
}
#endif
