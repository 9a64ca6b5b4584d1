/* cond.c - conditioning (cond.h): the feature recipe and normalisation, the
 * upsampler over a span of samples, the speaker terms, and the public
 * conditioning calls of wavenet.h. */
#include "cond.h"
#include "kernels.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int wn__cond_default_fft(int hop)
{
    int f = 8;
    while (f < 3 * hop && f < 65536) f *= 2;
    return f;
}

/* ---------------------------------------------------------------- public */

size_t wn_model_cond_frames(const wn_model *m, size_t n)
{
    if (!m || !m->cfg.cond) return 0;
    const size_t hop = (size_t)m->cfg.hop;
    return (n + hop / 2) / hop + 1;
}

size_t wn_model_cond_samples(const wn_model *m, size_t frames)
{
    if (!m || !m->cfg.cond || frames < 1) return 0;
    return (frames - 1) * (size_t)m->cfg.hop;
}

int wn_model_speaker_count(const wn_model *m) { return m ? m->cfg.speakers : 0; }

const char *wn_model_speaker_name(const wn_model *m, int i)
{
    return m && i >= 0 && i < m->cfg.speakers ? m->spk_names[i] : NULL;
}

int wn_model_speaker_find(const wn_model *m, const char *name)
{
    if (!m || !name || !m->cfg.speakers) return -1;
    for (int i = 0; i < m->cfg.speakers; i++)
        if (!strcmp(m->spk_names[i], name)) return i;
    char *end;
    long v = strtol(name, &end, 10);
    if (*name && !*end && v >= 0 && v < m->cfg.speakers) return (int)v;
    return -1;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63) return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.') return 0;
    return 1;
}

int wn_model_set_speaker_names(wn_model *m, const char *const *names, int n, wn_error *err)
{
    if (!m || !names) return wn__err(err, WN_ERR_ARG, "NULL argument");
    if (n != m->cfg.speakers)
        return wn__err(err, WN_ERR_ARG, "%d speaker names for a model of %d speakers", n,
                       m->cfg.speakers);
    for (int i = 0; i < n; i++) {
        if (!names[i] || !name_ok(names[i]))
            return wn__err(err, WN_ERR_ARG,
                           "speaker name %d is not 1..63 letters, digits, '_', '-' or '.'",
                           i + 1);
        for (int j = 0; j < i; j++)
            if (!strcmp(names[i], names[j]))
                return wn__err(err, WN_ERR_ARG, "speaker name '%s' is given twice", names[i]);
    }
    for (int i = 0; i < n; i++) snprintf(m->spk_names[i], 64, "%s", names[i]);
    return WN_OK;
}

int wn_model_set_feature_norm(wn_model *m, const float *mean, const float *std, wn_error *err)
{
    if (!m || !mean || !std) return wn__err(err, WN_ERR_ARG, "NULL argument");
    const int C = m->cfg.cond;
    if (!C) return wn__err(err, WN_ERR_ARG, "the model has no mel conditioning");
    for (int i = 0; i < C; i++)
        if (!isfinite(mean[i]) || !(std[i] > 0) || !isfinite(std[i]))
            return wn__err(err, WN_ERR_ARG, "feature normalisation of band %d: mean %g, std %g "
                           "(finite, std > 0)", i, (double)mean[i], (double)std[i]);
    memcpy(m->feat_mean, mean, sizeof(float) * (size_t)C);
    memcpy(m->feat_std, std, sizeof(float) * (size_t)C);
    m->norm_set = 1;
    return WN_OK;
}

int wn_model_feature_norm(const wn_model *m, float *mean, float *std)
{
    if (!m || !m->cfg.cond) return -1;
    const size_t b = sizeof(float) * (size_t)m->cfg.cond;
    if (mean) memcpy(mean, m->feat_mean, b);
    if (std) memcpy(std, m->feat_std, b);
    return m->norm_set;
}

int wn_model_upsample_strides(const wn_model *m, int strides[4])
{
    if (!m || !m->cfg.cond) return 0;
    for (int i = 0; i < m->up.stages && strides; i++) strides[i] = m->up.stride[i];
    return m->up.stages;
}

int wn_model_mel_params(const wn_model *m, wn_mel_params *p)
{
    if (!m || !m->cfg.cond) return WN_ERR_ARG;
    if (p) *p = m->mel;
    return WN_OK;
}

int wn_model_set_mel_params(wn_model *m, const wn_mel_params *p, wn_error *err)
{
    if (!m || !p) return wn__err(err, WN_ERR_ARG, "NULL argument");
    if (!m->cfg.cond) return wn__err(err, WN_ERR_ARG, "the model has no mel conditioning");
    wn_mel_params q = *p;
    if (!q.mels) q.mels = m->cfg.cond;
    if (!q.hop) q.hop = m->cfg.hop;
    if (!q.fft) q.fft = wn__cond_default_fft(m->cfg.hop);
    if (!(q.fmax > 0)) q.fmax = m->cfg.sample_rate / 2.0;
    if (q.mels != m->cfg.cond || q.hop != m->cfg.hop)
        return wn__err(err, WN_ERR_ARG, "the recipe's %d bands and hop %d must be the model's "
                       "(%d, %d)", q.mels, q.hop, m->cfg.cond, m->cfg.hop);
    int rc = wn_mel_check(m->cfg.sample_rate, &q, err);
    if (rc != WN_OK) return rc;
    m->mel = q;
    return WN_OK;
}

int wn_model_features(const wn_model *m, const float *x, size_t n, float **feats,
                      size_t *frames, wn_error *err)
{
    if (feats) *feats = NULL;
    if (frames) *frames = 0;
    if (!m || !x || !feats || !frames) return wn__err(err, WN_ERR_ARG, "NULL argument");
    if (!m->cfg.cond) return wn__err(err, WN_ERR_ARG, "the model has no mel conditioning");
    if (!n) return wn__err(err, WN_ERR_AUDIO, "no samples to compute features of");
    const size_t F = wn_model_cond_frames(m, n), C = (size_t)m->cfg.cond;
    /* wn_logmel gives n' / hop + 1 frames for n' samples, the signal zero
     * past them: n' = n + hop/2 gives F */
    const size_t n2 = n + (size_t)m->cfg.hop / 2;
    float *xp = calloc(n2, sizeof(float));
    float *out = malloc(sizeof(float) * F * C);
    if (!xp || !out || F > SIZE_MAX / C / sizeof(float)) {
        free(xp);
        free(out);
        return wn__err(err, WN_ERR_NOMEM, "out of memory for %zu feature frames", F);
    }
    memcpy(xp, x, sizeof(float) * n);
    int rc = wn_logmel(xp, n2, m->cfg.sample_rate, &m->mel, out, err);
    free(xp);
    if (rc != WN_OK) {
        free(out);
        return rc;
    }
    *feats = out;
    *frames = F;
    return WN_OK;
}

int wn_cond_check(const wn_model *m, const wn_cond *c, size_t n, wn_error *err)
{
    const wn_config *cf = &m->cfg;
    if (!cf->cond && !cf->speakers) {
        if (c && (c->features || c->speaker >= 0))
            return wn__err(err, WN_ERR_ARG, "the model is unconditional: it takes no %s",
                           c->features ? "features" : "speaker");
        return WN_OK;
    }
    if (cf->cond) {
        if (!c || !c->features)
            return wn__err(err, WN_ERR_ARG, "the model is a vocoder: it needs log-mel features "
                           "(%d bands, hop %d)", cf->cond, cf->hop);
        if (c->bands && c->bands != cf->cond)
            return wn__err(err, WN_ERR_ARG, "the features have %d bands; the model takes %d",
                           c->bands, cf->cond);
        const size_t need = wn_model_cond_frames(m, n);
        if (c->frames < need)
            return wn__err(err, WN_ERR_ARG, "%zu feature frames condition %zu samples; %zu "
                           "samples need %zu", c->frames, wn_model_cond_samples(m, c->frames),
                           n, need);
        const size_t total = c->frames * (size_t)cf->cond;
        for (size_t i = 0; i < total; i++)
            if (!isfinite(c->features[i]))
                return wn__err(err, WN_ERR_NONFINITE, "feature frame %zu band %zu is %s",
                               i / (size_t)cf->cond, i % (size_t)cf->cond,
                               isnan(c->features[i]) ? "NaN" : "infinite");
    } else if (c && c->features) {
        return wn__err(err, WN_ERR_ARG, "the model has no mel conditioning: it takes no "
                       "features");
    }
    if (cf->speakers) {
        if (!c || c->speaker < 0 || c->speaker >= cf->speakers)
            return wn__err(err, WN_ERR_ARG, "the model has %d speakers: choose one (0..%d or "
                           "a name)", cf->speakers, cf->speakers - 1);
    } else if (c && c->speaker >= 0) {
        return wn__err(err, WN_ERR_ARG, "the model has no speakers");
    }
    return WN_OK;
}

/* ---------------------------------------------------------------- speaker */

void wn__cond_layer_bias(const wn_model *m, int s, float *out)
{
    const wn_config *c = &m->cfg;
    const int O = 2 * c->dilation, G = c->speaker_dim;
    for (int j = 0; j < c->layers; j++) {
        const wn_layer_view *lw = &m->pk.layer[j];
        float *o = out + (size_t)j * O;
        memcpy(o, lw->b_dil, sizeof(float) * (size_t)O);
        if (s < 0 || !c->speakers) continue;
        const float *e = m->pk.spk_table + (size_t)s * G;
        for (int r = 0; r < O; r++) {
            float acc = 0;
            for (int g = 0; g < G; g++) acc += lw->w_spk[(size_t)r * G + g] * e[g];
            o[r] += acc;
        }
    }
}

void wn__cond_speaker_backward(const wn_model *m, int s, const float *dbias, const wn_view *g)
{
    const wn_config *c = &m->cfg;
    if (s < 0 || !c->speakers) return;
    const int O = 2 * c->dilation, G = c->speaker_dim;
    const float *e = m->pk.spk_table + (size_t)s * G;
    float *de = g->spk_table + (size_t)s * G;
    for (int j = 0; j < c->layers; j++) {
        const float *db = dbias + (size_t)j * O, *w = m->pk.layer[j].w_spk;
        float *gw = g->layer[j].w_spk;
        for (int r = 0; r < O; r++)
            for (int k = 0; k < G; k++) gw[(size_t)r * G + k] += db[r] * e[k];
        for (int k = 0; k < G; k++) {
            float acc = 0;
            for (int r = 0; r < O; r++) acc += w[(size_t)r * G + k] * db[r];
            de[k] += acc;
        }
    }
}

/* ---------------------------------------------------------------- upsampler */

struct wn__cond_ws {
    long cap_frames;  /* frames a span may need (pre conv included) */
    long cap_rows;    /* rows of the widest stage output */
    float *x;         /* normalised input frames */
    float *pre;       /* the frames conv's output */
    float *st[WN_UPSAMPLE_MAX_STAGES]; /* each stage's output */
    float *d0, *d1;   /* backward: two gradient buffers of cap_rows */
    float *dw, *db;   /* backward: one stage's weight and bias gradient */
    /* the last forward's span */
    long fa, fb;      /* frames fed to the pre conv (or the chain): [fa, fb) */
    long f0, f1;      /* frames fed to the chain */
    long n0, n1;
};

static void span_frames(const wn_model *m, long n0, long n1, long *f0, long *f1)
{
    if (n0 < 0) n0 = 0;
    if (n1 <= n0) n1 = n0 + 1;
    wn__upsample_frames_needed(&m->up, n0, n1, f0, f1);
}

static void ws_caps(const wn_model *m, long span, long *frames, long *rows)
{
    long f0, f1;
    span_frames(m, 0, span, &f0, &f1);
    /* a span anywhere needs at most one frame more than one at 0 (the
     * alignment of its ends), and the pre conv one each side */
    *frames = f1 - f0 + 1 + 2 * m->cfg.upsample_pre;
    *rows = (*frames) * m->up.hop;
}

/* The largest weight gradient a stage leaves: K C C, or the frames
 * conv's 3 C M. */
static size_t dw_floats(const wn_model *m)
{
    const size_t C = (size_t)wn__cond_width(&m->cfg), M = (size_t)m->cfg.cond;
    size_t n = 3 * C * M;
    for (int i = 0; i < m->up.stages; i++)
        if ((size_t)m->up.kernel[i] * C * C > n) n = (size_t)m->up.kernel[i] * C * C;
    return n;
}

size_t wn__cond_ws_bytes(const wn_model *m, long span)
{
    if (!m->cfg.cond) return 0;
    long fr, rows;
    ws_caps(m, span, &fr, &rows);
    const size_t C = (size_t)wn__cond_width(&m->cfg), M = (size_t)m->cfg.cond;
    size_t n = (size_t)fr * (M + C), r = 1;
    for (int i = 0; i < m->up.stages; i++) {
        r *= (size_t)m->up.stride[i];
        n += (size_t)fr * r * C;
    }
    n += 2 * (size_t)rows * C + dw_floats(m) + C;
    return sizeof(struct wn__cond_ws) + n * sizeof(float);
}

wn__cond_ws *wn__cond_ws_create(const wn_model *m, long span)
{
    if (!m->cfg.cond) return NULL;
    wn__cond_ws *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    ws_caps(m, span, &w->cap_frames, &w->cap_rows);
    const size_t C = (size_t)wn__cond_width(&m->cfg), M = (size_t)m->cfg.cond;
    const size_t fr = (size_t)w->cap_frames;
    int ok = (w->x = wn__alloc(fr * M, sizeof(float))) && (w->pre = wn__alloc(fr * C, sizeof(float)));
    size_t r = 1;
    for (int i = 0; ok && i < m->up.stages; i++) {
        r *= (size_t)m->up.stride[i];
        ok = (w->st[i] = wn__alloc(fr * r * C, sizeof(float))) != NULL;
    }
    ok = ok && (w->d0 = wn__alloc((size_t)w->cap_rows * C, sizeof(float))) &&
         (w->d1 = wn__alloc((size_t)w->cap_rows * C, sizeof(float))) &&
         (w->dw = wn__alloc(dw_floats(m), sizeof(float))) &&
         (w->db = wn__alloc(C, sizeof(float)));
    if (!ok) {
        wn__cond_ws_free(w);
        return NULL;
    }
    return w;
}

void wn__cond_ws_free(wn__cond_ws *w)
{
    if (!w) return;
    wn__free(w->x);
    wn__free(w->pre);
    for (int i = 0; i < WN_UPSAMPLE_MAX_STAGES; i++) wn__free(w->st[i]);
    wn__free(w->d0);
    wn__free(w->d1);
    wn__free(w->dw);
    wn__free(w->db);
    free(w);
}

void wn__cond_forward(const wn_model *m, wn__cond_ws *w, const float *feats, long F, long n0,
                      long n1, float *u)
{
    const int M = m->cfg.cond, C = wn__cond_width(&m->cfg), pre = m->cfg.upsample_pre;
    const int hop = m->up.hop;
    const wn_view *v = &m->pk;
    long f0, f1;
    span_frames(m, n0, n1, &f0, &f1);
    if (f1 > F) f1 = F;
    if (f0 > f1) f0 = f1;
    long fa = f0 - pre, fb = f1 + pre;
    if (fa < 0) fa = 0;
    if (fb > F) fb = F;
    w->fa = fa, w->fb = fb, w->f0 = f0, w->f1 = f1, w->n0 = n0, w->n1 = n1;
    memset(u, 0, sizeof(float) * (size_t)(n1 - n0) * C);
    if (f1 <= f0) return; /* the whole span is before the first sample */
    for (long f = fa; f < fb; f++) {
        const float *src = feats + (size_t)f * M;
        float *dst = w->x + (size_t)(f - fa) * M;
        for (int c = 0; c < M; c++) dst[c] = (src[c] - m->feat_mean[c]) / m->feat_std[c];
    }
    const float *in = w->x + (size_t)(f0 - fa) * M; /* M == C without pre */
    if (pre) {
        wn__conv_frames_forward(w->pre, w->x, v->up_pre_w, v->up_pre_b, (int)(fb - fa), M, C);
        in = w->pre + (size_t)(f0 - fa) * C;
    }
    long T = f1 - f0;
    for (int i = 0; i < m->up.stages; i++) {
        wn__convT_forward(w->st[i], in, v->up_w[i], v->up_b[i], (int)T, C, C, m->up.kernel[i],
                          m->up.stride[i], m->up.pad[i]);
        T *= m->up.stride[i];
        in = w->st[i];
    }
    /* sample n reads global row n + hop/2, local row n + hop/2 - f0 hop */
    for (long n = n0 < 0 ? 0 : n0; n < n1; n++) {
        const long r = n + hop / 2 - f0 * hop;
        if (r >= 0 && r < T)
            memcpy(u + (size_t)(n - n0) * C, in + (size_t)r * C, sizeof(float) * (size_t)C);
    }
}

static void add_into(float *dst, const float *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] += src[i];
}

void wn__cond_backward(const wn_model *m, wn__cond_ws *w, const float *du, const wn_view *g)
{
    const int M = m->cfg.cond, C = wn__cond_width(&m->cfg), pre = m->cfg.upsample_pre;
    const int hop = m->up.hop;
    const wn_view *v = &m->pk;
    const long f0 = w->f0, f1 = w->f1, fa = w->fa, fb = w->fb, n0 = w->n0, n1 = w->n1;
    if (f1 <= f0) return;
    const int S = m->up.stages;
    long T = f1 - f0;
    for (int i = 0; i < S; i++) T *= m->up.stride[i];
    /* the rows the samples read, the others' gradient zero */
    float *dout = w->d0, *din = w->d1;
    memset(dout, 0, sizeof(float) * (size_t)T * C);
    for (long n = n0 < 0 ? 0 : n0; n < n1; n++) {
        const long r = n + hop / 2 - f0 * hop;
        if (r >= 0 && r < T) add_into(dout + (size_t)r * C, du + (size_t)(n - n0) * C, (size_t)C);
    }
    for (int i = S - 1; i >= 0; i--) {
        const long Tin = T / m->up.stride[i];
        const float *in = i ? w->st[i - 1]
                            : (pre ? w->pre : w->x) + (size_t)(f0 - fa) * C;
        const int need_din = i > 0 || pre;
        wn__convT_backward(need_din ? din : NULL, w->dw, w->db, dout, in, v->up_w[i], (int)Tin,
                           C, C, m->up.kernel[i], m->up.stride[i], m->up.pad[i]);
        add_into(g->up_w[i], w->dw, (size_t)m->up.kernel[i] * C * C);
        add_into(g->up_b[i], w->db, (size_t)C);
        float *t = dout;
        dout = din;
        din = t;
        T = Tin;
    }
    if (pre) {
        /* dout: the gradient of the pre conv's rows [f0, f1); its rows
         * [fa, fb) outside them fed nothing */
        const long n = fb - fa;
        memmove(din + (size_t)(f0 - fa) * C, dout, sizeof(float) * (size_t)(f1 - f0) * C);
        memset(din, 0, sizeof(float) * (size_t)(f0 - fa) * C);
        memset(din + (size_t)(f1 - fa) * C, 0, sizeof(float) * (size_t)(fb - f1) * C);
        wn__conv_frames_backward(NULL, w->dw, w->db, din, w->x, v->up_pre_w, (int)n, M, C);
        add_into(g->up_pre_w, w->dw, (size_t)3 * C * M);
        add_into(g->up_pre_b, w->db, (size_t)C);
    }
}

/* ---------------------------------------------------------------- metadata */

void wn__cond_copy(wn_model *dst, const wn_model *src)
{
    if (src->cfg.cond) {
        dst->mel = src->mel;
        memcpy(dst->feat_mean, src->feat_mean, sizeof(float) * (size_t)src->cfg.cond);
        memcpy(dst->feat_std, src->feat_std, sizeof(float) * (size_t)src->cfg.cond);
        dst->norm_set = src->norm_set;
    }
    if (src->cfg.speakers)
        memcpy(dst->spk_names, src->spk_names, sizeof *src->spk_names * (size_t)src->cfg.speakers);
}

/* a list of C floats, each with 9 significant digits (reads back exactly) */
static char *float_list(const float *v, int n)
{
    char *s = malloc((size_t)n * 18 + 1), *p = s;
    if (!s) return NULL;
    *p = 0;
    for (int i = 0; i < n; i++) p += sprintf(p, "%s%.9g", i ? "," : "", (double)v[i]);
    return s;
}

int wn__cond_meta_save(const wn_model *m, const char **kv, char **store)
{
    const wn_config *c = &m->cfg;
    *store = NULL;
    if (!c->cond && !c->speakers) return 0;
    char *mean = c->cond && m->norm_set ? float_list(m->feat_mean, c->cond) : NULL;
    char *std = c->cond && m->norm_set ? float_list(m->feat_std, c->cond) : NULL;
    size_t nl = 1;
    for (int i = 0; i < c->speakers; i++) nl += strlen(m->spk_names[i]) + 1;
    size_t need = 1024 + nl + (mean ? strlen(mean) + strlen(std) + 2 : 0);
    char *buf = malloc(need), *p = buf;
    if (!buf || (c->cond && m->norm_set && (!mean || !std))) {
        free(mean), free(std), free(buf);
        return -1;
    }
    int n = 0;
#define PUT(key, ...)                                                              \
    do {                                                                           \
        kv[2 * n] = key;                                                           \
        kv[2 * n + 1] = p;                                                         \
        p += sprintf(p, __VA_ARGS__) + 1;                                          \
        n++;                                                                       \
    } while (0)
    if (c->cond) {
        const wn_mel_params *q = &m->mel;
        PUT("cond", "%d", c->cond);
        PUT("hop", "%d", c->hop);
        PUT("upsample_pre", "%d", c->upsample_pre);
        if (c->cond_channels && c->cond_channels != c->cond)
            PUT("cond_channels", "%d", c->cond_channels);
        char st[64] = "";
        for (int i = 0, l = 0; i < m->up.stages; i++)
            l += snprintf(st + l, sizeof st - (size_t)l, "%s%d", i ? "," : "", m->up.stride[i]);
        PUT("upsample_strides", "%s", st);
        PUT("features", "%s", "log-mel");
        PUT("mel_fft", "%d", q->fft);
        PUT("mel_window", "%s", "hann");
        PUT("mel_fmin", "%.17g", q->fmin);
        PUT("mel_fmax", "%.17g", q->fmax);
        PUT("mel_scale", "%s", q->scale == WN_MEL_HTK ? "htk" : "slaney");
        PUT("mel_norm", "%s", q->area_norm ? "slaney" : "none");
        PUT("mel_floor", "%.9g", (double)q->floor);
        if (m->norm_set) {
            PUT("feature_mean", "%s", mean);
            PUT("feature_std", "%s", std);
        }
    }
    if (c->speakers) {
        PUT("speakers", "%d", c->speakers);
        PUT("speaker_dim", "%d", c->speaker_dim);
        kv[2 * n] = "speaker_names";
        kv[2 * n + 1] = p;
        for (int i = 0; i < c->speakers; i++)
            p += sprintf(p, "%s%s", i ? "," : "", m->spk_names[i]);
        p++;
        n++;
    }
#undef PUT
    free(mean);
    free(std);
    *store = buf;
    return n;
}

static int parse_floats(const char *s, float *out, int n)
{
    for (int i = 0; i < n; i++) {
        char *end;
        double v = strtod(s, &end);
        if (end == s || !isfinite(v) || fabs(v) > 3.4e38) return -1;
        out[i] = (float)v;
        s = end;
        if (i + 1 < n) {
            if (*s != ',') return -1;
            s++;
        }
    }
    return *s ? -1 : 0;
}

int wn__cond_meta_load(wn_model *m, const wn__st_file *f, const char *path, wn_error *err)
{
    const wn_config *c = &m->cfg;
    if (c->cond) {
        wn_mel_params q = m->mel;
        const char *v;
        char *end;
        if ((v = wn__st_meta(f, "features")) && strcmp(v, "log-mel"))
            return wn__err(err, WN_ERR_FORMAT, "%s: features '%s' (this build knows log-mel)",
                           path, v);
        if ((v = wn__st_meta(f, "mel_window")) && strcmp(v, "hann"))
            return wn__err(err, WN_ERR_FORMAT, "%s: mel_window '%s' (this build knows hann)",
                           path, v);
        if ((v = wn__st_meta(f, "mel_fft"))) {
            long x = strtol(v, &end, 10);
            if (*end || x < 8 || x > 65536)
                return wn__err(err, WN_ERR_FORMAT, "%s: mel_fft '%s'", path, v);
            q.fft = (int)x;
        }
        if ((v = wn__st_meta(f, "mel_fmin"))) q.fmin = strtod(v, &end);
        if ((v = wn__st_meta(f, "mel_fmax"))) q.fmax = strtod(v, &end);
        if ((v = wn__st_meta(f, "mel_floor"))) q.floor = strtof(v, &end);
        if ((v = wn__st_meta(f, "mel_scale"))) {
            if (strcmp(v, "slaney") && strcmp(v, "htk"))
                return wn__err(err, WN_ERR_FORMAT, "%s: mel_scale '%s' (slaney or htk)", path, v);
            q.scale = strcmp(v, "htk") ? WN_MEL_SLANEY : WN_MEL_HTK;
        }
        if ((v = wn__st_meta(f, "mel_norm"))) {
            if (strcmp(v, "slaney") && strcmp(v, "none"))
                return wn__err(err, WN_ERR_FORMAT, "%s: mel_norm '%s' (slaney or none)", path, v);
            q.area_norm = !strcmp(v, "slaney");
        }
        if ((v = wn__st_meta(f, "upsample_strides"))) {
            char want[64] = "";
            for (int i = 0, l = 0; i < m->up.stages; i++)
                l += snprintf(want + l, sizeof want - (size_t)l, "%s%d", i ? "," : "",
                              m->up.stride[i]);
            if (strcmp(v, want))
                return wn__err(err, WN_ERR_FORMAT, "%s: upsample_strides '%s'; this build "
                               "upsamples hop %d by %s", path, v, c->hop, want);
        }
        wn_error e;
        if (wn_model_set_mel_params(m, &q, &e) != WN_OK)
            return wn__err(err, WN_ERR_FORMAT, "%s: %s", path, e.message);
        const char *mean = wn__st_meta(f, "feature_mean"), *std = wn__st_meta(f, "feature_std");
        if (!mean != !std)
            return wn__err(err, WN_ERR_FORMAT, "%s: feature_mean and feature_std go together",
                           path);
        if (mean) {
            float *a = malloc(sizeof(float) * 2 * (size_t)c->cond);
            if (!a) return wn__err(err, WN_ERR_NOMEM, "%s: out of memory", path);
            int bad = parse_floats(mean, a, c->cond) || parse_floats(std, a + c->cond, c->cond);
            int rc = bad ? WN_ERR_FORMAT : wn_model_set_feature_norm(m, a, a + c->cond, &e);
            free(a);
            if (bad)
                return wn__err(err, WN_ERR_FORMAT, "%s: feature_mean / feature_std are not %d "
                               "finite numbers each", path, c->cond);
            if (rc != WN_OK) return wn__err(err, WN_ERR_FORMAT, "%s: %s", path, e.message);
        }
    }
    if (c->speakers) {
        const char *v = wn__st_meta(f, "speaker_names");
        if (v) {
            char *copy = strdup(v);
            const char **names = calloc((size_t)c->speakers + 1, sizeof *names);
            int n = 0, rc = WN_OK;
            if (!copy || !names) rc = wn__err(err, WN_ERR_NOMEM, "%s: out of memory", path);
            for (char *s = copy, *tok; rc == WN_OK && (tok = strsep(&s, ","));) {
                if (n == c->speakers) {
                    n++;
                    break;
                }
                names[n++] = tok;
            }
            wn_error e;
            if (rc == WN_OK && wn_model_set_speaker_names(m, names, n, &e) != WN_OK)
                rc = wn__err(err, WN_ERR_FORMAT, "%s: speaker_names: %s", path, e.message);
            free(copy);
            free(names);
            if (rc != WN_OK) return rc;
        }
    }
    return WN_OK;
}
