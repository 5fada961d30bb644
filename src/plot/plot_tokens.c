/* plot_tokens.c - text with each token on a background coloured by its
 * attribution (blue - white - red, symmetric around 0 at +-max |value|): a
 * PNG with the tokens wrapped in lines, or an HTML page of <span>s. */
#ifdef LAMINA_HAVE_CAIRO
#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char FN[] = "lam_plot_tokens";

#define TOKEN_FONT 15.0
#define TOKEN_PAD 3.0   /* text to the edge of its background */
#define TOKEN_GAP 4.0   /* between two tokens' backgrounds */
#define TOKEN_LINE 28.0 /* pixels per line of text */
#define TOKEN_KEY 44    /* the colour key's strip under the text */

static lam_status check(const char *path, const char *title, const char *const *tokens,
                        const float *values, int64_t n)
{
    if (!path) return lam_error(LAM_ERR_ARG, "%s: path is NULL", FN);
    if (!tokens || !values)
        return lam_error(LAM_ERR_ARG, "%s: %s: %s is NULL", FN, path, tokens ? "values" : "tokens");
    if (n < 1 || n > INT32_MAX)
        return lam_error(LAM_ERR_ARG, "%s: %s: %lld tokens (1 to 2^31 expected)", FN, path,
                         (long long)n);
    LAM_TRY(lam_plot_check_text(FN, "title", -1, title));
    for (int64_t i = 0; i < n; i++) {
        if (!tokens[i])
            return lam_error(LAM_ERR_ARG, "%s: %s: tokens[%lld] is NULL", FN, path, (long long)i);
        LAM_TRY(lam_plot_check_text(FN, "tokens", i, tokens[i]));
    }
    return lam_plot_check_finite_f(FN, "values", values, n);
}

static double max_abs(const float *v, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(v[i]));
    return m > 0 ? m : 1.0;
}

static lam_rgb background(float v, double max)
{
    return lam_colormap_at(LAM_CMAP_DIVERGING, 0.5 + 0.5 * v / max);
}

/* Dark text on light backgrounds, white on the strong ends of the map. */
static lam_rgb foreground(lam_rgb bg)
{
    return lam_rgb_luma(bg) < 0.45 ? (lam_rgb){1, 1, 1} : LAM_RGB_TEXT;
}

/* ------------------------------------------------------------------ PNG */

/* A token as drawn: line breaks and tabs shown as arrows, other control
 * characters as '?' (cairo would draw nothing for them), into buf. */
static const char *visible(const char *s, char *buf, size_t n)
{
    size_t o = 0, boundary = 0;
    for (; *s && o + 4 < n; s++) {
        const unsigned char ch = (unsigned char)*s;
        if ((ch & 0xC0) != 0x80) boundary = o;
        if (ch == '\n') o += (size_t)snprintf(buf + o, n - o, "\xE2\x86\xB5"); /* U+21B5 */
        else if (ch == '\t') o += (size_t)snprintf(buf + o, n - o, "\xE2\x86\x92"); /* U+2192 */
        else if (ch < 0x20 || ch == 0x7F) buf[o++] = '?';
        else buf[o++] = (char)ch;
    }
    if (((unsigned char)*s & 0xC0) == 0x80) o = boundary; /* cut inside a character */
    buf[o] = '\0';
    return buf;
}

typedef struct placed {
    double x, w; /* background's left edge and width */
    int line;
} placed;

/* Each token's place, wrapping at the picture's width; returns the lines. */
static int lay_out(lam_canvas *c, const char *const *tokens, int64_t n, placed *at)
{
    const double left = LAM_PLOT_MARGIN, right = LAM_PLOT_WIDTH - LAM_PLOT_MARGIN;
    double x = left;
    int line = 0;
    char buf[256];
    lam_canvas_font(c, TOKEN_FONT, false);
    for (int64_t i = 0; i < n; i++) {
        double w = lam_canvas_text_width(c, visible(tokens[i], buf, sizeof buf)) + 2 * TOKEN_PAD;
        w = fmin(w, right - left);
        if (x + w > right && x > left) {
            line++;
            x = left;
        }
        at[i] = (placed){x, w, line};
        x += w + TOKEN_GAP;
    }
    return line + 1;
}

/* Under the text: the colour map from -max to +max with its ends labelled. */
static void colour_key(lam_canvas *c, double max, double y)
{
    const double x0 = LAM_PLOT_MARGIN + 150, w = 240, h = 12;
    lam_canvas_font(c, LAM_FONT_TICK, false);
    lam_canvas_color(c, LAM_RGB_TEXT);
    lam_canvas_text(c, x0 - 10, y + h / 2, LAM_ALIGN_END, LAM_ALIGN_CENTER, 140,
                    "attribution:");
    for (int i = 0; i < (int)w; i++) {
        lam_canvas_color(c, lam_colormap_at(LAM_CMAP_DIVERGING, (i + 0.5) / w));
        cairo_rectangle(c->cr, x0 + i, y, 1, h);
        cairo_fill(c->cr);
    }
    lam_canvas_color(c, LAM_RGB_FRAME);
    lam_canvas_frame(c, x0 - 1, y - 1, x0 + w, y + h);
    char buf[48];
    lam_canvas_color(c, LAM_RGB_TEXT);
    snprintf(buf, sizeof buf, "%.3g", -max);
    lam_canvas_text(c, x0, y + h + 3, LAM_ALIGN_CENTER, LAM_ALIGN_START, 0, buf);
    lam_canvas_text(c, x0 + w / 2, y + h + 3, LAM_ALIGN_CENTER, LAM_ALIGN_START, 0, "0");
    snprintf(buf, sizeof buf, "%.3g", max);
    lam_canvas_text(c, x0 + w, y + h + 3, LAM_ALIGN_CENTER, LAM_ALIGN_START, 0, buf);
}

static lam_status tokens_png(const char *path, const char *title, const char *const *tokens,
                             const float *values, int64_t n)
{
    placed *at = lam_malloc((size_t)n * sizeof *at);
    if (!at) return lam_error_context(LAM_ERR_NOMEM, "%s: %s", FN, path);
    /* Measured on a scratch surface first: the picture is as tall as the
     * wrapped text. */
    lam_canvas c;
    lam_status s = lam_canvas_begin(&c, path, 1, 1);
    if (s != LAM_OK) goto done;
    const int lines = lay_out(&c, tokens, n, at);
    lam_canvas_end(&c);
    const int text_top = LAM_PLOT_TITLE_BAND + 4;
    const int height = text_top + (int)(lines * TOKEN_LINE) + 12 + TOKEN_KEY;
    s = lam_canvas_begin(&c, path, LAM_PLOT_WIDTH, height);
    if (s != LAM_OK) goto done;
    lam_canvas_title(&c, title);
    const double max = max_abs(values, n);
    char buf[256];
    lam_canvas_font(&c, TOKEN_FONT, false);
    for (int64_t i = 0; i < n; i++) {
        const double y = text_top + at[i].line * TOKEN_LINE;
        const lam_rgb bg = background(values[i], max);
        lam_canvas_color(&c, bg);
        cairo_rectangle(c.cr, at[i].x, y, at[i].w, TOKEN_LINE - 4);
        cairo_fill(c.cr);
        lam_canvas_color(&c, foreground(bg));
        lam_canvas_text(&c, at[i].x + TOKEN_PAD, y + (TOKEN_LINE - 4) / 2, LAM_ALIGN_START,
                        LAM_ALIGN_CENTER, at[i].w - 2 * TOKEN_PAD + 0.5,
                        visible(tokens[i], buf, sizeof buf));
    }
    colour_key(&c, max, height - TOKEN_KEY + 4);
    s = lam_canvas_write(&c);
done:
    lam_canvas_end(&c);
    lam_free(at);
    return s;
}

/* ----------------------------------------------------------------- HTML */

static void put_escaped(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*s, f); /* UTF-8 as it is: the page says charset=utf-8 */
        }
    }
}

static void put_hex(FILE *f, lam_rgb c)
{
    fprintf(f, "#%02x%02x%02x", (int)(c.r * 255 + 0.5), (int)(c.g * 255 + 0.5),
            (int)(c.b * 255 + 0.5));
}

typedef struct html_page {
    const char *path, *title;
    const char *const *tokens;
    const float *values;
    int64_t n;
} html_page;

static lam_status write_html(FILE *f, void *user)
{
    const html_page *p = user;
    const char *title = p->title && *p->title ? p->title : "attributions";
    const double max = max_abs(p->values, p->n);
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    put_escaped(f, title);
    fputs("</title>\n<style>\n"
          "body { font-family: \"DejaVu Sans\", sans-serif; margin: 2em; color: #222; }\n"
          ".tokens { line-height: 2.1; font-size: 15px; }\n"
          ".tokens span { padding: 2px 3px; margin: 0 2px 0 0; border-radius: 3px; "
          "white-space: pre-wrap; }\n"
          ".key { font-size: 12px; color: #444; }\n"
          "</style></head>\n<body>\n<h1>", f);
    put_escaped(f, title);
    fputs("</h1>\n<p class=\"tokens\">", f);
    for (int64_t i = 0; i < p->n; i++) {
        const lam_rgb bg = background(p->values[i], max);
        fputs("<span style=\"background:", f);
        put_hex(f, bg);
        fputs(";color:", f);
        put_hex(f, foreground(bg));
        fprintf(f, "\" title=\"%.4g\">", (double)p->values[i]);
        put_escaped(f, p->tokens[i]);
        fputs("</span>", f);
    }
    fprintf(f, "</p>\n<p class=\"key\">Background: the token's attribution, blue negative, "
               "white 0, red positive, strongest at &plusmn;%.3g. Hover a token for its value."
               "</p>\n</body></html>\n", max);
    if (ferror(f)) return lam_error(LAM_ERR_IO, "%s: %s: write failed", FN, p->path);
    return LAM_OK;
}

/* Whether path's name ends in ".png", in any case. */
static bool is_png(const char *path)
{
    const size_t len = strlen(path);
    return len >= 4 && strcasecmp(path + len - 4, ".png") == 0;
}

lam_status lam_plot_tokens(const char *path, const char *title, const char *const *tokens,
                           const float *values, int64_t n)
{
    LAM_TRY(check(path, title, tokens, values, n));
    if (is_png(path)) return tokens_png(path, title, tokens, values, n);
    html_page page = {path, title, tokens, values, n};
    return lam_write_atomic(path, write_html, &page);
}
#endif
