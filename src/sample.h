/* sample.h - sampling a code from logits (see sample.c). */
#ifndef WN_SAMPLE_H
#define WN_SAMPLE_H

#include "internal.h"
#include "kernels.h"

typedef struct wn__cand {
    double w;
    int q;
} wn__cand;

/* The chosen code; w (Q floats) and cand (Q, used only by top-k/top-p)
 * are scratch. logp = log p(code) at temperature 1. WN_ERR_NONFINITE when
 * the logits hold NaN or infinity (no distribution to draw from). */
int wn__sample_k(const wn__kern *k, const float *logits, int Q, const wn_sample_params *p,
                 uint64_t *rng, double *logp, float *w, wn__cand *cand);

#endif
