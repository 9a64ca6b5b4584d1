/* test_score.c - chunked scoring equals one pass over the whole signal, for
 * any chunk size and thread count, and matches the logits. */
#include "testutil.h"

#include <math.h>
#include <string.h>

/* What a progress callback saw; it answers 1 (stop) at call stop_at. */
typedef struct plog {
    int calls, stop_at, rising;
    double last_done, last_total;
} plog;

static int plog_record(void *user, double done, double total)
{
    plog *l = user;
    l->rising = (l->calls == 0 || l->rising) && done >= l->last_done && done <= total;
    l->last_done = done, l->last_total = total;
    return ++l->calls == l->stop_at;
}

int main(void)
{
    enum { N = 3000 };
    static int x[N];
    uint64_t s = 3;
    int v = 100;
    for (int i = 0; i < N; i++) {
        v += (int)(wn__uniform_for_tests(&s) * 31) - 15;
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        x[i] = v;
    }
    wn_model *m = tu_small_model(256, 8, 4, 8, 8, 16, 11);
    int rf = wn_model_receptive_field(m);
    CHECKF(rf == 2 + 2 * (1 + 2 + 4 + 8), "rf %d", rf);
    wn_error err;

    /* reference: log-softmax of the logits of one pass */
    float *lg = malloc(sizeof(float) * N * 256);
    REQUIRE_OK(wn_model_logits(m, x, N, lg, &err), &err);
    double ref = 0;
    for (int t = 0; t < N; t++) {
        const float *l = lg + (size_t)t * 256;
        double mx = l[0], z = 0;
        for (int q = 1; q < 256; q++) mx = l[q] > mx ? l[q] : mx;
        for (int q = 0; q < 256; q++) z += exp(l[q] - mx);
        ref -= l[x[t]] - mx - log(z);
    }
    size_t chunks[] = {1, 7, 100, 1024, N, 100000};
    float *logp = malloc(sizeof(float) * N);
    double first = 0;
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++)
        for (int th = 1; th <= 2; th++) {
            wn_score_params p = wn_score_default_params();
            p.chunk = chunks[k];
            p.threads = th;
            double nll;
            REQUIRE_OK(wn_score_codes(m, x, N, &p, &nll, logp, &err), &err);
            CHECKF(fabs(nll - ref) < 1e-4 * fabs(ref), "chunk %zu threads %d: %.6f vs %.6f",
                   chunks[k], th, nll, ref);
            double sum = 0;
            for (int t = 0; t < N; t++) sum -= logp[t];
            CHECKF(fabs(sum - nll) < 1e-3, "sum of logp %.6f vs %.6f", sum, nll);
            if (k == 0 && th == 1) first = nll;
            if (chunks[k] == 1) CHECKF(nll == first, "chunk 1: threads change the result");
        }
    /* the same chunking gives the same bits on any thread count */
    wn_score_params p1 = wn_score_default_params(), p2 = p1;
    p1.chunk = p2.chunk = 256;
    p1.threads = 1;
    p2.threads = 2;
    double a, b;
    wn_score_codes(m, x, N, &p1, &a, NULL, &err);
    wn_score_codes(m, x, N, &p2, &b, NULL, &err);
    CHECKF(a == b, "threads 1 vs 2: %.17g vs %.17g", a, b);

    /* the past before x[0] is silence: scoring [silence x RF, x] differs
     * from x alone only by the silence samples' own terms */
    int *y = malloc(sizeof(int) * (N + rf));
    for (int i = 0; i < rf; i++) y[i] = wn_mulaw_silence(256);
    memcpy(y + rf, x, sizeof(int) * N);
    float *ly = malloc(sizeof(float) * (N + rf));
    double ny;
    REQUIRE_OK(wn_score_codes(m, y, N + rf, NULL, &ny, ly, &err), &err);
    REQUIRE_OK(wn_score_codes(m, x, N, NULL, &a, logp, &err), &err);
    double worst = 0;
    for (int t = 0; t < N; t++) worst = fmax(worst, fabs(ly[rf + t] - logp[t]));
    CHECKF(worst < 1e-4, "silence past: %g", worst);

    /* bad codes are refused, empty input is fine */
    int bad[3] = {1, 256, 2};
    CHECK(wn_score_codes(m, bad, 3, NULL, &a, NULL, &err) == WN_ERR_ARG);
    CHECK(strstr(err.message, "256") != NULL);
    CHECK(wn_score_codes(m, x, 0, NULL, &a, NULL, &err) == WN_OK && a == 0);

    /* through the generation steps (f16, int8): chunks of a fixed layout
     * run as streams that start one receptive field early give every
     * sample bit for bit the log-probability of one stream fed from the
     * start (tu_fed_nll's logits, the same double log-softmax), and the
     * same total on any thread count. Two models: RF 32 (16,000 codes:
     * 15 chunks, 4 generators) and RF 2049, as the shipped model's (20,000
     * codes: two chunks, the second warming up over 2,049 codes). */
    {
        enum { M = 20000 };
        static int z[M];
        for (int i = 0; i < M; i++) z[i] = x[i % N] ^ (i / N); /* not periodic */
        static float steps_lp[M];
        float *fl = malloc(sizeof(float) * (size_t)M * 256);
        REQUIRE(fl);
        wn_model *big = tu_small_model(256, 11, 11, 8, 8, 16, 12); /* dilations 1..1024 */
        const wn_model *ms[2] = {m, big};
        const wn_precision precs[2] = {WN_PRECISION_I8, WN_PRECISION_F16};
        for (int mi = 0; mi < 2; mi++)
            for (int pi = 0; pi < 2; pi++) {
                const int n = mi ? M : 16000;
                const double serial = tu_fed_nll(ms[mi], precs[pi], z, (size_t)n, fl);
                double totals[3];
                for (int th = 1; th <= 3; th++) {
                    wn_score_params sp = wn_score_default_params();
                    sp.precision = precs[pi];
                    sp.threads = th;
                    REQUIRE_OK(wn_score_codes(ms[mi], z, (size_t)n, &sp, &totals[th - 1], steps_lp,
                                              &err), &err);
                }
                int differ = 0;
                for (int t = 0; t < n; t++) {
                    const float *l = fl + (size_t)t * 256;
                    float mx = l[0];
                    for (int q = 1; q < 256; q++) mx = l[q] > mx ? l[q] : mx;
                    double zz = 0;
                    for (int q = 0; q < 256; q++) zz += exp((double)l[q] - mx);
                    differ += steps_lp[t] != (float)((double)l[z[t]] - mx - log(zz));
                }
                CHECKF(differ == 0, "model %d precision %d: %d of %d samples differ from one "
                       "stream fed from the start", mi, (int)precs[pi], differ, n);
                CHECKF(totals[0] == totals[1] && totals[1] == totals[2],
                       "threads change the total: %.17g %.17g %.17g", totals[0], totals[1],
                       totals[2]);
                CHECKF(fabs(totals[0] - serial) < 1e-10 * serial, "total %.12f vs serial %.12f",
                       totals[0], serial);
            }
        wn_score_params sp = wn_score_default_params();
        sp.precision = (wn_precision)7;
        CHECK(wn_score_codes(m, z, 10, &sp, &a, NULL, &err) == WN_ERR_ARG);
        sp.precision = WN_PRECISION_I8;
        CHECK(wn_score_codes(m, bad, 3, &sp, &a, NULL, &err) == WN_ERR_ARG);
        CHECK(wn_score_codes(m, z, 0, &sp, &a, NULL, &err) == WN_OK && a == 0);
        free(fl);
        wn_model_free(big);
    }

    /* progress: samples scored, rising to the whole clip; a callback that
     * answers non-zero stops the job, at either precision */
    {
        enum { M = 20000 };
        static int z[M];
        for (int i = 0; i < M; i++) z[i] = x[i % N] ^ (i / N);
        wn_model *big = tu_small_model(256, 11, 11, 8, 8, 16, 12); /* dilations 1..1024 */
        const wn_precision precs[2] = {WN_PRECISION_F32, WN_PRECISION_I8};
        for (int pi = 0; pi < 4; pi++) { /* each precision on 1 and 2 threads */
            plog pl = {0};
            wn_score_params sp = wn_score_default_params();
            sp.precision = precs[pi % 2];
            sp.threads = 1 + pi / 2;
            sp.chunk = 4000;
            sp.progress = plog_record;
            sp.progress_user = &pl;
            double a = 0, b;
            REQUIRE_OK(wn_score_codes(big, z, M, &sp, &a, NULL, &err), &err);
            /* on 2 threads the other one may score every piece (only the
             * calling thread reports), leaving the closing call alone */
            CHECKF(pl.calls >= (sp.threads == 1 ? 2 : 1) && pl.rising && pl.last_done == M &&
                       pl.last_total == M,
                   "precision %d, %d threads: %d calls, rising %d, last %g of %g",
                   (int)sp.precision, sp.threads, pl.calls,
                   pl.rising, pl.last_done, pl.last_total);
            if (sp.threads > 1) continue; /* stopping needs a report mid-way: 1 thread */
            plog stop = {.stop_at = 1};
            sp.progress_user = &stop;
            CHECKF(wn_score_codes(big, z, M, &sp, &b, NULL, &err) == WN_ERR_INTERRUPTED &&
                       stop.calls == 1,
                   "precision %d, %d threads: stop after %d calls: %s", (int)sp.precision,
                   sp.threads, stop.calls,
                   err.message);
        }
        wn_model_free(big);
    }
    /* a receptive field (16,385) far longer than the clip (700 codes):
     * the silence before it is the steady state the generator starts from,
     * one row instead of a receptive field, with the same numbers as one
     * stream fed from silence, whatever the chunks */
    {
        enum { M = 700 };
        static int z[M];
        static float lp[M], lp2[M];
        for (int i = 0; i < M; i++) z[i] = x[i % N] ^ (i / N);
        wn_model *lr = tu_small_model(256, 14, 14, 8, 8, 16, 13);
        REQUIRE(wn_model_receptive_field(lr) == 16385);
        float *fl = malloc(sizeof(float) * (size_t)M * 256);
        REQUIRE(fl);
        const double fed = tu_fed_nll(lr, WN_PRECISION_F32, z, M, fl);
        double whole, chunked;
        wn_score_params sp = wn_score_default_params();
        REQUIRE_OK(wn_score_codes(lr, z, M, &sp, &whole, lp, &err), &err);
        sp.chunk = 64;
        sp.threads = 2;
        REQUIRE_OK(wn_score_codes(lr, z, M, &sp, &chunked, lp2, &err), &err);
        double worst = 0;
        for (int t = 0; t < M; t++) {
            const float *l = fl + (size_t)t * 256;
            float mx = l[0];
            for (int q = 1; q < 256; q++) mx = l[q] > mx ? l[q] : mx;
            double zz = 0;
            for (int q = 0; q < 256; q++) zz += exp((double)l[q] - mx);
            const double want = (double)l[z[t]] - mx - log(zz);
            worst = fmax(worst, fmax(fabs(lp[t] - want), fabs(lp2[t] - want)));
        }
        CHECKF(worst < 1e-4, "long receptive field: log-probabilities %.3g from the fed stream's",
               worst);
        CHECKF(fabs(whole - fed) < 1e-5 * fed && fabs(chunked - whole) < 1e-6 * whole,
               "long receptive field: %.9f whole, %.9f in chunks, %.9f fed", whole, chunked,
               fed);
        free(fl);
        wn_model_free(lr);
    }
    free(y);
    free(ly);
    free(lg);
    free(logp);
    wn_model_free(m);
    return tu_finish("score", 0);
}
