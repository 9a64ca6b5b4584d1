/* cmd_train.h - what the files of `wavenet train` share and nothing else:
 *
 *   cmd_train.c     the options, the settings and outputs they make, and
 *                   the stages of a run in order
 *   train_report.c  the start-up report: the clips read, the run, its
 *                   conditioning
 *   train_run.c     signals, the data read, the loop of steps, the end
 *   train_log.c     the progress lines and the CSV log (train_log.h) */
#ifndef WN_CMD_TRAIN_H
#define WN_CMD_TRAIN_H

#include "cli.h"
#include "train_log.h"

/* A growable list of paths (argv strings or malloc'ed from list files),
 * each with its speaker (a list file's 'path<TAB>speaker'; NULL: none). */
typedef struct plist {
    char **v;
    char **spk; /* NULL, or n entries */
    int n;
} plist;
/* 1 if any path of l has a speaker */
int plist_has_speakers(const plist *l);

/* The command line (its flags override a checkpoint's settings: set_*). */
typedef struct opts {
    const char *model, *out, *ckpt, *resume, *log, *decay, *optimizer;
    const char *keep; /* --keep-weights DIR */
    plist train, valid;
    plist lists; /* the list files named (inputs, never to be overwritten) */
    int train_given, valid_given;
    long steps, batch, window, warmup, threads, valid_every, patience, ckpt_every;
    double minutes, lr, clip, wd, jitter, trim, maxclip, rescale, print_every;
    uint64_t seed;
    int set_steps, set_batch, set_window, set_warmup, set_threads, set_valid_every,
        set_patience, set_ckpt_every, set_minutes, set_lr, set_clip, set_wd, set_jitter,
        set_trim, set_maxclip, set_rescale, set_seed;
    int quiet, verbose, spk_folder, may_clip;
    float speeds[WN_MAX_SPEEDS]; /* --speed-perturb (0-terminated) */
    int set_speeds;
    const char *trim_ends;        /* --trim-ends, checked */
} opts;

/* The line that shows the data being read (train_on_progress). */
typedef struct loading {
    int show;       /* stderr is a terminal and not --quiet */
    int active;     /* wn_trainer_create is reading */
    double shown;   /* when the line was last drawn */
    int width;      /* its length, to blank it */
} loading;

/* Everything the stages of a run share. */
typedef struct run {
    opts o;
    wn_train_params p;
    wn_model *m;
    wn_trainer *tr;
    csvlog logw, *log;
    plist ck_train, ck_valid;
    const plist *train, *valid;
    int64_t resumed_step, last_ckpt_step, last_kept_step, seg_step0;
    char ckpt_buf[4200], out_buf[4096], log_buf[4096], abs_out[4096], abs_log[4096];
    char every_buf[32], keep_buf[4096], abs_keep[4096];
    const char *meta[9]; /* in the checkpoint: where this run writes, and how often */
    int rf, rate, nvalid;
    loading load;
    long ckpt_every;
    double budget, seg_t0, last_valid, eta, last_norm;
    float last_lr;
    interval iv;
    int interrupted, early, wrote_best; /* wrote_best: -o, this run */
    int rank, ranks; /* data-parallel (mpirun): rank 0 alone writes */
    double sum_secs, step_secs; /* this run's steps, and their sums across ranks */
    int warmup_scaled;
    int keep_inherited; /* --keep-weights from the resumed checkpoint */
    wn_error err;
} run;

/* The stages after the settings (train_run.c): CLI_GO_ON to go on, else
 * the exit status. */
int train_start(run *r);
int train_steps(run *r);
int train_finish(run *r);
/* The trainer's progress callback (user: the run's loading): the line
 * while the data is read, and the stop a signal asks for. */
int train_on_progress(void *user, double done, double total);

/* The start-up report (train_report.c), by rank 0 */
void train_report_clips(const run *r);
void train_banner(const run *r);

#endif
