/* internal.h - what the library's modules share and users never see. */
#ifndef WN_INTERNAL_H
#define WN_INTERNAL_H

#include "wavenet.h"
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define WN_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WN_PRINTF(a, b)
#endif

/* Fill err (may be NULL) with code and a formatted one-line message;
 * returns code so callers can `return wn__err(err, WN_ERR_IO, ...)`. */
int wn__err(wn_error *err, int code, const char *fmt, ...) WN_PRINTF(3, 4);

/* Atomic output. wn__tmpcreate creates "<dir>/.<name>.tmp.<pid>.<random>"
 * beside path, exclusively (O_EXCL | O_NOFOLLOW: a planted link or file is
 * never written through), after removing such temporaries of path that a
 * dead process of ours left; it returns the descriptor, or a negative
 * wn_status (err set). Nothing at `path` changes until a commit fsyncs the
 * temporary, renames it over path and syncs the folder; on failure the
 * temporary is removed. */
int wn__tmpcreate(const char *path, char *tmp, size_t size, wn_error *err);
/* The same as a stdio stream (NULL on failure, err set). */
FILE *wn__tmpopen(const char *path, char *tmp, size_t size, wn_error *err);
int wn__commit_file(FILE *f, const char *tmp, const char *path, wn_error *err);
/* For files written through a descriptor (libsndfile's sf_open_fd). */
int wn__commit_fd(int fd, const char *tmp, const char *path, wn_error *err);
void wn__abort_file(FILE *f, const char *tmp);

/* Seeded RNG shared by init, sampling and training: splitmix64 seeding of
 * xoshiro-free 64-bit state; deterministic on every platform. */
uint64_t wn__splitmix64(uint64_t *state);
/* Uniform in [0, 1) with 53 random bits. */
double wn__uniform(uint64_t *state);

/* Aligned allocation (64 bytes) that returns NULL on overflow/failure;
 * free with wn__free. */
void *wn__alloc(size_t count, size_t size);
void *wn__calloc(size_t count, size_t size);
void wn__free(void *p);


/* ---- safetensors (src/safetensors.c), shared by models and checkpoints */

typedef struct wn__st_tensor {
    const char *name;
    const char *dtype;    /* "F32", "I32", "U8", ... */
    int ndim;
    int64_t shape[4];
    const void *data;     /* little-endian values */
    size_t bytes;
} wn__st_tensor;

/* Write tensors (in the given order) and metadata (meta[2i] = key,
 * meta[2i+1] = value, nmeta pairs; "crc32" of the data section is added)
 * atomically to path. */
int wn__st_write(const char *path, const wn__st_tensor *t, int n,
                 const char *const *meta, int nmeta, wn_error *err);

/* A parsed safetensors file held in memory; validated on open (offsets in
 * range, sizes match dtype x shape, no overlap, crc32 when present). */
typedef struct wn__st_file wn__st_file;
wn__st_file *wn__st_open(const char *path, wn_error *err);
void wn__st_close(wn__st_file *f);
/* Metadata value or NULL. */
const char *wn__st_meta(const wn__st_file *f, const char *key);
/* Number of tensors and the i-th's name (in the header's order). */
int wn__st_count(const wn__st_file *f);
const char *wn__st_name(const wn__st_file *f, int i);
/* Find a tensor: its dtype, shape and data (unaligned: memcpy from it).
 * Returns 0 if absent. */
int wn__st_find(const wn__st_file *f, const char *name, const char **dtype,
                int *ndim, int64_t shape[8], const void **data, size_t *bytes);

/* Mu-law codes over the samples they encode, in place; returns x's block,
 * which holds n ints from then on (audio_read.c) */
int *wn__encode_in_place(float *x, size_t n, int bins);

/* Of a clip's samples between its trimmed ends (trim_db below its peak, as
 * the trainer trims), the fraction at |x| >= WN_CLIP_LEVEL; *silent set if
 * the clip is all silence (the fraction is then 0). The trainer and the
 * baselines leave out the same clipped files with it (data.c). */
double wn__clipped_fraction(const float *x, int64_t n, float trim_db, int rate, int *silent);
/* wn_audio_read as the trainer and the baselines read their training
 * files: a file whose samples reach above `above` times full scale (a
 * float file decoded hot; none is lost) scaled to peak 1, *gain the scale
 * (1 if none); above 0 = wn_audio_read. */
int wn__audio_read_hot(const char *path, int rate, float above, float **out, size_t *n,
                       float *gain, wn_audio_info *info, wn_error *err);

#endif
