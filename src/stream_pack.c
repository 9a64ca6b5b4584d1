/* stream_pack.c - the generator's weights and int8 queues, laid out for
 * the per-sample kernels (kernels.h): the four products' weights packed at
 * the precision held (float panels, half floats, or int8 with a scale per
 * output) with the biases folded into them, and the int8 queues' blocks
 * of a group of streams each. Run when a generator is made or changes
 * precision or threads, never per sample. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>

int wn__gen_q8_alloc(const wn_gen *g, int G, uint8_t **qr, float **qs, size_t *gb, size_t *gs)
{
    const size_t sumd = g->queues.ring_floats / (size_t)g->m->cfg.residual;
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

int wn__gen_pack(wn_gen *g, wn_precision p)
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
    double *fold = wn__alloc((size_t)L * 2 * D, sizeof(double));
    /* a (rows, cols) staging matrix for the fused weights */
    float *tmp = malloc(sizeof(float) * (size_t)D * (R + S));
    int ok = bd && fold && tmp;
    for (int a = 0; a < 4; a++) ok = ok && w[a] && (!i8 || sc[a]);
    if (!ok) {
        for (int a = 0; a < 4; a++) {
            wn__free(w[a]);
            wn__free(sc[a]);
        }
        wn__free(bd);
        wn__free(fold);
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
        const float *cj = g->weights.c_h + (size_t)j * R;
        for (int o = 0; o < 2 * D; o++) {
            double sum = lw->b_dil[o], f = 0;
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
                    f += (double)wv * cj[i];
                }
            bd[(size_t)j * 2 * D + o] = (float)sum;
            fold[(size_t)j * 2 * D + o] = f;
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
                    wn__free(fold);
                    return WN_ERR_RANGE;
                }
    }
    gen_weights *gw = &g->weights;
    for (int a = 0; a < 4; a++) {
        wn__free(gw->wp[a]);
        wn__free(gw->ws[a]);
        gw->wp[a] = w[a];
        gw->ws[a] = sc[a];
    }
    wn__free(gw->b_dil);
    gw->b_dil = bd;
    wn__free(gw->fold);
    gw->fold = fold;
    gw->prec = p;
    return WN_OK;
}

int wn__gen_q8_regroup(wn_gen *g, int cap)
{
    uint8_t *qr;
    float *qs;
    size_t gb, gs;
    if (wn__gen_q8_alloc(g, cap, &qr, &qs, &gb, &gs) != WN_OK) return WN_ERR_NOMEM;
    wn_gen old = *g; /* the old layout, for qrow and qscale */
    g->queues.qring = qr;
    g->queues.qring_s = qs;
    g->sched.cap = cap;
    g->queues.qgb = gb;
    g->queues.qgs = gs;
    const size_t R4 = (size_t)wn__round4(g->m->cfg.residual);
    for (int j = 0; j < g->m->cfg.layers; j++)
        for (size_t k = 0; k < (size_t)g->m->dil[j]; k++)
            for (int b = 0; b < g->B; b++) {
                memcpy(qrow(g, b, j, k), qrow(&old, b, j, k), R4);
                *qscale(g, b, j, k) = *qscale(&old, b, j, k);
            }
    wn__free(old.queues.qring);
    wn__free(old.queues.qring_s);
    return WN_OK;
}

