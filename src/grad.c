/* grad.c - the training step's gradient. Windows of a batch run forward
 * and backward in parallel, a window per thread; windows left over when
 * the batch does not fill every thread (one window on two threads, say)
 * are each shared by all the threads, by chunks of time (net.c, wn__team).
 * Each window's gradient is made in its thread's workspace and added to
 * the caller's slab in window order (an ordered loop), and a shared window
 * gives the same bits as a window alone, so the result does not depend on
 * the thread count; the memory is a slab per thread, not per window. */
#include "cond.h"
#include "net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct wn_grad_ctx {
    const wn_model *m;
    int batch, len, threads, nws;
    wn__ws **ws;      /* nws = min(threads, batch): a window each */
    float **dz;       /* a chunk of dz per thread */
    float **part;     /* partial sums 1.. of the pairwise sum (0: the caller's) */
    int nparts;
    int scale_batch;  /* the loss averages over this many windows (a rank's
                         share of a global batch averages over the global) */
    double *nll;
    /* conditioning, per workspace: the upsampler's rows and buffers, the
     * layers' biases with the speaker's terms */
    wn__cond_ws **cw;
    float **u, **bias;
    const wn_window_cond *wc; /* this run's */
};

/* Threads beyond the batch share windows by chunks of time, so more than
 * a window's chunks would have nothing to do. */
static int pick_threads(const wn_model *m, int threads, int batch, int len)
{
    int t = threads > 0 ? threads : 1;
#ifdef _OPENMP
    if (threads <= 0) t = omp_get_max_threads();
#endif
    int chunks = (len - 1 - wn__layer_start(m, 0, len - 1, len - m->rf) + WN_CHUNK - 1) / WN_CHUNK;
    int most = batch > chunks ? batch : chunks;
    return t > most ? most : t;
}

static size_t dz_floats(const wn_model *m) { return (size_t)WN_CHUNK * m->cfg.dilation; }

/* Partial sums held at once beside the caller's: floor(log2(B)). */
static int partial_slabs(int batch)
{
    int n = 0;
    while ((2 << n) <= batch) n++;
    return n;
}

size_t wn_grad_memory(const wn_model *m, int batch, int len, int threads)
{
    if (batch < 1 || len <= m->rf) return 0;
    int t = pick_threads(m, threads, batch, len), nws = t < batch ? t : batch;
    const size_t per = wn__ws_bytes(m, len - 1, len - m->rf, 1) + wn__cond_ws_bytes(m, len) +
                       sizeof(float) * ((size_t)len * wn__cond_width(&m->cfg) +
                                        (size_t)m->cfg.layers * 2 * m->cfg.dilation);
    return (size_t)nws * per +
           (size_t)t * dz_floats(m) * sizeof(float) +
           (size_t)partial_slabs(batch) * m->n_params * sizeof(float);
}

void wn_grad_ctx_free(wn_grad_ctx *c)
{
    if (!c) return;
    for (int i = 0; c->ws && i < c->nws; i++) wn__ws_free(c->ws[i]);
    for (int i = 0; c->cw && i < c->nws; i++) {
        wn__cond_ws_free(c->cw[i]);
        wn__free(c->u[i]);
        wn__free(c->bias[i]);
    }
    free(c->cw);
    free(c->u);
    free(c->bias);
    for (int i = 0; c->dz && i < c->threads; i++) wn__free(c->dz[i]);
    for (int i = 1; c->part && i <= c->nparts; i++) wn__free(c->part[i]);
    free(c->ws);
    free(c->dz);
    free(c->part);
    free(c->nll);
    free(c);
}

wn_grad_ctx *wn_grad_ctx_create(const wn_model *m, int batch, int len, int threads,
                                wn_error *err)
{
    if (batch < 1) {
        wn__err(err, WN_ERR_ARG, "batch must be at least 1");
        return NULL;
    }
    if (len <= m->rf || len > (1 << 24)) {
        wn__err(err, WN_ERR_ARG,
                "window of %d samples: must be longer than the receptive field (%d)", len,
                m->rf);
        return NULL;
    }
    wn_grad_ctx *c = calloc(1, sizeof *c);
    if (!c) goto nomem;
    c->m = m;
    c->batch = batch;
    c->len = len;
    c->threads = pick_threads(m, threads, batch, len);
    c->nws = c->threads < batch ? c->threads : batch;
    c->ws = calloc((size_t)c->nws, sizeof *c->ws);
    c->dz = calloc((size_t)c->threads, sizeof *c->dz);
    c->scale_batch = batch;
    c->nparts = partial_slabs(batch);
    c->part = calloc((size_t)c->nparts + 1, sizeof *c->part);
    c->nll = calloc((size_t)batch, sizeof *c->nll);
    if (!c->ws || !c->dz || !c->part || !c->nll) goto nomem;
    for (int i = 1; i <= c->nparts; i++)
        if (!(c->part[i] = wn__alloc(m->n_params, sizeof(float)))) goto nomem;
    for (int i = 0; i < c->nws; i++)
        if (!(c->ws[i] = wn__ws_create(m, len - 1, len - m->rf, 1))) goto nomem;
    if (m->cfg.cond || m->cfg.speakers) {
        c->cw = calloc((size_t)c->nws, sizeof *c->cw);
        c->u = calloc((size_t)c->nws, sizeof *c->u);
        c->bias = calloc((size_t)c->nws, sizeof *c->bias);
        if (!c->cw || !c->u || !c->bias) goto nomem;
        for (int i = 0; i < c->nws; i++) {
            if (!(c->bias[i] = wn__alloc((size_t)m->cfg.layers * 2 * m->cfg.dilation,
                                         sizeof(float))))
                goto nomem;
            if (m->cfg.cond && (!(c->cw[i] = wn__cond_ws_create(m, len)) ||
                                !(c->u[i] = wn__alloc((size_t)len * wn__cond_width(&m->cfg),
                                                      sizeof(float)))))
                goto nomem;
        }
    }
    for (int i = 0; i < c->threads; i++)
        if (!(c->dz[i] = wn__alloc(dz_floats(m), sizeof(float)))) goto nomem;
    return c;
nomem:
    wn_grad_ctx_free(c);
    wn__err(err, WN_ERR_NOMEM, "out of memory for training buffers (batch %d x %d samples)",
            batch, len);
    return NULL;
}

/* Window b's gradient into workspace w's grad by team tm (every member
 * calls). */
static void run_window(wn_grad_ctx *c, int w, const int *codes, int b, float scale,
                       const wn__team *tm)
{
    const wn_model *m = c->m;
    wn__ws *ws = c->ws[w];
    const int len = c->len, N = len - 1, V = len - m->rf;
    size_t lo, hi;
    wn__team_share(tm, m->n_params, &lo, &hi);
    const int *in = codes + (size_t)b * len;
    memset(ws->grad + lo, 0, sizeof(float) * (hi - lo)); /* the forward syncs */
    /* row i predicts the clip's sample offset + i + 1: its features' row */
    const wn_window_cond *wc = c->wc ? &c->wc[b] : NULL;
    wn__cin ci = {NULL, NULL};
    if (wc) {
        if (m->cfg.cond) ci.u = c->u[w];
        if (m->cfg.speakers) ci.bias = c->bias[w];
        if (tm->tid == 0) {
            if (ci.u)
                wn__cond_forward(m, c->cw[w], wc->features, (long)wc->frames,
                                 (long)wc->offset + 1, (long)wc->offset + 1 + N, c->u[w]);
            if (ci.bias) wn__cond_layer_bias(m, wc->speaker, c->bias[w]);
        }
    }
    wn__forward_train(m, ws, in, N, V, wc ? &ci : NULL, tm);
    double nll = wn__backward(m, ws, in, N, V, wc ? &ci : NULL, in + m->rf, scale, tm);
    if (tm->tid == 0) c->nll[b] = nll;
    wn__team_sync(tm);
    if (wc && tm->tid == 0) {
        if (ci.u) wn__cond_backward(m, c->cw[w], ws->dcond, &ws->gv);
        if (ci.bias) wn__cond_speaker_backward(m, wc->speaker, ws->dbias, &ws->gv);
    }
    if (wc) wn__team_sync(tm);
}

/* Window b's gradient g into the pairwise sum, elements [lo, hi): before
 * it, popcount(b) partial sums are held (the binary digits of b), and it
 * merges ctz(b + 1) times, each time as the right operand. Every thread of
 * a team follows the same plan on its own elements. */
static void sum_window(float *const *part, const float *restrict g, int b, size_t lo, size_t hi)
{
    const int d = __builtin_popcount((unsigned)b), merges = __builtin_ctz((unsigned)b + 1);
    if (!merges) {
        memcpy(part[d] + lo, g + lo, sizeof(float) * (hi - lo));
        return;
    }
    float *restrict left = part[d - 1];
    for (size_t i = lo; i < hi; i++) left[i] += g[i];
    for (int k = 1; k < merges; k++) {
        float *restrict l = part[d - 1 - k];
        const float *restrict r = part[d - k];
        for (size_t i = lo; i < hi; i++) l[i] += r[i];
    }
}

/* After the last window: the partial sums left merge from the right. */
static void sum_finish(float *const *part, int B, size_t lo, size_t hi)
{
    for (int k = __builtin_popcount((unsigned)B) - 1; k > 0; k--) {
        float *restrict l = part[k - 1];
        const float *restrict r = part[k];
        for (size_t i = lo; i < hi; i++) l[i] += r[i];
    }
}

void wn__grad_ctx_set_scale(wn_grad_ctx *c, int global_batch) { c->scale_batch = global_batch; }

int wn_grad_ctx_run(wn_grad_ctx *c, const int *codes, float *grad, double *loss,
                    wn_error *err)
{
    return wn_grad_ctx_run_cond(c, codes, NULL, grad, loss, err);
}

int wn_grad_ctx_run_cond(wn_grad_ctx *c, const int *codes, const wn_window_cond *wc,
                         float *grad, double *loss, wn_error *err)
{
    const wn_model *m = c->m;
    const int B = c->batch, len = c->len, V = len - m->rf, Q = m->cfg.bins;
    const size_t P = m->n_params;
    for (size_t i = 0; i < (size_t)B * len; i++)
        if (codes[i] < 0 || codes[i] >= Q)
            return wn__err(err, WN_ERR_ARG, "code %d at %zu is outside 0..%d", codes[i], i,
                           Q - 1);
    const int conditional = m->cfg.cond || m->cfg.speakers;
    if (conditional && !wc)
        return wn__err(err, WN_ERR_ARG, "the model is conditional: each window needs its "
                       "features%s", m->cfg.speakers ? " and speaker" : "");
    for (int b = 0; conditional && b < B; b++) {
        const wn_cond cc = {wc[b].features, wc[b].frames, wc[b].speaker, 0};
        wn_error e;
        /* a window may start before its clip (offset < 0): the codes there
         * are the silent past, where the features contribute nothing (as
         * scoring gives a clip's first samples); its last code must be in
         * the clip */
        if (wc[b].offset + len < 1 ||
            (m->cfg.cond && wc[b].frames < wn_model_cond_frames(m, (size_t)(wc[b].offset + len))))
            return wn__err(err, WN_ERR_ARG, "window %d: offset %lld and %zu frames do not "
                           "cover its %d samples", b, (long long)wc[b].offset, wc[b].frames, len);
        if ((m->cfg.speakers && (cc.speaker < 0 || cc.speaker >= m->cfg.speakers)) ||
            (m->cfg.cond && !cc.features))
            return wn__err(err, WN_ERR_ARG, "window %d: %s", b,
                           wn_cond_check(m, &cc, 1, &e) ? e.message : "bad conditioning");
    }
    c->wc = conditional ? wc : NULL;
    const float scale = 1.0f / ((float)c->scale_batch * (float)V);
    c->part[0] = grad;
    float *const *part = c->part;
#pragma omp parallel num_threads(c->threads)
    {
        int tid = 0, nth = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nth = omp_get_num_threads();
#endif
        /* whole rounds of windows, a window per thread, each summed in
         * turn; then what is left, a window at a time for the whole team,
         * each thread summing its share of the elements */
        const int full = B / nth * nth;
        const wn__team solo = {0, 1, c->dz[tid]}, team = {tid, nth, c->dz[tid]};
        size_t lo, hi;
#pragma omp for schedule(static, 1) ordered
        for (int b = 0; b < full; b++) {
            run_window(c, tid, codes, b, scale, &solo);
#pragma omp ordered
            sum_window(part, c->ws[tid]->grad, b, 0, P);
        }
        wn__team_share(&team, P, &lo, &hi);
        for (int b = full; b < B; b++) {
            run_window(c, 0, codes, b, scale, &team);
            sum_window(part, c->ws[0]->grad, b, lo, hi);
            wn__team_sync(&team); /* before the next window clears ws->grad */
        }
        sum_finish(part, B, lo, hi);
    }
    double nll = 0;
    for (int b = 0; b < B; b++) nll += c->nll[b];
    if (loss) *loss = nll / ((double)c->scale_batch * V);
    if (!isfinite(nll)) return wn__err(err, WN_ERR_NONFINITE, "the training loss is not finite");
    return WN_OK;
}

int wn_loss_grad(const wn_model *m, const int *codes, int batch, int len, int threads,
                 float *grad, double *loss, wn_error *err)
{
    wn_grad_ctx *c = wn_grad_ctx_create(m, batch, len, threads, err);
    if (!c) return err ? err->code : WN_ERR_NOMEM;
    int rc = wn_grad_ctx_run(c, codes, grad, loss, err);
    wn_grad_ctx_free(c);
    return rc;
}
