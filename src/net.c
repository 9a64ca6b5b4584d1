/* net.c - forward and backward of the whole network over a window. The
 * caller pads the past (silence codes for scoring, the crop itself in
 * training); rows of a layer that cannot reach the last V outputs are
 * skipped, which is what makes chunked scoring and long windows cheap. */
#include "net.h"
#include "layers.h"

#include <stdlib.h>
#include <string.h>

/* Each layer is worked through in chunks of this many rows, so that a
 * chunk's pre-activations, gate outputs and their gradients are still in
 * the core's cache when the next product reads them; a whole window
 * (thousands of rows) is not. Against whole-window passes, 2 threads:
 * training 1.23x on the large config (1.09x with only the forward
 * chunked), 1.18x on the small one, flat from 128 to 512 rows; scoring
 * 1.23x large, 1.04x small (bench/README.md). */
enum { CHUNK = 256 };

enum { WS_PARTS = 17 }; /* the arrays of the workspace (ws_floats) */

static size_t ws_floats(const wn_model *m, int N, int V, int train, size_t out[WS_PARTS])
{
    const wn_config *cf = &m->cfg;
    size_t L = train ? (size_t)cf->layers : 1, n = (size_t)N, v = (size_t)V;
    size_t R = (size_t)cf->residual, D = (size_t)cf->dilation, S = (size_t)cf->skip,
           Q = (size_t)cf->bins;
    /* a and z: every row of every layer in training (the backward reads
     * them), one chunk in scoring */
    size_t c = n < CHUNK ? n : CHUNK, az = train ? L * n : c;
    size_t sz[WS_PARTS] = {L * n * R, az * 2 * D, az * D, v * S, v * S, v * S, v * S,
                           v * Q, S};
    int k = 9;
    if (train) {
        /* dz and da hold one chunk */
        size_t t[] = {v * Q, v * S, v * S, v * S, n * R, c * D, c * 2 * D, m->n_params};
        for (int i = 0; i < 8; i++) sz[k++] = t[i];
    }
    size_t total = 0;
    for (int i = 0; i < k; i++) {
        sz[i] = (sz[i] + 15) & ~(size_t)15; /* 64-byte aligned parts */
        if (out) out[i] = sz[i];
        total += sz[i];
    }
    for (int i = k; out && i < WS_PARTS; i++) out[i] = 0;
    return total;
}

size_t wn__ws_bytes(const wn_model *m, int N, int V, int train)
{
    return sizeof(wn__ws) + ws_floats(m, N, V, train, NULL) * sizeof(float);
}

wn__ws *wn__ws_create(const wn_model *m, int N, int V, int train)
{
    size_t part[WS_PARTS];
    size_t total = ws_floats(m, N, V, train, part);
    wn__ws *ws = calloc(1, sizeof *ws);
    float *mem = ws ? wn__alloc(total, sizeof(float)) : NULL;
    if (!mem) {
        free(ws);
        return NULL;
    }
    ws->N = N;
    ws->V = V;
    ws->train = train;
    float **dst[WS_PARTS] = {&ws->h,    &ws->a,       &ws->z,  &ws->skip, &ws->r1,
                             &ws->u,    &ws->r2,      &ws->logits, &ws->bsum, &ws->dlogits,
                             &ws->dr,   &ws->du,      &ws->dskip,  &ws->dh,   &ws->dz,
                             &ws->da,   &ws->grad};
    float *p = mem;
    for (int i = 0; i < WS_PARTS && part[i]; i++) {
        *dst[i] = p;
        p += part[i];
    }
    if (train && wn__view_init(m, ws->grad, &ws->gv) != WN_OK) {
        wn__free(mem);
        free(ws);
        return NULL;
    }
    return ws;
}

void wn__ws_free(wn__ws *ws)
{
    if (!ws) return;
    wn__view_free(&ws->gv);
    wn__free(ws->h); /* the first part: the start of the block */
    free(ws);
}

int wn__layer_start(const wn_model *m, int j, int N, int V)
{
    /* layer j's output feeds layers j+1.. and the skip sum at rows >= N-V */
    long need = (long)N - V;
    for (int i = j + 1; i < m->cfg.layers; i++) need -= m->dil[i];
    return need > 0 ? (int)need : 0;
}

void wn__forward(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                 float *const *rings)
{
    const wn_config *c = &m->cfg;
    const int R = c->residual, D = c->dilation, S = c->skip, Q = c->bins, L = c->layers;
    const wn_view *w = &m->pk;
    const size_t nR = (size_t)N * R, nA = (size_t)N * 2 * D, nZ = (size_t)N * D;
    const int v0 = N - V;

    causal_forward(ws->h, in, N, w->causal_w, w->causal_b, Q, R);
    /* the skip sum starts from all the layers' skip biases at once */
    memcpy(ws->bsum, w->layer[0].b_skip, sizeof(float) * (size_t)S);
    for (int j = 1; j < L; j++)
        for (int s = 0; s < S; s++) ws->bsum[s] += w->layer[j].b_skip[s];
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &w->layer[j];
        const int d = m->dil[j], t0 = wn__layer_start(m, j, N, V);
        float *h = ws->train ? ws->h + j * nR : ws->h;
        if (rings && rings[j]) {
            for (int p = N - d < 0 ? 0 : N - d; p < N; p++)
                memcpy(rings[j] + (size_t)(p & (d - 1)) * R, h + (size_t)p * R,
                       sizeof(float) * (size_t)R);
        }
        /* the last layer's residual output feeds nothing */
        float *hn = j + 1 < L ? (ws->train ? ws->h + (j + 1) * nR : h) : NULL;
        /* Chunks from the last: scoring adds the residual into h in place,
         * and a chunk's dilated conv reads h only on its own and earlier
         * rows, which later chunks do not touch. */
        for (int k = (N - t0 + CHUNK - 1) / CHUNK - 1; k >= 0; k--) {
            const int c0 = t0 + k * CHUNK, c1 = N - c0 > CHUNK ? c0 + CHUNK : N;
            const int s0 = c0 > v0 ? c0 : v0;
            /* a and z of rows [c0, c1): training keeps every row for the
             * backward, scoring one chunk */
            float *a = ws->train ? ws->a + j * nA + (size_t)c0 * 2 * D : ws->a;
            float *z = ws->train ? ws->z + j * nZ + (size_t)c0 * D : ws->z;
            dilated_forward(a, h, c0, c1, d, lw->w_dil, lw->b_dil, R, 2 * D);
            gate_forward(z, a, c1 - c0, D);
            if (s0 < c1)
                conv1x1_forward(ws->skip + (size_t)(s0 - v0) * S, z + (size_t)(s0 - c0) * D,
                                c1 - s0, lw->w_skip, j == 0 ? ws->bsum : NULL, D, S,
                                j == 0 ? 0.0f : 1.0f);
            if (hn == h) {
                conv1x1_forward(h + (size_t)c0 * R, z, c1 - c0, lw->w_res, lw->b_res, D, R,
                                1.0f);
            } else if (hn) { /* training: h_{j+1} = h_j + b + w z in one pass and a product */
                for (int t = c0; t < c1; t++)
                    for (int r = 0; r < R; r++)
                        hn[(size_t)t * R + r] = h[(size_t)t * R + r] + lw->b_res[r];
                conv1x1_forward(hn + (size_t)c0 * R, z, c1 - c0, lw->w_res, NULL, D, R, 1.0f);
            }
        }
    }
    const size_t vs = (size_t)V * S;
    relu_forward(ws->r1, ws->skip, vs);
    conv1x1_forward(ws->u, ws->r1, V, w->head0_w, w->head0_b, S, S, 0.0f);
    relu_forward(ws->r2, ws->u, vs);
    conv1x1_forward(ws->logits, ws->r2, V, w->head1_w, w->head1_b, S, Q, 0.0f);
}

double wn__backward(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                    const int *targets, float scale)
{
    const wn_config *c = &m->cfg;
    const int R = c->residual, D = c->dilation, S = c->skip, Q = c->bins, L = c->layers;
    const wn_view *w = &m->pk, *g = &ws->gv;
    const size_t nR = (size_t)N * R, nA = (size_t)N * 2 * D, nZ = (size_t)N * D;
    const size_t vs = (size_t)V * S;
    const int v0 = N - V;

    double nll = softmax_xent(ws->dlogits, ws->logits, targets, V, Q, scale);
    memset(ws->dr, 0, sizeof(float) * vs);
    conv1x1_backward(ws->dr, g->head1_w, g->head1_b, ws->dlogits, ws->r2, V, w->head1_w,
                     S, Q);
    relu_backward(ws->du, ws->dr, ws->u, vs);
    memset(ws->dr, 0, sizeof(float) * vs);
    conv1x1_backward(ws->dr, g->head0_w, g->head0_b, ws->du, ws->r1, V, w->head0_w, S, S);
    relu_backward(ws->dskip, ws->dr, ws->skip, vs);

    /* every layer's skip bias has the same gradient: the sum of dskip */
    memset(ws->bsum, 0, sizeof(float) * (size_t)S);
    for (int t = 0; t < V; t++)
        for (int s = 0; s < S; s++) ws->bsum[s] += ws->dskip[(size_t)t * S + s];
    memset(ws->dh, 0, sizeof(float) * nR);
    for (int j = L - 1; j >= 0; j--) {
        const wn_layer_view *lw = &w->layer[j], *lg = &g->layer[j];
        const int d = m->dil[j], t0 = wn__layer_start(m, j, N, V);
        for (int s = 0; s < S; s++) lg->b_skip[s] += ws->bsum[s];
        const float *h = ws->h + j * nR, *ts = ws->a + j * nA, *z = ws->z + j * nZ;
        /* Chunks in increasing time: a chunk reads dh (= d/dh_{j+1}) on its
         * own rows before the dilated conv adds this layer's part to them
         * and to earlier rows, never to later ones. */
        for (int c0 = t0; c0 < N; c0 += CHUNK) {
            const int c1 = N - c0 > CHUNK ? c0 + CHUNK : N, n = c1 - c0;
            const int s0 = c0 > v0 ? c0 : v0;
            memset(ws->dz, 0, sizeof(float) * (size_t)n * D);
            if (j + 1 < L)
                conv1x1_backward(ws->dz, lg->w_res, lg->b_res, ws->dh + (size_t)c0 * R,
                                 z + (size_t)c0 * D, n, lw->w_res, D, R);
            if (s0 < c1)
                conv1x1_backward(ws->dz + (size_t)(s0 - c0) * D, lg->w_skip, NULL,
                                 ws->dskip + (size_t)(s0 - v0) * S, z + (size_t)s0 * D,
                                 c1 - s0, lw->w_skip, D, S);
            gate_backward(ws->da, ws->dz, ts + (size_t)c0 * 2 * D, n, D);
            /* dh holds d/dh_{j+1}; the residual's identity path makes it
             * part of d/dh_j, to which the dilated conv adds its own */
            dilated_backward(ws->dh, lg->w_dil, lg->b_dil, ws->da, h, c0, c1, d, lw->w_dil, R,
                             2 * D);
        }
    }
    causal_backward(g->causal_w, g->causal_b, ws->dh, in, N, Q, R);
    return nll;
}
