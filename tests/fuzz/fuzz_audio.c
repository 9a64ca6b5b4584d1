/* fuzz_audio.c - libFuzzer target for the audio reader (wn_audio_read).
 *
 * The reader takes a path, so each input is written to a file on tmpfs
 * (/dev/shm when there is one) named *.wav, and read three ways:
 *   - as it is, at the file's own rate (any container libsndfile knows:
 *     WAV/RIFX/RF64/W64, AIFF, AU, FLAC, ...; our own size checks first);
 *   - at 8000 Hz, which resamples when the file's rate differs (short
 *     files only: resampling is the slow part);
 *   - through a symlink named *.raw: headerless 16-bit LE mono.
 * Accepted audio must be 1..2^31 finite samples in [-1, 1]; a refusal must
 * be a negative wn_status with a non-empty one-line message that names the
 * file. Anything else aborts (a crash to libFuzzer). The header sandbox is
 * on (wn_audio_set_sandbox), as in the command. */
#define _POSIX_C_SOURCE 200809L
#include "wavenet.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_wav[512], g_raw[512];

static void cleanup(void)
{
    unlink(g_raw);
    unlink(g_wav);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* as the command reads files: each header parsed first in a forked
     * child (a header that loops libsndfile is then an error, not a
     * libFuzzer timeout) */
    wn_audio_set_sandbox(1);
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    if (!dir || !*dir) dir = "/tmp";
    snprintf(g_wav, sizeof g_wav, "%s/wn-fuzz-audio-%ld.wav", dir, (long)getpid());
    snprintf(g_raw, sizeof g_raw, "%s/wn-fuzz-audio-%ld.raw", dir, (long)getpid());
    unlink(g_raw);
    if (symlink(g_wav, g_raw) != 0) {
        perror(g_raw);
        abort();
    }
    atexit(cleanup);
    return 0;
}

static void put_file(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_wav, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0) {
        perror(g_wav);
        abort();
    }
}

/* Read path at rate; check whichever outcome. Returns the sample count. */
static size_t read_one(const char *path, int rate, wn_audio_info *info)
{
    float *x = NULL;
    size_t n = 12345;
    wn_error err;
    memset(&err, 0, sizeof err);
    memset(info, 0, sizeof *info);
    int rc = wn_audio_read(path, rate, &x, &n, info, &err);
    if (rc == WN_OK) {
        if (!x || n == 0 || n > ((size_t)1 << 31)) abort();
        for (size_t i = 0; i < n; i++)
            if (!(x[i] >= -1.0f && x[i] <= 1.0f)) abort(); /* NaN fails too */
        if (info->file_rate < 1 || info->file_channels < 1) abort();
        free(x);
        return n;
    }
    if (x || n != 0) abort(); /* nothing handed back on failure */
    if (rc >= 0 || rc < WN_STATUS_LAST || err.code != rc || !err.message[0] ||
        strchr(err.message, '\n') || !strstr(err.message, path)) {
        fprintf(stderr, "wn_audio_read(%s): bad error report: rc %d, code %d, '%s'\n", path,
                rc, err.code, err.message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    put_file(data, size);
    wn_audio_info info;
    size_t n = read_one(g_wav, 0, &info);
    if (n && n <= 20000 && info.file_rate != 8000) read_one(g_wav, 8000, &info);
    read_one(g_raw, 0, &info);
    /* mu-law codes from the same reader (bins from the input size) */
    int *codes = NULL;
    size_t nc = 0;
    wn_error err;
    int bins = 2 + (int)(size % 1023);
    if (wn_audio_read_codes(g_wav, 0, bins, &codes, &nc, NULL, &err) == WN_OK) {
        for (size_t i = 0; i < nc; i++)
            if (codes[i] < 0 || codes[i] >= bins) abort();
        free(codes);
    } else if (codes || nc) {
        abort();
    }
    return 0;
}
