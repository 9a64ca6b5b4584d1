/* audio.c - audio files in and out: libsndfile reading (any format, or
 * headerless 16-bit LE .raw), mono mixdown, libsamplerate resampling, and the
 * streamed WAV writer used by generation (temporary file + header update at
 * every flush + rename at close; "-" buffers in memory for stdout).
 *
 * Input files are checked before they are trusted: only regular files are
 * opened (a FIFO would block, a device may never end), the audio chunk size of
 * WAV/AIFF/AU headers is compared with the file size, and memory grows with
 * the samples actually decoded, never with what a header claims. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES ((int64_t)1 << 31) /* longest input we accept */
#define MAX_RATE (1 << 20)            /* Hz, for requested and file rates */
#define READ_BLOCK 4096               /* frames per sf_readf_float call */
#define RAW_DEFAULT_RATE 8000

/* ------------------------------------------------------------ reading */

static int ends_with_raw(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".raw") == 0;
}

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
static int claim_check(int fd, int64_t fsize, const char *path, wn_error *err)
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

/* Bytes per sample of uncompressed encodings in plain containers (0 =
 * compressed or unknown: a FLAC "PCM_16" is 16 bits before compression), to
 * bound a header's frame count by the file size. */
static int bytes_per_sample(int format)
{
    switch (format & SF_FORMAT_TYPEMASK) {
    case SF_FORMAT_WAV: case SF_FORMAT_WAVEX: case SF_FORMAT_RF64: case SF_FORMAT_W64:
    case SF_FORMAT_AIFF: case SF_FORMAT_AU: case SF_FORMAT_RAW: case SF_FORMAT_CAF:
    case SF_FORMAT_NIST: case SF_FORMAT_IRCAM: case SF_FORMAT_VOC: case SF_FORMAT_PAF:
    case SF_FORMAT_SVX: case SF_FORMAT_MAT4: case SF_FORMAT_MAT5:
        break;
    default:
        return 0;
    }
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8: case SF_FORMAT_PCM_U8:
    case SF_FORMAT_ULAW: case SF_FORMAT_ALAW: return 1;
    case SF_FORMAT_PCM_16: return 2;
    case SF_FORMAT_PCM_24: return 3;
    case SF_FORMAT_PCM_32: case SF_FORMAT_FLOAT: return 4;
    case SF_FORMAT_DOUBLE: return 8;
    default: return 0;
    }
}

/* Open `path` for reading: only a regular file, without ever blocking on a
 * FIFO (O_NONBLOCK), and with fstat on the opened descriptor so the file
 * checked is the file read. Returns the fd or a negative status. */
static int open_regular(const char *path, int64_t *size, wn_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return wn__err(err, WN_ERR_IO, "%s: is a directory, not an audio file", path);
    if (!S_ISREG(st.st_mode))
        return wn__err(err, WN_ERR_IO, "%s: not a regular file (FIFO, device or socket)",
                       path);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return wn__err(err, WN_ERR_IO, "%s: not a regular file", path);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *size = (int64_t)st.st_size;
    return fd;
}

/* "-": standard input, copied whole into an unlinked temporary file in
 * $TMPDIR (a pipe cannot seek, and every check below wants a regular file),
 * up to MAX_STDIN bytes. Returns the fd, at offset 0, or a negative status. */
#define MAX_STDIN ((int64_t)8 << 30)
static int open_stdin(int64_t *size, wn_error *err)
{
    const char *dir = getenv("TMPDIR");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/wavenet-stdin.XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(tmp);
    if (fd < 0)
        return wn__err(err, WN_ERR_IO, "stdin: cannot make a temporary file in %s: %s",
                       dir && *dir ? dir : "/tmp", strerror(errno));
    unlink(tmp); /* gone with the last descriptor */
    enum { BUF = 1 << 16 };
    char *buf = malloc(BUF);
    if (!buf) {
        close(fd);
        return wn__err(err, WN_ERR_NOMEM, "stdin: out of memory");
    }
    int64_t total = 0;
    int rc = WN_OK, zeros = 1, text = 1; /* of the first BUF bytes */
    for (;;) {
        ssize_t r = read(STDIN_FILENO, buf, BUF);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rc = wn__err(err, WN_ERR_IO, "stdin: %s", strerror(errno));
            break;
        }
        if (r == 0) break;
        /* what no audio file starts with, judged on the first 64 KiB
         * before gigabytes of it are copied (score - < /dev/zero) */
        for (ssize_t i = 0; total < BUF && i < r && (zeros || text); i++) {
            unsigned char c = (unsigned char)buf[i];
            zeros &= c == 0;
            text &= (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' || c == '\t';
        }
        if (total < BUF && total + r >= BUF && (zeros || text)) {
            rc = wn__err(err, WN_ERR_FORMAT, "stdin: its first 64 KiB are %s: not audio",
                         zeros ? "all zero bytes" : "plain text");
            break;
        }
        if (total + r > MAX_STDIN) {
            rc = wn__err(err, WN_ERR_AUDIO, "stdin: more than %lld GiB of audio",
                         (long long)(MAX_STDIN >> 30));
            break;
        }
        for (ssize_t o = 0; rc == WN_OK && o < r;) {
            ssize_t w = write(fd, buf + o, (size_t)(r - o));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0)
                rc = wn__err(err, WN_ERR_IO, "stdin: cannot buffer it in a temporary file: %s",
                             strerror(errno));
            else o += w;
        }
        if (rc != WN_OK) break;
        total += r;
    }
    free(buf);
    if (rc == WN_OK && lseek(fd, 0, SEEK_SET) != 0)
        rc = wn__err(err, WN_ERR_IO, "stdin: seek: %s", strerror(errno));
    if (rc != WN_OK) {
        close(fd);
        return rc;
    }
    *size = total;
    return fd;
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

static int probe_header(int fd, int64_t fsize, const char *path, wn_error *err)
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

/* Where the decoded mono samples go: straight to the output, or through a
 * resampler to it, block by block as they are read, so that reading a long
 * file at another rate holds only its output (an hour at 48 kHz: 115 MB at
 * 8 kHz, not the 691 MB of the whole input as well).
 * SRC_SINC_MEDIUM_QUALITY: its ~97 dB SNR is at the 16-bit noise floor and
 * far below the ~40 dB of 8-bit mu-law that every sample goes through next,
 * and it is flat to ~90% of the new Nyquist (-0.28 dB at 3.5 kHz for
 * 16 -> 8 kHz, above the telephone band), while running about twice as
 * fast as SINC_BEST, which matters when hours of training audio are read. */
typedef struct sink {
    float *y;
    size_t len, cap;
    SRC_STATE *src; /* NULL: no resampling */
    double ratio;
    const char *path;
} sink;

static int sink_room(sink *s, size_t need, wn_error *err)
{
    if (need <= s->cap) return WN_OK;
    if ((int64_t)need > MAX_FRAMES)
        return wn__err(err, WN_ERR_AUDIO, "%s: too long: more than 2^31 frames", s->path);
    size_t ncap = s->cap * 2 > need ? s->cap * 2 : need;
    if ((int64_t)ncap > MAX_FRAMES) ncap = (size_t)MAX_FRAMES;
    float *ny = realloc(s->y, ncap * sizeof *ny);
    if (!ny)
        return wn__err(err, WN_ERR_NOMEM, "%s: out of memory for %zu samples", s->path, ncap);
    s->y = ny;
    s->cap = ncap;
    return WN_OK;
}

/* n mono samples in; `last`: the input ends here (the resampler's tail) */
static int sink_put(sink *s, const float *x, size_t n, int last, wn_error *err)
{
    if (!s->src) {
        int rc = sink_room(s, s->len + n, err);
        if (rc) return rc;
        memcpy(s->y + s->len, x, n * sizeof *x);
        s->len += n;
        return WN_OK;
    }
    SRC_DATA d;
    memset(&d, 0, sizeof d);
    d.data_in = x;
    d.input_frames = (long)n;
    d.src_ratio = s->ratio;
    d.end_of_input = last;
    for (;;) {
        int rc = sink_room(s, s->len + (size_t)ceil((double)d.input_frames * s->ratio) + 256,
                           err);
        if (rc) return rc;
        d.data_out = s->y + s->len;
        d.output_frames = (long)(s->cap - s->len);
        int e = src_process(s->src, &d);
        if (e)
            return wn__err(err, WN_ERR_AUDIO, "%s: resampling to %g times the rate failed: %s",
                           s->path, s->ratio, src_strerror(e));
        s->len += (size_t)d.output_frames_gen;
        d.data_in += d.input_frames_used;
        d.input_frames -= d.input_frames_used;
        /* all input taken; at the end, until the tail is out */
        if (d.input_frames == 0 && (!last || d.output_frames_gen == 0)) return WN_OK;
        if (d.input_frames_used == 0 && d.output_frames_gen == 0)
            return wn__err(err, WN_ERR_AUDIO, "%s: the resampler made no progress", s->path);
    }
}

int wn_audio_read(const char *path, int rate, float **out, size_t *n,
                  wn_audio_info *info, wn_error *err)
{
    if (out) *out = NULL;
    if (n) *n = 0;
    if (!path || !out || !n)
        return wn__err(err, WN_ERR_ARG, "wn_audio_read: NULL argument");
    if (rate < 0 || rate > MAX_RATE)
        return wn__err(err, WN_ERR_ARG, "%s: invalid sample rate %d Hz", path, rate);

    int64_t fsize = 0;
    int fd = strcmp(path, "-") ? open_regular(path, &fsize, err) : open_stdin(&fsize, err);
    if (fd < 0) return fd;
    const int from_stdin = !strcmp(path, "-");
    if (from_stdin) path = "stdin"; /* as messages name it */

    int raw = ends_with_raw(path);
    if (fsize == 0 && !raw) { /* said plainly, not as libsndfile's "Format not recognised" */
        close(fd);
        return from_stdin ? wn__err(err, WN_ERR_FORMAT, "stdin: empty (stdin is read once: "
                                    "give '-' as one input only)")
                          : wn__err(err, WN_ERR_FORMAT, "%s: an empty file (0 bytes), not audio",
                                    path);
    }
    int rc = raw ? WN_OK : claim_check(fd, fsize, path, err);
    if (rc == WN_OK && !raw && atomic_load(&sandbox))
        rc = probe_header(fd, fsize, path, err);
    if (rc != WN_OK) {
        close(fd);
        return rc;
    }
    SF_INFO si;
    memset(&si, 0, sizeof si);
    if (raw) {
        si.format = SF_FORMAT_RAW | SF_FORMAT_PCM_16 | SF_ENDIAN_LITTLE;
        si.channels = 1;
        si.samplerate = rate ? rate : RAW_DEFAULT_RATE;
    }
    /* close_desc = 0: we close fd ourselves on every path */
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, &si, 0);
    if (!sf) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: not a readable audio file (%s)", path,
                     sf_strerror(NULL));
        close(fd);
        return rc;
    }
    float *mono = NULL, *block = NULL;
    size_t len = 0; /* frames read */
    sink out_s = {NULL, 0, 0, NULL, 1.0, path};
    int ch = si.channels;
    int unknown_len = si.frames == SF_COUNT_MAX || si.frames < 0;
    if (ch < 1 || ch > 1024 || si.samplerate < 1 || si.samplerate > MAX_RATE) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: unusable header (%d channels, %d Hz)", path,
                     ch, si.samplerate);
        goto done;
    }
    if (!unknown_len && si.frames > MAX_FRAMES) {
        rc = wn__err(err, WN_ERR_AUDIO, "%s: too long: %lld frames (the limit is 2^31)",
                     path, (long long)si.frames);
        goto done;
    }
    int bps = bytes_per_sample(si.format);
    int64_t size_bound = bps ? fsize / ((int64_t)bps * ch) : fsize;
    if (!unknown_len && bps && si.frames > size_bound) {
        rc = wn__err(err, WN_ERR_FORMAT,
                     "%s: header claims %lld frames but the file holds at most %lld",
                     path, (long long)si.frames, (long long)size_bound);
        goto done;
    }
    if (!unknown_len && si.frames == 0) {
        rc = wn__err(err, WN_ERR_AUDIO, "%s: no audio (0 frames)", path);
        goto done;
    }
    const int resampling = rate && rate != si.samplerate;
    if (resampling) {
        out_s.ratio = (double)rate / si.samplerate;
        if (!src_is_valid_ratio(out_s.ratio)) {
            rc = wn__err(err, WN_ERR_ARG, "%s: cannot resample from %d Hz to %d Hz "
                         "(ratio outside 1/256..256)", path, si.samplerate, rate);
            goto done;
        }
        int e = 0;
        out_s.src = src_new(SRC_SINC_MEDIUM_QUALITY, 1, &e);
        if (!out_s.src) {
            rc = wn__err(err, WN_ERR_NOMEM, "%s: cannot start the resampler: %s", path,
                         src_strerror(e));
            goto done;
        }
    }
    /* first guess of the output's length, bounded by what the file size
     * allows; grown by doubling as real samples arrive */
    int64_t guess = unknown_len ? size_bound : si.frames;
    if (guess > size_bound) guess = size_bound;
    double want = ceil((double)guess * out_s.ratio) + 16;
    if (!unknown_len && want > (double)MAX_FRAMES) {
        rc = wn__err(err, WN_ERR_AUDIO, "%s: too long: more than 2^31 frames at %d Hz", path,
                     rate);
        goto done;
    }
    guess = want > (double)MAX_FRAMES ? MAX_FRAMES : (int64_t)want;
    if (guess < READ_BLOCK) guess = READ_BLOCK;
    if (guess > MAX_FRAMES) guess = MAX_FRAMES;
    out_s.cap = (size_t)guess;
    out_s.y = malloc(out_s.cap * sizeof *out_s.y);
    mono = malloc((size_t)READ_BLOCK * sizeof *mono);
    block = malloc((size_t)READ_BLOCK * ch * sizeof *block);
    if (!out_s.y || !mono || !block) {
        rc = wn__err(err, WN_ERR_NOMEM, "%s: out of memory reading %zu frames", path,
                     out_s.cap);
        goto done;
    }
    for (;;) {
        sf_count_t got = sf_readf_float(sf, block, READ_BLOCK);
        if (got <= 0) break;
        if ((int64_t)(len + (size_t)got) > MAX_FRAMES) {
            rc = wn__err(err, WN_ERR_AUDIO, "%s: too long: more than 2^31 frames", path);
            goto done;
        }
        for (sf_count_t i = 0; i < got; i++) {
            const float *f = block + (size_t)i * ch;
            float s = 0;
            for (int c = 0; c < ch; c++) {
                if (!isfinite(f[c])) {
                    char where[32] = "";
                    if (ch > 1) snprintf(where, sizeof where, " (channel %d)", c);
                    rc = wn__err(err, WN_ERR_AUDIO, "%s: sample %zu%s is %s", path,
                                 len + (size_t)i, where,
                                 isnan(f[c]) ? "NaN" : "infinite");
                    goto done;
                }
                s += f[c];
            }
            /* far beyond full scale, or a channel sum that overflowed, turns
             * into inf/NaN in the resampler: clip it now (fminf and fmaxf
             * also map a NaN sum of +huge and -huge to a finite value) */
            mono[i] = fmaxf(-16.0f, fminf(16.0f, ch > 1 ? s / (float)ch : s));
        }
        len += (size_t)got;
        rc = sink_put(&out_s, mono, (size_t)got, 0, err);
        if (rc) goto done;
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR) {
        rc = wn__err(err, WN_ERR_IO, "%s: read failed after %zu frames: %s", path, len,
                     sf_strerror(sf));
        goto done;
    }
    if (len == 0) {
        rc = wn__err(err, WN_ERR_AUDIO, "%s: no audio (0 frames)", path);
        goto done;
    }
    /* libsndfile's counts are exact except for MPEG, where it estimates */
    if (!unknown_len && (int64_t)len < si.frames &&
        (si.format & SF_FORMAT_TYPEMASK) != SF_FORMAT_MPEG) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: truncated: header claims %lld frames, "
                     "only %zu could be read", path, (long long)si.frames, len);
        goto done;
    }
    if (resampling) {
        rc = sink_put(&out_s, mono, 0, 1, err); /* the resampler's tail */
        if (rc) goto done;
        if (out_s.len == 0) {
            rc = wn__err(err, WN_ERR_AUDIO, "%s: no samples left after resampling to %d Hz",
                         path, rate);
            goto done;
        }
    }
    if (info) {
        info->file_rate = si.samplerate;
        info->file_channels = ch;
        info->file_frames = (int64_t)len;
        info->resampled = resampling;
        info->mixed = ch > 1;
    }
    if (out_s.len < out_s.cap) {
        float *shrunk = realloc(out_s.y, out_s.len * sizeof *shrunk);
        if (shrunk) out_s.y = shrunk;
    }
    /* float files may exceed full scale, and resampling overshoots */
    for (size_t i = 0; i < out_s.len; i++)
        out_s.y[i] = out_s.y[i] > 1.0f ? 1.0f : out_s.y[i] < -1.0f ? -1.0f : out_s.y[i];
    *out = out_s.y;
    *n = out_s.len;
    out_s.y = NULL;
    rc = WN_OK;
done:
    free(block);
    free(mono);
    free(out_s.y);
    if (out_s.src) src_delete(out_s.src);
    sf_close(sf);
    close(fd);
    return rc;
}

int wn_audio_read_codes(const char *path, int rate, int bins, int **codes, size_t *n,
                        wn_audio_info *info, wn_error *err)
{
    if (codes) *codes = NULL;
    if (n) *n = 0;
    if (!codes || !n) return wn__err(err, WN_ERR_ARG, "wn_audio_read_codes: NULL argument");
    if (bins < 2 || bins > 65536)
        return wn__err(err, WN_ERR_ARG, "mu-law bins must be 2..65536, got %d", bins);
    float *x = NULL;
    size_t len = 0;
    int rc = wn_audio_read(path, rate, &x, &len, info, err);
    if (rc != WN_OK) return rc;
    /* each code over its own sample, in place: an hour at 8 kHz is then
     * 115 MB, not twice that (memcpy stores an int, so the block holds ints
     * from here on, as C's effective types require) */
    _Static_assert(sizeof(int) == sizeof(float), "codes are stored over the samples");
    for (size_t i = 0; i < len; i++) {
        int c = wn_mulaw_encode(x[i], bins);
        memcpy(&x[i], &c, sizeof c);
    }
    *codes = (int *)(void *)x;
    *n = len;
    return WN_OK;
}

/* ------------------------------------------------------------ memory files */

/* A growable in-memory file for libsndfile's virtual I/O: the WAV for stdout
 * is assembled here (a pipe cannot seek back to fix the header), and so is
 * the 16-bit round-trip probe at open. */
typedef struct membuf {
    unsigned char *data;
    sf_count_t len, cap, pos;
    int nomem;
} membuf;

static sf_count_t mb_len(void *u) { return ((membuf *)u)->len; }
static sf_count_t mb_tell(void *u) { return ((membuf *)u)->pos; }

static sf_count_t mb_seek(sf_count_t off, int whence, void *u)
{
    membuf *m = u;
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->pos + off : m->len + off;
    if (p < 0) return -1;
    m->pos = p;
    return p;
}

static sf_count_t mb_read(void *ptr, sf_count_t count, void *u)
{
    membuf *m = u;
    if (count <= 0 || m->pos >= m->len) return 0;
    if (count > m->len - m->pos) count = m->len - m->pos;
    memcpy(ptr, m->data + m->pos, (size_t)count);
    m->pos += count;
    return count;
}

static sf_count_t mb_write(const void *ptr, sf_count_t count, void *u)
{
    membuf *m = u;
    if (count <= 0) return 0;
    sf_count_t end = m->pos + count;
    if (end > m->cap) {
        sf_count_t ncap = m->cap ? m->cap : 65536;
        while (ncap < end) ncap *= 2;
        if ((uint64_t)ncap > SIZE_MAX) {
            m->nomem = 1;
            return 0;
        }
        unsigned char *d = realloc(m->data, (size_t)ncap);
        if (!d) {
            m->nomem = 1;
            return 0;
        }
        m->data = d;
        m->cap = ncap;
    }
    if (m->pos > m->len) memset(m->data + m->len, 0, (size_t)(m->pos - m->len));
    memcpy(m->data + m->pos, ptr, (size_t)count);
    m->pos = end;
    if (end > m->len) m->len = end;
    return count;
}

static SF_VIRTUAL_IO mb_io = {mb_len, mb_seek, mb_read, mb_write, mb_tell};

/* ------------------------------------------------------------ writing */

#define WAV_CHUNK 4096          /* frames converted per libsndfile call */
#define WAV_MAX_BYTES 0xFFFFFF00u /* RIFF sizes are 32-bit */

struct wn_wav {
    SNDFILE *sf;
    int fd;              /* the temporary file, or -1 for stdout */
    int to_stdout;
    int pcm16;           /* 1: 16-bit PCM, 0: 32-bit float */
    int bins;
    int failed;          /* a write failed: only abort/close remain */
    int64_t frames;
    float *lut;          /* decoded value of every code (bins) */
    short *lut16;        /* its 16-bit quantisation (bins), if pcm16 */
    void *buf;           /* WAV_CHUNK shorts or floats, reused */
    membuf mem;          /* stdout only */
    char *path, *tmp;
};

static short quant16(float x)
{
    /* x * 32768 matches libsndfile's float read of 16-bit PCM (s / 32768),
     * so the read-back is exactly x rounded to the nearest step */
    long v = lrintf(x * 32768.0f);
    return (short)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/* Does every code survive decode -> 16 bits -> libsndfile float read ->
 * encode? Checked through libsndfile itself (an in-memory WAV), not with a
 * formula, so it follows the library's actual scaling. 1 yes, 0 no, <0 err */
static int pcm16_survives(const short *q, int bins, wn_error *err)
{
    membuf m;
    memset(&m, 0, sizeof m);
    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = 8000;
    si.channels = 1;
    si.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    int ok = -1;
    float *back = malloc((size_t)bins * sizeof *back);
    SNDFILE *sf = back ? sf_open_virtual(&mb_io, SFM_WRITE, &si, &m) : NULL;
    if (!sf) goto out;
    sf_count_t put = sf_write_short(sf, q, bins);
    sf_close(sf);
    if (put != bins || m.nomem) goto out;
    m.pos = 0;
    memset(&si, 0, sizeof si);
    sf = sf_open_virtual(&mb_io, SFM_READ, &si, &m);
    if (!sf) goto out;
    sf_count_t got = sf_readf_float(sf, back, bins);
    sf_close(sf);
    if (got != bins) goto out;
    ok = 1;
    for (int c = 0; c < bins; c++)
        if (wn_mulaw_encode(back[c], bins) != c) {
            ok = 0;
            break;
        }
out:
    free(back);
    free(m.data);
    if (ok < 0) return wn__err(err, WN_ERR_NOMEM, "cannot check 16-bit WAV round trip "
                               "(out of memory)");
    return ok;
}

/* The container that `path` names by its extension (case ignored): the
 * libsndfile major format whose extension it is (wav, flac, aiff, au, caf,
 * w64, raw: headerless little-endian, as wn_audio_read reads .raw ...),
 * WAV for no extension or one libsndfile does not know, "-" included.
 * Samples are 16-bit PCM (pcm16) or 32-bit float, and must come back
 * exactly: a lossy format, or one without that sample type, is refused. */
static int out_format(const char *path, int pcm16, int *format, wn_error *err)
{
    const int sub = pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT;
    const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
    *format = SF_FORMAT_WAV | sub;
    if (!dot || (slash && dot < slash) || dot == path || dot[-1] == '/') return WN_OK;
    const char *ext = dot + 1;
    static const char *const lossy[] = {"ogg", "oga", "opus", "mp3", "m4a", "aac", "wma"};
    for (size_t i = 0; i < sizeof lossy / sizeof *lossy; i++)
        if (!strcasecmp(ext, lossy[i]))
            return wn__err(err, WN_ERR_ARG, "%s: .%s is a lossy format, which would change the "
                           "samples: write .wav, .flac, .aiff, .au, .caf or .raw", path, ext);
    if (!strcasecmp(ext, "raw")) {
        *format = SF_FORMAT_RAW | sub | SF_ENDIAN_LITTLE;
    } else {
        int count = 0;
        sf_command(NULL, SFC_GET_FORMAT_MAJOR_COUNT, &count, sizeof count);
        for (int i = 0; i < count; i++) {
            SF_FORMAT_INFO fi = {.format = i};
            if (sf_command(NULL, SFC_GET_FORMAT_MAJOR, &fi, sizeof fi) == 0 && fi.extension &&
                !strcasecmp(fi.extension, ext)) {
                *format = fi.format | sub;
                break;
            }
        }
    }
    SF_INFO si = {.samplerate = 8000, .channels = 1, .format = *format};
    if (!sf_format_check(&si))
        return wn__err(err, WN_ERR_ARG, "%s: .%s files cannot hold %s samples exactly: write "
                       ".wav, .flac, .aiff, .au, .caf or .raw", path, ext,
                       pcm16 ? "16-bit" : "float");
    return WN_OK;
}

static void wav_free(wn_wav *w)
{
    if (!w) return;
    free(w->lut);
    free(w->lut16);
    free(w->buf);
    free(w->mem.data);
    free(w->path);
    free(w->tmp);
    free(w);
}

wn_wav *wn_wav_open(const char *path, int rate, int bins, wn_error *err)
{
    if (!path || !*path) {
        wn__err(err, WN_ERR_ARG, "wn_wav_open: no output path");
        return NULL;
    }
    if (rate < 1 || rate > MAX_RATE) {
        wn__err(err, WN_ERR_ARG, "%s: invalid sample rate %d Hz", path, rate);
        return NULL;
    }
    if (bins < 2 || bins > 65536) {
        wn__err(err, WN_ERR_ARG, "%s: mu-law bins must be 2..65536, got %d", path, bins);
        return NULL;
    }
    wn_wav *w = calloc(1, sizeof *w);
    if (!w) goto nomem;
    w->fd = -1;
    w->bins = bins;
    w->to_stdout = strcmp(path, "-") == 0;
    w->path = strdup(path);
    w->lut = malloc((size_t)bins * sizeof *w->lut);
    w->lut16 = malloc((size_t)bins * sizeof *w->lut16);
    w->buf = malloc(WAV_CHUNK * sizeof(float));
    if (!w->path || !w->lut || !w->lut16 || !w->buf) goto nomem;
    for (int c = 0; c < bins; c++) {
        w->lut[c] = wn_mulaw_decode(c, bins);
        w->lut16[c] = quant16(w->lut[c]);
    }
    int s = pcm16_survives(w->lut16, bins, err);
    if (s < 0) {
        wav_free(w);
        return NULL;
    }
    w->pcm16 = s;
    if (!s) {
        free(w->lut16);
        w->lut16 = NULL;
    }

    SF_INFO si;
    memset(&si, 0, sizeof si);
    si.samplerate = rate;
    si.channels = 1;
    if (w->to_stdout) si.format = SF_FORMAT_WAV | (w->pcm16 ? SF_FORMAT_PCM_16 : SF_FORMAT_FLOAT);
    else if (out_format(path, w->pcm16, &si.format, err) != WN_OK) {
        wav_free(w);
        return NULL;
    }
    if (w->to_stdout) {
        w->sf = sf_open_virtual(&mb_io, SFM_WRITE, &si, &w->mem);
        if (!w->sf) {
            wn__err(err, w->mem.nomem ? WN_ERR_NOMEM : WN_ERR_IO,
                    "stdout: cannot start WAV: %s", sf_strerror(NULL));
            wav_free(w);
            return NULL;
        }
        return w;
    }
    char tmp[4096];
    w->fd = wn__tmpcreate(path, tmp, sizeof tmp, err);
    if (w->fd < 0) {
        w->fd = -1;
        wav_free(w);
        return NULL;
    }
    if (!(w->tmp = strdup(tmp))) {
        close(w->fd);
        unlink(tmp);
        w->fd = -1;
        goto nomem;
    }
    w->sf = sf_open_fd(w->fd, SFM_WRITE, &si, 0);
    if (!w->sf) {
        wn__err(err, WN_ERR_IO, "%s: cannot start WAV: %s", path, sf_strerror(NULL));
        close(w->fd);
        remove(w->tmp);
        wav_free(w);
        return NULL;
    }
    return w;
nomem:
    wn__err(err, WN_ERR_NOMEM, "%s: out of memory opening WAV writer", path);
    wav_free(w);
    return NULL;
}

static int wav_fail(wn_wav *w, wn_error *err, const char *what)
{
    w->failed = 1;
    if (w->to_stdout && w->mem.nomem)
        return wn__err(err, WN_ERR_NOMEM, "stdout: out of memory buffering the WAV");
    return wn__err(err, WN_ERR_IO, "%s: %s failed: %s", w->to_stdout ? "stdout" : w->path,
                   what, sf_strerror(w->sf));
}

int wn_wav_write_codes(wn_wav *w, const int *codes, size_t n, wn_error *err)
{
    if (!w || (!codes && n)) return wn__err(err, WN_ERR_ARG, "wn_wav_write_codes: NULL argument");
    if (w->failed)
        return wn__err(err, WN_ERR_IO, "%s: an earlier write failed", w->path);
    for (size_t i = 0; i < n; i++)
        if (codes[i] < 0 || codes[i] >= w->bins)
            return wn__err(err, WN_ERR_ARG, "%s: code %d at index %zu is outside 0..%d",
                           w->path, codes[i], i, w->bins - 1);
    uint64_t bpf = w->pcm16 ? 2 : 4;
    if (((uint64_t)w->frames + n) * bpf > WAV_MAX_BYTES)
        return wn__err(err, WN_ERR_RANGE, "%s: a WAV file holds at most 4 GiB of audio "
                       "(%llu frames)", w->path, (unsigned long long)(WAV_MAX_BYTES / bpf));
    for (size_t done = 0; done < n;) {
        size_t k = n - done < WAV_CHUNK ? n - done : WAV_CHUNK;
        sf_count_t put;
        if (w->pcm16) {
            short *b = w->buf;
            for (size_t i = 0; i < k; i++) b[i] = w->lut16[codes[done + i]];
            put = sf_write_short(w->sf, b, (sf_count_t)k);
        } else {
            float *b = w->buf;
            for (size_t i = 0; i < k; i++) b[i] = w->lut[codes[done + i]];
            put = sf_write_float(w->sf, b, (sf_count_t)k);
        }
        if (put != (sf_count_t)k) return wav_fail(w, err, "write");
        done += k;
        w->frames += (int64_t)k;
    }
    return WN_OK;
}

int wn_wav_flush(wn_wav *w, wn_error *err)
{
    if (!w) return wn__err(err, WN_ERR_ARG, "wn_wav_flush: NULL writer");
    if (w->failed)
        return wn__err(err, WN_ERR_IO, "%s: an earlier write failed", w->path);
    if (w->to_stdout) return WN_OK; /* the pipe gets the whole WAV at close */
    /* rewrite the header for the frames so far (the data are already in
     * the file: libsndfile writes through), then ask for durability */
    sf_command(w->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
    if (sf_error(w->sf) != SF_ERR_NO_ERROR) return wav_fail(w, err, "header update");
    sf_write_sync(w->sf);
    if (sf_error(w->sf) != SF_ERR_NO_ERROR) return wav_fail(w, err, "sync");
    return WN_OK;
}

int wn_wav_close(wn_wav *w, wn_error *err)
{
    if (!w) return wn__err(err, WN_ERR_ARG, "wn_wav_close: NULL writer");
    int rc = WN_OK;
    if (w->failed) {
        rc = wn__err(err, WN_ERR_IO, "%s: not written (an earlier write failed)", w->path);
        wn_wav_abort(w);
        return rc;
    }
    if (w->to_stdout) {
        int e = sf_close(w->sf); /* writes the final header into memory */
        w->sf = NULL;
        if (w->mem.nomem)
            rc = wn__err(err, WN_ERR_NOMEM, "stdout: out of memory buffering the WAV");
        else if (e != 0)
            rc = wn__err(err, WN_ERR_IO, "stdout: cannot finish WAV: %s", sf_error_number(e));
        else if (fwrite(w->mem.data, 1, (size_t)w->mem.len, stdout) != (size_t)w->mem.len ||
                 fflush(stdout) != 0)
            rc = wn__err(err, WN_ERR_IO, "stdout: write failed: %s", strerror(errno));
        wav_free(w);
        return rc;
    }
    sf_command(w->sf, SFC_UPDATE_HEADER_NOW, NULL, 0);
    if (sf_error(w->sf) != SF_ERR_NO_ERROR) {
        rc = wn__err(err, WN_ERR_IO, "%s: cannot finish WAV: %s", w->path, sf_strerror(w->sf));
        wn_wav_abort(w);
        return rc;
    }
    int e = sf_close(w->sf); /* the descriptor stays ours (sf_open_fd's close_desc 0) */
    w->sf = NULL;
    if (e != 0) {
        rc = wn__err(err, WN_ERR_IO, "%s: cannot finish WAV: %s", w->path, sf_error_number(e));
        close(w->fd);
        unlink(w->tmp);
    } else {
        rc = wn__commit_fd(w->fd, w->tmp, w->path, err); /* removes tmp on failure */
    }
    w->fd = -1;
    wav_free(w);
    return rc;
}

void wn_wav_abort(wn_wav *w)
{
    if (!w) return;
    if (w->sf) sf_close(w->sf);
    if (w->fd >= 0) close(w->fd);
    if (w->tmp) remove(w->tmp);
    wav_free(w);
}
