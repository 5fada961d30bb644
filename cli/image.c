/* image.c - reading images for `lamina predict` and fitting them to a model.
 *
 * PNG through libpng's classic interface, so that 16-bit samples keep their
 * precision (the simplified interface would reduce them to 8-bit sRGB):
 * palettes and low-bit gray are expanded, tRNS/alpha dropped (as PIL's
 * convert("L") drops alpha). PGM (P5 binary, P2 text) is read here; its
 * maxval may be up to 65535. Pixels are scaled to [0, 1] by the format's
 * maximum, as Keras users do with x / 255. */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

void cli_image_free(cli_image *img)
{
    if (!img) return;
    free(img->pixels);
    img->pixels = NULL;
}

/* --------------------------------------------------------------- PNG */

/* libpng reports errors by longjmp; the message is kept for ours. */
typedef struct png_err {
    jmp_buf jmp;
    char msg[200];
} png_err;

static void png_on_error(png_structp png, png_const_charp msg)
{
    png_err *e = png_get_error_ptr(png);
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg; /* warnings (bad ancillary chunks) do not stop a read */
}

/* Rows decoded into img; volatile state survives the longjmp. */
static int read_png(FILE *f, const char *path, cli_image *img)
{
    png_err err = {.msg = ""};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &err, png_on_error,
                                             png_on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return cli_error("%s: out of memory reading PNG", path);
    }
    unsigned char *volatile raw = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(err.jmp)) {
        png_destroy_read_struct(&png, &info, NULL);
        free(raw);
        free(rows);
        cli_image_free(img);
        return cli_error("%s: not a readable PNG: %s", path, err.msg);
    }
    png_init_io(png, f);
    png_read_info(png, info);
    int color = png_get_color_type(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    const int w = (int)png_get_image_width(png, info), h = (int)png_get_image_height(png, info);
    const int ch = png_get_channels(png, info), depth = png_get_bit_depth(png, info);
    const size_t stride = png_get_rowbytes(png, info);
    if (ch != 1 && ch != 3) png_error(png, "unexpected channel count after conversion");
    raw = malloc(stride * (size_t)h);
    rows = malloc(sizeof(png_bytep) * (size_t)h);
    img->pixels = malloc(sizeof(float) * (size_t)w * (size_t)h * (size_t)ch);
    if (!raw || !rows || !img->pixels) png_error(png, "out of memory");
    for (int y = 0; y < h; y++) rows[y] = raw + stride * (size_t)y;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    const size_t count = (size_t)w * (size_t)h * (size_t)ch;
    for (size_t i = 0; i < count; i++) {
        if (depth == 16) {
            /* PNG stores 16-bit samples big-endian. */
            unsigned v = (unsigned)raw[2 * i] << 8 | raw[2 * i + 1];
            img->pixels[i] = (float)v / 65535.0f;
        } else {
            img->pixels[i] = (float)raw[i] / 255.0f;
        }
    }
    img->width = w;
    img->height = h;
    img->channels = ch;
    png_destroy_read_struct(&png, &info, NULL);
    free(raw);
    free(rows);
    return CLI_OK;
}

/* --------------------------------------------------------------- PGM */

/* Next header integer, skipping whitespace and # comments; -1 on error. */
static long pgm_int(FILE *f)
{
    int c = fgetc(f);
    for (;;) {
        while (c != EOF && isspace(c)) c = fgetc(f);
        if (c != '#') break;
        while (c != EOF && c != '\n') c = fgetc(f);
    }
    if (c == EOF || !isdigit(c)) return -1;
    long v = 0;
    while (c != EOF && isdigit(c)) {
        v = v * 10 + (c - '0');
        if (v > 1000000000L) return -1;
        c = fgetc(f);
    }
    /* A binary raster starts right after one whitespace byte, already read. */
    return v;
}

static int read_pgm(FILE *f, const char *path, cli_image *img)
{
    int magic = (fgetc(f), fgetc(f)); /* 'P' checked by the caller */
    long w = pgm_int(f), h = pgm_int(f), maxval = pgm_int(f);
    if (w < 1 || h < 1 || maxval < 1 || maxval > 65535 || w * h > (1L << 28))
        return cli_error("%s: bad PGM header (width %ld, height %ld, maxval %ld)", path, w, h,
                         maxval);
    const size_t count = (size_t)w * (size_t)h;
    img->pixels = malloc(sizeof(float) * count);
    if (!img->pixels) return cli_error("%s: out of memory", path);
    for (size_t i = 0; i < count; i++) {
        long v;
        if (magic == '2') {
            v = pgm_int(f);
        } else if (maxval < 256) {
            int c = fgetc(f);
            v = c == EOF ? -1 : c;
        } else {
            int hi = fgetc(f), lo = fgetc(f); /* 16-bit PGM is big-endian */
            v = hi == EOF || lo == EOF ? -1 : hi * 256 + lo;
        }
        if (v < 0 || v > maxval) {
            cli_image_free(img);
            return cli_error("%s: PGM raster ends early or holds a value above maxval %ld "
                             "(pixel %zu of %zu)", path, maxval, i, count);
        }
        img->pixels[i] = (float)v / (float)maxval;
    }
    img->width = (int)w;
    img->height = (int)h;
    img->channels = 1;
    return CLI_OK;
}

int cli_image_read(const char *path, cli_image *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return cli_error("%s: cannot open image: %s", path, strerror(errno));
    unsigned char sig[8] = {0};
    size_t got = fread(sig, 1, sizeof sig, f);
    rewind(f);
    int rc;
    if (got == 8 && png_sig_cmp(sig, 0, 8) == 0)
        rc = read_png(f, path, out);
    else if (got >= 2 && sig[0] == 'P' && (sig[1] == '5' || sig[1] == '2'))
        rc = read_pgm(f, path, out);
    else
        rc = cli_error("%s: not a PNG or PGM (P5/P2) image", path);
    fclose(f);
    return rc;
}

/* ------------------------------------------------------ fit to a model */

void cli_resize_bilinear(const float *src, int sh, int sw, int c, float *dst, int dh, int dw)
{
    const float sy = (float)sh / (float)dh, sx = (float)sw / (float)dw;
    for (int y = 0; y < dh; y++) {
        /* Half-pixel centres: output pixel y samples source (y + 0.5) * s - 0.5. */
        float fy = ((float)y + 0.5f) * sy - 0.5f;
        if (fy < 0) fy = 0;
        int y0 = (int)fy, y1 = y0 + 1 < sh ? y0 + 1 : sh - 1;
        float wy = fy - (float)y0;
        for (int x = 0; x < dw; x++) {
            float fx = ((float)x + 0.5f) * sx - 0.5f;
            if (fx < 0) fx = 0;
            int x0 = (int)fx, x1 = x0 + 1 < sw ? x0 + 1 : sw - 1;
            float wx = fx - (float)x0;
            for (int k = 0; k < c; k++) {
                float a = src[((size_t)y0 * sw + x0) * c + k], b = src[((size_t)y0 * sw + x1) * c + k];
                float d = src[((size_t)y1 * sw + x0) * c + k], e = src[((size_t)y1 * sw + x1) * c + k];
                float top = a + (b - a) * wx, bottom = d + (e - d) * wx;
                dst[((size_t)y * dw + x) * c + k] = top + (bottom - top) * wy;
            }
        }
    }
}

/* Converts channels 1 <-> 3 (RGB -> gray by ITU-R 601-2 luma, PIL's "L"). */
static void convert_channels(const cli_image *img, int c, float *out)
{
    const size_t n = (size_t)img->width * (size_t)img->height;
    for (size_t i = 0; i < n; i++) {
        const float *p = img->pixels + i * (size_t)img->channels;
        if (img->channels == c) {
            memcpy(out + i * (size_t)c, p, sizeof(float) * (size_t)c);
        } else if (c == 1) {
            out[i] = 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
        } else {
            for (int k = 0; k < 3; k++) out[i * 3 + (size_t)k] = p[0];
        }
    }
}

int cli_image_to_input(const cli_image *img, const char *path, int rank, const int64_t *shape,
                       float *out)
{
    char s[96];
    cli_shape_str(s, sizeof s, rank, shape);
    int64_t c = rank == 3 ? shape[2] : 1;
    if ((rank != 2 && rank != 3) || (c != 1 && c != 3) || shape[0] < 1 || shape[1] < 1 ||
        shape[0] > 65536 || shape[1] > 65536)
        return cli_error("%s: the model takes inputs of shape %s; an image fits only (H, W), "
                         "(H, W, 1) or (H, W, 3)", path, s);
    const int H = (int)shape[0], W = (int)shape[1], C = (int)c;
    float *conv = malloc(sizeof(float) * (size_t)img->width * (size_t)img->height * (size_t)C);
    if (!conv) return cli_error("%s: out of memory", path);
    convert_channels(img, C, conv);
    if (img->height == H && img->width == W)
        memcpy(out, conv, sizeof(float) * (size_t)H * (size_t)W * (size_t)C);
    else
        cli_resize_bilinear(conv, img->height, img->width, C, out, H, W);
    free(conv);
    return CLI_OK;
}
