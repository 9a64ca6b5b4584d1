/* test_audio.c - reading (formats, mixdown, resampling, raw PCM, every kind
 * of bad input, with the header sandbox off and on) and the streamed WAV
 * writer (mu-law round trip, flush, abort, disk full, stdout). Test files
 * are made here with libsndfile. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <samplerate.h>
#include <signal.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int checks;
#define C(cond) do { checks++; CHECK(cond); } while (0)
#define CF(cond, ...) do { checks++; CHECKF(cond, __VA_ARGS__); } while (0)

/* Write frames x (n frames of ch channels) with libsndfile. */
static void write_sf(const char *path, int format, int rate, int ch, const float *x,
                     size_t n)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = rate;
    si.channels = ch;
    si.format = format;
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    if (!sf) {
        fprintf(stderr, "%s: %s\n", path, sf_strerror(NULL));
        exit(1);
    }
    REQUIRE(sf_writef_float(sf, x, (sf_count_t)n) == (sf_count_t)n);
    sf_close(sf);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    REQUIRE(fwrite(p, 1, n, f) == n);
    fclose(f);
}

static int file_equals(const char *path, const char *content)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[256];
    size_t got = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return got == strlen(content) && memcmp(buf, content, got) == 0;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The writer's temporary for `name` in tu_tmpdir() (a name containing
 * `name` and ".tmp"), or NULL. */
static const char *find_tmp(const char *name)
{
    static char found[1024];
    DIR *d = opendir(tu_tmpdir());
    REQUIRE(d);
    const char *res = NULL;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, name) && strstr(e->d_name, ".tmp") &&
            strcmp(e->d_name, name) != 0) {
            snprintf(found, sizeof found, "%s/%s", tu_tmpdir(), e->d_name);
            res = found;
        }
    closedir(d);
    return res;
}

static int sf_frames_of(const char *path, int *subformat)
{
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *sf = sf_open(path, SFM_READ, &si);
    if (!sf) return -1;
    sf_close(sf);
    if (subformat) *subformat = si.format & SF_FORMAT_SUBMASK;
    return (int)si.frames;
}

/* Expect a read of `path` to fail with `code` and a message containing
 * `needle` (and the file name). */
static void expect_read_error(const char *what, const char *path, int rate, int code,
                              const char *needle)
{
    wn_error err;
    memset(&err, 0, sizeof err);
    float *x = (float *)1;
    size_t n = 99;
    int rc = wn_audio_read(path, rate, &x, &n, NULL, &err);
    CF(rc == code, "%s: status %d (%s), expected %d", what, rc, err.message, code);
    C(x == NULL && n == 0);
    CF(err.message[0] && strchr(err.message, '\n') == NULL, "%s: message '%s'", what,
       err.message);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    CF(strstr(err.message, base) != NULL, "%s: message '%s' does not name the file", what,
       err.message);
    if (needle)
        CF(strstr(err.message, needle) != NULL, "%s: message '%s' lacks '%s'", what,
           err.message, needle);
    printf("  %-28s -> %d: %s\n", what, rc, err.message);
}

/* ------------------------------------------------------------ writer */

static uint64_t lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return *s >> 33;
}

static void test_roundtrip(int bins, int expect_subformat)
{
    wn_error err;
    char name[64];
    snprintf(name, sizeof name, "rt%d.wav", bins);
    const char *path = tu_path(name);
    /* every code, then a pseudo-random stretch */
    size_t n = (size_t)bins + 5000;
    int *codes = malloc(n * sizeof *codes);
    REQUIRE(codes);
    uint64_t rng = 7;
    for (size_t i = 0; i < n; i++)
        codes[i] = i < (size_t)bins ? (int)i : (int)(lcg(&rng) % (uint64_t)bins);
    wn_wav *w = wn_wav_open(path, 8000, bins, &err);
    REQUIRE(w);
    /* odd-sized writes across the internal chunk size */
    size_t done = 0, step = 1;
    while (done < n) {
        size_t k = n - done < step ? n - done : step;
        REQUIRE_OK(wn_wav_write_codes(w, codes + done, k, &err), &err);
        done += k;
        step = step * 3 + 1;
    }
    REQUIRE_OK(wn_wav_close(w, &err), &err);
    int sub = 0;
    C(sf_frames_of(path, &sub) == (int)n);
    CF(sub == expect_subformat, "bins %d: subformat %#x, expected %#x", bins, sub,
       expect_subformat);
    C(find_tmp(name) == NULL);

    int *back = NULL;
    size_t m = 0;
    wn_audio_info info;
    REQUIRE_OK(wn_audio_read_codes(path, 0, bins, &back, &m, &info, &err), &err);
    C(m == n);
    C(info.file_rate == 8000 && info.file_channels == 1 && !info.resampled && !info.mixed);
    C(info.file_frames == (int64_t)n);
    size_t bad = 0;
    for (size_t i = 0; i < n && i < m; i++) bad += back[i] != codes[i];
    CF(bad == 0, "bins %d: %zu codes changed in the WAV round trip", bins, bad);
    printf("  round trip bins=%d: %zu codes, %s WAV, %zu changed\n", bins, n,
           sub == SF_FORMAT_PCM_16 ? "16-bit" : "float", bad);
    free(back);
    free(codes);
}

static void test_writer_flush_and_abort(void)
{
    wn_error err;
    const char *path = tu_path("flush.wav");
    int codes[1500];
    for (int i = 0; i < 1500; i++) codes[i] = (i * 7) % 256;
    wn_wav *w = wn_wav_open(path, 8000, 256, &err);
    REQUIRE(w);
    REQUIRE_OK(wn_wav_write_codes(w, codes, 1000, &err), &err);
    REQUIRE_OK(wn_wav_flush(w, &err), &err);
    const char *tmp = find_tmp("flush.wav");
    C(tmp != NULL);
    C(!exists(path));
    if (tmp) {
        /* what a player sees if we were killed now */
        int f = sf_frames_of(tmp, NULL);
        CF(f == 1000, "partial file has %d frames after flush, expected 1000", f);
        int *back = NULL;
        size_t m = 0;
        REQUIRE_OK(wn_audio_read_codes(tmp, 8000, 256, &back, &m, NULL, &err), &err);
        C(m == 1000 && memcmp(back, codes, 1000 * sizeof *back) == 0);
        free(back);
    }
    REQUIRE_OK(wn_wav_write_codes(w, codes + 1000, 500, &err), &err);
    REQUIRE_OK(wn_wav_flush(w, &err), &err);
    if (tmp) C(sf_frames_of(tmp, NULL) == 1500);
    C(!exists(path));
    REQUIRE_OK(wn_wav_close(w, &err), &err);
    C(sf_frames_of(path, NULL) == 1500);
    C(find_tmp("flush.wav") == NULL);

    /* abort: a file already at the path stays as it was */
    const char *keep = tu_path("keep.wav");
    write_bytes(keep, "precious", 8);
    w = wn_wav_open(keep, 8000, 256, &err);
    REQUIRE(w);
    REQUIRE_OK(wn_wav_write_codes(w, codes, 1500, &err), &err);
    REQUIRE_OK(wn_wav_flush(w, &err), &err);
    C(find_tmp("keep.wav") != NULL);
    wn_wav_abort(w);
    C(file_equals(keep, "precious"));
    C(find_tmp("keep.wav") == NULL);

    /* close replaces it */
    w = wn_wav_open(keep, 16000, 256, &err);
    REQUIRE(w);
    REQUIRE_OK(wn_wav_write_codes(w, codes, 10, &err), &err);
    REQUIRE_OK(wn_wav_close(w, &err), &err);
    C(sf_frames_of(keep, NULL) == 10);

    /* bad codes are refused before anything is written */
    w = wn_wav_open(tu_path("bad.wav"), 8000, 256, &err);
    REQUIRE(w);
    int bad[3] = {1, 256, 3};
    C(wn_wav_write_codes(w, bad, 3, &err) == WN_ERR_ARG && strstr(err.message, "256"));
    bad[1] = -1;
    C(wn_wav_write_codes(w, bad, 3, &err) == WN_ERR_ARG);
    REQUIRE_OK(wn_wav_close(w, &err), &err);
    C(sf_frames_of(tu_path("bad.wav"), NULL) == 0);

    /* bad arguments */
    C(wn_wav_open(tu_path("x.wav"), 0, 256, &err) == NULL && err.code == WN_ERR_ARG);
    C(wn_wav_open(tu_path("x.wav"), 8000, 1, &err) == NULL && err.code == WN_ERR_ARG);
    C(wn_wav_open(tu_path("no/such/dir/x.wav"), 8000, 256, &err) == NULL &&
      err.code == WN_ERR_IO && strstr(err.message, "x.wav"));
    printf("  open in a missing folder -> %s\n", err.message);
    C(wn_wav_open(tu_path(""), 8000, 256, &err) == NULL);
}

static void test_writer_disk_full(void)
{
    wn_error err;
    const char *path = tu_path("full.wav");
    write_bytes(path, "old file", 8);
    struct rlimit old;
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = old;
    lim.rlim_cur = 64 * 1024;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);

    static int codes[100000];
    for (int i = 0; i < 100000; i++) codes[i] = i % 256;
    wn_wav *w = wn_wav_open(path, 8000, 256, &err);
    int rc = WN_ERR_IO;
    if (w) {
        /* 200 kB of 16-bit samples into a 64 kB limit */
        rc = wn_wav_write_codes(w, codes, 100000, &err);
        CF(rc == WN_ERR_IO, "write past RLIMIT_FSIZE: %d (%s)", rc, err.message);
        C(err.message[0] && strstr(err.message, "full.wav"));
        printf("  disk full -> %d: %s\n", rc, err.message);
        C(wn_wav_write_codes(w, codes, 10, &err) == WN_ERR_IO); /* stays failed */
        C(wn_wav_flush(w, &err) == WN_ERR_IO);
        C(wn_wav_close(w, &err) == WN_ERR_IO);
    }
    /* even the header does not fit */
    lim.rlim_cur = 10;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    w = wn_wav_open(path, 8000, 256, &err);
    if (w) {
        rc = wn_wav_write_codes(w, codes, 1000, &err);
        if (rc == WN_OK) rc = wn_wav_close(w, &err);
        else wn_wav_abort(w);
        C(rc == WN_ERR_IO);
    } else {
        C(err.code == WN_ERR_IO && err.message[0]);
    }
    printf("  no room for a header -> %s\n", err.message);
    REQUIRE(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, prev);
    C(file_equals(path, "old file"));
    C(find_tmp("full.wav") == NULL);
}

static void test_writer_stdout(void)
{
    int pfd[2];
    REQUIRE(pipe(pfd) == 0);
    fflush(stdout);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        close(pfd[0]);
        dup2(pfd[1], STDOUT_FILENO);
        close(pfd[1]);
        wn_error err;
        wn_wav *w = wn_wav_open("-", 8000, 256, &err);
        if (!w) _exit(3);
        int codes[3000];
        for (int i = 0; i < 3000; i++) codes[i] = (i * 13) % 256;
        if (wn_wav_write_codes(w, codes, 3000, &err) || wn_wav_flush(w, &err) ||
            wn_wav_close(w, &err))
            _exit(4);
        _exit(0);
    }
    close(pfd[1]);
    const char *path = tu_path("stdout.wav");
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    char buf[4096];
    ssize_t got;
    size_t total = 0;
    while ((got = read(pfd[0], buf, sizeof buf)) > 0) {
        fwrite(buf, 1, (size_t)got, f);
        total += (size_t)got;
    }
    fclose(f);
    close(pfd[0]);
    int st;
    waitpid(pid, &st, 0);
    C(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    wn_error err;
    int *back = NULL;
    size_t m = 0;
    REQUIRE_OK(wn_audio_read_codes(path, 8000, 256, &back, &m, NULL, &err), &err);
    C(m == 3000);
    int bad = 0;
    for (size_t i = 0; i < m; i++) bad += back[i] != (int)((i * 13) % 256);
    C(bad == 0);
    printf("  stdout through a pipe: %zu bytes, %zu frames\n", total, m);
    free(back);
}

/* ------------------------------------------------------------ reading */

static void test_stereo_mix(void)
{
    wn_error err;
    const char *path = tu_path("stereo.wav");
    enum { N = 4000 };
    static float lr[2 * N];
    for (int i = 0; i < N; i++) {
        lr[2 * i] = 0.6f * sinf(0.01f * i);
        lr[2 * i + 1] = -0.2f + 0.3f * cosf(0.037f * i);
    }
    write_sf(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 2, lr, N);
    float *x;
    size_t n;
    wn_audio_info info;
    REQUIRE_OK(wn_audio_read(path, 8000, &x, &n, &info, &err), &err);
    C(n == N && info.mixed == 1 && info.file_channels == 2 && !info.resampled);
    double worst = 0;
    for (int i = 0; i < N && (size_t)i < n; i++) {
        double e = fabs(x[i] - 0.5 * (lr[2 * i] + lr[2 * i + 1]));
        if (e > worst) worst = e;
    }
    CF(worst < 2.0 / 32768, "mixdown error %g", worst);
    printf("  stereo mixdown: max error %.2g\n", worst);
    free(x);

    /* 4 channels, float */
    static float q[4 * 100];
    for (int i = 0; i < 100; i++)
        for (int c = 0; c < 4; c++) q[4 * i + c] = 0.1f * (float)(c + 1);
    path = tu_path("quad.wav");
    write_sf(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 4, q, 100);
    REQUIRE_OK(wn_audio_read(path, 8000, &x, &n, &info, &err), &err);
    C(n == 100 && info.file_channels == 4 && info.mixed);
    C(fabsf(x[50] - 0.25f) < 1e-6f);
    free(x);
}

/* Amplitude and residual of the best-fitting sine at freq over x[a, b). */
static void fit_sine(const float *x, size_t a, size_t b, double freq, int rate, double *amp,
                     double *resid_rms)
{
    double sc = 0, cc = 0;
    for (size_t i = a; i < b; i++) {
        double ph = 2 * M_PI * freq * (double)i / rate;
        sc += x[i] * sin(ph);
        cc += x[i] * cos(ph);
    }
    double s = 2 * sc / (double)(b - a), c = 2 * cc / (double)(b - a);
    *amp = sqrt(s * s + c * c);
    double r = 0;
    for (size_t i = a; i < b; i++) {
        double ph = 2 * M_PI * freq * (double)i / rate;
        double e = x[i] - (s * sin(ph) + c * cos(ph));
        r += e * e;
    }
    *resid_rms = sqrt(r / (double)(b - a));
}

static void test_resample(void)
{
    wn_error err;
    const char *path = tu_path("sine16k.wav");
    enum { N = 16000 };
    static float s[N];
    /* 440 Hz (passband), 3500 Hz (near the new Nyquist) and 6000 Hz (must be
     * filtered out, or it would alias to 2000 Hz) */
    for (int i = 0; i < N; i++)
        s[i] = 0.4f * sinf((float)(2 * M_PI * 440.0 * i / 16000)) +
               0.2f * sinf((float)(2 * M_PI * 3500.0 * i / 16000)) +
               0.2f * sinf((float)(2 * M_PI * 6000.0 * i / 16000));
    write_sf(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1, s, N);
    float *x;
    size_t n;
    wn_audio_info info;
    REQUIRE_OK(wn_audio_read(path, 8000, &x, &n, &info, &err), &err);
    CF(n + 4 >= 8000 && n <= 8004, "16 kHz -> 8 kHz: %zu samples from 16000", n);
    C(info.resampled == 1 && info.file_rate == 16000 && info.file_frames == N && !info.mixed);
    size_t a = 500, b = n - 500; /* away from the filter's edges */
    double a440, a3500, a2000, r;
    fit_sine(x, a, b, 440, 8000, &a440, &r);
    fit_sine(x, a, b, 3500, 8000, &a3500, &r);
    fit_sine(x, a, b, 2000, 8000, &a2000, &r);  /* where 6 kHz would alias */
    CF(fabs(a440 - 0.4) < 0.002, "440 Hz amplitude %g, expected 0.4", a440);
    /* SINC_MEDIUM's passband ends at ~90% of Nyquist: 3500 Hz is within 0.5 dB */
    CF(fabs(20 * log10(a3500 / 0.2)) < 0.5, "3500 Hz amplitude %g, expected 0.2", a3500);
    CF(a2000 < 1e-3, "6 kHz aliased to 2 kHz with amplitude %g", a2000);
    /* the two in-band tones explain the whole signal */
    double resid = 0;
    {
        float *y = malloc(n * sizeof *y);
        REQUIRE(y);
        memcpy(y, x, n * sizeof *y);
        double f[2] = {440, 3500};
        for (int k = 0; k < 2; k++) {
            double sc = 0, cc = 0;
            for (size_t i = a; i < b; i++) {
                double ph = 2 * M_PI * f[k] * (double)i / 8000;
                sc += y[i] * sin(ph);
                cc += y[i] * cos(ph);
            }
            double ss = 2 * sc / (double)(b - a), c = 2 * cc / (double)(b - a);
            for (size_t i = a; i < b; i++) {
                double ph = 2 * M_PI * f[k] * (double)i / 8000;
                y[i] -= (float)(ss * sin(ph) + c * cos(ph));
            }
        }
        for (size_t i = a; i < b; i++) resid += (double)y[i] * y[i];
        resid = sqrt(resid / (double)(b - a));
        free(y);
    }
    CF(resid < 2e-3, "residual after removing 440+3500 Hz: %g", resid);
    printf("  16 kHz -> 8 kHz: %zu samples; 440 Hz amp %.5f (0.4), 3500 Hz amp %.5f "
           "(0.2), alias at 2 kHz %.2g, residual rms %.2g\n",
           n, a440, a3500, a2000, resid);
    free(x);

    /* upsampling, and clipping of resampler overshoot */
    static float sq[800];
    for (int i = 0; i < 800; i++) sq[i] = (i / 40) % 2 ? 1.0f : -1.0f;
    path = tu_path("square.wav");
    write_sf(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, sq, 800);
    REQUIRE_OK(wn_audio_read(path, 22050, &x, &n, &info, &err), &err);
    C(info.resampled && labs((long)n - 2205) <= 4);
    float lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    C(lo >= -1.0f && hi <= 1.0f && hi > 0.99f);
    free(x);

    /* a real 16 kHz speech clip */
    const char *speech = "/usr/share/codec2/raw/speech_orig_16k.wav";
    if (exists(speech)) {
        REQUIRE_OK(wn_audio_read(speech, 8000, &x, &n, &info, &err), &err);
        C(info.file_rate == 16000 && info.resampled);
        C(labs((long)n - (long)(info.file_frames / 2)) <= 4);
        printf("  %s: %lld frames at 16 kHz -> %zu at 8 kHz\n", speech,
               (long long)info.file_frames, n);
        free(x);
    }
}

/* Reading resamples block by block as it decodes. The samples must be
 * those of libsamplerate's one-shot conversion of the whole mixed-down
 * signal (across 35 blocks of the reader), and the peak memory of reading
 * a long 48 kHz file must grow with its 8 kHz output, not with its input
 * (a child process's peak RSS; not under ASan or valgrind, whose
 * allocators keep memory of their own). */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_COUNTED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RSS_COUNTED 0
#endif
#endif
#ifndef RSS_COUNTED
#define RSS_COUNTED 1
#endif

static void test_resample_stream(void)
{
    wn_error err;
    enum { N = 144000 }; /* 3 s of 48 kHz stereo */
    float *st = malloc(sizeof(float) * 2 * N), *mono = malloc(sizeof(float) * N);
    REQUIRE(st && mono);
    uint32_t lcg = 12345;
    for (int i = 0; i < N; i++) {
        double t = i / 48000.0;
        lcg = lcg * 1664525u + 1013904223u;
        float noise = (float)((lcg >> 8) / 16777216.0 - 0.5) * 0.05f;
        st[2 * i] = (float)(0.5 * sin(2 * M_PI * (100 + 600 * t) * t)) + noise;
        st[2 * i + 1] = (float)(0.3 * sin(2 * M_PI * 3000 * t)) - noise;
        float sum = 0;
        sum += st[2 * i];
        sum += st[2 * i + 1];
        mono[i] = fmaxf(-16.0f, fminf(16.0f, sum / 2.0f)); /* as the reader mixes */
    }
    const char *path = tu_path("chirp48.wav");
    write_sf(path, SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 2, st, N);
    float *x;
    size_t n;
    REQUIRE_OK(wn_audio_read(path, 8000, &x, &n, NULL, &err), &err);
    float *ref = malloc(sizeof(float) * (N / 6 + 64));
    REQUIRE(ref);
    SRC_DATA d;
    memset(&d, 0, sizeof d);
    d.data_in = mono;
    d.input_frames = N;
    d.data_out = ref;
    d.output_frames = N / 6 + 64;
    d.src_ratio = 8000.0 / 48000.0;
    REQUIRE(src_simple(&d, SRC_SINC_MEDIUM_QUALITY, 1) == 0);
    size_t same = 0;
    double worst = 0;
    for (size_t i = 0; i < n && i < (size_t)d.output_frames_gen; i++) {
        float r = fmaxf(-1.0f, fminf(1.0f, ref[i]));
        same += x[i] == r;
        worst = fmax(worst, fabs((double)x[i] - r));
    }
    CF(n == (size_t)d.output_frames_gen && same == n,
       "48 kHz stereo -> 8 kHz: %zu samples, one-shot %ld; %zu equal, worst |diff| %g", n,
       d.output_frames_gen, same, worst);
    printf("  48 kHz stereo -> 8 kHz in blocks: %zu samples, the same bits as one-shot "
           "src_simple: %s\n", n, same == n ? "yes" : "NO");
    free(x), free(ref), free(st), free(mono);

    const char *vg = getenv("LD_PRELOAD");
    if (!RSS_COUNTED || (vg && strstr(vg, "vgpreload"))) return;
    /* 120 s at 48 kHz, 16-bit: 23 MB as floats, 3.84 MB at 8 kHz */
    enum { LONG = 48000 * 120, PART = 48000 };
    path = tu_path("long48.wav");
    SF_INFO si = {.samplerate = 48000, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &si);
    REQUIRE(sf);
    static float part[PART];
    for (int k = 0; k < LONG / PART; k++) {
        for (int i = 0; i < PART; i++)
            part[i] = (float)(0.4 * sin(2 * M_PI * 440 * (double)(k * PART + i) / 48000));
        REQUIRE(sf_writef_float(sf, part, PART) == PART);
    }
    sf_close(sf);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rusage ru0, ru1;
        getrusage(RUSAGE_SELF, &ru0);
        wn_error e2;
        if (wn_audio_read(path, 8000, &x, &n, NULL, &e2) != WN_OK) _exit(255);
        getrusage(RUSAGE_SELF, &ru1);
        long mb = (ru1.ru_maxrss - ru0.ru_maxrss) / 1024; /* KiB -> MiB */
        _exit(mb > 254 ? 254 : (int)mb);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
    int grew = WEXITSTATUS(status);
    CF(grew < 12, "reading 120 s at 48 kHz: peak RSS grew %d MiB (the output is 3.7 MiB; the "
       "whole input as floats would be 22 MiB more)", grew);
    printf("  120 s at 48 kHz -> 8 kHz: peak RSS grew %d MiB\n", grew);
}

static void test_raw(void)
{
    wn_error err;
    const short v[6] = {0, 16384, -16384, 32767, -32768, 1};
    unsigned char bytes[12];
    for (int i = 0; i < 6; i++) {
        bytes[2 * i] = (unsigned char)(v[i] & 0xff);
        bytes[2 * i + 1] = (unsigned char)((unsigned short)v[i] >> 8);
    }
    const char *path = tu_path("pcm.RAW");
    write_bytes(path, bytes, sizeof bytes);
    float *x;
    size_t n;
    wn_audio_info info;
    REQUIRE_OK(wn_audio_read(path, 0, &x, &n, &info, &err), &err);
    C(n == 6 && info.file_rate == 8000 && info.file_channels == 1 && !info.resampled);
    for (int i = 0; i < 6 && (size_t)i < n; i++)
        CF(x[i] == v[i] / 32768.0f, "raw sample %d: %g, expected %g", i, x[i], v[i] / 32768.0);
    free(x);
    /* a .raw is at the requested rate: no resampling */
    REQUIRE_OK(wn_audio_read(path, 16000, &x, &n, &info, &err), &err);
    C(n == 6 && info.file_rate == 16000 && !info.resampled);
    free(x);

    /* a codec2 clip: raw and wav versions of the same speech */
    const char *raw = "/usr/share/codec2/raw/hts1a.raw", *wav = "/usr/share/codec2/wav/hts1a.wav";
    struct stat st;
    if (stat(raw, &st) == 0) {
        REQUIRE_OK(wn_audio_read(raw, 8000, &x, &n, &info, &err), &err);
        C(n == (size_t)st.st_size / 2);
        float *y;
        size_t m;
        if (exists(wav) && wn_audio_read(wav, 8000, &y, &m, &info, &err) == WN_OK) {
            if (m == n && info.file_rate == 8000) C(memcmp(x, y, n * sizeof *x) == 0);
            printf("  %s: %zu samples; %s: %zu samples at %d Hz\n", raw, n, wav, m,
                   info.file_rate);
            free(y);
        }
        free(x);
    }
}

/* Other containers and codecs read through libsndfile; a lossless file
 * comes back sample for sample, and a compressed one is not bounded by the
 * uncompressed size (a FLAC "PCM_16" holds more frames than bytes/2). */
static void test_formats(void)
{
    enum { N = 20000 };
    static float s[N];
    for (int i = 0; i < N; i++) s[i] = 0.3f * (float)sin(2 * M_PI * 300.0 * i / 8000) * (i % 3000 < 1500);
    const struct { const char *name; int format; int lossless; } fm[] = {
        {"f.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1},
        {"f.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 0},
        {"f.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 1},
        {"f.au", SF_FORMAT_AU | SF_FORMAT_FLOAT, 1},
        {"f.w64", SF_FORMAT_W64 | SF_FORMAT_PCM_16, 1},
        {"f.caf", SF_FORMAT_CAF | SF_FORMAT_ALAW, 0},
    };
    for (size_t k = 0; k < sizeof fm / sizeof fm[0]; k++) {
        SF_INFO si;
        memset(&si, 0, sizeof si);
        si.samplerate = 8000;
        si.channels = 1;
        si.format = fm[k].format;
        if (!sf_format_check(&si)) {
            printf("  %s: not supported by this libsndfile\n", fm[k].name);
            continue;
        }
        char path[512];
        snprintf(path, sizeof path, "%s", tu_path(fm[k].name));
        write_sf(path, fm[k].format, 8000, 1, s, N);
        wn_error err;
        float *x;
        size_t n;
        int rc = wn_audio_read(path, 8000, &x, &n, NULL, &err);
        CF(rc == WN_OK, "%s: %s", fm[k].name, err.message);
        if (rc != WN_OK) continue;
        C(n == N);
        double worst = 0;
        for (size_t i = 0; i < n && i < N; i++)
            if (fabs(x[i] - s[i]) > worst) worst = fabs(x[i] - s[i]);
        if (fm[k].lossless) CF(worst < 1e-4, "%s: error %g", fm[k].name, worst);
        printf("  %-7s %zu frames, max error %.2g\n", fm[k].name, n, worst);
        free(x);
    }
    /* truncated AIFF and AU: the header's claim is checked */
    const char *trunc[2] = {"f.aiff", "f.au"};
    for (int k = 0; k < 2; k++) {
        char path[512];
        snprintf(path, sizeof path, "%s", tu_path(trunc[k]));
        struct stat st;
        REQUIRE(stat(path, &st) == 0);
        REQUIRE(truncate(path, st.st_size / 2) == 0);
        expect_read_error(k == 0 ? "truncated AIFF" : "truncated AU", path, 8000,
                          WN_ERR_FORMAT, "20000 frames");
    }
}

static void test_bad_inputs(void)
{
    /* empty WAV */
    char empty[512]; /* tu_path's buffers rotate: keep a copy */
    snprintf(empty, sizeof empty, "%s", tu_path("empty.wav"));
    write_sf(empty, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, NULL, 0);
    expect_read_error("empty WAV", empty, 8000, WN_ERR_AUDIO, "0 frames");
    write_bytes(tu_path("empty.raw"), "", 0);
    expect_read_error("empty .raw", tu_path("empty.raw"), 8000, WN_ERR_AUDIO, NULL);
    write_bytes(tu_path("zero.wav"), "", 0);
    expect_read_error("zero-byte .wav", tu_path("zero.wav"), 8000, WN_ERR_FORMAT, "0 bytes");

    /* text */
    const char *txt = tu_path("notes.txt");
    const char *words = "these are not the samples you are looking for\n";
    write_bytes(txt, words, strlen(words));
    expect_read_error("text file", txt, 8000, WN_ERR_FORMAT, NULL);
    /* a text file named .wav */
    write_bytes(tu_path("text.wav"), words, strlen(words));
    expect_read_error("text named .wav", tu_path("text.wav"), 8000, WN_ERR_FORMAT, NULL);

    /* missing, directory, FIFO */
    expect_read_error("missing file", tu_path("nothere.wav"), 8000, WN_ERR_IO, NULL);
    expect_read_error("directory", tu_tmpdir(), 8000, WN_ERR_IO, "directory");
    const char *fifo = tu_path("fifo.wav");
    unlink(fifo); /* made by the run before, without the sandbox */
    REQUIRE(mkfifo(fifo, 0600) == 0);
    expect_read_error("FIFO", fifo, 8000, WN_ERR_IO, "regular");
    expect_read_error("device", "/dev/zero", 8000, WN_ERR_IO, NULL);

    /* NaN and Inf in a float WAV */
    enum { N = 5000 };
    static float s[N];
    for (int i = 0; i < N; i++) s[i] = 0.1f * sinf(0.05f * i);
    s[1234] = NAN;
    write_sf(tu_path("nan.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, s, N);
    expect_read_error("NaN sample", tu_path("nan.wav"), 8000, WN_ERR_AUDIO, "1234");
    s[1234] = 0;
    s[4321] = -INFINITY;
    write_sf(tu_path("inf.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, s, N);
    expect_read_error("Inf sample", tu_path("inf.wav"), 16000, WN_ERR_AUDIO, "4321");

    /* a header that claims 100 M frames over 100 samples */
    unsigned char h[44 + 200];
    memset(h, 0, sizeof h);
    const uint32_t claim = 200000000u;
    memcpy(h, "RIFF", 4);
    uint32_t riff = 36 + claim;
    for (int i = 0; i < 4; i++) h[4 + i] = (unsigned char)(riff >> (8 * i));
    memcpy(h + 8, "WAVEfmt ", 8);
    const unsigned char fmt[20] = {16, 0, 0, 0, 1, 0, 1, 0, 0x40, 0x1f, 0, 0,
                                   0x80, 0x3e, 0, 0, 2, 0, 16, 0};
    memcpy(h + 16, fmt, 20);
    memcpy(h + 36, "data", 4);
    for (int i = 0; i < 4; i++) h[40 + i] = (unsigned char)(claim >> (8 * i));
    write_bytes(tu_path("liar.wav"), h, sizeof h);
    expect_read_error("header claims 1e8 frames", tu_path("liar.wav"), 8000, WN_ERR_FORMAT,
                      "100000000");
    /* the same header with the "unknown length" mark reads the 100 frames */
    for (int i = 0; i < 4; i++) h[40 + i] = 0xff;
    write_bytes(tu_path("stream.wav"), h, sizeof h);
    wn_error err;
    float *x;
    size_t n;
    int rc = wn_audio_read(tu_path("stream.wav"), 8000, &x, &n, NULL, &err);
    CF(rc == WN_OK && n == 100, "data size 0xFFFFFFFF: %d (%s)", rc, err.message);
    if (rc == WN_OK) free(x);

    /* bad arguments */
    expect_read_error("negative rate", empty, -8000, WN_ERR_ARG, NULL);
    int *codes;
    C(wn_audio_read_codes(tu_path("stream.wav"), 8000, 1, &codes, &n, NULL, &err) ==
      WN_ERR_ARG);
}

int main(void)
{
    alarm(120); /* a read blocking on the FIFO must fail the test, not hang it */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("writer:\n");
    test_roundtrip(256, SF_FORMAT_PCM_16);
    test_roundtrip(2, SF_FORMAT_PCM_16);
    test_roundtrip(65536, SF_FORMAT_FLOAT);
    test_writer_flush_and_abort();
    test_writer_disk_full();
    test_writer_stdout();
    printf("reader:\n");
    test_stereo_mix();
    test_resample();
    test_resample_stream();
    test_raw();
    test_formats();
    test_bad_inputs();
    /* the same files through the header sandbox (parsed first by a forked
     * child): the same outcomes and messages. The hostile headers that
     * need it are in test_hostile.c and test_embed.c */
    printf("reader, header sandbox on:\n");
    wn_audio_set_sandbox(1);
    test_formats();
    test_bad_inputs();
    return tu_finish("audio", checks);
}
