/* net.c - forward and backward of the whole network over a window. The
 * caller pads the past (silence codes for scoring, the crop itself in
 * training); rows of a layer that cannot reach the last V outputs are
 * skipped, which is what makes chunked scoring and long windows cheap. */
#include "net.h"
#include "layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Each layer is worked through in chunks of WN_CHUNK rows, so that a
 * chunk's pre-activations, gate outputs and their gradients are still in
 * the core's cache when the next product reads them; a whole window
 * (thousands of rows) is not (bench/README.md has the figures). In
 * training the chunks are also what a team of threads shares out
 * (wn__team). */
enum { CHUNK = WN_CHUNK };

static int nchunks(int rows) { return rows > 0 ? (rows + CHUNK - 1) / CHUNK : 0; }

/* The head in training goes by longer chunks: its products are wider
 * (skip and bins, against residual and dilation channels), and it ran
 * whole-window products before, which chunks of 256 rows slowed a little
 * (a team still gets two chunks of a 2048-sample window). */
enum { HCHUNK = 4 * CHUNK };
static int hchunks(int rows) { return rows > 0 ? (rows + HCHUNK - 1) / HCHUNK : 0; }

/* The gradient a chunk of a layer leaves in the scratch: w_dil (2, 2D, R),
 * b_dil, w_res, b_res, w_skip, in this order; and of the head: head1_w,
 * head1_b, head0_w, head0_b, then its part of the skip biases' gradient. */
static size_t layer_part(const wn_config *c)
{
    size_t R = (size_t)c->residual, D = (size_t)c->dilation, S = (size_t)c->skip;
    return 4 * D * R + 2 * D + R * D + R + S * D + 2 * D * (size_t)wn__cond_width(c);
}

static size_t head_part(const wn_config *c)
{
    size_t S = (size_t)c->skip, Q = (size_t)c->bins;
    return Q * S + Q + S * S + 2 * S;
}

enum { WS_PARTS = 19 }; /* the arrays of the workspace (ws_floats) */

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
        size_t sl = (size_t)nchunks(N) * layer_part(cf), sh = (size_t)hchunks(V) * head_part(cf);
        size_t t[] = {v * Q, v * S, v * S, v * S, n * R, m->n_params, sl > sh ? sl : sh,
                      2 * (size_t)hchunks(V) /* doubles */, n * (size_t)wn__cond_width(cf),
                      cf->speakers ? L * 2 * D : 0};
        for (int i = 0; i < 10; i++) sz[k++] = t[i];
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
    ws->past_code = -1;
    float *nllk = NULL;
    float **dst[WS_PARTS] = {&ws->h,    &ws->a,  &ws->z,    &ws->skip,    &ws->r1,
                             &ws->u,    &ws->r2, &ws->logits, &ws->bsum,  &ws->dlogits,
                             &ws->dr,   &ws->du, &ws->dskip,  &ws->dh,    &ws->grad,
                             &ws->scratch, &nllk, &ws->dcond, &ws->dbias};
    float *p = mem;
    for (int i = 0; i < WS_PARTS; i++) {
        if (part[i]) *dst[i] = p;
        p += part[i];
    }
    ws->nllk = (double *)(void *)nllk; /* 64-byte aligned */
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

/* The network's input rows (the causal embedding), and the skip sum's
 * start: all the layers' skip biases at once. */
static void forward_start(const wn_model *m, wn__ws *ws, const int *in, int N)
{
    const wn_config *c = &m->cfg;
    const wn_view *w = &m->pk;
    causal_forward(ws->h, in, N, w->causal_w, w->causal_b, c->bins, c->residual);
    if (ws->past_code >= 0 && N > 0) { /* row 0's other tap: the past */
        const float *p = w->causal_w + (size_t)ws->past_code * c->residual;
        for (int r = 0; r < c->residual; r++) ws->h[r] += p[r];
    }
    memcpy(ws->bsum, w->layer[0].b_skip, sizeof(float) * (size_t)c->skip);
    for (int j = 1; j < c->layers; j++)
        for (int s = 0; s < c->skip; s++) ws->bsum[s] += w->layer[j].b_skip[s];
}

/* The head over n rows of the skip sum from row r0: relu, 1x1, relu, 1x1
 * to the logits. */
static void head_forward(const wn_model *m, wn__ws *ws, int r0, int n)
{
    const int S = m->cfg.skip, Q = m->cfg.bins;
    const wn_view *w = &m->pk;
    const size_t o = (size_t)r0 * S;
    relu_forward(ws->r1 + o, ws->skip + o, (size_t)n * S);
    conv1x1_forward(ws->u + o, ws->r1 + o, n, w->head0_w, w->head0_b, S, S, 0.0f);
    relu_forward(ws->r2 + o, ws->u + o, (size_t)n * S);
    conv1x1_forward(ws->logits + (size_t)r0 * Q, ws->r2 + o, n, w->head1_w, w->head1_b, S, Q,
                    0.0f);
}

/* A layer's pre-activations of rows [c0, c1): the dilated conv with the
 * layer's bias (plus its speaker term), plus the features' share. */
static void layer_pre(const wn_model *m, int j, float *a, const float *h, int c0, int c1,
                      const wn__cin *ci)
{
    const wn_config *c = &m->cfg;
    const wn_layer_view *lw = &m->pk.layer[j];
    const int O = 2 * c->dilation;
    const float *b = ci && ci->bias ? ci->bias + (size_t)j * O : lw->b_dil;
    dilated_forward(a, h, c0, c1, m->dil[j], lw->w_dil, b, c->residual, O);
    if (ci && ci->u)
        conv1x1_forward(a, ci->u + (size_t)c0 * wn__cond_width(c), c1 - c0, lw->w_cond, NULL,
                        wn__cond_width(c), O,
                        1.0f);
}

void wn__forward(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                 float *const *rings, const wn__cin *ci)
{
    if (ws->train) {
        const wn__team solo = {0, 1, NULL};
        wn__forward_train(m, ws, in, N, V, ci, &solo);
        return;
    }
    const wn_config *c = &m->cfg;
    const int R = c->residual, D = c->dilation, S = c->skip, L = c->layers;
    const wn_view *w = &m->pk;
    const int v0 = N - V;
    float *h = ws->h;

    forward_start(m, ws, in, N);
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &w->layer[j];
        const int d = m->dil[j], t0 = wn__layer_start(m, j, N, V);
        if (rings && rings[j]) {
            for (int p = N - d < 0 ? 0 : N - d; p < N; p++)
                memcpy(rings[j] + (size_t)(p & (d - 1)) * R, h + (size_t)p * R,
                       sizeof(float) * (size_t)R);
        }
        /* Chunks from the last: the residual is added into h in place, and
         * a chunk's dilated conv reads h only on its own and earlier rows,
         * which later chunks do not touch. The last layer's residual
         * output feeds nothing. */
        for (int k = nchunks(N - t0) - 1; k >= 0; k--) {
            const int c0 = t0 + k * CHUNK, c1 = N - c0 > CHUNK ? c0 + CHUNK : N;
            const int s0 = c0 > v0 ? c0 : v0;
            layer_pre(m, j, ws->a, h, c0, c1, ci);
            for (int t = c0; ws->pastw && t < c1 && t < d; t++) { /* h[t-d]: the past */
                float *a = ws->a + (size_t)(t - c0) * 2 * D;
                const float *pw = ws->pastw + (size_t)j * 2 * D;
                for (int o = 0; o < 2 * D; o++) a[o] += pw[o];
            }
            gate_forward(ws->z, ws->a, c1 - c0, D);
            if (s0 < c1)
                conv1x1_forward(ws->skip + (size_t)(s0 - v0) * S, ws->z + (size_t)(s0 - c0) * D,
                                c1 - s0, lw->w_skip, j == 0 ? ws->bsum : NULL, D, S,
                                j == 0 ? 0.0f : 1.0f);
            if (j + 1 < L)
                conv1x1_forward(h + (size_t)c0 * R, ws->z, c1 - c0, lw->w_res, lw->b_res, D, R,
                                1.0f);
        }
    }
    head_forward(m, ws, 0, V);
}

int wn__silence_state(const wn_model *m, const float *bias, float *hs, float *pastw)
{
    const int Q = m->cfg.bins, R = m->cfg.residual, D = m->cfg.dilation, L = m->cfg.layers;
    const int sil = wn_mulaw_silence(Q);
    double *h = malloc(sizeof(double) * (size_t)(R + D));
    if (!h) return WN_ERR_NOMEM;
    double *z = h + R;
    const wn_view *w = &m->pk;
    for (int i = 0; i < R; i++) /* the causal conv: silence on both taps */
        h[i] = (double)w->causal_b[i] + w->causal_w[(size_t)sil * R + i] +
               w->causal_w[(size_t)(Q + sil) * R + i];
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &w->layer[j];
        const float *b = bias ? bias + (size_t)j * 2 * D : lw->b_dil;
        for (int i = 0; i < R; i++) hs[(size_t)j * R + i] = (float)h[i];
        const size_t tap = (size_t)2 * D * R;
        for (int o = 0; pastw && o < 2 * D; o++) {
            double acc = 0;
            for (int i = 0; i < R; i++) acc += (double)lw->w_dil[(size_t)o * R + i] * h[i];
            pastw[(size_t)j * 2 * D + o] = (float)acc;
        }
        for (int o = 0; o < D; o++) { /* z = tanh(filter) sigmoid(gate) */
            double f = b[o], gt = b[D + o];
            for (int i = 0; i < R; i++) {
                f += ((double)lw->w_dil[(size_t)o * R + i] + lw->w_dil[tap + (size_t)o * R + i]) *
                     h[i];
                gt += ((double)lw->w_dil[(size_t)(D + o) * R + i] +
                       lw->w_dil[tap + (size_t)(D + o) * R + i]) * h[i];
            }
            z[o] = tanh(f) / (1.0 + exp(-gt));
        }
        for (int i = 0; i < R; i++) {
            double r = lw->b_res[i];
            for (int o = 0; o < D; o++) r += (double)lw->w_res[(size_t)i * D + o] * z[o];
            h[i] += r;
        }
    }
    free(h);
    return WN_OK;
}

/* ---------------------------------------------------------------- training */

void wn__team_sync(const wn__team *tm)
{
#ifdef _OPENMP
    if (tm->n > 1) {
#pragma omp barrier
    }
#else
    (void)tm;
#endif
}

/* dst += part 0 + part 1 + ... (in chunk order for every element, so the
 * same bits whichever thread adds which elements), the parts `stride`
 * floats apart from src; this thread adds its share of the n elements, a
 * block at a time so that the block of dst stays in the L1 cache. */
static void reduce_parts(const wn__team *tm, float *dst, const float *src, size_t n,
                         size_t stride, int nk)
{
    size_t lo, hi;
    wn__team_share(tm, n, &lo, &hi);
    for (size_t b0 = lo; b0 < hi; b0 += 1024) {
        const size_t b1 = hi - b0 > 1024 ? b0 + 1024 : hi;
        for (int k = 0; k < nk; k++) {
            const float *p = src + (size_t)k * stride;
            for (size_t i = b0; i < b1; i++) dst[i] += p[i];
        }
    }
}

void wn__forward_train(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                       const wn__cin *ci, const wn__team *tm)
{
    const wn_config *c = &m->cfg;
    const int R = c->residual, D = c->dilation, S = c->skip, L = c->layers;
    const wn_view *w = &m->pk;
    const size_t nR = (size_t)N * R, nA = (size_t)N * 2 * D, nZ = (size_t)N * D;
    const int v0 = N - V;

    if (tm->tid == 0) forward_start(m, ws, in, N);
    wn__team_sync(tm);
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &w->layer[j];
        const int t0 = wn__layer_start(m, j, N, V);
        const float *h = ws->h + j * nR;
        /* each layer's input is kept for the backward: h_{j+1} = h_j + b +
         * w z, and the last layer's residual output feeds nothing */
        float *hn = j + 1 < L ? ws->h + (j + 1) * nR : NULL;
        for (int k = tm->tid; k < nchunks(N - t0); k += tm->n) {
            const int c0 = t0 + k * CHUNK, c1 = N - c0 > CHUNK ? c0 + CHUNK : N;
            const int s0 = c0 > v0 ? c0 : v0;
            float *a = ws->a + j * nA + (size_t)c0 * 2 * D, *z = ws->z + j * nZ + (size_t)c0 * D;
            layer_pre(m, j, a, h, c0, c1, ci);
            gate_forward(z, a, c1 - c0, D);
            if (s0 < c1)
                conv1x1_forward(ws->skip + (size_t)(s0 - v0) * S, z + (size_t)(s0 - c0) * D,
                                c1 - s0, lw->w_skip, j == 0 ? ws->bsum : NULL, D, S,
                                j == 0 ? 0.0f : 1.0f);
            if (hn) {
                for (int t = c0; t < c1; t++)
                    for (int r = 0; r < R; r++)
                        hn[(size_t)t * R + r] = h[(size_t)t * R + r] + lw->b_res[r];
                conv1x1_forward(hn + (size_t)c0 * R, z, c1 - c0, lw->w_res, NULL, D, R, 1.0f);
            }
        }
        wn__team_sync(tm); /* layer j+1 reads rows of h_{j+1} other chunks wrote */
    }
    for (int k = tm->tid; k < hchunks(V); k += tm->n) {
        const int r0 = k * HCHUNK;
        head_forward(m, ws, r0, V - r0 > HCHUNK ? HCHUNK : V - r0);
    }
    wn__team_sync(tm);
}

/* A layer's backward comes in three kinds of steps, each over a chunk:
 * bwd_gate (stage 1) takes dz from dh (= d/dh_{j+1}, which it alone
 * reads) and dskip, then da over the gate's outputs; bwd_input (stage 2)
 * makes dh d/dh_j row by row (the residual's identity path keeps
 * d/dh_{j+1}, the dilated conv adds its terms, reaching d rows before the
 * layer's first row t0), and bwd_params the dilated conv's weight
 * gradient. Stage 2 needs every da row its rows reach. A chunk's weight
 * gradients go to a slot of the scratch: its own in a team, summed when
 * the layer is done; one thread alone adds each chunk's as soon as it is
 * complete, the same sums in the same order, from one slot that stays in
 * the cache. */
typedef struct bwd_layer {
    const wn_model *m;
    wn__ws *ws;
    const wn__cin *ci;
    int j, N, t0, v0;
} bwd_layer;

static void bwd_gate(const bwd_layer *bl, int k, int slot, float *dz)
{
    const wn_config *c = &bl->m->cfg;
    const int R = c->residual, D = c->dilation, S = c->skip, O = 2 * D, N = bl->N, j = bl->j;
    const wn_layer_view *lw = &bl->m->pk.layer[j];
    wn__ws *ws = bl->ws;
    const int c0 = bl->t0 + k * CHUNK, c1 = N - c0 > CHUNK ? c0 + CHUNK : N, n = c1 - c0;
    const int s0 = c0 > bl->v0 ? c0 : bl->v0;
    const float *z = ws->z + (size_t)j * N * D;
    float *a = ws->a + (size_t)j * N * O + (size_t)c0 * O; /* [tanh | sigmoid] -> da */
    float *gs = ws->scratch + slot * layer_part(c), *gres = gs + 4 * (size_t)D * R + O,
          *gskip = gres + (size_t)R * D + R;
    memset(dz, 0, sizeof(float) * (size_t)n * D);
    if (j + 1 < c->layers)
        conv1x1_backward(dz, gres, gres + (size_t)R * D, ws->dh + (size_t)c0 * R,
                         z + (size_t)c0 * D, n, lw->w_res, D, R);
    else /* the last layer's residual output feeds nothing */
        memset(gres, 0, sizeof(float) * ((size_t)R * D + R));
    if (s0 < c1)
        conv1x1_backward(dz + (size_t)(s0 - c0) * D, gskip, NULL,
                         ws->dskip + (size_t)(s0 - bl->v0) * S, z + (size_t)s0 * D, c1 - s0,
                         lw->w_skip, D, S);
    else
        memset(gskip, 0, sizeof(float) * (size_t)S * D);
    gate_backward(a, dz, a, n, D);
    /* the features' share: its weight's part, and du for the upsampler */
    if (bl->ci && bl->ci->u) {
        const int C = wn__cond_width(c);
        conv1x1_backward(ws->dcond + (size_t)c0 * C, gskip + (size_t)S * D, NULL, a,
                         bl->ci->u + (size_t)c0 * C, n, lw->w_cond, C, O);
    }
}

static void bwd_input(const bwd_layer *bl, int k)
{
    const wn_config *c = &bl->m->cfg;
    const int R = c->residual, O = 2 * c->dilation, N = bl->N, t0 = bl->t0;
    const int d = bl->m->dil[bl->j], lo = t0 - d > 0 ? t0 - d : 0;
    const int r0 = lo + k * CHUNK, r1 = N - r0 > CHUNK ? r0 + CHUNK : N;
    const float *da = bl->ws->a + (size_t)bl->j * N * O + (size_t)t0 * O;
    dilated_backward_input(bl->ws->dh, da, t0, N, r0, r1, d, bl->m->pk.layer[bl->j].w_dil, R,
                           O);
}

static void bwd_params(const bwd_layer *bl, int k, int slot)
{
    const wn_config *c = &bl->m->cfg;
    const int R = c->residual, D = c->dilation, O = 2 * D, N = bl->N;
    const int c0 = bl->t0 + k * CHUNK, c1 = N - c0 > CHUNK ? c0 + CHUNK : N;
    float *gs = bl->ws->scratch + slot * layer_part(c);
    dilated_backward_params(gs, gs + 4 * (size_t)D * R,
                            bl->ws->a + (size_t)bl->j * N * O + (size_t)c0 * O,
                            bl->ws->h + (size_t)bl->j * N * R, c0, c1, bl->m->dil[bl->j], R, O);
}

double wn__backward(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                    const wn__cin *ci, const int *targets, float scale, const wn__team *tm)
{
    const wn_config *c = &m->cfg;
    const int R = c->residual, D = c->dilation, S = c->skip, Q = c->bins, L = c->layers;
    const int O = 2 * D;
    const wn_view *w = &m->pk, *g = &ws->gv;
    const size_t nR = (size_t)N * R;
    const size_t HP = head_part(c), LP = layer_part(c);
    const int v0 = N - V, nh = hchunks(V);
    float *sc = ws->scratch;

    /* The head, by chunks of the V rows, each chunk's weight gradients to
     * a slot of the scratch, as in the layers below; the NLL is summed in
     * chunk order too. */
    const int solo = tm->n == 1;
    float *hdst[] = {g->head1_w, g->head1_b, g->head0_w, g->head0_b, ws->bsum};
    const size_t hl[] = {(size_t)Q * S, (size_t)Q, (size_t)S * S, (size_t)S, (size_t)S};
    {
        size_t lo, hi;
        wn__team_share(tm, nR, &lo, &hi);
        memset(ws->dh + lo, 0, sizeof(float) * (hi - lo));
        wn__team_share(tm, (size_t)S, &lo, &hi);
        memset(ws->bsum + lo, 0, sizeof(float) * (hi - lo));
        if (ws->dcond) {
            wn__team_share(tm, (size_t)N * wn__cond_width(c), &lo, &hi);
            memset(ws->dcond + lo, 0, sizeof(float) * (hi - lo));
        }
        if (ws->dbias) {
            wn__team_share(tm, (size_t)L * O, &lo, &hi);
            memset(ws->dbias + lo, 0, sizeof(float) * (hi - lo));
        }
    }
    for (int k = tm->tid; k < nh; k += tm->n) {
        const int r0 = k * HCHUNK, n = V - r0 > HCHUNK ? HCHUNK : V - r0;
        const size_t o = (size_t)r0 * S, ns = (size_t)n * S;
        float *gw1 = sc + (solo ? 0 : k) * HP, *gb1 = gw1 + (size_t)Q * S, *gw0 = gb1 + Q,
              *gb0 = gw0 + (size_t)S * S, *gbs = gb0 + S;
        float *dl = ws->dlogits + (size_t)r0 * Q, *dr = ws->dr + o, *du = ws->du + o,
              *ds = ws->dskip + o;
        memset(gbs, 0, sizeof(float) * (size_t)S);
        ws->nllk[k] = softmax_xent(dl, ws->logits + (size_t)r0 * Q, targets + r0, n, Q, scale);
        memset(dr, 0, sizeof(float) * ns);
        conv1x1_backward(dr, gw1, gb1, dl, ws->r2 + o, n, w->head1_w, S, Q);
        relu_backward(du, dr, ws->u + o, ns);
        memset(dr, 0, sizeof(float) * ns);
        conv1x1_backward(dr, gw0, gb0, du, ws->r1 + o, n, w->head0_w, S, S);
        relu_backward(ds, dr, ws->skip + o, ns);
        /* every layer's skip bias has the same gradient: the sum of dskip */
        for (int t = 0; t < n; t++)
            for (int s = 0; s < S; s++) gbs[s] += ds[(size_t)t * S + s];
        for (size_t i = 0, off = 0; solo && i < 5; off += hl[i++])
            reduce_parts(tm, hdst[i], sc + off, hl[i], HP, 1);
    }
    wn__team_sync(tm);
    for (size_t i = 0, off = 0; !solo && i < 5; off += hl[i++])
        reduce_parts(tm, hdst[i], sc + off, hl[i], HP, nh);
    double nll = 0;
    for (int k = 0; k < nh; k++) nll += ws->nllk[k];
    wn__team_sync(tm); /* bsum whole, and the scratch free for the layers */

    for (int j = L - 1; j >= 0; j--) {
        const int t0 = wn__layer_start(m, j, N, V), d = m->dil[j];
        const bwd_layer bl = {m, ws, ci, j, N, t0, v0};
        const int nk = nchunks(N - t0), lo = t0 - d > 0 ? t0 - d : 0, nd = nchunks(N - lo);
        const wn_layer_view *lg = &g->layer[j];
        /* the scratch's parts (offset, length) and where each is summed:
         * the speaker's share of the bias gradient is the bias's */
        const size_t DR4 = 4 * (size_t)D * R, RD = (size_t)R * D, SD = (size_t)S * D;
        float *dst[7] = {lg->w_dil, lg->b_dil, lg->w_res, lg->b_res, lg->w_skip};
        size_t pl[7] = {DR4, (size_t)O, RD, (size_t)R, SD};
        size_t po[7] = {0, DR4, DR4 + O, DR4 + O + RD, DR4 + O + RD + R};
        int np = 5;
        if (ci && ci->u)
            dst[np] = lg->w_cond, pl[np] = (size_t)O * wn__cond_width(c),
            po[np++] = DR4 + O + RD + R + SD;
        if (ws->dbias && ci && ci->bias)
            dst[np] = ws->dbias + (size_t)j * O, pl[np] = (size_t)O, po[np++] = DR4;
        if (solo) {
            /* One thread: each chunk of dh as soon as the da rows it
             * needs exist and stage 1 has read its rows, while they are
             * still in the cache (the same calls as a team's) */
            for (int k = 0, kd = 0; k < nk; k++) {
                bwd_gate(&bl, k, 0, tm->dz);
                bwd_params(&bl, k, 0);
                for (int i = 0; i < np; i++) reduce_parts(tm, dst[i], sc + po[i], pl[i], LP, 1);
                const int done = k + 1 < nk ? t0 + (k + 1) * CHUNK : N;
                for (; kd < nd; kd++) {
                    const int r1 = N - (lo + kd * CHUNK) > CHUNK ? lo + (kd + 1) * CHUNK : N;
                    if (r1 > done || (r1 + d < N ? r1 + d : N) > done) break;
                    bwd_input(&bl, kd);
                }
            }
        } else {
            for (int k = tm->tid; k < nk; k += tm->n) bwd_gate(&bl, k, k, tm->dz);
            wn__team_sync(tm);
            for (int k = tm->tid; k < (nd > nk ? nd : nk); k += tm->n) {
                if (k < nd) bwd_input(&bl, k);
                if (k < nk) bwd_params(&bl, k, k);
            }
            wn__team_sync(tm);
            for (int i = 0; i < np; i++) reduce_parts(tm, dst[i], sc + po[i], pl[i], LP, nk);
        }
        reduce_parts(tm, lg->b_skip, ws->bsum, (size_t)S, 0, 1);
        wn__team_sync(tm); /* the scratch is the next layer's */
    }
    if (tm->tid == 0) causal_backward(g->causal_w, g->causal_b, ws->dh, in, N, Q, R);
    return nll;
}
