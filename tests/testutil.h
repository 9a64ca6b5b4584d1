/* testutil.h - tiny helpers for the C tests: every check that fails prints
 * where and why and makes the test exit non-zero. */
#ifndef WN_TESTUTIL_H
#define WN_TESTUTIL_H

#include "wavenet.h"
#include <stdio.h>
#include <stdlib.h>

extern int tu_failures;
/* CHECK and CHECKF evaluations so far: tu_finish fails a suite that ran none */
extern long tu_checks;

#define CHECK(cond) \
    do { tu_checks++; if (!(cond)) { tu_failures++; \
        fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECKF(cond, ...) \
    do { tu_checks++; if (!(cond)) { tu_failures++; \
        fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
        fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
/* abort the test at once (a precondition for the rest) */
#define REQUIRE(cond) \
    do { if (!(cond)) { fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", \
        __FILE__, __LINE__, #cond); exit(1); } } while (0)
#define REQUIRE_OK(expr, errp) \
    do { int rc_ = (expr); if (rc_ != WN_OK) { fprintf(stderr, "%s:%d: %s -> %d (%s)\n", \
        __FILE__, __LINE__, #expr, rc_, (errp)->message); exit(1); } } while (0)

/* Print the outcome and return the exit status: 1 if a check failed or if
 * no CHECK/CHECKF ran at all (a suite that checked nothing has not passed).
 * checks_run is the suite's own tally, printed when given (> 0). */
int tu_finish(const char *name, int checks_run);

/* A fresh temporary directory for this test (removed by the OS's tmp
 * cleaning; tests write small files only). */
const char *tu_tmpdir(void);
/* path inside tu_tmpdir (static buffer rotated among 8). */
const char *tu_path(const char *name);
/* The source root ($WN_SRCDIR or "."). */
const char *tu_srcdir(void);
/* Run a shell command, capture stdout into out (may be NULL) and return
 * the exit status (or -1). */
int tu_run(const char *cmd, char *out, size_t outsize);
/* The wavenet executable ($WAVENET). */
const char *tu_wavenet(void);
/* Run `wavenet ARGS` (args < 4096 characters), its stderr with its stdout
 * into out; the exit status, as tu_run. */
int tu_wn(const char *args, char *out, size_t outsize);
/* Lines in s (its newlines): a message should be one. */
int tu_lines(const char *s);
/* A small random model for tests. */
wn_model *tu_small_model(int bins, int layers, int stack, int r, int d, int s,
                         uint64_t seed);
/* Uniform [0,1) from a 64-bit state (splitmix64), for test data. */
double wn__uniform_for_tests(uint64_t *state);
/* Generation internals (src/stream*.c): the steps a thread takes at a time
 * in a balanced run, and how many runs of streams threads took (all, and
 * those of fewer streams than a part holds). */
void wn__gen_set_chunk(wn_gen *g, int steps);
void wn__gen_balance_stats(const wn_gen *g, long *takes, long *partial);
/* Run g on the kernel table of that name (WN_OK, or WN_ERR_ARG where this
 * CPU has no such table). */
int wn__gen_set_kernels(wn_gen *g, const char *name);
/* Max |a-b| / (1 + |b|) over n. */
double tu_maxrel(const float *a, const float *b, size_t n);
/* -log p(codes) in nats through a one-stream generator at precision p,
 * fed one code a step from silence (as `wavenet score --precision int8`
 * scores); logits (optional, n x bins) receives each step's logits. */
double tu_fed_nll(const wn_model *m, wn_precision p, const int *codes, size_t n, float *logits);

/* A reference fixture (a safetensors file that a reference script in tests/ wrote), read
 * whole with its own small reader (jansson, zlib's crc32, checked): every
 * failure prints what and exits. */
typedef struct fx_file {
    const char *path;
    unsigned char *raw;
    size_t size;
    void *header;                /* json_t: tensors and __metadata__ */
    const unsigned char *data;   /* data section */
    size_t data_size;
} fx_file;
void fx_open(fx_file *f, const char *path);
void fx_close(fx_file *f);
/* a string of __metadata__, and one as a whole number */
const char *fx_meta(const fx_file *f, const char *key);
long fx_meta_int(const fx_file *f, const char *key);
/* 1 if the file holds tensor `name` */
int fx_has(const fx_file *f, const char *name);
/* A malloc'ed copy of tensor `name` of the given dtype ("F32", "F64",
 * "I32"); *count receives the element count (must equal expect if > 0). */
void *fx_get(const fx_file *f, const char *name, const char *dtype, size_t expect, size_t *count);

#endif
