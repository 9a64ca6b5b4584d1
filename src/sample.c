/* sample.c - turning logits into a code: temperature, top-k, top-p, argmax,
 * with a seeded 64-bit RNG (splitmix64), and the log-probability of the
 * chosen code under the model's own (temperature 1) distribution. The
 * exponentials go through the kernel table (one vectorised pass at T=1). */
#include "sample.h"

#include <math.h>
#include <stdlib.h>

wn_sample_params wn_sample_default_params(void)
{
    wn_sample_params p = {.temperature = 1.0f, .top_k = 0, .top_p = 1.0f, .seed = 0};
    return p;
}

static int cmp_desc(const void *a, const void *b)
{
    const wn__cand *x = a, *y = b;
    if (x->w != y->w) return x->w > y->w ? -1 : 1;
    return x->q - y->q; /* ties by code: deterministic order */
}

int wn__sample_k(const wn__kern *k, const float *l, int Q, const wn_sample_params *p,
                 uint64_t *rng, double *logp, float *w, wn__cand *cand)
{
    const float mx = k->maxf(l, Q);
    int code = 0;
    const double lse = mx + log(k->expsum(w, l, Q, mx, 1.0f));
    /* an overflowing model: no distribution to draw from (never a constant
     * code with a NaN log-probability) */
    if (!isfinite(mx) || !isfinite(lse)) return WN_ERR_NONFINITE;
    /* 1/T overflows for a subnormal temperature: the limit is the argmax */
    if (!(p->temperature > 0.0f) || !isfinite(1.0f / p->temperature))
        while (code < Q - 1 && l[code] != mx) code++;
    else {
        double total = p->temperature == 1.0f ? exp(lse - mx)
                                              : k->expsum(w, l, Q, mx, 1.0f / p->temperature);
        int kk = p->top_k > 0 && p->top_k < Q ? p->top_k : Q;
        int nucleus = p->top_p > 0.0f && p->top_p < 1.0f;
        double u = wn__uniform(rng);
        if (kk == Q && !nucleus) {
            double target = u * total, acc = 0;
            code = -1;
            int q = 0;
            /* whole blocks of 8 first: their sums do not wait on acc, so
             * the running sum is a chain of Q/8 additions, not Q */
            for (; q + 8 <= Q; q += 8) {
                double s8 = (((double)w[q] + w[q + 1]) + ((double)w[q + 2] + w[q + 3])) +
                            (((double)w[q + 4] + w[q + 5]) + ((double)w[q + 6] + w[q + 7]));
                if (acc + s8 > target) break;
                acc += s8;
            }
            for (; q < Q; q++) {
                acc += w[q];
                if (acc > target) {
                    code = q;
                    break;
                }
            }
            if (code < 0) /* rounding left the target past the sum: last nonzero */
                for (code = Q - 1; code > 0 && w[code] == 0.0f; code--) {}
        } else {
            for (int q = 0; q < Q; q++) {
                cand[q].w = w[q];
                cand[q].q = q;
            }
            qsort(cand, (size_t)Q, sizeof *cand, cmp_desc);
            total = 0;
            for (int i = 0; i < kk; i++) total += cand[i].w;
            if (nucleus) { /* the smallest prefix whose mass reaches top_p */
                double acc = 0, need = p->top_p * total;
                int n = 0;
                while (n < kk) {
                    acc += cand[n++].w;
                    if (acc >= need) break;
                }
                kk = n;
                total = acc;
            }
            double target = u * total, acc = 0;
            code = cand[kk - 1].q;
            for (int i = 0; i < kk; i++) {
                acc += cand[i].w;
                if (acc > target) {
                    code = cand[i].q;
                    break;
                }
            }
        }
    }
    if (logp) *logp = (double)l[code] - lse;
    return code;
}

int wn_sample_logits(const float *logits, int bins, const wn_sample_params *p,
                     uint64_t *rng, double *logp)
{
    if (!logits || bins < 2 || !p || !rng) return WN_ERR_ARG;
    wn__cand *cand = malloc(sizeof *cand * (size_t)bins);
    float *w = malloc(sizeof *w * (size_t)bins);
    int code = WN_ERR_NOMEM;
    if (cand && w) code = wn__sample_k(wn__kernels(), logits, bins, p, rng, logp, w, cand);
    free(cand);
    free(w);
    return code;
}
