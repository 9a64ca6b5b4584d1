/*
 * wavenet_signal.h - signal tools around the model: the reference baselines
 * (bits/sample of simple predictors), FFTW spectra, log-mel features and
 * spectrogram images, and a conditional model's feature recipe. Part of
 * the public API: <wavenet.h> includes it, so a program includes
 * <wavenet.h> alone; the conventions are wavenet.h's.
 */
#ifndef WAVENET_SIGNAL_H
#define WAVENET_SIGNAL_H

#include "wavenet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- baselines
 * Reference models for bits/sample (wavenet baseline): see src/baseline.c.
 * Each is fitted on training clips and scored on validation clips as the
 * base-2 NLL of the mu-law codes averaged over every validation sample
 * (whole clips; the past before a clip's first sample is silence, as in
 * wn_score_codes). Results, in this order:
 *   "uniform"         1/Q for every code (log2 Q bits)
 *   "histogram"       P(c), add-one smoothed code counts
 *   "bigram"          P(c | previous code), add-one smoothed
 *   "lpcN-fixed"      order-N least-squares linear predictor on the decoded
 *                     signal, residual = logistic of a fixed scale s
 *                     integrated over each mu-law bin (s fitted)
 *   "lpcN-adaptive"   the same with s = max(k * mean|e| over the previous
 *                     `window` residuals, s_min) (k and s_min fitted), its
 *                     coefficients refitted by least squares weighted with
 *                     1 / (mean|e|)^2 (lpc_reweight times)
 * The LPC models mix in a uniform floor (wn_baseline_logistic_probs), so
 * every code has probability >= prob_floor and the distribution sums to 1. */

#define WN_BASELINE_COUNT 5

typedef struct wn_baseline_params {
    int bins;           /* Q, mu-law classes, 2..65536 (256) */
    int order;          /* LPC order, 1..64 (16) */
    int window;         /* residuals averaged for the adaptive scale, 1..4096 (32) */
    double prob_floor;  /* LPC floor eps, 0 < eps*Q < 0.5 (1e-6) */
    double lpc_k;       /* adaptive scale factor k; 0 = fit on training (0) */
    int lpc_reweight;   /* adaptive model: weighted least-squares refits, 0..100;
                         * 0 = ordinary least squares (6) */
    double max_clipped; /* wn_baseline_run leaves out a training file with more
                         * than this fraction of its samples clipped, as the
                         * trainer does (wn_train_params.max_clipped): 0.01;
                         * 1 = keep every file */
    double rescale_above; /* a training file whose peak is above this is
                         * scaled to peak 1 first, as the trainer does
                         * (wn_train_params.rescale_above): WN_RESCALE_ABOVE
                         * (2); 0 = never. Validation files are scored as
                         * read, as `wavenet score` scores them. */
} wn_baseline_params;
WN_API wn_baseline_params wn_baseline_default_params(void);

/* One baseline's figures. Plain values, no pointers: nothing to free. */
typedef struct wn_baseline_result {
    char name[32];             /* "uniform", "histogram", ... (see above) */
    char fit[128];             /* fitted parameters in words ("" if none) */
    double bits_per_sample;    /* validation: nll_nats / ln 2 / samples */
    double nll_nats;           /* validation: -sum ln p(x_t | x_<t), nats */
    int64_t samples;           /* validation samples scored */
    double train_bits_per_sample; /* the same on the training clips */
    int train_clipped;         /* wn_baseline_run: training files left out as
                                  clipped (p->max_clipped) */
    int train_rescaled;        /* wn_baseline_run: training files scaled to
                                  peak 1 (p->rescale_above) */
} wn_baseline_result;

/* Fit on the training clips and score the validation clips, all given as
 * mu-law codes in [0, bins): train[i] holds train_len[i] codes. out must
 * have room for WN_BASELINE_COUNT results; *nout receives the number
 * written. p NULL = defaults. Deterministic; the inputs are not modified
 * and not kept. WN_ERR_ARG for no clips, no samples, codes out of range or
 * bad params. */
WN_API int wn_baseline_run_codes(const int *const *train, const size_t *train_len,
                                 int ntrain, const int *const *valid,
                                 const size_t *valid_len, int nvalid,
                                 const wn_baseline_params *p,
                                 wn_baseline_result *out, int *nout, wn_error *err);

/* The same from audio files, read with wn_audio_read (mono, resampled to
 * `rate` Hz, encoded with p->bins); training files clipped beyond
 * p->max_clipped are left out, as the trainer leaves them out (WN_ERR_ARG if
 * none is left). */
WN_API int wn_baseline_run(const char *const *train, int ntrain,
                           const char *const *valid, int nvalid, int rate,
                           const wn_baseline_params *p, wn_baseline_result *out,
                           int *nout, wn_error *err);

/* The LPC baselines' distribution over the Q codes for one prediction:
 * probs[c] = (1 - Q eps) [sig((hi_c - pred)/s) - sig((lo_c - pred)/s)] + eps,
 * sig the logistic function, [lo_c, hi_c) the interval of x that
 * wn_mulaw_encode maps to code c (the end bins extend to -inf and +inf),
 * pred and s = scale > 0 in the signal domain (x in [-1, 1]),
 * eps = prob_floor >= 0 with Q eps < 1. probs has `bins` doubles. */
WN_API int wn_baseline_logistic_probs(double pred, double scale, int bins,
                                      double prob_floor, double *probs,
                                      wn_error *err);

/* ---------------------------------------------------------------- spectrum
 * FFTW spectrograms and PNG images: see src/spectrum.c and src/spectrogram.c. */

/* Short-time Fourier transform, centred frames: frame f is the `fft`
 * samples around sample f*hop (x[f*hop - fft/2 + t], t = 0..fft-1, zero
 * outside the signal), times a periodic Hann window. There are
 * n/hop + 1 frames of fft/2 + 1 bins; bin k is at k*rate/fft Hz.
 * Magnitudes are |DFT| * 2/sum(window): a sine of amplitude A centred on a
 * bin reads A there (so a full-scale sine is 0 dBFS). */
WN_API size_t wn_stft_frames(size_t n, int hop);
/* mag: (frames, fft/2 + 1) floats, row-major, caller-owned.
 * fft: even, 8..65536; hop >= 1. Multi-threaded with OpenMP over frames. */
WN_API int wn_stft_magnitude(const float *x, size_t n, int fft, int hop,
                             float *mag, wn_error *err);

typedef struct wn_spectrogram_params {
    int fft;          /* frame length in samples; 0 = auto: 256 at 8 kHz,
                         scaled with the rate to a power of two */
    int hop;          /* frame step in samples; 0 = auto: fft / 4 */
    float range_db;   /* colours span [max - range_db, max] dB; default 80 */
    int width;        /* whole image in pixels, 0 = auto (plot area one pixel
                         per frame, clamped to 400..1600, plus margins) */
    int height;       /* whole image in pixels, 0 = auto (plot area one row
                         per bin, clamped to 256..1024, plus margins) */
    const char *title;/* printed above the plot (ASCII), NULL = none */
    int mels;         /* 0: a row per FFT bin, frequency linear; N: N mel
                         bands (Slaney's scale, triangles of peak 1, so a
                         tone at a band's centre reads its dBFS) */
    double fmin, fmax;/* the mel bands' range in Hz (0 and 0 = rate / 2) */
} wn_spectrogram_params;
WN_API wn_spectrogram_params wn_spectrogram_default_params(void);

/* The auto fft size for a sample rate (256 at 8000 Hz). */
WN_API int wn_spectrogram_auto_fft(int rate);

/* The mel scale: Slaney's (linear to 1 kHz, logarithmic above: the
 * default of librosa and of most speech work) or HTK's (2595 log10(1 +
 * f/700), torchaudio's default). */
typedef enum wn_mel_scale { WN_MEL_SLANEY = 0, WN_MEL_HTK = 1 } wn_mel_scale;
typedef struct wn_mel_params {
    int fft, hop;       /* STFT frame and step in samples; 0 = auto, as the
                           spectrogram's (256 at 8 kHz, fft / 4) */
    int mels;           /* bands (80) */
    double fmin, fmax;  /* Hz; fmax 0 = rate / 2 */
    wn_mel_scale scale; /* WN_MEL_SLANEY */
    int area_norm;      /* 1 (default): each triangle scaled by 2 / (its width
                           in Hz), librosa's norm='slaney'; 0: peak 1 */
    float floor;        /* wn_logmel takes ln(max(power, floor)); 1e-10 */
} wn_mel_params;
WN_API wn_mel_params wn_mel_default_params(void);
/* WN_OK if p (NULL: the defaults) suits audio at `rate` Hz, else WN_ERR_ARG
 * naming the value that does not (a range above half the rate, say): what
 * wn_mel_filters and wn_logmel check first. */
WN_API int wn_mel_check(int rate, const wn_mel_params *p, wn_error *err);
/* The triangular mel filters on the fft/2 + 1 bins of an fft-point STFT
 * at `rate` Hz (bin k at k * rate / fft Hz): mels + 2 points evenly spaced
 * in mel from fmin to fmax, band m rising from point m to m + 1 and falling
 * to m + 2, as librosa and torchaudio build them. fb: (mels, fft/2 + 1)
 * floats, row-major, caller-owned. */
WN_API int wn_mel_filters(int rate, const wn_mel_params *p, float *fb, wn_error *err);
/* Log-mel features of x (n samples at `rate` Hz): for each frame of
 * wn_stft_magnitude (centred, Hann, wn_stft_frames(n, hop) of them), ln of
 * the mel filters applied to its power spectrum (the magnitudes squared,
 * so a full-scale sine has power 1). out: (frames, mels) floats. p may be
 * NULL (defaults). Multi-threaded with OpenMP over frames. */
WN_API int wn_logmel(const float *x, size_t n, int rate, const wn_mel_params *p, float *out,
                     wn_error *err);

/* Log-magnitude spectrogram of x (n samples at `rate` Hz) as a PNG: time in
 * seconds on x, frequency in Hz on y, a dBFS colour bar; axes labelled with
 * libgd's built-in font. When there are more frames (or bins) than pixels
 * each pixel shows the maximum of those it covers. PNG, or JPEG, GIF,
 * lossless WebP or BMP when the name ends in .jpg/.jpeg, .gif, .webp or
 * .bmp. Written to a temporary name and renamed into place. p may be NULL
 * (defaults). */
WN_API int wn_spectrogram_png(const float *x, size_t n, int rate, const char *png_path,
                              const wn_spectrogram_params *p, wn_error *err);
/* Several spectrograms side by side in one image (an original clip and its
 * copy-synthesis, say): x[i] (n[i] samples, all at `rate` Hz) is panel i,
 * left to right, count of them (1..16), each drawn as by
 * wn_spectrogram_png with the same fft, hop and mel settings. Each panel
 * has its own time axis and, above it, labels[i] (labels NULL, or an entry
 * NULL or empty: none). One colour scale for all: dB below the loudest
 * cell of any panel, so a quieter panel looks darker; one colour bar at
 * the right, frequency labels left of the first panel. p->title is the
 * whole image's; p->width, when set, the whole image's width (the panels
 * share it equally), else each panel is as wide as one image's plot of the
 * longest input (narrower if the image would pass 8192 pixels); labels
 * take a row above the plots. One input without a label gives
 * wn_spectrogram_png's bytes. Errors: WN_ERR_ARG for count out of
 * range or a NULL x[i], WN_ERR_AUDIO for an empty panel (both naming it),
 * and wn_spectrogram_png's. The arrays are only read. */
WN_API int wn_spectrogram_png_panels(const float *const *x, const size_t *n,
                                     const char *const *labels, int count, int rate,
                                     const char *png_path, const wn_spectrogram_params *p,
                                     wn_error *err);

/* ---------------------------------------------------------------- model features
 * A conditional model's feature recipe (wn_config.cond bands, hop samples). */

/* The recipe (mels = cond, hop = the model's hop): WN_OK, or WN_ERR_ARG for
 * a model without mel conditioning. */
WN_API int wn_model_mel_params(const wn_model *m, wn_mel_params *p);
/* Set the recipe's free fields (fft, fmin, fmax, scale, area_norm, floor);
 * p->mels and p->hop must be the model's (0 = the model's). Checked with
 * wn_mel_check at the model's rate. */
WN_API int wn_model_set_mel_params(wn_model *m, const wn_mel_params *p, wn_error *err);
/* The model's features of n samples x at its rate: *frames =
 * wn_model_cond_frames(m, n) rows of cond log-mel bands (the signal is
 * zero past its end), malloc'ed into *feats (free with free()). */
WN_API int wn_model_features(const wn_model *m, const float *x, size_t n, float **feats,
                             size_t *frames, wn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* WAVENET_SIGNAL_H */
