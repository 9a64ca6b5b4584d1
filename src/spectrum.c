/* spectrum.c - FFTW short-time Fourier transform and log-mel features
 * (spectrogram.c draws them as images).
 *
 * One real-to-complex plan per call, made under a lock (the FFTW planner is
 * not thread-safe) before any buffer is filled; threads share it through the
 * new-array execute function, each with its own fftwf_malloc'ed buffers.
 * FFTW_ESTIMATE: a spectrogram runs a few thousand small transforms, which
 * FFTW_MEASURE's planning time would not pay back, and ESTIMATE leaves the
 * buffers alone and gives the same plan every run. */
#define _POSIX_C_SOURCE 200809L
#include "spectrum.h"

#include <errno.h>
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define MIN_FFT 8
#define MAX_FFT 65536

static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;


static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int wn__spec_thread(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

void wn__stft_free(stft *s)
{
    if (s->plan) {
        pthread_mutex_lock(&planner_lock);
        fftwf_destroy_plan(s->plan);
        pthread_mutex_unlock(&planner_lock);
    }
    for (int t = 0; t < s->threads; t++) {
        if (s->in) fftwf_free(s->in[t]);
        if (s->out) fftwf_free(s->out[t]);
        if (s->mag) fftwf_free(s->mag[t]);
    }
    free(s->in);
    free(s->out);
    free(s->mag);
    fftwf_free(s->win);
    memset(s, 0, sizeof *s);
}

int wn__stft_check(int fft, int hop, wn_error *err)
{
    if (fft < MIN_FFT || fft > MAX_FFT || fft % 2)
        return wn__err(err, WN_ERR_ARG, "fft size must be even and %d..%d, got %d", MIN_FFT,
                       MAX_FFT, fft);
    if (hop < 1) return wn__err(err, WN_ERR_ARG, "hop must be at least 1, got %d", hop);
    return WN_OK;
}

int wn__stft_init(stft *s, int fft, int hop, wn_error *err)
{
    memset(s, 0, sizeof *s);
    s->fft = fft;
    s->hop = hop;
    s->nb = fft / 2 + 1;
    s->threads = max_threads();
    if (s->threads < 1) s->threads = 1;
    s->win = fftwf_malloc((size_t)fft * sizeof *s->win);
    s->in = calloc((size_t)s->threads, sizeof *s->in);
    s->out = calloc((size_t)s->threads, sizeof *s->out);
    s->mag = calloc((size_t)s->threads, sizeof *s->mag);
    if (!s->win || !s->in || !s->out || !s->mag) goto nomem;
    for (int t = 0; t < s->threads; t++) {
        s->in[t] = fftwf_malloc((size_t)fft * sizeof(float));
        s->out[t] = fftwf_malloc((size_t)s->nb * sizeof(fftwf_complex));
        s->mag[t] = fftwf_malloc((size_t)s->nb * sizeof(float));
        if (!s->in[t] || !s->out[t] || !s->mag[t]) goto nomem;
    }
    pthread_mutex_lock(&planner_lock);
    s->plan = fftwf_plan_dft_r2c_1d(fft, s->in[0], s->out[0], FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!s->plan) {
        wn__stft_free(s);
        return wn__err(err, WN_ERR_NOMEM, "FFTW could not plan a %d-point transform", fft);
    }
    /* periodic Hann: overlap-adds to a constant at hop fft/4 */
    double sum = 0;
    for (int i = 0; i < fft; i++) {
        s->win[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / fft));
        sum += s->win[i];
    }
    s->norm = (float)(2.0 / sum);
    return WN_OK;
nomem:
    wn__stft_free(s);
    return wn__err(err, WN_ERR_NOMEM, "out of memory for a %d-point STFT", fft);
}

/* Magnitudes of frame f into mag (nb floats), using thread t's buffers. */
void wn__stft_frame(const stft *s, int t, const float *x, size_t n, size_t f, float *mag)
{
    float *in = s->in[t];
    fftwf_complex *out = s->out[t];
    /* first sample of the frame, centred on f*hop; may be before 0 */
    int64_t start = (int64_t)(f * (size_t)s->hop) - s->fft / 2;
    for (int i = 0; i < s->fft; i++) {
        int64_t j = start + i;
        in[i] = j >= 0 && (uint64_t)j < n ? x[j] * s->win[i] : 0.0f;
    }
    fftwf_execute_dft_r2c(s->plan, in, out);
    for (int k = 0; k < s->nb; k++)
        mag[k] = s->norm * sqrtf(out[k][0] * out[k][0] + out[k][1] * out[k][1]);
}

size_t wn_stft_frames(size_t n, int hop)
{
    return hop < 1 ? 0 : n / (size_t)hop + 1;
}

int wn_stft_magnitude(const float *x, size_t n, int fft, int hop, float *mag, wn_error *err)
{
    if ((!x && n) || !mag) return wn__err(err, WN_ERR_ARG, "wn_stft_magnitude: NULL argument");
    int rc = wn__stft_check(fft, hop, err);
    if (rc != WN_OK) return rc;
    stft s;
    if ((rc = wn__stft_init(&s, fft, hop, err)) != WN_OK) return rc;
    size_t frames = wn_stft_frames(n, hop);
    WN_OMP_FOR
    for (size_t f = 0; f < frames; f++)
        wn__stft_frame(&s, wn__spec_thread(), x, n, f, mag + f * (size_t)s.nb);
    wn__stft_free(&s);
    return WN_OK;
}

/* ------------------------------------------------------------ mel */

#define MAX_MELS 4096

wn_mel_params wn_mel_default_params(void)
{
    wn_mel_params p;
    memset(&p, 0, sizeof p);
    p.mels = 80;
    p.scale = WN_MEL_SLANEY;
    p.area_norm = 1;
    p.floor = 1e-10f;
    return p;
}

/* Slaney's scale: 3 mels per 200 Hz to 1 kHz (15 mels), then 27 mels per
 * factor 6.4; HTK's: 2595 log10(1 + f/700) */
double wn__hz_to_mel(double f, wn_mel_scale s)
{
    if (s == WN_MEL_HTK) return 2595.0 * log10(1.0 + f / 700.0);
    return f < 1000.0 ? f * 3.0 / 200.0 : 15.0 + log(f / 1000.0) * 27.0 / log(6.4);
}
static double mel_to_hz(double m, wn_mel_scale s)
{
    if (s == WN_MEL_HTK) return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
    return m < 15.0 ? m * 200.0 / 3.0 : 1000.0 * exp((m - 15.0) * log(6.4) / 27.0);
}

/* p with its automatic values filled in for `rate`, checked */
int wn__mel_resolve(int rate, const wn_mel_params *pp, wn_mel_params *p, wn_error *err)
{
    *p = pp ? *pp : wn_mel_default_params();
    if (rate < 1 || rate > (1 << 20))
        return wn__err(err, WN_ERR_ARG, "invalid sample rate %d Hz", rate);
    if (!p->fft) p->fft = wn_spectrogram_auto_fft(rate);
    if (!p->hop) p->hop = p->fft / 4 > 0 ? p->fft / 4 : 1;
    int rc = wn__stft_check(p->fft, p->hop, err);
    if (rc != WN_OK) return rc;
    const double nyq = rate / 2.0;
    if (!(p->fmax > 0)) p->fmax = nyq;
    if (p->mels < 1 || p->mels > MAX_MELS)
        return wn__err(err, WN_ERR_ARG, "mel bands must be 1..%d, got %d", MAX_MELS, p->mels);
    if (!(p->fmin >= 0 && p->fmin < p->fmax && p->fmax <= nyq))
        return wn__err(err, WN_ERR_ARG, "mel range must be 0 <= fmin < fmax <= %g Hz (half the "
                       "rate), got %g..%g", nyq, p->fmin, p->fmax);
    if (p->scale != WN_MEL_SLANEY && p->scale != WN_MEL_HTK)
        return wn__err(err, WN_ERR_ARG, "unknown mel scale %d", (int)p->scale);
    if (!(p->floor > 0)) return wn__err(err, WN_ERR_ARG, "the log floor must be above 0");
    return WN_OK;
}

int wn_mel_check(int rate, const wn_mel_params *p, wn_error *err)
{
    wn_mel_params q;
    return wn__mel_resolve(rate, p, &q, err);
}

/* the filters of a resolved p; computed in double, as the references */
static void mel_fill(int rate, const wn_mel_params *p, float *fb)
{
    const int M = p->mels, nb = p->fft / 2 + 1;
    const double m0 = wn__hz_to_mel(p->fmin, p->scale), m1 = wn__hz_to_mel(p->fmax, p->scale);
    for (int m = 0; m < M; m++) {
        double f[3]; /* the band's left edge, centre and right edge */
        for (int e = 0; e < 3; e++)
            f[e] = mel_to_hz(m0 + (m1 - m0) * (m + e) / (M + 1), p->scale);
        const double norm = p->area_norm ? 2.0 / (f[2] - f[0]) : 1.0;
        for (int k = 0; k < nb; k++) {
            const double hz = (double)k * rate / p->fft;
            const double up = (hz - f[0]) / (f[1] - f[0]), down = (f[2] - hz) / (f[2] - f[1]);
            const double w = up < down ? up : down;
            fb[(size_t)m * nb + k] = (float)(w > 0 ? w * norm : 0);
        }
    }
}

int wn_mel_filters(int rate, const wn_mel_params *pp, float *fb, wn_error *err)
{
    if (!fb) return wn__err(err, WN_ERR_ARG, "wn_mel_filters: NULL argument");
    wn_mel_params p;
    int rc = wn__mel_resolve(rate, pp, &p, err);
    if (rc != WN_OK) return rc;
    mel_fill(rate, &p, fb);
    return WN_OK;
}

/* out[m] = sum_k fb[m][k] mag[k]^2 over band m's nonzero bins [lo, hi) */
void wn__mel_apply(const float *fb, const int *lo, const int *hi, int M, int nb,
                   const float *mag, float *out)
{
    for (int m = 0; m < M; m++) {
        const float *w = fb + (size_t)m * nb;
        double acc = 0;
        for (int k = lo[m]; k < hi[m]; k++) acc += (double)w[k] * mag[k] * mag[k];
        out[m] = (float)acc;
    }
}

/* the filters of p and each band's span of nonzero bins (malloc'ed) */
int wn__mel_bank(int rate, const wn_mel_params *p, float **fb, int **lo, int **hi,
                 wn_error *err)
{
    const int M = p->mels, nb = p->fft / 2 + 1;
    *fb = malloc((size_t)M * nb * sizeof **fb);
    *lo = malloc((size_t)M * sizeof **lo);
    *hi = malloc((size_t)M * sizeof **hi);
    if (!*fb || !*lo || !*hi) {
        free(*fb), free(*lo), free(*hi);
        return wn__err(err, WN_ERR_NOMEM, "out of memory for %d mel filters", M);
    }
    mel_fill(rate, p, *fb);
    for (int m = 0; m < M; m++) {
        const float *w = *fb + (size_t)m * nb;
        int a = 0, b = nb;
        while (a < nb && w[a] == 0) a++;
        while (b > a && w[b - 1] == 0) b--;
        (*lo)[m] = a;
        (*hi)[m] = b;
    }
    return WN_OK;
}

int wn_logmel(const float *x, size_t n, int rate, const wn_mel_params *pp, float *out,
              wn_error *err)
{
    if ((!x && n) || !out) return wn__err(err, WN_ERR_ARG, "wn_logmel: NULL argument");
    wn_mel_params p;
    int rc = wn__mel_resolve(rate, pp, &p, err);
    if (rc != WN_OK) return rc;
    float *fb;
    int *lo, *hi;
    if ((rc = wn__mel_bank(rate, &p, &fb, &lo, &hi, err)) != WN_OK) return rc;
    stft s;
    if ((rc = wn__stft_init(&s, p.fft, p.hop, err)) != WN_OK) {
        free(fb), free(lo), free(hi);
        return rc;
    }
    const size_t frames = wn_stft_frames(n, p.hop);
    const int M = p.mels;
    const float floor_ = p.floor;
    WN_OMP_FOR
    for (size_t f = 0; f < frames; f++) {
        const int t = wn__spec_thread();
        float *row = out + f * (size_t)M;
        wn__stft_frame(&s, t, x, n, f, s.mag[t]);
        wn__mel_apply(fb, lo, hi, M, s.nb, s.mag[t], row);
        for (int m = 0; m < M; m++) row[m] = logf(row[m] > floor_ ? row[m] : floor_);
    }
    wn__stft_free(&s);
    free(fb), free(lo), free(hi);
    return WN_OK;
}
