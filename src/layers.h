/* layers.h - forward/backward pairs over runs of rows of a sequence
 * (time-major, row t of an (N, C) array is the C channels at time t). Each
 * backward accumulates (+=) into its input gradients; the dilated and 1x1
 * convs overwrite their weight gradients with the run's part, which the
 * caller sums over its chunks in a fixed order (net.c), and the embedding
 * accumulates into its own. Rows before `t0` are neither read for outputs
 * nor written: callers skip the part of a window that cannot reach the
 * loss, and work through the rest in chunks (net.c). */
#ifndef WN_LAYERS_H
#define WN_LAYERS_H

#include <stddef.h>

/* out[t] = w[1][in[t]] + w[0][in[t-1]] + b  (in[-1] contributes nothing);
 * w (2, Q, R) is an embedding table per tap. out (N, R). */
void causal_forward(float *out, const int *in, int N, const float *w, const float *b,
                    int Q, int R);
void causal_backward(float *dw, float *db, const float *dout, const int *in, int N,
                     int Q, int R);

/* a[t] = w[1] h[t] + w[0] h[t-d] + b for t in [t0, N), h[t-d] = 0 for t < d.
 * w (2, O, R), h (N, R); a holds only those rows (row t at a + (t - t0) O),
 * so that a caller working through a layer in chunks can reuse one small
 * buffer. */
void dilated_forward(float *a, const float *h, int t0, int N, int d, const float *w,
                     const float *b, int R, int O);
/* The backward in two parts, so that threads can share a layer by rows:
 * dh[t] += w[1]^T da[t] + w[0]^T da[t+d] for rows t in [r0, r1) only,
 * with da holding rows [t0, N) (row t at da + (t - t0) O; terms of rows
 * outside it are absent); */
void dilated_backward_input(float *dh, const float *da, int t0, int N, int r0, int r1, int d,
                            const float *w, int R, int O);
/* and dw, db = their terms of the rows [t0, N) of da (da at row t0). */
void dilated_backward_params(float *dw, float *db, const float *da, const float *h, int t0,
                             int N, int d, int R, int O);

/* z = tanh(a[:, :D]) * sigmoid(a[:, D:]) over n rows, each pointer at its
 * first row; a is replaced by [tanh | sigmoid] of itself, which is what
 * gate_backward reads. */
void gate_forward(float *z, float *a, int n, int D);
/* da from dz and ts = [tanh | sigmoid] from gate_forward over n rows, each
 * pointer at its first row (da may be ts). */
void gate_backward(float *da, const float *dz, const float *ts, int n, int D);

/* out[t] = beta*out[t] + w in[t] + b over n rows; w (O, I); b may be NULL
 * (no bias). beta is any scale; with beta 0, out is not read (it may hold
 * NaN). net.c passes 0 (start a sum) or 1 (add to it). */
void conv1x1_forward(float *out, const float *in, int n, const float *w, const float *b,
                     int I, int O, float beta);
/* din += dout w (if din), dw = dout^T in, db = sum dout (if db). */
void conv1x1_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                      int n, const float *w, int I, int O);

void relu_forward(float *y, const float *x, size_t n);
/* dx = dy * (x > 0), overwriting dx (dx may alias dy). */
void relu_backward(float *dx, const float *dy, const float *x, size_t n);

/* Row-wise log-softmax; returns log p(target) (nats). With scratch (Q
 * floats) the exponentials go through the vector kernels (float, summed in
 * double), without it through libm in double. */
double log_softmax_at(const float *logits, int Q, int target, float *scratch);
/* Cross-entropy of n rows against targets: returns sum of -log p, and if
 * dlogits is given, writes (softmax - onehot) * scale. */
double softmax_xent(float *dlogits, const float *logits, const int *targets, int n,
                    int Q, float scale);

#endif
