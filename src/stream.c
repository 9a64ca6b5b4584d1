/* stream.c - a generator's life: create, precision, free. The generator
 * (struct wn_gen, stream.h) keeps every stream's queues of cached layer
 * inputs (Fast WaveNet, Paine et al. 2016), so one sample costs one column
 * per layer; the step is in stream_step.c, the threads in stream_run.c,
 * the packed weights in stream_pack.c, the priming in stream_prime.c. */
#include "stream.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void wn_gen_free(wn_gen *g)
{
    if (!g) return;
    for (int a = 0; a < 4; a++) {
        wn__free(g->weights.wp[a]);
        wn__free(g->weights.ws[a]);
    }
    wn__free(g->weights.c_h);
    wn__free(g->weights.b_dil);
    wn__free(g->weights.fold);
    wn__free(g->weights.b_skip);
    wn__free(g->queues.ring);
    wn__free(g->queues.past);
    wn__free(g->queues.qring);
    wn__free(g->queues.qring_s);
    wn__gen_free_parts(g->sched.pt, g->sched.threads);
    free(g->queues.ring_off);
    wn__free(g->sampling.ss);
    free(g->sched.pos);
    free(g->sched.busy);
    wn__gen_cond_free(g);
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
    const int L = c->layers, R = c->residual, S = c->skip;
    wn_gen *g = calloc(1, sizeof *g);
    if (!g) goto nomem;
    gen_weights *gw = &g->weights;
    gen_queues *qu = &g->queues;
    g->m = m;
    g->k = wn__kernels();
    g->B = streams;
    g->sampling.sp = *p;
    g->W = R + S;
    g->sched.chunk = GEN_CHUNK;
    gw->c_h = wn__alloc((size_t)L * R, sizeof(float));
    gw->b_skip = wn__alloc((size_t)S, sizeof(float));
    qu->ring_off = malloc(sizeof(size_t) * 2 * (size_t)L); /* and qoff */
    g->sampling.ss = wn__calloc((size_t)streams, sizeof(stream_state));
    g->sched.pos = calloc((size_t)streams, sizeof(size_t));
    g->sched.busy = calloc((size_t)streams, 1);
    if (!gw->c_h || !gw->b_skip || !qu->ring_off || !g->sampling.ss || !g->sched.pos ||
        !g->sched.busy)
        goto nomem;
    double *sum = malloc(sizeof(double) * (size_t)(R + S)); /* c_j, then the skip biases */
    if (!sum) goto nomem;
    for (int i = 0; i < R; i++) sum[i] = m->pk.causal_b[i];
    for (int i = 0; i < S; i++) sum[R + i] = 0;
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &m->pk.layer[j];
        for (int i = 0; i < R; i++) {
            gw->c_h[(size_t)j * R + i] = (float)sum[i];
            sum[i] += lw->b_res[i];
        }
        for (int i = 0; i < S; i++) sum[R + i] += lw->b_skip[i];
    }
    for (int i = 0; i < S; i++) gw->b_skip[i] = (float)sum[R + i];
    free(sum);
    if (wn__gen_cond_init(g) != WN_OK || wn__gen_pack(g, WN_PRECISION_F32) != WN_OK)
        goto nomem;
    size_t off = 0;
    qu->qoff = qu->ring_off + L;
    for (int j = 0; j < L; j++) {
        qu->ring_off[j] = off * (size_t)streams;
        qu->qoff[j] = off / (size_t)R;
        off += (size_t)m->dil[j] * R;
    }
    qu->ring_floats = off;
    qu->past_floats = (size_t)streams * off / (size_t)R * 2 * (size_t)c->dilation;
    if (!(qu->ring = wn__calloc((size_t)streams * off, sizeof(float))) ||
        wn__gen_set_parts(g, 1) != WN_OK)
        goto nomem;
    /* one RNG per stream, each from the seed and its index */
    for (int b = 0; b < streams; b++) {
        uint64_t s = p->seed ^ (0xd1b54a32d192ed03ULL * (uint64_t)(b + 1));
        g->sampling.ss[b].rng = wn__splitmix64(&s);
    }
    /* a conditional model's streams are primed once they have their
     * conditioning (wn_gen_set_cond) */
    wn_error e2;
    if (!g->cond.cs && wn_gen_prime(g, NULL, 0, &e2) != WN_OK) {
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
    if (p == g->weights.prec) return WN_OK;
    gen_queues *qu = &g->queues;
    /* int8 keeps quantised queues, the others float ones: the new kind
     * is allocated first, the old freed once the weights are packed */
    uint8_t *qr = NULL;
    float *qs = NULL, *ring = NULL;
    size_t gb = 0, gs = 0;
    if (p == WN_PRECISION_I8
            ? wn__gen_q8_alloc(g, g->sched.cap, &qr, &qs, &gb, &gs) != WN_OK
            : !qu->ring && !(ring = wn__calloc((size_t)g->B * qu->ring_floats, sizeof(float))))
        return wn__err(err, WN_ERR_NOMEM, "out of memory for the generation queues");
    int rc = wn__gen_pack(g, p);
    if (rc != WN_OK) {
        wn__free(qr);
        wn__free(qs);
        wn__free(ring);
    } else if (p == WN_PRECISION_I8) {
        wn__free(qu->ring);
        qu->ring = NULL;
        qu->qring = qr;
        qu->qring_s = qs;
        qu->qgb = gb;
        qu->qgs = gs;
    } else {
        if (ring) qu->ring = ring;
        wn__free(qu->qring);
        wn__free(qu->qring_s);
        qu->qring = NULL;
        qu->qring_s = NULL;
    }
    if (rc == WN_ERR_RANGE)
        return wn__err(err, rc, "a weight is beyond half precision (|w| >= 65520)");
    if (rc != WN_OK)
        return wn__err(err, WN_ERR_NOMEM, "out of memory repacking the generation weights");
    wn__gen_cond_biases(g); /* folded with the new weights */
    /* the queues hold numbers of the other precision: start again (a
     * conditional model's streams once they all have their conditioning) */
    if (g->cond.cs && !wn__gen_cond_all_set(g)) {
        g->cond.ready = 0;
        return WN_OK;
    }
    return wn_gen_prime(g, NULL, 0, err);
}

wn_precision wn_gen_precision(const wn_gen *g) { return g->weights.prec; }

/* for wavenet-bench ab: run g on the kernel table of that name (the
 * packed weights are the same for every table, kernels.h) */
int wn__gen_set_kernels(wn_gen *g, const char *name)
{
    const wn__kern *k = wn__kernels_named(name);
    if (!k) return WN_ERR_ARG;
    g->k = k;
    return WN_OK;
}
