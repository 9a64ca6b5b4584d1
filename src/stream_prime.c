/* stream_prime.c - filling a generator's queues: what the layers held
 * after [silence x RF, prime], the state generation continues from. At
 * float and half precision a teacher-forced pass (net.c) makes them, or
 * for silence alone one column a layer in double; at int8, whose numbers
 * no pass makes, the steps themselves (prime_steps). */
#include "net.h"
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Priming at int8, whose numbers the teacher-forced pass cannot make: run
 * the last RF - 1 inputs of [silence x RF, prime] through the steps of one
 * stream (every queue entry then depends on those inputs only: the queues
 * reach back sum(d) = RF - 2 steps at most), then copy its queues to the
 * other streams; a conditional model's streams each through their own
 * steps (their features and speakers differ). */
static int prime_steps(wn_gen *g, const int *codes, size_t n, wn_error *err)
{
    const wn_model *m = g->m;
    const int Q = m->cfg.bins, rf = m->rf, L = m->cfg.layers, R = m->cfg.residual, B = g->B;
    const int N = rf - 1, sil = wn_mulaw_silence(Q);
    const size_t len = (size_t)rf + n;
    const int each = g->cond.cs != NULL; /* every stream its own steps */
    /* both taps every step (never lone), which needs no
     * queue of tap-0 products (for many streams that queue would be
     * large) and gives the same bits */
    const size_t R4 = (size_t)wn__round4(R), ng = (size_t)((B + g->sched.cap - 1) / g->sched.cap);
    memset(g->queues.qring, WN_Q8_OFFSET, ng * g->queues.qgb);
    memset(g->queues.qring_s, 0, ng * g->queues.qgs * sizeof(float));
    /* s[p] for the inputs fed: p = len - 1 - N + i; the one before them */
#define S_AT(p) ((p) < (size_t)rf ? sil : codes[(p) - (size_t)rf])
    const int prev = n ? S_AT(len - 2 - (size_t)N) : sil;
    for (int b = 0; b < (each ? B : 1); b++) {
        part one;
        memset(&one, 0, sizeof one);
        if (wn__gen_part_alloc(g, &one, b, b + 1, 1, 1) != WN_OK) {
            wn__gen_part_free(&one);
            return wn__err(err, WN_ERR_NOMEM, "out of memory priming generation");
        }
        g->sampling.ss[b].prev = prev;
        for (int i = 0; i < N; i++) {
            const int x = S_AT(len - 1 - (size_t)N + (size_t)i);
            /* t = 0, 1, ...: any start gives the same (the clock, g->at,
             * is set for t = N: step i is sample n - N + i) */
            wn__gen_step_rows(g, &one, &x, 0, i);
        }
        wn__gen_part_free(&one);
    }
#undef S_AT
    for (int j = 0; j < L && !each; j++)
        for (size_t k = 0; k < (size_t)m->dil[j]; k++)
            for (int b = 1; b < B; b++) {
                memcpy(qrow(g, b, j, k), qrow(g, 0, j, k), R4);
                *qscale(g, b, j, k) = *qscale(g, 0, j, k);
            }
    const int last = n ? codes[n - 1] : sil;
    for (int b = 0; b < B; b++) {
        g->sampling.ss[b].prev = g->sampling.ss[0].prev;
        g->sampling.ss[b].pending = last;
    }
    g->queues.t = N;
    for (int p = 0; p < g->sched.threads; p++) g->sched.pt[p].t0 = N; /* the queues are new */
    return WN_OK;
}

/* The queues after silence alone, without the teacher-forced pass: every
 * layer's steady input in the endless silent past (wn__silence_state, in
 * double and one fixed order, so the numbers are the same on any machine:
 * the pass's BLAS sums in an order that depends on the CPU, which reached
 * the last bits of every later step), in each of its dil[j] slots. bias:
 * each layer's dilated bias with a speaker's term (L, 2D), or NULL: the
 * model's. The silent past has no features (u = 0). */
static int silence_rings(const wn_model *m, float *const *rings, const float *bias)
{
    const int R = m->cfg.residual, L = m->cfg.layers;
    float *hs = malloc(sizeof(float) * (size_t)L * R);
    if (!hs || wn__silence_state(m, bias, hs, NULL) != WN_OK) {
        free(hs);
        return WN_ERR_NOMEM;
    }
    for (int j = 0; j < L; j++)
        for (int k = 0; k < m->dil[j]; k++)
            memcpy(rings[j] + (size_t)k * R, hs + (size_t)j * R, sizeof(float) * (size_t)R);
    free(hs);
    return WN_OK;
}

/* What a prime needs for the teacher-forced pass, and one stream's queues */
typedef struct prime_buf {
    int *in;       /* the pass's N inputs */
    float **rings; /* per layer: its slots in one */
    float *one;    /* one stream's queues */
    wn__ws *ws;    /* the pass (NULL: silence alone needs none) */
    wn__cond_ws *cw;
    float *u;      /* (N, C): the prime's upsampled rows */
    float *bias;   /* (L, 2D): a speaker's biases */
} prime_buf;

static void prime_buf_free(prime_buf *pb)
{
    free(pb->in);
    free(pb->rings);
    free(pb->one);
    wn__ws_free(pb->ws);
    wn__cond_ws_free(pb->cw);
    wn__free(pb->u);
    wn__free(pb->bias);
}

/* The queues of streams [b0, b1) after the prime (n codes; pb->in its last
 * inputs) with stream b0's conditioning (a conditional model's streams go
 * one at a time), through mm: the model, or its rounded copy. */
static int prime_float(wn_gen *g, const wn_model *mm, prime_buf *pb, size_t n, int b0, int b1)
{
    const wn_model *m = g->m;
    const int rf = m->rf, L = m->cfg.layers, R = m->cfg.residual, N = rf - 1;
    const gen_cstream *cs = g->cond.cs ? &g->cond.cs[b0] : NULL;
    const float *bias = NULL;
    if (cs && g->cond.spk) {
        wn__cond_layer_bias(mm, cs->speaker, pb->bias);
        bias = pb->bias;
    }
    int rc = WN_OK;
    if (n) {
        /* row i predicts sample n + i + 1 - rf (score.c's alignment) */
        if (cs && g->cond.mel)
            wn__cond_forward(m, pb->cw, cs->feats, (long)cs->frames, (long)n + 1 - rf, (long)n,
                             pb->u);
        const wn__cin ci = {cs && g->cond.mel ? pb->u : NULL, bias};
        wn__forward(mm, pb->ws, pb->in, N, 1, pb->rings, cs ? &ci : NULL);
    } else {
        rc = silence_rings(mm, pb->rings, bias);
    }
    if (rc != WN_OK) return rc;
    for (int j = 0; j < L; j++) { /* the rings hold h'_j = h_j - c_j */
        float *rj = pb->rings[j];
        const float *cj = g->weights.c_h + (size_t)j * R;
        for (int k = 0; k < m->dil[j]; k++)
            for (int i = 0; i < R; i++) rj[(size_t)k * R + i] -= cj[i];
        for (int k = 0; k < m->dil[j]; k++)
            for (int b = b0; b < b1; b++)
                memcpy(g->queues.ring + g->queues.ring_off[j] + ((size_t)k * g->B + b) * R,
                       rj + (size_t)k * R, sizeof(float) * (size_t)R);
    }
    return WN_OK;
}

int wn_gen_prime(wn_gen *g, const int *codes, size_t n, wn_error *err)
{
    const wn_model *m = g->m;
    const int Q = m->cfg.bins, rf = m->rf, L = m->cfg.layers, B = g->B;
    gen_cond *gc = &g->cond;
    for (size_t i = 0; i < n; i++)
        if (codes[i] < 0 || codes[i] >= Q)
            return wn__err(err, WN_ERR_ARG, "prime code %d at %zu is outside 0..%d", codes[i],
                           i, Q - 1);
    for (int b = 0; gc->cs && b < B; b++) {
        if (!gc->cs[b].set)
            return wn__err(err, WN_ERR_ARG, "stream %d has no %s: a conditional model's "
                           "streams are primed after wn_gen_set_cond", b,
                           gc->mel ? "features" : "speaker");
        if ((int64_t)n > gc->cs[b].limit)
            return wn__err(err, WN_ERR_ARG, "stream %d: a prime of %zu samples is longer than "
                           "its features (%zu frames condition %lld samples)", b, n,
                           gc->cs[b].frames, (long long)gc->cs[b].limit);
    }
    /* s = [silence x RF, prime]; the ring state after s[..len-1) depends only
     * on its last RF-1 inputs, and s[len-1] is the next step's input. */
    const int N = rf - 1, sil = wn_mulaw_silence(Q);
    /* the clocks: the step at t = N makes sample n */
    for (int b = 0; b < B; b++) {
        g->at[b] = (int64_t)n - N;
        if (gc->cs) gc->cs[b].stopped = 0;
    }
    gc->ready = 0;
    if (g->weights.prec == WN_PRECISION_I8) {
        int rc = prime_steps(g, codes, n, err);
        gc->ready = rc == WN_OK;
        return rc;
    }
    /* at half precision the queues must hold what the rounded model
     * computes, as every later step will */
    wn_model *mr = NULL;
    wn_error e2;
    if (g->weights.prec != WN_PRECISION_F32 && !(mr = wn__model_rounded(m, g->weights.prec, &e2))) {
        if (err) *err = e2;
        return e2.code;
    }
    prime_buf pb = {0};
    const int C = wn__cond_width(&m->cfg), LO = L * 2 * m->cfg.dilation;
    pb.in = malloc(sizeof(int) * (size_t)N);
    pb.rings = malloc(sizeof(float *) * (size_t)L);
    pb.one = malloc(sizeof(float) * g->queues.ring_floats);
    if (n) pb.ws = wn__ws_create(m, N, 1, 0); /* silence alone needs no pass */
    if (n && gc->mel) {
        pb.cw = wn__cond_ws_create(m, N);
        pb.u = wn__alloc((size_t)N * C, sizeof(float));
    }
    if (gc->spk) pb.bias = wn__alloc((size_t)LO, sizeof(float));
    if (!pb.in || !pb.rings || !pb.one || (n && !pb.ws) || (n && gc->mel && (!pb.cw || !pb.u)) ||
        (gc->spk && !pb.bias)) {
        prime_buf_free(&pb);
        wn_model_free(mr);
        return wn__err(err, WN_ERR_NOMEM, "out of memory priming generation");
    }
    size_t len = (size_t)rf + n;
    for (int i = 0; i < N; i++) {
        size_t p = len - 1 - (size_t)N + (size_t)i; /* index into s */
        pb.in[i] = p < (size_t)rf ? sil : codes[p - (size_t)rf];
    }
    for (int j = 0; j < L; j++) pb.rings[j] = pb.one + g->queues.ring_off[j] / (size_t)B;
    /* one pass for every stream, or one per stream of a conditional model */
    int rc = WN_OK;
    for (int b = 0; rc == WN_OK && b < (gc->cs ? B : 1); b++)
        rc = prime_float(g, mr ? mr : m, &pb, n, b, gc->cs ? b + 1 : B);
    wn_model_free(mr);
    if (rc != WN_OK) {
        prime_buf_free(&pb);
        return wn__err(err, rc, "out of memory priming generation");
    }
    int last = n ? codes[n - 1] : sil;
    for (int b = 0; b < B; b++) {
        g->sampling.ss[b].prev = pb.in[N - 1];
        g->sampling.ss[b].pending = last;
    }
    g->queues.t = N;
    for (int p = 0; p < g->sched.threads; p++) g->sched.pt[p].t0 = N; /* the queues are new */
    prime_buf_free(&pb);
    gc->ready = 1;
    return WN_OK;
}
