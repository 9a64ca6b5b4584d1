/* net.h - the whole network over a window of N input codes (teacher
 * forcing), for scoring, priming and training. Outputs exist for the last V
 * positions; a layer computes only the rows that can reach them. */
#ifndef WN_NET_H
#define WN_NET_H

#include "model.h"

/* Rows of a layer are worked through in chunks of this many (net.c). */
#define WN_CHUNK 256

/* A window's conditioning (cond.h), aligned with its rows; NULL fields
 * are absent. */
typedef struct wn__cin {
    const float *u;    /* (N, C): the upsampled features of each row */
    const float *bias; /* (L, 2D): each layer's dilated bias plus its speaker
                        * term (wn__cond_layer_bias) */
} wn__cin;

typedef struct wn__ws {
    int N, V, train;
    float *h;      /* (N, R), or (L, N, R) in training: each layer's input */
    float *a;      /* (L, N, 2D) in training, one chunk of rows in scoring:
                    * pre-activations, then [tanh | sigmoid], then (the
                    * backward) their gradient */
    float *z;      /* (L, N, D) in training, one chunk in scoring */
    float *skip;   /* (V, S) */
    float *r1;     /* (V, S) relu(skip) */
    float *u;      /* (V, S) head.0 output */
    float *r2;     /* (V, S) relu(u) */
    float *logits; /* (V, Q) */
    float *bsum;   /* (S): the skip biases summed; in the backward, their
                    * gradient */
    /* training only */
    float *dlogits, *dr, *du, *dskip, *dh;
    float *grad;    /* a packed-layout gradient slab (n_params) */
    float *scratch; /* each chunk's share of a layer's (or the head's)
                     * gradient, summed in chunk order (net.c) */
    double *nllk;   /* each head chunk's NLL */
    /* scoring: a window whose row 0 follows the infinite silent past
     * (score.c), so the silence before a clip costs one row, not a
     * receptive field. past_code (-1: none) is the causal conv's input
     * before row 0; pastw (L, 2D), from wn__silence_past, each layer's
     * tap-0 product with its steady input, for the rows t < d whose h[t-d]
     * lies in that past. Not used in training. */
    const float *pastw;
    int past_code;
    float *dcond;   /* (N, C) with mel conditioning: the gradient of u */
    float *dbias;   /* (L, 2D) with speakers: this window's dilated-bias
                     * gradient (the speaker term's) */
    wn_view gv;
} wn__ws;

/* Bytes a workspace of this size needs. */
size_t wn__ws_bytes(const wn_model *m, int N, int V, int train);
wn__ws *wn__ws_create(const wn_model *m, int N, int V, int train);
void wn__ws_free(wn__ws *ws);

/* The first row layer j must compute (so that the last V outputs are
 * exact). */
int wn__layer_start(const wn_model *m, int j, int N, int V);

/* Forward over in[0..N) (N <= ws->N, V <= ws->V); ws->logits receives the
 * logits of the last V positions. If rings is given, rings[j] (d_j * R
 * floats) receives layer j's inputs h_j[p] at slot p mod d_j for the last
 * d_j positions p (the state cached generation continues from). A
 * training workspace keeps what the backward needs. */
void wn__forward(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                 float *const *rings, const wn__cin *ci);

/* A training window worked on by a team of n threads (each calls with its
 * own tid), or by one (n = 1): thread tid takes every n-th chunk of each
 * stage, and the stages meet at barriers. Every chunk does the same work
 * whoever takes it, and gradients are summed in chunk order, so the
 * results are the same bits for any n. dz: the thread's own
 * WN_CHUNK x dilation floats. */
typedef struct wn__team {
    int tid, n;
    float *dz;
} wn__team;

/* The team's threads meet here (one thread alone goes straight on). */
void wn__team_sync(const wn__team *tm);

/* This thread's share [*lo, *hi) of n elements (all of them alone). */
static inline void wn__team_share(const wn__team *tm, size_t n, size_t *lo, size_t *hi)
{
    *lo = n * (size_t)tm->tid / (size_t)tm->n;
    *hi = n * (size_t)(tm->tid + 1) / (size_t)tm->n;
}

/* Training forward over a training workspace (as wn__forward). */
void wn__forward_train(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                       const wn__cin *ci, const wn__team *tm);

/* After wn__forward_train: softmax cross-entropy of the last V positions
 * against targets (V codes) with gradients scaled by `scale`, accumulated
 * (+=) into ws->grad (packed layout). Returns the summed NLL (nats). The
 * caller syncs the team before reading ws->grad. With conditioning (the
 * ci of the forward), ws->dcond receives d/du (overwritten) and ws->dbias the
 * window's dilated-bias gradient (overwritten): the caller takes them back
 * through the upsampler and the speaker table (cond.h). */
double wn__backward(const wn_model *m, wn__ws *ws, const int *in, int N, int V,
                    const wn__cin *ci, const int *targets, float scale, const wn__team *tm);

/* The network's state in an endless silent past (every input the code of
 * silence, the features zero, the speaker's biases: bias (L, 2D) from
 * wn__cond_layer_bias, or NULL for the bare ones): each layer's input h_j
 * (L, R) into h, computed in double in one fixed order (the same numbers on
 * any machine); and, if pastw, each layer's tap-0 product W0_j h_j (L, 2D)
 * for ws->pastw. Returns WN_OK or WN_ERR_NOMEM. */
int wn__silence_state(const wn_model *m, const float *bias, float *h, float *pastw);

/* grad.c: the loss of a context's windows averages over this many windows
 * (a rank's share of a data-parallel global batch: the global count). */
void wn__grad_ctx_set_scale(wn_grad_ctx *c, int global_batch);

#endif
