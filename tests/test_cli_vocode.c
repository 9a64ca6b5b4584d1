/* test_cli_vocode.c - `wavenet vocode` end to end with tiny conditional
 * models the test makes (init's --condition mel and --speaker-names, and the library):
 * a .npy and a WAV (copy-synthesis) vocoded to exactly the codes the
 * library's generator samples for the same features, seed and speaker;
 * several inputs of different lengths into a folder, each the same as
 * vocoded alone, on any thread count; generate --speaker; and every
 * refusal: one line, exit 1 (2 for a wrong command line), nothing
 * written. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char out[1 << 16];
enum { BANDS = 8, HOP = 16 };

static int wn(const char *args)
{
    char cmd[8320];
    snprintf(cmd, sizeof cmd, "cd '%s' && unset WAVENET_VOCODER && %s %s 2>&1", tu_tmpdir(),
             tu_wavenet(), args);
    return tu_run(cmd, out, sizeof out);
}

static int exists(const char *name) { return access(tu_path(name), F_OK) == 0; }

/* a refusal: `status`, one line naming the problem, no output file */
static void bad(const char *args, int status, const char *needle, const char *no_file)
{
    int rc = wn(args);
    CHECKF(rc == status && tu_lines(out) == 1 && strstr(out, needle) && !strncmp(out, "wavenet: ", 9),
           "'%s' exited %d (wanted %d), '%s' lacks '%s'", args, rc, status, out, needle);
    if (no_file) CHECKF(!exists(no_file), "'%s' left %s behind", args, no_file);
    fprintf(stderr, "  %-64.64s -> %s", args, out);
}

/* the number after "key": in a JSON line */
static double json_num(const char *s, const char *key)
{
    char k[64];
    snprintf(k, sizeof k, "\"%s\":", key);
    const char *p = strstr(s, k);
    return p ? strtod(p + strlen(k), NULL) : NAN;
}

static float *features(size_t frames, uint64_t seed)
{
    float *f = malloc(sizeof(float) * frames * BANDS);
    REQUIRE(f);
    for (size_t i = 0; i < frames * BANDS; i++)
        f[i] = (float)(-8.0 + 6.0 * wn__uniform_for_tests(&seed));
    return f;
}

static wn_model *model(int mels, int speakers, int hop, int layers, uint64_t seed)
{
    wn_config c = wn_config_default();
    c.bins = 256, c.layers = layers, c.stack = 4, c.residual = 8, c.dilation = 8, c.skip = 16;
    if (mels) c.cond = mels, c.hop = hop, c.upsample_pre = 1;
    if (speakers) c.speakers = 2, c.speaker_dim = 3;
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    REQUIRE(m);
    if (speakers) {
        const char *names[2] = {"ann", "bo"};
        REQUIRE_OK(wn_model_set_speaker_names(m, names, 2, &err), &err);
    }
    return m;
}

/* What the library samples for these features: one stream, seed, speaker,
 * from silence, wn_model_cond_samples of them. */
static int *library_codes(const wn_model *m, const float *f, size_t frames, int spk,
                          uint64_t seed, size_t *n)
{
    wn_error err;
    wn_sample_params sp = wn_sample_default_params();
    sp.seed = seed;
    wn_gen *g = wn_gen_create(m, 1, &sp, &err);
    REQUIRE(g);
    const wn_cond c = {f, frames, spk, 0};
    REQUIRE_OK(wn_gen_set_cond(g, 0, &c, &err), &err);
    REQUIRE_OK(wn_gen_prime(g, NULL, 0, &err), &err);
    *n = wn_model_cond_samples(m, frames);
    int *codes = malloc(sizeof(int) * *n);
    REQUIRE(codes && wn_gen_run(g, *n, codes, NULL) == WN_OK);
    wn_gen_free(g);
    return codes;
}

/* the file holds exactly these codes */
static void same_codes(const char *name, const int *want, size_t n, const char *what)
{
    wn_error err;
    int *got = NULL;
    size_t k = 0;
    int rc = wn_audio_read_codes(tu_path(name), 8000, 256, &got, &k, NULL, &err);
    CHECKF(rc == WN_OK && k == n && !memcmp(got, want, sizeof(int) * n),
           "%s: %s holds %zu codes (%s), want %zu%s", what, name, k, rc ? err.message : "ok", n,
           rc == WN_OK && k == n ? ", which differ" : "");
    free(got);
}

/* a .npy written by hand: header dict `dict`, then `bytes` of data */
static void raw_npy(const char *name, const char *dict, const void *data, size_t bytes)
{
    char h[128];
    int len = snprintf(h, sizeof h, "%s", dict);
    while ((10 + len + 1) % 64) h[len++] = ' ';
    h[len++] = '\n';
    FILE *f = fopen(tu_path(name), "wb");
    REQUIRE(f);
    const unsigned char magic[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)len,
                                     (unsigned char)(len >> 8)};
    REQUIRE(fwrite(magic, 1, 10, f) == 10 && fwrite(h, 1, (size_t)len, f) == (size_t)len);
    REQUIRE(fwrite(data, 1, bytes, f) == bytes);
    fclose(f);
}

int main(void)
{
    wn_error err;
    wn_model *voc = model(BANDS, 1, HOP, 6, 1), *mel = model(BANDS, 0, HOP, 6, 2);
    wn_model *spk = model(0, 1, 0, 6, 3), *unc = model(0, 0, 0, 6, 4);
    wn_model *wide = model(1, 0, 2048, 2, 5);
    REQUIRE_OK(wn_model_save(voc, tu_path("voc.safetensors"), &err), &err);
    REQUIRE_OK(wn_model_save(mel, tu_path("mel.safetensors"), &err), &err);
    REQUIRE_OK(wn_model_save(spk, tu_path("spk.safetensors"), &err), &err);
    REQUIRE_OK(wn_model_save(unc, tu_path("unc.safetensors"), &err), &err);
    REQUIRE_OK(wn_model_save(wide, tu_path("wide.safetensors"), &err), &err);
    const size_t FA = 70, FB = 23; /* a longer and a shorter utterance */
    float *fa = features(FA, 10), *fb = features(FB, 11);
    REQUIRE_OK(wn_npy_write(tu_path("a.npy"), fa, FA, BANDS, &err), &err);
    REQUIRE_OK(wn_npy_write(tu_path("b.npy"), fb, FB, BANDS, &err), &err);

    /* a .npy, with a speaker by name: the library's codes, JSON fields */
    size_t n;
    int *want = library_codes(voc, fa, FA, 1, 3, &n);
    int rc = wn("vocode a.npy -m voc.safetensors --speaker bo --seed 3 --json -o a.wav");
    CHECKF(rc == 0 && tu_lines(out) == 1, "vocode a.npy: %d: %s", rc, out);
    CHECKF(json_num(out, "frames") == FA && json_num(out, "samples") == (double)n &&
               n == (FA - 1) * HOP && strstr(out, "\"input\":\"a.npy\"") &&
               strstr(out, "\"speaker\":\"bo\"") && json_num(out, "nll_bits") > 0 &&
               json_num(out, "nll_bits") == json_num(out, "bits_per_sample"),
           "JSON: %s", out);
    same_codes("a.wav", want, n, "a.npy, speaker bo");
    /* score, given the same features and speaker, reproduces the NLL that
     * vocode reported for its own samples (the cached steps at f32 are the
     * teacher-forced pass's numbers) */
    {
        const double vocode_nll = json_num(out, "nll_nats");
        rc = wn("score -m voc.safetensors --speaker bo --features a.npy --json a.wav");
        const double score_nll = json_num(out, "nll_nats");
        CHECKF(rc == 0 && vocode_nll > 0 && fabs(score_nll - vocode_nll) < 1e-5 * vocode_nll,
               "score of vocode's output: %.6f nats, vocode said %.6f (%s)", score_nll,
               vocode_nll, out);
    }
    /* the speaker by row, and at int8: runs; another speaker: other codes */
    CHECK(wn("vocode a.npy -m voc.safetensors --speaker 1 --seed 3 -o a1.wav") == 0);
    same_codes("a1.wav", want, n, "a.npy, speaker 1");
    CHECK(wn("vocode a.npy -m voc.safetensors --speaker ann --seed 3 --precision int8 -o "
             "a8.wav") == 0);
    free(want);

    /* copy-synthesis: a WAV's own features */
    {
        const size_t len = 1000;
        int *x = malloc(sizeof(int) * len);
        REQUIRE(x);
        for (size_t i = 0; i < len; i++)
            x[i] = wn_mulaw_encode(0.5f * sinf(0.07f * (float)i) * (float)(i % 300) / 300, 256);
        wn_wav *w = wn_wav_open(tu_path("in.wav"), 8000, 256, &err);
        REQUIRE(w && wn_wav_write_codes(w, x, len, &err) == WN_OK && wn_wav_close(w, &err) == 0);
        float *s;
        size_t k, F;
        REQUIRE_OK(wn_audio_read(tu_path("in.wav"), 8000, &s, &k, NULL, &err), &err);
        float *f;
        REQUIRE_OK(wn_model_features(mel, s, k, &f, &F, &err), &err);
        want = library_codes(mel, f, F, -1, 0, &n);
        rc = wn("vocode in.wav -m mel.safetensors -o copy.wav");
        char said[64];
        snprintf(said, sizeof said, "from %zu frames of in.wav", F);
        CHECKF(rc == 0 && strstr(out, said), "copy-synthesis: %s", out);
        same_codes("copy.wav", want, n, "in.wav");
        CHECK(n == wn_model_cond_samples(mel, wn_model_cond_frames(mel, len)));
        free(want);
        free(f);
        free(s);
        free(x);
    }

    /* several inputs into a folder, of different lengths: each the same
     * as alone, on 1 and 3 threads (a balanced run) */
    REQUIRE(mkdir(tu_path("o1"), 0755) == 0 && mkdir(tu_path("o3"), 0755) == 0);
    CHECK(wn("vocode b.npy -m mel.safetensors --seed 5 -o b.wav") == 0);
    CHECK(wn("vocode in.wav -m mel.safetensors --seed 5 -o in5.wav") == 0);
    for (int th = 1; th <= 3; th += 2) {
        char args[256];
        snprintf(args, sizeof args, "vocode a.npy b.npy in.wav -m mel.safetensors --seed 5 "
                 "--threads %d --json -o o%d", th, th);
        rc = wn(args);
        CHECKF(rc == 0 && tu_lines(out) == 3 && strstr(out, "\"file\":\"o") &&
                   strstr(out, "\"stream\":2"), "%s: %d: %s", args, rc, out);
    }
    want = library_codes(mel, fa, FA, -1, 5, &n);
    same_codes("o1/a.wav", want, n, "input 0 of 3");
    same_codes("o3/a.wav", want, n, "input 0 of 3, 3 threads");
    free(want);
    /* inputs 1 and 2 have other streams' RNGs: the same length as alone,
     * and the same file on either thread count */
    {
        int *b1 = NULL, *b3 = NULL, *c1 = NULL;
        size_t nb1 = 0, nb3 = 0, nc1 = 0;
        REQUIRE_OK(wn_audio_read_codes(tu_path("o1/b.wav"), 8000, 256, &b1, &nb1, NULL, &err),
                   &err);
        REQUIRE_OK(wn_audio_read_codes(tu_path("o3/b.wav"), 8000, 256, &b3, &nb3, NULL, &err),
                   &err);
        REQUIRE_OK(wn_audio_read_codes(tu_path("o1/in.wav"), 8000, 256, &c1, &nc1, NULL, &err),
                   &err);
        CHECKF(nb1 == (FB - 1) * HOP && nb1 == nb3 && !memcmp(b1, b3, sizeof(int) * nb1),
               "b.npy as input 1: %zu and %zu samples", nb1, nb3);
        CHECK(nc1 == wn_model_cond_samples(mel, wn_model_cond_frames(mel, 1000)));
        free(b1), free(b3), free(c1);
    }
    bad("vocode a.npy a.npy -m mel.safetensors -o o1", 1, "both be written", NULL);

    /* generate --speaker */
    rc = wn("generate -m spk.safetensors --speaker ann --samples 300 --json -o ann.wav");
    CHECKF(rc == 0 && strstr(out, "\"speaker\":\"ann\""), "generate --speaker: %s", out);
    bad("generate -m spk.safetensors --samples 300 -o g.wav", 1, "choose one", "g.wav");
    bad("generate -m spk.safetensors --speaker cy --samples 300 -o g.wav", 1, "no such speaker",
        "g.wav");
    bad("generate -m unc.safetensors --speaker ann --samples 300 -o g.wav", 1, "no speakers",
        "g.wav");
    bad("generate -m voc.safetensors --speaker ann --samples 300 -o g.wav", 1, "vocode", "g.wav");

    /* init makes conditional models; info shows them */
    rc = wn("init --condition mel --mels 8 --hop 16 --upsample-pre --speaker-names x,y.z --layers 4 -o i.safetensors");
    CHECKF(rc == 0, "init: %s", out);
    rc = wn("info -m i.safetensors --json");
    CHECKF(rc == 0 && json_num(out, "mels") == 8 && json_num(out, "hop") == 16 &&
               strstr(out, "\"speaker_names\":[\"x\",\"y.z\"]"), "info: %s", out);
    CHECK(wn("vocode a.npy -m i.safetensors --speaker y.z -o i.wav") == 0);
    bad("init --hop 16 -o j.safetensors", 2, "--condition mel", "j.safetensors");
    bad("init --speaker-names a,a -o j.safetensors", 2, "twice", "j.safetensors");
    bad("init --condition mel --mels 8 --hop 50 -o j.safetensors", 2, "hop", "j.safetensors");

    /* refusals */
    const int32_t ints[2 * BANDS] = {0};
    raw_npy("int.npy", "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 8), }", ints,
            sizeof ints);
    float nan3[3 * BANDS] = {0};
    nan3[BANDS + 2] = NAN;
    raw_npy("nan.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 8), }", nan3,
            sizeof nan3);
    raw_npy("cube.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8), }", nan3,
            sizeof nan3);
    REQUIRE_OK(wn_npy_write(tu_path("five.npy"), fa, 10, 5, &err), &err);
    REQUIRE_OK(wn_npy_write(tu_path("one.npy"), fa, 1, BANDS, &err), &err);
    float *lng = calloc(70000, sizeof(float));
    REQUIRE(lng);
    REQUIRE_OK(wn_npy_write(tu_path("long.npy"), lng, 70000, 1, &err), &err);
    free(lng);
    bad("vocode int.npy -m mel.safetensors -o r.wav", 1, "int.npy", "r.wav");
    bad("vocode cube.npy -m mel.safetensors -o r.wav", 1, "cube.npy", "r.wav");
    bad("vocode nan.npy -m mel.safetensors -o r.wav", 1, "NaN", "r.wav");
    bad("vocode five.npy -m mel.safetensors -o r.wav", 1, "5 bands", "r.wav");
    bad("vocode one.npy -m mel.safetensors -o r.wav", 1, "no samples", "r.wav");
    bad("vocode long.npy -m wide.safetensors -o r.wav", 1, "more than", "r.wav");
    bad("vocode a.npy -m unc.safetensors -o r.wav", 1, "use wavenet generate", "r.wav");
    bad("vocode a.npy -m spk.safetensors --speaker ann -o r.wav", 1, "generate --speaker",
        "r.wav");
    bad("vocode a.npy -m voc.safetensors -o r.wav", 1, "choose one", "r.wav");
    bad("vocode a.npy -m voc.safetensors --speaker cy -o r.wav", 1, "no such speaker", "r.wav");
    bad("vocode a.npy -m voc.safetensors --speaker 2 -o r.wav", 1, "no such speaker", "r.wav");
    bad("vocode a.npy -m mel.safetensors --speaker ann -o r.wav", 1, "no speakers", "r.wav");
    bad("vocode nosuch.npy -m mel.safetensors -o r.wav", 1, "nosuch.npy", "r.wav");
    bad("vocode a.npy b.npy -m mel.safetensors -o r.wav", 2, "existing folder", "r.wav");
    bad("vocode a.npy -m mel.safetensors", 2, "-o", NULL);
    bad("vocode a.npy -m mel.safetensors --json -o -", 2, "stdout", NULL);
    bad("vocode -m mel.safetensors -o r.wav", 2, "inputs", "r.wav");
    bad("vocode a.npy -m mel.safetensors -o a.npy", 1, "same file", NULL);
    char ship[1100];
    snprintf(ship, sizeof ship, "%s/models/wavenet-vocoder.safetensors", tu_srcdir());
    if (access(ship, F_OK) != 0) /* none shipped: say so */
        bad("vocode a.npy -o r.wav", 1, "no vocoder model", "r.wav");
    else { /* the shipped one, whose bands these 8 are not */
        wn_error err;
        wn_model *sm = wn_model_load(ship, &err);
        REQUIRE(sm && wn_model_config(sm).cond != 8);
        char want[64];
        snprintf(want, sizeof want, "the model takes %d", wn_model_config(sm).cond);
        wn_model_free(sm);
        bad("vocode a.npy -o r.wav", 1, want, "r.wav");
    }
    /* a refusal keeps an existing output as it was */
    CHECK(wn("vocode b.npy -m mel.safetensors -o keep.wav") == 0);
    struct stat before, after;
    REQUIRE(stat(tu_path("keep.wav"), &before) == 0);
    bad("vocode five.npy -m mel.safetensors -o keep.wav", 1, "bands", NULL);
    REQUIRE(stat(tu_path("keep.wav"), &after) == 0);
    CHECK(before.st_ino == after.st_ino && before.st_size == after.st_size);

    free(fa);
    free(fb);
    wn_model_free(voc);
    wn_model_free(mel);
    wn_model_free(spk);
    wn_model_free(unc);
    wn_model_free(wide);
    return tu_finish("cli_vocode", 0);
}
