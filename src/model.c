/* model.c - configuration, the tensor table, the parameter slab and seeded
 * initialisation.
 *
 * Parameters live in one slab in the compute layout, in which kernel-2
 * convolutions are split per tap into contiguous (out, in) matrices (a
 * BLAS needs unit stride); gradients and optimizer moments are slabs of
 * the same layout, so a training step never converts anything. The file's
 * (PyTorch) layout exists only at the safetensors boundary (load, save,
 * checkpoints) and in wn_model_tensor_get / wn_model_set_tensor. */
#include "cond.h"
#include "kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

wn_config wn_config_default(void)
{
    wn_config c = {.sample_rate = 8000, .bins = 256, .layers = 20, .stack = 10,
                   .residual = 32, .dilation = 32, .skip = 128};
    return c;
}

double wn__config_params(const wn_config *c)
{
    double R = c->residual, D = c->dilation, S = c->skip, Q = c->bins;
    double n = 2 * Q * R + R + c->layers * (4 * R * D + 2 * D + R * D + R + S * D + S) +
               S * S + S + Q * S + Q;
    if (c->cond > 0) {
        double M = c->cond, C = wn__cond_width(c);
        wn__upsample_chain up;
        if (wn__upsample_plan(&up, c->hop, NULL) == WN_OK)
            for (int i = 0; i < up.stages; i++) n += C * C * up.kernel[i] + C;
        n += c->layers * 2 * D * C + (c->upsample_pre ? 3 * C * M + C : 0);
    }
    if (c->speakers > 0)
        n += (double)c->speakers * c->speaker_dim + c->layers * 2 * D * c->speaker_dim;
    return n;
}

int wn_config_check(const wn_config *c, wn_error *err)
{
#define RANGE(field, lo, hi)                                                       \
    if (c->field < (lo) || c->field > (hi))                                        \
        return wn__err(err, WN_ERR_CONFIG, "%s = %d is outside %d..%d", #field,    \
                       c->field, (lo), (hi));
    RANGE(sample_rate, 1, 768000)
    RANGE(bins, 2, 65536)
    RANGE(layers, 1, 1024)
    RANGE(stack, 1, 24)
    RANGE(residual, 1, 4096)
    RANGE(dilation, 1, 4096)
    RANGE(skip, 1, 4096)
    RANGE(cond, 0, 1024)
    RANGE(speakers, 0, 65536)
    if (c->cond) {
        RANGE(hop, 2, 65536)
        RANGE(upsample_pre, 0, 1)
        RANGE(cond_channels, 0, 1024)
        if (c->cond_channels && c->cond_channels != c->cond && !c->upsample_pre)
            return wn__err(err, WN_ERR_CONFIG, "cond_channels = %d other than the %d bands "
                           "needs upsample_pre (its conv maps the bands to the channels)",
                           c->cond_channels, c->cond);
        wn__upsample_chain up;
        if (wn__upsample_plan(&up, c->hop, err) != WN_OK) return WN_ERR_CONFIG;
    } else if (c->hop || c->upsample_pre || c->cond_channels) {
        return wn__err(err, WN_ERR_CONFIG, "hop, upsample_pre and cond_channels need cond (mel "
                       "bands) > 0");
    }
    if (c->speakers) {
        RANGE(speaker_dim, 1, 4096)
    } else if (c->speaker_dim) {
        return wn__err(err, WN_ERR_CONFIG, "speaker_dim = %d needs speakers > 0",
                       c->speaker_dim);
    }
#undef RANGE
    /* keep every size well inside int and the slab under 2^31 floats */
    /* the work and memory of scoring a clip and of a generator grow with
     * the receptive field times the channels, whatever the clip's length:
     * bound them (2^21 samples is over 4 minutes at 8 kHz) */
    double rf = 2;
    for (int i = 0; i < c->layers; i++) rf += (double)(1 << (i % c->stack));
    if (rf > WN_MAX_RECEPTIVE_FIELD)
        return wn__err(err, WN_ERR_CONFIG,
                       "receptive field %.0f samples (layers %d, stack %d) is beyond the "
                       "limit of %d", rf, c->layers, c->stack, WN_MAX_RECEPTIVE_FIELD);
    double width = c->residual > c->skip ? c->residual : c->skip;
    if (2 * c->dilation > width) width = 2 * c->dilation;
    if (rf * width > 67108864.0)
        return wn__err(err, WN_ERR_CONFIG,
                       "receptive field %.0f x %.0f channels is beyond the limit of 2^26 "
                       "(the memory of scoring or generating grows with it)", rf, width);
    double n = wn__config_params(c);
    if (n > 2147483647.0)
        return wn__err(err, WN_ERR_CONFIG, "model too large: %.0f parameters", n);
    return WN_OK;
}

static void add_tensor(wn_model *m, const char *name, int ndim, int a, int b, int k,
                       int kind)
{
    wn_tensor_desc *t = &m->tensors[m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ndim = ndim;
    t->shape[0] = a;
    t->shape[1] = b;
    t->shape[2] = k;
    t->count = (size_t)a * (ndim > 1 ? (size_t)b : 1) * (ndim > 2 ? (size_t)k : 1);
    t->offset = m->n_params;
    t->kind = kind;
    m->n_params += t->count;
}

const wn_tensor_desc *wn__find_tensor(const wn_model *m, const char *name)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

int wn__view_init(const wn_model *m, float *slab, wn_view *v)
{
    const wn_config *c = &m->cfg;
    v->layer = calloc((size_t)c->layers, sizeof *v->layer);
    if (!v->layer) return WN_ERR_NOMEM;
    const wn_tensor_desc *t = m->tensors;
    v->causal_w = slab + t[0].offset;
    v->causal_b = slab + t[1].offset;
    t += 2;
    v->spk_table = c->speakers ? slab + (t++)->offset : NULL;
    v->up_pre_w = v->up_pre_b = NULL;
    if (c->cond && c->upsample_pre) {
        v->up_pre_w = slab + t[0].offset;
        v->up_pre_b = slab + t[1].offset;
        t += 2;
    }
    for (int i = 0; i < WN_UPSAMPLE_MAX_STAGES; i++) {
        const int has = c->cond && i < m->up.stages;
        v->up_w[i] = has ? slab + t[0].offset : NULL;
        v->up_b[i] = has ? slab + t[1].offset : NULL;
        if (has) t += 2;
    }
    for (int i = 0; i < c->layers; i++) {
        const wn_tensor_desc *l = m->tensors + m->layer_t0 + (size_t)m->layer_nt * i;
        wn_layer_view *lv = &v->layer[i];
        lv->w_dil = slab + (l++)->offset;
        lv->b_dil = slab + (l++)->offset;
        lv->w_cond = c->cond ? slab + (l++)->offset : NULL;
        lv->w_spk = c->speakers ? slab + (l++)->offset : NULL;
        lv->w_res = slab + (l++)->offset;
        lv->b_res = slab + (l++)->offset;
        lv->w_skip = slab + (l++)->offset;
        lv->b_skip = slab + (l++)->offset;
    }
    const wn_tensor_desc *h = m->tensors + m->layer_t0 + (size_t)m->layer_nt * c->layers;
    v->head0_w = slab + h[0].offset;
    v->head0_b = slab + h[1].offset;
    v->head1_w = slab + h[2].offset;
    v->head1_b = slab + h[3].offset;
    return WN_OK;
}

void wn__view_free(wn_view *v)
{
    free(v->layer);
    v->layer = NULL;
}

int wn__model_alloc_slabs(wn_model *m, wn_error *err)
{
    m->params = wn__calloc(m->n_params, sizeof(float));
    if (!m->params || wn__view_init(m, m->params, &m->pk) != WN_OK)
        return wn__err(err, WN_ERR_NOMEM, "out of memory for %zu parameters", m->n_params);
    return WN_OK;
}

wn_model *wn__model_alloc(const wn_config *c, int slabs, wn_error *err)
{
    if (wn_config_check(c, err) != WN_OK) return NULL;
    wn_model *m = calloc(1, sizeof *m);
    if (!m) goto nomem;
    m->cfg = *c;
    int L = c->layers, Q = c->bins, R = c->residual, D = c->dilation, S = c->skip;
    m->dil = malloc(sizeof *m->dil * (size_t)L);
    const int M = c->cond, C = wn__cond_width(c), N = c->speakers, G = c->speaker_dim;
    if (C && wn__upsample_plan(&m->up, c->hop, err) != WN_OK) goto fail;
    m->layer_nt = 6 + (C > 0) + (N > 0);
    int nt = 6 + m->layer_nt * L + (N > 0) + (C ? 2 * (m->up.stages + c->upsample_pre) : 0);
    m->tensors = calloc((size_t)nt, sizeof *m->tensors);
    if (!m->dil || !m->tensors) goto nomem;
    m->rf = 2;
    for (int i = 0; i < L; i++) {
        m->dil[i] = 1 << (i % c->stack);
        m->rf += m->dil[i];
    }
    add_tensor(m, "causal.weight", 3, R, Q, 2, WN_T_CAUSAL);
    add_tensor(m, "causal.bias", 1, R, 0, 0, WN_T_PLAIN);
    if (N) add_tensor(m, "speaker.weight", 2, N, G, 0, WN_T_PLAIN);
    if (C && c->upsample_pre) {
        add_tensor(m, "upsample.pre.weight", 3, C, M, 3, WN_T_TAPS);
        add_tensor(m, "upsample.pre.bias", 1, C, 0, 0, WN_T_PLAIN);
    }
    for (int i = 0; C && i < m->up.stages; i++) {
        char name[48];
        snprintf(name, sizeof name, "upsample.%d.weight", i);
        add_tensor(m, name, 3, C, C, m->up.kernel[i], WN_T_TAPS);
        snprintf(name, sizeof name, "upsample.%d.bias", i);
        add_tensor(m, name, 1, C, 0, 0, WN_T_PLAIN);
    }
    m->layer_t0 = m->n_tensors;
    for (int i = 0; i < L; i++) {
        char name[48];
#define LAYER(suffix, ndim, a, b, k, kind)                                         \
    snprintf(name, sizeof name, "layers.%d.%s", i, suffix);                        \
    add_tensor(m, name, ndim, a, b, k, kind);
        LAYER("dilated.weight", 3, 2 * D, R, 2, WN_T_TAPS)
        LAYER("dilated.bias", 1, 2 * D, 0, 0, WN_T_PLAIN)
        if (C) {
            LAYER("cond.weight", 3, 2 * D, C, 1, WN_T_PLAIN)
        }
        if (N) {
            LAYER("speaker.weight", 3, 2 * D, G, 1, WN_T_PLAIN)
        }
        LAYER("res.weight", 3, R, D, 1, WN_T_PLAIN)
        LAYER("res.bias", 1, R, 0, 0, WN_T_PLAIN)
        LAYER("skip.weight", 3, S, D, 1, WN_T_PLAIN)
        LAYER("skip.bias", 1, S, 0, 0, WN_T_PLAIN)
#undef LAYER
    }
    add_tensor(m, "head.0.weight", 3, S, S, 1, WN_T_PLAIN);
    add_tensor(m, "head.0.bias", 1, S, 0, 0, WN_T_PLAIN);
    add_tensor(m, "head.1.weight", 3, Q, S, 1, WN_T_PLAIN);
    add_tensor(m, "head.1.bias", 1, Q, 0, 0, WN_T_PLAIN);
    if (M) {
        m->mel = wn_mel_default_params();
        m->mel.mels = M;
        m->mel.hop = c->hop;
        m->mel.fft = wn__cond_default_fft(c->hop);
        /* resolved as wn_model_set_mel_params resolves it (0 = half the
         * rate), so a new model's recipe is the one its file reads back */
        m->mel.fmax = c->sample_rate / 2.0;
        m->feat_mean = calloc((size_t)M, sizeof(float));
        m->feat_std = malloc(sizeof(float) * (size_t)M);
        if (!m->feat_mean || !m->feat_std) goto nomem;
        for (int i = 0; i < M; i++) m->feat_std[i] = 1.0f;
    }
    if (N) {
        m->spk_names = calloc((size_t)N, sizeof *m->spk_names);
        if (!m->spk_names) goto nomem;
        for (int i = 0; i < N; i++) snprintf(m->spk_names[i], 64, "%d", i);
    }
    if (slabs && wn__model_alloc_slabs(m, err) != WN_OK) goto fail;
    return m;
nomem:
    wn__err(err, WN_ERR_NOMEM, "out of memory allocating the model");
fail:
    wn_model_free(m);
    return NULL;
}

void wn_model_free(wn_model *m)
{
    if (!m) return;
    wn__view_free(&m->pk);
    wn__free(m->params);
    free(m->tensors);
    free(m->dil);
    free(m->feat_mean);
    free(m->feat_std);
    free(m->spk_names);
    free(m);
}

void wn__tensor_convert(const wn_tensor_desc *t, const float *src, float *dst, int back)
{
    if (t->kind == WN_T_PLAIN) {
        memcpy(dst, src, t->count * sizeof(float));
        return;
    }
    /* file (A, B, K) with element [a][b][k] at (a*B + b)*K + k. TAPS packs
     * to [k][a][b] (A = out, B = in for a conv); CAUSAL (K = 2) packs to
     * [k][b][a] (an embedding table: row per input code). */
    int A = t->shape[0], B = t->shape[1], K = t->shape[2];
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                size_t f = ((size_t)a * B + b) * K + k;
                size_t p = t->kind == WN_T_TAPS ? ((size_t)k * A + a) * B + b
                                                : ((size_t)k * B + b) * A + a;
                if (back)
                    dst[f] = src[p];
                else
                    dst[p] = src[f];
            }
}

/* The upsampling stages start as linear interpolation, each channel to
 * itself (the random draws are overwritten, so the stream of draws for the
 * other tensors is unchanged). PyTorch's default draws shrink their input
 * about fivefold per stage, so the features reached the layers small and
 * vocoders started so learned to lean on them slowly; this start passes
 * them at full size. Tap k of a stage (stride s, pad p)
 * lands k - p - (s - 1)/2 rows from the centre of its input's block; with
 * K = 2s the triangle 1 - |d|/s gives every output row weights summing to 1. */
static void upsample_start(const wn_tensor_desc *t, int stage, const wn__upsample_chain *up,
                           float *f)
{
    memset(f, 0, t->count * sizeof *f);
    if (t->ndim == 1) return; /* the bias */
    const int C = t->shape[0], K = t->shape[2], s = up->stride[stage], p = up->pad[stage];
    for (int c = 0; c < C; c++)
        for (int k = 0; k < K; k++) {
            double d = fabs(k - p - (s - 1) / 2.0) / s;
            f[((size_t)c * C + c) * K + k] = d < 1.0 ? (float)(1.0 - d) : 0.0f;
        }
}

wn_model *wn_model_init(const wn_config *c, uint64_t seed, wn_error *err)
{
    wn_model *m = wn__model_alloc(c, 1, err);
    if (!m) return NULL;
    uint64_t rng = seed;
    /* PyTorch's Conv1d default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the
     * weight and the bias, fan_in = in_channels * kernel. A bias follows
     * its weight in the table, so it reuses the weight's fan_in. */
    double bound = 1.0;
    size_t most = 0;
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].count > most) most = m->tensors[i].count;
    float *f = wn__alloc(most, sizeof(float)); /* one tensor in file order */
    if (!f) {
        wn_model_free(m);
        wn__err(err, WN_ERR_NOMEM, "out of memory initialising the model");
        return NULL;
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const wn_tensor_desc *t = &m->tensors[i];
        /* the speaker table is an nn.Embedding: unit variance (here
         * uniform) */
        if (t->ndim == 2) bound = sqrt(3.0);
        if (t->ndim == 3) bound = 1.0 / sqrt((double)t->shape[1] * t->shape[2]);
        for (size_t j = 0; j < t->count; j++)
            f[j] = (float)((2.0 * wn__uniform(&rng) - 1.0) * bound);
        int stage;
        if (sscanf(t->name, "upsample.%d.", &stage) == 1) upsample_start(t, stage, &m->up, f);
        wn__tensor_convert(t, f, m->params + t->offset, 0);
    }
    wn__free(f);
    return m;
}

wn_config wn_model_config(const wn_model *m) { return m->cfg; }
int wn_model_receptive_field(const wn_model *m) { return m->rf; }
size_t wn_model_param_count(const wn_model *m) { return m->n_params; }
int wn_model_layer_dilation(const wn_model *m, int i)
{
    return i >= 0 && i < m->cfg.layers ? m->dil[i] : 0;
}
int wn_model_tensor_count(const wn_model *m) { return m->n_tensors; }
const char *wn_model_tensor_name(const wn_model *m, int i)
{
    return i >= 0 && i < m->n_tensors ? m->tensors[i].name : NULL;
}
const float *wn_model_params(const wn_model *m) { return m->params; }

size_t wn_model_tensor_info(const wn_model *m, const char *name, int *ndim,
                            int shape[3], size_t *offset)
{
    const wn_tensor_desc *t = wn__find_tensor(m, name);
    if (!t) return 0;
    if (ndim) *ndim = t->ndim;
    if (shape) memcpy(shape, t->shape, sizeof t->shape);
    if (offset) *offset = t->offset;
    return t->count;
}

size_t wn_model_tensor_get(const wn_model *m, const char *name, const float *slab,
                           float *out)
{
    const wn_tensor_desc *t = name ? wn__find_tensor(m, name) : NULL;
    if (!t || !out) return 0;
    wn__tensor_convert(t, (slab ? slab : m->params) + t->offset, out, 1);
    return t->count;
}

size_t wn_model_tensor_put(const wn_model *m, const char *name, float *slab, const float *in)
{
    const wn_tensor_desc *t = name ? wn__find_tensor(m, name) : NULL;
    if (!t || !slab || !in) return 0;
    wn__tensor_convert(t, in, slab + t->offset, 0);
    return t->count;
}

int wn_model_set_tensor(wn_model *m, const char *name, const float *data, size_t n,
                        wn_error *err)
{
    const wn_tensor_desc *t = NULL;
    if (name && !(t = wn__find_tensor(m, name)))
        return wn__err(err, WN_ERR_ARG, "no tensor named '%s'", name);
    size_t want = t ? t->count : m->n_params;
    if (n != want)
        return wn__err(err, WN_ERR_ARG, "%s: %zu values given, %zu expected",
                       name ? name : "parameters", n, want);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(data[i]))
            return wn__err(err, WN_ERR_NONFINITE, "%s: value %zu is not finite",
                           name ? name : "parameters", i);
    if (t)
        wn__tensor_convert(t, data, m->params + t->offset, 0);
    else
        memmove(m->params, data, n * sizeof(float));
    return WN_OK;
}

int wn_model_round(wn_model *m, wn_precision p, wn_error *err)
{
    if (p == WN_PRECISION_F32) return WN_OK;
    if (p == WN_PRECISION_I8)
        return wn__err(err, WN_ERR_ARG,
                       "int8 quantises the products' inputs too, which rounding the weights "
                       "cannot express");
    if (p != WN_PRECISION_F16) return wn__err(err, WN_ERR_ARG, "unknown precision %d", (int)p);
    const wn_config *c = &m->cfg;
    const size_t R = (size_t)c->residual, D = (size_t)c->dilation, S = (size_t)c->skip;
    /* the weights generation streams: (pointer, count) pairs */
    const int L = c->layers, nw = 3 * L + 2;
    float **w = malloc(sizeof *w * (size_t)nw);
    size_t *n = malloc(sizeof *n * (size_t)nw);
    if (!w || !n) {
        free(w);
        free(n);
        return wn__err(err, WN_ERR_NOMEM, "out of memory rounding the weights");
    }
    for (int j = 0; j < L; j++) {
        const wn_layer_view *lw = &m->pk.layer[j];
        w[3 * j] = lw->w_dil, n[3 * j] = 4 * D * R;
        w[3 * j + 1] = lw->w_res, n[3 * j + 1] = R * D;
        w[3 * j + 2] = lw->w_skip, n[3 * j + 2] = S * D;
    }
    w[3 * L] = m->pk.head0_w, n[3 * L] = S * S;
    w[3 * L + 1] = m->pk.head1_w, n[3 * L + 1] = (size_t)c->bins * S;
    int rc = WN_OK;
    for (int k = 0; k < nw && rc == WN_OK; k++)
        for (size_t i = 0; i < n[k]; i++)
            if ((wn__f32_to_f16(w[k][i]) & 0x7c00) == 0x7c00) {
                rc = wn__err(err, WN_ERR_RANGE, "a weight of %g is beyond half precision "
                             "(|w| < 65520)", (double)w[k][i]);
                break;
            }
    if (rc == WN_OK) {
        for (int k = 0; k < nw; k++)
            for (size_t i = 0; i < n[k]; i++) w[k][i] = wn__f16_to_f32(wn__f32_to_f16(w[k][i]));
    }
    free(w);
    free(n);
    return rc;
}

wn_model *wn__model_rounded(const wn_model *m, wn_precision p, wn_error *err)
{
    wn_model *r = wn__model_alloc(&m->cfg, 1, err);
    if (!r) return NULL;
    memcpy(r->params, m->params, sizeof(float) * m->n_params);
    wn__cond_copy(r, m);
    if (wn_model_round(r, p, err) != WN_OK) {
        wn_model_free(r);
        return NULL;
    }
    return r;
}
