/* test_torch_ref.c - the C library against an independent PyTorch reference.
 *
 * tests/torch_reference.py (run by hand with torch; CI only reads its
 * output) writes two safetensors files into tests/fixtures/:
 *   torch_ref_model.safetensors  a small model (Q=256, 6 layers in stacks of
 *                                3, R=8, D=6, S=10), docs/FORMAT.md
 *   torch_ref_data.safetensors   codes (I32 n), logits (F32 n x Q), train_codes
 *                                (I32 B x len), loss (F64 1), grad.<name> and
 *                                adam1.<name> (F32, every model tensor); the
 *                                sizes are in __metadata__ (n, batch, len, rf).
 * This test reads the data file with the tests' small reader (testutil.c:
 * jansson for the header, zlib for the crc32) and checks, failing on any
 * mismatch:
 *   load    wn_model_load gives the file's weights bit for bit
 *   logits  wn_model_logits (the past before x_0 is silence)
 *   gen     wn_gen_prime(NULL) + wn_gen_feed(silence, x0, x1, ...) step by step
 *   loss    wn_loss_grad's loss and the gradient of every tensor by name
 *   adam    one wn_optim_step (Adam defaults, lr 1e-3) driven by the
 *           reference gradients (not our own: Adam's first step is
 *           ~lr*sign(g), so tiny gradient errors near zero would blur a test
 *           of the optimizer), against torch.optim.Adam
 * and then the same for a conditional model (cond_reference below:
 * torch_cond_model.safetensors, torch_cond_data.safetensors).
 * On success it prints the worst error of every group.
 */
#include "testutil.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

/* Tolerances. Float32 torch against the float64 reference lands at ~1e-6
 * (logits), ~1e-7 (loss) and ~5e-7 (gradients), so these leave a wide
 * margin for a different summation order while catching any real error. */
#define TOL_LOGITS 1e-4 /* max |c - ref| / (1 + |ref|) */
#define TOL_LOSS 1e-5   /* |c - ref| / (1 + |ref|) */
#define TOL_GRAD 1e-4   /* max |c - ref| / scale, scale = max(max|ref| of the
                           tensor, 1% of the largest gradient of any tensor) */
#define TOL_ADAM 2e-6   /* max |c - ref| / (1 + |ref|): 0.2% of lr, a few
                           float32 ulps of the weights */

/* ---------------------------------------------------------------- helpers */

/* "(i, j, k)" of flat index idx in a tensor of shape[ndim]. */
static const char *coords(int ndim, const int shape[3], size_t idx)
{
    static char buf[64];
    int c[3] = {0, 0, 0};
    for (int d = ndim - 1; d >= 0; d--) {
        c[d] = (int)(idx % (size_t)shape[d]);
        idx /= (size_t)shape[d];
    }
    if (ndim == 1) snprintf(buf, sizeof buf, "[%d]", c[0]);
    else if (ndim == 2) snprintf(buf, sizeof buf, "[%d,%d]", c[0], c[1]);
    else snprintf(buf, sizeof buf, "[%d,%d,%d]", c[0], c[1], c[2]);
    return buf;
}

/* Least-squares k with c ~ k * ref: -1 is a sign flip, 2 or 0.5 a
 * sum/mean mix-up, ~0 an unconnected tensor. */
static double fit_scale(const float *c, const float *ref, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        num += (double)c[i] * ref[i];
        den += (double)ref[i] * ref[i];
    }
    return den > 0 ? num / den : NAN;
}

static double maxabs(const float *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(a[i]) > m) m = fabs(a[i]);
    return m;
}

typedef struct worst {
    double err;
    char where[160];
} worst;

static void note(worst *w, double err, const char *fmt, const char *name, const char *at)
{
    if (!(err <= w->err)) { /* NaN is the worst */
        w->err = isnan(err) ? INFINITY : err;
        snprintf(w->where, sizeof w->where, fmt, name, at);
    }
}

/* ---------------------------------------------------------------- conditional
 * tests/torch_reference.py's conditional model (main_cond): mel features
 * through a frames conv and two transposed-conv stages (hop 40 = 4 x 10),
 * per-band normalisation, four named speakers. torch_cond_model.safetensors
 * is the model (version 2), torch_cond_data.safetensors the values:
 *   load    config, strides, recipe, normalisation and names from the
 *           metadata; every tensor bit for bit; wn_model_save writes the
 *           reference's file byte for byte
 *   logits  wn_model_logits_cond (clip 0, one speaker, a silent past)
 *   score   wn_score_codes by chunks of 37 samples (spans that start
 *           anywhere against the hop, and before the clip) on 1 and 2
 *           threads: every log-probability against the reference logits'
 *   grad    wn_grad_ctx_run_cond over three windows of two clips (offsets
 *           0, at a clip's end and off the hop's grid; a speaker in none):
 *           the loss and every tensor's gradient, on 1 and 2 threads (the
 *           third window shared by both) with the same bits */

/* The n comma-separated numbers of s, as floats. */
static void parse_list(const char *s, float *out, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        out[i] = strtof(s, &end);
        REQUIRE(end != s && (*end == (i + 1 < n ? ',' : '\0')));
        s = end + (i + 1 < n);
    }
}

/* Every tensor's gradient (the layout of wn_model_params) against the
 * reference's, max |err| / scale with scale = max(max|ref| of the tensor,
 * 1% of the largest): the worst into *w. */
static void check_grads(const wn_model *m, const fx_file *fd, const float *grad,
                        const char *label, worst *w)
{
    const int nt = wn_model_tensor_count(m);
    double gscale = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < nt; i++) {
            const char *name = wn_model_tensor_name(m, i);
            char key[256];
            snprintf(key, sizeof key, "grad.%s", name);
            int ndim, shape[3];
            const size_t cnt = wn_model_tensor_info(m, name, &ndim, shape, NULL);
            float *gr = fx_get(fd, key, "F32", cnt, NULL);
            if (pass == 0) {
                if (maxabs(gr, cnt) > gscale) gscale = maxabs(gr, cnt);
                free(gr);
                continue;
            }
            float *gc = malloc(cnt * sizeof *gc);
            REQUIRE(gc && wn_model_tensor_get(m, name, grad, gc) == cnt);
            double tscale = maxabs(gr, cnt), terr = 0;
            if (tscale < 0.01 * gscale) tscale = 0.01 * gscale;
            size_t at = 0;
            for (size_t k = 0; k < cnt; k++) {
                double e = fabs((double)gc[k] - gr[k]) / tscale;
                if (!(e <= terr)) { terr = isnan(e) ? INFINITY : e; at = k; }
            }
            char where[96];
            snprintf(where, sizeof where, "%s (=%.6e vs %.6e)", coords(ndim, shape, at),
                     (double)gc[at], (double)gr[at]);
            note(w, terr, "grad.%s%s", name, where);
            CHECKF(terr <= TOL_GRAD, "%s: grad.%s: max |err|/scale %.3e at %s, max|ref| %.3e, "
                   "fitted c = %.4f * ref", label, name, terr, where, maxabs(gr, cnt),
                   fit_scale(gc, gr, cnt));
            free(gc);
            free(gr);
        }
}

static void cond_reference(void)
{
    char mpath[1024], dpath[1024];
    snprintf(mpath, sizeof mpath, "%s/tests/fixtures/torch_cond_model.safetensors",
             tu_srcdir());
    snprintf(dpath, sizeof dpath, "%s/tests/fixtures/torch_cond_data.safetensors",
             tu_srcdir());
    fx_file fm, fd;
    fx_open(&fm, mpath);
    fx_open(&fd, dpath);
    wn_error err;
    memset(&err, 0, sizeof err);
    wn_model *m = wn_model_load(mpath, &err);
    if (!m) { fprintf(stderr, "wn_model_load(%s): %s\n", mpath, err.message); exit(1); }

    /* ---- load: the configuration and everything the metadata carries */
    const wn_config c = wn_model_config(m);
    const int Q = c.bins, C = c.cond, N = c.speakers;
    CHECKF(c.bins == fx_meta_int(&fm, "bins") && c.layers == fx_meta_int(&fm, "layers") &&
           c.stack == fx_meta_int(&fm, "stack") && c.residual == fx_meta_int(&fm, "residual") &&
           c.dilation == fx_meta_int(&fm, "dilation") && c.skip == fx_meta_int(&fm, "skip") &&
           C == fx_meta_int(&fm, "cond") && c.hop == fx_meta_int(&fm, "hop") &&
           c.upsample_pre == fx_meta_int(&fm, "upsample_pre") &&
           N == fx_meta_int(&fm, "speakers") &&
           c.speaker_dim == fx_meta_int(&fm, "speaker_dim"),
           "cond model: configuration (cond %d hop %d pre %d speakers %d dim %d)", C, c.hop,
           c.upsample_pre, N, c.speaker_dim);
    REQUIRE(C > 0 && N > 0 && c.upsample_pre == 1);
    CHECKF(wn_model_receptive_field(m) == fx_meta_int(&fd, "rf"), "cond model: rf %d",
           wn_model_receptive_field(m));
    int strides[4];
    const int ns = wn_model_upsample_strides(m, strides);
    char sbuf[64] = "";
    for (int i = 0, l = 0; i < ns; i++)
        l += snprintf(sbuf + l, sizeof sbuf - (size_t)l, "%s%d", i ? "," : "", strides[i]);
    CHECKF(ns == 2 && !strcmp(sbuf, fx_meta(&fm, "upsample_strides")),
           "cond model: strides %s, reference %s", sbuf, fx_meta(&fm, "upsample_strides"));
    float *mean = malloc(sizeof(float) * 4 * (size_t)C), *std = mean + C;
    float *rmean = mean + 2 * C, *rstd = mean + 3 * C;
    REQUIRE(mean);
    parse_list(fx_meta(&fm, "feature_mean"), rmean, C);
    parse_list(fx_meta(&fm, "feature_std"), rstd, C);
    CHECK(wn_model_feature_norm(m, mean, std) == 1);
    CHECK(!memcmp(mean, rmean, sizeof(float) * (size_t)C) &&
          !memcmp(std, rstd, sizeof(float) * (size_t)C));
    free(mean);
    wn_mel_params mp;
    REQUIRE(wn_model_mel_params(m, &mp) == WN_OK);
    CHECKF(mp.mels == C && mp.hop == c.hop && mp.fft == fx_meta_int(&fm, "mel_fft") &&
           mp.fmin == strtod(fx_meta(&fm, "mel_fmin"), NULL) &&
           mp.fmax == strtod(fx_meta(&fm, "mel_fmax"), NULL) && mp.scale == WN_MEL_HTK &&
           !strcmp(fx_meta(&fm, "mel_scale"), "htk") && mp.area_norm == 0 &&
           !strcmp(fx_meta(&fm, "mel_norm"), "none") &&
           mp.floor == strtof(fx_meta(&fm, "mel_floor"), NULL),
           "cond model: recipe fft %d fmin %g fmax %g scale %d norm %d floor %g", mp.fft,
           mp.fmin, mp.fmax, (int)mp.scale, mp.area_norm, (double)mp.floor);
    {
        char names[512];
        snprintf(names, sizeof names, "%s", fx_meta(&fm, "speaker_names"));
        int i = 0;
        for (char *s = names, *tok; (tok = strsep(&s, ",")); i++) {
            CHECKF(i < N && !strcmp(wn_model_speaker_name(m, i), tok),
                   "cond model: speaker %d is '%s', reference '%s'", i,
                   i < N ? wn_model_speaker_name(m, i) : "-", tok);
            CHECK(wn_model_speaker_find(m, tok) == i);
        }
        CHECK(i == N);
    }
    const size_t P = wn_model_param_count(m);
    const int nt = wn_model_tensor_count(m);
    size_t total = 0;
    worst wload = {0, ""};
    for (int i = 0; i < nt; i++) {
        const char *name = wn_model_tensor_name(m, i);
        int ndim, shape[3];
        const size_t cnt = wn_model_tensor_info(m, name, &ndim, shape, NULL);
        float *ref = fx_get(&fm, name, "F32", cnt, NULL), *p = malloc(cnt * sizeof *p);
        REQUIRE(p && wn_model_tensor_get(m, name, NULL, p) == cnt);
        for (size_t k = 0; k < cnt; k++)
            if (memcmp(&p[k], &ref[k], sizeof(float)))
                note(&wload, fabs((double)p[k] - ref[k]) + 1e-30, "%s%s", name,
                     coords(ndim, shape, k));
        total += cnt;
        free(p);
        free(ref);
    }
    CHECKF(total == P && json_object_size(fm.header) == (size_t)nt + 1,
           "cond model: %zu of %zu floats, the file has %zu tensors, the model %d", total, P,
           json_object_size(fm.header) - 1, nt);
    CHECKF(wload.err == 0, "cond model: loaded weights differ from the file at %s by %.3e",
           wload.where, wload.err);
    /* the writer: the reference wrote the metadata as wn_model_save does */
    REQUIRE_OK(wn_model_save(m, tu_path("cond.safetensors"), &err), &err);
    {
        fx_file fs;
        fx_open(&fs, tu_path("cond.safetensors"));
        CHECKF(fs.size == fm.size && !memcmp(fs.raw, fm.raw, fm.size),
               "cond model: wn_model_save does not give the reference's bytes (%zu, %zu)",
               fs.size, fm.size);
        fx_close(&fs);
    }

    /* ---- logits: clip 0, speaker logits_speaker, the past silence */
    const size_t n = (size_t)fx_meta_int(&fd, "n");
    const int spk = (int)fx_meta_int(&fd, "logits_speaker");
    size_t nf0, nf1;
    int *codes = fx_get(&fd, "codes", "I32", n, NULL);
    float *feats0 = fx_get(&fd, "features", "F32", 0, &nf0);
    float *feats1 = fx_get(&fd, "features1", "F32", 0, &nf1);
    float *logits_ref = fx_get(&fd, "logits", "F32", n * (size_t)Q, NULL);
    const size_t F0 = nf0 / (size_t)C, F1 = nf1 / (size_t)C;
    CHECKF(F0 == wn_model_cond_frames(m, n), "clip 0: %zu frames, wn_model_cond_frames %zu",
           F0, wn_model_cond_frames(m, n));
    const wn_cond cc = {feats0, F0, spk, 0};
    float *logits = malloc(n * (size_t)Q * sizeof *logits);
    REQUIRE(logits);
    REQUIRE_OK(wn_model_logits_cond(m, codes, n, &cc, logits, &err), &err);
    worst wlog = {0, ""};
    for (size_t t = 0; t < n; t++) {
        char at[48];
        snprintf(at, sizeof at, "t=%zu", t);
        note(&wlog, tu_maxrel(logits + t * Q, logits_ref + t * Q, (size_t)Q), "%s %s",
             "cond logits", at);
    }
    CHECKF(wlog.err <= TOL_LOGITS, "wn_model_logits_cond: max |err|/(1+|ref|) %.3e at %s",
           wlog.err, wlog.where);
    fprintf(stderr, "cond logits: worst %.3e (%s), tolerance %.0e\n", wlog.err,
            wlog.where[0] ? wlog.where : "-", TOL_LOGITS);

    /* ---- score: chunks of 37 samples, 1 and 2 threads */
    float *logp = malloc(n * sizeof *logp);
    double *lref = malloc(n * sizeof *lref), nll_ref = 0;
    REQUIRE(logp && lref);
    for (size_t t = 0; t < n; t++) {
        const float *l = logits_ref + t * Q;
        double mx = -INFINITY, s = 0;
        for (int q = 0; q < Q; q++) mx = fmax(mx, l[q]);
        for (int q = 0; q < Q; q++) s += exp((double)l[q] - mx);
        lref[t] = (double)l[codes[t]] - mx - log(s);
        nll_ref -= lref[t];
    }
    worst wsc = {0, ""};
    for (int th = 1; th <= 2; th++) {
        wn_score_params sp = wn_score_default_params();
        sp.chunk = 37;
        sp.threads = th;
        sp.cond = &cc;
        double nll = NAN;
        REQUIRE_OK(wn_score_codes(m, codes, n, &sp, &nll, logp, &err), &err);
        for (size_t t = 0; t < n; t++) {
            char at[48];
            snprintf(at, sizeof at, "t=%zu threads=%d", t, th);
            note(&wsc, fabs(logp[t] - lref[t]) / (1 + fabs(lref[t])), "%s %s", "cond logp",
                 at);
        }
        CHECKF(fabs(nll - nll_ref) <= TOL_LOSS * nll_ref, "score, threads %d: nll %.9f, "
               "reference %.9f", th, nll, nll_ref);
    }
    CHECKF(wsc.err <= TOL_LOGITS, "wn_score_codes: max |err|/(1+|ref|) %.3e at %s", wsc.err,
           wsc.where);
    fprintf(stderr, "cond score: chunks of 37, worst %.3e (%s), tolerance %.0e\n", wsc.err,
            wsc.where, TOL_LOGITS);

    /* ---- loss and gradients of the windows */
    const int B = (int)fx_meta_int(&fd, "batch"), len = (int)fx_meta_int(&fd, "len");
    int *train = fx_get(&fd, "train_codes", "I32", (size_t)B * len, NULL);
    int *clip = fx_get(&fd, "train_clip", "I32", (size_t)B, NULL);
    int *off = fx_get(&fd, "train_offset", "I32", (size_t)B, NULL);
    int *wspk = fx_get(&fd, "train_speaker", "I32", (size_t)B, NULL);
    double *loss_ref = fx_get(&fd, "loss", "F64", 1, NULL);
    wn_window_cond *wc = calloc((size_t)B, sizeof *wc);
    float *grad = malloc(P * sizeof *grad), *grad1 = malloc(P * sizeof *grad1);
    REQUIRE(wc && grad && grad1);
    for (int b = 0; b < B; b++)
        wc[b] = (wn_window_cond){clip[b] ? feats1 : feats0, clip[b] ? F1 : F0, off[b], wspk[b]};
    double loss1 = NAN;
    for (int th = 1; th <= 2; th++) {
        wn_grad_ctx *gc = wn_grad_ctx_create(m, B, len, th, &err);
        if (!gc) { fprintf(stderr, "wn_grad_ctx_create: %s\n", err.message); exit(1); }
        double loss = NAN;
        for (size_t k = 0; k < P; k++) grad[k] = NAN; /* must be overwritten */
        REQUIRE_OK(wn_grad_ctx_run_cond(gc, train, wc, grad, &loss, &err), &err);
        wn_grad_ctx_free(gc);
        double lerr = fabs(loss - loss_ref[0]) / (1 + fabs(loss_ref[0]));
        if (isnan(lerr)) lerr = INFINITY;
        CHECKF(lerr <= TOL_LOSS, "cond threads=%d: loss %.9f, reference %.9f (rel err %.3e)",
               th, loss, loss_ref[0], lerr);
        char label[32];
        snprintf(label, sizeof label, "cond threads=%d", th);
        worst wg = {0, ""};
        check_grads(m, &fd, grad, label, &wg);
        fprintf(stderr, "cond loss: threads=%d: %.9f vs %.9f, rel err %.3e, tolerance %.0e\n",
                th, loss, loss_ref[0], lerr, TOL_LOSS);
        fprintf(stderr, "cond grad: threads=%d: worst %.3e (%s), tolerance %.0e\n", th,
                wg.err, wg.where, TOL_GRAD);
        if (th == 1) {
            memcpy(grad1, grad, P * sizeof *grad);
            loss1 = loss;
        } else {
            CHECKF(!memcmp(grad1, grad, P * sizeof *grad) && loss1 == loss,
                   "cond: 2 threads do not give 1 thread's bits");
        }
    }

    free(wc), free(grad), free(grad1), free(train), free(clip), free(off), free(wspk);
    free(loss_ref), free(logp), free(lref), free(logits), free(logits_ref), free(codes);
    free(feats0), free(feats1);
    wn_model_free(m);
    fx_close(&fm);
    fx_close(&fd);
}

/* ---------------------------------------------------------------- main */

int main(void)
{
    char mpath[1024], dpath[1024];
    snprintf(mpath, sizeof mpath, "%s/tests/fixtures/torch_ref_model.safetensors", tu_srcdir());
    snprintf(dpath, sizeof dpath, "%s/tests/fixtures/torch_ref_data.safetensors", tu_srcdir());
    fx_file fm, fd;
    fx_open(&fm, mpath);
    fx_open(&fd, dpath);

    wn_error err;
    memset(&err, 0, sizeof err);
    wn_model *m = wn_model_load(mpath, &err);
    if (!m) { fprintf(stderr, "wn_model_load(%s): %s\n", mpath, err.message); return 1; }
    wn_config c = wn_model_config(m);
    const int Q = c.bins;
    const int rf = (int)fx_meta_int(&fd, "rf");
    const size_t n = (size_t)fx_meta_int(&fd, "n");
    const int B = (int)fx_meta_int(&fd, "batch");
    const int len = (int)fx_meta_int(&fd, "len");
    REQUIRE(Q == fx_meta_int(&fd, "bins") && c.layers == fx_meta_int(&fd, "layers")
            && c.stack == fx_meta_int(&fd, "stack") && c.residual == fx_meta_int(&fd, "residual")
            && c.dilation == fx_meta_int(&fd, "dilation") && c.skip == fx_meta_int(&fd, "skip"));
    CHECKF(wn_model_receptive_field(m) == rf, "receptive field %d, reference %d",
           wn_model_receptive_field(m), rf);
    const size_t P = wn_model_param_count(m);
    const int nt = wn_model_tensor_count(m);

    /* ---- load: every tensor bit for bit, and the tensor list matches */
    size_t total = 0;
    worst wload = {0, ""};
    for (int i = 0; i < nt; i++) {
        const char *name = wn_model_tensor_name(m, i);
        int ndim, shape[3];
        size_t off, cnt = wn_model_tensor_info(m, name, &ndim, shape, &off);
        REQUIRE(cnt > 0 && off + cnt <= P);
        total += cnt;
        float *ref = fx_get(&fm, name, "F32", cnt, NULL);
        float *p = malloc(cnt * sizeof *p);
        REQUIRE(p && wn_model_tensor_get(m, name, NULL, p) == cnt);
        for (size_t k = 0; k < cnt; k++)
            if (memcmp(&p[k], &ref[k], sizeof(float)))
                note(&wload, fabs((double)p[k] - ref[k]) + 1e-30, "%s%s", name,
                     coords(ndim, shape, k));
        free(p);
        free(ref);
    }
    CHECKF(total == P, "tensors hold %zu floats, param_count %zu", total, P);
    CHECKF(json_object_size(fm.header) == (size_t)nt + 1, "file has %zu tensors, model %d",
           json_object_size(fm.header) - 1, nt);
    CHECKF(wload.err == 0, "loaded weights differ from the file at %s by %.3e",
           wload.where, wload.err);

    /* ---- logits: teacher-forced, silent past */
    int *codes = fx_get(&fd, "codes", "I32", n, NULL);
    float *logits_ref = fx_get(&fd, "logits", "F32", n * (size_t)Q, NULL);
    float *logits = malloc(n * (size_t)Q * sizeof *logits);
    REQUIRE(logits);
    REQUIRE_OK(wn_model_logits(m, codes, n, logits, &err), &err);
    worst wlog = {0, ""};
    for (size_t t = 0; t < n; t++) {
        char at[48];
        snprintf(at, sizeof at, "t=%zu", t);
        note(&wlog, tu_maxrel(logits + t * Q, logits_ref + t * Q, (size_t)Q), "%s %s",
             "logits", at);
    }
    CHECKF(wlog.err <= TOL_LOGITS, "wn_model_logits: max |err|/(1+|ref|) %.3e at %s",
           wlog.err, wlog.where);
    fprintf(stderr, "logits:  worst %.3e (%s), tolerance %.0e\n", wlog.err,
            wlog.where[0] ? wlog.where : "-", TOL_LOGITS);

    /* ---- gen: cached generation, fed silence, x0, x1, ... */
    const int silence = wn_mulaw_silence(Q);
    CHECKF(silence == fx_meta_int(&fd, "silence"), "wn_mulaw_silence %d, reference %ld",
           silence, fx_meta_int(&fd, "silence"));
    wn_sample_params sp = wn_sample_default_params();
    wn_gen *g = wn_gen_create(m, 1, &sp, &err);
    if (!g) { fprintf(stderr, "wn_gen_create: %s\n", err.message); return 1; }
    REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
    worst wgen = {0, ""};
    float *step = malloc((size_t)Q * sizeof *step);
    REQUIRE(step);
    for (size_t t = 0; t < n; t++) {
        int in = t == 0 ? silence : codes[t - 1];
        int rc = wn_gen_feed(g, &in, step);
        if (rc != WN_OK) {
            CHECKF(rc == WN_OK, "wn_gen_feed at step %zu -> %d", t, rc);
            break;
        }
        char at[48];
        snprintf(at, sizeof at, "step %zu", t);
        note(&wgen, tu_maxrel(step, logits_ref + t * Q, (size_t)Q), "%s %s", "gen", at);
    }
    wn_gen_free(g);
    CHECKF(wgen.err <= TOL_LOGITS, "wn_gen_feed logits: max |err|/(1+|ref|) %.3e at %s",
           wgen.err, wgen.where);
    fprintf(stderr, "gen:     worst %.3e (%s), tolerance %.0e\n", wgen.err,
            wgen.where[0] ? wgen.where : "-", TOL_LOGITS);

    /* ---- loss and gradients, single-threaded and default threads */
    int *train = fx_get(&fd, "train_codes", "I32", (size_t)B * len, NULL);
    double *loss_ref = fx_get(&fd, "loss", "F64", 1, NULL);
    float **gref = calloc((size_t)nt, sizeof *gref);
    REQUIRE(gref);
    double gscale = 0;
    for (int i = 0; i < nt; i++) {
        char key[256];
        const char *name = wn_model_tensor_name(m, i);
        snprintf(key, sizeof key, "grad.%s", name);
        int ndim, shape[3];
        size_t cnt = wn_model_tensor_info(m, name, &ndim, shape, NULL);
        gref[i] = fx_get(&fd, key, "F32", cnt, NULL);
        double a = maxabs(gref[i], cnt);
        if (a > gscale) gscale = a;
    }
    float *grad = malloc(P * sizeof *grad);
    REQUIRE(grad);
    const int thread_runs[2] = {1, 0};
    for (int r = 0; r < 2; r++) {
        double loss = NAN;
        for (size_t k = 0; k < P; k++) grad[k] = NAN; /* must be overwritten */
        REQUIRE_OK(wn_loss_grad(m, train, B, len, thread_runs[r], grad, &loss, &err), &err);
        double lerr = fabs(loss - loss_ref[0]) / (1 + fabs(loss_ref[0]));
        if (isnan(lerr)) lerr = INFINITY;
        CHECKF(lerr <= TOL_LOSS, "threads=%d: loss %.9f, reference %.9f (rel err %.3e)",
               thread_runs[r], loss, loss_ref[0], lerr);
        worst wg = {0, ""};
        double wg_maxrel = 0;
        for (int i = 0; i < nt; i++) {
            const char *name = wn_model_tensor_name(m, i);
            int ndim, shape[3];
            size_t cnt = wn_model_tensor_info(m, name, &ndim, shape, NULL);
            float *gc = malloc(cnt * sizeof *gc);
            const float *gr = gref[i];
            REQUIRE(gc && wn_model_tensor_get(m, name, grad, gc) == cnt);
            double tscale = maxabs(gr, cnt);
            if (tscale < 0.01 * gscale) tscale = 0.01 * gscale;
            double terr = 0;
            size_t at = 0;
            for (size_t k = 0; k < cnt; k++) {
                double e = fabs((double)gc[k] - gr[k]) / tscale;
                if (!(e <= terr)) { terr = isnan(e) ? INFINITY : e; at = k; }
            }
            double mr = tu_maxrel(gc, gr, cnt);
            if (mr > wg_maxrel) wg_maxrel = mr;
            char where[96];
            snprintf(where, sizeof where, "%s (=%.6e vs %.6e)", coords(ndim, shape, at),
                     (double)gc[at], (double)gr[at]);
            note(&wg, terr, "grad.%s%s", name, where);
            CHECKF(terr <= TOL_GRAD,
                   "threads=%d: grad.%s: max |err|/scale %.3e at %s, max|ref| %.3e, "
                   "fitted c = %.4f * ref", thread_runs[r], name, terr, where,
                   maxabs(gr, cnt), fit_scale(gc, gr, cnt));
            free(gc);
        }
        fprintf(stderr, "loss:    threads=%d: %.9f vs %.9f, rel err %.3e, tolerance %.0e\n",
                thread_runs[r], loss, loss_ref[0], lerr, TOL_LOSS);
        fprintf(stderr, "grad:    threads=%d: worst %.3e (%s), tolerance %.0e "
                "(max |err|/(1+|ref|) %.3e)\n", thread_runs[r], wg.err, wg.where,
                TOL_GRAD, wg_maxrel);
    }

    /* ---- one Adam step from the reference gradients */
    wn_optim_params op = wn_optim_default_params();
    CHECKF(op.kind == WN_OPT_ADAM && op.beta1 == 0.9f && op.beta2 == 0.999f
           && op.eps == 1e-8f && op.weight_decay == 0,
           "Adam defaults: kind %d beta1 %g beta2 %g eps %g wd %g", (int)op.kind,
           op.beta1, op.beta2, op.eps, op.weight_decay);
    op.kind = WN_OPT_ADAM;
    float *w0 = malloc(P * sizeof *w0);
    REQUIRE(w0);
    memcpy(w0, wn_model_params(m), P * sizeof *w0);
    for (int i = 0; i < nt; i++)
        REQUIRE(wn_model_tensor_put(m, wn_model_tensor_name(m, i), grad, gref[i]) > 0);
    wn_optim *o = wn_optim_create(m, &op, &err);
    if (!o) { fprintf(stderr, "wn_optim_create: %s\n", err.message); return 1; }
    const float lr = 1e-3f;
    REQUIRE(strtod(fx_meta(&fd, "lr"), NULL) == 1e-3);
    REQUIRE_OK(wn_optim_step(o, m, grad, lr, &err), &err);
    CHECKF(wn_optim_steps(o) == 1, "wn_optim_steps %lld after one step",
           (long long)wn_optim_steps(o));
    worst wadam = {0, ""};
    for (int i = 0; i < nt; i++) {
        const char *name = wn_model_tensor_name(m, i);
        char key[256];
        snprintf(key, sizeof key, "adam1.%s", name);
        int ndim, shape[3];
        size_t cnt = wn_model_tensor_info(m, name, &ndim, shape, NULL);
        float *ref = fx_get(&fd, key, "F32", cnt, NULL);
        float *p = malloc(cnt * sizeof *p), *p0 = malloc(cnt * sizeof *p0);
        REQUIRE(p && p0 && wn_model_tensor_get(m, name, NULL, p) == cnt &&
                wn_model_tensor_get(m, name, w0, p0) == cnt);
        double terr = 0;
        size_t at = 0;
        for (size_t k = 0; k < cnt; k++) {
            double e = fabs((double)p[k] - ref[k]) / (1 + fabs((double)ref[k]));
            if (!(e <= terr)) { terr = isnan(e) ? INFINITY : e; at = k; }
        }
        /* the update itself, in units of lr, at the worst element */
        double du_c = ((double)p[at] - p0[at]) / lr;
        double du_r = ((double)ref[at] - p0[at]) / lr;
        char where[128];
        snprintf(where, sizeof where, "%s (update %.6f lr vs %.6f lr, grad %.3e)",
                 coords(ndim, shape, at), du_c, du_r, (double)gref[i][at]);
        note(&wadam, terr, "adam1.%s%s", name, where);
        CHECKF(terr <= TOL_ADAM, "adam1.%s: max |err|/(1+|ref|) %.3e at %s", name, terr, where);
        free(ref);
        free(p);
        free(p0);
    }
    fprintf(stderr, "adam:    worst %.3e (%s), tolerance %.0e\n", wadam.err, wadam.where,
            TOL_ADAM);
    wn_optim_free(o);

    for (int i = 0; i < nt; i++) free(gref[i]);
    free(gref);
    free(w0);
    free(grad);
    free(loss_ref);
    free(train);
    free(step);
    free(logits);
    free(logits_ref);
    free(codes);
    wn_model_free(m);
    fx_close(&fm);
    fx_close(&fd);

    cond_reference();
    return tu_finish("torch_ref", 0);
}
