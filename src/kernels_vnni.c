/* kernels_vnni.c - the 8-bit product with AVX-512 VNNI (vpdpbusd on 256-bit
 * registers, which needs AVX512VL too): the AVX2 code of kernels_q8.inc
 * with each 4-product dot one instruction instead of three. Chosen at run
 * time in kernels.c for the avx512 table where the CPU has VNNI; the same
 * bits as the AVX2 and scalar products (test_kernels). */
#include "kernels.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <string.h>

#define Q8_ATTR __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni")))
#define Q8_VNNI 1
#define Q8_LINKAGE
#define Q8_GEMM wn__gemm_q8_vnni
void wn__gemm_q8_vnni(float *Y, int ldy, const float *bias, const uint8_t *U, int ldq,
                      const float *sx, int B, const int8_t *wq, const float *sw, int nin,
                      int nout);
#include "kernels_q8.inc"
#else
typedef int wn__no_vnni;
#endif
