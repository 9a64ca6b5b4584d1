/* test_train_cond.c - training conditional models: a mel-conditional model
 * learns from its features what the past alone does not tell (a tone whose
 * frequency jumps at random times, in noise), and constant features undo
 * it; a speaker model tells two synthetic speakers apart by name; a
 * conditional run resumed from its checkpoint ends bit for bit where an
 * uninterrupted one ends, and a step gives the same bits on one thread and
 * two; a window's frames cut to what its samples need give the gradient of
 * the whole clip's frames; the errors of speakers that do not fit. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <sndfile.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

static double gauss(uint64_t *s)
{
    double u = wn__uniform_for_tests(s), v = wn__uniform_for_tests(s);
    return sqrt(-2 * log(u + 1e-300)) * cos(2 * M_PI * v);
}

/* n samples at 8 kHz of a tone that jumps, at random times (every 20 to
 * 60 ms), to one of eight frequencies and a random level (20 dB of range),
 * its phase continuous, in a little white noise. A model whose past is a
 * few samples cannot tell the frequency (two samples of a sine of unknown
 * level fit any of them); the log-mel frames tell it, and a sine's next
 * sample follows from its last two and its frequency. */
static void jumping_tone(float *x, size_t n, uint64_t seed)
{
    static const double freq[] = {300, 550, 800, 1100, 1450, 1850, 2350, 2950};
    uint64_t s = seed;
    double ph = 0, f = freq[0], amp = 0.1;
    size_t next = 0;
    for (size_t t = 0; t < n; t++) {
        if (t == next) {
            f = freq[(int)(wn__uniform_for_tests(&s) * 8) & 7];
            amp = 0.05 * pow(10, wn__uniform_for_tests(&s));
            next = t + 160 + (size_t)(wn__uniform_for_tests(&s) * 320);
        }
        ph += 2 * M_PI * f / 8000;
        x[t] = (float)(amp * sin(ph) + 0.01 * gauss(&s));
    }
}

/* A tiny model (stacks of 2 layers), conditional by cond bands at hop (0:
 * none) and speakers. */
static wn_model *model(int layers, int cond, int hop, int pre, int speakers, uint64_t seed)
{
    wn_config c = wn_config_default();
    c.bins = 64;
    c.layers = layers;
    c.stack = 2;
    c.residual = 16;
    c.dilation = 16;
    c.skip = 32;
    c.cond = cond;
    c.hop = cond ? hop : 0;
    c.upsample_pre = cond ? pre : 0;
    c.speakers = speakers;
    c.speaker_dim = speakers ? 4 : 0;
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    if (!m) fprintf(stderr, "model: %s\n", err.message);
    REQUIRE(m);
    return m;
}

/* The NLL of a clip's audio in bits/sample, given its features (all of
 * them, or each band held at the model's mean: no information) and a
 * speaker. */
static double clip_bits(const wn_model *m, const char *path, int constant, int speaker)
{
    wn_error err;
    const wn_config c = wn_model_config(m);
    float *x;
    size_t n;
    REQUIRE_OK(wn_audio_read(path, c.sample_rate, &x, &n, NULL, &err), &err);
    int *codes = malloc(sizeof *codes * n);
    for (size_t i = 0; i < n; i++) codes[i] = wn_mulaw_encode(x[i], c.bins);
    wn_cond cc = {NULL, 0, speaker, 0};
    float *feats = NULL;
    if (c.cond) {
        REQUIRE_OK(wn_model_features(m, x, n, &feats, &cc.frames, &err), &err);
        if (constant) {
            float *mean = malloc(sizeof *mean * (size_t)c.cond);
            REQUIRE(wn_model_feature_norm(m, mean, NULL) == 1);
            for (size_t f = 0; f < cc.frames; f++)
                memcpy(feats + f * (size_t)c.cond, mean, sizeof *mean * (size_t)c.cond);
            free(mean);
        }
        cc.features = feats;
    }
    wn_score_params sp = wn_score_default_params();
    sp.threads = 1;
    sp.cond = c.cond || c.speakers ? &cc : NULL;
    double nll;
    REQUIRE_OK(wn_score_codes(m, codes, n, &sp, &nll, NULL, &err), &err);
    free(x);
    free(codes);
    free(feats);
    return nll / (double)n / M_LN2;
}

static wn_train_params params(int steps)
{
    wn_train_params p = wn_train_default_params();
    p.batch = 4;
    p.window = 256;
    p.lr = 3e-3f;
    p.warmup = 10;
    p.decay = WN_DECAY_NONE;
    p.steps = steps;
    p.valid_every = 0;
    p.trim_db = 0;
    p.threads = 1;
    return p;
}

static void train_steps(wn_trainer *t, int64_t steps)
{
    wn_error err;
    while (wn_trainer_steps_done(t) < steps) REQUIRE_OK(wn_trainer_step(t, NULL, &err), &err);
}

/* ------------------------------------------------------------ the features are used */

static void features_used(void)
{
    const size_t n = 128000;
    float *x = malloc(sizeof *x * n);
    jumping_tone(x, n, 1);
    write_wav(tu_path("tone_train.wav"), x, n, 8000);
    jumping_tone(x, 8000, 2);
    write_wav(tu_path("tone_valid.wav"), x, 8000, 8000);
    jumping_tone(x, 8000, 3);
    write_wav(tu_path("tone_test.wav"), x, 8000, 8000);
    free(x);
    const char *train[] = {tu_path("tone_train.wav")}, *valid[] = {tu_path("tone_valid.wav")};
    const char *test = tu_path("tone_test.wav");
    const int steps = 600;
    wn_train_params p = params(steps);
    p.valid_every = steps;
    wn_error err;
    double t0 = now_s();
    wn_model *mc = model(2, 16, 32, 1, 0, 7), *mu = model(2, 0, 0, 0, 0, 7);
    REQUIRE(wn_model_feature_norm(mc, NULL, NULL) == 0);
    wn_trainer *tc = wn_trainer_create(mc, &p, train, 1, valid, 1, &err);
    REQUIRE_OK(tc ? WN_OK : err.code, &err);
    /* the normalisation, from the training clip's frames, before any step */
    wn_train_cond ci = wn_trainer_cond(tc);
    CHECKF(ci.norm_set && ci.bands == 16 && ci.hop == 32 && ci.speakers == 0 && !ci.named,
           "norm_set %d bands %d hop %d", ci.norm_set, ci.bands, ci.hop);
    CHECKF(ci.frames[0] == (int64_t)wn_model_cond_frames(mc, 128000) &&
           ci.frames[1] == (int64_t)wn_model_cond_frames(mc, 8000), "frames %lld %lld",
           (long long)ci.frames[0], (long long)ci.frames[1]);
    float mean[16], sd[16];
    CHECK(wn_model_feature_norm(mc, mean, sd) == 1);
    {   /* the same figures as the clip's features give, in double */
        float *xa, *fa;
        size_t na, fr;
        REQUIRE_OK(wn_audio_read(train[0], 8000, &xa, &na, NULL, &err), &err);
        REQUIRE_OK(wn_model_features(mc, xa, na, &fa, &fr, &err), &err);
        double worst = 0;
        for (int c = 0; c < 16; c++) {
            double s = 0, ss = 0;
            for (size_t f = 0; f < fr; f++) s += fa[f * 16 + c];
            s /= (double)fr;
            for (size_t f = 0; f < fr; f++) ss += (fa[f * 16 + c] - s) * (fa[f * 16 + c] - s);
            ss = sqrt(ss / (double)fr);
            worst = fmax(worst, fmax(fabs(s - mean[c]) / (1 + fabs(s)), fabs(ss - sd[c]) / ss));
        }
        CHECKF(worst < 1e-5, "the norm differs from the features' by %g", worst);
        free(xa);
        free(fa);
    }
    wn_trainer *tu = wn_trainer_create(mu, &p, train, 1, valid, 1, &err);
    REQUIRE_OK(tu ? WN_OK : err.code, &err);
    CHECK(wn_trainer_cond(tu).bands == 0 && !wn_trainer_cond(tu).norm_set);
    /* the receptive field is 5 samples: the past alone hardly tells the
     * frequency */
    REQUIRE(wn_model_receptive_field(mc) == 5);
    train_steps(tc, steps);
    train_steps(tu, steps);
    /* validation scored each clip with its own features */
    int64_t bs;
    double vb = wn_trainer_best(tc, &bs);
    double own = clip_bits(mc, valid[0], 0, -1);
    CHECKF(bs == steps && fabs(vb - own) < 1e-9, "validation %.6f at step %lld, scored %.6f",
           vb, (long long)bs, own);
    double cond = clip_bits(mc, test, 0, -1), flat = clip_bits(mc, test, 1, -1);
    double unc = clip_bits(mu, test, 0, -1);
    fprintf(stderr, "  features used: held-out tone in noise after %d steps: conditional %.3f "
            "bits/sample, unconditional %.3f, conditional with constant features %.3f "
            "(%.1f s)\n", steps, cond, unc, flat, now_s() - t0);
    CHECKF(cond < unc - 0.3, "conditional %.3f not below unconditional %.3f", cond, unc);
    CHECKF(flat > cond + 1, "constant features %.3f not above the real ones %.3f", flat, cond);
    checks += 3;
    wn_trainer_free(tc);
    wn_trainer_free(tu);
    wn_model_free(mc);
    wn_model_free(mu);
}

/* ------------------------------------------------------------ speakers */

/* Two "speakers": alice a 200 Hz buzz (a tone and two harmonics), bob a
 * 570 Hz one, both in a little noise; their clips in sub-folders named
 * after them. */
static void speaker_clip(const char *path, int who, size_t n, uint64_t seed)
{
    float *x = malloc(sizeof *x * n);
    uint64_t s = seed;
    const double f = who ? 570 : 200;
    for (size_t t = 0; t < n; t++) {
        double ph = 2 * M_PI * f * (double)t / 8000;
        x[t] = (float)(0.4 * sin(ph) + 0.2 * sin(2 * ph + 1) + 0.1 * sin(3 * ph + 2) +
                       0.02 * gauss(&s));
    }
    write_wav(path, x, n, 8000);
    free(x);
}

static void make_speakers(void)
{
    static int done;
    if (done++) return;
    mkdir(tu_path("spk"), 0755);
    mkdir(tu_path("spk/alice"), 0755);
    mkdir(tu_path("spk/bob"), 0755);
    mkdir(tu_path("spk/bob/more"), 0755); /* deeper: still bob's */
    speaker_clip(tu_path("spk/alice/a1.wav"), 0, 6000, 1);
    speaker_clip(tu_path("spk/bob/b1.wav"), 1, 3000, 2);
    speaker_clip(tu_path("spk/bob/more/b2.wav"), 1, 3000, 3);
    speaker_clip(tu_path("alice_test.wav"), 0, 4000, 4);
    speaker_clip(tu_path("bob_test.wav"), 1, 4000, 5);
    /* the validation clips in a list, 'path<TAB>speaker' */
    FILE *f = fopen(tu_path("spk_valid.txt"), "w");
    REQUIRE(f);
    fprintf(f, "# held out\nalice_test.wav\talice\nbob_test.wav \t bob  # a comment\n");
    fclose(f);
}

static void speakers(void)
{
    make_speakers();
    wn_error err;
    char **vp = NULL, **vs = NULL;
    int nv = 0;
    REQUIRE_OK(wn_list_read_speakers(tu_path("spk_valid.txt"), &vp, &vs, &nv, &err), &err);
    CHECK(nv == 2 && !strcmp(vs[0], "alice") && !strcmp(vs[1], "bob") &&
          !strcmp(vp[1], tu_path("bob_test.wav")));
    wn_model *m = model(4, 0, 0, 0, 2, 11);
    wn_train_params p = params(300);
    p.speaker_from_folder = 1;
    p.valid_speakers = (const char *const *)vs;
    p.valid_every = 300;
    const char *train[] = {tu_path("spk")};
    wn_trainer *t = wn_trainer_create(m, &p, train, 1, (const char *const *)vp, nv, &err);
    REQUIRE_OK(t ? WN_OK : err.code, &err);
    /* the model had the default names: the speakers', sorted */
    wn_train_cond ci = wn_trainer_cond(t);
    CHECK(ci.speakers == 2 && ci.named && !ci.norm_set && ci.bands == 0);
    CHECK(!strcmp(wn_model_speaker_name(m, 0), "alice") &&
          !strcmp(wn_model_speaker_name(m, 1), "bob"));
    CHECK(wn_trainer_clip_count(t, 0) == 3);
    const wn_clip_report *r0 = wn_trainer_clip(t, 0, 0), *r2 = wn_trainer_clip(t, 0, 2),
                         *v1 = wn_trainer_clip(t, 1, 1);
    CHECK(r0 && r0->speaker && !strcmp(r0->speaker, "alice") && r0->speaker_row == 0);
    CHECK(r2 && strstr(r2->path, "more/b2") && r2->speaker && !strcmp(r2->speaker, "bob") &&
          r2->speaker_row == 1);
    CHECK(v1 && v1->speaker && !strcmp(v1->speaker, "bob") && v1->speaker_row == 1);
    train_steps(t, p.steps);
    double aa = clip_bits(m, tu_path("alice_test.wav"), 0, 0);
    double ab = clip_bits(m, tu_path("alice_test.wav"), 0, 1);
    double bb = clip_bits(m, tu_path("bob_test.wav"), 0, 1);
    double ba = clip_bits(m, tu_path("bob_test.wav"), 0, 0);
    fprintf(stderr, "  speakers after %lld steps: alice's held-out audio %.3f bits/sample as "
            "alice, %.3f as bob; bob's %.3f as bob, %.3f as alice\n", (long long)p.steps, aa,
            ab, bb, ba);
    CHECKF(aa < ab - 0.5 && bb < ba - 0.5, "the speakers are not told apart");
    /* the validation: each clip under its own speaker */
    int64_t bs;
    const double vb = wn_trainer_best(t, &bs);
    const double own = (aa * 4000 + bb * 4000) / 8000;
    CHECKF(fabs(vb - own) < 1e-9, "validation %.6f, scored %.6f", vb, own);
    /* the checkpoint names each file's speaker; the model file its rows */
    REQUIRE_OK(wn_trainer_save(t, tu_path("spk.ckpt"), &err), &err);
    char **ts = NULL;
    int nts = 0;
    REQUIRE_OK(wn_checkpoint_speakers(tu_path("spk.ckpt"), 0, &ts, &nts, &err), &err);
    CHECK(nts == 3 && !strcmp(ts[0], "alice") && !strcmp(ts[1], "bob") && !strcmp(ts[2], "bob"));
    wn_list_free(ts, nts);
    REQUIRE_OK(wn_checkpoint_speakers(tu_path("spk.ckpt"), 1, &ts, &nts, &err), &err);
    CHECK(nts == 2 && !strcmp(ts[0], "alice") && !strcmp(ts[1], "bob"));
    wn_list_free(ts, nts);
    wn_model *back = wn_model_load(tu_path("spk.ckpt"), &err);
    REQUIRE(back);
    CHECK(wn_model_speaker_find(back, "bob") == 1);
    wn_model_free(back);
    checks += 3;
    wn_trainer_free(t);
    wn_model_free(m);
    wn_list_free(vp, nv);
    wn_list_free(vs, nv);
}

/* ------------------------------------------------------------ resume, threads */

/* Mel and speakers both, a gain jitter (the features shifted by ln g^2),
 * validations on the way: k steps, a checkpoint, a fresh model (default
 * names, no normalisation) resumed from it, on to the end: the same bits
 * as a run that never stopped. */
static void resume_cond(void)
{
    make_speakers();
    wn_error err;
    wn_train_params p = params(24);
    p.speaker_from_folder = 1;
    p.gain_jitter_db = 6;
    p.valid_every = 5;
    p.threads = 2;
    p.window = 128;
    p.seed = 77;
    const char *train[] = {tu_path("spk")}, *valid[] = {tu_path("alice_test.wav")};
    const char *vs[] = {"alice"};
    p.valid_speakers = vs;
    wn_model *a = model(4, 8, 16, 1, 3, 21);
    wn_trainer *ta = wn_trainer_create(a, &p, train, 1, valid, 1, &err);
    REQUIRE_OK(ta ? WN_OK : err.code, &err);
    train_steps(ta, p.steps);
    wn_model *b = model(4, 8, 16, 1, 3, 21);
    wn_trainer *tb = wn_trainer_create(b, &p, train, 1, valid, 1, &err);
    REQUIRE(tb);
    train_steps(tb, 11);
    const char *ck = tu_path("cond.ckpt");
    REQUIRE_OK(wn_trainer_save(tb, ck, &err), &err);
    wn_trainer_free(tb);
    wn_model_free(b);
    wn_model *c = model(4, 8, 16, 1, 3, 99); /* other weights */
    wn_trainer *tc = wn_trainer_create(c, &p, train, 1, valid, 1, &err);
    REQUIRE(tc);
    REQUIRE_OK(wn_trainer_resume(tc, ck, &err), &err);
    train_steps(tc, p.steps);
    const size_t n = wn_model_param_count(a);
    const int same = !memcmp(wn_model_params(a), wn_model_params(c), n * sizeof(float));
    float ma[8], sa[8], mc[8], sc[8];
    CHECK(wn_model_feature_norm(a, ma, sa) == 1 && wn_model_feature_norm(c, mc, sc) == 1);
    CHECK(!memcmp(ma, mc, sizeof ma) && !memcmp(sa, sc, sizeof sa));
    CHECK(!strcmp(wn_model_speaker_name(c, 1), "bob") && !strcmp(wn_model_speaker_name(c, 2), "2"));
    int64_t s1, s2;
    CHECK(wn_trainer_best(ta, &s1) == wn_trainer_best(tc, &s2) && s1 == s2);
    fprintf(stderr, "  resume of a mel + speaker run at step 11 of %lld: %s\n",
            (long long)p.steps, same ? "bit-identical" : "DIFFERENT");
    CHECKF(same, "max rel %g", tu_maxrel(wn_model_params(c), wn_model_params(a), n));
    checks++;
    wn_trainer_free(tc);
    wn_model_free(c);

    /* the same files under other speakers: refused */
    wn_model *d = model(4, 8, 16, 1, 3, 21);
    const char *files[] = {tu_path("spk/alice/a1.wav"), tu_path("spk/bob/b1.wav"),
                           tu_path("spk/bob/more/b2.wav")};
    const char *swapped[] = {"bob", "alice", "bob"};
    p.speaker_from_folder = 0;
    p.train_speakers = swapped;
    wn_trainer *td = wn_trainer_create(d, &p, files, 3, valid, 1, &err);
    REQUIRE(td);
    CHECK(wn_trainer_resume(td, ck, &err) == WN_ERR_ARG);
    CHECKF(strstr(err.message, "a1.wav has speaker 'bob', the run trained it with 'alice'"),
           "%s", err.message);
    wn_trainer_free(td);
    wn_model_free(d);
    /* and the right ones, given file by file, resume */
    const char *right[] = {"alice", "bob", "bob"};
    p.train_speakers = right;
    d = model(4, 8, 16, 1, 3, 21);
    td = wn_trainer_create(d, &p, files, 3, valid, 1, &err);
    REQUIRE(td);
    CHECKF(wn_trainer_resume(td, ck, &err) == WN_OK, "%s", err.message);
    wn_trainer_free(td);
    wn_model_free(d);
    checks++;

    /* a step on one thread and on two: the same bits (a batch of 3 on two
     * threads: a window each, then one shared by time) */
    wn_model *m1 = model(4, 8, 16, 1, 3, 5), *m2 = model(4, 8, 16, 1, 3, 5);
    p = params(3);
    p.batch = 3;
    p.speaker_from_folder = 1;
    p.gain_jitter_db = 3;
    p.threads = 1;
    wn_trainer *t1 = wn_trainer_create(m1, &p, train, 1, NULL, 0, &err);
    p.threads = 2;
    wn_trainer *t2 = wn_trainer_create(m2, &p, train, 1, NULL, 0, &err);
    REQUIRE(t1 && t2);
    train_steps(t1, 3);
    train_steps(t2, 3);
    const int same12 = !memcmp(wn_model_params(m1), wn_model_params(m2), n * sizeof(float));
    fprintf(stderr, "  3 conditional steps on 1 and 2 threads: %s\n",
            same12 ? "bit-identical" : "DIFFERENT");
    CHECKF(same12, "max rel %g", tu_maxrel(wn_model_params(m1), wn_model_params(m2), n));
    checks++;
    wn_trainer_free(t1);
    wn_trainer_free(t2);
    wn_model_free(m1);
    wn_model_free(m2);
    wn_trainer_free(ta);
    wn_model_free(a);
}

/* ------------------------------------------------------------ a window's frames */

/* The trainer reads a window only the frames its samples need, counted from
 * the first of them: the gradient is the one of the whole clip's frames at
 * the window's place in the clip. And a window that starts before its clip
 * (the silent past) takes the clip's first frames. Also: a gain g moves
 * every band of the log-mel by ln g^2 (the shift the trainer applies to a
 * jittered window's features). */
static void window_frames(void)
{
    wn_error err;
    wn_model *m = model(4, 8, 16, 1, 0, 3);
    const size_t n = 4000;
    float *x = malloc(sizeof *x * n);
    jumping_tone(x, n, 9);
    float *feats, *g6;
    size_t F, F6;
    REQUIRE_OK(wn_model_features(m, x, n, &feats, &F, &err), &err);
    for (size_t i = 0; i < n; i++) x[i] *= 2;
    REQUIRE_OK(wn_model_features(m, x, n, &g6, &F6, &err), &err);
    double worst = 0;
    const float shift = (float)(2 * log(2.0));
    for (size_t i = 0; i < F * 8; i++)
        worst = fmax(worst, fabs((double)g6[i] - (feats[i] + shift)));
    CHECKF(F6 == F && worst < 1e-4, "log-mel of 2x differs from log-mel + ln 4 by %g", worst);
    free(g6);
    const float mean[8] = {-3, -3, -3, -3, -3, -3, -3, -3}, sd[8] = {2, 2, 2, 2, 2, 2, 2, 2};
    REQUIRE_OK(wn_model_set_feature_norm(m, mean, sd, &err), &err);
    const int rf = wn_model_receptive_field(m), len = rf + 100;
    int *codes = malloc(sizeof *codes * (size_t)len);
    const int64_t off = 1234;
    for (int i = 0; i < len; i++) codes[i] = wn_mulaw_encode(x[off + i], 64);
    wn_grad_ctx *gc = wn_grad_ctx_create(m, 1, len, 1, &err);
    REQUIRE(gc);
    const size_t np = wn_model_param_count(m);
    float *g1 = malloc(sizeof *g1 * np), *g2 = malloc(sizeof *g2 * np);
    double l1, l2;
    wn_window_cond all = {feats, F, off, -1};
    REQUIRE_OK(wn_grad_ctx_run_cond(gc, codes, &all, g1, &l1, &err), &err);
    /* frames 70.. of the 251 (the window's samples 1235..1246+100 read
     * frames 76..85 or so), the offset counted from frame 70 */
    const size_t f0 = 70;
    wn_window_cond cut = {feats + f0 * 8, 25, off - (int64_t)f0 * 16, -1};
    REQUIRE_OK(wn_grad_ctx_run_cond(gc, codes, &cut, g2, &l2, &err), &err);
    CHECKF(l1 == l2 && !memcmp(g1, g2, sizeof *g1 * np),
           "a window's frames alone give another gradient (max rel %g)", tu_maxrel(g2, g1, np));
    /* one frame too few at the start changes it: the test sees the frames */
    wn_window_cond late = {feats + 77 * 8, 25, off - 77 * 16, -1};
    REQUIRE_OK(wn_grad_ctx_run_cond(gc, codes, &late, g2, &l2, &err), &err);
    CHECK(memcmp(g1, g2, sizeof *g1 * np) != 0);
    /* before the clip: offset -3, its first three codes silence */
    for (int i = 0; i < len; i++) codes[i] = i < 3 ? wn_mulaw_silence(64) : wn_mulaw_encode(x[i - 3], 64);
    wn_window_cond early = {feats, F, -3, -1};
    CHECKF(wn_grad_ctx_run_cond(gc, codes, &early, g2, &l2, &err) == WN_OK && isfinite(l2),
           "%s", err.message);
    early.offset = -len; /* no sample of it in the clip */
    CHECK(wn_grad_ctx_run_cond(gc, codes, &early, g2, &l2, &err) == WN_ERR_ARG);
    checks += 3;
    wn_grad_ctx_free(gc);
    free(g1);
    free(g2);
    free(codes);
    free(feats);
    free(x);
    wn_model_free(m);
}

/* ------------------------------------------------------------ errors */

static void errors(void)
{
    make_speakers();
    wn_error err;
    wn_train_params p = params(1);
    const char *train[] = {tu_path("spk")};
    /* a speaker model, clips without speakers */
    wn_model *m = model(2, 0, 0, 0, 2, 1);
    CHECK(wn_trainer_create(m, &p, train, 1, NULL, 0, &err) == NULL && err.code == WN_ERR_ARG);
    CHECKF(strstr(err.message, "a1.wav has no speaker, and the model has 2") &&
           !strchr(err.message, '\n'), "%s", err.message);
    /* more speakers than rows: two rows, three speakers */
    FILE *f = fopen(tu_path("three.txt"), "w");
    fprintf(f, "spk/alice/a1.wav\talice\nspk/bob/b1.wav\tbob\nspk/bob/more/b2.wav\tcarol\n");
    fclose(f);
    char **paths = NULL, **spk = NULL;
    int n = 0;
    REQUIRE_OK(wn_list_read_speakers(tu_path("three.txt"), &paths, &spk, &n, &err), &err);
    p.train_speakers = (const char *const *)spk;
    CHECK(wn_trainer_create(m, &p, (const char *const *)paths, n, NULL, 0, &err) == NULL);
    CHECKF(strstr(err.message, "3 speakers, more than the model's 2 speaker rows"), "%s",
           err.message);
    /* the model's names untouched by a failed start */
    CHECK(!strcmp(wn_model_speaker_name(m, 0), "0"));
    /* a model with names: a speaker it does not know */
    const char *names[] = {"alice", "bob"};
    REQUIRE_OK(wn_model_set_speaker_names(m, names, 2, &err), &err);
    CHECK(wn_trainer_create(m, &p, (const char *const *)paths, n, NULL, 0, &err) == NULL);
    CHECKF(strstr(err.message, "b2.wav: speaker 'carol' is not one of the model's 2 speakers "
                               "(alice, bob)"), "%s", err.message);
    /* a validation speaker the training clips do not have (default names) */
    wn_model *m3 = model(2, 0, 0, 0, 3, 1);
    p.speaker_from_folder = 1;
    p.train_speakers = NULL;
    const char *valid[] = {tu_path("bob_test.wav")}, *vs[] = {"dave"};
    p.valid_speakers = vs;
    CHECK(wn_trainer_create(m3, &p, train, 1, valid, 1, &err) == NULL);
    CHECKF(strstr(err.message, "speaker 'dave' is not among the training clips' speakers"), "%s",
           err.message);
    /* a name a model cannot hold */
    const char *bad[] = {"two words"};
    p.train_speakers = bad;
    const char *one[] = {tu_path("alice_test.wav")};
    CHECK(wn_trainer_create(m3, &p, one, 1, NULL, 0, &err) == NULL);
    CHECKF(strstr(err.message, "'two words'"), "%s", err.message);
    /* a model without speakers ignores them */
    wn_model *plain = model(2, 0, 0, 0, 0, 1);
    p.valid_speakers = NULL;
    wn_trainer *t = wn_trainer_create(plain, &p, train, 1, NULL, 0, &err);
    CHECKF(t && wn_trainer_cond(t).speakers == 0 && !wn_trainer_clip(t, 0, 0)->speaker, "%s",
           t ? "" : err.message);
    wn_trainer_free(t);
    checks += 6;
    wn_list_free(paths, n);
    wn_list_free(spk, n);
    wn_model_free(m);
    wn_model_free(m3);
    wn_model_free(plain);
}

/* ------------------------------------------------------------ the command */

static int run(char *out, size_t size, const char *args)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "cd %s && %s %s 2>&1 >/dev/null", tu_tmpdir(), tu_wavenet(), args);
    return tu_run(cmd, out, size);
}

static void cli_cond(void)
{
    make_speakers();
    char buf[8192];
    int rc = run(buf, sizeof buf, "init -o c.st --bins 64 --layers 4 --stack 2 --residual 8 "
                 "--dilation 8 --skip 16 --condition mel --mels 8 --hop 16 --upsample-pre --speakers 3 "
                 "--speaker-dim 4");
    CHECKF(rc == 0, "init: %s", buf);
    rc = run(buf, sizeof buf, "train -m c.st -o c_out.st --train spk --speaker-from-folder "
             "--valid-list spk_valid.txt --steps 4 --batch 2 --window 100 --valid-every 2 "
             "--threads 1 --gain-jitter 3");
    CHECKF(rc == 0 && strstr(buf, "features: 8 log-mel bands, hop 16; normalisation set from ") &&
           strstr(buf, "speakers: 2, rows 0..1 of 3 named after them, sorted (alice, bob)") &&
           strstr(buf, "the clips and their features"), "train: %s", buf);
    const char *fl = strstr(buf, "wavenet: features");
    fprintf(stderr, "  cli: %.*s\n", fl ? (int)strcspn(fl, "\n") : 0, fl ? fl : "");
    /* the checkpoint alone: its files and their speakers */
    rc = run(buf, sizeof buf, "train --resume c_out.st.ckpt --steps 6 --threads 1");
    CHECKF(rc == 0 && strstr(buf, "the checkpoint's normalisation") &&
           strstr(buf, "speakers: 2 of the model's 3"), "resume: %s", buf);
    /* the same folder, its sub-folders not taken as speakers: refused */
    rc = run(buf, sizeof buf, "train --resume c_out.st.ckpt --steps 8 --train spk");
    CHECKF(rc == 1 && strstr(buf, "has no speaker, and the model has 3") &&
           strchr(buf, '\n') == buf + strlen(buf) - 1, "resume without speakers: %s", buf);
    wn_error err;
    wn_model *m = wn_model_load(tu_path("c_out.st"), &err);
    REQUIRE(m);
    CHECK(wn_model_speaker_find(m, "bob") == 1 && wn_model_feature_norm(m, NULL, NULL) == 1);
    wn_model_free(m);
    /* a model without speakers says it does not use them */
    rc = run(buf, sizeof buf, "init -o p.st --bins 64 --layers 2 --stack 2 --residual 8 "
             "--dilation 8 --skip 16");
    rc = rc || run(buf, sizeof buf, "train -m p.st -o p_out.st --train spk --speaker-from-folder "
                   "--steps 1 --batch 1 --window 100 --threads 1");
    CHECKF(rc == 0 && strstr(buf, "speakers are not used: the model has no speakers") &&
           !strstr(buf, "features:"), "plain: %s", buf);
    rc = run(buf, sizeof buf, "init -o bad.st --hop 16");
    CHECKF(rc == 2 && strstr(buf, "--hop goes with --condition mel"), "%s", buf);
    checks += 5;
}

int main(void)
{
    double t0 = now_s();
    features_used();
    speakers();
    resume_cond();
    window_frames();
    errors();
    cli_cond();
    fprintf(stderr, "  total %.1f s\n", now_s() - t0);
    return tu_finish("train_cond", checks);
}
