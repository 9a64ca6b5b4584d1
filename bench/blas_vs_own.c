/* blas_vs_own.c - issue 3 asks for a BLAS in training only if it beats our
 * own code: our batched generation kernel (wn__kernels()->gemm_t, weights
 * in panels) against OpenBLAS sgemm on one thread, on the products of a
 * training step and of scoring: Y (M, N) += X (M, K) W^T, W (N, K). */
#include "kernels.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(void)
{
    openblas_set_num_threads(1);
    const wn__kern *k = wn__kernels();
    /* rows x outputs x inputs: dilated (2D x R), res/skip (R or S x D), head */
    int shapes[][3] = {{10048, 64, 32}, {10048, 32, 32}, {8000, 128, 32}, {8000, 256, 128},
                       {8000, 128, 128}};
    for (int s = 0; s < 5; s++) {
        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
        float *X = malloc(4L * M * K), *W = malloc(4L * N * K), *P = malloc(4L * N * K);
        float *Y = calloc((size_t)M * N, 4);
        if (!X || !W || !P || !Y) return 1;
        for (long i = 0; i < (long)M * K; i++) X[i] = (float)(i % 13) * 1e-2f;
        for (long i = 0; i < (long)N * K; i++) W[i] = (float)(i % 7) * 1e-2f;
        wn__panel_pack(P, W, K, N);
        const int reps = 5;
        double t = now();
        for (int r = 0; r < reps; r++) k->gemm_t(Y, N, X, K, M, P, K, N);
        double t1 = (now() - t) / reps;
        t = now();
        for (int r = 0; r < reps; r++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1.0f, X, K, W, K, 1.0f,
                        Y, N);
        double t2 = (now() - t) / reps;
        double f = 2.0 * M * N * K;
        printf("M=%5d N=%3d K=%3d: ours (%s) %5.1f GFLOP/s, OpenBLAS %5.1f GFLOP/s\n", M, N, K,
               k->name, f / t1 / 1e9, f / t2 / 1e9);
        free(X), free(W), free(P), free(Y);
    }
    return 0;
}
