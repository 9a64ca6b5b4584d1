/* test_npy.c - wn_npy_write and wn_npy_read against files numpy itself
 * wrote (tests/npy_reference.py, fixtures/npy_*.npy): what numpy writes is
 * read, what we write is numpy's bytes, what the reader must refuse it
 * refuses in one line naming why, and hostile headers allocate nothing. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* pattern(rows, cols) of npy_reference.py, element i */
static float pattern(size_t i)
{
    if (i == 0) return -0.0f;
    if (i == 1) return (float)1e-40;
    if (i == 2) return FLT_MAX;
    return (float)(((double)i - 7.0) / 3.0);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f);
    static unsigned char buf[1 << 22];
    *n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void spit(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(p, 1, n, f) == n && fclose(f) == 0);
}

static const char *fixture(const char *name)
{
    static char p[4][1024];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof p[k], "%s/tests/fixtures/%s", tu_srcdir(), name);
    return p[k];
}

/* A .npy file by hand: version major.0, header text (padded with spaces
 * and '\n' to 64 when pad), then ndata bytes. Returns its size. */
static size_t build(unsigned char *out, int major, const char *dict, int pad, const void *data,
                    size_t ndata)
{
    size_t pre = major == 1 ? 10 : 12, len = strlen(dict);
    size_t hlen = len + (pad ? 1 + (64 - (pre + len + 1) % 64) % 64 : 0);
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (unsigned char)major, out[7] = 0;
    for (size_t k = 0; k < pre - 8; k++) out[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(out + pre, dict, len);
    if (pad) {
        memset(out + pre + len, ' ', hlen - len);
        out[pre + hlen - 1] = '\n';
    }
    if (ndata) memcpy(out + pre + hlen, data, ndata);
    return pre + hlen + ndata;
}

static unsigned char file[1 << 22];

/* the reader on bytes: status, with the message in err */
static int read_bytes(const void *p, size_t n, float **d, size_t *r, size_t *c, wn_error *err)
{
    const char *path = tu_path("case.npy");
    spit(path, p, n);
    return wn_npy_read(path, d, r, c, err);
}

/* refused with `code` and a message containing needle; nothing returned */
static void refused(const char *what, const void *p, size_t n, int code, const char *needle)
{
    float *d = (float *)&d;
    size_t r = 9, c = 9;
    wn_error err = {0, ""};
    int rc = read_bytes(p, n, &d, &r, &c, &err);
    CHECKF(rc == code && strstr(err.message, needle) && !strchr(err.message, '\n'),
           "%s: %d '%s' (wanted %d, '%s')", what, rc, err.message, code, needle);
    CHECKF(!d && r == 0 && c == 0, "%s: outputs not cleared", what);
    fprintf(stderr, "  %-44s -> %s\n", what, err.message);
    free(d == (float *)&d ? NULL : d);
}

static void accepted(const char *what, const void *p, size_t n, size_t rows, size_t cols)
{
    float *d = NULL;
    size_t r = 0, c = 0;
    wn_error err = {0, ""};
    int rc = read_bytes(p, n, &d, &r, &c, &err);
    CHECKF(rc == WN_OK && r == rows && c == cols, "%s: %d '%s' (%zu, %zu)", what, rc,
           err.message, r, c);
    for (size_t i = 0; rc == WN_OK && i < r * c; i++)
        if (memcmp(&d[i], &(float){pattern(i)}, 4)) {
            CHECKF(0, "%s: element %zu is %g, not %g", what, i, d[i], pattern(i));
            break;
        }
    free(d);
}

static void pattern_data(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float f = pattern(i);
        uint32_t u;
        memcpy(&u, &f, 4);
        for (int k = 0; k < 4; k++) p[4 * i + k] = (unsigned char)(u >> (8 * k));
    }
}

static void fixtures(void)
{
    const struct { const char *name; int code; const char *needle; } fx[] = {
        {"npy_v1_f4.npy", WN_OK, NULL},
        {"npy_v2_f4.npy", WN_OK, NULL},
        {"npy_v3_f4.npy", WN_OK, NULL},
        {"npy_f8.npy", WN_OK, NULL},
        {"npy_fortran.npy", WN_ERR_FORMAT, "Fortran order"},
        {"npy_be_f4.npy", WN_ERR_FORMAT, "dtype '>f4'"},
        {"npy_i2.npy", WN_ERR_FORMAT, "dtype '<i2'"},
        {"npy_1d.npy", WN_ERR_FORMAT, "shape (35,)"},
        {"npy_3d.npy", WN_ERR_FORMAT, "shape (2, 3, 4)"},
        {"npy_0row.npy", WN_ERR_FORMAT, "shape (0, 80): no frames"},
    };
    for (size_t k = 0; k < sizeof fx / sizeof fx[0]; k++) {
        float *d = NULL;
        size_t r = 0, c = 0;
        wn_error err = {0, ""};
        int rc = wn_npy_read(fixture(fx[k].name), &d, &r, &c, &err);
        CHECKF(rc == fx[k].code && (!fx[k].needle || strstr(err.message, fx[k].needle)),
               "%s: %d '%s'", fx[k].name, rc, err.message);
        if (rc == WN_OK) {
            CHECKF(r == 7 && c == 5, "%s: (%zu, %zu)", fx[k].name, r, c);
            /* '<f8' is rounded to the nearest float32, as numpy's astype */
            for (size_t i = 0; i < r * c; i++)
                CHECKF(!memcmp(&d[i], &(float){pattern(i)}, 4), "%s[%zu] = %g", fx[k].name, i,
                       d[i]);
        } else {
            fprintf(stderr, "  %-44s -> %s\n", fx[k].name, err.message);
            CHECK(!d && r == 0 && c == 0);
        }
        free(d);
    }
}

static void round_trip(void)
{
    float x[35];
    for (size_t i = 0; i < 35; i++) x[i] = pattern(i);
    const char *keep = getenv("WN_NPY_KEEP"); /* for npy_reference.py OURS.npy */
    const char *path = keep && *keep ? keep : tu_path("ours.npy");
    wn_error err;
    REQUIRE_OK(wn_npy_write(path, x, 7, 5, &err), &err);
    /* numpy.save's own bytes (the fixture numpy wrote) */
    size_t n1, n2;
    unsigned char *a = slurp(path, &n1);
    static unsigned char ours[4096];
    memcpy(ours, a, n1 < sizeof ours ? n1 : sizeof ours);
    unsigned char *b = slurp(fixture("npy_v1_f4.npy"), &n2);
    CHECKF(n1 == n2 && !memcmp(ours, b, n1), "ours (%zu bytes) differ from numpy.save's (%zu)",
           n1, n2);
    float *d = NULL;
    size_t r, c;
    REQUIRE_OK(wn_npy_read(path, &d, &r, &c, &err), &err);
    CHECK(r == 7 && c == 5 && !memcmp(d, x, sizeof x));
    free(d);

    /* every row count: the data start at a multiple of 64, header ends '\n' */
    path = tu_path("rows.npy");
    size_t rows[] = {1, 9, 10, 99, 100, 12345, 1000000};
    for (size_t k = 0; k < sizeof rows / sizeof rows[0]; k++) {
        size_t cols = k == 6 ? 3 : 80, cnt = rows[k] * cols;
        float *y = malloc(cnt * sizeof *y);
        REQUIRE(y);
        uint64_t s = k + 1;
        for (size_t i = 0; i < cnt; i++) y[i] = (float)(wn__uniform_for_tests(&s) * 40 - 30);
        REQUIRE_OK(wn_npy_write(path, y, rows[k], cols, &err), &err);
        struct stat st;
        REQUIRE(stat(path, &st) == 0);
        size_t head = (size_t)st.st_size - cnt * 4;
        unsigned char *h = slurp(path, &n1);
        CHECKF(head % 64 == 0 && h[head - 1] == '\n', "(%zu, %zu): header of %zu bytes",
               rows[k], cols, head);
        REQUIRE_OK(wn_npy_read(path, &d, &r, &c, &err), &err);
        CHECK(r == rows[k] && c == cols && !memcmp(d, y, cnt * sizeof *y));
        free(d);
        free(y);
    }
}

/* a run with stdin or stdout redirected: a pipe fed by a child (pipe
 * true: a size the reader cannot know) or the file itself */
static int read_stdin(const void *p, size_t n, int pipe_it, float **d, size_t *r, size_t *c,
                      wn_error *err)
{
    int saved = dup(0), fd[2];
    REQUIRE(saved >= 0);
    pid_t pid = -1;
    if (pipe_it) {
        REQUIRE(pipe(fd) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(fd[0]);
            signal(SIGPIPE, SIG_DFL);
            for (size_t k = 0; k < n;) {
                ssize_t w = write(fd[1], (const char *)p + k, n - k);
                if (w <= 0) _exit(0);
                k += (size_t)w;
            }
            _exit(0);
        }
        close(fd[1]);
        dup2(fd[0], 0);
        close(fd[0]);
    } else {
        const char *path = tu_path("stdin.npy");
        spit(path, p, n);
        REQUIRE(freopen(path, "rb", stdin));
    }
    int rc = wn_npy_read("-", d, r, c, err);
    dup2(saved, 0);
    close(saved);
    clearerr(stdin);
    if (pid > 0) waitpid(pid, NULL, 0);
    return rc;
}

static void streams(void)
{
    /* a large file through a pipe: the buffer grows with what arrives */
    size_t rows = 5000, cols = 80, cnt = rows * cols;
    static unsigned char data[4 * 5000 * 80 + 1];
    pattern_data(data, cnt);
    char dict[128];
    snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%zu, %zu), }",
             rows, cols);
    size_t n = build(file, 1, dict, 1, data, 4 * cnt);
    for (int pipe_it = 0; pipe_it < 2; pipe_it++) {
        float *d = NULL;
        size_t r = 0, c = 0;
        wn_error err = {0, ""};
        int rc = read_stdin(file, n, pipe_it, &d, &r, &c, &err);
        CHECKF(rc == WN_OK && r == rows && c == cols, "stdin (%s): %s",
               pipe_it ? "pipe" : "file", err.message);
        for (size_t i = 0; rc == WN_OK && i < cnt; i++)
            if (memcmp(&d[i], &(float){pattern(i)}, 4)) {
                CHECKF(0, "stdin: element %zu", i);
                break;
            }
        free(d);
        d = NULL;
        rc = read_stdin(file, n - 1, pipe_it, &d, &r, &c, &err);
        CHECKF(rc == WN_ERR_FORMAT && strstr(err.message, "stdin: truncated") && !d,
               "stdin, a byte short: %s", err.message);
        fprintf(stderr, "  %-44s -> %s\n", pipe_it ? "pipe, a byte short" : "stdin a byte short",
                err.message);
        file[n] = 0;
        rc = read_stdin(file, n + 1, pipe_it, &d, &r, &c, &err);
        CHECKF(rc == WN_ERR_FORMAT && strstr(err.message, "trailing bytes") && !d,
               "stdin, a byte more: %s", err.message);
        fprintf(stderr, "  %-44s -> %s\n", pipe_it ? "pipe, a byte more" : "stdin a byte more",
                err.message);
        /* a header claiming 2^31 elements through a pipe of 100 bytes */
        size_t m = build(file + n + 8, 1,
                         "{'descr': '<f4', 'fortran_order': False, 'shape': (65536, 32768), }",
                         1, data, 36);
        rc = read_stdin(file + n + 8, m, pipe_it, &d, &r, &c, &err);
        CHECKF(rc == WN_ERR_FORMAT && strstr(err.message, "truncated") && !d,
               "stdin, 8 GiB claimed: %s", err.message);
    }

    /* stdout: the same bytes as a file */
    float x[35];
    for (size_t i = 0; i < 35; i++) x[i] = pattern(i);
    const char *path = tu_path("stdout.npy");
    fflush(stdout);
    int saved = dup(1);
    REQUIRE(saved >= 0 && freopen(path, "wb", stdout));
    wn_error err;
    int rc = wn_npy_write("-", x, 7, 5, &err);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    CHECKF(rc == WN_OK, "write to stdout: %s", err.message);
    size_t n1, n2;
    static unsigned char a[4096];
    unsigned char *p = slurp(path, &n1);
    memcpy(a, p, n1 < sizeof a ? n1 : sizeof a);
    p = slurp(fixture("npy_v1_f4.npy"), &n2);
    CHECK(n1 == n2 && !memcmp(a, p, n1));
}

static void hostile(void)
{
    static unsigned char data[4 * 35 + 8];
    pattern_data(data, 35);
    const char *ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5), }";
    size_t n = build(file, 1, ok, 1, data, 140);
    accepted("hand-built v1", file, n, 7, 5);

    /* headers as numpy may write them in other versions, and by hand */
    const char *fine[] = {
        "{'shape': (7, 5), 'fortran_order': False, 'descr': '<f4'}",
        "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (7, 5)}",
        " {  'descr'\t:'<f4' ,'fortran_order':False,'shape':( 7 ,5 , ) , }  \n",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7L, 5L), }",
    };
    for (size_t k = 0; k < sizeof fine / sizeof fine[0]; k++) {
        n = build(file, 2, fine[k], 0, data, 140);
        accepted(fine[k], file, n, 7, 5);
    }
    /* not 64-aligned (numpy before 1.9 aligned to 16) */
    n = build(file, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5)}\n", 0, data,
              140);
    accepted("unaligned data", file, n, 7, 5);

    refused("empty file", "", 0, WN_ERR_FORMAT, "not a .npy file");
    refused("text", "hello, world\n", 13, WN_ERR_FORMAT, "not a .npy file");
    refused("magic only", "\x93NUMPY", 6, WN_ERR_FORMAT, "truncated header");
    refused("v2 magic, length cut", "\x93NUMPY\x02\x00\x10\x00", 10, WN_ERR_FORMAT,
            "truncated header");
    n = build(file, 1, ok, 1, data, 140);
    file[6] = 4;
    refused("version 4.0", file, n, WN_ERR_FORMAT, "version 4.0");
    file[6] = 1, file[7] = 1;
    refused("version 1.1", file, n, WN_ERR_FORMAT, "version 1.1");
    /* the header length points past the end of the file */
    n = build(file, 1, ok, 1, data, 0);
    file[8] = 0xe8, file[9] = 0x03; /* 1000 */
    refused("header length past the file", file, n, WN_ERR_FORMAT,
            "truncated: the header needs 1010 bytes, the file has 128");
    refused("header cut short", file, 60, WN_ERR_FORMAT, "truncated: the header needs");
    /* 64 KiB of header is read, a byte more is not (v2: 4-byte length) */
    static char big[70000];
    for (int extra = 0; extra < 2; extra++) {
        size_t len = 65536 + (size_t)extra;
        memset(big, ' ', len);
        memcpy(big, ok, strlen(ok));
        big[len - 1] = '\n', big[len] = 0;
        n = build(file, 2, big, 0, data, 140);
        if (extra)
            refused("a header of 64 KiB + 1", file, n, WN_ERR_FORMAT, "at most 64 KiB");
        else
            accepted("a header of 64 KiB", file, n, 7, 5);
    }
    n = build(file, 3, ok, 1, data, 140);
    file[10] = 0xff, file[11] = 0xff; /* 4 GiB */
    refused("a header of 4 GiB", file, n, WN_ERR_FORMAT, "at most 64 KiB");

    /* shapes that would allocate terabytes */
    const struct { const char *shape; int code; const char *needle; } sh[] = {
        {"(4611686018427387904, 4611686018427387904)", WN_ERR_RANGE, "more than 2^31"},
        {"(2147483649, 1)", WN_ERR_RANGE, "more than 2^31"},
        {"(65536, 32769)", WN_ERR_RANGE, "more than 2^31"},
        {"(65536, 32768)", WN_ERR_FORMAT, "truncated: shape (65536, 32768) needs 8589934592"},
        {"(99999999999999999999999, 1)", WN_ERR_FORMAT, "header is not a dict"},
        {"(9223372036854775808, 1)", WN_ERR_FORMAT, "header is not a dict"},
        {"(7, 0)", WN_ERR_FORMAT, "no bands"},
        {"()", WN_ERR_FORMAT, "shape ()"},
        {"(1, 1, 1, 1)", WN_ERR_FORMAT, "shape (1, 1, 1, ...)"},
        {"(7, 4)", WN_ERR_FORMAT, "needs 112 bytes of data, the file has 140: trailing"},
        {"(7, 6)", WN_ERR_FORMAT, "truncated: shape (7, 6) needs 168 bytes of data, the file "
                                  "has 140"},
    };
    for (size_t k = 0; k < sizeof sh / sizeof sh[0]; k++) {
        char d[256];
        snprintf(d, sizeof d, "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }",
                 sh[k].shape);
        n = build(file, 1, d, 1, data, 140);
        refused(sh[k].shape, file, n, sh[k].code, sh[k].needle);
    }

    /* garbage where the dict should be */
    const char *junk[] = {
        "", "{", "}", "{}", "[]", "{'descr': '<f4'}",
        "{'descr': '<f4', 'fortran_order': False}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5), 'shape': (7, 5)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5), 'extra': 1}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': 7}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7, -5)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7,, 5)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (7, 5)}",
        "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (7, 5)}",
        "{'descr': '<f4, 'fortran_order': False, 'shape': (7, 5)}",
        "{'descr': '<f4\", 'fortran_order': False, 'shape': (7, 5)}",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (7, 5)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5)} x",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5)}}",
        "{'descr': '<f4' 'fortran_order': False, 'shape': (7, 5)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (7, 5)",
        "{descr: '<f4', fortran_order: False, shape: (7, 5)}",
        "{'descr': '<f4\\x00', 'fortran_order': False, 'shape': (7, 5)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (0x7, 5)}",
    };
    for (size_t k = 0; k < sizeof junk / sizeof junk[0]; k++) {
        n = build(file, 1, junk[k], 1, data, 140);
        refused(junk[k], file, n, WN_ERR_FORMAT, "header is not a dict");
    }
    /* a NUL byte inside the header */
    n = build(file, 1, ok, 1, data, 140);
    file[10 + 12] = 0;
    refused("a NUL in the header", file, n, WN_ERR_FORMAT, "header is not a dict");
    const char *dtypes[] = {"<f2", ">f8", "|u1", "<c8", "<f4 ", "f4", "float32"};
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
        char d[256], want[32];
        snprintf(d, sizeof d, "{'descr': '%s', 'fortran_order': False, 'shape': (7, 5), }",
                 dtypes[k]);
        snprintf(want, sizeof want, "dtype '%s'", dtypes[k]);
        n = build(file, 1, d, 1, data, 140);
        refused(want, file, n, WN_ERR_FORMAT, want);
    }

    /* non-finite and out-of-range values, named by row and column */
    static unsigned char bad[4 * 35];
    memcpy(bad, data, sizeof bad);
    float nan = NAN, inf = -INFINITY;
    memcpy(bad + 4 * (3 * 5 + 2), &nan, 4);
    n = build(file, 1, ok, 1, bad, 140);
    refused("NaN at (3, 2)", file, n, WN_ERR_NONFINITE, "row 3, column 2 is NaN");
    memcpy(bad, data, sizeof bad);
    memcpy(bad + 4 * 34, &inf, 4);
    n = build(file, 1, ok, 1, bad, 140);
    refused("-inf at (6, 4)", file, n, WN_ERR_NONFINITE, "row 6, column 4 is infinite");
    static double d8[35];
    for (size_t i = 0; i < 35; i++) d8[i] = (double)pattern(i);
    const char *ok8 = "{'descr': '<f8', 'fortran_order': False, 'shape': (7, 5), }";
    n = build(file, 1, ok8, 1, d8, sizeof d8);
    accepted("<f8 by hand", file, n, 7, 5);
    d8[11] = 1e300;
    n = build(file, 1, ok8, 1, d8, sizeof d8);
    refused("<f8 1e300 at (2, 1)", file, n, WN_ERR_RANGE, "row 2, column 1 is 1e+300, beyond");
    d8[11] = NAN;
    n = build(file, 1, ok8, 1, d8, sizeof d8);
    refused("<f8 NaN at (2, 1)", file, n, WN_ERR_NONFINITE, "row 2, column 1 is NaN");

    /* not regular files: a folder, a FIFO (never blocks), a missing file */
    float *d = NULL;
    size_t r, c;
    wn_error err = {0, ""};
    CHECK(wn_npy_read(tu_tmpdir(), &d, &r, &c, &err) == WN_ERR_IO &&
          strstr(err.message, "is a folder"));
    const char *fifo = tu_path("fifo.npy");
    unlink(fifo);
    REQUIRE(mkfifo(fifo, 0600) == 0);
    CHECKF(wn_npy_read(fifo, &d, &r, &c, &err) == WN_ERR_IO &&
           strstr(err.message, "not a regular file"), "FIFO: %s", err.message);
    CHECK(wn_npy_read(tu_path("missing.npy"), &d, &r, &c, &err) == WN_ERR_IO && !d);
    CHECK(wn_npy_read(NULL, &d, &r, &c, &err) == WN_ERR_ARG);
}

static void writer_refuses(void)
{
    float x[6] = {1, 2, 3, 4, 5, 6};
    const char *path = tu_path("keep.npy");
    wn_error err;
    REQUIRE_OK(wn_npy_write(path, x, 2, 3, &err), &err);
    size_t n0, n1;
    static unsigned char before[4096];
    unsigned char *p = slurp(path, &n0);
    memcpy(before, p, n0);
    CHECK(wn_npy_write(path, x, 0, 3, &err) == WN_ERR_ARG && strstr(err.message, "no frames"));
    CHECK(wn_npy_write(path, x, 2, 0, &err) == WN_ERR_ARG && strstr(err.message, "no columns"));
    CHECK(wn_npy_write(path, x, (size_t)1 << 40, 1 << 20, &err) == WN_ERR_RANGE);
    x[4] = NAN;
    CHECKF(wn_npy_write(path, x, 2, 3, &err) == WN_ERR_NONFINITE &&
           strstr(err.message, "row 1, column 1 is NaN"), "%s", err.message);
    x[4] = 5;
    CHECK(wn_npy_write(tu_tmpdir(), x, 2, 3, &err) == WN_ERR_ARG &&
          strstr(err.message, "folder"));
    CHECK(wn_npy_write(tu_path("no/such/x.npy"), x, 2, 3, &err) == WN_ERR_IO);
    p = slurp(path, &n1);
    CHECK(n0 == n1 && !memcmp(before, p, n0)); /* untouched by every refusal */
    /* no temporary left beside it */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls -a '%s' | grep -c '\\.tmp\\.'", tu_tmpdir());
    char out[64] = "";
    tu_run(cmd, out, sizeof out);
    CHECKF(atoi(out) == 0, "temporaries left: %s", out);
}

int main(void)
{
    fixtures();
    round_trip();
    streams();
    hostile();
    writer_refuses();
    return tu_finish("npy", 0);
}
