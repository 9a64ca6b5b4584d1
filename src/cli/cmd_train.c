/* cmd_train.c - `wavenet train`: argument parsing, progress lines and the
 * CSV log, checkpoints on a schedule and on SIGINT/SIGTERM, all over the
 * wn_trainer API. The loop is here; the mathematics is in src/train.c. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_STEPS 2000

static const char usage_text[] =
    "usage: wavenet train -m MODEL -o OUT [--train PATH...] [--train-list FILE]\n"
    "                     [--valid PATH...] [--valid-list FILE] [--steps N | --minutes M]\n"
    "                     [--batch B] [--window T] [--lr X] [--warmup N] [--decay SPEC]\n"
    "                     [--clip G] [--weight-decay W] [--seed N] [--threads N]\n"
    "                     [--checkpoint-every N] [--checkpoint PATH] [--resume CKPT]\n"
    "                     [--valid-every N] [--patience N] [--optimizer NAME]\n"
    "                     [--gain-jitter DB] [--trim-db DB] [--log FILE.csv]\n"
    "                     [--print-every SECONDS]\n"
    "\n"
    "Train MODEL (a weights file from `wavenet init` or an earlier run) on speech\n"
    "clips; OUT receives the best model on the validation clips (the last one\n"
    "when there are none).\n"
    "\n"
    "  -m MODEL            starting weights (not needed with --resume)\n"
    "  -o OUT              best model so far (written atomically)\n"
    "  --train PATH...     training audio files or folders (every audio file inside)\n"
    "  --train-list FILE   a list file: one path per line, '#' comments, relative\n"
    "                      paths relative to the list file (repeatable)\n"
    "  --valid PATH...     validation files or folders; --valid-list FILE likewise\n"
    "  --steps N           total steps (default " "2000" "; with --resume, the checkpoint's)\n"
    "  --minutes M         train for M minutes of training time instead (a resumed\n"
    "                      run counts the time before); the lr schedule's length is\n"
    "                      estimated from the first steps and kept in the checkpoint\n"
    "  --batch B           windows per step (8)\n"
    "  --window T          predicted samples per window (2048); a window holds\n"
    "                      receptive field + T samples\n"
    "  --lr X              peak learning rate (0.001)\n"
    "  --warmup N          linear warmup steps (100)\n"
    "  --decay SPEC        after warmup: none | cosine[:FINAL] | linear[:FINAL] |\n"
    "                      step:EVERY[:GAMMA]; FINAL is a fraction of --lr reached at\n"
    "                      the last step (cosine:0.1); step multiplies the lr by GAMMA\n"
    "                      (0.5) every EVERY steps\n"
    "  --clip G            clip the gradient's global L2 norm to G (1; 0 = off)\n"
    "  --weight-decay W    decoupled weight decay on weight tensors, not biases (0)\n"
    "  --optimizer NAME    adam (default), sgd, momentum, nesterov, adagrad, rmsprop\n"
    "  --seed N            data RNG seed: window positions and gains (1)\n"
    "  --threads N         OpenMP threads (default: all): a window each, and windows\n"
    "                      that do not fill them shared by time chunks; resuming bit\n"
    "                      for bit needs the same count\n"
    "  --valid-every N     validate every N steps (500)\n"
    "  --patience N        stop after N validations without a new best (0 = never)\n"
    "  --gain-jitter DB    random gain per window, uniform in +-DB dB (0 = off)\n"
    "  --trim-db DB        trim leading/trailing silence quieter than the clip's\n"
    "                      peak - DB dB (40; 0 = off)\n"
    "  --checkpoint PATH   checkpoint file (OUT.ckpt)\n"
    "  --checkpoint-every N  write the checkpoint every N steps (500; 0 = at the end)\n"
    "  --resume CKPT       continue a run from its checkpoint: weights, optimizer,\n"
    "                      data RNG, schedule, best validation; the checkpoint's\n"
    "                      settings and files are the defaults\n"
    "  --log FILE.csv      append one row per progress line (each row whole or not\n"
    "                      at all; '-': to stdout)\n"
    "  --print-every S     seconds between progress lines (10)\n"
    "\n"
    "SIGINT/SIGTERM write the checkpoint at the end of the current step and exit 0;\n"
    "a second signal a second or more later stops at once.\n";

static volatile sig_atomic_t g_stop;
static struct timespec g_first_signal;

/* The first SIGINT/SIGTERM asks for a checkpoint at the end of the step.
 * Another one a second or more later ends the process at once; one sooner
 * is the same request delivered twice (timeout(1), job schedulers and
 * terminals may signal both the process and its group). */
static void on_signal(int sig)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
    if (!g_stop) {
        g_first_signal = now;
        g_stop = 1;
        return;
    }
    if (now.tv_sec - g_first_signal.tv_sec >= 2 ||
        (now.tv_sec - g_first_signal.tv_sec == 1 && now.tv_nsec >= g_first_signal.tv_nsec)) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
}

static int stop_requested(void *user, double done, double total)
{
    (void)user;
    (void)done;
    (void)total;
    return g_stop != 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fmt_duration(double s, char *buf, size_t n)
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

/* A growable list of paths (argv strings or malloc'ed from list files). */
typedef struct plist {
    char **v;
    int n;
} plist;

static int plist_add(plist *l, const char *s)
{
    char **nv = realloc(l->v, sizeof *nv * (size_t)(l->n + 1));
    if (!nv) return -1;
    l->v = nv;
    if (!(l->v[l->n] = strdup(s))) return -1;
    l->n++;
    return 0;
}

static void plist_free(plist *l)
{
    wn_list_free(l->v, l->n);
    l->v = NULL;
    l->n = 0;
}

/* Can we create files beside path? (the check made before any training) */
static int check_writable(const char *flag, const char *path)
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
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/.wavenet-train-probe.%ld", dir, (long)getpid());
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return cli_fail("%s %s: cannot write in %s: %s", flag, path, dir, strerror(errno));
    close(fd);
    unlink(probe);
    return 0;
}

/* Flags given on the command line (they override a checkpoint's settings). */
typedef struct opts {
    const char *model, *out, *ckpt, *resume, *log;
    plist train, valid;
    int train_given, valid_given;
    long steps, batch, window, warmup, threads, valid_every, patience, ckpt_every;
    double minutes, lr, clip, wd, jitter, trim, print_every;
    uint64_t seed;
    const char *decay, *optimizer;
    int set_steps, set_batch, set_window, set_warmup, set_threads, set_valid_every,
        set_patience, set_ckpt_every, set_minutes, set_lr, set_clip, set_wd, set_jitter,
        set_trim, set_seed;
} opts;

static int is_flag(const char *s) { return s[0] == '-' && s[1] != 0; }

static int parse_args(int argc, char **argv, opts *o)
{
    wn_error err;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
#define VALUE() \
    if (!(v = cli_value(argc, argv, &i))) return -1
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 1;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            VALUE();
            o->model = v;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            VALUE();
            o->out = v;
        } else if (!strcmp(a, "--train") || !strcmp(a, "--valid")) {
            plist *l = a[2] == 't' ? &o->train : &o->valid;
            *(a[2] == 't' ? &o->train_given : &o->valid_given) = 1;
            int got = 0;
            while (i + 1 < argc && !is_flag(argv[i + 1])) {
                if (plist_add(l, argv[++i])) return cli_fail("out of memory"), -1;
                got++;
            }
            if (!got) return cli_fail("%s needs one or more paths", a), -1;
        } else if (!strcmp(a, "--train-list") || !strcmp(a, "--valid-list")) {
            VALUE();
            plist *l = a[2] == 't' ? &o->train : &o->valid;
            *(a[2] == 't' ? &o->train_given : &o->valid_given) = 1;
            if (wn_list_read(v, &l->v, &l->n, &err)) return cli_fail_err(&err), -3;
        } else if (!strcmp(a, "--steps")) {
            VALUE();
            if (cli_int(a, v, 1, 1000000000000L, &o->steps)) return -1;
            o->set_steps = 1;
        } else if (!strcmp(a, "--minutes")) {
            VALUE();
            if (cli_double(a, v, 1e-3, 1e7, &o->minutes)) return -1;
            o->set_minutes = 1;
        } else if (!strcmp(a, "--batch")) {
            VALUE();
            if (cli_int(a, v, 1, 65536, &o->batch)) return -1;
            o->set_batch = 1;
        } else if (!strcmp(a, "--window")) {
            VALUE();
            if (cli_int(a, v, 1, 1 << 24, &o->window)) return -1;
            o->set_window = 1;
        } else if (!strcmp(a, "--lr")) {
            VALUE();
            if (cli_double(a, v, 0, 1e6, &o->lr)) return -1;
            o->set_lr = 1;
        } else if (!strcmp(a, "--warmup")) {
            VALUE();
            if (cli_int(a, v, 0, 1000000000000L, &o->warmup)) return -1;
            o->set_warmup = 1;
        } else if (!strcmp(a, "--decay")) {
            VALUE();
            wn_train_params tp = wn_train_default_params();
            if (wn_decay_parse(v, &tp, &err)) return cli_fail("--%s", err.message), -1;
            o->decay = v;
        } else if (!strcmp(a, "--clip")) {
            VALUE();
            if (cli_double(a, v, 0, 1e30, &o->clip)) return -1;
            o->set_clip = 1;
        } else if (!strcmp(a, "--weight-decay")) {
            VALUE();
            if (cli_double(a, v, 0, 1e6, &o->wd)) return -1;
            o->set_wd = 1;
        } else if (!strcmp(a, "--seed")) {
            VALUE();
            if (cli_u64(a, v, &o->seed)) return -1;
            o->set_seed = 1;
        } else if (!strcmp(a, "--threads")) {
            VALUE();
            if (cli_int(a, v, 1, 4096, &o->threads)) return -1;
            o->set_threads = 1;
        } else if (!strcmp(a, "--checkpoint-every")) {
            VALUE();
            if (cli_int(a, v, 0, 1000000000000L, &o->ckpt_every)) return -1;
            o->set_ckpt_every = 1;
        } else if (!strcmp(a, "--checkpoint")) {
            VALUE();
            o->ckpt = v;
        } else if (!strcmp(a, "--resume")) {
            VALUE();
            o->resume = v;
        } else if (!strcmp(a, "--valid-every")) {
            VALUE();
            if (cli_int(a, v, 0, 1000000000000L, &o->valid_every)) return -1;
            o->set_valid_every = 1;
        } else if (!strcmp(a, "--patience")) {
            VALUE();
            if (cli_int(a, v, 0, 1000000000L, &o->patience)) return -1;
            o->set_patience = 1;
        } else if (!strcmp(a, "--optimizer")) {
            VALUE();
            if (wn_optimizer_parse(v) < 0)
                return cli_fail("--optimizer '%s': expected adam, sgd, momentum, nesterov, "
                                "adagrad or rmsprop", v), -1;
            o->optimizer = v;
        } else if (!strcmp(a, "--gain-jitter")) {
            VALUE();
            if (cli_double(a, v, 0, 60, &o->jitter)) return -1;
            o->set_jitter = 1;
        } else if (!strcmp(a, "--trim-db")) {
            VALUE();
            if (cli_double(a, v, 0, 200, &o->trim)) return -1;
            o->set_trim = 1;
        } else if (!strcmp(a, "--log")) {
            VALUE();
            o->log = v;
        } else if (!strcmp(a, "--print-every")) {
            VALUE();
            if (cli_double(a, v, 0, 1e7, &o->print_every)) return -1;
        } else {
            return cli_fail("train: unknown option '%s' (try 'wavenet train --help')", a), -1;
        }
#undef VALUE
    }
    return 0;
}

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

static int log_row(csvlog *lg, wn_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int log_row(csvlog *lg, wn_error *err, const char *fmt, ...)
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
static int progress_line(csvlog *log, const wn_trainer *tr, interval *iv, double valid_bits,
                         int fresh, float lr, double grad_norm, double eta, wn_error *err)
{
    int64_t step = wn_trainer_steps_done(tr);
    wn_train_params p = wn_trainer_params(tr);
    double train_bits = iv->steps ? iv->loss_sum / iv->steps : NAN;
    double rate = iv->step_seconds > 0 ? iv->samples / iv->step_seconds : NAN;
    char eta_s[32], total[32] = "", vb[32], tb[32];
    fmt_duration(eta, eta_s, sizeof eta_s);
    if (p.steps > 0) snprintf(total, sizeof total, "/%lld", (long long)p.steps);
    snprintf(vb, sizeof vb, isfinite(valid_bits) ? "%.4f" : "-", valid_bits);
    snprintf(tb, sizeof tb, isfinite(train_bits) ? "%.4f" : "-", train_bits);
    fprintf(stderr, "step %lld%s  train %s bits  valid %s bits  %.0f samples/s  lr %.3g  ETA %s\n",
            (long long)step, total, tb, vb, isfinite(rate) ? rate : 0.0, lr, eta_s);
    iv->loss_sum = 0;
    iv->steps = 0;
    iv->samples = 0;
    iv->step_seconds = 0;
    iv->t0 = now_s();
    if (!log) return 0;
    return log_row(log, err, "%lld,%.3f,%s,%s,%.1f,%.6g,%.6g,%.1f\n", (long long)step,
                   wn_trainer_seconds(tr), isfinite(train_bits) ? tb : "",
                   fresh && isfinite(valid_bits) ? vb : "", isfinite(rate) ? rate : 0.0, lr,
                   grad_norm,
                   isfinite(eta) ? eta : -1.0);
}

/* A validation on a line and a row of its own (outside the intervals). */
static int valid_line(csvlog *log, const wn_trainer *tr, int64_t step, double bits,
                      int improved, double eta, wn_error *err)
{
    fprintf(stderr, "step %lld  valid %.4f bits%s\n", (long long)step, bits,
            improved ? " (new best)" : "");
    return log ? log_row(log, err, "%lld,%.3f,,%.4f,,,,%.1f\n", (long long)step,
                         wn_trainer_seconds(tr), bits, eta)
               : 0;
}

static void report_clips(const wn_trainer *tr, int rate, int window, int rf)
{
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < wn_trainer_clip_count(tr, w); i++) {
            const wn_clip_report *r = wn_trainer_clip(tr, w, i);
            if (r->resampled)
                cli_note("%s: resampled from %d Hz to %d Hz", r->path, r->file_rate, rate);
            if (w) continue;
            if (r->unusable) {
                int64_t need = window > rf + 1 ? window : rf + 1;
                if (r->silent)
                    fprintf(stderr, "wavenet: warning: %s: all silence; skipped\n", r->path);
                else
                    fprintf(stderr,
                            "wavenet: warning: %s: %lld samples%s is too short to train on "
                            "(needs %lld: more than the receptive field %d and at least the "
                            "window %d); skipped\n",
                            r->path, (long long)(r->samples - r->head - r->tail),
                            r->head || r->tail ? " left after trimming its silence" : "",
                            (long long)need, rf, window);
            } else if (r->head || r->tail) {
                cli_note("%s: trimmed %.2f s of silence at the start, %.2f s at the end "
                         "(%.2f s kept)", r->path, (double)r->head / rate,
                         (double)r->tail / rate,
                         (double)(r->samples - r->head - r->tail) / rate);
            } else if (wn_trainer_params(tr).trim_db > 0) { /* a line for every file */
                cli_note("%s: no silence to trim at its ends (%.2f s kept)", r->path,
                         (double)r->samples / rate);
            }
        }
    }
}

int cmd_train(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof o);
    o.print_every = 10;
    int status = 1;
    wn_error err = {0};
    wn_model *m = NULL;
    wn_trainer *tr = NULL;
    csvlog logw = {-1, NULL}, *log = NULL;
    char ckpt_buf[4096];
    plist ck_train = {0}, ck_valid = {0};

    /* exit 2 for a wrong command line, as every command does; 1 when a
     * file named on it cannot be used */
    int pr = parse_args(argc, argv, &o);
    if (pr) {
        status = pr > 0 ? 0 : pr == -3 ? 1 : 2;
        goto out;
    }
    status = 2;
    if (!o.out) {
        cli_fail("train: -o OUT is required (try 'wavenet train --help')");
        goto out;
    }
    if (!o.model && !o.resume) {
        cli_fail("train: -m MODEL is required (or --resume CKPT)");
        goto out;
    }
    if (o.set_steps && o.set_minutes) {
        cli_fail("train: give --steps or --minutes, not both");
        goto out;
    }
    if (!o.ckpt) {
        snprintf(ckpt_buf, sizeof ckpt_buf, "%s.ckpt", o.out);
        o.ckpt = ckpt_buf;
    }
    if (!strcmp(o.ckpt, o.out)) {
        cli_fail("train: the checkpoint and -o must be different files (%s)", o.out);
        goto out;
    }
    status = 1;

    /* the settings: defaults, or the checkpoint's when resuming; then flags */
    wn_train_params p = wn_train_default_params();
    p.steps = DEFAULT_STEPS;
    int64_t resumed_step = 0;
    if (o.resume) {
        if (wn_checkpoint_read(o.resume, &p, &resumed_step, &ck_train.v, &ck_train.n,
                               &ck_valid.v, &ck_valid.n, &err)) {
            cli_fail_err(&err);
            goto out;
        }
        if (o.model) cli_note("-m %s ignored: the weights come from --resume %s", o.model, o.resume);
        m = wn_model_load(o.resume, &err);
    } else {
        m = wn_model_load(o.model, &err);
    }
    if (!m) {
        cli_fail_err(&err);
        goto out;
    }
    if (o.set_steps) p.steps = o.steps;
    /* --minutes: the schedule's length is estimated once running, unless a
     * resumed checkpoint already fixed it (so the same command with
     * --resume continues the same schedule) */
    if (o.set_minutes && !(o.resume && p.steps > 0)) p.steps = 0;
    if (o.resume && p.steps == 0 && !o.set_steps && !o.set_minutes) {
        cli_fail("--resume %s: that run had no step count yet (--minutes); give --steps N "
                 "or --minutes M", o.resume);
        goto out;
    }
    if (o.set_batch) p.batch = (int)o.batch;
    if (o.set_window) p.window = (int)o.window;
    if (o.set_lr) p.lr = (float)o.lr;
    if (o.set_warmup) p.warmup = o.warmup;
    if (o.decay && wn_decay_parse(o.decay, &p, &err)) {
        cli_fail("--%s", err.message);
        goto out;
    }
    if (o.set_clip) p.clip = (float)o.clip;
    if (o.set_wd) p.optim.weight_decay = (float)o.wd;
    if (o.optimizer) {
        wn_optimizer k = (wn_optimizer)wn_optimizer_parse(o.optimizer);
        if (o.resume && k != p.optim.kind) {
            cli_fail("--optimizer %s: the checkpoint was trained with %s, whose moments "
                     "cannot continue as %s", o.optimizer, wn_optimizer_name(p.optim.kind),
                     o.optimizer);
            goto out;
        }
        p.optim.kind = k;
    }
    if (o.set_seed) p.seed = o.seed;
    if (o.set_threads) p.threads = (int)o.threads;
    if (o.set_valid_every) p.valid_every = o.valid_every;
    if (o.set_patience) p.patience = (int)o.patience;
    if (o.set_jitter) p.gain_jitter_db = (float)o.jitter;
    if (o.set_trim) p.trim_db = (float)o.trim;
    long ckpt_every = o.set_ckpt_every ? o.ckpt_every : 500;
    p.best_path = o.out;
    p.progress = stop_requested;

    const plist *train = o.train_given || !o.resume ? &o.train : &ck_train;
    const plist *valid = o.valid_given || !o.resume ? &o.valid : &ck_valid;
    if (train->n == 0) {
        cli_fail("train: no training files (give --train PATH... or --train-list FILE)");
        goto out;
    }
    for (int i = 0; i < valid->n; i++)
        for (int j = 0; j < train->n; j++)
            if (!strcmp(valid->v[i], train->v[j]))
                fprintf(stderr, "wavenet: warning: %s is both a training and a validation "
                        "file\n", valid->v[i]);
    if (check_writable("-o", o.out) || check_writable("--checkpoint", o.ckpt) ||
        (o.log && strcmp(o.log, "-") && check_writable("--log", o.log)))
        goto out;
    if (o.log) { /* "-": the rows on stdout */
        logw.path = o.log;
        if (strcmp(o.log, "-") &&
            (logw.fd = open(o.log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666)) < 0) {
            cli_fail("--log %s: %s", o.log, strerror(errno));
            goto out;
        }
        log = &logw;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    tr = wn_trainer_create(m, &p, (const char *const *)train->v, train->n,
                           (const char *const *)valid->v, valid->n, &err);
    if (!tr) {
        if (err.code == WN_ERR_INTERRUPTED) {
            cli_note("interrupted while reading the data; nothing written");
            status = 0;
        } else {
            cli_fail_err(&err);
        }
        goto out;
    }
    wn_config cfg = wn_model_config(m);
    int rf = wn_model_receptive_field(m);
    report_clips(tr, cfg.sample_rate, p.window, rf);
    if (o.resume && wn_trainer_resume(tr, o.resume, &err)) {
        cli_fail_err(&err);
        goto out;
    }
    int nvalid = wn_trainer_clip_count(tr, 1);
    {
        int used = 0;
        for (int i = 0; i < wn_trainer_clip_count(tr, 0); i++)
            used += !wn_trainer_clip(tr, 0, i)->unusable;
        char decay[64], threads[16];
        wn_decay_format(&p, decay, sizeof decay);
        if (p.threads)
            snprintf(threads, sizeof threads, "%d", p.threads);
        else
            snprintf(threads, sizeof threads, "all");
        fprintf(stderr,
                "wavenet: training %zu parameters (receptive field %d) on %d clips "
                "(%.1f s), validating on %d (%.1f s)\n",
                wn_model_param_count(m), rf, used,
                (double)wn_trainer_data_samples(tr, 0) / cfg.sample_rate, nvalid,
                (double)wn_trainer_data_samples(tr, 1) / cfg.sample_rate);
        fprintf(stderr,
                "wavenet: batch %d x window %d (+%d), %s, lr %g, warmup %lld, decay %s, "
                "clip %g, weight decay %g, threads %s\n",
                p.batch, p.window, rf, wn_optimizer_name(p.optim.kind), p.lr,
                (long long)p.warmup, decay, p.clip, p.optim.weight_decay, threads);
        fprintf(stderr, "wavenet: memory estimate %.1f MiB (grows with batch x window; the "
                "clips, %.1f MiB, wait in a temporary file)\n",
                (double)wn_trainer_memory(tr) / (1024.0 * 1024.0),
                4.0 * (double)(wn_trainer_data_samples(tr, 0) + wn_trainer_data_samples(tr, 1)) /
                    (1024.0 * 1024.0));
        if (o.resume)
            fprintf(stderr, "wavenet: resuming %s at step %lld\n", o.resume,
                    (long long)wn_trainer_steps_done(tr));
        if (!nvalid)
            cli_note("no validation clips: %s will hold the last weights, not the best", o.out);
    }
    struct stat lst;
    if (log && (log->fd < 0 || (fstat(log->fd, &lst) == 0 && lst.st_size == 0)) &&
        log_row(log, &err, "step,seconds,train_bits,valid_bits,samples_per_s,lr,grad_norm,"
                "eta_s\n")) {
        cli_fail_err(&err);
        goto out;
    }

    double budget = o.set_minutes ? o.minutes * 60.0 : 0;
    double seg_t0 = wn_trainer_seconds(tr);
    int64_t seg_step0 = wn_trainer_steps_done(tr);
    interval iv = {0};
    iv.t0 = now_s();
    double last_valid = NAN, eta = NAN, last_norm = NAN;
    float last_lr = wn_train_lr(&p, wn_trainer_steps_done(tr));
    int64_t last_ckpt_step = o.resume ? resumed_step : -1;
    int interrupted = 0, early = 0, failed = 0, wrote_best = 0; /* wrote_best: -o, this run */
    {
        int64_t bs;
        double b = wn_trainer_best(tr, &bs);
        if (isfinite(b)) last_valid = b;
    }

    for (;;) {
        int64_t step = wn_trainer_steps_done(tr);
        wn_train_params cur = wn_trainer_params(tr);
        if (g_stop) {
            interrupted = 1;
            break;
        }
        if (cur.steps > 0 && step >= cur.steps) break;
        if (budget > 0 && wn_trainer_seconds(tr) >= budget) break;
        wn_train_stats st;
        int rc = wn_trainer_step(tr, &st, &err);
        if (rc == WN_ERR_INTERRUPTED) {
            interrupted = 1;
            break;
        }
        if (rc) {
            failed = 1;
            break;
        }
        iv.loss_sum += st.loss_bits;
        iv.steps++;
        iv.samples += (double)st.samples;
        iv.step_seconds += st.step_seconds;
        last_lr = st.lr;
        last_norm = st.grad_norm;
        step = st.step;
        /* --minutes: fix the schedule's length once the speed is known,
         * counting the validations to come */
        double seg_secs = wn_trainer_seconds(tr) - seg_t0;
        int64_t seg_steps = step - seg_step0;
        if (budget > 0 && cur.steps == 0 && seg_steps >= 5 &&
            seg_secs >= fmin(30.0, 0.03 * budget)) {
            double per = seg_secs / (double)seg_steps;
            if (nvalid && cur.valid_every > 0 && wn_trainer_last_validation(tr) < 0) {
                double vs = (double)wn_trainer_data_samples(tr, 1);
                double ws = (double)cur.batch * (cur.window + rf);
                per += per / 3.0 * vs / ws / (double)cur.valid_every;
            }
            int64_t horizon = step + (int64_t)((budget - wn_trainer_seconds(tr)) / per);
            if (horizon <= step) horizon = step + 1;
            wn_trainer_set_steps(tr, horizon);
            cli_note("--minutes %g: about %lld steps; the lr schedule ends there", o.minutes,
                     (long long)horizon);
        }
        cur = wn_trainer_params(tr);
        double secs_per_step = seg_steps > 0 ? seg_secs / (double)seg_steps : NAN;
        eta = cur.steps > 0 ? (double)(cur.steps - step) * secs_per_step : NAN;
        if (budget > 0) {
            double left = budget - wn_trainer_seconds(tr);
            eta = isfinite(eta) ? fmin(eta, left) : left;
        }
        if (st.validated) last_valid = st.valid_bits;
        /* a validation of the step before, which an interrupt had cut
         * short: its own line and row */
        if (st.validated && st.valid_step != step &&
            valid_line(log, tr, st.valid_step, st.valid_bits, st.improved, -1.0, &err)) {
            failed = 1;
            break;
        }
        const int fresh = st.validated && st.valid_step == step;
        int due_print = fresh || step == seg_step0 + 1 || now_s() - iv.t0 >= o.print_every ||
                        st.stop || (cur.steps > 0 && step >= cur.steps);
        if (due_print &&
            progress_line(log, tr, &iv, last_valid, fresh, last_lr, last_norm, eta, &err)) {
            failed = 1;
            break;
        }
        wrote_best |= st.validated && st.improved;
        if (st.validated && st.improved)
            cli_note("step %lld: new best %.4f bits/sample, saved %s", (long long)st.valid_step,
                     st.valid_bits, o.out);
        if (ckpt_every > 0 && step % ckpt_every == 0) {
            if (wn_trainer_save(tr, o.ckpt, &err) ||
                (!nvalid && wn_trainer_save_model(tr, o.out, &err))) {
                failed = 1;
                break;
            }
            last_ckpt_step = step;
        }
        if (st.stop) {
            early = 1;
            break;
        }
    }

    int64_t step = wn_trainer_steps_done(tr);
    if (failed) {
        cli_fail_err(&err);
        if (err.code == WN_ERR_NONFINITE) {
            if (last_ckpt_step >= 0)
                cli_note("stopped; the last good checkpoint is %s (step %lld)", o.ckpt,
                         (long long)last_ckpt_step);
            else
                cli_note("stopped; no checkpoint was written");
        }
        goto out;
    }
    /* after Ctrl-C the run is not over: the time it still needs */
    if (iv.steps && progress_line(log, tr, &iv, last_valid, 0, last_lr, last_norm,
                                  interrupted ? eta : 0, &err)) {
        cli_fail_err(&err);
        goto out;
    }
    if (!interrupted && nvalid && step > 0 && wn_trainer_last_validation(tr) != step) {
        wn_train_stats st;
        int rc = wn_trainer_validate(tr, &st, &err);
        if (rc == WN_ERR_INTERRUPTED) {
            interrupted = 1;
        } else if (rc) {
            cli_fail_err(&err);
            goto out;
        } else {
            wrote_best |= st.improved;
            if (valid_line(log, tr, step, st.valid_bits, st.improved, 0, &err)) {
                cli_fail_err(&err);
                goto out;
            }
        }
    }
    if (wn_trainer_save(tr, o.ckpt, &err) || (!nvalid && wn_trainer_save_model(tr, o.out, &err))) {
        cli_fail_err(&err);
        goto out;
    }
    int64_t best_step;
    double best = wn_trainer_best(tr, &best_step);
    char took[32];
    fmt_duration(wn_trainer_seconds(tr), took, sizeof took);
    if (interrupted) {
        fprintf(stderr,
                "wavenet: interrupted at step %lld: checkpoint written to %s (continue with "
                "--resume %s)\n", (long long)step, o.ckpt, o.ckpt);
    } else if (early) {
        fprintf(stderr,
                "wavenet: early stop at step %lld: no new best in %d validations\n",
                (long long)step, p.patience);
    }
    FILE *res = log && log->fd < 0 ? stderr : stdout; /* stdout holds only the CSV then */
    struct stat ost;
    if (nvalid && isfinite(best) && !wrote_best && stat(o.out, &ost) != 0)
        fprintf(res, "%s: not written: no validation of this run beat the best so far, %.4f "
                "bits/sample at step %lld, whose weights the checkpoint does not hold (%lld "
                "steps; checkpoint %s)\n", o.out, best, (long long)best_step, (long long)step,
                o.ckpt);
    else if (nvalid && isfinite(best))
        fprintf(res, "%s: best validation %.4f bits/sample at step %lld (%lld steps, %s of "
                "training; checkpoint %s)\n", o.out, best, (long long)best_step,
                (long long)step, took, o.ckpt);
    else if (nvalid)
        fprintf(res, "%s: not written yet (no validation ran; %lld steps; checkpoint %s)\n",
                o.out, (long long)step, o.ckpt);
    else
        fprintf(res, "%s: weights after step %lld (%s of training; checkpoint %s)\n", o.out,
                (long long)step, took, o.ckpt);
    status = 0;
out:
    if (logw.fd >= 0) close(logw.fd);
    wn_trainer_free(tr);
    wn_model_free(m);
    plist_free(&o.train);
    plist_free(&o.valid);
    plist_free(&ck_train);
    plist_free(&ck_valid);
    return status;
}
