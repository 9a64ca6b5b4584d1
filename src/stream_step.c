/* stream_step.c - the per-sample step of cached generation (Fast WaveNet,
 * Paine et al. 2016): every layer keeps a ring buffer of its last d
 * inputs, so one new sample costs one column per layer whatever the
 * receptive field. These per-sample kernels are separate from the
 * whole-sequence ones in layers.c; a test proves both give the same
 * logits. Nothing is allocated per sample.
 *
 * One step of the streams a thread runs: embed the two inputs; per layer,
 * a = b_dil' + W0 h[t-d] + W1 h[t] (tap 0 from the queue, or for a lone
 * stream from products made d steps at a time), z = gate(a), then one
 * product adds res(z) to h and skip(z) to the skip sum; the head; then
 * sampling. The rows hold h minus the sum of the biases before each layer,
 * so no bias is added inside the loop (gen_weights in stream.h says how).
 * A conditional model's step starts each stream's dilated product from its
 * own bias (a speaker's) and adds W_cond u[t] to it between the taps
 * (gen_cond in stream.h, stream_cond.c).
 * At WN_PRECISION_I8 the queues hold quantised rows (qring), and the other
 * products quantise their inputs first (product()). Speed is measured in
 * bench/ (bench/RESULTS.md). */
#include "stream.h"

#include <assert.h>
#include <string.h>

/* One weight matrix (nin -> nout) in whichever precision the generator
 * holds: f, h or q (with its scales s) is set. */
typedef struct mat {
    const float *f;
    const uint16_t *h;
    const int8_t *q;
    const float *s;
    int nin, nout;
} mat;

/* Matrix k of the equal-sized ones in g->weights.wp[a] */
static inline mat mat_of(const wn_gen *g, int a, size_t k, int nin, int nout)
{
    mat w = {NULL, NULL, NULL, NULL, nin, nout};
    const gen_weights *gw = &g->weights;
    if (gw->prec == WN_PRECISION_I8) {
        w.q = (const int8_t *)gw->wp[a] + k * wn__q8_bytes(nin, nout);
        w.s = gw->ws[a] + k * (size_t)wn__round8(nout);
    } else if (gw->prec == WN_PRECISION_F16)
        w.h = (const uint16_t *)gw->wp[a] + k * (size_t)nin * nout;
    else
        w.f = (const float *)gw->wp[a] + k * (size_t)nin * nout;
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
    const wn_config *c = &g->m->cfg;
    return g->queues.past + g->queues.ring_off[j] / (size_t)c->residual * 2 * (size_t)c->dilation;
}

#define PREFETCH_AHEAD 2
static inline void prefetch_lines(const void *p, size_t bytes)
{
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch((const char *)p + o, 1, 3);
}

/* The pieces of one step below make one function, as the step was
 * written before it was cut into them: forced, since GCC otherwise made
 * the lone float path a call of its own, which cost one f32 stream
 * speed (bench/README.md). */
#define STEP_INLINE static inline __attribute__((always_inline))

/* One step of part q at time t: the sizes, read once a step (the kernels
 * are calls through a table, after which g's fields would be read again),
 * and (int8) where the part's first stream is in the queues: group gq,
 * index iq (a part's streams never leave their group: take). */
typedef struct step_at {
    const wn_gen *g;
    const part *q;
    int64_t t;
    const int *dil;
    int R, D, B, W;
    size_t gq, iq;
} step_at;

/* Layer j's slots for the step: last touched d steps ago, and the weights
 * have streamed through the caches since */
STEP_INLINE void prefetch_layer(const step_at *s, int j)
{
    const wn_gen *g = s->g;
    const part *q = s->q;
    const int R = s->R, D = s->D, d = s->dil[j];
    const int nb = q->b1 - q->b0;
    const size_t kq = (size_t)(s->t & (d - 1)), sa = kq * s->B + q->b0;
    if (q->lone) prefetch_lines(past_of(g, j) + sa * 2 * D, sizeof(float) * 2 * D);
    if (g->queues.qring)
        prefetch_lines(qrow_at(g, s->gq, s->iq, j, kq), (size_t)wn__round4(R) * nb);
    else
        prefetch_lines(g->queues.ring + g->queues.ring_off[j] + sa * R, sizeof(float) * R * nb);
}

/* The first column: h'_0 of each stream of part q from its two inputs
 * (in[b * stride] and the one before: two rows of the embedding), and the
 * skip sum's start. */
STEP_INLINE void embed(wn_gen *g, const part *q, const int *in, size_t stride)
{
    const wn_config *cf = &g->m->cfg;
    const int R = cf->residual, S = cf->skip, Q = cf->bins, W = g->W, b0 = q->b0, b1 = q->b1;
    const float *causal_w = g->m->pk.causal_w;
    float *st = q->st;
    for (int b = b0; b < b1; b++) {
        float *h = st + (size_t)(b - b0) * W, *skip = h + R;
        const int x = in[(size_t)b * stride];
        const float *e1 = causal_w + (size_t)Q * R + (size_t)x * R;
        const float *e0 = causal_w + (size_t)g->sampling.ss[b].prev * R;
        for (int i = 0; i < R; i++) h[i] = e1[i] + e0[i]; /* h'_0: causal.bias is c_0 */
        copy_f(skip, g->weights.b_skip, S);
        g->sampling.ss[b].prev = x;
    }
}

/* Layer j's dilated product, a = b_dil' + W0 h[t-d] + W1 h[t], four
 * ways: a part of several streams or a lone one, float or int8 queues.
 * Each also puts h[t] (the part's rows of st) into the step's slot of the
 * queue, and returns where a is (2D per stream). */

/* The bias the dilated product of layer j starts from, for a part of
 * several streams: the folded b_dil, or with speakers each stream's own,
 * put into the rows of a first (NULL then: the products accumulate, the
 * same bits as starting from a bias) */
STEP_INLINE const float *row_biases(const step_at *s, int j)
{
    const wn_gen *g = s->g;
    const part *q = s->q;
    const int O = 2 * s->D;
    if (!g->cond.spk) return g->weights.b_dil + (size_t)j * O;
    for (int b = q->b0; b < q->b1; b++)
        copy_f(q->a + (size_t)(b - q->b0) * O, gen_bias(g, b) + (size_t)j * O, O);
    return NULL;
}

/* The features' share of layer j, Y += W_cond u for n rows of stream b's
 * upsampled rows from sample s0 (Y's rows ldy apart), in float32 at every
 * precision */
STEP_INLINE void cond_rows(const step_at *s, float *Y, int ldy, int b, int64_t s0, int n, int j)
{
    const wn_gen *g = s->g;
    const int C = g->cond.C, O = 2 * s->D;
    const float *wt = g->cond.wt + (size_t)j * O * C;
    while (n > 0) {
        int got;
        const float *u = wn__gen_cond_rows(g, s->q, b, s0, n, &got);
        g->k->gemm_t(Y, ldy, u, C, got, wt, C, O);
        Y += (size_t)got * ldy;
        s0 += got;
        n -= got;
    }
}

/* A lone stream's share of layer j for the d steps from t, into the past
 * rows tap 0's products were just made in: slot k holds step t + k - r
 * for k >= r (r = t mod d), else t + d - r + k */
STEP_INLINE void cond_past(const step_at *s, float *past, int j)
{
    const int d = s->dil[j], O = 2 * s->D, B = s->B, b0 = s->q->b0;
    const int r = (int)(s->t & (d - 1));
    const int64_t s0 = s->t + s->g->at[b0];
    cond_rows(s, past + ((size_t)r * B + b0) * O, B * O, b0, s0, d - r, j);
    if (r) cond_rows(s, past + (size_t)b0 * O, B * O, b0, s0 + d - r, r, j);
}

/* Several streams' share of layer j at this step: their rows in q->ug */
STEP_INLINE void cond_step(const step_at *s, float *a, int j)
{
    const wn_gen *g = s->g;
    const part *q = s->q;
    const int C = g->cond.C, O = 2 * s->D;
    g->k->gemm_t(a, O, q->ug, C, q->b1 - q->b0, g->cond.wt + (size_t)j * O * C, C, O);
}

/* Several streams, float queues: tap 0 reads h[t-d] straight from the
 * queue (the part's streams are side by side there) and starts from the
 * bias, then h[t] takes its slot. */
STEP_INLINE float *dil_rows(const step_at *s, int j)
{
    const wn_gen *g = s->g;
    const part *q = s->q;
    const int R = s->R, D = s->D, d = s->dil[j];
    const int W = s->W, nb = q->b1 - q->b0;
    const size_t slot = (size_t)(s->t & (d - 1)) * s->B;
    const float *bd = row_biases(s, j);
    float *slot_b0 = g->queues.ring + g->queues.ring_off[j] + (slot + q->b0) * R;
    product(g, q, q->a, 2 * D, bd, slot_b0, R, nb, mat_dil(g, j, 0));
    if (g->cond.mel) cond_step(s, q->a, j);
    for (int b = 0; b < nb; b++) copy_f(slot_b0 + (size_t)b * R, q->st + (size_t)b * W, R);
    product(g, q, q->a, 2 * D, NULL, q->st, W, nb, mat_dil(g, j, 1));
    return q->a;
}

/* Several streams, int8 queues: as dil_rows, with h[t] quantised into
 * its slot (for tap 1 now and tap 0 d steps later). */
STEP_INLINE float *dil_rows_q8(const step_at *s, int j)
{
    const wn_gen *g = s->g;
    const part *q = s->q;
    const int R = s->R, D = s->D, d = s->dil[j];
    const int W = s->W, nb = q->b1 - q->b0;
    const size_t R4 = (size_t)wn__round4(R), kq = (size_t)(s->t & (d - 1));
    const float *bd = row_biases(s, j);
    uint8_t *rows = qrow_at(g, s->gq, s->iq, j, kq);
    float *sc = qscale_at(g, s->gq, s->iq, j, kq);
    product_q(g, q->a, 2 * D, bd, rows, R4, sc, nb, mat_dil(g, j, 0));
    if (g->cond.mel) cond_step(s, q->a, j);
    for (int b = 0; b < nb; b++)
        sc[b] = g->k->quant8(rows + (size_t)b * R4, q->st + (size_t)b * W, R);
    product_q(g, q->a, 2 * D, NULL, rows, R4, sc, nb, mat_dil(g, j, 1));
    return q->a;
}

/* One stream, float queues: every d steps (from the part's t0) tap 0's
 * products for the next d steps, from the whole queue into past; then
 * tap 1 accumulates into the step's slot there, which this step spends. */
STEP_INLINE float *dil_lone(const step_at *s, int j)
{
    const wn_gen *g = s->g;
    const part *q = s->q;
    const int R = s->R, D = s->D, d = s->dil[j];
    const int B = s->B, b0 = q->b0;
    const size_t slot = (size_t)(s->t & (d - 1)) * B;
    float *ring = g->queues.ring + g->queues.ring_off[j], *past = past_of(g, j);
    if ((s->t - q->t0) % d == 0) {
        const float *bd = gen_bias(g, b0) + (size_t)j * 2 * D;
        product(g, q, past + (size_t)b0 * 2 * D, B * 2 * D, bd, ring + (size_t)b0 * R, B * R, d,
                mat_dil(g, j, 0));
        if (g->cond.mel) cond_past(s, past, j);
    }
    float *ab = past + (slot + b0) * 2 * D;
    copy_f(ring + (slot + b0) * R, q->st, R); /* becomes h[t] */
    product(g, q, ab, 2 * D, NULL, q->st, s->W, 1, mat_dil(g, j, 1));
    return ab;
}

/* One stream, int8 queues: as dil_lone; the queue's rows are quantised
 * already (a scale every G), and h[t] is quantised into its slot. */
STEP_INLINE float *dil_lone_q8(const step_at *s, int j)
{
    const wn_gen *g = s->g;
    const part *q = s->q;
    const int R = s->R, D = s->D, d = s->dil[j];
    const int B = s->B, b0 = q->b0;
    const size_t R4 = (size_t)wn__round4(R), G = (size_t)g->sched.cap;
    const size_t kq = (size_t)(s->t & (d - 1));
    uint8_t *qr = qrow_at(g, s->gq, s->iq, j, 0);
    float *qs = qscale_at(g, s->gq, s->iq, j, 0), *past = past_of(g, j);
    if ((s->t - q->t0) % d == 0) {
        const float *bd = gen_bias(g, b0) + (size_t)j * 2 * D;
        for (int s2 = 0; s2 < d; s2++) q->xs[s2] = qs[(size_t)s2 * G];
        product_q(g, past + (size_t)b0 * 2 * D, B * 2 * D, bd, qr, G * R4, q->xs, d,
                  mat_dil(g, j, 0));
        if (g->cond.mel) cond_past(s, past, j);
    }
    float *ab = past + (kq * B + b0) * 2 * D;
    uint8_t *row = qr + kq * G * R4;
    float *sc = qs + kq * G;
    *sc = g->k->quant8(row, q->st, R);
    product_q(g, ab, 2 * D, NULL, row, R4, sc, 1, mat_dil(g, j, 1));
    return ab;
}

/* The head over the skip sums: relu, head.0, relu, head.1 into q->logits. */
STEP_INLINE void head(const wn_gen *g, const part *q)
{
    const wn_config *cf = &g->m->cfg;
    const wn_view *w = &g->m->pk;
    const int R = cf->residual, S = cf->skip, Q = cf->bins, W = g->W, nb = q->b1 - q->b0;
    float *r = q->r, *u = q->u;
    for (int b = 0; b < nb; b++) {
        const float *skip = q->st + (size_t)b * W + R;
        float *rb = r + (size_t)b * S;
        for (int i = 0; i < S; i++) rb[i] = skip[i] > 0 ? skip[i] : 0;
    }
    product(g, q, u, S, w->head0_b, r, S, nb, mat_head(g, 0));
    for (int b = 0; b < nb; b++) {
        float *ub = u + (size_t)b * S;
        for (int i = 0; i < S; i++) ub[i] = ub[i] > 0 ? ub[i] : 0;
    }
    product(g, q, q->logits, Q, w->head1_b, u, S, nb, mat_head(g, 1));
}

/* A call of its own per step (GCC specialises it for the runs' stride),
 * the shape measured before the step was cut into pieces; GCC would
 * otherwise inline it into run_steps. */
static __attribute__((noinline)) void step_rows(wn_gen *g, const part *q, const int *in,
                                                size_t stride, int64_t t)
{
    const wn_config *cf = &g->m->cfg;
    const int L = cf->layers, D = cf->dilation, W = g->W, nb = q->b1 - q->b0;
    const int i8 = g->queues.qring != NULL;
    const size_t cap = (size_t)g->sched.cap;
    const step_at s = {g, q, t, g->m->dil, cf->residual, D, g->B, W,
                       i8 ? (size_t)q->b0 / cap : 0, i8 ? (size_t)q->b0 % cap : 0};
    assert(!i8 || s.iq + (size_t)nb <= cap);
    if (g->cond.mel && !q->lone) wn__gen_cond_gather(g, q, t);
    embed(g, q, in, stride);
    for (int j = 0; j < L; j++) {
        if (j + PREFETCH_AHEAD < L) prefetch_layer(&s, j + PREFETCH_AHEAD);
        float *a = q->lone ? (i8 ? dil_lone_q8(&s, j) : dil_lone(&s, j))
                           : (i8 ? dil_rows_q8(&s, j) : dil_rows(&s, j));
        (i8 ? g->k->gate_lo : g->k->gate)(q->z, a, D, nb); /* int8 quantises z after */
        /* h += res(z), skip += skip(z) in one product (the last layer's h
         * update is unused but costs little) */
        product(g, q, q->st, W, NULL, q->z, D, nb, mat_rs(g, j));
    }
    head(g, q);
}

void wn__gen_step_rows(wn_gen *g, const part *q, const int *in, size_t stride, int64_t t)
{
    step_rows(g, q, in, stride, t);
}

void wn__gen_run_steps(wn_gen *g, const part *q, size_t i0, size_t i1, int *codes, double *logp)
{
    const int Q = g->m->cfg.bins, B = g->B, b0 = q->b0, b1 = q->b1;
    stream_state *ss = g->sampling.ss;
    for (size_t i = i0; i < i1 && b0 < b1; i++) {
        step_rows(g, q, &ss[0].pending, IN_STRIDE, g->queues.t + (int64_t)i);
        for (int b = b0; b < b1; b++) {
            const size_t o = (size_t)(b - b0) * Q;
            double lp;
            int c = wn__sample_k(g->k, q->logits + o, Q, &g->sampling.sp, &ss[b].rng, &lp,
                                 q->wq + o, q->cand + o);
            if (c < 0) { /* no distribution: go on with silence, report at the end */
                c = wn_mulaw_silence(Q);
                lp = NAN;
#pragma omp atomic write
                g->sampling.nonfinite = 1;
            }
            ss[b].pending = c;
            /* the next step starts from this code's embedding row */
            __builtin_prefetch(g->m->pk.causal_w + (size_t)(Q + c) * g->m->cfg.residual);
            if (codes) codes[i * (size_t)B + (size_t)b] = c;
            if (logp) logp[i * (size_t)B + (size_t)b] = lp;
        }
    }
}
