/* train.h - what the trainer's files share: the data (data*.c, whose
 * insides are data.h's), the trainer itself (train.c) and its checkpoints
 * (checkpoint.c). */
#ifndef WN_TRAIN_H
#define WN_TRAIN_H

#include "model.h"

/* ---- the data (data.c; windows data_window.c, lists data_list.c)
 * The training clips, trimmed and resampled, and the validation clips'
 * codes wait in one unlinked temporary file; a step reads its windows back,
 * a validation one clip at a time, so memory grows with batch x window, not
 * with the data set. */
typedef struct wn__data wn__data;

/* One side's files (training or validation) as the trainer hands them to
 * the data, which keeps them (freed with it): paths, each one's speaker
 * name (NULL: none; spk itself NULL when no file has one) and its row of
 * the model's speaker table (-1: none; NULL for a model without speakers). */
typedef struct wn__files {
    char **path;
    char **spk;
    int *row;
    int n;
} wn__files;
void wn__files_free(wn__files *f);

/* Read every file of f[0] (training) and f[1] (validation), which the data
 * keeps (freed with it, on failure too). progress as the trainer's. A
 * conditional model's features are computed here, once per clip, from the
 * samples kept (wn_model_features), and wait in the clips' file beside
 * them. */
wn__data *wn__data_load(const wn_model *m, const wn_train_params *p, wn__files f[2],
                        wn_error *err);
void wn__data_free(wn__data *d);

/* The batch windows of one step: for each, a start over all clips
 * (uniform, so longer clips give more windows), then its gain, both from
 * *rng in that fixed order; windows [b0, b1) are read into codes
 * ((b1 - b0) x (RF + window)), the others only drawn (a rank's share of a
 * global batch: every rank's RNG stays the same). For a conditional model
 * (wc not NULL) wc[b - b0] receives window b's conditioning: its speaker,
 * and the frames its samples need read into feats (room for
 * wn__data_window_frames frames of `cond` bands per window), with the
 * window's offset counted from the first of them. */
int wn__data_draw(wn__data *d, uint64_t *rng, int b0, int b1, int *codes, wn_window_cond *wc,
                  float *feats, wn_error *err);
/* The most frames a window's conditioning reads (0 without features). */
size_t wn__data_window_frames(const wn__data *d);

/* Validation clip i's codes (room for wn__data_valid_max codes) and, for a
 * conditional model, its conditioning into *c: its features read into
 * feats (room for wn__data_valid_max_frames frames) and its speaker. A
 * rank of a data-parallel run reads and scores the clips i with i % size
 * == rank only; wn__data_samples(d, 1) counts every clip's samples all the
 * same. */
int wn__data_valid(const wn__data *d, int i, int *codes, size_t *n, float *feats, wn_cond *c,
                   wn_error *err);
size_t wn__data_valid_max(const wn__data *d);
size_t wn__data_valid_max_frames(const wn__data *d);
/* Feature frames of all training (which 0) or validation (1) clips. */
int64_t wn__data_frames(const wn__data *d, int which);
/* The training frames' mean and standard deviation of each band (cond
 * doubles each), summed in clip order in double: the same on any thread
 * and rank count. */
void wn__data_feature_stats(const wn__data *d, double *mean, double *std);

int wn__data_files(const wn__data *d, int which, char ***files);
const wn_clip_report *wn__data_report(const wn__data *d, int which, int i);
int64_t wn__data_samples(const wn__data *d, int which);
/* What identifies the data a run trained on, for its checkpoint: a JSON
 * array (malloc'ed) with each file's resolved path, its samples and the
 * crc32 of what was kept of it. */
char *wn__data_identity(const wn__data *d, int which);
/* WN_OK if a checkpoint's identity (JSON text as above) is this data's,
 * else WN_ERR_ARG naming the first file that differs. */
int wn__data_same(const wn__data *d, int which, const char *identity, const char *ckpt,
                  wn_error *err);

/* ---- the trainer (train.c; checkpoint.c writes and restores it) */
struct wn_trainer {
    wn_model *m;
    wn_train_params p;
    wn_optim *opt;
    wn_grad_ctx *gc;       /* forward/backward buffers for batch x len */
    wn__data *data;
    int len;               /* RF + window: codes a window holds */
    int rank, ranks;       /* data-parallel: this process's share of each
                              step's windows is [b0, b1) (dist.c) */
    int b0, b1;
    size_t np;

    /* per-step buffers, allocated once */
    int *codes;            /* batch x len */
    wn_window_cond *wc;    /* a conditional model's: a window's conditioning */
    float *feats;          /* and the frames they read */
    float *grad;           /* the gradient: compute layout, like the moments */
    double *loss_all;      /* each rank's share of a step's loss */

    /* state: everything here is in the checkpoint */
    uint64_t rng;
    int64_t step;
    double best;
    int64_t best_step;
    int bad;               /* validations since the best */
    int64_t last_valid_step;
    double last_valid;
    double seconds;

    wn_train_cond cond;    /* what create did about conditioning */
};

/* The shortest decimal that reads back as the same float. */
void wn__fmt_float(char *buf, size_t size, float v);
/* Append a copy of s[0..len) to a path list (WN_ERR_NOMEM). */
int wn__push_path(char ***paths, int *n, const char *s, size_t len);

#endif
