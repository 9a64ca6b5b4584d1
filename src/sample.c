/* sample.c - turning logits into a code: temperature, top-k, top-p, argmax,
 * with a seeded 64-bit RNG (splitmix64), and the log-probability of the
 * chosen code under the model's own (temperature 1) distribution. */
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

int wn__sample(const float *l, int Q, const wn_sample_params *p, uint64_t *rng,
               double *logp, wn__cand *scratch)
{
    float mx = l[0];
    int arg = 0;
    for (int q = 1; q < Q; q++)
        if (l[q] > mx) {
            mx = l[q];
            arg = q;
        }
    double z = 0;
    for (int q = 0; q < Q; q++) z += exp((double)l[q] - mx);
    const double lse = mx + log(z);
    int code = arg;
    if (p->temperature > 0.0f) {
        const double invt = 1.0 / p->temperature;
        int k = p->top_k > 0 && p->top_k < Q ? p->top_k : Q;
        int filter = k < Q || (p->top_p > 0.0f && p->top_p < 1.0f);
        double u = wn__uniform(rng);
        if (!filter) {
            double total = 0;
            for (int q = 0; q < Q; q++) total += exp(((double)l[q] - mx) * invt);
            double target = u * total, acc = 0;
            code = Q - 1;
            for (int q = 0; q < Q; q++) {
                acc += exp(((double)l[q] - mx) * invt);
                if (acc > target) {
                    code = q;
                    break;
                }
            }
        } else {
            for (int q = 0; q < Q; q++) {
                scratch[q].w = exp(((double)l[q] - mx) * invt);
                scratch[q].q = q;
            }
            qsort(scratch, (size_t)Q, sizeof *scratch, cmp_desc);
            double total = 0;
            for (int i = 0; i < k; i++) total += scratch[i].w;
            if (p->top_p > 0.0f && p->top_p < 1.0f) {
                /* the smallest prefix whose mass reaches top_p */
                double acc = 0, need = p->top_p * total;
                int n = 0;
                while (n < k) {
                    acc += scratch[n++].w;
                    if (acc >= need) break;
                }
                k = n;
                total = acc;
            }
            double target = u * total, acc = 0;
            code = scratch[k - 1].q;
            for (int i = 0; i < k; i++) {
                acc += scratch[i].w;
                if (acc > target) {
                    code = scratch[i].q;
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
    wn__cand *scratch = malloc(sizeof *scratch * (size_t)bins);
    if (!scratch) return WN_ERR_NOMEM;
    int code = wn__sample(logits, bins, p, rng, logp, scratch);
    free(scratch);
    return code;
}
