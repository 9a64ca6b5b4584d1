/* test_stream_cond.c - conditional generation (stream_cond.c): a tiny
 * model with log-mel features (and the frames conv) and speakers, its
 * cached steps against the teacher-forced logits of wn_model_logits_cond
 * at every step, from silence and from a prime, several streams each with
 * its own features and speaker; at half precision against the rounded
 * model, at int8 against wn_score_codes (the same steps, in chunks that
 * start mid-utterance); sampling independent of the thread count; the
 * clock, stopped streams and the refusals. */
#include "testutil.h"
#include "layers.h"

#include <math.h>
#include <string.h>

enum { BANDS = 5, HOP = 8, SPEAKERS = 3 };

static wn_model *cond_model(int mel, int spk, uint64_t seed)
{
    wn_config c = wn_config_default();
    c.bins = 64, c.layers = 6, c.stack = 3, c.residual = 8, c.dilation = 8, c.skip = 16;
    if (mel) c.cond = BANDS, c.hop = HOP, c.upsample_pre = 1, c.cond_channels = 3; /* 5 -> 3 */
    if (spk) c.speakers = SPEAKERS, c.speaker_dim = 4;
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    if (!m) {
        fprintf(stderr, "cond_model: %s\n", err.message);
        exit(1);
    }
    if (mel) { /* a normalisation that is not the identity */
        float mean[BANDS], std[BANDS];
        for (int i = 0; i < BANDS; i++) mean[i] = -3.0f + 0.25f * i, std[i] = 1.5f + 0.1f * i;
        REQUIRE_OK(wn_model_set_feature_norm(m, mean, std, &err), &err);
    }
    return m;
}

/* frames x BANDS log-mel-like values */
static float *features(size_t frames, uint64_t seed)
{
    float *f = malloc(sizeof(float) * frames * BANDS);
    REQUIRE(f);
    for (size_t i = 0; i < frames * BANDS; i++)
        f[i] = (float)(-7.0 + 6.0 * wn__uniform_for_tests(&seed));
    return f;
}

/* a random walk over the codes */
static int *walk(size_t n, int Q, uint64_t seed)
{
    int *x = malloc(sizeof(int) * n);
    REQUIRE(x);
    int v = Q / 2;
    for (size_t i = 0; i < n; i++) {
        v += (int)(wn__uniform_for_tests(&seed) * 9) - 4;
        v = v < 0 ? 0 : v >= Q ? Q - 1 : v;
        x[i] = v;
    }
    return x;
}

/* B streams, stream b with conds[b] and inputs x[b] (n codes) after the
 * prime (np codes, the same for all): the worst relative difference of
 * the cached logits (generator on m at prec, `threads` threads) from the
 * teacher-forced logits of ref at every step. */
static double cached_vs_forced(const wn_model *m, const wn_model *ref, wn_precision prec, int B,
                               int threads, const wn_cond *conds, const int *prime, size_t np,
                               int *const *x, size_t n)
{
    wn_error err;
    const int Q = wn_model_config(m).bins;
    float **want = malloc(sizeof(float *) * (size_t)B);
    int *all = malloc(sizeof(int) * (np + n));
    REQUIRE(want && all);
    for (int b = 0; b < B; b++) {
        memcpy(all, prime, sizeof(int) * np);
        memcpy(all + np, x[b], sizeof(int) * n);
        REQUIRE(want[b] = malloc(sizeof(float) * (np + n) * Q));
        REQUIRE_OK(wn_model_logits_cond(ref, all, np + n, &conds[b], want[b], &err), &err);
    }
    wn_gen *g = wn_gen_create(m, B, NULL, &err);
    REQUIRE(g);
    REQUIRE_OK(wn_gen_set_precision(g, prec, &err), &err);
    wn_gen_set_threads(g, threads);
    /* odd streams read the caller's features in place: the same numbers */
    for (int b = 0; b < B; b++)
        REQUIRE_OK((b % 2 ? wn_gen_use_cond : wn_gen_set_cond)(g, b, &conds[b], &err), &err);
    REQUIRE_OK(wn_gen_prime(g, prime, np, &err), &err);
    for (int b = 0; b < B; b++) CHECK(wn_gen_clock(g, b) == (int64_t)np);
    float *lg = malloc(sizeof(float) * (size_t)B * Q);
    int *in = malloc(sizeof(int) * (size_t)B);
    REQUIRE(lg && in);
    double worst = 0;
    for (size_t t = 0; t < n; t++) {
        for (int b = 0; b < B; b++)
            in[b] = t ? x[b][t - 1] : np ? prime[np - 1] : wn_mulaw_silence(Q);
        int rc = wn_gen_feed(g, in, lg);
        CHECKF(rc == WN_OK, "feed %zu: %s", t, wn_gen_last_error(g));
        if (rc != WN_OK) break;
        for (int b = 0; b < B; b++) {
            double e = tu_maxrel(lg + (size_t)b * Q, want[b] + (np + t) * Q, (size_t)Q);
            worst = e > worst ? e : worst;
        }
    }
    for (int b = 0; b < B; b++) CHECK(wn_gen_clock(g, b) == (int64_t)(np + n));
    wn_gen_free(g);
    for (int b = 0; b < B; b++) free(want[b]);
    free(want);
    free(all);
    free(lg);
    free(in);
    return worst;
}

/* The cached steps against teacher forcing, at f32 and (against the
 * rounded model) f16, for models with features and speakers, features
 * alone and speakers alone. */
static void forced_checks(void)
{
    const int kinds[3][2] = {{1, 1}, {1, 0}, {0, 1}}; /* mel, speakers */
    enum { B = 3, N = 1300, NP = 40 }; /* N: past a chunk of upsampled rows (1,024) */
    for (int k = 0; k < 3; k++) {
        const int mel = kinds[k][0], spk = kinds[k][1];
        wn_model *m = cond_model(mel, spk, 11 + (uint64_t)k);
        wn_model *mr = cond_model(mel, spk, 11 + (uint64_t)k);
        wn_error err;
        REQUIRE_OK(wn_model_round(mr, WN_PRECISION_F16, &err), &err);
        const int Q = wn_model_config(m).bins;
        const size_t F = wn_model_cond_frames(m, NP + N) + 2;
        float *f[B];
        int *x[B];
        wn_cond conds[B];
        for (int b = 0; b < B; b++) {
            f[b] = mel ? features(F, 100 + (uint64_t)b) : NULL;
            x[b] = walk(N, Q, 200 + (uint64_t)b);
            conds[b] = (wn_cond){f[b], mel ? F : 0, spk ? (b + 1) % SPEAKERS : -1, mel ? BANDS : 0};
        }
        int *prime = walk(NP, Q, 300);
        /* the conditioning matters: stream 0's and 1's logits differ */
        {
            float *l0 = malloc(sizeof(float) * N * Q), *l1 = malloc(sizeof(float) * N * Q);
            REQUIRE(l0 && l1);
            REQUIRE_OK(wn_model_logits_cond(m, x[0], N, &conds[0], l0, &err), &err);
            REQUIRE_OK(wn_model_logits_cond(m, x[0], N, &conds[1], l1, &err), &err);
            double d = tu_maxrel(l0, l1, (size_t)N * Q);
            CHECKF(d > 1e-2, "kind %d: the conditioning changes the logits by %g only", k, d);
            free(l0);
            free(l1);
        }
        const size_t nps[2] = {0, NP};
        for (int p = 0; p < 2; p++)
            for (int th = 1; th <= 2; th++) {
                double e = cached_vs_forced(m, m, WN_PRECISION_F32, B, th, conds, prime, nps[p],
                                            x, N);
                CHECKF(e < 1e-4, "kind %d f32, prime %zu, %d threads: %g", k, nps[p], th, e);
                double h = cached_vs_forced(m, mr, WN_PRECISION_F16, B, th, conds, prime,
                                            nps[p], x, N);
                CHECKF(h < 1e-4, "kind %d f16, prime %zu, %d threads: %g", k, nps[p], th, h);
                if (th == 1)
                    fprintf(stderr, "kind %d (mel %d, speakers %d), prime %zu: f32 %.2g, f16 "
                            "against the rounded model %.2g\n", k, mel, spk, nps[p], e, h);
            }
        for (int b = 0; b < B; b++) {
            free(f[b]);
            free(x[b]);
        }
        free(prime);
        wn_model_free(m);
        wn_model_free(mr);
    }
}

/* int8 has no teacher-forced twin: one stream fed from silence against
 * wn_score_codes at int8, whose chunks (streams of a group, started from
 * silence mid-utterance, wn_gen_set_clock) must give the same
 * log-probabilities, bit for bit; f16 scoring too, and near the rounded
 * model's f32 score. */
static void score_checks(void)
{
    wn_model *m = cond_model(1, 1, 21), *mr = cond_model(1, 1, 21);
    wn_error err;
    REQUIRE_OK(wn_model_round(mr, WN_PRECISION_F16, &err), &err);
    const int Q = wn_model_config(m).bins;
    enum { N = 4500 }; /* 4 chunks of at least 1,024 codes */
    const size_t F = wn_model_cond_frames(m, N);
    float *f = features(F, 5);
    int *x = walk(N, Q, 6);
    const wn_cond c = {f, F, 2, BANDS};
    const wn_precision precs[2] = {WN_PRECISION_I8, WN_PRECISION_F16};
    float *lp = malloc(sizeof(float) * N), *lg = malloc(sizeof(float) * Q);
    REQUIRE(lp && lg);
    for (int pi = 0; pi < 2; pi++) {
        wn_score_params sp = wn_score_default_params();
        sp.precision = precs[pi];
        sp.cond = &c;
        sp.threads = 2;
        double nll;
        REQUIRE_OK(wn_score_codes(m, x, N, &sp, &nll, lp, &err), &err);
        wn_gen *g = wn_gen_create(m, 1, NULL, &err);
        REQUIRE(g);
        REQUIRE_OK(wn_gen_set_precision(g, precs[pi], &err), &err);
        REQUIRE_OK(wn_gen_set_cond(g, 0, &c, &err), &err);
        REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
        size_t differ = 0;
        double sum = 0;
        for (size_t t = 0; t < N; t++) {
            int in = t ? x[t - 1] : wn_mulaw_silence(Q);
            REQUIRE(wn_gen_feed(g, &in, lg) == WN_OK);
            const double l = log_softmax_at(lg, Q, x[t], NULL);
            sum -= l;
            if ((float)l != lp[t] && differ++ < 3)
                fprintf(stderr, "precision %d, sample %zu: fed %.9g, scored %.9g\n",
                        (int)precs[pi], t, l, (double)lp[t]);
        }
        CHECKF(differ == 0, "precision %d: %zu of %d log-probabilities differ from one stream "
               "fed from the start", (int)precs[pi], differ, N);
        CHECKF(fabs(sum - nll) <= 1e-9 * fabs(nll), "precision %d: nll %.12g, fed %.12g",
               (int)precs[pi], nll, sum);
        wn_gen_free(g);
        if (precs[pi] == WN_PRECISION_F16) { /* the rounded model, teacher-forced */
            double ref;
            sp.precision = WN_PRECISION_F32;
            REQUIRE_OK(wn_score_codes(mr, x, N, &sp, &ref, NULL, &err), &err);
            CHECKF(fabs(ref - nll) < 1e-5 * fabs(ref), "f16 score %.9g, rounded model %.9g",
                   nll, ref);
        }
    }
    free(lp);
    free(lg);
    free(f);
    free(x);
    wn_model_free(m);
    wn_model_free(mr);
}

/* Sampling: the same codes for a seed on any thread count (balanced runs
 * included), different ones for different features; a stream entered
 * mid-utterance (wn_gen_set_clock) is teacher forcing once the receptive
 * field has gone by; streams stopped at their ends. */
static void run_checks(void)
{
    wn_model *m = cond_model(1, 1, 31);
    wn_error err;
    const int Q = wn_model_config(m).bins, rf = wn_model_receptive_field(m);
    enum { B = 5, N = 1200 }; /* past a chunk of upsampled rows (1,024) */
    const size_t F = wn_model_cond_frames(m, N);
    float *f[B];
    wn_cond conds[B];
    for (int b = 0; b < B; b++) {
        f[b] = features(F, 40 + (uint64_t)(b % 4)); /* streams 0 and 4 the same */
        conds[b] = (wn_cond){f[b], F, b % 4 % SPEAKERS, BANDS};
    }
    const wn_precision precs[3] = {WN_PRECISION_F32, WN_PRECISION_F16, WN_PRECISION_I8};
    for (int pi = 0; pi < 3; pi++) {
        /* 1 thread: one part of 5 streams; 2 and 3: balanced runs; 5: a
         * thread per stream, each part lone (its cond products made with
         * tap 0's, d steps at a time) */
        const int ths[4] = {1, 2, 3, B};
        int *codes[4];
        double *lps[4];
        for (int ti = 0; ti < 4; ti++) {
            const int th = ths[ti];
            wn_sample_params sp = wn_sample_default_params();
            sp.seed = 99;
            wn_gen *g = wn_gen_create(m, B, &sp, &err);
            REQUIRE(g);
            REQUIRE_OK(wn_gen_set_precision(g, precs[pi], &err), &err);
            wn_gen_set_threads(g, th);
            if (th == 3) wn__gen_set_chunk(g, 7);
            for (int b = 0; b < B; b++) REQUIRE_OK(wn_gen_set_cond(g, b, &conds[b], &err), &err);
            REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
            codes[ti] = malloc(sizeof(int) * N * B);
            lps[ti] = malloc(sizeof(double) * N * B);
            REQUIRE(codes[ti] && lps[ti]);
            /* in pieces that end inside lone parts' d-step rows and
             * just past a chunk of upsampled rows */
            const size_t cut[3] = {100, 1027, N};
            for (size_t i = 0, done = 0; i < 3; done = cut[i++]) {
                int rc = wn_gen_run(g, cut[i] - done, codes[ti] + done * B,
                                    lps[ti] + done * B);
                CHECKF(rc == WN_OK, "run: %s", wn_gen_last_error(g));
            }
            wn_gen_free(g);
        }
        for (int ti = 1; ti < 4; ti++)
            CHECKF(!memcmp(codes[0], codes[ti], sizeof(int) * N * B) &&
                       !memcmp(lps[0], lps[ti], sizeof(double) * N * B),
                   "precision %d: %d threads sample other codes than 1", (int)precs[pi], ths[ti]);
        size_t same = 0; /* streams 1 and 2: other features, speaker and RNG */
        for (size_t t = 0; t < N; t++) same += codes[0][t * B + 1] == codes[0][t * B + 2];
        CHECKF(same < N / 2, "streams 1 and 2 agree on %zu of %d codes", same, N);
        for (int ti = 0; ti < 4; ti++) {
            free(codes[ti]);
            free(lps[ti]);
        }
    }

    /* mid-utterance: primed from silence, clock at W; teacher forcing of
     * the whole utterance from W + RF on */
    {
        const size_t W = 333;
        int *x = malloc(sizeof(int) * N);
        float *want = malloc(sizeof(float) * N * Q), *lg = malloc(sizeof(float) * Q);
        REQUIRE(x && want && lg);
        uint64_t s = 7;
        for (size_t i = 0; i < N; i++) x[i] = (int)(wn__uniform_for_tests(&s) * Q);
        REQUIRE_OK(wn_model_logits_cond(m, x, N, &conds[1], want, &err), &err);
        wn_gen *g = wn_gen_create(m, 1, NULL, &err);
        REQUIRE(g);
        REQUIRE_OK(wn_gen_set_cond(g, 0, &conds[1], &err), &err);
        REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
        REQUIRE_OK(wn_gen_set_clock(g, 0, (int64_t)W, &err), &err);
        CHECK(wn_gen_clock(g, 0) == (int64_t)W);
        double worst = 0;
        for (size_t t = W; t < N; t++) {
            REQUIRE(wn_gen_feed(g, &x[t - 1], lg) == WN_OK);
            if (t >= W + (size_t)rf) {
                double e = tu_maxrel(lg, want + t * Q, (size_t)Q);
                worst = e > worst ? e : worst;
            }
        }
        CHECKF(worst < 1e-4, "entered at sample %zu: %g from teacher forcing", W, worst);
        wn_gen_free(g);
        free(x);
        free(want);
        free(lg);
    }

    /* utterances of different lengths: each stream stopped at its end */
    {
        const size_t F2 = wn_model_cond_frames(m, 200);
        wn_cond c2 = conds[2];
        c2.frames = F2; /* the first F2 frames: a shorter utterance */
        const int64_t end2 = (int64_t)F2 * HOP - HOP / 2 - 1; /* what wn_cond_check allows */
        CHECK(wn_cond_check(m, &c2, (size_t)end2, &err) == WN_OK);
        CHECK(wn_cond_check(m, &c2, (size_t)end2 + 1, &err) == WN_ERR_ARG);
        /* a band count, when the caller knows it, must be the model's */
        c2.bands = BANDS;
        CHECK(wn_cond_check(m, &c2, (size_t)end2, &err) == WN_OK);
        c2.bands = BANDS + 1;
        CHECK(wn_cond_check(m, &c2, (size_t)end2, &err) == WN_ERR_ARG);
        wn_gen *g1 = wn_gen_create(m, 1, NULL, &err);
        REQUIRE(g1);
        CHECK(wn_gen_set_cond(g1, 0, &c2, &err) == WN_ERR_ARG);
        CHECKF(strstr(err.message, "bands"), "%s", err.message);
        wn_gen_free(g1);
        c2.bands = 0;
        wn_gen *g = wn_gen_create(m, 2, NULL, &err);
        REQUIRE(g);
        REQUIRE_OK(wn_gen_set_cond(g, 0, &conds[1], &err), &err);
        REQUIRE_OK(wn_gen_set_cond(g, 1, &c2, &err), &err);
        REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
        int codes[2 * 400];
        CHECK(wn_gen_run(g, (size_t)end2, codes, NULL) == WN_OK);
        CHECK(wn_gen_clock(g, 1) == end2);
        /* one more step would be past stream 1's features: nothing runs */
        CHECK(wn_gen_run(g, 1, codes, NULL) == WN_ERR_ARG);
        CHECKF(strstr(wn_gen_last_error(g), "stream 1") &&
                   strstr(wn_gen_last_error(g), "past the end"), "%s", wn_gen_last_error(g));
        CHECK(wn_gen_clock(g, 1) == end2);
        int in[2] = {1, 2};
        CHECK(wn_gen_feed(g, in, NULL) == WN_ERR_ARG);
        REQUIRE_OK(wn_gen_stop_stream(g, 1, &err), &err);
        CHECKF(wn_gen_run(g, 100, codes, NULL) == WN_OK, "%s", wn_gen_last_error(g));
        CHECK(wn_gen_clock(g, 0) == end2 + 100);
        /* stream 0 past its own end */
        CHECK(wn_gen_run(g, (size_t)N, codes, NULL) == WN_ERR_ARG &&
              strstr(wn_gen_last_error(g), "stream 0"));
        wn_gen_free(g);
    }
    for (int b = 0; b < B; b++) free(f[b]);
    wn_model_free(m);
}

/* Refusals: WN_ERR_ARG (or WN_ERR_NONFINITE) with a one-line message. */
static void error_checks(void)
{
    wn_model *m = cond_model(1, 1, 41), *ms = cond_model(0, 1, 42);
    wn_model *mu = tu_small_model(64, 4, 2, 8, 8, 16, 43);
    wn_error err;
    const size_t F = 40;
    float *f = features(F, 9);
    const wn_cond c = {f, F, 1, BANDS};
    int code;
    /* no conditioning: no prime, no step */
    wn_gen *g = wn_gen_create(m, 2, NULL, &err);
    REQUIRE(g);
    CHECK(wn_gen_prime(g, NULL, 0, &err) == WN_ERR_ARG && strstr(err.message, "stream 0"));
    CHECK(wn_gen_step(g, &code, NULL) == WN_ERR_ARG &&
          strstr(wn_gen_last_error(g), "wn_gen_set_cond"));
    REQUIRE_OK(wn_gen_set_cond(g, 0, &c, &err), &err);
    CHECK(wn_gen_prime(g, NULL, 0, &err) == WN_ERR_ARG && strstr(err.message, "stream 1"));
    REQUIRE_OK(wn_gen_set_cond(g, -1, &c, &err), &err);
    REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
    int two[2];
    CHECK(wn_gen_step(g, two, NULL) == WN_OK);
    /* a change of conditioning wants a new prime */
    REQUIRE_OK(wn_gen_set_cond(g, 1, &c, &err), &err);
    CHECK(wn_gen_step(g, two, NULL) == WN_ERR_ARG);
    /* a change of precision primes again from silence */
    REQUIRE_OK(wn_gen_set_precision(g, WN_PRECISION_I8, &err), &err);
    CHECK(wn_gen_step(g, two, NULL) == WN_OK && wn_gen_clock(g, 0) == 1);
    /* unknown speaker, no speaker, NaN, no features, a prime too long */
    wn_cond bad = c;
    bad.speaker = SPEAKERS;
    CHECK(wn_gen_set_cond(g, 0, &bad, &err) == WN_ERR_ARG && strstr(err.message, "speaker"));
    bad.speaker = -1;
    CHECK(wn_gen_set_cond(g, 0, &bad, &err) == WN_ERR_ARG && strstr(err.message, "speaker"));
    bad = c;
    f[7] = NAN;
    CHECK(wn_gen_set_cond(g, 0, &bad, &err) == WN_ERR_NONFINITE);
    f[7] = 0;
    bad.features = NULL;
    CHECK(wn_gen_set_cond(g, 0, &bad, &err) == WN_ERR_ARG && strstr(err.message, "features"));
    CHECK(wn_gen_set_cond(g, 0, NULL, &err) == WN_ERR_ARG);
    CHECK(wn_gen_set_cond(g, 2, &c, &err) == WN_ERR_ARG && strstr(err.message, "stream 2"));
    int *x = walk(F * HOP, 64, 3);
    CHECK(wn_gen_prime(g, x, F * HOP, &err) == WN_ERR_ARG && strstr(err.message, "prime"));
    /* the clock */
    CHECK(wn_gen_set_clock(g, 0, -1, &err) == WN_ERR_ARG);
    CHECK(wn_gen_set_clock(g, 5, 0, &err) == WN_ERR_ARG);
    CHECK(wn_gen_clock(g, 5) == -1);
    wn_gen_free(g);
    /* a model of speakers alone takes no features; one without takes none */
    wn_gen *gs = wn_gen_create(ms, 1, NULL, &err), *gu = wn_gen_create(mu, 1, NULL, &err);
    REQUIRE(gs && gu);
    CHECK(wn_gen_set_cond(gs, 0, &c, &err) == WN_ERR_ARG && strstr(err.message, "features"));
    const wn_cond spk_only = {NULL, 0, 2, 0};
    REQUIRE_OK(wn_gen_set_cond(gs, 0, &spk_only, &err), &err);
    REQUIRE_OK(wn_gen_prime(gs, x, 100, &err), &err); /* no features: no end */
    CHECK(wn_gen_step(gs, &code, NULL) == WN_OK);
    CHECK(wn_gen_set_cond(gu, 0, &c, &err) == WN_ERR_ARG && strstr(err.message, "unconditional"));
    CHECK(wn_gen_set_cond(gu, 0, &spk_only, &err) == WN_ERR_ARG);
    CHECK(wn_gen_step(gu, &code, NULL) == WN_OK && !*wn_gen_last_error(gu));
    int bad_in = 64;
    CHECK(wn_gen_feed(gu, &bad_in, NULL) == WN_ERR_ARG && strstr(wn_gen_last_error(gu), "64"));
    wn_gen_free(gs);
    wn_gen_free(gu);
    free(x);
    free(f);
    wn_model_free(m);
    wn_model_free(ms);
    wn_model_free(mu);
}

int main(void)
{
    forced_checks();
    score_checks();
    run_checks();
    error_checks();
    return tu_finish("stream_cond", 0);
}
