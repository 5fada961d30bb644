/* plot.c - pictures (placeholder until the cairo drawing lands). */
#include "internal.h"

#define NOT_YET return lam_error(LAM_ERR_UNSUPPORTED, "pictures: not built yet")

bool lam_plot_available(void) { return false; }
lam_status lam_plot_attributions(const char *path, const char *title, const float *image,
                                 int h, int w, int channels, const float *const *maps,
                                 const char *const *map_titles, int nmaps)
{
    (void)path, (void)title, (void)image, (void)h, (void)w, (void)channels, (void)maps;
    (void)map_titles, (void)nmaps;
    NOT_YET;
}
lam_status lam_plot_bars(const char *path, const char *title, const char *xlabel,
                         const char *const *labels, const double *values,
                         const double *errors, int n, int max_bars)
{
    (void)path, (void)title, (void)xlabel, (void)labels, (void)values, (void)errors, (void)n;
    (void)max_bars;
    NOT_YET;
}
lam_status lam_plot_beeswarm(const char *path, const char *title,
                             const char *const *feature_names, const double *phi,
                             const float *x, int64_t n, int64_t d, int max_features)
{
    (void)path, (void)title, (void)feature_names, (void)phi, (void)x, (void)n, (void)d;
    (void)max_features;
    NOT_YET;
}
lam_status lam_plot_lines(const char *path, const char *title, const char *xlabel,
                          const char *ylabel, const double *x, const double *const *y,
                          const char *const *names, int nseries, int npoints)
{
    (void)path, (void)title, (void)xlabel, (void)ylabel, (void)x, (void)y, (void)names;
    (void)nseries, (void)npoints;
    NOT_YET;
}
lam_status lam_plot_tokens(const char *path, const char *title, const char *const *tokens,
                           const float *values, int64_t n)
{
    (void)path, (void)title, (void)tokens, (void)values, (void)n;
    NOT_YET;
}
