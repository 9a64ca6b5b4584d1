/* layers.c - each layer of the network as a forward/backward pair over a
 * run of rows, side by side. Large products go through wn__gemm. */
#include "layers.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

void causal_forward(float *out, const int *in, int N, const float *w, const float *b,
                    int Q, int R)
{
    const float *w0 = w, *w1 = w + (size_t)Q * R;
    for (int t = 0; t < N; t++) {
        float *o = out + (size_t)t * R;
        const float *a = w1 + (size_t)in[t] * R;
        for (int r = 0; r < R; r++) o[r] = b[r] + a[r];
        if (t > 0) {
            const float *p = w0 + (size_t)in[t - 1] * R;
            for (int r = 0; r < R; r++) o[r] += p[r];
        }
    }
}

void causal_backward(float *dw, float *db, const float *dout, const int *in, int N, int Q,
                     int R)
{
    float *dw0 = dw, *dw1 = dw + (size_t)Q * R;
    for (int t = 0; t < N; t++) {
        const float *g = dout + (size_t)t * R;
        float *a = dw1 + (size_t)in[t] * R;
        for (int r = 0; r < R; r++) {
            a[r] += g[r];
            db[r] += g[r];
        }
        if (t > 0) {
            float *p = dw0 + (size_t)in[t - 1] * R;
            for (int r = 0; r < R; r++) p[r] += g[r];
        }
    }
}

void dilated_forward(float *a, const float *h, int t0, int N, int d, const float *w,
                     const float *b, int R, int O)
{
    if (t0 >= N) return;
    const float *w0 = w, *w1 = w + (size_t)O * R;
    for (int t = 0; t < N - t0; t++) memcpy(a + (size_t)t * O, b, sizeof(float) * (size_t)O);
    wn__gemm(0, 1, N - t0, O, R, 1.0f, h + (size_t)t0 * R, R, w1, R, 1.0f, a, O);
    int s = t0 > d ? t0 : d; /* first row whose past h[t-d] exists */
    if (s < N)
        wn__gemm(0, 1, N - s, O, R, 1.0f, h + (size_t)(s - d) * R, R, w0, R, 1.0f,
                 a + (size_t)(s - t0) * O, O);
}

void dilated_backward_input(float *dh, const float *da, int t0, int N, int r0, int r1, int d,
                            const float *w, int R, int O)
{
    const float *w0 = w, *w1 = w + (size_t)O * R;
    /* dh[t] += w[1]^T da[t] first, then w[0]^T da[t+d]: the order a row
     * gets its two terms is the same however the rows are split */
    int a = r0 > t0 ? r0 : t0;
    if (a < r1)
        wn__gemm(0, 0, r1 - a, R, O, 1.0f, da + (size_t)(a - t0) * O, O, w1, R, 1.0f,
                 dh + (size_t)a * R, R);
    int b = r0 > t0 - d ? r0 : t0 - d, e = r1 < N - d ? r1 : N - d;
    if (b < 0) b = 0;
    if (b < e)
        wn__gemm(0, 0, e - b, R, O, 1.0f, da + (size_t)(b + d - t0) * O, O, w0, R, 1.0f,
                 dh + (size_t)b * R, R);
}

void dilated_backward_params(float *dw, float *db, const float *da, const float *h, int t0,
                             int N, int d, int R, int O)
{
    float *dw0 = dw, *dw1 = dw + (size_t)O * R;
    memset(db, 0, sizeof(float) * (size_t)O);
    if (t0 >= N) {
        memset(dw, 0, sizeof(float) * 2 * (size_t)O * R);
        return;
    }
    for (int t = 0; t < N - t0; t++) {
        const float *g = da + (size_t)t * O;
        for (int o = 0; o < O; o++) db[o] += g[o];
    }
    wn__gemm(1, 0, O, R, N - t0, 1.0f, da, O, h + (size_t)t0 * R, R, 0.0f, dw1, R);
    int s = t0 > d ? t0 : d;
    if (s < N)
        wn__gemm(1, 0, O, R, N - s, 1.0f, da + (size_t)(s - t0) * O, O,
                 h + (size_t)(s - d) * R, R, 0.0f, dw0, R);
    else
        memset(dw0, 0, sizeof(float) * (size_t)O * R);
}

void gate_forward(float *z, float *a, int n, int D)
{
    const wn__kern *k = wn__kernels();
    for (int t = 0; t < n; t++) k->gate_ts(z + (size_t)t * D, a + (size_t)t * 2 * D, D);
}

void gate_backward(float *da, const float *dz, const float *ts, int n, int D)
{
    for (int t = 0; t < n; t++) {
        const float *th = ts + (size_t)t * 2 * D, *sg = th + D;
        const float *dzt = dz + (size_t)t * D;
        float *df = da + (size_t)t * 2 * D, *dg = df + D;
        for (int i = 0; i < D; i++) {
            float g = dzt[i], tt = th[i], ss = sg[i];
            df[i] = g * ss * (1.0f - tt * tt);
            dg[i] = g * tt * ss * (1.0f - ss);
        }
    }
}

void conv1x1_forward(float *out, const float *in, int n, const float *w, const float *b,
                     int I, int O, float beta)
{
    if (n <= 0) return;
    if (!b) { /* the BLAS scales out itself (beta 0: out is not read, NaN or not) */
        wn__gemm(0, 1, n, O, I, 1.0f, in, I, w, I, beta, out, O);
        return;
    }
    /* the scale goes in with the bias, in one pass over out (1 * o is o:
     * beta 1 gives the bits of a plain +=) */
    for (int t = 0; t < n; t++) {
        float *o = out + (size_t)t * O;
        if (beta == 0.0f)
            memcpy(o, b, sizeof(float) * (size_t)O);
        else
            for (int j = 0; j < O; j++) o[j] = beta * o[j] + b[j];
    }
    wn__gemm(0, 1, n, O, I, 1.0f, in, I, w, I, 1.0f, out, O);
}

void conv1x1_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                      int n, const float *w, int I, int O)
{
    if (db) memset(db, 0, sizeof(float) * (size_t)O);
    if (n <= 0) {
        memset(dw, 0, sizeof(float) * (size_t)O * I);
        return;
    }
    for (int t = 0; db && t < n; t++) {
        const float *g = dout + (size_t)t * O;
        for (int j = 0; j < O; j++) db[j] += g[j];
    }
    wn__gemm(1, 0, O, I, n, 1.0f, dout, O, in, I, 0.0f, dw, I);
    if (din) wn__gemm(0, 0, n, I, O, 1.0f, dout, O, w, I, 1.0f, din, I);
}

void relu_forward(float *y, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void relu_backward(float *dx, const float *dy, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

double log_softmax_at(const float *l, int Q, int target, float *scratch)
{
    float mx = l[0];
    for (int q = 1; q < Q; q++) mx = l[q] > mx ? l[q] : mx;
    double z = 0;
    if (scratch) {
        z = wn__kernels()->expsum(scratch, l, Q, mx, 1.0f);
    } else {
        for (int q = 0; q < Q; q++) z += exp((double)l[q] - mx);
    }
    return (double)l[target] - mx - log(z);
}

double softmax_xent(float *dl, const float *logits, const int *targets, int n, int Q,
                    float scale)
{
    const wn__kern *k = wn__kernels();
    double total = 0;
    for (int t = 0; t < n; t++) {
        const float *l = logits + (size_t)t * Q;
        float mx = l[0];
        for (int q = 1; q < Q; q++) mx = l[q] > mx ? l[q] : mx;
        if (!dl) {
            total -= log_softmax_at(l, Q, targets[t], NULL);
            continue;
        }
        float *g = dl + (size_t)t * Q;
        double z = k->expsum(g, l, Q, mx, 1.0f);
        total -= (double)l[targets[t]] - mx - log(z);
        const float c = (float)(scale / z);
        for (int q = 0; q < Q; q++) g[q] *= c;
        g[targets[t]] -= scale;
    }
    return total;
}
