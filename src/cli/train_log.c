/* train_log.c - `wavenet train`'s progress lines and CSV log, and the
 * checks of its output files (train_run.c runs the loop). */
#define _POSIX_C_SOURCE 200809L
#include "train_log.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

double tlog_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void tlog_duration(double s, char *buf, size_t n)
{
    if (!isfinite(s) || s < 0) {
        snprintf(buf, n, "-");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, n, "%lds", t);
}

/* A file made and removed in dir: 0, or the errno that stopped it */
int tlog_dir_probe(const char *dir)
{
    char probe[4200];
    snprintf(probe, sizeof probe, "%.4000s/.wavenet-train-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) return errno ? errno : EACCES;
    close(fd);
    unlink(probe);
    return 0;
}

/* Can we create files beside path? (the check made before any training) */
int tlog_writable(const char *flag, const char *path)
{
    struct stat st;
    if (!strcmp(path, "-")) return cli_fail("%s -: this output cannot go to stdout: name a file", flag);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_fail("%s %s: is a folder, not a file name", flag, path);
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int e = tlog_dir_probe(dir);
    if (e) return cli_fail("%s %s: cannot write in %s: %s", flag, path, dir, strerror(e));
    return 0;
}



int tlog_row(csvlog *lg, wn_error *err, const char *fmt, ...)
{
    char row[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(row, sizeof row, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof row) n = (int)strlen(row);
    if (lg->fd < 0) {
        if (fwrite(row, 1, (size_t)n, stdout) != (size_t)n || fflush(stdout)) {
            snprintf(err->message, sizeof err->message, "--log -: cannot write to stdout: %s",
                     strerror(errno));
            err->code = WN_ERR_IO;
            return -1;
        }
        return 0;
    }
    struct stat st;
    const off_t at = fstat(lg->fd, &st) == 0 ? st.st_size : -1;
    ssize_t done = 0; /* after a short write the next one says why */
    errno = 0;
    while (done < n) {
        ssize_t w = write(lg->fd, row + done, (size_t)(n - done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        done += w;
    }
    if (done == n) return 0;
    const int e = errno ? errno : ENOSPC;
    const int cut = at >= 0 && ftruncate(lg->fd, at) == 0; /* leave no half row behind */
    snprintf(err->message, sizeof err->message, "--log %s: cannot write a row: %s%s", lg->path,
             strerror(e), cut ? "" : " (its last row may be cut short)");
    err->code = WN_ERR_IO;
    return -1;
}

/* One line of progress on stderr with the latest validation figure, and
 * a row of the log, which has the figure only on the row of the step it
 * scored (fresh), so that a row says whether it is a new measurement. */
int tlog_progress(csvlog *log, int show, const wn_trainer *tr, interval *iv,
                         double valid_bits, int fresh, float lr, double grad_norm, double eta,
                         wn_error *err)
{
    int64_t step = wn_trainer_steps_done(tr);
    wn_train_params p = wn_trainer_params(tr);
    double train_bits = iv->steps ? iv->loss_sum / iv->steps : NAN;
    double rate = iv->step_seconds > 0 ? iv->samples / iv->step_seconds : NAN;
    char eta_s[32], total[32] = "", vb[32], tb[32];
    tlog_duration(eta, eta_s, sizeof eta_s);
    if (p.steps > 0) snprintf(total, sizeof total, "/%lld", (long long)p.steps);
    snprintf(vb, sizeof vb, isfinite(valid_bits) ? "%.4f" : "-", valid_bits);
    snprintf(tb, sizeof tb, isfinite(train_bits) ? "%.4f" : "-", train_bits);
    if (show)
        fprintf(stderr, "step %lld%s  train %s bits  valid %s bits  %.0f samples/s  lr %.3g  ETA %s\n",
            (long long)step, total, tb, vb, isfinite(rate) ? rate : 0.0, lr, eta_s);
    iv->loss_sum = 0;
    iv->steps = 0;
    iv->samples = 0;
    iv->step_seconds = 0;
    iv->t0 = tlog_now();
    if (!log) return 0;
    return tlog_row(log, err, "%lld,%.3f,%s,%s,%.1f,%.6g,%.6g,%.1f\n", (long long)step,
                   wn_trainer_seconds(tr), isfinite(train_bits) ? tb : "",
                   fresh && isfinite(valid_bits) ? vb : "", isfinite(rate) ? rate : 0.0, lr,
                   grad_norm,
                   isfinite(eta) ? eta : -1.0);
}

/* A validation on a line and a row of its own (outside the intervals). */
int tlog_valid(csvlog *log, int show, const wn_trainer *tr, int64_t step, double bits,
                      int improved, double eta, wn_error *err)
{
    if (show)
        fprintf(stderr, "step %lld  valid %.4f bits%s\n", (long long)step, bits,
            improved ? " (new best)" : "");
    return log ? tlog_row(log, err, "%lld,%.3f,,%.4f,,,,%.1f\n", (long long)step,
                         wn_trainer_seconds(tr), bits, eta)
               : 0;
}

/* The loading line: wn_trainer_create reports the files read through the
 * progress callback, which otherwise only asks whether to stop. */
/* A resumed run's log: rows after the checkpoint's step were written by a
 * run that stopped before its next checkpoint, and this run writes them
 * again: cut them, so no step has two rows. */
int tlog_cut(const char *path, int64_t step)
{
    FILE *f = fopen(path, "r+");
    if (!f) return errno == ENOENT ? 0 : cli_fail("--log %s: %s", path, strerror(errno));
    char line[1024];
    long at = 0, cut = -1;
    while (cut < 0 && fgets(line, sizeof line, f)) {
        char *end;
        long long s = strtoll(line, &end, 10);
        if (end != line && *end == ',' && s > step) cut = at;
        at = ftell(f);
    }
    int rc = 0;
    if (cut >= 0 && ftruncate(fileno(f), cut) != 0)
        rc = cli_fail("--log %s: cannot cut the rows after step %lld: %s", path, (long long)step,
                      strerror(errno));
    fclose(f);
    return rc;
}

