/* fuzz_npy.c - libFuzzer target for the .npy features reader.
 *
 * Each input is written to a file on tmpfs (/dev/shm when there is one) and
 * read with wn_npy_read. What it accepts must be what it promises (2-D, at
 * most WN_NPY_MAX_ELEMENTS, every value finite) and must survive
 * wn_npy_write and a second read unchanged, bit for bit. A refusal must be
 * a negative wn_status with a non-empty one-line message naming the file,
 * and hand nothing back; anything else aborts (a crash to libFuzzer).
 *
 * Built and run by tests/fuzz/run.sh:
 *   clang -fsanitize=fuzzer,address,undefined ... fuzz_npy.c <library sources>
 */
#define _POSIX_C_SOURCE 200809L
#include "wavenet.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_path[512], g_copy[512];

static void cleanup(void)
{
    unlink(g_path);
    unlink(g_copy);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(g_path, sizeof g_path, "%s/wn-fuzz-npy-%ld.npy", dir, (long)getpid());
    snprintf(g_copy, sizeof g_copy, "%s/wn-fuzz-npy-%ld.copy.npy", dir, (long)getpid());
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(g_path);
        abort();
    }
    wn_error err;
    memset(&err, 0, sizeof err);
    float *x = (float *)&x;
    size_t rows = 9, cols = 9;
    int rc = wn_npy_read(g_path, &x, &rows, &cols, &err);
    if (rc != WN_OK) {
        if (rc >= 0 || rc < WN_STATUS_LAST || err.code != rc || !err.message[0] ||
            strchr(err.message, '\n') || !memchr(err.message, 0, sizeof err.message) ||
            !strstr(err.message, g_path) || x || rows || cols) {
            fprintf(stderr, "bad error report: rc %d, code %d, message '%.320s'\n", rc,
                    err.code, err.message);
            abort();
        }
        return 0;
    }
    if (!x || !rows || !cols || cols > WN_NPY_MAX_ELEMENTS / rows) abort();
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(x[i])) abort();
    if (wn_npy_write(g_copy, x, rows, cols, &err) != WN_OK) {
        fprintf(stderr, "write: %s\n", err.message);
        abort();
    }
    float *y = NULL;
    size_t r2, c2;
    if (wn_npy_read(g_copy, &y, &r2, &c2, &err) != WN_OK) {
        fprintf(stderr, "reread: %s\n", err.message);
        abort();
    }
    if (r2 != rows || c2 != cols || memcmp(x, y, rows * cols * sizeof *x)) abort();
    free(x);
    free(y);
    return 0;
}
