/* bench.c - wavenet-bench: the C side of the benchmark of issue 5.
 *
 * One job per process (so that getrusage's peak RSS belongs to that job),
 * one line of JSON on stdout per run; bench/run.py drives it, alternates it
 * with the PyTorch peer (bench/peer.py) and writes bench/RESULTS.md.
 *
 *   wavenet-bench info                       library, kernels, BLAS, CPU features
 *   wavenet-bench init  --config small|large [--seed N] [--cond C [--hop H]
 *                       [--cond-channels C2]]
 *                       [--speakers N] -o MODEL
 *                       (--cond: a vocoder of C log-mel bands, hop H (64) samples a
 *                       frame; --speakers: a speaker table of N rows of 16)
 *   wavenet-bench codes -n N [--seed N] -o FILE   int32 little-endian mu-law codes
 *   wavenet-bench feats -m MODEL --codes FILE [-n N] -o FEATS.npy
 *                       a conditional model's features of the decoded codes
 *   wavenet-bench peak  [--seconds S]        FP32 FMA and sgemm rates, 1 and 2 threads
 *   wavenet-bench gen   -m MODEL --streams B --threads T [--seconds S] [--min-steps N]
 *   wavenet-bench score -m MODEL (--codes FILE [-n N] | --synth N) --threads T
 *                       [--seconds S] [--min-reps N] [--no-warmup]
 *   wavenet-bench train -m MODEL --codes FILE --batch B --window T --threads T
 *                       [--features FEATS.npy] [--speaker N] [--seconds S] [--min-steps N]
 *                       (a conditional model: each window's features are the
 *                       file's frames from its offset, wn_grad_ctx_run_cond)
 *   wavenet-bench ab    -m MODEL --streams B --threads T [--precision P] [--kernels K]
 *                       [--b-streams B] [--b-threads T] [--b-precision P] [--b-kernels K]
 *                       [--b-model MODEL] [--block N] [--seconds S]
 *                       two generators in one process, alternating blocks: a paired
 *                       ratio that this VM's minute-to-minute drift cancels out of
 *
 * Everything goes through the public API (wavenet.h); the exceptions are
 * the name of the kernel table the library chose (kernels.h), reported so
 * that a result says which code path it measured, and ab's choice of a
 * generator's kernel table (wn__gen_set_kernels). */
#include "wavenet.h"
#include "kernels.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BENCH_X86 1
#endif

/* ------------------------------------------------------------ helpers */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec +
           (double)ru.ru_stime.tv_sec + 1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Peak resident set of this process, bytes (Linux reports KiB). */
static long long max_rss_bytes(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (long long)ru.ru_maxrss * 1024;
}

/* Current resident set, bytes (0 if /proc is not there). */
static long long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long long size = 0, res = 0;
    if (!f) return 0;
    if (fscanf(f, "%lld %lld", &size, &res) != 2) res = 0;
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

/* Bytes handed out by malloc and not yet freed (glibc >= 2.33), -1 if
 * unknown: the exact size of what a constructor allocates. */
static long long heap_bytes(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (long long)(mi.uordblks + mi.hblkhd);
#else
    return -1;
#endif
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "wavenet-bench: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static void die_err(const wn_error *e)
{
    fprintf(stderr, "wavenet-bench: %s\n", e->message);
    exit(1);
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform01(uint64_t *s) { return (double)(splitmix64(s) >> 11) * 0x1p-53; }

/* A random walk over the codes (steps ~ N(0, 7), clipped): deterministic
 * for a seed, so both sides see the same clip through the codes file. */
static void synth_codes(int *x, size_t n, int bins, uint64_t seed)
{
    uint64_t s = seed;
    int c = bins / 2;
    for (size_t i = 0; i < n; i++) {
        double u1 = uniform01(&s), u2 = uniform01(&s);
        double g = sqrt(-2.0 * log(u1 + 1e-300)) * cos(2.0 * M_PI * u2);
        c += (int)lrint(7.0 * g);
        c = c < 0 ? 0 : c >= bins ? bins - 1 : c;
        x[i] = c;
    }
}

static int *read_codes(const char *path, size_t *n, size_t limit)
{
    FILE *f = fopen(path, "rb");
    if (!f) die("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long bytes = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (bytes <= 0 || bytes % 4) die("%s: not an int32 codes file", path);
    size_t cnt = (size_t)bytes / 4;
    if (limit && limit < cnt) cnt = limit;
    int32_t *raw = malloc(cnt * sizeof *raw);
    int *x = malloc(cnt * sizeof *x);
    if (!raw || !x || fread(raw, 4, cnt, f) != cnt) die("cannot read %s", path);
    fclose(f);
    for (size_t i = 0; i < cnt; i++) x[i] = (int)raw[i]; /* little-endian host */
    free(raw);
    *n = cnt;
    return x;
}

static void json_str(const char *key, const char *v, int last)
{
    printf("\"%s\": \"", key);
    for (const char *p = v ? v : ""; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        if ((unsigned char)*p >= 0x20) putchar(*p);
    }
    printf("\"%s", last ? "" : ", ");
}

/* ------------------------------------------------------------ options */

typedef struct opts {
    const char *model, *codes, *out, *config, *features;
    long long n, synth, streams, threads, batch, window, min_steps, min_reps;
    long long cond, hop, speakers, speaker; /* speaker -1: none */
    long long channels; /* --cond-channels: 0 = the bands */
    uint64_t seed;
    double seconds;
    int warmup, prec; /* wn_precision */
    /* ab: side A is the options above, side B the same but for these
     * (0, -1 or NULL: as A) */
    const char *kernels, *b_kernels, *b_model;
    long long b_streams, b_threads, block;
    int b_prec;
} opts;

static int parse_prec(const char *flag, const char *v)
{
    if (!strcmp(v, "f32")) return WN_PRECISION_F32;
    if (!strcmp(v, "f16")) return WN_PRECISION_F16;
    if (!strcmp(v, "int8")) return WN_PRECISION_I8;
    die(!strcmp(flag, "--precision") ? "--precision: f32, f16 or int8, not '%s'"
                                      : "--b-precision: f32, f16 or int8, not '%s'", v);
    return 0;
}

static long long parse_ll(const char *flag, const char *v)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || end == v || x < 0) die("bad value for %s", flag);
    return x;
}

/* The value after option argv[*i]. */
static const char *value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) die("%s needs a value", argv[*i]);
    return argv[++*i];
}

static opts parse(int argc, char **argv)
{
    opts o = {.streams = 1, .threads = 1, .batch = 4, .window = 8000, .seed = 1,
              .seconds = 0, .warmup = 1, .b_prec = -1, .hop = 64, .speaker = -1};
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--no-warmup")) {
            o.warmup = 0;
            continue;
        }
        /* every other option takes a value; an unknown one is named as such */
        if (!strcmp(a, "-m")) o.model = value(argc, argv, &i);
        else if (!strcmp(a, "-o")) o.out = value(argc, argv, &i);
        else if (!strcmp(a, "--codes")) o.codes = value(argc, argv, &i);
        else if (!strcmp(a, "--config")) o.config = value(argc, argv, &i);
        else if (!strcmp(a, "--features")) o.features = value(argc, argv, &i);
        else if (!strcmp(a, "--cond")) o.cond = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--hop")) o.hop = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--cond-channels")) o.channels = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--speakers")) o.speakers = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--speaker")) o.speaker = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "-n")) o.n = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--synth")) o.synth = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--streams")) o.streams = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--threads")) o.threads = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--batch")) o.batch = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--window")) o.window = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--min-steps")) o.min_steps = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--min-reps")) o.min_reps = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--seed")) o.seed = (uint64_t)parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--precision")) o.prec = parse_prec(a, value(argc, argv, &i));
        else if (!strcmp(a, "--b-precision")) o.b_prec = parse_prec(a, value(argc, argv, &i));
        else if (!strcmp(a, "--kernels")) o.kernels = value(argc, argv, &i);
        else if (!strcmp(a, "--b-kernels")) o.b_kernels = value(argc, argv, &i);
        else if (!strcmp(a, "--b-model")) o.b_model = value(argc, argv, &i);
        else if (!strcmp(a, "--b-streams")) o.b_streams = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--b-threads")) o.b_threads = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--block")) o.block = parse_ll(a, value(argc, argv, &i));
        else if (!strcmp(a, "--seconds")) {
            const char *v = value(argc, argv, &i);
            char *end;
            o.seconds = strtod(v, &end);
            if (*end || !(o.seconds >= 0)) die("bad value for %s", a);
        } else die("unknown option %s", a);
    }
    if (o.threads < 1) o.threads = 1;
    return o;
}

static wn_model *load(const opts *o)
{
    if (!o->model) die("%s", "-m MODEL is required");
    wn_error e;
    wn_model *m = wn_model_load(o->model, &e);
    if (!m) die_err(&e);
    return m;
}

/* L(4RD + DR + DS) + S^2 + SQ: the multiply-adds of one output sample. */
static double macs_per_sample(const wn_model *m)
{
    wn_config c = wn_model_config(m);
    double R = c.residual, D = c.dilation, S = c.skip, Q = c.bins;
    return c.layers * (4 * R * D + D * R + D * S) + S * S + S * Q;
}

/* ------------------------------------------------------------ info / init / codes */

static int cmd_info(void)
{
    int avx2 = 0, fma = 0, avx512 = 0;
#ifdef BENCH_X86
    __builtin_cpu_init();
    avx2 = __builtin_cpu_supports("avx2");
    fma = __builtin_cpu_supports("fma");
    avx512 = __builtin_cpu_supports("avx512f");
#endif
    const char *wk = getenv("WN_KERNELS");
    printf("{");
    json_str("kernels", wn__kernels()->name, 0);
    json_str("WN_KERNELS", wk ? wk : "", 0);
    json_str("openblas_config", openblas_get_config(), 0);
    json_str("openblas_core", openblas_get_corename(), 0);
#ifdef _OPENMP
    printf("\"openmp\": %d, ", _OPENMP);
#else
    printf("\"openmp\": 0, ");
#endif
    printf("\"avx2\": %d, \"fma\": %d, \"avx512f\": %d, ", avx2 != 0, fma != 0, avx512 != 0);
    json_str("compiler", __VERSION__, 1);
    printf("}\n");
    return 0;
}

static int cmd_init(const opts *o)
{
    wn_config c = wn_config_default(); /* small: 20 = 2x10, R=D=32, S=128, Q=256 */
    if (!o->config || !o->out) die("%s", "init needs --config small|large and -o MODEL");
    if (!strcmp(o->config, "large")) {
        c.layers = 30;
        c.stack = 10;
        c.residual = 64;
        c.dilation = 64;
        c.skip = 256;
        c.bins = 256;
    } else if (strcmp(o->config, "small")) {
        die("unknown config %s (small, large)", o->config);
    }
    if (o->cond) {
        c.cond = (int)o->cond;
        c.hop = (int)o->hop;
        if (o->channels && o->channels != o->cond) /* the frames conv maps the bands */
            c.cond_channels = (int)o->channels, c.upsample_pre = 1;
    }
    if (o->speakers) {
        c.speakers = (int)o->speakers;
        c.speaker_dim = 16;
    }
    wn_error e;
    wn_model *m = wn_model_init(&c, o->seed, &e);
    if (!m || wn_model_save(m, o->out, &e)) die_err(&e);
    printf("{\"params\": %zu, \"receptive_field\": %d, \"macs_per_sample\": %.0f, "
           "\"cond\": %d, \"hop\": %d, \"speakers\": %d}\n",
           wn_model_param_count(m), wn_model_receptive_field(m), macs_per_sample(m), c.cond,
           c.cond ? c.hop : 0, c.speakers);
    wn_model_free(m);
    return 0;
}

static int cmd_codes(const opts *o)
{
    if (!o->out || o->n < 1) die("%s", "codes needs -n N and -o FILE");
    size_t n = (size_t)o->n;
    int *x = malloc(n * sizeof *x);
    int32_t *raw = malloc(n * sizeof *raw);
    if (!x || !raw) die("%s", "out of memory");
    synth_codes(x, n, 256, o->seed);
    for (size_t i = 0; i < n; i++) raw[i] = x[i];
    FILE *f = fopen(o->out, "wb");
    if (!f || fwrite(raw, 4, n, f) != n || fclose(f)) die("cannot write %s", o->out);
    free(x);
    free(raw);
    printf("{\"codes\": %zu}\n", n);
    return 0;
}

/* A conditional model's features of the decoded codes (what `wavenet mel -m
 * MODEL` writes for a file of those samples): both sides of the conditional
 * jobs read them from the one .npy file. */
static int cmd_feats(const opts *o)
{
    wn_model *m = load(o);
    wn_error e;
    if (!o->codes || !o->out) die("%s", "feats needs --codes FILE and -o FEATS.npy");
    const wn_config c = wn_model_config(m);
    if (!c.cond) die("%s: not a mel-conditioned model", o->model);
    size_t n;
    int *x = read_codes(o->codes, &n, (size_t)o->n);
    float *s = malloc(n * sizeof *s), *f = NULL;
    if (!s) die("%s", "out of memory");
    for (size_t i = 0; i < n; i++) s[i] = wn_mulaw_decode(x[i], c.bins);
    size_t frames;
    if (wn_model_features(m, s, n, &f, &frames, &e) ||
        wn_npy_write(o->out, f, frames, (size_t)c.cond, &e))
        die_err(&e);
    printf("{\"samples\": %zu, \"frames\": %zu, \"bands\": %d, \"hop\": %d}\n", n, frames,
           c.cond, c.hop);
    free(f);
    free(s);
    free(x);
    wn_model_free(m);
    return 0;
}

/* ------------------------------------------------------------ peak: FMA */

/* Each loop keeps 12 independent accumulator chains (FMA latency x FMA
 * ports is at most 8-10 vectors on current x86 cores), so the FMA units,
 * not the dependency chains, set the pace. acc = acc * m + a converges to
 * a / (1 - m): no overflow, no denormals. Returns a checksum (kept so the
 * compiler cannot drop the work). */
#define CHAINS 12

static double fma_scalar(long iters)
{
    float acc[CHAINS];
    for (int k = 0; k < CHAINS; k++) acc[k] = (float)k;
    const float m = 0.999f, a = 1e-3f;
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = acc[k] * m + a;
    double s = 0;
    for (int k = 0; k < CHAINS; k++) s += acc[k];
    return s;
}

#ifdef BENCH_X86
__attribute__((target("avx2,fma"))) static double fma_avx2(long iters)
{
    __m256 acc[CHAINS];
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_set1_ps((float)k);
    const __m256 m = _mm256_set1_ps(0.999f), a = _mm256_set1_ps(1e-3f);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm256_fmadd_ps(acc[k], m, a);
    float v[8];
    double s = 0;
    for (int k = 0; k < CHAINS; k++) {
        _mm256_storeu_ps(v, acc[k]);
        for (int j = 0; j < 8; j++) s += v[j];
    }
    return s;
}

__attribute__((target("avx512f"))) static double fma_avx512(long iters)
{
    __m512 acc[CHAINS];
    for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_set1_ps((float)k);
    const __m512 m = _mm512_set1_ps(0.999f), a = _mm512_set1_ps(1e-3f);
    for (long i = 0; i < iters; i++)
        for (int k = 0; k < CHAINS; k++) acc[k] = _mm512_fmadd_ps(acc[k], m, a);
    float v[16];
    double s = 0;
    for (int k = 0; k < CHAINS; k++) {
        _mm512_storeu_ps(v, acc[k]);
        for (int j = 0; j < 16; j++) s += v[j];
    }
    return s;
}
#endif

/* Each worker times itself (after the start barrier, to its end), and a
 * run lasts from the first start to the last end: the main thread may be
 * descheduled around the barrier, so its own clock would not do. */
typedef struct fma_job {
    double (*fn)(long);
    long iters;
    double sink, t0, t1;
    pthread_barrier_t *start;
} fma_job;

static void *fma_thread(void *p)
{
    fma_job *j = p;
    pthread_barrier_wait(j->start);
    j->t0 = now();
    j->sink = j->fn(j->iters);
    j->t1 = now();
    return NULL;
}

/* FLOP/s of `threads` threads each running fn(iters); best of `reps`. */
static double fma_rate(double (*fn)(long), int lanes, int threads, double seconds)
{
    /* calibrate on one thread: iterations for about seconds/3 */
    long iters = 1 << 14;
    for (;;) {
        double t0 = now();
        volatile double s = fn(iters);
        (void)s;
        double el = now() - t0;
        if (el > 0.02 || iters > (1L << 34)) {
            iters = (long)((double)iters * (seconds / 3) / el) + 1;
            break;
        }
        iters *= 4;
    }
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
        fma_job jobs[8];
        pthread_t tid[8];
        for (int t = 0; t < threads; t++) {
            jobs[t] = (fma_job){fn, iters, 0, 0, 0, &bar};
            pthread_create(&tid[t], NULL, fma_thread, &jobs[t]);
        }
        pthread_barrier_wait(&bar);
        double t0 = INFINITY, t1 = 0;
        for (int t = 0; t < threads; t++) {
            pthread_join(tid[t], NULL);
            t0 = fmin(t0, jobs[t].t0);
            t1 = fmax(t1, jobs[t].t1);
        }
        double el = t1 - t0;
        pthread_barrier_destroy(&bar);
        double r = 2.0 * lanes * CHAINS * (double)iters * threads / el;
        if (r > best) best = r;
    }
    return best;
}

/* ------------------------------------------------------------ peak: sgemm */

typedef struct gemm_job {
    int M, N, K;
    const float *A, *B;
    float *C;
    long calls;
    pthread_barrier_t *start;
    double t0, t1;
} gemm_job;

/* C (M,N) = A (M,K) x B(N,K)^T, the layout of the library's products
 * (activations times a PyTorch-layout weight). */
static void gemm_once(const gemm_job *j)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->M, j->N, j->K, 1.0f, j->A, j->K,
                j->B, j->K, 0.0f, j->C, j->N);
}

static void *gemm_thread(void *p)
{
    gemm_job *j = p;
    pthread_barrier_wait(j->start);
    j->t0 = now();
    for (long c = 0; c < j->calls; c++) gemm_once(j);
    j->t1 = now();
    return NULL;
}

/* GFLOP/s of sgemm (M,N,K): mode 0 = one call at a time with OpenBLAS
 * using `threads` threads; mode 1 = `threads` concurrent single-threaded
 * calls (how the library uses the BLAS: one thread per call, OpenMP over
 * chunks). Best of 3 timed runs of about seconds/3 each. */
static double gemm_rate(int M, int N, int K, int threads, int mode, double seconds)
{
    size_t na = (size_t)M * K, nb = (size_t)N * K, nc = (size_t)M * N;
    float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
    float *C = malloc(nc * (size_t)threads * sizeof *C);
    if (!A || !B || !C) die("%s", "out of memory");
    uint64_t s = 7;
    for (size_t i = 0; i < na; i++) A[i] = (float)(uniform01(&s) - 0.5);
    for (size_t i = 0; i < nb; i++) B[i] = (float)(uniform01(&s) - 0.5);
    memset(C, 0, nc * (size_t)threads * sizeof *C);
    openblas_set_num_threads(mode == 0 ? threads : 1);
    gemm_job j0 = {M, N, K, A, B, C, 1, NULL, 0, 0};
    gemm_once(&j0); /* warm: pages, BLAS thread pool */
    double t0 = now();
    long calls = 0;
    do {
        gemm_once(&j0);
        calls++;
    } while (now() - t0 < 0.02);
    double per = (now() - t0) / (double)calls;
    long n = (long)(seconds / 3 / per) + 1;
    double flop = 2.0 * M * N * (double)K, best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double el;
        if (mode == 0) {
            t0 = now();
            for (long c = 0; c < n; c++) gemm_once(&j0);
            el = now() - t0;
        } else {
            pthread_barrier_t bar;
            pthread_barrier_init(&bar, NULL, (unsigned)threads + 1);
            gemm_job jobs[8];
            pthread_t tid[8];
            for (int t = 0; t < threads; t++) {
                jobs[t] = (gemm_job){M, N, K, A, B, C + nc * (size_t)t, n, &bar, 0, 0};
                pthread_create(&tid[t], NULL, gemm_thread, &jobs[t]);
            }
            pthread_barrier_wait(&bar);
            double s0 = INFINITY, s1 = 0;
            for (int t = 0; t < threads; t++) {
                pthread_join(tid[t], NULL);
                s0 = fmin(s0, jobs[t].t0);
                s1 = fmax(s1, jobs[t].t1);
            }
            el = s1 - s0;
            pthread_barrier_destroy(&bar);
        }
        double r = flop * (double)n * (mode == 0 ? 1 : threads) / el / 1e9;
        if (r > best) best = r;
    }
    free(A);
    free(B);
    free(C);
    return best;
}

static int cmd_peak(const opts *o)
{
    double sec = o->seconds > 0 ? o->seconds : 1.0;
    int maxt = o->threads > 1 ? (int)o->threads : 2;
    if (maxt > 8) maxt = 8;
    printf("{\"fma\": [");
    int first = 1;
    typedef struct { const char *name; double (*fn)(long); int lanes; int ok; } fma_kind;
    fma_kind kinds[3] = {{"scalar", fma_scalar, 1, 1}};
    int nk = 1;
#ifdef BENCH_X86
    __builtin_cpu_init();
    kinds[nk++] = (fma_kind){"avx2+fma", fma_avx2, 8,
                             __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")};
    kinds[nk++] = (fma_kind){"avx512f", fma_avx512, 16, __builtin_cpu_supports("avx512f") != 0};
#endif
    for (int k = 0; k < nk; k++) {
        if (!kinds[k].ok) continue;
        /* the scalar loop only as a fallback where no vector unit is known */
        if (k == 0 && nk > 1 && kinds[1].ok) continue;
        for (int t = 1; t <= maxt; t++) {
            double r = fma_rate(kinds[k].fn, kinds[k].lanes, t, sec);
            printf("%s{\"isa\": \"%s\", \"threads\": %d, \"gflops\": %.2f}", first ? "" : ", ",
                   kinds[k].name, t, r / 1e9);
            first = 0;
            fflush(stdout);
        }
    }
    printf("], \"sgemm\": [");
    /* scoring-sized products (a chunk of 8192 rows times each config's
     * dilated-conv weight, R -> 2D, and the head S -> S) and a square one */
    struct { const char *name; int M, N, K; } shapes[] = {
        {"small-dilated", 8192, 64, 32}, {"small-head", 8192, 128, 128},
        {"large-dilated", 8192, 128, 64}, {"large-head", 8192, 256, 256},
        {"square-1024", 1024, 1024, 1024}};
    first = 1;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int t = 1; t <= maxt; t++)
            for (int mode = 0; mode < (t > 1 ? 2 : 1); mode++) {
                double r = gemm_rate(shapes[s].M, shapes[s].N, shapes[s].K, t, mode, sec);
                printf("%s{\"shape\": \"%s\", \"M\": %d, \"N\": %d, \"K\": %d, \"threads\": %d, "
                       "\"mode\": \"%s\", \"gflops\": %.2f}",
                       first ? "" : ", ", shapes[s].name, shapes[s].M, shapes[s].N,
                       shapes[s].K, t, mode ? "concurrent" : "openblas", r);
                first = 0;
                fflush(stdout);
            }
    printf("]}\n");
    return 0;
}

/* ------------------------------------------------------------ jobs */

static int cmd_gen(const opts *o)
{
    wn_model *m = load(o);
    wn_error e;
    const int B = (int)o->streams;
    wn_sample_params sp = wn_sample_default_params();
    sp.seed = o->seed;
    /* what wn_gen allocates (exact, from malloc's books) and what of it is
     * touched (RSS), measured around create + prime + warm-up */
    /* wn_gen_run as the CLI uses it: blocks of 4096 samples (BLOCK in
     * cmd_generate.c), one thread synchronisation per block */
    enum { GEN_BLOCK = 4096 };
    int *codes = malloc(sizeof(int) * (size_t)B * GEN_BLOCK);
    if (!codes) die("%s", "out of memory");
    long long h0 = heap_bytes(), r0 = rss_bytes();
    wn_gen *g = wn_gen_create(m, B, &sp, &e);
    if (!g) die_err(&e);
    wn_gen_set_threads(g, (int)o->threads);
    if (o->prec && wn_gen_set_precision(g, (wn_precision)o->prec, &e)) die_err(&e);
    if (wn_gen_prime(g, NULL, 0, &e)) die_err(&e);
    long long h1 = heap_bytes();
    wn_gen_run(g, 64, codes, NULL);
    long long r1 = rss_bytes();
    long long sum_d = 0;
    wn_config c = wn_model_config(m);
    for (int j = 0; j < c.layers; j++) sum_d += wn_model_layer_dilation(m, j);
    /* the Fast WaveNet queues proper: each layer keeps its last d inputs */
    long long ring = (long long)B * c.residual * sum_d * (long long)sizeof(float);

    long long steps = 0;
    double c0 = cpu_seconds(), t0 = now(), el;
    do {
        wn_gen_run(g, GEN_BLOCK, codes, NULL);
        steps += GEN_BLOCK;
        el = now() - t0;
    } while (el < o->seconds || steps < o->min_steps);
    double cpu = cpu_seconds() - c0;
    printf("{\"side\": \"ours\", \"job\": \"gen\", \"precision\": \"%s\", \"streams\": %d, "
           "\"threads\": %lld, "
           "\"steps\": %lld, \"samples\": %lld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
           "\"samples_per_s\": %.3f, \"macs_per_sample\": %.0f, \"max_rss\": %lld, "
           "\"weights_bytes\": %lld, \"gen_heap_bytes\": %lld, \"gen_rss_bytes\": %lld, "
           "\"gen_ring_bytes\": %lld, \"last_code\": %d}\n",
           o->prec == WN_PRECISION_I8 ? "int8" : o->prec == WN_PRECISION_F16 ? "f16" : "f32", B, o->threads, steps, steps * B, el, cpu,
           (double)(steps * B) / el,
           macs_per_sample(m), max_rss_bytes(),
           (long long)(wn_model_param_count(m) * sizeof(float)),
           h0 >= 0 ? h1 - h0 : -1, r1 - r0, ring, codes[0]);
    free(codes);
    wn_gen_free(g);
    wn_model_free(m);
    return 0;
}

static int cmd_score(const opts *o)
{
    wn_model *m = load(o);
    wn_error e;
    size_t n;
    int *x;
    if (o->synth) {
        n = (size_t)o->synth;
        if (!(x = malloc(n * sizeof *x))) die("%s", "out of memory");
        synth_codes(x, n, wn_model_config(m).bins, o->seed);
    } else {
        if (!o->codes) die("%s", "score needs --codes FILE or --synth N");
        x = read_codes(o->codes, &n, (size_t)o->n);
    }
    wn_score_params p = wn_score_default_params();
    p.threads = (int)o->threads;
    double nll = 0;
    if (o->warmup) {
        size_t w = n < 20000 ? n : 20000;
        if (wn_score_codes(m, x, w, &p, &nll, NULL, &e)) die_err(&e);
    }
    long long reps = 0;
    double c0 = cpu_seconds(), t0 = now(), el;
    do {
        if (wn_score_codes(m, x, n, &p, &nll, NULL, &e)) die_err(&e);
        reps++;
        el = now() - t0;
    } while (el < o->seconds || reps < (o->min_reps > 0 ? o->min_reps : 1));
    double cpu = cpu_seconds() - c0;
    printf("{\"side\": \"ours\", \"job\": \"score\", \"threads\": %lld, \"n\": %zu, "
           "\"reps\": %lld, \"samples\": %lld, \"seconds\": %.6f, \"cpu_seconds\": %.6f, "
           "\"samples_per_s\": %.3f, \"macs_per_sample\": %.0f, \"max_rss\": %lld, "
           "\"bits_per_sample\": %.9f}\n",
           o->threads, n, reps, reps * (long long)n, el, cpu, (double)reps * (double)n / el,
           macs_per_sample(m), max_rss_bytes(), nll / (double)n / M_LN2);
    free(x);
    wn_model_free(m);
    return 0;
}

/* Window k of a step starts at (k * 104729) mod (n - len + 1); bench/peer.py
 * uses the same windows, so the first step's losses can be compared. */
static void fill_windows(int *dst, const int *x, size_t n, int B, int len, long long step,
                         wn_window_cond *wc)
{
    for (int b = 0; b < B; b++) {
        unsigned long long k = (unsigned long long)step * (unsigned long long)B + (unsigned)b;
        size_t start = (size_t)((k * 104729ULL) % (unsigned long long)(n - (size_t)len + 1));
        memcpy(dst + (size_t)b * len, x + start, sizeof(int) * (size_t)len);
        if (wc) wc[b].offset = (int64_t)start;
    }
}

static int cmd_train(const opts *o)
{
    wn_model *m = load(o);
    wn_error e;
    if (!o->codes) die("%s", "train needs --codes FILE");
    size_t n;
    int *x = read_codes(o->codes, &n, (size_t)o->n);
    const int B = (int)o->batch, T = (int)o->window, rf = wn_model_receptive_field(m);
    const int len = rf + T;
    if ((size_t)len > n) die("%s", "the codes file is shorter than one window");
    /* a conditional model: the features of the whole codes file (frames
     * for at least its n samples), each window reading them from its
     * offset; one speaker for every window */
    const wn_config cf = wn_model_config(m);
    float *feats = NULL;
    size_t frames = 0, cols = 0;
    wn_window_cond *wc = NULL;
    if (cf.cond || cf.speakers) {
        if (cf.cond && !o->features) die("%s", "a mel-conditioned model needs --features FILE");
        if (cf.cond) {
            if (wn_npy_read(o->features, &feats, &frames, &cols, &e)) die_err(&e);
            if (cols != (size_t)cf.cond) die("%s: not the model's band count", o->features);
        }
        if (!(wc = malloc(sizeof *wc * (size_t)B))) die("%s", "out of memory");
        for (int b = 0; b < B; b++)
            wc[b] = (wn_window_cond){feats, frames, 0, cf.speakers ? (int)o->speaker : -1};
    } else if (o->features || o->speaker >= 0) {
        die("%s: an unconditional model takes no --features or --speaker", o->model);
    }
    wn_grad_ctx *gc = wn_grad_ctx_create(m, B, len, (int)o->threads, &e);
    if (!gc) die_err(&e);
    wn_optim_params op = wn_optim_default_params(); /* Adam 0.9/0.999/1e-8 */
    wn_optim *opt = wn_optim_create(m, &op, &e);
    if (!opt) die_err(&e);
    size_t P = wn_model_param_count(m);
    float *grad = malloc(P * sizeof *grad);
    int *win = malloc(sizeof(int) * (size_t)B * len);
    if (!grad || !win) die("%s", "out of memory");
    double loss0 = 0, loss = 0;
    long long step = 0;
    /* step 0 is the warm-up (untimed); its loss, on the initial weights, is
     * what the peer's first step must reproduce */
    fill_windows(win, x, n, B, len, step++, wc);
    if (wn_grad_ctx_run_cond(gc, win, wc, grad, &loss0, &e) ||
        wn_optim_step(opt, m, grad, 1e-3f, &e))
        die_err(&e);
    long long steps = 0;
    double c0 = cpu_seconds(), t0 = now(), el;
    do {
        fill_windows(win, x, n, B, len, step++, wc);
        if (wn_grad_ctx_run_cond(gc, win, wc, grad, &loss, &e) ||
            wn_optim_step(opt, m, grad, 1e-3f, &e))
            die_err(&e);
        steps++;
        el = now() - t0;
    } while (el < o->seconds || steps < (o->min_steps > 0 ? o->min_steps : 1));
    double cpu = cpu_seconds() - c0;
    long long samples = steps * B * (long long)T;
    printf("{\"side\": \"ours\", \"job\": \"train\", \"threads\": %lld, \"batch\": %d, "
           "\"window\": %d, \"len\": %d, \"steps\": %lld, \"samples\": %lld, "
           "\"seconds\": %.6f, \"cpu_seconds\": %.6f, \"samples_per_s\": %.3f, "
           "\"macs_per_sample\": %.0f, \"max_rss\": %lld, \"grad_memory\": %zu, "
           "\"loss0\": %.9f, \"loss_last\": %.9f, \"cond\": %d, \"speaker\": %d}\n",
           o->threads, B, T, len, steps, samples, el, cpu, (double)samples / el,
           macs_per_sample(m), max_rss_bytes(), wn_grad_memory(m, B, len, (int)o->threads),
           loss0, loss, cf.cond, wc ? wc[0].speaker : -1);
    free(wc);
    free(feats);
    free(grad);
    free(win);
    free(x);
    wn_optim_free(opt);
    wn_grad_ctx_free(gc);
    wn_model_free(m);
    return 0;
}

/* ------------------------------------------------------------ ab */

/* library-internal (stream.c, stream_run.c): run generator g on the kernel table of that
 * name ("scalar", "avx2", "avx512", or a table under development) */
int wn__gen_set_kernels(wn_gen *g, const char *name);

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Two generators of one model in one process, run in alternating blocks
 * (who goes first swaps every round) for 2 x `seconds` in all: the
 * VM's speed, which drifts by +-15-30% over minutes here, is nearly the
 * same for the two blocks of a round, so the ratio of their rates is
 * steady where separate runs are not (A against A: the medians of rounds
 * within 1-2%). */
static int cmd_ab(const opts *o)
{
    wn_error e;
    wn_model *m[2] = {load(o), NULL};
    if (o->b_model && !(m[1] = wn_model_load(o->b_model, &e))) die_err(&e);
    const long long block = o->block ? o->block : 4096;
    const double seconds = o->seconds > 0 ? o->seconds : 20;
    const int B[2] = {(int)o->streams, (int)(o->b_streams ? o->b_streams : o->streams)};
    const int T[2] = {(int)o->threads, (int)(o->b_threads ? o->b_threads : o->threads)};
    const int P[2] = {o->prec, o->b_prec >= 0 ? o->b_prec : o->prec};
    const char *K[2] = {o->kernels, o->b_kernels ? o->b_kernels : o->kernels};
    wn_sample_params sp = wn_sample_default_params();
    sp.seed = o->seed;
    wn_gen *g[2];
    int *codes[2];
    for (int i = 0; i < 2; i++) {
        g[i] = wn_gen_create(m[i && m[1]], B[i], &sp, &e);
        if (!g[i]) die_err(&e);
        wn_gen_set_threads(g[i], T[i]);
        if (wn_gen_set_precision(g[i], (wn_precision)P[i], &e)) die_err(&e);
        if (K[i] && wn__gen_set_kernels(g[i], K[i]) != WN_OK)
            die("no kernel table '%s' on this machine", K[i]);
        if (wn_gen_prime(g[i], NULL, 0, &e)) die_err(&e);
        codes[i] = malloc(sizeof(int) * (size_t)B[i] * (size_t)block);
        if (!codes[i]) die("%s", "out of memory");
        wn_gen_run(g[i], (size_t)block, codes[i], NULL); /* warm-up */
    }
    size_t cap = 64, rounds = 0;
    double *ratio = malloc(sizeof(double) * cap), el[2] = {0, 0};
    if (!ratio) die("%s", "out of memory");
    while (el[0] + el[1] < 2 * seconds || rounds < 10) {
        double t[2];
        for (int k = 0; k < 2; k++) {
            const int i = (rounds & 1) ? 1 - k : k;
            const double t0 = now();
            wn_gen_run(g[i], (size_t)block, codes[i], NULL);
            t[i] = now() - t0;
            el[i] += t[i];
        }
        if (rounds == cap) {
            double *r = realloc(ratio, sizeof(double) * (cap *= 2));
            if (!r) die("%s", "out of memory");
            ratio = r;
        }
        /* B's rate over A's in this round */
        ratio[rounds++] = ((double)B[1] / t[1]) / ((double)B[0] / t[0]);
    }
    qsort(ratio, rounds, sizeof(double), cmp_double);
    const double rate[2] = {(double)rounds * (double)block * B[0] / el[0],
                            (double)rounds * (double)block * B[1] / el[1]};
    static const char *pn[] = {"f32", "f16", "int8"};
    printf("{\"side\": \"ours\", \"job\": \"ab\", \"block\": %lld, \"rounds\": %zu", block, rounds);
    for (int i = 0; i < 2; i++) {
        printf(", \"%s\": {\"streams\": %d, \"threads\": %d, \"precision\": \"%s\", ",
               i ? "b" : "a", B[i], T[i], pn[P[i]]);
        json_str("kernels", K[i] ? K[i] : "default", 0);
        json_str("model", i && o->b_model ? o->b_model : o->model, 0);
        printf("\"seconds\": %.3f, \"samples_per_s\": %.1f}", el[i], rate[i]);
    }
    printf(", \"b_over_a\": %.4f, \"median\": %.4f, \"q1\": %.4f, \"q3\": %.4f}\n", rate[1] / rate[0],
           ratio[rounds / 2], ratio[rounds / 4], ratio[3 * rounds / 4]);
    free(ratio);
    for (int i = 0; i < 2; i++) {
        free(codes[i]);
        wn_gen_free(g[i]);
    }
    wn_model_free(m[0]);
    wn_model_free(m[1]);
    return 0;
}

int main(int argc, char **argv)
{
    wn__blas_pick_core(argv); /* as the command does: never time a fallback BLAS */
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs("usage: wavenet-bench info|init|codes|feats|peak|gen|score|train|ab [options]\n"
              "(see bench/README.md; bench/run.sh runs the whole benchmark)\n",
              argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    opts o = parse(argc, argv);
    const char *c = argv[1];
    if (!strcmp(c, "info")) return cmd_info();
    if (!strcmp(c, "init")) return cmd_init(&o);
    if (!strcmp(c, "codes")) return cmd_codes(&o);
    if (!strcmp(c, "feats")) return cmd_feats(&o);
    if (!strcmp(c, "peak")) return cmd_peak(&o);
    if (!strcmp(c, "gen")) return cmd_gen(&o);
    if (!strcmp(c, "score")) return cmd_score(&o);
    if (!strcmp(c, "train")) return cmd_train(&o);
    if (!strcmp(c, "ab")) return cmd_ab(&o);
    die("unknown command %s", c);
    return 2;
}
