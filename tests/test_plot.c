/* test_plot.c - the pictures (lam_plot_*): each kind is drawn into a
 * temporary folder, read back with libpng, and its pixels are checked where
 * the drawing would be wrong: sizes, where the hot pixel of a map lands and
 * in which colour, colour bars running monotonically, bars ordered by value
 * with lengths in proportion, beeswarm colours on the side of zero they
 * belong to, a rising line ending above its start, learning curves going
 * the way their values go, a confusion matrix darker on its diagonal, HTML
 * escaping; and bad
 * input and unwritable paths failing with messages that say what and where.
 *
 * Usage: test_plot [FOLDER]: with FOLDER the pictures are kept there (to look
 * at them). Exits 77 (skipped) in a build without cairo. */
#include "lamina.h"
#include "plot/plot_layout.h"
#include "test.h"

#include <dirent.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[512];

static const char *file_in(const char *name)
{
    static char buf[8][700];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* ------------------------------------------------------------ pixels */

typedef struct picture {
    int w, h;
    unsigned char *rgb;
} picture;

static bool read_picture(const char *path, picture *p)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    p->rgb = NULL;
    if (!png_image_begin_read_from_file(&im, path)) {
        CHECK(0, "%s: %s", path, im.message);
        return false;
    }
    im.format = PNG_FORMAT_RGB;
    p->w = (int)im.width;
    p->h = (int)im.height;
    p->rgb = malloc(PNG_IMAGE_SIZE(im));
    if (!png_image_finish_read(&im, NULL, p->rgb, 0, NULL)) {
        CHECK(0, "%s: %s", path, im.message);
        free(p->rgb);
        p->rgb = NULL;
        return false;
    }
    return true;
}

static const unsigned char *px(const picture *p, int x, int y)
{
    return p->rgb + ((size_t)y * p->w + x) * 3;
}

static bool near(const unsigned char *c, int r, int g, int b, int tol)
{
    return abs(c[0] - r) <= tol && abs(c[1] - g) <= tol && abs(c[2] - b) <= tol;
}

static double luma(const unsigned char *c) { return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }

/* The plot frame (bars, beeswarm, lines): the outermost columns and rows
 * holding a long run of the frame's colour. */
typedef struct frame {
    int x0, x1, y0, y1;
} frame;

static frame find_frame(const picture *p)
{
    /* Its top and bottom: the first and last rows a quarter full of its
     * colour; its sides: the ends of the longest run of it along the top. */
    frame f = {0, -1, p->h, -1};
    for (int y = 0; y < p->h; y++) {
        int count = 0;
        for (int x = 0; x < p->w; x++) count += near(px(p, x, y), 64, 64, 64, 3);
        if (count > p->w / 4) {
            if (y < f.y0) f.y0 = y;
            f.y1 = y;
        }
    }
    for (int x = 0, run = 0; f.y1 >= 0 && x < p->w; x++) {
        run = near(px(p, x, f.y0), 64, 64, 64, 3) ? run + 1 : 0;
        if (run > f.x1 - f.x0 + 1) f.x0 = x - run + 1, f.x1 = x;
    }
    CHECK(f.x1 > f.x0 + 100 && f.y1 > f.y0 + 20, "no plot frame found (%d..%d x %d..%d)", f.x0,
          f.x1, f.y0, f.y1);
    return f;
}

/* --------------------------------------------------------- attributions */

static void test_attributions(void)
{
    enum { H = 28, W = 28 };
    static float image[H * W], signed_map[H * W], positive_map[H * W];
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            image[i * W + j] = (float)j / (W - 1); /* a left-to-right ramp */
            positive_map[i * W + j] = 0.05f;
        }
    signed_map[4 * W + 22] = 2.0f;    /* hot */
    signed_map[20 * W + 20] = -1.5f; /* negative: the map is signed */
    positive_map[10 * W + 5] = 1.0f;
    const float *maps[] = {signed_map, positive_map};
    const char *titles[] = {"integrated gradients", "saliency"};
    const char *path = file_in("attributions.png");
    CHECK_OK(lam_plot_attributions(path, "digit 7: attributions", image, H, W, 1, maps, titles, 2));
    picture p;
    if (!read_picture(path, &p)) return;
    lam_attributions_layout l;
    lam_attributions_layout_of(H, W, 3, &l);
    /* 28 x 28 is upscaled 8 times: 224; a row of three panels. */
    CHECK(l.image_w == 224 && l.image_h == 224, "drawn image %d x %d", l.image_w, l.image_h);
    CHECK(p.w == 1000 && p.h == 310, "picture %d x %d, expected 1000 x 310", p.w, p.h);
    const int k = 8;

    /* The hot pixel: strongly red in panel 1, at its place and nowhere else. */
    const lam_plot_box b1 = lam_attributions_image_box(&l, 1);
    const unsigned char *hot = px(&p, b1.x + 22 * k + k / 2, b1.y + 4 * k + k / 2);
    CHECK(hot[0] > 150 && hot[1] < 60 && hot[2] < 80, "hot pixel is (%d, %d, %d), not red",
          hot[0], hot[1], hot[2]);
    int red = 0, stray = 0;
    for (int y = b1.y; y < b1.y + b1.h; y++)
        for (int x = b1.x; x < b1.x + b1.w; x++) {
            const unsigned char *c = px(&p, x, y);
            if (!(c[0] > 150 && c[1] < 60 && c[2] < 80)) continue;
            const int i = (y - b1.y) / k, j = (x - b1.x) / k;
            if (i == 4 && j == 22) red++;
            else stray++;
        }
    CHECK(red == k * k && stray == 0, "hot cell: %d red pixels of %d, %d red elsewhere", red,
          k * k, stray);
    /* The cold corner (map 0, image black there) stays a neutral grey. */
    const unsigned char *cold = px(&p, b1.x + 2, b1.y + b1.h - 3);
    CHECK(abs(cold[0] - cold[1]) < 12 && abs(cold[1] - cold[2]) < 12 && cold[0] > 40,
          "cold corner is (%d, %d, %d), not grey", cold[0], cold[1], cold[2]);
    /* The negative pixel leans blue. */
    const unsigned char *neg = px(&p, b1.x + 20 * k + 4, b1.y + 20 * k + 4);
    CHECK(neg[2] > neg[0] + 20, "negative pixel is (%d, %d, %d), not bluish", neg[0], neg[1],
          neg[2]);
    /* The image panel at the same place: the ramp's grey, not red. */
    const lam_plot_box b0 = lam_attributions_image_box(&l, 0);
    const unsigned char *under = px(&p, b0.x + 22 * k + 4, b0.y + 4 * k + 4);
    CHECK(near(under, 209, 209, 209, 3), "image at the hot pixel is (%d, %d, %d), expected "
          "grey 209 (22/27 of white)", under[0], under[1], under[2]);
    const unsigned char *left = px(&p, b0.x + 2, b0.y + 2);
    CHECK(near(left, 0, 0, 0, 2), "image's left column is (%d, %d, %d), expected black", left[0],
          left[1], left[2]);

    /* The diverging colour bar: red minus blue falls from top to bottom. */
    const lam_plot_box c1 = lam_attributions_colorbar_box(&l, 1);
    int prev = 1000, rises = 0;
    for (int y = c1.y; y < c1.y + c1.h; y++) {
        const unsigned char *c = px(&p, c1.x + c1.w / 2, y);
        const int d = c[0] - c[2];
        if (d > prev + 3) rises++;
        prev = d;
    }
    const unsigned char *top = px(&p, c1.x + c1.w / 2, c1.y + 1);
    const unsigned char *bottom = px(&p, c1.x + c1.w / 2, c1.y + c1.h - 2);
    const unsigned char *mid = px(&p, c1.x + c1.w / 2, c1.y + c1.h / 2);
    CHECK(rises == 0 && top[0] - top[2] > 100 && bottom[0] - bottom[2] < -100,
          "diverging bar: %d rises, top (%d, %d, %d), bottom (%d, %d, %d)", rises, top[0],
          top[1], top[2], bottom[0], bottom[1], bottom[2]);
    CHECK(mid[0] > 220 && mid[1] > 220 && mid[2] > 220, "diverging bar's middle (%d, %d, %d) "
          "is not white", mid[0], mid[1], mid[2]);

    /* Map 1 has no negative values: sequential, lightness grows upwards. */
    const lam_plot_box c2 = lam_attributions_colorbar_box(&l, 2);
    double last = -1;
    int falls = 0;
    for (int y = c2.y + c2.h - 1; y >= c2.y; y--) {
        const double v = luma(px(&p, c2.x + c2.w / 2, y));
        if (v < last - 3) falls++;
        last = v;
    }
    CHECK(falls == 0 && luma(px(&p, c2.x + 7, c2.y + 1)) > 200 &&
          luma(px(&p, c2.x + 7, c2.y + c2.h - 2)) < 30,
          "sequential bar: %d falls, top %.0f, bottom %.0f", falls,
          luma(px(&p, c2.x + 7, c2.y + 1)), luma(px(&p, c2.x + 7, c2.y + c2.h - 2)));
    const lam_plot_box b2 = lam_attributions_image_box(&l, 2);
    const unsigned char *bright = px(&p, b2.x + 5 * k + 4, b2.y + 10 * k + 4);
    const unsigned char *dim = px(&p, b2.x + 5 * k + 4, b2.y + 20 * k + 4);
    CHECK(bright[0] > 200 && bright[1] > 200 && luma(bright) > luma(dim) + 60,
          "saliency's hot pixel (%d, %d, %d) vs a cold one (%d, %d, %d)", bright[0], bright[1],
          bright[2], dim[0], dim[1], dim[2]);
    free(p.rgb);

    /* RGB: channels in their order (red left, blue right). */
    static float rgb[H * W * 3];
    for (int i = 0; i < H * W; i++) rgb[i * 3 + ((i % W) < W / 2 ? 0 : 2)] = 1.0f;
    const float *one[] = {signed_map};
    path = file_in("attributions_rgb.png");
    CHECK_OK(lam_plot_attributions(path, NULL, rgb, H, W, 3, one, NULL, 1));
    if (!read_picture(path, &p)) return;
    lam_attributions_layout_of(H, W, 2, &l);
    CHECK(p.w == l.width && p.h == l.height && p.w == 672, "rgb picture %d x %d", p.w, p.h);
    const lam_plot_box r0 = lam_attributions_image_box(&l, 0);
    CHECK(near(px(&p, r0.x + 20, r0.y + 100), 255, 0, 0, 2) &&
          near(px(&p, r0.x + 200, r0.y + 100), 0, 0, 255, 2), "rgb image's colours swapped");
    free(p.rgb);

    /* A 300 x 500 image is drawn scaled to fit 448 at its longer side. */
    lam_attributions_layout_of(300, 500, 5, &l);
    CHECK(l.image_w == 448 && l.image_h == 269 && l.columns == 4 && l.rows == 2,
          "300 x 500, 5 panels: %d x %d in %d x %d", l.image_w, l.image_h, l.columns, l.rows);
}

/* ------------------------------------------------------------------- bars */

/* The bars' lengths from top to bottom (LAM_RGB_BAR pixels grouped by rows). */
static int bar_lengths(const picture *p, int *len, int max)
{
    int n = 0;
    bool inside = false;
    for (int y = 0; y < p->h; y++) {
        int x0 = p->w, x1 = -1;
        for (int x = 0; x < p->w; x++)
            if (near(px(p, x, y), 69, 130, 181, 3)) {
                if (x < x0) x0 = x;
                x1 = x;
            }
        if (x1 < 0) {
            inside = false;
            continue;
        }
        if (!inside && n < max) len[n++] = 0;
        inside = true;
        if (n > 0 && x1 - x0 + 1 > len[n - 1]) len[n - 1] = x1 - x0 + 1;
    }
    return n;
}

static void test_bars(void)
{
    const char *labels[] = {"alpha", "beta", "gamma", "a rather long feature name", "delta"};
    const double values[] = {0.3, 0.9, 0.1, 0.45, 0.6};
    const double errors[] = {0.02, 0.05, 0.01, 0.02, 0.03};
    const char *path = file_in("bars.png");
    CHECK_OK(lam_plot_bars(path, "permutation importance", "drop in accuracy", labels, values,
                           errors, 5, 0));
    picture p;
    if (!read_picture(path, &p)) return;
    CHECK(p.w == 800 && p.h == 120 + 28 * 5, "bars: %d x %d, expected 800 x %d", p.w, p.h,
          120 + 28 * 5);
    int len[8];
    const int n = bar_lengths(&p, len, 8);
    CHECK(n == 5, "%d bars found, expected 5", n);
    if (n == 5) {
        /* Largest on top, lengths in proportion to the values (the axis starts at 0). */
        CHECK(len[0] > len[1] && len[1] > len[2] && len[2] > len[3] && len[3] > len[4],
              "bar lengths %d %d %d %d %d not decreasing", len[0], len[1], len[2], len[3], len[4]);
        CHECK_NEAR((double)len[0] / len[1], 0.9 / 0.6, 0.03);
        CHECK_NEAR((double)len[0] / len[3], 0.9 / 0.3, 0.08);
    }
    free(p.rgb);

    path = file_in("bars_top2.png");
    CHECK_OK(lam_plot_bars(path, NULL, NULL, labels, values, NULL, 5, 2));
    if (!read_picture(path, &p)) return;
    CHECK(p.h == 120 + 28 * 2, "top 2 bars: height %d", p.h);
    CHECK(bar_lengths(&p, len, 8) == 2, "top 2: %d bars", bar_lengths(&p, len, 8));
    free(p.rgb);
}

/* --------------------------------------------------------------- beeswarm */

static bool swarm_red(const unsigned char *c) { return c[0] > 200 && c[1] < 70 && c[2] < 140; }
static bool swarm_blue(const unsigned char *c) { return c[2] > 200 && c[0] < 70 && c[1] > 100; }

typedef struct sides {
    int n[2];         /* pixels left, right of zero */
    double y[2];      /* their mean row */
} sides;

static void test_beeswarm(void)
{
    enum { N = 200, D = 2 };
    static double phi[N * D];
    static float x[N * D];
    for (int i = 0; i < N; i++) {
        const float u = (float)((i * 37) % N) / (N - 1), v = (float)((i * 91) % N) / (N - 1);
        x[i * D] = u;
        phi[i * D] = -0.5 * (u - 0.5); /* shrinks as the value grows; small */
        x[i * D + 1] = v;
        phi[i * D + 1] = 2.0 * (v - 0.5); /* grows with the value; large: the top row */
    }
    const char *names[] = {"shrinking", "growing"};
    const char *path = file_in("beeswarm.png");
    CHECK_OK(lam_plot_beeswarm(path, "SHAP summary", names, phi, x, N, D, 0));
    picture p;
    if (!read_picture(path, &p)) return;
    CHECK(p.w == 800 && p.h == 130 + 32 * D, "beeswarm: %d x %d", p.w, p.h);
    const frame f = find_frame(&p);
    /* The zero line: the column inside the frame with the most of its grey. */
    int zero = -1, best = 0;
    for (int xx = f.x0 + 2; xx < f.x1 - 1; xx++) {
        int count = 0;
        for (int y = f.y0; y <= f.y1; y++) count += near(px(&p, xx, y), 128, 128, 128, 3);
        if (count > best) best = count, zero = xx;
    }
    CHECK(best > (f.y1 - f.y0) / 3, "no zero line (best column %d: %d grey pixels)", zero, best);
    sides red = {{0, 0}, {0, 0}}, blue = {{0, 0}, {0, 0}};
    for (int y = f.y0 + 1; y < f.y1; y++)
        for (int xx = f.x0 + 1; xx < f.x1; xx++) {
            const unsigned char *c = px(&p, xx, y);
            sides *s = swarm_red(c) ? &red : swarm_blue(c) ? &blue : NULL;
            if (!s || xx == zero) continue;
            s->n[xx > zero]++;
            s->y[xx > zero] += y;
        }
    for (int k = 0; k < 2; k++) {
        red.y[k] /= red.n[k] ? red.n[k] : 1;
        blue.y[k] /= blue.n[k] ? blue.n[k] : 1;
    }
    CHECK(red.n[0] > 50 && red.n[1] > 50 && blue.n[0] > 50 && blue.n[1] > 50,
          "red %d left / %d right, blue %d / %d", red.n[0], red.n[1], blue.n[0], blue.n[1]);
    /* "growing" (top row): red right of zero, blue left; "shrinking" the reverse. */
    CHECK(red.y[1] < red.y[0] && blue.y[0] < blue.y[1],
          "red right at row %.0f, left at %.0f; blue left at %.0f, right at %.0f", red.y[1],
          red.y[0], blue.y[0], blue.y[1]);
    free(p.rgb);

    /* Only the top feature: every red point right of zero, every blue one left. */
    path = file_in("beeswarm_top1.png");
    CHECK_OK(lam_plot_beeswarm(path, NULL, NULL, phi, x, N, D, 1));
    if (!read_picture(path, &p)) return;
    CHECK(p.h == 130 + 32, "beeswarm top 1: height %d", p.h);
    const frame g = find_frame(&p);
    int wrong = 0, right = 0;
    const int mid = (g.x0 + g.x1) / 2; /* phi in [-1, 1]: the axis is symmetric */
    for (int y = g.y0 + 1; y < g.y1; y++)
        for (int xx = g.x0 + 1; xx < g.x1; xx++) {
            const unsigned char *c = px(&p, xx, y);
            if (swarm_red(c)) ++*(xx > mid ? &right : &wrong);
            if (swarm_blue(c)) ++*(xx < mid ? &right : &wrong);
        }
    CHECK(wrong == 0 && right > 100, "top 1: %d pixels on the wrong side, %d right", wrong, right);
    free(p.rgb);
}

/* ------------------------------------------------------------------ lines */

/* Mean row of the pixels of colour (r, g, b) in columns [x0, x1). */
static double mean_row(const picture *p, const frame *f, int x0, int x1, int r, int g, int b,
                       int *count)
{
    double sum = 0;
    *count = 0;
    for (int y = f->y0 + 1; y < f->y1; y++)
        for (int x = x0; x < x1; x++)
            if (near(px(p, x, y), r, g, b, 6)) sum += y, ++*count;
    return *count ? sum / *count : -1;
}

static void test_lines(void)
{
    enum { N = 10 };
    double x[N], up[N], down[N];
    for (int i = 0; i < N; i++) {
        x[i] = i;
        up[i] = (double)i * i;
        down[i] = 50 - 3.0 * i;
    }
    const double *y[] = {up, down};
    const char *names[] = {"rising", "falling"};
    const char *path = file_in("lines.png");
    CHECK_OK(lam_plot_lines(path, "two curves", "step", "value", x, y, names, 2, N));
    picture p;
    if (!read_picture(path, &p)) return;
    CHECK(p.w == 800 && p.h == 500, "lines: %d x %d", p.w, p.h);
    const frame f = find_frame(&p);
    /* Markers at the ends (the axis pads 4 %): the first and last 4 % of the frame. */
    const int edge = (f.x1 - f.x0) / 16;
    int n0, n1, m0, m1;
    const double first = mean_row(&p, &f, f.x0 + 1, f.x0 + edge, 31, 119, 180, &n0);
    const double last = mean_row(&p, &f, f.x1 - edge, f.x1, 31, 119, 180, &n1);
    CHECK(n0 > 10 && n1 > 10 && last < first - 200, "rising: first marker row %.0f (%d px), "
          "last %.0f (%d px)", first, n0, last, n1);
    const double first2 = mean_row(&p, &f, f.x0 + 1, f.x0 + edge, 255, 127, 14, &m0);
    const double last2 = mean_row(&p, &f, f.x1 - edge, f.x1, 255, 127, 14, &m1);
    CHECK(m0 > 10 && m1 > 10 && last2 > first2 + 50, "falling: first row %.0f, last %.0f",
          first2, last2);
    /* The legend right of the frame shows both colours. */
    int l0, l1;
    mean_row(&p, &f, f.x1 + 1, p.w, 31, 119, 180, &l0);
    mean_row(&p, &f, f.x1 + 1, p.w, 255, 127, 14, &l1);
    CHECK(l0 > 10 && l1 > 10, "legend: %d and %d pixels of the series' colours", l0, l1);
    free(p.rgb);

    /* One point, one series, no names: no legend, still a picture. */
    const double *one[] = {up};
    CHECK_OK(lam_plot_lines(file_in("lines_one.png"), NULL, NULL, NULL, x, one, NULL, 1, 1));
}

/* -------------------------------------------------- learning curves */

/* Pixels of colour (r, g, b) in box: how many, and their mean row over the
 * columns [x0, x1) of it. */
static double mean_row_in(const picture *p, int x0, int x1, int y0, int y1, int r, int g, int b,
                          int *count)
{
    double sum = 0;
    *count = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            if (near(px(p, x, y), r, g, b, 6)) sum += y, ++*count;
    return *count ? sum / *count : -1;
}

/* The variance of the pixels' luma: a blank or one-colour picture has ~0. */
static double luma_variance(const picture *p)
{
    double s = 0, s2 = 0;
    const double n = (double)p->w * p->h;
    for (int y = 0; y < p->h; y++)
        for (int x = 0; x < p->w; x++) {
            const double v = luma(px(p, x, y));
            s += v;
            s2 += v * v;
        }
    return s2 / n - (s / n) * (s / n);
}

static void test_curves(void)
{
    enum { E = 10 };
    char *names[] = {"loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"};
    int epoch[E];
    double values[5 * E];
    for (int i = 0; i < E; i++) {
        epoch[i] = i;
        values[0 * E + i] = 2.0 / (1 + i);          /* loss falls */
        values[1 * E + i] = 2.2 / (1 + i) + 0.1;     /* val_loss above it */
        values[2 * E + i] = 0.5 + 0.04 * i;          /* accuracy rises */
        values[3 * E + i] = i == 4 ? NAN : 0.48 + 0.035 * i; /* a gap at epoch 5 */
        values[4 * E + i] = 0.001;
    }
    lam_curves c = {.epochs = E, .columns = 5, .epoch = epoch, .names = names, .values = values};
    const char *path = file_in("curves.png");
    CHECK_OK(lam_plot_curves(path, "learning curves", &c, NULL, 0));
    picture p;
    if (!read_picture(path, &p)) return;
    int w, h;
    lam_curves_size(2, &w, &h);
    CHECK(p.w == w && p.h == h && w == 928 && h == 436, "curves: %d x %d, layout %d x %d", p.w,
          p.h, w, h);
    CHECK(luma_variance(&p) > 300, "curves: luma variance %.0f (a near-blank picture?)",
          luma_variance(&p));
    /* Panel 0 (loss): the blue training line starts high and ends low; the
     * orange validation one lies below it in pixels (above in value) at the
     * end. Panel 1 (accuracy): the blue line ends higher than it starts. */
    for (int k = 0; k < 2; k++) {
        const lam_plot_box b = lam_curves_panel_box(k);
        const int x0 = b.x + 60, x1 = b.x + b.w - 12, y0 = b.y + 31, y1 = b.y + b.h - 51;
        const int q = (x1 - x0) / 8;
        int n0, n1, m1;
        const double first = mean_row_in(&p, x0, x0 + q, y0, y1, 31, 119, 180, &n0);
        const double last = mean_row_in(&p, x1 - q, x1, y0, y1, 31, 119, 180, &n1);
        const double last_val = mean_row_in(&p, x1 - q, x1, y0, y1, 255, 127, 14, &m1);
        CHECK(n0 > 10 && n1 > 10 && m1 > 10, "panel %d: %d, %d blue and %d orange pixels", k, n0,
              n1, m1);
        if (k == 0)
            CHECK(last > first + 100 && last_val < last, "loss panel: training from row %.0f to "
                  "%.0f, validation ends at %.0f", first, last, last_val);
        else
            CHECK(last < first - 100, "accuracy panel: training from row %.0f to %.0f", first,
                  last);
    }
    /* The legend band holds both colours. */
    int l0, l1;
    mean_row_in(&p, 0, p.w, LAM_PLOT_TITLE_BAND, LAM_PLOT_TITLE_BAND + LAM_PLOT_CURVES_LEGEND, 31,
                119, 180, &l0);
    mean_row_in(&p, 0, p.w, LAM_PLOT_TITLE_BAND, LAM_PLOT_TITLE_BAND + LAM_PLOT_CURVES_LEGEND, 255,
                127, 14, &l1);
    CHECK(l0 > 10 && l1 > 10, "legend: %d blue and %d orange pixels", l0, l1);
    free(p.rgb);

    /* Chosen panels: three, in a row; one that is missing names those there are. */
    const char *three[] = {"loss", "accuracy", "learning_rate"};
    CHECK_OK(lam_plot_curves(file_in("curves3.png"), NULL, &c, three, 3));
    if (read_picture(file_in("curves3.png"), &p)) {
        lam_curves_size(3, &w, &h);
        CHECK(p.w == w && p.h == h && w == 1384, "three panels: %d x %d", p.w, p.h);
        free(p.rgb);
    }
    const char *missing[] = {"loss", "recall"};
    CHECK_FAILS(lam_plot_curves(file_in("x.png"), NULL, &c, missing, 2), LAM_ERR_ARG,
                "no \"recall\" in the curves (they have: loss, val_loss, accuracy");
    values[7] = INFINITY;
    CHECK_FAILS(lam_plot_curves(file_in("x.png"), NULL, &c, NULL, 0), LAM_ERR_NUMERIC,
                "loss at epoch 7 is inf");
    values[7] = 1;
    c.epochs = 0;
    CHECK_FAILS(lam_plot_curves(file_in("x.png"), NULL, &c, NULL, 0), LAM_ERR_ARG, "0 epochs");
    /* One epoch: still axes around it. */
    c.epochs = 1;
    CHECK_OK(lam_plot_curves(file_in("curves1.png"), NULL, &c, NULL, 0));
}

/* --------------------------------------------------- confusion matrix */

static void test_confusion(void)
{
    enum { K = 10 };
    int64_t counts[K * K];
    /* 100 samples a class: 70 + 3 k on the diagonal, the rest spread over
     * two neighbours. */
    for (int t = 0; t < K; t++)
        for (int p = 0; p < K; p++) {
            const int64_t diag = 70 + 3 * t, rest = 100 - diag;
            counts[t * K + p] = p == t ? diag : p == (t + 1) % K ? rest - rest / 3
                                : p == (t + 2) % K ? rest / 3 : 0;
        }
    const char *names[K] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                            "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    const char *path = file_in("confusion.png");
    CHECK_OK(lam_plot_confusion(path, "confusion: accuracy 0.8350", counts, K, names));
    picture p;
    if (!read_picture(path, &p)) return;
    lam_confusion_layout l;
    lam_confusion_layout_of(K, &l);
    CHECK(p.w == l.width && p.h == l.height && l.cell == 52, "confusion: %d x %d, layout %d x %d, "
          "cells %d", p.w, p.h, l.width, l.height, l.cell);
    CHECK(luma_variance(&p) > 300, "confusion: luma variance %.0f", luma_variance(&p));
    /* A cell's colour at its corner (clear of the count written in it). */
    double diag_max = 0, off_min = 255, zero_min = 255, prev = 256;
    bool darker = true;
    for (int t = 0; t < K; t++)
        for (int q = 0; q < K; q++) {
            const double v = luma(px(&p, l.matrix.x + q * l.cell + 3, l.matrix.y + t * l.cell + 3));
            if (t == q) {
                diag_max = v > diag_max ? v : diag_max;
                darker &= v <= prev + 0.5; /* 70, 73, ... 97: darker down the diagonal */
                prev = v;
            } else if (counts[t * K + q] > 0) off_min = v < off_min ? v : off_min;
            else zero_min = v < zero_min ? v : zero_min;
        }
    CHECK(diag_max + 60 < off_min, "diagonal cells (luma at most %.0f) darker than the others "
          "(at least %.0f)", diag_max, off_min);
    CHECK(zero_min > 240, "empty cells near white: luma %.0f", zero_min);
    CHECK(darker, "the diagonal darkens with its count");
    /* The count in a dark cell is written in white, in a light one in dark text. */
    int white = 0, dark = 0;
    for (int y = 0; y < l.cell; y++)
        for (int x = 0; x < l.cell; x++) {
            const unsigned char *d = px(&p, l.matrix.x + x, l.matrix.y + y);          /* 70 */
            const unsigned char *o = px(&p, l.matrix.x + 2 * l.cell + x, l.matrix.y + y); /* 10 */
            white += d[0] > 240 && d[1] > 240 && d[2] > 240;
            dark += luma(o) < 120;
        }
    CHECK(white > 20 && dark > 20, "counts: %d white pixels in a dark cell, %d dark in a light one",
          white, dark);
    /* The class names left of the matrix and below it: ink there. */
    int ink_left = 0, ink_below = 0;
    for (int y = l.matrix.y; y < l.matrix.y + l.matrix.h; y++)
        for (int x = LAM_PLOT_MARGIN + LAM_PLOT_CONFUSION_AXIS_LABEL; x < l.matrix.x - 2; x++)
            ink_left += luma(px(&p, x, y)) < 128;
    for (int y = l.matrix.y + l.matrix.h + 4; y < l.matrix.y + l.matrix.h + 100; y++)
        for (int x = 0; x < l.matrix.x + l.matrix.w; x++) ink_below += luma(px(&p, x, y)) < 128;
    CHECK(ink_left > 500 && ink_below > 500, "class names: %d dark pixels left, %d below",
          ink_left, ink_below);
    free(p.rgb);

    CHECK_OK(lam_plot_confusion(file_in("confusion2.png"), NULL, counts, 2, NULL));
    counts[5] = -1;
    CHECK_FAILS(lam_plot_confusion(file_in("x.png"), NULL, counts, K, names), LAM_ERR_ARG,
                "counts[5] (true 0, predicted 5) is -1");
    CHECK_FAILS(lam_plot_confusion(file_in("x.png"), NULL, counts, 101, NULL), LAM_ERR_ARG,
                "101 classes");
    names[3] = "Dr\xffss";
    counts[5] = 0;
    CHECK_FAILS(lam_plot_confusion(file_in("x.png"), NULL, counts, K, names), LAM_ERR_ARG,
                "class_names[3] is not UTF-8");
}

/* ----------------------------------------------------------------- tokens */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 16];
    const size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static int count_of(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)); p++) n++;
    return n;
}

static void test_tokens(void)
{
    const char *tokens[] = {"<b>&", "caf\xC3\xA9", "\"quoted\"", "it's", "x\ny"};
    const float values[] = {0.5f, -0.2f, 1.0f, 0.0f, -1.0f};
    const char *path = file_in("tokens.html");
    CHECK_OK(lam_plot_tokens(path, "<script>", tokens, values, 5));
    const char *html = slurp(path);
    CHECK(html != NULL, "%s not written", path);
    if (!html) return;
    CHECK(strstr(html, ">&lt;b&gt;&amp;</span>") != NULL, "\"<b>&\" not escaped");
    CHECK(strstr(html, "<b>") == NULL && strstr(html, "<script>") == NULL, "markup let through");
    CHECK(strstr(html, "&lt;script&gt;") != NULL, "title not escaped");
    CHECK(strstr(html, ">caf\xC3\xA9</span>") != NULL, "UTF-8 not kept");
    CHECK(strstr(html, "&quot;quoted&quot;") != NULL && strstr(html, "it&#39;s") != NULL,
          "quotes not escaped");
    CHECK(count_of(html, "<span") == 5 && count_of(html, "</span>") == 5, "%d spans for 5 tokens",
          count_of(html, "<span"));
    CHECK(strstr(html, "background:#b40a1e") != NULL, "the strongest token is not red");
    CHECK(strstr(html, "background:#195aaa") != NULL, "the most negative token is not blue");
    CHECK(strstr(html, "background:#f7f7f7") != NULL, "the zero token is not white");

    /* PNG: 60 words wrap into several lines of 28 pixels. */
    enum { N = 60 };
    char words[N][16];
    const char *w[N];
    float v[N];
    for (int i = 0; i < N; i++) {
        snprintf(words[i], sizeof words[i], "word%d", i);
        w[i] = words[i];
        v[i] = (float)((i * 7) % 11 - 5) / 5.0f; /* -1 .. 1 */
    }
    path = file_in("tokens.png");
    CHECK_OK(lam_plot_tokens(path, "token attributions", w, v, N));
    picture p;
    if (!read_picture(path, &p)) return;
    CHECK(p.w == 800 && (p.h - 104) % 28 == 0 && (p.h - 104) / 28 >= 4,
          "tokens: %d x %d (800 x 104 + 28 per line expected, several lines)", p.w, p.h);
    int red = 0, blue = 0;
    for (int y = 0; y < p.h; y++)
        for (int x = 0; x < p.w; x++) {
            red += near(px(&p, x, y), 180, 10, 30, 3);
            blue += near(px(&p, x, y), 25, 90, 170, 3);
        }
    CHECK(red > 300 && blue > 300, "tokens: %d red, %d blue background pixels", red, blue);
    free(p.rgb);
}

/* ------------------------------------------------------------- bad input */

static int files_in(const char *folder)
{
    DIR *d = opendir(folder);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void test_bad_input(void)
{
    static float image[16], map[16];
    const float *maps[] = {map, NULL};
    const char *out = file_in("bad.png");
    CHECK_FAILS(lam_plot_attributions(NULL, NULL, image, 4, 4, 1, maps, NULL, 1), LAM_ERR_ARG,
                "path is NULL");
    CHECK_FAILS(lam_plot_attributions(out, NULL, image, 0, 4, 1, maps, NULL, 1), LAM_ERR_ARG,
                "image size 0 x 4");
    CHECK_FAILS(lam_plot_attributions(out, NULL, image, 4, 4, 2, maps, NULL, 1), LAM_ERR_ARG,
                "2 channels");
    CHECK_FAILS(lam_plot_attributions(out, NULL, image, 4, 4, 1, maps, NULL, 0), LAM_ERR_ARG,
                "no maps");
    CHECK_FAILS(lam_plot_attributions(out, NULL, image, 4, 4, 1, maps, NULL, 2), LAM_ERR_ARG,
                "maps[1] is NULL");
    map[13] = NAN;
    CHECK_FAILS(lam_plot_attributions(out, NULL, image, 4, 4, 1, maps, NULL, 1), LAM_ERR_NUMERIC,
                "maps[0][13] is nan");
    map[13] = 0;
    image[2] = INFINITY;
    CHECK_FAILS(lam_plot_attributions(out, NULL, image, 4, 4, 1, maps, NULL, 1), LAM_ERR_NUMERIC,
                "image[2] is inf");
    image[2] = 0;
    CHECK_FAILS(lam_plot_attributions(out, "bad \xFF title", image, 4, 4, 1, maps, NULL, 1),
                LAM_ERR_ARG, "title is not UTF-8");

    const char *labels[] = {"a", "b", "c"};
    const double values[] = {1, INFINITY, 2}, errs[] = {0.1, -0.1, 0};
    CHECK_FAILS(lam_plot_bars(out, NULL, NULL, labels, values, NULL, 0, 0), LAM_ERR_ARG, "0 bars");
    CHECK_FAILS(lam_plot_bars(out, NULL, NULL, NULL, values, NULL, 3, 0), LAM_ERR_ARG,
                "labels is NULL");
    CHECK_FAILS(lam_plot_bars(out, NULL, NULL, labels, values, NULL, 3, 0), LAM_ERR_NUMERIC,
                "values[1] is inf");
    CHECK_FAILS(lam_plot_bars(out, NULL, NULL, labels, values, errs, 1, -1), LAM_ERR_ARG,
                "max_bars -1");
    CHECK_FAILS(lam_plot_bars(out, NULL, NULL, labels, (double[]){1, 2, 3}, errs, 3, 0),
                LAM_ERR_ARG, "errors[1] is -0.1");

    const double phi[4] = {0.1, 0.2, 0.3, 0.4};
    const float xs[4] = {1, 2, NAN, 4};
    CHECK_FAILS(lam_plot_beeswarm(out, NULL, NULL, phi, xs, 2, 0, 0), LAM_ERR_ARG,
                "2 samples x 0 features");
    CHECK_FAILS(lam_plot_beeswarm(out, NULL, NULL, NULL, xs, 2, 2, 0), LAM_ERR_ARG, "phi is NULL");
    CHECK_FAILS(lam_plot_beeswarm(out, NULL, NULL, phi, xs, 2, 2, 0), LAM_ERR_NUMERIC,
                "x[2] is nan");

    const double xl[3] = {0, 1, 2}, y0[3] = {0, 1, NAN};
    const double *ys[] = {y0, NULL};
    CHECK_FAILS(lam_plot_lines(out, NULL, NULL, NULL, xl, ys, NULL, 1, 0), LAM_ERR_ARG,
                "1 series of 0 points");
    CHECK_FAILS(lam_plot_lines(out, NULL, NULL, NULL, xl, ys, NULL, 2, 2), LAM_ERR_ARG,
                "y[1] is NULL");
    CHECK_FAILS(lam_plot_lines(out, NULL, NULL, NULL, xl, ys, NULL, 1, 3), LAM_ERR_NUMERIC,
                "y[0][2] is nan");

    const char *toks[] = {"a", "b\xFF", NULL};
    const float tv[3] = {0, 1, 2};
    CHECK_FAILS(lam_plot_tokens(out, NULL, toks, tv, 3), LAM_ERR_ARG,
                "tokens[1] is not UTF-8 (invalid byte 0xff at 1)");
    toks[1] = "b";
    CHECK_FAILS(lam_plot_tokens(out, NULL, toks, tv, 3), LAM_ERR_ARG, "tokens[2] is NULL");
    CHECK_FAILS(lam_plot_tokens(out, NULL, toks, tv, 0), LAM_ERR_ARG, "0 tokens");
    /* Too many bars for one picture (cairo draws at most 32767 pixels a side). */
    enum { MANY = 1200 };
    static const char *many_labels[MANY];
    static double many[MANY];
    for (int i = 0; i < MANY; i++) many_labels[i] = "x", many[i] = i;
    CHECK_FAILS(lam_plot_bars(out, NULL, NULL, many_labels, many, NULL, MANY, 0),
                LAM_ERR_UNSUPPORTED, "show fewer bars");
    CHECK(access(out, F_OK) != 0, "bad input left %s behind", out);

    /* Unwritable places: a missing folder, and a folder in the file's place
     * (the write happens, the rename fails: the temporary file must go). */
    char sub[600], missing[700];
    snprintf(sub, sizeof sub, "%s/unwritable", dir);
    mkdir(sub, 0755);
    snprintf(missing, sizeof missing, "%s/no/such/folder/x.png", sub);
    CHECK_FAILS(lam_plot_bars(missing, NULL, NULL, labels, (double[]){1, 2, 3}, NULL, 3, 0),
                LAM_ERR_IO, missing);
    CHECK_FAILS(lam_plot_tokens(missing, NULL, toks, tv, 2), LAM_ERR_IO, "no/such/folder");
    char taken[700], html_taken[700];
    snprintf(taken, sizeof taken, "%s/taken.png", sub);
    snprintf(html_taken, sizeof html_taken, "%s/taken.html", sub);
    mkdir(taken, 0755);
    mkdir(html_taken, 0755);
    CHECK_FAILS(lam_plot_bars(taken, NULL, NULL, labels, (double[]){1, 2, 3}, NULL, 3, 0),
                LAM_ERR_IO, taken);
    CHECK_FAILS(lam_plot_tokens(html_taken, NULL, toks, tv, 2), LAM_ERR_IO, html_taken);
    CHECK(files_in(sub) == 2, "%d entries in %s, expected only the 2 folders", files_in(sub), sub);
    CHECK(files_in(taken) == 0, "%s is not empty", taken);
    rmdir(taken);
    rmdir(html_taken);
    rmdir(sub);
}

static void remove_folder(void)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        unlink(file_in(e->d_name));
    }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (!lam_plot_available()) {
        const float v = 0;
        const char *t = "a";
        lam_status s = lam_plot_tokens("x.html", NULL, &t, &v, 1);
        printf("test_plot: skipped: %s\n", lam_last_error());
        if (s != LAM_ERR_UNSUPPORTED || !strstr(lam_last_error(), "libcairo2-dev")) {
            printf("test_plot: but the call said %d, not LAM_ERR_UNSUPPORTED\n", s);
            return 1;
        }
        return 77;
    }
    const bool keep = argc > 1;
    if (keep) {
        snprintf(dir, sizeof dir, "%s", argv[1]);
        mkdir(dir, 0755);
    } else {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/lamina-plot-XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) {
            perror(dir);
            return 1;
        }
    }
    test_attributions();
    test_bars();
    test_beeswarm();
    test_lines();
    test_curves();
    test_confusion();
    test_tokens();
    test_bad_input();
    if (keep) printf("test_plot: pictures kept in %s\n", dir);
    else remove_folder();
    return test_summary("test_plot");
}
