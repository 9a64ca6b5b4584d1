/* audio_header.c - what a file's header is checked for before libsndfile
 * is trusted with it (wn_audio_read asks for both): the audio chunk size
 * of WAV/AIFF/AU headers against the file size and, in the sandbox
 * (wn_audio_set_sandbox), a first parse in a forked child under a deadline.
 * Apart from the reader: this is the code written for hostile input, and
 * the fork, its pipe and its clock have nothing to do with decoding. */
#define _POSIX_C_SOURCE 200809L
#include "audio.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sndfile.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint32_t get32(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned get16(const unsigned char *p, int big)
{
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static int claim_error(const char *path, uint64_t claim, int64_t avail, unsigned frame_bytes,
                       wn_error *err)
{
    if (frame_bytes)
        return wn__err(err, WN_ERR_FORMAT, "%s: header claims %llu frames but the file holds "
                       "only %lld (truncated or corrupt)", path,
                       (unsigned long long)(claim / frame_bytes),
                       (long long)(avail / frame_bytes));
    return wn__err(err, WN_ERR_FORMAT, "%s: header claims %llu bytes of audio but the file "
                   "holds only %lld (truncated or corrupt)", path, (unsigned long long)claim,
                   (long long)avail);
}

/* libsndfile silently clamps an audio chunk that claims more bytes than the
 * file holds (it only notes it in its log), which would hide a truncated or
 * forged file. Check the claim ourselves for the common containers: RIFF/RIFX
 * WAV ("data"), AIFF/AIFC ("SSND") and Sun/NeXT AU. Sizes 0 and 0xFFFFFFFF
 * are the "length unknown" marks of streaming writers, left to libsndfile. */
int wn__audio_claim_check(int fd, int64_t fsize, const char *path, wn_error *err)
{
    unsigned char h[24];
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) return WN_OK;
    if (!memcmp(h, ".snd", 4)) {
        uint32_t off = get32(h + 4, 1), size = get32(h + 8, 1);
        unsigned ch = get32(h + 20, 1), enc = get32(h + 12, 1);
        /* encodings 2..7: 8/16/24/32-bit PCM, float, double */
        static const unsigned bytes[8] = {0, 0, 1, 2, 3, 4, 4, 8};
        unsigned fb = enc < 8 && ch && ch < 1024 ? bytes[enc] * ch : 0;
        if (size != 0xFFFFFFFFu && size && (int64_t)off + size > fsize)
            return claim_error(path, size, fsize - off > 0 ? fsize - off : 0, fb, err);
        return WN_OK;
    }
    int big, rf64 = 0;
    int64_t ds64 = -1; /* RF64: the 64-bit data size from the ds64 chunk */
    const char *data_id;
    if (!memcmp(h, "RF64", 4) && !memcmp(h + 8, "WAVE", 4) && !memcmp(h + 12, "ds64", 4)) {
        unsigned char d[8];
        if (pread(fd, d, 8, 28) == 8)
            ds64 = (int64_t)((uint64_t)get32(d + 4, 0) << 32 | get32(d, 0)) & INT64_MAX;
        big = 0, data_id = "data", rf64 = 1;
    } else if (!memcmp(h, "RIFF", 4) && !memcmp(h + 8, "WAVE", 4)) big = 0, data_id = "data";
    else if (!memcmp(h, "RIFX", 4) && !memcmp(h + 8, "WAVE", 4)) big = 1, data_id = "data";
    else if (!memcmp(h, "FORM", 4) && (!memcmp(h + 8, "AIFF", 4) || !memcmp(h + 8, "AIFC", 4)))
        big = 1, data_id = "SSND";
    else return WN_OK;
    int aiff = data_id[0] == 'S', plain_aiff = aiff && !memcmp(h + 8, "AIFF", 4);
    int64_t off = 12;
    unsigned frame_bytes = 0;
    for (int guard = 0; guard < 4096 && off + 8 <= fsize; guard++) {
        unsigned char c[8 + 16];
        ssize_t got = pread(fd, c, sizeof c, (off_t)off);
        if (got < 8) return WN_OK;
        uint32_t size = get32(c + 4, big);
        if (!aiff && !memcmp(c, "fmt ", 4) && got >= 8 + 14)
            frame_bytes = get16(c + 8 + 12, big); /* block align */
        if (plain_aiff && !memcmp(c, "COMM", 4) && got >= 8 + 8)
            frame_bytes = get16(c + 8, 1) * ((get16(c + 8 + 6, 1) + 7) / 8);
        if (!memcmp(c, data_id, 4)) {
            int64_t start = off + 8, claim = size;
            if (aiff) start += 8, claim -= 8; /* SSND: offset, block size */
            int known = size != 0 && size != 0xFFFFFFFFu;
            if (rf64 && size == 0xFFFFFFFFu && ds64 > 0) claim = ds64, known = 1;
            int64_t avail = fsize - start;
            if (known && claim > avail)
                return claim_error(path, (uint64_t)claim, avail < 0 ? 0 : avail, frame_bytes,
                                   err);
            return WN_OK;
        }
        off += 8 + (int64_t)size + (size & 1);
    }
    return WN_OK;
}

/* libsndfile's header parsers are not all safe on hostile input: 1.2.x
 * spins forever, without any I/O, on a WAV LIST sub-chunk whose size wraps
 * a seek backwards (its issue #1118; our fuzzer found it), and each of its
 * two dozen formats has such corners. So, in the sandbox, a file's header
 * is parsed first by a forked child under a deadline: a loop or a crash
 * there costs the child, and only a header that parsed there,
 * deterministically, is parsed again here. A fork of the reader's process
 * costs well under a millisecond, but it is the host's process that forks
 * (its stdio flushed, its atfork handlers run): the host asks for it. */
static atomic_int sandbox; /* 0 (the default): no fork, a direct read */

void wn_audio_set_sandbox(int on) { atomic_store(&sandbox, on != 0); }

int wn_audio_sandbox(void) { return atomic_load(&sandbox); }

int wn__audio_probe_header(int fd, int64_t fsize, const char *path, wn_error *err)
{
    int p[2];
    if (pipe(p) != 0)
        return wn__err(err, WN_ERR_IO, "%s: cannot check the header: pipe: %s", path,
                       strerror(errno));
    /* the child inherits every stdio buffer: empty them first, or a child
     * whose exit flushes (valgrind's does) writes them a second time */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        return wn__err(err, WN_ERR_IO, "%s: cannot check the header: fork: %s", path,
                       strerror(e));
    }
    if (pid == 0) { /* the child: parse, report one byte, leave without cleanup */
        close(p[0]);
        SF_INFO si;
        memset(&si, 0, sizeof si);
        SNDFILE *sf = sf_open_fd(fd, SFM_READ, &si, 0);
        char ok = sf != NULL;
        if (sf) sf_close(sf);
        ssize_t w = write(p[1], &ok, 1);
        _exit(w == 1 ? 0 : 1);
    }
    close(p[1]);
    /* a sane header parses in milliseconds: allow 2 s, plus 1 s per 16 MiB
     * for the formats that scan the whole file to count frames */
    int64_t limit_ms = 2000 + (fsize >> 24) * 1000;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    int r;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int64_t left = limit_ms - ((int64_t)(t1.tv_sec - t0.tv_sec) * 1000 +
                                   (t1.tv_nsec - t0.tv_nsec) / 1000000);
        r = left > 0 ? poll(&pf, 1, (int)(left < INT_MAX ? left : INT_MAX)) : 0;
        if (r >= 0 || errno != EINTR) break;
    }
    int poll_errno = r < 0 ? errno : 0;
    char ok = 0;
    ssize_t got = 0;
    if (r > 0) {
        do got = read(p[0], &ok, 1);
        while (got < 0 && errno == EINTR);
    } else kill(pid, SIGKILL);
    close(p[0]);
    int st = 0;
    pid_t w;
    do w = waitpid(pid, &st, 0);
    while (w < 0 && errno == EINTR);
    /* the child moved the file offset we share with it */
    if (lseek(fd, 0, SEEK_SET) != 0)
        return wn__err(err, WN_ERR_IO, "%s: seek: %s", path, strerror(errno));
    if (r == 0)
        return wn__err(err, WN_ERR_FORMAT, "%s: libsndfile did not finish parsing the header "
                       "in %lld s (corrupt or hostile file)", path,
                       (long long)(limit_ms / 1000));
    if (got != 1) {
        if (w == pid && WIFSIGNALED(st))
            return wn__err(err, WN_ERR_FORMAT, "%s: libsndfile crashed parsing the header "
                           "(signal %d; corrupt or hostile file)", path, WTERMSIG(st));
        return wn__err(err, WN_ERR_IO, "%s: the header check failed (%s)", path,
                       r < 0 ? strerror(poll_errno) : "no answer from the child");
    }
    return WN_OK; /* opened or not: the real open below reports which */
}
