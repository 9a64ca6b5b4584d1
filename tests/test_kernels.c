/* test_kernels.c - every kernel table this CPU runs against the scalar
 * reference (LPCNet's test_vec.c habit), on awkward sizes too. */
#include "testutil.h"
#include "kernels.h"

#include <math.h>
#include <string.h>

static float rnd(uint64_t *s) { return (float)(wn__uniform_for_tests(s) * 2 - 1); }

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

int main(void)
{
    pack_check();
    const wn__kern *ref = wn__kernels_named("scalar");
    REQUIRE(ref && wn__kernels());
    fprintf(stderr, "chosen kernels: %s\n", wn__kernels()->name);
    const char *names[] = {"scalar", "avx2"};
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
            k->gate(z, a, 37);
            ref->gate(zr, a, 37);
            for (int i = 0; i < 37; i++) {
                double want = tanh(a[i]) / (1 + exp(-(double)a[37 + i]));
                gw = fmax(gw, fabs(z[i] - want));
            }
        }
        CHECKF(gw < 2e-6, "%s gate: %g", k->name, gw);
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
        fprintf(stderr, "%s: gemv %.2g, gate %.2g, exp %.2g\n", k->name, worst, gw, ew);
    }
    return tu_finish("kernels", 0);
}
