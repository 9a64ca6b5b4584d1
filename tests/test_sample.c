/* test_sample.c - wn_sample_logits against the exact distribution it is
 * documented to draw from: for several (temperature, top-k, top-p) settings,
 * 200,000 seeded draws, a chi-square goodness-of-fit test at p = 1e-6
 * against a reference computed here in double, no draw outside the kept set,
 * and logp = log softmax(logits)[code] at temperature 1.
 *
 * The reference follows the convention src/sample.c states:
 *  - weights w_q = exp((l_q - max) / T), in double here;
 *  - top-k keeps the k largest weights; equal weights are ordered by code,
 *    so of equal logits the lower code is kept first;
 *  - top-p works on what top-k kept (the whole vector if k is off), in the
 *    same order: it keeps the smallest prefix whose mass reaches (>=)
 *    top_p times the mass top-k kept;
 *  - the kept weights are renormalised.
 * The library's exps are floats, so the settings are chosen away from
 * knife edges (each one's top-p prefix has a margin checked below). */
#include "testutil.h"

#include <math.h>
#include <string.h>

#define DRAWS 200000
#define MAXQ 64

/* Upper 1e-6 quantile of chi-square with df degrees of freedom
 * (Wilson-Hilferty; z = the standard normal's upper 1e-6 quantile). At
 * 3..31 df its true tail is 3.5e-7..8e-7: a false alarm about once in a
 * million runs, and the seeds are fixed anyway. */
static double chi2_limit(int df)
{
    const double z = 4.753424308822899;
    double a = 2.0 / (9.0 * df);
    double c = 1.0 - a + z * sqrt(a);
    return df * c * c * c;
}

typedef struct ref {
    double prob[MAXQ]; /* the truncated, renormalised distribution */
    int kept[MAXQ];
    int nkept;
    double margin;     /* how far top-p's cut is from its threshold */
} ref;

static void reference(const float *l, int Q, float T, int k, float top_p, ref *r)
{
    double mx = l[0], w[MAXQ];
    for (int q = 1; q < Q; q++) mx = l[q] > mx ? l[q] : mx;
    int order[MAXQ];
    for (int q = 0; q < Q; q++) {
        w[q] = exp(((double)l[q] - mx) / T);
        order[q] = q;
    }
    /* insertion sort: descending weight, ties by ascending code */
    for (int i = 1; i < Q; i++)
        for (int j = i; j > 0; j--) {
            int a = order[j - 1], b = order[j];
            if (w[b] > w[a] || (w[b] == w[a] && b < a)) {
                order[j - 1] = b;
                order[j] = a;
            } else {
                break;
            }
        }
    int n = k > 0 && k < Q ? k : Q;
    double mass = 0;
    for (int i = 0; i < n; i++) mass += w[order[i]];
    r->margin = INFINITY;
    if (top_p > 0 && top_p < 1) {
        double need = top_p * mass, acc = 0;
        int m = 0;
        while (m < n) {
            acc += w[order[m++]];
            if (acc >= need) break;
        }
        /* relative distance of the cut's two sides from the threshold */
        r->margin = fabs(acc - need) / mass;
        if (m > 1) r->margin = fmin(r->margin, fabs(acc - w[order[m - 1]] - need) / mass);
        n = m;
        mass = acc;
    }
    memset(r->prob, 0, sizeof r->prob);
    memset(r->kept, 0, sizeof r->kept);
    for (int i = 0; i < n; i++) {
        r->prob[order[i]] = w[order[i]] / mass;
        r->kept[order[i]] = 1;
    }
    r->nkept = n;
}

typedef struct scase {
    const char *what;
    int Q;
    float T;
    int k;
    float p;
} scase;

static void run_case(const scase *c, const float *l, uint64_t seed)
{
    ref r;
    reference(l, c->Q, c->T, c->k, c->p, &r);
    REQUIRE(r.margin > 1e-4); /* the setting is not on a float/double knife edge */
    double lmx = l[0], z = 0;
    for (int q = 1; q < c->Q; q++) lmx = l[q] > lmx ? l[q] : lmx;
    for (int q = 0; q < c->Q; q++) z += exp((double)l[q] - lmx);
    const double lse = lmx + log(z);

    wn_sample_params sp = wn_sample_default_params();
    sp.temperature = c->T;
    sp.top_k = c->k;
    sp.top_p = c->p;
    long count[MAXQ] = {0}, outside = 0, badlogp = 0;
    double worst_logp = 0;
    uint64_t rng = seed;
    for (int i = 0; i < DRAWS; i++) {
        double logp = NAN;
        int code = wn_sample_logits(l, c->Q, &sp, &rng, &logp);
        REQUIRE(code >= 0 && code < c->Q);
        count[code]++;
        if (!r.kept[code]) outside++;
        /* log of the temperature-1, untruncated probability */
        double e = fabs(logp - ((double)l[code] - lse));
        if (!(e <= 1e-5)) badlogp++;
        if (!(e <= worst_logp)) worst_logp = e;
    }
    /* chi-square over the kept codes; those expected fewer than 5 times
     * are pooled into one cell so the approximation holds */
    double chi2 = 0, pool_e = 0;
    long pool_o = 0;
    int cells = 0;
    for (int q = 0; q < c->Q; q++) {
        if (!r.kept[q]) continue;
        double e = r.prob[q] * DRAWS;
        if (e < 5) {
            pool_e += e;
            pool_o += count[q];
            continue;
        }
        chi2 += (count[q] - e) * (count[q] - e) / e;
        cells++;
    }
    if (pool_e > 0) {
        chi2 += (pool_o - pool_e) * (pool_o - pool_e) / pool_e;
        cells++;
    }
    REQUIRE(cells > 1); /* a setting with something to test */
    double lim = chi2_limit(cells - 1);
    fprintf(stderr, "  %-38s T=%.2f k=%2d p=%.2f: %2d kept, chi2 %6.2f on %2d df (limit %.2f)\n",
            c->what, c->T, c->k, c->p, r.nkept, chi2, cells - 1, lim);
    CHECKF(chi2 < lim, "%s: chi-square %.2f > %.2f on %d df: not the documented distribution",
           c->what, chi2, lim, cells - 1);
    CHECKF(outside == 0, "%s: %ld draws outside the %d kept codes", c->what, outside, r.nkept);
    CHECKF(badlogp == 0, "%s: %ld draws with a wrong logp (worst error %.3g)", c->what,
           badlogp, worst_logp);
    /* each kept code with a fair chance was drawn (a cut too small would
     * show in chi2 too; this names the code) */
    for (int q = 0; q < c->Q; q++)
        if (r.kept[q] && r.prob[q] * DRAWS >= 50)
            CHECKF(count[q] > 0, "%s: code %d (p = %.4f) never drawn", c->what, q, r.prob[q]);
}

int main(void)
{
    /* 24 bins (not a multiple of 8: the tail of the untruncated path's
     * blocks) with a spread of logits, and two exact ties: codes 5 and 17
     * at 1.25 (the 4th and 5th largest) and 2 and 20 at -0.5 */
    static const float l24[24] = {
        0.30f, -1.20f, -0.50f, 2.10f, -2.40f, 1.25f, 0.05f, -0.90f, 1.70f, -3.00f, 0.80f, -0.10f,
        -1.60f, 0.55f, -2.00f, 1.90f, -0.75f, 1.25f, -4.00f, 0.15f, -0.50f, -1.05f, 0.95f, -2.80f,
    };
    /* 32 bins from a fixed generator, over a range of about 8 nats */
    float l32[32];
    uint64_t s = 77;
    for (int q = 0; q < 32; q++) l32[q] = (float)(8.0 * wn__uniform_for_tests(&s) - 4.0);

    const scase c24[] = {
        {"untruncated, T = 1", 24, 1.0f, 0, 1.0f},
        {"temperature only", 24, 0.7f, 0, 1.0f},
        {"hot temperature", 24, 2.5f, 0, 1.0f},
        {"top-k", 24, 1.0f, 6, 1.0f},
        {"top-k cutting a tie (5 kept, 17 not)", 24, 1.0f, 4, 1.0f},
        {"top-k with temperature", 24, 1.5f, 10, 1.0f},
        {"top-p", 24, 1.0f, 0, 0.8f},
        {"top-p with temperature", 24, 0.6f, 0, 0.9f},
        {"top-k then top-p", 24, 1.2f, 12, 0.75f},
    };
    const scase c32[] = {
        {"32 bins, untruncated", 32, 1.0f, 0, 1.0f},
        {"32 bins, T, top-k, top-p", 32, 2.0f, 20, 0.6f},
        {"32 bins, cold, top-p", 32, 0.5f, 0, 0.95f},
    };
    /* the tie case keeps code 5 and drops 17 by construction */
    {
        ref r;
        reference(l24, 24, 1.0f, 4, 1.0f, &r);
        REQUIRE(r.kept[5] && !r.kept[17] && r.nkept == 4);
    }
    uint64_t seed = 1;
    for (size_t i = 0; i < sizeof c24 / sizeof c24[0]; i++) run_case(&c24[i], l24, seed++);
    for (size_t i = 0; i < sizeof c32 / sizeof c32[0]; i++) run_case(&c32[i], l32, seed++);

    /* argmax (T = 0): the first of equal maxima, logp still at T = 1 */
    {
        float tie[8] = {0, 3, 1, 3, -2, 0.5f, 3, 2};
        wn_sample_params sp = wn_sample_default_params();
        sp.temperature = 0;
        uint64_t rng = 5;
        double logp;
        double z = 0;
        for (int q = 0; q < 8; q++) z += exp(tie[q] - 3.0);
        for (int i = 0; i < 100; i++) {
            CHECK(wn_sample_logits(tie, 8, &sp, &rng, &logp) == 1);
            CHECK(fabs(logp - (0.0 - log(z))) < 1e-6);
        }
    }
    return tu_finish("sample", 0);
}
