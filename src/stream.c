/* stream.c - cached generation (Fast WaveNet, Paine et al. 2016): every
 * layer keeps a ring buffer of its last d inputs, so one new sample costs
 * one column per layer whatever the receptive field. The per-sample kernels
 * here are separate from the whole-sequence ones in layers.c; a test proves
 * both give the same logits. Nothing is allocated per sample. */
#include "kernels.h"
#include "net.h"
#include "sample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct wn_gen {
    const wn_model *m;
    int B;
    wn_sample_params sp;
    /* weights transposed (input-major) for wn__gemv_t */
    float *wt_dil;   /* per layer (2R, 2D): rows 0..R-1 take h[t-d], R..2R-1 h[t] */
    float *wt_res;   /* per layer (D, R) */
    float *wt_skip;  /* per layer (D, S) */
    float *wt_h0;    /* (S, S) */
    float *wt_h1;    /* (S, Q) */
    size_t *ring_off; /* per layer, floats from a stream's ring base */
    size_t ring_floats; /* per stream */
    float *ring;     /* B * ring_floats */
    int64_t t;       /* steps taken since the prime (same for all streams) */
    int *prev;       /* per stream: the input before the latest */
    int *pending;    /* per stream: the next input (the last sample) */
    uint64_t *rng;   /* per stream */
    /* scratch for one step */
    float *x, *a, *z, *skip, *r, *u, *logits;
    wn__cand *cand;
};

static void transpose(float *dst, const float *src, int O, int I)
{
    for (int o = 0; o < O; o++)
        for (int i = 0; i < I; i++) dst[(size_t)i * O + o] = src[(size_t)o * I + i];
}

void wn_gen_free(wn_gen *g)
{
    if (!g) return;
    wn__free(g->wt_dil);
    wn__free(g->wt_res);
    wn__free(g->wt_skip);
    wn__free(g->wt_h0);
    wn__free(g->wt_h1);
    wn__free(g->ring);
    wn__free(g->x);
    free(g->ring_off);
    free(g->prev);
    free(g->pending);
    free(g->rng);
    free(g->cand);
    free(g);
}

wn_gen *wn_gen_create(const wn_model *m, int streams, const wn_sample_params *p,
                      wn_error *err)
{
    if (streams < 1 || streams > 4096) {
        wn__err(err, WN_ERR_ARG, "streams = %d is outside 1..4096", streams);
        return NULL;
    }
    wn_sample_params def = wn_sample_default_params();
    if (!p) p = &def;
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature) || p->top_k < 0 ||
        !(p->top_p > 0.0f && p->top_p <= 1.0f)) {
        wn__err(err, WN_ERR_ARG,
                "sampling: temperature must be >= 0, top-k >= 0 and top-p in (0, 1]");
        return NULL;
    }
    const wn_config *c = &m->cfg;
    const int L = c->layers, R = c->residual, D = c->dilation, S = c->skip, Q = c->bins;
    wn_gen *g = calloc(1, sizeof *g);
    if (!g) goto nomem;
    g->m = m;
    g->B = streams;
    g->sp = *p;
    g->wt_dil = wn__alloc((size_t)L * 2 * R * 2 * D, sizeof(float));
    g->wt_res = wn__alloc((size_t)L * D * R, sizeof(float));
    g->wt_skip = wn__alloc((size_t)L * D * S, sizeof(float));
    g->wt_h0 = wn__alloc((size_t)S * S, sizeof(float));
    g->wt_h1 = wn__alloc((size_t)S * Q, sizeof(float));
    g->ring_off = malloc(sizeof(size_t) * (size_t)L);
    g->prev = malloc(sizeof(int) * (size_t)streams);
    g->pending = malloc(sizeof(int) * (size_t)streams);
    g->rng = malloc(sizeof(uint64_t) * (size_t)streams);
    g->cand = malloc(sizeof(wn__cand) * (size_t)Q);
    size_t scratch = (size_t)2 * R + 2 * D + D + 3 * (size_t)S + (size_t)streams * Q + 64;
    g->x = wn__alloc(scratch, sizeof(float));
    if (!g->wt_dil || !g->wt_res || !g->wt_skip || !g->wt_h0 || !g->wt_h1 || !g->ring_off ||
        !g->prev || !g->pending || !g->rng || !g->cand || !g->x)
        goto nomem;
    g->a = g->x + 2 * R;
    g->z = g->a + 2 * D;
    g->skip = g->z + D;
    g->r = g->skip + S;
    g->u = g->r + S;
    g->logits = g->u + S;
    size_t off = 0;
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &m->pk.layer[j];
        float *wd = g->wt_dil + (size_t)j * 2 * R * 2 * D;
        /* packed w_dil is (2, 2D, R): tap 0 (past) then tap 1 (now) */
        transpose(wd, lw->w_dil, 2 * D, R);
        transpose(wd + (size_t)R * 2 * D, lw->w_dil + (size_t)2 * D * R, 2 * D, R);
        transpose(g->wt_res + (size_t)j * D * R, lw->w_res, R, D);
        transpose(g->wt_skip + (size_t)j * D * S, lw->w_skip, S, D);
        g->ring_off[j] = off;
        off += (size_t)m->dil[j] * R;
    }
    transpose(g->wt_h0, m->pk.head0_w, S, S);
    transpose(g->wt_h1, m->pk.head1_w, Q, S);
    g->ring_floats = off;
    if (!(g->ring = wn__calloc((size_t)streams * off, sizeof(float)))) goto nomem;
    /* one RNG per stream, each from the seed and its index */
    for (int b = 0; b < streams; b++) {
        uint64_t s = p->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(b + 1));
        g->rng[b] = wn__splitmix64(&s);
    }
    wn_error e2;
    if (wn_gen_prime(g, NULL, 0, &e2) != WN_OK) {
        wn_gen_free(g);
        if (err) *err = e2;
        return NULL;
    }
    return g;
nomem:
    wn_gen_free(g);
    wn__err(err, WN_ERR_NOMEM, "out of memory for %d generation streams", streams);
    return NULL;
}

int wn_gen_prime(wn_gen *g, const int *codes, size_t n, wn_error *err)
{
    const wn_model *m = g->m;
    const int Q = m->cfg.bins, rf = m->rf, L = m->cfg.layers;
    for (size_t i = 0; i < n; i++)
        if (codes[i] < 0 || codes[i] >= Q)
            return wn__err(err, WN_ERR_ARG, "prime code %d at %zu is outside 0..%d", codes[i],
                           i, Q - 1);
    /* s = [silence x RF, prime]; the ring state after s[..len-1) depends only
     * on its last RF-1 inputs, and s[len-1] is the next step's input. */
    const int N = rf - 1, sil = wn_mulaw_silence(Q);
    int *in = malloc(sizeof(int) * (size_t)N);
    float **rings = malloc(sizeof(float *) * (size_t)L);
    wn__ws *ws = wn__ws_create(m, N, 1, 0);
    if (!in || !rings || !ws) {
        free(in);
        free(rings);
        wn__ws_free(ws);
        return wn__err(err, WN_ERR_NOMEM, "out of memory priming generation");
    }
    size_t len = (size_t)rf + n;
    for (int i = 0; i < N; i++) {
        size_t p = len - 1 - (size_t)N + (size_t)i; /* index into s */
        in[i] = p < (size_t)rf ? sil : codes[p - (size_t)rf];
    }
    for (int j = 0; j < L; j++) rings[j] = g->ring + g->ring_off[j];
    wn__forward(m, ws, in, N, 1, rings);
    for (int b = 1; b < g->B; b++)
        memcpy(g->ring + (size_t)b * g->ring_floats, g->ring, sizeof(float) * g->ring_floats);
    int last = n ? codes[n - 1] : sil;
    for (int b = 0; b < g->B; b++) {
        g->prev[b] = in[N - 1];
        g->pending[b] = last;
    }
    g->t = N;
    free(in);
    free(rings);
    wn__ws_free(ws);
    return WN_OK;
}

static inline float sigm(float x) { return 1.0f / (1.0f + expf(-x)); }

/* One step of stream b with input code c: logits (Q) for the next sample. */
static void step_one(wn_gen *g, int b, int c, float *logits)
{
    const wn_model *m = g->m;
    const wn_config *cf = &m->cfg;
    const int L = cf->layers, R = cf->residual, D = cf->dilation, S = cf->skip, Q = cf->bins;
    const wn_view *w = &m->pk;
    float *x = g->x, *a = g->a, *z = g->z, *skip = g->skip;
    float *h = x + R; /* x = [h[t-d], h[t]]: the current h lives in x's top half */
    const float *e1 = w->causal_w + (size_t)Q * R + (size_t)c * R;
    const float *e0 = w->causal_w + (size_t)g->prev[b] * R;
    for (int r = 0; r < R; r++) h[r] = w->causal_b[r] + e1[r] + e0[r];
    g->prev[b] = c;
    float *ring = g->ring + (size_t)b * g->ring_floats;
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &w->layer[j];
        const int d = m->dil[j];
        float *slot = ring + g->ring_off[j] + (size_t)(g->t & (d - 1)) * R;
        memcpy(x, slot, sizeof(float) * (size_t)R); /* h[t-d] */
        memcpy(slot, h, sizeof(float) * (size_t)R); /* becomes h[t] */
        memcpy(a, lw->b_dil, sizeof(float) * 2 * (size_t)D);
        wn__gemv_t(a, x, g->wt_dil + (size_t)j * 2 * R * 2 * D, 2 * R, 2 * D);
        for (int i = 0; i < D; i++) z[i] = tanhf(a[i]) * sigm(a[D + i]);
        if (j == 0)
            memcpy(skip, lw->b_skip, sizeof(float) * (size_t)S);
        else
            for (int i = 0; i < S; i++) skip[i] += lw->b_skip[i];
        wn__gemv_t(skip, z, g->wt_skip + (size_t)j * D * S, D, S);
        if (j + 1 < L) {
            for (int r = 0; r < R; r++) h[r] += lw->b_res[r];
            wn__gemv_t(h, z, g->wt_res + (size_t)j * D * R, D, R);
        }
    }
    for (int i = 0; i < S; i++) g->r[i] = skip[i] > 0 ? skip[i] : 0;
    memcpy(g->u, w->head0_b, sizeof(float) * (size_t)S);
    wn__gemv_t(g->u, g->r, g->wt_h0, S, S);
    for (int i = 0; i < S; i++) g->u[i] = g->u[i] > 0 ? g->u[i] : 0;
    memcpy(logits, w->head1_b, sizeof(float) * (size_t)Q);
    wn__gemv_t(logits, g->u, g->wt_h1, S, Q);
}

int wn_gen_feed(wn_gen *g, const int *inputs, float *logits)
{
    const int Q = g->m->cfg.bins;
    for (int b = 0; b < g->B; b++)
        if (inputs[b] < 0 || inputs[b] >= Q) return WN_ERR_ARG;
    for (int b = 0; b < g->B; b++) step_one(g, b, inputs[b], logits + (size_t)b * Q);
    g->t++;
    return WN_OK;
}

int wn_gen_step(wn_gen *g, int *codes, double *logp)
{
    const int Q = g->m->cfg.bins;
    for (int b = 0; b < g->B; b++) {
        float *l = g->logits + (size_t)b * Q;
        step_one(g, b, g->pending[b], l);
        double lp;
        int c = wn__sample(l, Q, &g->sp, &g->rng[b], &lp, g->cand);
        g->pending[b] = c;
        if (codes) codes[b] = c;
        if (logp) logp[b] = lp;
    }
    g->t++;
    return WN_OK;
}
