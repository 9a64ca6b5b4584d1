/* train.c - the training driver: the parameters and the learning-rate
 * schedule, and the step: windows (data_window.c), loss and gradient (grad.c),
 * global-norm clipping, the optimizer (optim.c), validation with early
 * stopping. Checkpoints are checkpoint.c's.
 *
 * The trainer holds four parameter-sized slabs, all in the compute layout:
 * the model's weights, the gradient, and the optimizer's moments (llm.c's
 * params, grads, m, v); the gradient context adds a workspace per thread. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"
#include "dist.h"
#include "net.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------ parameters */

wn_train_params wn_train_default_params(void)
{
    wn_train_params p = {
        .batch = 8, .window = 2048, .steps = 0, .lr = 1e-3f, .warmup = 100,
        .decay = WN_DECAY_COSINE, .decay_final = 0.1f, .decay_every = 1000,
        .decay_gamma = 0.5f, .clip = 1.0f, .optim = wn_optim_default_params(),
        .seed = 1, .threads = 0, .trim_db = 40.0f, .gain_jitter_db = 0.0f, .gain_may_clip = 0,
        .max_clipped = 0.01f,
        .rescale_above = WN_RESCALE_ABOVE,
        .valid_every = 500, .patience = 0, .best_path = NULL, .progress = NULL,
        .progress_user = NULL};
    return p;
}

/* The shortest decimal that reads back as the same float (6 to 9 digits):
 * checkpoints restore every setting exactly and still read well. */
void wn__fmt_float(char *buf, size_t size, float v)
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
                               "decay %s: the final fraction of the lr must be a number "
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
                       "decay %s: expected step:EVERY[:GAMMA] (EVERY a whole number of "
                       "steps >= 1, GAMMA from 0 to 1)", s);
    }
    return wn__err(err, WN_ERR_ARG,
                   "decay '%s': expected none, cosine[:FINAL], linear[:FINAL] or "
                   "step:EVERY[:GAMMA]", s);
}

void wn_decay_format(const wn_train_params *p, char *buf, size_t size)
{
    char f[32];
    switch (p->decay) {
    case WN_DECAY_COSINE:
    case WN_DECAY_LINEAR:
        wn__fmt_float(f, sizeof f, p->decay_final);
        snprintf(buf, size, "%s:%s", p->decay == WN_DECAY_COSINE ? "cosine" : "linear", f);
        break;
    case WN_DECAY_STEP:
        wn__fmt_float(f, sizeof f, p->decay_gamma);
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
    if ((unsigned)p->trim_ends > WN_TRIM_END)
        return wn__err(err, WN_ERR_ARG, "unknown trim_ends %d", (int)p->trim_ends);
    if (!(p->gain_jitter_db >= 0 && p->gain_jitter_db <= 60))
        return wn__err(err, WN_ERR_ARG, "gain jitter %g dB must lie in 0..60",
                       p->gain_jitter_db);
    if (!(p->max_clipped >= 0 && p->max_clipped <= 1))
        return wn__err(err, WN_ERR_ARG, "max_clipped %g must lie in 0..1 (a fraction)",
                       p->max_clipped);
    if (!(p->rescale_above == 0 || (p->rescale_above >= 1 && p->rescale_above <= 1e6)))
        return wn__err(err, WN_ERR_ARG, "rescale_above %g must be 0 (never) or lie in 1..1e6 "
                       "(times full scale)", p->rescale_above);
    for (int i = 0; i < WN_MAX_SPEEDS && p->speeds[i] != 0; i++) {
        if (!(p->speeds[i] >= 0.5f && p->speeds[i] <= 2.0f) || p->speeds[i] == 1.0f)
            return wn__err(err, WN_ERR_ARG, "speed %g must lie in 0.5..2 and not be 1 (the "
                           "clips themselves)", p->speeds[i]);
        for (int j = 0; j < i; j++)
            if (p->speeds[j] == p->speeds[i])
                return wn__err(err, WN_ERR_ARG, "speed %g is given twice", p->speeds[i]);
    }
    for (int i = 0; p->meta && p->meta[2 * i]; i++)
        if (strncmp(p->meta[2 * i], "user.", 5))
            return wn__err(err, WN_ERR_ARG, "checkpoint metadata key '%s' must start with "
                           "'user.'", p->meta[2 * i]);
    if (p->valid_every < 0 || p->patience < 0 || p->threads < 0)
        return wn__err(err, WN_ERR_ARG, "valid_every, patience and threads must be >= 0");
    return WN_OK;
}

static int progress_stop(const wn_train_params *p, double done, double total)
{
    return p->progress && p->progress(p->progress_user, done, total);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ speakers */

/* The speaker a folder path gives a file found in it: the name of the
 * sub-folder of the first level that holds it (NULL: the file is in the
 * folder itself). */
static char *folder_speaker(const char *dir, const char *file)
{
    size_t dl = strlen(dir);
    if (strncmp(file, dir, dl)) return NULL;
    const char *rel = file + dl;
    while (*rel == '/') rel++;
    const char *slash = strchr(rel, '/');
    return slash && slash > rel ? strndup(rel, (size_t)(slash - rel)) : NULL;
}

/* One side's paths expanded (wn_path_expand), each file with its speaker:
 * its path's, or with from_folder its sub-folder's. */
static int expand_side(const char *const *paths, int n, const char *const *spk, int from_folder,
                       wn__files *f, wn_error *err)
{
    for (int i = 0; i < n; i++) {
        struct stat st;
        const int dir = from_folder && stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode);
        const char *given = spk && spk[i] && spk[i][0] ? spk[i] : NULL;
        const int first = f->n;
        int rc = wn_path_expand(paths[i], &f->path, &f->n, err);
        char **ns = rc || !f->n ? f->spk : realloc(f->spk, sizeof *ns * (size_t)f->n);
        if (rc || (f->n && !ns)) { /* spk holds `first` entries: so must path */
            for (int j = first; j < f->n; j++) free(f->path[j]);
            f->n = first;
            return rc ? rc : wn__err(err, WN_ERR_NOMEM, "out of memory");
        }
        f->spk = ns;
        for (int j = first; j < f->n; j++) {
            ns[j] = given ? strdup(given) : dir ? folder_speaker(paths[i], f->path[j]) : NULL;
            if (given && !ns[j]) {
                for (int k = j + 1; k < f->n; k++) ns[k] = NULL;
                return wn__err(err, WN_ERR_NOMEM, "out of memory");
            }
        }
    }
    return WN_OK;
}

static int name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63) return 0;
    for (; *s; s++)
        if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
            *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int find_name(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

/* Each clip's row of the model's speaker table, into f[w].row. A model
 * whose names are the defaults ("0", "1", ...) takes the training
 * speakers' names, sorted, for rows 0.. (the rest keep their numbers) and
 * *names receives the model's new names (N strings, malloc'ed, set once
 * the data is read); a model with names of its own must know every
 * speaker. Validation clips use the same rows. */
static int map_speakers(const wn_model *m, wn__files f[2], char ***names, int *distinct,
                        wn_error *err)
{
    const int N = wn_model_config(m).speakers;
    *names = NULL;
    *distinct = 0;
    if (!N) return WN_OK;
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < f[w].n; i++)
            if (!f[w].spk || !f[w].spk[i])
                return wn__err(err, WN_ERR_ARG,
                               "%s has no speaker, and the model has %d: every %s clip needs "
                               "one (a list line 'path<TAB>speaker', or speakers from "
                               "sub-folders)", f[w].path[i], N, w ? "validation" : "training");
    int defaults = 1;
    for (int r = 0; r < N && defaults; r++) {
        char num[16];
        snprintf(num, sizeof num, "%d", r);
        defaults = !strcmp(wn_model_speaker_name(m, r), num);
    }
    /* the training speakers, sorted, each once */
    const int nt = f[0].n;
    const char **u = malloc(sizeof *u * (size_t)(nt ? nt : 1));
    const char **mine = malloc(sizeof *mine * (size_t)N);
    for (int w = 0; w < 2; w++) f[w].row = malloc(sizeof(int) * (size_t)(f[w].n ? f[w].n : 1));
    if (!u || !mine || !f[0].row || !f[1].row) {
        free(u);
        free(mine);
        return wn__err(err, WN_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < nt; i++) u[i] = f[0].spk[i];
    qsort(u, (size_t)nt, sizeof *u, cmp_name);
    int k = 0;
    for (int i = 0; i < nt; i++)
        if (!k || strcmp(u[i], u[k - 1])) u[k++] = u[i];
    *distinct = k;
    for (int r = 0; r < N; r++) mine[r] = wn_model_speaker_name(m, r);
    int rc = WN_OK;
    if (defaults) {
        if (k > N)
            rc = wn__err(err, WN_ERR_ARG, "the training clips name %d speakers, more than the "
                         "model's %d speaker rows", k, N);
        for (int i = 0; rc == WN_OK && i < k; i++)
            if (!name_ok(u[i]))
                rc = wn__err(err, WN_ERR_ARG, "speaker '%s': a speaker's name is 1 to 63 "
                             "letters, digits, '_', '-' or '.'", u[i]);
        for (int w = 0; rc == WN_OK && w < 2; w++)
            for (int i = 0; rc == WN_OK && i < f[w].n; i++)
                if ((f[w].row[i] = find_name(u, k, f[w].spk[i])) < 0)
                    rc = wn__err(err, WN_ERR_ARG, "%s: its speaker '%s' is not among the "
                                 "training clips' speakers", f[w].path[i], f[w].spk[i]);
        /* the new names: the speakers', then the spare rows' numbers (with
         * '_' before one that a speaker has taken) */
        char **nn = rc == WN_OK ? calloc((size_t)N, sizeof *nn) : NULL;
        if (rc == WN_OK && !nn) rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
        for (int r = 0; rc == WN_OK && r < N; r++) {
            char buf[80];
            if (r < k) snprintf(buf, sizeof buf, "%s", u[r]);
            else snprintf(buf, sizeof buf, "%d", r);
            while (r >= k && find_name(u, k, buf) >= 0 && strlen(buf) < 60) {
                memmove(buf + 1, buf, strlen(buf) + 1);
                buf[0] = '_';
            }
            if (!(nn[r] = strdup(buf))) rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
        }
        if (rc == WN_OK) *names = nn;
        else wn_list_free(nn, nn ? N : 0);
    } else {
        for (int w = 0; rc == WN_OK && w < 2; w++)
            for (int i = 0; rc == WN_OK && i < f[w].n; i++)
                if ((f[w].row[i] = find_name(mine, N, f[w].spk[i])) < 0) {
                    char list[200];
                    size_t l = 0;
                    for (int r = 0; r < N && l < sizeof list; r++)
                        l += (size_t)snprintf(list + l, sizeof list - l, "%s%s", r ? ", " : "",
                                              mine[r]);
                    if (l >= sizeof list) memcpy(list + sizeof list - 5, "...", 4);
                    rc = wn__err(err, WN_ERR_ARG, "%s: speaker '%s' is not one of the model's "
                                 "%d speakers (%s)", f[w].path[i], f[w].spk[i], N, list);
                }
    }
    free(u);
    free(mine);
    return rc;
}

/* After the data is read: the speakers' names (a model that had the
 * defaults) and the features' normalisation (a model that had none). */
static int set_cond(wn_trainer *t, char **names, int distinct, wn_error *err)
{
    const wn_config c = wn_model_config(t->m);
    wn_train_cond *tc = &t->cond;
    tc->bands = c.cond;
    tc->hop = c.hop;
    tc->frames[0] = wn__data_frames(t->data, 0);
    tc->frames[1] = wn__data_frames(t->data, 1);
    tc->speakers = distinct;
    if (names) {
        int rc = wn_model_set_speaker_names(t->m, (const char *const *)names, c.speakers, err);
        if (rc) return rc;
        tc->named = 1;
    }
    if (c.cond && wn_model_feature_norm(t->m, NULL, NULL) == 0) {
        double *st = malloc(sizeof *st * 2 * (size_t)c.cond);
        float *fl = malloc(sizeof *fl * 2 * (size_t)c.cond);
        int rc = st && fl ? WN_OK : wn__err(err, WN_ERR_NOMEM, "out of memory");
        if (rc == WN_OK) {
            wn__data_feature_stats(t->data, st, st + c.cond);
            for (int i = 0; i < 2 * c.cond; i++) fl[i] = (float)st[i];
            rc = wn_model_set_feature_norm(t->m, fl, fl + c.cond, err);
        }
        free(st);
        free(fl);
        if (rc) return rc;
        tc->norm_set = 1;
    }
    return WN_OK;
}

wn_train_cond wn_trainer_cond(const wn_trainer *t)
{
    wn_train_cond z = {0};
    return t ? t->cond : z;
}

void wn_trainer_free(wn_trainer *t)
{
    if (!t) return;
    wn_optim_free(t->opt);
    wn_grad_ctx_free(t->gc);
    wn__data_free(t->data);
    free(t->wc);
    wn__free(t->feats);
    wn__free(t->codes);
    wn__free(t->grad);
    free(t->loss_all);
    free(t);
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
    t->len = wn_model_receptive_field(m) + p->window;
    t->rank = wn__dist_rank();
    t->ranks = wn__dist_size();
    if (p->batch % t->ranks) {
        wn__err(err, WN_ERR_ARG, "the batch of %d windows does not split among %d ranks: give "
                "a batch that is a multiple of %d", p->batch, t->ranks, t->ranks);
        free(t);
        return NULL;
    }
    t->b0 = p->batch / t->ranks * t->rank;
    t->b1 = t->b0 + p->batch / t->ranks;
    t->np = wn_model_param_count(m);
    t->rng = p->seed ^ 0xda7a5eedc0ffee00ULL; /* apart from the init seed's stream */
    t->best = INFINITY;
    t->best_step = -1;
    t->last_valid_step = -1;
    t->last_valid = NAN;

    wn__files files[2];
    memset(files, 0, sizeof files);
    char **names = NULL; /* the speakers' names for the model's rows, if it takes them */
    int distinct = 0;
    const wn_config cfg = wn_model_config(m);
    if (expand_side(train, ntrain, p->train_speakers, p->speaker_from_folder, &files[0], err) ||
        expand_side(valid, nvalid, p->valid_speakers, p->speaker_from_folder, &files[1], err))
        goto fail_files;
    if (!files[0].n) {
        wn__err(err, WN_ERR_ARG, ntrain ? "no training files: %s holds no audio files"
                                        : "no training files%s", ntrain ? train[0] : "");
        goto fail_files;
    }
    /* the speakers are checked before any audio is read */
    if (map_speakers(m, files, &names, &distinct, err)) goto fail_files;
    const int nread = files[0].n + files[1].n;
    t->data = wn__data_load(m, &t->p, files, err); /* owns the lists now */
    if (!t->data) goto fail;
    if (progress_stop(&t->p, nread, nread)) {
        wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        goto fail;
    }
    if (set_cond(t, names, distinct, err)) goto fail;
    wn_list_free(names, names ? cfg.speakers : 0);
    names = NULL;

    t->opt = wn_optim_create(m, &p->optim, err);
    if (!t->opt) goto fail;
    t->gc = wn_grad_ctx_create(m, t->b1 - t->b0, t->len, p->threads, err);
    if (!t->gc) goto fail;
    wn__grad_ctx_set_scale(t->gc, p->batch); /* a share averages over the global batch */
    t->codes = wn__alloc((size_t)(t->b1 - t->b0) * (size_t)t->len, sizeof(int));
    t->grad = wn__alloc(t->np, sizeof(float));
    t->loss_all = calloc((size_t)t->ranks, sizeof *t->loss_all);
    int cond_ok = 1;
    if (cfg.cond || cfg.speakers) {
        t->wc = calloc((size_t)(t->b1 - t->b0), sizeof *t->wc);
        cond_ok = t->wc != NULL;
    }
    if (cfg.cond) {
        t->feats = wn__alloc((size_t)(t->b1 - t->b0) * wn__data_window_frames(t->data) *
                                 (size_t)cfg.cond, sizeof(float));
        cond_ok = cond_ok && t->feats;
    }
    if (!t->codes || !t->grad || !t->loss_all || !cond_ok) {
        wn__err(err, WN_ERR_NOMEM, "out of memory setting up training");
        goto fail;
    }
    return t;
fail_files:
    for (int w = 0; w < 2; w++) wn__files_free(&files[w]);
fail:
    wn_list_free(names, names ? cfg.speakers : 0);
    wn_trainer_free(t);
    return NULL;
}

static int valid_due(const wn_trainer *t)
{
    return wn__data_files(t->data, 1, NULL) > 0 && t->p.valid_every > 0 && t->step > 0 &&
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

/* The validation clips' total NLL in nats, one clip at a time. */
static int valid_nats(wn_trainer *t, double *nats, wn_error *err)
{
    wn_score_params sp = wn_score_default_params();
    sp.threads = t->p.threads;
    vprog vp = {&t->p, 0, 0, (double)wn__data_samples(t->data, 1)};
    if (t->p.progress) {
        sp.progress = valid_progress;
        sp.progress_user = &vp;
    }
    size_t most = wn__data_valid_max(t->data);
    const int nv = wn__data_files(t->data, 1, NULL);
    const wn_config cfg = wn_model_config(t->m);
    const int conditional = cfg.cond || cfg.speakers;
    int *codes = malloc(sizeof *codes * (most ? most : 1));
    /* a clip's features, read back with its codes */
    const size_t nfeat = wn__data_valid_max_frames(t->data) * (size_t)cfg.cond;
    float *feats = malloc(sizeof *feats * (nfeat ? nfeat : 1));
    wn_cond cc = {NULL, 0, -1, 0};
    /* each clip's figure, this rank's clips (i % ranks == rank) filled; then
     * every rank's, summed in clip order: the same figure on any rank count */
    double *mine = calloc((size_t)nv, sizeof *mine);
    double *all = calloc((size_t)nv * (size_t)(unsigned)t->ranks, sizeof *all);
    int rc = codes && feats && mine && all
                 ? WN_OK : wn__err(err, WN_ERR_NOMEM, "out of memory for a validation clip");
    /* each clip given its own features and speaker */
    if (conditional) sp.cond = &cc;
    for (int i = t->rank; i < nv && rc == WN_OK; i += t->ranks) {
        size_t n;
        rc = wn__data_valid(t->data, i, codes, &n, feats, &cc, err);
        vp.clip = (double)n;
        if (!rc) rc = wn_score_codes(t->m, codes, n, &sp, &mine[i], NULL, err);
        vp.base += (double)n;
    }
    if (rc == WN_OK) rc = wn__dist_allgather(mine, (size_t)nv, all, err);
    *nats = 0;
    for (int i = 0; rc == WN_OK && i < nv; i++) *nats += all[(size_t)(i % t->ranks) * nv + i];
    free(codes);
    free(feats);
    free(mine);
    free(all);
    return rc;
}

int wn_trainer_validate(wn_trainer *t, wn_train_stats *st, wn_error *err)
{
    if (!t) return wn__err(err, WN_ERR_ARG, "wn_trainer_validate: no trainer");
    if (st) {
        st->validated = 0;
        st->valid_bits = NAN;
        st->improved = 0;
    }
    if (!wn__data_files(t->data, 1, NULL)) return WN_OK;
    double t0 = now_seconds(), nats;
    int rc = valid_nats(t, &nats, err);
    if (rc == WN_OK && !isfinite(nats))
        rc = wn__err(err, WN_ERR_NONFINITE, "step %lld: the validation NLL is not finite",
                     (long long)t->step);
    if (rc) {
        t->seconds += now_seconds() - t0;
        return rc;
    }
    double bits = nats / (double)wn__data_samples(t->data, 1) / M_LN2;
    int improved = bits < t->best;
    double prev_lv = t->last_valid;
    int64_t prev_lvs = t->last_valid_step;
    t->last_valid_step = t->step;
    t->last_valid = bits;
    if (improved && t->p.best_path && t->rank == 0) { /* one writer */
        rc = wn_trainer_save_model(t, t->p.best_path, err);
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

/* The validation of step `step` if it is due: after an update, or, first
 * thing in a step, the one an interrupt cut short before a checkpoint. */
static int validate_if_due(wn_trainer *t, wn_train_stats *st, wn_error *err)
{
    if (!valid_due(t)) return WN_OK;
    double v0 = now_seconds();
    int rc = wn_trainer_validate(t, st, err);
    st->valid_seconds += now_seconds() - v0;
    return rc;
}

/* The gradient's global L2 norm, in double and in a fixed order: the same
 * on every thread count. */
static double grad_norm(const float *g, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++) ss += (double)g[i] * g[i];
    return sqrt(ss);
}

/* One update: windows, loss and gradient, clipping, the optimizer. On an
 * error nothing of the model or the optimizer has changed. */
static int update(wn_trainer *t, wn_train_stats *st, wn_error *err)
{
    const long long k = (long long)t->step;
    double loss = NAN;
    int rc = wn__data_draw(t->data, &t->rng, t->b0, t->b1, t->codes, t->wc, t->feats, err);
    if (rc) return rc;
    rc = wn_grad_ctx_run_cond(t->gc, t->codes, t->wc, t->grad, &loss, err);
    if (rc && rc != WN_ERR_NONFINITE) return rc;
    if (t->ranks > 1) { /* the ranks' sums of their windows, by the fixed tree;
                           a rank's non-finite loss reaches every rank */
        double s0 = now_seconds();
        int rc2 = wn__dist_sum_tree(t->grad, t->np, err);
        st->sum_seconds = now_seconds() - s0;
        double mine = loss, *all = t->loss_all;
        if (!rc2) rc2 = wn__dist_allgather(&mine, 1, all, err);
        if (rc2) return rc2;
        loss = 0;
        for (int r = 0; r < t->ranks; r++) loss += all[r];
        rc = isfinite(loss) ? WN_OK : WN_ERR_NONFINITE;
    }
    if (rc || !isfinite(loss))
        return wn__err(err, WN_ERR_NONFINITE,
                       "step %lld: the training loss is %s; the weights stay those after step %lld",
                       k + 1, isnan(loss) ? "NaN" : "infinite", k);
    double norm = grad_norm(t->grad, t->np);
    if (!isfinite(norm))
        return wn__err(err, WN_ERR_NONFINITE,
                       "step %lld: the gradient is not finite; the weights stay those after step %lld",
                       k + 1, k);
    if (t->p.clip > 0 && norm > t->p.clip) {
        float s = (float)(t->p.clip / norm);
        for (size_t i = 0; i < t->np; i++) t->grad[i] *= s;
    }
    float lr = wn_train_lr(&t->p, t->step);
    rc = wn_optim_step(t->opt, t->m, t->grad, lr, err);
    if (rc == WN_ERR_NONFINITE) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err ? err->message : "");
        return wn__err(err, rc, "step %lld: %s; the weights stay those after step %lld", k + 1,
                       msg, k);
    }
    if (rc) return rc;
    t->step++;
    st->step = t->step;
    st->loss_bits = loss / M_LN2;
    st->grad_norm = norm;
    st->lr = lr;
    st->samples = (int64_t)t->p.batch * t->p.window;
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
    int rc = validate_if_due(t, st, err); /* one an interrupt cut short */
    if (rc) return rc;
    double t0 = now_seconds();
    rc = update(t, st, err);
    st->step_seconds = now_seconds() - t0;
    t->seconds += st->step_seconds;
    if (rc) return rc;
    st->stop = t->p.patience > 0 && t->bad >= t->p.patience;
    return validate_if_due(t, st, err);
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
    return t && (which == 0 || which == 1) ? wn__data_files(t->data, which, NULL) : 0;
}
const wn_clip_report *wn_trainer_clip(const wn_trainer *t, int which, int i)
{
    return t && (which == 0 || which == 1) ? wn__data_report(t->data, which, i) : NULL;
}
int64_t wn_trainer_data_samples(const wn_trainer *t, int which)
{
    return t && which >= 0 && which <= 2 ? wn__data_samples(t->data, which) : 0;
}

size_t wn_trainer_memory(const wn_trainer *t)
{
    /* the forward/backward buffers and a gradient slab per thread, for this
     * rank's share of the batch */
    double act = (double)wn_grad_memory(t->m, t->b1 - t->b0, t->len, t->p.threads);
    /* weights, gradient and moments */
    double slabs = 4.0 * t->np * (2 + (wn_optim_state(t->opt, 0) != NULL) +
                                  (wn_optim_state(t->opt, 1) != NULL));
    /* the clips wait in a file: one batch of codes, one window and one
     * validation clip are read back */
    double data = 4.0 * (t->b1 - t->b0) * (double)t->len + 4.0 * (double)t->len +
                  4.0 * (double)wn__data_valid_max(t->data);
    /* and a conditional model's frames: a window's, a validation clip's */
    const int C = wn_model_config(t->m).cond;
    data += 4.0 * C * ((t->b1 - t->b0) * (double)wn__data_window_frames(t->data) +
                       (double)wn__data_valid_max_frames(t->data));
    return (size_t)(act + slabs + data);
}
