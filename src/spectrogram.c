/* spectrogram.c - log-magnitude spectrogram images: libgd PNG (or JPEG,
 * GIF, WebP, BMP) with labelled axes and a dBFS colour bar, several
 * panels side by side on one colour scale. The transforms are
 * spectrum.c's. */
#define _POSIX_C_SOURCE 200809L
#include "spectrum.h"

#include <errno.h>
#include <gd.h>
#include <gdfonts.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PIXELS 8192 /* per image side */

/* ------------------------------------------------------------ image */

wn_spectrogram_params wn_spectrogram_default_params(void)
{
    wn_spectrogram_params p;
    memset(&p, 0, sizeof p);
    p.range_db = 80.0f;
    return p;
}

int wn_spectrogram_auto_fft(int rate)
{
    if (rate <= 0) return 256;
    /* 32 ms frames, rounded to a power of two in the log domain */
    double want = 256.0 * rate / 8000.0;
    int e = (int)lround(log2(want));
    if (e < 3) e = 3;
    if (e > 16) e = 16;
    return 1 << e;
}

/* An inferno-like map (dark purple -> orange -> pale yellow): monotone in
 * lightness, so the image also reads in greyscale. */
static int colour(double v)
{
    static const unsigned char stops[9][3] = {
        {0, 0, 4},      {31, 12, 72},  {85, 15, 109},  {136, 34, 106}, {186, 54, 85},
        {227, 89, 51},  {249, 140, 10}, {249, 201, 50}, {252, 255, 164},
    };
    if (!(v > 0)) v = 0; /* NaN too */
    if (v > 1) v = 1;
    double p = v * 8;
    int i = (int)p;
    if (i > 7) i = 7;
    double a = p - i;
    int rgb[3];
    for (int c = 0; c < 3; c++)
        rgb[c] = (int)lround(stops[i][c] + a * (stops[i + 1][c] - stops[i][c]));
    return gdTrueColor(rgb[0], rgb[1], rgb[2]);
}

/* 1, 2 or 5 times a power of ten, giving about `target` steps over span. */
static double nice_step(double span, int target)
{
    if (!(span > 0)) return 1;
    double raw = span / (target > 0 ? target : 1);
    double p = pow(10, floor(log10(raw)));
    double m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static int decimals(double step)
{
    if (step >= 1) return 0;
    int d = (int)ceil(-log10(step) - 1e-9);
    return d > 6 ? 6 : d;
}

static void text(gdImagePtr im, int x, int y, const char *s, int col)
{
    /* the built-in font covers ASCII; anything else prints as '?' */
    unsigned char buf[256];
    size_t i = 0;
    for (; s[i] && i < sizeof buf - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c >= 32 && c < 127 ? c : '?';
    }
    buf[i] = 0;
    gdImageString(im, gdFontGetSmall(), x, y, buf, col);
}

/* The bins (or frames) [*lo, *hi) shown by output cell i of `cells`, when
 * `count` inputs are spread over them: a range when shrinking, one input
 * repeated when stretching. */
static void cell_range(size_t i, size_t cells, size_t count, size_t *lo, size_t *hi)
{
    *lo = i * count / cells;
    *hi = (i + 1) * count / cells;
    if (*hi <= *lo) *hi = *lo + 1;
}

/* The image format a name asks for by its extension (case ignored): PNG
 * unless it ends in .jpg/.jpeg, .gif, .webp or .bmp (libgd encodes all) */
static const char *image_kind(const char *path)
{
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return "PNG";
    static const char *const ext[][2] = {{"jpg", "JPEG"}, {"jpeg", "JPEG"}, {"gif", "GIF"},
                                         {"webp", "WebP"}, {"bmp", "BMP"}};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++)
        if (!strcasecmp(dot + 1, ext[i][0])) return ext[i][1];
    return "PNG";
}

/* ------------------------------------------------------------ panels
 * An image holds 1..MAX_PANELS spectrograms side by side, all at one rate
 * and STFT: each panel has its own time axis and label; the colour scale
 * (dB below the loudest cell of all panels), the frequency axis and the
 * colour bar are shared, so panels compare by eye. */

#define MAX_PANELS 16

/* What every panel of an image shares. */
typedef struct spec_layout {
    const char *path;  /* for messages */
    const char *title; /* NULL: none */
    int rate, fft, hop, mels, count;
    wn_mel_params mp;  /* the bands, when mels */
    size_t nb;         /* rows of data: FFT bins or mel bands */
    long W, H;         /* each panel's plot area in pixels */
    int left, right, top, bottom, gap, IW, IH;
    double range, max_db, min_db; /* colours span [min_db, max_db] dB */
} spec_layout;

/* One panel: its samples and their max-pooled magnitudes. */
typedef struct spec_panel {
    const float *x;
    size_t n, frames;
    const char *label; /* NULL or empty: none */
    size_t G, R;       /* grid: G columns of R rows */
    float *grid;
} spec_panel;

/* The margins and each panel's plot size; the image at most MAX_PIXELS a
 * side. p->width, when set, is the whole image's width. */
static int spec_size(spec_layout *L, const wn_spectrogram_params *p, const spec_panel *P,
                     wn_error *err)
{
    gdFontPtr font = gdFontGetSmall();
    const int fw = font->w, fh = font->h, n = L->count;
    int labelled = 0;
    for (int i = 0; i < n; i++) labelled |= P[i].label && *P[i].label;
    L->top = (L->title ? 2 * fh + 4 : fh) + (labelled ? fh + 4 : 0);
    L->bottom = 2 * fh + 16, L->left = 9 * fw + fh + 12, L->right = 8 * fw + 30;
    L->gap = 4 * fw + 8; /* a time label's overhang each side, and the ticks */
    const long margins = L->left + L->right + (long)(n - 1) * L->gap;
    size_t frames = 0;
    for (int i = 0; i < n; i++)
        if (P[i].frames > frames) frames = P[i].frames;
    long W = p->width ? (p->width - margins) / n
                      : (long)(frames < 400 ? 400 : frames > 1600 ? 1600 : frames);
    if (!p->width && n > 1 && W > (MAX_PIXELS - margins) / n) W = (MAX_PIXELS - margins) / n;
    long H = p->height ? p->height - L->top - L->bottom
                       : (long)(L->nb < 256 ? 256 : L->nb > 1024 ? 1024 : L->nb);
    const long IW = p->width ? p->width : margins + n * W;
    if (W < 16 || H < 16 || IW > MAX_PIXELS || H + L->top + L->bottom > MAX_PIXELS) {
        char each[48] = "a plot";
        if (n > 1) snprintf(each, sizeof each, "each of %d panels a plot", n);
        return wn__err(err, WN_ERR_ARG, "%s: image size must leave %s of at least 16x16 "
                       "pixels inside %ldx%d margins and be at most %d pixels a side",
                       L->path, each, margins, L->top + L->bottom, MAX_PIXELS);
    }
    L->W = W, L->H = H, L->IW = (int)IW, L->IH = (int)H + L->top + L->bottom;
    return WN_OK;
}

/* p (NULL: the defaults) resolved for `rate` and checked; each panel's
 * frame count */
static int spec_resolve(spec_layout *L, const wn_spectrogram_params *pp, spec_panel *P,
                        wn_error *err)
{
    if (L->rate < 1 || L->rate > (1 << 20))
        return wn__err(err, WN_ERR_ARG, "%s: invalid sample rate %d Hz", L->path, L->rate);
    wn_spectrogram_params p = pp ? *pp : wn_spectrogram_default_params();
    L->title = p.title && *p.title ? p.title : NULL;
    L->fft = p.fft ? p.fft : wn_spectrogram_auto_fft(L->rate);
    L->hop = p.hop ? p.hop : (L->fft / 4 > 0 ? L->fft / 4 : 1);
    int rc = wn__stft_check(L->fft, L->hop, err);
    if (rc != WN_OK) return rc;
    if (!(p.range_db >= 1 && p.range_db <= 400))
        return wn__err(err, WN_ERR_ARG, "dB range must be 1..400, got %g", p.range_db);
    L->range = p.range_db;
    L->mels = p.mels;
    if (p.mels) { /* the bands replace the bins as rows (triangles of peak 1) */
        wn_mel_params mp = wn_mel_default_params();
        mp.fft = L->fft, mp.hop = L->hop, mp.mels = p.mels, mp.fmin = p.fmin, mp.fmax = p.fmax;
        mp.area_norm = 0;
        if ((rc = wn__mel_resolve(L->rate, &mp, &L->mp, err)) != WN_OK) return rc;
    } else if (p.fmin != 0 || p.fmax != 0)
        return wn__err(err, WN_ERR_ARG, "%s: a frequency range is for mel bands only", L->path);
    L->nb = p.mels ? (size_t)p.mels : (size_t)L->fft / 2 + 1;
    for (int i = 0; i < L->count; i++) P[i].frames = wn_stft_frames(P[i].n, L->hop);
    return spec_size(L, &p, P, err);
}

/* One panel's grid: each cell the largest magnitude (or mel band
 * amplitude) of the frames and rows it covers. mscr: threads x nb scratch
 * for the bands (NULL without fb). */
static void spec_pool(const stft *s, const float *fb, const int *mlo, const int *mhi,
                      float *mscr, size_t nb, spec_panel *pn)
{
    const float *x = pn->x;
    const size_t n = pn->n, frames = pn->frames, G = pn->G, R = pn->R;
    float *grid = pn->grid;
    WN_OMP_FOR
    for (size_t g = 0; g < G; g++) {
        int t = wn__spec_thread();
        float *mag = fb ? mscr + (size_t)t * nb : s->mag[t], *col = grid + g * R;
        for (size_t r = 0; r < R; r++) col[r] = 0;
        size_t f0, f1;
        cell_range(g, G, frames, &f0, &f1);
        for (size_t f = f0; f < f1; f++) {
            wn__stft_frame(s, t, x, n, f, s->mag[t]);
            if (fb) { /* band powers, as amplitudes: dB stay 20 log10 */
                wn__mel_apply(fb, mlo, mhi, (int)nb, s->nb, s->mag[t], mag);
                for (size_t b = 0; b < nb; b++) mag[b] = sqrtf(mag[b]);
            }
            for (size_t r = 0; r < R; r++) {
                size_t b0, b1;
                cell_range(r, R, nb, &b0, &b1);
                for (size_t b = b0; b < b1; b++)
                    if (mag[b] > col[r]) col[r] = mag[b];
            }
        }
    }
}

/* Every panel's grid of G <= W columns by R <= H rows, so memory follows
 * the image and not the audio length. The caller frees the grids (also on
 * failure). */
static int spec_grids(const spec_layout *L, spec_panel *P, wn_error *err)
{
    for (int i = 0; i < L->count; i++) {
        P[i].G = P[i].frames < (size_t)L->W ? P[i].frames : (size_t)L->W;
        P[i].R = L->nb < (size_t)L->H ? L->nb : (size_t)L->H;
        if (!(P[i].grid = malloc(P[i].G * P[i].R * sizeof *P[i].grid)))
            return wn__err(err, WN_ERR_NOMEM, "%s: out of memory", L->path);
    }
    stft s;
    int rc = wn__stft_init(&s, L->fft, L->hop, err);
    if (rc != WN_OK) return rc;
    float *fb = NULL, *mscr = NULL;
    int *mlo = NULL, *mhi = NULL;
    if (L->mels && (rc = wn__mel_bank(L->rate, &L->mp, &fb, &mlo, &mhi, err)) == WN_OK &&
        !(mscr = malloc((size_t)s.threads * L->nb * sizeof *mscr)))
        rc = wn__err(err, WN_ERR_NOMEM, "%s: out of memory", L->path);
    for (int i = 0; i < L->count && rc == WN_OK; i++)
        spec_pool(&s, fb, mlo, mhi, mscr, L->nb, &P[i]);
    wn__stft_free(&s);
    free(fb), free(mlo), free(mhi), free(mscr);
    return rc;
}

/* The colour scale: dB below the loudest cell of all the panels */
static void spec_scale(spec_layout *L, const spec_panel *P)
{
    float peak = 0;
    for (int i = 0; i < L->count; i++)
        for (size_t c = 0; c < P[i].G * P[i].R; c++)
            if (P[i].grid[c] > peak) peak = P[i].grid[c];
    L->max_db = 20 * log10(peak > 1e-10f ? peak : 1e-10f);
    L->min_db = L->max_db - L->range;
}

static const int black = gdTrueColor(0, 0, 0);

/* A panel's cells and frame; x0 is its plot's left edge */
static void draw_cells(gdImagePtr im, const spec_layout *L, const spec_panel *pn, int x0)
{
    const long W = L->W, H = L->H;
    for (long py = 0; py < H; py++) {
        size_t r = (size_t)(H - 1 - py) * pn->R / (size_t)H; /* row 0 is 0 Hz, at the bottom */
        for (long px = 0; px < W; px++) {
            size_t g = (size_t)px * pn->G / (size_t)W;
            float v = pn->grid[g * pn->R + r];
            double db = 20 * log10(v > 1e-10f ? v : 1e-10f);
            gdImageSetPixel(im, x0 + (int)px, L->top + (int)py,
                            colour((db - L->min_db) / L->range));
        }
    }
    gdImageRectangle(im, x0 - 1, L->top - 1, x0 + (int)W, L->top + (int)H, black);
}

static void draw_time_axis(gdImagePtr im, const spec_layout *L, size_t frames, int x0)
{
    gdFontPtr font = gdFontGetSmall();
    const int fw = font->w, fh = font->h, y = L->top + (int)L->H;
    const long W = L->W;
    char lab[64];
    /* frame f is centred at f*hop and drawn over one hop, so time t (s)
     * sits at frame units u = t*rate/hop + 0.5 */
    double dur = (double)frames * L->hop / L->rate;
    double tstep = nice_step(dur, (int)(W / 90 > 2 ? W / 90 : 2));
    int tdec = decimals(tstep);
    for (int i = 0;; i++) {
        double t = i * tstep;
        double u = t * L->rate / L->hop + 0.5;
        int px = x0 + (int)lround(u / (double)frames * W);
        if (px > x0 + W) break;
        gdImageLine(im, px, y, px, y + 4, black);
        snprintf(lab, sizeof lab, "%.*f", tdec, t);
        text(im, px - (int)strlen(lab) * fw / 2, y + 6, lab, black);
    }
    const char *xl = "time (s)";
    text(im, x0 + (int)W / 2 - (int)strlen(xl) * fw / 2, y + 8 + fh, xl, black);
}

/* A frequency tick at row py left of the plot at x0, labelled unless lab is NULL */
static void freq_tick(gdImagePtr im, int x0, int py, const char *lab)
{
    gdFontPtr font = gdFontGetSmall();
    gdImageLine(im, x0 - 5, py, x0 - 1, py, black);
    if (lab) text(im, x0 - 7 - (int)strlen(lab) * font->w, py - font->h / 2, lab, black);
}

/* bin k (k*rate/fft Hz) spans rows [k, k+1) of nb */
static void draw_linear_ticks(gdImagePtr im, const spec_layout *L, int x0, int labels)
{
    const long H = L->H;
    const double df = (double)L->rate / L->fft, nyq = L->rate / 2.0;
    double fstep = nice_step(nyq, (int)(H / 40 > 2 ? H / 40 : 2));
    int fdec = decimals(fstep);
    char lab[64];
    for (int i = 0;; i++) {
        double fr = i * fstep;
        if (fr > nyq + 1e-9) break;
        int py = L->top + (int)H - (int)lround((fr / df + 0.5) / (double)L->nb * H);
        snprintf(lab, sizeof lab, "%.*f", fdec, fr);
        freq_tick(im, x0, py, labels ? lab : NULL);
    }
}

/* band m, centred at mel point m + 1, spans rows [m, m+1): a frequency
 * sits at row (mel - point 1) / spacing + 1/2. Ticks at 1, 2 and 5 times
 * powers of ten (and the range's ends), each drawn if it keeps a label's
 * height from the last one drawn. */
static void draw_mel_ticks(gdImagePtr im, const spec_layout *L, int x0, int labels)
{
    const wn_mel_params *mp = &L->mp;
    const int fh = gdFontGetSmall()->h;
    const long H = L->H;
    const double nb = (double)L->nb;
    const double m0 = wn__hz_to_mel(mp->fmin, mp->scale), m1 = wn__hz_to_mel(mp->fmax, mp->scale);
    const double sp = (m1 - m0) / (mp->mels + 1);
    double ticks[64];
    int nt = 0;
    ticks[nt++] = mp->fmin;
    for (double d = 1; d <= 1e7 && nt < 62; d *= 10)
        for (int k = 0; k < 3 && nt < 62; k++) {
            double fr = d * (k == 0 ? 1 : k == 1 ? 2 : 5);
            if (fr > mp->fmin && fr < mp->fmax) ticks[nt++] = fr;
        }
    ticks[nt++] = mp->fmax;
    int last = 1 << 30;
    char lab[64];
    for (int i = 0; i < nt; i++) {
        double row = (wn__hz_to_mel(ticks[i], mp->scale) - m0 - sp) / sp + 0.5;
        if (row < 0) row = 0;
        if (row > nb) row = nb;
        int py = L->top + (int)H - (int)lround(row / nb * H);
        if (last - py < fh + 2) continue; /* too close */
        last = py;
        snprintf(lab, sizeof lab, "%.0f", ticks[i]);
        freq_tick(im, x0, py, labels ? lab : NULL);
    }
}

/* s centred in [x0, x0 + width) at y, cut to maxc characters */
static void centred(gdImagePtr im, int x0, int width, int y, const char *s, size_t maxc)
{
    char t[256];
    snprintf(t, sizeof t, "%s", s);
    if (strlen(t) > maxc) t[maxc < sizeof t ? maxc : sizeof t - 1] = 0;
    text(im, x0 + (width - (int)strlen(t) * gdFontGetSmall()->w) / 2, y, t, black);
}

/* the dBFS colour bar, its plot's left edge at bx */
static void draw_colour_bar(gdImagePtr im, const spec_layout *L, int bx)
{
    gdFontPtr font = gdFontGetSmall();
    const int fh = font->h, bw = 12, top = L->top;
    const long H = L->H;
    for (long py = 0; py < H; py++) {
        int c = colour(1.0 - (double)py / (H > 1 ? H - 1 : 1));
        gdImageLine(im, bx, top + (int)py, bx + bw - 1, top + (int)py, c);
    }
    gdImageRectangle(im, bx - 1, top - 1, bx + bw, top + (int)H, black);
    double dstep = nice_step(L->range, (int)(H / 40 > 2 ? H / 40 : 2));
    if (dstep < 1) dstep = 1;
    char lab[64];
    for (double v = floor(L->max_db / dstep) * dstep; v >= L->min_db - 1e-9; v -= dstep) {
        int py = top + (int)lround((L->max_db - v) / L->range * (H - 1));
        gdImageLine(im, bx + bw, py, bx + bw + 3, py, black);
        snprintf(lab, sizeof lab, "%.0f", v);
        text(im, bx + bw + 5, py - fh / 2, lab, black);
    }
    text(im, bx - 4, top + (int)H + 6, "dBFS", black);
}

/* The whole image; NULL when libgd is out of memory. Frequency labels on
 * the first panel only (the others have the same rows): ticks on each. */
static gdImagePtr spec_draw(const spec_layout *L, const spec_panel *P)
{
    gdImagePtr im = gdImageCreateTrueColor(L->IW, L->IH);
    if (!im) return NULL;
    gdFontPtr font = gdFontGetSmall();
    const int fw = font->w, fh = font->h, step = (int)L->W + L->gap;
    gdImageFilledRectangle(im, 0, 0, L->IW - 1, L->IH - 1, gdTrueColor(255, 255, 255));
    for (int i = 0; i < L->count; i++) {
        const int x0 = L->left + i * step;
        draw_cells(im, L, &P[i], x0);
        draw_time_axis(im, L, P[i].frames, x0);
        (L->mels ? draw_mel_ticks : draw_linear_ticks)(im, L, x0, i == 0);
        if (P[i].label && *P[i].label)
            centred(im, x0, (int)L->W, L->top - fh - 3, P[i].label, (size_t)(L->W / fw));
    }
    const char *yl = L->mels ? "frequency (Hz, mel)" : "frequency (Hz)";
    gdImageStringUp(im, font, 2, L->top + (int)L->H / 2 + (int)strlen(yl) * fw / 2,
                    (unsigned char *)yl, black);
    draw_colour_bar(im, L, L->left + L->count * step - L->gap + 12);
    if (L->title) centred(im, 0, L->IW, fh / 2, L->title, (size_t)(L->IW / fw - 2));
    return im;
}

/* Encode im (destroyed here) by the name's extension and write it: in
 * memory first, so a libgd failure is a return value (not a message on
 * stderr) and our own write is the one checked */
static int write_image(gdImagePtr im, const char *png_path, wn_error *err)
{
    int size = 0;
    const char *kind = image_kind(png_path);
    void *png = !strcmp(kind, "JPEG")   ? gdImageJpegPtr(im, &size, 95)
                : !strcmp(kind, "GIF")  ? gdImageGifPtr(im, &size)
                : !strcmp(kind, "WebP") ? gdImageWebpPtrEx(im, &size, gdWebpLossless)
                : !strcmp(kind, "BMP")  ? gdImageBmpPtr(im, &size, 0)
                                        : gdImagePngPtr(im, &size);
    gdImageDestroy(im);
    if (!png || size <= 0) {
        if (png) gdFree(png);
        return wn__err(err, WN_ERR_NOMEM, "%s: %s encoding failed", png_path, kind);
    }
    if (!strcmp(png_path, "-")) { /* stdout: the image whole, at once */
        const int ok = fwrite(png, 1, (size_t)size, stdout) == (size_t)size && fflush(stdout) == 0;
        const int e = errno;
        gdFree(png);
        return ok ? WN_OK : wn__err(err, WN_ERR_IO, "stdout: write failed: %s", strerror(e));
    }
    char tmp[4096];
    FILE *f = wn__tmpopen(png_path, tmp, sizeof tmp, err);
    if (!f) {
        gdFree(png);
        return err ? err->code : WN_ERR_IO;
    }
    size_t put = fwrite(png, 1, (size_t)size, f);
    gdFree(png);
    if (put != (size_t)size) {
        int e = errno;
        wn__abort_file(f, tmp);
        return wn__err(err, WN_ERR_IO, "%s: write failed: %s", png_path, strerror(e));
    }
    return wn__commit_file(f, tmp, png_path, err);
}

/* The panels' samples are checked by the callers */
static int spectrogram(spec_panel *P, int count, int rate, const char *png_path,
                       const wn_spectrogram_params *pp, wn_error *err)
{
    spec_layout L;
    memset(&L, 0, sizeof L);
    L.path = png_path, L.rate = rate, L.count = count;
    int rc = spec_resolve(&L, pp, P, err);
    if (rc == WN_OK) rc = spec_grids(&L, P, err);
    gdImagePtr im = NULL;
    if (rc == WN_OK) {
        spec_scale(&L, P);
        if (!(im = spec_draw(&L, P)))
            rc = wn__err(err, WN_ERR_NOMEM, "%s: out of memory for a %dx%d image", png_path,
                         L.IW, L.IH);
    }
    for (int i = 0; i < count; i++) free(P[i].grid);
    return rc == WN_OK ? write_image(im, png_path, err) : rc;
}

int wn_spectrogram_png(const float *x, size_t n, int rate, const char *png_path,
                       const wn_spectrogram_params *pp, wn_error *err)
{
    if (!x || !png_path) return wn__err(err, WN_ERR_ARG, "wn_spectrogram_png: NULL argument");
    if (n == 0) return wn__err(err, WN_ERR_AUDIO, "%s: no samples to plot", png_path);
    spec_panel P = {.x = x, .n = n};
    return spectrogram(&P, 1, rate, png_path, pp, err);
}

int wn_spectrogram_png_panels(const float *const *x, const size_t *n, const char *const *labels,
                              int count, int rate, const char *png_path,
                              const wn_spectrogram_params *pp, wn_error *err)
{
    if (!x || !n || !png_path)
        return wn__err(err, WN_ERR_ARG, "wn_spectrogram_png_panels: NULL argument");
    if (count < 1 || count > MAX_PANELS)
        return wn__err(err, WN_ERR_ARG, "%s: %d panels; an image holds 1 to %d", png_path, count,
                       MAX_PANELS);
    spec_panel P[MAX_PANELS];
    memset(P, 0, sizeof P);
    for (int i = 0; i < count; i++) {
        const char *lb = labels && labels[i] && *labels[i] ? labels[i] : NULL;
        P[i].x = x[i], P[i].n = n[i], P[i].label = lb;
        if (!x[i] || !n[i])
            return wn__err(err, x[i] ? WN_ERR_AUDIO : WN_ERR_ARG,
                           "%s: panel %d%s%s%s has no samples to plot", png_path, i + 1,
                           lb ? " ('" : "", lb ? lb : "", lb ? "')" : "");
    }
    return spectrogram(P, count, rate, png_path, pp, err);
}
