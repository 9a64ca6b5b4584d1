/* test_embed.c - the library inside a host program changes nothing of the
 * host's that the header does not say it changes:
 *   - the audio header sandbox is off by default: a read forks no child
 *     (counted with a pthread_atfork handler) and leaves the host's
 *     unflushed stdio buffer alone; on, each read forks once, flushes, and
 *     a header that loops libsndfile is refused instead of hanging;
 *   - OpenBLAS's thread count: set to 1 by the first product by default,
 *     never touched after wn_set_blas_threads(0), n after
 *     wn_set_blas_threads(n). Each case runs in a fresh child, since the
 *     first product's setting happens once per process. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <cblas.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int checks;
#define C(cond) do { checks++; CHECK(cond); } while (0)
#define CF(cond, ...) do { checks++; CHECKF(cond, __VA_ARGS__); } while (0)

static volatile long forks; /* children this process forked */
static void count_fork(void) { forks++; } /* pthread_atfork: in the parent */

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void put(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(data, 1, n, f) == n && fclose(f) == 0);
}

/* A one-second WAV through the library's own writer */
static void make_wav(const char *path)
{
    wn_error err;
    wn_wav *w = wn_wav_open(path, 8000, 256, &err);
    REQUIRE(w);
    int codes[8000];
    for (int i = 0; i < 8000; i++) codes[i] = 128 + (i * 7) % 64;
    REQUIRE_OK(wn_wav_write_codes(w, codes, 8000, &err), &err);
    REQUIRE_OK(wn_wav_close(w, &err), &err);
}

/* Read path with the sandbox as it is; the forks it took and whether the
 * host's pending bytes reached their file. */
static int read_counting(const char *path, long *forked, int *host_flushed, wn_error *err)
{
    const char *host_path = tu_path("host-log.txt");
    FILE *host = fopen(host_path, "w");
    REQUIRE(host);
    REQUIRE(setvbuf(host, NULL, _IOFBF, 4096) == 0);
    fputs("the host's unflushed line\n", host); /* stays in its buffer */
    long before = forks;
    float *x = NULL;
    size_t n = 0;
    int rc = wn_audio_read(path, 8000, &x, &n, NULL, err);
    *forked = forks - before;
    *host_flushed = file_size(host_path) > 0;
    free(x);
    fclose(host);
    return rc;
}

static void test_audio_sandbox(void)
{
    REQUIRE(pthread_atfork(NULL, count_fork, NULL) == 0);
    char wav[512], text[512], loop[512];
    snprintf(wav, sizeof wav, "%s", tu_path("tone.wav"));
    snprintf(text, sizeof text, "%s", tu_path("text.wav"));
    snprintf(loop, sizeof loop, "%s", tu_path("list-loop.wav"));
    make_wav(wav);
    put(text, "not audio at all\n", 17);
    /* libsndfile 1.2 loops forever on this header (a LIST sub-chunk whose
     * size wraps its skip backwards, its issue #1118): only the sandbox
     * survives it */
    static const unsigned char loop_wav[] =
        "RIFF\x58\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0\x40\x1f\0\0\x80\x3e\0\0"
        "\x02\0\x10\0LIST\x28\0\0\0INFOabcd\xf8\xff\xff\xff"
        "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "data\x08\0\0\0\0\0\0\0\0\0\0\0";
    put(loop, loop_wav, sizeof loop_wav - 1);

    wn_error err;
    long forked;
    int flushed, rc;
    C(wn_audio_sandbox() == 0);
    rc = read_counting(wav, &forked, &flushed, &err);
    CF(rc == WN_OK, "sandbox off: %s", err.message);
    CF(forked == 0 && !flushed, "sandbox off, a WAV: %ld forks, host's stdio %s", forked,
       flushed ? "flushed" : "left alone");
    rc = read_counting(text, &forked, &flushed, &err);
    CF(rc == WN_ERR_FORMAT, "sandbox off, a text file: %d (%s)", rc, err.message);
    CF(forked == 0 && !flushed, "sandbox off, a text file: %ld forks, host's stdio %s", forked,
       flushed ? "flushed" : "left alone");
    printf("  sandbox off: no fork, the host's stdio buffer left alone\n");

    wn_audio_set_sandbox(7); /* any non-zero is on */
    C(wn_audio_sandbox() == 1);
    rc = read_counting(wav, &forked, &flushed, &err);
    CF(rc == WN_OK, "sandbox on: %s", err.message);
    CF(forked == 1 && flushed, "sandbox on, a WAV: %ld forks, host's stdio %s", forked,
       flushed ? "flushed" : "left alone");
    rc = read_counting(text, &forked, &flushed, &err);
    CF(rc == WN_ERR_FORMAT && forked == 1, "sandbox on, a text file: %d (%s), %ld forks", rc,
       err.message, forked);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rc = read_counting(loop, &forked, &flushed, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
    CF(rc == WN_ERR_FORMAT && strstr(err.message, "did not finish") && forked == 1,
       "sandbox on, a header that loops libsndfile: %d (%s), %ld forks", rc, err.message,
       forked);
    printf("  sandbox on: one fork a read; a looping header refused in %.1f s: %s\n", secs,
           err.message);

    wn_audio_set_sandbox(0);
    C(wn_audio_sandbox() == 0);
    rc = read_counting(wav, &forked, &flushed, &err);
    CF(rc == WN_OK && forked == 0 && !flushed, "sandbox off again: %d, %ld forks", rc, forked);
}

/* ------------------------------------------------------------ BLAS threads */

enum { BLAS_DEFAULT, BLAS_CALLER, BLAS_SET2 };

/* In a child: the host sets OpenBLAS to 2 threads, the library runs a
 * product; exit status: the count OpenBLAS has after it (100 + error) */
static int blas_child(int mode)
{
    wn_error err;
    if (mode == BLAS_CALLER && wn_set_blas_threads(0) != WN_OK) return 101;
    if (mode == BLAS_SET2) {
        openblas_set_num_threads(3);
        if (wn_set_blas_threads(2) != WN_OK || openblas_get_num_threads() != 2) return 102;
    } else {
        openblas_set_num_threads(2);
    }
    wn_model *m = tu_small_model(16, 2, 2, 4, 4, 8, 1);
    int codes[64];
    for (int i = 0; i < 64; i++) codes[i] = i % 16;
    float *logits = malloc(sizeof(float) * 64 * 16);
    if (!logits || wn_model_logits(m, codes, 64, logits, &err) != WN_OK) return 103;
    free(logits);
    wn_model_free(m);
    int n = openblas_get_num_threads();
    return n < 100 ? n : 99;
}

static int in_child(int mode)
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) _exit(blas_child(mode));
    int st = 0;
    REQUIRE(waitpid(pid, &st, 0) == pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 200 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void test_blas_threads(void)
{
    C(wn_set_blas_threads(-1) == WN_ERR_ARG);
    int n = in_child(BLAS_DEFAULT);
    CF(n == 1, "default: OpenBLAS has %d threads after the library's first product, not 1", n);
    n = in_child(BLAS_CALLER);
    CF(n == 2, "wn_set_blas_threads(0): the host's 2 threads became %d", n);
    n = in_child(BLAS_SET2);
    CF(n == 2, "wn_set_blas_threads(2): OpenBLAS has %d threads after a product", n);
    printf("  OpenBLAS threads: 1 by default, the host's own after wn_set_blas_threads(0), "
           "n after wn_set_blas_threads(n)\n");
}

int main(void)
{
    alarm(120); /* a read that hangs fails the test instead */
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("BLAS threads:\n");
    test_blas_threads(); /* first: its children must not inherit a product's setting */
    printf("audio header sandbox:\n");
    test_audio_sandbox();
    return tu_finish("embed", checks);
}
