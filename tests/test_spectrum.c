/* test_spectrum.c - STFT properties (sine peak and level, impulse flatness,
 * linearity, framing) and the PNG image (signature, size, frequency axis),
 * several panels on one colour scale, plus `wavenet spectrogram` end to end
 * when the command is built. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <gd.h>
#include <math.h>
#include <sndfile.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int checks;
#define C(cond) do { checks++; CHECK(cond); } while (0)
#define CF(cond, ...) do { checks++; CHECKF(cond, __VA_ARGS__); } while (0)

static float *stft(const float *x, size_t n, int fft, int hop, size_t *frames)
{
    wn_error err;
    *frames = wn_stft_frames(n, hop);
    float *mag = malloc(*frames * (size_t)(fft / 2 + 1) * sizeof *mag);
    REQUIRE(mag);
    REQUIRE_OK(wn_stft_magnitude(x, n, fft, hop, mag, &err), &err);
    return mag;
}

static void test_sine(void)
{
    enum { N = 4096, FFT = 256, HOP = 64, NB = FFT / 2 + 1 };
    static float x[N];
    /* on a bin (k = 32 -> 1000 Hz at 8 kHz) and between bins (k = 80.3) */
    const double ks[2] = {32, 80.3};
    for (int c = 0; c < 2; c++) {
        for (int i = 0; i < N; i++) x[i] = 0.5f * (float)sin(2 * M_PI * ks[c] * i / FFT + 0.3);
        size_t frames;
        float *m = stft(x, N, FFT, HOP, &frames);
        C(frames == N / HOP + 1);
        int wrong = 0;
        double worst_level = 0, worst_leak = 0;
        /* frames wholly inside the signal */
        for (size_t f = FFT / 2 / HOP; f + FFT / 2 / HOP < frames; f++) {
            const float *r = m + f * NB;
            int arg = 0;
            for (int k = 1; k < NB; k++)
                if (r[k] > r[arg]) arg = k;
            wrong += arg != (int)lround(ks[c]);
            if (c == 0) {
                /* amplitude 0.5 reads 0.5; Hann's neighbours read half;
                 * the rest is leakage of a float FFT */
                double e = fabs(r[32] - 0.5);
                if (e > worst_level) worst_level = e;
                e = fabs(r[31] - 0.25) + fabs(r[33] - 0.25);
                if (e > worst_level) worst_level = e;
                for (int k = 0; k < NB; k++)
                    if (abs(k - 32) > 1 && r[k] > worst_leak) worst_leak = r[k];
            }
        }
        CF(wrong == 0, "sine at bin %.1f: %d frames peak elsewhere", ks[c], wrong);
        if (c == 0) {
            CF(worst_level < 1e-4, "sine level error %g", worst_level);
            CF(worst_leak < 1e-5, "leakage %g beyond the Hann main lobe", worst_leak);
            printf("  sine at bin 32: level error %.2g, leakage %.2g (%.0f dB)\n", worst_level,
                   worst_leak, 20 * log10(worst_leak / 0.5 + 1e-30));
        }
        free(m);
    }
}

static void test_impulse(void)
{
    enum { N = 2048, FFT = 512, HOP = 128, NB = FFT / 2 + 1 };
    static float x[N];
    x[1000] = 1.0f;
    size_t frames;
    float *m = stft(x, N, FFT, HOP, &frames);
    /* frame 8 is centred on sample 1024: the impulse sits at window index
     * 1000 - 1024 + 256 = 232 */
    const float *r = m + 8 * NB;
    float lo = r[0], hi = r[0];
    for (int k = 0; k < NB; k++) {
        if (r[k] < lo) lo = r[k];
        if (r[k] > hi) hi = r[k];
    }
    double w = 0.5 - 0.5 * cos(2 * M_PI * 232 / FFT);
    double expect = w * 2.0 / (FFT / 2.0); /* window value x 2/sum(window) */
    CF((hi - lo) / hi < 1e-5, "impulse spectrum not flat: %g..%g", lo, hi);
    CF(fabs(hi - expect) / expect < 1e-5, "impulse level %g, expected %g", hi, expect);
    /* a frame that does not reach the impulse is all zero */
    C(m[0] == 0 && m[(size_t)NB * 15 + 7] == 0);
    printf("  impulse: |X| in [%.8f, %.8f], expected %.8f\n", lo, hi, expect);
    free(m);
}

static void test_linearity(void)
{
    enum { N = 3000, FFT = 256, HOP = 50, NB = FFT / 2 + 1 };
    static float x[N], y[N];
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.4f;
        y[i] = 2 * x[i];
    }
    size_t frames;
    float *a = stft(x, N, FFT, HOP, &frames);
    float *b = stft(y, N, FFT, HOP, &frames);
    double worst = 0;
    for (size_t i = 0; i < frames * NB; i++) {
        if (a[i] < 1e-6f) continue;
        double db = 20 * log10((double)b[i] / a[i]);
        if (fabs(db - 20 * log10(2.0)) > worst) worst = fabs(db - 20 * log10(2.0));
    }
    CF(worst < 1e-4, "2x input is not +6.02 dB: worst error %g dB", worst);
    printf("  linearity: 2x input -> +6.0206 dB within %.2g dB\n", worst);
    free(a);
    free(b);

    /* zero-padded edges, odd lengths, hop larger than the frame */
    C(wn_stft_frames(0, 64) == 1 && wn_stft_frames(64, 64) == 2 && wn_stft_frames(10, 0) == 0);
    float one = 0.25f, m[5 * 9];
    wn_error err;
    REQUIRE_OK(wn_stft_magnitude(&one, 1, 16, 100, m, &err), &err);
    C(fabsf(m[0] - 0.25f * 2 / 8) < 1e-7f); /* centre of the window is 1 */
    C(wn_stft_magnitude(x, N, 255, 64, m, &err) == WN_ERR_ARG);
    C(wn_stft_magnitude(x, N, 4, 64, m, &err) == WN_ERR_ARG);
    C(wn_stft_magnitude(x, N, 256, 0, m, &err) == WN_ERR_ARG && err.message[0]);
}

static int png_size(const char *path, int *w, int *h, gdImagePtr *keep)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    unsigned char sig[8];
    int ok = fread(sig, 1, 8, f) == 8 && memcmp(sig, "\x89PNG\r\n\x1a\n", 8) == 0;
    rewind(f);
    gdImagePtr im = ok ? gdImageCreateFromPng(f) : NULL;
    fclose(f);
    if (!im) return -1;
    *w = gdImageSX(im);
    *h = gdImageSY(im);
    if (keep) *keep = im;
    else gdImageDestroy(im);
    return 0;
}

/* The brightest pixel's row in column x (the top of the colour map is the
 * brightest colour). */
static int brightest_row(gdImagePtr im, int x)
{
    int best = -1, row = -1;
    for (int y = 0; y < gdImageSY(im); y++) {
        int c = gdImageGetTrueColorPixel(im, x, y);
        int v = gdTrueColorGetRed(c) + gdTrueColorGetGreen(c) + gdTrueColorGetBlue(c);
        /* skip the white background and black lines */
        if (v == 3 * 255 || v == 0) continue;
        if (v > best) best = v, row = y;
    }
    return row;
}

static int no_temporaries(void)
{
    DIR *d = opendir(tu_tmpdir());
    REQUIRE(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n == 0;
}

static void test_png(void)
{
    wn_error err;
    enum { RATE = 8000, N = RATE * 2 };
    static float x[N];
    wn_spectrogram_params p = wn_spectrogram_default_params();
    C(p.fft == 0 && p.hop == 0 && p.range_db == 80 && p.title == NULL);
    C(wn_spectrogram_auto_fft(8000) == 256 && wn_spectrogram_auto_fft(16000) == 512 &&
      wn_spectrogram_auto_fft(44100) == 1024 && wn_spectrogram_auto_fft(48000) == 2048);
    p.width = 800;
    p.height = 400;
    p.title = "test tone";
    int rows[3];
    gdImagePtr im = NULL;
    for (int t = 0; t < 3; t++) {
        double freq = 1000.0 * (t + 1);
        for (int i = 0; i < N; i++)
            x[i] = 0.5f * (float)sin(2 * M_PI * freq * i / RATE) + 1e-4f * (float)((i * 7919) % 13 - 6);
        char name[32];
        snprintf(name, sizeof name, "tone%d.png", t);
        const char *path = tu_path(name);
        REQUIRE_OK(wn_spectrogram_png(x, N, RATE, path, &p, &err), &err);
        int w = 0, h = 0;
        C(png_size(path, &w, &h, &im) == 0);
        CF(w == 800 && h == 400, "image %dx%d, expected 800x400", w, h);
        rows[t] = im ? brightest_row(im, w / 2) : -1;
        if (im) gdImageDestroy(im);
        im = NULL;
    }
    /* 1, 2, 3 kHz: rising up the image, evenly spaced (linear axis) */
    CF(rows[0] > rows[1] && rows[1] > rows[2], "tone rows %d %d %d", rows[0], rows[1], rows[2]);
    int d1 = rows[0] - rows[1], d2 = rows[1] - rows[2];
    CF(d1 > 40 && abs(d1 - d2) <= 2, "1/2/3 kHz rows %d %d %d are not evenly spaced", rows[0],
       rows[1], rows[2]);
    printf("  png 800x400: 1/2/3 kHz peaks at rows %d/%d/%d\n", rows[0], rows[1], rows[2]);

    /* defaults: auto size, a longer signal pooled into at most 1600 columns */
    static float y[RATE * 30];
    for (int i = 0; i < RATE * 30; i++) y[i] = 0.3f * (float)sin(0.3 * i) * (i % 8000 < 4000);
    const char *path = tu_path("auto.png");
    REQUIRE_OK(wn_spectrogram_png(y, RATE * 30, RATE, path, NULL, &err), &err);
    int w = 0, h = 0;
    C(png_size(path, &w, &h, NULL) == 0);
    CF(w > 1600 && w < 1800 && h > 256 && h < 400, "auto size %dx%d", w, h);
    printf("  png defaults, 30 s at 8 kHz: %dx%d\n", w, h);
    /* a short clip at 44.1 kHz */
    REQUIRE_OK(wn_spectrogram_png(y, 4410, 44100, path, NULL, &err), &err);
    C(png_size(path, &w, &h, NULL) == 0 && w > 400 && h > 513);
    /* silence is drawn, not refused */
    memset(y, 0, 1000 * sizeof *y);
    REQUIRE_OK(wn_spectrogram_png(y, 1000, RATE, path, NULL, &err), &err);
    C(no_temporaries());

    /* the name's extension picks the image format (libgd encodes each) */
    const char *ext[] = {"jpg", "JPEG", "gif", "webp", "bmp", "png", "unknown"};
    const char *magic[] = {"\xff\xd8\xff", "\xff\xd8\xff", "GIF8", "RIFF", "BM", "\x89PNG",
                           "\x89PNG"};
    for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
        char name[32];
        unsigned char head[16] = {0};
        snprintf(name, sizeof name, "kind.%s", ext[i]);
        REQUIRE_OK(wn_spectrogram_png(y, 1000, RATE, tu_path(name), NULL, &err), &err);
        FILE *f = fopen(tu_path(name), "rb");
        REQUIRE(f);
        const size_t got = fread(head, 1, sizeof head, f);
        fclose(f);
        CF(got == sizeof head && !memcmp(head, magic[i], strlen(magic[i])) &&
           (strcmp(ext[i], "webp") || !memcmp(head + 8, "WEBP", 4)),
           "%s starts %02x %02x %02x %02x", name, head[0], head[1], head[2], head[3]);
    }

    /* errors */
    C(wn_spectrogram_png(y, 0, RATE, path, NULL, &err) == WN_ERR_AUDIO && err.message[0]);
    p = wn_spectrogram_default_params();
    p.width = 50;
    C(wn_spectrogram_png(y, 1000, RATE, path, &p, &err) == WN_ERR_ARG);
    p = wn_spectrogram_default_params();
    p.range_db = 0;
    C(wn_spectrogram_png(y, 1000, RATE, path, &p, &err) == WN_ERR_ARG);
    p = wn_spectrogram_default_params();
    p.fft = 7;
    C(wn_spectrogram_png(y, 1000, RATE, path, &p, &err) == WN_ERR_ARG);
    int rc = wn_spectrogram_png(y, 1000, RATE, tu_path("no/such/dir/x.png"), NULL, &err);
    CF(rc == WN_ERR_IO && strstr(err.message, "x.png"), "missing folder: %d %s", rc,
       err.message);
    C(no_temporaries());
}

/* wn_mel_filters and wn_logmel against torchaudio (tests/mel_reference.py
 * wrote the fixture: filters in float64, log-mel from a float64 STFT) */
static void test_mel_reference(void)
{
    wn_error err;
    wn_mel_params d = wn_mel_default_params();
    C(d.mels == 80 && d.fft == 0 && d.hop == 0 && d.fmin == 0 && d.fmax == 0 &&
      d.scale == WN_MEL_SLANEY && d.area_norm == 1 && d.floor == 1e-10f);
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/fixtures/mel_ref.safetensors", tu_srcdir());
    fx_file f;
    fx_open(&f, path);
    size_t n = 0;
    float *x = fx_get(&f, "signal", "F32", 0, &n);
    char cases[256], key[96];
    snprintf(cases, sizeof cases, "%s", fx_meta(&f, "cases"));
    int ncases = 0, nlog = 0;
    for (char *sv = NULL, *c = strtok_r(cases, ",", &sv); c; c = strtok_r(NULL, ",", &sv)) {
#define META(k) (snprintf(key, sizeof key, "%s." k, c), fx_meta(&f, key))
        const int rate = atoi(META("rate"));
        wn_mel_params p = wn_mel_default_params();
        p.fft = atoi(META("fft"));
        p.hop = atoi(META("hop"));
        p.mels = atoi(META("mels"));
        p.fmin = atof(META("fmin"));
        p.fmax = atof(META("fmax"));
        p.scale = !strcmp(META("scale"), "htk") ? WN_MEL_HTK : WN_MEL_SLANEY;
        p.area_norm = !strcmp(META("norm"), "slaney");
#undef META
        const size_t nb = (size_t)p.fft / 2 + 1, M = (size_t)p.mels;
        snprintf(key, sizeof key, "fb.%s", c);
        float *ref = fx_get(&f, key, "F32", M * nb, NULL);
        float *fb = malloc(M * nb * sizeof *fb);
        REQUIRE(fb);
        REQUIRE_OK(wn_mel_filters(rate, &p, fb, &err), &err);
        double peak = 0, worst = 0;
        for (size_t i = 0; i < M * nb; i++) {
            peak = fmax(peak, fabs(ref[i]));
            worst = fmax(worst, fabs(fb[i] - ref[i]));
        }
        CF(worst <= 1e-6 * peak, "%s: filters differ from torchaudio's by %.3g (peak %.3g)", c,
           worst, peak);
        printf("  mel %-12s %2zu bands of %3zu bins at %5d Hz: filters within %.1e of the peak",
               c, M, nb, rate, worst / peak);
        snprintf(key, sizeof key, "logmel.%s", c);
        if (fx_has(&f, key)) {
            const size_t frames = wn_stft_frames(n, p.hop);
            float *lr = fx_get(&f, key, "F32", frames * M, NULL);
            float *lm = malloc(frames * M * sizeof *lm);
            REQUIRE(lm);
            REQUIRE_OK(wn_logmel(x, n, rate, &p, lm, &err), &err);
            /* in power: each band to 1e-4 of itself, or 1e-6 of its frame's
             * strongest band (float32 FFT rounding) */
            double wr = 0;
            for (size_t t = 0; t < frames; t++) {
                double top = 0;
                for (size_t m = 0; m < M; m++) top = fmax(top, exp(lr[t * M + m]));
                for (size_t m = 0; m < M; m++) {
                    const double a = exp(lm[t * M + m]), b = exp(lr[t * M + m]);
                    wr = fmax(wr, fabs(a - b) / (1e-4 * b + 1e-6 * top));
                }
            }
            CF(wr <= 1, "%s: log-mel differs from torchaudio's by %.3g of the tolerance", c, wr);
            printf(", log-mel of %zu frames within %.2f of the tolerance", frames, wr);
            free(lm);
            free(lr);
            nlog++;
        }
        printf("\n");
        free(fb);
        free(ref);
        ncases++;
    }
    C(ncases >= 5 && nlog >= 3);
    free(x);
    fx_close(&f);

    /* refused: each one line naming what */
    wn_mel_params p = wn_mel_default_params();
    float fb1[129 * 80];
    p.mels = 0;
    C(wn_mel_filters(8000, &p, fb1, &err) == WN_ERR_ARG && strstr(err.message, "mel bands"));
    p = wn_mel_default_params();
    p.fmax = 5000;
    C(wn_mel_filters(8000, &p, fb1, &err) == WN_ERR_ARG && strstr(err.message, "fmax"));
    p.fmin = 3000, p.fmax = 2000;
    C(wn_mel_filters(8000, &p, fb1, &err) == WN_ERR_ARG);
    /* wn_mel_check answers as the filters do, before any work */
    C(wn_mel_check(8000, &p, &err) == WN_ERR_ARG && strstr(err.message, "got 3000..2000"));
    p.fmin = 0, p.fmax = 5000;
    C(wn_mel_check(8000, &p, &err) == WN_ERR_ARG && wn_mel_check(16000, &p, &err) == WN_OK);
    C(wn_mel_check(8000, NULL, &err) == WN_OK);
    p = wn_mel_default_params();
    p.fft = 255;
    C(wn_mel_filters(8000, &p, fb1, &err) == WN_ERR_ARG && strstr(err.message, "fft"));
    p = wn_mel_default_params();
    p.floor = 0;
    float one = 0;
    C(wn_logmel(&one, 1, 8000, &p, fb1, &err) == WN_ERR_ARG);
    C(wn_logmel(NULL, 1, 8000, NULL, fb1, &err) == WN_ERR_ARG);
    /* silence: every band at the floor */
    float z[512] = {0};
    REQUIRE_OK(wn_logmel(z, 512, 8000, NULL, fb1, &err), &err);
    int floored = 1;
    for (size_t i = 0; i < wn_stft_frames(512, 64) * 80; i++)
        floored &= fb1[i] == logf(1e-10f);
    C(floored);
}

/* tones in a mel image: rows follow Slaney's scale (linear to 1 kHz,
 * logarithmic above), not the linear axis */
static void test_mel_png(void)
{
    wn_error err;
    enum { RATE = 8000, N = RATE };
    static float x[N];
    wn_spectrogram_params p = wn_spectrogram_default_params();
    p.width = 600;
    p.height = 500;
    p.mels = 80;
    const double freq[3] = {500, 1000, 2000};
    int rows[3];
    for (int t = 0; t < 3; t++) {
        for (int i = 0; i < N; i++) x[i] = 0.5f * (float)sin(2 * M_PI * freq[t] * i / RATE);
        const char *path = tu_path("mel.png");
        REQUIRE_OK(wn_spectrogram_png(x, N, RATE, path, &p, &err), &err);
        gdImagePtr im = NULL;
        int w = 0, h = 0;
        C(png_size(path, &w, &h, &im) == 0 && w == 600 && h == 500);
        rows[t] = im ? brightest_row(im, w / 2) : -1;
        if (im) gdImageDestroy(im);
    }
    /* Slaney: 500 -> 1000 Hz is 7.5 mels, 1000 -> 2000 Hz 27 ln 2 / ln 6.4
     * = 10.06: a ratio of 1.34 (a linear axis gives 2, HTK's 1.53); each
     * tone's row is its brightest band's, a band being ~5 pixels here */
    const double d1 = rows[0] - rows[1], d2 = rows[1] - rows[2], ratio = d2 / d1;
    CF(d1 > 20 && ratio > 1.2 && ratio < 1.44, "mel rows %d %d %d: ratio %.3f", rows[0], rows[1],
       rows[2], ratio);
    printf("  mel png: 0.5/1/2 kHz at rows %d/%d/%d (spacing ratio %.3f, Slaney 1.341)\n",
           rows[0], rows[1], rows[2], ratio);
    p.fmin = 100;
    p.fmax = 3000;
    REQUIRE_OK(wn_spectrogram_png(x, N, RATE, tu_path("mel.png"), &p, &err), &err);
    p.fmax = 4500;
    C(wn_spectrogram_png(x, N, RATE, tu_path("mel.png"), &p, &err) == WN_ERR_ARG);
    p.mels = 0, p.fmax = 3000;
    C(wn_spectrogram_png(x, N, RATE, tu_path("mel.png"), &p, &err) == WN_ERR_ARG &&
      strstr(err.message, "mel"));
    C(no_temporaries());
}

/* Spans of plot columns on row y: runs of coloured pixels (neither white
 * background nor black frame) wider than `min` (the colour bar is not) */
static int plot_spans(gdImagePtr im, int y, int min, int *x0, int *x1, int max)
{
    int k = 0, start = -1;
    for (int x = 0; x <= gdImageSX(im); x++) {
        int c = x < gdImageSX(im) ? gdImageGetTrueColorPixel(im, x, y) : 0;
        int coloured = c != 0 && c != gdTrueColor(255, 255, 255);
        if (coloured && start < 0) start = x;
        if (!coloured && start >= 0) {
            if (x - start > min && k < max) x0[k] = start, x1[k++] = x - 1;
            start = -1;
        }
    }
    return k;
}

/* the first two black pixels' rows in column x with colour between them:
 * the plot frame's top and bottom lines */
static void frame_rows(gdImagePtr im, int x, int *top, int *bottom)
{
    *top = *bottom = -1;
    for (int y = 0; y < gdImageSY(im); y++) {
        if (gdImageGetTrueColorPixel(im, x, y) != 0) continue;
        if (*top < 0) *top = y;
        else if (y > *top + 1) {
            *bottom = y;
            return;
        }
    }
}

/* r + g + b at (x, y) */
static int lightness(gdImagePtr im, int x, int y)
{
    int c = gdImageGetTrueColorPixel(im, x, y);
    return gdTrueColorGetRed(c) + gdTrueColorGetGreen(c) + gdTrueColorGetBlue(c);
}

static int same_bytes(const char *a, const char *b)
{
    FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
    int ok = f && g, c, d;
    while (ok && (c = fgetc(f)) == (d = fgetc(g)) && c != EOF) {}
    ok = ok && c == EOF && d == EOF;
    if (f) fclose(f);
    if (g) fclose(g);
    return ok;
}

/* Two tones side by side: 500 Hz, and 2 kHz 20 dB quieter. One colour
 * scale, so the quieter panel is darker; each its own rows. */
static void test_panels(void)
{
    wn_error err;
    enum { RATE = 8000, N = RATE, FFT = 256, NB = FFT / 2 + 1 };
    static float a[N], b[N];
    for (int i = 0; i < N; i++) {
        a[i] = 0.5f * (float)sin(2 * M_PI * 500 * i / RATE);
        b[i] = 0.05f * (float)sin(2 * M_PI * 2000 * i / RATE);
    }
    const float *x[2] = {a, b};
    const size_t n[2] = {N, N};
    const char *one = tu_path("panel1.png"), *two = tu_path("panels2.png");
    REQUIRE_OK(wn_spectrogram_png(b, N, RATE, one, NULL, &err), &err);
    REQUIRE_OK(wn_spectrogram_png_panels(x, n, NULL, 2, RATE, two, NULL, &err), &err);
    gdImagePtr im1 = NULL, im2 = NULL;
    int w1 = 0, h1 = 0, w2 = 0, h2 = 0;
    REQUIRE(png_size(one, &w1, &h1, &im1) == 0 && png_size(two, &w2, &h2, &im2) == 0);
    /* each panel as wide as the one image's plot: 400 columns at least */
    CF(w2 >= w1 + 400 && h2 == h1, "two panels %dx%d, one %dx%d", w2, h2, w1, h1);
    int x0[4], x1[4], top, bottom;
    const int k = plot_spans(im2, h2 / 2, 50, x0, x1, 4);
    REQUIRE(k == 2);
    C(x1[0] - x0[0] == x1[1] - x0[1] && x0[1] > x1[0]);
    frame_rows(im2, (x0[0] + x1[0]) / 2, &top, &bottom);
    REQUIRE(top > 0 && bottom > top + 100);
    const double freq[2] = {500, 2000};
    int peak[2];
    for (int p = 0; p < 2; p++) {
        /* bin k spans plot rows [k, k+1) of NB from the bottom */
        const int H = bottom - top - 1, cx = (x0[p] + x1[p]) / 2;
        const double bin = freq[p] * FFT / RATE;
        const int want = bottom - (int)lround((bin + 0.5) / NB * H), got = brightest_row(im2, cx);
        CF(abs(got - want) <= 2, "panel %d: %.0f Hz at row %d, expected %d", p + 1, freq[p], got,
           want);
        peak[p] = got >= 0 ? lightness(im2, cx, got) : 0;
    }
    /* alone, the quiet tone is drawn at the top of the scale; beside the
     * loud one, 20 of 80 dB lower (the map at 0.75: 249+140+10 against
     * 252+255+164) */
    const int alone = lightness(im1, w1 / 2, brightest_row(im1, w1 / 2));
    CF(peak[0] >= 650 && alone >= 650 && abs(peak[1] - 399) <= 30,
       "peak lightness: loud %d, quiet %d beside it, %d alone", peak[0], peak[1], alone);
    printf("  panels: %dx%d against %dx%d; peaks at lightness %d and %d (alone %d)\n", w2, h2,
           w1, h1, peak[0], peak[1], alone);
    gdImageDestroy(im1);
    gdImageDestroy(im2);

    /* one input: wn_spectrogram_png's bytes, with mel bands and a title too */
    wn_spectrogram_params p = wn_spectrogram_default_params();
    const char *none[1] = {NULL};
    for (int t = 0; t < 2; t++) {
        if (t) p.mels = 40, p.title = "one panel", p.width = 700;
        REQUIRE_OK(wn_spectrogram_png(a, N, RATE, one, &p, &err), &err);
        REQUIRE_OK(wn_spectrogram_png_panels(x, n, t ? none : NULL, 1, RATE, two, &p, &err),
                   &err);
        CF(same_bytes(one, two), "one panel (%s) differs from wn_spectrogram_png's image",
           t ? "mel, title, width" : "defaults");
    }
    /* the width given is the whole image's; labels add a row above */
    const char *labels[2] = {"loud", "quiet"};
    p = wn_spectrogram_default_params();
    p.width = 1000;
    REQUIRE_OK(wn_spectrogram_png_panels(x, n, labels, 2, RATE, two, &p, &err), &err);
    C(png_size(two, &w2, &h2, NULL) == 0 && w2 == 1000 && h2 > h1);

    /* errors */
    C(wn_spectrogram_png_panels(x, n, NULL, 0, RATE, two, NULL, &err) == WN_ERR_ARG);
    C(wn_spectrogram_png_panels(x, n, NULL, 17, RATE, two, NULL, &err) == WN_ERR_ARG &&
      strstr(err.message, "17"));
    const size_t empty[2] = {N, 0};
    int rc = wn_spectrogram_png_panels(x, empty, labels, 2, RATE, two, NULL, &err);
    CF(rc == WN_ERR_AUDIO && strstr(err.message, "panel 2") && strstr(err.message, "quiet"),
       "an empty panel: %d '%s'", rc, err.message);
    const float *nul[2] = {a, NULL};
    C(wn_spectrogram_png_panels(nul, n, NULL, 2, RATE, two, NULL, &err) == WN_ERR_ARG &&
      strstr(err.message, "panel 2"));
    C(wn_spectrogram_png_panels(x, n, NULL, 2, 0, two, NULL, &err) == WN_ERR_ARG);
    p.width = 200; /* too narrow for two plots of 16 pixels and the margins */
    C(wn_spectrogram_png_panels(x, n, NULL, 2, RATE, two, &p, &err) == WN_ERR_ARG);
    C(no_temporaries());
}

static void test_cli(void)
{
    const char *exe = tu_wavenet();
    if (access(exe, X_OK) != 0) {
        printf("  (no %s: command not tested)\n", exe);
        return;
    }
    /* a 16 kHz stereo WAV */
    enum { N = 16000 };
    static float s[2 * N];
    for (int i = 0; i < N; i++) {
        s[2 * i] = 0.4f * (float)sin(2 * M_PI * 1500.0 * i / 16000);
        s[2 * i + 1] = 0.4f * (float)sin(2 * M_PI * 5000.0 * i / 16000);
    }
    const char *in = tu_path("cli.wav");
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = 16000;
    si.channels = 2;
    si.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *sf = sf_open(in, SFM_WRITE, &si);
    REQUIRE(sf);
    REQUIRE(sf_writef_float(sf, s, N) == N);
    sf_close(sf);

    char cmd[2048], out[4096];
    const char *png = tu_path("cli.png");
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --fft 512 --hop 100 --range 90 "
             "--title hello --width 900 --height 500 2>&1", exe, in, png);
    int st = tu_run(cmd, out, sizeof out);
    CF(st == 0, "spectrogram: exit %d: %s", st, out);
    CF(strstr(out, "mixed 2 channels") != NULL, "no mixdown note in '%s'", out);
    int w = 0, h = 0;
    C(png_size(png, &w, &h, NULL) == 0 && w == 900 && h == 500);

    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --rate 8000 2>&1", exe, in, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 0 && strstr(out, "resampled from 16000 Hz to 8000 Hz"), "--rate: %d %s", st, out);

    snprintf(cmd, sizeof cmd, "'%s' spectrogram --help 2>/dev/null", exe);
    st = tu_run(cmd, out, sizeof out);
    C(st == 0 && strstr(out, "usage: wavenet spectrogram"));

    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --bogus 2>&1", exe, in, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 2 && strstr(out, "--bogus") && strchr(out, '\n') == out + strlen(out) - 1,
       "unknown flag: exit %d, '%s'", st, out);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --fft 511 2>&1", exe, in, png);
    C(tu_run(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' 2>&1", exe, in);
    C(tu_run(cmd, out, sizeof out) == 2);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' 2>&1", exe, tu_tmpdir(), png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 1 && strstr(out, "directory"), "directory input: exit %d, '%s'", st, out);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --mel 40 --fmin 100 --fmax 6000 "
             "2>&1", exe, in, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 0 && strstr(out, "40 mel bands from 100 to 6000 Hz"), "--mel: %d %s", st, out);
    C(png_size(png, &w, &h, NULL) == 0);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --fmin 100 2>&1", exe, in, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 2 && strstr(out, "--mel"), "--fmin without --mel: exit %d, '%s'", st, out);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --mel 40 --fmax 9000 2>&1", exe, in,
             png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 2 && strstr(out, "wavenet: spectrogram: --mel/--fmin/--fmax: mel range must be 0 <= "
                         "fmin < fmax <= 8000 Hz (half the rate), got 0..9000"),
       "--fmax above Nyquist: exit %d, '%s'", st, out);
    /* several inputs: one rate (or --rate), labels one per input */
    static float m[8000];
    for (int i = 0; i < 8000; i++) m[i] = 0.3f * (float)sin(2 * M_PI * 700.0 * i / 8000);
    const char *in8 = tu_path("cli8.wav");
    si.samplerate = 8000;
    si.channels = 1;
    REQUIRE((sf = sf_open(in8, SFM_WRITE, &si)));
    REQUIRE(sf_writef_float(sf, m, 8000) == 8000);
    sf_close(sf);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' '%s' -o '%s' 2>&1", exe, in8, in, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 2 && strstr(out, "16000 Hz") && strstr(out, "8000 Hz") && strstr(out, "--rate") &&
       strchr(out, '\n') == out + strlen(out) - 1, "mismatched rates: exit %d, '%s'", st, out);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' '%s' -o '%s' --rate 8000 --label a "
             "--label b 2>&1", exe, in, in8, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 0 && strstr(out, "2 panels"), "two inputs at --rate 8000: exit %d, '%s'", st, out);
    int w2 = 0, h2 = 0;
    C(png_size(png, &w2, &h2, NULL) == 0 && w2 > 800);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o '%s' --label a --label b 2>&1", exe,
             in8, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 2 && strstr(out, "--label") && strchr(out, '\n') == out + strlen(out) - 1,
       "two labels for one input: exit %d, '%s'", st, out);
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' '%s' -o '%s' --label a 2>&1", exe, in8,
             in8, png);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 2 && strstr(out, "--label"), "one label for two inputs: exit %d, '%s'", st, out);
    /* -o -: the image on stdout */
    snprintf(cmd, sizeof cmd, "'%s' spectrogram '%s' -o - 2>/dev/null | head -c 8 | od -An -tx1",
             exe, in);
    st = tu_run(cmd, out, sizeof out);
    CF(st == 0 && strstr(out, "89 50 4e 47 0d 0a 1a 0a"), "-o -: %d '%s'", st, out);
    printf("  command: ok (%s)\n", exe);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_sine();
    test_impulse();
    test_linearity();
    test_png();
    test_mel_reference();
    test_mel_png();
    test_panels();
    test_cli();
    return tu_finish("spectrum", checks);
}
