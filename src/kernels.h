/* kernels.h - the matrix products and elementwise kernels every other
 * module is built on. Large products go to a BLAS; the small per-sample
 * ones of generation go through a table of kernels chosen once at start
 * (scalar reference, AVX2+FMA+F16C, and AVX-512 for the many-stream
 * products), each tested against the scalar twin: float32, half-float and
 * int8 weights. */
#ifndef WN_KERNELS_H
#define WN_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* C (M,N) = alpha * op(A) op(B) + beta * C, row-major; ta/tb = 1 transposes.
 * A BLAS (OpenBLAS) does the work, one thread per call by default
 * (wn_set_blas_threads): our
 * callers parallelise over chunks and batch themselves. */
void wn__gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* On a CPU the BLAS does not know, restart the program (execv of
 * /proc/self/exe with argv) with OPENBLAS_CORETYPE set to the best kernel
 * set the CPU runs; return when there is nothing to do. */
void wn__blas_pick_core(char **argv);

/* Weights of the per-sample products are stored in panels: the outputs
 * are cut into blocks of 64, 32, 8 or fewer columns (wn__panel_width), the
 * blocks one after another. A block of 64 or 32 is 4 or 2 strips of 16
 * columns, each strip an input-major (nin, 16) array; a narrower block is
 * one such strip of its own width. A kernel that keeps 16 columns of a
 * few rows in registers then reads its weights strictly in order (from L3
 * a strided walk over 64-wide rows ran at ~2/3 of the speed), one that
 * keeps 64 reads 4 sequential streams, and no power-of-two row stride
 * makes cache sets collide. */
int wn__panel_width(int remaining);
#define WN_STRIP 16
/* The offset of weight (input i, column c) in a panel of width pw. */
static inline size_t wn__panel_at(int i, int c, int nin, int pw)
{
    const int sw = pw < WN_STRIP ? pw : WN_STRIP;
    return (size_t)(c / sw) * (size_t)nin * (size_t)sw + (size_t)i * (size_t)sw + (size_t)(c % sw);
}
/* Pack W (nout, nin), row-major as PyTorch stores a 1x1 conv, into panels
 * (nin * nout floats). */
void wn__panel_pack(float *dst, const float *w, int nin, int nout);

/* IEEE half floats (binary16), float -> half rounding to nearest even,
 * as the F16C instructions do; generation can keep its weights so
 * (wn_gen_set_precision). */
uint16_t wn__f32_to_f16(float f);
float wn__f16_to_f32(uint16_t h);
/* wn__panel_pack, then each weight to a half float. */
void wn__panel_pack16(uint16_t *dst, const float *w, int nin, int nout);

/* 8-bit products (WN_PRECISION_I8). A weight matrix (nout, nin) becomes
 * int8 in [-127, 127] with one float scale per output, and each input row
 * is quantised just before the product to [-63, 63] with a scale of its
 * own (its largest |x| / 63), stored offset by 64 as bytes in [1, 127].
 * vpmaddubsw multiplies unsigned by signed bytes and adds pairs in 16
 * bits: with u <= 127 and |w| <= 127 a pair is at most 32258, so nothing
 * saturates, and no sign or absolute value is needed per product (7 bits
 * for the inputs cost +0.003 bits/sample on the shipped model against 8,
 * and halve the vector operations). The AVX2 kernels then add two groups'
 * pair sums in 16 bits before widening (a quarter fewer multiplies), so
 * the four weights of each 16-bit lane - inputs {0,1,4,5} and {2,3,6,7} of
 * every 8, or a pair of an odd last group of 4 - must have |w| summing to
 * at most WN_Q8_LANE (127 x 258 = 32766): an output's scale is its
 * largest |w| / 127, or its largest lane sum / (WN_Q8_LANE - 2) where that
 * is larger (rounding adds at most 2). The sum of u w is exact in 32 bits;
 * the offset's share, -64 times each output's sum of weights, is stored
 * with the weights and is where each sum starts (a load, no subtraction);
 * the one rounding step per output (y += sum * (sx * sw)) is the same on
 * every table, so all give the same bits.
 * Weights are stored in blocks of 8 outputs, each block nin4 / 4 groups of
 * 32 bytes: the 4 inputs of a group for output 0, then for output 1, ...
 * (the shape vpmaddubsw and vpmaddwd sum in); then nout8 int32 offset
 * shares. nin4 = nin rounded up to 4, nout8 = nout up to 8; the padding
 * holds zeros. */
#define WN_Q8_OFFSET 64
#define WN_Q8_XMAX 63
#define WN_Q8_LANE 258
static inline int wn__round4(int n) { return (n + 3) & ~3; }
static inline int wn__round8(int n) { return (n + 7) & ~7; }
static inline size_t wn__q8_at(int i, int o, int nin4)
{
    return (size_t)(o / 8) * 8 * (size_t)nin4 + (size_t)(i / 4) * 32 + (size_t)(o % 8) * 4 +
           (size_t)(i % 4);
}
/* Bytes of a packed matrix: weights, then the offset shares */
static inline size_t wn__q8_bytes(int nin, int nout)
{
    return (size_t)wn__round8(nout) * (size_t)(wn__round4(nin) + 4);
}
/* The offset shares of a packed matrix */
static inline const int32_t *wn__q8_shares(const int8_t *wq, int nin, int nout)
{
    return (const int32_t *)(const void *)(wq + (size_t)wn__round8(nout) * wn__round4(nin));
}
/* W (nout, nin) row-major -> dst (wn__q8_bytes, 4-byte aligned) and scale
 * (nout8 floats, zero in the padding). */
void wn__pack_q8(int8_t *dst, float *scale, const float *w, int nin, int nout);

typedef struct wn__kern {
    const char *name;
    /* y[o] += sum_i x[i] W[o][i], W in panels (see above). */
    void (*gemv_t)(float *y, const float *x, const float *wt, int nin, int nout);
    /* The same for B rows at once: Y[b*ldy + o] += sum_i X[b*ldx + i] W[o][i]. */
    void (*gemm_t)(float *Y, int ldy, const float *X, int ldx, int B, const float *wt,
                   int nin, int nout);
    /* gemm_t with half-float weights (arithmetic in float, the same order
     * of operations per output as gemm_t: both give the same bits for
     * weights that are exact halves). */
    void (*gemm_t16)(float *Y, int ldy, const float *X, int ldx, int B, const uint16_t *wt,
                     int nin, int nout);
    /* z[r*D + i] = tanh(a[r*2D + i]) * sigmoid(a[r*2D + D + i]) for `rows`
     * rows (all streams of a step in one call: their exps overlap) */
    void (*gate)(float *z, const float *a, int D, int rows);
    /* The same, also replacing a by [tanh(a[:D]) | sigmoid(a[D:])], which is
     * all the backward pass needs. */
    void (*gate_ts)(float *z, float *a, int D);
    /* w[q] = exp((l[q] - mx) * s) for q < n; returns the sum. Every w[q]
     * is wn__exp1 and the sum is taken in double in one order (8 lanes,
     * element q into lane q % 8, lanes j and j + 4 added, then (0 + 1) +
     * (2 + 3), then the last n % 8 in turn) on every table: the same
     * bits, so int8 generation samples the same codes on every table. */
    double (*expsum)(float *w, const float *l, int n, float mx, float s);
    /* the largest of l[0 .. n), n >= 1 (exact: the same on every table) */
    float (*maxf)(const float *l, int n);
    /* u[i] = 64 + round-to-even(x[i] * (63 / m)), m = max |x[i]|, for i < n
     * and 64 up to n rounded to 4; returns the row's scale m / 63 (all 64
     * and 0 when m < 1e-30 or m is infinite). */
    float (*quant8)(uint8_t *u, const float *x, int n);
    /* Y[b*ldy + o] = fma((float)sum_i (U[b*ldq + i] - 64) Wq[o][i], sx[b] *
     * sw[o], bias ? bias[o] : Y[b*ldy + o]) for b < B, o < nout (a bias
     * saves copying it into every row first: the same bits); U rows hold
     * nin4 bytes from quant8, Wq and sw from wn__pack_q8. */
    void (*gemm_q8)(float *Y, int ldy, const float *bias, const uint8_t *U, int ldq,
                    const float *sx, int B, const int8_t *wq, const float *sw, int nin,
                    int nout);
    /* gate to within 1e-5, for int8 generation, which then quantises z
     * to 7 bits anyway: every element is wn__gate_lo1 (below), whose exps
     * are a degree-4 polynomial (cheaper than gate's), so
     * every table gives the same bits and int8 numbers do not depend on
     * the table the CPU gets */
    void (*gate_lo)(float *z, const float *a, int D, int rows);
} wn__kern;

/* 2^n for nb = t + 1.5 * 2^23, n = t rounded to the nearest: the scalar
 * twin of the vector kernels' pow2_round */
static inline float wn__pow2_of(float nb)
{
    /* nb's low mantissa bits are n: shift them into the exponent */
    uint32_t bits;
    memcpy(&bits, &nb, 4);
    bits = (bits << 23) + (127u << 23);
    float e;
    memcpy(&e, &bits, 4);
    return e;
}
/* exp(x) for x in [-87, 88] to a relative 6e-6, as the vector kernels
 * compute it lane by lane: 2^n 2^r, t = x log2(e), n = t rounded to the
 * nearest (adding and subtracting 1.5 * 2^23; the sum's low mantissa bits
 * are n, shifted into the exponent for 2^n), r = t - n, 2^r a degree-4
 * polynomial on |r| <= 1/2. Each step one IEEE float operation (fmaf is
 * exact), so vector lanes and this give the same bits. No product here
 * shares a statement with an addition, so no compiler fuses them on its
 * own (GCC does not in C11 mode, clang only within a statement). */
static inline float wn__exp_lo1(float x)
{
    const float t = x * 1.44269504088896341f;
    const float nb = t + 12582912.0f;
    const float r = t - (nb - 12582912.0f);
    float p = fmaf(0.009590240535f, r, 0.05587027326f);
    p = fmaf(p, r, 0.2402367763f);
    p = fmaf(p, r, 0.6931280484f);
    p = fmaf(p, r, 1.0f);
    return p * wn__pow2_of(nb);
}
/* exp(x), x clamped to [-87, 88], to a relative 2e-7, as the vector
 * kernels' softmax (expsum) computes it lane by lane: 2^n p(r), n = x
 * log2(e) rounded as above, r = x - n ln2 in two steps (ln2 split so that
 * n times its first part is exact), p a degree-6 polynomial. */
static inline float wn__exp1(float x)
{
    x = x > -87.0f ? x : -87.0f;
    x = x < 88.0f ? x : 88.0f;
    const float t = x * 1.44269504088896341f;
    const float nb = t + 12582912.0f;
    const float n = nb - 12582912.0f;
    float r = fmaf(-n, 0.693359375f, x);
    r = fmaf(-n, -2.12194440e-4f, r);
    float p = fmaf(1.9875691500e-4f, r, 1.3981999507e-3f);
    p = fmaf(p, r, 8.3334519073e-3f);
    p = fmaf(p, r, 4.1665795894e-2f);
    p = fmaf(p, r, 1.6666665459e-1f);
    p = fmaf(p, r, 5.0000001201e-1f);
    p = fmaf(p, r * r, r + 1.0f);
    return p * wn__pow2_of(nb);
}
/* tanh(f) sigmoid(g) with the C library's functions: one element of gate
 * on the scalar table, and the rest of a row (D % 8) on the vector ones */
static inline float wn__gate1(float f, float g) { return tanhf(f) / (1.0f + expf(-g)); }
/* tanh(f) sigmoid(g) = (e - 1) / ((e + 1)(q + 1)), e = exp(2f), q = exp(-g),
 * one element as gate_lo computes it: f clamped to +-10 (tanh is 1 to
 * 4e-9 there), g to [-60, 87] (the denominator stays below 1e35, the exps
 * within their range); the clamps are max then min as the vector ones,
 * which give the bound for a NaN. */
static inline float wn__gate_lo1(float f, float g)
{
    f = f > -10.0f ? f : -10.0f;
    f = f < 10.0f ? f : 10.0f;
    g = g > -60.0f ? g : -60.0f;
    g = g < 87.0f ? g : 87.0f;
    const float e = wn__exp_lo1(f + f), q = wn__exp_lo1(0.0f - g);
    return (e - 1.0f) / ((e + 1.0f) * (q + 1.0f));
}

/* The fastest table this CPU runs (WN_KERNELS=scalar|avx2|avx512 in the
 * environment forces one); chosen once, thread-safe. */
const wn__kern *wn__kernels(void);
/* A table by name, or NULL if this CPU or build lacks it (for tests). */
const wn__kern *wn__kernels_named(const char *name);

#endif
