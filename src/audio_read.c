/* audio_read.c - reading audio files: libsndfile (any format, or headerless
 * 16-bit LE .raw), mono mixdown, libsamplerate resampling, and "-" (stdin,
 * copied whole into an unlinked temporary file first).
 *
 * Input files are checked before they are trusted: only regular files are
 * opened (a FIFO would block, a device may never end), the header goes
 * through audio_header.c's checks before libsndfile parses it here, and
 * memory grows with the samples actually decoded, never with what a header
 * claims. */
#define _POSIX_C_SOURCE 200809L
#include "audio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_FRAMES ((int64_t)1 << 31) /* longest input we accept */
#define READ_BLOCK 4096               /* frames per sf_readf_float call */
#define RAW_DEFAULT_RATE 8000

static int ends_with_raw(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcasecmp(path + n - 4, ".raw") == 0;
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

/* above > 0: the training data's reading (wn__audio_read_hot); 0: as
 * wn_audio_read reads, every sample clipped to full scale. */
static int read_audio(const char *path, int rate, float above, float **out, size_t *n,
                      float *gain, wn_audio_info *info, wn_error *err)
{
    if (gain) *gain = 1;
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
    int rc = raw ? WN_OK : wn__audio_claim_check(fd, fsize, path, err);
    if (rc == WN_OK && !raw && wn_audio_sandbox())
        rc = wn__audio_probe_header(fd, fsize, path, err);
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
    /* a hot file's samples kept up to 60 dB over full scale, to be scaled */
    const float bound = above > 0 ? 1024.0f : 16.0f;
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
            mono[i] = fmaxf(-bound, fminf(bound, ch > 1 ? s / (float)ch : s));
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
    /* a file decoded above `above` times full scale (a float file: every
     * sample there) scaled to peak 1; below, what passes full scale is a
     * clipped source's overshoot, clipped as for every reader */
    float peak = 0;
    for (size_t i = 0; above > 0 && i < out_s.len; i++) peak = fmaxf(peak, fabsf(out_s.y[i]));
    if (above > 0 && peak > above) {
        const float g = 1 / peak;
        for (size_t i = 0; i < out_s.len; i++) out_s.y[i] *= g;
        if (gain) *gain = g;
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

int wn_audio_read(const char *path, int rate, float **out, size_t *n, wn_audio_info *info,
                  wn_error *err)
{
    return read_audio(path, rate, 0, out, n, NULL, info, err);
}

int wn__audio_read_hot(const char *path, int rate, float above, float **out, size_t *n,
                       float *gain, wn_audio_info *info, wn_error *err)
{
    return read_audio(path, rate, above, out, n, gain, info, err);
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
    *codes = wn__encode_in_place(x, len, bins);
    *n = len;
    return WN_OK;
}

int *wn__encode_in_place(float *x, size_t n, int bins)
{
    /* each code over its own sample: an hour at 8 kHz is then 115 MB, not
     * twice that (memcpy stores an int, so the block holds ints from here
     * on, as C's effective types require) */
    _Static_assert(sizeof(int) == sizeof(float), "codes are stored over the samples");
    for (size_t i = 0; i < n; i++) {
        int c = wn_mulaw_encode(x[i], bins);
        memcpy(&x[i], &c, sizeof c);
    }
    return (int *)(void *)x;
}
