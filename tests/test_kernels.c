/* test_kernels.c - every kernel table this CPU runs against the scalar
 * reference (LPCNet's test_vec.c habit), on awkward sizes too. */
#include "testutil.h"
#include "kernels.h"

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_X86 1
/* the hardware conversions (F16C, round to nearest even) as the reference */
__attribute__((target("f16c"))) static float hw_f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }
__attribute__((target("f16c"))) static uint16_t hw_f32_to_f16(float f) { return _cvtss_sh(f, 0); }
static int have_f16c(void)
{
    /* CPUID, as src/kernels.c: clang 14's __builtin_cpu_supports has no "f16c" */
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}
#else
#define HAVE_X86 0
#endif

static float rnd(uint64_t *s) { return (float)(wn__uniform_for_tests(s) * 2 - 1); }
static uint32_t rnd32(uint64_t *s) { return (uint32_t)(wn__uniform_for_tests(s) * 4294967296.0); }
static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
static int is_nan_half(uint16_t h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff); }

static int pack_check(void)
{
    /* panels hold every weight exactly once */
    int nin = 5, nout = 107;
    float w[107 * 5], p[107 * 5];
    for (int i = 0; i < nin * nout; i++) w[i] = (float)i;
    wn__panel_pack(p, w, nin, nout);
    int seen[107 * 5] = {0};
    for (int i = 0; i < nin * nout; i++) seen[(int)p[i]]++;
    for (int i = 0; i < nin * nout; i++) CHECK(seen[i] == 1);
    return 0;
}

/* every half -> float against F16C; every non-NaN half survives the
 * round trip through float exactly (this part needs no F16C) */
static void f16_to_f32_check(void)
{
    int hw = HAVE_X86 && have_f16c(), bad = 0, bad_rt = 0;
    if (!hw) fprintf(stderr, "no F16C: half conversions checked by round trip only\n");
    for (uint32_t h = 0; h < 65536; h++) {
        float f = wn__f16_to_f32((uint16_t)h);
#if HAVE_X86
        if (hw) {
            float want = hw_f16_to_f32((uint16_t)h);
            int ok = isnan(want) ? isnan(f) : f_bits(f) == f_bits(want);
            if (!ok && bad++ < 5)
                fprintf(stderr, "f16_to_f32(0x%04x) = %a (0x%08x), F16C %a (0x%08x)\n",
                        (unsigned)h, f, f_bits(f), want, f_bits(want));
        }
#endif
        if (is_nan_half((uint16_t)h)) {
            CHECKF(isnan(f), "half 0x%04x is a NaN but gave %a", (unsigned)h, f);
            continue;
        }
        uint16_t back = wn__f32_to_f16(f);
        if (back != h && bad_rt++ < 5)
            fprintf(stderr, "half 0x%04x -> %a -> 0x%04x\n", (unsigned)h, f, (unsigned)back);
    }
    CHECKF(bad == 0, "%d halves convert differently from F16C", bad);
    CHECKF(bad_rt == 0, "%d halves do not round-trip", bad_rt);
    /* a few values that must hold whatever the hardware */
    CHECK(wn__f16_to_f32(0x3c00) == 1.0f && wn__f16_to_f32(0xc000) == -2.0f);
    CHECK(wn__f16_to_f32(0x7bff) == 65504.0f && wn__f16_to_f32(0x0001) == 0x1p-24f);
    CHECK(wn__f16_to_f32(0x7c00) == INFINITY && wn__f16_to_f32(0x8000) == 0 &&
          signbit(wn__f16_to_f32(0x8000)));
    CHECK(wn__f32_to_f16(1.0f) == 0x3c00 && wn__f32_to_f16(65520.0f) == 0x7c00 &&
          wn__f32_to_f16(0x1p-25f) == 0 && wn__f32_to_f16(3 * 0x1p-25f) == 2);
}

/* float -> half against F16C (_cvtss_sh, rounding mode 0) on the edge
 * cases of rounding, range and subnormals, then on random bit patterns */
static void f32_to_f16_check(void)
{
#if HAVE_X86
    if (!have_f16c()) {
        fprintf(stderr, "no F16C: float -> half not compared with hardware\n");
        return;
    }
    const float edge[] = {
        0.0f, 1.0f, 2.0f, 0.5f, 0.1f, 1.0f / 3, 3.14159265f,
        0x1p-24f, 0x1p-25f, 0x1.8p-24f, 0x1p-26f, 3 * 0x1p-25f, 5 * 0x1p-25f, /* subnormal halves, ties */
        1023 * 0x1p-24f, 1023.5f * 0x1p-24f, 0x1p-14f, 0x1.004p-14f,   /* largest subnormal, smallest normal */
        1 + 0x1p-11f, 1 + 3 * 0x1p-11f, 1 + 0x1p-10f, 1 + 5 * 0x1p-11f, /* ties: even and odd mantissa */
        2049.0f, 2051.0f, 2047.5f, 1025.5f, 1026.5f, 4095.0f, 32767.0f, /* ties, one carrying into the exponent */
        65504.0f, 65505.0f, 65519.0f, 65519.99f, 65520.0f, 65536.0f, 1e10f, FLT_MAX,
        INFINITY, 1e-8f, 2.98e-8f, 2.9802322e-8f, 5.96e-8f, 5.9604645e-8f, 6.1035156e-5f, 6.1e-5f,
        FLT_MIN, FLT_TRUE_MIN, 1e-40f, 1e-45f, 0x1p-127f, 0x1.fffffep-127f};
    int bad = 0, n = 0;
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
        for (int sg = 0; sg < 2; sg++)
            for (int nb = -1; nb <= 1; nb++) { /* the value and its float neighbours */
                float x = sg ? -edge[i] : edge[i];
                if (nb) x = nextafterf(x, nb < 0 ? -INFINITY : INFINITY);
                uint16_t got = wn__f32_to_f16(x), want = hw_f32_to_f16(x);
                n++;
                if (got != want && bad++ < 10)
                    fprintf(stderr, "f32_to_f16(%a = %.9g) = 0x%04x, F16C 0x%04x\n", x, x,
                            (unsigned)got, (unsigned)want);
            }
    CHECKF(bad == 0, "%d of %d edge cases differ from F16C", bad, n);
    /* random floats: fully random bits (mostly far out of half range), and
     * bits with exponents around the half range, with a random low mantissa
     * so that ties come up too */
    uint64_t s = 12345;
    int rb = 0;
    for (int i = 0; i < 1000000; i++) {
        uint32_t u = rnd32(&s);
        if (i % 2) u = (u & 0x807fffff) | (uint32_t)(96 + (u >> 3) % 50) << 23; /* 2^-31 .. 2^18 */
        if (i % 8 == 1) u &= ~(uint32_t)0xfff;                             /* ties and exact halves */
        float x = bits_f(u);
        if (isnan(x)) continue;
        uint16_t got = wn__f32_to_f16(x), want = hw_f32_to_f16(x);
        if (got != want && rb++ < 10)
            fprintf(stderr, "f32_to_f16(%a = %.9g) = 0x%04x, F16C 0x%04x\n", x, x,
                    (unsigned)got, (unsigned)want);
    }
    CHECKF(rb == 0, "%d random floats differ from F16C", rb);
#endif
}

/* Shapes of the half-weight and row-blocking tests: every panel width
 * (64, 32, 8, narrow) alone and mixed, and tiny inputs. */
static const int shapes[][2] = {
    {1, 1}, {3, 7}, {64, 64}, {32, 160}, {128, 256}, {5, 107}, {17, 72}, {128, 1000},
    {1, 8}, {1, 24}, {1, 32}, {1, 40}, {1, 64}, {1, 160}, {1, 256},
    {7, 8}, {7, 24}, {7, 32}, {7, 40}, {7, 64}, {7, 160}, {7, 256},
    {32, 8}, {32, 24}, {32, 32}, {32, 40}, {32, 64}, {32, 160}, {32, 256},
    {64, 8}, {64, 24}, {64, 32}, {64, 40}, {64, 64}, {64, 160}, {64, 256}, {33, 99}};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

/* Random weights as halves (some tiny enough to be subnormal halves), the
 * same values as floats, both packed. */
static void half_weights(uint64_t *s, int nin, int nout, float **w32, float **p32,
                         uint16_t **p16)
{
    size_t n = (size_t)nin * nout;
    float *w = malloc(sizeof(float) * n);
    *p32 = malloc(sizeof(float) * n);
    *p16 = malloc(sizeof(uint16_t) * n);
    REQUIRE(w && *p32 && *p16);
    for (size_t i = 0; i < n; i++) {
        float v = rnd(s) * (i % 13 == 5 ? 1e-5f : 1.0f);
        w[i] = wn__f16_to_f32(wn__f32_to_f16(v));
    }
    wn__panel_pack(*p32, w, nin, nout);
    wn__panel_pack16(*p16, w, nin, nout);
    *w32 = w;
}

/* gemm_t16 of every table against the scalar one, and bit for bit against
 * the same table's gemm_t on the weights converted back to float (so a
 * generator with half weights computes exactly the rounded model) */
static void gemm16_check(void)
{
    const wn__kern *ref = wn__kernels_named("scalar");
    const char *names[] = {"scalar", "avx2", "avx512"};
    uint64_t s = 77;
    /* pack16 is pack, then the conversion */
    {
        int nin = 7, nout = 107;
        float w[7 * 107], p[7 * 107];
        uint16_t h[7 * 107];
        for (int i = 0; i < nin * nout; i++) w[i] = rnd(&s) * 3;
        wn__panel_pack(p, w, nin, nout);
        wn__panel_pack16(h, w, nin, nout);
        int bad = 0;
        for (int i = 0; i < nin * nout; i++) bad += h[i] != wn__f32_to_f16(p[i]);
        CHECKF(bad == 0, "panel_pack16: %d weights differ from pack + convert", bad);
    }
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        const wn__kern *k = wn__kernels_named(names[n]);
        if (!k) continue;
        double worst = 0;
        for (int z = 0; z < NSHAPES; z++) {
            const int nin = shapes[z][0], nout = shapes[z][1], B = 7, ldx = nin + 3, ldy = nout + 2;
            float *w, *p32;
            uint16_t *p16;
            half_weights(&s, nin, nout, &w, &p32, &p16);
            float *x = malloc(sizeof(float) * B * ldx), *y0 = malloc(sizeof(float) * B * ldy);
            float *y16 = malloc(sizeof(float) * B * ldy), *y32 = malloc(sizeof(float) * B * ldy);
            float *yr = malloc(sizeof(float) * B * ldy);
            REQUIRE(x && y0 && y16 && y32 && yr);
            for (int i = 0; i < B * ldx; i++) x[i] = rnd(&s);
            for (int i = 0; i < B * ldy; i++) y0[i] = y16[i] = y32[i] = yr[i] = rnd(&s);
            k->gemm_t16(y16, ldy, x, ldx, B, p16, nin, nout);
            k->gemm_t(y32, ldy, x, ldx, B, p32, nin, nout);
            ref->gemm_t16(yr, ldy, x, ldx, B, p16, nin, nout);
            CHECKF(!memcmp(y16, y32, sizeof(float) * B * ldy),
                   "%s gemm_t16 differs from gemm_t on the same weights (%dx%d)", k->name, nin,
                   nout);
            for (int b = 0; b < B; b++) {
                const float *yb = y16 + (size_t)b * ldy;
                worst = fmax(worst, tu_maxrel(yb, yr + (size_t)b * ldy, (size_t)nout));
                /* and against a double reference */
                for (int o = 0; o < nout; o++) {
                    double r = y0[(size_t)b * ldy + o];
                    for (int i = 0; i < nin; i++)
                        r += (double)x[(size_t)b * ldx + i] * w[(size_t)o * nin + i];
                    worst = fmax(worst, fabs(yb[o] - r) / (1 + fabs(r)));
                }
                for (int o = nout; o < ldy; o++) CHECK(yb[o] == y0[(size_t)b * ldy + o]);
            }
            free(w), free(p32), free(p16), free(x), free(y0), free(y16), free(y32), free(yr);
        }
        CHECKF(worst < 1e-5, "%s gemm_t16: %g", k->name, worst);
        fprintf(stderr, "%s: gemm_t16 %.2g\n", k->name, worst);
    }
}

/* For B = 1..9 (row blocks of 4, 2 and 1 in every mix) each row of gemm_t
 * and gemm_t16 equals, bit for bit, that row computed alone: a stream's
 * numbers must not depend on how many streams run beside it. Strides are
 * wider than the rows, and the gaps must stay untouched. */
static void rows_check(void)
{
    const char *names[] = {"scalar", "avx2", "avx512"};
    uint64_t s = 99;
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        const wn__kern *k = wn__kernels_named(names[n]);
        if (!k) continue;
        int bad = 0, bad16 = 0, gap = 0, tried = 0;
        for (int z = 0; z < NSHAPES; z++) {
            const int nin = shapes[z][0], nout = shapes[z][1], ldx = nin + 5, ldy = nout + 3;
            float *w, *p32;
            uint16_t *p16;
            half_weights(&s, nin, nout, &w, &p32, &p16);
            /* float weights that are not halves for gemm_t */
            for (int i = 0; i < nin * nout; i++) w[i] = rnd(&s);
            wn__panel_pack(p32, w, nin, nout);
            float *x = malloc(sizeof(float) * 9 * ldx), *y0 = malloc(sizeof(float) * 9 * ldy);
            float *y = malloc(sizeof(float) * 9 * ldy), *y16 = malloc(sizeof(float) * 9 * ldy);
            float *r = malloc(sizeof(float) * nout);
            REQUIRE(x && y0 && y && y16 && r);
            for (int i = 0; i < 9 * ldx; i++) x[i] = rnd(&s);
            for (int i = 0; i < 9 * ldy; i++) y0[i] = rnd(&s);
            for (int B = 1; B <= 9; B++) {
                memcpy(y, y0, sizeof(float) * 9 * ldy);
                memcpy(y16, y0, sizeof(float) * 9 * ldy);
                k->gemm_t(y, ldy, x, ldx, B, p32, nin, nout);
                k->gemm_t16(y16, ldy, x, ldx, B, p16, nin, nout);
                for (int b = 0; b < B; b++) {
                    const float *xb = x + (size_t)b * ldx, *yb0 = y0 + (size_t)b * ldy;
                    memcpy(r, yb0, sizeof(float) * nout);
                    k->gemv_t(r, xb, p32, nin, nout);
                    if (memcmp(r, y + (size_t)b * ldy, sizeof(float) * nout) && bad++ < 5)
                        fprintf(stderr, "%s gemm_t row %d of B=%d differs from gemv_t (%dx%d)\n",
                                k->name, b, B, nin, nout);
                    memcpy(r, yb0, sizeof(float) * nout);
                    k->gemm_t16(r, nout, xb, nin, 1, p16, nin, nout);
                    if (memcmp(r, y16 + (size_t)b * ldy, sizeof(float) * nout) && bad16++ < 5)
                        fprintf(stderr, "%s gemm_t16 row %d of B=%d differs from B=1 (%dx%d)\n",
                                k->name, b, B, nin, nout);
                    tried++;
                }
                /* the gaps between rows and the rows past B are not written */
                for (int b = 0; b < 9; b++)
                    for (int o = b < B ? nout : 0; o < ldy; o++) {
                        size_t i = (size_t)b * ldy + o;
                        gap += f_bits(y[i]) != f_bits(y0[i]) || f_bits(y16[i]) != f_bits(y0[i]);
                    }
            }
            free(w), free(p32), free(p16), free(x), free(y0), free(y), free(y16), free(r);
        }
        CHECKF(bad == 0, "%s: %d of %d gemm_t rows differ from gemv_t", k->name, bad, tried);
        CHECKF(bad16 == 0, "%s: %d of %d gemm_t16 rows differ from B=1", k->name, bad16, tried);
        CHECKF(gap == 0, "%s: %d values outside the rows written", k->name, gap);
    }
}

/* The int8 products (WN_PRECISION_I8): pack and quant8 round as
 * documented; every table gives the scalar table's bits (the sums are
 * exact integers), whatever the rows beside a row; the worst case of the
 * sums (every input and weight at its largest, of either sign) is still
 * exact (no 16-bit saturation); and the result is the float product to
 * within the rounding of x and w. */
static float b_sign(int b) { return b % 3 == 1 ? -1.0f : 1.0f; }

static void q8_check(void)
{
    const wn__kern *ref = wn__kernels_named("scalar");
    const char *names[] = {"scalar", "avx2", "avx512"};
    uint64_t s = 11;
    /* pack: a row's largest |w| becomes +-127, the rest round to even */
    {
        float w[2 * 5] = {0.5f, -1.0f, 0.25f, 0.0f, 1.0f / 254, 0, 0, 0, 0, 0};
        _Alignas(4) int8_t q[8 * (8 + 4)];
        float sc[8];
        REQUIRE(wn__q8_bytes(5, 2) == sizeof q);
        wn__pack_q8(q, sc, w, 5, 2);
        CHECK(sc[0] == 1.0f / 127 && sc[1] == 0 && sc[2] == 0 && sc[7] == 0);
        const int32_t *share = wn__q8_shares(q, 5, 2); /* -64 x each output's sum */
        CHECK(share[0] == -64 * (64 - 127 + 32 + 0 + 0) && share[1] == 0 && share[7] == 0);
        CHECK(q[wn__q8_at(0, 0, 8)] == 64 && q[wn__q8_at(1, 0, 8)] == -127);
        CHECK(q[wn__q8_at(2, 0, 8)] == 32 && q[wn__q8_at(4, 0, 8)] == 0); /* 0.5 to even */
        for (int i = 5; i < 8; i++) CHECK(q[wn__q8_at(i, 0, 8)] == 0);   /* padding */
        for (int i = 0; i < 8; i++) CHECK(q[wn__q8_at(i, 1, 8)] == 0);   /* an all-zero row */
    }
    /* pack: the four |w| a 16-bit lane sums stay within WN_Q8_LANE even
     * when rounding adds to each. {127,127,127,131}/128 at inputs 0,1,4,5:
     * the lane sums 4, so the scale is 4/256 and the quotients 63.5, 63.5,
     * 63.5 and 65.5 round (to even) to 64, 64, 64 and 66: 258. With every
     * input at 127 that lane is 32766, the most a 16-bit sum can hold
     * below saturation; every table must still agree with the scalar one. */
    {
        float w[8 * 8] = {0};
        const float v[4] = {127.0f / 128, 127.0f / 128, 127.0f / 128, 131.0f / 128};
        const int at[4] = {0, 1, 4, 5};
        for (int o = 0; o < 8; o++)
            for (int k = 0; k < 4; k++) w[o * 8 + at[k]] = o % 2 ? -v[k] : v[k];
        _Alignas(4) int8_t q[8 * (8 + 4)];
        float sc[8], x[8] = {1, 1, 1, 1, 1, 1, 1, 1};
        wn__pack_q8(q, sc, w, 8, 8);
        CHECK(sc[0] == 1.0f / 64);
        int lane = 0;
        for (int k = 0; k < 4; k++) lane += abs(q[wn__q8_at(at[k], 0, 8)]);
        CHECKF(lane == WN_Q8_LANE, "lane sum %d, expected %d", lane, WN_Q8_LANE);
        for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
            const wn__kern *k = wn__kernels_named(names[n]);
            if (!k) continue;
            uint8_t u[8];
            const float su = k->quant8(u, x, 8);
            CHECK(u[0] == 127 && u[7] == 127);
            float y[8] = {0};
            k->gemm_q8(y, 8, NULL, u, 8, &su, 1, q, sc, 8, 8);
            for (int o = 0; o < 8; o++) /* 258 x 63 x (1/63) x (1/64), exactly */
                CHECKF(y[o] == (o % 2 ? -258.0f / 64 : 258.0f / 64), "%s gemm_q8 lane bound: %g",
                       k->name, (double)y[o]);
        }
    }
    /* pack: random rows of every shape keep each |q| <= 127 and each
     * lane's sum <= WN_Q8_LANE */
    for (int z = 0; z < NSHAPES; z++) {
        const int nin = shapes[z][0], nout = shapes[z][1], n4 = wn__round4(nin);
        float *w = malloc(sizeof(float) * (size_t)nin * nout), *sc = malloc(sizeof(float) * (size_t)wn__round8(nout));
        int8_t *q = malloc(wn__q8_bytes(nin, nout));
        REQUIRE(w && sc && q);
        for (int i = 0; i < nin * nout; i++) w[i] = rnd(&s) * (i % 7 == 0 ? 4.0f : 1.0f);
        wn__pack_q8(q, sc, w, nin, nout);
        for (int o = 0; o < nout; o++)
            for (int g = 0; g < n4; g += 8)
                for (int h = 0; h < 4; h += 2) {
                    const int odd = g + 8 > n4; /* an odd last group: pairs */
                    const int lane_in[4] = {g + h, g + h + 1, g + h + 4, g + h + 5};
                    int sum = 0;
                    for (int k = 0; k < (odd ? 2 : 4); k++) {
                        const int qi = q[wn__q8_at(lane_in[k], o, n4)];
                        CHECK(qi >= -127 && qi <= 127);
                        sum += abs(qi);
                    }
                    CHECKF(sum <= WN_Q8_LANE, "lane sum %d (%dx%d)", sum, nin, nout);
                }
        free(w), free(sc), free(q);
    }
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        const wn__kern *k = wn__kernels_named(names[n]);
        if (!k) continue;
        /* quant8 against the scalar table, on every length up to 130 */
        uint8_t q0[136], q1[136];
        float x[136];
        for (int len = 1; len <= 130; len++)
            for (int t = 0; t < 4; t++) {
                for (int i = 0; i < len; i++) x[i] = rnd(&s) * (t == 1 ? 1e-3f : 3.0f);
                if (t == 2) x[len / 2] = 200.0f; /* one large value */
                if (t == 3) memset(x, 0, sizeof(float) * (size_t)len);
                memset(q0, 0x55, sizeof q0);
                memset(q1, 0x55, sizeof q1);
                float s0 = ref->quant8(q0, x, len), s1 = k->quant8(q1, x, len);
                CHECKF(s0 == s1 && !memcmp(q0, q1, (size_t)wn__round4(len)),
                       "%s quant8 differs from scalar, n=%d", k->name, len);
                CHECK(q1[wn__round4(len)] == 0x55); /* nothing written beyond */
                for (int i = 0; i < len; i++)
                    CHECKF(q1[i] >= 1 && q1[i] <= 127 &&
                               fabsf((q1[i] - 64) * s1 - x[i]) <= 0.5f * s1 * 1.0001f,
                           "quant8 n=%d", len);
                for (int i = len; i < wn__round4(len); i++) CHECK(q1[i] == 64);
                if (t == 3) CHECK(s1 == 0);
            }
        double worst = 0;
        for (int z = 0; z < NSHAPES; z++) {
            const int nin = shapes[z][0], nout = shapes[z][1], n4 = wn__round4(nin);
            const int n8 = wn__round8(nout);
            for (int B = 1; B <= 9; B += 1 + (B >= 3)) { /* 1, 2, 3 (tiles of < 4 rows), 5, 7, 9 */
                const int ldy = nout + 3;
                float *w = malloc(sizeof(float) * (size_t)nin * nout);
                float *xs = malloc(sizeof(float) * (size_t)B * nin), *sx = malloc(sizeof(float) * B);
                int8_t *wq = malloc(wn__q8_bytes(nin, nout));
                uint8_t *xq = malloc((size_t)B * n4);
                float *sw = malloc(sizeof(float) * n8);
                float *y0 = malloc(sizeof(float) * (size_t)B * ldy), *y1 = malloc(sizeof(float) * (size_t)B * ldy);
                float *y2 = malloc(sizeof(float) * (size_t)B * ldy);
                REQUIRE(w && xs && sx && wq && xq && sw && y0 && y1 && y2);
                const int extreme = z % 5 == 0;
                /* extreme: every product at +-127 x 63 with the same sign, so
                 * each 16-bit pair sum is as large as it gets */
                for (int i = 0; i < nin * nout; i++)
                    w[i] = extreme ? ((i / nin) % 2 ? 1.0f : -1.0f) : rnd(&s);
                for (int i = 0; i < B * nin; i++) xs[i] = extreme ? (b_sign(i / nin) * 2.0f) : rnd(&s);
                for (int i = 0; i < B * ldy; i++) y0[i] = y1[i] = y2[i] = rnd(&s);
                wn__pack_q8(wq, sw, w, nin, nout);
                for (int b = 0; b < B; b++)
                    sx[b] = k->quant8(xq + (size_t)b * n4, xs + (size_t)b * nin, nin);
                k->gemm_q8(y1, ldy, NULL, xq, n4, sx, B, wq, sw, nin, nout);
                ref->gemm_q8(y2, ldy, NULL, xq, n4, sx, B, wq, sw, nin, nout);
                CHECKF(!memcmp(y1, y2, sizeof(float) * (size_t)B * ldy),
                       "%s gemm_q8 differs from scalar (%dx%d, B=%d)", k->name, nin, nout, B);
                { /* from a bias: the bits of the bias copied into every row first */
                    float *bias = malloc(sizeof(float) * (size_t)nout);
                    float *y3 = malloc(sizeof(float) * (size_t)B * ldy);
                    float *y4 = malloc(sizeof(float) * (size_t)B * ldy);
                    REQUIRE(bias && y3 && y4);
                    for (int o = 0; o < nout; o++) bias[o] = rnd(&s);
                    memcpy(y3, y0, sizeof(float) * (size_t)B * ldy);
                    memcpy(y4, y0, sizeof(float) * (size_t)B * ldy);
                    for (int b = 0; b < B; b++)
                        memcpy(y4 + (size_t)b * ldy, bias, sizeof(float) * (size_t)nout);
                    ref->gemm_q8(y4, ldy, NULL, xq, n4, sx, B, wq, sw, nin, nout);
                    k->gemm_q8(y3, ldy, bias, xq, n4, sx, B, wq, sw, nin, nout);
                    CHECKF(!memcmp(y3, y4, sizeof(float) * (size_t)B * ldy),
                           "%s gemm_q8 from a bias differs from the bias copied (%dx%d, B=%d)",
                           k->name, nin, nout, B);
                    free(bias), free(y3), free(y4);
                }
                for (int b = 0; b < B; b++) { /* each row as if alone */
                    float *yr = malloc(sizeof(float) * ldy);
                    REQUIRE(yr);
                    memcpy(yr, y0 + (size_t)b * ldy, sizeof(float) * ldy);
                    k->gemm_q8(yr, ldy, NULL, xq + (size_t)b * n4, n4, sx + b, 1, wq, sw, nin, nout);
                    CHECKF(!memcmp(yr, y1 + (size_t)b * ldy, sizeof(float) * ldy),
                           "%s gemm_q8 row %d of %d differs from the row alone (%dx%d)", k->name, b,
                           B, nin, nout);
                    free(yr);
                    for (int o = 0; o < nout; o++) {
                        /* the exact sum of the rounded values, then the float one */
                        double exact = y0[(size_t)b * ldy + o], want = exact, bound = 0;
                        for (int i = 0; i < nin; i++) {
                            const double xi = xs[(size_t)b * nin + i], wi = w[(size_t)o * nin + i];
                            exact += (double)(xq[(size_t)b * n4 + i] - 64) * sx[b] *
                                     (double)wq[wn__q8_at(i, o, n4)] * sw[o];
                            want += xi * wi;
                            bound += 0.5 * sx[b] * fabs(wi) + 0.5 * sw[o] * fabs(xi) + 0.25 * sx[b] * sw[o];
                        }
                        const double got = y1[(size_t)b * ldy + o];
                        CHECKF(fabs(got - exact) <= 1e-6 * (1 + fabs(exact)),
                               "%s gemm_q8 (%dx%d) output %d: %g, exact %g", k->name, nin, nout, o,
                               got, exact);
                        CHECKF(fabs(got - want) <= bound * 1.01 + 1e-6 * (1 + fabs(want)),
                               "%s gemm_q8 (%dx%d): %g vs float %g beyond the rounding bound %g",
                               k->name, nin, nout, got, want, bound);
                        worst = fmax(worst, fabs(got - want) / (1 + fabs(want)));
                    }
                    CHECK(y1[(size_t)b * ldy + nout] == y0[(size_t)b * ldy + nout]); /* untouched */
                }
                free(w), free(xs), free(sx), free(wq), free(xq), free(sw), free(y0), free(y1), free(y2);
            }
        }
        fprintf(stderr, "%s: gemm_q8 vs float %.2g (relative to 1 + |y|)\n", k->name, worst);
    }
}

int main(void)
{
    pack_check();
    q8_check();
    f16_to_f32_check();
    f32_to_f16_check();
    gemm16_check();
    rows_check();
    const wn__kern *ref = wn__kernels_named("scalar");
    REQUIRE(ref && wn__kernels());
    fprintf(stderr, "chosen kernels: %s\n", wn__kernels()->name);
    const char *names[] = {"scalar", "avx2", "avx512"};
    uint64_t s = 1;
    int sizes[][2] = {{1, 1}, {3, 7}, {64, 64}, {32, 160}, {128, 256}, {5, 107}, {17, 72}, {128, 1000}};
    for (size_t n = 0; n < sizeof names / sizeof names[0]; n++) {
        const wn__kern *k = wn__kernels_named(names[n]);
        if (!k) {
            fprintf(stderr, "%s: not available on this CPU, skipped\n", names[n]);
            continue;
        }
        double worst = 0;
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            int nin = sizes[z][0], nout = sizes[z][1], B = 7;
            float *w = malloc(sizeof(float) * nin * nout), *p = malloc(sizeof(float) * nin * nout);
            float *x = malloc(sizeof(float) * B * (nin + 3)), *y0 = malloc(sizeof(float) * B * (nout + 2));
            float *y1 = malloc(sizeof(float) * B * (nout + 2));
            for (int i = 0; i < nin * nout; i++) w[i] = rnd(&s);
            for (int i = 0; i < B * (nin + 3); i++) x[i] = rnd(&s);
            for (int i = 0; i < B * (nout + 2); i++) y0[i] = y1[i] = rnd(&s);
            wn__panel_pack(p, w, nin, nout);
            /* gemv against a naive double reference */
            float *yv = malloc(sizeof(float) * nout);
            memcpy(yv, y0, sizeof(float) * nout);
            k->gemv_t(yv, x, p, nin, nout);
            for (int o = 0; o < nout; o++) {
                double r = y0[o];
                for (int i = 0; i < nin; i++) r += (double)x[i] * w[(size_t)o * nin + i];
                worst = fmax(worst, fabs(yv[o] - r) / (1 + fabs(r)));
            }
            /* gemm rows equal gemv row by row, bit for bit (the stream split
             * among threads must not change any stream's numbers) */
            k->gemm_t(y1, nout + 2, x, nin + 3, B, p, nin, nout);
            for (int b = 0; b < B; b++) {
                float *yr = malloc(sizeof(float) * nout);
                memcpy(yr, y0 + (size_t)b * (nout + 2), sizeof(float) * nout);
                k->gemv_t(yr, x + (size_t)b * (nin + 3), p, nin, nout);
                CHECKF(!memcmp(yr, y1 + (size_t)b * (nout + 2), sizeof(float) * nout),
                       "%s gemm row %d differs from gemv (%dx%d)", k->name, b, nin, nout);
                CHECK(y1[(size_t)b * (nout + 2) + nout] == y0[(size_t)b * (nout + 2) + nout]);
                free(yr);
            }
            free(w), free(p), free(x), free(y0), free(y1), free(yv);
        }
        CHECKF(worst < 1e-5, "%s gemv: %g", k->name, worst);
        /* gate and expsum against libm in double */
        float a[2 * 37], z[37], zr[37];
        double gw = 0;
        for (int t = 0; t < 200; t++) {
            for (int i = 0; i < 74; i++) a[i] = rnd(&s) * (t < 100 ? 4 : 40);
            k->gate(z, a, 37, 1);
            ref->gate(zr, a, 37, 1);
            for (int i = 0; i < 37; i++) {
                double want = tanh(a[i]) / (1 + exp(-(double)a[37 + i]));
                gw = fmax(gw, fabs(z[i] - want));
            }
        }
        CHECKF(gw < 2e-6, "%s gate: %g", k->name, gw);
        /* several rows in one call: each row as if alone, bit for bit */
        const int Ds[3] = {24, 32, 37};
        for (int di = 0; di < 3; di++)
            for (int rows = 1; rows <= 5; rows++) {
                const int Dg = Ds[di];
                float ag[5 * 2 * 37], zg[5 * 37], z1[37];
                for (int i = 0; i < rows * 2 * Dg; i++) ag[i] = rnd(&s) * 6;
                k->gate(zg, ag, Dg, rows);
                for (int r = 0; r < rows; r++) {
                    k->gate(z1, ag + (size_t)r * 2 * Dg, Dg, 1);
                    CHECKF(!memcmp(z1, zg + (size_t)r * Dg, sizeof(float) * (size_t)Dg),
                           "%s gate row %d of %d (D=%d) differs from the row alone", k->name, r,
                           rows, Dg);
                }
            }
        /* gate_lo: within 1e-5 of the gate over the whole range, clamps
         * included, and each row as if alone */
        {
            enum { DL = 40, RL = 6 };
            float al[RL * 2 * DL], zl[RL * DL], z1[DL];
            double lw = 0;
            for (int t = 0; t < 200; t++) {
                for (int i = 0; i < RL * 2 * DL; i++)
                    al[i] = rnd(&s) * (t % 4 == 0 ? 100.0f : t % 4 == 1 ? 12.0f : 3.0f);
                const int Dl = t % 2 ? DL : 32, rows = 1 + t % RL;
                k->gate_lo(zl, al, Dl, rows);
                for (int r = 0; r < rows; r++)
                    for (int i = 0; i < Dl; i++) {
                        const double f = al[(size_t)r * 2 * Dl + i], g = al[(size_t)r * 2 * Dl + Dl + i];
                        lw = fmax(lw, fabs(zl[(size_t)r * Dl + i] - tanh(f) / (1 + exp(-g))));
                    }
                k->gate_lo(z1, al + (size_t)(rows - 1) * 2 * Dl, Dl, 1);
                CHECKF(!memcmp(z1, zl + (size_t)(rows - 1) * Dl, sizeof(float) * (size_t)Dl),
                       "%s gate_lo: the last of %d rows differs from the row alone", k->name, rows);
            }
            CHECKF(lw < 1e-5, "%s gate_lo: %g", k->name, lw);
            fprintf(stderr, "%s: gate_lo %.2g\n", k->name, lw);
        }
        float l[300], wq[300];
        double ew = 0;
        for (int t = 0; t < 50; t++) {
            float mx = -1e30f;
            for (int i = 0; i < 300; i++) {
                l[i] = rnd(&s) * 30;
                mx = fmaxf(mx, l[i]);
            }
            float sc = t % 2 ? 1.0f : 1.7f;
            double sum = k->expsum(wq, l, 300, mx, sc), want = 0;
            for (int i = 0; i < 300; i++) {
                float arg = (l[i] - mx) * sc; /* the kernels' own float argument */
                double e = exp((double)arg);
                want += e;
                if (e > 1e-30) ew = fmax(ew, fabs(wq[i] - e) / e); /* float range */
                else CHECK(wq[i] < 1e-29f);
            }
            CHECKF(fabs(sum - want) / want < 1e-6, "%s expsum sum", k->name);
        }
        CHECKF(ew < 1e-6, "%s expsum: %g", k->name, ew);
        /* int8's gate and softmax exps: the same bits as the scalar table
         * (their vector lanes are wn__gate_lo1 and wn__exp1), for every
         * length, the tails after whole vectors included */
        for (int n = 1; n <= 40; n++) {
            float a2[2 * 40], zk[40], zr[40], lk[40], wk[40], wr[40];
            for (int i = 0; i < 2 * n; i++) a2[i] = rnd(&s) * (n % 3 ? 9.0f : 120.0f);
            k->gate_lo(zk, a2, n, 1);
            ref->gate_lo(zr, a2, n, 1);
            CHECKF(!memcmp(zk, zr, sizeof(float) * (size_t)n), "%s gate_lo D=%d: not the scalar bits",
                   k->name, n);
            float m2 = -1e30f;
            for (int i = 0; i < n; i++) m2 = fmaxf(m2, lk[i] = rnd(&s) * 60);
            const double sk = k->expsum(wk, lk, n, m2, 1.3f), sr = ref->expsum(wr, lk, n, m2, 1.3f);
            CHECKF(sk == sr && !memcmp(wk, wr, sizeof(float) * (size_t)n),
                   "%s expsum n=%d: not the scalar bits", k->name, n);
        }
        /* the largest logit, exactly, for every length and position of the max */
        for (int n = 1; n <= 300; n++) {
            for (int i = 0; i < n; i++) l[i] = rnd(&s) * 30 - 40;
            l[(n * 7 + 3) % n] = 5.0f + n;
            float want = l[0];
            for (int i = 1; i < n; i++) want = fmaxf(want, l[i]);
            CHECKF(k->maxf(l, n) == want, "%s maxf n=%d", k->name, n);
        }
        fprintf(stderr, "%s: gemv %.2g, gate %.2g, exp %.2g\n", k->name, worst, gw, ew);
    }
    return tu_finish("kernels", 0);
}
