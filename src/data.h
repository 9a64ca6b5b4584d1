/* data.h - the training data's insides, shared by the data*.c files and
 * nothing else (the trainer sees the wn__data functions of train.h):
 *
 *   data_list.c    list files and folders: which files a run reads
 *   data.c         the clips read and trimmed, their features, the file
 *                  they wait in, what identifies them in a checkpoint
 *   data_window.c  the windows of a step, and the validation clips, read
 *                  back from that file */
#ifndef WN_DATA_H
#define WN_DATA_H

#include "train.h"

typedef struct tclip {
    int64_t off;   /* into the file, in floats */
    int64_t n;
    int64_t cum;   /* window start positions in the clips before this one */
    int64_t foff;  /* its features (mel models), in floats into the file */
    int64_t frames;
    int spk;       /* its speaker's row, -1 none */
} tclip;

struct wn__data {
    const wn_train_params *p;
    const wn_model *m;
    int rf, window, len, rate, bins, silence;
    int C, hop, pre;       /* features: bands, hop, the frames conv */
    float log_floor;       /* ln of the recipe's power floor */
    wn__files f[2];
    wn_clip_report *rep[2];
    char **real[2];        /* each file's resolved path ("" if none) */
    uint32_t *crc[2];      /* crc32 of what was kept of each file */
    int fd;                /* training floats back to back, each clip's
                              samples and then its features; then each
                              validation clip's codes (int32) and features */
    int64_t bytes;
    float *win;            /* one window's samples, read back */
    tclip *clips;
    int nclips;
    int64_t positions;     /* window start positions over all clips */
    size_t wframes;        /* the most frames a window's conditioning reads */
    int64_t *voff;         /* byte offset of each validation clip's codes */
    int64_t *vfoff;        /* and of its features */
    size_t *vn, vmax;      /* their lengths, the longest */
    size_t *vframes, vfmax;/* their frames, the most */
    int64_t samples[3];    /* training, validation, the speed copies */
    int64_t frames[2];
    double *fmean, *fstd;  /* the training frames' statistics (C each) */
};

/* n bytes at offset off of the clips' file, to it (put) or from it */
int wn__data_io(const wn__data *d, int put, void *buf, size_t n, int64_t off, wn_error *err);
/* The frames [*fs, *fe) of a clip of F frames that the window starting at
 * clip sample s reads (data_window.c says how they are counted). */
void wn__window_frames(const wn__data *d, int64_t s, int64_t F, int64_t *fs, int64_t *fe);

#endif
