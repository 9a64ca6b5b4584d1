/* test_baseline.c - the reference models of `wavenet baseline`: exact
 * uniform, histogram and bigram figures on signals where the answer is
 * known, the LPC models on predictable signals, the discretised logistic
 * summing to 1, determinism (also across thread counts), errors, and the
 * command end to end on a small WAV. */
#include "testutil.h"

#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <sndfile.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int checks;

static uint64_t rng_state = 12345;
static double urand(void) /* splitmix64, [0, 1) */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}
static double nrand(void)
{
    double u = urand(), v = urand();
    return sqrt(-2.0 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

static const wn_baseline_result *find(const wn_baseline_result *r, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(r[i].name, name)) return &r[i];
    fprintf(stderr, "no baseline named %s\n", name);
    exit(1);
}

static void run1(const int *tr, size_t ntr, const int *va, size_t nva,
                 const wn_baseline_params *p, wn_baseline_result *out)
{
    const int *t[1] = {tr}, *v[1] = {va};
    size_t tl[1] = {ntr}, vl[1] = {nva};
    int n = 0;
    wn_error err = {0};
    REQUIRE_OK(wn_baseline_run_codes(t, tl, 1, v, vl, 1, p, out, &n, &err), &err);
    REQUIRE(n == WN_BASELINE_COUNT);
}

/* a sine with a little noise, mu-law encoded */
static int *sine_codes(size_t n, double freq, double amp, double noise, int bins)
{
    int *c = malloc(n * sizeof *c);
    REQUIRE(c);
    for (size_t t = 0; t < n; t++)
        c[t] = wn_mulaw_encode((float)(amp * sin(2 * M_PI * freq * t / 8000.0) + noise * nrand()),
                               bins);
    return c;
}

static void test_uniform_and_histogram(void)
{
    /* random codes: uniform is exactly log2 Q */
    size_t n = 5000;
    int *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++) {
        a[i] = (int)(urand() * 256);
        b[i] = (int)(urand() * 256);
    }
    wn_baseline_result r[WN_BASELINE_COUNT];
    run1(a, n, b, n, NULL, r);
    const wn_baseline_result *u = find(r, WN_BASELINE_COUNT, "uniform");
    CHECKF(u->bits_per_sample == 8.0, "uniform %.17g", u->bits_per_sample);
    CHECK(u->train_bits_per_sample == 8.0);
    CHECK(u->samples == (int64_t)n);
    CHECK(fabs(u->nll_nats - n * log(256.0)) < 1e-9 * n);
    /* every result counts the validation samples and is consistent */
    for (int i = 0; i < WN_BASELINE_COUNT; i++) {
        CHECK(r[i].samples == (int64_t)n);
        CHECKF(fabs(r[i].bits_per_sample - r[i].nll_nats / M_LN2 / n) < 1e-12,
               "%s", r[i].name);
        CHECKF(isfinite(r[i].bits_per_sample) && r[i].bits_per_sample > 0, "%s", r[i].name);
    }
    /* on white codes no model should beat uniform by much */
    CHECKF(find(r, WN_BASELINE_COUNT, "histogram")->bits_per_sample > 7.9, "%g",
           find(r, WN_BASELINE_COUNT, "histogram")->bits_per_sample);
    CHECKF(find(r, WN_BASELINE_COUNT, "lpc16-adaptive")->bits_per_sample > 7.8, "%g",
           find(r, WN_BASELINE_COUNT, "lpc16-adaptive")->bits_per_sample);

    /* Q = 16: uniform is exactly 4 bits */
    wn_baseline_params p = wn_baseline_default_params();
    p.bins = 16;
    for (size_t i = 0; i < n; i++) {
        a[i] &= 15;
        b[i] &= 15;
    }
    run1(a, n, b, n, &p, r);
    CHECK(find(r, WN_BASELINE_COUNT, "uniform")->bits_per_sample == 4.0);

    /* a signal of four codes, 1000 times each in training: the add-one
     * histogram gives each (1000 + 1) / (4000 + 256) */
    for (size_t i = 0; i < 4000; i++) a[i] = 60 + 40 * (int)(i % 4);
    for (size_t i = 0; i < 1000; i++) b[i] = 60 + 40 * (int)((i * 7) % 4);
    run1(a, 4000, b, 1000, NULL, r);
    const wn_baseline_result *h = find(r, WN_BASELINE_COUNT, "histogram");
    double want = -log2(1001.0 / 4256.0);
    CHECKF(fabs(h->bits_per_sample - want) < 1e-12, "histogram %.15g, want %.15g",
           h->bits_per_sample, want);
    CHECK(fabs(h->train_bits_per_sample - want) < 1e-12);
    /* a code never seen in training costs log2((N + Q) / 1) */
    b[0] = 7;
    run1(a, 4000, b, 1000, NULL, r);
    h = find(r, WN_BASELINE_COUNT, "histogram");
    want = (999 * -log2(1001.0 / 4256.0) + log2(4256.0)) / 1000;
    CHECKF(fabs(h->bits_per_sample - want) < 1e-12, "histogram %.15g, want %.15g",
           h->bits_per_sample, want);
    free(a);
    free(b);
    checks += 12;
}

static void test_bigram(void)
{
    /* exact: training 0,1,0,1,... with Q = 4; silence = code 2.
     * pairs (prev, code): (2,0) once, (0,1) n/2 times, (1,0) n/2 - 1 times. */
    wn_baseline_params p = wn_baseline_default_params();
    p.bins = 4;
    CHECK(wn_mulaw_silence(4) == 2);
    int tr[100], va[3] = {0, 1, 1};
    for (int i = 0; i < 100; i++) tr[i] = i % 2;
    wn_baseline_result r[WN_BASELINE_COUNT];
    run1(tr, 100, va, 3, &p, r);
    const wn_baseline_result *b = find(r, WN_BASELINE_COUNT, "bigram");
    /* P(0|2) = 2/5, P(1|0) = 51/54, P(1|1) = 1/53 */
    double want = -(log2(2.0 / 5) + log2(51.0 / 54) + log2(1.0 / 53)) / 3;
    CHECKF(fabs(b->bits_per_sample - want) < 1e-12, "bigram %.15g want %.15g",
           b->bits_per_sample, want);
    double want_tr = -(log2(2.0 / 5) + 50 * log2(51.0 / 54) + 49 * log2(50.0 / 53)) / 100;
    CHECKF(fabs(b->train_bits_per_sample - want_tr) < 1e-12, "bigram train %.15g want %.15g",
           b->train_bits_per_sample, want_tr);

    /* a slowly varying signal: the previous code says a lot */
    size_t n = 40000;
    int *a = sine_codes(n, 3.0, 0.6, 0.0005, 256), *v = sine_codes(n / 2, 3.1, 0.6, 0.0005, 256);
    run1(a, n, v, n / 2, NULL, r);
    double hb = find(r, WN_BASELINE_COUNT, "histogram")->bits_per_sample;
    double bb = find(r, WN_BASELINE_COUNT, "bigram")->bits_per_sample;
    fprintf(stderr, "slow sine: histogram %.3f, bigram %.3f bits/sample\n", hb, bb);
    CHECKF(bb < hb - 2.0, "bigram %.3f vs histogram %.3f", bb, hb);
    free(a);
    free(v);
    checks += 4;
}

static void test_logistic_probs(void)
{
    const int Q = 256;
    double probs[256];
    const double cases[][2] = {{0, 1e-3}, {0.3, 0.05}, {-0.99, 1e-4}, {1.5, 0.01},
                               {-3, 0.5}, {0, 10}, {0.2, 1e-9}, {0.001, 3e-5}};
    const double eps = 1e-6;
    wn_error err = {0};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double pred = cases[i][0], s = cases[i][1];
        REQUIRE_OK(wn_baseline_logistic_probs(pred, s, Q, eps, probs, &err), &err);
        double sum = 0, minp = 1;
        int arg = 0;
        for (int c = 0; c < Q; c++) {
            sum += probs[c];
            if (probs[c] < minp) minp = probs[c];
            if (probs[c] > probs[arg]) arg = c;
        }
        CHECKF(fabs(sum - 1) < 1e-12, "pred %g s %g: sum %.17g", pred, s, sum);
        CHECKF(minp >= eps * (1 - 1e-12), "pred %g s %g: min %g", pred, s, minp);
        /* a logistic much narrower than the bin puts its mass on the code
         * of the prediction (a wider one may favour the wider bins nearby) */
        if (s <= 1e-4)
            CHECKF(arg == wn_mulaw_encode((float)pred, Q), "pred %g: argmax %d, code %d", pred,
                   arg, wn_mulaw_encode((float)pred, Q));
    }
    /* against the plain difference of sigmoids where that is accurate */
    REQUIRE_OK(wn_baseline_logistic_probs(0.1, 0.02, Q, 0, probs, &err), &err);
    int c = wn_mulaw_encode(0.1f, Q);
    /* the bin of the prediction, its edges from the encoder, float by float */
    float lo = wn_mulaw_decode(c, Q), hi = lo;
    while (wn_mulaw_encode(nextafterf(lo, -2.0f), Q) == c) lo = nextafterf(lo, -2.0f);
    while (wn_mulaw_encode(hi, Q) == c) hi = nextafterf(hi, 2.0f);
    double direct = 1 / (1 + exp(-(hi - 0.1) / 0.02)) - 1 / (1 + exp(-(lo - 0.1) / 0.02));
    CHECKF(fabs(probs[c] - direct) < 1e-9 * direct, "bin %d: %.10g vs %.10g", c, probs[c],
           direct);
    /* the end bins hold the tails: a prediction far above 1 puts ~all on Q-1 */
    REQUIRE_OK(wn_baseline_logistic_probs(5.0, 0.1, Q, 0, probs, &err), &err);
    CHECK(probs[Q - 1] > 1 - 1e-12);
    /* bad arguments */
    CHECK(wn_baseline_logistic_probs(0, 0, Q, eps, probs, &err) == WN_ERR_ARG);
    CHECK(wn_baseline_logistic_probs(0, 1, 1, eps, probs, &err) == WN_ERR_ARG);
    CHECK(wn_baseline_logistic_probs(NAN, 1, Q, eps, probs, &err) == WN_ERR_ARG);
    checks += 30;
}

static void test_lpc(void)
{
    /* a sine + small noise: a linear predictor nails it */
    size_t n = 48000;
    int *a = sine_codes(n, 220.0, 0.5, 0.002, 256), *v = sine_codes(16000, 220.0, 0.5, 0.002, 256);
    wn_baseline_result r[WN_BASELINE_COUNT];
    run1(a, n, v, 16000, NULL, r);
    for (int i = 0; i < WN_BASELINE_COUNT; i++)
        fprintf(stderr, "sine+noise: %-16s %6.3f bits/sample (train %6.3f)  %s\n", r[i].name,
                r[i].bits_per_sample, r[i].train_bits_per_sample, r[i].fit);
    double fx = find(r, WN_BASELINE_COUNT, "lpc16-fixed")->bits_per_sample;
    double ad = find(r, WN_BASELINE_COUNT, "lpc16-adaptive")->bits_per_sample;
    double hi = find(r, WN_BASELINE_COUNT, "histogram")->bits_per_sample;
    CHECKF(ad < 5.0, "adaptive LPC %.3f bits on a clean sine", ad);
    CHECKF(fx < 5.5, "fixed LPC %.3f bits on a clean sine", fx);
    CHECKF(ad < hi - 2.0, "adaptive LPC %.3f vs histogram %.3f", ad, hi);
    free(a);
    free(v);

    /* an AR(2) resonance whose level swings by 30 dB: the adaptive scale
     * must beat the fixed one */
    double x1 = 0, x2 = 0, w = 2 * M_PI * 500 / 8000.0, rr = 0.995;
    int *c = malloc(n * sizeof *c);
    for (size_t t = 0; t < n; t++) {
        double level = (t / 4000) % 2 ? 0.002 : 0.06;
        double x = 2 * rr * cos(w) * x1 - rr * rr * x2 + level * 0.1 * nrand();
        x2 = x1;
        x1 = x;
        c[t] = wn_mulaw_encode((float)x, 256);
    }
    run1(c, n - 16000, c + n - 16000, 16000, NULL, r);
    fx = find(r, WN_BASELINE_COUNT, "lpc16-fixed")->bits_per_sample;
    ad = find(r, WN_BASELINE_COUNT, "lpc16-adaptive")->bits_per_sample;
    double bg = find(r, WN_BASELINE_COUNT, "bigram")->bits_per_sample;
    fprintf(stderr, "AR(2), level swings: bigram %.3f, lpc fixed %.3f, adaptive %.3f (%s)\n", bg,
            fx, ad, find(r, WN_BASELINE_COUNT, "lpc16-adaptive")->fit);
    CHECKF(ad < fx - 0.3, "adaptive %.3f vs fixed %.3f", ad, fx);
    CHECKF(ad < bg, "adaptive %.3f vs bigram %.3f", ad, bg);

    /* a given k is used, not fitted */
    wn_baseline_params p = wn_baseline_default_params();
    p.lpc_k = 1.0 / (2 * M_LN2);
    wn_baseline_result r2[WN_BASELINE_COUNT];
    run1(c, n - 16000, c + n - 16000, 16000, &p, r2);
    CHECKF(strstr(r2[4].fit, "k=0.7213 (given)") != NULL, "%s", r2[4].fit);
    /* the fitted k is at least as good on the training data */
    CHECKF(r[4].train_bits_per_sample <= r2[4].train_bits_per_sample + 1e-3, "%g vs %g",
           r[4].train_bits_per_sample, r2[4].train_bits_per_sample);

    /* ordinary least squares: the fixed model is unchanged, and on this
     * level-swinging signal the weighted refits help the adaptive one */
    p = wn_baseline_default_params();
    p.lpc_reweight = 0;
    run1(c, n - 16000, c + n - 16000, 16000, &p, r2);
    CHECK(r2[3].bits_per_sample == r[3].bits_per_sample);
    CHECKF(strstr(r2[4].fit, "OLS") && r[4].bits_per_sample < r2[4].bits_per_sample + 0.01,
           "WLS %.4f vs OLS %.4f", r[4].bits_per_sample, r2[4].bits_per_sample);

    /* determinism: bit for bit, and across thread counts */
    run1(c, n - 16000, c + n - 16000, 16000, NULL, r2);
    CHECK(memcmp(r, r2, sizeof r) == 0);
#ifdef _OPENMP
    /* long enough (> 16 chunks of 8192) for the likelihood to go parallel */
    size_t big = 160000;
    int *c4 = malloc(big * sizeof *c4);
    for (size_t t = 0; t < big; t++) c4[t] = c[t % n];
    int th = omp_get_max_threads();
    omp_set_num_threads(1);
    run1(c4, big, c, 16000, NULL, r);
    omp_set_num_threads(th > 1 ? th : 2);
    run1(c4, big, c, 16000, NULL, r2);
    CHECK(memcmp(r, r2, sizeof r) == 0);
    omp_set_num_threads(th);
    free(c4);
#endif
    free(c);
    checks += 8;
}

static void test_errors(void)
{
    int codes[10] = {0};
    const int *t[1] = {codes};
    size_t l[1] = {10}, l0[1] = {0};
    wn_baseline_result r[WN_BASELINE_COUNT];
    int n = 99;
    wn_error err = {0};
    CHECK(wn_baseline_run_codes(t, l, 0, t, l, 1, NULL, r, &n, &err) == WN_ERR_ARG);
    CHECK(n == 0 && strstr(err.message, "training"));
    CHECK(wn_baseline_run_codes(t, l, 1, t, l, 0, NULL, r, &n, &err) == WN_ERR_ARG);
    CHECK(strstr(err.message, "validation") != NULL);
    CHECK(wn_baseline_run_codes(t, l0, 1, t, l, 1, NULL, r, &n, &err) == WN_ERR_ARG);
    codes[3] = 256;
    CHECK(wn_baseline_run_codes(t, l, 1, t, l, 1, NULL, r, &n, &err) == WN_ERR_ARG);
    CHECK(strstr(err.message, "256") != NULL);
    codes[3] = 0;
    wn_baseline_params p = wn_baseline_default_params();
    p.bins = 1;
    CHECK(wn_baseline_run_codes(t, l, 1, t, l, 1, &p, r, &n, &err) == WN_ERR_ARG);
    p = wn_baseline_default_params();
    p.prob_floor = 0;
    CHECK(wn_baseline_run_codes(t, l, 1, t, l, 1, &p, r, &n, &err) == WN_ERR_ARG);
    /* all-silence training data still works (the ridge keeps LPC solvable) */
    CHECK(wn_baseline_run_codes(t, l, 1, t, l, 1, NULL, r, &n, &err) == WN_OK);
    CHECK(n == WN_BASELINE_COUNT);

    /* files: none, missing */
    const char *missing[1] = {"/nonexistent/dir/clip.wav"};
    CHECK(wn_baseline_run(missing, 0, missing, 1, 8000, NULL, r, &n, &err) == WN_ERR_ARG);
    int rc = wn_baseline_run(missing, 1, missing, 1, 8000, NULL, r, &n, &err);
    CHECKF(rc != WN_OK && strstr(err.message, "clip.wav"), "rc %d: %s", rc, err.message);
    checks += 14;
}

/* n samples at 8 kHz, 16-bit, into the test folder; "hot": a tone
 * recorded far too hot, its peaks flattened at full scale, else a tone of
 * freq Hz under a slow swell in a little noise */
static const char *write_tone(const char *name, double freq, size_t n, int hot)
{
    const char *path = tu_path(name);
    SF_INFO info = {0};
    info.samplerate = 8000;
    info.channels = 1;
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    REQUIRE(f);
    float *x = malloc(n * sizeof *x);
    for (size_t t = 0; t < n; t++) {
        const double s = sin(2 * M_PI * freq * t / 8000.0);
        x[t] = hot ? (float)fmax(-1, fmin(1, 3 * s))
                   : (float)(0.3 * s * (0.5 + 0.5 * sin(t * 0.001)) + 0.003 * nrand());
    }
    REQUIRE(sf_writef_float(f, x, (sf_count_t)n) == (sf_count_t)n);
    sf_close(f);
    free(x);
    return path;
}

/* A training file clipped beyond max_clipped is left out, as the trainer
 * leaves it out: the figures are those of the clean files alone. */
static void test_clipped_files(void)
{
    const char *tr = write_tone("train.wav", 300, 16000, 0);
    const char *va = write_tone("valid.wav", 310, 8000, 0);
    const char *hot = write_tone("hot.wav", 150, 8000, 1);
    wn_baseline_result clean[WN_BASELINE_COUNT], r[WN_BASELINE_COUNT];
    int n = 0;
    wn_error err = {0};
    const char *t1[1] = {tr}, *t2[2] = {hot, tr}, *vp[1] = {va};
    REQUIRE_OK(wn_baseline_run(t1, 1, vp, 1, 8000, NULL, clean, &n, &err), &err);
    REQUIRE_OK(wn_baseline_run(t2, 2, vp, 1, 8000, NULL, r, &n, &err), &err);
    int same = 1;
    for (int i = 0; i < n; i++)
        same &= r[i].bits_per_sample == clean[i].bits_per_sample &&
                r[i].train_bits_per_sample == clean[i].train_bits_per_sample &&
                r[i].train_clipped == 1 && clean[i].train_clipped == 0;
    CHECKF(same, "the clipped file left out: lpc16-adaptive %.6f vs %.6f, %d left out",
           r[n - 1].bits_per_sample, clean[n - 1].bits_per_sample, r[0].train_clipped);
    /* kept when asked: then it changes the fit */
    wn_baseline_params p = wn_baseline_default_params();
    p.max_clipped = 1;
    REQUIRE_OK(wn_baseline_run(t2, 2, vp, 1, 8000, &p, r, &n, &err), &err);
    CHECKF(r[0].train_clipped == 0 && r[n - 1].bits_per_sample != clean[n - 1].bits_per_sample,
           "max_clipped 1 keeps it: %.6f", r[n - 1].bits_per_sample);
    /* nothing left to fit on */
    CHECK(wn_baseline_run(t2, 1, vp, 1, 8000, NULL, r, &n, &err) == WN_ERR_ARG &&
          strstr(err.message, "clipped"));
    p.max_clipped = 2;
    CHECK(wn_baseline_run(t1, 1, vp, 1, 8000, &p, r, &n, &err) == WN_ERR_ARG);

    /* the command says how many it left out; --max-clipped 100 keeps them */
    char cmd[2048], out[8192];
    snprintf(cmd, sizeof cmd, "%s baseline --train %s %s --valid %s", tu_wavenet(), hot, tr, va);
    CHECKF(tu_run(cmd, out, sizeof out) == 0 &&
           strstr(out, "# 1 training clip(s) (1 more left out as clipped"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s baseline --train %s %s --valid %s --max-clipped 100 --json",
             tu_wavenet(), hot, tr, va);
    CHECKF(tu_run(cmd, out, sizeof out) == 0 && strstr(out, "\"train_clipped\": 0") &&
           !strstr(out, "\"train_clipped\": 1"), "%s", out);

    /* a float file decoded at 4 times full scale is scaled to peak 1 and
     * fitted on, as the trainer reads it; with --rescale-above 0 it is
     * clipped and left out */
    const char *h4 = tu_path("hot4.wav");
    {
        SF_INFO info = {.samplerate = 8000, .channels = 1,
                        .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
        SNDFILE *f = sf_open(h4, SFM_WRITE, &info);
        REQUIRE(f);
        float x[8000];
        for (int t = 0; t < 8000; t++)
            x[t] = (float)(4 * exp(-t / 2000.0) * sin(2 * M_PI * 150 * t / 8000.0));
        REQUIRE(sf_writef_float(f, x, 8000) == 8000);
        sf_close(f);
    }
    const char *t3[2] = {h4, tr};
    REQUIRE_OK(wn_baseline_run(t3, 2, vp, 1, 8000, NULL, r, &n, &err), &err);
    CHECKF(r[0].train_rescaled == 1 && r[0].train_clipped == 0 &&
           r[n - 1].bits_per_sample != clean[n - 1].bits_per_sample,
           "hot float file: rescaled %d clipped %d", r[0].train_rescaled, r[0].train_clipped);
    p = wn_baseline_default_params();
    p.rescale_above = 0;
    REQUIRE_OK(wn_baseline_run(t3, 2, vp, 1, 8000, &p, r, &n, &err), &err);
    CHECKF(r[0].train_rescaled == 0 && r[0].train_clipped == 1 &&
           r[n - 1].bits_per_sample == clean[n - 1].bits_per_sample,
           "--rescale-above 0: rescaled %d clipped %d", r[0].train_rescaled, r[0].train_clipped);
    p.rescale_above = 0.5;
    CHECK(wn_baseline_run(t3, 2, vp, 1, 8000, &p, r, &n, &err) == WN_ERR_ARG);
    snprintf(cmd, sizeof cmd, "%s baseline --train %s %s --valid %s --json", tu_wavenet(), h4,
             tr, va);
    CHECKF(tu_run(cmd, out, sizeof out) == 0 && strstr(out, "\"train_rescaled\": 1") &&
           strstr(out, "\"train_clipped\": 0"), "%s", out);
    snprintf(cmd, sizeof cmd, "%s baseline --train %s %s --valid %s", tu_wavenet(), h4, tr, va);
    CHECKF(tu_run(cmd, out, sizeof out) == 0 && strstr(out, "1 decoded hot, scaled to peak 1"),
           "%s", out);
    checks += 11;
}

static void test_files_and_cli(void)
{
    const char *tr = write_tone("train.wav", 300, 16000, 0);
    const char *va = write_tone("valid.wav", 310, 8000, 0);
    wn_baseline_result r[WN_BASELINE_COUNT], r2[WN_BASELINE_COUNT];
    int n = 0;
    wn_error err = {0};
    const char *tp[1] = {tr}, *vp[1] = {va};
    REQUIRE_OK(wn_baseline_run(tp, 1, vp, 1, 8000, NULL, r, &n, &err), &err);
    CHECK(n == WN_BASELINE_COUNT && r[0].samples == 8000);
    /* the same as the codes the audio reader gives */
    int *tc, *vc;
    size_t tn, vn;
    REQUIRE_OK(wn_audio_read_codes(tr, 8000, 256, &tc, &tn, NULL, &err), &err);
    REQUIRE_OK(wn_audio_read_codes(va, 8000, 256, &vc, &vn, NULL, &err), &err);
    run1(tc, tn, vc, vn, NULL, r2);
    CHECK(memcmp(r, r2, sizeof r) == 0);
    free(tc);
    free(vc);

    /* the command: a list file with a comment and a relative path */
    FILE *f = fopen(tu_path("train.txt"), "w");
    REQUIRE(f);
    fprintf(f, "# training\n\ntrain.wav   # relative to the list\n");
    fclose(f);
    char cmd[2048], out[8192];
    /* the command with this process's BLAS kernels: where OpenBLAS fell
     * back to Prescott's, the command would pick better ones (src/kernels.c)
     * and round differently in the last bits; with the same kernels its
     * figures are these exactly */
    const int fallback = !strcmp(openblas_get_corename(), "Prescott");
    snprintf(cmd, sizeof cmd, "%s%s baseline --train-list %s --valid %s --json",
             fallback ? "OPENBLAS_CORETYPE=Prescott " : "", tu_wavenet(), tu_path("train.txt"),
             va);
    int rc = tu_run(cmd, out, sizeof out);
    CHECKF(rc == 0, "%s -> %d", cmd, rc);
    int lines = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        CHECKF(o && json_is_object(o), "not JSON: %s", line);
        if (!o) continue;
        const char *name = json_string_value(json_object_get(o, "baseline"));
        double bits = json_number_value(json_object_get(o, "bits_per_sample"));
        double nll = json_number_value(json_object_get(o, "nll_nats"));
        json_int_t samples = json_integer_value(json_object_get(o, "samples"));
        CHECKF(name && lines < WN_BASELINE_COUNT && !strcmp(name, r[lines].name), "line %d",
               lines);
        if (lines < WN_BASELINE_COUNT) {
            CHECKF(fabs(bits - r[lines].bits_per_sample) < 1e-12, "%s: %.17g vs %.17g", name,
                   bits, r[lines].bits_per_sample);
            CHECK(fabs(nll - r[lines].nll_nats) < 1e-9 * nll);
        }
        CHECK(samples == 8000);
        json_decref(o);
    }
    CHECKF(lines == WN_BASELINE_COUNT, "%d JSON lines", lines);

    /* the table */
    snprintf(cmd, sizeof cmd, "%s baseline --train %s %s --valid %s", tu_wavenet(), tr, tr, va);
    rc = tu_run(cmd, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "uniform") && strstr(out, "8.000") &&
          strstr(out, "lpc16-adaptive"));
    snprintf(cmd, sizeof cmd, "%s baseline --help", tu_wavenet());
    CHECK(tu_run(cmd, out, sizeof out) == 0 && strstr(out, "--train-list"));

    /* errors: one line on stderr, non-zero exit */
    const char *bad[] = {
        "baseline --train /nonexistent.wav --valid %s",
        "baseline --valid %s",
        "baseline --train %s --valid",
        "baseline --train-list /nonexistent.txt --valid %s",
        "baseline --train %s --valid %s --bins 1",
        "baseline --train %s --valid %s --rate x",
        "baseline --train %s --valid %s --frobnicate",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char args[1024];
        snprintf(args, sizeof args, bad[i], va, va);
        snprintf(cmd, sizeof cmd, "%s %s 2>&1 >/dev/null", tu_wavenet(), args);
        rc = tu_run(cmd, out, sizeof out);
        int nl = 0;
        for (char *p = out; *p; p++) nl += *p == '\n';
        CHECKF(rc != 0 && nl == 1 && !strncmp(out, "wavenet: ", 9), "'%s' -> %d: %s", args,
               rc, out);
    }
    checks += 20;
}

int main(void)
{
    test_uniform_and_histogram();
    test_bigram();
    test_logistic_probs();
    test_lpc();
    test_errors();
    test_files_and_cli();
    test_clipped_files();
    return tu_finish("baseline", checks);
}
