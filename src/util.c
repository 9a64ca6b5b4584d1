/* util.c - errors, atomic file output, RNG and aligned memory, shared by
 * every module. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* Temporaries of `path` left by a process that died (kill -9, power loss):
 * ".NAME.tmp.PID.*" beside it, regular files of ours whose PID is gone. */
static void remove_stale(const char *dir, const char *prefix)
{
    DIR *d = opendir(*dir ? dir : ".");
    if (!d) return;
    size_t pl = strlen(prefix);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, prefix, pl)) continue;
        char *end;
        errno = 0;
        long pid = strtol(de->d_name + pl, &end, 10);
        if (errno || end == de->d_name + pl || *end != '.' || pid <= 0 || pid == (long)getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive, or not ours */
        char full[4096];
        if (snprintf(full, sizeof full, "%s%s", dir, de->d_name) >= (int)sizeof full) continue;
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid())
            unlink(full);
    }
    closedir(d);
}

int wn__tmpcreate(const char *path, char *tmp, size_t size, wn_error *err)
{
    if (!strcmp(path, "-")) /* stdout, where a writer takes it, is taken before this */
        return wn__err(err, WN_ERR_ARG, "-: this output cannot go to stdout: name a file");
    const char *slash = strrchr(path, '/');
    size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
    if (path[dirlen] == '\0') return wn__err(err, WN_ERR_ARG, "%s: not a file name", path);
    /* rename() would refuse it only after all the work */
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return wn__err(err, WN_ERR_ARG, "%s: is a folder, not a file name", path);
    char dir[4096], prefix[1024];
    if (snprintf(dir, sizeof dir, "%.*s", (int)dirlen, path) >= (int)sizeof dir ||
        snprintf(prefix, sizeof prefix, ".%s.tmp.", path + dirlen) >= (int)sizeof prefix)
        return wn__err(err, WN_ERR_ARG, "%s: path too long", path);
    remove_stale(dir, prefix);
    /* a name nobody can guess, created only if nothing is there: a link
     * planted at a predictable name is never written through */
    static atomic_uint_fast64_t counter;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t seed = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
                    ((uint64_t)getpid() << 40) ^ (uint64_t)atomic_fetch_add(&counter, 0x9e3779b97f4a7c15ULL) ^
                    (uint64_t)(uintptr_t)tmp;
    for (int attempt = 0; attempt < 64; attempt++) {
        uint64_t r = wn__splitmix64(&seed);
        int n = snprintf(tmp, size, "%s%s%ld.%012llx", dir, prefix, (long)getpid(),
                         (unsigned long long)(r & 0xffffffffffffULL));
        if (n < 0 || (size_t)n >= size) return wn__err(err, WN_ERR_ARG, "%s: path too long", path);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) return fd;
        if (errno != EEXIST)
            return wn__err(err, WN_ERR_IO, "%s: cannot create a file beside it: %s", path,
                           strerror(errno));
    }
    return wn__err(err, WN_ERR_IO, "%s: cannot create a temporary name beside it", path);
}

FILE *wn__tmpopen(const char *path, char *tmp, size_t size, wn_error *err)
{
    int fd = wn__tmpcreate(path, tmp, size, err);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
    }
    return f;
}

/* rename, then make the rename itself durable (the folder's entry) */
static int rename_into_place(const char *tmp, const char *path, wn_error *err)
{
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return wn__err(err, WN_ERR_IO, "%s: cannot rename into place: %s", path,
                       strerror(e));
    }
    const char *slash = strrchr(path, '/');
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path + 1) : 1, slash ? path : ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* some file systems refuse it on folders: not an error */
        close(dfd);
    }
    return WN_OK;
}

int wn__commit_fd(int fd, const char *tmp, const char *path, wn_error *err)
{
    int bad = fsync(fd) != 0 && errno != EINVAL;
    int e = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        return wn__err(err, WN_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return rename_into_place(tmp, path, err);
}

int wn__commit_file(FILE *f, const char *tmp, const char *path, wn_error *err)
{
    int bad = fflush(f) != 0 || ferror(f);
    int e = errno;
    if (!bad && fsync(fileno(f)) != 0 && errno != EINVAL) { bad = 1; e = errno; }
    if (fclose(f) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) {
        unlink(tmp);
        return wn__err(err, WN_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return rename_into_place(tmp, path, err);
}

void wn__abort_file(FILE *f, const char *tmp)
{
    if (f) fclose(f);
    if (tmp) unlink(tmp);
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

FILE *wn_file_open(const char *path, char *tmp, size_t size, wn_error *err)
{
    if (!path || !tmp) {
        wn__err(err, WN_ERR_ARG, "wn_file_open: NULL argument");
        return NULL;
    }
    return wn__tmpopen(path, tmp, size, err);
}

int wn_file_commit(FILE *f, const char *tmp, const char *path, wn_error *err)
{
    return wn__commit_file(f, tmp, path, err);
}

void wn_file_abort(FILE *f, const char *tmp) { wn__abort_file(f, tmp); }
