/* kernels_avx2.c - AVX2+FMA versions of the per-sample kernels, compiled
 * for that target function by function (the rest of the build stays
 * portable) and chosen at run time in kernels.c. test_kernels compares each
 * with its scalar twin. */
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <math.h>

#define AVX2 __attribute__((target("avx2,fma")))

/* y[0 .. 8*NB) += x . panel, the accumulators in registers */
#define GEMV_BLOCK(NB)                                                          \
    AVX2 static inline void gemv_block##NB(float *y, const float *x, const float *p, int nin) \
    {                                                                          \
        __m256 acc[NB];                                                        \
        _Pragma("GCC unroll 8") for (int k = 0; k < NB; k++) acc[k] = _mm256_loadu_ps(y + 8 * k); \
        for (int i = 0; i < nin; i++) {                                        \
            const __m256 xi = _mm256_broadcast_ss(x + i);                      \
            const float *w = p + (size_t)i * 8 * NB;                           \
            _Pragma("GCC unroll 8") for (int k = 0; k < NB; k++)               \
                acc[k] = _mm256_fmadd_ps(xi, _mm256_loadu_ps(w + 8 * k), acc[k]); \
        }                                                                      \
        _Pragma("GCC unroll 8") for (int k = 0; k < NB; k++) _mm256_storeu_ps(y + 8 * k, acc[k]); \
    }
GEMV_BLOCK(8)
GEMV_BLOCK(4)
GEMV_BLOCK(1)

AVX2 static void gemv_t_avx2(float *y, const float *x, const float *wt, int nin, int nout)
{
    for (int o0 = 0; o0 < nout;) {
        int pw = wn__panel_width(nout - o0);
        if (pw == 64) gemv_block8(y + o0, x, wt, nin);
        else if (pw == 32) gemv_block4(y + o0, x, wt, nin);
        else if (pw == 8) gemv_block1(y + o0, x, wt, nin);
        else
            for (int o = 0; o < pw; o++) {
                float s = y[o0 + o];
                for (int i = 0; i < nin; i++) s = fmaf(x[i], wt[(size_t)i * pw + o], s);
                y[o0 + o] = s;
            }
        wt += (size_t)nin * pw;
        o0 += pw;
    }
}

/* Two rows share each weight load: 2 rows x 32 outputs per block, eight
 * accumulators, so the FMA chains over the inputs stay independent. */
AVX2 static void gemm_t_avx2(float *Y, int ldy, const float *X, int ldx, int B,
                             const float *wt, int nin, int nout)
{
    int b = 0;
    for (; b + 2 <= B; b += 2) {
        const float *x0 = X + (size_t)b * ldx, *x1 = x0 + ldx;
        float *y0 = Y + (size_t)b * ldy, *y1 = y0 + ldy;
        const float *p = wt;
        for (int o0 = 0; o0 < nout;) {
            int pw = wn__panel_width(nout - o0);
            if (pw >= 32) {
                for (int o = 0; o < pw; o += 32) {
                    const int c = o0 + o;
                    __m256 a0 = _mm256_loadu_ps(y0 + c), a1 = _mm256_loadu_ps(y0 + c + 8);
                    __m256 a2 = _mm256_loadu_ps(y0 + c + 16), a3 = _mm256_loadu_ps(y0 + c + 24);
                    __m256 b0 = _mm256_loadu_ps(y1 + c), b1 = _mm256_loadu_ps(y1 + c + 8);
                    __m256 b2 = _mm256_loadu_ps(y1 + c + 16), b3 = _mm256_loadu_ps(y1 + c + 24);
                    for (int i = 0; i < nin; i++) {
                        const float *w = p + (size_t)i * pw + o;
                        __m256 w0 = _mm256_loadu_ps(w), w1 = _mm256_loadu_ps(w + 8);
                        __m256 w2 = _mm256_loadu_ps(w + 16), w3 = _mm256_loadu_ps(w + 24);
                        __m256 u = _mm256_broadcast_ss(x0 + i), v = _mm256_broadcast_ss(x1 + i);
                        a0 = _mm256_fmadd_ps(u, w0, a0);
                        a1 = _mm256_fmadd_ps(u, w1, a1);
                        a2 = _mm256_fmadd_ps(u, w2, a2);
                        a3 = _mm256_fmadd_ps(u, w3, a3);
                        b0 = _mm256_fmadd_ps(v, w0, b0);
                        b1 = _mm256_fmadd_ps(v, w1, b1);
                        b2 = _mm256_fmadd_ps(v, w2, b2);
                        b3 = _mm256_fmadd_ps(v, w3, b3);
                    }
                    _mm256_storeu_ps(y0 + c, a0);
                    _mm256_storeu_ps(y0 + c + 8, a1);
                    _mm256_storeu_ps(y0 + c + 16, a2);
                    _mm256_storeu_ps(y0 + c + 24, a3);
                    _mm256_storeu_ps(y1 + c, b0);
                    _mm256_storeu_ps(y1 + c + 8, b1);
                    _mm256_storeu_ps(y1 + c + 16, b2);
                    _mm256_storeu_ps(y1 + c + 24, b3);
                }
            } else { /* narrow panels: row by row, as gemv does them */
                for (int r = 0; r < 2; r++) {
                    const float *x = r ? x1 : x0;
                    float *y = r ? y1 : y0;
                    if (pw == 8) {
                        gemv_block1(y + o0, x, p, nin);
                    } else {
                        for (int o = 0; o < pw; o++) {
                            float s = y[o0 + o];
                            for (int i = 0; i < nin; i++) s = fmaf(x[i], p[(size_t)i * pw + o], s);
                            y[o0 + o] = s;
                        }
                    }
                }
            }
            p += (size_t)nin * pw;
            o0 += pw;
        }
    }
    for (; b < B; b++) gemv_t_avx2(Y + (size_t)b * ldy, X + (size_t)b * ldx, wt, nin, nout);
}

/* exp(x) for x in [-87, 88]: 2^n * p(r), r = x - n ln2, a degree-6
 * polynomial on |r| <= ln2/2 (relative error ~2e-7). */
AVX2 static inline __m256 exp256(__m256 x)
{
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* tanh f = 1 - 2 / (exp(2f) + 1); sigmoid g = 1 / (1 + exp(-g)) */
AVX2 static inline void tanh_sigmoid256(__m256 f, __m256 g, __m256 *t, __m256 *s)
{
    const __m256 one = _mm256_set1_ps(1.0f), two = _mm256_set1_ps(2.0f);
    *t = _mm256_sub_ps(one, _mm256_div_ps(two, _mm256_add_ps(exp256(_mm256_add_ps(f, f)), one)));
    *s = _mm256_div_ps(one, _mm256_add_ps(one, exp256(_mm256_sub_ps(_mm256_setzero_ps(), g))));
}

AVX2 static void gate_avx2(float *z, const float *a, int D)
{
    int i = 0;
    for (; i + 8 <= D; i += 8) {
        __m256 t, s;
        tanh_sigmoid256(_mm256_loadu_ps(a + i), _mm256_loadu_ps(a + D + i), &t, &s);
        _mm256_storeu_ps(z + i, _mm256_mul_ps(t, s));
    }
    for (; i < D; i++) z[i] = tanhf(a[i]) / (1.0f + expf(-a[D + i]));
}

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
    for (; q < n; q++) {
        w[q] = expf((l[q] - mx) * s);
        sum += w[q];
    }
    return sum;
}

const wn__kern wn__kern_avx2 = {"avx2", gemv_t_avx2, gemm_t_avx2, gate_avx2, gate_ts_avx2,
                                 expsum_avx2};
#else
typedef int wn__no_avx2;
#endif
