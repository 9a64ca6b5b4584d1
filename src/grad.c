/* grad.c - the training step's gradient: windows of a batch run forward
 * and backward in parallel, each into its own gradient slab, summed in a
 * fixed order so that the result does not depend on the thread count. */
#include "net.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

struct wn_grad_ctx {
    const wn_model *m;
    int batch, len, threads;
    wn__ws **ws;      /* one per thread */
    float **gslab;    /* one packed gradient per batch element */
    float *sum;       /* packed total */
    double *nll;
};

static int pick_threads(int threads, int batch)
{
    int t = threads > 0 ? threads : 1;
#ifdef _OPENMP
    if (threads <= 0) t = omp_get_max_threads();
#endif
    return t > batch ? batch : t;
}

size_t wn_grad_memory(const wn_model *m, int batch, int len, int threads)
{
    if (batch < 1 || len <= m->rf) return 0;
    int t = pick_threads(threads, batch);
    return (size_t)t * wn__ws_bytes(m, len - 1, len - m->rf, 1) +
           (size_t)(batch + 1) * m->n_params * sizeof(float);
}

void wn_grad_ctx_free(wn_grad_ctx *c)
{
    if (!c) return;
    for (int i = 0; c->ws && i < c->threads; i++) wn__ws_free(c->ws[i]);
    for (int i = 0; c->gslab && i < c->batch; i++) wn__free(c->gslab[i]);
    free(c->ws);
    free(c->gslab);
    wn__free(c->sum);
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
    c->threads = pick_threads(threads, batch);
    c->ws = calloc((size_t)c->threads, sizeof *c->ws);
    c->gslab = calloc((size_t)batch, sizeof *c->gslab);
    c->sum = wn__alloc(m->n_params, sizeof(float));
    c->nll = calloc((size_t)batch, sizeof *c->nll);
    if (!c->ws || !c->gslab || !c->sum || !c->nll) goto nomem;
    for (int i = 0; i < c->threads; i++)
        if (!(c->ws[i] = wn__ws_create(m, len - 1, len - m->rf, 1))) goto nomem;
    for (int b = 0; b < batch; b++)
        if (!(c->gslab[b] = wn__alloc(m->n_params, sizeof(float)))) goto nomem;
    return c;
nomem:
    wn_grad_ctx_free(c);
    wn__err(err, WN_ERR_NOMEM, "out of memory for training buffers (batch %d x %d samples)",
            batch, len);
    return NULL;
}

int wn_grad_ctx_run(wn_grad_ctx *c, const int *codes, float *grad, double *loss,
                    wn_error *err)
{
    const wn_model *m = c->m;
    const int B = c->batch, len = c->len, N = len - 1, V = len - m->rf, Q = m->cfg.bins;
    const size_t P = m->n_params;
    for (size_t i = 0; i < (size_t)B * len; i++)
        if (codes[i] < 0 || codes[i] >= Q)
            return wn__err(err, WN_ERR_ARG, "code %d at %zu is outside 0..%d", codes[i], i,
                           Q - 1);
    const float scale = 1.0f / ((float)B * (float)V);
#pragma omp parallel for schedule(static, 1) num_threads(c->threads)
    for (int b = 0; b < B; b++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        wn__ws *ws = c->ws[tid];
        const int *in = codes + (size_t)b * len;
        memset(ws->grad, 0, sizeof(float) * P);
        wn__forward(m, ws, in, N, V, NULL);
        c->nll[b] = wn__backward(m, ws, in, N, V, in + m->rf, scale);
        memcpy(c->gslab[b], ws->grad, sizeof(float) * P);
    }
    double nll = 0;
    memcpy(c->sum, c->gslab[0], sizeof(float) * P);
    for (int b = 1; b < B; b++) {
        const float *g = c->gslab[b];
        for (size_t i = 0; i < P; i++) c->sum[i] += g[i];
    }
    for (int b = 0; b < B; b++) nll += c->nll[b];
    wn__unpack(m, c->sum, grad);
    if (loss) *loss = nll / ((double)B * V);
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
