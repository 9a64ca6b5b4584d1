/* test_grad.c - the whole model's gradient (wn_loss_grad) by finite
 * differences, and its loss against an independent computation.
 *
 *   fd        every tensor of a tiny model (every entry of tensors up to
 *             FD_ALL entries, FD_SAMPLE random entries of larger ones, and
 *             of a second, wider model): central differences of the loss,
 *             perturbing the flat parameter vector through
 *             wn_model_set_tensor(m, NULL, ...), against the gradient;
 *             each tensor must also have an entry large enough that a
 *             gradient of the wrong sign would fail, so no check is vacuous
 *   last res  the last layer's residual output feeds nothing: its weight
 *             and bias get exactly zero gradient, and the loss does not move
 *   threads   the gradient and loss are bitwise the same for 1, 2, 3 and
 *             the default number of threads (fixed-order reduction), also
 *             where threads outnumber the windows and share each window by
 *             chunks of time (a lone long window on 2 and 3 threads)
 *   logits    the loss of one window equals the mean over t in [RF, len) of
 *             -log softmax(wn_model_logits(window))[t][w[t]], computed here
 *             in double: those positions see a full receptive field inside
 *             the window, so the silence past of wn_model_logits and the
 *             window crop of training give the same logits
 *   batch     a batch's loss and gradient are the means of its windows'
 *   cond      the same fd and threads checks for two conditional models
 *             (mel features through the frames conv and two upsampler
 *             stages, speakers; wn_grad_ctx_run_cond over windows cut from
 *             clips at offsets), every entry of every new tensor
 *             (upsample.*, layers.*.cond.weight, the speaker table,
 *             layers.*.speaker.weight); a speaker in no window gets
 *             exactly no gradient
 * On success it prints each tensor's worst error.
 */
#include "testutil.h"
#include "cond.h" /* the upsampler's rows and the speaker's biases, for wn__forward */
#include "net.h"  /* wn__forward: the relu inputs, to step around kinks */

#include <math.h>
#include <string.h>

/* Finite differences. The loss is a mean of ~20 log-probabilities computed
 * in double from float32 activations: its rounding noise is ~1e-9..1e-8,
 * i.e. up to ~2e-6 in a difference quotient at h = 4e-3, and the truncation
 * error (h^2/6 times third derivatives of tanh, sigmoid, log-softmax) is of
 * the same order. The network is smooth except for its two relus (on the
 * skip sum and on head.0's output): a step that moves one of their inputs
 * across 0 gives a quotient that is no derivative at all (with this
 * model's small skip values that happens to a few % of the entries, by up
 * to 10x the gradient). So every evaluation also records the sign of every
 * relu input (through the library's internal forward, net.h, over the same
 * windows as src/grad.c), and:
 *   no sign changes at x0 +- h      central difference
 *   changes on one side only        three-point one-sided difference on
 *                                   the other (x0, x0 +- h, x0 +- 2h)
 *   changes on both sides           h /= 4 and again, FD_REFINE times at
 *                                   most; then the entry is skipped
 *                                   (counted, at most 1 + FD_MAX_SKIP of a
 *                                   tensor's checked entries)
 * Pass when |fd - g| <= FD_RTOL max(|fd|, |g|) + FD_ATOL c FD_EPS / h, c = 1
 * for the central and 4 for the one-sided difference (the noise gain of
 * each). Gradients here are 1e-4..1e-1, and a wrong sign or a missing term
 * moves an entry by its own size. */
#define FD_EPS 4e-3
#define FD_REFINE 3
#define FD_RTOL 2e-2
#define FD_ATOL 1e-5
#define FD_MAX_SKIP 0.05 /* fraction of a tensor's checked entries */
#define FD_ALL 256     /* tensors up to this size: every entry */
#define FD_SAMPLE 32   /* random entries of larger tensors */
#define TOL_LOGITS 1e-5 /* relative, loss against the logits' cross-entropy */
#define TOL_BATCH 1e-5  /* relative to the largest gradient entry */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int rng_int(int n) { return (int)(rng_next() % (uint64_t)n); }

static int checks;

static wn_model *make_model(int Q, int L, int K, int R, int D, int S, uint64_t seed)
{
    wn_config c = wn_config_default();
    c.bins = Q;
    c.layers = L;
    c.stack = K;
    c.residual = R;
    c.dilation = D;
    c.skip = S;
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    if (!m) { fprintf(stderr, "wn_model_init: %s\n", err.message); exit(1); }
    return m;
}

static int *random_codes(size_t n, int Q)
{
    int *c = malloc(sizeof(int) * n);
    REQUIRE(c);
    for (size_t i = 0; i < n; i++) c[i] = rng_int(Q);
    return c;
}

/* The loss and gradient of a batch: wn_loss_grad, or for a conditional
 * model (wc, a window's conditioning each) wn_grad_ctx_run_cond. */
static void loss_grad(const wn_model *m, const int *codes, const wn_window_cond *wc, int B,
                      int len, int threads, float *g, double *loss)
{
    wn_error err;
    if (!wc) {
        REQUIRE_OK(wn_loss_grad(m, codes, B, len, threads, g, loss, &err), &err);
        return;
    }
    wn_grad_ctx *c = wn_grad_ctx_create(m, B, len, threads, &err);
    if (!c) { fprintf(stderr, "wn_grad_ctx_create: %s\n", err.message); exit(1); }
    REQUIRE_OK(wn_grad_ctx_run_cond(c, codes, wc, g, loss, &err), &err);
    wn_grad_ctx_free(c);
}

/* The loss of m with parameters p (the flat vector), and the sign of every
 * relu input (skip sum, head.0 output) of every window into signs. */
typedef struct fd_ctx {
    wn_model *m;
    size_t P;
    const int *codes;
    int B, len, N, V, S;
    float *scratch;
    wn__ws *ws;
    const wn_window_cond *wc; /* a conditional model's windows, else NULL */
    wn__cond_ws *cw;          /* with mel conditioning: the upsampler's */
    float *u, *bias;          /* a window's rows and layer biases (src/grad.c's) */
} fd_ctx;

static double loss_at(fd_ctx *c, const float *p, unsigned char *signs)
{
    wn_error err;
    double loss;
    REQUIRE_OK(wn_model_set_tensor(c->m, NULL, p, c->P, &err), &err);
    loss_grad(c->m, c->codes, c->wc, c->B, c->len, 1, c->scratch, &loss);
    const size_t vs = (size_t)c->V * c->S;
    for (int b = 0; b < c->B; b++) {
        /* the window's conditioning as src/grad.c makes it: row i is the
         * clip's sample offset + i + 1 */
        wn__cin ci = {NULL, NULL};
        if (c->wc && c->cw) {
            wn__cond_forward(c->m, c->cw, c->wc[b].features, (long)c->wc[b].frames,
                             (long)c->wc[b].offset + 1, (long)c->wc[b].offset + 1 + c->N, c->u);
            ci.u = c->u;
        }
        if (c->wc && c->bias) {
            wn__cond_layer_bias(c->m, c->wc[b].speaker, c->bias);
            ci.bias = c->bias;
        }
        wn__forward(c->m, c->ws, c->codes + (size_t)b * c->len, c->N, c->V, NULL,
                    c->wc ? &ci : NULL);
        for (size_t i = 0; i < vs; i++) {
            signs[(2 * (size_t)b) * vs + i] = c->ws->skip[i] > 0.0f;
            signs[(2 * (size_t)b + 1) * vs + i] = c->ws->u[i] > 0.0f;
        }
    }
    return loss;
}

/* ---------------------------------------------------------------- fd */

static void fd_model(const char *label, wn_model *m, const int *codes,
                     const wn_window_cond *wc, int B, int len)
{
    wn_error err;
    const size_t P = wn_model_param_count(m);
    const wn_config cfg = wn_model_config(m);
    const int rf = wn_model_receptive_field(m);
    float *p0 = malloc(sizeof(float) * P), *p = malloc(sizeof(float) * P);
    float *g = malloc(sizeof(float) * P), *scratch = malloc(sizeof(float) * P);
    /* the windows as wn_loss_grad runs them (src/grad.c): N = len - 1
     * inputs, the last V = len - RF outputs */
    fd_ctx c = {m, P, codes, B, len, len - 1, len - rf, cfg.skip, scratch,
                wn__ws_create(m, len - 1, len - rf, 1), wc, NULL, NULL, NULL};
    if (wc && cfg.cond) {
        c.cw = wn__cond_ws_create(m, len);
        c.u = malloc(sizeof(float) * (size_t)len * cfg.cond);
        REQUIRE(c.cw && c.u);
    }
    if (wc && cfg.speakers) REQUIRE((c.bias = malloc(sizeof(float) * (size_t)cfg.layers * 2 *
                                                     cfg.dilation)));
    const size_t ns = (size_t)2 * B * c.V * c.S;
    unsigned char *s0 = malloc(ns), *sp = malloc(ns), *sm = malloc(ns);
    REQUIRE(p0 && p && g && scratch && c.ws && s0 && sp && sm);
    memcpy(p0, wn_model_params(m), sizeof(float) * P);
    memcpy(p, p0, sizeof(float) * P);
    for (size_t i = 0; i < P; i++) g[i] = NAN; /* wn_loss_grad overwrites all */
    double loss;
    loss_grad(m, codes, wc, B, len, 1, g, &loss);
    for (size_t i = 0; i < P; i++) {
        checks++;
        CHECKF(isfinite(g[i]), "%s: gradient entry %zu = %g", label, i, (double)g[i]);
    }
    const double l0 = loss_at(&c, p0, s0);
    checks++;
    CHECKF(l0 == loss, "%s: the loss is not reproducible (%.17g, %.17g)", label, l0, loss);
    double gmax = 0;
    for (size_t i = 0; i < P; i++) gmax = fmax(gmax, fabs(g[i]));

    char last_w[64], last_b[64];
    snprintf(last_w, sizeof last_w, "layers.%d.res.weight", cfg.layers - 1);
    snprintf(last_b, sizeof last_b, "layers.%d.res.bias", cfg.layers - 1);

    printf("%s: loss %.6f nats, %zu parameters, largest gradient %.3g\n", label, loss, P,
           gmax);
    printf("  %-23s %7s %6s %7s %7s %10s %10s %8s %8s\n", "tensor", "checked", "signif",
           "refined", "skipped", "worst abs", "worst rel", "err/tol", "max|g|");
    double all_ratio = 0;
    const int nt = wn_model_tensor_count(m);
    for (int ti = 0; ti < nt; ti++) {
        const char *name = wn_model_tensor_name(m, ti);
        int ndim, shape[3];
        size_t off, cnt = wn_model_tensor_info(m, name, &ndim, shape, &off);
        REQUIRE(cnt > 0 && off + cnt <= P);
        const int zero = !strcmp(name, last_w) || !strcmp(name, last_b);
        size_t nchk = cnt <= FD_ALL ? cnt : FD_SAMPLE;
        long signif = 0, sign_caught = 0, refined = 0, skipped = 0;
        double worst_abs = 0, worst_rel = 0, worst_ratio = 0, tmax = 0;
        for (size_t k = 0; k < nchk; k++) {
            size_t i = off + (cnt <= FD_ALL ? k : (size_t)rng_int((int)cnt));
            float x0 = p0[i];
            double h = FD_EPS, fd = 0, lp = 0, lm = 0, noise = 0;
            int smooth = 0;
            for (int tries = 0; tries <= FD_REFINE && !smooth; tries++, h /= 4) {
                float xp = (float)(x0 + h), xm = (float)(x0 - h);
                p[i] = xp;
                lp = loss_at(&c, p, sp);
                p[i] = xm;
                lm = loss_at(&c, p, sm);
                p[i] = x0;
                const int okp = !memcmp(sp, s0, ns), okm = !memcmp(sm, s0, ns);
                if (okp && okm) { /* central */
                    fd = (lp - lm) / ((double)xp - (double)xm);
                    noise = 1 / h;
                    smooth = 1;
                } else if (okp || okm) {
                    /* a kink on one side only: the three-point one-sided
                     * derivative on the other, x0, x1 = x0 +- h, x2 = x0 +- 2h */
                    float x2 = (float)(okp ? x0 + 2 * h : x0 - 2 * h);
                    p[i] = x2;
                    double l2 = loss_at(&c, p, sm);
                    p[i] = x0;
                    if (!memcmp(sm, s0, ns)) {
                        double a = (double)(okp ? xp : xm) - x0, b = (double)x2 - x0;
                        double l1 = okp ? lp : lm;
                        fd = -(a + b) / (a * b) * l0 + b / (a * (b - a)) * l1 -
                             a / (b * (b - a)) * l2;
                        noise = 4 / h;
                        smooth = 1;
                    }
                }
                if (!smooth && tries < FD_REFINE) refined++;
            }
            double an = g[i];
            if (zero) {
                checks += 2;
                CHECKF(an == 0.0f, "%s: %s[%zu]: gradient %g, must be exactly 0 (the last "
                       "layer's residual output feeds nothing)", label, name, i - off, an);
                CHECKF(lp == lm && lp == l0, "%s: %s[%zu]: the loss moved (%.17g, %.17g)",
                       label, name, i - off, lp, lm);
            }
            if (!smooth) { /* relu inputs within h of 0 both ways: no derivative */
                skipped++;
                continue;
            }
            double big = fmax(fabs(fd), fabs(an)), e = fabs(fd - an);
            double atol = FD_ATOL * FD_EPS * noise, allowed = FD_RTOL * big + atol;
            checks++;
            CHECKF(e <= allowed, "%s: %s[%zu]: finite difference %.6g, gradient %.6g",
                   label, name, i - off, fd, an);
            worst_abs = fmax(worst_abs, e);
            worst_ratio = fmax(worst_ratio, e / allowed);
            tmax = fmax(tmax, big);
            if (big > 10 * atol) {
                signif++;
                worst_rel = fmax(worst_rel, e / big);
            }
            /* would a gradient of the wrong sign fail here? */
            if (fabs(fd + an) > allowed) sign_caught++;
        }
        checks++;
        CHECKF(skipped <= 1 + FD_MAX_SKIP * nchk, "%s: %s: %ld of %zu entries sit at a relu kink",
               label, name, skipped, nchk);
        if (!zero) {
            checks++;
            CHECKF(sign_caught > 0, "%s: %s: no checked entry is large enough to catch a "
                   "wrong sign (max |g| %.3g): the check would be vacuous", label, name, tmax);
        }
        all_ratio = fmax(all_ratio, worst_ratio);
        printf("  %-23s %7zu %6ld %7ld %7ld %10.3g %10.3g %8.3g %8.3g%s\n", name, nchk,
               signif, refined, skipped, worst_abs, worst_rel, worst_ratio, tmax,
               zero ? "  (must be 0)" : "");
    }
    printf("  worst err/tol over all tensors: %.3g (fails above 1)\n", all_ratio);
    REQUIRE_OK(wn_model_set_tensor(m, NULL, p0, P, &err), &err); /* restore */
    wn__ws_free(c.ws);
    wn__cond_ws_free(c.cw);
    free(c.u), free(c.bias);
    free(p0), free(p), free(g), free(scratch), free(s0), free(sp), free(sm);
}

/* ---------------------------------------------------------------- threads */

static void check_threads(wn_model *m, const int *codes, const wn_window_cond *wc, int B,
                          int len)
{
    const size_t P = wn_model_param_count(m);
    float *g1 = malloc(sizeof(float) * P), *gk = malloc(sizeof(float) * P);
    REQUIRE(g1 && gk);
    double l1, lk;
    loss_grad(m, codes, wc, B, len, 1, g1, &l1);
    const int th[] = {2, 3, 0, 2};
    for (int k = 0; k < 4; k++) {
        memset(gk, 0xff, sizeof(float) * P);
        loss_grad(m, codes, wc, B, len, th[k], gk, &lk);
        checks += 2;
        CHECKF(!memcmp(g1, gk, sizeof(float) * P),
               "threads %d: the gradient differs from threads 1 (batch %d)", th[k], B);
        CHECKF(!memcmp(&l1, &lk, sizeof l1), "threads %d: loss %.17g, threads 1 %.17g",
               th[k], lk, l1);
    }
    printf("threads: gradient and loss bitwise equal for threads 1, 2, 3, 0 (batch %d%s)\n",
           B, wc ? ", conditional" : "");
    free(g1), free(gk);
}

/* ---------------------------------------------------------------- logits */

/* The loss of one window against -log softmax of wn_model_logits. */
static double check_logits(wn_model *m, const int *w, int len)
{
    wn_error err;
    const int Q = wn_model_config(m).bins, rf = wn_model_receptive_field(m);
    const size_t P = wn_model_param_count(m);
    float *logits = malloc(sizeof(float) * (size_t)len * Q), *g = malloc(sizeof(float) * P);
    REQUIRE(logits && g);
    REQUIRE_OK(wn_model_logits(m, w, (size_t)len, logits, &err), &err);
    double want = 0;
    for (int t = rf; t < len; t++) {
        const float *l = logits + (size_t)t * Q;
        double mx = -INFINITY, s = 0;
        for (int q = 0; q < Q; q++) mx = fmax(mx, l[q]);
        for (int q = 0; q < Q; q++) s += exp((double)l[q] - mx);
        want -= (double)l[w[t]] - mx - log(s);
    }
    want /= len - rf;
    double loss;
    REQUIRE_OK(wn_loss_grad(m, w, 1, len, 1, g, &loss, &err), &err);
    double rel = fabs(loss - want) / fabs(want);
    checks++;
    CHECKF(rel <= TOL_LOGITS, "loss %.10f, from wn_model_logits %.10f (rel %.3g, len %d)",
           loss, want, rel, len);
    printf("logits: len %d, loss %.8f, -log softmax of wn_model_logits %.8f, rel %.3g\n", len,
           loss, want, rel);
    free(logits), free(g);
    return rel;
}

/* ---------------------------------------------------------------- batch */

static void check_batch(wn_model *m, const int *codes, int B, int len)
{
    wn_error err;
    const size_t P = wn_model_param_count(m);
    float *gb = malloc(sizeof(float) * P), *g1 = malloc(sizeof(float) * P);
    double *mean = calloc(P, sizeof(double));
    REQUIRE(gb && g1 && mean);
    double lb, l1, lmean = 0;
    REQUIRE_OK(wn_loss_grad(m, codes, B, len, 1, gb, &lb, &err), &err);
    for (int b = 0; b < B; b++) {
        REQUIRE_OK(wn_loss_grad(m, codes + (size_t)b * len, 1, len, 1, g1, &l1, &err), &err);
        lmean += l1 / B;
        for (size_t i = 0; i < P; i++) mean[i] += (double)g1[i] / B;
    }
    double gmax = 0, worst = 0;
    for (size_t i = 0; i < P; i++) gmax = fmax(gmax, fabs(mean[i]));
    for (size_t i = 0; i < P; i++) worst = fmax(worst, fabs(gb[i] - mean[i]) / gmax);
    checks += 2;
    CHECKF(fabs(lb - lmean) <= 1e-12 * fabs(lmean), "batch loss %.17g, mean of windows %.17g",
           lb, lmean);
    CHECKF(worst <= TOL_BATCH, "batch gradient against the mean of the windows': %.3g", worst);
    printf("batch: loss equals the mean of its windows' (|diff| %.3g), gradient max "
           "|diff|/max|g| %.3g\n", fabs(lb - lmean), worst);
    free(gb), free(g1), free(mean);
}

/* ---------------------------------------------------------------- conditional */

/* A conditional model: C mel bands through the frames conv and the
 * upsampler of `hop`, N speakers of G dimensions, and a feature
 * normalisation that is not the identity. */
static wn_model *make_cond_model(int Q, int L, int K, int R, int D, int S, int C, int hop,
                                 int N, int G, uint64_t seed)
{
    wn_config c = wn_config_default();
    c.bins = Q, c.layers = L, c.stack = K, c.residual = R, c.dilation = D, c.skip = S;
    c.cond = C, c.hop = hop, c.upsample_pre = 1, c.speakers = N, c.speaker_dim = G;
    c.cond_channels = C > 2 ? C - 1 : 0; /* the frames conv maps 3 bands to 2 channels */
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    if (!m) { fprintf(stderr, "wn_model_init: %s\n", err.message); exit(1); }
    /* wn_model_init's bounds, 1/sqrt(fan_in), leave two stages' rows at a
     * tenth of the features' size and their gradients near the difference
     * quotients' noise: three times the upsampler's weights bring the
     * rows to about the features' size */
    for (int i = 0; i < wn_model_tensor_count(m); i++) {
        const char *name = wn_model_tensor_name(m, i);
        if (strncmp(name, "upsample.", 9) || !strstr(name, ".weight")) continue;
        size_t n = wn_model_tensor_info(m, name, NULL, NULL, NULL);
        float *w = malloc(sizeof(float) * n);
        REQUIRE(w && wn_model_tensor_get(m, name, NULL, w) == n);
        for (size_t k = 0; k < n; k++) w[k] *= 3;
        REQUIRE_OK(wn_model_set_tensor(m, name, w, n, &err), &err);
        free(w);
    }
    float mean[16], std[16];
    REQUIRE(C <= 16);
    for (int i = 0; i < C; i++) mean[i] = -4.0f + 0.5f * i, std[i] = 1.5f + 0.25f * i;
    REQUIRE_OK(wn_model_set_feature_norm(m, mean, std, &err), &err);
    return m;
}

/* Log-mel-like frames (frames, C): a level per band plus a random walk. */
static float *make_features(size_t frames, int C)
{
    float *f = malloc(sizeof(float) * frames * (size_t)C);
    REQUIRE(f);
    for (int c = 0; c < C; c++) {
        double x = -4.0 + 0.5 * c;
        for (size_t t = 0; t < frames; t++) {
            x += 2.0 * ((double)(rng_next() >> 11) * 0x1p-53) - 1.0;
            f[t * (size_t)C + c] = (float)x;
        }
    }
    return f;
}

/* Windows of `len` codes cut from clips: window b is clip[b] (its codes and
 * features) from offset[b], spoken by speaker[b]. Fills codes (B, len) and
 * wc. */
static void cut_windows(const wn_model *m, int *const *clips, const size_t *clip_len,
                        float *const *feats, const int *clip, const int *offset,
                        const int *speaker, int B, int len, int *codes, wn_window_cond *wc)
{
    for (int b = 0; b < B; b++) {
        const int k = clip[b];
        REQUIRE(offset[b] >= 0 && (size_t)offset[b] + (size_t)len <= clip_len[k]);
        memcpy(codes + (size_t)b * len, clips[k] + offset[b], sizeof(int) * (size_t)len);
        wc[b] = (wn_window_cond){feats[k], wn_model_cond_frames(m, clip_len[k]), offset[b],
                                 speaker[b]};
    }
}

/* The speaker rows that no window uses get exactly no gradient. */
static void check_unused_speakers(const wn_model *m, const wn_window_cond *wc, int B, int len)
{
    const wn_config c = wn_model_config(m);
    const size_t P = wn_model_param_count(m);
    float *g = malloc(sizeof(float) * P), *t = malloc(sizeof(float) * (size_t)c.speakers *
                                                      c.speaker_dim);
    int *codes = random_codes((size_t)B * len, c.bins);
    REQUIRE(g && t);
    double loss;
    loss_grad(m, codes, wc, B, len, 1, g, &loss);
    REQUIRE(wn_model_tensor_get(m, "speaker.weight", g, t) > 0);
    int unused = 0;
    for (int s = 0; s < c.speakers; s++) {
        int used = 0;
        for (int b = 0; b < B; b++) used |= wc[b].speaker == s;
        if (used) continue;
        unused++;
        for (int k = 0; k < c.speaker_dim; k++) {
            checks++;
            CHECKF(t[(size_t)s * c.speaker_dim + k] == 0.0f, "speaker %d is in no window, its "
                   "row's gradient is %g", s, (double)t[(size_t)s * c.speaker_dim + k]);
        }
    }
    REQUIRE(unused > 0);
    printf("speakers: the %d row(s) of speakers in no window have exactly zero gradient\n",
           unused);
    free(g), free(t), free(codes);
}

/* ---------------------------------------------------------------- main */

/* The batch's gradient is the pairwise sum of its windows' gradients in
 * one fixed tree (grad.c): checked bit for bit against the windows' own
 * gradients (each made alone, scaled as in the batch) summed here by that
 * tree, for every batch size to 7; and a power-of-two block of windows is
 * a subtree, so ranks that each sum a block and merge the blocks' sums by
 * the same tree (dist.c) give the batch's bits: 4 = 2 + 2, 6 = 2 + 2 + 2. */
static void pairwise_tree(const wn_model *m, int len)
{
    const size_t P = wn_model_param_count(m);
    int *codes = random_codes((size_t)7 * len, wn_model_config(m).bins);
    wn_error err;
    float *g[7], *want = malloc(P * sizeof *want), *got = malloc(P * sizeof *got);
    REQUIRE(want && got);
    for (int B = 1; B <= 7; B++) {
        for (int b = 0; b < B; b++) {
            wn_grad_ctx *c = wn_grad_ctx_create(m, 1, len, 1, &err);
            REQUIRE(c);
            wn__grad_ctx_set_scale(c, B);
            g[b] = malloc(P * sizeof(float));
            REQUIRE(g[b]);
            REQUIRE_OK(wn_grad_ctx_run(c, codes + (size_t)b * len, g[b], NULL, &err), &err);
            wn_grad_ctx_free(c);
        }
        /* the tree: adjacent pairs, level by level, an odd one carried up */
        int n = B;
        while (n > 1) {
            for (int i = 0; 2 * i + 1 < n; i++)
                for (size_t k = 0; k < P; k++) g[2 * i][k] += g[2 * i + 1][k];
            for (int i = 0; 2 * i < n; i++)
                if (i) memcpy(g[i], g[2 * i], P * sizeof(float));
            n = (n + 1) / 2;
        }
        memcpy(want, g[0], P * sizeof(float));
        for (int t = 1; t <= 2; t++) {
            REQUIRE_OK(wn_loss_grad(m, codes, B, len, t, got, NULL, &err), &err);
            CHECKF(!memcmp(want, got, P * sizeof(float)), "batch %d, %d threads: not the tree's sum",
                   B, t);
        }
        for (int b = 0; b < B; b++) free(g[b]);
        /* blocks of 2 windows as ranks would sum them, then the blocks */
        if (B == 4 || B == 6) {
            float *blk[3];
            for (int r = 0; r < B / 2; r++) {
                blk[r] = malloc(P * sizeof(float));
                wn_grad_ctx *c = wn_grad_ctx_create(m, 2, len, 1, &err);
                REQUIRE(c && blk[r]);
                wn__grad_ctx_set_scale(c, B);
                REQUIRE_OK(wn_grad_ctx_run(c, codes + (size_t)2 * r * len, blk[r], NULL, &err), &err);
                wn_grad_ctx_free(c);
            }
            for (size_t k = 0; k < P; k++) blk[0][k] += blk[1][k];
            if (B == 6)
                for (size_t k = 0; k < P; k++) blk[0][k] += blk[2][k];
            CHECKF(!memcmp(want, blk[0], P * sizeof(float)), "batch %d as blocks of 2", B);
            for (int r = 0; r < B / 2; r++) free(blk[r]);
        }
    }
    fprintf(stderr, "pairwise sum: batches 1-7 on 1 and 2 threads, and blocks of 2, bit for bit\n");
    free(want);
    free(got);
    free(codes);
}

int main(void)
{
    /* tiny: Q 24, dilations 1 2 1 2 (RF 8), R 5, D 3, S 7; every entry of
     * every tensor is checked */
    wn_model *m = make_model(24, 4, 2, 5, 3, 7, 11);
    int rf = wn_model_receptive_field(m);
    REQUIRE(rf == 8);
    int len = rf + 9, B = 2;
    int *codes = random_codes((size_t)B * len, 24);
    fd_model("tiny (Q 24, L 4, K 2, R 5, D 3, S 7, batch 2)", m, codes, NULL, B, len);

    int *codes3 = random_codes((size_t)3 * len, 24);
    check_threads(m, codes3, NULL, 3, len);
    pairwise_tree(m, len);
    check_batch(m, codes3, 3, len);
    double worst_logits = 0;
    worst_logits = fmax(worst_logits, check_logits(m, codes, len));
    int *longw = random_codes((size_t)rf + 40, 24);
    worst_logits = fmax(worst_logits, check_logits(m, longw, rf + 40));
    wn_model_free(m);
    free(codes), free(codes3), free(longw);

    /* wider: Q 64, dilations 1 2 4 1 2 4 (RF 16), R 8, D 6, S 12; the large
     * tensors by random entries */
    m = make_model(64, 6, 3, 8, 6, 12, 23);
    rf = wn_model_receptive_field(m);
    REQUIRE(rf == 16);
    len = rf + 12;
    codes = random_codes((size_t)B * len, 64);
    fd_model("wider (Q 64, L 6, K 3, R 8, D 6, S 12, batch 2)", m, codes, NULL, B, len);
    check_threads(m, codes, NULL, B, len);
    worst_logits = fmax(worst_logits, check_logits(m, codes, len));
    /* a window starting in silence, as training draws near a clip's start */
    for (int t = 0; t < rf; t++) codes[t] = wn_mulaw_silence(64);
    worst_logits = fmax(worst_logits, check_logits(m, codes, len));
    wn_model_free(m);
    free(codes);

    /* long windows: training works through each layer in chunks of 256
     * rows (src/net.c), so these span several chunks, with dilations from
     * 1 to 512 (RF 1025): a tap reaches into the same chunk, the previous
     * one and chunks further back */
    m = make_model(16, 10, 10, 3, 2, 4, 31);
    rf = wn_model_receptive_field(m);
    REQUIRE(rf == 1025);
    len = rf + 300;
    codes = random_codes((size_t)len, 16);
    fd_model("long (Q 16, L 10, K 10, R 3, D 2, S 4, 1324 inputs)", m, codes, NULL, 1, len);
    worst_logits = fmax(worst_logits, check_logits(m, codes, len));
    int *codes2 = random_codes((size_t)2 * len, 16);
    check_threads(m, codes2, NULL, 2, len);
    check_threads(m, codes, NULL, 1, len);
    wn_model_free(m);
    free(codes), free(codes2);

    /* conditional, tiny: 3 mel bands through the frames conv and two
     * stages (hop 36 = 6 x 6), 3 speakers of 2 dimensions; three windows
     * of two clips (offset 0, at a clip's end, off the hop's grid; speaker
     * 1 in none), every entry of every tensor */
    {
        m = make_cond_model(24, 4, 2, 5, 3, 7, 3, 36, 3, 2, 41);
        rf = wn_model_receptive_field(m);
        len = rf + 9;
        size_t clip_len[2] = {120, 60};
        int *clips[2] = {random_codes(clip_len[0], 24), random_codes(clip_len[1], 24)};
        float *feats[2] = {make_features(wn_model_cond_frames(m, clip_len[0]), 3),
                           make_features(wn_model_cond_frames(m, clip_len[1]), 3)};
        const int clip[3] = {0, 0, 1}, off[3] = {0, 120 - len, 29}, spk[3] = {0, 2, 2};
        int *wcodes = malloc(sizeof(int) * 3 * (size_t)len);
        wn_window_cond wc[3];
        REQUIRE(wcodes);
        cut_windows(m, clips, clip_len, feats, clip, off, spk, 3, len, wcodes, wc);
        fd_model("cond (Q 24, L 4, K 2, R 5, D 3, S 7, 3 bands to C 2, hop 36 = 6 x 6, pre, 3 speakers "
                 "of 2, batch 3)", m, wcodes, wc, 3, len);
        check_threads(m, wcodes, wc, 3, len);
        check_threads(m, wcodes + len, wc + 1, 1, len);
        check_unused_speakers(m, wc, 3, len);
        wn_model_free(m);
        free(wcodes), free(clips[0]), free(clips[1]), free(feats[0]), free(feats[1]);
    }
    /* conditional, long: one window of 1324 inputs (RF 1025) through 36
     * frames (hop 40 = 4 x 10), which training works through in chunks and
     * two threads share by chunks of time */
    {
        m = make_cond_model(16, 10, 10, 3, 2, 4, 2, 40, 2, 2, 43);
        rf = wn_model_receptive_field(m);
        len = rf + 300;
        size_t clip_len[1] = {(size_t)len + 75};
        int *clips[1] = {random_codes(clip_len[0], 16)};
        float *feats[1] = {make_features(wn_model_cond_frames(m, clip_len[0]), 2)};
        const int clip[1] = {0}, off[1] = {37}, spk[1] = {1};
        int *wcodes = malloc(sizeof(int) * (size_t)len);
        wn_window_cond wc[1];
        REQUIRE(wcodes);
        cut_windows(m, clips, clip_len, feats, clip, off, spk, 1, len, wcodes, wc);
        fd_model("cond long (Q 16, L 10, K 10, R 3, D 2, S 4, C 2, hop 40 = 4 x 10, pre, "
                 "2 speakers of 2, 1324 inputs)", m, wcodes, wc, 1, len);
        check_threads(m, wcodes, wc, 1, len);
        wn_model_free(m);
        free(wcodes), free(clips[0]), free(feats[0]);
    }

    printf("logits: worst relative difference %.3g\n", worst_logits);
    return tu_finish("grad", checks);
}
