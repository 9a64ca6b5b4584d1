/* test_hostile.c - files and runs meant to hurt: forged sizes, special
 * files, NaN/Inf, huge requests, a full disk. Each hostile load runs in a
 * child process under a memory bound (RLIMIT_AS of 512 MiB, or in sanitizer
 * builds, where ASan needs terabytes of address space, a watchdog on the
 * child's resident size) and a generous CPU-time bound against hangs (not
 * a speed claim: timing belongs to bench/), and must end in a negative
 * wn_status with a one-line message naming the file. The command-line part
 * checks that a failed run (a full disk simulated with RLIMIT_FSIZE, a bad
 * input) leaves an existing output byte for byte as it was, with no
 * temporary file left behind, and that impossible requests are refused
 * before any work. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* wait4, mkfifo */
#endif
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

#define MEM_LIMIT ((size_t)512 << 20)
#define ANY_ERROR 1     /* want: any negative status */
#define ANY_OUTCOME 2   /* want: success or a clean error */

/* CPU seconds a hostile load may use before it counts as hung: far above
 * what any takes (well under a second unsanitized), and CPU time, not wall
 * time, so a busy machine does not fail the test */
#define HANG_CPU_SECONDS 120

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------ files */

static void put(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    REQUIRE(fwrite(data, 1, n, f) == n);
    REQUIRE(fclose(f) == 0);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)len + 1);
    REQUIRE(b);
    REQUIRE(fread(b, 1, (size_t)len, f) == (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
}

/* A safetensors file from a header text (padded here) and a data section. */
static void put_st(const char *path, const char *header, const void *data, size_t n)
{
    size_t hl = strlen(header), padded = (hl + 7) & ~(size_t)7;
    size_t total = 8 + padded + n;
    unsigned char *b = malloc(total);
    REQUIRE(b);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    memcpy(b + 8, header, hl);
    memset(b + 8 + hl, ' ', padded - hl);
    if (n) memcpy(b + 8 + padded, data, n);
    put(path, b, total);
    free(b);
}

/* A growable string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        REQUIRE(n >= 0);
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        REQUIRE(b->s);
        if (b->len == 0) b->s[0] = 0;
    }
}

/* Write model m (with params replaced by `values` if given) as a weights
 * file with our own header: extra_tensors (JSON members, may be "") come
 * first; crc32 of the data is included when with_crc. */
/* m's parameters in the file's (PyTorch) layout, malloc'ed */
static float *file_params(const wn_model *m)
{
    float *v = malloc(wn_model_param_count(m) * sizeof *v);
    REQUIRE(v);
    for (int i = 0; i < wn_model_tensor_count(m); i++) {
        size_t off;
        const char *name = wn_model_tensor_name(m, i);
        wn_model_tensor_info(m, name, NULL, NULL, &off);
        wn_model_tensor_get(m, name, NULL, v + off);
    }
    return v;
}

static void put_model(const char *path, const wn_model *m, const float *values,
                      const char *extra_meta, const char *extra_tensors, int with_crc)
{
    wn_config c = wn_model_config(m);
    size_t np = wn_model_param_count(m);
    float *own = values ? NULL : file_params(m);
    const float *data = values ? values : own;
    sbuf h = {0};
    sb_printf(&h, "{\"__metadata__\":{\"format\":\"wavenet\",\"version\":\"1\","
              "\"sample_rate\":\"%d\",\"bins\":\"%d\",\"layers\":\"%d\",\"stack\":\"%d\","
              "\"residual\":\"%d\",\"dilation\":\"%d\",\"skip\":\"%d\"%s",
              c.sample_rate, c.bins, c.layers, c.stack, c.residual, c.dilation, c.skip,
              extra_meta ? extra_meta : "");
    if (with_crc)
        sb_printf(&h, ",\"crc32\":\"%lu\"",
                  (unsigned long)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)data,
                                       (uInt)(np * sizeof(float))));
    sb_printf(&h, "}%s%s", extra_tensors && *extra_tensors ? "," : "",
              extra_tensors ? extra_tensors : "");
    for (int i = 0; i < wn_model_tensor_count(m); i++) {
        const char *name = wn_model_tensor_name(m, i);
        int ndim, shape[3];
        size_t off, cnt = wn_model_tensor_info(m, name, &ndim, shape, &off);
        sb_printf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[", name);
        for (int d = 0; d < ndim; d++) sb_printf(&h, "%s%d", d ? "," : "", shape[d]);
        sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", off * 4, (off + cnt) * 4);
    }
    sb_printf(&h, "}");
    put_st(path, h.s, data, np * sizeof(float));
    free(h.s);
    free(own);
}

/* A WAV: fmt tag 1 (PCM) or 3 (float), data chunk size claim (or 0 = real). */
static void put_wav(const char *path, int tag, int ch, int rate, int bits, const void *samples,
                    size_t bytes, uint32_t claim)
{
    unsigned char h[44];
    uint32_t dsz = claim ? claim : (uint32_t)bytes;
    int align = ch * bits / 8;
#define LE32(p, v) ((p)[0] = (unsigned char)(v), (p)[1] = (unsigned char)((v) >> 8), \
                    (p)[2] = (unsigned char)((v) >> 16), (p)[3] = (unsigned char)((v) >> 24))
#define LE16(p, v) ((p)[0] = (unsigned char)(v), (p)[1] = (unsigned char)((v) >> 8))
    memcpy(h, "RIFF", 4);
    LE32(h + 4, 36 + (uint32_t)bytes);
    memcpy(h + 8, "WAVEfmt ", 8);
    LE32(h + 16, 16u);
    LE16(h + 20, tag);
    LE16(h + 22, ch);
    LE32(h + 24, (uint32_t)rate);
    LE32(h + 28, (uint32_t)rate * (uint32_t)align);
    LE16(h + 32, align);
    LE16(h + 34, bits);
    memcpy(h + 36, "data", 4);
    LE32(h + 40, dsz);
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    REQUIRE(fwrite(h, 1, 44, f) == 44 && fwrite(samples, 1, bytes, f) == bytes);
    REQUIRE(fclose(f) == 0);
}

/* ------------------------------------------------------------ a bounded child */

typedef int (*op_fn)(const char *path, wn_error *err);

typedef struct outcome {
    int rc, code;
    char msg[320];
    int exited;      /* the child returned (not killed) */
    int sig;         /* else the signal */
    int over_memory; /* killed by the watchdog */
    double secs;
    long peak_kb;
} outcome;

static long rss_kb(pid_t pid)
{
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/statm", (long)pid);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    long size = 0, res = 0;
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
    fclose(f);
    return res * (sysconf(_SC_PAGESIZE) / 1024);
}

static outcome run_bounded(op_fn fn, const char *path)
{
    outcome o;
    memset(&o, 0, sizeof o);
    int p[2];
    REQUIRE(pipe(p) == 0);
    fflush(NULL);
    double t0 = now_s();
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (!SANITIZED) {
            struct rlimit r = {MEM_LIMIT, MEM_LIMIT};
            setrlimit(RLIMIT_AS, &r);
        }
        struct rlimit c = {HANG_CPU_SECONDS, HANG_CPU_SECONDS + 5};
        setrlimit(RLIMIT_CPU, &c); /* SIGXCPU at the soft limit */
        wn_error err;
        memset(&err, 0, sizeof err);
        struct { int rc, code; char msg[320]; } r;
        r.rc = fn(path, &err);
        r.code = err.code;
        memcpy(r.msg, err.message, sizeof r.msg);
        r.msg[sizeof r.msg - 1] = 0;
        if (write(p[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(3);
        _exit(0);
    }
    close(p[1]);
    int st = 0;
    struct rusage ru;
    for (;;) {
        pid_t w = wait4(pid, &st, WNOHANG, &ru);
        if (w == pid) break;
        if (rss_kb(pid) > (long)(MEM_LIMIT >> 10)) {
            o.over_memory = 1;
            kill(pid, SIGKILL);
            wait4(pid, &st, 0, &ru);
            break;
        }
        struct timespec d = {0, 2000000};
        nanosleep(&d, NULL);
    }
    o.secs = now_s() - t0;
    o.peak_kb = ru.ru_maxrss;
    struct { int rc, code; char msg[320]; } r;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && read(p[0], &r, sizeof r) == (ssize_t)sizeof r) {
        o.exited = 1;
        o.rc = r.rc;
        o.code = r.code;
        memcpy(o.msg, r.msg, sizeof o.msg);
    } else {
        o.sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
    }
    close(p[0]);
    return o;
}

/* Run op on path in a bounded child; want: a wn_status, ANY_ERROR or
 * ANY_OUTCOME; needle (optional) must be in the message. */
static void expect(const char *what, op_fn fn, const char *path, int want, const char *needle)
{
    outcome o = run_bounded(fn, path);
    if (!o.exited) {
        CHECKF(0, "%s: %s (%.1f s, peak %ld MiB)", what,
               o.over_memory ? "used more than 512 MiB"
               : o.sig == SIGXCPU ? "used its CPU-time bound (a hang?)"
                                  : "crashed", o.secs, o.peak_kb >> 10);
        if (o.sig && o.sig != SIGXCPU && !o.over_memory)
            fprintf(stderr, "  (signal %d)\n", o.sig);
        return;
    }
    fprintf(stderr, "  %-44.44s %5.2f s %4ld MiB  %s\n", what, o.secs, o.peak_kb >> 10,
            o.rc > 0 ? "(accepted, but the samples are not all in [-1, 1])"
            : o.rc ? o.msg : "(accepted)");
    if (o.rc > 0) {
        CHECKF(0, "%s: accepted, with samples outside [-1, 1] or NaN", what);
        return;
    }
    if (o.rc == WN_OK) {
        CHECKF(want == WN_OK || want == ANY_OUTCOME, "%s: accepted, expected an error", what);
        return;
    }
    CHECKF(want != WN_OK, "%s: refused: %s", what, o.msg);
    CHECKF(o.rc < 0 && o.rc >= WN_STATUS_LAST && o.code == o.rc,
           "%s: status %d, err.code %d", what, o.rc, o.code);
    if (want < 0) CHECKF(o.rc == want, "%s: status %d (%s), expected %d (%s): %s", what, o.rc,
                         wn_strerror(o.rc), want, wn_strerror(want), o.msg);
    CHECKF(o.msg[0] && !strchr(o.msg, '\n'), "%s: message is not one line: '%s'", what, o.msg);
    CHECKF(strstr(o.msg, path) != NULL, "%s: message does not name %s: '%s'", what, path,
           o.msg);
    if (needle) CHECKF(strstr(o.msg, needle) != NULL, "%s: '%s' lacks '%s'", what, o.msg, needle);
    /* the message must be a sentence, not a bare "(...)" from a library */
    CHECKF(!strstr(o.msg, "()"), "%s: empty detail in '%s'", what, o.msg);
}

static int op_model(const char *path, wn_error *err)
{
    wn_model *m = wn_model_load(path, err);
    if (!m) return err->code;
    wn_model_free(m);
    return WN_OK;
}

/* Read audio at `rate`; 1 if it was accepted with a sample outside [-1, 1]. */
static int read_at(const char *path, int rate, wn_error *err)
{
    float *x = NULL;
    size_t n = 0;
    int rc = wn_audio_read(path, rate, &x, &n, NULL, err);
    for (size_t i = 0; rc == WN_OK && i < n; i++)
        if (!(x[i] >= -1.0f && x[i] <= 1.0f)) rc = 1; /* NaN too */
    free(x);
    return rc;
}

static int op_audio(const char *path, wn_error *err) { return read_at(path, 0, err); }
static int op_audio_8k(const char *path, wn_error *err) { return read_at(path, 8000, err); }

static int op_checkpoint(const char *path, wn_error *err)
{
    wn_train_params p;
    int64_t step;
    char **t = NULL, **v = NULL;
    int nt = 0, nv = 0;
    int rc = wn_checkpoint_read(path, &p, &step, &t, &nt, &v, &nv, err);
    if (rc == WN_OK) {
        wn_list_free(t, nt);
        wn_list_free(v, nv);
    }
    return rc;
}

/* ------------------------------------------------------------ model files */

static void hostile_models(void)
{
    fprintf(stderr, "weights files:\n");
    wn_model *m = tu_small_model(4, 2, 2, 2, 2, 2, 11);
    size_t np = wn_model_param_count(m);
    const char *p;

    p = tu_path("good.safetensors");
    put_model(p, m, NULL, NULL, NULL, 1);
    expect("a valid model (our own header writer)", op_model, p, WN_OK, NULL);

    p = tu_path("empty.safetensors");
    put(p, "", 0);
    expect("zero-length file", op_model, p, WN_ERR_FORMAT, NULL);
    p = tu_path("seven.safetensors");
    put(p, "\x08\0\0\0\0\0\0", 7);
    expect("7-byte file", op_model, p, WN_ERR_FORMAT, NULL);
    p = tu_path("dir.safetensors");
    REQUIRE(mkdir(p, 0755) == 0);
    expect("a directory", op_model, p, WN_ERR_IO, NULL);
    p = tu_path("fifo.safetensors");
    REQUIRE(mkfifo(p, 0644) == 0);
    expect("a FIFO nobody writes to (must not block)", op_model, p, WN_ERR_IO, NULL);
    expect("a character device (/dev/zero)", op_model, "/dev/zero", WN_ERR_IO, NULL);
    p = tu_path("missing.safetensors");
    expect("a missing file", op_model, p, WN_ERR_IO, NULL);

    unsigned char big[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    p = tu_path("hlen63.safetensors");
    put(p, big, sizeof big);
    expect("header length 2^63", op_model, p, WN_ERR_FORMAT, NULL);
    p = tu_path("hlenbig.safetensors");
    big[7] = 0;
    big[2] = 1; /* 64 KiB header, 8 bytes present */
    put(p, big, sizeof big);
    expect("header length beyond the file", op_model, p, WN_ERR_FORMAT, "truncated");

    float zeros[4] = {0};
    p = tu_path("e40.safetensors");
    put_st(p, "{\"causal.weight\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576],"
              "\"data_offsets\":[0,16]}}", zeros, sizeof zeros);
    expect("a tensor claiming 2^40 elements", op_model, p, WN_ERR_FORMAT, NULL);
    p = tu_path("e40b.safetensors");
    put_st(p, "{\"causal.weight\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576],"
              "\"data_offsets\":[0,4398046511104]}}", zeros, sizeof zeros);
    expect("2^40 elements with offsets to match", op_model, p, WN_ERR_FORMAT, NULL);
    p = tu_path("ovf.safetensors");
    put_st(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4611686018427387904,16],"
              "\"data_offsets\":[0,0]}}", NULL, 0);
    expect("a shape whose product overflows 64 bits", op_model, p, WN_ERR_FORMAT, NULL);
    p = tu_path("deep.safetensors");
    {
        size_t depth = 100000;
        char *h = malloc(2 * depth + 8);
        REQUIRE(h);
        strcpy(h, "{\"a\":");
        memset(h + 5, '[', depth);
        memset(h + 5 + depth, ']', depth);
        strcpy(h + 5 + 2 * depth, "}");
        put_st(p, h, NULL, 0);
        free(h);
    }
    expect("JSON nested 100000 deep", op_model, p, WN_ERR_FORMAT, NULL);

    /* a configuration far larger than the data that comes with it: the
     * loader must not allocate for what the header claims (14 GiB here) */
    p = tu_path("claims14g.safetensors");
    put_st(p, "{\"__metadata__\":{\"format\":\"wavenet\",\"version\":\"1\",\"sample_rate\":"
              "\"8000\",\"bins\":\"256\",\"layers\":\"18\",\"stack\":\"10\",\"residual\":"
              "\"4096\",\"dilation\":\"4096\",\"skip\":\"4096\"}}", NULL, 0);
    expect("metadata for a 1.8e9-parameter model, no data", op_model, p, WN_ERR_FORMAT, NULL);

    /* NaN / Inf weights, with a correct crc32 so the value check is reached */
    float *v = file_params(m);
    v[3] = NAN;
    p = tu_path("nan.safetensors");
    put_model(p, m, v, NULL, NULL, 1);
    expect("a NaN weight (valid crc32)", op_model, p, WN_ERR_NONFINITE, "element 3 is NaN");
    v[3] = 0;
    v[np - 1] = -INFINITY;
    p = tu_path("inf.safetensors");
    put_model(p, m, v, NULL, NULL, 0);
    expect("an infinite weight (no crc32)", op_model, p, WN_ERR_NONFINITE, "infinite");
    v[np - 1] = 0.25f;
    p = tu_path("crc.safetensors");
    put_model(p, m, v, ",\"crc32\":\"12345\"", NULL, 0);
    expect("a crc32 mismatch", op_model, p, WN_ERR_CHECKSUM, "crc32");
    free(v);

    /* a checkpoint reader on hostile metadata: its errors name the file too */
    p = tu_path("ckdecay.safetensors");
    put_model(p, m, NULL,
              ",\"train_checkpoint\":\"1\",\"optimizer\":\"adam\",\"beta1\":\"0.9\","
              "\"beta2\":\"0.999\",\"eps\":\"1e-8\",\"momentum\":\"0.9\",\"rho\":\"0.9\","
              "\"weight_decay\":\"0\",\"batch\":\"1\",\"window\":\"16\",\"total_steps\":\"2\","
              "\"lr\":\"0.001\",\"warmup\":\"0\",\"clip\":\"1\",\"seed\":\"1\",\"threads\":\"1\","
              "\"trim_db\":\"40\",\"gain_jitter_db\":\"0\",\"valid_every\":\"1\","
              "\"patience\":\"0\",\"decay\":\"sawtooth:3\",\"steps\":\"1\","
              "\"train_files\":\"[]\",\"valid_files\":\"[]\"",
              NULL, 0);
    expect("checkpoint with decay 'sawtooth:3'", op_checkpoint, p, WN_ERR_FORMAT, NULL);
    /* the same, valid, from before gain_may_clip and max_clipped: it resumes
     * as it drew its windows then, every clip kept and gains uncapped */
    p = tu_path("ckold.safetensors");
    put_model(p, m, NULL,
              ",\"train_checkpoint\":\"1\",\"optimizer\":\"adam\",\"beta1\":\"0.9\","
              "\"beta2\":\"0.999\",\"eps\":\"1e-8\",\"momentum\":\"0.9\",\"rho\":\"0.9\","
              "\"weight_decay\":\"0\",\"batch\":\"1\",\"window\":\"16\",\"total_steps\":\"2\","
              "\"lr\":\"0.001\",\"warmup\":\"0\",\"clip\":\"1\",\"seed\":\"1\",\"threads\":\"1\","
              "\"trim_db\":\"40\",\"gain_jitter_db\":\"6\",\"valid_every\":\"1\","
              "\"patience\":\"0\",\"decay\":\"cosine:0.1\",\"steps\":\"1\","
              "\"train_files\":\"[]\",\"valid_files\":\"[]\"",
              NULL, 0);
    {
        wn_train_params q;
        wn_error e;
        CHECKF(wn_checkpoint_read(p, &q, NULL, NULL, NULL, NULL, NULL, &e) == WN_OK &&
                   q.gain_may_clip == 1 && q.max_clipped == 1.0f,
               "a checkpoint from before the clipping settings: %s", e.message);
    }

    /* many tensors: a model of 1024 one-channel layers (6150 tensors) after
     * 100000 ignored opt.* entries: must load (how fast is for bench/) */
    {
        wn_model *wide = tu_small_model(2, 1024, 10, 1, 1, 1, 5);
        sbuf t = {0};
        for (int i = 0; i < 100000; i++)
            sb_printf(&t, "%s\"opt.x.%d\":{\"dtype\":\"F32\",\"shape\":[0],"
                      "\"data_offsets\":[0,0]}", i ? "," : "", i);
        p = tu_path("many.safetensors");
        put_model(p, wide, NULL, NULL, t.s, 0);
        free(t.s);
        wn_model_free(wide);
        expect("100000 opt.* tensors + 6150 model tensors", op_model, p, WN_OK, NULL);
    }
    /* a tensor count in the millions (a 62 MB header) */
    if (!SANITIZED) {
        sbuf t = {0};
        sb_printf(&t, "{");
        for (int i = 0; i < 1000001; i++)
            sb_printf(&t, "%s\"opt.%d\":{\"dtype\":\"F32\",\"shape\":[0],"
                      "\"data_offsets\":[0,0]}", i ? "," : "", i);
        sb_printf(&t, "}");
        p = tu_path("million.safetensors");
        put_st(p, t.s, NULL, 0);
        free(t.s);
        expect("1000001 tensors (62 MB header)", op_model, p, ANY_ERROR, "more than the 16 MiB");
        unlink(p);
    }
    wn_model_free(m);
}

/* ------------------------------------------------------------ audio files */

static void hostile_audio(void)
{
    fprintf(stderr, "audio files:\n");
    const char *p;
    short pcm[100];
    for (int i = 0; i < 100; i++) pcm[i] = (short)(i * 300 - 15000);

    p = tu_path("ok.wav");
    put_wav(p, 1, 1, 8000, 16, pcm, sizeof pcm, 0);
    expect("a valid 16-bit WAV", op_audio, p, WN_OK, NULL);
    p = tu_path("empty.wav");
    put(p, "", 0);
    expect("zero-length .wav", op_audio, p, ANY_ERROR, "an empty file (0 bytes)");
    p = tu_path("empty.raw");
    put(p, "", 0);
    expect("zero-length .raw", op_audio, p, ANY_ERROR, NULL);
    p = tu_path("odd.raw");
    put(p, "\x01", 1);
    expect("a one-byte .raw", op_audio, p, ANY_ERROR, NULL);
    p = tu_path("adir.wav");
    REQUIRE(mkdir(p, 0755) == 0);
    expect("a directory", op_audio, p, WN_ERR_IO, "directory");
    p = tu_path("fifo.wav");
    REQUIRE(mkfifo(p, 0644) == 0);
    expect("a FIFO nobody writes to (must not block)", op_audio, p, WN_ERR_IO, NULL);
    expect("a character device (/dev/zero)", op_audio, "/dev/zero", WN_ERR_IO, NULL);
    expect("a missing file", op_audio, tu_path("missing.wav"), WN_ERR_IO, NULL);
    p = tu_path("text.wav");
    put(p, "this is not audio\n", 18);
    expect("a text file", op_audio, p, WN_ERR_FORMAT, NULL);

    /* libsndfile 1.2 loops forever without I/O on this header: a LIST
     * sub-chunk of size 0xFFFFFFF8 wraps its skip 8 bytes backwards (its
     * issue #1118; found by our fuzzer). The forked header check (the sandbox,
 * on in main) gives up. */
    {
        static const unsigned char loop_wav[] =
            "RIFF\x58\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0"
            "\x02\0\x10\0LIST\x28\0\0\0INFOabcd\xf8\xff\xff\xff"
            "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
            "data\x08\0\0\0\0\0\0\0\0\0\0\0";
        p = tu_path("list-loop.wav");
        put(p, (const char *)loop_wav, sizeof loop_wav - 1);
        expect("WAV whose LIST sub-chunk loops libsndfile", op_audio, p, WN_ERR_FORMAT,
               "did not finish");
    }
    p = tu_path("claims.wav");
    put_wav(p, 1, 1, 8000, 16, pcm, sizeof pcm, 1000000);
    expect("WAV claiming 500000 frames, holding 100", op_audio, p, WN_ERR_FORMAT, "500000");
    p = tu_path("claims4g.wav");
    put_wav(p, 1, 2, 8000, 16, pcm, sizeof pcm, 0xFFFFFF00u);
    expect("WAV claiming 2^30 stereo frames", op_audio, p, WN_ERR_FORMAT, "claims");
    p = tu_path("unknown.wav");
    put_wav(p, 1, 1, 8000, 16, pcm, sizeof pcm, 0xFFFFFFFFu);
    expect("WAV with the 'unknown length' mark", op_audio, p, ANY_OUTCOME, NULL);
    p = tu_path("ch65535.wav");
    put_wav(p, 1, 65535, 8000, 16, pcm, sizeof pcm, 0);
    expect("WAV with 65535 channels", op_audio, p, ANY_ERROR, NULL);
    p = tu_path("rate0.wav");
    put_wav(p, 1, 1, 0, 16, pcm, sizeof pcm, 0);
    expect("WAV at 0 Hz", op_audio, p, ANY_ERROR, NULL);
    p = tu_path("rate1.wav");
    put_wav(p, 1, 1, 1, 16, pcm, sizeof pcm, 0);
    expect("WAV at 1 Hz read at 8000 Hz", op_audio_8k, p, ANY_ERROR, NULL);
    {
        /* RF64 whose ds64 claims 2^40 frames */
        unsigned char b[80 + sizeof pcm];
        memset(b, 0, sizeof b);
        memcpy(b, "RF64\xff\xff\xff\xffWAVEds64", 16);
        b[16] = 28;
        uint64_t huge = (uint64_t)1 << 41, frames = (uint64_t)1 << 40;
        for (int i = 0; i < 8; i++) {
            b[20 + i] = (unsigned char)(huge >> (8 * i));
            b[28 + i] = (unsigned char)(frames >> (8 * i));
            b[36 + i] = (unsigned char)(frames >> (8 * i));
        }
        memcpy(b + 48, "fmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0\x02\0\x10\0", 24);
        memcpy(b + 72, "data\xff\xff\xff\xff", 8);
        memcpy(b + 80, pcm, sizeof pcm);
        p = tu_path("rf64.wav");
        put(p, b, sizeof b);
        expect("RF64 claiming 2^40 frames", op_audio, p, ANY_ERROR, NULL);
    }
    {
        unsigned char au[24 + sizeof pcm];
        memcpy(au, ".snd\0\0\0\x18\x40\0\0\0\0\0\0\x03\0\0\x1f\x40\0\0\0\x01", 24);
        memcpy(au + 24, pcm, sizeof pcm);
        p = tu_path("claims.au");
        put(p, au, sizeof au);
        expect("AU claiming 1 GiB of audio", op_audio, p, WN_ERR_FORMAT, "claims");
    }

    /* NaN / Inf samples: refused with the file and the sample index */
    float f[12000];
    for (int i = 0; i < 12000; i++) f[i] = 0.1f * sinf((float)i);
    f[5] = NAN;
    p = tu_path("nan.wav");
    put_wav(p, 3, 1, 8000, 32, f, 12 * sizeof(float), 0);
    expect("float WAV, NaN at sample 5", op_audio, p, WN_ERR_AUDIO, "sample 5 is NaN");
    f[5] = 0;
    f[2] = -INFINITY;
    p = tu_path("inf.wav");
    put_wav(p, 3, 1, 8000, 32, f, 12 * sizeof(float), 0);
    expect("float WAV, -Inf at sample 2", op_audio, p, WN_ERR_AUDIO, "sample 2 is infinite");
    f[2] = 0;
    f[3] = NAN; /* stereo: frame 1, channel 1 */
    p = tu_path("nan2.wav");
    put_wav(p, 3, 2, 8000, 32, f, 12 * sizeof(float), 0);
    expect("stereo float WAV, NaN in frame 1 ch 1", op_audio, p, WN_ERR_AUDIO,
           "sample 1 (channel 1) is NaN");
    f[3] = 0;
    f[10000] = INFINITY; /* past the first read block */
    p = tu_path("inflate.wav");
    put_wav(p, 3, 1, 16000, 32, f, sizeof f, 0);
    expect("float WAV, +Inf at sample 10000", op_audio, p, WN_ERR_AUDIO, "sample 10000");
    expect("  ... read at 8000 Hz (resampling)", op_audio_8k, p, WN_ERR_AUDIO, "sample 10000");
    {   /* huge but finite samples: clipped, never NaN, even when resampled */
        float h[400];
        for (int i = 0; i < 400; i++) h[i] = i % 2 ? 3e38f : -3e38f;
        p = tu_path("huge.wav");
        put_wav(p, 3, 1, 16000, 32, h, sizeof h, 0);
        expect("float WAV of +-3e38, read at 8000 Hz", op_audio_8k, p, WN_OK, NULL);
        for (int i = 0; i < 400; i++) h[i] = 3e38f;
        p = tu_path("huge2.wav");
        put_wav(p, 3, 2, 16000, 32, h, sizeof h, 0);
        expect("stereo float WAV of 3e38 (sum overflows)", op_audio_8k, p, WN_OK, NULL);
        for (int i = 0; i < 400; i++) h[i] = i % 2 ? 3e38f : -3e38f;
        p = tu_path("huge3.wav");
        put_wav(p, 3, 2, 16000, 32, h, sizeof h, 0);
        expect("stereo float WAV of 3e38 and -3e38", op_audio_8k, p, WN_OK, NULL);
    }
    {
        double d[4] = {0, 0, 0, NAN};
        p = tu_path("nan64.wav");
        put_wav(p, 3, 1, 8000, 64, d, sizeof d, 0);
        expect("double WAV, NaN at sample 3", op_audio, p, WN_ERR_AUDIO, "sample 3 is NaN");
    }

    /* resource limits: audio longer than the reader takes, or than memory */
    p = tu_path("huge.raw"); /* sparse: 2^31 + 1 frames of silence */
    {
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(fd >= 0);
        int ok = ftruncate(fd, ((off_t)1 << 32) + 2) == 0;
        close(fd);
        if (ok)
            expect("a 4 GiB .raw (2^31+1 frames, sparse)", op_audio, p, ANY_ERROR, "too long");
        unlink(p);
    }
    if (!SANITIZED) {
        p = tu_path("big.wav"); /* sparse: 2^31 - 128 frames of silence, legal */
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        REQUIRE(fd >= 0);
        close(fd);
        put_wav(p, 1, 1, 8000, 16, pcm, 0, 0xFFFFFF00u);
        fd = open(p, O_WRONLY);
        int ok = fd >= 0 && ftruncate(fd, 44 + (off_t)0xFFFFFF00u) == 0;
        if (fd >= 0) close(fd);
        if (ok)
            expect("a 4 GiB WAV under a 512 MiB limit", op_audio, p, WN_ERR_NOMEM, NULL);
        unlink(p);
    }
}

/* ------------------------------------------------------------ the command */

static char out[1 << 16];

/* Run `wavenet ARGS` (stderr captured into out, stdout dropped) with at most
 * fsize bytes per written file (0 = no limit), SIGXFSZ at its default (a
 * shell's `ulimit -f`), which would kill the process: wavenet ignores it,
 * so a write past the limit fails with EFBIG, as a full disk fails with
 * ENOSPC. Returns the exit status (128 + signal if killed). */
static int wn_limited(const char *args, long fsize)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec %s %s 2>&1 >/dev/null", tu_wavenet(), args);
    int p[2];
    REQUIRE(pipe(p) == 0);
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        close(p[1]);
        if (fsize > 0) {
            struct rlimit r = {(rlim_t)fsize, (rlim_t)fsize};
            setrlimit(RLIMIT_FSIZE, &r);
            signal(SIGXFSZ, SIG_DFL);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    char tmp[4096];
    while ((got = read(p[0], tmp, sizeof tmp)) > 0)
        if (n + (size_t)got < sizeof out) {
            memcpy(out + n, tmp, (size_t)got);
            n += (size_t)got;
        }
    out[n] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int wn_run(const char *args) { return wn_limited(args, 0); }

/* Error lines on stderr: "wavenet: ..." lines other than notes, warnings
 * and the banner `train` prints before it starts. */
static int error_lines(const char *s)
{
    static const char *info[] = {"wavenet: note:", "wavenet: warning:", "wavenet: training ",
                                 "wavenet: memory estimate", "wavenet: resuming "};
    int n = 0;
    for (const char *l = s; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        if (strncmp(l, "wavenet: ", 9)) continue;
        int is_info = !strncmp(l, "wavenet: batch ", 15) && l[15] >= '0' && l[15] <= '9';
        for (size_t i = 0; i < sizeof info / sizeof info[0]; i++)
            is_info |= !strncmp(l, info[i], strlen(info[i]));
        n += !is_info;
    }
    return n;
}

static const char *last_line(const char *s)
{
    size_t n = strlen(s);
    while (n && s[n - 1] == '\n') n--;
    while (n && s[n - 1] != '\n') n--;
    return s + n;
}

/* temporaries ("." name ".tmp") left in the test folder */
static int leftover_temps(void)
{
    DIR *d = opendir(tu_tmpdir());
    REQUIRE(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp")) {
            fprintf(stderr, "    left behind: %s\n", e->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static void remove_temps(void)
{
    DIR *d = opendir(tu_tmpdir());
    REQUIRE(d);
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] == '.' && strstr(e->d_name, ".tmp")) unlink(tu_path(e->d_name));
    closedir(d);
}

/* A run that must fail with one error line and leave an existing output
 * `keep` byte for byte as it was (it is given distinctive contents first). */
static void fails_keeping(const char *what, const char *args, long fsize, const char *keep)
{
    size_t n0 = 0, n1 = 0;
    char sentinel[600];
    snprintf(sentinel, sizeof sentinel, "precious: %s\n", keep);
    put(keep, sentinel, strlen(sentinel));
    char *before = slurp(keep, &n0);
    REQUIRE(before);
    double t0 = now_s();
    int rc = wn_limited(args, fsize);
    const char *last = last_line(out);
    fprintf(stderr, "  %-44.44s %5.2f s  exit %d: %s", what, now_s() - t0, rc,
            *last ? last : "(nothing)\n");
    CHECKF(rc != 0 && rc < 128, "%s: exit status %d", what, rc);
    CHECKF(error_lines(out) == 1, "%s: %d error lines: %s", what, error_lines(out), out);
    char *after = slurp(keep, &n1);
    CHECKF(after && n0 == n1 && !memcmp(before, after, n0),
           "%s: the existing %s was changed (%zu -> %zu bytes)", what, keep, n0, n1);
    CHECKF(leftover_temps() == 0, "%s: temporary files left behind", what);
    remove_temps();
    free(before);
    free(after);
}

static void write_noise_wav(const char *path, int n, int rate, uint64_t seed)
{
    short *s = malloc(sizeof(short) * (size_t)n);
    REQUIRE(s);
    for (int i = 0; i < n; i++)
        s[i] = (short)(8000.0 * sin(i * 0.07) + 3000.0 * (wn__uniform_for_tests(&seed) - 0.5));
    put_wav(path, 1, 1, rate, 16, s, sizeof(short) * (size_t)n, 0);
    free(s);
}

static void hostile_cli(void)
{
    fprintf(stderr, "the command:\n");
    char args[4096], model[512], wav[512], clip[512], csv[512], png[512], ckpt[512], best[512];
    snprintf(model, sizeof model, "%s", tu_path("cli.safetensors"));
    snprintf(wav, sizeof wav, "%s", tu_path("old.wav"));
    snprintf(clip, sizeof clip, "%s", tu_path("clip.wav"));
    snprintf(csv, sizeof csv, "%s", tu_path("old.csv"));
    snprintf(png, sizeof png, "%s", tu_path("old.png"));
    snprintf(ckpt, sizeof ckpt, "%s", tu_path("old.ckpt"));
    snprintf(best, sizeof best, "%s", tu_path("best.safetensors"));
    snprintf(args, sizeof args, "init -o %s --layers 4 --stack 2 --residual 4 --dilation 4 "
             "--skip 8 --seed 1", model);
    REQUIRE(wn_run(args) == 0);
    write_noise_wav(clip, 24000, 8000, 1);
    snprintf(args, sizeof args, "generate -m %s --samples 3000 -o %s", model, wav);
    REQUIRE(wn_run(args) == 0);

    /* impossible lengths: refused at once, before any file is created */
    const char *huge[] = {"--samples 2147483648", "--seconds 300000",
                          "--samples 2147483648 --streams 3", "--samples 1099511627776"};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        snprintf(args, sizeof args, "generate -m %s %s -o %s", model, huge[i],
                 tu_path("never.wav"));
        double t0 = now_s();
        int rc = wn_run(args);
        double secs = now_s() - t0;
        fprintf(stderr, "  generate %-35s %5.2f s  exit %d: %s", huge[i], secs, rc, out);
        CHECKF(rc == 1 && error_lines(out) == 1, "generate %s: exit %d: %s", huge[i], rc, out);
        CHECKF(strstr(out, "more than a WAV file holds"), "generate %s: %s", huge[i], out);
        struct stat st;
        CHECKF(stat(tu_path("never.wav"), &st) != 0 && stat(tu_path("never-0.wav"), &st) != 0,
               "generate %s created an output", huge[i]);
        CHECK(leftover_temps() == 0);
    }
    {   /* with a long prime kept in front, the total is what counts */
        snprintf(args, sizeof args, "generate -m %s --samples 2147480000 --keep-prime --prime %s "
                 "-o %s", model, clip, tu_path("never.wav"));
        int rc = wn_run(args);
        fprintf(stderr, "  generate --keep-prime + 2147480000 samples      exit %d: %s", rc, out);
        CHECKF(rc == 1 && strstr(out, "more than a WAV file holds"), "keep-prime: %s", out);
    }

    /* a full disk (RLIMIT_FSIZE: writes past it fail with EFBIG) */
    snprintf(args, sizeof args, "generate -m %s --samples 100000 -o %s", model, wav);
    fails_keeping("generate: WAV, disk full at 32 KiB", args, 32 << 10, wav);
    snprintf(args, sizeof args, "generate -m %s --samples 100000 --streams 2 -o %s", model,
             tu_path("old.wav"));
    fails_keeping("generate --streams 2: disk full", args, 32 << 10, tu_path("old-0.wav"));
    snprintf(args, sizeof args, "init -o %s --residual 64", tu_path("oldmodel.safetensors"));
    fails_keeping("init: model, disk full at 64 KiB", args, 64 << 10,
                  tu_path("oldmodel.safetensors"));

    snprintf(args, sizeof args, "score -m %s --per-sample %s %s", model, csv, clip);
    fails_keeping("score: CSV, disk full at 16 KiB", args, 16 << 10, csv);
    snprintf(args, sizeof args, "score -m %s --per-sample %s %s %s", model, csv, clip,
             tu_path("text.wav"));
    fails_keeping("score: CSV, one of two inputs is bad", args, 0, csv);

    snprintf(args, sizeof args, "spectrogram %s -o %s", clip, png);
    fails_keeping("spectrogram: PNG, disk full at 4 KiB", args, 4 << 10, png);
    snprintf(args, sizeof args, "spectrogram %s -o %s", tu_path("nan.wav"), png);
    fails_keeping("spectrogram: PNG, NaN input", args, 0, png);

    /* training: the checkpoint and the best model survive a failed save */
    snprintf(args, sizeof args, "train -m %s -o %s --checkpoint %s --train %s --valid %s "
             "--steps 4 --batch 1 --window 64 --threads 1 --valid-every 1 --checkpoint-every 1",
             model, best, ckpt, clip, clip);
    fails_keeping("train: checkpoint, disk full at 8 KiB", args, 8 << 10, ckpt);
    fails_keeping("train: best model, disk full at 8 KiB", args, 8 << 10, best);
    snprintf(args, sizeof args, "train -m %s -o %s --checkpoint %s --train %s --steps 4 "
             "--batch 1 --window 64 --threads 1", model, best, ckpt, tu_path("nan.wav"));
    fails_keeping("train: NaN training clip", args, 0, ckpt);
    /* the CSV log is appended to: a row that does not fit is cut back, so
     * the rows before stay whole and as they were */
    snprintf(csv, sizeof csv, "%s", tu_path("train-log.csv"));
    snprintf(args, sizeof args, "train -m %s -o %s --checkpoint %s --train %s --steps 4 "
             "--batch 1 --window 64 --threads 1 --log %s", model, best, ckpt, clip, csv);
    fails_keeping("train: CSV log, disk full", args, (long)strlen(csv) + 11 + 8, csv);

    remove_temps();
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    /* hostile headers need the sandbox (a LIST chunk loops libsndfile);
     * the command's runs below turn it on themselves */
    wn_audio_set_sandbox(1);
    hostile_models();
    hostile_audio();
    hostile_cli();
    return tu_finish("hostile", 0);
}
