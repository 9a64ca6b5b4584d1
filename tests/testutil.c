/* testutil.c - helpers shared by the C tests. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <ftw.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

int tu_failures = 0;
long tu_checks = 0;
static char tmp_dir[256]; /* made on first use */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(path);
}

int tu_finish(const char *name, int checks_run)
{
    if (tu_checks == 0) {
        fprintf(stderr, "%s: no CHECK ran: a suite that checked nothing has not passed\n",
                name);
        return 1;
    }
    if (tu_failures) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, tu_failures);
        if (tmp_dir[0]) fprintf(stderr, "%s: its files are kept in %s\n", name, tmp_dir);
        return 1;
    }
    /* a passing test leaves nothing behind */
    if (tmp_dir[0] && nftw(tmp_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        fprintf(stderr, "%s: could not remove %s\n", name, tmp_dir);
    if (checks_run > 0)
        fprintf(stderr, "%s: ok (%ld checks evaluated; the suite's tally %d)\n", name, tu_checks,
                checks_run);
    else
        fprintf(stderr, "%s: ok (%ld checks evaluated)\n", name, tu_checks);
    return 0;
}

const char *tu_tmpdir(void)
{
    char *dir = tmp_dir;
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof tmp_dir, "%s/wntest.XXXXXX", base && *base ? base : "/tmp");
        if (!mkdtemp(dir)) { perror("mkdtemp"); exit(1); }
    }
    return dir;
}

const char *tu_path(const char *name)
{
    static char bufs[8][512];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 512, "%s/%s", tu_tmpdir(), name);
    return b;
}

const char *tu_srcdir(void)
{
    const char *s = getenv("WN_SRCDIR");
    return s && *s ? s : ".";
}

const char *tu_wavenet(void)
{
    const char *s = getenv("WAVENET");
    return s && *s ? s : "./wavenet";
}

int tu_wn(const char *args, char *out, size_t outsize)
{
    char cmd[8320]; /* the binary's path, a space, args and the redirection */
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", tu_wavenet(), args);
    return tu_run(cmd, out, outsize);
}

int tu_lines(const char *s)
{
    int k = 0;
    for (; *s; s++) k += *s == '\n';
    return k;
}

int tu_run(const char *cmd, char *out, size_t outsize)
{
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t n = 0;
    char tmp[4096];
    size_t got;
    while ((got = fread(tmp, 1, sizeof tmp, p)) > 0) {
        if (out && n + 1 < outsize) {
            size_t c = got < outsize - 1 - n ? got : outsize - 1 - n;
            memcpy(out + n, tmp, c);
            n += c;
        }
    }
    if (out && outsize) out[n] = 0;
    int st = pclose(p);
    if (st == -1) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

wn_model *tu_small_model(int bins, int layers, int stack, int r, int d, int s,
                         uint64_t seed)
{
    wn_config c = wn_config_default();
    c.bins = bins;
    c.layers = layers;
    c.stack = stack;
    c.residual = r;
    c.dilation = d;
    c.skip = s;
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    if (!m) { fprintf(stderr, "tu_small_model: %s\n", err.message); exit(1); }
    return m;
}

double tu_maxrel(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (1 + fabs((double)b[i]));
        if (!(e <= worst)) worst = e; /* NaN counts as worst */
        if (isnan(e)) return INFINITY;
    }
    return worst;
}

double wn__uniform_for_tests(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

double tu_fed_nll(const wn_model *m, wn_precision p, const int *codes, size_t n, float *logits)
{
    wn_error err;
    const int Q = wn_model_config(m).bins;
    wn_gen *g = wn_gen_create(m, 1, NULL, &err);
    REQUIRE(g);
    REQUIRE_OK(wn_gen_set_precision(g, p, &err), &err);
    float *lg = malloc(sizeof(float) * (size_t)Q);
    REQUIRE(lg);
    double nll = 0;
    int in = wn_mulaw_silence(Q);
    for (size_t t = 0; t < n; t++) {
        REQUIRE(wn_gen_feed(g, &in, lg) == WN_OK);
        double mx = lg[0], z = 0;
        for (int q = 1; q < Q; q++) mx = lg[q] > mx ? lg[q] : mx;
        for (int q = 0; q < Q; q++) z += exp(lg[q] - mx);
        nll += log(z) + mx - lg[codes[t]];
        if (logits) memcpy(logits + t * (size_t)Q, lg, sizeof(float) * (size_t)Q);
        in = codes[t];
    }
    free(lg);
    wn_gen_free(g);
    return nll;
}

/* ---------------------------------------------------------------- fixtures
 * safetensors files that the reference scripts in tests/ wrote */


void fx_open(fx_file *f, const char *path)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    FILE *fp = fopen(path, "rb");
    if (!fp) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
    REQUIRE(fseek(fp, 0, SEEK_END) == 0);
    long sz = ftell(fp);
    REQUIRE(sz >= 8);
    rewind(fp);
    f->size = (size_t)sz;
    f->raw = malloc(f->size);
    REQUIRE(f->raw);
    REQUIRE(fread(f->raw, 1, f->size, fp) == f->size);
    fclose(fp);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | f->raw[i]; /* little endian */
    REQUIRE(n <= f->size - 8);
    json_error_t jerr;
    f->header = json_loadb((const char *)f->raw + 8, (size_t)n, 0, &jerr);
    if (!f->header) { fprintf(stderr, "%s: bad header: %s\n", path, jerr.text); exit(1); }
    f->data = f->raw + 8 + n;
    f->data_size = f->size - 8 - (size_t)n;
    const char *crc = json_string_value(
        json_object_get(json_object_get(f->header, "__metadata__"), "crc32"));
    REQUIRE(crc);
    unsigned long c = crc32(0L, Z_NULL, 0);
    for (size_t off = 0; off < f->data_size; off += 1u << 30) {
        size_t len = f->data_size - off < (1u << 30) ? f->data_size - off : (1u << 30);
        c = crc32(c, f->data + off, (uInt)len);
    }
    if (strtoul(crc, NULL, 10) != c) {
        fprintf(stderr, "%s: crc32 mismatch (fixture damaged?)\n", path);
        exit(1);
    }
}

void fx_close(fx_file *f)
{
    json_decref(f->header);
    free(f->raw);
}

const char *fx_meta(const fx_file *f, const char *key)
{
    const char *s = json_string_value(
        json_object_get(json_object_get(f->header, "__metadata__"), key));
    if (!s) { fprintf(stderr, "%s: no metadata %s\n", f->path, key); exit(1); }
    return s;
}

long fx_meta_int(const fx_file *f, const char *key)
{
    return strtol(fx_meta(f, key), NULL, 10);
}

/* A malloc'ed copy of tensor `name` of the given dtype ("F32", "F64",
 * "I32"); *count receives the element count (must equal expect if > 0). */
int fx_has(const fx_file *f, const char *name)
{
    return json_object_get(f->header, name) != NULL;
}

void *fx_get(const fx_file *f, const char *name, const char *dtype,
                    size_t expect, size_t *count)
{
    json_t *t = json_object_get(f->header, name);
    if (!t) { fprintf(stderr, "%s: no tensor %s\n", f->path, name); exit(1); }
    const char *dt = json_string_value(json_object_get(t, "dtype"));
    if (!dt || strcmp(dt, dtype)) {
        fprintf(stderr, "%s: %s is %s, expected %s\n", f->path, name, dt ? dt : "?", dtype);
        exit(1);
    }
    size_t es = strcmp(dtype, "F64") == 0 ? 8 : 4;
    size_t n = 1;
    json_t *shape = json_object_get(t, "shape"), *v;
    size_t i;
    json_array_foreach(shape, i, v) n *= (size_t)json_integer_value(v);
    json_t *offs = json_object_get(t, "data_offsets");
    size_t b = (size_t)json_integer_value(json_array_get(offs, 0));
    size_t e = (size_t)json_integer_value(json_array_get(offs, 1));
    REQUIRE(b <= e && e <= f->data_size && e - b == n * es);
    if (expect && n != expect) {
        fprintf(stderr, "%s: %s has %zu elements, expected %zu\n", f->path, name, n, expect);
        exit(1);
    }
    void *out = malloc(n * es + 1);
    REQUIRE(out);
    memcpy(out, f->data + b, n * es); /* the files are little endian, as is x86/arm */
    if (count) *count = n;
    return out;
}
