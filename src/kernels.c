/* kernels.c - GEMM through the BLAS, and the scalar reference versions of
 * the per-sample kernels plus the run-time choice among the tables. */
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Our OpenMP threads each run their own products; a BLAS that also spawned
 * threads would oversubscribe the cores. */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static void blas_init(void) { openblas_set_num_threads(1); }

void wn__gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    pthread_once(&blas_once, blas_init);
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta,
                C, ldc);
}

/* ---- scalar reference (cblas.h pulls in complex.h, whose macro I
 * forbids that parameter name) */

int wn__panel_width(int rem)
{
    return rem >= 64 ? 64 : rem >= 32 ? 32 : rem >= 8 ? 8 : rem;
}

void wn__panel_pack(float *dst, const float *w, int nin, int nout)
{
    for (int o0 = 0; o0 < nout;) {
        int pw = wn__panel_width(nout - o0);
        for (int i = 0; i < nin; i++)
            for (int oo = 0; oo < pw; oo++) dst[(size_t)i * pw + oo] = w[(size_t)(o0 + oo) * nin + i];
        dst += (size_t)nin * pw;
        o0 += pw;
    }
}

static void gemv_t_scalar(float *restrict y, const float *restrict x,
                          const float *restrict wt, int nin, int nout)
{
    for (int o0 = 0; o0 < nout;) {
        int pw = wn__panel_width(nout - o0);
        for (int i = 0; i < nin; i++) {
            const float xi = x[i];
            const float *restrict w = wt + (size_t)i * pw;
            for (int o = 0; o < pw; o++) y[o0 + o] += xi * w[o];
        }
        wt += (size_t)nin * pw;
        o0 += pw;
    }
}

static void gemm_t_scalar(float *Y, int ldy, const float *X, int ldx, int B,
                          const float *wt, int nin, int nout)
{
    for (int b = 0; b < B; b++)
        gemv_t_scalar(Y + (size_t)b * ldy, X + (size_t)b * ldx, wt, nin, nout);
}

static void gate_scalar(float *z, const float *a, int D)
{
    for (int i = 0; i < D; i++) z[i] = tanhf(a[i]) / (1.0f + expf(-a[D + i]));
}

static void gate_ts_scalar(float *z, float *a, int D)
{
    for (int i = 0; i < D; i++) {
        a[i] = tanhf(a[i]);
        a[D + i] = 1.0f / (1.0f + expf(-a[D + i]));
        z[i] = a[i] * a[D + i];
    }
}

static double expsum_scalar(float *w, const float *l, int n, float mx, float s)
{
    double sum = 0;
    for (int q = 0; q < n; q++) {
        w[q] = expf((l[q] - mx) * s);
        sum += w[q];
    }
    return sum;
}

static const wn__kern scalar = {"scalar", gemv_t_scalar, gemm_t_scalar, gate_scalar,
                                gate_ts_scalar, expsum_scalar};

#if defined(__x86_64__) && defined(__GNUC__)
extern const wn__kern wn__kern_avx2;
static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

const wn__kern *wn__kernels_named(const char *name)
{
    if (!strcmp(name, "scalar")) return &scalar;
#if defined(__x86_64__) && defined(__GNUC__)
    if (!strcmp(name, "avx2") && have_avx2()) return &wn__kern_avx2;
#endif
    return NULL;
}

static const wn__kern *chosen;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static void choose(void)
{
    const char *force = getenv("WN_KERNELS");
    if (force && *force && (chosen = wn__kernels_named(force))) return;
    chosen = &scalar;
#if defined(__x86_64__) && defined(__GNUC__)
    if (have_avx2()) chosen = &wn__kern_avx2;
#endif
}

const wn__kern *wn__kernels(void)
{
    pthread_once(&choose_once, choose);
    return chosen;
}
