/* cli_util.c - argument parsing and messages for the subcommands. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
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

/* One line on stderr: "wavenet: " prefix, then the message with every
 * control character (a newline, or a terminal escape from a file name, a
 * list file or a model's metadata) shown as \xNN, so nothing a file holds
 * can move the cursor or recolour the terminal. */
static int g_rank = -1; /* a rank of a data-parallel run: messages name it */
void cli_set_rank(int rank) { g_rank = rank; }

static void say(const char *prefix, const char *fmt, va_list ap)
{
    char buf[1024], out[4096];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)buf; *p && k + 5 < sizeof out; p++) {
        if (*p < 0x20 || *p == 0x7f)
            k += (size_t)snprintf(out + k, sizeof out - k, "\\x%02x", *p);
        else
            out[k++] = (char)*p;
    }
    out[k] = 0;
    if (g_rank >= 0)
        fprintf(stderr, "wavenet: rank %d: %s%s\n", g_rank, prefix, out);
    else
        fprintf(stderr, "wavenet: %s%s\n", prefix, out);
}

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("", fmt, ap);
    va_end(ap);
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
    say("note: ", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("warning: ", fmt, ap);
    va_end(ap);
}

/* Decimal digits after an optional '-': nothing else (strtol would take
 * leading spaces, '+' and, with base 0, hex). *neg, *mag; 0 or -1. */
static int whole(const char *s, int *neg, unsigned long long *mag)
{
    *neg = *s == '-';
    const char *d = s + *neg;
    if (!*d) return -1;
    for (const char *p = d; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    char *end;
    errno = 0;
    *mag = strtoull(d, &end, 10);
    return errno || *end ? -1 : 0;
}

int cli_int(const char *flag, const char *s, long lo, long hi, long *out)
{
    int neg;
    unsigned long long m;
    int ok = whole(s, &neg, &m) == 0 && m <= (unsigned long long)LONG_MAX;
    long v = ok ? (neg ? -(long)m : (long)m) : 0;
    if (!ok || v < lo || v > hi) {
        cli_fail("%s: expected a whole number from %ld to %ld, got '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_u64(const char *flag, const char *s, uint64_t *out)
{
    int neg;
    unsigned long long m;
    if (whole(s, &neg, &m) || (neg && m) || m > UINT64_MAX) {
        cli_fail("%s: expected a whole number from 0 to %llu, got '%s'", flag,
                 (unsigned long long)UINT64_MAX, s);
        return -1;
    }
    *out = (uint64_t)m;
    return 0;
}

/* A decimal number: digits, '.', an exponent; the sign only first or after
 * the 'e'. Hex floats, inf and nan have letters strtod would take. */
static int decimal(const char *s, double *v)
{
    int digits = 0;
    for (const char *p = s; *p; p++) {
        if (*p >= '0' && *p <= '9') digits = 1;
        else if ((*p == '-' || *p == '+') && !(p == s || p[-1] == 'e' || p[-1] == 'E'))
            return -1;
        else if (!strchr("+-.eE", *p)) return -1;
    }
    if (!digits || (!isdigit((unsigned char)s[0]) && s[0] != '-' && s[0] != '+' && s[0] != '.'))
        return -1;
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    /* ERANGE: overflow, or an underflow to 0 or a subnormal */
    return errno || *end || !isfinite(*v) ? -1 : 0;
}

static int number(const char *flag, const char *s, double lo, double hi, int zero_ok,
                  double *out)
{
    double v;
    int bad = decimal(s, &v) != 0;
    if (!bad && !(zero_ok && v == 0)) bad = v < lo || v > hi;
    if (bad) {
        if (zero_ok && lo > 0)
            cli_fail("%s: expected 0 or a number from %g to %g, got '%s'", flag, lo, hi, s);
        else
            cli_fail("%s: expected a number from %g to %g, got '%s'", flag, lo, hi, s);
        return -1;
    }
    *out = v == 0 ? 0 : v; /* -0 is 0 */
    return 0;
}

int cli_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    return number(flag, s, lo, hi, 0, out);
}

int cli_double0(const char *flag, const char *s, double lo, double hi, double *out)
{
    return number(flag, s, lo, hi, 1, out);
}

static int readable(const char *p) { return access(p, R_OK) == 0; }

const char *cli_default_model(void)
{
    static char buf[2 * PATH_MAX + 64];
    return cli_default_model_named(WN_DEFAULT_MODEL_NAME, "WAVENET_MODEL", buf, sizeof buf);
}

const char *cli_default_model_named(const char *file, const char *env_name, char *buf,
                                    size_t size)
{
    const char *env = getenv(env_name);
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
                snprintf(buf, size, "%s%s%s", exe, rel[i], file);
                if (readable(buf)) {
                    char real[PATH_MAX];
                    if (realpath(buf, real)) snprintf(buf, size, "%s", real);
                    return buf;
                }
            }
        }
    }
    snprintf(buf, size, "%s/%s", WN_MODEL_DIR_BUILD, file);
    if (readable(buf)) return buf;
    snprintf(buf, size, "%s/%s", WN_MODEL_DIR_INSTALL, file);
    return buf;
}

int cli_speaker(const wn_model *m, const char *model, const char *name, int *row)
{
    const int n = wn_model_speaker_count(m);
    *row = -1;
    if (!n) {
        if (name) return cli_fail("--speaker %s: %s has no speakers", name, model);
        return 0;
    }
    if (name && (*row = wn_model_speaker_find(m, name)) >= 0) return 0;
    char list[512] = "";
    size_t k = 0;
    for (int i = 0; i < n && k + 70 < sizeof list; i++)
        k += (size_t)snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "",
                              wn_model_speaker_name(m, i));
    if (k + 70 >= sizeof list) snprintf(list + k, sizeof list - k, ", ...");
    if (!name)
        return cli_fail("%s has %d speakers: choose one with --speaker NAME (%s)", model, n,
                        list);
    return cli_fail("--speaker %s: %s has no such speaker (its %d: %s; or a row 0..%d)", name,
                    model, n, list, n - 1);
}

int cli_stderr_tty(void) { return isatty(STDERR_FILENO); }

const char *cli_speeds_text(const float *speeds, const char *sep, char *buf)
{
    size_t l = 0;
    buf[0] = 0;
    for (int i = 0; i < WN_MAX_SPEEDS && speeds[i] != 0; i++)
        l += (size_t)snprintf(buf + l, CLI_SPEEDS_TEXT - l, "%s%g", i ? sep : "", speeds[i]);
    return buf;
}

void cli_json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

int cli_precision(const char *flag, const char *s, wn_precision *out)
{
    if (!strcmp(s, "f32")) *out = WN_PRECISION_F32;
    else if (!strcmp(s, "f16")) *out = WN_PRECISION_F16;
    else if (!strcmp(s, "int8")) *out = WN_PRECISION_I8;
    else return cli_fail("%s: expected f32, f16 or int8, got '%s'", flag, s), 2;
    return 0;
}

int cli_output_is_input(const char *flag, const char *out, const char *const *inputs, int n)
{
    struct stat so, si;
    if (!out || !strcmp(out, "-") || stat(out, &so) != 0) return 0;
    for (int i = 0; i < n; i++) {
        if (!inputs[i] || !strcmp(inputs[i], "-") || stat(inputs[i], &si) != 0) continue;
        if (so.st_dev == si.st_dev && so.st_ino == si.st_ino) {
            cli_fail("%s %s: is the same file as the input %s; nothing was written "
                     "(name another output)", flag, out, inputs[i]);
            return 1;
        }
    }
    return 0;
}

int cli_lock(const char *flag, const char *path)
{
    const char *slash = strrchr(path, '/');
    int dl = slash ? (int)(slash - path + 1) : 0;
    char lock[4200];
    if (snprintf(lock, sizeof lock, "%.*s.%s.lock", dl, path, path + dl) >= (int)sizeof lock)
        return cli_fail("%s %s: path too long", flag, path);
    int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) return cli_fail("%s %s: cannot lock %s: %s", flag, path, lock, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            return cli_fail("%s %s: another wavenet is writing it (it holds %s); wait for it "
                            "or name another file", flag, path, lock);
        return cli_fail("%s %s: cannot lock %s: %s", flag, path, lock, strerror(e));
    }
    return 0; /* the descriptor stays open: the lock lasts until exit */
}

int cli_stdout_ok(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        return cli_fail("cannot write the results to stdout: %s",
                        errno ? strerror(errno) : "write error");
    return 0;
}
