/* spectrum.h - what spectrum.c (STFT, mel filters) shares with
 * spectrogram.c (the images); nothing else includes it. */
#ifndef WN_SPECTRUM_H
#define WN_SPECTRUM_H

#include "internal.h"

#include <fftw3.h>

#ifdef _OPENMP
#define WN_OMP_FOR _Pragma("omp parallel for schedule(dynamic, 16)")
#else
#define WN_OMP_FOR
#endif

/* One plan and per-thread buffers for frames of fft samples, hop apart. */
typedef struct stft {
    int fft, hop, nb;     /* nb = fft/2 + 1 bins */
    int threads;
    float norm;           /* 2 / sum(window) */
    float *win;           /* fft */
    float **in;           /* threads x fft, fftwf_malloc */
    fftwf_complex **out;  /* threads x nb */
    float **mag;          /* threads x nb, scratch for callers */
    fftwf_plan plan;
} stft;

int wn__stft_check(int fft, int hop, wn_error *err);
int wn__stft_init(stft *s, int fft, int hop, wn_error *err);
void wn__stft_free(stft *s);
/* Magnitudes of frame f into mag (nb floats), using thread t's buffers. */
void wn__stft_frame(const stft *s, int t, const float *x, size_t n, size_t f, float *mag);
/* The calling thread's number in an OpenMP team (0 without OpenMP). */
int wn__spec_thread(void);

double wn__hz_to_mel(double f, wn_mel_scale s);
/* The recipe's free fields filled for a rate, and checked. */
int wn__mel_resolve(int rate, const wn_mel_params *pp, wn_mel_params *p, wn_error *err);
/* The filters as rows of nonzero ranges [lo, hi) (malloc'ed), and their
 * application to a frame's power bins. */
int wn__mel_bank(int rate, const wn_mel_params *p, float **fb, int **lo, int **hi,
                 wn_error *err);
void wn__mel_apply(const float *fb, const int *lo, const int *hi, int M, int nb,
                   const float *mag, float *out);

#endif
