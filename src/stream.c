/* stream.c - cached generation (Fast WaveNet, Paine et al. 2016): every
 * layer keeps a ring buffer of its last d inputs, so one new sample costs
 * one column per layer whatever the receptive field. The per-sample kernels
 * here are separate from the whole-sequence ones in layers.c; a test proves
 * both give the same logits. Nothing is allocated per sample.
 *
 * One step of the streams a thread runs: embed the two inputs; per layer,
 * a = b_dil' + W0 h[t-d] + W1 h[t] (tap 0 from the queue, or for a lone
 * stream from products made d steps at a time), z = gate(a), then one
 * product adds res(z) to h and skip(z) to the skip sum; the head; then
 * sampling. The rows hold h minus the sum of the biases before each layer,
 * so no bias is added inside the loop (struct wn_gen says how). At
 * WN_PRECISION_I8 the queues hold quantised rows (qring), the other
 * products quantise their inputs first (product()), and a prime runs
 * through the steps (prime_steps()). Speed is measured in bench/
 * (bench/RESULTS.md). */
#include "kernels.h"
#include "net.h"
#include "sample.h"

#include <assert.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* What each stream changes at every sample, one cache line per stream:
 * streams on different threads then never write to the same line. */
typedef struct stream_state {
    _Alignas(64) uint64_t rng;
    int prev;    /* the input before the latest */
    int pending; /* the next input (the last sample) */
} stream_state;
#define IN_STRIDE (sizeof(stream_state) / sizeof(int))

/* The scratch of one step for the streams [b0, b1) that one thread runs,
 * in an allocation of its own (threads sharing one block measured ~10%
 * slower): row i of st is [h[t] (R) | skip (S)] of stream
 * b0 + i, so one product writes h and skip. Nothing in it outlives a step,
 * so a balanced run (wn_gen_run) can point a part at other streams. */
typedef struct part {
    int b0, b1;
    int lone;   /* one stream: tap 0's products d steps at a time (past) */
    int64_t t0; /* tap 0's products of a one-stream part are due at t0 + k d */
    float *st, *a, *z, *r, *u, *logits;
    float *wq;      /* per stream Q sampling weights */
    wn__cand *cand; /* per stream Q candidates */
    uint8_t *xq;    /* at WN_PRECISION_I8: a product's input rows, quantised */
    float *xs;      /* and their scales */
} part;

struct wn_gen {
    const wn_model *m;
    const wn__kern *k;
    int B, threads;
    wn_sample_params sp;
    wn_precision prec;
    /* The weights of the four products packed for the kernels (kernels.h)
     * at precision prec: float, uint16_t (half) or int8_t with a scale per
     * output (ws; NULL at the other precisions). wp[P_DIL]: per layer two
     * matrices R -> 2D, tap 0 (h[t-d]) then tap 1 (h[t]); wp[P_RS]: per
     * layer D -> R+S, res and skip fused, outputs [h | skip]; wp[P_H0]:
     * (S, S); wp[P_H1]: (S, Q). */
    void *wp[4];
    float *ws[4];
    /* The biases are folded so that no step adds one per layer: the rows
     * and rings hold h'_j = h_j - c_j, c_j = causal.bias + the residual
     * biases of the layers before j, and the dilated product starts from
     * b_dil + (W0 + W1) c_j instead; the skip sum starts from the sum of
     * the skip biases. */
    float *c_h;      /* per layer R: c_j */
    float *b_dil;    /* per layer 2D: folded, for the weights held (pack) */
    float *b_skip;   /* S: the sum of every layer's skip bias */
    /* Layer j's queue is the block at ring_off[j]: d slots, each the B
     * streams' R inputs side by side, so the step's reads of one layer
     * are one contiguous run (streams in separate blocks measured ~10%
     * slower: each slot a cold line on a page of its own). */
    size_t *ring_off;
    size_t *qoff; /* layer j's first slot in the int8 queues: its sum of d before */
    size_t ring_floats; /* per stream */
    float *ring;     /* B * ring_floats; NULL at WN_PRECISION_I8 (qring below) */
    /* Tap 0 of layer j only sees inputs d steps old, all in the queue: a
     * part with one stream makes its products for the next d steps at once
     * every d steps (from the part's t0), a d-row product that reads those
     * weights once instead of d times (~14% less weight per sample for
     * one stream, which is bound by the cache's bandwidth). past holds
     * them, laid out as ring with 2D floats a slot: b_dil + W0 h[t'-d] for
     * the step t' of the slot. Parts of several streams are bound by the
     * FMA units and run the two taps back to back instead: each output is
     * the same FMA chain (b_dil, tap 0's inputs, tap 1's) either way, so
     * the split never changes a bit. Allocated when a part has one stream;
     * layer j's block is past_of(g, j). A slot is spent by its step (the
     * step's dilated product accumulates in it) and made again before its
     * next use. */
    size_t past_floats; /* B * (sum of d) * 2D */
    float *past;
    /* At WN_PRECISION_I8 the queues hold the quantised rows instead: an
     * input is quantised once, as tap 1's input, and tap 0 reads it d
     * steps later as it is; R rounded up to 4 bytes a row and a scale
     * each. The streams come in groups of cap (a thread's run of streams
     * never leaves its group), each group a block of its own (qgb bytes,
     * qgs scales, whole cache lines) laid out as ring with cap streams a
     * slot: qrow and qscale. With every stream in one block, 8
     * streams on 2 threads wrote the two threads' scales into shared
     * cache lines at every layer of every step. */
    uint8_t *qring;
    float *qring_s;
    size_t qgb, qgs;
    int64_t t;       /* position of the next input (same for all streams) */
    stream_state *ss; /* per stream */
    part *pt;        /* `threads` parts, the streams split in fixed blocks */
    /* Balanced runs (threads > 1 and more streams than threads): the
     * threads take runs of streams a chunk of steps at a time (wn_gen_run),
     * each part's scratch sized for cap streams; no part is lone then.
     * cap is also the group size of the int8 queues (qrow). */
    int balanced, cap;
    int chunk;           /* steps a thread takes at a time (GEN_CHUNK) */
    size_t *pos;         /* per stream: steps done in the current run */
    unsigned char *busy; /* per stream: a thread holds it */
    long takes, partial; /* runs of streams taken, those of fewer than cap */
    int W;           /* R + S, the row width of st */
};

static void part_free(part *q)
{
    wn__free(q->st);
    wn__free(q->cand);
    wn__free(q->xq);
}

static void free_parts(part *pt, int n)
{
    for (int i = 0; pt && i < n; i++) part_free(&pt[i]);
    free(pt);
}

/* The row (and its scale) of the stream at index i of group gr in slot k
 * of layer j's int8 queue; the rows of a group's streams in one slot are
 * side by side. qrow and qscale take the stream's number. */
static inline uint8_t *qrow_at(const wn_gen *g, size_t gr, size_t i, int j, size_t k)
{
    const size_t R4 = (size_t)wn__round4(g->m->cfg.residual);
    return g->qring + gr * g->qgb + ((g->qoff[j] + k) * (size_t)g->cap + i) * R4;
}
static inline float *qscale_at(const wn_gen *g, size_t gr, size_t i, int j, size_t k)
{
    return g->qring_s + gr * g->qgs + (g->qoff[j] + k) * (size_t)g->cap + i;
}
static inline uint8_t *qrow(const wn_gen *g, int b, int j, size_t k)
{
    return qrow_at(g, (size_t)(b / g->cap), (size_t)(b % g->cap), j, k);
}
static inline float *qscale(const wn_gen *g, int b, int j, size_t k)
{
    return qscale_at(g, (size_t)(b / g->cap), (size_t)(b % g->cap), j, k);
}

/* Zeroed int8 queues for groups of G streams: *gb bytes and *gs scales a
 * group, in whole cache lines. */
static int q8_alloc(const wn_gen *g, int G, uint8_t **qr, float **qs, size_t *gb, size_t *gs)
{
    const size_t sumd = g->ring_floats / (size_t)g->m->cfg.residual;
    const size_t R4 = (size_t)wn__round4(g->m->cfg.residual), ng = (size_t)((g->B + G - 1) / G);
    *gb = (sumd * (size_t)G * R4 + 63) & ~(size_t)63;
    *gs = (sumd * (size_t)G + 15) & ~(size_t)15;
    *qr = wn__calloc(ng * *gb, 1);
    *qs = wn__calloc(ng * *gs, sizeof(float));
    if (*qr && *qs) return WN_OK;
    wn__free(*qr);
    wn__free(*qs);
    return WN_ERR_NOMEM;
}

/* The scratch of a part of streams [b0, b1), room for cap >= b1 - b0 of
 * them; a part of one stream is lone unless never_lone (balanced runs,
 * priming). 0 or WN_ERR_NOMEM */
static int part_alloc(const wn_gen *g, part *q, int b0, int b1, int cap, int never_lone)
{
    const wn_config *c = &g->m->cfg;
    const size_t D = (size_t)c->dilation, S = (size_t)c->skip, Q = (size_t)c->bins;
    q->t0 = g->t; /* whatever the queue holds, make tap 0's products now */
    q->b0 = b0;
    q->b1 = b1;
    size_t nb = (size_t)cap;
    q->lone = b1 - b0 == 1 && !never_lone;
    /* the most rows one product quantises: every stream, or a lone
     * stream's tap-0 products for the longest dilation */
    size_t rows = nb, in4 = (size_t)wn__round4(c->residual > c->skip ? c->residual : c->skip);
    if (in4 < (size_t)wn__round4(c->dilation)) in4 = (size_t)wn__round4(c->dilation);
    for (int j = 0; q->lone && j < c->layers; j++)
        if ((size_t)g->m->dil[j] > rows) rows = (size_t)g->m->dil[j];
    q->st = wn__alloc(nb * ((size_t)g->W + 3 * D + 2 * S + 2 * Q) + rows + 64, sizeof(float));
    q->cand = wn__alloc(nb * Q, sizeof(wn__cand));
    q->xq = wn__alloc(rows * in4 + 32, 1);
    if (!q->st || !q->cand || !q->xq) return WN_ERR_NOMEM;
    q->a = q->st + nb * g->W;
    q->z = q->a + nb * 2 * D;
    q->r = q->z + nb * D;
    q->u = q->r + nb * S;
    q->logits = q->u + nb * S;
    q->wq = q->logits + nb * Q;
    q->xs = q->wq + nb * Q;
    return WN_OK;
}

/* Split the streams into n parts with their scratch; on failure nothing
 * changes. */
static int set_parts(wn_gen *g, int n)
{
    part *pt = calloc((size_t)n, sizeof *pt);
    if (!pt) return WN_ERR_NOMEM;
    const int balanced = n > 1 && g->B > n, cap = (g->B + n - 1) / n;
    const int single = !balanced && cap == 1; /* parts of one stream */
    if (single && !g->past) {
        if (!(g->past = wn__calloc(g->past_floats, sizeof(float)))) {
            free(pt);
            return WN_ERR_NOMEM;
        }
    }
    /* part i holds streams [i cap, (i + 1) cap): the queues' group i (with
     * one thread or a thread per stream this is the even split; a
     * balanced run's last parts may be empty, their scratch unused) */
    for (int i = 0; i < n; i++) {
        const int b0 = i * cap < g->B ? i * cap : g->B, b1 = b0 + cap < g->B ? b0 + cap : g->B;
        if (part_alloc(g, &pt[i], b0, b1, cap, balanced) != WN_OK) {
            free_parts(pt, n);
            return WN_ERR_NOMEM;
        }
    }
    if (g->qring && cap != g->cap) { /* regroup the int8 queues */
        uint8_t *qr;
        float *qs;
        size_t gb, gs;
        if (q8_alloc(g, cap, &qr, &qs, &gb, &gs) != WN_OK) {
            free_parts(pt, n);
            return WN_ERR_NOMEM;
        }
        wn_gen old = *g; /* the old layout, for qrow and qscale */
        g->qring = qr;
        g->qring_s = qs;
        g->cap = cap;
        g->qgb = gb;
        g->qgs = gs;
        const size_t R4 = (size_t)wn__round4(g->m->cfg.residual);
        for (int j = 0; j < g->m->cfg.layers; j++)
            for (size_t k = 0; k < (size_t)g->m->dil[j]; k++)
                for (int b = 0; b < g->B; b++) {
                    memcpy(qrow(g, b, j, k), qrow(&old, b, j, k), R4);
                    *qscale(g, b, j, k) = *qscale(&old, b, j, k);
                }
        wn__free(old.qring);
        wn__free(old.qring_s);
    }
    free_parts(g->pt, g->threads);
    g->pt = pt;
    g->threads = n;
    g->balanced = balanced;
    g->cap = cap;
    return WN_OK;
}


/* Steps a thread takes at a time in a balanced run: ~1.5 ms of work for
 * a part of 4 small streams, so a thread that runs out of streams waits
 * at most about that long for the others to hand some over. */
#define GEN_CHUNK 64

enum { P_DIL, P_RS, P_H0, P_H1 }; /* wn_gen.wp */

void wn_gen_free(wn_gen *g)
{
    if (!g) return;
    for (int a = 0; a < 4; a++) {
        wn__free(g->wp[a]);
        wn__free(g->ws[a]);
    }
    wn__free(g->c_h);
    wn__free(g->b_dil);
    wn__free(g->b_skip);
    wn__free(g->ring);
    wn__free(g->past);
    wn__free(g->qring);
    wn__free(g->qring_s);
    free_parts(g->pt, g->threads);
    free(g->ring_off);
    wn__free(g->ss);
    free(g->pos);
    free(g->busy);
    free(g);
}

/* Pack the model's weights for the per-sample kernels at precision p,
 * freeing those of the other precision; on failure nothing changes. */
static int pack(wn_gen *g, wn_precision p)
{
    const wn_model *m = g->m;
    const wn_config *c = &m->cfg;
    const int L = c->layers, R = c->residual, D = c->dilation, S = c->skip, Q = c->bins;
    const int half = p == WN_PRECISION_F16, i8 = p == WN_PRECISION_I8;
    /* weights per matrix (int8: padded, kernels.h) and scales per matrix */
    const size_t n_tap = i8 ? wn__q8_bytes(R, 2 * D) : (size_t)2 * D * R;
    const size_t n_rs = i8 ? wn__q8_bytes(D, R + S) : (size_t)D * (R + S);
    const size_t n_h0 = i8 ? wn__q8_bytes(S, S) : (size_t)S * S;
    const size_t n_h1 = i8 ? wn__q8_bytes(S, Q) : (size_t)S * Q;
    const size_t s_tap = (size_t)wn__round8(2 * D), s_rs = (size_t)wn__round8(R + S);
    const size_t el = half ? sizeof(uint16_t) : i8 ? 1 : sizeof(float);
    void *w[4] = {wn__alloc((size_t)L * 2 * n_tap, el), wn__alloc((size_t)L * n_rs, el),
                  wn__alloc(n_h0, el), wn__alloc(n_h1, el)};
    float *sc[4] = {NULL, NULL, NULL, NULL};
    if (i8) {
        sc[0] = wn__alloc((size_t)L * 2 * s_tap, sizeof(float));
        sc[1] = wn__alloc((size_t)L * s_rs, sizeof(float));
        sc[2] = wn__alloc((size_t)wn__round8(S), sizeof(float));
        sc[3] = wn__alloc((size_t)wn__round8(Q), sizeof(float));
    }
    float *bd = wn__alloc((size_t)L * 2 * D, sizeof(float));
    /* a (rows, cols) staging matrix for the fused weights */
    float *tmp = malloc(sizeof(float) * (size_t)D * (R + S));
    int ok = bd && tmp;
    for (int a = 0; a < 4; a++) ok = ok && w[a] && (!i8 || sc[a]);
    if (!ok) {
        for (int a = 0; a < 4; a++) {
            wn__free(w[a]);
            wn__free(sc[a]);
        }
        wn__free(bd);
        free(tmp);
        return WN_ERR_NOMEM;
    }
    /* matrix k of array a (equal-sized matrices of n weights, ns scales) */
#define PACK(a, k, n, ns, src, nin, nout)                                               \
    (i8 ? wn__pack_q8((int8_t *)w[a] + (k) * (n), sc[a] + (k) * (ns), (src), (nin), (nout)) \
     : half ? wn__panel_pack16((uint16_t *)w[a] + (k) * (n), (src), (nin), (nout))      \
            : wn__panel_pack((float *)w[a] + (k) * (n), (src), (nin), (nout)))
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &m->pk.layer[j];
        /* packed w_dil is (2, 2D, R): tap 0 (past) then tap 1 (now) */
        const size_t t_in = (size_t)2 * D * R; /* one tap in the model's layout */
        for (int tap = 0; tap < 2; tap++)
            PACK(0, (size_t)2 * j + tap, n_tap, s_tap, lw->w_dil + tap * t_in, R, 2 * D);
        /* b_dil + (W0 + W1) c_j with the weights this precision holds */
        const float *cj = g->c_h + (size_t)j * R;
        for (int o = 0; o < 2 * D; o++) {
            double sum = lw->b_dil[o];
            for (int tap = 0; tap < 2; tap++)
                for (int i = 0; i < R; i++) {
                    float wv = lw->w_dil[(size_t)tap * t_in + (size_t)o * R + i];
                    if (half) wv = wn__f16_to_f32(wn__f32_to_f16(wv));
                    if (i8) {
                        const size_t k = (size_t)2 * j + tap;
                        wv = sc[0][k * s_tap + o] *
                             ((const int8_t *)w[0])[k * n_tap + wn__q8_at(i, o, wn__round4(R))];
                    }
                    sum += (double)wv * cj[i];
                }
            bd[(size_t)j * 2 * D + o] = (float)sum;
        }
        memcpy(tmp, lw->w_res, sizeof(float) * (size_t)R * D);
        memcpy(tmp + (size_t)R * D, lw->w_skip, sizeof(float) * (size_t)S * D);
        PACK(1, (size_t)j, n_rs, s_rs, tmp, D, R + S);
    }
    PACK(2, 0, 0, 0, m->pk.head0_w, S, S);
    PACK(3, 0, 0, 0, m->pk.head1_w, S, Q);
#undef PACK
    free(tmp);
    if (half) { /* a weight beyond half range would become infinite */
        const size_t hn[4] = {(size_t)L * 2 * n_tap, (size_t)L * n_rs, n_h0, n_h1};
        for (int a = 0; a < 4; a++)
            for (size_t i = 0; i < hn[a]; i++)
                if ((((const uint16_t *)w[a])[i] & 0x7c00) == 0x7c00) {
                    for (int b = 0; b < 4; b++) wn__free(w[b]);
                    wn__free(bd);
                    return WN_ERR_RANGE;
                }
    }
    for (int a = 0; a < 4; a++) {
        wn__free(g->wp[a]);
        wn__free(g->ws[a]);
        g->wp[a] = w[a];
        g->ws[a] = sc[a];
    }
    wn__free(g->b_dil);
    g->b_dil = bd;
    g->prec = p;
    return WN_OK;
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
    const int L = c->layers, R = c->residual, S = c->skip;
    wn_gen *g = calloc(1, sizeof *g);
    if (!g) goto nomem;
    g->m = m;
    g->k = wn__kernels();
    g->B = streams;
    g->sp = *p;
    g->W = R + S;
    g->chunk = GEN_CHUNK;
    g->c_h = wn__alloc((size_t)L * R, sizeof(float));
    g->b_skip = wn__alloc((size_t)S, sizeof(float));
    g->ring_off = malloc(sizeof(size_t) * 2 * (size_t)L); /* and qoff */
    g->ss = wn__calloc((size_t)streams, sizeof(stream_state));
    g->pos = calloc((size_t)streams, sizeof(size_t));
    g->busy = calloc((size_t)streams, 1);
    if (!g->c_h || !g->b_skip || !g->ring_off || !g->ss || !g->pos || !g->busy) goto nomem;
    double *sum = malloc(sizeof(double) * (size_t)(R + S)); /* c_j, then the skip biases */
    if (!sum) goto nomem;
    for (int i = 0; i < R; i++) sum[i] = m->pk.causal_b[i];
    for (int i = 0; i < S; i++) sum[R + i] = 0;
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &m->pk.layer[j];
        for (int i = 0; i < R; i++) {
            g->c_h[(size_t)j * R + i] = (float)sum[i];
            sum[i] += lw->b_res[i];
        }
        for (int i = 0; i < S; i++) sum[R + i] += lw->b_skip[i];
    }
    for (int i = 0; i < S; i++) g->b_skip[i] = (float)sum[R + i];
    free(sum);
    if (pack(g, WN_PRECISION_F32) != WN_OK) goto nomem;
    size_t off = 0;
    g->qoff = g->ring_off + L;
    for (int j = 0; j < L; j++) {
        g->ring_off[j] = off * (size_t)streams;
        g->qoff[j] = off / (size_t)R;
        off += (size_t)m->dil[j] * R;
    }
    g->ring_floats = off;
    g->past_floats = (size_t)streams * off / (size_t)R * 2 * (size_t)c->dilation;
    if (!(g->ring = wn__calloc((size_t)streams * off, sizeof(float))) || set_parts(g, 1) != WN_OK)
        goto nomem;
    /* one RNG per stream, each from the seed and its index */
    for (int b = 0; b < streams; b++) {
        uint64_t s = p->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(b + 1));
        g->ss[b].rng = wn__splitmix64(&s);
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

int wn_gen_set_precision(wn_gen *g, wn_precision p, wn_error *err)
{
    if (p != WN_PRECISION_F32 && p != WN_PRECISION_F16 && p != WN_PRECISION_I8)
        return wn__err(err, WN_ERR_ARG, "unknown precision %d", (int)p);
    if (p == g->prec) return WN_OK;
    /* int8 keeps quantised queues, the others float ones: the new kind
     * is allocated first, the old freed once the weights are packed */
    uint8_t *qr = NULL;
    float *qs = NULL, *ring = NULL;
    size_t gb = 0, gs = 0;
    if (p == WN_PRECISION_I8 ? q8_alloc(g, g->cap, &qr, &qs, &gb, &gs) != WN_OK
                             : !g->ring && !(ring = wn__calloc((size_t)g->B * g->ring_floats,
                                                               sizeof(float))))
        return wn__err(err, WN_ERR_NOMEM, "out of memory for the generation queues");
    int rc = pack(g, p);
    if (rc != WN_OK) {
        wn__free(qr);
        wn__free(qs);
        wn__free(ring);
    } else if (p == WN_PRECISION_I8) {
        wn__free(g->ring);
        g->ring = NULL;
        g->qring = qr;
        g->qring_s = qs;
        g->qgb = gb;
        g->qgs = gs;
    } else {
        if (ring) g->ring = ring;
        wn__free(g->qring);
        wn__free(g->qring_s);
        g->qring = NULL;
        g->qring_s = NULL;
    }
    if (rc == WN_ERR_RANGE)
        return wn__err(err, rc, "a weight is beyond half precision (|w| >= 65520)");
    if (rc != WN_OK)
        return wn__err(err, WN_ERR_NOMEM, "out of memory repacking the generation weights");
    /* the queues hold numbers of the other precision: start again */
    return wn_gen_prime(g, NULL, 0, err);
}

wn_precision wn_gen_precision(const wn_gen *g) { return g->prec; }

void wn_gen_set_threads(wn_gen *g, int threads)
{
    threads = threads < 1 ? 1 : threads > g->B ? g->B : threads;
    /* out of memory: keep the current split, which gives the same output */
    if (threads != g->threads) (void)set_parts(g, threads);
}

static void step_rows(wn_gen *g, const part *q, const int *in, size_t stride, int64_t t);

/* Priming at int8, whose numbers the teacher-forced pass cannot make: run
 * the last RF - 1 inputs of [silence x RF, prime] through the steps of one
 * stream (every queue entry then depends on those inputs only: the queues
 * reach back sum(d) = RF - 2 steps at most), then copy its queues to the
 * other streams. */
static int prime_steps(wn_gen *g, const int *codes, size_t n, wn_error *err)
{
    const wn_model *m = g->m;
    const int Q = m->cfg.bins, rf = m->rf, L = m->cfg.layers, R = m->cfg.residual, B = g->B;
    const int N = rf - 1, sil = wn_mulaw_silence(Q);
    const size_t len = (size_t)rf + n;
    part one;
    memset(&one, 0, sizeof one);
    if (part_alloc(g, &one, 0, 1, 1, 1) != WN_OK) {
        part_free(&one);
        return wn__err(err, WN_ERR_NOMEM, "out of memory priming generation");
    }
    /* both taps every step (never lone), which needs no
     * queue of tap-0 products (for many streams that queue would be
     * large) and gives the same bits */
    const size_t R4 = (size_t)wn__round4(R), ng = (size_t)((B + g->cap - 1) / g->cap);
    memset(g->qring, WN_Q8_OFFSET, ng * g->qgb);
    memset(g->qring_s, 0, ng * g->qgs * sizeof(float));
    /* s[p] for the inputs fed: p = len - 1 - N + i; the one before them */
#define S_AT(p) ((p) < (size_t)rf ? sil : codes[(p) - (size_t)rf])
    g->ss[0].prev = n ? S_AT(len - 2 - (size_t)N) : sil;
    for (int i = 0; i < N; i++) {
        const int x = S_AT(len - 1 - (size_t)N + (size_t)i);
        step_rows(g, &one, &x, 0, i); /* t = 0, 1, ...: any start gives the same */
    }
#undef S_AT
    part_free(&one);
    for (int j = 0; j < L; j++)
        for (size_t k = 0; k < (size_t)m->dil[j]; k++)
            for (int b = 1; b < B; b++) {
                memcpy(qrow(g, b, j, k), qrow(g, 0, j, k), R4);
                *qscale(g, b, j, k) = *qscale(g, 0, j, k);
            }
    const int last = n ? codes[n - 1] : sil;
    for (int b = 0; b < B; b++) {
        g->ss[b].prev = g->ss[0].prev;
        g->ss[b].pending = last;
    }
    g->t = N;
    for (int p = 0; p < g->threads; p++) g->pt[p].t0 = N; /* the queues are new */
    return WN_OK;
}

/* The queues after silence alone, without the teacher-forced pass: with a
 * constant input every layer's input is constant too, so one column a
 * layer, both taps seeing the same h, gives it. In double, in one fixed
 * order, so the numbers are the same on any machine (the pass's BLAS sums
 * in an order that depends on the CPU, which reached the last bits of
 * every later step). rings[j]: layer j's dil[j] slots. */
static int silence_rings(const wn_model *m, float *const *rings)
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
        for (int k = 0; k < m->dil[j]; k++)
            for (int i = 0; i < R; i++) rings[j][(size_t)k * R + i] = (float)h[i];
        const size_t tap = (size_t)2 * D * R;
        for (int o = 0; o < D; o++) { /* z = tanh(filter) sigmoid(gate) */
            double f = lw->b_dil[o], gt = lw->b_dil[D + o];
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
    if (g->prec == WN_PRECISION_I8) return prime_steps(g, codes, n, err);
    /* at half precision the queues must hold what the rounded model
     * computes, as every later step will */
    wn_model *mr = NULL;
    wn_error e2;
    if (g->prec != WN_PRECISION_F32 && !(mr = wn__model_rounded(m, g->prec, &e2))) {
        if (err) *err = e2;
        return e2.code;
    }
    int *in = malloc(sizeof(int) * (size_t)N);
    float **rings = malloc(sizeof(float *) * (size_t)L);
    float *one = malloc(sizeof(float) * g->ring_floats); /* one stream's queues */
    wn__ws *ws = n ? wn__ws_create(m, N, 1, 0) : NULL; /* silence alone needs no pass */
    if (!in || !rings || !one || (n && !ws)) {
        free(in);
        free(rings);
        free(one);
        wn__ws_free(ws);
        wn_model_free(mr);
        return wn__err(err, WN_ERR_NOMEM, "out of memory priming generation");
    }
    size_t len = (size_t)rf + n;
    for (int i = 0; i < N; i++) {
        size_t p = len - 1 - (size_t)N + (size_t)i; /* index into s */
        in[i] = p < (size_t)rf ? sil : codes[p - (size_t)rf];
    }
    for (int j = 0; j < L; j++) rings[j] = one + g->ring_off[j] / (size_t)g->B;
    int rc = n ? (wn__forward(mr ? mr : m, ws, in, N, 1, rings), WN_OK)
               : silence_rings(mr ? mr : m, rings);
    wn_model_free(mr);
    if (rc != WN_OK) {
        free(in);
        free(rings);
        free(one);
        wn__ws_free(ws);
        return wn__err(err, rc, "out of memory priming generation");
    }
    const int R = m->cfg.residual;
    for (int j = 0; j < L; j++) { /* the rings hold h'_j = h_j - c_j */
        const float *cj = g->c_h + (size_t)j * R;
        for (int k = 0; k < m->dil[j]; k++)
            for (int i = 0; i < R; i++) rings[j][(size_t)k * R + i] -= cj[i];
        for (int k = 0; k < m->dil[j]; k++)
            for (int b = 0; b < g->B; b++)
                memcpy(g->ring + g->ring_off[j] + ((size_t)k * g->B + b) * R,
                       rings[j] + (size_t)k * R, sizeof(float) * (size_t)R);
    }
    int last = n ? codes[n - 1] : sil;
    for (int b = 0; b < g->B; b++) {
        g->ss[b].prev = in[N - 1];
        g->ss[b].pending = last;
    }
    g->t = N;
    for (int p = 0; p < g->threads; p++) g->pt[p].t0 = N; /* the queues are new */
    free(in);
    free(rings);
    free(one);
    wn__ws_free(ws);
    return WN_OK;
}

/* One weight matrix (nin -> nout) in whichever precision the generator
 * holds: f, h or q (with its scales s) is set. */
typedef struct mat {
    const float *f;
    const uint16_t *h;
    const int8_t *q;
    const float *s;
    int nin, nout;
} mat;

/* Matrix k of the equal-sized ones in g->wp[a] */
static inline mat mat_of(const wn_gen *g, int a, size_t k, int nin, int nout)
{
    mat w = {NULL, NULL, NULL, NULL, nin, nout};
    if (g->prec == WN_PRECISION_I8) {
        w.q = (const int8_t *)g->wp[a] + k * wn__q8_bytes(nin, nout);
        w.s = g->ws[a] + k * (size_t)wn__round8(nout);
    } else if (g->prec == WN_PRECISION_F16)
        w.h = (const uint16_t *)g->wp[a] + k * (size_t)nin * nout;
    else
        w.f = (const float *)g->wp[a] + k * (size_t)nin * nout;
    return w;
}
/* layer j's tap (0: h[t-d], 1: h[t]), its fused res|skip, the head */
static inline mat mat_dil(const wn_gen *g, int j, int tap)
{
    const wn_config *c = &g->m->cfg;
    return mat_of(g, P_DIL, (size_t)2 * j + tap, c->residual, 2 * c->dilation);
}
static inline mat mat_rs(const wn_gen *g, int j)
{
    const wn_config *c = &g->m->cfg;
    return mat_of(g, P_RS, (size_t)j, c->dilation, c->residual + c->skip);
}
static inline mat mat_head(const wn_gen *g, int i)
{
    const wn_config *c = &g->m->cfg;
    return i ? mat_of(g, P_H1, 0, c->skip, c->bins) : mat_of(g, P_H0, 0, c->skip, c->skip);
}

/* Copy n floats: inline in 32-byte pieces when n is a multiple of 8 (R, S
 * and D usually are), which beats a libc call for these 128-byte copies. */
static inline void copy_f(float *restrict d, const float *restrict s, int n)
{
    if (n % 8) {
        memcpy(d, s, sizeof(float) * (size_t)n);
        return;
    }
    for (int i = 0; i < n; i += 8) __builtin_memcpy(d + i, s + i, 32);
}

/* Y = bias + X W (bias NULL: Y += X W) for nb int8 rows U (from quant8)
 * with scales sx */
static inline void product_q(const wn_gen *g, float *Y, int ldy, const float *bias,
                             const uint8_t *U, size_t ldq, const float *sx, int nb, mat w)
{
    g->k->gemm_q8(Y, ldy, bias, U, (int)ldq, sx, nb, w.q, w.s, w.nin, w.nout);
}

/* Y = bias + X W (bias NULL: Y += X W) for nb rows; at int8 each row of X
 * is quantised first (into the part's scratch) and the kernel starts from
 * the bias itself, the other kernels from a copy of it. */
static inline void product(const wn_gen *g, const part *q, float *Y, int ldy, const float *bias,
                           const float *X, int ldx, int nb, mat w)
{
    if (w.q) {
        const int n4 = wn__round4(w.nin);
        for (int b = 0; b < nb; b++)
            q->xs[b] = g->k->quant8(q->xq + (size_t)b * n4, X + (size_t)b * ldx, w.nin);
        g->k->gemm_q8(Y, ldy, bias, q->xq, n4, q->xs, nb, w.q, w.s, w.nin, w.nout);
        return;
    }
    for (int b = 0; bias && b < nb; b++) copy_f(Y + (size_t)b * ldy, bias, w.nout);
    if (w.h) g->k->gemm_t16(Y, ldy, X, ldx, nb, w.h, w.nin, w.nout);
    else g->k->gemm_t(Y, ldy, X, ldx, nb, w.f, w.nin, w.nout);
}

/* Layer j's block of tap-0 products: its queue's slots, 2D floats each */
static inline float *past_of(const wn_gen *g, int j)
{
    return g->past + g->ring_off[j] / (size_t)g->m->cfg.residual * 2 * (size_t)g->m->cfg.dilation;
}

#define PREFETCH_AHEAD 2
static inline void prefetch_lines(const void *p, size_t bytes)
{
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + o, 1, 3);
}

/* One step at time t of the streams of part q, with inputs in[b * stride]:
 * logits (Q per stream) for the next sample, in q->logits. */
static void step_rows(wn_gen *g, const part *q, const int *in, size_t stride, int64_t t)
{
    const wn_model *m = g->m;
    const wn__kern *k = g->k;
    const wn_config *cf = &m->cfg;
    const int L = cf->layers, R = cf->residual, D = cf->dilation, S = cf->skip, Q = cf->bins;
    const int W = g->W, B = g->B, b0 = q->b0, b1 = q->b1, nb = b1 - b0;
    const wn_view *w = &m->pk;
    const size_t R4 = (size_t)wn__round4(R);
    /* int8: the group of stream b0 in the queues and its index there; a
     * part's streams never leave their group (take) */
    const size_t gq = g->qring ? (size_t)(b0 / g->cap) : 0, iq = g->qring ? (size_t)(b0 % g->cap) : 0;
    assert(!g->qring || iq + (size_t)nb <= (size_t)g->cap);
    float *st = q->st, *a = q->a, *z = q->z, *r = q->r, *u = q->u, *logits = q->logits;
    for (int b = b0; b < b1; b++) {
        float *h = st + (size_t)(b - b0) * W, *skip = h + R;
        const int x = in[(size_t)b * stride];
        const float *e1 = w->causal_w + (size_t)Q * R + (size_t)x * R;
        const float *e0 = w->causal_w + (size_t)g->ss[b].prev * R;
        for (int i = 0; i < R; i++) h[i] = e1[i] + e0[i]; /* h'_0: causal.bias is c_0 */
        copy_f(skip, g->b_skip, S);
        g->ss[b].prev = x;
    }
    for (int j = 0; j < L; j++) {
        const int d = m->dil[j];
        const size_t slot = (size_t)(t & (d - 1)) * B;
        float *ring = g->ring ? g->ring + g->ring_off[j] : NULL; /* NULL at int8 */
        /* int8: stream b0's row and scale in slot 0 of layer j's queue, the
         * group's G rows a slot (NULL otherwise) */
        const size_t G = (size_t)g->cap, kq = (size_t)(t & (d - 1));
        uint8_t *qr = g->qring ? qrow_at(g, gq, iq, j, 0) : NULL;
        float *qs = g->qring ? qscale_at(g, gq, iq, j, 0) : NULL;
        /* the slots of the layers ahead were last touched d steps ago and
         * the weights streamed through the caches since */
        if (j + PREFETCH_AHEAD < L) {
            const int ja = j + PREFETCH_AHEAD;
            const size_t sa = (size_t)(t & (m->dil[ja] - 1)) * B + b0;
            if (q->lone)
                prefetch_lines(past_of(g, ja) + sa * 2 * D, sizeof(float) * 2 * D);
            if (g->qring)
                prefetch_lines(qrow_at(g, gq, iq, ja, (size_t)(t & (m->dil[ja] - 1))), R4 * nb);
            else
                prefetch_lines(g->ring + g->ring_off[ja] + sa * R, sizeof(float) * R * nb);
        }
        float *ab = a; /* the filter and gate pre-activations, 2D per stream */
        if (q->lone) {
            float *past = past_of(g, j);
            if ((t - q->t0) % d == 0) { /* tap 0 for steps t .. t+d-1: the whole queue */
                const float *bd = g->b_dil + (size_t)j * 2 * D;
                if (qr) { /* the queue's rows are quantised already */
                    for (int s2 = 0; s2 < d; s2++) q->xs[s2] = qs[(size_t)s2 * G];
                    product_q(g, past + (size_t)b0 * 2 * D, B * 2 * D, bd, qr, G * R4, q->xs, d,
                              mat_dil(g, j, 0));
                } else
                    product(g, q, past + (size_t)b0 * 2 * D, B * 2 * D, bd, ring + (size_t)b0 * R,
                            B * R, d, mat_dil(g, j, 0));
            }
            ab = past + (slot + b0) * 2 * D; /* spent by this step */
            if (qr) { /* h[t] quantised into its slot, for both taps */
                uint8_t *row = qr + kq * G * R4;
                float *sc = qs + kq * G;
                *sc = k->quant8(row, st, R);
                product_q(g, ab, 2 * D, NULL, row, R4, sc, 1, mat_dil(g, j, 1));
            } else {
                copy_f(ring + (slot + b0) * R, st, R); /* becomes h[t] */
                product(g, q, ab, 2 * D, NULL, st, W, 1, mat_dil(g, j, 1));
            }
        } else {
            /* tap 0 reads h[t-d] straight from the queue (the part's
             * streams are side by side there) and starts from the bias,
             * then h[t] takes its slot */
            const float *bd = g->b_dil + (size_t)j * 2 * D;
            if (qr) {
                uint8_t *rows = qr + kq * G * R4;
                float *sc = qs + kq * G;
                product_q(g, a, 2 * D, bd, rows, R4, sc, nb, mat_dil(g, j, 0));
                for (int b = 0; b < nb; b++)
                    sc[b] = k->quant8(rows + (size_t)b * R4, st + (size_t)b * W, R);
                product_q(g, a, 2 * D, NULL, rows, R4, sc, nb, mat_dil(g, j, 1));
            } else {
                float *slot_b0 = ring + (slot + b0) * R;
                product(g, q, a, 2 * D, bd, slot_b0, R, nb, mat_dil(g, j, 0));
                for (int b = 0; b < nb; b++) copy_f(slot_b0 + (size_t)b * R, st + (size_t)b * W, R);
                product(g, q, a, 2 * D, NULL, st, W, nb, mat_dil(g, j, 1));
            }
        }
        (qr ? k->gate_lo : k->gate)(z, ab, D, nb); /* int8 quantises z after */
        /* h += res(z), skip += skip(z) in one product (the last layer's h
         * update is unused but costs little) */
        product(g, q, st, W, NULL, z, D, nb, mat_rs(g, j));
    }
    for (int b = 0; b < nb; b++) {
        const float *skip = st + (size_t)b * W + R;
        float *rb = r + (size_t)b * S;
        for (int i = 0; i < S; i++) rb[i] = skip[i] > 0 ? skip[i] : 0;
    }
    product(g, q, u, S, w->head0_b, r, S, nb, mat_head(g, 0));
    for (int b = 0; b < nb; b++) {
        float *ub = u + (size_t)b * S;
        for (int i = 0; i < S; i++) ub[i] = ub[i] > 0 ? ub[i] : 0;
    }
    product(g, q, logits, Q, w->head1_b, u, S, nb, mat_head(g, 1));
}

int wn_gen_feed(wn_gen *g, const int *inputs, float *logits)
{
    const int Q = g->m->cfg.bins;
    for (int b = 0; b < g->B; b++)
        if (inputs[b] < 0 || inputs[b] >= Q) return WN_ERR_ARG;
    for (int p = 0; p < g->threads; p++) {
        const part *q = &g->pt[p];
        if (q->b0 == q->b1) continue; /* a balanced run's spare scratch */
        step_rows(g, q, inputs, 1, g->t);
        if (logits)
            memcpy(logits + (size_t)q->b0 * Q, q->logits,
                   sizeof(float) * (size_t)(q->b1 - q->b0) * Q);
    }
    g->t++;
    return WN_OK;
}

/* Steps [i0, i1) of this run for the streams of part q (from g->t + i0),
 * sampling each stream's next input. */
static void run_steps(wn_gen *g, const part *q, size_t i0, size_t i1, int *codes, double *logp)
{
    const int Q = g->m->cfg.bins, B = g->B, b0 = q->b0, b1 = q->b1;
    for (size_t i = i0; i < i1 && b0 < b1; i++) {
        step_rows(g, q, &g->ss[0].pending, IN_STRIDE, g->t + (int64_t)i);
        for (int b = b0; b < b1; b++) {
            const size_t o = (size_t)(b - b0) * Q;
            double lp;
            int c = wn__sample_k(g->k, q->logits + o, Q, &g->sp, &g->ss[b].rng, &lp, q->wq + o,
                                 q->cand + o);
            g->ss[b].pending = c;
            /* the next step starts from this code's embedding row */
            __builtin_prefetch(g->m->pk.causal_w + (size_t)(Q + c) * g->m->cfg.residual);
            if (codes) codes[i * (size_t)B + (size_t)b] = c;
            if (logp) logp[i * (size_t)B + (size_t)b] = lp;
        }
    }
}

/* A balanced run's next work, under the run's lock: a run of at most
 * `size` free streams at the lowest position any free stream with steps
 * left is at (those then hold the same t, as one part's streams must),
 * starting at pref if it can, and within its group of cap streams (a
 * block of the int8 queues). size shrinks as streams finish: once fewer
 * than `threads` x cap streams have steps left, every thread gets its
 * share of them. 1 (set *b0, *b1, *p0; marked busy), 0 (none free now:
 * wait) or -1 (the run is done). */
static int take(wn_gen *g, size_t n, int pref, int *b0, int *b1, size_t *p0)
{
    const int B = g->B, T = g->threads;
    int left = 0, start = -1;
    size_t lo = n;
    for (int b = 0; b < B; b++) {
        left += g->pos[b] < n;
        if (!g->busy[b] && g->pos[b] < lo) lo = g->pos[b];
    }
    if (!left) return -1;
    if (lo == n) return 0;
    int size = (left + T - 1) / T;
    if (size > g->cap) size = g->cap;
#define FREE_AT(b) (!g->busy[b] && g->pos[b] == lo)
    if (pref >= 0 && pref < B && FREE_AT(pref)) start = pref;
    for (int b = 0; start < 0 && b < B; b++)
        if (FREE_AT(b)) start = b;
    int end = start + 1;
    while (end < B && end - start < size && FREE_AT(end) && end % g->cap) end++;
#undef FREE_AT
    for (int b = start; b < end; b++) g->busy[b] = 1;
    g->takes++;
    g->partial += end - start < g->cap;
    *b0 = start;
    *b1 = end;
    *p0 = lo;
    return 1;
}

/* Each stream's numbers depend on nothing but its own inputs and RNG, so
 * any split of the streams among threads gives the same bytes. With one
 * thread, or a thread per stream, the split is fixed: each thread runs its
 * streams for all n steps with no synchronisation per sample. Otherwise
 * the run is balanced: threads take runs of streams GEN_CHUNK steps at a time,
 * so a thread that gets less of the CPU (a busy or shared core: on a 2-core
 * VM one thread measured 18-30% slower than the other for whole runs)
 * does less of the work instead of holding everyone up at the end of the
 * run; streams may be at different steps within the run. */
int wn_gen_run(wn_gen *g, size_t n, int *codes, double *logp)
{
    const int parts = g->threads;
    if (!g->balanced) {
#pragma omp parallel for num_threads(parts) schedule(static) if (parts > 1)
        for (int p = 0; p < parts; p++) run_steps(g, &g->pt[p], 0, n, codes, logp);
        g->t += (int64_t)n;
        return WN_OK;
    }
    memset(g->pos, 0, sizeof(size_t) * (size_t)g->B);
    memset(g->busy, 0, (size_t)g->B);
#pragma omp parallel num_threads(parts)
    {
#ifdef _OPENMP
        const int me = omp_get_thread_num();
#else
        const int me = 0;
#endif
        part q = g->pt[me < parts ? me : 0]; /* this thread's scratch */
        int pref = q.b0;
        for (;;) {
            int b0 = 0, b1 = 0, r;
            size_t p0 = 0;
#pragma omp critical(wn_gen_take)
            r = take(g, n, pref, &b0, &b1, &p0);
            if (r < 0) break;
            if (r == 0) { /* every stream with steps left is held: wait */
                sched_yield();
                continue;
            }
            q.b0 = pref = b0;
            q.b1 = b1;
            const size_t p1 = p0 + (n - p0 < (size_t)g->chunk ? n - p0 : (size_t)g->chunk);
            run_steps(g, &q, p0, p1, codes, logp);
#pragma omp critical(wn_gen_take)
            for (int b = b0; b < b1; b++) {
                g->pos[b] = p1;
                g->busy[b] = 0;
            }
        }
    }
    g->t += (int64_t)n;
    return WN_OK;
}

/* for wavenet-bench ab: run g on the kernel table of that name (the
 * packed weights are the same for every table, kernels.h) */
int wn__gen_set_kernels(wn_gen *g, const char *name)
{
    const wn__kern *k = wn__kernels_named(name);
    if (!k) return WN_ERR_ARG;
    g->k = k;
    return WN_OK;
}

/* for tests: make balanced runs hand streams over more often */
void wn__gen_set_chunk(wn_gen *g, int steps) { g->chunk = steps < 1 ? 1 : steps; }
void wn__gen_balance_stats(const wn_gen *g, long *takes, long *partial)
{
    *takes = g->takes;
    *partial = g->partial;
}

int wn_gen_step(wn_gen *g, int *codes, double *logp) { return wn_gen_run(g, 1, codes, logp); }
