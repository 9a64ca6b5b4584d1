/* audio_write.c - the streamed writer used by generation (wn_wav_*):
 * temporary file + header update at every flush + rename at close, the
 * container named by the output's extension, and "-" assembled in memory
 * for stdout. Apart from reading, with which it shares only the rate limit
 * (audio.h): nothing here parses a file it did not write. */
#define _POSIX_C_SOURCE 200809L
#include "audio.h"

#include <errno.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

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
