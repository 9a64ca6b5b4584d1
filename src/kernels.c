/* kernels.c - GEMM through the BLAS, and the scalar reference versions of
 * the per-sample kernels plus the run-time choice among the tables. */
#include "kernels.h"
#include "wavenet.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Our OpenMP threads each run their own products; a BLAS that also spawned
 * threads would oversubscribe the cores. OpenBLAS has one count for the
 * whole process, so it is set once, at the first product, and only if the
 * caller has not taken it over (wn_set_blas_threads). */
static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static atomic_int blas_caller; /* 1: the caller chose; never set it here */
static void blas_init(void)
{
    /* setting a count starts OpenBLAS's thread pool if it is not running
     * yet, and with little address space its thread creation fails: when
     * the count is 1 already (OPENBLAS_NUM_THREADS=1, as the command asks
     * before OpenBLAS loads) there is nothing to set */
    if (!atomic_load(&blas_caller) && openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
}

/* Debian 12's OpenBLAS (0.3.21) picks its kernels by CPU model and, on a
 * model newer than it knows (Emerald Rapids, model 207), falls back to
 * Prescott's SSE3 ones: training then runs about 3x slower. It reads
 * OPENBLAS_CORETYPE only as it loads, so a program calls this first thing;
 * it names the best set the CPU runs and starts the program again. A
 * user's own OPENBLAS_CORETYPE is kept, and so is a run under valgrind,
 * which would stop following the program across the exec. */
void wn__blas_pick_core(char **argv)
{
#if defined(__x86_64__) || defined(__i386__)
    const char *core = openblas_get_corename();
    if (getenv("OPENBLAS_CORETYPE") || !core || strcmp(core, "Prescott")) return;
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload")) return;
    __builtin_cpu_init();
    const char *better = NULL;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        better = "SkylakeX";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        better = "Haswell";
    if (better && !setenv("OPENBLAS_CORETYPE", better, 1))
        execv("/proc/self/exe", argv); /* on failure: go on, slower */
#else
    (void)argv;
#endif
}

int wn_set_blas_threads(int n)
{
    if (n < 0) return WN_ERR_ARG;
    atomic_store(&blas_caller, 1);
    /* a first product running now in another thread finishes its
     * set-to-1 before this returns, so the caller's n is the last word */
    pthread_once(&blas_once, blas_init);
    if (n > 0) openblas_set_num_threads(n);
    return WN_OK;
}

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
            for (int oo = 0; oo < pw; oo++)
                dst[wn__panel_at(i, oo, nin, pw)] = w[(size_t)(o0 + oo) * nin + i];
        dst += (size_t)nin * pw;
        o0 += pw;
    }
}

uint16_t wn__f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t sign = u >> 16 & 0x8000, a = u & 0x7fffffff;
    if (a >= 0x7f800000) /* inf; NaN stays NaN (quiet, payload truncated) */
        return (uint16_t)(sign | 0x7c00 | (a > 0x7f800000 ? 0x200 | (a >> 13 & 0x3ff) : 0));
    if (a >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* >= 65520 rounds to inf */
    if (a < 0x38800000) { /* below 2^-14: a subnormal half, in units of 2^-24 */
        float v;
        memcpy(&v, &a, 4);
        return (uint16_t)(sign | (uint32_t)lrintf(v * 0x1p24f)); /* exact scaling, RNE */
    }
    uint32_t r = a - 0x38000000; /* rebias the exponent 127 -> 15 */
    r += 0xfff + (r >> 13 & 1);  /* round the 13 dropped bits to nearest even */
    return (uint16_t)(sign | r >> 13);
}

float wn__f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = h >> 10 & 0x1f, mant = h & 0x3ff, u;
    float f;
    if (e == 0x1f) u = sign | 0x7f800000 | mant << 13;
    else if (e) u = sign | (e + 112) << 23 | mant << 13;
    else {
        f = (float)mant * 0x1p-24f; /* zero or subnormal, exact */
        memcpy(&u, &f, 4);
        u |= sign;
    }
    memcpy(&f, &u, 4);
    return f;
}

void wn__panel_pack16(uint16_t *dst, const float *w, int nin, int nout)
{
    size_t n = (size_t)nin * nout;
    float *tmp = malloc(sizeof(float) * (n ? n : 1));
    if (!tmp) { /* pack element by element, without the staging copy */
        for (int o0 = 0; o0 < nout;) {
            int pw = wn__panel_width(nout - o0);
            for (int i = 0; i < nin; i++)
                for (int oo = 0; oo < pw; oo++)
                    dst[wn__panel_at(i, oo, nin, pw)] =
                        wn__f32_to_f16(w[(size_t)(o0 + oo) * nin + i]);
            dst += (size_t)nin * pw;
            o0 += pw;
        }
        return;
    }
    wn__panel_pack(tmp, w, nin, nout);
    for (size_t i = 0; i < n; i++) dst[i] = wn__f32_to_f16(tmp[i]);
    free(tmp);
}

static void gemv_t_scalar(float *restrict y, const float *restrict x,
                          const float *restrict wt, int nin, int nout)
{
    for (int o0 = 0; o0 < nout;) {
        const int pw = wn__panel_width(nout - o0), sw = pw < WN_STRIP ? pw : WN_STRIP;
        for (int s = 0; s < pw; s += sw)
            for (int i = 0; i < nin; i++) {
                const float xi = x[i];
                const float *restrict w = wt + wn__panel_at(i, s, nin, pw);
                for (int o = 0; o < sw; o++) y[o0 + s + o] += xi * w[o];
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

static void gemm_t16_scalar(float *Y, int ldy, const float *X, int ldx, int B,
                            const uint16_t *wt0, int nin, int nout)
{
    for (int b = 0; b < B; b++) {
        float *restrict y = Y + (size_t)b * ldy;
        const float *restrict x = X + (size_t)b * ldx;
        const uint16_t *wt = wt0;
        for (int o0 = 0; o0 < nout;) {
            const int pw = wn__panel_width(nout - o0), sw = pw < WN_STRIP ? pw : WN_STRIP;
            for (int s = 0; s < pw; s += sw)
                for (int i = 0; i < nin; i++) {
                    const float xi = x[i];
                    const uint16_t *restrict w = wt + wn__panel_at(i, s, nin, pw);
                    for (int o = 0; o < sw; o++) y[o0 + s + o] += xi * wn__f16_to_f32(w[o]);
                }
            wt += (size_t)nin * pw;
            o0 += pw;
        }
    }
}

static void gate_scalar(float *z, const float *a, int D, int rows)
{
    for (int r = 0; r < rows; r++, z += D, a += 2 * D)
        for (int i = 0; i < D; i++) z[i] = wn__gate1(a[i], a[D + i]);
}

static void gate_lo_scalar(float *z, const float *a, int D, int rows)
{
    for (int r = 0; r < rows; r++, z += D, a += 2 * D)
        for (int i = 0; i < D; i++) z[i] = wn__gate_lo1(a[i], a[D + i]);
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
    double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int q = 0;
    for (; q + 8 <= n; q += 8)
        for (int j = 0; j < 8; j++) {
            w[q + j] = wn__exp1((l[q + j] - mx) * s);
            lane[j] += w[q + j];
        }
    double sum = ((lane[0] + lane[4]) + (lane[1] + lane[5])) +
                 ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (; q < n; q++) {
        w[q] = wn__exp1((l[q] - mx) * s);
        sum += w[q];
    }
    return sum;
}

static float maxf_scalar(const float *l, int n)
{
    float mx = l[0];
    for (int q = 1; q < n; q++) mx = l[q] > mx ? l[q] : mx;
    return mx;
}

/* |w| summed over each set of inputs whose products one 16-bit lane of a
 * kernel sums (kernels.h): of each 8 inputs {0,1,4,5} and {2,3,6,7}, and
 * in an odd last group of 4 each pair; the largest such sum. */
static float q8_lane_max(const float *row, int nin)
{
    const int n4 = wn__round4(nin), n8 = n4 & ~7;
#define AT(i) ((i) < nin ? fabsf(row[i]) : 0.0f)
    float mx = 0;
    for (int g = 0; g < n8; g += 8)
        for (int h = 0; h < 4; h += 2)
            mx = fmaxf(mx, AT(g + h) + AT(g + h + 1) + AT(g + h + 4) + AT(g + h + 5));
    for (int i = n8; i < n4; i += 2) mx = fmaxf(mx, AT(i) + AT(i + 1));
#undef AT
    return mx;
}

void wn__pack_q8(int8_t *dst, float *scale, const float *w, int nin, int nout)
{
    const int n4 = wn__round4(nin), n8 = wn__round8(nout);
    memset(dst, 0, wn__q8_bytes(nin, nout));
    int32_t *share = (int32_t *)(void *)(dst + (size_t)n8 * n4);
    for (int o = 0; o < n8; o++) {
        const float *row = o < nout ? w + (size_t)o * nin : w;
        /* the scale: the largest |w| at 127, unless a lane's |w| would
         * then sum beyond WN_Q8_LANE - 2 (rounding adds up to 2 more) */
        float m = 0, lane = 0;
        if (o < nout) {
            for (int i = 0; i < nin; i++) m = fmaxf(m, fabsf(row[i]));
            lane = q8_lane_max(row, nin);
        }
        float sc = fmaxf(m / 127.0f, lane / (float)(WN_Q8_LANE - 2));
        scale[o] = sc >= 1e-30f / 127.0f ? sc : 0; /* 1 / sc must be finite */
        if (!(scale[o] > 0)) continue;
        const float inv = 1.0f / sc;
        int32_t sum = 0;
        for (int i = 0; i < nin; i++) {
            const int8_t q = (int8_t)lrintf(row[i] * inv);
            dst[wn__q8_at(i, o, n4)] = q;
            sum += q;
        }
        share[o] = -WN_Q8_OFFSET * sum;
    }
}

static float quant8_scalar(uint8_t *u, const float *x, int n)
{
    float m = 0;
    for (int i = 0; i < n; i++) m = fmaxf(m, fabsf(x[i]));
    const int n4 = wn__round4(n);
    if (!(m >= 1e-30f && m <= 3.4e38f)) { /* zero or infinite */
        memset(u, WN_Q8_OFFSET, (size_t)n4);
        return 0;
    }
    const float inv = (float)WN_Q8_XMAX / m;
    for (int i = 0; i < n; i++) u[i] = (uint8_t)(WN_Q8_OFFSET + lrintf(x[i] * inv));
    for (int i = n; i < n4; i++) u[i] = WN_Q8_OFFSET;
    return m / (float)WN_Q8_XMAX;
}

static void gemm_q8_scalar(float *Y, int ldy, const float *bias, const uint8_t *U, int ldq,
                           const float *sx, int B, const int8_t *wq, const float *sw, int nin,
                           int nout)
{
    const int n4 = wn__round4(nin);
    const int32_t *share = wn__q8_shares(wq, nin, nout);
    for (int b = 0; b < B; b++) {
        const uint8_t *u = U + (size_t)b * ldq;
        float *y = Y + (size_t)b * ldy;
        for (int o = 0; o < nout; o++) {
            int32_t acc = share[o];
            for (int i = 0; i < n4; i++) acc += (int32_t)u[i] * wq[wn__q8_at(i, o, n4)];
            y[o] = fmaf((float)acc, sx[b] * sw[o], bias ? bias[o] : y[o]);
        }
    }
}

static const wn__kern scalar = {"scalar",      gemv_t_scalar,  gemm_t_scalar, gemm_t16_scalar,
                                gate_scalar,   gate_ts_scalar, expsum_scalar, maxf_scalar,
                                quant8_scalar, gemm_q8_scalar, gate_lo_scalar};

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
extern const wn__kern wn__kern_avx2;
void wn__kern_avx512_fill(wn__kern *k);
static int have_avx2(void)
{
    __builtin_cpu_init();
    /* clang 14 does not know "f16c" in __builtin_cpu_supports: ask CPUID */
    unsigned a, b, c, d;
    int f16c = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}
void wn__gemm_q8_vnni(float *Y, int ldy, const float *bias, const uint8_t *U, int ldq,
                      const float *sx, int B, const int8_t *wq, const float *sw, int nin,
                      int nout);
/* AVX-512 VNNI with 256-bit registers (AVX512VL): CPUID leaf 7, EBX bit 31
 * and ECX bit 11 (clang 14 knows neither in __builtin_cpu_supports) */
static int have_vnni(void)
{
    unsigned a, b, c, d;
    return __builtin_cpu_supports("avx512f") && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
           (b & (1u << 31)) && (c & (1u << 11));
}
/* the AVX2 table with the many-stream products in AVX-512, and the 8-bit
 * products in VNNI where the CPU has it */
static wn__kern avx512;
static pthread_once_t avx512_once = PTHREAD_ONCE_INIT;
static void avx512_init(void)
{
    avx512 = wn__kern_avx2;
    wn__kern_avx512_fill(&avx512);
    if (have_vnni()) avx512.gemm_q8 = wn__gemm_q8_vnni;
}
static int have_avx512(void)
{
    return have_avx2() && __builtin_cpu_supports("avx512f");
}
#endif

const wn__kern *wn__kernels_named(const char *name)
{
    if (!strcmp(name, "scalar")) return &scalar;
#if defined(__x86_64__) && defined(__GNUC__)
    if (!strcmp(name, "avx2") && have_avx2()) return &wn__kern_avx2;
    if (!strcmp(name, "avx512") && have_avx512()) {
        pthread_once(&avx512_once, avx512_init);
        return &avx512;
    }
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
    if (have_avx512()) chosen = wn__kernels_named("avx512");
#endif
}

const wn__kern *wn__kernels(void)
{
    pthread_once(&choose_once, choose);
    return chosen;
}
