/* plot.c - whether pictures can be drawn, the checks every picture makes of
 * its input, and, in a build without cairo, the calls that say so. */
#include "internal.h"

#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

#include <math.h>
#include <string.h>

bool lam_plot_available(void) { return true; }

lam_status lam_plot_check_finite_f(const char *fn, const char *what, const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return lam_error(LAM_ERR_NUMERIC, "%s: %s[%lld] is %g (finite values expected)", fn,
                             what, (long long)i, (double)v[i]);
    return LAM_OK;
}

lam_status lam_plot_check_finite_d(const char *fn, const char *what, const double *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return lam_error(LAM_ERR_NUMERIC, "%s: %s[%lld] is %g (finite values expected)", fn,
                             what, (long long)i, v[i]);
    return LAM_OK;
}

lam_status lam_plot_check_text(const char *fn, const char *what, int64_t i, const char *s)
{
    if (!s) return LAM_OK;
    const int64_t bad = lam_utf8_invalid_at(s, strlen(s));
    if (bad < 0) return LAM_OK;
    if (i < 0)
        return lam_error(LAM_ERR_ARG, "%s: %s is not UTF-8 (invalid byte 0x%02x at %lld)", fn,
                         what, (unsigned char)s[bad], (long long)bad);
    return lam_error(LAM_ERR_ARG, "%s: %s[%lld] is not UTF-8 (invalid byte 0x%02x at %lld)", fn,
                     what, (long long)i, (unsigned char)s[bad], (long long)bad);
}

#else

bool lam_plot_available(void) { return false; }

#define WITHOUT_CAIRO                                                                           \
    return lam_error(LAM_ERR_UNSUPPORTED, "lamina was built without cairo: install "            \
                                          "libcairo2-dev (scripts/install-deps.sh) and rebuild")

lam_status lam_plot_attributions(const char *path, const char *title, const float *image,
                                 int h, int w, int channels, const float *const *maps,
                                 const char *const *map_titles, int nmaps)
{
    WITHOUT_CAIRO;
}
lam_status lam_plot_bars(const char *path, const char *title, const char *xlabel,
                         const char *const *labels, const double *values,
                         const double *errors, int n, int max_bars)
{
    WITHOUT_CAIRO;
}
lam_status lam_plot_beeswarm(const char *path, const char *title,
                             const char *const *feature_names, const double *phi,
                             const float *x, int64_t n, int64_t d, int max_features)
{
    WITHOUT_CAIRO;
}
lam_status lam_plot_lines(const char *path, const char *title, const char *xlabel,
                          const char *ylabel, const double *x, const double *const *y,
                          const char *const *names, int nseries, int npoints)
{
    WITHOUT_CAIRO;
}
lam_status lam_plot_tokens(const char *path, const char *title, const char *const *tokens,
                           const float *values, int64_t n)
{
    WITHOUT_CAIRO;
}
lam_status lam_plot_curves(const char *path, const char *title, const lam_curves *c,
                           const char *const *quantities, int nquantities)
{
    WITHOUT_CAIRO;
}
lam_status lam_plot_confusion(const char *path, const char *title, const int64_t *counts,
                              int classes, const char *const *class_names)
{
    WITHOUT_CAIRO;
}
#endif
