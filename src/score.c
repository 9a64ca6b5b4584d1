/* score.c - exact teacher-forced likelihood of a code sequence, in chunks
 * that overlap by the receptive field (so memory stays bounded and threads
 * can share the work), and the teacher-forced logits used by tests. */
#include "cond.h"
#include "net.h"
#include "layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define DEFAULT_CHUNK 8192

wn_score_params wn_score_default_params(void)
{
    wn_score_params p = {.threads = 0, .chunk = 0, .progress = NULL, .progress_user = NULL,
                         .precision = WN_PRECISION_F32, .cond = NULL};
    return p;
}

/* Inputs for outputs predicting x[t0..t1) of s = [silence x RF, x[0],
 * x[1], ...]: the window s[p0 .. t1+RF-1), N = t1 + RF - 1 - p0 codes, row i
 * predicting x[p0 + i + 1 - RF]. A chunk that starts in the silence
 * starts at its last position instead (p0 = RF - 1: row 0 predicts x[0]),
 * the endless silence before it standing in for the rest (wn__ws.pastw):
 * a receptive field longer than the clip then costs one row. */
static size_t window_start(const wn_model *m, size_t t0)
{
    const size_t rf = (size_t)m->rf;
    return t0 < rf - 1 ? rf - 1 : t0;
}

static void window(const wn_model *m, const int *x, size_t t0, size_t t1, int *in)
{
    const int rf = m->rf, sil = wn_mulaw_silence(m->cfg.bins);
    const size_t p0 = window_start(m, t0), N = t1 + (size_t)rf - 1 - p0;
    for (size_t i = 0; i < N; i++) {
        size_t p = p0 + i; /* position in s */
        in[i] = p < (size_t)rf ? sil : x[p - (size_t)rf];
    }
}

static int check_codes(const wn_model *m, const int *codes, size_t n, wn_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (codes[i] < 0 || codes[i] >= m->cfg.bins)
            return wn__err(err, WN_ERR_ARG, "code %d at sample %zu is outside 0..%d",
                           codes[i], i, m->cfg.bins - 1);
    return WN_OK;
}

/* Threads for `work` independent pieces: as asked (0: OpenMP's default),
 * at most one a piece. */
static int score_threads(const wn_score_params *p, size_t work)
{
    int threads = p->threads > 0 ? p->threads : 1;
#ifdef _OPENMP
    if (p->threads <= 0) threads = omp_get_max_threads();
#endif
    return (size_t)threads > work ? (int)work : threads;
}

/* `add` more samples scored, of n: the calling thread (thread 0) passes the
 * figure to the progress callback and remembers it in *reported; a
 * non-zero answer sets *stop. */
static void progress_add(const wn_score_params *p, size_t add, size_t n, size_t *done,
                         size_t *reported, int *stop)
{
    size_t now;
#pragma omp atomic capture
    now = *done += add;
#ifdef _OPENMP
    if (omp_get_thread_num() != 0) return;
#endif
    if (!p->progress) return;
    *reported = now;
    if (p->progress(p->progress_user, (double)now, (double)n)) {
#pragma omp atomic write
        *stop = 1;
    }
}

/* The shared chunk loop: per chunk, either log-probabilities of the targets
 * (logp/nll) or raw logits. */
static int run_chunks(const wn_model *m, const int *codes, size_t n,
                      const wn_score_params *p, double *nll, float *logp, float *logits,
                      wn_error *err)
{
    wn_score_params def = wn_score_default_params();
    if (!p) p = &def;
    if (!codes && n) return wn__err(err, WN_ERR_ARG, "no codes given");
    int rc = check_codes(m, codes, n, err);
    if (rc) return rc;
    if ((rc = wn_cond_check(m, p->cond, n, err)) != WN_OK) return rc;
    const wn_cond *cc = m->cfg.cond || m->cfg.speakers ? p->cond : NULL;
    const int C = wn__cond_width(&m->cfg), LO = m->cfg.layers * 2 * m->cfg.dilation;
    if (nll) *nll = 0;
    if (n == 0) return WN_OK;
    const int Q = m->cfg.bins, rf = m->rf;
    /* chunks overlap by the receptive field: by default at least that long,
     * so the overlap costs at most as much as the chunk */
    size_t chunk = p->chunk ? p->chunk : DEFAULT_CHUNK;
    if (!p->chunk && chunk < (size_t)rf) chunk = (size_t)rf;
    if (chunk > n) chunk = n;
    if (chunk > (size_t)(1 << 24)) chunk = 1 << 24;
    size_t nchunks = (n + chunk - 1) / chunk;
    const int threads = score_threads(p, nchunks);
    (void)threads; /* unused where OpenMP is off (the fuzz build) */
    double *part = calloc(nchunks, sizeof *part);
    if (!part) return wn__err(err, WN_ERR_NOMEM, "out of memory");
    int failed = 0, stop = 0;
    size_t done = 0, reported = 0; /* reported: the last figure thread 0 gave */
    int N = 0;
    const int V = (int)chunk;
    for (size_t k = 0; k < nchunks; k++) {
        const size_t t0 = k * chunk, t1 = t0 + chunk < n ? t0 + chunk : n;
        const size_t rows = t1 + (size_t)rf - 1 - window_start(m, t0);
        if (rows > (size_t)N) N = (int)rows;
    }
    /* the speaker's biases (read by every thread), and the endless silence
     * before the first sample: each layer's steady input's tap-0 product */
    float *pastw = malloc(sizeof(float) * (size_t)LO), *hs = malloc(
        sizeof(float) * (size_t)m->cfg.layers * m->cfg.residual);
    float *bias = cc && cc->speaker >= 0 ? malloc(sizeof(float) * (size_t)LO) : NULL;
    if (bias) wn__cond_layer_bias(m, cc->speaker, bias);
    if (!pastw || !hs || (cc && cc->speaker >= 0 && !bias) ||
        wn__silence_state(m, bias, hs, pastw) != WN_OK) {
        free(pastw), free(hs), free(bias), free(part);
        return wn__err(err, WN_ERR_NOMEM, "out of memory");
    }
    free(hs);

#pragma omp parallel num_threads(threads)
    {
        wn__ws *ws = wn__ws_create(m, N, V, 0);
        int *in = malloc(sizeof(int) * (size_t)N);
        float *scratch = malloc(sizeof(float) * (size_t)Q);
        /* conditioning: the chunk's upsampled rows */
        wn__cond_ws *cw = cc && C ? wn__cond_ws_create(m, N) : NULL;
        float *u = cc && C ? wn__alloc((size_t)N * C, sizeof(float)) : NULL;
        wn__cin ci = {u, bias};
        if (!ws || !in || !scratch || (cc && C && (!cw || !u))) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        int bad;
#pragma omp atomic read
        bad = failed;
        if (!bad) {
#pragma omp for schedule(dynamic, 1)
            for (size_t k = 0; k < nchunks; k++) {
                int quit;
#pragma omp atomic read
                quit = stop;
                if (quit) continue;
                size_t t0 = k * chunk, t1 = t0 + chunk < n ? t0 + chunk : n;
                int v = (int)(t1 - t0);
                const size_t p0 = window_start(m, t0);
                const int rows = (int)(t1 + (size_t)rf - 1 - p0);
                window(m, codes, t0, t1, in);
                /* row i predicts sample p0 + i + 1 - rf */
                if (u)
                    wn__cond_forward(m, cw, cc->features, (long)cc->frames,
                                     (long)p0 + 1 - rf, (long)t1, u);
                const int steady = p0 == (size_t)rf - 1;
                ws->pastw = steady ? pastw : NULL;
                ws->past_code = steady ? wn_mulaw_silence(Q) : -1;
                wn__forward(m, ws, in, rows, v, NULL, cc ? &ci : NULL);
                if (logits) {
                    memcpy(logits + t0 * (size_t)Q, ws->logits, sizeof(float) * (size_t)v * Q);
                } else {
                    double s = 0;
                    for (int i = 0; i < v; i++) {
                        double lp = log_softmax_at(ws->logits + (size_t)i * Q, Q, codes[t0 + i],
                                                   scratch);
                        if (logp) logp[t0 + i] = (float)lp;
                        s -= lp;
                    }
                    part[k] = s;
                }
                progress_add(p, (size_t)v, n, &done, &reported, &stop);
            }
        }
        wn__ws_free(ws);
        free(in);
        free(scratch);
        wn__cond_ws_free(cw);
        wn__free(u);
    }
    free(pastw);
    free(bias);
    if (failed) {
        free(part);
        return wn__err(err, WN_ERR_NOMEM, "out of memory for scoring buffers");
    }
    if (stop) {
        free(part);
        return wn__err(err, WN_ERR_INTERRUPTED, "scoring interrupted");
    }
    /* the end, where another thread scored the last chunk */
    if (p->progress && reported < n) (void)p->progress(p->progress_user, (double)n, (double)n);
    /* summed in chunk order: the same bits for any thread count */
    double total = 0;
    for (size_t k = 0; k < nchunks; k++) total += part[k];
    free(part);
    if (nll) {
        *nll = total;
        if (!isfinite(total))
            return wn__err(err, WN_ERR_NONFINITE, "the log-likelihood is not finite");
    }
    return WN_OK;
}

/* ---- through the generation steps (precision F16, I8) */

#define STEP_STREAMS 4     /* streams a generator: its products' tile rows */
#define STEP_MIN_RF 4      /* a chunk at least this many receptive fields, */
#define STEP_MIN_CHUNK 1024 /* and this many samples */
#define STEP_MAX_CHUNKS 64

/* The chunks of n codes, fixed by n and the receptive field W alone: K of
 * them, chunk k predicting codes [c[k], c[k+1]), its stream fed from
 * max(0, c[k] - W); chunk 0 (no warm-up) W longer, so every stream runs
 * about the same number of steps. */
static size_t step_chunks(size_t n, size_t W, size_t *c)
{
    const size_t least = STEP_MIN_RF * W > STEP_MIN_CHUNK ? STEP_MIN_RF * W : STEP_MIN_CHUNK;
    size_t K = n / least;
    if (K < 1) K = 1;
    if (K > STEP_MAX_CHUNKS) K = STEP_MAX_CHUNKS;
    /* steps a stream: T >= least, so T - W - (K - 1) > 0 and c rises to n */
    const size_t T = (n + (K - 1) * W + K - 1) / K;
    c[0] = 0;
    for (size_t k = 1; k < K; k++) c[k] = T + (k - 1) * (T - W);
    c[K] = n;
    return K;
}

/* Generator group g: chunks [g*STEP_STREAMS, ...) as its streams, in
 * lockstep; part[k] = -sum of chunk k's log-probabilities, in order. Each
 * stream starts from silence at least W before its chunk, so that it ends
 * with its chunk (a stream that went on would step past the last sample,
 * beyond a conditional model's features); its clock starts there. */
static int step_group(const wn_model *m, wn_precision prec, const int *codes, const size_t *c,
                      size_t k0, int B, double *part, float *logp, const wn_score_params *p,
                      size_t n, size_t *done, size_t *reported, int *stop, wn_error *err)
{
    const int Q = m->cfg.bins, sil = wn_mulaw_silence(Q);
    const size_t W = (size_t)m->rf;
    const wn_cond *cc = m->cfg.cond || m->cfg.speakers ? p->cond : NULL;
    wn_gen *g = wn_gen_create(m, B, NULL, err);
    if (!g) return err->code;
    float *lg = malloc(sizeof(float) * (size_t)B * Q);
    int *in = malloc(sizeof(int) * (size_t)B);
    int rc = lg && in ? wn_gen_set_precision(g, prec, err)
                      : wn__err(err, WN_ERR_NOMEM, "out of memory for scoring steps");
    size_t w[STEP_STREAMS], steps = 0;
    for (int s = 0; s < B; s++) {
        const size_t k = k0 + (size_t)s, w0 = c[k] > W ? c[k] - W : 0;
        if (c[k + 1] - w0 > steps) steps = c[k + 1] - w0;
        part[k] = 0;
    }
    for (int s = 0; s < B; s++) {
        const size_t k = k0 + (size_t)s;
        w[s] = c[k + 1] > steps ? c[k + 1] - steps : 0;
    }
    if (cc && rc == WN_OK) { /* the streams share the caller's features */
        rc = wn_gen_use_cond(g, -1, cc, err);
        if (rc == WN_OK) rc = wn_gen_prime(g, NULL, 0, err);
        for (int s = 0; rc == WN_OK && s < B; s++) rc = wn_gen_set_clock(g, s, (int64_t)w[s], err);
    }
    size_t fresh = 0; /* samples scored since the last report */
    for (size_t t = 0; rc == WN_OK && t < steps; t++) {
        for (int s = 0; s < B; s++) { /* x[i-1] predicts x[i]; silence before x[0] */
            const size_t i = w[s] + t;
            in[s] = i == 0 || i > c[k0 + (size_t)s + 1] ? sil : codes[i - 1];
        }
        rc = wn_gen_feed(g, in, lg);
        if (rc != WN_OK) wn__err(err, rc, "%s", wn_gen_last_error(g));
        for (int s = 0; rc == WN_OK && s < B; s++) {
            const size_t k = k0 + (size_t)s, i = w[s] + t;
            if (i < c[k] || i >= c[k + 1]) continue; /* warming up, or done */
            const double lp = log_softmax_at(lg + (size_t)s * Q, Q, codes[i], NULL);
            if (logp) logp[i] = (float)lp;
            part[k] -= lp;
            fresh++;
        }
        if ((t & 4095) == 4095 || t + 1 == steps) {
            progress_add(p, fresh, n, done, reported, stop);
            fresh = 0;
            int quit;
#pragma omp atomic read
            quit = *stop;
            if (quit) rc = wn__err(err, WN_ERR_INTERRUPTED, "scoring interrupted");
        }
    }
    free(lg);
    free(in);
    wn_gen_free(g);
    return rc;
}

static int score_steps(const wn_model *m, const int *codes, size_t n, const wn_score_params *p,
                       double *nll, float *logp, wn_error *err)
{
    if (!codes && n) return wn__err(err, WN_ERR_ARG, "no codes given");
    int rc = check_codes(m, codes, n, err);
    if (rc) return rc;
    if ((rc = wn_cond_check(m, p->cond, n, err)) != WN_OK) return rc;
    *nll = 0;
    if (n == 0) return WN_OK;
    size_t c[STEP_MAX_CHUNKS + 1];
    const size_t K = step_chunks(n, (size_t)m->rf, c);
    const int G = (int)((K + STEP_STREAMS - 1) / STEP_STREAMS);
    const int threads = score_threads(p, (size_t)G);
    (void)threads; /* unused where OpenMP is off (the fuzz build) */
    double part[STEP_MAX_CHUNKS];
    int failed = WN_OK, stop = 0;
    size_t done = 0, reported = 0;
    wn_error first = {0};
#pragma omp parallel for num_threads(threads) schedule(dynamic, 1)
    for (int gi = 0; gi < G; gi++) {
        const size_t k0 = (size_t)gi * STEP_STREAMS;
        const int B = (int)(K - k0 < STEP_STREAMS ? K - k0 : STEP_STREAMS);
        wn_error e = {0};
        int r = step_group(m, p->precision, codes, c, k0, B, part, logp, p, n, &done, &reported,
                           &stop, &e);
        if (r != WN_OK) {
#pragma omp critical(wn_score_steps_err)
            if (failed == WN_OK) failed = r, first = e;
#pragma omp atomic write
            stop = 1;
        }
    }
    if (failed != WN_OK) {
        if (err) *err = first;
        return failed;
    }
    if (p->progress && reported < n) (void)p->progress(p->progress_user, (double)n, (double)n);
    double total = 0; /* in chunk order: the same bits for any thread count */
    for (size_t k = 0; k < K; k++) total += part[k];
    *nll = total;
    if (!isfinite(total))
        return wn__err(err, WN_ERR_NONFINITE, "the log-likelihood is not finite");
    return WN_OK;
}

int wn_score_codes(const wn_model *m, const int *codes, size_t n, const wn_score_params *p,
                   double *nll_nats, float *logp, wn_error *err)
{
    double tmp;
    if (p && p->precision != WN_PRECISION_F32) {
        if (p->precision != WN_PRECISION_F16 && p->precision != WN_PRECISION_I8)
            return wn__err(err, WN_ERR_ARG, "unknown precision %d", (int)p->precision);
        return score_steps(m, codes, n, p, nll_nats ? nll_nats : &tmp, logp, err);
    }
    return run_chunks(m, codes, n, p, nll_nats ? nll_nats : &tmp, logp, NULL, err);
}

int wn_model_logits(const wn_model *m, const int *codes, size_t n, float *logits,
                    wn_error *err)
{
    return wn_model_logits_cond(m, codes, n, NULL, logits, err);
}

int wn_model_logits_cond(const wn_model *m, const int *codes, size_t n, const wn_cond *c,
                         float *logits, wn_error *err)
{
    if (!logits && n) return wn__err(err, WN_ERR_ARG, "no output buffer");
    wn_score_params p = wn_score_default_params();
    p.cond = c;
    return run_chunks(m, codes, n, &p, NULL, NULL, logits, err);
}
