/* data_window.c - what training reads back from the clips' file (data.c):
 * the windows of a step, drawn at random, gain-jittered and encoded, with
 * the frames of features their samples need, and a validation clip's codes
 * and features. Apart from loading, which runs once: this runs at every
 * step.
 *
 * Why windows are encoded on the fly: the training clips are kept as floats
 * (4 bytes a sample) so that a random gain can be applied before mu-law,
 * where a level change really happens; encoding a window costs one log per
 * sample, well under 1% of the window's forward and backward pass.
 *
 * Why the data RNG is one splitmix64 word drawn in a fixed order (clip and
 * start, then gain, window after window) on one thread: it is then a single
 * number in the checkpoint, and the windows of step k do not depend on the
 * thread count. */
#include "data.h"

#include <math.h>

/* The frames [*fs, *fe) of a clip of F frames that the window starting at
 * clip sample s (len codes: samples s + 1 .. s + len - 1 predicted) reads:
 * what the upsampler needs for those samples (wn__upsample_frames_needed,
 * one more each side for the frames conv), and at least as many as
 * wn_grad_ctx_run_cond asks of a window ending at s + len. */
void wn__window_frames(const wn__data *d, int64_t s, int64_t F, int64_t *fs, int64_t *fe)
{
    const int64_t n1 = s + d->len;
    long f0, f1;
    wn__upsample_frames_needed(&d->m->up, s + 1 > 0 ? (long)(s + 1) : 0, (long)n1, &f0, &f1);
    int64_t a = f0 - d->pre, b = f1 + d->pre;
    const int64_t need = (int64_t)wn_model_cond_frames(d->m, (size_t)n1);
    if (b < need) b = need;
    *fs = a > 0 ? a : 0;
    *fe = b < F ? b : F;
}

size_t wn__data_window_frames(const wn__data *d) { return d->wframes; }

int wn__data_draw(wn__data *d, uint64_t *rng, int b0, int b1, int *codes, wn_window_cond *wc,
                  float *feats, wn_error *err)
{
    const int len = d->len, rf = d->rf, bins = d->bins, C = d->C;
    const float jit = d->p->gain_jitter_db;
    for (int b = 0; b < d->p->batch; b++) {
        int64_t pos = (int64_t)(wn__uniform(rng) * (double)d->positions);
        if (pos >= d->positions) pos = d->positions - 1;
        int lo = 0, hi = d->nclips - 1;
        while (lo < hi) { /* last clip with cum <= pos */
            int mid = (lo + hi + 1) / 2;
            if (d->clips[mid].cum <= pos) lo = mid;
            else hi = mid - 1;
        }
        const tclip *c = &d->clips[lo];
        int64_t s = pos - c->cum - rf;
        float gain = 1.0f;
        if (jit > 0)
            gain = (float)pow(10.0, (2.0 * wn__uniform(rng) - 1.0) * jit / 20.0);
        if (b < b0 || b >= b1) continue; /* another rank's window */
        int *out = codes + (size_t)(b - b0) * (size_t)len;
        int i = 0;
        for (; i < len && s + i < 0; i++) out[i] = d->silence;
        /* win[j] = the clip's sample s + j, for j from i on */
        const float *x = d->win;
        int rc = wn__data_io(d, 0, d->win + i, sizeof(float) * (size_t)(len - i),
                         (int64_t)sizeof(float) * (c->off + s + i), err);
        if (rc) return rc;
        if (gain > 1.0f && !d->p->gain_may_clip) { /* never past full scale */
            float peak = 0;
            for (int k = i; k < len; k++) peak = fmaxf(peak, fabsf(x[k]));
            if (gain * peak > 1.0f) gain = peak > 1.0f ? 1.0f : 1.0f / peak;
        }
        if (gain == 1.0f)
            for (; i < len; i++) out[i] = wn_mulaw_encode(x[i], bins);
        else
            for (; i < len; i++) out[i] = wn_mulaw_encode(x[i] * gain, bins);
        if (!wc) continue;
        wn_window_cond *w = &wc[b - b0];
        w->features = NULL;
        w->frames = 0;
        w->offset = s;
        w->speaker = c->spk;
        if (!C) continue;
        /* the frames its samples need, counted from the first of them */
        int64_t fs, fe;
        wn__window_frames(d, s, c->frames, &fs, &fe);
        float *fb = feats + (size_t)(b - b0) * d->wframes * (size_t)C;
        const size_t nv = (size_t)(fe - fs) * (size_t)C;
        rc = wn__data_io(d, 0, fb, sizeof(float) * nv, (int64_t)sizeof(float) * (c->foff + fs * C),
                     err);
        if (rc) return rc;
        /* The features are the un-jittered clip's: a gain g scales the
         * power of every band by g^2, which adds ln(g^2) to its log-mel,
         * exactly, wherever the band is above the recipe's power floor (at
         * the floor the power under it is not known; it stays at the floor
         * or rises by the shift). Clipping at full scale, which a gain
         * above 1 may cause in the codes, is not in the features. */
        if (gain != 1.0f) {
            const float shift = (float)(2.0 * log((double)gain)), lf = d->log_floor;
            for (size_t k = 0; k < nv; k++) {
                float v = fb[k] + shift;
                fb[k] = v > lf ? v : lf;
            }
        }
        w->features = fb;
        w->frames = (size_t)(fe - fs);
        w->offset = s - fs * d->hop;
    }
    return WN_OK;
}

int wn__data_valid(const wn__data *d, int i, int *codes, size_t *n, float *feats, wn_cond *c,
                   wn_error *err)
{
    *n = d->vn[i]; /* 0 for another rank's clip */
    if (c) {
        c->features = NULL;
        c->frames = 0;
        c->speaker = d->rep[1][i].speaker_row;
        c->bands = d->C;
    }
    int rc = wn__data_io(d, 0, codes, sizeof *codes * d->vn[i], d->voff[i], err);
    if (rc || !d->C || !d->vn[i] || !c) return rc;
    c->features = feats;
    c->frames = d->vframes[i];
    return wn__data_io(d, 0, feats, sizeof(float) * d->vframes[i] * (size_t)d->C, d->vfoff[i], err);
}

size_t wn__data_valid_max(const wn__data *d) { return d->vmax; }
size_t wn__data_valid_max_frames(const wn__data *d) { return d->vfmax; }
