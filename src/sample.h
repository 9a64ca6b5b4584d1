/* sample.h - sampling a code from logits (see sample.c). */
#ifndef WN_SAMPLE_H
#define WN_SAMPLE_H

#include "internal.h"

typedef struct wn__cand {
    double w;
    int q;
} wn__cand;

/* The chosen code; scratch has room for Q candidates (used only by
 * top-k/top-p). logp = log p(code) at temperature 1. */
int wn__sample(const float *logits, int Q, const wn_sample_params *p, uint64_t *rng,
               double *logp, wn__cand *scratch);

#endif
