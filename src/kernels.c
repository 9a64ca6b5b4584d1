/* kernels.c - GEMM through the BLAS, and the small products of the
 * per-sample generation loop. */
#include "kernels.h"

#include <cblas.h>
#include <pthread.h>

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

/* (cblas.h pulls in complex.h, whose macro I forbids that parameter name) */
void wn__gemv_t(float *restrict y, const float *restrict x, const float *restrict wt,
                int nin, int nout)
{
    for (int i = 0; i < nin; i++) {
        const float xi = x[i];
        const float *restrict w = wt + (size_t)i * nout;
        for (int o = 0; o < nout; o++) y[o] += xi * w[o];
    }
}
