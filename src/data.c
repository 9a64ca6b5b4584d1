/* data.c - the training data's clips: reading and trimming them, their
 * features, the file they wait in, and what identifies them in a
 * checkpoint. The files they come from are data_list.c's; the windows a
 * step reads back, data_window.c's.
 *
 * Why the clips wait in a file: memory then grows with batch x window, not
 * with the data set. After trimming and resampling, the training samples
 * and the validation codes go to one unlinked temporary file in $TMPDIR; a
 * step reads its windows back (a few hundred KB, from the page cache), a
 * validation one clip at a time.
 *
 * Why a conditional model's features wait in the same file: computed once
 * per clip at load, from the samples kept (after trimming), they take
 * cond / hop floats a sample: 1.25 times the audio's own bytes for 80
 * bands at a hop of 64, 20 times at a hop of 4. That is not small beside
 * the audio, so they go where the audio goes, each clip's frames after its
 * samples, and a window reads back only the frames its samples need (the
 * upsampler's context): a few dozen rows. */
#define _POSIX_C_SOURCE 200809L
#include "data.h"
#include "dist.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <samplerate.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

void wn__files_free(wn__files *f)
{
    if (!f) return;
    wn_list_free(f->path, f->n);
    wn_list_free(f->spk, f->spk ? f->n : 0);
    free(f->row);
    memset(f, 0, sizeof *f);
}

void wn__data_free(wn__data *d)
{
    if (!d) return;
    for (int w = 0; w < 2; w++) {
        wn_list_free(d->real[w], d->real[w] ? d->f[w].n : 0);
        wn__files_free(&d->f[w]);
        free(d->rep[w]);
        free(d->crc[w]);
    }
    if (d->fd >= 0) close(d->fd);
    free(d->win);
    free(d->clips);
    free(d->voff);
    free(d->vfoff);
    free(d->vn);
    free(d->vframes);
    free(d->fmean);
    free(d->fstd);
    free(d);
}

/* Silence trimming on the float signal: the first and last samples at or
 * above peak - trim_db, widened by 20 ms so onsets and decays survive.
 * Returns 1 if the clip is silence throughout (no sample above one 16-bit
 * step), which no threshold relative to its peak can trim. */
static int trim_bounds(const float *x, int64_t n, float trim_db, int rate, int64_t *head,
                       int64_t *tail)
{
    *head = *tail = 0;
    float peak = 0;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > peak) peak = a;
    }
    if (peak <= 1.0f / 32768) return 1;
    if (trim_db <= 0) return 0;
    float thr = peak * powf(10.0f, -trim_db / 20.0f);
    int64_t first = 0, last = n - 1;
    while (first < n && fabsf(x[first]) < thr) first++;
    while (last > first && fabsf(x[last]) < thr) last--;
    int64_t margin = rate / 50;
    *head = first > margin ? first - margin : 0;
    *tail = n - 1 - last > margin ? n - 1 - last - margin : 0;
    return 0;
}

static const char *const trim_names[] = {"both", "start", "end"};

int wn_trim_ends_parse(const char *s)
{
    for (int i = 0; i < (int)(sizeof trim_names / sizeof *trim_names); i++)
        if (s && !strcmp(s, trim_names[i])) return i;
    return -1;
}

const char *wn_trim_ends_name(wn_trim_ends e)
{
    return (unsigned)e < sizeof trim_names / sizeof *trim_names ? trim_names[e] : "?";
}

static double clipped_in(const float *x, int64_t n)
{
    int64_t hot = 0;
    for (int64_t k = 0; k < n; k++) hot += fabsf(x[k]) >= WN_CLIP_LEVEL;
    return n > 0 ? (double)hot / (double)n : 0;
}

double wn__clipped_fraction(const float *x, int64_t n, float trim_db, int rate, int *silent)
{
    int64_t head, tail;
    *silent = trim_bounds(x, n, trim_db, rate, &head, &tail);
    return *silent ? 0 : clipped_in(x + head, n - head - tail);
}

static int progress_stop(const wn_train_params *p, double done, double total)
{
    return p->progress && p->progress(p->progress_user, done, total);
}

/* The clips' file: created and unlinked at once (gone with the descriptor) */
static int data_open(wn__data *d, wn_error *err)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/wavenet-train.XXXXXX", dir);
    d->fd = mkstemp(tmp);
    if (d->fd < 0)
        return wn__err(err, WN_ERR_IO, "cannot make a temporary file for the training data "
                       "in %s: %s", dir, strerror(errno));
    unlink(tmp);
    return WN_OK;
}

/* n bytes at offset off of the clips' file, to it (put) or from it */
int wn__data_io(const wn__data *d, int put, void *buf, size_t n, int64_t off, wn_error *err)
{
    char *b = buf;
    while (n) {
        ssize_t k = put ? pwrite(d->fd, b, n, (off_t)off) : pread(d->fd, b, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0)
            return wn__err(err, WN_ERR_IO, "the training data's temporary file: %s",
                           k < 0 ? strerror(errno) : put ? "nothing written" : "short read");
        b += k;
        n -= (size_t)k;
        off += k;
    }
    return WN_OK;
}

static uint32_t crc_of(const void *p, size_t bytes)
{
    uLong c = crc32(0L, Z_NULL, 0);
    const unsigned char *b = p;
    while (bytes) { /* zlib takes uInt lengths */
        uInt k = bytes > (1u << 30) ? (1u << 30) : (uInt)bytes;
        c = crc32(c, b, k);
        b += k;
        bytes -= k;
    }
    return (uint32_t)c;
}

/* The features of n samples x (wn_model_features) appended to the clips'
 * file at d->bytes; *frames receives their count. With sums (the training
 * clips), each band's sum and sum of squares are added, in double, frame
 * after frame: the statistics do not depend on the thread count. They are
 * taken about shift (the first training frame), which keeps the sum of
 * squares from cancelling. */
static int put_features(wn__data *d, const float *x, size_t n, size_t *frames, double *sums,
                        wn_error *err)
{
    float *feats = NULL;
    int rc = wn_model_features(d->m, x, n, &feats, frames, err);
    if (rc) return rc;
    const size_t C = (size_t)d->C;
    if (sums) {
        double *sum = sums, *sq = sums + C, *shift = sums + 2 * C;
        if (d->frames[0] == 0)
            for (size_t c = 0; c < C; c++) shift[c] = feats[c];
        for (size_t f = 0; f < *frames; f++)
            for (size_t c = 0; c < C; c++) {
                double v = (double)feats[f * C + c] - shift[c];
                sum[c] += v;
                sq[c] += v * v;
            }
    }
    rc = wn__data_io(d, 1, feats, sizeof *feats * *frames * C, d->bytes, err);
    free(feats);
    if (rc) return rc;
    d->bytes += (int64_t)(sizeof(float) * *frames * C);
    return WN_OK;
}

/* A band whose frames barely move (one at the power floor throughout, in
 * a band above the audio's content) would have its every later wiggle
 * magnified without bound: its standard deviation is taken as at least
 * this many nats. */
#define WN_FEATURE_STD_MIN 0.1

static void feature_stats(wn__data *d, const double *sums)
{
    const int C = d->C;
    const double N = (double)d->frames[0];
    for (int c = 0; c < C; c++) {
        double m = sums[c] / N, var = sums[C + c] / N - m * m;
        d->fmean[c] = sums[2 * C + c] + m;
        d->fstd[c] = var > WN_FEATURE_STD_MIN * WN_FEATURE_STD_MIN ? sqrt(var)
                                                                   : WN_FEATURE_STD_MIN;
    }
}

/* Clip x (n samples, speaker row spk) into the file, its features after it,
 * and its window positions into the draw. */
static int put_clip(wn__data *d, const float *x, int64_t n, int spk, double *sums,
                    int64_t *frames_out, wn_error *err)
{
    tclip *c = &d->clips[d->nclips];
    c->off = d->bytes / (int64_t)sizeof(float);
    c->n = n;
    c->cum = d->positions;
    c->spk = spk;
    int rc = wn__data_io(d, 1, (void *)x, sizeof *x * (size_t)n, d->bytes, err);
    if (rc) return rc;
    d->bytes += (int64_t)sizeof *x * n;
    /* the features of exactly the samples kept */
    size_t frames = 0;
    c->foff = d->bytes / (int64_t)sizeof(float);
    if (d->C && (rc = put_features(d, x, (size_t)n, &frames, sums, err))) return rc;
    c->frames = (int64_t)frames;
    *frames_out = (int64_t)frames;
    d->frames[0] += (int64_t)frames;
    d->nclips++;
    /* starts s in [-RF, n - RF - T]: n - T + 1 of them */
    d->positions += n - d->window + 1;
    return WN_OK;
}

/* Speed perturbation: x (n samples) played `speed` times as fast, at the
 * same rate: resampled by 1/speed (libsamplerate, as files are), so that
 * its pitch and formants move by `speed` too. NULL (and *err) if memory
 * or the resampler fails. */
static float *speed_copy(const float *x, int64_t n, float speed, int64_t *m, wn_error *err)
{
    const double ratio = 1.0 / speed;
    const int64_t cap = (int64_t)ceil((double)n * ratio) + 64;
    float *y = malloc(sizeof *y * (size_t)cap);
    if (!y) {
        wn__err(err, WN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    SRC_DATA sd = {.data_in = x, .data_out = y, .input_frames = (long)n,
                   .output_frames = (long)cap, .src_ratio = ratio, .end_of_input = 1};
    int e = src_simple(&sd, SRC_SINC_MEDIUM_QUALITY, 1);
    if (e) {
        free(y);
        wn__err(err, WN_ERR_AUDIO, "resampling a clip to speed %g failed: %s", speed,
                src_strerror(e));
        return NULL;
    }
    *m = sd.output_frames_gen;
    return y;
}

static int load_train(wn__data *d, wn_error *err)
{
    const int nf = d->f[0].n;
    /* a clip must hold a window (T samples, each predicted) and more than
     * the receptive field */
    const int64_t need = d->window > d->rf + 1 ? d->window : d->rf + 1;
    int nspeeds = 0;
    while (nspeeds < WN_MAX_SPEEDS && d->p->speeds[nspeeds] != 0) nspeeds++;
    d->clips = calloc((size_t)(nf ? nf : 1) * (size_t)(1 + nspeeds), sizeof *d->clips);
    double *sums = d->C ? calloc(3 * (size_t)d->C, sizeof *sums) : NULL;
    if (!d->clips || (d->C && !sums)) {
        free(sums);
        return wn__err(err, WN_ERR_NOMEM, "out of memory");
    }
    int rc = WN_OK;
    for (int i = 0; i < nf && rc == WN_OK; i++) {
        if (progress_stop(d->p, i, nf + d->f[1].n)) {
            rc = wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
            break;
        }
        const char *path = d->f[0].path[i];
        wn_clip_report *r = &d->rep[0][i];
        float *x = NULL;
        size_t n = 0;
        wn_audio_info info;
        if ((rc = wn__audio_read_hot(path, d->rate, d->p->rescale_above, &x, &n, &r->gain, &info,
                                     err)))
            break;
        r->samples = (int64_t)n;
        r->file_rate = info.file_rate;
        r->resampled = info.resampled;
        int64_t head, tail;
        r->silent = trim_bounds(x, (int64_t)n, d->p->trim_db, d->rate, &head, &tail);
        if (d->p->trim_ends == WN_TRIM_START) tail = 0;
        if (d->p->trim_ends == WN_TRIM_END) head = 0;
        r->head = head;
        r->tail = tail;
        int64_t keep = (int64_t)n - head - tail;
        /* Clipped: a file recorded too hot holds runs of full-scale samples
         * (square waves at the pitch); trained on, they teach a model a
         * loud state it cannot leave when it samples. */
        r->clipped_frac = clipped_in(x + head, keep);
        r->clipped = !r->silent && keep >= need && r->clipped_frac > d->p->max_clipped;
        /* too short (after trimming): skipped, never filled with silence */
        if (keep < need || r->silent || r->clipped) {
            r->unusable = 1;
            free(x);
            continue;
        }
        d->crc[0][i] = crc_of(x + head, sizeof *x * (size_t)keep);
        rc = put_clip(d, x + head, keep, r->speaker_row, sums, &r->frames, err);
        if (rc == WN_OK) d->samples[0] += keep;
        /* each speed's copy of what was kept, if a window still fits it */
        for (int k = 0; k < nspeeds && rc == WN_OK; k++) {
            int64_t m = 0, frames;
            float *y = speed_copy(x + head, keep, d->p->speeds[k], &m, err);
            if (!y) rc = err ? err->code : WN_ERR_AUDIO;
            else if (m >= need && (rc = put_clip(d, y, m, r->speaker_row, sums, &frames, err)) == 0)
                d->samples[2] += m;
            free(y);
        }
        free(x);
        if (rc) break;
    }
    if (rc == WN_OK && d->C && d->frames[0]) feature_stats(d, sums);
    free(sums);
    if (rc) return rc;
    if (nf == 0) return wn__err(err, WN_ERR_ARG, "no training files");
    if (d->nclips == 0) {
        const wn_clip_report *r = &d->rep[0][0];
        return wn__err(err, WN_ERR_AUDIO,
                       "no usable training clip: each needs at least %lld samples of sound "
                       "after trimming its silent ends (more than the receptive field %d and "
                       "at least the window %d); %s%s has %lld%s",
                       (long long)need, d->rf, d->window, r->path,
                       nf > 1 ? " (the first)" : "", (long long)(r->samples - r->head - r->tail),
                       r->silent ? " and is all silence" : "");
    }
    return WN_OK;
}

static int load_valid(wn__data *d, wn_error *err)
{
    const int nf = d->f[1].n;
    if (!nf) return WN_OK;
    d->voff = calloc((size_t)nf, sizeof *d->voff);
    d->vfoff = calloc((size_t)nf, sizeof *d->vfoff);
    d->vn = calloc((size_t)nf, sizeof *d->vn);
    d->vframes = calloc((size_t)nf, sizeof *d->vframes);
    if (!d->voff || !d->vfoff || !d->vn || !d->vframes)
        return wn__err(err, WN_ERR_NOMEM, "out of memory");
    const int rank = wn__dist_rank(), size = wn__dist_size();
    for (int i = 0; i < nf; i++) {
        if (progress_stop(d->p, d->f[0].n + i, d->f[0].n + nf))
            return wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        wn_clip_report *r = &d->rep[1][i];
        if (i % size != rank) continue; /* another rank's clip */
        wn_audio_info info;
        float *x = NULL;
        int rc = wn_audio_read(r->path, d->rate, &x, &d->vn[i], &info, err);
        if (rc) return rc;
        /* scored whole and untrimmed, as `wavenet score` scores a file (the
         * codes of wn_audio_read_codes), with the features of those samples */
        const size_t n = d->vn[i];
        d->vfoff[i] = -1;
        if (d->C) {
            d->vfoff[i] = d->bytes;
            rc = put_features(d, x, n, &d->vframes[i], NULL, err);
        }
        int *codes = (int *)malloc(sizeof *codes * (n ? n : 1));
        if (rc == WN_OK && !codes) rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
        for (size_t k = 0; rc == WN_OK && k < n; k++) codes[k] = wn_mulaw_encode(x[k], d->bins);
        free(x);
        if (rc == WN_OK) {
            d->voff[i] = d->bytes;
            d->crc[1][i] = crc_of(codes, sizeof *codes * n);
            rc = wn__data_io(d, 1, codes, sizeof *codes * n, d->bytes, err);
        }
        free(codes);
        if (rc) return rc;
        d->bytes += (int64_t)(sizeof *codes * n);
        if (n > d->vmax) d->vmax = n;
        if (d->vframes[i] > d->vfmax) d->vfmax = d->vframes[i];
        r->samples = (int64_t)n;
        r->frames = (int64_t)d->vframes[i];
        r->file_rate = info.file_rate;
        r->resampled = info.resampled;
    }
    /* every rank learns every clip's length, frames and crc32 (the figures
     * are per sample; a checkpoint names the data whatever the rank count) */
    const size_t k = 3 * (size_t)(unsigned)nf;
    double *mine = calloc(k, sizeof *mine),
           *all = calloc(k * (size_t)(unsigned)(size > 0 ? size : 1), sizeof *all);
    int rc = mine && all ? WN_OK : wn__err(err, WN_ERR_NOMEM, "out of memory");
    for (int i = 0; rc == WN_OK && i < nf; i++) {
        mine[3 * i] = (double)d->rep[1][i].samples;
        mine[3 * i + 1] = (double)d->crc[1][i];
        mine[3 * i + 2] = (double)d->rep[1][i].frames;
    }
    if (rc == WN_OK) rc = wn__dist_allgather(mine, k, all, err);
    for (int i = 0; rc == WN_OK && i < nf; i++) {
        const double *o = all + (size_t)(i % size) * k;
        d->rep[1][i].samples = (int64_t)o[3 * i];
        d->crc[1][i] = (uint32_t)o[3 * i + 1];
        d->rep[1][i].frames = (int64_t)o[3 * i + 2];
        d->samples[1] += d->rep[1][i].samples;
        d->frames[1] += d->rep[1][i].frames;
    }
    free(mine);
    free(all);
    return rc;
}

wn__data *wn__data_load(const wn_model *m, const wn_train_params *p, wn__files f[2],
                        wn_error *err)
{
    wn__data *d = calloc(1, sizeof *d);
    if (!d) {
        for (int w = 0; w < 2; w++) wn__files_free(&f[w]);
        wn__err(err, WN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    wn_config c = wn_model_config(m);
    d->p = p;
    d->m = m;
    d->fd = -1;
    d->rf = wn_model_receptive_field(m);
    d->window = p->window;
    d->len = d->rf + p->window;
    d->rate = c.sample_rate;
    d->bins = c.bins;
    d->silence = wn_mulaw_silence(c.bins);
    d->C = c.cond;
    d->hop = c.hop;
    d->pre = c.upsample_pre;
    for (int w = 0; w < 2; w++) {
        d->f[w] = f[w];
        memset(&f[w], 0, sizeof f[w]);
    }
    for (int w = 0; w < 2; w++) {
        const int nf = d->f[w].n;
        size_t k = (size_t)(nf ? nf : 1);
        d->rep[w] = calloc(k, sizeof *d->rep[w]);
        d->crc[w] = calloc(k, sizeof *d->crc[w]);
        d->real[w] = calloc(k, sizeof *d->real[w]);
        if (!d->rep[w] || !d->crc[w] || !d->real[w]) goto nomem;
        for (int i = 0; i < nf; i++) {
            char *rp = realpath(d->f[w].path[i], NULL);
            d->real[w][i] = rp ? rp : strdup("");
            if (!d->real[w][i]) goto nomem;
            wn_clip_report *r = &d->rep[w][i];
            r->path = d->f[w].path[i];
            r->gain = 1;
            r->speaker = c.speakers && d->f[w].spk ? d->f[w].spk[i] : NULL;
            r->speaker_row = c.speakers && d->f[w].row ? d->f[w].row[i] : -1;
        }
    }
    if (d->C) {
        wn_mel_params mp;
        wn_model_mel_params(m, &mp);
        d->log_floor = logf(mp.floor);
        d->fmean = calloc((size_t)d->C, sizeof *d->fmean);
        d->fstd = calloc((size_t)d->C, sizeof *d->fstd);
        if (!d->fmean || !d->fstd) goto nomem;
        /* the most frames of a window: its start's phase within a hop is
         * all that changes the count, away from the clip's ends */
        const int64_t base = ((int64_t)m->up.halo / d->hop + 4) * d->hop;
        for (int64_t ph = 0; ph < d->hop; ph++) {
            int64_t fs, fe;
            wn__window_frames(d, base + ph, INT64_MAX, &fs, &fe);
            if ((size_t)(fe - fs) > d->wframes) d->wframes = (size_t)(fe - fs);
        }
    }
    d->win = malloc(sizeof(float) * (size_t)d->len);
    if (!d->win) goto nomem;
    if (data_open(d, err) || load_train(d, err) || load_valid(d, err)) goto fail;
    return d;
nomem:
    wn__err(err, WN_ERR_NOMEM, "out of memory reading the data");
fail:
    wn__data_free(d);
    return NULL;
}

int64_t wn__data_frames(const wn__data *d, int which) { return d->frames[which]; }

void wn__data_feature_stats(const wn__data *d, double *mean, double *std)
{
    for (int c = 0; c < d->C; c++) {
        mean[c] = d->fmean[c];
        std[c] = d->fstd[c];
    }
}

int wn__data_files(const wn__data *d, int which, char ***files)
{
    if (files) *files = d->f[which].path;
    return d->f[which].n;
}

const wn_clip_report *wn__data_report(const wn__data *d, int which, int i)
{
    return i >= 0 && i < d->f[which].n ? &d->rep[which][i] : NULL;
}

int64_t wn__data_samples(const wn__data *d, int which) { return d->samples[which]; }

/* Each file's resolved path, samples and crc32 and, for a model with
 * speakers, its speaker's name: a resume with other labels is refused as
 * other audio is. A model without speakers writes no "speaker", so its
 * identity is what it was before there were speakers. */
char *wn__data_identity(const wn__data *d, int which)
{
    json_t *a = json_array();
    for (int i = 0; a && i < d->f[which].n; i++) {
        const wn_clip_report *r = &d->rep[which][i];
        json_t *o = json_pack("{s:s, s:I, s:I}", "path", d->real[which][i], "samples",
                              (json_int_t)r->samples, "crc32", (json_int_t)d->crc[which][i]);
        if (o && d->m->cfg.speakers && r->speaker &&
            json_object_set_new(o, "speaker", json_string(r->speaker))) {
            json_decref(o);
            o = NULL;
        }
        if (!o || json_array_append_new(a, o)) {
            json_decref(a);
            return NULL;
        }
    }
    char *s = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return s;
}

int wn__data_same(const wn__data *d, int which, const char *identity, const char *ckpt,
                  wn_error *err)
{
    const char *what = which ? "validation" : "training";
    const int nf = d->f[which].n;
    json_t *a = json_loads(identity, 0, NULL);
    int rc = WN_OK;
    if (!json_is_array(a)) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: the %s data's identity is not a list", ckpt,
                     what);
    } else if ((int)json_array_size(a) != nf) {
        rc = wn__err(err, WN_ERR_ARG,
                     "%s: the run trained with %d %s files, %d are given now", ckpt,
                     (int)json_array_size(a), what, nf);
    }
    for (int i = 0; rc == WN_OK && i < nf; i++) {
        json_t *o = json_array_get(a, (size_t)i);
        const char *path = json_string_value(json_object_get(o, "path"));
        json_t *ns = json_object_get(o, "samples"), *cs = json_object_get(o, "crc32");
        json_t *sp = json_object_get(o, "speaker");
        const char *then = json_string_value(sp), *now = d->rep[which][i].speaker;
        if (!d->m->cfg.speakers) now = NULL;
        if (!path || !json_is_integer(ns) || !json_is_integer(cs) || (sp && !then)) {
            rc = wn__err(err, WN_ERR_FORMAT, "%s: the %s data's identity is malformed", ckpt,
                         what);
        } else if (json_integer_value(ns) != d->rep[which][i].samples ||
                   (uint32_t)json_integer_value(cs) != d->crc[which][i]) {
            rc = wn__err(err, WN_ERR_ARG,
                         "%s: %s is not the audio the run trained on (then %s, %lld samples); "
                         "resume where the same files are", ckpt, d->f[which].path[i], path,
                         (long long)json_integer_value(ns));
        } else if (!then != !now || (then && strcmp(then, now))) {
            rc = wn__err(err, WN_ERR_ARG,
                         "%s: %s has speaker %s%s%s, the run %s it with %s%s%s; resume with "
                         "the same speakers", ckpt, d->f[which].path[i], now ? "'" : "",
                         now ? now : "none", now ? "'" : "",
                         which ? "validated" : "trained", then ? "'" : "",
                         then ? then : "none", then ? "'" : "");
        }
    }
    json_decref(a);
    return rc;
}
