/* test_train.c - the training driver: a tiny model overfits a 0.25 s
 * periodic clip to under 1 bit/sample within 200 steps; global-norm
 * clipping of an SGD step and the grad_norm it reports; a run
 * interrupted, checkpointed and resumed reaches the same weights bit for
 * bit; checkpoints round-trip; a NaN loss stops training with the last
 * good weights; the schedule, list files and silence trimming; and
 * `wavenet train` on bad input. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"
#include "train.h"

#include <malloc.h>
#include <math.h>
#include <sndfile.h>
#include <stdarg.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int checks;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void write_wav(const char *path, const float *x, size_t n, int rate)
{
    SF_INFO info = {.samplerate = rate, .channels = 1,
                    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *f = sf_open(path, SFM_WRITE, &info);
    REQUIRE(f);
    REQUIRE(sf_writef_float(f, x, (sf_count_t)n) == (sf_count_t)n);
    sf_close(f);
}

/* 0.25 s at 8 kHz of a 200 Hz tone with two harmonics */
static const char *periodic_clip(void)
{
    static char path[512];
    if (path[0]) return path;
    snprintf(path, sizeof path, "%s", tu_path("periodic.wav"));
    float x[2000];
    for (int t = 0; t < 2000; t++) {
        double ph = 2 * M_PI * t / 40.0;
        x[t] = (float)(0.5 * sin(ph) + 0.25 * sin(2 * ph + 1.0) + 0.1 * sin(3 * ph + 2.0));
    }
    write_wav(path, x, 2000, 8000);
    return path;
}

static wn_model *tiny_model(uint64_t seed)
{
    return tu_small_model(256, 6, 3, 16, 16, 32, seed);
}

/* ------------------------------------------------------------ overfitting */

static void overfit(void)
{
    const char *clip = periodic_clip();
    wn_model *m = tiny_model(1);
    wn_train_params p = wn_train_default_params();
    p.batch = 8;
    p.window = 256;
    p.lr = 3e-3f;
    p.warmup = 20;
    p.decay = WN_DECAY_NONE;
    /* the behaviour checked is how many steps it takes (100 today), not
     * how many seconds: timing belongs to bench/ */
    p.steps = 200;
    p.valid_every = 50;
    p.trim_db = 0;
    p.threads = 2;
    p.best_path = tu_path("overfit_best.safetensors");
    wn_error err;
    const char *files[] = {clip};
    wn_trainer *t = wn_trainer_create(m, &p, files, 1, files, 1, &err);
    REQUIRE(t);
    double bits = INFINITY, first = NAN;
    int64_t step = 0;
    while (step < p.steps) {
        wn_train_stats st;
        REQUIRE_OK(wn_trainer_step(t, &st, &err), &err);
        step = st.step;
        if (step == 1) first = st.loss_bits;
        CHECK(st.step_seconds > 0 && (st.validated ? st.valid_seconds > 0 : st.valid_seconds == 0));
        if (st.validated) {
            bits = st.valid_bits;
            if (bits < 1.0) break;
        }
    }
    fprintf(stderr, "  overfit: train loss %.2f bits at step 1, validation %.3f bits/sample "
            "after %lld steps\n", first, bits, (long long)step);
    CHECKF(bits < 1.0, "the tiny model reached only %.3f bits/sample in %lld steps", bits,
           (long long)step);
    int64_t bs;
    CHECK(wn_trainer_best(t, &bs) == bits && bs == step);
    /* best_path holds the weights of the best validation (the last one here) */
    wn_model *best = wn_model_load(p.best_path, &err);
    REQUIRE(best);
    CHECK(memcmp(wn_model_params(best), wn_model_params(m),
                 wn_model_param_count(m) * sizeof(float)) == 0);
    wn_score_params sp = wn_score_default_params();
    int *codes;
    size_t n;
    REQUIRE_OK(wn_audio_read_codes(clip, 8000, 256, &codes, &n, NULL, &err), &err);
    double nll;
    REQUIRE_OK(wn_score_codes(best, codes, n, &sp, &nll, NULL, &err), &err);
    CHECKF(fabs(nll / n / M_LN2 - bits) < 1e-9, "score %.6f vs validation %.6f",
           nll / n / M_LN2, bits);
    free(codes);
    wn_model_free(best);
    checks++;
    wn_trainer_free(t);
    wn_model_free(m);
}

/* ------------------------------------------------------------ resume */

static wn_train_params resume_params(void)
{
    wn_train_params p = wn_train_default_params();
    p.batch = 4;
    p.window = 64;
    p.lr = 2e-3f;
    p.warmup = 5;
    p.decay = WN_DECAY_COSINE;
    p.steps = 30;
    p.valid_every = 7;
    p.patience = 50;
    p.gain_jitter_db = 6;
    p.clip = 0.5f;
    p.optim.weight_decay = 0.01f;
    p.threads = 2;
    p.seed = 1234;
    return p;
}

static void resume_case(wn_optimizer kind, int k)
{
    const char *clip = periodic_clip();
    const char *files[] = {clip};
    wn_train_params p = resume_params();
    p.optim.kind = kind;
    wn_error err;
    /* straight */
    wn_model *a = tiny_model(5);
    wn_trainer *ta = wn_trainer_create(a, &p, files, 1, files, 1, &err);
    REQUIRE(ta);
    while (wn_trainer_steps_done(ta) < p.steps) REQUIRE_OK(wn_trainer_step(ta, NULL, &err), &err);
    /* k steps, checkpoint, everything freed, resumed in a fresh model */
    const char *ck = tu_path("resume.ckpt");
    wn_model *b = tiny_model(5);
    wn_trainer *tb = wn_trainer_create(b, &p, files, 1, files, 1, &err);
    REQUIRE(tb);
    while (wn_trainer_steps_done(tb) < k) REQUIRE_OK(wn_trainer_step(tb, NULL, &err), &err);
    REQUIRE_OK(wn_trainer_save(tb, ck, &err), &err);
    wn_trainer_free(tb);
    wn_model_free(b);
    wn_model *c = tiny_model(99); /* other weights: the checkpoint must replace them */
    wn_trainer *tc = wn_trainer_create(c, &p, files, 1, files, 1, &err);
    REQUIRE(tc);
    REQUIRE_OK(wn_trainer_resume(tc, ck, &err), &err);
    CHECK(wn_trainer_steps_done(tc) == k);
    while (wn_trainer_steps_done(tc) < p.steps) REQUIRE_OK(wn_trainer_step(tc, NULL, &err), &err);
    size_t n = wn_model_param_count(a);
    int same = memcmp(wn_model_params(a), wn_model_params(c), n * sizeof(float)) == 0;
    CHECKF(same, "%s: resumed at step %d differs from the straight run (max rel %g)",
           wn_optimizer_name(kind), k, tu_maxrel(wn_model_params(c), wn_model_params(a), n));
    int64_t sa, sc;
    double ba = wn_trainer_best(ta, &sa), bc = wn_trainer_best(tc, &sc);
    CHECK(ba == bc && sa == sc);
    CHECK(wn_trainer_last_validation(ta) == wn_trainer_last_validation(tc));
    /* the weights moved: the test is not vacuous */
    wn_model *init = tiny_model(5);
    CHECK(memcmp(wn_model_params(a), wn_model_params(init), n * sizeof(float)) != 0);
    wn_model_free(init);
    fprintf(stderr, "  resume %-8s at step %2d of %lld: %s\n", wn_optimizer_name(kind), k,
            (long long)p.steps, same ? "bit-identical" : "DIFFERENT");
    checks++;
    wn_trainer_free(ta);
    wn_trainer_free(tc);
    wn_model_free(a);
    wn_model_free(c);
}

/* A validation that an interrupt cut short (the progress callback said
 * stop): the step's update is kept, and a resumed run first runs that
 * validation, reported as the validation of that step (valid_step), and
 * ends bit for bit where a run that never stopped ends. */
static int stop_validation;
static int stop_cb(void *user, double done, double total)
{
    (void)user, (void)done, (void)total;
    return stop_validation;
}

static void interrupted_validation(void)
{
    const char *clip = periodic_clip();
    const char *files[] = {clip};
    wn_train_params p = resume_params();
    wn_error err;
    wn_model *a = tiny_model(5);
    wn_trainer *ta = wn_trainer_create(a, &p, files, 1, files, 1, &err);
    REQUIRE(ta);
    while (wn_trainer_steps_done(ta) < p.steps) REQUIRE_OK(wn_trainer_step(ta, NULL, &err), &err);

    wn_train_params q = p;
    q.progress = stop_cb;
    stop_validation = 0;
    wn_model *b = tiny_model(5);
    wn_trainer *tb = wn_trainer_create(b, &q, files, 1, files, 1, &err);
    REQUIRE(tb);
    while (wn_trainer_steps_done(tb) < p.valid_every - 1)
        REQUIRE_OK(wn_trainer_step(tb, NULL, &err), &err);
    stop_validation = 1; /* the next step's validation is cut short */
    wn_train_stats st;
    int rc = wn_trainer_step(tb, &st, &err);
    checks += 2;
    CHECKF(rc == WN_ERR_INTERRUPTED && wn_trainer_steps_done(tb) == p.valid_every,
           "the cut validation: rc %d at step %lld", rc, (long long)wn_trainer_steps_done(tb));
    CHECK(wn_trainer_last_validation(tb) < p.valid_every);
    const char *ck = tu_path("cut.ckpt");
    REQUIRE_OK(wn_trainer_save(tb, ck, &err), &err);
    wn_trainer_free(tb);
    wn_model_free(b);

    wn_model *c = tiny_model(99);
    wn_trainer *tc = wn_trainer_create(c, &p, files, 1, files, 1, &err);
    REQUIRE(tc);
    REQUIRE_OK(wn_trainer_resume(tc, ck, &err), &err);
    REQUIRE_OK(wn_trainer_step(tc, &st, &err), &err);
    checks += 2;
    CHECKF(st.validated && st.valid_step == p.valid_every && st.step == p.valid_every + 1,
           "resumed: validated %d, valid_step %lld, step %lld", st.validated,
           (long long)st.valid_step, (long long)st.step);
    CHECK(wn_trainer_last_validation(tc) == p.valid_every);
    while (wn_trainer_steps_done(tc) < p.steps) REQUIRE_OK(wn_trainer_step(tc, NULL, &err), &err);
    size_t n = wn_model_param_count(a);
    int same = memcmp(wn_model_params(a), wn_model_params(c), n * sizeof(float)) == 0;
    checks++;
    CHECKF(same, "a validation cut at step %d, resumed: the weights differ from the straight run",
           (int)p.valid_every);
    int64_t sa, sc;
    checks++;
    CHECK(wn_trainer_best(ta, &sa) == wn_trainer_best(tc, &sc) && sa == sc);
    fprintf(stderr, "  validation cut at step %d, resumed: run first as step %d's, %s\n",
            (int)p.valid_every, (int)p.valid_every, same ? "bit-identical" : "DIFFERENT");
    wn_trainer_free(ta);
    wn_trainer_free(tc);
    wn_model_free(a);
    wn_model_free(c);
}

/* ------------------------------------------------------------ checkpoints */

static void checkpoint_round_trip(void)
{
    const char *clip = periodic_clip();
    const char *files[] = {clip};
    wn_train_params p = resume_params();
    p.decay = WN_DECAY_STEP;
    p.decay_every = 9;
    p.decay_gamma = 0.25f;
    p.trim_db = 33.5f;
    p.trim_ends = WN_TRIM_START;
    p.seed = 0xfedcba9876543210ULL;
    p.speeds[0] = 0.9f;
    p.speeds[1] = 1.1f;
    wn_error err;
    wn_model *m = tiny_model(3);
    const char *bad_meta[] = {"steps", "7", NULL};
    p.meta = bad_meta; /* would shadow the checkpoint's own key */
    CHECK(wn_trainer_create(m, &p, files, 1, files, 1, &err) == NULL && err.code == WN_ERR_ARG);
    const char *meta[] = {"user.out", "somewhere/out.safetensors", "user.empty", "", NULL};
    p.meta = meta;
    wn_trainer *t = wn_trainer_create(m, &p, files, 1, files, 1, &err);
    REQUIRE(t);
    for (int i = 0; i < 8; i++) REQUIRE_OK(wn_trainer_step(t, NULL, &err), &err);
    const char *ck = tu_path("rt.ckpt");
    REQUIRE_OK(wn_trainer_save(t, ck, &err), &err);
    {
        char v[64];
        REQUIRE_OK(wn_checkpoint_meta(ck, "user.out", v, sizeof v, &err), &err);
        CHECK(!strcmp(v, "somewhere/out.safetensors"));
        REQUIRE_OK(wn_checkpoint_meta(ck, "user.empty", v, sizeof v, &err), &err);
        CHECK(v[0] == 0);
        CHECK(wn_checkpoint_meta(ck, "user.nope", v, sizeof v, &err) == WN_ERR_ARG && !v[0]);
        CHECK(wn_checkpoint_meta(ck, "user.out", v, 8, &err) == WN_ERR_RANGE);
    }

    /* a checkpoint is a model file too */
    wn_model *l = wn_model_load(ck, &err);
    REQUIRE(l);
    size_t n = wn_model_param_count(m);
    CHECK(memcmp(wn_model_params(l), wn_model_params(m), n * sizeof(float)) == 0);
    wn_model_free(l);

    wn_train_params q;
    int64_t step;
    char **tr = NULL, **va = NULL;
    int ntr = 0, nva = 0;
    REQUIRE_OK(wn_checkpoint_read(ck, &q, &step, &tr, &ntr, &va, &nva, &err), &err);
    CHECK(step == 8);
    CHECK(q.batch == p.batch && q.window == p.window && q.steps == p.steps);
    CHECK(q.lr == p.lr && q.warmup == p.warmup && q.decay == WN_DECAY_STEP);
    CHECK(q.decay_every == 9 && q.decay_gamma == 0.25f);
    CHECK(q.clip == p.clip && q.seed == p.seed && q.threads == p.threads);
    CHECK(q.trim_db == p.trim_db && q.gain_jitter_db == p.gain_jitter_db);
    CHECK(q.trim_ends == WN_TRIM_START);
    CHECK(q.max_clipped == p.max_clipped && q.gain_may_clip == p.gain_may_clip);
    CHECK(q.rescale_above == p.rescale_above);
    CHECK(!memcmp(q.speeds, p.speeds, sizeof q.speeds));
    CHECK(q.valid_every == p.valid_every && q.patience == p.patience);
    CHECK(q.optim.kind == p.optim.kind && q.optim.weight_decay == p.optim.weight_decay);
    CHECK(q.optim.beta2 == p.optim.beta2 && q.optim.eps == p.optim.eps);
    CHECK(ntr == 1 && nva == 1 && !strcmp(tr[0], clip) && !strcmp(va[0], clip));
    wn_list_free(tr, ntr);
    wn_list_free(va, nva);

    /* other audio under the clip's name is refused, naming the file; the
     * same audio read again resumes */
    {
        const char *other = tu_path("other-data.wav"), *moved = tu_path("moved.wav");
        float y[2000];
        for (int i = 0; i < 2000; i++) y[i] = (float)(0.3 * sin(2 * M_PI * i / 23.0));
        write_wav(other, y, 2000, 8000);
        REQUIRE(rename(clip, moved) == 0);
        REQUIRE(rename(other, clip) == 0);
        wn_model *mo = tiny_model(3);
        wn_trainer *to = wn_trainer_create(mo, &p, files, 1, files, 1, &err);
        REQUIRE(to);
        CHECK(wn_trainer_resume(to, ck, &err) == WN_ERR_ARG);
        CHECKF(strstr(err.message, "not the audio the run trained on") &&
               strstr(err.message, "periodic.wav"), "%s", err.message);
        CHECK(wn_trainer_steps_done(to) == 0);
        wn_trainer_free(to);
        REQUIRE(rename(moved, clip) == 0);
        to = wn_trainer_create(mo, &p, files, 1, files, 1, &err);
        REQUIRE(to);
        REQUIRE_OK(wn_trainer_resume(to, ck, &err), &err);
        CHECK(wn_trainer_steps_done(to) == 8);
        wn_trainer_free(to);
        wn_model_free(mo);
    }

    /* a plain model file is not a checkpoint; another optimizer cannot resume */
    const char *plain = tu_path("plain.safetensors");
    REQUIRE_OK(wn_model_save(m, plain, &err), &err);
    CHECK(wn_trainer_resume(t, plain, &err) == WN_ERR_FORMAT);
    CHECK(strstr(err.message, "not a training checkpoint") != NULL);
    CHECK(wn_checkpoint_read(plain, &q, NULL, NULL, NULL, NULL, NULL, &err) == WN_ERR_FORMAT);
    wn_train_params ps = p;
    ps.optim.kind = WN_OPT_SGD;
    wn_model *m2 = tiny_model(3);
    wn_trainer *t2 = wn_trainer_create(m2, &ps, files, 1, NULL, 0, &err);
    REQUIRE(t2);
    CHECK(wn_trainer_resume(t2, ck, &err) == WN_ERR_ARG);
    wn_trainer_free(t2);
    wn_model_free(m2);
    /* a model of another shape cannot resume it */
    wn_model *m3 = tu_small_model(256, 4, 2, 16, 16, 32, 3);
    wn_trainer *t3 = wn_trainer_create(m3, &p, files, 1, NULL, 0, &err);
    REQUIRE(t3);
    CHECK(wn_trainer_resume(t3, ck, &err) == WN_ERR_CONFIG);
    wn_trainer_free(t3);
    wn_model_free(m3);
    /* a truncated checkpoint is refused with the state untouched */
    FILE *f = fopen(ck, "rb");
    REQUIRE(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    REQUIRE(fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    const char *cut = tu_path("cut.ckpt");
    f = fopen(cut, "wb");
    fwrite(buf, 1, (size_t)size - 100, f);
    fclose(f);
    free(buf);
    float *before = malloc(n * sizeof(float));
    memcpy(before, wn_model_params(m), n * sizeof(float));
    CHECK(wn_trainer_resume(t, cut, &err) != WN_OK);
    CHECK(wn_trainer_steps_done(t) == 8);
    CHECK(memcmp(before, wn_model_params(m), n * sizeof(float)) == 0);
    free(before);
    checks++;
    wn_trainer_free(t);
    wn_model_free(m);
}

/* ------------------------------------------------------------ NaN */

static void nan_loss(void)
{
    const char *clip = periodic_clip();
    const char *files[] = {clip};
    wn_train_params p = wn_train_default_params();
    p.batch = 2;
    p.window = 32;
    p.optim.kind = WN_OPT_SGD;
    p.lr = 1e30f; /* blows the weights up */
    p.warmup = 0;
    p.clip = 0;
    p.trim_db = 0;
    wn_error err;
    wn_model *m = tiny_model(2);
    wn_trainer *t = wn_trainer_create(m, &p, files, 1, NULL, 0, &err);
    REQUIRE(t);
    size_t n = wn_model_param_count(m);
    float *good = malloc(n * sizeof(float));
    int rc = WN_OK, i;
    for (i = 0; i < 20 && rc == WN_OK; i++) {
        memcpy(good, wn_model_params(m), n * sizeof(float));
        rc = wn_trainer_step(t, NULL, &err);
    }
    CHECKF(rc == WN_ERR_NONFINITE, "rc %d (%s)", rc, err.message);
    CHECKF(strstr(err.message, "step ") != NULL, "message: %s", err.message);
    CHECK(memcmp(good, wn_model_params(m), n * sizeof(float)) == 0);
    int finite = 1;
    for (size_t j = 0; j < n; j++) finite &= isfinite(wn_model_params(m)[j]) != 0;
    CHECK(finite);
    fprintf(stderr, "  nan: stopped after %d good steps: %s\n", i - 1, err.message);
    checks++;
    free(good);
    wn_trainer_free(t);
    wn_model_free(m);
}

/* ------------------------------------------------------------ schedule */

static void schedule(void)
{
    wn_train_params p = wn_train_default_params();
    wn_error err;
    p.lr = 1.0f;
    p.warmup = 10;
    p.steps = 110;
    REQUIRE_OK(wn_decay_parse("cosine:0.2", &p, &err), &err);
    CHECK(fabsf(wn_train_lr(&p, 0) - 0.1f) < 1e-6f);
    CHECK(fabsf(wn_train_lr(&p, 9) - 1.0f) < 1e-6f);
    CHECK(fabsf(wn_train_lr(&p, 10) - 1.0f) < 1e-6f);
    CHECK(fabsf(wn_train_lr(&p, 60) - 0.6f) < 1e-6f);
    CHECK(fabsf(wn_train_lr(&p, 110) - 0.2f) < 1e-6f);
    CHECK(fabsf(wn_train_lr(&p, 500) - 0.2f) < 1e-6f);
    REQUIRE_OK(wn_decay_parse("linear", &p, &err), &err);
    CHECK(p.decay == WN_DECAY_LINEAR && p.decay_final == 0.1f);
    CHECK(fabsf(wn_train_lr(&p, 35) - (1 - 0.9f * 0.25f)) < 1e-6f);
    REQUIRE_OK(wn_decay_parse("step:20:0.5", &p, &err), &err);
    CHECK(wn_train_lr(&p, 29) == 1.0f && wn_train_lr(&p, 30) == 0.5f &&
          wn_train_lr(&p, 70) == 0.125f);
    REQUIRE_OK(wn_decay_parse("none", &p, &err), &err);
    CHECK(wn_train_lr(&p, 1000) == 1.0f);
    p.steps = 0; /* open-ended: cosine holds the peak */
    REQUIRE_OK(wn_decay_parse("cosine", &p, &err), &err);
    CHECK(wn_train_lr(&p, 1000) == 1.0f);
    char buf[64];
    wn_decay_format(&p, buf, sizeof buf);
    CHECKF(!strcmp(buf, "cosine:0.1"), "%s", buf);
    const char *bad[] = {"", "cos", "cosine:2", "step", "step:0", "step:1.5", "step:3:x",
                         "none:1", "linear:"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECKF(wn_decay_parse(bad[i], &p, &err) == WN_ERR_ARG, "'%s' accepted", bad[i]);
    checks++;
}

/* ------------------------------------------------------------ data */

static void data_handling(void)
{
    const char *clip = periodic_clip();
    wn_error err;
    /* list files: comments, blanks, relative and absolute paths */
    mkdir(tu_path("lists"), 0755);
    const char *list = tu_path("lists/train.txt");
    FILE *f = fopen(list, "w");
    fprintf(f, "# a comment\n\n  a.wav  \nsub/b.raw # trailing comment\n%s\r\n"
               "c d.wav \t spk_1 # a speaker after a tab\n", clip);
    fclose(f);
    char **paths = NULL, **spk = NULL;
    int n = 0;
    /* the speakers kept, or dropped */
    REQUIRE_OK(wn_list_read_speakers(list, &paths, &spk, &n, &err), &err);
    CHECK(n == 4 && !spk[0] && !spk[1] && !spk[2] && spk[3] && !strcmp(spk[3], "spk_1") &&
          strstr(paths[3], "lists/c d.wav") && paths[3][strlen(paths[3]) - 1] == 'v');
    wn_list_free(paths, n);
    wn_list_free(spk, n);
    paths = NULL;
    n = 0;
    REQUIRE_OK(wn_list_read(list, &paths, &n, &err), &err);
    CHECK(n == 4 && strstr(paths[3], "lists/c d.wav"));
    free(paths[3]);
    n = 3;
    if (n == 3) {
        char want[600];
        snprintf(want, sizeof want, "%s/a.wav", tu_path("lists"));
        CHECKF(!strcmp(paths[0], want), "%s", paths[0]);
        snprintf(want, sizeof want, "%s/sub/b.raw", tu_path("lists"));
        CHECKF(!strcmp(paths[1], want), "%s", paths[1]);
        CHECK(!strcmp(paths[2], clip));
    }
    wn_list_free(paths, n);
    CHECK(wn_list_read(tu_path("no-such-list.txt"), &paths, &n, &err) == WN_ERR_IO);

    /* trimming: 0.5 s of near silence (-70 dB) around 0.5 s of tone */
    float x[12000];
    for (int t = 0; t < 12000; t++) {
        int loud = t >= 4000 && t < 8000;
        x[t] = (float)((loud ? 0.5 : 1.5e-4) * sin(2 * M_PI * t / 37.0));
    }
    mkdir(tu_path("clips"), 0755);
    write_wav(tu_path("clips/b_trim.wav"), x, 12000, 8000);
    /* a short burst in silence: trimming leaves less than a window, skipped
     * (never a window of mostly silence) */
    for (int t = 0; t < 12000; t++) x[t] = t >= 6000 && t < 6100 ? 0.5f : 0.0f;
    write_wav(tu_path("clips/c_burst.wav"), x, 12000, 8000);
    /* too short even whole */
    write_wav(tu_path("clips/a_short.wav"), x, 100, 8000);
    f = fopen(tu_path("clips/notes.txt"), "w");
    fputs("not audio\n", f);
    fclose(f);
    /* sub-folders are searched; an all-silent clip is skipped as such */
    mkdir(tu_path("clips/d_sub"), 0755);
    memset(x, 0, sizeof x);
    write_wav(tu_path("clips/d_sub/silent.wav"), x, 12000, 8000);

    wn_model *m = tiny_model(4);
    wn_train_params p = wn_train_default_params();
    p.window = 1000;
    p.trim_db = 40;
    const char *dir[] = {tu_path("clips")};
    wn_trainer *t = wn_trainer_create(m, &p, dir, 1, NULL, 0, &err);
    REQUIRE(t);
    CHECK(wn_trainer_clip_count(t, 0) == 4); /* sorted, notes.txt skipped */
    const wn_clip_report *r0 = wn_trainer_clip(t, 0, 0), *r1 = wn_trainer_clip(t, 0, 1),
                         *r2 = wn_trainer_clip(t, 0, 2), *r3 = wn_trainer_clip(t, 0, 3);
    CHECK(r3 && strstr(r3->path, "d_sub/silent.wav") && r3->silent && r3->unusable);
    CHECK(r0 && strstr(r0->path, "a_short") && r0->unusable && r0->samples == 100);
    CHECK(r1 && strstr(r1->path, "b_trim") && !r1->unusable && !r1->silent);
    /* the tone starts at 4000; 20 ms (160 samples) of margin kept */
    CHECKF(r1->head >= 3835 && r1->head <= 3845, "head %lld", (long long)r1->head);
    CHECKF(r1->tail >= 3835 && r1->tail <= 3845, "tail %lld", (long long)r1->tail);
    CHECKF(r2 && strstr(r2->path, "c_burst") && r2->unusable && !r2->silent &&
           r2->samples - r2->head - r2->tail == 100 + 2 * 160, "burst kept %lld",
           (long long)(r2->samples - r2->head - r2->tail));
    CHECK(wn_trainer_data_samples(t, 0) == 12000 - r1->head - r1->tail);
    CHECK(wn_trainer_memory(t) > 0);
    wn_train_stats st;
    REQUIRE_OK(wn_trainer_step(t, &st, &err), &err);
    CHECK(st.step == 1 && isfinite(st.loss_bits) && st.samples == 8 * 1000);
    const int64_t head = r1->head, tail = r1->tail; /* the reports go with t */
    wn_trainer_free(t);

    /* one end only: the other end's silence is kept whole, and the data
     * holds exactly what is kept */
    for (int e = WN_TRIM_START; e <= WN_TRIM_END; e++) {
        wn_train_params q = p;
        q.trim_ends = (wn_trim_ends)e;
        const char *one[] = {tu_path("clips/b_trim.wav")};
        wn_trainer *u = wn_trainer_create(m, &q, one, 1, NULL, 0, &err);
        REQUIRE(u);
        const wn_clip_report *c = wn_trainer_clip(u, 0, 0);
        CHECKF(c->head == (e == WN_TRIM_START ? head : 0) &&
               c->tail == (e == WN_TRIM_END ? tail : 0), "trim_ends %s: head %lld tail %lld",
               wn_trim_ends_name((wn_trim_ends)e), (long long)c->head, (long long)c->tail);
        CHECK(wn_trainer_data_samples(u, 0) == 12000 - c->head - c->tail);
        wn_trainer_free(u);
    }
    CHECK(wn_trim_ends_parse("start") == WN_TRIM_START && wn_trim_ends_parse("both") == 0 &&
          wn_trim_ends_parse("end") == WN_TRIM_END && wn_trim_ends_parse("head") == -1 &&
          wn_trim_ends_parse(NULL) == -1);
    {
        wn_train_params q = p;
        q.trim_ends = (wn_trim_ends)3;
        CHECK(wn_trainer_create(m, &q, dir, 1, NULL, 0, &err) == NULL && err.code == WN_ERR_ARG);
    }

    /* no usable clip at all; no files; a missing file */
    const char *shorts[] = {tu_path("clips/a_short.wav")};
    CHECK(wn_trainer_create(m, &p, shorts, 1, NULL, 0, &err) == NULL);
    CHECKF(err.code == WN_ERR_AUDIO && strstr(err.message, "no usable training clip"), "%s",
           err.message);
    CHECK(wn_trainer_create(m, &p, NULL, 0, NULL, 0, &err) == NULL && err.code == WN_ERR_ARG);
    const char *missing[] = {tu_path("clips/missing.wav")};
    CHECK(wn_trainer_create(m, &p, missing, 1, NULL, 0, &err) == NULL);
    CHECKF(strstr(err.message, "missing.wav") != NULL, "%s", err.message);
    wn_model_free(m);
    checks++;
}

/* Speed perturbation: each clip is also trained on at each speed,
 * resampled. A 400 Hz tone at speeds 0.8 and 1.1 gives windows at 400,
 * 320 and 440 Hz (counted by zero crossings), about as often as each
 * copy's share of the window positions, and nothing else; each copy is
 * n / speed samples long. Bad speeds are refused. */
static void speed_perturbation(void)
{
    enum { N = 12000, T = 1000, B = 8, DRAWS = 100 };
    float *x = malloc(sizeof *x * N);
    REQUIRE(x);
    for (int t = 0; t < N; t++) x[t] = (float)(0.5 * sin(2 * M_PI * 400.0 * t / 8000.0));
    const char *path = tu_path("tone400.wav");
    write_wav(path, x, N, 8000);
    free(x);
    wn_model *m = tiny_model(5);
    wn_train_params p = wn_train_default_params();
    p.window = T;
    p.trim_db = 0;
    p.speeds[0] = 0.8f;
    p.speeds[1] = 1.1f;
    wn_error err;
    wn__files f[2];
    memset(f, 0, sizeof f);
    f[0].n = 1;
    f[0].path = malloc(sizeof *f[0].path);
    REQUIRE(f[0].path && (f[0].path[0] = strdup(path)));
    wn__data *d = wn__data_load(m, &p, f, &err);
    REQUIRE_OK(d ? WN_OK : err.code, &err);
    const double want = N / 0.8 + N / 1.1; /* 15,000 + 10,909 */
    CHECKF(wn__data_samples(d, 0) == N && fabs((double)wn__data_samples(d, 2) - want) <= 4,
           "%lld + %lld samples", (long long)wn__data_samples(d, 0),
           (long long)wn__data_samples(d, 2));
    const int rf = wn_model_receptive_field(m), len = rf + T;
    int *codes = malloc(sizeof *codes * B * (size_t)len);
    REQUIRE(codes);
    uint64_t rng = 7;
    int seen[3] = {0}, other = 0; /* 400, 320, 440 Hz: 100, 80, 110 crossings */
    const int cross[3] = {100, 80, 110};
    for (int k = 0; k < DRAWS; k++) {
        REQUIRE_OK(wn__data_draw(d, &rng, 0, B, codes, NULL, NULL, &err), &err);
        for (int b = 0; b < B; b++) {
            const int *c = codes + (size_t)b * len + rf; /* the predicted samples */
            int z = 0;
            for (int t = 1; t < T; t++)
                z += (wn_mulaw_decode(c[t - 1], 256) < 0) != (wn_mulaw_decode(c[t], 256) < 0);
            int i = 0;
            while (i < 3 && abs(z - cross[i]) > 2) i++;
            if (i < 3) seen[i]++;
            else other++;
        }
    }
    /* window positions: n - T + 1 per clip, 11,001 : 14,001 : 9,910 */
    const double pos[3] = {N - T + 1, N / 0.8 - T + 1, N / 1.1 - T + 1};
    for (int i = 0; i < 3; i++) {
        double expect = B * DRAWS * pos[i] / (pos[0] + pos[1] + pos[2]);
        CHECKF(fabs(seen[i] - expect) < 5 * sqrt(expect), "%d Hz: %d windows, %.0f expected",
               (int)(cross[i] * 4), seen[i], expect);
    }
    CHECKF(other == 0, "%d windows at no speed", other);
    free(codes);
    wn__data_free(d);

    /* refused: out of range, 1, twice */
    const char *files[] = {path};
    const float bad[][2] = {{0.4f, 0}, {1.0f, 0}, {1.1f, 1.1f}, {2.5f, 0}};
    for (int i = 0; i < 4; i++) {
        wn_train_params q = p;
        memset(q.speeds, 0, sizeof q.speeds);
        q.speeds[0] = bad[i][0];
        q.speeds[1] = bad[i][1];
        CHECKF(wn_trainer_create(m, &q, files, 1, NULL, 0, &err) == NULL &&
               err.code == WN_ERR_ARG && strstr(err.message, "speed"), "case %d: %s", i,
               err.message);
    }
    wn_model_free(m);
    checks++;
}

/* Training memory grows with batch x window, not with the data: the clips
 * wait in a temporary file. The heap a trainer holds with a 50 s clip (for
 * training and for validation) against a 1.5 s one: 3.2 MB more when the
 * clips were kept in memory, a few KB now. (glibc's count of the heap in
 * use; ASan's allocator keeps its own.) */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_COUNTED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_COUNTED 0
#endif
#endif
#ifndef HEAP_COUNTED
#define HEAP_COUNTED 1
#endif
static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void memory_vs_data(void)
{
    if (!HEAP_COUNTED) return;
    enum { LONG = 400000, SHORT = 12000 };
    float *x = malloc(sizeof(float) * LONG);
    REQUIRE(x);
    for (int t = 0; t < LONG; t++) x[t] = (float)(0.3 * sin(t * 0.05) + 0.1 * sin(t * 0.0131));
    write_wav(tu_path("mem-long.wav"), x, LONG, 8000);
    write_wav(tu_path("mem-short.wav"), x, SHORT, 8000);
    free(x);
    wn_model *m = tiny_model(6);
    wn_train_params p = wn_train_default_params();
    p.window = 1000;
    p.batch = 2;
    p.threads = 1;
    size_t held[2];
    for (int k = 0; k < 2; k++) {
        const char *clip[] = {tu_path(k ? "mem-long.wav" : "mem-short.wav")};
        wn_error err;
        size_t h0 = heap_in_use();
        wn_trainer *t = wn_trainer_create(m, &p, clip, 1, clip, 1, &err);
        REQUIRE(t);
        wn_train_stats st;
        REQUIRE_OK(wn_trainer_step(t, &st, &err), &err);
        REQUIRE_OK(wn_trainer_validate(t, &st, &err), &err);
        held[k] = heap_in_use() - h0;
        wn_trainer_free(t);
    }
    fprintf(stderr, "  heap held by a trainer: %zu bytes with a 1.5 s clip, %zu with 50 s\n",
            held[0], held[1]);
    CHECKF(held[1] < held[0] + 64 * 1024, "a 50 s clip held %zu bytes more than a 1.5 s one",
           held[1] - held[0]);
    wn_model_free(m);
    checks++;
}

/* ------------------------------------------------------------ the command */

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

/* run the command with stderr captured (stdout dropped); returns the status */
static int run_err(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int run_err(char *out, size_t size, const char *fmt, ...)
{
    char cmd[4096], args[3500];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(cmd, sizeof cmd, "%s train %s 2>&1 >/dev/null", tu_wavenet(), args);
    return tu_run(cmd, out, size);
}

static void bad_input_case(const char *what, const char *expect, int rc, const char *out)
{
    CHECKF(rc != 0, "%s: exit status 0", what);
    CHECKF(count_lines(out) == 1, "%s: %d lines: %s", what, count_lines(out), out);
    CHECKF(strstr(out, expect) != NULL, "%s: '%s' not in: %s", what, expect, out);
    fprintf(stderr, "  cli %-22s -> %s", what, out);
}

static void cli(void)
{
    const char *clip = periodic_clip();
    wn_error err;
    wn_model *m = tiny_model(8);
    /* tu_path's buffers rotate: keep copies */
    char model[512], out[512], csv[512], ck[512], ck2[512], tiny[512];
    snprintf(model, sizeof model, "%s", tu_path("cli_model.safetensors"));
    snprintf(out, sizeof out, "%s", tu_path("cli_out.safetensors"));
    snprintf(csv, sizeof csv, "%s", tu_path("cli_log.csv"));
    snprintf(ck, sizeof ck, "%s", tu_path("cli.ckpt"));
    snprintf(ck2, sizeof ck2, "%s", tu_path("cli_int.ckpt"));
    snprintf(tiny, sizeof tiny, "%s", tu_path("ten_samples.wav"));
    REQUIRE_OK(wn_model_save(m, model, &err), &err);
    wn_model_free(m);
    char buf[8192];
    int rc;

    rc = run_err(buf, sizeof buf, "-m %s -o %s --steps 2", model, out);
    bad_input_case("no training files", "no training files", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2", model, out,
                 tu_path("nope.wav"));
    bad_input_case("missing file", "nope.wav", rc, buf);
    float x[10] = {0.1f, -0.2f, 0.3f, 0, 0.1f, 0.5f, -0.5f, 0.2f, 0.1f, 0};
    write_wav(tiny, x, 10, 8000);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2", model, out, tiny);
    CHECKF(rc != 0 && strstr(buf, "no usable training clip") && strstr(buf, "receptive field"),
           "short clip: %s", buf);
    fprintf(stderr, "  cli %-22s -> %s", "clip shorter than RF", buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2", clip, out, clip);
    bad_input_case("model not a model", "periodic.wav", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o /nonexistent-dir/out.safetensors --train %s "
                 "--steps 2", model, clip);
    bad_input_case("non-writable -o", "/nonexistent-dir", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2", model, tu_tmpdir(), clip);
    bad_input_case("-o is a folder", "folder", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --decay cosine:7", model, out, clip);
    bad_input_case("bad --decay", "--decay", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --optimizer lamb", model, out, clip);
    bad_input_case("bad --optimizer", "lamb", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --speed-perturb 0.9,3", model, out,
                 clip);
    bad_input_case("bad --speed-perturb", "--speed-perturb", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --speed-perturb 1", model, out, clip);
    bad_input_case("--speed-perturb 1", "speed 1", rc, buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --trim-ends head", model, out, clip);
    bad_input_case("bad --trim-ends", "--trim-ends 'head'", rc, buf);
    struct stat st;
    CHECK(stat(out, &st) != 0); /* nothing written by any of them */

    /* the trimming: one summary line by default; with --verbose a line
     * for every training file, one with nothing to trim too; with --quiet
     * only the result (on stdout, dropped here) */
    {
        const char *mode[3] = {"", "--verbose", "--quiet"};
        char o2[600];
        snprintf(o2, sizeof o2, "%s.ckpt", out);
        for (int k = 0; k < 3; k++) {
            rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s %s %s --steps 1 --batch 1 "
                         "--window 64 --threads 1", model, out, clip, clip, mode[k]);
            int per_file = strstr(buf, "no silence to trim at its ends") != NULL;
            int summary = strstr(buf, "read 2 training files") != NULL;
            CHECKF(rc == 0 && per_file == (k == 1) && summary == (k != 2) &&
                   (k != 2 || !*buf), "trim report %s: %s", mode[k], buf);
            unlink(out);
            unlink(o2);
        }
        /* --trim-ends start: the summary names the end cut */
        rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 1 --batch 1 --window 64 "
                     "--threads 1 --trim-ends start", model, out, clip);
        CHECKF(rc == 0 && strstr(buf, "trim at their start"), "--trim-ends start: %s", buf);
        /* info on its checkpoint shows how the clips were read */
        char cmd[1500];
        snprintf(cmd, sizeof cmd, "%s info -m %s 2>&1", tu_wavenet(), o2);
        rc = tu_run(cmd, buf, sizeof buf);
        CHECKF(rc == 0 && strstr(buf, "clips:            silence 40 dB under each clip's peak "
                                      "cut at the start (--trim-db 40 --trim-ends start "
                                      "--gain-jitter 0)\n"),
               "info on a --trim-ends start checkpoint: %s", buf);
        snprintf(cmd, sizeof cmd, "%s info --json -m %s 2>&1", tu_wavenet(), o2);
        rc = tu_run(cmd, buf, sizeof buf);
        CHECKF(rc == 0 && strstr(buf, "\"trim_db\":40,\"trim_ends\":\"start\","
                                      "\"gain_jitter_db\":0,"),
               "info --json on a --trim-ends start checkpoint: %s", buf);
        unlink(out);
        unlink(o2);
    }

    /* a real short run with a log, then resumed to more steps */
    rc = run_err(buf, sizeof buf,
                 "-m %s -o %s --train %s --valid %s --steps 20 --batch 4 --window 64 "
                 "--valid-every 10 --checkpoint %s --log %s --threads 2 --trim-db 0 "
                 "--print-every 0", model, out, clip, clip, ck, csv);
    CHECKF(rc == 0, "run: %s", buf);
    CHECKF(strstr(buf, "memory estimate") != NULL, "no memory estimate: %s", buf);
    CHECKF(strstr(buf, "step 20/20") != NULL, "no progress line: %s", buf);
    CHECK(stat(out, &st) == 0 && stat(ck, &st) == 0);
    {
        char cmd[1500];
        snprintf(cmd, sizeof cmd, "%s info -m %s 2>&1", tu_wavenet(), ck);
        rc = tu_run(cmd, buf, sizeof buf);
        CHECKF(rc == 0 && strstr(buf, "clips:            whole (no silence cut) (--trim-db 0 "),
               "info on a --trim-db 0 checkpoint: %s", buf);
    }
    FILE *f = fopen(csv, "r");
    CHECK(f != NULL);
    if (f) {
        size_t got = fread(buf, 1, sizeof buf - 1, f);
        buf[got] = 0;
        fclose(f);
        CHECKF(!strncmp(buf, "step,seconds,train_bits,valid_bits,samples_per_s,lr,grad_norm,eta_s\n",
                        68) && count_lines(buf) >= 3, "csv: %s", buf);
        /* a row per step (--print-every 0); a validation figure only on the
         * rows of the steps validated, 10 and 20, not repeated after them */
        int rows = 0, with_valid = 0, wrong = 0;
        for (char *line = strchr(buf, '\n'); line && line[1]; line = strchr(line + 1, '\n')) {
            long stp = strtol(line + 1, NULL, 10);
            const char *f = line + 1;
            for (int c = 0; c < 3 && f; c++) f = strchr(f, ',') ? strchr(f, ',') + 1 : NULL;
            int has = f && *f != ',';
            rows++;
            with_valid += has;
            wrong += has != (stp == 10 || stp == 20);
        }
        checks++;
        CHECKF(rows == 20 && with_valid == 2 && !wrong,
               "csv: %d rows, %d with a validation figure, %d on the wrong rows: %s", rows,
               with_valid, wrong, buf);
    }
    rc = run_err(buf, sizeof buf, "-o %s --resume %s --steps 30 --checkpoint %s", out, ck, ck);
    CHECKF(rc == 0 && strstr(buf, "resuming") && strstr(buf, "step 30/30"), "resume: %s", buf);
    int64_t step = 0;
    CHECK(wn_checkpoint_read(ck, NULL, &step, NULL, NULL, NULL, NULL, &err) == WN_OK &&
          step == 30);

    /* through the command: 24 steps straight, or 11 then --resume with no
     * other flag (the settings come from the checkpoint) */
    const char *common = "--batch 4 --window 64 --valid-every 5 --threads 2 --gain-jitter 3 "
                         "--lr 0.002 --decay step:7:0.5 --weight-decay 0.01 --seed 77 "
                         "--optimizer nesterov --clip 0.3 --warmup 3";
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --valid %s --steps 24 "
                 "--checkpoint %s %s", model, tu_path("s.st"), clip, clip, tu_path("s.ckpt"),
                 common);
    CHECKF(rc == 0, "straight: %s", buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --valid %s --steps 11 "
                 "--checkpoint %s %s", model, tu_path("r.st"), clip, clip, tu_path("r.ckpt"),
                 common);
    CHECKF(rc == 0, "first half: %s", buf);
    rc = run_err(buf, sizeof buf, "-o %s --resume %s --steps 24 --checkpoint %s",
                 tu_path("r.st"), tu_path("r.ckpt"), tu_path("r.ckpt"));
    CHECKF(rc == 0, "second half: %s", buf);
    {
        const char *pairs[2][2] = {{"s.ckpt", "r.ckpt"}, {"s.st", "r.st"}};
        for (int k = 0; k < 2; k++) {
            wn_model *a = wn_model_load(tu_path(pairs[k][0]), &err);
            wn_model *b = wn_model_load(tu_path(pairs[k][1]), &err);
            CHECK(a && b);
            if (a && b) {
                int same = memcmp(wn_model_params(a), wn_model_params(b),
                                  wn_model_param_count(a) * sizeof(float)) == 0;
                CHECKF(same, "cli resume: %s differs from %s", pairs[k][1], pairs[k][0]);
                fprintf(stderr, "  cli resume (11 + 13 steps vs 24): %s %s\n", pairs[k][1],
                        same ? "bit-identical" : "DIFFERENT");
            }
            wn_model_free(a);
            wn_model_free(b);
        }
    }

    /* --minutes: the schedule's length is estimated and kept in the checkpoint */
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --minutes 0.03 --batch 2 "
                 "--window 64 --checkpoint %s --trim-db 0 --gain-may-clip --max-clipped 2.5 "
                 "--rescale-above 3",
                 model, tu_path("min.st"), clip, tu_path("min.ckpt"));
    {
        wn_train_params q;
        int64_t s2 = 0;
        int ok = wn_checkpoint_read(tu_path("min.ckpt"), &q, &s2, NULL, NULL, NULL, NULL,
                                    &err) == WN_OK;
        CHECKF(rc == 0 && strstr(buf, "--minutes 0.03: about") && ok && q.steps > 0 && s2 > 0 &&
               s2 <= q.steps, "--minutes: rc %d, steps %lld of %lld: %s", rc, (long long)s2,
               ok ? (long long)q.steps : -1LL, buf);
        /* and the data flags, as the run read its data */
        CHECKF(ok && q.gain_may_clip == 1 && q.max_clipped == 0.025f && q.rescale_above == 3,
               "--gain-may-clip --max-clipped 2.5 --rescale-above 3: %d %g %g",
               ok ? q.gain_may_clip : -1, ok ? q.max_clipped : -1, ok ? q.rescale_above : -1);
        fprintf(stderr, "  cli --minutes 0.03: %lld steps (schedule %lld)\n", (long long)s2,
                ok ? (long long)q.steps : -1LL);
    }

    /* SIGINT once training runs: a checkpoint at the end of the step, exit 0 */
    char errf[512], cmd[4096];
    snprintf(errf, sizeof errf, "%s", tu_path("cli_int.err"));
    snprintf(cmd, sizeof cmd,
             "%s train -m %s -o %s --train %s --steps 100000000 --batch 2 --window 64 "
             "--checkpoint %s --trim-db 0 --print-every 1000 2>%s >/dev/null & pid=$!; "
             "i=0; while [ $i -lt 600 ] && ! grep -qs '^step ' %s; do sleep 0.1; i=$((i+1)); done; "
             "sleep 0.5; kill -INT $pid; wait $pid; echo $?",
             tu_wavenet(), model, tu_path("cli_int.safetensors"), clip, ck2, errf, errf);
    rc = tu_run(cmd, buf, sizeof buf);
    int status = atoi(buf);
    FILE *ef = fopen(errf, "r");
    size_t got = ef ? fread(buf, 1, sizeof buf - 1, ef) : 0;
    buf[got] = 0;
    if (ef) fclose(ef);
    CHECKF(rc == 0 && status == 0 && strstr(buf, "interrupted at step"),
           "SIGINT: status %d: %s", status, buf);
    /* the last progress line gives the time the run still needs, not 0 */
    checks++;
    CHECKF(strstr(buf, "ETA ") && !strstr(buf, "ETA 0s"), "SIGINT: last line: %s", buf);
    step = 0;
    CHECK(wn_checkpoint_read(ck2, NULL, &step, NULL, NULL, NULL, NULL, &err) == WN_OK &&
          step > 0);
    fprintf(stderr, "  cli SIGINT while training: exit %d, checkpoint at step %lld\n", status,
            (long long)step);
    checks++;
}

/* Steps of a CSV log's training rows (not a validation's), in order;
 * returns how many. */
static int log_steps(const char *path, long *steps, int most)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f) && n < most) {
        char *end;
        long s = strtol(line, &end, 10);
        const char *c = end + 1; /* the training rows: train_bits, the third field */
        if (end != line && *end == ',' && (c = strchr(c, ',')) && c[1] != ',') steps[n++] = s;
    }
    fclose(f);
    return n;
}

/* 1 if the weights of two files (models or checkpoints) are bit for bit the same */
static int same_weights(const char *a, const char *b)
{
    wn_error err;
    wn_model *ma = wn_model_load(a, &err), *mb = wn_model_load(b, &err);
    int same = ma && mb && wn_model_param_count(ma) == wn_model_param_count(mb) &&
               !memcmp(wn_model_params(ma), wn_model_params(mb),
                       wn_model_param_count(ma) * sizeof(float));
    wn_model_free(ma);
    wn_model_free(mb);
    return same;
}

/* --keep-weights DIR: a weights file at every checkpoint and at the end,
 * each the checkpoint's weights of its step; a resumed run keeps on in
 * the same folder; a folder that cannot be one is one line, before work. */
static void cli_keep_weights(void)
{
    const char *clip = periodic_clip();
    wn_error err;
    char model[512], out[512], ck[600], dir[512], kept[700], buf[8192], cmd[1200];
    snprintf(model, sizeof model, "%s", tu_path("k_model.safetensors"));
    snprintf(out, sizeof out, "%s", tu_path("k_out.safetensors"));
    snprintf(ck, sizeof ck, "%s.ckpt", out);
    snprintf(dir, sizeof dir, "%s", tu_path("k_kept"));
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
    wn_model *m = tiny_model(5);
    REQUIRE_OK(wn_model_save(m, model, &err), &err);
    wn_model_free(m);

    int rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --valid %s --steps 7 --batch 2 "
                     "--window 64 --print-every 0 --checkpoint-every 3 --keep-weights %s",
                     model, out, clip, clip, dir);
    CHECKF(rc == 0, "--keep-weights run: %s", buf);
    const int want[] = {3, 6, 7};
    for (int i = 0; i < 3; i++) {
        snprintf(kept, sizeof kept, "%s/step-%d.safetensors", dir, want[i]);
        struct stat st;
        CHECKF(stat(kept, &st) == 0, "no %s", kept);
    }
    snprintf(kept, sizeof kept, "%s/step-7.safetensors", dir);
    CHECKF(same_weights(kept, ck), "%s differs from the checkpoint of step 7", kept);
    /* steps 1, 2, 4, 5 were not checkpointed, so not kept */
    snprintf(kept, sizeof kept, "%s/step-4.safetensors", dir);
    CHECKF(access(kept, F_OK) != 0, "%s kept without a checkpoint", kept);

    /* resumed without the flag: the checkpoint says where it keeps them */
    rc = run_err(buf, sizeof buf, "--resume %s --steps 9 --print-every 0", ck);
    snprintf(kept, sizeof kept, "%s/step-9.safetensors", dir);
    CHECKF(rc == 0 && same_weights(kept, ck), "resumed run's %s: %s", kept, buf);
    snprintf(kept, sizeof kept, "%s/step-8.safetensors", dir);
    CHECKF(access(kept, F_OK) != 0, "%s kept without a checkpoint", kept);

    /* the recorded folder gone and a file in its place (a checkpoint moved
     * to another machine): one line that says where the path came from;
     * --keep-weights none resumes without, and the checkpoint forgets it */
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && touch '%s'", dir, dir);
    REQUIRE(system(cmd) == 0);
    rc = run_err(buf, sizeof buf, "--resume %s --steps 10 --quiet", ck);
    const char *line = strstr(buf, "wavenet: --keep-weights");
    const char *eol = line ? strchr(line, '\n') : NULL;
    const char *hint = line ? strstr(line, "from its checkpoint") : NULL;
    int64_t at = 0;
    CHECKF(rc != 0 && hint && (!eol || hint < eol) && strstr(line, "none") &&
           wn_checkpoint_read(ck, NULL, &at, NULL, NULL, NULL, NULL, &err) == WN_OK && at == 9,
           "resume into a lost folder (step %lld): %s", (long long)at, buf);
    rc = run_err(buf, sizeof buf, "--resume %s --steps 10 --print-every 0 --keep-weights none",
                 ck);
    char rec[64] = "?";
    CHECKF(rc == 0 && wn_checkpoint_meta(ck, "user.keep_weights", rec, sizeof rec, NULL) ==
           WN_OK && !rec[0], "--keep-weights none: '%s': %s", rec, buf);
    rc = run_err(buf, sizeof buf, "--resume %s --steps 11 --print-every 0", ck);
    CHECKF(rc == 0, "resume after none: %s", buf);
    unlink(dir);

    /* a file where the folder should be: one line, no step run */
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2 --batch 2 --window 64 "
                 "--keep-weights %s", model, tu_path("k_out2.safetensors"), clip, model);
    CHECKF(rc != 0 && strstr(buf, "--keep-weights") && count_lines(buf) == 1 &&
           access(tu_path("k_out2.safetensors.ckpt"), F_OK) != 0,
           "--keep-weights over a file: %s", buf);
}

/* The command's guards around a run: --resume alone, its log carried on
 * without repeated rows, the warm-up of a short run, no output over an
 * input, one run per output, a checkpoint left by a failed run. */
static void cli_guards(void)
{
    const char *clip = periodic_clip();
    wn_error err;
    char model[512], out[512], csv[512], ck[600], buf[8192], cmd[8192];
    snprintf(model, sizeof model, "%s", tu_path("g_model.safetensors"));
    snprintf(out, sizeof out, "%s", tu_path("g_out.safetensors"));
    snprintf(csv, sizeof csv, "%s", tu_path("g_log.csv"));
    snprintf(ck, sizeof ck, "%s.ckpt", out);
    wn_model *m = tiny_model(8);
    REQUIRE_OK(wn_model_save(m, model, &err), &err);
    wn_model_free(m);

    /* a short run: the warm-up scaled to it, and said */
    int rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --valid %s --steps 10 --batch 2 "
                     "--window 64 --log %s --print-every 0 --checkpoint-every 5", model, out,
                     clip, clip, csv);
    CHECKF(rc == 0 && strstr(buf, "warm-up of 1 steps, a tenth of this short run"),
           "short run: %s", buf);
    /* a run that went on past its last checkpoint before it died left rows
     * 11 and 12; --resume alone finds -o, the checkpoint and the log, and
     * writes each step's row once */
    FILE *f = fopen(csv, "a");
    REQUIRE(f);
    fputs("11,1.0,5.0,,100,0.001,0.5,1\n12,1.1,5.0,,100,0.001,0.5,1\n", f);
    fclose(f);
    rc = run_err(buf, sizeof buf, "--resume %s --steps 15 --print-every 0", ck);
    CHECKF(rc == 0 && strstr(buf, "appending to the run's log") && strstr(buf, "step 15/15"),
           "--resume alone: %s", buf);
    long steps[64];
    int n = log_steps(csv, steps, 64), dup = 0;
    for (int i = 1; i < n; i++) dup += steps[i] <= steps[i - 1];
    CHECKF(n == 15 && steps[0] == 1 && steps[14] == 15 && !dup,
           "resumed log: %d rows, %d out of order or repeated", n, dup);
    int64_t step = 0;
    CHECK(wn_checkpoint_read(ck, NULL, &step, NULL, NULL, NULL, NULL, &err) == WN_OK &&
          step == 15);
    /* ... and checkpoints as often as the run did, which the checkpoint keeps */
    char every[32] = "";
    CHECKF(strstr(buf, "a checkpoint every 5 steps, as the run had it") &&
           wn_checkpoint_meta(ck, "user.checkpoint_every", every, sizeof every, NULL) == WN_OK &&
           !strcmp(every, "5"), "--resume kept --checkpoint-every: '%s': %s", every, buf);
    rc = run_err(buf, sizeof buf, "--resume %s --steps 16 --print-every 0 --checkpoint-every 7",
                 ck);
    CHECKF(rc == 0 && !strstr(buf, "as the run had it") &&
           wn_checkpoint_meta(ck, "user.checkpoint_every", every, sizeof every, NULL) == WN_OK &&
           !strcmp(every, "7"), "--resume --checkpoint-every 7: '%s': %s", every, buf);
    /* info on the checkpoint says where the run stands; on its best model
     * (a plain model file) it does not */
    snprintf(cmd, sizeof cmd, "%s info -m %s 2>&1", tu_wavenet(), ck);
    rc = tu_run(cmd, buf, sizeof buf);
    CHECKF(rc == 0 && strstr(buf, "checkpoint:       step 16 of 16") &&
               strstr(buf, "batch 2 x window 64") &&
               strstr(buf, "1 training file, 1 validation file") &&
               strstr(buf, "clips:            silence 40 dB under each clip's peak cut at both "
                           "ends (--trim-db 40 --trim-ends both --gain-jitter 0)\n"),
           "info on a checkpoint: %s", buf);
    snprintf(cmd, sizeof cmd, "%s info --json -m %s 2>&1", tu_wavenet(), ck);
    rc = tu_run(cmd, buf, sizeof buf);
    CHECKF(rc == 0 && strstr(buf, "\"checkpoint\":{\"step\":16,\"total_steps\":16,") &&
               strstr(buf, "\"train_files\":1,\"valid_files\":1,\"speeds\":[]}}"),
           "info --json on a checkpoint: %s", buf);
    snprintf(cmd, sizeof cmd, "%s info -m %s 2>&1", tu_wavenet(), out);
    rc = tu_run(cmd, buf, sizeof buf);
    CHECKF(rc == 0 && strstr(buf, "parameters:") && !strstr(buf, "checkpoint:"),
           "info on a model: %s", buf);
    /* --speed-perturb on a resume: said at the start, kept in the
     * checkpoint, shown by info; "none" turns it off again */
    rc = run_err(buf, sizeof buf, "--resume %s --steps 17 --print-every 0 --speed-perturb 0.9,1.1",
                 ck);
    CHECKF(rc == 0 && strstr(buf, "speed perturbation 0.9, 1.1: copies of the clips"),
           "--speed-perturb: %s", buf);
    snprintf(cmd, sizeof cmd, "%s info -m %s 2>&1", tu_wavenet(), ck);
    rc = tu_run(cmd, buf, sizeof buf);
    CHECKF(rc == 0 && strstr(buf, "the training clips also at speeds 0.9, 1.1\n"),
           "info after --speed-perturb: %s", buf);
    rc = run_err(buf, sizeof buf, "--resume %s --steps 18 --print-every 0", ck);
    CHECKF(rc == 0 && strstr(buf, "speed perturbation 0.9, 1.1"), "kept on resume: %s", buf);
    rc = run_err(buf, sizeof buf, "--resume %s --steps 19 --print-every 0 --speed-perturb none",
                 ck);
    CHECKF(rc == 0 && !strstr(buf, "speed perturbation"), "--speed-perturb none: %s", buf);
    snprintf(cmd, sizeof cmd, "%s info --json -m %s 2>&1", tu_wavenet(), ck);
    rc = tu_run(cmd, buf, sizeof buf);
    CHECKF(rc == 0 && strstr(buf, "\"speeds\":[]}}"), "info --json after none: %s", buf);

    /* an output that is an input, under another name: refused, untouched */
    char link[512];
    snprintf(link, sizeof link, "%s", tu_path("g_link.wav"));
    unlink(link);
    REQUIRE(symlink(clip, link) == 0);
    struct stat before, after;
    REQUIRE(stat(clip, &before) == 0);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2", model, link, clip);
    CHECKF(rc != 0 && strstr(buf, "is the same file as the input") && count_lines(buf) == 1,
           "-o over a training file: %s", buf);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2 --log %s", model,
                 tu_path("g_o2.st"), clip, model);
    CHECKF(rc != 0 && strstr(buf, "--log") && strstr(buf, "same file"), "--log over -m: %s",
           buf);
    REQUIRE(stat(clip, &after) == 0);
    CHECK(after.st_mtime == before.st_mtime && after.st_size == before.st_size);

    /* a second run on the same output while the first holds it */
    char lock[512];
    snprintf(lock, sizeof lock, "%s", tu_path(".g_busy.st.lock"));
    int lfd = open(lock, O_RDWR | O_CREAT, 0666);
    REQUIRE(lfd >= 0 && flock(lfd, LOCK_EX) == 0);
    rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --steps 2", model,
                 tu_path("g_busy.st"), clip);
    CHECKF(rc != 0 && strstr(buf, "another wavenet is writing it"), "locked -o: %s", buf);
    close(lfd);

    /* a run that fails at step 50 (a folder appeared at -o before its first
     * validation could save there) leaves a checkpoint of step 50 */
    char o3[512], ck3[512], log3[512];
    snprintf(o3, sizeof o3, "%s", tu_path("g_fail.st"));
    snprintf(ck3, sizeof ck3, "%s", tu_path("g_fail.ckpt"));
    snprintf(log3, sizeof log3, "%s", tu_path("g_fail.csv"));
    snprintf(cmd, sizeof cmd,
             "%s train -m %s -o %s --train %s --valid %s --steps 80 --valid-every 50 --batch 2 "
             "--window 64 --checkpoint %s --checkpoint-every 1000 --log %s --print-every 0 "
             "2>&1 >/dev/null & pid=$!; "
             "i=0; while [ $i -lt 3000 ] && [ \"$(wc -l < %s 2>/dev/null || echo 0)\" -lt 2 ]; "
             "do sleep 0.01; i=$((i+1)); done; kill -STOP $pid; mkdir %s; kill -CONT $pid; "
             "wait $pid; echo \"exit=$?\"",
             tu_wavenet(), model, o3, clip, clip, ck3, log3, log3, o3);
    rc = tu_run(cmd, buf, sizeof buf);
    step = 0;
    CHECKF(strstr(buf, "exit=1") && strstr(buf, "holds step 50") &&
           strstr(buf, "--resume") && wn_checkpoint_read(ck3, NULL, &step, NULL, NULL, NULL,
                                                         NULL, &err) == WN_OK && step == 50,
           "failed run's checkpoint: step %lld: %s", (long long)step, buf);
    rmdir(o3);
    checks++;
}

/* ------------------------------------------------------------ clipping */

/* 0.5 s at 8 kHz of a 440 Hz tone in seeded noise */
static const char *noisy_clip(void)
{
    static char path[512];
    if (path[0]) return path;
    snprintf(path, sizeof path, "%s", tu_path("noisy.wav"));
    float x[4000];
    uint64_t s = 99;
    for (int t = 0; t < 4000; t++)
        x[t] = (float)(0.4 * sin(2 * M_PI * 440.0 * t / 8000.0) +
                       0.2 * (wn__uniform_for_tests(&s) - 0.5));
    write_wav(path, x, 4000, 8000);
    return path;
}

/* One SGD step at a fixed lr with global-norm limit `clip` (0 = off) from
 * tiny_model(3): the weight change (malloc'ed) and the step's stats. */
static float *one_sgd_step(float clip, float lr, wn_train_stats *st)
{
    const char *files[] = {noisy_clip()};
    wn_model *m = tiny_model(3);
    const size_t n = wn_model_param_count(m);
    float *d = malloc(sizeof(float) * n);
    REQUIRE(d);
    memcpy(d, wn_model_params(m), sizeof(float) * n);
    wn_train_params p = wn_train_default_params();
    p.batch = 2;
    p.window = 128;
    p.steps = 1;
    p.lr = lr;
    p.warmup = 0;
    p.decay = WN_DECAY_NONE;
    p.clip = clip;
    p.optim.kind = WN_OPT_SGD;
    p.valid_every = 0;
    p.trim_db = 0;
    p.threads = 2;
    p.seed = 42;
    wn_error err;
    wn_trainer *t = wn_trainer_create(m, &p, files, 1, NULL, 0, &err);
    REQUIRE(t);
    REQUIRE_OK(wn_trainer_step(t, st, &err), &err);
    const float *w = wn_model_params(m);
    for (size_t i = 0; i < n; i++) d[i] = w[i] - d[i];
    wn_trainer_free(t);
    wn_model_free(m);
    return d;
}

/* Global-norm clipping seen through the trainer: with SGD the change of
 * the weights is -lr * (the gradient after clipping), so a clipped step is
 * the unclipped one scaled by clip / norm, grad_norm is the norm before
 * clipping (|unclipped change| / lr), and a limit above the norm is a no-op. */
static void clipping(void)
{
    const float lr = 0.5f; /* large enough that the change is not lost in the weights' rounding */
    wn_model *m = tiny_model(3);
    const size_t n = wn_model_param_count(m);
    float *w0 = malloc(sizeof(float) * n);
    REQUIRE(w0);
    memcpy(w0, wn_model_params(m), sizeof(float) * n);
    wn_model_free(m);

    wn_train_stats su, sc, sl;
    float *du = one_sgd_step(0, lr, &su);
    const double norm = su.grad_norm;
    REQUIRE(isfinite(norm) && norm > 0);
    CHECKF(su.lr == lr, "lr %g, expected %g (warmup 0, no decay)", su.lr, lr);
    /* grad_norm = |change| / lr; the change is a float difference of
     * weights, each exact to half an ulp of the weight */
    double ss = 0, ulps = 0;
    for (size_t i = 0; i < n; i++) {
        ss += (double)du[i] * du[i];
        ulps += ldexp(fabs(w0[i]), -24) * ldexp(fabs(w0[i]), -24);
    }
    double e = fabs(sqrt(ss) / lr - norm);
    CHECKF(e <= 4 * sqrt(ulps) / lr + 1e-6 * norm,
           "grad_norm %.9g, |update| / lr %.9g", norm, sqrt(ss) / lr);

    /* a limit a quarter of the norm */
    const float c = (float)(norm / 4);
    float *dc = one_sgd_step(c, lr, &sc);
    CHECKF(sc.grad_norm == norm, "clipped run reports grad_norm %.9g, unclipped %.9g",
           sc.grad_norm, norm);
    const double s = c / norm;
    size_t bad = 0;
    double worst = 0, cs = 0;
    for (size_t i = 0; i < n; i++) {
        /* rounding: the scale factor and the gradient in float, then the
         * subtraction from the weight (half an ulp of it) */
        double want = s * du[i], err = fabs(dc[i] - want);
        double tol = ldexp(fabs(w0[i]), -22) + 1e-6 * fabs(want);
        if (err > tol) bad++;
        if (err > worst) worst = err;
        cs += (double)dc[i] * dc[i];
    }
    CHECKF(bad == 0, "%zu of %zu weights moved other than clip/norm = %.4f times the "
           "unclipped change (worst error %.3g)", bad, n, s, worst);
    /* and the clipped update's norm is lr * clip */
    CHECKF(fabs(sqrt(cs) / lr - c) <= 4 * sqrt(ulps) / lr + 1e-6 * c,
           "clipped |update| / lr %.9g, limit %.9g", sqrt(cs) / lr, c);

    /* a limit above the norm changes nothing, bit for bit */
    float *dl = one_sgd_step((float)(norm * 1.5), lr, &sl);
    CHECK(sl.grad_norm == norm);
    CHECKF(memcmp(dl, du, sizeof(float) * n) == 0,
           "a limit of 1.5 x the norm changed the update");
    fprintf(stderr, "  clipping: grad_norm %.4f, clip %.4f scales the SGD step by %.4f "
            "(worst error %.2g), clip %.4f changes nothing\n", norm, c, s, worst, norm * 1.5);
    checks += 6;
    free(w0);
    free(du);
    free(dc);
    free(dl);
}

/* The training loss of one step (taken before its update) of a model that
 * expects full-scale codes: every weight zero but the head's last bias,
 * +10 on codes 0 and Q - 1, so a sample costs about 1 bit at full scale
 * and about 16.5 bits anywhere else. */
static double full_scale_loss(const char *clip, float jitter, int may_clip)
{
    wn_model *m = tiny_model(2);
    wn_error err;
    const size_t np = wn_model_param_count(m);
    float *z = calloc(np, sizeof *z);
    REQUIRE(z);
    REQUIRE_OK(wn_model_set_tensor(m, NULL, z, np, &err), &err);
    free(z);
    const char *last = wn_model_tensor_name(m, wn_model_tensor_count(m) - 1);
    int nd, sh[3];
    REQUIRE(strstr(last, "bias") && wn_model_tensor_info(m, last, &nd, sh, NULL) == 256);
    float b[256] = {0};
    b[0] = b[255] = 10;
    REQUIRE_OK(wn_model_set_tensor(m, last, b, 256, &err), &err);
    wn_train_params p = wn_train_default_params();
    p.batch = 16, p.window = 512, p.steps = 1, p.warmup = 0, p.threads = 1, p.seed = 77;
    p.trim_db = 0, p.gain_jitter_db = jitter, p.gain_may_clip = may_clip, p.max_clipped = 1;
    const char *files[] = {clip};
    wn_trainer *t = wn_trainer_create(m, &p, files, 1, NULL, 0, &err);
    REQUIRE(t);
    wn_train_stats st;
    REQUIRE_OK(wn_trainer_step(t, &st, &err), &err);
    wn_trainer_free(t);
    wn_model_free(m);
    return st.loss_bits;
}

/* Clipped audio. A file with more than max_clipped of its samples at full
 * scale is skipped and reported as such; a random gain never pushes a
 * window past full scale (unless gain_may_clip, as old runs drew). */
static void clipped_audio(void)
{
    const int N = 16000;
    float *x = malloc(sizeof(float) * N);
    REQUIRE(x);
    mkdir(tu_path("hot"), 0755);
    /* recorded too hot: a sine of amplitude 1.5 clipped at full scale,
     * |sin| >= 0.99 / 1.5 for 54% of its samples */
    for (int t = 0; t < N; t++) x[t] = fmaxf(-1.0f, fminf(1.0f, (float)(1.5 * sin(t * 0.157))));
    write_wav(tu_path("hot/a_clipped.wav"), x, N, 8000);
    /* 0.9 at its peak: never at full scale */
    for (int t = 0; t < N; t++) x[t] = (float)(0.9 * sin(t * 0.157));
    write_wav(tu_path("hot/b_clean.wav"), x, N, 8000);
    wn_model *m = tiny_model(4);
    wn_train_params p = wn_train_default_params();
    p.window = 1000;
    const char *dir[] = {tu_path("hot")};
    wn_error err;
    for (int keep = 0; keep < 2; keep++) {
        p.max_clipped = keep ? 1.0f : 0.01f;
        wn_trainer *t = wn_trainer_create(m, &p, dir, 1, NULL, 0, &err);
        REQUIRE(t);
        const wn_clip_report *a = wn_trainer_clip(t, 0, 0), *b = wn_trainer_clip(t, 0, 1);
        REQUIRE(a && b && strstr(a->path, "a_clipped") && strstr(b->path, "b_clean"));
        CHECKF(a->clipped_frac > 0.5 && a->clipped_frac < 0.6, "clipped fraction %.3f",
               a->clipped_frac);
        CHECKF(a->clipped == !keep && a->unusable == !keep && !a->silent,
               "max_clipped %g: clipped %d unusable %d", p.max_clipped, a->clipped,
               a->unusable);
        CHECK(b->clipped_frac == 0 && !b->clipped && !b->unusable);
        CHECK(wn_trainer_data_samples(t, 0) == (keep ? 2 : 1) * (int64_t)N);
        wn_trainer_free(t);
    }
    /* decoded hot: a float file at 4 times full scale (a decaying tone, as
     * a syllable), no sample lost, is scaled to peak 1 and kept; with
     * rescale_above 0 its samples past full scale count as clipped (how
     * runs from before the setting read it); the clipped file's 1.5 peak
     * is below the default and stays clipped */
    mkdir(tu_path("hot4"), 0755);
    for (int t = 0; t < N; t++) x[t] = (float)(4 * exp(-t / 4000.0) * sin(t * 0.157));
    write_wav(tu_path("hot4/c_hot.wav"), x, N, 8000);
    const char *hot4[] = {tu_path("hot4/c_hot.wav"), tu_path("hot/a_clipped.wav"),
                          tu_path("hot/b_clean.wav")};
    for (int on = 0; on < 2; on++) {
        p.max_clipped = 0.01f;
        p.rescale_above = on ? WN_RESCALE_ABOVE : 0;
        wn_trainer *t = wn_trainer_create(m, &p, hot4, 3, NULL, 0, &err);
        REQUIRE(t);
        const wn_clip_report *c = wn_trainer_clip(t, 0, 0), *a = wn_trainer_clip(t, 0, 1);
        CHECKF(on ? fabsf(c->gain - 0.25f) < 1e-3f && !c->clipped && !c->unusable &&
                        c->clipped_frac < 0.01
                  : c->gain == 1 && c->clipped && c->clipped_frac > 0.1,
               "rescale_above %g: gain %g clipped %d (%.3f)", p.rescale_above, c->gain,
               c->clipped, c->clipped_frac);
        CHECKF(a->gain == 1 && a->clipped, "a 1.5 peak is a clipped recording: gain %g", a->gain);
        CHECK(wn_trainer_data_samples(t, 0) == (on ? 2 : 1) * (int64_t)N);
        wn_trainer_free(t);
    }
    p.rescale_above = 0.5f;
    CHECK(wn_trainer_create(m, &p, hot4, 1, NULL, 0, &err) == NULL && err.code == WN_ERR_ARG);
    p.rescale_above = WN_RESCALE_ABOVE;
    /* the command says it: a count in the summary line, a note per file
     * with --verbose */
    {
        char model[512], buf[8192];
        snprintf(model, sizeof model, "%s", tu_path("hot4-tiny.safetensors"));
        REQUIRE_OK(wn_model_save(m, model, &err), &err);
        for (int verbose = 0; verbose < 2; verbose++) {
            int rc = run_err(buf, sizeof buf, "-m %s -o %s --train %s --train %s --steps 1 "
                             "--batch 1 --window 1000 --threads 1%s", model,
                             tu_path("hot4-o.safetensors"), hot4[0], hot4[2],
                             verbose ? " --verbose" : "");
            CHECKF(rc == 0 && (verbose ? strstr(buf, "c_hot.wav: decoded at up to 4.0 times "
                                                    "full scale (above --rescale-above 2)")
                                       : strstr(buf, "; 1 decoded above 2 times full scale, "
                                                     "scaled to peak 1 (--rescale-above)")),
                   "train%s on a hot file: %s", verbose ? " --verbose" : "", buf);
        }
        /* a run without validation: info says so, and --json has nulls */
        char cmd[1600];
        snprintf(cmd, sizeof cmd, "%s info -m %s.ckpt 2>&1", tu_wavenet(),
                 tu_path("hot4-o.safetensors"));
        int rc = tu_run(cmd, buf, sizeof buf);
        CHECKF(rc == 0 && strstr(buf, "step 1 of 1") && strstr(buf, "validation:       none yet") &&
                   strstr(buf, "2 training files, 0 validation files"),
               "info on a run without validation: %s", buf);
        snprintf(cmd, sizeof cmd, "%s info --json -m %s.ckpt 2>&1", tu_wavenet(),
                 tu_path("hot4-o.safetensors"));
        rc = tu_run(cmd, buf, sizeof buf);
        CHECKF(rc == 0 && strstr(buf, "\"best_valid_bits\":null,\"best_step\":null,"
                                      "\"last_valid_bits\":null,\"last_valid_step\":null,"),
               "info --json on a run without validation: %s", buf);
    }

    /* only clipped files: none usable, said as such */
    const char *hot[] = {tu_path("hot/a_clipped.wav")};
    p.max_clipped = 0.01f;
    CHECK(wn_trainer_create(m, &p, hot, 1, NULL, 0, &err) == NULL && err.code == WN_ERR_AUDIO);
    p.max_clipped = 1.5f;
    CHECK(wn_trainer_create(m, &p, hot, 1, NULL, 0, &err) == NULL && err.code == WN_ERR_ARG);
    wn_model_free(m);

    /* gains of up to +20 dB on the clean 0.9 sine. Capped, a window is at
     * most the sine scaled to peak at full scale: its crests then fall in
     * the top code, as they do in b_full, never more (the loss lies
     * between b_full's and that of no gain, which has none there).
     * Uncapped, the louder half of the windows clip: runs of full scale. */
    double peak = 0;
    for (int t = 0; t < N; t++) peak = fmax(peak, fabs(sin(t * 0.157)));
    for (int t = 0; t < N; t++) x[t] = (float)(sin(t * 0.157) / peak);
    write_wav(tu_path("b_full.wav"), x, N, 8000);
    const char *clean = tu_path("hot/b_clean.wav");
    const double l0 = full_scale_loss(clean, 0, 0), lcap = full_scale_loss(clean, 20, 0),
                 lclip = full_scale_loss(clean, 20, 1),
                 lfull = full_scale_loss(tu_path("b_full.wav"), 0, 0);
    fprintf(stderr, "  clipped audio: loss of a full-scale model %.3f bits with no gain, "
            "%.3f with capped gains, %.3f scaled to full scale, %.3f uncapped\n", l0, lcap,
            lfull, lclip);
    CHECKF(l0 > 14 && lcap <= l0 + 1e-9 && lcap >= lfull - 0.02,
           "capped gains: %.3f bits, no gain %.3f, full scale %.3f", lcap, l0, lfull);
    CHECKF(lclip < lfull - 1, "uncapped gains: %.3f bits, full scale %.3f", lclip, lfull);
    checks += 9;
    free(x);
}

int main(void)
{
    double t0 = now_s();
    schedule();
    data_handling();
    speed_perturbation();
    memory_vs_data();
    clipping();
    clipped_audio();
    overfit();
    resume_case(WN_OPT_ADAM, 12);
    resume_case(WN_OPT_ADAM, 14); /* right after a validation */
    resume_case(WN_OPT_NESTEROV, 9);
    resume_case(WN_OPT_RMSPROP, 20);
    interrupted_validation();
    checkpoint_round_trip();
    nan_loss();
    cli();
    cli_guards();
    cli_keep_weights();
    fprintf(stderr, "  total %.1f s\n", now_s() - t0);
    return tu_finish("train", checks);
}
