/* test_layers.c - every backward of src/layers.h against its forward.
 *
 * For each layer, on small random sizes:
 *   exact   the forward against a naive double-precision loop (the gemm
 *           paths must compute what the header says), and the backward
 *           against a naive double-precision backward onto random contents:
 *           input gradients accumulate (+=) onto them, and the dilated and
 *           1x1 convs' weight gradients overwrite them (so "=" for "+=" or
 *           the reverse, a stray write or a missing term shows); the
 *           dilated conv's input gradient split into two runs of rows
 *           gives the same bits as one;
 *   fd      central differences (double objective, float32 forward) of
 *           L = sum(out * W), W random, against the backward, over every
 *           entry of every input that has a gradient;
 *   rows    rows before t0 are neither written (sentinels stay, bit for bit)
 *           nor read (NaN planted where nothing may be read stays out of the
 *           results).
 * The dilated convolution runs over d = 1, 2, 4 and t0 = 0, 0 < t0 < d,
 * t0 = d, t0 > d, t0 = N (nothing to do), and N below and above d.
 * On success it prints the worst error of each group.
 */
#include "testutil.h"
#include "layers.h"

#include <math.h>
#include <string.h>

/* Finite differences: eps on float32 inputs, pass when
 * |fd - g| <= FD_RTOL * max(|fd|, |g|) + FD_ATOL. Gradients here are O(1)
 * (random weights and inputs in [-1, 1]); float32 rounding of the outputs
 * divided by 2 eps leaves ~1e-4 of noise, a wrong sign or a missing term is
 * O(0.1..1). */
#define FD_EPS 1e-3
#define FD_RTOL 1e-2
#define FD_ATOL 1e-3
/* Library (float32, gemm) against naive double loops: max |c - ref| /
 * (1 + |ref|). */
#define TOL_EXACT 1e-5

/* ---------------------------------------------------------------- random */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double rng_unif(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }
static int rng_int(int n) { return (int)(rng_next() % (uint64_t)n); }
static float *rnd(size_t n, double lo, double hi)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    REQUIRE(p);
    for (size_t i = 0; i < n; i++) p[i] = (float)(lo + (hi - lo) * rng_unif());
    return p;
}
static float *zeros(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof(float));
    REQUIRE(p);
    return p;
}
static float *dup(const float *x, size_t n)
{
    float *p = malloc(sizeof(float) * (n ? n : 1));
    REQUIRE(p);
    if (n) memcpy(p, x, sizeof(float) * n);
    return p;
}
static double *dzeros(size_t n)
{
    double *p = calloc(n ? n : 1, sizeof(double));
    REQUIRE(p);
    return p;
}

/* ---------------------------------------------------------------- groups */

typedef struct group {
    char name[40];
    long checked;       /* entries compared */
    double worst_abs;   /* max |c - ref| */
    double worst_rel;   /* max |c - ref| / max(|c|, |ref|) where that is >= 0.01 */
    double worst_ratio; /* max error / allowed error (fails above 1) */
} group;

static group groups[64];
static int ngroups;

static group *grp(const char *name)
{
    for (int i = 0; i < ngroups; i++)
        if (!strcmp(groups[i].name, name)) return &groups[i];
    REQUIRE(ngroups < 64);
    group *g = &groups[ngroups++];
    snprintf(g->name, sizeof g->name, "%s", name);
    return g;
}

static int checks;

/* One comparison: got against ref with tolerance rtol * max + atol. */
static void compare(const char *gname, const char *what, size_t i, double got, double ref,
                    double rtol, double atol)
{
    group *g = grp(gname);
    double big = fmax(fabs(got), fabs(ref)), e = fabs(got - ref);
    double allowed = rtol * big + atol;
    g->checked++;
    checks++;
    if (!(e <= g->worst_abs)) g->worst_abs = e;
    if (big >= 0.01 && !(e / big <= g->worst_rel)) g->worst_rel = e / big;
    if (!(e / allowed <= g->worst_ratio)) g->worst_ratio = e / allowed;
    CHECKF(e <= allowed, "%s: %s[%zu] = %.8g, expected %.8g", gname, what, i, got, ref);
}

/* got (float) against a double reference, max |c - ref| / (1 + |ref|). */
static void exact(const char *gname, const char *what, const float *got, const double *ref,
                  size_t n)
{
    for (size_t i = 0; i < n; i++) {
        /* expressed through compare(): |c - ref| <= TOL * (1 + |ref|) */
        group *g = grp(gname);
        double e = fabs((double)got[i] - ref[i]), allowed = TOL_EXACT * (1 + fabs(ref[i]));
        g->checked++;
        checks++;
        if (!(e <= g->worst_abs)) g->worst_abs = e;
        if (!(e / (1 + fabs(ref[i])) <= g->worst_rel)) g->worst_rel = e / (1 + fabs(ref[i]));
        if (!(e / allowed <= g->worst_ratio)) g->worst_ratio = e / allowed;
        CHECKF(e <= allowed, "%s: %s[%zu] = %.8g, reference %.8g", gname, what, i,
               (double)got[i], ref[i]);
    }
}

/* Rows that must not be written hold SENTINEL (finite, so that an
 * accumulation into them shows too); rows that must not be read hold NaN
 * (which would spread into what is computed from them). */
#define SENTINEL (-7777.25f)

static void untouched(const char *gname, const char *what, const float *x, size_t lo,
                      size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        checks++;
        CHECKF(x[i] == SENTINEL, "%s: %s[%zu] = %g was written (must be left alone)", gname,
               what, i, (double)x[i]);
    }
    (void)grp(gname);
}

static void all_finite(const char *gname, const char *what, const float *x, size_t lo,
                       size_t hi)
{
    for (size_t i = lo; i < hi; i++) {
        checks++;
        CHECKF(isfinite(x[i]), "%s: %s[%zu] = %g (a row that must not be read leaked in)",
               gname, what, i, (double)x[i]);
    }
}

/* ---------------------------------------------------------------- fd */

typedef double (*objective)(void *ctx);

/* Central differences of f over x[0..n) against the gradient g. The step
 * is the exact float difference of the two perturbed values. */
static void fd_check(const char *gname, const char *what, float *x, const float *g,
                     size_t n, objective f, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        float x0 = x[i];
        float xp = (float)(x0 + FD_EPS), xm = (float)(x0 - FD_EPS);
        x[i] = xp;
        double fp = f(ctx);
        x[i] = xm;
        double fm = f(ctx);
        x[i] = x0;
        double fd = (fp - fm) / ((double)xp - (double)xm);
        compare(gname, what, i, (double)g[i], fd, FD_RTOL, FD_ATOL);
    }
}

/* sum over rows [r0, r1) of out * W, row width C. */
static double wsum(const float *out, const float *W, int r0, int r1, int C)
{
    double s = 0;
    for (size_t i = (size_t)r0 * C; i < (size_t)r1 * C; i++) s += (double)out[i] * W[i];
    return s;
}

/* ---------------------------------------------------------------- causal */

typedef struct causal_ctx {
    float *out, *w, *b, *W;
    const int *in;
    int N, Q, R;
} causal_ctx;

static double causal_obj(void *p)
{
    causal_ctx *c = p;
    causal_forward(c->out, c->in, c->N, c->w, c->b, c->Q, c->R);
    return wsum(c->out, c->W, 0, c->N, c->R);
}

static void test_causal(int N, int Q, int R)
{
    int *in = malloc(sizeof(int) * (size_t)N);
    REQUIRE(in);
    /* codes 0..Q-2 at random; the last input gets code Q-1 alone, so tap 0
     * (the previous input) never sees it: its w0 row must get no gradient,
     * and a wrap-around at t = 0 (in[-1] read as in[N-1]) would give it one */
    for (int t = 0; t < N; t++) in[t] = t == N - 1 ? Q - 1 : rng_int(Q - 1);
    const size_t nw = (size_t)2 * Q * R, no = (size_t)N * R;
    float *w = rnd(nw, -1, 1), *b = rnd((size_t)R, -1, 1), *W = rnd(no, -1, 1);
    float *out = rnd(no, -1, 1);
    causal_ctx c = {out, w, b, W, in, N, Q, R};

    /* exact forward */
    double *ref = dzeros(no);
    for (int t = 0; t < N; t++)
        for (int r = 0; r < R; r++) {
            double v = (double)b[r] + w[(size_t)Q * R + (size_t)in[t] * R + r];
            if (t > 0) v += w[(size_t)in[t - 1] * R + r];
            ref[(size_t)t * R + r] = v;
        }
    causal_forward(out, in, N, w, b, Q, R);
    exact("causal forward", "out", out, ref, no);

    /* exact backward (dout = W), accumulated onto random contents */
    double *rdw = dzeros(nw), *rdb = dzeros((size_t)R);
    float *dw = rnd(nw, -1, 1), *db = rnd((size_t)R, -1, 1);
    for (size_t i = 0; i < nw; i++) rdw[i] = dw[i];
    for (int r = 0; r < R; r++) rdb[r] = db[r];
    for (int t = 0; t < N; t++)
        for (int r = 0; r < R; r++) {
            double g = W[(size_t)t * R + r];
            rdw[(size_t)Q * R + (size_t)in[t] * R + r] += g;
            rdb[r] += g;
            if (t > 0) rdw[(size_t)in[t - 1] * R + r] += g;
        }
    causal_backward(dw, db, W, in, N, Q, R);
    exact("causal backward", "dw", dw, rdw, nw);
    exact("causal backward", "db", db, rdb, (size_t)R);

    /* fd of the library's own pair */
    float *gw = zeros(nw), *gb = zeros((size_t)R);
    causal_backward(gw, gb, W, in, N, Q, R);
    for (int r = 0; r < R; r++) {
        checks++;
        CHECKF(gw[(size_t)(Q - 1) * R + r] == 0.0f,
               "causal: tap-0 row of the last input's code got gradient %g",
               (double)gw[(size_t)(Q - 1) * R + r]);
    }
    fd_check("causal fd", "dw", w, gw, nw, causal_obj, &c);
    fd_check("causal fd", "db", b, gb, (size_t)R, causal_obj, &c);

    free(in), free(w), free(b), free(W), free(out), free(ref), free(rdw), free(rdb);
    free(dw), free(db), free(gw), free(gb);
}

/* ---------------------------------------------------------------- dilated */

typedef struct dil_ctx {
    float *a, *h, *w, *b, *W;
    int t0, N, d, R, O;
} dil_ctx;

static double dil_obj(void *p)
{
    dil_ctx *c = p;
    dilated_forward(c->a + (size_t)c->t0 * c->O, c->h, c->t0, c->N, c->d, c->w, c->b, c->R,
                    c->O);
    return wsum(c->a, c->W, c->t0, c->N, c->O);
}

static void test_dilated(int N, int d, int t0, int R, int O)
{
    const size_t nh = (size_t)N * R, na = (size_t)N * O, nw = (size_t)2 * O * R;
    /* rows of h below t0 - d are never needed: plant NaN there */
    const int hlo = t0 - d > 0 ? t0 - d : 0;
    float *h = rnd(nh, -1, 1), *w = rnd(nw, -1, 1), *b = rnd((size_t)O, -1, 1);
    float *W = rnd(na, -1, 1);
    for (size_t i = 0; i < (size_t)hlo * R; i++) h[i] = NAN;
    float *a = zeros(na);
    for (size_t i = 0; i < na; i++) a[i] = SENTINEL;
    dil_ctx c = {a, h, w, b, W, t0, N, d, R, O};
    char gf[64], gb[64], gd[64];
    snprintf(gf, sizeof gf, "dilated d=%d forward", d);
    snprintf(gb, sizeof gb, "dilated d=%d backward", d);
    snprintf(gd, sizeof gd, "dilated d=%d fd", d);

    /* exact forward; rows < t0 keep their NaN */
    double *ref = dzeros(na);
    const float *w0 = w, *w1 = w + (size_t)O * R;
    for (int t = t0; t < N; t++)
        for (int o = 0; o < O; o++) {
            double v = b[o];
            for (int r = 0; r < R; r++) {
                v += (double)w1[(size_t)o * R + r] * h[(size_t)t * R + r];
                if (t >= d) v += (double)w0[(size_t)o * R + r] * h[(size_t)(t - d) * R + r];
            }
            ref[(size_t)t * O + o] = v;
        }
    dilated_forward(a + (size_t)t0 * O, h, t0, N, d, w, b, R, O);
    untouched(gf, "a (rows < t0)", a, 0, (size_t)t0 * O);
    exact(gf, "a", a + (size_t)t0 * O, ref + (size_t)t0 * O, na - (size_t)t0 * O);

    /* exact backward with da = W on rows >= t0, passed from row t0 (NaN
     * below: a read before it would show), onto random contents */
    float *da = dup(W, na);
    for (size_t i = 0; i < (size_t)t0 * O; i++) da[i] = NAN;
    float *dh = rnd(nh, -1, 1), *dw = rnd(nw, -1, 1), *db = rnd((size_t)O, -1, 1);
    /* dh accumulates; dw and db are overwritten, so their random contents
     * must not show */
    double *rdh = dzeros(nh), *rdw = dzeros(nw), *rdb = dzeros((size_t)O);
    for (size_t i = 0; i < nh; i++) rdh[i] = dh[i];
    double *rdw0 = rdw, *rdw1 = rdw + (size_t)O * R;
    for (int t = t0; t < N; t++)
        for (int o = 0; o < O; o++) {
            double g = W[(size_t)t * O + o];
            rdb[o] += g;
            for (int r = 0; r < R; r++) {
                rdh[(size_t)t * R + r] += g * w1[(size_t)o * R + r];
                rdw1[(size_t)o * R + r] += g * h[(size_t)t * R + r];
                if (t >= d) {
                    rdh[(size_t)(t - d) * R + r] += g * w0[(size_t)o * R + r];
                    rdw0[(size_t)o * R + r] += g * h[(size_t)(t - d) * R + r];
                }
            }
        }
    /* dh in two runs of rows split mid-way: each row gets the same bits as
     * from one run over them all (what lets threads share a layer) */
    float *dh1 = dup(dh, nh);
    const int cut = (t0 + N) / 2;
    dilated_backward_input(dh, da + (size_t)t0 * O, t0, N, 0, cut, d, w, R, O);
    dilated_backward_input(dh, da + (size_t)t0 * O, t0, N, cut, N, d, w, R, O);
    dilated_backward_input(dh1, da + (size_t)t0 * O, t0, N, 0, N, d, w, R, O);
    checks++;
    CHECKF(!memcmp(dh, dh1, sizeof(float) * nh), "%s: dh split at row %d differs", gb, cut);
    dilated_backward_params(dw, db, da + (size_t)t0 * O, h, t0, N, d, R, O);
    exact(gb, "dh", dh, rdh, nh);
    exact(gb, "dw", dw, rdw, nw);
    exact(gb, "db", db, rdb, (size_t)O);

    /* fd: the gradient into zeroed buffers against the forward; rows of h
     * below t0 - d hold NaN, so take h's gradient with them zeroed (their
     * fd must then be 0, and so must the backward's) */
    for (size_t i = 0; i < (size_t)hlo * R; i++) h[i] = 0.0f;
    float *gh = zeros(nh), *gw = zeros(nw), *gbias = zeros((size_t)O);
    dilated_backward_input(gh, da + (size_t)t0 * O, t0, N, 0, N, d, w, R, O);
    dilated_backward_params(gw, gbias, da + (size_t)t0 * O, h, t0, N, d, R, O);
    all_finite(gb, "dh", gh, 0, nh);
    fd_check(gd, "dh", h, gh, nh, dil_obj, &c);
    fd_check(gd, "dw", w, gw, nw, dil_obj, &c);
    fd_check(gd, "db", b, gbias, (size_t)O, dil_obj, &c);

    free(h), free(w), free(b), free(W), free(a), free(ref), free(da), free(dh), free(dh1), free(dw);
    free(db), free(rdh), free(rdw), free(rdb), free(gh), free(gw), free(gbias);
}

/* ---------------------------------------------------------------- gate */

/* gate_forward replaces a by [tanh | sigmoid] of itself (what the backward
 * reads), so the objective runs on a fresh copy of the pre-activations. */
typedef struct gate_ctx {
    float *z, *a, *work, *W;
    int t0, N, D;
} gate_ctx;

static double gate_obj(void *p)
{
    gate_ctx *c = p;
    memcpy(c->work, c->a, sizeof(float) * (size_t)c->N * 2 * c->D);
    gate_forward(c->z + (size_t)c->t0 * c->D, c->work + (size_t)c->t0 * 2 * c->D,
                 c->N - c->t0, c->D);
    return wsum(c->z, c->W, c->t0, c->N, c->D);
}

static void test_gate(int N, int t0, int D)
{
    const size_t na = (size_t)N * 2 * D, nz = (size_t)N * D;
    const size_t a0 = (size_t)t0 * 2 * D, z0 = (size_t)t0 * D; /* first entries used */
    float *a = rnd(na, -3, 3), *W = rnd(nz, -1, 1), *z = zeros(nz);
    for (size_t i = 0; i < a0; i++) a[i] = SENTINEL; /* rows < t0: not written */
    for (size_t i = 0; i < nz; i++) z[i] = SENTINEL;
    float *ts = dup(a, na), *work = zeros(na);
    gate_ctx c = {z, a, work, W, t0, N, D};

    /* forward: z, and a replaced by [tanh | sigmoid] */
    double *ref = dzeros(nz), *rts = dzeros(na);
    for (int t = t0; t < N; t++)
        for (int i = 0; i < D; i++) {
            double f = a[(size_t)t * 2 * D + i], g = a[(size_t)t * 2 * D + D + i];
            double th = tanh(f), sg = 1 / (1 + exp(-g));
            ref[(size_t)t * D + i] = th * sg;
            rts[(size_t)t * 2 * D + i] = th;
            rts[(size_t)t * 2 * D + D + i] = sg;
        }
    gate_forward(z + z0, ts + a0, N - t0, D);
    untouched("gate forward", "z (rows < t0)", z, 0, z0);
    untouched("gate forward", "a (rows < t0)", ts, 0, a0);
    exact("gate forward", "z", z + z0, ref + z0, nz - z0);
    exact("gate forward", "[tanh | sigmoid]", ts + a0, rts + a0, na - a0);

    /* backward from ts, every pointer at row t0: da rows >= t0 are
     * overwritten (net.c never clears da), rows below are left alone; dz
     * rows below t0 are NaN (not read) */
    float *dz = dup(W, nz);
    for (size_t i = 0; i < z0; i++) dz[i] = NAN;
    float *da = rnd(na, -1, 1);
    for (size_t i = 0; i < a0; i++) da[i] = SENTINEL;
    double *rda = dzeros(na);
    for (int t = t0; t < N; t++)
        for (int i = 0; i < D; i++) {
            double th = rts[(size_t)t * 2 * D + i], sg = rts[(size_t)t * 2 * D + D + i];
            double gz = W[(size_t)t * D + i];
            rda[(size_t)t * 2 * D + i] = gz * sg * (1 - th * th);
            rda[(size_t)t * 2 * D + D + i] = gz * th * sg * (1 - sg);
        }
    gate_backward(da + a0, dz + z0, ts + a0, N - t0, D);
    untouched("gate backward", "da (rows < t0)", da, 0, a0);
    exact("gate backward", "da", da + a0, rda + a0, na - a0);
    /* da may be ts itself (net.c's case) */
    float *alias = dup(ts, na);
    gate_backward(alias + a0, dz + z0, alias + a0, N - t0, D);
    untouched("gate backward", "da = ts (rows < t0)", alias, 0, a0);
    exact("gate backward", "da = ts", alias + a0, rda + a0, na - a0);

    fd_check("gate fd", "da", a + a0, da + a0, na - a0, gate_obj, &c);

    free(a), free(W), free(z), free(ts), free(work), free(ref), free(rts), free(dz);
    free(da), free(rda), free(alias);
}

/* ---------------------------------------------------------------- conv1x1 */

typedef struct conv_ctx {
    float *out, *out0, *in, *w, *b, *W;
    int n, I, O;
    float beta;
} conv_ctx;

static double conv_obj(void *p)
{
    conv_ctx *c = p;
    memcpy(c->out, c->out0, sizeof(float) * (size_t)c->n * c->O);
    conv1x1_forward(c->out, c->in, c->n, c->w, c->b, c->I, c->O, c->beta);
    return wsum(c->out, c->W, 0, c->n, c->O);
}

static void test_conv1x1(int n, int I, int O, float beta)
{
    const size_t ni = (size_t)n * I, no = (size_t)n * O, nw = (size_t)O * I;
    float *in = rnd(ni, -1, 1), *w = rnd(nw, -1, 1), *b = rnd((size_t)O, -1, 1);
    float *W = rnd(no, -1, 1);
    /* beta 0: what is in out must not matter (NaN); otherwise it is
     * scaled by beta and added (net.c uses 0 and 1; 0.5 checks that the
     * scale is a scale, with and without a bias) */
    float *out0 = rnd(no, -1, 1), *out = zeros(no);
    if (beta == 0.0f)
        for (size_t i = 0; i < no; i++) out0[i] = NAN;
    conv_ctx c = {out, out0, in, w, b, W, n, I, O, beta};
    char gf[64], gb[64], gd[64];
    snprintf(gf, sizeof gf, "conv1x1 beta=%g forward", beta);
    snprintf(gb, sizeof gb, "conv1x1 beta=%g backward", beta);
    snprintf(gd, sizeof gd, "conv1x1 beta=%g fd", beta);

    double *ref = dzeros(no);
    for (int t = 0; t < n; t++)
        for (int o = 0; o < O; o++) {
            double v = b[o] + (beta == 0.0f ? 0.0 : beta * (double)out0[(size_t)t * O + o]);
            for (int i = 0; i < I; i++)
                v += (double)w[(size_t)o * I + i] * in[(size_t)t * I + i];
            ref[(size_t)t * O + o] = v;
        }
    memcpy(out, out0, sizeof(float) * no);
    conv1x1_forward(out, in, n, w, b, I, O, beta);
    exact(gf, "out", out, ref, no);

    float *din = rnd(ni, -1, 1), *dw = rnd(nw, -1, 1), *db = rnd((size_t)O, -1, 1);
    /* din accumulates; dw and db are overwritten (their random contents
     * must not show) */
    double *rdin = dzeros(ni), *rdw = dzeros(nw), *rdb = dzeros((size_t)O);
    for (size_t i = 0; i < ni; i++) rdin[i] = din[i];
    for (int t = 0; t < n; t++)
        for (int o = 0; o < O; o++) {
            double g = W[(size_t)t * O + o];
            rdb[o] += g;
            for (int i = 0; i < I; i++) {
                rdin[(size_t)t * I + i] += g * w[(size_t)o * I + i];
                rdw[(size_t)o * I + i] += g * in[(size_t)t * I + i];
            }
        }
    float *dw2 = dup(dw, nw), *db2 = dup(db, (size_t)O);
    float *din0 = dup(din, ni), *dw0 = dup(dw, nw);
    conv1x1_backward(din, dw, db, W, in, n, w, I, O);
    exact(gb, "din", din, rdin, ni);
    exact(gb, "dw", dw, rdw, nw);
    exact(gb, "db", db, rdb, (size_t)O);
    /* din NULL: the weight gradients alone, the same */
    conv1x1_backward(NULL, dw2, db2, W, in, n, w, I, O);
    exact(gb, "dw (din NULL)", dw2, rdw, nw);
    exact(gb, "db (din NULL)", db2, rdb, (size_t)O);

    /* b NULL: no bias (the out rows as they were, or nothing with beta 0);
     * db NULL: the other gradients the same */
    double *rnb = dzeros(no);
    for (size_t i = 0; i < no; i++) {
        size_t o = i % (size_t)O;
        rnb[i] = ref[i] - b[o];
    }
    float *onb = dup(out0, no);
    conv1x1_forward(onb, in, n, w, NULL, I, O, beta);
    exact(gf, "out (b NULL)", onb, rnb, no);
    float *din3 = dup(din0, ni), *dw3 = dup(dw0, nw);
    conv1x1_backward(din3, dw3, NULL, W, in, n, w, I, O);
    exact(gb, "din (db NULL)", din3, rdin, ni);
    exact(gb, "dw (db NULL)", dw3, rdw, nw);
    free(rnb), free(onb), free(din3), free(dw3), free(din0), free(dw0);

    float *gin = zeros(ni), *gw = zeros(nw), *gbias = zeros((size_t)O);
    conv1x1_backward(gin, gw, gbias, W, in, n, w, I, O);
    fd_check(gd, "din", in, gin, ni, conv_obj, &c);
    fd_check(gd, "dw", w, gw, nw, conv_obj, &c);
    fd_check(gd, "db", b, gbias, (size_t)O, conv_obj, &c);

    free(in), free(w), free(b), free(W), free(out0), free(out), free(ref), free(din);
    free(dw), free(db), free(rdin), free(rdw), free(rdb), free(dw2), free(db2), free(gin);
    free(gw), free(gbias);
}

/* ---------------------------------------------------------------- relu */

typedef struct relu_ctx {
    float *y, *x, *W;
    size_t n;
} relu_ctx;

static double relu_obj(void *p)
{
    relu_ctx *c = p;
    relu_forward(c->y, c->x, c->n);
    return wsum(c->y, c->W, 0, 1, (int)c->n);
}

static void test_relu(size_t n)
{
    /* inputs at least 0.05 away from the kink, both signs, and exact zeros */
    float *x = zeros(n), *W = rnd(n, -1, 1), *y = zeros(n), *dx = zeros(n);
    for (size_t i = 0; i < n; i++) {
        double v = 0.05 + rng_unif();
        x[i] = (float)(i % 7 == 3 ? 0.0 : (rng_next() & 1) ? v : -v);
    }
    double *ref = dzeros(n), *rdx = dzeros(n);
    for (size_t i = 0; i < n; i++) {
        ref[i] = x[i] > 0 ? x[i] : 0;
        rdx[i] = x[i] > 0 ? W[i] : 0;
    }
    relu_forward(y, x, n);
    exact("relu forward", "y", y, ref, n);
    for (size_t i = 0; i < n; i++) dx[i] = NAN; /* overwritten, not accumulated */
    relu_backward(dx, W, x, n);
    exact("relu backward", "dx", dx, rdx, n);
    float *alias = dup(W, n);
    relu_backward(alias, alias, x, n); /* dx may alias dy */
    exact("relu backward", "dx (aliased)", alias, rdx, n);

    float *xs = zeros(n), *gs = zeros(n);
    size_t k = 0; /* fd away from the kink only (x = 0 has no derivative) */
    for (size_t i = 0; i < n; i++)
        if (x[i] != 0.0f) {
            xs[k] = x[i];
            gs[k++] = dx[i];
        }
    float *Ws = zeros(n);
    for (size_t i = 0, j = 0; i < n; i++)
        if (x[i] != 0.0f) Ws[j++] = W[i];
    relu_ctx cs = {y, xs, Ws, k};
    fd_check("relu fd", "dx", xs, gs, k, relu_obj, &cs);
    free(x), free(W), free(y), free(dx), free(ref), free(rdx), free(alias), free(xs);
    free(gs), free(Ws);
}

/* ---------------------------------------------------------------- softmax */

typedef struct xent_ctx {
    float *logits;
    const int *targets;
    int n, Q;
    float scale;
} xent_ctx;

static double xent_obj(void *p)
{
    xent_ctx *c = p;
    return c->scale * softmax_xent(NULL, c->logits, c->targets, c->n, c->Q, c->scale);
}

static void test_softmax_xent(int n, int Q, float scale, double offset)
{
    const size_t nl = (size_t)n * Q;
    float *logits = rnd(nl, offset - 4, offset + 4), *dl = zeros(nl);
    int *targets = malloc(sizeof(int) * (size_t)n);
    REQUIRE(targets);
    for (int t = 0; t < n; t++) targets[t] = rng_int(Q);
    targets[0] = 0, targets[n - 1] = Q - 1; /* both ends of the range */

    /* independent: log-sum-exp in double around the row's maximum */
    double want = 0;
    double *rdl = dzeros(nl);
    for (int t = 0; t < n; t++) {
        const float *l = logits + (size_t)t * Q;
        double mx = -INFINITY, s = 0;
        for (int q = 0; q < Q; q++) mx = fmax(mx, l[q]);
        for (int q = 0; q < Q; q++) s += exp(l[q] - mx);
        double lse = mx + log(s), lp = l[targets[t]] - lse;
        want -= lp;
        compare("log_softmax_at", "log p", (size_t)t, log_softmax_at(l, Q, targets[t], NULL), lp,
                1e-9, 1e-12);
        float scratch[512];
        if (Q <= 512) /* the vector path: float exponentials summed in double */
            compare("log_softmax_at", "log p (kernels)", (size_t)t,
                    log_softmax_at(l, Q, targets[t], scratch), lp, 1e-9, 5e-7);
        for (int q = 0; q < Q; q++)
            rdl[(size_t)t * Q + q] = (exp(l[q] - lse) - (q == targets[t])) * scale;
    }
    /* with a gradient the exponentials may be float32 (a kernel table's
     * expsum, ~2e-7 relative each, summed in double): log z is then good to
     * a few 1e-7 per row; without, log_softmax_at's double sum */
    double got = softmax_xent(dl, logits, targets, n, Q, scale);
    compare("softmax_xent loss", "sum -log p", 0, got, want, 1e-9, 5e-7 * n);
    compare("softmax_xent loss", "sum -log p (no grad)", 0,
            softmax_xent(NULL, logits, targets, n, Q, scale), want, 1e-9, 1e-12);
    /* float32 output: the target's entry is p*scale - scale rounded, an
     * absolute error of an ulp or two of scale */
    for (size_t i = 0; i < nl; i++)
        compare("softmax_xent grad", "dlogits", i, dl[i], rdl[i], 2e-6, 2.5e-7 * scale);
    /* rows of the gradient sum to 0 (softmax sums to 1) */
    for (int t = 0; t < n; t++) {
        double s = 0;
        for (int q = 0; q < Q; q++) s += dl[(size_t)t * Q + q];
        compare("softmax_xent grad", "row sum", (size_t)t, s, 0, 0, 1e-6 * fabs(scale));
    }
    /* fd of scale * loss, whose gradient is dl = (softmax - onehot) * scale */
    xent_ctx c = {logits, targets, n, Q, scale};
    if (offset == 0) /* near 1000 an eps of 1e-3 is below a float ulp */
        fd_check("softmax_xent fd", "dlogits", logits, dl, nl, xent_obj, &c);
    free(logits), free(dl), free(targets), free(rdl);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    /* causal: a few sizes, N = 1 (only the t = 0 row) included */
    test_causal(1, 3, 2);
    test_causal(2, 2, 1);
    for (int k = 0; k < 6; k++) test_causal(2 + rng_int(12), 2 + rng_int(6), 1 + rng_int(5));

    /* dilated: d = 1, 2, 4; t0 = 0, inside (0, d), d, beyond d, N - 1, N;
     * N long, just above d and below d */
    const int dils[] = {1, 2, 4};
    for (int di = 0; di < 3; di++) {
        const int d = dils[di];
        const int Ns[] = {13, d + 1, d > 1 ? d - 1 : 1};
        for (int ni = 0; ni < 3; ni++) {
            const int N = Ns[ni];
            const int t0s[] = {0, 1, d - 1, d, d + 1, d + 3, N - 1, N};
            for (int ti = 0; ti < 8; ti++) {
                const int t0 = t0s[ti];
                if (t0 < 0 || t0 > N) continue;
                test_dilated(N, d, t0, 1 + rng_int(5), 1 + rng_int(6));
            }
        }
    }

    /* gate: D below and above a SIMD vector (8), with a tail */
    const int gD[] = {1, 3, 8, 11, 16, 19};
    for (int k = 0; k < 6; k++) {
        int N = 1 + rng_int(10);
        test_gate(N, k == 0 ? 0 : rng_int(N + 1), gD[k]);
    }

    for (int k = 0; k < 4; k++) {
        int n = 1 + rng_int(9), I = 1 + rng_int(6), O = 1 + rng_int(6);
        test_conv1x1(n, I, O, 0.0f);
        test_conv1x1(n, I, O, 1.0f);
        test_conv1x1(n, I, O, 0.5f);
    }

    test_relu(37);

    test_softmax_xent(5, 7, 0.37f, 0.0);
    test_softmax_xent(3, 2, 1.0f, 0.0);
    test_softmax_xent(4, 19, 0.25f, 0.0);  /* SIMD vectors and a tail */
    test_softmax_xent(3, 64, 0.125f, 0.0);
    test_softmax_xent(4, 9, 0.5f, 1000.0); /* large logits: max subtraction */
    test_softmax_xent(2, 40, 0.5f, -1000.0);

    printf("%-28s %8s %12s %12s %10s\n", "group", "checked", "worst abs", "worst rel",
           "err/tol");
    for (int i = 0; i < ngroups; i++)
        printf("%-28s %8ld %12.3g %12.3g %10.3g\n", groups[i].name, groups[i].checked,
               groups[i].worst_abs, groups[i].worst_rel, groups[i].worst_ratio);
    return tu_finish("layers", checks);
}
