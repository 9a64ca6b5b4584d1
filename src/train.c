/* train.c - the training driver: the parameters and the learning-rate
 * schedule, and the step: windows (data.c), loss and gradient (grad.c),
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
#include <time.h>

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
    if (!(p->gain_jitter_db >= 0 && p->gain_jitter_db <= 60))
        return wn__err(err, WN_ERR_ARG, "gain jitter %g dB must lie in 0..60",
                       p->gain_jitter_db);
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

void wn_trainer_free(wn_trainer *t)
{
    if (!t) return;
    wn_optim_free(t->opt);
    wn_grad_ctx_free(t->gc);
    wn__data_free(t->data);
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

    char **files[2] = {NULL, NULL};
    int nfiles[2] = {0, 0};
    for (int i = 0; i < ntrain; i++)
        if (wn_path_expand(train[i], &files[0], &nfiles[0], err)) goto fail_files;
    for (int i = 0; i < nvalid; i++)
        if (wn_path_expand(valid[i], &files[1], &nfiles[1], err)) goto fail_files;
    if (!nfiles[0]) {
        wn__err(err, WN_ERR_ARG, ntrain ? "no training files: %s holds no audio files"
                                        : "no training files%s", ntrain ? train[0] : "");
        goto fail_files;
    }
    t->data = wn__data_load(m, &t->p, files, nfiles, err); /* owns the lists now */
    if (!t->data) goto fail;
    if (progress_stop(&t->p, nfiles[0] + nfiles[1], nfiles[0] + nfiles[1])) {
        wn__err(err, WN_ERR_INTERRUPTED, "interrupted while reading the data");
        goto fail;
    }

    t->opt = wn_optim_create(m, &p->optim, err);
    if (!t->opt) goto fail;
    t->gc = wn_grad_ctx_create(m, t->b1 - t->b0, t->len, p->threads, err);
    if (!t->gc) goto fail;
    wn__grad_ctx_set_scale(t->gc, p->batch); /* a share averages over the global batch */
    t->codes = wn__alloc((size_t)(t->b1 - t->b0) * (size_t)t->len, sizeof(int));
    t->grad = wn__alloc(t->np, sizeof(float));
    t->loss_all = calloc((size_t)t->ranks, sizeof *t->loss_all);
    if (!t->codes || !t->grad || !t->loss_all) {
        wn__err(err, WN_ERR_NOMEM, "out of memory setting up training");
        goto fail;
    }
    return t;
fail_files:
    for (int w = 0; w < 2; w++) wn_list_free(files[w], nfiles[w]);
fail:
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
    int *codes = malloc(sizeof *codes * (most ? most : 1));
    /* each clip's figure, this rank's clips (i % ranks == rank) filled; then
     * every rank's, summed in clip order: the same figure on any rank count */
    double *mine = calloc((size_t)nv, sizeof *mine);
    double *all = calloc((size_t)nv * (size_t)(unsigned)t->ranks, sizeof *all);
    int rc = codes && mine && all ? WN_OK
                                  : wn__err(err, WN_ERR_NOMEM, "out of memory for a validation clip");
    for (int i = t->rank; i < nv && rc == WN_OK; i += t->ranks) {
        size_t n;
        rc = wn__data_valid(t->data, i, codes, &n, err);
        vp.clip = (double)n;
        if (!rc) rc = wn_score_codes(t->m, codes, n, &sp, &mine[i], NULL, err);
        vp.base += (double)n;
    }
    if (rc == WN_OK) rc = wn__dist_allgather(mine, (size_t)nv, all, err);
    *nats = 0;
    for (int i = 0; rc == WN_OK && i < nv; i++) *nats += all[(size_t)(i % t->ranks) * nv + i];
    free(codes);
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
    int rc = wn__data_draw(t->data, &t->rng, t->b0, t->b1, t->codes, err);
    if (rc) return rc;
    rc = wn_grad_ctx_run(t->gc, t->codes, t->grad, &loss, err);
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
    return t && (which == 0 || which == 1) ? wn__data_samples(t->data, which) : 0;
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
    return (size_t)(act + slabs + data);
}
