/* test_model_file.c - the weights file: round trip, and every kind of
 * broken file refused with a one-line message naming the problem. */
#include "testutil.h"
#include "model.h"

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
    int nm = wn__model_meta(m, kv, store);
    if (meta_key)
        for (int i = 0; i < nm; i++)
            if (!strcmp(kv[2 * i], meta_key)) kv[2 * i + 1] = meta_val;
    wn_error err;
    REQUIRE_OK(wn__st_write(path, t, k, kv, nm, &err), &err);
    free(store[0]);
    free(store[1]);
    free(t);
    free(copy);
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
    return tu_finish("model_file", 0);
}
