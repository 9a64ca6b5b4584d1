/* score.c - exact teacher-forced likelihood of a code sequence, in chunks
 * that overlap by the receptive field (so memory stays bounded and threads
 * can share the work), and the teacher-forced logits used by tests. */
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
    wn_score_params p = {.threads = 0, .chunk = 0, .progress = NULL, .progress_user = NULL};
    return p;
}

/* Inputs for outputs predicting x[t0..t1): the window s[t0 .. t1+RF-1) of
 * s = [silence x RF, x[0], x[1], ...], i.e. N = t1 - t0 + RF - 1 codes. */
static void window(const wn_model *m, const int *x, size_t t0, size_t t1, int *in)
{
    const int rf = m->rf, sil = wn_mulaw_silence(m->cfg.bins);
    size_t N = t1 - t0 + (size_t)rf - 1;
    for (size_t i = 0; i < N; i++) {
        size_t p = t0 + i; /* position in s */
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
    if (nll) *nll = 0;
    if (n == 0) return WN_OK;
    const int Q = m->cfg.bins, rf = m->rf;
    size_t chunk = p->chunk ? p->chunk : DEFAULT_CHUNK;
    if (chunk > n) chunk = n;
    if (chunk > (size_t)(1 << 24)) chunk = 1 << 24;
    size_t nchunks = (n + chunk - 1) / chunk;
    int threads = p->threads > 0 ? p->threads : 1;
#ifdef _OPENMP
    if (p->threads <= 0) threads = omp_get_max_threads();
#endif
    if ((size_t)threads > nchunks) threads = (int)nchunks;
    double *part = calloc(nchunks, sizeof *part);
    if (!part) return wn__err(err, WN_ERR_NOMEM, "out of memory");
    int failed = 0, stop = 0;
    size_t done = 0;
    const int N = (int)chunk + rf - 1, V = (int)chunk;

#pragma omp parallel num_threads(threads)
    {
        wn__ws *ws = wn__ws_create(m, N, V, 0);
        int *in = malloc(sizeof(int) * (size_t)N);
        float *scratch = malloc(sizeof(float) * (size_t)Q);
        if (!ws || !in || !scratch) {
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
                window(m, codes, t0, t1, in);
                wn__forward(m, ws, in, v + rf - 1, v, NULL);
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
                size_t now;
#pragma omp atomic capture
                now = done += (size_t)v;
#ifdef _OPENMP
                if (omp_get_thread_num() == 0)
#endif
                    if (p->progress && p->progress(p->progress_user, (double)now, (double)n)) {
#pragma omp atomic write
                        stop = 1;
                    }
            }
        }
        wn__ws_free(ws);
        free(in);
        free(scratch);
    }
    if (failed) {
        free(part);
        return wn__err(err, WN_ERR_NOMEM, "out of memory for scoring buffers");
    }
    if (stop) {
        free(part);
        return wn__err(err, WN_ERR_INTERRUPTED, "scoring interrupted");
    }
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

int wn_score_codes(const wn_model *m, const int *codes, size_t n, const wn_score_params *p,
                   double *nll_nats, float *logp, wn_error *err)
{
    double tmp;
    return run_chunks(m, codes, n, p, nll_nats ? nll_nats : &tmp, logp, NULL, err);
}

int wn_model_logits(const wn_model *m, const int *codes, size_t n, float *logits,
                    wn_error *err)
{
    if (!logits && n) return wn__err(err, WN_ERR_ARG, "no output buffer");
    return run_chunks(m, codes, n, NULL, NULL, NULL, logits, err);
}
