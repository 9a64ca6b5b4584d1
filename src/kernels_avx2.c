/* kernels_avx2.c - AVX2+FMA+F16C versions of the per-sample kernels, compiled
 * for that target function by function (the rest of the build stays
 * portable) and chosen at run time in kernels.c. test_kernels compares each
 * with its scalar twin. */
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* Eight weights as floats: f32 weights load as they are, f16 ones convert
 * on the way in (F16C), which halves the bytes read from the cache. */
#define LOAD_F32(p) _mm256_loadu_ps(p)
#define LOAD_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))

/* One row: y[0 .. 8*NB) += x . panel (of width 8*NB), the accumulators in
 * registers; every output is one FMA chain over the inputs in order. */
#define GEMV_BLOCK(NAME, WT, LOAD, NB)                                          \
    AVX2 static inline void NAME(float *y, const float *x, const WT *p, int nin) \
    {                                                                          \
        __m256 acc[NB];                                                        \
        _Pragma("GCC unroll 8") for (int k = 0; k < NB; k++) acc[k] = _mm256_loadu_ps(y + 8 * k); \
        for (int i = 0; i < nin; i++) {                                        \
            const __m256 xi = _mm256_broadcast_ss(x + i);                      \
            _Pragma("GCC unroll 8") for (int k = 0; k < NB; k++) {             \
                acc[k] = _mm256_fmadd_ps(xi, LOAD(p + wn__panel_at(i, 8 * k, nin, 8 * NB)), acc[k]); \
            }                                                                  \
        }                                                                      \
        _Pragma("GCC unroll 8") for (int k = 0; k < NB; k++) _mm256_storeu_ps(y + 8 * k, acc[k]); \
    }

/* NR rows share each weight load: NR rows x 8*NV outputs at a time, columns
 * [ob, oe) of a panel of width 32 or 64 (oe - ob a multiple of 8*NV), the
 * same FMA chain per output as one row has, so a stream's numbers do not
 * depend on how many streams run beside it. 4x3 (12 accumulators, 3
 * weight registers, 1 broadcast: all 16 registers) leaves slack that the
 * 8 chains of 4x2 do not (FMA latency 4 x 2 pipes). */
#define GEMM_PANEL(NAME, WT, LOAD, NR, NV)                                     \
    AVX2 static inline void NAME(float *const *y, const float *const *x, const WT *p, \
                                 int o0, int ob, int oe, int nin)              \
    {                                                                          \
        for (int o = ob; o < oe; o += 8 * NV) {                                \
            __m256 a[NR][NV];                                                  \
            _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)               \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)           \
                    a[r][v] = _mm256_loadu_ps(y[r] + o0 + o + 8 * v);          \
            const WT *ws[NV]; /* input 0 of column o + 8v (whole strips: any pw) */ \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)               \
                ws[v] = p + wn__panel_at(0, o + 8 * v, nin, WN_STRIP);         \
            for (int i = 0; i < nin; i++) {                                    \
                __m256 wv[NV];                                                 \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)           \
                    wv[v] = LOAD(ws[v] + (size_t)i * WN_STRIP);                \
                _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) {         \
                    const __m256 u = _mm256_broadcast_ss(x[r] + i);            \
                    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)       \
                        a[r][v] = _mm256_fmadd_ps(u, wv[v], a[r][v]);          \
                }                                                              \
            }                                                                  \
            _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)               \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)           \
                    _mm256_storeu_ps(y[r] + o0 + o + 8 * v, a[r][v]);          \
        }                                                                      \
    }

/* gemv over all panels, then gemm: rows in fours, a pair, the rest one
 * by one (narrow panels always row by row, as gemv does them). */
#define GEMM_T(SUFFIX, WT, LOAD, TO_F32)                                       \
    GEMV_BLOCK(gemv_block8##SUFFIX, WT, LOAD, 8)                               \
    GEMV_BLOCK(gemv_block4##SUFFIX, WT, LOAD, 4)                               \
    GEMV_BLOCK(gemv_block1##SUFFIX, WT, LOAD, 1)                               \
    GEMM_PANEL(gemm4x3_panel##SUFFIX, WT, LOAD, 4, 3)                          \
    GEMM_PANEL(gemm4_panel##SUFFIX, WT, LOAD, 4, 2)                            \
    GEMM_PANEL(gemm2_panel##SUFFIX, WT, LOAD, 2, 4)                            \
    AVX2 static void gemv_t##SUFFIX(float *y, const float *x, const WT *wt, int nin, int nout) \
    {                                                                          \
        for (int o0 = 0; o0 < nout;) {                                         \
            int pw = wn__panel_width(nout - o0);                               \
            if (pw == 64) gemv_block8##SUFFIX(y + o0, x, wt, nin);             \
            else if (pw == 32) gemv_block4##SUFFIX(y + o0, x, wt, nin);        \
            else if (pw == 8) gemv_block1##SUFFIX(y + o0, x, wt, nin);         \
            else                                                               \
                for (int o = 0; o < pw; o++) {                                 \
                    float s = y[o0 + o];                                       \
                    for (int i = 0; i < nin; i++)                              \
                        s = fmaf(x[i], TO_F32(wt[wn__panel_at(i, o, nin, pw)]), s); \
                    y[o0 + o] = s;                                             \
                }                                                              \
            wt += (size_t)nin * pw;                                            \
            o0 += pw;                                                          \
        }                                                                      \
    }                                                                          \
    AVX2 static void gemm_t##SUFFIX(float *Y, int ldy, const float *X, int ldx, int B, \
                                    const WT *wt, int nin, int nout)           \
    {                                                                          \
        int b = 0;                                                             \
        while (B - b >= 2) {                                                   \
            const int nr = B - b >= 4 ? 4 : 2;                                 \
            float *y[4];                                                       \
            const float *x[4];                                                 \
            for (int r = 0; r < nr; r++) {                                     \
                y[r] = Y + (size_t)(b + r) * ldy;                              \
                x[r] = X + (size_t)(b + r) * ldx;                              \
            }                                                                  \
            const WT *p = wt;                                                  \
            for (int o0 = 0; o0 < nout;) {                                     \
                int pw = wn__panel_width(nout - o0);                           \
                if (pw == 64 && nr == 4) { /* 24 + 24 + 16 columns */          \
                    gemm4x3_panel##SUFFIX(y, x, p, o0, 0, 48, nin);            \
                    gemm4_panel##SUFFIX(y, x, p, o0, 48, 64, nin);             \
                } else if (pw == 32 && nr == 4)                                \
                    gemm4_panel##SUFFIX(y, x, p, o0, 0, 32, nin);              \
                else if (pw >= 32) gemm2_panel##SUFFIX(y, x, p, o0, 0, pw, nin); \
                else                                                           \
                    for (int r = 0; r < nr; r++)                               \
                        gemv_t##SUFFIX(y[r] + o0, x[r], p, nin, pw);           \
                p += (size_t)nin * pw;                                         \
                o0 += pw;                                                      \
            }                                                                  \
            b += nr;                                                           \
        }                                                                      \
        if (b < B)                                                             \
            gemv_t##SUFFIX(Y + (size_t)b * ldy, X + (size_t)b * ldx, wt, nin, nout); \
    }

#define F32_ID(v) (v)
GEMM_T(_avx2, float, LOAD_F32, F32_ID)
GEMM_T(16_avx2, uint16_t, LOAD_F16, _cvtsh_ss)

/* pow2_round: n = t rounded to the nearest integer (into *n) and 2^n (the
 * result), for the exps below. Rounding by adding 1.5 * 2^23: the sum is rounded to
 * nearest even, subtracting it back gives n exactly, and the sum's low
 * mantissa bits are n, so 2^n is those bits shifted up 23 plus the
 * exponent's bias: no round, no conversion. For
 * every float |x| < 2^22 this n and 2^n equal the round instruction's
 * (checked exhaustively); only the sign of a zero n can differ, and the
 * exps' results do not. */
AVX2 static inline __m256 pow2_round(__m256 t, __m256 *n)
{
    const __m256 big = _mm256_set1_ps(12582912.0f);
    const __m256 nb = _mm256_add_ps(t, big);
    *n = _mm256_sub_ps(nb, big);
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_slli_epi32(_mm256_castps_si256(nb), 23),
                                                _mm256_set1_epi32(127 << 23)));
}
/* exp(x) for x in [-87, 88] (the caller's clamp): 2^n * p(r), r = x - n
 * ln2, a degree-6 polynomial on |r| <= ln2/2 (relative error ~2e-7);
 * with exp256's clamp, wn__exp1 (kernels.h) is its scalar twin, bit for
 * bit. */
AVX2 static inline __m256 exp256_in(__m256 x)
{
    __m256 n;
    const __m256 e = pow2_round(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), &n);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    return _mm256_mul_ps(p, e);
}
/* exp(x), x clamped to [-87, 88] */
AVX2 static inline __m256 exp256(__m256 x)
{
    return exp256_in(_mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f)));
}

/* exp(x) for x in [-87, 88] to a relative 6e-6: 2^n 2^r, r = x log2(e) - n,
 * 2^r a degree-4 polynomial on |r| <= 1/2 (for gate_lo; wn__exp_lo1 is its
 * scalar twin, bit for bit) */
AVX2 static inline __m256 exp256_lo(__m256 x)
{
    const __m256 t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
    __m256 n;
    const __m256 e = pow2_round(t, &n);
    const __m256 r = _mm256_sub_ps(t, n);
    __m256 p = _mm256_set1_ps(0.009590240535f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.05587027326f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.2402367763f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.6931280484f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    return _mm256_mul_ps(p, e);
}

/* tanh f = 1 - 2 / (exp(2f) + 1); sigmoid g = 1 / (1 + exp(-g)) */
AVX2 static inline void tanh_sigmoid256(__m256 f, __m256 g, __m256 *t, __m256 *s)
{
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    *t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp256(_mm256_add_ps(f, f)), one)));
    *s = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

/* tanh(f) sigmoid(g) = (e - 1) / ((e + 1)(1 + q)), e = exp(2f), q = exp(-g):
 * one division instead of two. f is clamped to +-10 (tanh is 1 to 4e-9
 * there) and g from below at -60, so the denominator stays below 1e35,
 * and from above at 87, where exp's own clamp would stop it: the exps
 * then need no clamp of their own. */
#define GATE8(NAME, EXP)                                                       \
    AVX2 static inline __m256 NAME(const float *a, int D)                      \
    {                                                                          \
        const __m256 one = _mm256_set1_ps(1.0f), lo = _mm256_set1_ps(-10.0f),  \
                     hi = _mm256_set1_ps(10.0f), gmin = _mm256_set1_ps(-60.0f), \
                     gmax = _mm256_set1_ps(87.0f);                             \
        __m256 f = _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(a), lo), hi);   \
        __m256 g = _mm256_min_ps(_mm256_max_ps(_mm256_loadu_ps(a + D), gmin), gmax); \
        __m256 e = EXP(_mm256_add_ps(f, f));                                    \
        __m256 q = EXP(_mm256_sub_ps(_mm256_setzero_ps(), g));                  \
        __m256 den = _mm256_mul_ps(_mm256_add_ps(e, one), _mm256_add_ps(q, one)); \
        return _mm256_div_ps(_mm256_sub_ps(e, one), den);                      \
    }
GATE8(gate8, exp256_in)
GATE8(gate8_lo, exp256_lo)

/* the filter inputs of the next vector of the rows: a row's D, then skip
 * its gate inputs (no division per vector: idiv is slow) */
#define GATE_NEXT(q)                                                           \
    const float *q = p;                                                        \
    p += 8;                                                                    \
    if (++k == per) k = 0, p += D;
#define GATE_ROWS(NAME, G8, ONE)                                               \
    AVX2 static void NAME(float *z, const float *a, int D, int rows)           \
    {                                                                          \
        if (D % 8 == 0) { /* every row's vectors in one loop, two at a time */ \
            const float *p = a;                                                \
            int k = 0;                                                         \
            const int per = D / 8, n = per * rows;                             \
            int v = 0;                                                         \
            for (; v + 2 <= n; v += 2, z += 16) {                              \
                GATE_NEXT(p0)                                                  \
                GATE_NEXT(p1)                                                  \
                const __m256 z0 = G8(p0, D), z1 = G8(p1, D);                   \
                _mm256_storeu_ps(z, z0);                                       \
                _mm256_storeu_ps(z + 8, z1);                                   \
            }                                                                  \
            if (v < n) _mm256_storeu_ps(z, G8(p, D));                          \
            return;                                                            \
        }                                                                      \
        for (int r = 0; r < rows; r++, z += D, a += 2 * D) {                   \
            int i = 0;                                                         \
            for (; i + 8 <= D; i += 8) _mm256_storeu_ps(z + i, G8(a + i, D));  \
            for (; i < D; i++) z[i] = ONE(a[i], a[D + i]);                      \
        }                                                                      \
    }
/* the rest of a row (D % 8) one element at a time, as the scalar table */
GATE_ROWS(gate_avx2, gate8, wn__gate1)
GATE_ROWS(gate_lo_avx2, gate8_lo, wn__gate_lo1)

AVX2 static void gate_ts_avx2(float *z, float *a, int D)
{
    int i = 0;
    for (; i + 8 <= D; i += 8) {
        __m256 t, s;
        tanh_sigmoid256(_mm256_loadu_ps(a + i), _mm256_loadu_ps(a + D + i), &t, &s);
        _mm256_storeu_ps(a + i, t);
        _mm256_storeu_ps(a + D + i, s);
        _mm256_storeu_ps(z + i, _mm256_mul_ps(t, s));
    }
    for (; i < D; i++) {
        a[i] = tanhf(a[i]);
        a[D + i] = 1.0f / (1.0f + expf(-a[D + i]));
        z[i] = a[i] * a[D + i];
    }
}

AVX2 static double expsum_avx2(float *w, const float *l, int n, float mx, float s)
{
    int q = 0;
    const __m256 vm = _mm256_set1_ps(mx), vs = _mm256_set1_ps(s);
    __m256d acc0 = _mm256_setzero_pd(), acc1 = _mm256_setzero_pd();
    for (; q + 8 <= n; q += 8) {
        __m256 e = exp256(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(l + q), vm), vs));
        _mm256_storeu_ps(w + q, e);
        acc0 = _mm256_add_pd(acc0, _mm256_cvtps_pd(_mm256_castps256_ps128(e)));
        acc1 = _mm256_add_pd(acc1, _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1)));
    }
    double t[4];
    _mm256_storeu_pd(t, _mm256_add_pd(acc0, acc1));
    double sum = (t[0] + t[1]) + (t[2] + t[3]);
    for (; q < n; q++) { /* the rest as the scalar table */
        w[q] = wn__exp1((l[q] - mx) * s);
        sum += w[q];
    }
    return sum;
}

AVX2 static float maxf_avx2(const float *l, int n)
{
    float mx = l[0];
    int q = 0;
    if (n >= 16) {
        __m256 m0 = _mm256_loadu_ps(l), m1 = _mm256_loadu_ps(l + 8);
        for (q = 16; q + 16 <= n; q += 16) {
            m0 = _mm256_max_ps(m0, _mm256_loadu_ps(l + q));
            m1 = _mm256_max_ps(m1, _mm256_loadu_ps(l + q + 8));
        }
        float t[8];
        _mm256_storeu_ps(t, _mm256_max_ps(m0, m1));
        for (int i = 0; i < 8; i++) mx = t[i] > mx ? t[i] : mx;
    }
    for (; q < n; q++) mx = l[q] > mx ? l[q] : mx;
    return mx;
}

/* ---- 8-bit products (kernels.h) */

AVX2 static float quant8_avx2(uint8_t *u, const float *x, int n)
{
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 mv = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_and_ps(_mm256_loadu_ps(x + i), absmask));
    /* the lanes' largest, in registers (fmaxf is a libm call here) */
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(mv), _mm256_extractf128_ps(mv, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_shuffle_ps(h, h, 1));
    float m = _mm_cvtss_f32(h);
    for (int k = i; k < n; k++) m = fabsf(x[k]) > m ? fabsf(x[k]) : m;
    const int n4 = wn__round4(n);
    if (!(m >= 1e-30f && m <= 3.4e38f)) {
        memset(u, WN_Q8_OFFSET, (size_t)n4);
        return 0;
    }
    const float inv1 = (float)WN_Q8_XMAX / m;
    const __m256 inv = _mm256_set1_ps(inv1);
    const __m256i off = _mm256_set1_epi32(WN_Q8_OFFSET);
    /* cvtps2dq rounds to nearest even (MXCSR's default), as lrintf does */
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (i = 0; i + 32 <= n; i += 32) {
#define Q8_CVT(k) _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * (k)), inv)), off)
        /* the packs work within 128-bit lanes: put the dwords back in order */
        __m256i p = _mm256_packus_epi16(_mm256_packs_epi32(Q8_CVT(0), Q8_CVT(1)),
                                        _mm256_packs_epi32(Q8_CVT(2), Q8_CVT(3)));
#undef Q8_CVT
        _mm256_storeu_si256((__m256i *)(u + i), _mm256_permutevar8x32_epi32(p, order));
    }
    for (; i < n; i++) u[i] = (uint8_t)(WN_Q8_OFFSET + _mm_cvtss_si32(_mm_set_ss(x[i] * inv1)));
    for (; i < n4; i++) u[i] = WN_Q8_OFFSET;
    return m / (float)WN_Q8_XMAX;
}

#define Q8_ATTR AVX2
#define Q8_VNNI 0
#define Q8_LINKAGE static
#define Q8_GEMM gemm_q8_avx2
#include "kernels_q8.inc"

/* One row of the half-float product is the one-row gemm. */
const wn__kern wn__kern_avx2 = {"avx2",      gemv_t_avx2,  gemm_t_avx2, gemm_t16_avx2,
                                 gate_avx2,   gate_ts_avx2, expsum_avx2, maxf_avx2,
                                 quant8_avx2, gemm_q8_avx2, gate_lo_avx2};
#else
typedef int wn__no_avx2;
#endif
