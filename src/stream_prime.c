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
 * other streams. */
static int prime_steps(wn_gen *g, const int *codes, size_t n, wn_error *err)
{
    const wn_model *m = g->m;
    const int Q = m->cfg.bins, rf = m->rf, L = m->cfg.layers, R = m->cfg.residual, B = g->B;
    const int N = rf - 1, sil = wn_mulaw_silence(Q);
    const size_t len = (size_t)rf + n;
    part one;
    memset(&one, 0, sizeof one);
    if (wn__gen_part_alloc(g, &one, 0, 1, 1, 1) != WN_OK) {
        wn__gen_part_free(&one);
        return wn__err(err, WN_ERR_NOMEM, "out of memory priming generation");
    }
    /* both taps every step (never lone), which needs no
     * queue of tap-0 products (for many streams that queue would be
     * large) and gives the same bits */
    const size_t R4 = (size_t)wn__round4(R), ng = (size_t)((B + g->sched.cap - 1) / g->sched.cap);
    memset(g->queues.qring, WN_Q8_OFFSET, ng * g->queues.qgb);
    memset(g->queues.qring_s, 0, ng * g->queues.qgs * sizeof(float));
    /* s[p] for the inputs fed: p = len - 1 - N + i; the one before them */
#define S_AT(p) ((p) < (size_t)rf ? sil : codes[(p) - (size_t)rf])
    g->sampling.ss[0].prev = n ? S_AT(len - 2 - (size_t)N) : sil;
    for (int i = 0; i < N; i++) {
        const int x = S_AT(len - 1 - (size_t)N + (size_t)i);
        wn__gen_step_rows(g, &one, &x, 0, i); /* t = 0, 1, ...: any start gives the same */
    }
#undef S_AT
    wn__gen_part_free(&one);
    for (int j = 0; j < L; j++)
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
    if (g->weights.prec == WN_PRECISION_I8) return prime_steps(g, codes, n, err);
    /* at half precision the queues must hold what the rounded model
     * computes, as every later step will */
    wn_model *mr = NULL;
    wn_error e2;
    if (g->weights.prec != WN_PRECISION_F32 && !(mr = wn__model_rounded(m, g->weights.prec, &e2))) {
        if (err) *err = e2;
        return e2.code;
    }
    int *in = malloc(sizeof(int) * (size_t)N);
    float **rings = malloc(sizeof(float *) * (size_t)L);
    float *one = malloc(sizeof(float) * g->queues.ring_floats); /* one stream's queues */
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
    for (int j = 0; j < L; j++) rings[j] = one + g->queues.ring_off[j] / (size_t)g->B;
    int rc = n ? (wn__forward(mr ? mr : m, ws, in, N, 1, rings, NULL), WN_OK)
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
        const float *cj = g->weights.c_h + (size_t)j * R;
        for (int k = 0; k < m->dil[j]; k++)
            for (int i = 0; i < R; i++) rings[j][(size_t)k * R + i] -= cj[i];
        for (int k = 0; k < m->dil[j]; k++)
            for (int b = 0; b < g->B; b++)
                memcpy(g->queues.ring + g->queues.ring_off[j] + ((size_t)k * g->B + b) * R,
                       rings[j] + (size_t)k * R, sizeof(float) * (size_t)R);
    }
    int last = n ? codes[n - 1] : sil;
    for (int b = 0; b < g->B; b++) {
        g->sampling.ss[b].prev = in[N - 1];
        g->sampling.ss[b].pending = last;
    }
    g->queues.t = N;
    for (int p = 0; p < g->sched.threads; p++) g->sched.pt[p].t0 = N; /* the queues are new */
    free(in);
    free(rings);
    free(one);
    wn__ws_free(ws);
    return WN_OK;
}
