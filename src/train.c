/* train.c - the training driver: clips in memory, random windows, loss and
 * gradient, global-norm clipping, the learning-rate schedule, the optimizer
 * step, validation with early stopping, and checkpoints that resume bit for
 * bit.
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
#include "model.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CKPT_VERSION "1"

/* ------------------------------------------------------------ parameters */

wn_train_params wn_train_default_params(void)
{
    wn_train_params p = {
        .batch = 8, .window = 2048, .steps = 0, .lr = 1e-3f, .warmup = 100,
        .decay = WN_DECAY_COSINE, .decay_final = 0.1f, .decay_every = 1000,
        .decay_gamma = 0.5f, .clip = 1.0f, .optim = wn_optim_default_params(),
        .seed = 1, .threads = 0, .trim_db = 40.0f, .gain_jitter_db = 0.0f,
        .valid_every = 500, .patience = 0, .best_path = NULL, .progress = NULL,
        .progress_user = NULL};
    return p;
}

/* The shortest decimal that reads back as the same float (6 to 9 digits):
 * checkpoints restore every setting exactly and still read well. */
static void fmt_float(char *buf, size_t size, float v)
{
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (strtof(buf, NULL) == v) return;
    }
}

static int parse_num(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < lo || v > hi) return -1;
    *out = v;
    return (int)(end - s);
}

int wn_decay_parse(const char *s, wn_train_params *p, wn_error *err)
{
    if (!s || !p) return wn__err(err, WN_ERR_ARG, "wn_decay_parse: NULL argument");
    const char *colon = strchr(s, ':');
    size_t kl = colon ? (size_t)(colon - s) : strlen(s);
    const char *rest = colon ? colon + 1 : NULL;
    double a, b;
    int n;
    if (kl == 4 && !strncmp(s, "none", 4) && !rest) {
        p->decay = WN_DECAY_NONE;
        return WN_OK;
    }
    if ((kl == 6 && !strncmp(s, "cosine", 6)) || (kl == 6 && !strncmp(s, "linear", 6))) {
        double final = 0.1;
        if (rest) {
            n = parse_num(rest, 0, 1, &final);
            if (n < 0 || rest[n])
                return wn__err(err, WN_ERR_ARG,
                               "--decay %s: the final fraction of the lr must be a number "
                               "from 0 to 1", s);
        }
        p->decay = s[0] == 'c' ? WN_DECAY_COSINE : WN_DECAY_LINEAR;
        p->decay_final = (float)final;
        return WN_OK;
    }
    if (kl == 4 && !strncmp(s, "step", 4) && rest) {
        n = parse_num(rest, 1, 1e15, &a);
        if (n > 0 && a == floor(a) && (!rest[n] || rest[n] == ':')) {
            b = 0.5;
            int ok = 1;
            if (rest[n] == ':') {
                const char *g = rest + n + 1;
                int m = parse_num(g, 0, 1, &b);
                ok = m > 0 && !g[m];
            }
            if (ok) {
                p->decay = WN_DECAY_STEP;
                p->decay_every = (int64_t)a;
                p->decay_gamma = (float)b;
                return WN_OK;
            }
        }
        return wn__err(err, WN_ERR_ARG,
                       "--decay %s: expected step:EVERY[:GAMMA] (EVERY a whole number of "
                       "steps >= 1, GAMMA from 0 to 1)", s);
    }
    return wn__err(err, WN_ERR_ARG,
                   "--decay '%s': expected none, cosine[:FINAL], linear[:FINAL] or "
                   "step:EVERY[:GAMMA]", s);
}

void wn_decay_format(const wn_train_params *p, char *buf, size_t size)
{
    char f[32];
    switch (p->decay) {
    case WN_DECAY_COSINE:
    case WN_DECAY_LINEAR:
        fmt_float(f, sizeof f, p->decay_final);
        snprintf(buf, size, "%s:%s", p->decay == WN_DECAY_COSINE ? "cosine" : "linear", f);
        break;
    case WN_DECAY_STEP:
        fmt_float(f, sizeof f, p->decay_gamma);
        snprintf(buf, size, "step:%lld:%s", (long long)p->decay_every, f);
        break;
    default:
        snprintf(buf, size, "none");
    }
}

float wn_train_lr(const wn_train_params *p, int64_t step)
{
    double lr = p->lr;
    if (step < 0) step = 0;
    if (p->warmup > 0 && step < p->warmup) return (float)(lr * (double)(step + 1) / p->warmup);
    int64_t w = p->warmup > 0 ? p->warmup : 0;
    double t = (double)(step - w);
    switch (p->decay) {
    case WN_DECAY_COSINE:
    case WN_DECAY_LINEAR: {
        if (p->steps <= w) return (float)lr; /* no horizon yet */
        double frac = t / (double)(p->steps - w);
        if (frac > 1) frac = 1;
        double f = p->decay == WN_DECAY_COSINE ? 0.5 * (1 + cos(M_PI * frac)) : 1 - frac;
        return (float)(lr * (p->decay_final + (1 - p->decay_final) * f));
    }
    case WN_DECAY_STEP:
        if (p->decay_every <= 0) return (float)lr;
        return (float)(lr * pow(p->decay_gamma, floor(t / (double)p->decay_every)));
    default:
        return (float)lr;
    }
}

static int check_params(const wn_train_params *p, int rf, wn_error *err)
{
    if (p->batch < 1 || p->batch > 65536)
        return wn__err(err, WN_ERR_ARG, "batch = %d must lie in 1..65536", p->batch);
    if (p->window < 1 || p->window > (1 << 24) || (int64_t)p->window + rf > INT32_MAX / 2)
        return wn__err(err, WN_ERR_ARG, "window = %d must lie in 1..%d", p->window, 1 << 24);
    if ((int64_t)p->batch * (p->window + rf) > ((int64_t)1 << 31))
        return wn__err(err, WN_ERR_ARG, "batch x window (%d x %d) is too large", p->batch,
                       p->window + rf);
    if (p->steps < 0) return wn__err(err, WN_ERR_ARG, "steps = %lld < 0", (long long)p->steps);
    if (!(p->lr >= 0) || !isfinite(p->lr))
        return wn__err(err, WN_ERR_ARG, "learning rate %g must be a finite number >= 0", p->lr);
    if (p->warmup < 0) return wn__err(err, WN_ERR_ARG, "warmup must be >= 0");
    if ((unsigned)p->decay > WN_DECAY_STEP)
        return wn__err(err, WN_ERR_ARG, "unknown decay %d", (int)p->decay);
    if (!(p->decay_final >= 0 && p->decay_final <= 1) || !(p->decay_gamma >= 0 && p->decay_gamma <= 1))
        return wn__err(err, WN_ERR_ARG, "decay fractions must lie in [0, 1]");
    if (p->decay == WN_DECAY_STEP && p->decay_every < 1)
        return wn__err(err, WN_ERR_ARG, "step decay needs a period >= 1");
    if (!(p->clip >= 0) || !isfinite(p->clip))
        return wn__err(err, WN_ERR_ARG, "clip = %g must be >= 0", p->clip);
    if (!(p->trim_db >= 0) || !isfinite(p->trim_db))
        return wn__err(err, WN_ERR_ARG, "trim threshold %g dB must be >= 0", p->trim_db);
    if (!(p->gain_jitter_db >= 0 && p->gain_jitter_db <= 60))
        return wn__err(err, WN_ERR_ARG, "gain jitter %g dB must lie in 0..60",
                       p->gain_jitter_db);
    if (p->valid_every < 0 || p->patience < 0 || p->threads < 0)
        return wn__err(err, WN_ERR_ARG, "valid_every, patience and threads must be >= 0");
    return WN_OK;
}

/* ------------------------------------------------------------ file lists */

static int push_path(char ***paths, int *n, const char *s, size_t len)
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
            rc = push_path(paths, n, buf, dirlen + len);
        } else {
            rc = push_path(paths, n, s, len);
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

/* A path as given: a folder becomes its audio files (sorted, not
 * recursive, hidden files skipped), anything else is kept for the reader
 * to judge (so a missing file gets the reader's one-line error). */
int wn_path_expand(const char *path, char ***paths, int *n, wn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return push_path(paths, n, path, strlen(path)) ? wn__err(err, WN_ERR_NOMEM, "out of memory") : WN_OK;
    DIR *d = opendir(path);
    if (!d) return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    int first = *n, rc = WN_OK;
    size_t pl = strlen(path);
    int sep = pl && path[pl - 1] != '/';
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !is_audio_name(de->d_name)) continue;
        size_t l = pl + (size_t)sep + strlen(de->d_name);
        char *full = malloc(l + 1);
        if (!full) { rc = WN_ERR_NOMEM; break; }
        snprintf(full, l + 1, "%s%s%s", path, sep ? "/" : "", de->d_name);
        struct stat fs;
        if (stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) rc = push_path(paths, n, full, l);
        free(full);
        if (rc) break;
    }
    closedir(d);
    if (rc) return wn__err(err, WN_ERR_NOMEM, "out of memory listing %s", path);
    if (*n > first) /* an empty folder may leave *paths NULL, which qsort must not get */
        qsort(*paths + first, (size_t)(*n - first), sizeof **paths, cmp_str);
    return WN_OK;
}

/* ------------------------------------------------------------ the trainer */

typedef struct tclip {
    int64_t off;   /* into data */
    int64_t n;
    int64_t cum;   /* window start positions in the clips before this one */
} tclip;

struct wn_trainer {
    wn_model *m;
    wn_train_params p;
    wn_optim *opt;
    wn_grad_ctx *gc;       /* forward/backward buffers for batch x len */
    int rf, len, bins, silence;
    size_t np;

    /* data */
    char **files[2];
    int nfiles[2];
    wn_clip_report *rep[2];
    int data_fd;           /* the clips' file: training floats back to back, then
                              each validation clip's codes (int32) */
    int64_t data_bytes;
    float *win;            /* one window's samples, read back */
    tclip *clips;
    int nclips;
    int64_t positions;     /* window start positions over all clips */
    int64_t *voff;         /* byte offset of each validation clip's codes */
    size_t *vn, vmax;      /* their lengths, the longest */
    int nvalid;
    int64_t samples[2];

    /* per-step buffers, allocated once */
    int *codes;            /* batch x len */
    float *grad;
    wn__st_tensor *st;     /* checkpoint tensor table: model, opt.m, opt.v */
    char *names;           /* opt.* tensor names */

    /* state: everything here is in the checkpoint */
    uint64_t rng;
    int64_t step;
    double best;
    int64_t best_step;
    int bad;               /* validations since the best */
    int64_t last_valid_step;
    double last_valid;
    double seconds;
};

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void wn_trainer_free(wn_trainer *t)
{
    if (!t) return;
    wn_optim_free(t->opt);
    wn_grad_ctx_free(t->gc);
    for (int w = 0; w < 2; w++) {
        wn_list_free(t->files[w], t->nfiles[w]);
        free(t->rep[w]);
    }
    if (t->data_fd >= 0) close(t->data_fd);
    free(t->win);
    free(t->clips);
    free(t->voff);
    free(t->vn);
    wn__free(t->codes);
    wn__free(t->grad);
    free(t->st);
    free(t->names);
    free(t);
}

/* Silence trimming on the float signal: the first and last samples at or
 * above peak - trim_db, widened by 20 ms so onsets and decays survive. */
static void trim_bounds(const float *x, int64_t n, float trim_db, int rate, int64_t *head,
                        int64_t *tail)
{
    *head = *tail = 0;
    if (trim_db <= 0 || n == 0) return;
    float peak = 0;
    for (int64_t i = 0; i < n; i++) {
        float a = fabsf(x[i]);
        if (a > peak) peak = a;
    }
    if (peak == 0) return; /* all silence: nothing to measure against */
    float thr = peak * powf(10.0f, -trim_db / 20.0f);
    int64_t first = 0, last = n - 1;
    while (first < n && fabsf(x[first]) < thr) first++;
    while (last > first && fabsf(x[last]) < thr) last--;
    int64_t margin = rate / 50;
    *head = first > margin ? first - margin : 0;
    *tail = n - 1 - last > margin ? n - 1 - last - margin : 0;
}

static int progress_stop(const wn_train_params *p, double done, double total)
{
    return p->progress && p->progress(p->progress_user, done, total);
}

/* The clips' file: created and unlinked at once (gone with the descriptor) */
static int data_open(wn_trainer *t, wn_error *err)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/wavenet-train.XXXXXX", dir);
    t->data_fd = mkstemp(tmp);
    if (t->data_fd < 0)
        return wn__err(err, WN_ERR_IO, "cannot make a temporary file for the training data "
                       "in %s: %s", dir, strerror(errno));
    unlink(tmp);
    return WN_OK;
}

/* n bytes at offset off of the clips' file, to it (put) or from it */
static int data_io(wn_trainer *t, int put, void *buf, size_t n, int64_t off, wn_error *err)
{
    char *b = buf;
    while (n) {
        ssize_t k = put ? pwrite(t->data_fd, b, n, (off_t)off) : pread(t->data_fd, b, n, (off_t)off);
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

static int load_train(wn_trainer *t, wn_error *err)
{
    int nf = t->nfiles[0];
    int rate = wn_model_config(t->m).sample_rate;
    int64_t need = t->p.window > t->rf + 1 ? t->p.window : t->rf + 1;
    int64_t used = 0;
    t->clips = calloc((size_t)nf, sizeof *t->clips);
    if (!t->clips) return wn__err(err, WN_ERR_NOMEM, "out of memory");
    int rc0 = data_open(t, err);
    if (rc0) return rc0;
    for (int i = 0; i < nf; i++) {
        if (progress_stop(&t->p, i, nf + t->nfiles[1]))
            return wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        const char *path = t->files[0][i];
        wn_clip_report *r = &t->rep[0][i];
        r->path = path;
        float *x = NULL;
        size_t n = 0;
        wn_audio_info info;
        int rc = wn_audio_read(path, rate, &x, &n, &info, err);
        if (rc) return rc;
        r->samples = (int64_t)n;
        r->file_rate = info.file_rate;
        r->resampled = info.resampled;
        int64_t head, tail;
        trim_bounds(x, (int64_t)n, t->p.trim_db, rate, &head, &tail);
        if ((int64_t)n - head - tail < need) {
            head = tail = 0;
            r->kept_whole = t->p.trim_db > 0 && (int64_t)n >= need;
        }
        r->head = head;
        r->tail = tail;
        int64_t keep = (int64_t)n - head - tail;
        if (keep < need) {
            r->unusable = 1;
            free(x);
            continue;
        }
        rc = data_io(t, 1, x + head, sizeof *x * (size_t)keep, (int64_t)sizeof *x * used, err);
        free(x);
        if (rc) return rc;
        tclip *c = &t->clips[t->nclips++];
        c->off = used;
        c->n = keep;
        c->cum = t->positions;
        /* starts s in [-RF, n - RF - T]: n - T + 1 of them */
        t->positions += keep - t->p.window + 1;
        used += keep;
    }
    t->samples[0] = used;
    t->data_bytes = (int64_t)sizeof(float) * used;
    if (nf == 0) return wn__err(err, WN_ERR_ARG, "no training files");
    if (t->nclips == 0) {
        const wn_clip_report *r = &t->rep[0][0];
        return wn__err(err, WN_ERR_AUDIO,
                       "no usable training clip: each needs at least %lld samples "
                       "(more than the receptive field %d and at least the window %d); "
                       "%s%s has %lld",
                       (long long)need, t->rf, t->p.window, r->path,
                       nf > 1 ? " (the first)" : "", (long long)r->samples);
    }
    return WN_OK;
}

static int load_valid(wn_trainer *t, wn_error *err)
{
    int nf = t->nfiles[1];
    wn_config c = wn_model_config(t->m);
    if (!nf) return WN_OK;
    t->voff = calloc((size_t)nf, sizeof *t->voff);
    t->vn = calloc((size_t)nf, sizeof *t->vn);
    if (!t->voff || !t->vn) return wn__err(err, WN_ERR_NOMEM, "out of memory");
    for (int i = 0; i < nf; i++) {
        if (progress_stop(&t->p, t->nfiles[0] + i, t->nfiles[0] + nf))
            return wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        wn_clip_report *r = &t->rep[1][i];
        r->path = t->files[1][i];
        wn_audio_info info;
        int *codes = NULL;
        int rc = wn_audio_read_codes(r->path, c.sample_rate, c.bins, &codes, &t->vn[i], &info,
                                     err);
        t->nvalid = i + 1;
        if (rc) return rc;
        t->voff[i] = t->data_bytes;
        rc = data_io(t, 1, codes, sizeof *codes * t->vn[i], t->data_bytes, err);
        free(codes);
        if (rc) return rc;
        t->data_bytes += (int64_t)(sizeof *codes * t->vn[i]);
        if (t->vn[i] > t->vmax) t->vmax = t->vn[i];
        r->samples = (int64_t)t->vn[i];
        r->file_rate = info.file_rate;
        r->resampled = info.resampled;
        t->samples[1] += (int64_t)t->vn[i];
    }
    return WN_OK;
}

wn_trainer *wn_trainer_create(wn_model *m, const wn_train_params *p,
                              const char *const *train, int ntrain,
                              const char *const *valid, int nvalid, wn_error *err)
{
    if (!m || !p || ntrain < 0 || nvalid < 0 || (ntrain && !train) || (nvalid && !valid)) {
        wn__err(err, WN_ERR_ARG, "wn_trainer_create: bad argument");
        return NULL;
    }
    if (check_params(p, wn_model_receptive_field(m), err)) return NULL;
    wn_trainer *t = calloc(1, sizeof *t);
    if (!t) {
        wn__err(err, WN_ERR_NOMEM, "out of memory");
        return NULL;
    }
    t->m = m;
    t->p = *p;
    t->data_fd = -1;
    wn_config c = wn_model_config(m);
    t->rf = wn_model_receptive_field(m);
    t->len = t->rf + p->window;
    t->bins = c.bins;
    t->silence = wn_mulaw_silence(c.bins);
    t->np = wn_model_param_count(m);
    t->rng = p->seed ^ 0xda7a5eedc0ffee00ULL; /* apart from the init seed's stream */
    t->best = INFINITY;
    t->best_step = -1;
    t->last_valid_step = -1;
    t->last_valid = NAN;

    for (int i = 0; i < ntrain; i++)
        if (wn_path_expand(train[i], &t->files[0], &t->nfiles[0], err)) goto fail;
    for (int i = 0; i < nvalid; i++)
        if (wn_path_expand(valid[i], &t->files[1], &t->nfiles[1], err)) goto fail;
    if (!t->nfiles[0]) {
        wn__err(err, WN_ERR_ARG, ntrain ? "no training files: %s holds no audio files"
                                        : "no training files%s", ntrain ? train[0] : "");
        goto fail;
    }
    for (int w = 0; w < 2; w++) {
        t->rep[w] = calloc((size_t)(t->nfiles[w] ? t->nfiles[w] : 1), sizeof *t->rep[w]);
        if (!t->rep[w]) goto nomem;
    }
    if (load_train(t, err) || load_valid(t, err)) goto fail;
    if (progress_stop(&t->p, t->nfiles[0] + t->nfiles[1], t->nfiles[0] + t->nfiles[1])) {
        wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        goto fail;
    }

    t->opt = wn_optim_create(m, &p->optim, err);
    if (!t->opt) goto fail;
    t->gc = wn_grad_ctx_create(m, p->batch, t->len, p->threads, err);
    if (!t->gc) goto fail;
    t->codes = wn__alloc((size_t)p->batch * (size_t)t->len, sizeof(int));
    t->win = malloc(sizeof(float) * (size_t)t->len);
    t->grad = wn__alloc(t->np, sizeof(float));
    int nt = wn_model_tensor_count(m);
    t->st = calloc((size_t)nt * 3, sizeof *t->st);
    t->names = calloc((size_t)nt * 2, 64);
    if (!t->codes || !t->win || !t->grad || !t->st || !t->names) goto nomem;
    for (int i = 0; i < nt; i++) {
        const char *nm = wn_model_tensor_name(m, i);
        snprintf(t->names + (size_t)(2 * i) * 64, 64, "opt.m.%s", nm);
        snprintf(t->names + (size_t)(2 * i + 1) * 64, 64, "opt.v.%s", nm);
    }
    return t;
nomem:
    wn__err(err, WN_ERR_NOMEM, "out of memory setting up training");
fail:
    wn_trainer_free(t);
    return NULL;
}

/* The windows of one step: for each, a start position over all clips
 * (uniform, so longer clips give more windows), then the gain. */
static int draw_windows(wn_trainer *t, wn_error *err)
{
    const int len = t->len, rf = t->rf, bins = t->bins;
    const float jit = t->p.gain_jitter_db;
    for (int b = 0; b < t->p.batch; b++) {
        int64_t pos = (int64_t)(wn__uniform(&t->rng) * (double)t->positions);
        if (pos >= t->positions) pos = t->positions - 1;
        int lo = 0, hi = t->nclips - 1;
        while (lo < hi) { /* last clip with cum <= pos */
            int mid = (lo + hi + 1) / 2;
            if (t->clips[mid].cum <= pos) lo = mid;
            else hi = mid - 1;
        }
        const tclip *c = &t->clips[lo];
        int64_t s = pos - c->cum - rf;
        float gain = 1.0f;
        if (jit > 0)
            gain = (float)pow(10.0, (2.0 * wn__uniform(&t->rng) - 1.0) * jit / 20.0);
        int *out = t->codes + (size_t)b * (size_t)len;
        int i = 0;
        for (; i < len && s + i < 0; i++) out[i] = t->silence;
        /* win[j] = the clip's sample s + j, for j from i on */
        const float *x = t->win;
        int rc = data_io(t, 0, t->win + i, sizeof(float) * (size_t)(len - i),
                         (int64_t)sizeof(float) * (c->off + s + i), err);
        if (rc) return rc;
        if (gain == 1.0f)
            for (; i < len; i++) out[i] = wn_mulaw_encode(x[i], bins);
        else
            for (; i < len; i++) out[i] = wn_mulaw_encode(x[i] * gain, bins);
    }
    return WN_OK;
}

static int valid_due(const wn_trainer *t)
{
    return t->nvalid > 0 && t->p.valid_every > 0 && t->step > 0 &&
           t->step % t->p.valid_every == 0 && t->last_valid_step != t->step;
}

typedef struct vprog {
    const wn_train_params *p;
    double base, clip, total;
} vprog;

static int valid_progress(void *u, double done, double total)
{
    vprog *v = u;
    double f = total > 0 ? done / total : 0;
    return v->p->progress(v->p->progress_user, v->base + f * v->clip, v->total);
}

int wn_trainer_validate(wn_trainer *t, wn_train_stats *st, wn_error *err)
{
    if (!t) return wn__err(err, WN_ERR_ARG, "wn_trainer_validate: no trainer");
    if (st) {
        st->validated = 0;
        st->valid_bits = NAN;
        st->improved = 0;
    }
    if (!t->nvalid) return WN_OK;
    double t0 = now_seconds();
    wn_score_params sp = wn_score_default_params();
    sp.threads = t->p.threads;
    vprog vp = {&t->p, 0, 0, (double)t->samples[1]};
    if (t->p.progress) {
        sp.progress = valid_progress;
        sp.progress_user = &vp;
    }
    double nats = 0;
    int *codes = malloc(sizeof *codes * (t->vmax ? t->vmax : 1)); /* one clip at a time */
    if (!codes) return wn__err(err, WN_ERR_NOMEM, "out of memory for a validation clip");
    for (int i = 0; i < t->nvalid; i++) {
        double nll;
        vp.clip = (double)t->vn[i];
        int rc = data_io(t, 0, codes, sizeof *codes * t->vn[i], t->voff[i], err);
        if (!rc) rc = wn_score_codes(t->m, codes, t->vn[i], &sp, &nll, NULL, err);
        if (rc) {
            free(codes);
            t->seconds += now_seconds() - t0;
            return rc;
        }
        nats += nll;
        vp.base += (double)t->vn[i];
    }
    free(codes);
    double bits = nats / (double)t->samples[1] / M_LN2;
    int improved = bits < t->best;
    double prev_lv = t->last_valid;
    int64_t prev_lvs = t->last_valid_step;
    t->last_valid_step = t->step;
    t->last_valid = bits;
    if (improved && t->p.best_path) {
        int rc = wn_trainer_save_model(t, t->p.best_path, err);
        if (rc) { /* as if this validation never ran */
            t->last_valid_step = prev_lvs;
            t->last_valid = prev_lv;
            t->seconds += now_seconds() - t0;
            return rc;
        }
    }
    if (improved) {
        t->best = bits;
        t->best_step = t->step;
        t->bad = 0;
    } else {
        t->bad++;
    }
    t->seconds += now_seconds() - t0;
    if (st) {
        st->validated = 1;
        st->valid_bits = bits;
        st->valid_step = t->step;
        st->improved = improved;
        st->stop = t->p.patience > 0 && t->bad >= t->p.patience;
    }
    return WN_OK;
}

int wn_trainer_step(wn_trainer *t, wn_train_stats *st, wn_error *err)
{
    wn_train_stats dummy;
    if (!st) st = &dummy;
    memset(st, 0, sizeof *st);
    st->valid_bits = NAN;
    st->loss_bits = NAN;
    if (!t) return wn__err(err, WN_ERR_ARG, "wn_trainer_step: no trainer");
    st->step = t->step;
    if (valid_due(t)) { /* a validation that an interrupt cut short */
        double v0 = now_seconds();
        int rc = wn_trainer_validate(t, st, err);
        st->valid_seconds = now_seconds() - v0;
        if (rc) return rc;
    }
    double t0 = now_seconds();
    int drc = draw_windows(t, err);
    if (drc) {
        t->seconds += now_seconds() - t0;
        return drc;
    }
    double loss = NAN;
    int rc = wn_grad_ctx_run(t->gc, t->codes, t->grad, &loss, err);
    long long k = (long long)t->step;
    if (rc && rc != WN_ERR_NONFINITE) {
        t->seconds += now_seconds() - t0;
        return rc;
    }
    if (rc || !isfinite(loss)) {
        t->seconds += now_seconds() - t0;
        return wn__err(err, WN_ERR_NONFINITE,
                       "step %lld: the training loss is %s; the weights stay those after step %lld",
                       k + 1, isnan(loss) ? "NaN" : "infinite", k);
    }
    /* global norm in double, in a fixed order: the same on every thread count */
    double ss = 0;
    for (size_t i = 0; i < t->np; i++) ss += (double)t->grad[i] * t->grad[i];
    double norm = sqrt(ss);
    if (!isfinite(norm)) {
        t->seconds += now_seconds() - t0;
        return wn__err(err, WN_ERR_NONFINITE,
                       "step %lld: the gradient is not finite; the weights stay those after step %lld",
                       k + 1, k);
    }
    if (t->p.clip > 0 && norm > t->p.clip) {
        float s = (float)(t->p.clip / norm);
        for (size_t i = 0; i < t->np; i++) t->grad[i] *= s;
    }
    float lr = wn_train_lr(&t->p, t->step);
    rc = wn_optim_step(t->opt, t->m, t->grad, lr, err);
    st->step_seconds = now_seconds() - t0;
    t->seconds += st->step_seconds;
    if (rc == WN_ERR_NONFINITE) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        return wn__err(err, rc, "step %lld: the update made the weights non-finite (%s); "
                       "the weights stay those after step %lld", k + 1, msg, k);
    }
    if (rc) return rc;
    t->step++;
    st->step = t->step;
    st->loss_bits = loss / M_LN2;
    st->grad_norm = norm;
    st->lr = lr;
    st->samples = (int64_t)t->p.batch * t->p.window;
    st->stop = t->p.patience > 0 && t->bad >= t->p.patience;
    if (valid_due(t)) {
        double v0 = now_seconds();
        rc = wn_trainer_validate(t, st, err);
        st->valid_seconds += now_seconds() - v0;
        if (rc) return rc;
    }
    return WN_OK;
}

int64_t wn_trainer_steps_done(const wn_trainer *t) { return t ? t->step : 0; }
void wn_trainer_set_steps(wn_trainer *t, int64_t steps)
{
    if (t) t->p.steps = steps < 0 ? 0 : steps;
}
wn_train_params wn_trainer_params(const wn_trainer *t) { return t->p; }
double wn_trainer_seconds(const wn_trainer *t) { return t ? t->seconds : 0; }
double wn_trainer_best(const wn_trainer *t, int64_t *step)
{
    if (step) *step = t->best_step;
    return t->best;
}
int64_t wn_trainer_last_validation(const wn_trainer *t) { return t->last_valid_step; }
int wn_trainer_clip_count(const wn_trainer *t, int which)
{
    return t && (which == 0 || which == 1) ? t->nfiles[which] : 0;
}
const wn_clip_report *wn_trainer_clip(const wn_trainer *t, int which, int i)
{
    if (!t || (which != 0 && which != 1) || i < 0 || i >= t->nfiles[which]) return NULL;
    return &t->rep[which][i];
}
int64_t wn_trainer_data_samples(const wn_trainer *t, int which)
{
    return t && (which == 0 || which == 1) ? t->samples[which] : 0;
}

size_t wn_trainer_memory(const wn_trainer *t)
{
    /* the forward/backward buffers (per thread) and per-window gradients */
    double act = (double)wn_grad_memory(t->m, t->p.batch, t->len, t->p.threads);
    double slabs = 4.0 * t->np * (3 + (wn_optim_state(t->opt, 0) != NULL) +
                                  (wn_optim_state(t->opt, 1) != NULL));
    /* the clips wait in a file: one window and one validation clip are read back */
    double data = 4.0 * t->p.batch * (double)t->len + 4.0 * (double)t->len + 4.0 * (double)t->vmax;
    return (size_t)(act + slabs + data);
}

/* ------------------------------------------------------------ checkpoints */

static json_t *files_json(char **files, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) json_array_append_new(a, json_string(files[i]));
    return a;
}

int wn_trainer_save(const wn_trainer *t, const char *path, wn_error *err)
{
    if (!t || !path) return wn__err(err, WN_ERR_ARG, "wn_trainer_save: bad argument");
    int nt = wn_model_tensor_count(t->m);
    int n = wn__model_tensors(t->m, wn_model_params(t->m), t->st);
    wn_optim *o = t->opt;
    for (int s = 0; s < 2; s++) {
        float *slab = wn_optim_state(o, s);
        if (!slab) continue;
        wn__model_tensors(t->m, slab, t->st + n);
        for (int i = 0; i < nt; i++) t->st[n + i].name = t->names + (size_t)(2 * i + s) * 64;
        n += nt;
    }
    char mbuf[8][24];
    const char *kv[18 + 2 * 40];
    int nm = wn__model_meta(t->m, mbuf, kv);
    char v[32][80];
    int nv = 0;
    char decay[64];
    wn_decay_format(&t->p, decay, sizeof decay);
    const wn_train_params *p = &t->p;
#define PUT(key, ...)                                                              \
    do {                                                                           \
        snprintf(v[nv], sizeof v[nv], __VA_ARGS__);                                \
        kv[2 * nm] = key;                                                          \
        kv[2 * nm + 1] = v[nv++];                                                  \
        nm++;                                                                      \
    } while (0)
    PUT("train_checkpoint", "%s", CKPT_VERSION);
    PUT("steps", "%lld", (long long)t->step);
    PUT("optim_steps", "%lld", (long long)wn_optim_steps(o));
    PUT("data_rng", "%llu", (unsigned long long)t->rng);
    PUT("best_valid_bits", "%.17g", t->best);
    PUT("best_step", "%lld", (long long)t->best_step);
    PUT("bad_validations", "%d", t->bad);
    PUT("last_valid_step", "%lld", (long long)t->last_valid_step);
    PUT("last_valid_bits", "%.17g", t->last_valid);
    PUT("train_seconds", "%.17g", t->seconds);
    PUT("optimizer", "%s", wn_optimizer_name(p->optim.kind));
#define PUTF(key, x)                                                               \
    do {                                                                           \
        fmt_float(v[nv], sizeof v[nv], x);                                         \
        kv[2 * nm] = key;                                                          \
        kv[2 * nm + 1] = v[nv++];                                                  \
        nm++;                                                                      \
    } while (0)
    PUTF("beta1", p->optim.beta1);
    PUTF("beta2", p->optim.beta2);
    PUTF("eps", p->optim.eps);
    PUTF("momentum", p->optim.momentum);
    PUTF("rho", p->optim.rho);
    PUTF("weight_decay", p->optim.weight_decay);
    PUT("batch", "%d", p->batch);
    PUT("window", "%d", p->window);
    PUT("total_steps", "%lld", (long long)p->steps);
    PUTF("lr", p->lr);
    PUT("warmup", "%lld", (long long)p->warmup);
    PUT("decay", "%s", decay);
    PUTF("clip", p->clip);
    PUT("seed", "%llu", (unsigned long long)p->seed);
    PUT("threads", "%d", p->threads);
    PUTF("trim_db", p->trim_db);
    PUTF("gain_jitter_db", p->gain_jitter_db);
    PUT("valid_every", "%lld", (long long)p->valid_every);
    PUT("patience", "%d", p->patience);
#undef PUT
#undef PUTF
    json_t *tf = files_json(t->files[0], t->nfiles[0]);
    json_t *vf = files_json(t->files[1], t->nfiles[1]);
    char *tfs = tf ? json_dumps(tf, JSON_COMPACT) : NULL;
    char *vfs = vf ? json_dumps(vf, JSON_COMPACT) : NULL;
    json_decref(tf);
    json_decref(vf);
    int rc;
    if (!tfs || !vfs) {
        rc = wn__err(err, WN_ERR_NOMEM, "out of memory writing %s", path);
    } else {
        kv[2 * nm] = "train_files";
        kv[2 * nm + 1] = tfs;
        kv[2 * nm + 2] = "valid_files";
        kv[2 * nm + 3] = vfs;
        nm += 2;
        rc = wn__st_write(path, t->st, n, kv, nm, err);
    }
    free(tfs);
    free(vfs);
    return rc;
}

int wn_trainer_save_model(const wn_trainer *t, const char *path, wn_error *err)
{
    if (!t || !path) return wn__err(err, WN_ERR_ARG, "wn_trainer_save_model: bad argument");
    int n = wn__model_tensors(t->m, wn_model_params(t->m), t->st);
    char mbuf[8][24], v[3][32];
    const char *kv[18 + 6];
    int nm = wn__model_meta(t->m, mbuf, kv);
    snprintf(v[0], sizeof v[0], "%lld", (long long)t->step);
    snprintf(v[1], sizeof v[1], "%.1f", t->seconds);
    kv[2 * nm] = "steps";
    kv[2 * nm + 1] = v[0];
    kv[2 * nm + 2] = "train_seconds";
    kv[2 * nm + 3] = v[1];
    nm += 2;
    if (t->last_valid_step == t->step && isfinite(t->last_valid)) {
        snprintf(v[2], sizeof v[2], "%.6f", t->last_valid);
        kv[2 * nm] = "valid_bits";
        kv[2 * nm + 1] = v[2];
        nm++;
    }
    return wn__st_write(path, t->st, n, kv, nm, err);
}

/* metadata readers: a missing or malformed key is a one-line error */
static int meta_str(const wn__st_file *f, const char *path, const char *key, const char **out,
                    wn_error *err)
{
    *out = wn__st_meta(f, key);
    if (!*out)
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint metadata lacks '%s'", path, key);
    return WN_OK;
}

static int meta_i64(const wn__st_file *f, const char *path, const char *key, int64_t lo,
                    int64_t *out, wn_error *err)
{
    const char *s;
    int rc = meta_str(f, path, key, &s, err);
    if (rc) return rc;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo)
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint '%s' = '%s' is not valid", path,
                       key, s);
    *out = v;
    return WN_OK;
}

static int meta_int(const wn__st_file *f, const char *path, const char *key, int lo,
                    int *out, wn_error *err)
{
    int64_t v = 0;
    int rc = meta_i64(f, path, key, lo, &v, err);
    if (rc) return rc;
    if (v > INT32_MAX)
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint '%s' is too large", path, key);
    *out = (int)v;
    return WN_OK;
}

static int meta_u64(const wn__st_file *f, const char *path, const char *key, uint64_t *out,
                    wn_error *err)
{
    const char *s;
    int rc = meta_str(f, path, key, &s, err);
    if (rc) return rc;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint '%s' = '%s' is not valid", path,
                       key, s);
    *out = v;
    return WN_OK;
}

static int meta_dbl(const wn__st_file *f, const char *path, const char *key, double *out,
                    wn_error *err)
{
    const char *s;
    int rc = meta_str(f, path, key, &s, err);
    if (rc) return rc;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end)
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint '%s' = '%s' is not a number", path,
                       key, s);
    *out = v;
    return WN_OK;
}

static int meta_flt(const wn__st_file *f, const char *path, const char *key, float *out,
                    wn_error *err)
{
    const char *s;
    int rc = meta_str(f, path, key, &s, err);
    if (rc) return rc;
    char *end;
    float v = strtof(s, &end);
    if (end == s || *end || !isfinite(v))
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint '%s' = '%s' is not a number", path,
                       key, s);
    *out = v;
    return WN_OK;
}

static wn__st_file *open_ckpt(const char *path, wn_error *err)
{
    wn__st_file *f = wn__st_open(path, err);
    if (!f) return NULL;
    if (!wn__st_meta(f, "train_checkpoint")) {
        wn__err(err, WN_ERR_FORMAT,
                "%s: not a training checkpoint (no training state); to start from its "
                "weights use -m", path);
        wn__st_close(f);
        return NULL;
    }
    if (strcmp(wn__st_meta(f, "train_checkpoint"), CKPT_VERSION)) {
        wn__err(err, WN_ERR_FORMAT, "%s: checkpoint version %s (this build reads %s)", path,
                wn__st_meta(f, "train_checkpoint"), CKPT_VERSION);
        wn__st_close(f);
        return NULL;
    }
    return f;
}

static int read_params(const wn__st_file *f, const char *path, wn_train_params *p,
                       wn_error *err)
{
    wn_train_params q = wn_train_default_params();
    const char *s;
    int rc;
    if ((rc = meta_str(f, path, "optimizer", &s, err))) return rc;
    int k = wn_optimizer_parse(s);
    if (k < 0) return wn__err(err, WN_ERR_FORMAT, "%s: unknown optimizer '%s'", path, s);
    q.optim.kind = (wn_optimizer)k;
    if ((rc = meta_flt(f, path, "beta1", &q.optim.beta1, err)) ||
        (rc = meta_flt(f, path, "beta2", &q.optim.beta2, err)) ||
        (rc = meta_flt(f, path, "eps", &q.optim.eps, err)) ||
        (rc = meta_flt(f, path, "momentum", &q.optim.momentum, err)) ||
        (rc = meta_flt(f, path, "rho", &q.optim.rho, err)) ||
        (rc = meta_flt(f, path, "weight_decay", &q.optim.weight_decay, err)) ||
        (rc = meta_int(f, path, "batch", 1, &q.batch, err)) ||
        (rc = meta_int(f, path, "window", 1, &q.window, err)) ||
        (rc = meta_i64(f, path, "total_steps", 0, &q.steps, err)) ||
        (rc = meta_flt(f, path, "lr", &q.lr, err)) ||
        (rc = meta_i64(f, path, "warmup", 0, &q.warmup, err)) ||
        (rc = meta_flt(f, path, "clip", &q.clip, err)) ||
        (rc = meta_u64(f, path, "seed", &q.seed, err)) ||
        (rc = meta_int(f, path, "threads", 0, &q.threads, err)) ||
        (rc = meta_flt(f, path, "trim_db", &q.trim_db, err)) ||
        (rc = meta_flt(f, path, "gain_jitter_db", &q.gain_jitter_db, err)) ||
        (rc = meta_i64(f, path, "valid_every", 0, &q.valid_every, err)) ||
        (rc = meta_int(f, path, "patience", 0, &q.patience, err)) ||
        (rc = meta_str(f, path, "decay", &s, err)))
        return rc;
    if (wn_decay_parse(s, &q, NULL))
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint 'decay' = '%s' is not valid", path, s);
    *p = q;
    return WN_OK;
}

static int read_files(const wn__st_file *f, const char *path, const char *key, char ***out,
                      int *n, wn_error *err)
{
    *out = NULL;
    *n = 0;
    const char *s;
    int rc = meta_str(f, path, key, &s, err);
    if (rc) return rc;
    json_t *a = json_loads(s, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint '%s' is not a list", path, key);
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *v = json_string_value(json_array_get(a, i));
        if (!v || push_path(out, n, v, strlen(v))) {
            json_decref(a);
            wn_list_free(*out, *n);
            *out = NULL;
            *n = 0;
            return wn__err(err, v ? WN_ERR_NOMEM : WN_ERR_FORMAT,
                           "%s: checkpoint '%s' is not a list of paths", path, key);
        }
    }
    json_decref(a);
    return WN_OK;
}

int wn_checkpoint_read(const char *path, wn_train_params *p, int64_t *step, char ***train,
                       int *ntrain, char ***valid, int *nvalid, wn_error *err)
{
    wn__st_file *f = open_ckpt(path, err);
    if (!f) return err ? err->code : WN_ERR_FORMAT;
    int rc = WN_OK;
    int64_t s;
    if (p && (rc = read_params(f, path, p, err))) goto out;
    if (step) {
        if ((rc = meta_i64(f, path, "steps", 0, &s, err))) goto out;
        *step = s;
    }
    if (train && ntrain && (rc = read_files(f, path, "train_files", train, ntrain, err)))
        goto out;
    if (valid && nvalid && (rc = read_files(f, path, "valid_files", valid, nvalid, err))) {
        if (train && ntrain) {
            wn_list_free(*train, *ntrain);
            *train = NULL;
            *ntrain = 0;
        }
        goto out;
    }
out:
    wn__st_close(f);
    return rc;
}

int wn_trainer_resume(wn_trainer *t, const char *path, wn_error *err)
{
    if (!t || !path) return wn__err(err, WN_ERR_ARG, "wn_trainer_resume: bad argument");
    wn__st_file *f = open_ckpt(path, err);
    if (!f) return err ? err->code : WN_ERR_FORMAT;
    wn_model *cm = NULL;
    float *slabs[2] = {NULL, NULL};
    int rc;
    wn_train_params cp;
    if ((rc = read_params(f, path, &cp, err))) goto out;
    if (cp.optim.kind != t->p.optim.kind) {
        rc = wn__err(err, WN_ERR_ARG,
                     "%s: the checkpoint's optimizer is %s, not %s: its moments cannot "
                     "continue", path, wn_optimizer_name(cp.optim.kind),
                     wn_optimizer_name(t->p.optim.kind));
        goto out;
    }
    cm = wn_model_load(path, err);
    if (!cm) {
        rc = err ? err->code : WN_ERR_FORMAT;
        goto out;
    }
    wn_config a = wn_model_config(cm), b = wn_model_config(t->m);
    if (memcmp(&a, &b, sizeof a)) {
        rc = wn__err(err, WN_ERR_CONFIG,
                     "%s: the checkpoint's model (%d bins, %d layers, stack %d, R=%d D=%d "
                     "S=%d) is not the model being trained", path, a.bins, a.layers, a.stack,
                     a.residual, a.dilation, a.skip);
        goto out;
    }
    /* everything is read and checked before anything in t changes */
    int nt = wn_model_tensor_count(t->m);
    for (int s = 0; s < 2; s++) {
        float *dst = wn_optim_state(t->opt, s);
        if (!dst) continue;
        slabs[s] = malloc(sizeof(float) * (t->np ? t->np : 1));
        if (!slabs[s]) {
            rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (int i = 0; i < nt; i++) {
            const char *name = t->names + (size_t)(2 * i + s) * 64;
            int ndim;
            size_t off, cnt = wn_model_tensor_info(t->m, wn_model_tensor_name(t->m, i),
                                                   &ndim, NULL, &off);
            const char *dtype;
            const void *data;
            size_t bytes;
            if (!wn__st_find(f, name, &dtype, NULL, NULL, &data, &bytes)) {
                rc = wn__err(err, WN_ERR_FORMAT, "%s: optimizer tensor '%s' is missing", path,
                             name);
                goto out;
            }
            if (strcmp(dtype, "F32") || bytes != cnt * sizeof(float)) {
                rc = wn__err(err, WN_ERR_FORMAT, "%s: optimizer tensor '%s' is not %zu F32 values",
                             path, name, cnt);
                goto out;
            }
            memcpy(slabs[s] + off, data, bytes);
            for (size_t j = 0; j < cnt; j++)
                if (!isfinite(slabs[s][off + j])) {
                    rc = wn__err(err, WN_ERR_NONFINITE, "%s: optimizer tensor '%s' element %zu is not finite",
                                 path, name, j);
                    goto out;
                }
        }
    }
    int64_t step = 0, osteps = 0, best_step = -1, lvs = -1;
    uint64_t rng = 0;
    double best = INFINITY, lv = NAN, secs = 0;
    int bad = 0;
    if ((rc = meta_i64(f, path, "steps", 0, &step, err)) ||
        (rc = meta_i64(f, path, "optim_steps", 0, &osteps, err)) ||
        (rc = meta_u64(f, path, "data_rng", &rng, err)) ||
        (rc = meta_dbl(f, path, "best_valid_bits", &best, err)) ||
        (rc = meta_i64(f, path, "best_step", -1, &best_step, err)) ||
        (rc = meta_int(f, path, "bad_validations", 0, &bad, err)) ||
        (rc = meta_i64(f, path, "last_valid_step", -1, &lvs, err)) ||
        (rc = meta_dbl(f, path, "last_valid_bits", &lv, err)) ||
        (rc = meta_dbl(f, path, "train_seconds", &secs, err)))
        goto out;
    if ((rc = wn_model_set_tensor(t->m, NULL, wn_model_params(cm), t->np, err))) goto out;
    for (int s = 0; s < 2; s++)
        if (slabs[s]) memcpy(wn_optim_state(t->opt, s), slabs[s], sizeof(float) * t->np);
    wn_optim_set_steps(t->opt, osteps);
    t->step = step;
    t->rng = rng;
    t->best = best;
    t->best_step = best_step;
    t->bad = bad;
    t->last_valid_step = lvs;
    t->last_valid = lv;
    t->seconds = secs;
out:
    free(slabs[0]);
    free(slabs[1]);
    wn_model_free(cm);
    wn__st_close(f);
    return rc;
}
