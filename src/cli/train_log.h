/* train_log.h - what `wavenet train` prints and appends while it runs: the
 * progress lines and the CSV log, and the checks of its output files. */
#ifndef WN_TRAIN_LOG_H
#define WN_TRAIN_LOG_H

#include "cli.h"

/* The figures of one progress interval. */
typedef struct interval {
    double loss_sum;
    int steps;
    double samples, step_seconds;
    double t0;
} interval;

/* The CSV log: stdout, or a file appended to row by row, so that it can be
 * followed while training runs (tail -f) and a resumed run adds to it. A
 * row goes in one write(), and a write that fails (a full disk, a file
 * size limit) is cut back to where the row began: the file only ever
 * holds whole rows, and the rows before stay as they were. */
typedef struct csvlog {
    int fd;       /* -1: stdout */
    const char *path;
} csvlog;

double tlog_now(void);
/* "1h02m", "45s", "-" */
void tlog_duration(double s, char *buf, size_t n);
/* 0, or 1 after one line saying why `flag path` cannot be written */
int tlog_writable(const char *flag, const char *path);
/* 0 if a file can be made in folder dir (made and removed again), else the
 * errno that stopped it */
int tlog_dir_probe(const char *dir);
/* one row, whole or not at all */
int tlog_row(csvlog *lg, wn_error *err, const char *fmt, ...) CLI_PRINTF(3, 4);
/* a progress line on stderr (if show) and its row; a validation's */
int tlog_progress(csvlog *log, int show, const wn_trainer *tr, interval *iv,
                  double valid_bits, int fresh, float lr, double grad_norm, double eta,
                  wn_error *err);
int tlog_valid(csvlog *log, int show, const wn_trainer *tr, int64_t step, double bits,
               int improved, double eta, wn_error *err);
/* cut a resumed run's log after `step` */
int tlog_cut(const char *path, int64_t step);

#endif
