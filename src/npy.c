/* npy.c - NumPy .npy files of 2-D float32 features (frames x bands), the
 * form TTS front ends hand log-mels to a vocoder in.
 *
 * The reader takes files from anyone: every length is checked against the
 * bytes actually there before anything is allocated for it, the header's
 * Python dict is parsed by hand (a small grammar, no eval), and the data
 * are read into a buffer that grows with what arrives, so a header that
 * claims terabytes costs nothing. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC "\x93NUMPY"
#define MAX_HEADER (64 << 10)
#define ALIGN 64 /* numpy's ARRAY_ALIGN: data start at a multiple of it */

/* ---------------------------------------------------------------- writing */

/* The header numpy 1.24 writes for a C-order float32 (rows, cols) array,
 * byte for byte: sorted keys, a trailing ", ", room for the first axis to
 * grow to 21 digits, then spaces and '\n' up to the alignment. */
static size_t header_bytes(char *h, size_t rows, size_t cols)
{
    char dict[128];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }", rows,
                     cols);
    char digits[32];
    int d = snprintf(digits, sizeof digits, "%zu", rows);
    size_t len = (size_t)n + (size_t)(21 - d);       /* growth room */
    size_t hlen = len + 1;                            /* and the '\n' */
    size_t pad = ALIGN - (10 + hlen) % ALIGN;         /* numpy pads 64 when aligned */
    memcpy(h, MAGIC, 6);
    h[6] = 1, h[7] = 0;
    size_t total = hlen + pad;
    h[8] = (char)(total & 0xff), h[9] = (char)(total >> 8);
    memcpy(h + 10, dict, (size_t)n);
    memset(h + 10 + n, ' ', total - 1 - (size_t)n);
    h[10 + total - 1] = '\n';
    return 10 + total;
}

static int write_all(FILE *f, const char *name, const float *data, size_t rows, size_t cols,
                     wn_error *err)
{
    char h[256];
    size_t hn = header_bytes(h, rows, cols);
    if (fwrite(h, 1, hn, f) != hn)
        return wn__err(err, WN_ERR_IO, "%s: write failed: %s", name, strerror(errno));
    /* little-endian whatever the host, a block at a time */
    unsigned char buf[1 << 14];
    size_t n = rows * cols, k = 0;
    while (k < n) {
        size_t m = n - k < sizeof buf / 4 ? n - k : sizeof buf / 4;
        for (size_t i = 0; i < m; i++) {
            uint32_t u;
            memcpy(&u, &data[k + i], 4);
            buf[4 * i] = (unsigned char)u, buf[4 * i + 1] = (unsigned char)(u >> 8);
            buf[4 * i + 2] = (unsigned char)(u >> 16), buf[4 * i + 3] = (unsigned char)(u >> 24);
        }
        if (fwrite(buf, 4, m, f) != m)
            return wn__err(err, WN_ERR_IO, "%s: write failed: %s", name, strerror(errno));
        k += m;
    }
    return WN_OK;
}

int wn_npy_write(const char *path, const float *data, size_t rows, size_t cols, wn_error *err)
{
    if (!path || !data) return wn__err(err, WN_ERR_ARG, "wn_npy_write: NULL argument");
    if (rows == 0 || cols == 0)
        return wn__err(err, WN_ERR_ARG, "%s: shape (%zu, %zu): no %s", path, rows, cols,
                       rows ? "columns" : "frames");
    if (cols > WN_NPY_MAX_ELEMENTS / rows)
        return wn__err(err, WN_ERR_RANGE, "%s: shape (%zu, %zu): more than 2^31 elements",
                       path, rows, cols);
    /* what wn_npy_read would refuse is never written */
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite(data[i]))
            return wn__err(err, WN_ERR_NONFINITE, "%s: row %zu, column %zu is %s", path,
                           i / cols, i % cols, isnan(data[i]) ? "NaN" : "infinite");
    if (!strcmp(path, "-")) {
        int rc = write_all(stdout, "stdout", data, rows, cols, err);
        if (rc == WN_OK && fflush(stdout) != 0)
            rc = wn__err(err, WN_ERR_IO, "stdout: write failed: %s", strerror(errno));
        return rc;
    }
    char tmp[4200];
    FILE *f = wn__tmpopen(path, tmp, sizeof tmp, err);
    if (!f) return err ? err->code : WN_ERR_IO;
    int rc = write_all(f, path, data, rows, cols, err);
    if (rc != WN_OK) {
        wn__abort_file(f, tmp);
        return rc;
    }
    return wn__commit_file(f, tmp, path, err);
}

/* ---------------------------------------------------------------- reading */

typedef struct src {
    int fd, own;       /* own: ours to close (not stdin) */
    const char *name;  /* in messages: the path, or "stdin" */
    int64_t size;      /* bytes in the file, -1 for a pipe */
} src;

/* Read up to n bytes; returns the count read (short only at the end). */
static int read_upto(src *s, void *buf, size_t n, size_t *got, wn_error *err)
{
    size_t k = 0;
    *got = 0;
    while (k < n) {
        ssize_t r = read(s->fd, (char *)buf + k, n - k);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return wn__err(err, WN_ERR_IO, "%s: %s", s->name, strerror(errno));
        if (r == 0) break;
        k += (size_t)r;
    }
    *got = k;
    return WN_OK;
}

/* Only a regular file, never blocking on a FIFO, checked on the opened
 * descriptor (the file checked is the file read); "-" is stdin, any kind. */
static int open_src(const char *path, src *s, wn_error *err)
{
    struct stat st;
    if (!strcmp(path, "-")) {
        s->fd = STDIN_FILENO, s->own = 0, s->name = "stdin";
        s->size = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode) ? (int64_t)st.st_size -
                  (int64_t)lseek(s->fd, 0, SEEK_CUR) : -1;
        return WN_OK;
    }
    s->name = path;
    if (stat(path, &st) != 0) return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return wn__err(err, WN_ERR_IO, "%s: is a folder, not a .npy file", path);
    if (!S_ISREG(st.st_mode))
        return wn__err(err, WN_ERR_IO, "%s: not a regular file (FIFO, device or socket)", path);
    s->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC), s->own = 1;
    if (s->fd < 0) return wn__err(err, WN_ERR_IO, "%s: %s", path, strerror(errno));
    if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(s->fd);
        return wn__err(err, WN_ERR_IO, "%s: not a regular file", path);
    }
    int fl = fcntl(s->fd, F_GETFL);
    if (fl >= 0) fcntl(s->fd, F_SETFL, fl & ~O_NONBLOCK);
    s->size = (int64_t)st.st_size;
    return WN_OK;
}

/* The header's dict: a Python literal as numpy's repr writes it, parsed by
 * a small grammar (keys in any order, either quote, any whitespace, an
 * optional trailing comma, Python 2's "3L"). */
typedef struct hdr {
    const char *p, *end;
    char descr[16];
    int fortran, ndim;
    uint64_t shape[3]; /* ndim up to 3 kept: enough to name what is refused */
    int too_many_dims;
} hdr;

static void ws(hdr *h)
{
    while (h->p < h->end && (*h->p == ' ' || *h->p == '\t' || *h->p == '\n' || *h->p == '\r'))
        h->p++;
}

static int eat(hdr *h, char c)
{
    ws(h);
    if (h->p < h->end && *h->p == c) {
        h->p++;
        return 1;
    }
    return 0;
}

/* a quoted string of printable ASCII into out (size n); 0 if not one */
static int string(hdr *h, char *out, size_t n)
{
    ws(h);
    if (h->p >= h->end || (*h->p != '\'' && *h->p != '"')) return 0;
    char q = *h->p++;
    size_t k = 0;
    while (h->p < h->end && *h->p != q) {
        unsigned char c = (unsigned char)*h->p++;
        if (c < 0x20 || c > 0x7e || c == '\\' || k + 1 >= n) return 0;
        out[k++] = (char)c;
    }
    if (h->p >= h->end) return 0;
    h->p++;
    out[k] = 0;
    return 1;
}

/* a decimal whole number below 2^63; 0 if not one (or larger) */
static int integer(hdr *h, uint64_t *v)
{
    ws(h);
    const char *s = h->p;
    uint64_t x = 0;
    while (h->p < h->end && *h->p >= '0' && *h->p <= '9') {
        if (x > (UINT64_C(1) << 62) / 5) return 0; /* x*10 would pass 2^63 */
        x = x * 10 + (uint64_t)(*h->p++ - '0');
    }
    if (h->p == s || x >> 63) return 0;
    if (h->p < h->end && *h->p == 'L') h->p++;
    *v = x;
    return 1;
}

static int shape(hdr *h)
{
    if (!eat(h, '(')) return 0;
    h->ndim = 0;
    if (eat(h, ')')) return 1;
    for (;;) {
        uint64_t v;
        if (!integer(h, &v)) return 0;
        if (h->ndim < 3) h->shape[h->ndim] = v;
        else h->too_many_dims = 1;
        if (h->ndim < 64) h->ndim++;
        if (eat(h, ')')) return h->ndim > 1; /* "(3)" is an int, not a tuple */
        if (!eat(h, ',')) return 0;
        if (eat(h, ')')) return 1;
    }
}

/* 1 if the dict parsed with each of the three keys exactly once */
static int dict(hdr *h)
{
    int seen = 0;
    if (!eat(h, '{')) return 0;
    for (;;) {
        if (eat(h, '}')) break;
        char key[16];
        if (!string(h, key, sizeof key) || !eat(h, ':')) return 0;
        int bit;
        ws(h);
        if (!strcmp(key, "descr")) {
            bit = 1;
            if (!string(h, h->descr, sizeof h->descr)) return 0;
        } else if (!strcmp(key, "fortran_order")) {
            bit = 2;
            if ((size_t)(h->end - h->p) >= 4 && !memcmp(h->p, "True", 4))
                h->fortran = 1, h->p += 4;
            else if ((size_t)(h->end - h->p) >= 5 && !memcmp(h->p, "False", 5))
                h->fortran = 0, h->p += 5;
            else return 0;
        } else if (!strcmp(key, "shape")) {
            bit = 4;
            if (!shape(h)) return 0;
        } else {
            return 0;
        }
        if (seen & bit) return 0;
        seen |= bit;
        if (eat(h, '}')) break;
        if (!eat(h, ',')) return 0;
    }
    ws(h);
    return seen == 7 && h->p == h->end;
}

int wn_npy_read(const char *path, float **data, size_t *rows, size_t *cols, wn_error *err)
{
    if (!path || !data || !rows || !cols)
        return wn__err(err, WN_ERR_ARG, "wn_npy_read: NULL argument");
    *data = NULL, *rows = 0, *cols = 0;
    src s = {.fd = -1, .own = 0, .name = path, .size = -1};
    int rc = open_src(path, &s, err);
    if (rc != WN_OK) return rc;
    const char *name = s.name;
    unsigned char pre[12];
    char *text = NULL;
    unsigned char *raw = NULL;
    size_t got = 0;
    if ((rc = read_upto(&s, pre, 10, &got, err)) != WN_OK) goto done;
    if (got < 6 || memcmp(pre, MAGIC, 6)) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: not a .npy file (no \\x93NUMPY magic)", name);
        goto done;
    }
    if (got < 10) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: truncated header (%zu bytes)", name, got);
        goto done;
    }
    if (pre[6] < 1 || pre[6] > 3 || pre[7] != 0) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: .npy format version %d.%d (1.0, 2.0 or 3.0 read)",
                     name, pre[6], pre[7]);
        goto done;
    }
    size_t lenbytes = pre[6] == 1 ? 2 : 4, prefix = 8 + lenbytes;
    if (prefix > 10 && (rc = read_upto(&s, pre + 10, 2, &got, err)) != WN_OK) goto done;
    if (prefix > 10 && got < 2) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: truncated header (%zu bytes)", name, 10 + got);
        goto done;
    }
    uint64_t hlen = pre[8] | (uint64_t)pre[9] << 8;
    if (lenbytes == 4) hlen |= (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24;
    if (hlen > MAX_HEADER) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: a header of %llu bytes (at most 64 KiB read)",
                     name, (unsigned long long)hlen);
        goto done;
    }
    if (s.size >= 0 && (uint64_t)s.size < prefix + hlen) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: truncated: the header needs %llu bytes, the file "
                     "has %lld", name, (unsigned long long)(prefix + hlen), (long long)s.size);
        goto done;
    }
    text = malloc(hlen + 1);
    if (!text) {
        rc = wn__err(err, WN_ERR_NOMEM, "%s: out of memory", name);
        goto done;
    }
    if ((rc = read_upto(&s, text, hlen, &got, err)) != WN_OK) goto done;
    if (got < hlen) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: truncated: the header needs %llu bytes, the "
                     "file has %llu", name, (unsigned long long)(prefix + hlen),
                     (unsigned long long)(prefix + got));
        goto done;
    }
    hdr h = {.p = text, .end = text + hlen};
    if (!dict(&h)) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: the header is not a dict of 'descr', "
                     "'fortran_order' and 'shape' as numpy writes it", name);
        goto done;
    }
    size_t esize = !strcmp(h.descr, "<f4") ? 4 : !strcmp(h.descr, "<f8") ? 8 : 0;
    if (!esize) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: dtype '%s': only little-endian float32 ('<f4') "
                     "or float64 ('<f8') is read", name, h.descr);
        goto done;
    }
    if (h.ndim != 2) {
        char sh[96] = "()";
        if (h.ndim == 1) snprintf(sh, sizeof sh, "(%llu,)", (unsigned long long)h.shape[0]);
        else if (h.ndim >= 3)
            snprintf(sh, sizeof sh, "(%llu, %llu, %llu%s)", (unsigned long long)h.shape[0],
                     (unsigned long long)h.shape[1], (unsigned long long)h.shape[2],
                     h.too_many_dims ? ", ..." : "");
        rc = wn__err(err, WN_ERR_FORMAT, "%s: shape %s: features are 2-D (frames, bands)",
                     name, sh);
        goto done;
    }
    uint64_t r = h.shape[0], c = h.shape[1];
    if (h.fortran) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: Fortran order (column-major): save it in C order "
                     "(numpy.ascontiguousarray)", name);
        goto done;
    }
    if (r == 0 || c == 0) {
        rc = wn__err(err, WN_ERR_FORMAT, "%s: shape (%llu, %llu): no %s", name,
                     (unsigned long long)r, (unsigned long long)c, r ? "bands" : "frames");
        goto done;
    }
    if (c > WN_NPY_MAX_ELEMENTS / r) {
        rc = wn__err(err, WN_ERR_RANGE, "%s: shape (%llu, %llu): more than 2^31 elements", name,
                     (unsigned long long)r, (unsigned long long)c);
        goto done;
    }
    if (r * c * esize > SIZE_MAX) { /* a 32-bit host */
        rc = wn__err(err, WN_ERR_NOMEM, "%s: too large for this machine", name);
        goto done;
    }
    size_t n = (size_t)(r * c), bytes = n * esize;
    if (s.size >= 0 && (uint64_t)s.size != prefix + hlen + bytes) {
        uint64_t have = (uint64_t)s.size - prefix - hlen;
        rc = wn__err(err, WN_ERR_FORMAT, have < bytes ?
                     "%s: truncated: shape (%llu, %llu) needs %zu bytes of data, the file has %llu"
                     : "%s: shape (%llu, %llu) needs %zu bytes of data, the file has %llu: "
                     "trailing bytes", name, (unsigned long long)r, (unsigned long long)c,
                     bytes, (unsigned long long)have);
        goto done;
    }
    /* from a pipe the size is unknown: grow with what arrives */
    size_t cap = s.size >= 0 ? bytes : (bytes < (1u << 20) ? bytes : (1u << 20)), have = 0;
    raw = malloc(cap);
    if (!raw) {
        rc = wn__err(err, WN_ERR_NOMEM, "%s: out of memory for %zu bytes", name, cap);
        goto done;
    }
    for (;;) {
        if ((rc = read_upto(&s, raw + have, cap - have, &got, err)) != WN_OK) goto done;
        have += got;
        if (have < cap || cap == bytes) break;
        size_t ncap = cap > bytes / 2 ? bytes : 2 * cap;
        unsigned char *nr = realloc(raw, ncap);
        if (!nr) {
            rc = wn__err(err, WN_ERR_NOMEM, "%s: out of memory for %zu bytes", name, ncap);
            goto done;
        }
        raw = nr, cap = ncap;
    }
    unsigned char extra;
    if (have == bytes && (rc = read_upto(&s, &extra, 1, &got, err)) != WN_OK) goto done;
    if (have < bytes || got) {
        rc = wn__err(err, WN_ERR_FORMAT, have < bytes ?
                     "%s: truncated: shape (%llu, %llu) needs %zu bytes of data, the file has %zu"
                     : "%s: shape (%llu, %llu) needs %zu bytes of data, the file has more: "
                     "trailing bytes", name, (unsigned long long)r, (unsigned long long)c,
                     bytes, have);
        goto done;
    }
    /* decoded in place (float i's 4 bytes end at or before value i's):
     * an hour of features is in memory once, not twice */
    float *out = (float *)(void *)raw;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = raw + i * esize;
        uint64_t u = 0;
        for (size_t k = 0; k < esize; k++) u |= (uint64_t)b[k] << (8 * k);
        float f;
        if (esize == 4) {
            uint32_t u32 = (uint32_t)u;
            memcpy(&f, &u32, 4);
        } else {
            double d;
            memcpy(&d, &u, 8);
            f = (float)d;
            if (isfinite(d) && !isfinite(f)) {
                rc = wn__err(err, WN_ERR_RANGE, "%s: row %zu, column %zu is %g, beyond float32",
                             name, i / (size_t)c, i % (size_t)c, d);
                goto done;
            }
        }
        if (!isfinite(f)) {
            rc = wn__err(err, WN_ERR_NONFINITE, "%s: row %zu, column %zu is %s", name,
                         i / (size_t)c, i % (size_t)c, isnan(f) ? "NaN" : "infinite");
            goto done;
        }
        out[i] = f;
    }
    if (esize != sizeof(float)) { /* float64: give back the second half */
        float *shrunk = realloc(raw, n * sizeof(float) + !n);
        if (shrunk) out = shrunk;
    }
    raw = NULL;
    *data = out;
    *rows = (size_t)r, *cols = (size_t)c;
    rc = WN_OK;
done:
    free(text);
    free(raw);
    if (s.own) close(s.fd);
    return rc;
}
