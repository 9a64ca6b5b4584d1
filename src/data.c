/* data.c - the training data: list files and folders, reading and trimming
 * the clips, the file they wait in, and the windows of a step.
 *
 * Why windows are encoded on the fly: the training clips are kept as floats
 * (4 bytes a sample) so that a random gain can be applied before mu-law,
 * where a level change really happens; encoding a window costs one log per
 * sample, well under 1% of the window's forward and backward pass.
 *
 * Why the clips wait in a file: memory then grows with batch x window, not
 * with the data set. After trimming and resampling, the training samples
 * and the validation codes go to one unlinked temporary file in $TMPDIR; a
 * step reads its windows back (a few hundred KB, from the page cache), a
 * validation one clip at a time.
 *
 * Why the data RNG is one splitmix64 word drawn in a fixed order (clip and
 * start, then gain, window after window) on one thread: it is then a single
 * number in the checkpoint, and the windows of step k do not depend on the
 * thread count. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"
#include "dist.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* ------------------------------------------------------------ file lists */

int wn__push_path(char ***paths, int *n, const char *s, size_t len)
{
    char **np = realloc(*paths, sizeof *np * (size_t)(*n + 1));
    if (!np) return WN_ERR_NOMEM;
    *paths = np;
    char *c = malloc(len + 1);
    if (!c) return WN_ERR_NOMEM;
    memcpy(c, s, len);
    c[len] = 0;
    np[(*n)++] = c;
    return WN_OK;
}

void wn_list_free(char **paths, int n)
{
    if (!paths) return;
    for (int i = 0; i < n; i++) free(paths[i]);
    free(paths);
}

int wn_list_read(const char *list, char ***paths, int *n, wn_error *err)
{
    FILE *f = fopen(list, "r");
    if (!f) return wn__err(err, WN_ERR_IO, "%s: %s", list, strerror(errno));
    const char *slash = strrchr(list, '/');
    size_t dirlen = slash ? (size_t)(slash - list + 1) : 0;
    char *line = NULL, *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    int rc = WN_OK, lineno = 0;
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        if (memchr(line, 0, (size_t)got)) {
            rc = wn__err(err, WN_ERR_FORMAT, "%s:%d: not a text list file", list, lineno);
            break;
        }
        /* '#' at the start or after a blank starts a comment */
        for (char *p = line; *p; p++)
            if (*p == '#' && (p == line || *(p - 1) == ' ' || *(p - 1) == '\t')) {
                *p = 0;
                break;
            }
        char *s = line, *e = line + strlen(line);
        while (*s == ' ' || *s == '\t') s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r')) e--;
        if (e == s) continue;
        size_t len = (size_t)(e - s);
        if (s[0] != '/' && dirlen) {
            char *nb = realloc(buf, dirlen + len + 1);
            if (!nb) { rc = WN_ERR_NOMEM; break; }
            buf = nb;
            memcpy(buf, list, dirlen);
            memcpy(buf + dirlen, s, len);
            rc = wn__push_path(paths, n, buf, dirlen + len);
        } else {
            rc = wn__push_path(paths, n, s, len);
        }
        if (rc) break;
    }
    if (rc == WN_OK && ferror(f))
        rc = wn__err(err, WN_ERR_IO, "%s: read error", list);
    if (rc == WN_ERR_NOMEM) wn__err(err, rc, "out of memory reading %s", list);
    free(line);
    free(buf);
    fclose(f);
    return rc;
}

static int is_audio_name(const char *name)
{
    static const char *const ext[] = {"wav", "raw", "flac", "ogg", "oga", "opus", "aif",
                                      "aiff", "aifc", "au", "snd", "caf", "w64", "rf64",
                                      "mp3", "voc", "sd2", "htk", "paf", "sf", "wve"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot + 1, ext[i])) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append the audio files under folder `path` (depth levels deep at most):
 * hidden entries skipped, symbolic links to folders not followed (no
 * loops), each file by its extension. */
static int walk(const char *path, char ***paths, int *n, int depth, wn_error *err)
{
    DIR *d = opendir(path);
    if (!d) return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    int rc = WN_OK;
    size_t pl = strlen(path);
    int sep = pl && path[pl - 1] != '/';
    struct dirent *de;
    while (rc == WN_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        size_t l = pl + (size_t)sep + strlen(de->d_name);
        char *full = malloc(l + 1);
        if (!full) {
            rc = wn__err(err, WN_ERR_NOMEM, "out of memory listing %s", path);
            break;
        }
        snprintf(full, l + 1, "%s%s%s", path, sep ? "/" : "", de->d_name);
        struct stat ls, fs;
        if (lstat(full, &ls) == 0 && S_ISDIR(ls.st_mode)) {
            if (depth > 0) rc = walk(full, paths, n, depth - 1, err);
        } else if (is_audio_name(de->d_name) && stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) {
            if (wn__push_path(paths, n, full, l))
                rc = wn__err(err, WN_ERR_NOMEM, "out of memory listing %s", path);
        }
        free(full);
    }
    closedir(d);
    return rc;
}

/* A path as given: a folder becomes the audio files in it and in its
 * sub-folders (sorted by path, hidden entries skipped), anything else is
 * kept for the reader to judge (so a missing file gets the reader's
 * one-line error). */
int wn_path_expand(const char *path, char ***paths, int *n, wn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return wn__push_path(paths, n, path, strlen(path)) ? wn__err(err, WN_ERR_NOMEM, "out of memory") : WN_OK;
    int first = *n;
    int rc = walk(path, paths, n, 32, err);
    if (rc) return rc;
    if (*n > first) /* an empty folder may leave *paths NULL, which qsort must not get */
        qsort(*paths + first, (size_t)(*n - first), sizeof **paths, cmp_str);
    return WN_OK;
}

/* ------------------------------------------------------------ the clips */

typedef struct tclip {
    int64_t off;   /* into the file, in floats */
    int64_t n;
    int64_t cum;   /* window start positions in the clips before this one */
} tclip;

struct wn__data {
    const wn_train_params *p;
    int rf, window, len, rate, bins, silence;
    char **files[2];
    int nfiles[2];
    wn_clip_report *rep[2];
    char **real[2];        /* each file's resolved path ("" if none) */
    uint32_t *crc[2];      /* crc32 of what was kept of each file */
    int fd;                /* training floats back to back, then each
                              validation clip's codes (int32) */
    int64_t bytes;
    float *win;            /* one window's samples, read back */
    tclip *clips;
    int nclips;
    int64_t positions;     /* window start positions over all clips */
    int64_t *voff;         /* byte offset of each validation clip's codes */
    size_t *vn, vmax;      /* their lengths, the longest */
    int64_t samples[2];
};

void wn__data_free(wn__data *d)
{
    if (!d) return;
    for (int w = 0; w < 2; w++) {
        wn_list_free(d->files[w], d->nfiles[w]);
        wn_list_free(d->real[w], d->real[w] ? d->nfiles[w] : 0);
        free(d->rep[w]);
        free(d->crc[w]);
    }
    if (d->fd >= 0) close(d->fd);
    free(d->win);
    free(d->clips);
    free(d->voff);
    free(d->vn);
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
static int data_io(const wn__data *d, int put, void *buf, size_t n, int64_t off, wn_error *err)
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

static int load_train(wn__data *d, wn_error *err)
{
    const int nf = d->nfiles[0];
    /* a clip must hold a window (T samples, each predicted) and more than
     * the receptive field */
    const int64_t need = d->window > d->rf + 1 ? d->window : d->rf + 1;
    int64_t used = 0;
    d->clips = calloc((size_t)(nf ? nf : 1), sizeof *d->clips);
    if (!d->clips) return wn__err(err, WN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nf; i++) {
        if (progress_stop(d->p, i, nf + d->nfiles[1]))
            return wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        const char *path = d->files[0][i];
        wn_clip_report *r = &d->rep[0][i];
        r->path = path;
        float *x = NULL;
        size_t n = 0;
        wn_audio_info info;
        int rc = wn_audio_read(path, d->rate, &x, &n, &info, err);
        if (rc) return rc;
        r->samples = (int64_t)n;
        r->file_rate = info.file_rate;
        r->resampled = info.resampled;
        int64_t head, tail;
        r->silent = trim_bounds(x, (int64_t)n, d->p->trim_db, d->rate, &head, &tail);
        r->head = head;
        r->tail = tail;
        int64_t keep = (int64_t)n - head - tail;
        /* too short (after trimming): skipped, never filled with silence */
        if (keep < need || r->silent) {
            r->unusable = 1;
            free(x);
            continue;
        }
        d->crc[0][i] = crc_of(x + head, sizeof *x * (size_t)keep);
        rc = data_io(d, 1, x + head, sizeof *x * (size_t)keep, (int64_t)sizeof *x * used, err);
        free(x);
        if (rc) return rc;
        tclip *c = &d->clips[d->nclips++];
        c->off = used;
        c->n = keep;
        c->cum = d->positions;
        /* starts s in [-RF, n - RF - T]: n - T + 1 of them */
        d->positions += keep - d->window + 1;
        used += keep;
    }
    d->samples[0] = used;
    d->bytes = (int64_t)sizeof(float) * used;
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
    const int nf = d->nfiles[1];
    if (!nf) return WN_OK;
    d->voff = calloc((size_t)nf, sizeof *d->voff);
    d->vn = calloc((size_t)nf, sizeof *d->vn);
    if (!d->voff || !d->vn) return wn__err(err, WN_ERR_NOMEM, "out of memory");
    const int rank = wn__dist_rank(), size = wn__dist_size();
    for (int i = 0; i < nf; i++) {
        if (progress_stop(d->p, d->nfiles[0] + i, d->nfiles[0] + nf))
            return wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        wn_clip_report *r = &d->rep[1][i];
        r->path = d->files[1][i];
        if (i % size != rank) continue; /* another rank's clip */
        wn_audio_info info;
        int *codes = NULL;
        int rc = wn_audio_read_codes(r->path, d->rate, d->bins, &codes, &d->vn[i], &info, err);
        if (rc) return rc;
        d->voff[i] = d->bytes;
        d->crc[1][i] = crc_of(codes, sizeof *codes * d->vn[i]);
        rc = data_io(d, 1, codes, sizeof *codes * d->vn[i], d->bytes, err);
        free(codes);
        if (rc) return rc;
        d->bytes += (int64_t)(sizeof *codes * d->vn[i]);
        if (d->vn[i] > d->vmax) d->vmax = d->vn[i];
        r->samples = (int64_t)d->vn[i];
        r->file_rate = info.file_rate;
        r->resampled = info.resampled;
    }
    /* every rank learns every clip's length and crc32 (the figures are per
     * sample; a checkpoint names the data whatever the rank count) */
    const size_t k = 2 * (size_t)(unsigned)nf;
    double *mine = calloc(k, sizeof *mine),
           *all = calloc(k * (size_t)(unsigned)(size > 0 ? size : 1), sizeof *all);
    int rc = mine && all ? WN_OK : wn__err(err, WN_ERR_NOMEM, "out of memory");
    for (int i = 0; rc == WN_OK && i < nf; i++) {
        mine[2 * i] = (double)d->rep[1][i].samples;
        mine[2 * i + 1] = (double)d->crc[1][i];
    }
    if (rc == WN_OK) rc = wn__dist_allgather(mine, k, all, err);
    for (int i = 0; rc == WN_OK && i < nf; i++) {
        const double *o = all + (size_t)(i % size) * k;
        d->rep[1][i].samples = (int64_t)o[2 * i];
        d->crc[1][i] = (uint32_t)o[2 * i + 1];
        d->samples[1] += d->rep[1][i].samples;
    }
    free(mine);
    free(all);
    return rc;
}

wn__data *wn__data_load(const wn_model *m, const wn_train_params *p, char **files[2],
                        const int nfiles[2], wn_error *err)
{
    wn__data *d = calloc(1, sizeof *d);
    if (!d) {
        for (int w = 0; w < 2; w++) wn_list_free(files[w], nfiles[w]);
        wn__err(err, WN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    wn_config c = wn_model_config(m);
    d->p = p;
    d->fd = -1;
    d->rf = wn_model_receptive_field(m);
    d->window = p->window;
    d->len = d->rf + p->window;
    d->rate = c.sample_rate;
    d->bins = c.bins;
    d->silence = wn_mulaw_silence(c.bins);
    for (int w = 0; w < 2; w++) {
        d->files[w] = files[w];
        d->nfiles[w] = nfiles[w];
        size_t k = (size_t)(nfiles[w] ? nfiles[w] : 1);
        d->rep[w] = calloc(k, sizeof *d->rep[w]);
        d->crc[w] = calloc(k, sizeof *d->crc[w]);
        d->real[w] = calloc(k, sizeof *d->real[w]);
        if (!d->rep[w] || !d->crc[w] || !d->real[w]) goto nomem;
        for (int i = 0; i < nfiles[w]; i++) {
            char *rp = realpath(files[w][i], NULL);
            d->real[w][i] = rp ? rp : strdup("");
            if (!d->real[w][i]) goto nomem;
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

int wn__data_draw(wn__data *d, uint64_t *rng, int b0, int b1, int *codes, wn_error *err)
{
    const int len = d->len, rf = d->rf, bins = d->bins;
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
        int rc = data_io(d, 0, d->win + i, sizeof(float) * (size_t)(len - i),
                         (int64_t)sizeof(float) * (c->off + s + i), err);
        if (rc) return rc;
        if (gain == 1.0f)
            for (; i < len; i++) out[i] = wn_mulaw_encode(x[i], bins);
        else
            for (; i < len; i++) out[i] = wn_mulaw_encode(x[i] * gain, bins);
    }
    return WN_OK;
}

int wn__data_valid(const wn__data *d, int i, int *codes, size_t *n, wn_error *err)
{
    *n = d->vn[i]; /* 0 for another rank's clip */
    return data_io(d, 0, codes, sizeof *codes * d->vn[i], d->voff[i], err);
}

size_t wn__data_valid_max(const wn__data *d) { return d->vmax; }

int wn__data_files(const wn__data *d, int which, char ***files)
{
    if (files) *files = d->files[which];
    return d->nfiles[which];
}

const wn_clip_report *wn__data_report(const wn__data *d, int which, int i)
{
    return i >= 0 && i < d->nfiles[which] ? &d->rep[which][i] : NULL;
}

int64_t wn__data_samples(const wn__data *d, int which) { return d->samples[which]; }

char *wn__data_identity(const wn__data *d, int which)
{
    json_t *a = json_array();
    for (int i = 0; a && i < d->nfiles[which]; i++) {
        const wn_clip_report *r = &d->rep[which][i];
        json_t *o = json_pack("{s:s, s:I, s:I}", "path", d->real[which][i], "samples",
                              (json_int_t)r->samples, "crc32", (json_int_t)d->crc[which][i]);
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
    json_t *a = json_loads(identity, 0, NULL);
    int rc = WN_OK;
    if (!json_is_array(a)) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: the %s data's identity is not a list", ckpt,
                     what);
    } else if ((int)json_array_size(a) != d->nfiles[which]) {
        rc = wn__err(err, WN_ERR_ARG,
                     "%s: the run trained with %d %s files, %d are given now", ckpt,
                     (int)json_array_size(a), what, d->nfiles[which]);
    }
    for (int i = 0; rc == WN_OK && i < d->nfiles[which]; i++) {
        json_t *o = json_array_get(a, (size_t)i);
        const char *path = json_string_value(json_object_get(o, "path"));
        json_t *ns = json_object_get(o, "samples"), *cs = json_object_get(o, "crc32");
        if (!path || !json_is_integer(ns) || !json_is_integer(cs)) {
            rc = wn__err(err, WN_ERR_FORMAT, "%s: the %s data's identity is malformed", ckpt,
                         what);
        } else if (json_integer_value(ns) != d->rep[which][i].samples ||
                   (uint32_t)json_integer_value(cs) != d->crc[which][i]) {
            rc = wn__err(err, WN_ERR_ARG,
                         "%s: %s is not the audio the run trained on (then %s, %lld samples); "
                         "resume where the same files are", ckpt, d->files[which][i], path,
                         (long long)json_integer_value(ns));
        }
    }
    json_decref(a);
    return rc;
}
