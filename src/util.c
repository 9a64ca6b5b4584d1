/* util.c - errors, atomic file output, RNG and aligned memory, shared by
 * every module. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const messages[] = {
    "success",
    "out of memory",
    "input/output error",
    "not a valid file of the expected format",
    "invalid model configuration",
    "invalid argument",
    "unusable audio",
    "non-finite value",
    "interrupted",
    "checksum mismatch",
    "value out of range",
};

const char *wn_strerror(int code)
{
    if (code > 0 || code < WN_STATUS_LAST) return "unknown error";
    return messages[-code];
}

int wn__err(wn_error *err, int code, const char *fmt, ...)
{
    if (err) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        /* one line, always */
        for (char *p = err->message; *p; p++)
            if (*p == '\n' || *p == '\r') *p = ' ';
    }
    return code;
}

int wn__tmpname(const char *path, char *tmp, size_t size, wn_error *err)
{
    if (!strcmp(path, "-")) /* stdout, where a writer takes it, is taken before this */
        return wn__err(err, WN_ERR_ARG, "-: this output cannot go to stdout: name a file");
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    int n = snprintf(tmp, size, "%.*s.%s.tmp.%ld", (int)dirlen, path,
                     path + dirlen, (long)getpid());
    if (n < 0 || (size_t)n >= size)
        return wn__err(err, WN_ERR_ARG, "%s: path too long", path);
    if (path[dirlen] == '\0')
        return wn__err(err, WN_ERR_ARG, "%s: not a file name", path);
    /* rename() would refuse it only after all the work */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return wn__err(err, WN_ERR_ARG, "%s: is a folder, not a file name", path);
    return WN_OK;
}

int wn__commit_path(const char *tmp, const char *path, wn_error *err)
{
    FILE *f = fopen(tmp, "r+b");
    if (!f) {
        int e = errno;
        remove(tmp);
        return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(e));
    }
    if (fsync(fileno(f)) != 0 && errno != EINVAL) {
        int e = errno;
        fclose(f);
        remove(tmp);
        return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(e));
    }
    fclose(f);
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return wn__err(err, WN_ERR_IO, "%s: cannot rename into place: %s", path,
                       strerror(e));
    }
    return WN_OK;
}

int wn__commit_file(FILE *f, const char *tmp, const char *path, wn_error *err)
{
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL) { bad = 1; e = errno; }
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) {
        remove(tmp);
        return wn__err(err, WN_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        return wn__err(err, WN_ERR_IO, "%s: cannot rename into place: %s", path,
                       strerror(e));
    }
    return WN_OK;
}

void wn__abort_file(FILE *f, const char *tmp)
{
    if (f) fclose(f);
    if (tmp) remove(tmp);
}

uint64_t wn__splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

double wn__uniform(uint64_t *state)
{
    return (double)(wn__splitmix64(state) >> 11) * (1.0 / 9007199254740992.0);
}

void *wn__alloc(size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - 64) / size) return NULL;
    size_t bytes = count * size;
    bytes = (bytes + 63) & ~(size_t)63;
    if (bytes == 0) bytes = 64;
    return aligned_alloc(64, bytes);
}

void *wn__calloc(size_t count, size_t size)
{
    void *p = wn__alloc(count, size);
    if (p) memset(p, 0, count * size);
    return p;
}

void wn__free(void *p) { free(p); }
