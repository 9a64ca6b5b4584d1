/* kernels_avx512.c - AVX-512 versions of the many-stream products (gemm_t,
 * gemm_t16), chosen at run time in kernels.c; everything else of that table
 * is the AVX2 code. Thirty-two 16-wide registers hold 4 rows x 64 outputs
 * of accumulators, so each weight loaded serves four streams and sixteen
 * FMA chains hide the FMA latency. Each output is still one FMA chain over
 * the inputs in order: every row is bitwise what one-row gemv gives. */
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx2,fma,f16c")))

/* single rows go to the AVX2 table (set by wn__kern_avx512_fill) */
static const wn__kern *one_row;

#define LOAD_F32(p) _mm512_loadu_ps(p)
#define LOAD_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))

/* NR rows x 16*NV outputs of a panel of width pw (a multiple of 16*NV),
 * reading NV strips (kernels.h) side by side */
#define PANEL(NAME, WT, LOAD, NR, NV)                                          \
    AVX512 static inline void NAME(float *const *y, const float *const *x, const WT *p, \
                                   int o0, int nin, int pw)                    \
    {                                                                          \
        for (int o = 0; o < pw; o += 16 * NV) {                                \
            __m512 a[NR][NV];                                                  \
            _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)               \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)           \
                    a[r][v] = _mm512_loadu_ps(y[r] + o0 + o + 16 * v);         \
            const WT *ws[NV]; /* input 0 of column o + 16v: a strip */       \
            _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)               \
                ws[v] = p + wn__panel_at(0, o + 16 * v, nin, WN_STRIP);        \
            for (int i = 0; i < nin; i++) {                                    \
                __m512 wv[NV];                                                 \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)           \
                    wv[v] = LOAD(ws[v] + (size_t)i * WN_STRIP);                \
                _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++) {         \
                    const __m512 u = _mm512_set1_ps(x[r][i]);                  \
                    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)       \
                        a[r][v] = _mm512_fmadd_ps(u, wv[v], a[r][v]);          \
                }                                                              \
            }                                                                  \
            _Pragma("GCC unroll 4") for (int r = 0; r < NR; r++)               \
                _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)           \
                    _mm512_storeu_ps(y[r] + o0 + o + 16 * v, a[r][v]);         \
        }                                                                      \
    }

#define GEMM_T(SUFFIX, WT, LOAD, ONE_ROW)                                      \
    PANEL(p4x64##SUFFIX, WT, LOAD, 4, 4)                                       \
    PANEL(p4x32##SUFFIX, WT, LOAD, 4, 2)                                       \
    PANEL(p2x64##SUFFIX, WT, LOAD, 2, 4)                                       \
    PANEL(p2x32##SUFFIX, WT, LOAD, 2, 2)                                       \
    AVX512 static void gemm_t##SUFFIX(float *Y, int ldy, const float *X, int ldx, int B, \
                                      const WT *wt, int nin, int nout)         \
    {                                                                          \
        const wn__kern *one = one_row;                                         \
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
                if (pw == 64) (nr == 4 ? p4x64##SUFFIX : p2x64##SUFFIX)(y, x, p, o0, nin, pw); \
                else if (pw == 32) (nr == 4 ? p4x32##SUFFIX : p2x32##SUFFIX)(y, x, p, o0, nin, pw); \
                else /* narrow panels: row by row, as one row does them */     \
                    for (int r = 0; r < nr; r++)                               \
                        one->ONE_ROW(y[r] + o0, 0, x[r], 0, 1, p, nin, pw);    \
                p += (size_t)nin * pw;                                         \
                o0 += pw;                                                      \
            }                                                                  \
            b += nr;                                                           \
        }                                                                      \
        if (b < B)                                                             \
            one->ONE_ROW(Y + (size_t)b * ldy, ldy, X + (size_t)b * ldx, ldx, 1, wt, nin, nout); \
    }

GEMM_T(_avx512, float, LOAD_F32, gemm_t)
GEMM_T(16_avx512, uint16_t, LOAD_F16, gemm_t16)

void wn__kern_avx512_fill(wn__kern *k)
{
    one_row = wn__kernels_named("avx2");
    k->name = "avx512";
    k->gemm_t = gemm_t_avx512;
    k->gemm_t16 = gemm_t16_avx512;
}
#else
typedef int wn__no_avx512;
#endif
