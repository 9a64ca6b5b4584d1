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
    const wn__kern *k;
    int B, threads;
    wn_sample_params sp;
    /* weights in the kernels' panel layout (kernels.h) */
    float *wt_dil;   /* per layer 2R -> 2D: inputs 0..R-1 take h[t-d], R..2R-1 h[t] */
    float *wt_rs;    /* per layer D -> R+S: res and skip fused, outputs [h | skip] */
    float *b_rs;     /* per layer (R+S) */
    float *wt_h0;    /* (S, S) */
    float *wt_h1;    /* (S, Q) */
    size_t *ring_off; /* per layer, floats from a stream's ring base */
    size_t ring_floats; /* per stream */
    float *ring;     /* B * ring_floats */
    int64_t t;       /* position of the next input (same for all streams) */
    int *prev;       /* per stream: the input before the latest */
    int *pending;    /* per stream: the next input (the last sample) */
    uint64_t *rng;   /* per stream */
    /* scratch for one step of all streams: row b of st is
     * [h[t-d] (R) | h[t] (R) | skip (S)], so one product writes h and skip */
    float *st, *a, *z, *r, *u, *logits;
    int W;           /* 2R + S, the row width of st */
    wn__cand *cand;  /* per stream Q candidates */
    float *wq;       /* per stream Q sampling weights */
};


void wn_gen_free(wn_gen *g)
{
    if (!g) return;
    wn__free(g->wt_dil);
    wn__free(g->wt_rs);
    wn__free(g->b_rs);
    wn__free(g->wt_h0);
    wn__free(g->wt_h1);
    wn__free(g->ring);
    wn__free(g->st);
    free(g->ring_off);
    free(g->prev);
    free(g->pending);
    free(g->rng);
    free(g->cand);
    free(g->wq);
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
    g->k = wn__kernels();
    g->B = streams;
    g->threads = 1;
    g->sp = *p;
    g->W = 2 * R + S;
    g->wt_dil = wn__alloc((size_t)L * 2 * R * 2 * D, sizeof(float));
    g->wt_rs = wn__alloc((size_t)L * D * (R + S), sizeof(float));
    g->b_rs = wn__alloc((size_t)L * (R + S), sizeof(float));
    g->wt_h0 = wn__alloc((size_t)S * S, sizeof(float));
    g->wt_h1 = wn__alloc((size_t)S * Q, sizeof(float));
    g->ring_off = malloc(sizeof(size_t) * (size_t)L);
    g->prev = malloc(sizeof(int) * (size_t)streams);
    g->pending = malloc(sizeof(int) * (size_t)streams);
    g->rng = malloc(sizeof(uint64_t) * (size_t)streams);
    g->cand = malloc(sizeof(wn__cand) * (size_t)Q * streams);
    g->wq = malloc(sizeof(float) * (size_t)Q * streams);
    size_t B = (size_t)streams;
    size_t scratch = B * ((size_t)g->W + 2 * D + D + 2 * (size_t)S + Q) + 64;
    g->st = wn__alloc(scratch, sizeof(float));
    if (!g->wt_dil || !g->wt_rs || !g->b_rs || !g->wt_h0 || !g->wt_h1 || !g->ring_off ||
        !g->prev || !g->pending || !g->rng || !g->cand || !g->wq || !g->st)
        goto nomem;
    g->a = g->st + B * g->W;
    g->z = g->a + B * 2 * D;
    g->r = g->z + B * D;
    g->u = g->r + B * S;
    g->logits = g->u + B * S;
    size_t off = 0;
    /* a (rows, cols) staging matrix for the fused weights */
    size_t big = (size_t)2 * D * 2 * R > (size_t)(R + S) * D ? (size_t)4 * D * R : (size_t)(R + S) * D;
    float *tmp = malloc(sizeof(float) * big);
    if (!tmp) goto nomem;
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &m->pk.layer[j];
        /* packed w_dil is (2, 2D, R): tap 0 (past) then tap 1 (now) */
        for (int o = 0; o < 2 * D; o++)
            for (int i = 0; i < R; i++) {
                tmp[(size_t)o * 2 * R + i] = lw->w_dil[(size_t)o * R + i];
                tmp[(size_t)o * 2 * R + R + i] = lw->w_dil[(size_t)(2 * D + o) * R + i];
            }
        wn__panel_pack(g->wt_dil + (size_t)j * 2 * R * 2 * D, tmp, 2 * R, 2 * D);
        memcpy(tmp, lw->w_res, sizeof(float) * (size_t)R * D);
        memcpy(tmp + (size_t)R * D, lw->w_skip, sizeof(float) * (size_t)S * D);
        wn__panel_pack(g->wt_rs + (size_t)j * D * (R + S), tmp, D, R + S);
        memcpy(g->b_rs + (size_t)j * (R + S), lw->b_res, sizeof(float) * (size_t)R);
        memcpy(g->b_rs + (size_t)j * (R + S) + R, lw->b_skip, sizeof(float) * (size_t)S);
        g->ring_off[j] = off;
        off += (size_t)m->dil[j] * R;
    }
    free(tmp);
    wn__panel_pack(g->wt_h0, m->pk.head0_w, S, S);
    wn__panel_pack(g->wt_h1, m->pk.head1_w, S, Q);
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

void wn_gen_set_threads(wn_gen *g, int threads)
{
    g->threads = threads < 1 ? 1 : threads > g->B ? g->B : threads;
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

/* One step at time t of streams [b0, b1) with inputs in[b]: logits (Q
 * per stream) for the next sample, in g->logits. */
static void step_rows(wn_gen *g, int b0, int b1, const int *in, int64_t t)
{
    const wn_model *m = g->m;
    const wn__kern *k = g->k;
    const wn_config *cf = &m->cfg;
    const int L = cf->layers, R = cf->residual, D = cf->dilation, S = cf->skip, Q = cf->bins;
    const int W = g->W, nb = b1 - b0;
    const wn_view *w = &m->pk;
    float *st = g->st + (size_t)b0 * W, *a = g->a + (size_t)b0 * 2 * D;
    float *z = g->z + (size_t)b0 * D, *r = g->r + (size_t)b0 * S, *u = g->u + (size_t)b0 * S;
    float *logits = g->logits + (size_t)b0 * Q;
    for (int b = b0; b < b1; b++) {
        float *h = g->st + (size_t)b * W + R, *skip = h + R;
        const float *e1 = w->causal_w + (size_t)Q * R + (size_t)in[b] * R;
        const float *e0 = w->causal_w + (size_t)g->prev[b] * R;
        for (int i = 0; i < R; i++) h[i] = w->causal_b[i] + e1[i] + e0[i];
        memset(skip, 0, sizeof(float) * (size_t)S);
        g->prev[b] = in[b];
    }
    for (int j = 0; j < L; j++) {
        const int d = m->dil[j];
        const size_t slot = g->ring_off[j] + (size_t)(t & (d - 1)) * R;
        for (int b = b0; b < b1; b++) {
            float *row = g->st + (size_t)b * W, *ring = g->ring + (size_t)b * g->ring_floats + slot;
            memcpy(row, ring, sizeof(float) * (size_t)R);     /* h[t-d] */
            memcpy(ring, row + R, sizeof(float) * (size_t)R); /* becomes h[t] */
            memcpy(a + (size_t)(b - b0) * 2 * D, w->layer[j].b_dil, sizeof(float) * 2 * (size_t)D);
        }
        k->gemm_t(a, 2 * D, st, W, nb, g->wt_dil + (size_t)j * 2 * R * 2 * D, 2 * R, 2 * D);
        const float *brs = g->b_rs + (size_t)j * (R + S);
        for (int b = 0; b < nb; b++) {
            k->gate(z + (size_t)b * D, a + (size_t)b * 2 * D, D);
            float *hs = st + (size_t)b * W + R; /* [h | skip] */
            for (int i = 0; i < R + S; i++) hs[i] += brs[i];
        }
        /* h += res(z), skip += skip(z) in one product (the last layer's h
         * update is unused but costs little) */
        k->gemm_t(st + R, W, z, D, nb, g->wt_rs + (size_t)j * D * (R + S), D, R + S);
    }
    for (int b = 0; b < nb; b++) {
        const float *skip = st + (size_t)b * W + 2 * R;
        float *rb = r + (size_t)b * S, *ub = u + (size_t)b * S;
        for (int i = 0; i < S; i++) rb[i] = skip[i] > 0 ? skip[i] : 0;
        memcpy(ub, w->head0_b, sizeof(float) * (size_t)S);
    }
    k->gemm_t(u, S, r, S, nb, g->wt_h0, S, S);
    for (int b = 0; b < nb; b++) {
        float *ub = u + (size_t)b * S;
        for (int i = 0; i < S; i++) ub[i] = ub[i] > 0 ? ub[i] : 0;
        memcpy(logits + (size_t)b * Q, w->head1_b, sizeof(float) * (size_t)Q);
    }
    k->gemm_t(logits, Q, u, S, nb, g->wt_h1, S, Q);
}

int wn_gen_feed(wn_gen *g, const int *inputs, float *logits)
{
    const int Q = g->m->cfg.bins;
    for (int b = 0; b < g->B; b++)
        if (inputs[b] < 0 || inputs[b] >= Q) return WN_ERR_ARG;
    step_rows(g, 0, g->B, inputs, g->t);
    g->t++;
    if (logits) memcpy(logits, g->logits, sizeof(float) * (size_t)g->B * Q);
    return WN_OK;
}

/* Streams are split among threads in fixed blocks, and each thread runs its
 * streams for all n steps on its own: no synchronisation per sample. Each
 * stream's numbers do not depend on the split, so any thread count gives
 * the same bytes. */
int wn_gen_run(wn_gen *g, size_t n, int *codes, double *logp)
{
    const int Q = g->m->cfg.bins, B = g->B, parts = g->threads;
#pragma omp parallel for num_threads(parts) schedule(static) if (parts > 1)
    for (int p = 0; p < parts; p++) {
        int b0 = (int)((int64_t)B * p / parts), b1 = (int)((int64_t)B * (p + 1) / parts);
        for (size_t i = 0; i < n && b0 < b1; i++) {
            step_rows(g, b0, b1, g->pending, g->t + (int64_t)i);
            for (int b = b0; b < b1; b++) {
                double lp;
                int c = wn__sample_k(g->k, g->logits + (size_t)b * Q, Q, &g->sp, &g->rng[b], &lp,
                                     g->wq + (size_t)b * Q, g->cand + (size_t)b * Q);
                g->pending[b] = c;
                if (codes) codes[i * (size_t)B + (size_t)b] = c;
                if (logp) logp[i * (size_t)B + (size_t)b] = lp;
            }
        }
    }
    g->t += (int64_t)n;
    return WN_OK;
}

int wn_gen_step(wn_gen *g, int *codes, double *logp) { return wn_gen_run(g, 1, codes, logp); }
