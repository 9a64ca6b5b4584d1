/* test_stream.c - cached generation (ring buffers, one column per layer)
 * against the teacher-forced pass: the same logits at every step. */
#include "testutil.h"
#include "kernels.h"

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

/* What a generator computed: codes and log-probabilities of n sampled
 * steps (n x B), and the logits of n teacher-forced steps (n x B x Q). */
typedef struct {
    int *codes;
    double *logp;
    float *logits;
} gen_out;

static void gen_out_free(gen_out *o)
{
    free(o->codes);
    free(o->logp);
    free(o->logits);
}

static int gen_chunk; /* when set, balanced runs take this many steps at a time */
static const char *gen_kernels; /* when set, the kernel table generators use */
static long gen_takes, gen_partial; /* their balance stats, summed */

/* A generator on m at precision prec with `threads` threads: n sampled
 * steps after priming with np codes, then, primed again, n feeds of codes
 * from x (each stream its own). */
static gen_out gen_numbers(const wn_model *m, wn_precision prec, int streams, int threads,
                           const int *prime, size_t np, const int *x, size_t n)
{
    wn_error err;
    wn_sample_params sp = wn_sample_default_params();
    sp.seed = 4242;
    wn_gen *g = wn_gen_create(m, streams, &sp, &err);
    REQUIRE(g);
    REQUIRE_OK(wn_gen_set_precision(g, prec, &err), &err);
    REQUIRE(wn_gen_precision(g) == prec);
    wn_gen_set_threads(g, threads);
    if (gen_chunk) wn__gen_set_chunk(g, gen_chunk);
    if (gen_kernels) REQUIRE(wn__gen_set_kernels(g, gen_kernels) == WN_OK);
    const int Q = wn_model_config(m).bins;
    gen_out o = {malloc(sizeof(int) * n * streams), malloc(sizeof(double) * n * streams),
                 malloc(sizeof(float) * n * streams * Q)};
    int *in = malloc(sizeof(int) * streams);
    REQUIRE(o.codes && o.logp && o.logits && in);
    REQUIRE_OK(wn_gen_prime(g, prime, np, &err), &err);
    REQUIRE(wn_gen_run(g, n, o.codes, o.logp) == WN_OK);
    REQUIRE_OK(wn_gen_prime(g, prime, np, &err), &err);
    for (size_t t = 0; t < n; t++) {
        for (int b = 0; b < streams; b++) in[b] = x[(t + (size_t)b * 7) % n] % Q;
        REQUIRE(wn_gen_feed(g, in, o.logits + t * streams * Q) == WN_OK);
    }
    long takes, partial;
    wn__gen_balance_stats(g, &takes, &partial);
    gen_takes += takes;
    gen_partial += partial;
    free(in);
    wn_gen_free(g);
    return o;
}

/* 1 when a and b are the same bytes from step t0 on; says which part
 * differs otherwise */
static int same_numbers(const gen_out *a, const gen_out *b, size_t t0, size_t n, int streams,
                        int Q, const char *what)
{
    const size_t o = t0 * streams, k = (n - t0) * streams;
    int codes = !memcmp(a->codes + o, b->codes + o, sizeof(int) * k);
    int logp = !memcmp(a->logp + o, b->logp + o, sizeof(double) * k);
    int logits = !memcmp(a->logits + o * Q, b->logits + o * Q, sizeof(float) * k * Q);
    if (!(codes && logp && logits))
        fprintf(stderr, "%s, steps %zu..%zu: codes %s, logp %s, logits %s (max rel. logit "
                "difference %.3g)\n", what, t0, n - 1, codes ? "same" : "DIFFER",
                logp ? "same" : "DIFFER", logits ? "same" : "DIFFER",
                tu_maxrel(a->logits + o * Q, b->logits + o * Q, k * (size_t)Q));
    return codes && logp && logits;
}

/* A part of one stream makes tap 0's products d steps at a time; a part of
 * several runs both taps every step. Same FMA chain per output: the same
 * bits for any split of the streams, at both precisions, also when the
 * split changes halfway (the queue of tap-0 products is then remade). */
static void split_checks(const int *x)
{
    enum { BINS = 256, LAYERS = 12, STACK = 6, R = 16, D = 24, S = 40 };
    wn_model *m = tu_small_model(BINS, LAYERS, STACK, R, D, S, 77);
    const size_t N = (size_t)wn_model_receptive_field(m) + 150; /* every d wraps */
    const wn_precision precs[3] = {WN_PRECISION_F32, WN_PRECISION_F16, WN_PRECISION_I8};
    for (int prec = 0; prec < 3; prec++) {
        const wn_precision p = precs[prec];
        gen_out one = gen_numbers(m, p, 4, 1, x + 200, 40, x, N);  /* a part of 4 */
        gen_out four = gen_numbers(m, p, 4, 4, x + 200, 40, x, N); /* 4 parts of 1 */
        gen_out mixed = gen_numbers(m, p, 4, 3, x + 200, 40, x, N); /* 1, 1, 2 */
        gen_out alone = gen_numbers(m, p, 1, 1, x + 200, 40, x, N);
        CHECK(same_numbers(&one, &four, 0, N, 4, BINS, "4 streams: 1 part vs 4"));
        CHECK(same_numbers(&one, &mixed, 0, N, 4, BINS, "4 streams: 1 part vs 3"));
        int same0 = 1; /* stream 0 of four is the stream alone (same seed and inputs) */
        for (size_t t = 0; t < N; t++) {
            same0 &= one.codes[t * 4] == alone.codes[t] && one.logp[t * 4] == alone.logp[t];
            same0 &= !memcmp(one.logits + t * 4 * BINS, alone.logits + t * BINS,
                             sizeof(float) * BINS);
        }
        CHECKF(same0, "stream 0 of 4 differs from one stream alone (precision %d)", prec);
        /* threads changed in the middle of a run */
        wn_error err;
        wn_sample_params sp = wn_sample_default_params();
        sp.seed = 4242;
        wn_gen *g = wn_gen_create(m, 4, &sp, &err);
        REQUIRE(g);
        REQUIRE_OK(wn_gen_set_precision(g, p, &err), &err);
        REQUIRE_OK(wn_gen_prime(g, x + 200, 40, &err), &err);
        int *codes = malloc(sizeof(int) * N * 4);
        double *lp = malloc(sizeof(double) * N * 4);
        REQUIRE(codes && lp);
        /* 4 parts of 1, one of 4, then balanced runs in groups of 2: at
         * int8 each change regroups the queues (stream-group blocks) */
        const size_t cut[4] = {N / 4 + 5, N / 2 + 1, 3 * N / 4 + 3, N};
        const int threads[4] = {4, 1, 2, 4};
        size_t done = 0;
        for (int c = 0; c < 4; c++) {
            wn_gen_set_threads(g, threads[c]);
            REQUIRE(wn_gen_run(g, cut[c] - done, codes + done * 4, lp + done * 4) == WN_OK);
            done = cut[c];
        }
        CHECKF(!memcmp(codes, one.codes, sizeof(int) * N * 4) &&
                   !memcmp(lp, one.logp, sizeof(double) * N * 4),
               "threads 4 -> 1 -> 2 -> 4 during a run changed the numbers (precision %d)", prec);
        free(codes);
        free(lp);
        wn_gen_free(g);
        gen_out_free(&one);
        gen_out_free(&four);
        gen_out_free(&mixed);
        gen_out_free(&alone);
    }
    wn_model_free(m);
}

/* Balanced runs (more streams than threads, several threads): threads
 * take runs of streams a few steps at a time, the runs shrinking as
 * streams finish, so which thread computes which stream at which step
 * changes from run to run. The numbers must not: the same bytes as one
 * thread. 5 streams on 2 threads start with runs of 3 and 2 (fewer than a
 * part holds), so the shrunken runs are always exercised. */
static void balance_checks(const int *x)
{
    enum { BINS = 256, LAYERS = 8, STACK = 4, R = 16, D = 24, S = 40 };
    wn_model *m = tu_small_model(BINS, LAYERS, STACK, R, D, S, 78);
    const size_t N = (size_t)wn_model_receptive_field(m) + 120;
    const wn_precision precs[2] = {WN_PRECISION_F32, WN_PRECISION_I8};
    const int cases[3][3] = {{8, 2, 3}, {5, 2, 2}, {7, 3, 1}}; /* streams, threads, chunk */
    for (int prec = 0; prec < 2; prec++) {
        gen_out ref = gen_numbers(m, precs[prec], 8, 1, x + 200, 40, x, N);
        for (int c = 0; c < 3; c++) {
            const int B = cases[c][0], T = cases[c][1];
            gen_chunk = cases[c][2];
            gen_takes = gen_partial = 0;
            gen_out o = gen_numbers(m, precs[prec], B, T, x + 200, 40, x, N);
            gen_chunk = 0;
            CHECKF(gen_takes >= (long)((N + 2) / 3) && (B != 5 || gen_partial > 0),
                   "%d streams on %d threads: %ld runs taken, %ld partial", B, T, gen_takes,
                   gen_partial);
            int same = 1; /* stream b of B is stream b of the reference's 8 */
            for (size_t t = 0; t < N; t++)
                for (int b = 0; b < B; b++) {
                    same &= o.codes[t * B + b] == ref.codes[t * 8 + b] &&
                            o.logp[t * B + b] == ref.logp[t * 8 + b];
                    same &= !memcmp(o.logits + (t * B + b) * BINS, ref.logits + (t * 8 + b) * BINS,
                                    sizeof(float) * BINS);
                }
            CHECKF(same, "%d streams on %d threads (balanced, chunks of %d) differ from 1 thread "
                   "(precision %d)", B, T, cases[c][2], (int)precs[prec]);
            gen_out_free(&o);
        }
        gen_out_free(&ref);
    }
    wn_model_free(m);
}

/* Half-precision weights: a generator at WN_PRECISION_F16 computes exactly
 * what WN_PRECISION_F32 computes on the model after wn_model_round. */
static void precision_checks(const int *x)
{
    /* widths chosen so that panels of 64, 32, 8 and the 4-, 2- and 1-row
     * blocks of the kernels all occur */
    enum { BINS = 256, LAYERS = 12, STACK = 6, R = 16, D = 24, S = 40 };
    const uint64_t seed = 31;
    wn_error err;
    wn_model *m = tu_small_model(BINS, LAYERS, STACK, R, D, S, seed);
    wn_model *mr = tu_small_model(BINS, LAYERS, STACK, R, D, S, seed); /* to be rounded */
    const size_t np_ = wn_model_param_count(m);
    REQUIRE(!memcmp(wn_model_params(m), wn_model_params(mr), sizeof(float) * np_));
    const float *orig = wn_model_params(m);

    /* rounding: the streamed weights become halves, biases and the causal
     * embedding stay; some weights change; twice is once */
    REQUIRE_OK(wn_model_round(mr, WN_PRECISION_F16, &err), &err);
    const float *rp = wn_model_params(mr);
    size_t changed = 0, wrong = 0;
    for (int i = 0; i < wn_model_tensor_count(m); i++) {
        const char *name = wn_model_tensor_name(m, i);
        int ndim, shape[3];
        size_t off, cnt = wn_model_tensor_info(m, name, &ndim, shape, &off);
        REQUIRE(cnt > 0);
        int keep = strstr(name, ".bias") || !strncmp(name, "causal", 6);
        for (size_t k = off; k < off + cnt; k++) {
            float want = keep ? orig[k] : wn__f16_to_f32(wn__f32_to_f16(orig[k]));
            if (memcmp(&rp[k], &want, sizeof(float)) && wrong++ < 5)
                fprintf(stderr, "round: %s[%zu] = %a, want %a (was %a)\n", name, k - off,
                        rp[k], want, orig[k]);
            changed += rp[k] != orig[k];
        }
    }
    CHECKF(wrong == 0, "%zu parameters rounded wrongly", wrong);
    CHECKF(changed > np_ / 2, "rounding changed only %zu of %zu parameters", changed, np_);
    float *once = malloc(sizeof(float) * np_);
    REQUIRE(once);
    memcpy(once, rp, sizeof(float) * np_);
    REQUIRE_OK(wn_model_round(mr, WN_PRECISION_F16, &err), &err);
    CHECK(!memcmp(once, wn_model_params(mr), sizeof(float) * np_));
    REQUIRE_OK(wn_model_round(mr, WN_PRECISION_F32, &err), &err); /* F32: nothing to do */
    CHECK(!memcmp(once, wn_model_params(mr), sizeof(float) * np_));
    CHECK(wn_model_round(mr, (wn_precision)7, &err) == WN_ERR_ARG);
    free(once);
    /* the rounded model is close to the original, but not the same */
    {
        enum { T = 300 };
        float *l0 = malloc(sizeof(float) * T * BINS), *l1 = malloc(sizeof(float) * T * BINS);
        REQUIRE(l0 && l1);
        REQUIRE_OK(wn_model_logits(m, x, T, l0, &err), &err);
        REQUIRE_OK(wn_model_logits(mr, x, T, l1, &err), &err);
        double e = tu_maxrel(l1, l0, (size_t)T * BINS);
        fprintf(stderr, "rounded to half: logits differ by %.3g (relative)\n", e);
        CHECKF(e > 0 && e < 1e-2, "rounded model's logits: %g", e);
        free(l0);
        free(l1);
    }

    /* F16 on m == F32 on the rounded copy, bit for bit: one stream, and
     * five (rows in a block of 4 and one alone) on 1 and 2 threads, with
     * silence and with a prime. Once the receptive field has gone by, the
     * rings hold only what the per-sample kernels computed; before that
     * they hold what the prime computed, which must be the rounded
     * model's numbers too. */
    const int rf = wn_model_receptive_field(m);
    const size_t N = (size_t)rf + 100;
    const int configs[][3] = {{1, 1, 0}, {5, 1, 0}, {5, 2, 0}, {1, 1, 50}, {5, 2, 50}};
    for (size_t c = 0; c < sizeof configs / sizeof configs[0]; c++) {
        const int B = configs[c][0], th = configs[c][1], np = configs[c][2];
        gen_out h = gen_numbers(m, WN_PRECISION_F16, B, th, x + 200, (size_t)np, x, N);
        gen_out f = gen_numbers(mr, WN_PRECISION_F32, B, th, x + 200, (size_t)np, x, N);
        char what[96];
        snprintf(what, sizeof what, "F16 vs rounded F32, %d streams, %d threads, prime %d", B,
                 th, np);
        CHECKF(same_numbers(&h, &f, (size_t)rf, N, B, BINS, what), "%s, after the RF", what);
        CHECKF(same_numbers(&h, &f, 0, N, B, BINS, what), "%s, from the first step", what);
        /* the half weights are not the float ones: logits differ from m's */
        gen_out o = gen_numbers(m, WN_PRECISION_F32, B, th, x + 200, (size_t)np, x, N);
        CHECKF(memcmp(o.logits, h.logits, sizeof(float) * N * B * BINS), "%s: F16 == F32", what);
        gen_out_free(&h);
        gen_out_free(&f);
        gen_out_free(&o);
    }

    /* back to F32: the F32 numbers again, bit for bit; the precision is per
     * generator and the model is not changed */
    {
        wn_sample_params sp = wn_sample_default_params();
        wn_gen *g = wn_gen_create(m, 5, &sp, &err), *g0 = wn_gen_create(m, 5, &sp, &err);
        REQUIRE(g && g0);
        CHECK(wn_gen_precision(g) == WN_PRECISION_F32);
        REQUIRE_OK(wn_gen_set_precision(g, WN_PRECISION_F16, &err), &err);
        CHECK(wn_gen_precision(g) == WN_PRECISION_F16);
        REQUIRE_OK(wn_gen_set_precision(g, WN_PRECISION_F16, &err), &err); /* again: no-op */
        CHECK(wn_gen_set_precision(g, (wn_precision)7, &err) == WN_ERR_ARG);
        CHECK(wn_gen_precision(g) == WN_PRECISION_F16);
        REQUIRE_OK(wn_gen_set_precision(g, WN_PRECISION_F32, &err), &err);
        CHECK(wn_gen_precision(g) == WN_PRECISION_F32);
        enum { T = 120 };
        int c[5 * T], c0[5 * T];
        double lp[5 * T], lp0[5 * T];
        REQUIRE(wn_gen_run(g, T, c, lp) == WN_OK && wn_gen_run(g0, T, c0, lp0) == WN_OK);
        CHECK(!memcmp(c, c0, sizeof c) && !memcmp(lp, lp0, sizeof lp));
        /* a change in the middle of a run restarts the streams from
         * silence: to F16 and straight back, g then feeds exactly like a
         * fresh generator (feeding uses no RNG) */
        REQUIRE_OK(wn_gen_set_precision(g, WN_PRECISION_F16, &err), &err);
        REQUIRE_OK(wn_gen_set_precision(g, WN_PRECISION_F32, &err), &err);
        wn_gen *fresh = wn_gen_create(m, 5, &sp, &err);
        REQUIRE(fresh);
        float lg[5 * BINS], lg0[5 * BINS];
        int in[5] = {1, 2, 3, 4, 200};
        for (int k = 0; k < 40; k++) {
            REQUIRE(wn_gen_feed(g, in, lg) == WN_OK && wn_gen_feed(fresh, in, lg0) == WN_OK);
            CHECKF(!memcmp(lg, lg0, sizeof lg), "feed %d after F32 -> F16 -> F32", k);
            for (int b = 0; b < 5; b++) in[b] = (in[b] * 37 + k) % BINS;
        }
        wn_gen_free(fresh);
        CHECK(!memcmp(orig, wn_model_params(m), sizeof(float) * np_));
        wn_gen_free(g);
        wn_gen_free(g0);
    }
    wn_model_free(mr);

    /* a weight beyond half range (|w| >= 65520 becomes infinite): both
     * refuse with WN_ERR_RANGE and change nothing; the generator goes on
     * at F32 */
    const char *dil = NULL;
    for (int i = 0; i < wn_model_tensor_count(m) && !dil; i++)
        if (strstr(wn_model_tensor_name(m, i), "dilated.weight")) dil = wn_model_tensor_name(m, i);
    REQUIRE(dil);
    int ndim, shape[3];
    size_t cnt = wn_model_tensor_info(m, dil, &ndim, shape, NULL);
    float *t = malloc(sizeof(float) * cnt), *before = malloc(sizeof(float) * np_);
    REQUIRE(t && before);
    /* 65519.99 still rounds to 65504, 65520 does not (the float below
     * 65520 is 65519.996) */
    const float big[] = {70000.0f, -70000.0f, 65520.0f, 65519.99f};
    for (int v = 0; v < 4; v++) {
        const int ok = fabsf(big[v]) < 65520.0f;
        REQUIRE(wn_model_tensor_get(m, dil, NULL, t) == cnt);
        t[cnt / 3] = big[v];
        REQUIRE_OK(wn_model_set_tensor(m, dil, t, cnt, &err), &err);
        memcpy(before, wn_model_params(m), sizeof(float) * np_);
        wn_sample_params sp = wn_sample_default_params();
        wn_gen *g = wn_gen_create(m, 2, &sp, &err), *g0 = wn_gen_create(m, 2, &sp, &err);
        REQUIRE(g && g0);
        int rc = wn_gen_set_precision(g, WN_PRECISION_F16, &err);
        CHECKF(rc == (ok ? WN_OK : WN_ERR_RANGE), "gen_set_precision, weight %g: %d", big[v], rc);
        if (ok) {
            REQUIRE_OK(wn_gen_set_precision(g, WN_PRECISION_F32, &err), &err);
        } else {
            CHECK(wn_gen_precision(g) == WN_PRECISION_F32);
        }
        int c[2 * 50], c0[2 * 50];
        double lp[2 * 50], lp0[2 * 50];
        REQUIRE(wn_gen_run(g, 50, c, lp) == WN_OK && wn_gen_run(g0, 50, c0, lp0) == WN_OK);
        CHECKF(!memcmp(c, c0, sizeof c) && !memcmp(lp, lp0, sizeof lp),
               "generation after set_precision with weight %g", big[v]);
        wn_gen_free(g);
        wn_gen_free(g0);
        rc = wn_model_round(m, WN_PRECISION_F16, &err);
        CHECKF(rc == (ok ? WN_OK : WN_ERR_RANGE), "model_round, weight %g: %d", big[v], rc);
        if (!ok) CHECK(!memcmp(before, wn_model_params(m), sizeof(float) * np_));
        else { /* rounded, kept finite */
            REQUIRE(wn_model_tensor_get(m, dil, NULL, t) == cnt);
            CHECK(t[cnt / 3] == 65504.0f);
        }
    }
    free(t);
    free(before);
    wn_model_free(m);
}

/* int8 products: its own numbers, so no bitwise reference but itself.
 * Priming (run through the int8 steps) leaves exactly the state that
 * feeding the same codes after silence does; the numbers stay within the
 * rounding of 8 bits of the float32 ones; rounding a model to int8 is
 * refused with a reason. */
static void int8_checks(const int *x, int r, int d, int sk)
{
    enum { BINS = 256 };
    wn_model *m = tu_small_model(BINS, 12, 6, r, d, sk, 78);
    const int rf = wn_model_receptive_field(m), np = 90, n = 300;
    wn_error err;
    wn_gen *a = wn_gen_create(m, 2, NULL, &err), *b = wn_gen_create(m, 2, NULL, &err);
    REQUIRE(a && b);
    REQUIRE_OK(wn_gen_set_precision(a, WN_PRECISION_I8, &err), &err);
    REQUIRE_OK(wn_gen_set_precision(b, WN_PRECISION_I8, &err), &err);
    CHECK(wn_gen_precision(a) == WN_PRECISION_I8);
    /* a: primed with p; b: from silence, fed silence then p but its last */
    const int *p = x + 400;
    REQUIRE_OK(wn_gen_prime(a, p, (size_t)np, &err), &err);
    float *la = malloc(sizeof(float) * 2 * BINS), *lb = malloc(sizeof(float) * 2 * BINS);
    REQUIRE(la && lb);
    int in[2] = {wn_mulaw_silence(BINS), wn_mulaw_silence(BINS)};
    REQUIRE(wn_gen_feed(b, in, lb) == WN_OK);
    for (int t = 0; t + 1 < np; t++) {
        in[0] = in[1] = p[t];
        REQUIRE(wn_gen_feed(b, in, lb) == WN_OK);
    }
    int same = 1;
    for (int t = 0; t < n; t++) {
        in[0] = in[1] = t ? x[t - 1] : p[np - 1];
        REQUIRE(wn_gen_feed(a, in, la) == WN_OK);
        REQUIRE(wn_gen_feed(b, in, lb) == WN_OK);
        same &= !memcmp(la, lb, sizeof(float) * 2 * BINS);
        same &= !memcmp(la, la + BINS, sizeof(float) * BINS); /* the streams alike */
    }
    CHECKF(same, "int8: prime of %d codes differs from feeding them (receptive field %d)", np,
           rf);
    /* a prime longer than the receptive field, and again after sampling */
    int *codes = malloc(sizeof(int) * 2 * 50);
    REQUIRE(codes);
    REQUIRE(wn_gen_run(a, 50, codes, NULL) == WN_OK);
    REQUIRE_OK(wn_gen_prime(a, x, (size_t)rf + 100, &err), &err);
    REQUIRE_OK(wn_gen_prime(b, x + 100, (size_t)rf, &err), &err); /* the same last RF codes */
    in[0] = in[1] = 17;
    REQUIRE(wn_gen_feed(a, in, la) == WN_OK);
    REQUIRE(wn_gen_feed(b, in, lb) == WN_OK);
    CHECK(!memcmp(la, lb, sizeof(float) * 2 * BINS));
    /* int8 -> f32 -> int8 (the queues change kind each time): each feeds
     * like a fresh generator of that precision */
    for (int rep = 0; rep < 2; rep++) {
        const wn_precision p2 = rep ? WN_PRECISION_I8 : WN_PRECISION_F32;
        wn_gen *fresh = wn_gen_create(m, 2, NULL, &err);
        REQUIRE(fresh);
        REQUIRE_OK(wn_gen_set_precision(fresh, p2, &err), &err);
        REQUIRE_OK(wn_gen_set_precision(a, p2, &err), &err);
        REQUIRE_OK(wn_gen_prime(a, p, (size_t)np, &err), &err);
        REQUIRE_OK(wn_gen_prime(fresh, p, (size_t)np, &err), &err);
        int sw = 1;
        for (int t = 0; t < 40; t++) {
            in[0] = in[1] = x[t];
            REQUIRE(wn_gen_feed(a, in, la) == WN_OK);
            REQUIRE(wn_gen_feed(fresh, in, lb) == WN_OK);
            sw &= !memcmp(la, lb, sizeof(float) * 2 * BINS);
        }
        CHECKF(sw, "after switching to precision %d the numbers differ from a fresh generator",
               (int)p2);
        wn_gen_free(fresh);
    }
    free(codes);
    free(la);
    free(lb);
    wn_gen_free(a);
    wn_gen_free(b);
    /* close to float32: logits and the likelihood of a signal */
    float *l32 = malloc(sizeof(float) * (size_t)n * BINS), *l8 = malloc(sizeof(float) * (size_t)n * BINS);
    REQUIRE(l32 && l8);
    const double b32 = tu_fed_nll(m, WN_PRECISION_F32, x, (size_t)n, l32) / n / log(2);
    const double b8 = tu_fed_nll(m, WN_PRECISION_I8, x, (size_t)n, l8) / n / log(2);
    double worst = 0, spread = 0;
    for (size_t i = 0; i < (size_t)n * BINS; i++) {
        worst = fmax(worst, fabs(l32[i] - l8[i]));
        spread = fmax(spread, fabs(l32[i]));
    }
    fprintf(stderr, "int8 (R=%d, D=%d, S=%d): %.4f bits/sample vs %.4f at f32; logits within %.3g (of %.3g)\n",
            r, d, sk, b8, b32, worst, spread);
    CHECKF(fabs(b8 - b32) < 0.02, "int8 costs %.4f bits/sample", b8 - b32);
    CHECKF(worst < 0.05 * spread && worst > 0, "int8 logits differ by %g", worst);
    free(l32);
    free(l8);
    /* not a rounding of the weights */
    wn_error e2;
    CHECK(wn_model_round(m, WN_PRECISION_I8, &e2) == WN_ERR_ARG && strstr(e2.message, "int8"));
    wn_model_free(m);
}

/* Every kernel table this CPU runs, through whole generation steps (not
 * only kernel by kernel, as test_kernels does), against the scalar
 * reference table: the logits of the same fed codes at every precision,
 * for one stream (tap 0 made d steps at a time) and for 5 streams on 2
 * threads (the 4- and 1-row shapes). At int8 they must be the same bits,
 * and so must the sampled codes and their log-probabilities (exact integer
 * sums, one rounding per output, the same gate_lo, quantiser and softmax
 * exps on every table): int8 generation does not depend on the CPU. In
 * float32 and f16 the tables sum in other orders. */
static void table_checks(const int *x, int BINS, int R, int D, int S)
{
    enum { LAYERS = 8, STACK = 4, N = 150 };
    wn_model *m = tu_small_model(BINS, LAYERS, STACK, R, D, S, 77);
    fprintf(stderr, "tables: Q=%d R=%d D=%d S=%d\n", BINS, R, D, S);
    static const char *names[] = {"avx2", "avx512"};
    static const wn_precision precs[] = {WN_PRECISION_F32, WN_PRECISION_F16, WN_PRECISION_I8};
    static const double tol[] = {1e-5, 1e-5, 0};
    int tried = 0;
    for (int n = 0; n < 2; n++) {
        if (!wn__kernels_named(names[n])) continue;
        for (int pi = 0; pi < 3; pi++)
            for (int streams = 1; streams <= 5; streams += 4) {
                gen_kernels = "scalar";
                gen_out ref = gen_numbers(m, precs[pi], streams, 2, NULL, 0, x, N);
                gen_kernels = names[n];
                gen_out got = gen_numbers(m, precs[pi], streams, 2, NULL, 0, x, N);
                gen_kernels = NULL;
                const size_t k = (size_t)N * streams * BINS;
                const double e = tu_maxrel(got.logits, ref.logits, k);
                fprintf(stderr, "table %s against scalar, precision %d, %d stream(s): %.3g\n",
                        names[n], (int)precs[pi], streams, e);
                if (precs[pi] == WN_PRECISION_I8)
                    CHECKF(same_numbers(&got, &ref, 0, N, streams, BINS, names[n]),
                           "table %s, int8, %d stream(s): codes, logp or logits differ",
                           names[n], streams);
                else
                    CHECKF(e < tol[pi], "table %s, precision %d, %d stream(s): logits differ by %g",
                           names[n], (int)precs[pi], streams, e);
                tried++;
                gen_out_free(&ref);
                gen_out_free(&got);
            }
    }
    fprintf(stderr, "%d table comparisons\n", tried);
    wn_error err;
    wn_gen *g = wn_gen_create(m, 1, NULL, &err);
    REQUIRE(g);
    CHECK(wn__gen_set_kernels(g, "no-such-table") == WN_ERR_ARG);
    wn_gen_free(g);
    wn_model_free(m);
}

/* A model whose logits overflow (finite weights, infinite products):
 * generation fails with WN_ERR_NONFINITE at every precision and thread
 * count, as scoring does, instead of drawing a constant code with a NaN
 * log-probability. */
static void overflowing_model(void)
{
    wn_model *m = tu_small_model(64, 4, 2, 8, 8, 16, 5);
    int ndim, shape[3];
    size_t n = wn_model_tensor_info(m, "head.1.weight", &ndim, shape, NULL);
    float *w = malloc(n * sizeof *w);
    REQUIRE(w);
    for (size_t i = 0; i < n; i++) w[i] = 3e38f;
    wn_error err;
    REQUIRE_OK(wn_model_set_tensor(m, "head.1.weight", w, n, &err), &err);
    /* head.1's inputs, relu(head.0), all at least 1000 */
    float b0[16];
    for (int i = 0; i < 16; i++) b0[i] = 1000.0f;
    REQUIRE_OK(wn_model_set_tensor(m, "head.0.bias", b0, 16, &err), &err);
    free(w);
    const wn_precision precs[] = {WN_PRECISION_F32, WN_PRECISION_I8};
    for (int pi = 0; pi < 2; pi++)
        for (int streams = 1; streams <= 3; streams += 2) {
            wn_sample_params sp = wn_sample_default_params();
            wn_gen *g = wn_gen_create(m, streams, &sp, &err);
            REQUIRE(g);
            REQUIRE_OK(wn_gen_set_precision(g, precs[pi], &err), &err);
            wn_gen_set_threads(g, streams > 1 ? 2 : 1);
            REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
            int codes[3 * 20];
            double lp[3 * 20];
            CHECKF(wn_gen_run(g, 20, codes, lp) == WN_ERR_NONFINITE, "precision %d, %d streams",
                   (int)precs[pi], streams);
            wn_gen_free(g);
        }
    int codes[50] = {0};
    double nll;
    CHECK(wn_score_codes(m, codes, 50, NULL, &nll, NULL, &err) == WN_ERR_NONFINITE);
    wn_model_free(m);
}

int main(void)
{
    overflowing_model();
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

    split_checks(x);
    balance_checks(x);
    table_checks(x, 64, 16, 24, 40);
    /* a gate row that ends in D % 8 elements, output blocks of fewer than 8 */
    table_checks(x, 50, 12, 20, 36);
    precision_checks(x);
    int8_checks(x, 16, 24, 40);
    /* widths whose inputs end in an odd group of 4 (the kernels' other path) */
    int8_checks(x, 12, 20, 36);
    return tu_finish("stream", 0);
}
