/* test_model_file.c - the weights file: round trip, and every kind of
 * broken file refused with a one-line message naming the problem; for a
 * conditional model (format version 2) too, and an unconditional model
 * still written as version 1, byte for byte as before conditioning. */
#include "testutil.h"
#include "model.h"

#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    REQUIRE(fread(b, 1, *n, f) == *n);
    fclose(f);
    return b;
}

static void spit(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(b, 1, n, f) == n);
    fclose(f);
}

/* load must fail with `code` and a message containing `needle` */
static void expect_fail(const char *path, int code, const char *needle, const char *what)
{
    wn_error err = {0};
    wn_model *m = wn_model_load(path, &err);
    CHECKF(m == NULL, "%s: loaded", what);
    if (m) {
        wn_model_free(m);
        return;
    }
    CHECKF(code == 0 || err.code == code, "%s: code %d, expected %d (%s)", what, err.code, code,
           err.message);
    CHECKF(!needle || strstr(err.message, needle), "%s: message '%s' lacks '%s'", what,
           err.message, needle);
    CHECKF(!strchr(err.message, '\n') && err.message[0], "%s: not one line", what);
    fprintf(stderr, "  %-28s -> %s\n", what, err.message);
}

/* rewrite the model's tensors with one modified, through the container
 * writer (so the crc is right and only the named problem remains) */
static void write_variant(wn_model *m, const char *path, const char *skip, const char *extra,
                          const char *badshape, float poison, const char *meta_key,
                          const char *meta_val)
{
    int n = wn_model_tensor_count(m);
    wn__st_tensor *t = calloc((size_t)n + 1, sizeof *t);
    float *copy = malloc(sizeof(float) * wn_model_param_count(m));
    wn__model_tensors(m, wn_model_params(m), copy, t);
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (skip && !strcmp(t[i].name, skip)) continue;
        if (badshape && !strcmp(t[i].name, badshape)) {
            t[i].shape[0] = t[i].shape[0] * t[i].shape[1];
            t[i].shape[1] = 1;
        }
        if (poison != 0 && i == 3) ((float *)t[i].data)[1] = poison;
        t[k++] = t[i];
    }
    static float extra_data[4];
    if (extra) t[k++] = (wn__st_tensor){extra, "F32", 1, {4}, extra_data, sizeof extra_data};
    char *store[2];
    const char *kv[WN_MODEL_META];
    int nm = wn__model_meta(m, kv, store), found = 0;
    /* meta_val NULL: the key is left out */
    for (int i = 0; meta_key && i < nm; i++)
        if (!strcmp(kv[2 * i], meta_key)) {
            found = 1;
            if (meta_val) {
                kv[2 * i + 1] = meta_val;
            } else {
                memmove(kv + 2 * i, kv + 2 * i + 2, sizeof *kv * 2 * (size_t)(nm - i - 1));
                nm--;
                break;
            }
        }
    REQUIRE(!meta_key || found);
    wn_error err;
    REQUIRE_OK(wn__st_write(path, t, k, kv, nm, &err), &err);
    free(store[0]);
    free(store[1]);
    free(t);
    free(copy);
}

/* ---------------------------------------------------------------- conditional */

/* The metadata value of key in a model file, or NULL (the file's reader
 * keeps the strings until fx_close). */
static const char *file_meta(const fx_file *f, const char *key)
{
    return json_string_value(json_object_get(json_object_get(f->header, "__metadata__"), key));
}

/* A conditional model (mel bands through the frames conv and two stages,
 * speakers) with a recipe, normalisation and names that are not the
 * defaults; speakers 0 = mel only, cond 0 = speakers only. */
static wn_model *cond_model(int cond, int speakers)
{
    wn_config c = wn_config_default();
    c.bins = 32, c.layers = 4, c.stack = 2, c.residual = 4, c.dilation = 3, c.skip = 5;
    c.cond = cond, c.hop = cond ? 40 : 0, c.upsample_pre = cond ? 1 : 0;
    c.speakers = speakers, c.speaker_dim = speakers ? 2 : 0;
    wn_error err;
    wn_model *m = wn_model_init(&c, 77, &err);
    if (!m) { fprintf(stderr, "wn_model_init: %s\n", err.message); exit(1); }
    if (cond) {
        wn_mel_params p = wn_mel_default_params();
        p.mels = 0, p.hop = 0, p.fft = 256, p.fmin = 55.5, p.fmax = 3700.25;
        p.scale = WN_MEL_HTK, p.area_norm = 0, p.floor = 3e-7f;
        REQUIRE_OK(wn_model_set_mel_params(m, &p, &err), &err);
        float mean[8], std[8];
        for (int i = 0; i < cond; i++) mean[i] = -5.1f + 0.3f * i, std[i] = 1.0f / (3 + i);
        REQUIRE_OK(wn_model_set_feature_norm(m, mean, std, &err), &err);
    }
    if (speakers) {
        const char *names[] = {"ana", "Ben_2", "c.d-e", "x"};
        REQUIRE(speakers <= 4);
        REQUIRE_OK(wn_model_set_speaker_names(m, names, speakers, &err), &err);
    }
    return m;
}

/* Everything a conditional model carries besides its weights, equal in a
 * and b; and the same logits, bit for bit. */
static void same_model(const wn_model *a, const wn_model *b, const char *what)
{
    wn_config ca = wn_model_config(a), cb = wn_model_config(b);
    CHECKF(!memcmp(&ca, &cb, sizeof ca), "%s: configuration", what);
    const size_t P = wn_model_param_count(a);
    CHECKF(wn_model_param_count(b) == P &&
           !memcmp(wn_model_params(a), wn_model_params(b), sizeof(float) * P), "%s: weights",
           what);
    CHECKF(wn_model_tensor_count(a) == wn_model_tensor_count(b), "%s: tensor count", what);
    for (int i = 0; i < wn_model_tensor_count(a) && i < wn_model_tensor_count(b); i++)
        CHECKF(!strcmp(wn_model_tensor_name(a, i), wn_model_tensor_name(b, i)), "%s: tensor %d",
               what, i);
    const int C = ca.cond;
    if (C) {
        float ma[8], sa[8], mb[8], sb[8];
        CHECKF(wn_model_feature_norm(a, ma, sa) == wn_model_feature_norm(b, mb, sb) &&
               !memcmp(ma, mb, sizeof(float) * (size_t)C) &&
               !memcmp(sa, sb, sizeof(float) * (size_t)C), "%s: feature norm", what);
        wn_mel_params pa, pb;
        REQUIRE(wn_model_mel_params(a, &pa) == WN_OK && wn_model_mel_params(b, &pb) == WN_OK);
        CHECKF(pa.fft == pb.fft && pa.hop == pb.hop && pa.mels == pb.mels &&
               pa.fmin == pb.fmin && pa.fmax == pb.fmax && pa.scale == pb.scale &&
               pa.area_norm == pb.area_norm && pa.floor == pb.floor,
               "%s: recipe fft %d/%d fmin %.17g/%.17g fmax %.17g/%.17g scale %d/%d norm %d/%d "
               "floor %.9g/%.9g", what, pa.fft, pb.fft, pa.fmin, pb.fmin, pa.fmax, pb.fmax,
               (int)pa.scale, (int)pb.scale, pa.area_norm, pb.area_norm, (double)pa.floor,
               (double)pb.floor);
        int sa4[4], sb4[4];
        const int na = wn_model_upsample_strides(a, sa4), nb = wn_model_upsample_strides(b, sb4);
        CHECKF(na == nb && !memcmp(sa4, sb4, sizeof(int) * (size_t)na), "%s: strides", what);
    }
    for (int i = 0; i < ca.speakers; i++)
        CHECKF(!strcmp(wn_model_speaker_name(a, i), wn_model_speaker_name(b, i)),
               "%s: speaker %d '%s', '%s'", what, i, wn_model_speaker_name(a, i),
               wn_model_speaker_name(b, i));
    enum { n = 150 };
    int codes[n];
    for (int i = 0; i < n; i++) codes[i] = (i * 11 + i / 7) % ca.bins;
    const size_t F = C ? wn_model_cond_frames(a, n) : 0;
    float *feats = C ? malloc(sizeof(float) * F * (size_t)C) : NULL;
    for (size_t i = 0; i < F * (size_t)C; i++) feats[i] = -5 + 2 * sinf(0.37f * (float)i);
    wn_cond cc = {feats, F, ca.speakers ? ca.speakers - 1 : -1, ca.cond};
    float *la = malloc(sizeof(float) * n * ca.bins), *lb = malloc(sizeof(float) * n * ca.bins);
    REQUIRE(la && lb);
    wn_error err;
    REQUIRE_OK(wn_model_logits_cond(a, codes, n, &cc, la, &err), &err);
    REQUIRE_OK(wn_model_logits_cond(b, codes, n, &cc, lb, &err), &err);
    CHECKF(!memcmp(la, lb, sizeof(float) * n * ca.bins), "%s: logits differ", what);
    free(la), free(lb), free(feats);
}

static void cond_files(void)
{
    wn_error err;
    /* ---- round trips: mel + speakers, mel alone, speakers alone, and a
     * model whose normalisation was never set */
    const int kinds[4][2] = {{3, 4}, {3, 0}, {0, 3}, {2, 2}};
    for (int k = 0; k < 4; k++) {
        wn_model *m = cond_model(kinds[k][0], kinds[k][1]);
        wn_model *fresh = NULL;
        if (k == 3) { /* a fresh model: recipe and norm never set (its fmax
                       * once read back as another number) */
            wn_config c = wn_model_config(m);
            fresh = wn_model_init(&c, 77, &err);
            REQUIRE(fresh && wn_model_feature_norm(fresh, NULL, NULL) == 0);
            wn_model_free(m);
            m = fresh;
        }
        char what[64];
        snprintf(what, sizeof what, "cond %d speakers %d%s", kinds[k][0], kinds[k][1],
                 k == 3 ? " (fresh: recipe and norm never set)" : "");
        REQUIRE_OK(wn_model_save(m, tu_path("c1.st"), &err), &err);
        wn_model *r = wn_model_load(tu_path("c1.st"), &err);
        CHECKF(r != NULL, "%s: load: %s", what, r ? "" : err.message);
        if (!r) {
            wn_model_free(m);
            continue;
        }
        same_model(m, r, what);
        if (k == 3) CHECK(wn_model_feature_norm(r, NULL, NULL) == 0);
        /* the file records it all: saving what was loaded gives the bytes */
        REQUIRE_OK(wn_model_save(r, tu_path("c2.st"), &err), &err);
        size_t n1, n2;
        unsigned char *b1 = slurp(tu_path("c1.st"), &n1), *b2 = slurp(tu_path("c2.st"), &n2);
        CHECKF(n1 == n2 && !memcmp(b1, b2, n1), "%s: saved again, not the same bytes", what);
        free(b1), free(b2);
        fx_file f;
        fx_open(&f, tu_path("c1.st"));
        CHECKF(file_meta(&f, "version") && !strcmp(file_meta(&f, "version"), "2"),
               "%s: version '%s', a conditional model is version 2", what,
               file_meta(&f, "version") ? file_meta(&f, "version") : "(none)");
        CHECKF(!file_meta(&f, "cond") == !kinds[k][0] && !file_meta(&f, "mel_fft") == !kinds[k][0]
               && !file_meta(&f, "speakers") == !kinds[k][1]
               && !file_meta(&f, "feature_mean") == (k == 3 || !kinds[k][0]),
               "%s: metadata keys", what);
        fx_close(&f);
        wn_model_free(r);
        wn_model_free(m);
    }

    /* ---- unconditional files: version 1, byte for byte as before
     * conditioning. tests/fixtures/torch_ref_model.safetensors was written
     * before it, and the writer of that time gave a model exactly these
     * bytes (checked when conditioning landed) */
    {
        char path[1024];
        snprintf(path, sizeof path, "%s/tests/fixtures/torch_ref_model.safetensors",
                 tu_srcdir());
        wn_model *m = wn_model_load(path, &err);
        if (!m) { fprintf(stderr, "%s: %s\n", path, err.message); exit(1); }
        REQUIRE_OK(wn_model_save(m, tu_path("u.st"), &err), &err);
        size_t n1, n2;
        unsigned char *b1 = slurp(path, &n1), *b2 = slurp(tu_path("u.st"), &n2);
        CHECKF(n1 == n2 && !memcmp(b1, b2, n1), "an unconditional model is not written as "
               "before conditioning (%zu bytes, %zu)", n2, n1);
        free(b1), free(b2);
        wn_model_free(m);
        m = tu_small_model(64, 6, 3, 4, 5, 6, 42);
        REQUIRE_OK(wn_model_save(m, tu_path("u.st"), &err), &err);
        fx_file f;
        fx_open(&f, tu_path("u.st"));
        static const char *absent[] = {"cond", "hop", "upsample_pre", "upsample_strides",
                                       "features", "mel_fft", "feature_mean", "speakers",
                                       "speaker_dim", "speaker_names"};
        CHECKF(file_meta(&f, "version") && !strcmp(file_meta(&f, "version"), "1"),
               "an unconditional model is version '%s'", file_meta(&f, "version"));
        for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
            CHECKF(!file_meta(&f, absent[i]), "an unconditional model's file has '%s'",
                   absent[i]);
        fx_close(&f);
        wn_model_free(m);
    }

    /* ---- bad metadata and tensors of a conditional model, each refused
     * with one line naming it */
    wn_model *m = cond_model(3, 4);
    const char *v = tu_path("cv.st");
    struct {
        const char *key, *val, *skip, *needle, *what;
        int code;
    } bad[] = {
        {"feature_mean", "1,2", NULL, "feature_mean", "feature_mean of 2 numbers", WN_ERR_FORMAT},
        {"feature_mean", "1,2,3,4", NULL, "feature_mean", "feature_mean of 4 numbers",
         WN_ERR_FORMAT},
        {"feature_std", "1,nan,1", NULL, "feature_std", "NaN in feature_std", WN_ERR_FORMAT},
        {"feature_std", "1,0,1", NULL, "std", "feature_std 0", WN_ERR_FORMAT},
        {"feature_std", "1,-2,1", NULL, "std", "negative feature_std", WN_ERR_FORMAT},
        {"feature_std", NULL, NULL, "together", "feature_mean alone", WN_ERR_FORMAT},
        {"speaker_names", "ana,ben,ana,dee", NULL, "'ana' is given twice",
         "duplicate speaker_names", WN_ERR_FORMAT},
        {"speaker_names", "ana,ben,cy", NULL, "speaker_names", "3 names for 4 speakers",
         WN_ERR_FORMAT},
        {"speaker_names", "ana,ben,cy,dee,eve", NULL, "speaker_names", "5 names for 4 speakers",
         WN_ERR_FORMAT},
        {"speaker_names", "ana,b n,cy,dee", NULL, "speaker_names", "a space in a name",
         WN_ERR_FORMAT},
        {"upsample_strides", "2,20", NULL, "upsample_strides", "strides not the plan's",
         WN_ERR_FORMAT},
        {"upsample_strides", "40", NULL, "upsample_strides", "one stride of 40", WN_ERR_FORMAT},
        {"hop", "36", NULL, "upsample.0.weight", "hop not the tensors'", WN_ERR_FORMAT},
        {"hop", "50", NULL, "hop 50", "hop with no plan", WN_ERR_FORMAT},
        {"version", "3", NULL, "version 3", "version 3", WN_ERR_FORMAT},
        {"mel_scale", "foo", NULL, "mel_scale 'foo'", "mel_scale foo", WN_ERR_FORMAT},
        {"mel_norm", "area", NULL, "mel_norm 'area'", "mel_norm area", WN_ERR_FORMAT},
        {"mel_fft", "100000", NULL, "mel_fft", "mel_fft too large", WN_ERR_FORMAT},
        {"features", "mfcc", NULL, "features 'mfcc'", "features mfcc", WN_ERR_FORMAT},
        {"cond", "4", NULL, "shape", "cond not the tensors'", WN_ERR_FORMAT},
        {"cond", NULL, NULL, "need cond", "cond left out", WN_ERR_FORMAT},
        {"speakers", NULL, NULL, "needs speakers", "speakers left out", WN_ERR_FORMAT},
        {"speaker_dim", "3", NULL, "shape", "speaker_dim not the tensors'", WN_ERR_FORMAT},
        {NULL, NULL, "layers.1.cond.weight", "layers.1.cond.weight", "missing cond tensor",
         WN_ERR_FORMAT},
        {NULL, NULL, "upsample.pre.bias", "upsample.pre.bias", "missing upsample tensor",
         WN_ERR_FORMAT},
        {NULL, NULL, "layers.3.speaker.weight", "layers.3.speaker.weight",
         "missing speaker tensor", WN_ERR_FORMAT},
        {NULL, NULL, "speaker.weight", "'speaker.weight'", "missing speaker table",
         WN_ERR_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_variant(m, v, bad[i].skip, NULL, NULL, 0, bad[i].key, bad[i].val);
        expect_fail(v, bad[i].code, bad[i].needle, bad[i].what);
    }
    wn_model_free(m);
}

int main(void)
{
    wn_model *m = tu_small_model(64, 6, 3, 4, 5, 6, 42);
    char good[512];
    snprintf(good, sizeof good, "%s", tu_path("good.safetensors"));
    wn_error err;
    REQUIRE_OK(wn_model_save(m, good, &err), &err);

    /* round trip: identical configuration and bytes */
    wn_model *r = wn_model_load(good, &err);
    REQUIRE(r);
    wn_config a = wn_model_config(m), b = wn_model_config(r);
    CHECK(!memcmp(&a, &b, sizeof a));
    CHECK(wn_model_param_count(r) == wn_model_param_count(m));
    CHECK(!memcmp(wn_model_params(r), wn_model_params(m), sizeof(float) * wn_model_param_count(m)));
    int codes[50];
    for (int i = 0; i < 50; i++) codes[i] = (i * 13) % 64;
    float l1[50 * 64], l2[50 * 64];
    wn_model_logits(m, codes, 50, l1, &err);
    wn_model_logits(r, codes, 50, l2, &err);
    CHECK(!memcmp(l1, l2, sizeof l1));
    wn_model_free(r);

    /* the layout is PyTorch's: tap 0 of dilated.weight multiplies h[t-d] */
    int nd, shape[3];
    size_t off;
    CHECK(wn_model_tensor_info(m, "layers.2.dilated.weight", &nd, shape, &off) == 10 * 4 * 2);
    CHECK(nd == 3 && shape[0] == 10 && shape[1] == 4 && shape[2] == 2);
    CHECK(wn_model_tensor_info(m, "causal.weight", &nd, shape, NULL) == 4 * 64 * 2);
    CHECK(wn_model_tensor_info(m, "head.1.bias", &nd, shape, NULL) == 64 && nd == 1);
    CHECK(wn_model_tensor_info(m, "nope", &nd, shape, NULL) == 0);

    /* saving is atomic: a failed save leaves the old file */
    size_t n;
    unsigned char *orig = slurp(good, &n);
    CHECK(wn_model_save(m, "/nonexistent-dir/x.safetensors", &err) == WN_ERR_IO);

    /* truncations at every interesting length */
    size_t cuts[] = {0, 4, 8, 9, 20, n / 2, n - 4, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        spit(tu_path("cut.safetensors"), orig, cuts[i]);
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu bytes", cuts[i]);
        expect_fail(tu_path("cut.safetensors"), 0, NULL, what);
    }
    /* a bit flipped in the data: the crc names it */
    unsigned char *bad = malloc(n);
    memcpy(bad, orig, n);
    bad[n - 10] ^= 0x10;
    spit(tu_path("flip.safetensors"), bad, n);
    expect_fail(tu_path("flip.safetensors"), WN_ERR_CHECKSUM, "crc32", "bit flip in data");
    /* bit flips all over the header: never a crash, never a silent load of
     * different weights */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | orig[i];
    for (size_t pos = 0; pos < 8 + hl; pos += 3) {
        memcpy(bad, orig, n);
        bad[pos] ^= (unsigned char)(1u << (pos % 8));
        spit(tu_path("hflip.safetensors"), bad, n);
        wn_model *x = wn_model_load(tu_path("hflip.safetensors"), &err);
        if (x) { /* a flip inside a JSON string such as whitespace may be harmless */
            CHECKF(!memcmp(wn_model_params(x), wn_model_params(m),
                           sizeof(float) * wn_model_param_count(m)),
                   "header flip at %zu loaded different weights", pos);
            wn_model_free(x);
        }
    }
    /* hostile header length */
    memcpy(bad, orig, n);
    bad[5] = 0x10; /* 2^40 */
    spit(tu_path("hlen.safetensors"), bad, n);
    expect_fail(tu_path("hlen.safetensors"), WN_ERR_FORMAT, "not a weights file", "huge header length");

    /* hand edits */
    write_variant(m, tu_path("v.st"), "layers.1.res.bias", NULL, NULL, 0, NULL, NULL);
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "layers.1.res.bias", "missing tensor");
    write_variant(m, tu_path("v.st"), NULL, "layers.9.res.bias", NULL, 0, NULL, NULL);
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "layers.9.res.bias", "unexpected tensor");
    write_variant(m, tu_path("v.st"), NULL, "opt.m.head.0.bias", NULL, 0, NULL, NULL);
    r = wn_model_load(tu_path("v.st"), &err);
    CHECKF(r != NULL, "a checkpoint's opt.* tensors must be ignored: %s", err.message);
    wn_model_free(r);
    write_variant(m, tu_path("v.st"), NULL, NULL, "layers.0.skip.weight", 0, NULL, NULL);
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "shape", "wrong shape");
    write_variant(m, tu_path("v.st"), NULL, NULL, NULL, 0.0f / 0.0f, NULL, NULL);
    expect_fail(tu_path("v.st"), WN_ERR_NONFINITE, "NaN", "NaN weight");
    write_variant(m, tu_path("v.st"), NULL, NULL, NULL, 1.0f / 0.0f, NULL, NULL);
    expect_fail(tu_path("v.st"), WN_ERR_NONFINITE, "infinite", "Inf weight");
    write_variant(m, tu_path("v.st"), NULL, NULL, NULL, 0, "format", "llama");
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "not a wavenet model", "other format");
    /* a file from safetensors' own PyTorch writer ({"format": "pt"}, or no
     * metadata): the configuration from the tensors' shapes, the rate and
     * the dilation cycle from the metadata, or a message naming them */
    write_variant(m, tu_path("pt.st"), NULL, NULL, NULL, 0, "format", "pt");
    r = wn_model_load(tu_path("pt.st"), &err);
    CHECKF(r != NULL, "format pt with every key: %s", r ? "" : err.message);
    if (r) {
        wn_config c = wn_model_config(r);
        CHECK(!memcmp(&c, &a, sizeof c));
        CHECK(!memcmp(wn_model_params(r), wn_model_params(m),
                      sizeof(float) * wn_model_param_count(m)));
        wn_model_free(r);
    }
    {
        int nt = wn_model_tensor_count(m);
        wn__st_tensor *t = calloc((size_t)nt, sizeof *t);
        float *tmp = malloc(sizeof(float) * wn_model_param_count(m));
        wn__model_tensors(m, wn_model_params(m), tmp, t);
        const char *kv[] = {"format", "pt", "sample_rate", "16000", "stack", "3"};
        REQUIRE_OK(wn__st_write(tu_path("pt2.st"), t, nt, kv, 3, &err), &err);
        r = wn_model_load(tu_path("pt2.st"), &err);
        CHECKF(r != NULL, "format pt, rate and stack only: %s", r ? "" : err.message);
        if (r) {
            wn_config c = wn_model_config(r);
            CHECK(c.sample_rate == 16000 && c.stack == 3 && c.layers == a.layers &&
                  c.bins == a.bins && c.residual == a.residual && c.dilation == a.dilation &&
                  c.skip == a.skip);
            wn_model_free(r);
        }
        REQUIRE_OK(wn__st_write(tu_path("pt3.st"), t, nt, kv, 1, &err), &err);
        expect_fail(tu_path("pt3.st"), WN_ERR_FORMAT, "\"sample_rate\"", "pt, no rate");
        wn_model_load(tu_path("pt3.st"), &err);
        CHECKF(strstr(err.message, "6 layers, 64 bins, R=4 D=5 S=6"), "%s", err.message);
        REQUIRE_OK(wn__st_write(tu_path("pt4.st"), t, nt, kv, 0, &err), &err);
        expect_fail(tu_path("pt4.st"), WN_ERR_FORMAT, "\"stack\"", "no metadata");
        free(t);
        free(tmp);
    }
    /* work bounded by the input: a receptive field of 700 M samples from a
     * few numbers, and a header of nested brackets, are refused up front */
    {
        wn_config big = wn_config_default();
        big.layers = 1024;
        big.stack = 24;
        CHECK(wn_config_check(&big, &err) == WN_ERR_CONFIG && strstr(err.message, "receptive field"));
        big = wn_config_default();
        big.layers = 40;
        big.stack = 16;
        big.residual = 4096;
        CHECKF(wn_config_check(&big, &err) == WN_ERR_CONFIG && strstr(err.message, "2^26"),
               "%s", err.message);
        big.residual = 32; /* the same receptive field at a modest width passes */
        CHECK(wn_config_check(&big, &err) == WN_OK);
        const char *nested = "{\"__metadata__\":{\"format\":\"wavenet\"},\"x\":[[[[[[1]]]]]]}";
        FILE *f = fopen(tu_path("nested.st"), "wb");
        REQUIRE(f);
        unsigned long long hl = strlen(nested);
        for (int i = 0; i < 8; i++) fputc((int)(hl >> (8 * i)) & 255, f);
        fputs(nested, f);
        fclose(f);
        expect_fail(tu_path("nested.st"), WN_ERR_FORMAT, "nested", "nested header");
    }
    write_variant(m, tu_path("v.st"), NULL, NULL, NULL, 0, "version", "99");
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "version", "future version");
    write_variant(m, tu_path("v.st"), NULL, NULL, NULL, 0, "layers", "7");
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "layers.6", "config says more layers");
    write_variant(m, tu_path("v.st"), NULL, NULL, NULL, 0, "bins", "x12");
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "bins", "non-numeric config");
    write_variant(m, tu_path("v.st"), NULL, NULL, NULL, 0, "stack", "0");
    expect_fail(tu_path("v.st"), WN_ERR_FORMAT, "stack", "invalid config");

    /* crafted JSON: overlapping tensors, offsets outside, huge shapes */
    const char *jsons[][2] = {
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
         "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", "overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776],\"data_offsets\":[0,16]}}", "need"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,1000]}}", "outside"},
        {"{\"a\":{\"dtype\":\"Q9\",\"shape\":[4],\"data_offsets\":[0,16]}}", "dtype"},
        {"[1,2,3]", "not a weights file"},
        {"{\"a\": [1,2,3]", "JSON object"},
        {"{\"__metadata__\":{\"format\":5}}", "not a string"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[-4],\"data_offsets\":[0,16]}}", "shape"},
    };
    for (size_t i = 0; i < sizeof jsons / sizeof jsons[0]; i++) {
        size_t jl = strlen(jsons[i][0]);
        unsigned char buf[512] = {0};
        for (int k = 0; k < 8; k++) buf[k] = (unsigned char)((uint64_t)jl >> (8 * k));
        memcpy(buf + 8, jsons[i][0], jl);
        spit(tu_path("j.st"), buf, 8 + jl + 16);
        expect_fail(tu_path("j.st"), WN_ERR_FORMAT, jsons[i][1], jsons[i][1]);
    }
    /* not a file at all */
    expect_fail(tu_tmpdir(), WN_ERR_IO, "not a regular file", "a directory");
    expect_fail(tu_path("does-not-exist"), WN_ERR_IO, "No such file", "missing file");
    spit(tu_path("text.st"), "hello, this is not a model at all\n", 34);
    expect_fail(tu_path("text.st"), WN_ERR_FORMAT, NULL, "a text file");

    /* the original file was never touched */
    size_t n2;
    unsigned char *again = slurp(good, &n2);
    CHECK(n2 == n && !memcmp(again, orig, n));
    free(again);
    free(orig);
    free(bad);
    wn_model_free(m);

    cond_files();
    return tu_finish("model_file", 0);
}
