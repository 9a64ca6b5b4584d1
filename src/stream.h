/* stream.h - the generator's insides, shared by the stream*.c files and
 * nothing else: struct wn_gen with its fields grouped by what they serve,
 * and the few functions one of those files calls in another.
 *
 *   stream.c        create, free, precision: the generator's life
 *   stream_pack.c   the weights of each precision, the int8 queues' layout
 *   stream_prime.c  filling the queues from silence and a prime
 *   stream_step.c   the per-sample step (one column per layer)
 *   stream_run.c    the streams over threads: parts, balanced runs
 *   stream_cond.c   a conditional model's features, speakers and clocks */
#ifndef WN_STREAM_H
#define WN_STREAM_H

#include "cond.h"
#include "kernels.h"
#include "model.h"
#include "sample.h"

/* What each stream changes at every sample, one cache line per stream:
 * streams on different threads then never write to the same line. */
typedef struct stream_state {
    _Alignas(64) uint64_t rng;
    int prev;    /* the input before the latest */
    int pending; /* the next input (the last sample) */
} stream_state;
#define IN_STRIDE (sizeof(stream_state) / sizeof(int))

/* The scratch of one step for the streams [b0, b1) that one thread runs,
 * in an allocation of its own (threads sharing one block share cache
 * lines): row i of st is [h[t] (R) | skip (S)] of stream
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
    /* a model with features: the step's upsampled row of each stream
     * (nb rows of C, a part of several streams), and the upsampler's
     * workspace for a chunk of rows (gen_cond) */
    float *ug;
    wn__cond_ws *cw;
} part;

enum { P_DIL, P_RS, P_H0, P_H1 }; /* gen_weights.wp */

/* The model's weights as the per-sample kernels read them. */
typedef struct gen_weights {
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
    float *c_h;    /* per layer R: c_j */
    float *b_dil;  /* per layer 2D: folded, for the weights held (pack) */
    double *fold;  /* per layer 2D: (W0 + W1) c_j alone, what a speaker's
                      bias is folded with (gen_cstream.bias) */
    float *b_skip; /* S: the sum of every layer's skip bias */
} gen_weights;

/* Every stream's queues (the Fast WaveNet ring buffers) and where they
 * stand. */
typedef struct gen_queues {
    /* Layer j's queue is the block at ring_off[j]: d slots, each the B
     * streams' R inputs side by side, so the step's reads of one layer
     * are one contiguous run (in separate blocks, each slot would be a
     * cold line on a page of its own). */
    size_t *ring_off;
    size_t *qoff; /* layer j's first slot in the int8 queues: its sum of d before */
    size_t ring_floats; /* per stream */
    float *ring;        /* B * ring_floats; NULL at WN_PRECISION_I8 (qring below) */
    /* Tap 0 of layer j only sees inputs d steps old, all in the queue: a
     * part with one stream makes its products for the next d steps at once
     * every d steps (from the part's t0), a d-row product that reads those
     * weights once instead of d times (less weight read per sample for
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
     * each. The streams come in groups of cap (gen_sched: a thread's run
     * of streams never leaves its group), each group a block of its own
     * (qgb bytes, qgs scales, whole cache lines) laid out as ring with cap
     * streams a slot: qrow and qscale. With every stream in one block, 8
     * streams on 2 threads wrote the two threads' scales into shared
     * cache lines at every layer of every step. */
    uint8_t *qring;
    float *qring_s;
    size_t qgb, qgs;
    int64_t t; /* position of the next input (same for all streams) */
} gen_queues;

/* What the streams draw their samples with. */
typedef struct gen_sampling {
    wn_sample_params sp;
    stream_state *ss; /* per stream */
    int nonfinite;    /* a step's logits were not finite (the model
                         overflows): the run fails with WN_ERR_NONFINITE */
} gen_sampling;

/* One stream's conditioning (stream_cond.c). */
typedef struct gen_cstream {
    const float *feats; /* (frames, C) raw log-mels; owned when own */
    size_t frames;
    int own;
    int speaker;        /* -1: none */
    int set;            /* wn_gen_set_cond was called */
    int stopped;        /* wn_gen_stop_stream: its features no longer end its steps */
    int64_t limit;      /* the features condition samples [0, limit) */
    int64_t chunk[2];   /* the chunks u's two slots hold (INT64_MIN: none) */
    float *u;           /* (2, chunk, C): the upsampled rows of two chunks
                           of samples (the upsampler computes whole frames
                           and a halo: longer chunks waste less of it) */
    float *bias;        /* (L, 2D) with speakers: b_dil + W_spk e folded as
                           gen_weights.b_dil is */
} gen_cstream;

/* A conditional model's share of the generator. Features: a layer's cond
 * product W_cond u[t] is part of its dilated product, after tap 0 and
 * before tap 1, in float32 at every precision: a lone stream's for the d
 * steps tap 0's products are made for, into the same rows of past (a
 * d-row product instead of d one-row ones), a part of several streams'
 * at each step from the step's rows (ug). Either way each output is the
 * same chain of multiply-adds, so the split never changes a bit. The
 * upsampled rows are made a chunk at a time, chunks aligned to multiples
 * of `chunk` samples of the utterance, so a sample's numbers never depend
 * on where a stream started; a step reads at most the rows of its sample's
 * chunk and the next (chunk >= the largest dilation). Speakers: each
 * stream's own folded bias in place of b_dil. */
typedef struct gen_cond {
    int mel, spk;  /* the model has features / speakers */
    int ready;     /* every stream has its conditioning and was primed with
                      it since (else no step runs) */
    int C, chunk, LO; /* the upsampled width; samples a chunk; L 2D */
    float *wt;     /* per layer its w_cond (2D, C) in panels (kernels.h) */
    float *zero;   /* chunk rows of C zeros: the rows of samples before 0 */
    gen_cstream *cs; /* per stream */
} gen_cond;
#define GEN_COND_CHUNK 1024

/* Steps a thread takes at a time in a balanced run: ~1.5 ms of work for
 * a part of 4 small streams, so a thread that runs out of streams waits
 * at most about that long for the others to hand some over. */
#define GEN_CHUNK 64

/* How the streams are split among threads. */
typedef struct gen_sched {
    int threads;
    part *pt; /* `threads` parts, the streams split in fixed blocks */
    /* Balanced runs (threads > 1 and more streams than threads): the
     * threads take runs of streams a chunk of steps at a time (wn_gen_run),
     * each part's scratch sized for cap streams; no part is lone then.
     * cap is also the group size of the int8 queues (qrow). */
    int balanced, cap;
    int chunk;           /* steps a thread takes at a time (GEN_CHUNK) */
    size_t *pos;         /* per stream: steps done in the current run */
    unsigned char *busy; /* per stream: a thread holds it */
    long takes, partial; /* runs of streams taken, those of fewer than cap */
} gen_sched;

struct wn_gen {
    const wn_model *m;
    const wn__kern *k;
    int B; /* streams */
    int W; /* R + S, the row width of st */
    gen_weights weights;
    gen_queues queues;
    gen_sampling sampling;
    gen_sched sched;
    gen_cond cond;
    /* each stream's sample clock: the step at queue time t makes (or
     * predicts) sample t + at[b] of its utterance */
    int64_t *at;
    wn_error last; /* why the last step, run or feed was refused */
};

/* A stream's folded dilated bias (L, 2D): its speaker's, or the model's */
static inline const float *gen_bias(const wn_gen *g, int b)
{
    return g->cond.spk ? g->cond.cs[b].bias : g->weights.b_dil;
}

/* The row (and its scale) of the stream at index i of group gr in slot k
 * of layer j's int8 queue; the rows of a group's streams in one slot are
 * side by side. qrow and qscale take the stream's number. */
static inline uint8_t *qrow_at(const wn_gen *g, size_t gr, size_t i, int j, size_t k)
{
    const gen_queues *qu = &g->queues;
    const size_t R4 = (size_t)wn__round4(g->m->cfg.residual);
    return qu->qring + gr * qu->qgb + ((qu->qoff[j] + k) * (size_t)g->sched.cap + i) * R4;
}
static inline float *qscale_at(const wn_gen *g, size_t gr, size_t i, int j, size_t k)
{
    const gen_queues *qu = &g->queues;
    return qu->qring_s + gr * qu->qgs + (qu->qoff[j] + k) * (size_t)g->sched.cap + i;
}
static inline uint8_t *qrow(const wn_gen *g, int b, int j, size_t k)
{
    return qrow_at(g, (size_t)(b / g->sched.cap), (size_t)(b % g->sched.cap), j, k);
}
static inline float *qscale(const wn_gen *g, int b, int j, size_t k)
{
    return qscale_at(g, (size_t)(b / g->sched.cap), (size_t)(b % g->sched.cap), j, k);
}

/* stream_pack.c */
/* Pack the model's weights for the per-sample kernels at precision p,
 * freeing those of the other precision; on failure nothing changes.
 * WN_OK, WN_ERR_NOMEM or WN_ERR_RANGE (a weight beyond half range). */
int wn__gen_pack(wn_gen *g, wn_precision p);
/* Zeroed int8 queues for groups of G streams: *gb bytes and *gs scales a
 * group, in whole cache lines. */
int wn__gen_q8_alloc(const wn_gen *g, int G, uint8_t **qr, float **qs, size_t *gb, size_t *gs);
/* The int8 queues regrouped in groups of cap streams, their contents
 * kept; on failure nothing changes. */
int wn__gen_q8_regroup(wn_gen *g, int cap);

/* stream_step.c */
/* One step at time t of the streams of part q, with inputs in[b * stride]:
 * logits (Q per stream) for the next sample, in q->logits. */
void wn__gen_step_rows(wn_gen *g, const part *q, const int *in, size_t stride, int64_t t);
/* Steps [i0, i1) of a run for the streams of part q (from g->queues.t + i0),
 * sampling each stream's next input into codes and logp (either NULL). */
void wn__gen_run_steps(wn_gen *g, const part *q, size_t i0, size_t i1, int *codes, double *logp);

/* stream_cond.c */
/* Conditioning set up for a new generator (nothing for an unconditional
 * model), and freed. */
int wn__gen_cond_init(wn_gen *g);
void wn__gen_cond_free(wn_gen *g);
/* Every stream's folded bias again, after the weights were repacked. */
void wn__gen_cond_biases(wn_gen *g);
/* Stream b's upsampled rows from sample s on: a pointer to got rows, 1 <=
 * got <= n <= chunk (fewer where its chunk ends), made first if needed on
 * this thread (q's workspace); zeros before sample 0. */
const float *wn__gen_cond_rows(const wn_gen *g, const part *q, int b, int64_t s, int n,
                               int *got);
/* The upsampled row of each stream of part q at step t, into q->ug. */
void wn__gen_cond_gather(const wn_gen *g, const part *q, int64_t t);
/* WN_OK if every stream may take n more steps (conditioning set and
 * primed, no stream past its features' end), else WN_ERR_ARG with the
 * reason in g->last. */
int wn__gen_cond_ok(wn_gen *g, size_t n);
/* 1 if every stream of a conditional model has its conditioning. */
int wn__gen_cond_all_set(const wn_gen *g);

/* stream_run.c */
/* The scratch of a part of streams [b0, b1), room for cap >= b1 - b0 of
 * them; a part of one stream is lone unless never_lone (balanced runs,
 * priming). WN_OK or WN_ERR_NOMEM (free it all the same) */
int wn__gen_part_alloc(const wn_gen *g, part *q, int b0, int b1, int cap, int never_lone);
void wn__gen_part_free(part *q);
void wn__gen_free_parts(part *pt, int n);
/* Split the streams into n parts with their scratch; on failure nothing
 * changes. */
int wn__gen_set_parts(wn_gen *g, int n);

#endif
