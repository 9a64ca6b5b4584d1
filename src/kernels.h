/* kernels.h - the matrix products every other module is built on. */
#ifndef WN_KERNELS_H
#define WN_KERNELS_H

#include <stddef.h>

/* C (M,N) = alpha * op(A) op(B) + beta * C, row-major; ta/tb = 1 transposes.
 * A BLAS (OpenBLAS) does the work, limited to one thread per call: our
 * callers parallelise over chunks and batch themselves. */
void wn__gemm(int ta, int tb, int M, int N, int K, float alpha, const float *A,
              int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* y[o] += sum_i x[i] * wt[i*O + o]: a matrix-vector product over a weight
 * stored input-major (the transposed, "axpy" layout), which vectorises
 * without reordering any sum, so results do not depend on the CPU's
 * vector width. */
void wn__gemv_t(float *y, const float *x, const float *wt, int I, int O);

#endif
