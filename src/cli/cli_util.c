/* cli_util.c - argument parsing and messages for the subcommands. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef WN_MODEL_DIR_BUILD
#define WN_MODEL_DIR_BUILD "models"
#endif
#ifndef WN_MODEL_DIR_INSTALL
#define WN_MODEL_DIR_INSTALL "/usr/local/share/wavenet/models"
#endif
#define WN_DEFAULT_MODEL_NAME "wavenet-speech.safetensors"

int cli_fail(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n') *p = ' ';
    fprintf(stderr, "wavenet: %s\n", buf);
    return 1;
}

int cli_fail_err(const wn_error *err)
{
    return cli_fail("%s", err->message[0] ? err->message : wn_strerror(err->code));
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("wavenet: note: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_int(const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        cli_fail("%s: expected a whole number from %ld to %ld, got '%s'", flag, lo,
                 hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_u64(const char *flag, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (s[0] == '-') {
        cli_fail("%s: expected a non-negative whole number, got '%s'", flag, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end) {
        cli_fail("%s: expected a non-negative whole number, got '%s'", flag, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi) {
        cli_fail("%s: expected a number from %g to %g, got '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

const char *cli_value(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        cli_fail("%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

static int readable(const char *p) { return access(p, R_OK) == 0; }

const char *cli_default_model(void)
{
    static char buf[2 * PATH_MAX + 64];
    const char *env = getenv("WAVENET_MODEL");
    if (env && *env) return env;
    /* beside the executable: <exe dir>/../models (build tree) or ../share */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            const char *rel[] = {"/../models/", "/models/", "/../share/wavenet/models/"};
            for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
                snprintf(buf, sizeof buf, "%s%s%s", exe, rel[i], WN_DEFAULT_MODEL_NAME);
                if (readable(buf)) {
                    char real[PATH_MAX];
                    if (realpath(buf, real)) snprintf(buf, sizeof buf, "%s", real);
                    return buf;
                }
            }
        }
    }
    snprintf(buf, sizeof buf, "%s/%s", WN_MODEL_DIR_BUILD, WN_DEFAULT_MODEL_NAME);
    if (readable(buf)) return buf;
    snprintf(buf, sizeof buf, "%s/%s", WN_MODEL_DIR_INSTALL, WN_DEFAULT_MODEL_NAME);
    return buf;
}

int cli_stderr_tty(void) { return isatty(STDERR_FILENO); }

int cli_precision(const char *flag, const char *s, wn_precision *out)
{
    if (!strcmp(s, "f32")) *out = WN_PRECISION_F32;
    else if (!strcmp(s, "f16")) *out = WN_PRECISION_F16;
    else if (!strcmp(s, "int8")) *out = WN_PRECISION_I8;
    else return cli_fail("%s: expected f32, f16 or int8, got '%s'", flag, s), 2;
    return 0;
}
