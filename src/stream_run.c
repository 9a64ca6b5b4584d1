/* stream_run.c - the streams over threads. A generator's streams are cut
 * into parts, each with the scratch of one step (struct part); with one
 * thread, or a thread per stream, a thread runs its part for a whole run,
 * otherwise threads take runs of streams a chunk of steps at a time
 * (take), so a thread that gets less of the CPU does less of the work.
 * Also wn_gen_feed and wn_gen_step, which go through the same parts. */
#include "stream.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void wn__gen_part_free(part *q)
{
    wn__free(q->st);
    wn__free(q->cand);
    wn__free(q->xq);
    wn__free(q->ug);
    wn__cond_ws_free(q->cw);
}

void wn__gen_free_parts(part *pt, int n)
{
    for (int i = 0; pt && i < n; i++) wn__gen_part_free(&pt[i]);
    free(pt);
}

int wn__gen_part_alloc(const wn_gen *g, part *q, int b0, int b1, int cap, int never_lone)
{
    const wn_config *c = &g->m->cfg;
    const size_t D = (size_t)c->dilation, S = (size_t)c->skip, Q = (size_t)c->bins;
    q->t0 = g->queues.t; /* whatever the queue holds, make tap 0's products now */
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
    if (g->cond.mel) { /* the upsampler a chunk at a time (stream_cond.c) */
        q->ug = wn__alloc(nb * (size_t)g->cond.C, sizeof(float));
        q->cw = wn__cond_ws_create(g->m, g->cond.chunk);
        if (!q->ug || !q->cw) return WN_ERR_NOMEM;
    }
    q->a = q->st + nb * g->W;
    q->z = q->a + nb * 2 * D;
    q->r = q->z + nb * D;
    q->u = q->r + nb * S;
    q->logits = q->u + nb * S;
    q->wq = q->logits + nb * Q;
    q->xs = q->wq + nb * Q;
    return WN_OK;
}

int wn__gen_set_parts(wn_gen *g, int n)
{
    part *pt = calloc((size_t)n, sizeof *pt);
    if (!pt) return WN_ERR_NOMEM;
    const int balanced = n > 1 && g->B > n, cap = (g->B + n - 1) / n;
    const int single = !balanced && cap == 1; /* parts of one stream */
    if (single && !g->queues.past) {
        if (!(g->queues.past = wn__calloc(g->queues.past_floats, sizeof(float)))) {
            free(pt);
            return WN_ERR_NOMEM;
        }
    }
    /* part i holds streams [i cap, (i + 1) cap): the queues' group i (with
     * one thread or a thread per stream this is the even split; a
     * balanced run's last parts may be empty, their scratch unused) */
    for (int i = 0; i < n; i++) {
        const int b0 = i * cap < g->B ? i * cap : g->B, b1 = b0 + cap < g->B ? b0 + cap : g->B;
        if (wn__gen_part_alloc(g, &pt[i], b0, b1, cap, balanced) != WN_OK) {
            wn__gen_free_parts(pt, n);
            return WN_ERR_NOMEM;
        }
    }
    if (g->queues.qring && cap != g->sched.cap && wn__gen_q8_regroup(g, cap) != WN_OK) {
        wn__gen_free_parts(pt, n);
        return WN_ERR_NOMEM;
    }
    gen_sched *sc = &g->sched;
    wn__gen_free_parts(sc->pt, sc->threads);
    sc->pt = pt;
    sc->threads = n;
    sc->balanced = balanced;
    sc->cap = cap;
    return WN_OK;
}

void wn_gen_set_threads(wn_gen *g, int threads)
{
    threads = threads < 1 ? 1 : threads > g->B ? g->B : threads;
    /* out of memory: keep the current split, which gives the same output */
    if (threads != g->sched.threads) (void)wn__gen_set_parts(g, threads);
}

int wn_gen_feed(wn_gen *g, const int *inputs, float *logits)
{
    const int Q = g->m->cfg.bins;
    for (int b = 0; b < g->B; b++)
        if (inputs[b] < 0 || inputs[b] >= Q)
            return wn__err(&g->last, WN_ERR_ARG, "feed: input %d of stream %d is outside 0..%d",
                           inputs[b], b, Q - 1);
    if (wn__gen_cond_ok(g, 1) != WN_OK) return WN_ERR_ARG;
    for (int p = 0; p < g->sched.threads; p++) {
        const part *q = &g->sched.pt[p];
        if (q->b0 == q->b1) continue; /* a balanced run's spare scratch */
        wn__gen_step_rows(g, q, inputs, 1, g->queues.t);
        if (logits)
            memcpy(logits + (size_t)q->b0 * Q, q->logits,
                   sizeof(float) * (size_t)(q->b1 - q->b0) * Q);
    }
    g->queues.t++;
    return WN_OK;
}

/* A balanced run's next work, under the run's lock: a run of at most
 * `size` free streams at the lowest position any free stream with steps
 * left is at (those then hold the same t, as one part's streams must),
 * starting at pref if it can, and within its group of cap streams (a
 * block of the int8 queues). size shrinks as streams finish: once fewer
 * than `threads` x cap streams have steps left, every thread gets its
 * share of them. 1 (set *b0, *b1, *p0; marked busy), 0 (none free now:
 * wait) or -1 (the run is done). */
static int take(gen_sched *sc, int B, size_t n, int pref, int *b0, int *b1, size_t *p0)
{
    const int T = sc->threads;
    int left = 0, start = -1;
    size_t lo = n;
    for (int b = 0; b < B; b++) {
        left += sc->pos[b] < n;
        if (!sc->busy[b] && sc->pos[b] < lo) lo = sc->pos[b];
    }
    if (!left) return -1;
    if (lo == n) return 0;
    int size = (left + T - 1) / T;
    if (size > sc->cap) size = sc->cap;
#define FREE_AT(b) (!sc->busy[b] && sc->pos[b] == lo)
    if (pref >= 0 && pref < B && FREE_AT(pref)) start = pref;
    for (int b = 0; start < 0 && b < B; b++)
        if (FREE_AT(b)) start = b;
    int end = start + 1;
    while (end < B && end - start < size && FREE_AT(end) && end % sc->cap) end++;
#undef FREE_AT
    for (int b = start; b < end; b++) sc->busy[b] = 1;
    sc->takes++;
    sc->partial += end - start < sc->cap;
    *b0 = start;
    *b1 = end;
    *p0 = lo;
    return 1;
}

static int run_status(wn_gen *g)
{
    if (!g->sampling.nonfinite) return WN_OK;
    return wn__err(&g->last, WN_ERR_NONFINITE, "the model's logits are not finite (its weights "
                   "overflow float32)");
}

/* Each stream's numbers depend on nothing but its own inputs and RNG, so
 * any split of the streams among threads gives the same bytes. With one
 * thread, or a thread per stream, the split is fixed: each thread runs its
 * streams for all n steps with no synchronisation per sample. Otherwise
 * the run is balanced: threads take runs of streams GEN_CHUNK steps at a time,
 * so a thread that gets less of the CPU (a busy or shared core: on a
 * 2-core VM one thread runs markedly slower than the other) does less of the work instead of holding everyone up at the end of the
 * run; streams may be at different steps within the run. */
int wn_gen_run(wn_gen *g, size_t n, int *codes, double *logp)
{
    gen_sched *sc = &g->sched;
    const int parts = sc->threads;
    if (wn__gen_cond_ok(g, n) != WN_OK) return WN_ERR_ARG;
    if (!sc->balanced) {
#pragma omp parallel for num_threads(parts) schedule(static) if (parts > 1)
        for (int p = 0; p < parts; p++) wn__gen_run_steps(g, &sc->pt[p], 0, n, codes, logp);
        g->queues.t += (int64_t)n;
        return run_status(g);
    }
    memset(sc->pos, 0, sizeof(size_t) * (size_t)g->B);
    memset(sc->busy, 0, (size_t)g->B);
#pragma omp parallel num_threads(parts)
    {
#ifdef _OPENMP
        const int me = omp_get_thread_num();
#else
        const int me = 0;
#endif
        part q = sc->pt[me < parts ? me : 0]; /* this thread's scratch */
        int pref = q.b0;
        for (;;) {
            int b0 = 0, b1 = 0, r;
            size_t p0 = 0;
#pragma omp critical(wn_gen_take)
            r = take(sc, g->B, n, pref, &b0, &b1, &p0);
            if (r < 0) break;
            if (r == 0) { /* every stream with steps left is held: wait */
                sched_yield();
                continue;
            }
            q.b0 = pref = b0;
            q.b1 = b1;
            const size_t p1 = p0 + (n - p0 < (size_t)sc->chunk ? n - p0 : (size_t)sc->chunk);
            wn__gen_run_steps(g, &q, p0, p1, codes, logp);
#pragma omp critical(wn_gen_take)
            for (int b = b0; b < b1; b++) {
                sc->pos[b] = p1;
                sc->busy[b] = 0;
            }
        }
    }
    g->queues.t += (int64_t)n;
    return run_status(g);
}

int wn_gen_step(wn_gen *g, int *codes, double *logp) { return wn_gen_run(g, 1, codes, logp); }

/* for tests: make balanced runs hand streams over more often */
void wn__gen_set_chunk(wn_gen *g, int steps) { g->sched.chunk = steps < 1 ? 1 : steps; }
void wn__gen_balance_stats(const wn_gen *g, long *takes, long *partial)
{
    *takes = g->sched.takes;
    *partial = g->sched.partial;
}
