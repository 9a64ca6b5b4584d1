/* checkpoint.c - a training run in one file, and back: the weights, the
 * optimizer's moments (opt.m.<name>, opt.v.<name>), and in the metadata the
 * schedule, the RNG, the validation bookkeeping, the parameters and what
 * identifies the data (each file's resolved path, samples and crc32), so
 * that a resumed run reaches the same weights, bit for bit, as one that
 * never stopped, and refuses other data under the same names. The file
 * layout exists here only: moments and weights are converted from the
 * compute layout as they are written and back as they are read. */
#define _POSIX_C_SOURCE 200809L
#include "train.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CKPT_VERSION "1"

/* The files as a JSON list: each one's resolved path where the data has
 * one (identity, from wn__data_identity), else as given. */
static json_t *files_json(char **files, int n, const char *identity)
{
    json_t *id = json_loads(identity, 0, NULL);
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        const char *rp = json_string_value(json_object_get(json_array_get(id, (size_t)i), "path"));
        json_array_append_new(a, json_string(rp && *rp ? rp : files[i]));
    }
    json_decref(id);
    return a;
}

/* The model's tensors and the optimizer's moments, converted to the file
 * layout into tmp ((1 + slots) x np floats); names holds the moments'. */
static int ckpt_tensors(const wn_trainer *t, float *tmp, char (*names)[64], wn__st_tensor *st)
{
    int nt = wn_model_tensor_count(t->m);
    int n = wn__model_tensors(t->m, wn_model_params(t->m), tmp, st);
    for (int s = 0; s < 2; s++) {
        float *slab = wn_optim_state(t->opt, s);
        if (!slab) continue;
        tmp += t->np;
        wn__model_tensors(t->m, slab, tmp, st + n);
        for (int i = 0; i < nt; i++) {
            snprintf(names[n + i], 64, "opt.%c.%s", s ? 'v' : 'm', wn_model_tensor_name(t->m, i));
            st[n + i].name = names[n + i];
        }
        n += nt;
    }
    return n;
}

/* the run's settings and state written as metadata keys by wn_trainer_save
 * (33 of them now), with room to grow */
#define CKPT_KEYS 48

int wn_trainer_save(const wn_trainer *t, const char *path, wn_error *err)
{
    if (!t || !path) return wn__err(err, WN_ERR_ARG, "wn_trainer_save: bad argument");
    int nt = wn_model_tensor_count(t->m);
    wn_optim *o = t->opt;
    float *tmp = wn__alloc(3 * t->np, sizeof(float));
    wn__st_tensor *st = calloc((size_t)nt * 3, sizeof *st);
    char(*names)[64] = calloc((size_t)nt * 3, sizeof *names);
    char *tid = wn__data_identity(t->data, 0), *vid = wn__data_identity(t->data, 1);
    if (!tmp || !st || !names || !tid || !vid) {
        wn__free(tmp);
        free(st);
        free(names);
        free(tid);
        free(vid);
        return wn__err(err, WN_ERR_NOMEM, "out of memory writing %s", path);
    }
    int n = ckpt_tensors(t, tmp, names, st);
    char *mstore[2] = {NULL, NULL};
    int nuser = 0;
    while (t->p.meta && t->p.meta[2 * nuser]) nuser++;
    const char **kv =
        malloc(sizeof *kv * (size_t)(WN_MODEL_META + 2 * (CKPT_KEYS + 4) + 2 * nuser));
    int nm = kv ? wn__model_meta(t->m, kv, mstore) : -1;
    if (nm < 0) {
        free(kv);
        wn__free(tmp);
        free(st);
        free(names);
        free(tid);
        free(vid);
        return wn__err(err, WN_ERR_NOMEM, "out of memory writing %s", path);
    }
    char v[CKPT_KEYS][80];
    int nv = 0;
    char decay[64];
    wn_decay_format(&t->p, decay, sizeof decay);
    const wn_train_params *p = &t->p;
#define PUT(key, ...)                                                              \
    do {                                                                           \
        if (nv == CKPT_KEYS) abort(); /* a key added: raise CKPT_KEYS */           \
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
        if (nv == CKPT_KEYS) abort();                                              \
        wn__fmt_float(v[nv], sizeof v[nv], x);                                         \
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
    PUT("trim_ends", "%s", wn_trim_ends_name(p->trim_ends));
    PUTF("gain_jitter_db", p->gain_jitter_db);
    PUT("gain_may_clip", "%d", p->gain_may_clip);
    PUTF("max_clipped", p->max_clipped);
    PUTF("rescale_above", p->rescale_above);
    char speeds[WN_MAX_SPEEDS * 16] = "";
    for (int i = 0; i < WN_MAX_SPEEDS && p->speeds[i] != 0; i++) {
        char b[16];
        wn__fmt_float(b, sizeof b, p->speeds[i]);
        size_t l = strlen(speeds);
        snprintf(speeds + l, sizeof speeds - l, "%s%s", i ? "," : "", b);
    }
    PUT("speeds", "%s", speeds);
    PUT("valid_every", "%lld", (long long)p->valid_every);
    PUT("patience", "%d", p->patience);
#undef PUT
#undef PUTF
    /* the files by their resolved paths: a resumed run finds them from any
     * folder */
    char **files[2];
    int nfiles[2];
    for (int w = 0; w < 2; w++) nfiles[w] = wn__data_files(t->data, w, &files[w]);
    json_t *tf = files_json(files[0], nfiles[0], tid);
    json_t *vf = files_json(files[1], nfiles[1], vid);
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
        kv[2 * nm + 4] = "train_data";
        kv[2 * nm + 5] = tid;
        kv[2 * nm + 6] = "valid_data";
        kv[2 * nm + 7] = vid;
        nm += 4;
        for (int i = 0; i < nuser; i++, nm++) {
            kv[2 * nm] = t->p.meta[2 * i];
            kv[2 * nm + 1] = t->p.meta[2 * i + 1] ? t->p.meta[2 * i + 1] : "";
        }
        rc = wn__st_write(path, st, n, kv, nm, err);
    }
    free(tfs);
    free(vfs);
    free(tid);
    free(vid);
    wn__free(tmp);
    free(st);
    free(names);
    free(kv);
    free(mstore[0]);
    free(mstore[1]);
    return rc;
}

int wn_trainer_save_model(const wn_trainer *t, const char *path, wn_error *err)
{
    if (!t || !path) return wn__err(err, WN_ERR_ARG, "wn_trainer_save_model: bad argument");
    int nt = wn_model_tensor_count(t->m);
    float *tmp = wn__alloc(t->np, sizeof(float));
    wn__st_tensor *st = calloc((size_t)nt, sizeof *st);
    if (!tmp || !st) {
        wn__free(tmp);
        free(st);
        return wn__err(err, WN_ERR_NOMEM, "out of memory writing %s", path);
    }
    int n = wn__model_tensors(t->m, wn_model_params(t->m), tmp, st);
    char v[3][32], *mstore[2];
    const char *kv[WN_MODEL_META + 6];
    int nm = wn__model_meta(t->m, kv, mstore);
    if (nm < 0) {
        wn__free(tmp);
        free(st);
        return wn__err(err, WN_ERR_NOMEM, "out of memory writing %s", path);
    }
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
    int rc = wn__st_write(path, st, n, kv, nm, err);
    wn__free(tmp);
    free(st);
    free(mstore[0]);
    free(mstore[1]);
    return rc;
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
    /* settings added later: a checkpoint from before them resumes as it
     * drew its windows then (every clip kept, gains uncapped) */
    q.gain_may_clip = 1;
    q.max_clipped = 1;
    if (wn__st_meta(f, "gain_may_clip") &&
        ((rc = meta_int(f, path, "gain_may_clip", 0, &q.gain_may_clip, err)) ||
         (rc = meta_flt(f, path, "max_clipped", &q.max_clipped, err))))
        return rc;
    q.rescale_above = 0;
    if (wn__st_meta(f, "rescale_above") &&
        (rc = meta_flt(f, path, "rescale_above", &q.rescale_above, err)))
        return rc;
    const char *te = wn__st_meta(f, "trim_ends"); /* both before the setting */
    if (te) {
        int e = wn_trim_ends_parse(te);
        if (e < 0)
            return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint 'trim_ends' = '%s' is not both, "
                           "start or end", path, te);
        q.trim_ends = (wn_trim_ends)e;
    }
    memset(q.speeds, 0, sizeof q.speeds); /* none before the setting */
    const char *sp = wn__st_meta(f, "speeds");
    for (int i = 0; sp && *sp; i++) {
        char *end;
        float v = strtof(sp, &end);
        if (i == WN_MAX_SPEEDS || end == sp || !isfinite(v) || (*end && *end != ','))
            return wn__err(err, WN_ERR_FORMAT, "%s: checkpoint 'speeds' = '%s' is not a list "
                           "of up to %d numbers", path, wn__st_meta(f, "speeds"), WN_MAX_SPEEDS);
        q.speeds[i] = v;
        sp = *end ? end + 1 : end;
    }
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
        if (!v || wn__push_path(out, n, v, strlen(v))) {
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

int wn_checkpoint_speakers(const char *path, int which, char ***speakers, int *n,
                           wn_error *err)
{
    if (!path || !speakers || !n || (which != 0 && which != 1))
        return wn__err(err, WN_ERR_ARG, "wn_checkpoint_speakers: bad argument");
    *speakers = NULL;
    *n = 0;
    wn__st_file *f = open_ckpt(path, err);
    if (!f) return err ? err->code : WN_ERR_FORMAT;
    const char *key = which ? "valid_files" : "train_files";
    const char *id = wn__st_meta(f, which ? "valid_data" : "train_data"), *s;
    int rc = meta_str(f, path, key, &s, err);
    json_t *files = rc ? NULL : json_loads(s, 0, NULL), *a = id ? json_loads(id, 0, NULL) : NULL;
    if (rc == WN_OK && !json_is_array(files))
        rc = wn__err(err, WN_ERR_FORMAT, "%s: checkpoint '%s' is not a list", path, key);
    const int k = rc ? 0 : (int)json_array_size(files);
    char **v = k ? calloc((size_t)k, sizeof *v) : NULL;
    if (k && !v) rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
    /* older checkpoints, and models without speakers: none */
    for (int i = 0; rc == WN_OK && i < k; i++) {
        const char *sp = json_string_value(json_object_get(json_array_get(a, (size_t)i), "speaker"));
        if (sp && !(v[i] = strdup(sp))) rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
    }
    json_decref(files);
    json_decref(a);
    wn__st_close(f);
    if (rc) {
        wn_list_free(v, k);
        return rc;
    }
    *speakers = v;
    *n = k;
    return WN_OK;
}

int wn_checkpoint_meta(const char *path, const char *key, char *buf, size_t size,
                       wn_error *err)
{
    if (!path || !key || !buf || !size)
        return wn__err(err, WN_ERR_ARG, "wn_checkpoint_meta: bad argument");
    buf[0] = 0;
    wn__st_file *f = open_ckpt(path, err);
    if (!f) return err ? err->code : WN_ERR_FORMAT;
    const char *v = wn__st_meta(f, key);
    int rc = WN_OK;
    if (!v)
        rc = wn__err(err, WN_ERR_ARG, "%s: checkpoint metadata lacks '%s'", path, key);
    else if (strlen(v) >= size)
        rc = wn__err(err, WN_ERR_RANGE, "%s: checkpoint '%s' is longer than %zu bytes", path,
                     key, size - 1);
    else
        memcpy(buf, v, strlen(v) + 1);
    wn__st_close(f);
    return rc;
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

/* A conditional checkpoint continues only where its rows are the same
 * speakers and its features are computed by the same recipe (the data's
 * features were computed with the trainer's model's). */
static int same_cond(const wn_model *ck, const wn_model *m, const char *path, wn_error *err)
{
    const wn_config c = wn_model_config(m);
    for (int r = 0; r < c.speakers; r++) {
        const char *a = wn_model_speaker_name(ck, r), *b = wn_model_speaker_name(m, r);
        if (strcmp(a, b))
            return wn__err(err, WN_ERR_ARG, "%s: the checkpoint's speaker row %d is '%s', "
                           "here it is '%s': the rows would not be the same speakers", path, r,
                           a, b);
    }
    wn_mel_params a, b;
    if (c.cond && wn_model_mel_params(ck, &a) == WN_OK && wn_model_mel_params(m, &b) == WN_OK) {
        /* fmax 0 is half the rate (a new model's) */
        if (!(a.fmax > 0)) a.fmax = c.sample_rate / 2.0;
        if (!(b.fmax > 0)) b.fmax = c.sample_rate / 2.0;
    }
    if (c.cond &&
        (a.fft != b.fft || a.hop != b.hop || a.mels != b.mels || a.fmin != b.fmin ||
         a.fmax != b.fmax || a.scale != b.scale || a.area_norm != b.area_norm ||
         a.floor != b.floor))
        return wn__err(err, WN_ERR_ARG, "%s: the checkpoint's features are not computed as "
                       "this model's are (fft %d, %g..%g Hz, here fft %d, %g..%g Hz)", path,
                       a.fft, a.fmin, a.fmax, b.fft, b.fmin, b.fmax);
    return WN_OK;
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
    if ((rc = same_cond(cm, t->m, path, err))) goto out;
    /* everything is read and checked before anything in t changes */
    for (int s = 0; s < 2; s++) {
        if (!wn_optim_state(t->opt, s)) continue;
        slabs[s] = wn__alloc(t->np ? t->np : 1, sizeof(float));
        if (!slabs[s]) {
            rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
            goto out;
        }
        if ((rc = wn__st_load_slab(f, path, t->m, s ? "opt.v." : "opt.m.", slabs[s], err)))
            goto out;
    }
    for (int w = 0; w < 2; w++) {
        const char *id = wn__st_meta(f, w ? "valid_data" : "train_data");
        if (id && (rc = wn__data_same(t->data, w, id, path, err))) goto out;
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
    /* +inf: no validation yet; NaN or -inf cannot be a best */
    if (isnan(best) || best == -INFINITY) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: checkpoint 'best_valid_bits' = %g is not a best "
                     "(a finite figure, or inf before any validation)", path, best);
        goto out;
    }
    if (isinf(lv) || secs < 0 || !isfinite(secs)) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: checkpoint 'last_valid_bits' or 'train_seconds' "
                     "is not a valid figure", path);
        goto out;
    }
    if (b.cond) { /* the run's normalisation, with its weights */
        float *ms = malloc(sizeof *ms * 2 * (size_t)b.cond);
        if (!ms) {
            rc = wn__err(err, WN_ERR_NOMEM, "out of memory");
            goto out;
        }
        if (wn_model_feature_norm(cm, ms, ms + b.cond) == 1)
            rc = wn_model_set_feature_norm(t->m, ms, ms + b.cond, err);
        free(ms);
        if (rc) goto out;
    }
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
    wn__free(slabs[0]);
    wn__free(slabs[1]);
    wn_model_free(cm);
    wn__st_close(f);
    return rc;
}
