/* colormap.c - colour maps as small tables interpolated linearly. */
#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

typedef struct stop {
    unsigned char r, g, b;
} stop;

/* ColorBrewer RdBu (reversed: blue low, red high), the ends adjusted so that
 * red minus blue grows along the whole map (plain RdBu darkens at its ends,
 * where that difference falls again): light near zero, strong at +-max. */
static const stop DIVERGING[] = {{25, 90, 170},   {103, 169, 207}, {209, 229, 240}, {247, 247, 247},
                                 {253, 219, 199}, {239, 138, 98},  {180, 10, 30}};
/* matplotlib's inferno at 0, 0.1, ..., 1: lightness grows monotonically. */
static const stop SEQUENTIAL[] = {{0, 0, 4},      {22, 11, 57},   {66, 10, 104},  {106, 23, 110},
                                  {147, 38, 103}, {188, 55, 84},  {221, 81, 58},  {243, 120, 25},
                                  {252, 165, 10}, {246, 215, 70}, {252, 255, 164}};
/* shap's red_blue: blue for a feature's low values, red for its high ones. */
static const stop LOW_HIGH[] = {{0, 139, 251}, {128, 70, 166}, {255, 0, 81}};

/* matplotlib's Blues at 0, 1/8, ..., 1: darker for more. */
static const stop BLUES[] = {{247, 251, 255}, {222, 235, 247}, {198, 219, 239},
                             {158, 202, 225}, {107, 174, 214}, {66, 146, 198},
                             {33, 113, 181},  {8, 81, 156},    {8, 48, 107}};

static lam_rgb interpolate(const stop *s, int n, double t)
{
    if (!(t > 0)) t = 0; /* also NaN */
    if (t > 1) t = 1;
    const double x = t * (n - 1);
    int i = (int)x;
    if (i >= n - 1) i = n - 2;
    const double f = x - i;
    return (lam_rgb){(s[i].r + f * (s[i + 1].r - s[i].r)) / 255.0,
                     (s[i].g + f * (s[i + 1].g - s[i].g)) / 255.0,
                     (s[i].b + f * (s[i + 1].b - s[i].b)) / 255.0};
}

#define COUNT(a) ((int)(sizeof(a) / sizeof(a)[0]))

lam_rgb lam_colormap_at(lam_colormap m, double t)
{
    switch (m) {
    case LAM_CMAP_DIVERGING: return interpolate(DIVERGING, COUNT(DIVERGING), t);
    case LAM_CMAP_SEQUENTIAL: return interpolate(SEQUENTIAL, COUNT(SEQUENTIAL), t);
    case LAM_CMAP_BLUES: return interpolate(BLUES, COUNT(BLUES), t);
    default: return interpolate(LOW_HIGH, COUNT(LOW_HIGH), t);
    }
}

double lam_rgb_luma(lam_rgb c) { return 0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b; }
#endif
