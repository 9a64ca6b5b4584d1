/* test_stream.c - cached generation (ring buffers, one column per layer)
 * against the teacher-forced pass: the same logits at every step. */
#include "testutil.h"

#include <math.h>
#include <string.h>

/* Feed x through the cached path after priming with p (np codes) and
 * compare each step's logits with the teacher-forced logits of [p, x]. */
static double cached_vs_forced(wn_model *m, const int *p, size_t np, const int *x, size_t n,
                               int streams)
{
    wn_config c = wn_model_config(m);
    int Q = c.bins;
    size_t total = np + n;
    int *all = malloc(sizeof(int) * total);
    memcpy(all, p, sizeof(int) * np);
    memcpy(all + np, x, sizeof(int) * n);
    float *ref = malloc(sizeof(float) * total * Q);
    wn_error err;
    REQUIRE_OK(wn_model_logits(m, all, total, ref, &err), &err);
    wn_sample_params sp = wn_sample_default_params();
    wn_gen *g = wn_gen_create(m, streams, &sp, &err);
    REQUIRE(g);
    /* after a prime the state has consumed all but the last prime code,
     * which is the next input (silence when there is no prime) */
    int first_in = np ? p[np - 1] : wn_mulaw_silence(Q);
    REQUIRE_OK(wn_gen_prime(g, p, np, &err), &err);
    float *lg = malloc(sizeof(float) * Q * streams);
    int *in = malloc(sizeof(int) * streams);
    double worst = 0;
    for (size_t t = 0; t < n; t++) {
        for (int b = 0; b < streams; b++) in[b] = t == 0 ? first_in : x[t - 1];
        REQUIRE(wn_gen_feed(g, in, lg) == WN_OK);
        for (int b = 0; b < streams; b++) {
            double e = tu_maxrel(lg + (size_t)b * Q, ref + (np + t) * Q, Q);
            if (e > worst) worst = e;
        }
    }
    wn_gen_free(g);
    free(lg);
    free(in);
    free(ref);
    free(all);
    return worst;
}

int main(void)
{
    /* a walk over codes so that the inputs look like a signal */
    enum { N = 700 };
    int x[N], p[300];
    uint64_t s = 7;
    int v = 128;
    for (int i = 0; i < N; i++) {
        v += (int)(wn__uniform_for_tests(&s) * 21) - 10;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        x[i] = v;
    }
    for (int i = 0; i < 300; i++) p[i] = (x[i] * 7 + 13) % 256;

    /* the default layout (2 x 10 layers) at a small width */
    wn_model *m = tu_small_model(256, 20, 10, 16, 16, 32, 1);
    double e = cached_vs_forced(m, p, 0, x, N, 1);
    fprintf(stderr, "20 layers, no prime: worst rel. error %.3g\n", e);
    CHECKF(e < 1e-4, "%g", e);
    e = cached_vs_forced(m, p, 300, x, 400, 3);
    fprintf(stderr, "20 layers, 300-code prime, 3 streams: worst %.3g\n", e);
    CHECKF(e < 1e-4, "%g", e);
    e = cached_vs_forced(m, p, 1, x, 50, 1);
    CHECKF(e < 1e-4, "1-code prime: %g", e);
    wn_model_free(m);

    /* odd sizes, one stack, few bins */
    m = tu_small_model(17, 5, 3, 3, 5, 7, 2);
    int y[N];
    for (int i = 0; i < N; i++) y[i] = x[i] % 17;
    e = cached_vs_forced(m, y, 40, y + 40, 200, 2);
    fprintf(stderr, "odd sizes: worst %.3g\n", e);
    CHECKF(e < 1e-4, "%g", e);

    /* sampling is deterministic per seed, streams differ, and reported
     * log-probabilities are those of the teacher-forced pass */
    wn_sample_params sp = wn_sample_default_params();
    sp.seed = 99;
    wn_error err;
    wn_gen *g1 = wn_gen_create(m, 2, &sp, &err), *g2 = wn_gen_create(m, 2, &sp, &err);
    REQUIRE(g1 && g2);
    int c1[2], c2[2], seq[2][300], differ = 0;
    double lp1[2], lp2[2], sum[2] = {0, 0};
    for (int t = 0; t < 300; t++) {
        wn_gen_step(g1, c1, lp1);
        wn_gen_step(g2, c2, lp2);
        CHECK(c1[0] == c2[0] && c1[1] == c2[1] && lp1[0] == lp2[0]);
        differ |= c1[0] != c1[1];
        for (int b = 0; b < 2; b++) {
            seq[b][t] = c1[b];
            sum[b] -= lp1[b];
        }
    }
    CHECK(differ);
    for (int b = 0; b < 2; b++) {
        double nll;
        REQUIRE_OK(wn_score_codes(m, seq[b], 300, NULL, &nll, NULL, &err), &err);
        CHECKF(fabs(nll - sum[b]) < 1e-3 * (1 + fabs(nll)), "stream %d: %f vs %f", b, nll, sum[b]);
    }
    wn_gen_free(g1);
    wn_gen_free(g2);

    /* temperature 0 is argmax of the logits */
    sp.temperature = 0;
    g1 = wn_gen_create(m, 1, &sp, &err);
    wn_gen *g3 = wn_gen_create(m, 1, &sp, &err);
    REQUIRE(g1 && g3);
    float lg[17];
    int in = wn_mulaw_silence(17);
    for (int t = 0; t < 100; t++) {
        int c;
        wn_gen_step(g1, &c, NULL);
        wn_gen_feed(g3, &in, lg);
        int arg = 0;
        for (int q = 1; q < 17; q++)
            if (lg[q] > lg[arg]) arg = q;
        CHECKF(c == arg, "t=%d: %d vs argmax %d", t, c, arg);
        in = arg;
    }
    wn_gen_free(g1);
    wn_gen_free(g3);

    /* top-k = 1 equals argmax; top-p never picks outside the nucleus */
    float logits[17];
    for (int q = 0; q < 17; q++) logits[q] = (float)((q * 5) % 17) * 0.3f;
    uint64_t rng = 5;
    wn_sample_params k1 = wn_sample_default_params();
    k1.top_k = 1;
    for (int i = 0; i < 50; i++) CHECK(wn_sample_logits(logits, 17, &k1, &rng, NULL) == 10);
    /* code 10 has the largest logit 0.3*16; its mass: */
    double z = 0;
    for (int q = 0; q < 17; q++) z += exp(logits[q]);
    wn_sample_params tp = wn_sample_default_params();
    tp.top_p = (float)(exp(logits[10]) / z * 0.5); /* less than the top code's mass */
    for (int i = 0; i < 50; i++) CHECK(wn_sample_logits(logits, 17, &tp, &rng, NULL) == 10);
    /* temperature 1 frequencies follow softmax */
    int hist[17] = {0};
    wn_sample_params t1 = wn_sample_default_params();
    for (int i = 0; i < 20000; i++) hist[wn_sample_logits(logits, 17, &t1, &rng, NULL)]++;
    for (int q = 0; q < 17; q++) {
        double pq = exp(logits[q]) / z, got = hist[q] / 20000.0;
        CHECKF(fabs(got - pq) < 5 * sqrt(pq * (1 - pq) / 20000) + 1e-3, "q=%d %f vs %f", q, got, pq);
    }
    wn_model_free(m);
    return tu_finish("stream", 0);
}
