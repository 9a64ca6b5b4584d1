/* upsample.c - the vocoder's upsampler (upsample.h): transposed convs from
 * frames to samples, the small conv over the frames, the choice of strides
 * for a hop and the alignment of frames to samples. Each layer has a
 * scalar reference in PyTorch's weight layout (kept for the tests) beside
 * the GEMM version in the tap-major compute layout. */
#include "upsample.h"
#include "kernels.h"

#include <string.h>

void wn__taps_pack(float *dst, const float *src, int A, int B, int K)
{
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++)
                dst[((size_t)k * A + a) * B + b] = src[((size_t)a * B + b) * K + k];
}

void wn__taps_unpack(float *dst, const float *src, int A, int B, int K)
{
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++)
                dst[((size_t)a * B + b) * K + k] = src[((size_t)k * A + a) * B + b];
}

/* db[j] = sum of the n rows of x (n, C), in double: an upsampled sequence
 * has hundreds of thousands of rows, too many for a float running sum */
static void sum_rows(float *db, const float *x, long n, int C)
{
    for (int c0 = 0; c0 < C; c0 += 64) {
        const int w = C - c0 < 64 ? C - c0 : 64;
        double acc[64] = {0};
        for (long t = 0; t < n; t++) {
            const float *r = x + (size_t)t * C + c0;
            for (int j = 0; j < w; j++) acc[j] += r[j];
        }
        for (int j = 0; j < w; j++) db[c0 + j] = (float)acc[j];
    }
}

static void fill_bias(float *out, const float *b, long n, int C)
{
    for (long t = 0; t < n; t++) {
        if (b)
            memcpy(out + (size_t)t * C, b, sizeof(float) * (size_t)C);
        else
            memset(out + (size_t)t * C, 0, sizeof(float) * (size_t)C);
    }
}

/* ---------------------------------------------------------- transposed conv */

/* threads only for products worth waking them (a macro: with OpenMP off
 * the pragmas, and so its only uses, vanish) */
#define BIG(Tin, Cin, Cout, K) ((double)(Tin) * (Cin) * (Cout) * (K) > 4e6)

long wn__convT_out_len(long Tin, int K, int stride, int pad)
{
    if (Tin < 1 || K < 1 || stride < 1 || pad < 0) return -1;
    long t = (Tin - 1) * stride - 2L * pad + K;
    return t >= 1 ? t : -1;
}

/* Tap k writes in[t] to output row t s + (k - pad): the inputs [*t0, *t1)
 * whose rows fall in [0, Tout). */
static void tap_range(int k, int Tin, long Tout, int s, int pad, long *t0, long *t1)
{
    const long off = (long)k - pad;
    long lo = off >= 0 ? 0 : (-off + s - 1) / s;
    long last = Tout - 1 - off;
    long hi = last < 0 ? 0 : last / s + 1;
    if (hi > Tin) hi = Tin;
    *t0 = lo;
    *t1 = hi > lo ? hi : lo;
}

void wn__convT_forward_ref(float *out, const float *in, const float *w, const float *b,
                           int Tin, int Cin, int Cout, int K, int stride, int pad)
{
    const long Tout = wn__convT_out_len(Tin, K, stride, pad);
    for (long o = 0; o < Tout; o++)
        for (int co = 0; co < Cout; co++) {
            double acc = b ? b[co] : 0.0;
            for (int k = 0; k < K; k++) {
                long num = o + pad - k; /* = t stride */
                if (num < 0 || num % stride) continue;
                long t = num / stride;
                if (t >= Tin) continue;
                for (int ci = 0; ci < Cin; ci++)
                    acc += (double)in[(size_t)t * Cin + ci] *
                           w[((size_t)ci * Cout + co) * K + k];
            }
            out[(size_t)o * Cout + co] = (float)acc;
        }
}

void wn__convT_backward_ref(float *din, float *dw, float *db, const float *dout,
                            const float *in, const float *w, int Tin, int Cin, int Cout, int K,
                            int stride, int pad)
{
    const long Tout = wn__convT_out_len(Tin, K, stride, pad);
    if (din)
        for (int t = 0; t < Tin; t++)
            for (int ci = 0; ci < Cin; ci++) {
                double acc = 0;
                for (int k = 0; k < K; k++) {
                    long o = (long)t * stride - pad + k;
                    if (o < 0 || o >= Tout) continue;
                    for (int co = 0; co < Cout; co++)
                        acc += (double)dout[(size_t)o * Cout + co] *
                               w[((size_t)ci * Cout + co) * K + k];
                }
                din[(size_t)t * Cin + ci] = (float)acc;
            }
    for (int ci = 0; ci < Cin; ci++)
        for (int co = 0; co < Cout; co++)
            for (int k = 0; k < K; k++) {
                double acc = 0;
                for (int t = 0; t < Tin; t++) {
                    long o = (long)t * stride - pad + k;
                    if (o < 0 || o >= Tout) continue;
                    acc += (double)in[(size_t)t * Cin + ci] * dout[(size_t)o * Cout + co];
                }
                dw[((size_t)ci * Cout + co) * K + k] = (float)acc;
            }
    if (db)
        for (int co = 0; co < Cout; co++) {
            double acc = 0;
            for (long o = 0; o < Tout; o++) acc += dout[(size_t)o * Cout + co];
            db[co] = (float)acc;
        }
}

void wn__convT_forward(float *out, const float *in, const float *wt, const float *b, int Tin,
                       int Cin, int Cout, int K, int stride, int pad)
{
    const long Tout = wn__convT_out_len(Tin, K, stride, pad);
    fill_bias(out, b, Tout, Cout);
    /* Taps of one phase ((k - pad) mod stride) write the same rows, taps of
     * different phases disjoint ones: a thread per phase, each row summing
     * its taps in increasing k whatever the thread count. */
#pragma omp parallel for schedule(static) if (BIG(Tin, Cin, Cout, K))
    for (int r = 0; r < stride; r++)
        for (int k = 0; k < K; k++) {
            if ((((k - pad) % stride) + stride) % stride != r) continue;
            long t0, t1;
            tap_range(k, Tin, Tout, stride, pad, &t0, &t1);
            if (t1 <= t0) continue;
            const long o0 = t0 * stride + k - pad;
            wn__gemm(0, 0, (int)(t1 - t0), Cout, Cin, 1.0f, in + (size_t)t0 * Cin, Cin,
                     wt + (size_t)k * Cin * Cout, Cout, 1.0f, out + (size_t)o0 * Cout,
                     stride * Cout);
        }
}

void wn__convT_backward(float *din, float *dwt, float *db, const float *dout, const float *in,
                        const float *wt, int Tin, int Cin, int Cout, int K, int stride,
                        int pad)
{
    const long Tout = wn__convT_out_len(Tin, K, stride, pad);
    if (din) {
        /* din[t] = sum_k W_k dout[t s - pad + k]: blocks of input rows per
         * thread, each row summing its taps in increasing k */
        const int BL = 256, nb = (Tin + BL - 1) / BL;
#pragma omp parallel for schedule(static) if (BIG(Tin, Cin, Cout, K))
        for (int bi = 0; bi < nb; bi++) {
            const long a = (long)bi * BL, e = a + BL < Tin ? a + BL : Tin;
            memset(din + (size_t)a * Cin, 0, sizeof(float) * (size_t)(e - a) * Cin);
            for (int k = 0; k < K; k++) {
                long t0, t1;
                tap_range(k, Tin, Tout, stride, pad, &t0, &t1);
                if (t0 < a) t0 = a;
                if (t1 > e) t1 = e;
                if (t1 <= t0) continue;
                const long o0 = t0 * stride + k - pad;
                wn__gemm(0, 1, (int)(t1 - t0), Cin, Cout, 1.0f, dout + (size_t)o0 * Cout,
                         stride * Cout, wt + (size_t)k * Cin * Cout, Cout, 1.0f,
                         din + (size_t)t0 * Cin, Cin);
            }
        }
    }
    /* dW_k = in^T dout (the rows tap k wrote): one tap per thread */
#pragma omp parallel for schedule(static) if (BIG(Tin, Cin, Cout, K))
    for (int k = 0; k < K; k++) {
        long t0, t1;
        tap_range(k, Tin, Tout, stride, pad, &t0, &t1);
        float *dk = dwt + (size_t)k * Cin * Cout;
        if (t1 <= t0) {
            memset(dk, 0, sizeof(float) * (size_t)Cin * Cout);
            continue;
        }
        const long o0 = t0 * stride + k - pad;
        wn__gemm(1, 0, Cin, Cout, (int)(t1 - t0), 1.0f, in + (size_t)t0 * Cin, Cin,
                 dout + (size_t)o0 * Cout, stride * Cout, 0.0f, dk, Cout);
    }
    if (db) sum_rows(db, dout, Tout, Cout);
}

/* ---------------------------------------------------------- frames conv */

void wn__conv_frames_forward_ref(float *out, const float *in, const float *w, const float *b,
                                 int T, int Cin, int C)
{
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            double acc = b ? b[c] : 0.0;
            for (int k = 0; k < 3; k++) {
                int u = t + k - 1;
                if (u < 0 || u >= T) continue;
                for (int i = 0; i < Cin; i++)
                    acc += (double)w[((size_t)c * Cin + i) * 3 + k] * in[(size_t)u * Cin + i];
            }
            out[(size_t)t * C + c] = (float)acc;
        }
}

void wn__conv_frames_backward_ref(float *din, float *dw, float *db, const float *dout,
                                  const float *in, const float *w, int T, int Cin, int C)
{
    if (din)
        for (int u = 0; u < T; u++)
            for (int i = 0; i < Cin; i++) {
                double acc = 0;
                for (int k = 0; k < 3; k++) {
                    int t = u - k + 1; /* the output that read in[u] through tap k */
                    if (t < 0 || t >= T) continue;
                    for (int c = 0; c < C; c++)
                        acc += (double)w[((size_t)c * Cin + i) * 3 + k] * dout[(size_t)t * C + c];
                }
                din[(size_t)u * Cin + i] = (float)acc;
            }
    for (int c = 0; c < C; c++)
        for (int i = 0; i < Cin; i++)
            for (int k = 0; k < 3; k++) {
                double acc = 0;
                for (int t = 0; t < T; t++) {
                    int u = t + k - 1;
                    if (u < 0 || u >= T) continue;
                    acc += (double)dout[(size_t)t * C + c] * in[(size_t)u * Cin + i];
                }
                dw[((size_t)c * Cin + i) * 3 + k] = (float)acc;
            }
    if (db)
        for (int c = 0; c < C; c++) {
            double acc = 0;
            for (int t = 0; t < T; t++) acc += dout[(size_t)t * C + c];
            db[c] = (float)acc;
        }
}

/* Tap k (in[t + k - 1] for out[t]) covers outputs [*t0, *t1). */
static void frame_tap(int k, int T, int *t0, int *t1)
{
    *t0 = k == 0 ? 1 : 0;
    *t1 = k == 2 ? T - 1 : T;
    if (*t1 < *t0) *t1 = *t0;
}

void wn__conv_frames_forward(float *out, const float *in, const float *wt, const float *b,
                             int T, int Cin, int C)
{
    fill_bias(out, b, T, C);
    for (int k = 0; k < 3; k++) {
        int t0, t1;
        frame_tap(k, T, &t0, &t1);
        if (t1 > t0)
            wn__gemm(0, 1, t1 - t0, C, Cin, 1.0f, in + (size_t)(t0 + k - 1) * Cin, Cin,
                     wt + (size_t)k * C * Cin, Cin, 1.0f, out + (size_t)t0 * C, C);
    }
}

void wn__conv_frames_backward(float *din, float *dwt, float *db, const float *dout,
                              const float *in, const float *wt, int T, int Cin, int C)
{
    if (din) memset(din, 0, sizeof(float) * (size_t)T * Cin);
    for (int k = 0; k < 3; k++) {
        int t0, t1;
        frame_tap(k, T, &t0, &t1);
        float *dk = dwt + (size_t)k * C * Cin;
        if (t1 <= t0) {
            memset(dk, 0, sizeof(float) * (size_t)C * Cin);
            continue;
        }
        wn__gemm(1, 0, C, Cin, t1 - t0, 1.0f, dout + (size_t)t0 * C, C,
                 in + (size_t)(t0 + k - 1) * Cin, Cin, 0.0f, dk, Cin);
        if (din)
            wn__gemm(0, 0, t1 - t0, Cin, C, 1.0f, dout + (size_t)t0 * C, C,
                     wt + (size_t)k * C * Cin, Cin, 1.0f, din + (size_t)(t0 + k - 1) * Cin,
                     Cin);
    }
    if (db) sum_rows(db, dout, T, C);
}

/* ---------------------------------------------------------- the chain */

/* Depth-first over non-decreasing even strides in [lo, 32] multiplying to
 * rem, `left` stages to go: keeps the sequence whose largest stride is
 * smallest (the first found among equals: lexicographically smallest). */
static void plan_search(int rem, int left, int lo, int *cur, int depth, int *best,
                        int *best_max)
{
    if (left == 0) {
        if (rem != 1) return;
        int mx = depth ? cur[depth - 1] : 0;
        if (mx < *best_max) {
            *best_max = mx;
            memcpy(best, cur, sizeof(int) * (size_t)depth);
        }
        return;
    }
    for (int s = lo; s <= WN_UPSAMPLE_MAX_STRIDE; s += 2) {
        if (rem % s) continue;
        cur[depth] = s;
        plan_search(rem / s, left - 1, s, cur, depth + 1, best, best_max);
    }
}

int wn__upsample_plan(wn__upsample_chain *c, int hop, wn_error *err)
{
    memset(c, 0, sizeof *c);
    if (hop < 2)
        return wn__err(err, WN_ERR_CONFIG, "upsampling hop must be at least 2 samples, got %d",
                       hop);
    for (int n = 1; n <= WN_UPSAMPLE_MAX_STAGES; n++) {
        int cur[WN_UPSAMPLE_MAX_STAGES], best[WN_UPSAMPLE_MAX_STAGES];
        int best_max = WN_UPSAMPLE_MAX_STRIDE + 1;
        plan_search(hop, n, 2, cur, 0, best, &best_max);
        if (best_max > WN_UPSAMPLE_MAX_STRIDE) continue;
        c->stages = n;
        for (int i = 0; i < n; i++) {
            c->stride[i] = best[i];
            c->kernel[i] = 2 * best[i];
            c->pad[i] = best[i] / 2;
        }
        return wn__upsample_chain_check(c, err);
    }
    return wn__err(err, WN_ERR_CONFIG,
                   "hop %d is not a product of at most %d even strides of at most %d "
                   "(each upsampling stage has kernel 2s and padding s/2); choose a hop "
                   "such as 64, 80, 100, 128, 160, 200 or 256",
                   hop, WN_UPSAMPLE_MAX_STAGES, WN_UPSAMPLE_MAX_STRIDE);
}

int wn__upsample_chain_check(wn__upsample_chain *c, wn_error *err)
{
    if (c->stages < 1 || c->stages > WN_UPSAMPLE_MAX_STAGES)
        return wn__err(err, WN_ERR_CONFIG, "upsampling has %d stages (1 to %d)", c->stages,
                       WN_UPSAMPLE_MAX_STAGES);
    long hop = 1, halo = 0;
    for (int i = 0; i < c->stages; i++) {
        const int s = c->stride[i], K = c->kernel[i], p = c->pad[i];
        if (s < 1 || s > WN_UPSAMPLE_MAX_STRIDE || p < 0 || K - 2L * p != s)
            return wn__err(err, WN_ERR_CONFIG,
                           "upsampling stage %d: stride %d, kernel %d, padding %d; needs "
                           "stride 1..%d, padding >= 0 and kernel - 2 padding = stride "
                           "(so that it gives exactly stride rows per input row)",
                           i, s, K, p, WN_UPSAMPLE_MAX_STRIDE);
        halo = halo * s + p;
        hop *= s;
    }
    c->hop = (int)hop;
    c->halo = (int)halo;
    return WN_OK;
}

/* floor(a / b) for b > 0 */
static long floordiv(long a, long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

void wn__upsample_frames_needed(const wn__upsample_chain *c, long n0, long n1, long *f0,
                                long *f1)
{
    const long r0 = wn__upsample_row(c, n0), r1 = wn__upsample_row(c, n1 - 1);
    long a = floordiv(r0 - c->halo, c->hop);
    *f0 = a > 0 ? a : 0;
    *f1 = floordiv(r1 + c->halo, c->hop) + 1;
}
