/* plot_layout.h - where the pictures put their parts. Plain arithmetic with
 * no cairo in it, so that the tests can look at the pixels where the drawing
 * code put them (tests/test_plot.c) even in a build without cairo. */
#ifndef LAM_PLOT_LAYOUT_H
#define LAM_PLOT_LAYOUT_H

#define LAM_PLOT_WIDTH 800        /* bars, beeswarm, lines, tokens */
#define LAM_PLOT_LINES_HEIGHT 500
#define LAM_PLOT_MARGIN 16        /* around everything */
#define LAM_PLOT_TITLE_BAND 44    /* the title's strip at the top */
#define LAM_PLOT_BAR_ROW 28       /* pixels per bar */
#define LAM_PLOT_SWARM_ROW 32     /* pixels per beeswarm feature */
#define LAM_PLOT_SWARM_LEGEND 104 /* the beeswarm's colour bar column, at the right */
/* The attributions' drawn image: an integer upscale of small images to about
 * this size (so pixels stay sharp), larger ones drawn as they are up to twice
 * it, and scaled down beyond. */
#define LAM_PLOT_PANEL 224

/* Bars: 800 x (120 + 28 per bar). Beeswarm: 800 x (130 + 32 per feature). */
static inline int lam_plot_bars_height(int bars) { return 120 + LAM_PLOT_BAR_ROW * bars; }
static inline int lam_plot_beeswarm_height(int rows) { return 130 + LAM_PLOT_SWARM_ROW * rows; }
/* The plot frame's top edge in bars, beeswarm and lines. */
#define LAM_PLOT_FRAME_TOP (LAM_PLOT_TITLE_BAND + 8)

typedef struct lam_plot_box {
    int x, y, w, h;
} lam_plot_box;

/* lam_plot_attributions: panels in a grid of at most 4 columns, panel 0 the
 * image, panel k >= 1 map k - 1; each panel has a title band above its image
 * and, for maps, a colour bar beside it. */
typedef struct lam_attributions_layout {
    int width, height;      /* the picture */
    int image_w, image_h;   /* one panel's drawn image */
    int columns, rows;
    int cell_w, cell_h;     /* one panel with its title and colour bar */
} lam_attributions_layout;

#define LAM_PLOT_ATTR_COLUMNS 4
#define LAM_PLOT_PANEL_TITLE 26   /* title band above each panel's image */
#define LAM_PLOT_COLORBAR_GAP 10  /* image to colour bar */
#define LAM_PLOT_COLORBAR_W 14
#define LAM_PLOT_COLORBAR_LABELS 64 /* the tick labels right of a colour bar */
#define LAM_PLOT_COLORBAR_MIN_H 120

static inline void lam_attributions_layout_of(int h, int w, int panels,
                                              lam_attributions_layout *l)
{
    const int side = h > w ? h : w;
    if (side <= LAM_PLOT_PANEL) {
        const int k = LAM_PLOT_PANEL / side;
        l->image_w = w * k;
        l->image_h = h * k;
    } else if (side <= 2 * LAM_PLOT_PANEL) {
        l->image_w = w;
        l->image_h = h;
    } else {
        const double s = 2.0 * LAM_PLOT_PANEL / side;
        l->image_w = (int)(w * s + 0.5) > 0 ? (int)(w * s + 0.5) : 1;
        l->image_h = (int)(h * s + 0.5) > 0 ? (int)(h * s + 0.5) : 1;
    }
    const int body = l->image_h > LAM_PLOT_COLORBAR_MIN_H ? l->image_h : LAM_PLOT_COLORBAR_MIN_H;
    l->cell_w = l->image_w + LAM_PLOT_COLORBAR_GAP + LAM_PLOT_COLORBAR_W +
                LAM_PLOT_COLORBAR_LABELS;
    if (l->cell_w < 200) l->cell_w = 200; /* room for a panel's title */
    l->cell_h = LAM_PLOT_PANEL_TITLE + body + LAM_PLOT_MARGIN;
    l->columns = panels < LAM_PLOT_ATTR_COLUMNS ? panels : LAM_PLOT_ATTR_COLUMNS;
    l->rows = (panels + l->columns - 1) / l->columns;
    l->width = 2 * LAM_PLOT_MARGIN + l->columns * l->cell_w + (l->columns - 1) * LAM_PLOT_MARGIN;
    l->height = LAM_PLOT_TITLE_BAND + l->rows * l->cell_h;
}

/* Panel k's drawn image. */
static inline lam_plot_box lam_attributions_image_box(const lam_attributions_layout *l, int k)
{
    const int col = k % l->columns, row = k / l->columns;
    return (lam_plot_box){LAM_PLOT_MARGIN + col * (l->cell_w + LAM_PLOT_MARGIN),
                          LAM_PLOT_TITLE_BAND + row * l->cell_h + LAM_PLOT_PANEL_TITLE,
                          l->image_w, l->image_h};
}

/* Panel k's colour bar (k >= 1). */
static inline lam_plot_box lam_attributions_colorbar_box(const lam_attributions_layout *l, int k)
{
    const lam_plot_box im = lam_attributions_image_box(l, k);
    const int h = l->image_h > LAM_PLOT_COLORBAR_MIN_H ? l->image_h : LAM_PLOT_COLORBAR_MIN_H;
    return (lam_plot_box){im.x + im.w + LAM_PLOT_COLORBAR_GAP, im.y, LAM_PLOT_COLORBAR_W, h};
}

/* lam_plot_curves: panels of LAM_PLOT_CURVES_PANEL_W x _H in rows of at most
 * 3, under the title and a legend band. */
#define LAM_PLOT_CURVES_PANEL_W 440
#define LAM_PLOT_CURVES_PANEL_H 340
#define LAM_PLOT_CURVES_COLUMNS 3
#define LAM_PLOT_CURVES_LEGEND 36

static inline void lam_curves_size(int panels, int *width, int *height)
{
    const int cols = panels < LAM_PLOT_CURVES_COLUMNS ? panels : LAM_PLOT_CURVES_COLUMNS;
    const int rows = (panels + LAM_PLOT_CURVES_COLUMNS - 1) / LAM_PLOT_CURVES_COLUMNS;
    *width = 2 * LAM_PLOT_MARGIN + cols * LAM_PLOT_CURVES_PANEL_W + (cols - 1) * LAM_PLOT_MARGIN;
    *height = LAM_PLOT_TITLE_BAND + LAM_PLOT_CURVES_LEGEND +
              rows * (LAM_PLOT_CURVES_PANEL_H + LAM_PLOT_MARGIN);
}

/* Panel k (its title, axes and labels inside). */
static inline lam_plot_box lam_curves_panel_box(int k)
{
    const int col = k % LAM_PLOT_CURVES_COLUMNS, row = k / LAM_PLOT_CURVES_COLUMNS;
    return (lam_plot_box){LAM_PLOT_MARGIN + col * (LAM_PLOT_CURVES_PANEL_W + LAM_PLOT_MARGIN),
                          LAM_PLOT_TITLE_BAND + LAM_PLOT_CURVES_LEGEND +
                              row * (LAM_PLOT_CURVES_PANEL_H + LAM_PLOT_MARGIN),
                          LAM_PLOT_CURVES_PANEL_W, LAM_PLOT_CURVES_PANEL_H};
}

/* lam_plot_confusion: square cells (about 520 pixels for the matrix, 12 to
 * 100 a cell), true-class names left of it, predicted-class names below it at
 * 45 degrees, a colour bar at its right. */
#define LAM_PLOT_CONFUSION_MAX_CLASSES 100
#define LAM_PLOT_CONFUSION_AXIS_LABEL 26 /* "true class", "predicted class" */
#define LAM_PLOT_CONFUSION_NAMES 130     /* class names are cut to this width */
#define LAM_PLOT_CONFUSION_BAR_GAP 20
#define LAM_PLOT_CONFUSION_MIN_WIDTH 640

typedef struct lam_confusion_layout {
    int width, height;
    int cell;        /* pixels a side */
    lam_plot_box matrix;
    lam_plot_box colorbar;
} lam_confusion_layout;

static inline void lam_confusion_layout_of(int classes, lam_confusion_layout *l)
{
    int cell = 520 / (classes > 0 ? classes : 1);
    cell = cell > 100 ? 100 : cell < 12 ? 12 : cell;
    const int side = cell * classes;
    l->cell = cell;
    l->matrix = (lam_plot_box){LAM_PLOT_MARGIN + LAM_PLOT_CONFUSION_AXIS_LABEL +
                                   LAM_PLOT_CONFUSION_NAMES + 8,
                               LAM_PLOT_TITLE_BAND + 8, side, side};
    l->colorbar = (lam_plot_box){l->matrix.x + side + LAM_PLOT_CONFUSION_BAR_GAP, l->matrix.y,
                                 LAM_PLOT_COLORBAR_W, side};
    l->width = l->colorbar.x + LAM_PLOT_COLORBAR_W + LAM_PLOT_COLORBAR_LABELS + LAM_PLOT_MARGIN;
    if (l->width < LAM_PLOT_CONFUSION_MIN_WIDTH) l->width = LAM_PLOT_CONFUSION_MIN_WIDTH; /* title */
    /* Below the matrix: names at 45 degrees (at most 130 * sin 45 + a line)
     * and the axis label. */
    l->height = l->matrix.y + side + 8 + 104 + LAM_PLOT_CONFUSION_AXIS_LABEL + LAM_PLOT_MARGIN;
}

#endif
