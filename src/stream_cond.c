/* stream_cond.c - a conditional model's generator (gen_cond, stream.h):
 * each stream's features, speaker and sample clock, the chunks of
 * upsampled rows the steps' cond products read, and the checks that keep
 * a stream inside its features. The products themselves are the step's
 * (stream_step.c), as is the use of the stream's folded bias. */
#include "stream.h"

#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int wn__gen_cond_init(wn_gen *g)
{
    const wn_model *m = g->m;
    const wn_config *c = &m->cfg;
    gen_cond *gc = &g->cond;
    if (!(g->at = calloc((size_t)g->B, sizeof *g->at))) return WN_ERR_NOMEM;
    gc->mel = c->cond > 0;
    gc->spk = c->speakers > 0;
    if (!gc->mel && !gc->spk) return WN_OK;
    const int L = c->layers, O = 2 * c->dilation, C = wn__cond_width(c);
    gc->LO = L * O;
    gc->C = C;
    gc->chunk = GEN_COND_CHUNK;
    for (int j = 0; j < L; j++)
        while (gc->chunk < m->dil[j]) gc->chunk *= 2;
    if (!(gc->cs = calloc((size_t)g->B, sizeof *gc->cs))) return WN_ERR_NOMEM;
    for (int b = 0; b < g->B; b++) {
        gc->cs[b].speaker = -1;
        gc->cs[b].chunk[0] = gc->cs[b].chunk[1] = INT64_MIN;
        if (gc->spk && !(gc->cs[b].bias = wn__alloc((size_t)gc->LO, sizeof(float))))
            return WN_ERR_NOMEM;
    }
    if (gc->mel) {
        if (!(gc->wt = wn__alloc((size_t)gc->LO * C, sizeof(float))) ||
            !(gc->zero = wn__calloc((size_t)gc->chunk * C, sizeof(float))))
            return WN_ERR_NOMEM;
        for (int j = 0; j < L; j++)
            wn__panel_pack(gc->wt + (size_t)j * O * C, m->pk.layer[j].w_cond, C, O);
    }
    return WN_OK;
}

static void drop_features(gen_cstream *cs)
{
    if (cs->own) free((void *)cs->feats);
    cs->feats = NULL;
    cs->own = 0;
}

void wn__gen_cond_free(wn_gen *g)
{
    gen_cond *gc = &g->cond;
    for (int b = 0; gc->cs && b < g->B; b++) {
        drop_features(&gc->cs[b]);
        wn__free(gc->cs[b].u);
        wn__free(gc->cs[b].bias);
    }
    free(gc->cs);
    wn__free(gc->wt);
    wn__free(gc->zero);
    free(g->at);
}

/* Stream b's bias: its speaker's (cond.h: b_dil + W_spk e), folded with
 * the weights held as gen_weights.b_dil is with b_dil */
static void stream_bias(wn_gen *g, int b)
{
    gen_cstream *cs = &g->cond.cs[b];
    const int LO = g->cond.LO;
    wn__cond_layer_bias(g->m, cs->speaker, cs->bias);
    for (int i = 0; i < LO; i++) cs->bias[i] = (float)((double)cs->bias[i] + g->weights.fold[i]);
}

void wn__gen_cond_biases(wn_gen *g)
{
    for (int b = 0; g->cond.spk && b < g->B; b++) stream_bias(g, b);
}

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int wn__gen_cond_all_set(const wn_gen *g)
{
    for (int b = 0; b < g->B; b++)
        if (!g->cond.cs[b].set) return 0;
    return 1;
}

/* The slot of u holding chunk k of stream cs, made first if neither does
 * (in the slot not holding chunk `keep`) */
static const float *chunk_rows(const wn_gen *g, const part *q, gen_cstream *cs, int64_t k,
                               int64_t keep)
{
    const gen_cond *gc = &g->cond;
    const size_t rows = (size_t)gc->chunk * gc->C;
    if (cs->chunk[0] == k) return cs->u;
    if (cs->chunk[1] == k) return cs->u + rows;
    const int slot = cs->chunk[0] == keep ? 1 : cs->chunk[1] == keep ? 0
                     : cs->chunk[0] < cs->chunk[1] ? 0 : 1;
    /* on this thread alone: the upsampler's products would otherwise start
     * a team of threads (a stream's steps are one thread's) for a few small
     * products, which cost several times their work */
#ifdef _OPENMP
    const int nt = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    const int64_t n0 = k * gc->chunk;
    wn__cond_forward(g->m, q->cw, cs->feats, (long)cs->frames, (long)n0,
                     (long)(n0 + gc->chunk), cs->u + slot * rows);
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    cs->chunk[slot] = k;
    return cs->u + slot * rows;
}

const float *wn__gen_cond_rows(const wn_gen *g, const part *q, int b, int64_t s, int n,
                               int *got)
{
    const gen_cond *gc = &g->cond;
    if (s < 0) {
        *got = -s < n ? (int)-s : n;
        return gc->zero;
    }
    gen_cstream *cs = &gc->cs[b];
    const int64_t k = floor_div(s, gc->chunk), off = s - k * gc->chunk;
    *got = gc->chunk - off < n ? (int)(gc->chunk - off) : n;
    /* the caller's next rows are in chunk k + 1: keep it if it is there */
    return chunk_rows(g, q, cs, k, k + 1) + (size_t)off * gc->C;
}

void wn__gen_cond_gather(const wn_gen *g, const part *q, int64_t t)
{
    const int C = g->cond.C;
    for (int b = q->b0; b < q->b1; b++) {
        int got;
        const float *u = wn__gen_cond_rows(g, q, b, t + g->at[b], 1, &got);
        memcpy(q->ug + (size_t)(b - q->b0) * C, u, sizeof(float) * (size_t)C);
    }
}

int wn__gen_cond_ok(wn_gen *g, size_t n)
{
    const gen_cond *gc = &g->cond;
    if (!gc->cs) return WN_OK;
    if (!gc->ready)
        return wn__err(&g->last, WN_ERR_ARG, "a conditional model's generator needs "
                       "wn_gen_set_cond for every stream, then wn_gen_prime, before it steps");
    for (int b = 0; gc->mel && b < g->B && n; b++) {
        const gen_cstream *cs = &gc->cs[b];
        const int64_t last = g->queues.t + g->at[b] + (int64_t)n - 1;
        if (!cs->stopped && last >= cs->limit)
            return wn__err(&g->last, WN_ERR_ARG, "stream %d: sample %lld is past the end of "
                           "its features (%zu frames condition samples 0..%lld); stop the "
                           "stream (wn_gen_stop_stream) or give it more frames", b,
                           (long long)last, cs->frames, (long long)cs->limit - 1);
    }
    return WN_OK;
}

static int stream_arg(const wn_gen *g, int stream, int *b0, int *b1, wn_error *err)
{
    if (stream < -1 || stream >= g->B)
        return wn__err(err, WN_ERR_ARG, "stream %d: the generator has streams 0..%d (or -1: all)",
                       stream, g->B - 1);
    *b0 = stream < 0 ? 0 : stream;
    *b1 = stream < 0 ? g->B : stream + 1;
    return WN_OK;
}

static int set_cond(wn_gen *g, int stream, const wn_cond *c, int copy, wn_error *err)
{
    gen_cond *gc = &g->cond;
    const wn_config *cf = &g->m->cfg;
    int b0 = 0, b1 = 0, rc;
    if ((rc = stream_arg(g, stream, &b0, &b1, err)) != WN_OK) return rc;
    if (!gc->cs)
        return wn__err(err, WN_ERR_ARG, "the model is unconditional: it takes no features or "
                       "speaker");
    if (!c)
        return wn__err(err, WN_ERR_ARG, "no conditioning given (the model needs %s)",
                       gc->mel ? "log-mel features" : "a speaker");
    if ((rc = wn_cond_check(g->m, c, 0, err)) != WN_OK) return rc;
    const size_t bytes = gc->mel ? sizeof(float) * c->frames * (size_t)cf->cond : 0;
    if (gc->mel && c->frames > (size_t)INT64_MAX / 2 / (size_t)cf->hop)
        return wn__err(err, WN_ERR_RANGE, "%zu feature frames are too many", c->frames);
    for (int b = b0; b < b1; b++) {
        gen_cstream *cs = &gc->cs[b];
        float *f = NULL;
        if (gc->mel && copy && !(f = malloc(bytes)))
            return wn__err(err, WN_ERR_NOMEM, "out of memory for %zu feature frames", c->frames);
        if (gc->mel && !cs->u &&
            !(cs->u = wn__alloc((size_t)2 * gc->chunk * gc->C, sizeof(float)))) {
            free(f);
            return wn__err(err, WN_ERR_NOMEM, "out of memory for the conditioning of %d "
                           "streams", g->B);
        }
        drop_features(cs);
        if (gc->mel) {
            if (f) memcpy(f, c->features, bytes);
            cs->feats = f ? f : c->features;
            cs->own = f != NULL;
            cs->frames = c->frames;
            /* the samples wn_cond_check accepts for F frames: n + hop/2 < F hop */
            cs->limit = (int64_t)c->frames * cf->hop - cf->hop / 2 - 1;
        } else {
            cs->limit = INT64_MAX;
        }
        cs->speaker = gc->spk ? c->speaker : -1;
        cs->chunk[0] = cs->chunk[1] = INT64_MIN;
        cs->set = 1;
        cs->stopped = 0;
        if (gc->spk) stream_bias(g, b);
    }
    gc->ready = 0; /* the queues hold numbers of the old conditioning */
    return WN_OK;
}

int wn_gen_set_cond(wn_gen *g, int stream, const wn_cond *c, wn_error *err)
{
    return set_cond(g, stream, c, 1, err);
}

int wn_gen_use_cond(wn_gen *g, int stream, const wn_cond *c, wn_error *err)
{
    return set_cond(g, stream, c, 0, err);
}

int64_t wn_gen_clock(const wn_gen *g, int stream)
{
    if (stream < 0 || stream >= g->B) return -1;
    return g->queues.t + g->at[stream];
}

int wn_gen_set_clock(wn_gen *g, int stream, int64_t sample, wn_error *err)
{
    int b0 = 0, b1 = 0, rc;
    if ((rc = stream_arg(g, stream, &b0, &b1, err)) != WN_OK) return rc;
    if (sample < 0 || sample > INT64_MAX / 4)
        return wn__err(err, WN_ERR_ARG, "sample %lld is not a sample of an utterance",
                       (long long)sample);
    for (int b = b0; b < b1; b++) g->at[b] = sample - g->queues.t;
    /* a lone stream's cond products for the coming steps were made on the
     * old clock: every part makes its tap-0 rows (and those) afresh */
    for (int p = 0; p < g->sched.threads; p++) g->sched.pt[p].t0 = g->queues.t;
    return WN_OK;
}

int wn_gen_stop_stream(wn_gen *g, int stream, wn_error *err)
{
    int b0 = 0, b1 = 0, rc;
    if ((rc = stream_arg(g, stream, &b0, &b1, err)) != WN_OK) return rc;
    for (int b = b0; g->cond.cs && b < b1; b++) g->cond.cs[b].stopped = 1;
    return WN_OK;
}

const char *wn_gen_last_error(const wn_gen *g) { return g->last.message; }
