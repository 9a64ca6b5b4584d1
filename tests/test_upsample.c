/* test_upsample.c - the upsampler's layers (src/upsample.h).
 *
 *   ref      the GEMM layers (tap-major weights) against the scalar
 *            references (PyTorch layout, double sums): forward and every
 *            gradient, over odd sizes, every stride/kernel/padding mix
 *            (also kernel < stride, padding >= stride), bias and din NULL,
 *            and vocoder sizes big enough for the OpenMP paths, whose
 *            results must not depend on the thread count (bitwise)
 *   fd       central differences of L = sum(out * G) against din, dw, db of
 *            the transposed conv and the frames conv, every entry
 *   torch    tests/fixtures/upsample_ref.safetensors (upsample_reference.py):
 *            frames conv + two stages (strides 4, 2), every output and
 *            gradient of the loss
 *   plan     the strides chosen for hops, the hops refused, the chain check
 *   align    an impulse in frame f (positive weights, zero biases) lights
 *            exactly rows [f hop - E, (f+1) hop - 1 + E] of a two-stage
 *            chain (one more hop each side with the frames conv), centred
 *            on f hop + (hop - 1)/2; the row sample n reads
 *            (wn__upsample_row) is in the block of the STFT frame whose
 *            window is centred nearest n (wn_stft_magnitude of a click)
 *   window   the chain (frames conv, tanh between stages) over the frames
 *            wn__upsample_frames_needed names gives the rows of the whole
 *            sequence for those samples
 *   start    a new model's stages (wn_model_init) interpolate linearly,
 *            each channel to itself: frames linear in f give rows linear
 *            in the row, frame f at its block's centre, zero biases
 */
#include "testutil.h"
#include "upsample.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* GEMM (float) against the double references: max |c - ref| / (1 + max
 * |ref|) over the tensor. Sums here have up to 440 terms (din of a stride
 * 20 stage), whose float rounding is ~1e-7 of the tensor's scale; an
 * entry of similar size to the largest with its own relative 1e-6 would
 * leave a margin of only 2x across BLAS builds. */
#define TOL_REF 1e-6
/* The layers are linear in each input, so a central difference has no
 * truncation error and a big step keeps float rounding of L (~1e-7 of
 * sum |out G|) small against it: pass when |fd - g| <= FD_RTOL max(|fd|,
 * |g|) + FD_ATOL. A missing or wrong term moves an entry by O(0.1..1). */
#define FD_EPS 0.25
#define FD_RTOL 1e-4
#define FD_ATOL 2e-5
/* against torch (float64): max |c - ref| / max |ref| over each tensor */
#define TOL_TORCH 1e-5

static uint64_t rng_state = 0x51ed2701a3c4e5f7ull;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double rng_unif(void) { return (double)(rng_next() >> 11) * 0x1.0p-53; }
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

static double worst_ref, worst_fd, worst_torch;

static void cmp(const char *what, const float *c, const float *ref, size_t n, double tol,
                double *worst)
{
    double mx = 0, e = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - ref[i]) / (1 + mx);
        if (!(d <= e)) e = isnan(d) ? INFINITY : d;
    }
    if (!(e <= *worst)) *worst = isnan(e) ? INFINITY : e;
    CHECKF(e <= tol, "%s: max rel error %.3g > %.3g", what, e, tol);
}

/* ---------------------------------------------------------------- ref */

static void convT_case(int Tin, int Cin, int Cout, int K, int s, int p, int bias, int want_din)
{
    const long To = wn__convT_out_len(Tin, K, s, p);
    REQUIRE(To > 0);
    char tag[96];
    snprintf(tag, sizeof tag, "convT Tin %d Cin %d Cout %d K %d s %d p %d", Tin, Cin, Cout, K,
             s, p);
    const size_t nw = (size_t)Cin * Cout * K;
    float *in = rnd((size_t)Tin * Cin, -1, 1), *w = rnd(nw, -0.5, 0.5);
    float *b = bias ? rnd((size_t)Cout, -1, 1) : NULL;
    float *wt = zeros(nw), *o1 = rnd((size_t)To * Cout, -9, 9), *o2 = zeros((size_t)To * Cout);
    wn__taps_pack(wt, w, Cin, Cout, K);
    wn__convT_forward_ref(o2, in, w, b, Tin, Cin, Cout, K, s, p);
    wn__convT_forward(o1, in, wt, b, Tin, Cin, Cout, K, s, p); /* o1 held junk: overwritten */
    char what[160];
    snprintf(what, sizeof what, "%s forward", tag);
    cmp(what, o1, o2, (size_t)To * Cout, TOL_REF, &worst_ref);

    float *g = rnd((size_t)To * Cout, -1, 1);
    /* junk in every output: each must be overwritten */
    float *di1 = rnd((size_t)Tin * Cin, -9, 9), *di2 = zeros((size_t)Tin * Cin);
    float *dwt = rnd(nw, -9, 9), *dw1 = zeros(nw), *dw2 = zeros(nw);
    float *db1 = rnd((size_t)Cout, -9, 9), *db2 = zeros((size_t)Cout);
    wn__convT_backward_ref(di2, dw2, db2, g, in, w, Tin, Cin, Cout, K, s, p);
    wn__convT_backward(want_din ? di1 : NULL, dwt, db1, g, in, wt, Tin, Cin, Cout, K, s, p);
    wn__taps_unpack(dw1, dwt, Cin, Cout, K);
    if (want_din) {
        snprintf(what, sizeof what, "%s din", tag);
        cmp(what, di1, di2, (size_t)Tin * Cin, TOL_REF, &worst_ref);
    }
    snprintf(what, sizeof what, "%s dw", tag);
    cmp(what, dw1, dw2, nw, TOL_REF, &worst_ref);
    snprintf(what, sizeof what, "%s db", tag);
    cmp(what, db1, db2, (size_t)Cout, TOL_REF, &worst_ref);
    free(in); free(w); free(b); free(wt); free(o1); free(o2); free(g);
    free(di1); free(di2); free(dwt); free(dw1); free(dw2); free(db1); free(db2);
}

static void frames_case(int T, int Cin, int C, int bias, int want_din)
{
    char tag[64];
    snprintf(tag, sizeof tag, "frames T %d Cin %d C %d", T, Cin, C);
    const size_t nw = (size_t)C * Cin * 3;
    float *in = rnd((size_t)T * Cin, -1, 1), *w = rnd(nw, -0.5, 0.5);
    float *b = bias ? rnd((size_t)C, -1, 1) : NULL;
    float *wt = zeros(nw), *o1 = rnd((size_t)T * C, -9, 9), *o2 = zeros((size_t)T * C);
    wn__taps_pack(wt, w, C, Cin, 3);
    wn__conv_frames_forward_ref(o2, in, w, b, T, Cin, C);
    wn__conv_frames_forward(o1, in, wt, b, T, Cin, C);
    char what[128];
    snprintf(what, sizeof what, "%s forward", tag);
    cmp(what, o1, o2, (size_t)T * C, TOL_REF, &worst_ref);
    float *g = rnd((size_t)T * C, -1, 1);
    float *di1 = rnd((size_t)T * Cin, -9, 9), *di2 = zeros((size_t)T * Cin);
    float *dwt = rnd(nw, -9, 9), *dw1 = zeros(nw), *dw2 = zeros(nw);
    float *db1 = rnd((size_t)C, -9, 9), *db2 = zeros((size_t)C);
    wn__conv_frames_backward_ref(di2, dw2, db2, g, in, w, T, Cin, C);
    wn__conv_frames_backward(want_din ? di1 : NULL, dwt, db1, g, in, wt, T, Cin, C);
    wn__taps_unpack(dw1, dwt, C, Cin, 3);
    if (want_din) {
        snprintf(what, sizeof what, "%s din", tag);
        cmp(what, di1, di2, (size_t)T * Cin, TOL_REF, &worst_ref);
    }
    snprintf(what, sizeof what, "%s dw", tag);
    cmp(what, dw1, dw2, nw, TOL_REF, &worst_ref);
    snprintf(what, sizeof what, "%s db", tag);
    cmp(what, db1, db2, (size_t)C, TOL_REF, &worst_ref);
    free(in); free(w); free(b); free(wt); free(o1); free(o2); free(g);
    free(di1); free(di2); free(dwt); free(dw1); free(dw2); free(db1); free(db2);
}

/* a vocoder stage big enough for the OpenMP paths: the same bits on 1 and
 * 2 threads */
static void threads_case(void)
{
#ifdef _OPENMP
    const int Tin = 301, C = 24, s = 16, K = 32, p = 8;
    const long To = wn__convT_out_len(Tin, K, s, p);
    REQUIRE(To == (long)Tin * s);
    const size_t nw = (size_t)C * C * K;
    float *in = rnd((size_t)Tin * C, -1, 1), *wt = rnd(nw, -0.5, 0.5), *b = rnd(C, -1, 1);
    float *g = rnd((size_t)To * C, -1, 1);
    float *o[2], *di[2], *dw[2], *db[2];
    const int nt0 = omp_get_max_threads();
    for (int r = 0; r < 2; r++) {
        omp_set_num_threads(r ? 2 : 1);
        o[r] = zeros((size_t)To * C);
        di[r] = zeros((size_t)Tin * C);
        dw[r] = zeros(nw);
        db[r] = zeros(C);
        wn__convT_forward(o[r], in, wt, b, Tin, C, C, K, s, p);
        wn__convT_backward(di[r], dw[r], db[r], g, in, wt, Tin, C, C, K, s, p);
    }
    omp_set_num_threads(nt0);
    CHECK(!memcmp(o[0], o[1], sizeof(float) * (size_t)To * C));
    CHECK(!memcmp(di[0], di[1], sizeof(float) * (size_t)Tin * C));
    CHECK(!memcmp(dw[0], dw[1], sizeof(float) * nw));
    CHECK(!memcmp(db[0], db[1], sizeof(float) * C));
    for (int r = 0; r < 2; r++) { free(o[r]); free(di[r]); free(dw[r]); free(db[r]); }
    free(in); free(wt); free(b); free(g);
#endif
}

static void test_ref(void)
{
    const int Ts[] = {1, 2, 3, 7, 13};
    const int Cs[][2] = {{1, 1}, {3, 5}, {5, 3}, {8, 7}};
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 4; c++)
            for (int s = 1; s <= 5; s++)
                for (int K = 1; K <= 9; K += 2 + (K > 4))
                    for (int p = 0; p < K + 2; p += 2) {
                        if (wn__convT_out_len(Ts[a], K, s, p) < 1) continue;
                        convT_case(Ts[a], Cs[c][0], Cs[c][1], K, s, p, (a + p) % 2,
                                   (a + c) % 3 != 0);
                    }
    /* the vocoder stages, over more rows */
    const int st[] = {2, 4, 8, 10, 16, 20};
    for (int i = 0; i < 6; i++) convT_case(23, 9, 11, 2 * st[i], st[i], st[i] / 2, 1, 1);
    for (int a = 0; a < 5; a++)
        for (int c = 0; c < 4; c++) frames_case(Ts[a], Cs[c][0], Cs[c][1], a % 2, c != 1);
    frames_case(64, 13, 9, 1, 1);
    threads_case();
}

/* ---------------------------------------------------------------- fd */

static double loss_of(const float *out, const float *G, size_t n)
{
    double L = 0;
    for (size_t i = 0; i < n; i++) L += (double)out[i] * G[i];
    return L;
}

static void fd_entries(const char *what, float *x, size_t n, const float *grad, float *out,
                       size_t nout, const float *G, void (*fwd)(void *), void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const float x0 = x[i];
        x[i] = x0 + (float)FD_EPS;
        fwd(ctx);
        double lp = loss_of(out, G, nout);
        x[i] = x0 - (float)FD_EPS;
        fwd(ctx);
        double lm = loss_of(out, G, nout);
        x[i] = x0;
        double fd = (lp - lm) / (2 * FD_EPS), g = grad[i];
        double e = fabs(fd - g), scale = fmax(fabs(fd), fabs(g));
        double rel = e / (scale + FD_ATOL / FD_RTOL);
        if (rel > worst_fd) worst_fd = rel;
        CHECKF(e <= FD_RTOL * scale + FD_ATOL, "fd %s[%zu]: fd %.7g, backward %.7g", what, i,
               fd, g);
    }
}

typedef struct convT_ctx {
    float *out, *in, *wt, *b;
    int Tin, Cin, Cout, K, s, p, T, frames;
} convT_ctx;

static void fwd_ctx(void *v)
{
    convT_ctx *c = v;
    if (c->frames)
        wn__conv_frames_forward(c->out, c->in, c->wt, c->b, c->T, c->Cin, c->Cout);
    else
        wn__convT_forward(c->out, c->in, c->wt, c->b, c->Tin, c->Cin, c->Cout, c->K, c->s,
                          c->p);
}

static void fd_case(int frames, int Tin, int Cin, int Cout, int K, int s, int p)
{
    convT_ctx c = {.Tin = Tin, .Cin = Cin, .Cout = Cout, .K = frames ? 3 : K, .s = s, .p = p,
                   .T = Tin, .frames = frames};
    const long To = frames ? Tin : wn__convT_out_len(Tin, K, s, p);
    const size_t nw = (size_t)Cin * Cout * c.K, nout = (size_t)To * Cout;
    c.in = rnd((size_t)Tin * Cin, -1, 1);
    c.wt = rnd(nw, -0.5, 0.5);
    c.b = rnd((size_t)Cout, -1, 1);
    c.out = zeros(nout);
    float *G = rnd(nout, -1, 1);
    float *din = zeros((size_t)Tin * Cin), *dw = zeros(nw), *db = zeros((size_t)Cout);
    if (frames)
        wn__conv_frames_backward(din, dw, db, G, c.in, c.wt, Tin, Cin, Cout);
    else
        wn__convT_backward(din, dw, db, G, c.in, c.wt, Tin, Cin, Cout, K, s, p);
    char what[96];
    snprintf(what, sizeof what, "%s T %d s %d K %d p %d: din", frames ? "frames" : "convT", Tin,
             s, K, p);
    fd_entries(what, c.in, (size_t)Tin * Cin, din, c.out, nout, G, fwd_ctx, &c);
    what[strlen(what) - 3] = 'w';
    fd_entries(what, c.wt, nw, dw, c.out, nout, G, fwd_ctx, &c);
    what[strlen(what) - 2] = 'b';
    fd_entries(what, c.b, (size_t)Cout, db, c.out, nout, G, fwd_ctx, &c);
    free(c.in); free(c.wt); free(c.b); free(c.out); free(G); free(din); free(dw); free(db);
}

static void test_fd(void)
{
    fd_case(0, 5, 3, 4, 8, 4, 2);  /* a vocoder stage */
    fd_case(0, 4, 2, 3, 5, 3, 1);  /* odd stride, K - 2p != s */
    fd_case(0, 3, 3, 2, 2, 4, 0);  /* K < s: rows no tap reaches */
    fd_case(0, 6, 2, 2, 7, 2, 4);  /* padding past a stride */
    fd_case(1, 6, 3, 4, 0, 0, 0);
    fd_case(1, 1, 2, 3, 0, 0, 0);  /* one frame: only the middle tap */
}

/* ---------------------------------------------------------------- torch */

static float *packed(const fx_file *f, const char *name, int A, int B, int K)
{
    float *w = fx_get(f, name, "F32", (size_t)A * B * K, NULL), *wt = zeros((size_t)A * B * K);
    wn__taps_pack(wt, w, A, B, K);
    free(w);
    return wt;
}

static void torch_cmp(const fx_file *f, const char *name, const float *c, size_t n)
{
    float *ref = fx_get(f, name, "F32", n, NULL);
    double mx = 0, e = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(ref[i]));
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)c[i] - ref[i]);
        if (!(d <= e)) e = isnan(d) ? INFINITY : d;
    }
    e /= mx > 0 ? mx : 1;
    if (!(e <= worst_torch)) worst_torch = e;
    CHECKF(e <= TOL_TORCH, "torch %s: max error %.3g of its largest entry (tolerance %.3g)", name,
           e, TOL_TORCH);
    free(ref);
}

static void test_torch(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/upsample_ref.safetensors", tu_srcdir());
    fx_file f;
    fx_open(&f, path);
    const int F = (int)fx_meta_int(&f, "frames"), M = (int)fx_meta_int(&f, "mels"),
              C = (int)fx_meta_int(&f, "channels");
    REQUIRE(!strcmp(fx_meta(&f, "strides"), "4,2"));
    wn__upsample_chain ch = {.stages = 2, .stride = {4, 2}, .kernel = {8, 4}, .pad = {2, 1}};
    REQUIRE(wn__upsample_chain_check(&ch, NULL) == WN_OK && ch.hop == 8);
    float *mel = fx_get(&f, "mel", "F32", (size_t)F * M, NULL);
    float *g = fx_get(&f, "g", "F32", (size_t)F * ch.hop * C, NULL);
    float *pw = packed(&f, "upsample.pre.weight", C, M, 3);
    float *pb = fx_get(&f, "upsample.pre.bias", "F32", C, NULL);
    float *uw[2], *ub[2];
    char name[64];
    for (int i = 0; i < 2; i++) {
        snprintf(name, sizeof name, "upsample.%d.weight", i);
        uw[i] = packed(&f, name, C, C, ch.kernel[i]);
        snprintf(name, sizeof name, "upsample.%d.bias", i);
        ub[i] = fx_get(&f, name, "F32", C, NULL);
    }
    const int T1 = F * 4, T2 = F * 8;
    float *h0 = zeros((size_t)F * C), *h1 = zeros((size_t)T1 * C), *h2 = zeros((size_t)T2 * C);
    wn__conv_frames_forward(h0, mel, pw, pb, F, M, C);
    wn__convT_forward(h1, h0, uw[0], ub[0], F, C, C, 8, 4, 2);
    wn__convT_forward(h2, h1, uw[1], ub[1], T1, C, C, 4, 2, 1);
    torch_cmp(&f, "pre_out", h0, (size_t)F * C);
    torch_cmp(&f, "up0_out", h1, (size_t)T1 * C);
    torch_cmp(&f, "out", h2, (size_t)T2 * C);
    double *lref = fx_get(&f, "loss", "F64", 1, NULL);
    double L = loss_of(h2, g, (size_t)T2 * C);
    CHECKF(fabs(L - lref[0]) <= TOL_TORCH * (1 + fabs(lref[0])), "loss %.9g, torch %.9g", L,
           lref[0]);

    float *d1 = zeros((size_t)T1 * C), *d0 = zeros((size_t)F * C), *dmel = zeros((size_t)F * M);
    float *dw = zeros((size_t)C * C * 8), *dwf = zeros((size_t)C * C * 8), *db = zeros(C);
    wn__convT_backward(d1, dw, db, g, h1, uw[1], T1, C, C, 4, 2, 1);
    wn__taps_unpack(dwf, dw, C, C, 4);
    torch_cmp(&f, "grad.upsample.1.weight", dwf, (size_t)C * C * 4);
    torch_cmp(&f, "grad.upsample.1.bias", db, C);
    wn__convT_backward(d0, dw, db, d1, h0, uw[0], F, C, C, 8, 4, 2);
    wn__taps_unpack(dwf, dw, C, C, 8);
    torch_cmp(&f, "grad.upsample.0.weight", dwf, (size_t)C * C * 8);
    torch_cmp(&f, "grad.upsample.0.bias", db, C);
    wn__conv_frames_backward(dmel, dw, db, d0, mel, pw, F, M, C);
    wn__taps_unpack(dwf, dw, C, M, 3);
    torch_cmp(&f, "grad.upsample.pre.weight", dwf, (size_t)C * M * 3);
    torch_cmp(&f, "grad.upsample.pre.bias", db, C);
    torch_cmp(&f, "grad.mel", dmel, (size_t)F * M);

    free(mel); free(g); free(pw); free(pb); free(lref);
    for (int i = 0; i < 2; i++) { free(uw[i]); free(ub[i]); }
    free(h0); free(h1); free(h2); free(d1); free(d0); free(dmel); free(dw); free(dwf); free(db);
    fx_close(&f);
}

/* ---------------------------------------------------------------- plan */

static void expect_plan(int hop, int n, int s0, int s1, int s2)
{
    wn__upsample_chain c;
    wn_error err;
    memset(&err, 0, sizeof err);
    int rc = wn__upsample_plan(&c, hop, &err);
    const int want[3] = {s0, s1, s2};
    int ok = rc == WN_OK && c.stages == n && c.hop == hop;
    long halo = 0;
    for (int i = 0; ok && i < n; i++) {
        ok = c.stride[i] == want[i] && c.kernel[i] == 2 * want[i] && c.pad[i] == want[i] / 2;
        halo = halo * want[i] + want[i] / 2;
    }
    CHECKF(ok && c.halo == halo, "hop %d: rc %d (%s), %d stages %d x %d x %d, halo %d", hop, rc,
           err.message, c.stages, c.stride[0], c.stride[1], c.stride[2], c.halo);
}

static void expect_refused(int hop)
{
    wn__upsample_chain c;
    wn_error err;
    memset(&err, 0, sizeof err);
    CHECKF(wn__upsample_plan(&c, hop, &err) == WN_ERR_CONFIG && err.message[0],
           "hop %d accepted", hop);
}

static void test_plan(void)
{
    expect_plan(256, 2, 16, 16, 0);
    expect_plan(64, 2, 8, 8, 0);
    expect_plan(200, 2, 10, 20, 0);
    expect_plan(160, 2, 10, 16, 0);
    expect_plan(100, 2, 10, 10, 0);
    expect_plan(80, 2, 8, 10, 0);
    expect_plan(128, 2, 8, 16, 0);
    expect_plan(32, 1, 32, 0, 0);
    expect_plan(2, 1, 2, 0, 0);
    expect_plan(12, 1, 12, 0, 0);
    expect_plan(2048, 3, 8, 16, 16);
    expect_plan(300, 2, 10, 30, 0);
    const int bad[] = {0, 1, -4, 3, 441, 50, 34, 2 * 17, 1 << 21, 512 * 1024 * 3};
    for (int i = 0; i < (int)(sizeof bad / sizeof *bad); i++) expect_refused(bad[i]);
    wn_error err;
    memset(&err, 0, sizeof err);
    wn__upsample_chain c = {.stages = 2, .stride = {4, 3}, .kernel = {8, 5}, .pad = {2, 1}};
    CHECK(wn__upsample_chain_check(&c, &err) == WN_OK && c.hop == 12 && c.halo == 2 * 3 + 1);
    c.kernel[1] = 6; /* K - 2p = 4 != 3 */
    CHECK(wn__upsample_chain_check(&c, &err) == WN_ERR_CONFIG && strstr(err.message, "stage 1"));
    c.kernel[1] = 5;
    c.stages = 0;
    CHECK(wn__upsample_chain_check(&c, &err) == WN_ERR_CONFIG);
    c.stages = 2;
    c.pad[0] = -1;
    c.kernel[0] = 2;
    CHECK(wn__upsample_chain_check(&c, &err) == WN_ERR_CONFIG);
    CHECK(wn__convT_out_len(5, 8, 4, 2) == 20 && wn__convT_out_len(1, 2, 4, 1) == -1 &&
          wn__convT_out_len(0, 2, 1, 0) == -1 && wn__convT_out_len(3, 3, 0, 0) == -1 &&
          wn__convT_out_len(4, 3, 2, 3) == 3);
}

/* ---------------------------------------------------------------- chain */

typedef struct chain_w {
    wn__upsample_chain c;
    int M, C, pre;
    float *pw, *pb;  /* frames conv, tap-major */
    float *w[WN_UPSAMPLE_MAX_STAGES], *b[WN_UPSAMPLE_MAX_STAGES];
} chain_w;

static void chain_init(chain_w *cw, int s0, int s1, int M, int C, int pre, double lo,
                       double hi, int bias)
{
    memset(cw, 0, sizeof *cw);
    cw->c = (wn__upsample_chain){.stages = 2, .stride = {s0, s1}, .kernel = {2 * s0, 2 * s1},
                                 .pad = {s0 / 2, s1 / 2}};
    REQUIRE(wn__upsample_chain_check(&cw->c, NULL) == WN_OK);
    cw->M = M;
    cw->C = C;
    cw->pre = pre;
    cw->pw = rnd((size_t)3 * C * M, lo, hi);
    cw->pb = bias ? rnd(C, -1, 1) : zeros(C);
    for (int i = 0; i < 2; i++) {
        cw->w[i] = rnd((size_t)C * C * cw->c.kernel[i], lo, hi);
        cw->b[i] = bias ? rnd(C, -1, 1) : zeros(C);
    }
}

static void chain_free(chain_w *cw)
{
    free(cw->pw); free(cw->pb);
    for (int i = 0; i < 2; i++) { free(cw->w[i]); free(cw->b[i]); }
}

/* frames (F, M or C) -> rows (F hop, C), a malloc'ed array; tanh between
 * the stages if `squash` */
static float *chain_run(const chain_w *cw, const float *frames, int F, int squash)
{
    const int C = cw->C;
    float *h = zeros((size_t)F * C);
    if (cw->pre)
        wn__conv_frames_forward(h, frames, cw->pw, cw->pb, F, cw->M, C);
    else
        memcpy(h, frames, sizeof(float) * (size_t)F * C);
    long T = F;
    for (int i = 0; i < cw->c.stages; i++) {
        if (i && squash)
            for (size_t j = 0; j < (size_t)T * C; j++) h[j] = tanhf(h[j]);
        const long To = wn__convT_out_len(T, cw->c.kernel[i], cw->c.stride[i], cw->c.pad[i]);
        REQUIRE(To == T * cw->c.stride[i]);
        float *o = zeros((size_t)To * C);
        wn__convT_forward(o, h, cw->w[i], cw->b[i], (int)T, C, C, cw->c.kernel[i],
                          cw->c.stride[i], cw->c.pad[i]);
        free(h);
        h = o;
        T = To;
    }
    return h;
}

static void align_case(int s0, int s1, int pre)
{
    const int C = 2, M = 3, F = 9;
    chain_w cw;
    chain_init(&cw, s0, s1, M, C, pre, 0.1, 1.0, 0);
    const int hop = cw.c.hop, E = cw.c.halo, Min = pre ? M : C;
    CHECK(E == s0 / 2 * s1 + s1 / 2);
    for (int f = 0; f < F; f++) {
        float *x = zeros((size_t)F * Min);
        for (int j = 0; j < Min; j++) x[(size_t)f * Min + j] = 0.5f + 0.25f * j;
        float *y = chain_run(&cw, x, F, 0);
        /* the frames conv spreads frame f over frames f-1..f+1 */
        long lo = (long)(f - pre) * hop - E, hi = (long)(f + 1 + pre) * hop - 1 + E;
        long first = -1, last = -1, wrong = 0;
        for (long r = 0; r < (long)F * hop; r++) {
            int lit = 0;
            for (int c = 0; c < C; c++) lit |= y[(size_t)r * C + c] != 0.0f;
            if (lit && first < 0) first = r;
            if (lit) last = r;
            wrong += lit != (r >= lo && r <= hi);
        }
        CHECKF(!wrong && first == (lo > 0 ? lo : 0) && last == (hi < F * hop ? hi : F * hop - 1),
               "strides %d x %d%s, impulse in frame %d: rows %ld..%ld lit (%ld wrong), expected "
               "%ld..%ld", s0, s1, pre ? " after the frames conv" : "", f, first, last, wrong, lo,
               hi);
        /* away from the edges the reach is symmetric about the block's
         * centre f hop + (hop - 1)/2: in sample terms (row - hop/2), about
         * f hop - 1/2 for this even hop */
        if (lo >= 0 && hi < F * hop) {
            CHECK(lo + hi == 2L * f * hop + hop - 1);
            long n_lo = lo - hop / 2, n_hi = hi - hop / 2;
            CHECK(n_lo + n_hi == 2L * f * hop - 1);
        }
        free(x);
        free(y);
    }
    chain_free(&cw);
}

/* wn__upsample_row(n) lies in the block of the frame wn_stft_magnitude
 * centres nearest to sample n: a click at n is strongest in that frame */
static void stft_case(int hop)
{
    wn__upsample_chain c;
    REQUIRE(wn__upsample_plan(&c, hop, NULL) == WN_OK);
    const int fft = 4 * hop, N = 12 * hop, nb = fft / 2 + 1;
    const size_t frames = wn_stft_frames(N, hop);
    float *x = zeros(N), *mag = zeros(frames * nb);
    int checked = 0;
    for (int n = 0; n < N; n += 3) {
        if (n % hop == hop / 2) continue; /* two frames equally near */
        memset(x, 0, sizeof(float) * N);
        x[n] = 1.0f;
        wn_error err;
        REQUIRE_OK(wn_stft_magnitude(x, N, fft, hop, mag, &err), &err);
        size_t best = 0;
        double bestE = -1;
        for (size_t f = 0; f < frames; f++) {
            double e = 0;
            for (int k = 0; k < nb; k++) e += (double)mag[f * nb + k] * mag[f * nb + k];
            if (e > bestE) { bestE = e; best = f; }
        }
        long row = wn__upsample_row(&c, n);
        CHECKF(row / hop == (long)best, "hop %d, click at %d: strongest STFT frame %zu, row %ld "
               "is in frame %ld's block", hop, n, best, row, row / hop);
        checked++;
    }
    CHECK(checked > 10);
    free(x);
    free(mag);
}

static void window_case(int s0, int s1, int pre)
{
    const int C = 3, M = 4, F = 23;
    chain_w cw;
    chain_init(&cw, s0, s1, M, C, pre, -0.6, 0.6, 1);
    const int hop = cw.c.hop, Min = pre ? M : C;
    float *mel = rnd((size_t)F * Min, -1, 1);
    float *whole = chain_run(&cw, mel, F, 1);
    /* samples whose rows exist: n + hop/2 < F hop */
    const long N = (long)F * hop - hop / 2;
    const long wins[][2] = {{0, 1}, {0, 37}, {5, 9}, {hop * 7 + 3, hop * 9 + 1}, {N - 20, N},
                            {N - 1, N}, {hop * 11, hop * 12}, {1, N}};
    for (int i = 0; i < 8; i++) {
        long n0 = wins[i][0], n1 = wins[i][1], f0, f1;
        wn__upsample_frames_needed(&cw.c, n0, n1, &f0, &f1);
        CHECK(f0 >= 0 && f0 < f1);
        /* as upsample.h says: the frames conv over one more each side,
         * its rows [f0, f1) to the chain */
        long g1 = f1 < F ? f1 : F;
        long p0 = pre && f0 > 0 ? f0 - 1 : f0, p1 = pre && g1 < F ? g1 + 1 : g1;
        float *part;
        if (pre) {
            float *h = zeros((size_t)(p1 - p0) * C);
            wn__conv_frames_forward(h, mel + (size_t)p0 * M, cw.pw, cw.pb, (int)(p1 - p0), M, C);
            chain_w raw = cw;
            raw.pre = 0;
            part = chain_run(&raw, h + (size_t)(f0 - p0) * C, (int)(g1 - f0), 1);
            free(h);
        } else {
            part = chain_run(&cw, mel + (size_t)f0 * C, (int)(g1 - f0), 1);
        }
        int bad = 0;
        for (long n = n0; n < n1; n++) {
            long r = wn__upsample_row(&cw.c, n), j = r - f0 * hop;
            REQUIRE(j >= 0 && j < (g1 - f0) * hop);
            for (int c = 0; c < C; c++) {
                float a = part[(size_t)j * C + c], b = whole[(size_t)r * C + c];
                bad += !(fabsf(a - b) <= 1e-6f * (1 + fabsf(b)));
            }
        }
        CHECKF(!bad, "strides %d x %d%s, samples [%ld, %ld) from frames [%ld, %ld): %d values "
               "differ from the whole sequence's", s0, s1, pre ? " + frames conv" : "", n0, n1,
               f0, f1, bad);
        free(part);
    }
    free(mel);
    free(whole);
    chain_free(&cw);
}

/* A new model's chain: frames x[f][c] = (c + 1) f + c give, away from
 * the edges, rows (c + 1) (r - (hop - 1)/2) / hop + c (each stage puts its
 * input row at the centre of its block and interpolates between). */
static void start_case(int hop)
{
    wn_config c = wn_config_default();
    c.cond = 5;
    c.hop = hop;
    c.upsample_pre = 1;
    c.cond_channels = 3;
    wn_error err;
    wn_model *m = wn_model_init(&c, 7, &err);
    REQUIRE_OK(m ? WN_OK : err.code, &err);
    chain_w cw;
    memset(&cw, 0, sizeof cw);
    REQUIRE(wn__upsample_plan(&cw.c, hop, NULL) == WN_OK);
    const int C = 3, F = 12;
    cw.C = C;
    for (int i = 0; i < cw.c.stages; i++) {
        char name[32];
        const int K = cw.c.kernel[i];
        float *w = zeros((size_t)C * C * K);
        cw.w[i] = zeros((size_t)C * C * K);
        cw.b[i] = zeros(C);
        snprintf(name, sizeof name, "upsample.%d.weight", i);
        REQUIRE(wn_model_tensor_get(m, name, NULL, w) == (size_t)C * C * K);
        wn__taps_pack(cw.w[i], w, C, C, K);
        snprintf(name, sizeof name, "upsample.%d.bias", i);
        REQUIRE(wn_model_tensor_get(m, name, NULL, cw.b[i]) == (size_t)C);
        for (int j = 0; j < C; j++) CHECK(cw.b[i][j] == 0.0f);
        free(w);
    }
    float *x = zeros((size_t)F * C);
    for (int f = 0; f < F; f++)
        for (int j = 0; j < C; j++) x[(size_t)f * C + j] = (float)((j + 1) * f + j);
    float *y = chain_run(&cw, x, F, 0);
    double worst = 0;
    for (long r = 2L * hop; r < (long)(F - 2) * hop; r++)
        for (int j = 0; j < C; j++) {
            double want = (j + 1) * (r - (hop - 1) / 2.0) / hop + j;
            double e = fabs(y[(size_t)r * C + j] - want);
            if (e > worst) worst = e;
        }
    CHECKF(worst < 1e-4, "hop %d: a new model's upsampler is %.3g from linear interpolation",
           hop, worst);
    free(x);
    free(y);
    chain_free(&cw);
    wn_model_free(m);
}

static void test_align(void)
{
    start_case(64);
    start_case(200);
    start_case(32);
    align_case(4, 2, 0);
    align_case(4, 2, 1);
    align_case(2, 4, 0);
    align_case(8, 8, 0);
    align_case(6, 4, 1);
    stft_case(8);
    stft_case(64);
    stft_case(200);
    window_case(4, 2, 0);
    window_case(4, 2, 1);
    window_case(2, 6, 1);
}

int main(void)
{
    test_ref();
    test_fd();
    test_torch();
    test_plan();
    test_align();
    fprintf(stderr, "worst: ref %.3g (tol %.0e), fd %.3g (relative, tol %.0e), torch %.3g "
            "(tol %.0e)\n", worst_ref, TOL_REF, worst_fd, FD_RTOL, worst_torch, TOL_TORCH);
    return tu_finish("upsample", 0);
}
