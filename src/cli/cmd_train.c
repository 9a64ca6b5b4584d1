/* cmd_train.c - `wavenet train`: its options, the run's stages (settings,
 * outputs, data, the loop of steps with its checkpoints, the end), signals
 * and the agreement of MPI ranks, all over the wn_trainer API; the lines
 * and the CSV log it writes are train_log.c's, the mathematics src/train.c's. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"
#include "train_log.h"

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

/* A growable list of paths (argv strings or malloc'ed from list files),
 * each with its speaker (a list file's 'path<TAB>speaker'; NULL: none). */
typedef struct plist {
    char **v;
    char **spk; /* NULL, or n entries */
    int n;
} plist;

static int plist_add(plist *l, const char *s)
{
    char **nv = realloc(l->v, sizeof *nv * (size_t)(l->n + 1));
    if (!nv) return -1;
    l->v = nv;
    char **ns = realloc(l->spk, sizeof *ns * (size_t)(l->n + 1));
    if (!ns) return -1;
    l->spk = ns;
    l->spk[l->n] = NULL;
    if (!(l->v[l->n] = strdup(s))) return -1;
    l->n++;
    return 0;
}

static void plist_free(plist *l)
{
    wn_list_free(l->spk, l->spk ? l->n : 0);
    wn_list_free(l->v, l->n);
    l->v = l->spk = NULL;
    l->n = 0;
}

static int plist_has_speakers(const plist *l)
{
    for (int i = 0; l->spk && i < l->n; i++)
        if (l->spk[i]) return 1;
    return 0;
}

/* The command line (its flags override a checkpoint's settings: set_*). */
typedef struct opts {
    const char *model, *out, *ckpt, *resume, *log, *decay, *optimizer;
    plist train, valid;
    plist lists; /* the list files named (inputs, never to be overwritten) */
    int train_given, valid_given;
    long steps, batch, window, warmup, threads, valid_every, patience, ckpt_every;
    double minutes, lr, clip, wd, jitter, trim, print_every;
    uint64_t seed;
    int set_steps, set_batch, set_window, set_warmup, set_threads, set_valid_every,
        set_patience, set_ckpt_every, set_minutes, set_lr, set_clip, set_wd, set_jitter,
        set_trim, set_seed;
    int quiet, verbose, spk_folder;
} opts;

static int add_path(void *o, const char *flag, const char *v)
{
    opts *t = o;
    return plist_add(flag[2] == 't' ? &t->train : &t->valid, v) ? cli_fail("out of memory") : 0;
}

static int add_list(void *o, const char *flag, const char *v)
{
    opts *t = o;
    plist *l = flag[2] == 't' ? &t->train : &t->valid;
    wn_error err;
    if (plist_add(&t->lists, v)) return cli_fail("out of memory");
    if (!l->spk && l->n) { /* the speakers beside every path so far (none) */
        if (!(l->spk = calloc((size_t)l->n, sizeof *l->spk))) return cli_fail("out of memory");
    }
    return wn_list_read_speakers(v, &l->v, &l->spk, &l->n, &err) ? cli_fail_err(&err) : 0;
}

static int set_decay(void *o, const char *flag, const char *v)
{
    (void)flag;
    wn_train_params tp = wn_train_default_params();
    wn_error err;
    if (wn_decay_parse(v, &tp, &err)) return cli_fail("--%s", err.message), 2;
    ((opts *)o)->decay = v;
    return 0;
}

static int set_optimizer(void *o, const char *flag, const char *v)
{
    if (wn_optimizer_parse(v) < 0)
        return cli_fail("%s '%s': expected adam, sgd, momentum, nesterov, adagrad or rmsprop",
                        flag, v), 2;
    ((opts *)o)->optimizer = v;
    return 0;
}

#define O(f) offsetof(opts, f)
#define SET(f) CLI_GIVEN(opts, f)
static const cli_opt table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "model", .short_name = 'm', .kind = CLI_STR, .arg = "MODEL",
     .help = "starting weights (not needed with --resume)", .off = O(model)},
    {.name = "output", .short_name = 'o', .kind = CLI_STR, .arg = "OUT",
     .help = "best model so far (written atomically)", .off = O(out)},
    {.name = "train", .kind = CLI_PATHS, .arg = "PATH",
     .help = "training audio files or folders (every audio file inside)",
     .given = SET(train_given), .fn = add_path},
    {.name = "train-list", .kind = CLI_CALL, .arg = "FILE",
     .help = "a list file: one path per line, '#' comments, relative\n"
     "paths relative to the list file (repeatable); a line\n"
     "'path<TAB>speaker' names its clips' speaker",
     .given = SET(train_given), .fn = add_list},
    {.name = "valid", .kind = CLI_PATHS, .arg = "PATH", .help = "validation files or folders",
     .given = SET(valid_given), .fn = add_path},
    {.name = "valid-list", .kind = CLI_CALL, .arg = "FILE",
     .help = "a list file of validation paths, as --train-list", .given = SET(valid_given),
     .fn = add_list},
    {.name = "speaker-from-folder", .kind = CLI_FLAG,
     .help = "a speaker model: each sub-folder of a --train or --valid\n"
     "folder is a speaker, named by the sub-folder", .off = O(spk_folder)},
    {.name = "steps", .kind = CLI_INT, .arg = "N",
     .help = "total steps (default " "2000" "; with --resume, the checkpoint's)",
     .off = O(steps), .lo = 1, .hi = 1e12, .given = SET(set_steps)},
    {.name = "minutes", .kind = CLI_NUM, .arg = "M",
     .help = "train for M minutes of training time instead (a resumed\n"
     "run counts the time before); the lr schedule's length is\n"
     "estimated from the first steps and kept in the checkpoint",
     .off = O(minutes), .lo = 1e-3, .hi = 1e7, .given = SET(set_minutes)},
    {.name = "batch", .kind = CLI_INT, .arg = "B", .help = "windows per step (8)",
     .off = O(batch), .lo = 1, .hi = 65536, .given = SET(set_batch)},
    {.name = "window", .kind = CLI_INT, .arg = "T",
     .help = "predicted samples per window (2048); a window holds\n"
     "receptive field + T samples",
     .off = O(window), .lo = 1, .hi = 1 << 24, .given = SET(set_window)},
    {.name = "lr", .kind = CLI_NUM, .arg = "X", .help = "peak learning rate (0.001)",
     .off = O(lr), .lo = 1e-9, .hi = 1e6, .zero_ok = 1, .given = SET(set_lr)},
    {.name = "warmup", .kind = CLI_INT, .arg = "N", .help = "linear warmup steps (100)",
     .off = O(warmup), .lo = 0, .hi = 1e12, .given = SET(set_warmup)},
    {.name = "decay", .kind = CLI_CALL, .arg = "SPEC",
     .help = "after warmup: none | cosine[:FINAL] | linear[:FINAL] |\n"
     "step:EVERY[:GAMMA]; FINAL is a fraction of --lr reached at\n"
     "the last step (cosine:0.1); step multiplies the lr by GAMMA\n"
     "(0.5) every EVERY steps", .fn = set_decay},
    {.name = "clip", .kind = CLI_NUM, .arg = "G",
     .help = "clip the gradient's global L2 norm to G (1; 0 = off)", .off = O(clip), .lo = 1e-6,
     .hi = 1e30, .zero_ok = 1, .given = SET(set_clip)},
    {.name = "weight-decay", .kind = CLI_NUM, .arg = "W",
     .help = "decoupled weight decay on weight tensors, not biases (0)", .off = O(wd),
     .lo = 1e-9, .hi = 1e6, .zero_ok = 1, .given = SET(set_wd)},
    {.name = "optimizer", .kind = CLI_CALL, .arg = "NAME",
     .help = "adam (default), sgd, momentum, nesterov, adagrad, rmsprop", .fn = set_optimizer},
    {.name = "seed", .kind = CLI_U64, .arg = "N",
     .help = "data RNG seed: window positions and gains (1)", .off = O(seed),
     .given = SET(set_seed)},
    {.name = "threads", .kind = CLI_INT, .arg = "N",
     .help = "OpenMP threads (default: all): a window each, and windows\n"
     "that do not fill them shared by time chunks; resuming bit\n"
     "for bit needs the same count",
     .off = O(threads), .lo = 1, .hi = 4096, .given = SET(set_threads)},
    {.name = "valid-every", .kind = CLI_INT, .arg = "N", .help = "validate every N steps (500)",
     .off = O(valid_every), .lo = 0, .hi = 1e12, .given = SET(set_valid_every)},
    {.name = "patience", .kind = CLI_INT, .arg = "N",
     .help = "stop after N validations without a new best (0 = never)", .off = O(patience),
     .lo = 0, .hi = 1e9, .given = SET(set_patience)},
    {.name = "gain-jitter", .kind = CLI_NUM, .arg = "DB",
     .help = "random gain per window, uniform in +-DB dB (0 = off)", .off = O(jitter),
     .lo = 1e-3, .hi = 60, .zero_ok = 1, .given = SET(set_jitter)},
    {.name = "trim-db", .kind = CLI_NUM, .arg = "DB",
     .help = "trim leading/trailing silence quieter than the clip's\n"
     "peak - DB dB (40; 0 = off)",
     .off = O(trim), .lo = 1e-3, .hi = 200, .zero_ok = 1, .given = SET(set_trim)},
    {.name = "checkpoint", .kind = CLI_STR, .arg = "PATH", .help = "checkpoint file (OUT.ckpt)",
     .off = O(ckpt)},
    {.name = "checkpoint-every", .kind = CLI_INT, .arg = "N",
     .help = "write the checkpoint every N steps (500; 0 = at the end)", .off = O(ckpt_every),
     .lo = 0, .hi = 1e12, .given = SET(set_ckpt_every)},
    {.name = "resume", .kind = CLI_STR, .arg = "CKPT",
     .help = "continue a run from its checkpoint: weights, optimizer,\n"
     "data RNG, schedule, best validation; the checkpoint's\n"
     "settings and files are the defaults", .off = O(resume)},
    {.name = "log", .kind = CLI_STR, .arg = "FILE.csv",
     .help = "append one row per progress line (each row whole or not\n"
     "at all; '-': to stdout)", .off = O(log)},
    {.name = "print-every", .kind = CLI_NUM, .arg = "S",
     .help = "seconds between progress lines (10)", .off = O(print_every), .lo = 1e-3,
     .hi = 1e7, .zero_ok = 1},
    {.name = "quiet", .kind = CLI_FLAG,
     .help = "print only warnings, errors and the result line", .off = O(quiet)},
    {.name = "verbose", .kind = CLI_FLAG,
     .help = "a line for each data file read (its trimming, resampling,\n"
     "or why it is skipped) instead of one summary", .off = O(verbose)},
    {0},
};
#undef O
#undef SET

const cli_cmd cli_cmd_train = {
    .name = "train", .summary = "train a model on speech clips", .run = cmd_train,
    .synopsis = "-m MODEL -o OUT [--train PATH...] [--train-list FILE]\n"
                "                     [--valid PATH...] [--valid-list FILE] [--speaker-from-folder]\n"
                "                     [--steps N | --minutes M]\n"
                "                     [--batch B] [--window T] [--lr X] [--warmup N] [--decay SPEC]\n"
                "                     [--clip G] [--weight-decay W] [--seed N] [--threads N]\n"
                "                     [--checkpoint-every N] [--checkpoint PATH] [--resume CKPT]\n"
                "                     [--valid-every N] [--patience N] [--optimizer NAME]\n"
                "                     [--gain-jitter DB] [--trim-db DB] [--log FILE.csv]\n"
                "                     [--print-every S] [--quiet | --verbose]",
    .intro = "Train MODEL (a weights file from `wavenet init` or an earlier run) on speech\n"
             "clips; OUT receives the best model on the validation clips (the last one\n"
             "when there are none). A conditional model (mel bands or speakers, from\n"
             "`wavenet init`) learns from each clip's log-mel features and speaker\n"
             "(docs/TRAINING.md).\n",
    .outro = "SIGINT/SIGTERM write the checkpoint at the end of the current step and exit 0;\n"
             "a second signal a second or more later stops at once.\n",
    .opts = table,
};

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

typedef struct loading {
    int show;       /* stderr is a terminal and not --quiet */
    int active;     /* wn_trainer_create is reading */
    double shown;   /* when the line was last drawn */
    int width;      /* its length, to blank it */
} loading;

static int on_progress(void *user, double done, double total)
{
    loading *l = user;
    if (l->active && l->show) {
        double t = tlog_now();
        if (t - l->shown >= 0.25) { /* a few a second at most, none for a short read */
            l->shown = t;
            l->width = fprintf(stderr, "\rwavenet: reading the data: %.0f of %.0f files", done,
                               total) - 1;
        }
    }
    /* ranks stop together, at a step's start (train_steps): one rank must
     * not leave a validation or a read that the others go on with */
    return g_stop != 0 && wn_dist_size() == 1;
}

/* Everything the stages of a run share. */
typedef struct run {
    opts o;
    wn_train_params p;
    wn_model *m;
    wn_trainer *tr;
    csvlog logw, *log;
    plist ck_train, ck_valid;
    const plist *train, *valid;
    int64_t resumed_step, last_ckpt_step, seg_step0;
    char ckpt_buf[4200], out_buf[4096], log_buf[4096], abs_out[4096], abs_log[4096];
    const char *meta[5]; /* in the checkpoint: where this run writes */
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
    wn_error err;
} run;

/* What the command line must hold before anything is read: 2 if not. */
/* path made absolute against the current folder (a resumed run may start
 * from another one) */
static const char *absolute(const char *path, char *buf, size_t size)
{
    char cwd[4096];
    if (path[0] == '/' || !getcwd(cwd, sizeof cwd) ||
        snprintf(buf, size, "%s/%s", cwd, path) >= (int)size)
        return path;
    return buf;
}

static int check_args(run *r)
{
    opts *o = &r->o;
    /* --resume alone: the run's own -o, as its checkpoint recorded it
     * (older checkpoints: OUT.ckpt, the default name, gives OUT) */
    if (!o->out && o->resume) {
        size_t n = strlen(o->resume);
        if (wn_checkpoint_meta(o->resume, "user.out", r->out_buf, sizeof r->out_buf, NULL) ==
                WN_OK && r->out_buf[0])
            o->out = r->out_buf;
        else if (n > 5 && !strcmp(o->resume + n - 5, ".ckpt") && n - 5 < sizeof r->out_buf)
            o->out = memcpy(r->out_buf, o->resume, n - 5);
        if (o->out && !o->ckpt) o->ckpt = o->resume; /* and it goes on writing there */
    }
    if (!o->out)
        return cli_fail("train: -o OUT is required (try 'wavenet train --help')%s",
                        o->resume ? "; the checkpoint does not say where its run wrote" : ""),
               2;
    if (!o->model && !o->resume)
        return cli_fail("train: -m MODEL is required (or --resume CKPT)"), 2;
    if (o->set_steps && o->set_minutes)
        return cli_fail("train: give --steps or --minutes, not both"), 2;
    if (!o->ckpt) {
        if (snprintf(r->ckpt_buf, sizeof r->ckpt_buf, "%.4000s.ckpt", o->out) >=
            (int)sizeof r->ckpt_buf)
            return cli_fail("train: -o %s: path too long", o->out), 2;
        o->ckpt = r->ckpt_buf;
    }
    if (!strcmp(o->ckpt, o->out))
        return cli_fail("train: the checkpoint and -o must be different files (%s)", o->out), 2;
    return CLI_GO_ON;
}

/* The settings: defaults, or the checkpoint's when resuming; then the
 * flags given. And the starting weights. */
static int load_settings(run *r)
{
    opts *o = &r->o;
    wn_train_params *p = &r->p;
    *p = wn_train_default_params();
    p->steps = DEFAULT_STEPS;
    if (o->resume) {
        if (wn_checkpoint_read(o->resume, p, &r->resumed_step, &r->ck_train.v, &r->ck_train.n,
                               &r->ck_valid.v, &r->ck_valid.n, &r->err))
            return cli_fail_err(&r->err);
        /* and each file's speaker, as the run had it */
        for (int w = 0; w < 2; w++) {
            plist *l = w ? &r->ck_valid : &r->ck_train;
            int k = 0;
            if (wn_checkpoint_speakers(o->resume, w, &l->spk, &k, &r->err))
                return cli_fail_err(&r->err);
            if (k != l->n)
                return cli_fail("--resume %s: its file lists and their speakers disagree",
                                o->resume);
        }
        if (o->model && !o->quiet)
            cli_note("-m %s ignored: the weights come from --resume %s", o->model, o->resume);
        /* the run's log goes on where it was (unless --log names another) */
        if (!o->log && wn_checkpoint_meta(o->resume, "user.log", r->log_buf, sizeof r->log_buf,
                                          NULL) == WN_OK && r->log_buf[0]) {
            o->log = r->log_buf;
            if (!o->quiet) cli_note("appending to the run's log %s (--log names another)", o->log);
        }
    }
    if (!(r->m = wn_model_load(o->resume ? o->resume : o->model, &r->err)))
        return cli_fail_err(&r->err);
    if (o->set_steps) p->steps = o->steps;
    /* --minutes: the schedule's length is estimated once running, unless a
     * resumed checkpoint already fixed it (so the same command with
     * --resume continues the same schedule) */
    if (o->set_minutes && !(o->resume && p->steps > 0)) p->steps = 0;
    if (o->resume && p->steps == 0 && !o->set_steps && !o->set_minutes)
        return cli_fail("--resume %s: that run had no step count yet (--minutes); give --steps N "
                        "or --minutes M", o->resume);
    if (o->set_batch) p->batch = (int)o->batch;
    if (o->set_window) p->window = (int)o->window;
    if (o->set_lr) p->lr = (float)o->lr;
    if (o->set_warmup) p->warmup = o->warmup;
    /* the default warm-up would swallow a short run: a tenth of it */
    if (!o->resume && !o->set_warmup && p->steps > 0 && p->warmup * 10 > p->steps) {
        p->warmup = p->steps / 10;
        r->warmup_scaled = 1; /* said in the banner */
    }
    if (o->decay && wn_decay_parse(o->decay, p, &r->err)) return cli_fail("--%s", r->err.message);
    if (o->set_clip) p->clip = (float)o->clip;
    if (o->set_wd) p->optim.weight_decay = (float)o->wd;
    if (o->optimizer) {
        wn_optimizer k = (wn_optimizer)wn_optimizer_parse(o->optimizer);
        if (o->resume && k != p->optim.kind)
            return cli_fail("--optimizer %s: the checkpoint was trained with %s, whose moments "
                            "cannot continue as %s", o->optimizer,
                            wn_optimizer_name(p->optim.kind), o->optimizer);
        p->optim.kind = k;
    }
    if (o->set_seed) p->seed = o->seed;
    if (o->set_threads) p->threads = (int)o->threads;
    if (o->set_valid_every) p->valid_every = o->valid_every;
    if (o->set_patience) p->patience = (int)o->patience;
    if (o->set_jitter) p->gain_jitter_db = (float)o->jitter;
    if (o->set_trim) p->trim_db = (float)o->trim;
    r->ckpt_every = o->set_ckpt_every ? o->ckpt_every : 500;
    p->best_path = o->out;
    r->meta[0] = "user.out";
    r->meta[1] = absolute(o->out, r->abs_out, sizeof r->abs_out);
    r->meta[2] = "user.log";
    r->meta[3] = o->log && strcmp(o->log, "-") ? absolute(o->log, r->abs_log, sizeof r->abs_log)
                                                : "";
    r->meta[4] = NULL;
    p->meta = r->meta;
    p->progress = on_progress;
    p->progress_user = &r->load;
    return CLI_GO_ON;
}

/* No output is one of the run's inputs (by device and inode: any name of
 * the same file), nor two outputs the same file. */
static int no_output_over_input(run *r)
{
    const opts *o = &r->o;
    const char *outs[3][2] = {{"-o", o->out}, {"--checkpoint", o->ckpt}, {"--log", o->log}};
    plist in = {0};
    int bad = plist_add(&in, o->model ? o->model : "-") ||
              plist_add(&in, o->resume ? o->resume : "-");
    for (int w = 0; w < 2 && !bad; w++) {
        const plist *l = w ? r->valid : r->train;
        for (int i = 0; i < l->n && !bad; i++) {
            char **f = NULL;
            int nf = 0;
            if (wn_path_expand(l->v[i], &f, &nf, NULL) == WN_OK)
                for (int j = 0; j < nf && !bad; j++) bad = plist_add(&in, f[j]);
            wn_list_free(f, nf);
        }
    }
    for (int i = 0; i < o->lists.n && !bad; i++) bad = plist_add(&in, o->lists.v[i]);
    if (bad) {
        plist_free(&in);
        return cli_fail("out of memory");
    }
    int rc = 0;
    for (int k = 0; k < 3 && !rc; k++) {
        /* the checkpoint a run resumes from is where it goes on writing */
        int skip = k == 1 && o->resume;
        const char *save = skip ? in.v[1] : NULL;
        if (skip) in.v[1] = "-";
        rc = cli_output_is_input(outs[k][0], outs[k][1], (const char *const *)in.v, in.n);
        if (skip) in.v[1] = (char *)save;
        for (int j = k + 1; j < 3 && !rc; j++)
            rc = cli_output_is_input(outs[j][0], outs[j][1], &outs[k][1], 1);
    }
    plist_free(&in);
    return rc;
}

/* The data lists, and every output checked writable before any work. */
static int open_outputs(run *r)
{
    opts *o = &r->o;
    r->train = o->train_given || !o->resume ? &o->train : &r->ck_train;
    r->valid = o->valid_given || !o->resume ? &o->valid : &r->ck_valid;
    if (r->train->n == 0)
        return cli_fail("train: no training files (give --train PATH... or --train-list FILE)");
    if (r->rank) return CLI_GO_ON; /* rank 0 alone writes, and checks */
    for (int i = 0; i < r->valid->n; i++)
        for (int j = 0; j < r->train->n; j++)
            if (!strcmp(r->valid->v[i], r->train->v[j]))
                cli_warn("%s is both a training and a validation file", r->valid->v[i]);
    if (tlog_writable("-o", o->out) || tlog_writable("--checkpoint", o->ckpt) ||
        (o->log && strcmp(o->log, "-") && tlog_writable("--log", o->log)))
        return 1;
    if (no_output_over_input(r) || cli_lock("-o", o->out) || cli_lock("--checkpoint", o->ckpt))
        return 1;
    if (o->resume && o->log && strcmp(o->log, "-") && tlog_cut(o->log, r->resumed_step))
        return 1;
    if (o->log) { /* "-": the rows on stdout */
        r->logw.path = o->log;
        if (strcmp(o->log, "-") &&
            (r->logw.fd = open(o->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666)) < 0)
            return cli_fail("--log %s: %s", o->log, strerror(errno));
        r->log = &r->logw;
    }
    return CLI_GO_ON;
}

/* One clip's line (--verbose). */
static void clip_line(const run *r, const wn_clip_report *c, int valid)
{
    const int rate = r->rate;
    if (c->resampled)
        cli_note("%s: resampled from %d Hz to %d Hz", c->path, c->file_rate, rate);
    if (valid) return;
    const int64_t kept = c->samples - c->head - c->tail;
    if (c->silent) {
        cli_warn("%s: all silence (%.2f s); skipped", c->path, (double)c->samples / rate);
    } else if (c->unusable) {
        int64_t need = r->p.window > r->rf + 1 ? r->p.window : r->rf + 1;
        cli_warn("%s: %lld samples%s is too short to train on (needs %lld: more than the "
                 "receptive field %d and at least the window %d); skipped", c->path,
                 (long long)kept, c->head || c->tail ? " left after trimming its silence" : "",
                 (long long)need, r->rf, r->p.window);
    } else if (c->head || c->tail) {
        cli_note("%s: trimmed %.2f s of silence at the start, %.2f s at the end (%.2f s kept)",
                 c->path, (double)c->head / rate, (double)c->tail / rate, (double)kept / rate);
    } else if (r->p.trim_db > 0) {
        cli_note("%s: no silence to trim at its ends (%.2f s kept)", c->path,
                 (double)c->samples / rate);
    }
}

/* What reading the files gave: a line per file with --verbose; else one
 * summary (a line per file floods the terminal for a corpus of clips) and
 * one warning if some clips cannot be used. */
static void report_clips(const run *r)
{
    if (r->rank) return; /* every rank read the same: rank 0 says it */
    int n = wn_trainer_clip_count(r->tr, 0), trimmed = 0, silent = 0, unusable = 0;
    int resampled = 0;
    int64_t total = 0, cut = 0;
    const wn_clip_report *bad = NULL;
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < wn_trainer_clip_count(r->tr, w); i++) {
            const wn_clip_report *c = wn_trainer_clip(r->tr, w, i);
            if (r->o.verbose) clip_line(r, c, w);
            resampled += c->resampled;
            if (w) continue;
            total += c->samples;
            cut += c->head + c->tail;
            trimmed += c->head || c->tail;
            silent += c->silent;
            if (c->unusable) unusable++, bad = bad ? bad : c;
        }
    if (unusable && !r->o.verbose) {
        int64_t need = r->p.window > r->rf + 1 ? r->p.window : r->rf + 1;
        cli_warn("%d training file%s skipped (%d all silence; each other needs %lld samples "
                 "of sound: more than the receptive field %d and at least the window %d): "
                 "%s%s", unusable, unusable > 1 ? "s" : "", silent, (long long)need, r->rf,
                 r->p.window, bad->path, unusable > 1 ? " and more (--verbose names them)" : "");
    }
    if (r->o.quiet) return;
    char line[512];
    size_t k = 0;
#define ADD(...) \
    (k < sizeof line ? (k += (size_t)snprintf(line + k, sizeof line - k, __VA_ARGS__)) : k)
    ADD("read %d training file%s (%.1f s)", n, n == 1 ? "" : "s", (double)total / r->rate);
    if (r->p.trim_db > 0 && trimmed)
        ADD(": %.1f s of it silence, trimmed at the ends of %d file%s (%.0f%%)",
            (double)cut / r->rate, trimmed, trimmed == 1 ? "" : "s",
            total ? 100.0 * (double)cut / (double)total : 0.0);
    else if (r->p.trim_db > 0)
        ADD(": no silence to trim at their ends");
    else
        ADD(": no trimming (--trim-db 0)");
    if (unusable) ADD(", %d skipped", unusable);
    if (resampled) ADD("; %d file%s resampled to %d Hz", resampled, resampled == 1 ? "" : "s",
                       r->rate);
    if (!r->o.verbose && n > 1) ADD(" (--verbose: a line per file)");
#undef ADD
    cli_note("%s", line);
}

/* 1234567 as "1,234,567" */
static const char *thousands(int64_t v, char *buf, size_t size)
{
    char d[32];
    int n = snprintf(d, sizeof d, "%lld", (long long)(v < 0 ? -v : v)), k = 0;
    size_t o = 0;
    if (v < 0 && o + 1 < size) buf[o++] = '-';
    for (int i = 0; i < n && o + 2 < size; i++) {
        buf[o++] = d[i];
        k = n - 1 - i;
        if (k && k % 3 == 0) buf[o++] = ',';
    }
    buf[o] = 0;
    return buf;
}

/* What the run's conditioning is: the features and their normalisation,
 * the speakers and their rows. */
static void cond_lines(const run *r, const wn_train_cond *tc)
{
    const wn_config c = wn_model_config(r->m);
    char a[32];
    if (tc->bands) {
        char norm[96];
        if (tc->norm_set)
            snprintf(norm, sizeof norm, "normalisation set from %s frames",
                     thousands(tc->frames[0], a, sizeof a));
        else
            snprintf(norm, sizeof norm, "the %s normalisation (%s training frames)",
                     r->o.resume ? "checkpoint's" : "model's",
                     thousands(tc->frames[0], a, sizeof a));
        fprintf(stderr, "wavenet: features: %d log-mel bands, hop %d; %s\n", tc->bands,
                tc->hop, norm);
    }
    if (c.speakers) {
        char names[160];
        size_t k = 0;
        for (int i = 0; i < c.speakers && i < tc->speakers && k < sizeof names; i++)
            k += (size_t)snprintf(names + k, sizeof names - k, "%s%s", i ? ", " : "",
                                  wn_model_speaker_name(r->m, i));
        if (k >= sizeof names) memcpy(names + sizeof names - 5, "...", 4);
        if (tc->named)
            fprintf(stderr, "wavenet: speakers: %d, rows 0..%d of %d named after them, sorted "
                    "(%s)\n", tc->speakers, tc->speakers - 1, c.speakers, names);
        else
            fprintf(stderr, "wavenet: speakers: %d of the model's %d\n", tc->speakers,
                    c.speakers);
    }
}

static void banner(const run *r)
{
    const wn_train_params *p = &r->p;
    int used = 0;
    for (int i = 0; i < wn_trainer_clip_count(r->tr, 0); i++)
        used += !wn_trainer_clip(r->tr, 0, i)->unusable;
    char decay[64], threads[16];
    wn_decay_format(p, decay, sizeof decay);
    if (p->threads) snprintf(threads, sizeof threads, "%d", p->threads);
    else snprintf(threads, sizeof threads, "all");
    fprintf(stderr,
            "wavenet: training %zu parameters (receptive field %d) on %d clips "
            "(%.1f s), validating on %d (%.1f s)\n",
            wn_model_param_count(r->m), r->rf, used,
            (double)wn_trainer_data_samples(r->tr, 0) / r->rate, r->nvalid,
            (double)wn_trainer_data_samples(r->tr, 1) / r->rate);
    fprintf(stderr,
            "wavenet: batch %d x window %d (+%d), %s, lr %g, warmup %lld, decay %s, "
            "clip %g, weight decay %g, threads %s\n",
            p->batch, p->window, r->rf, wn_optimizer_name(p->optim.kind), p->lr,
            (long long)p->warmup, decay, p->clip, p->optim.weight_decay, threads);
    const wn_train_cond tc = wn_trainer_cond(r->tr);
    fprintf(stderr, "wavenet: memory estimate %.1f MiB (grows with batch x window; the "
            "clips%s, %.1f MiB, wait in a temporary file)\n",
            (double)wn_trainer_memory(r->tr) / (1024.0 * 1024.0),
            tc.bands ? " and their features" : "",
            4.0 * (double)(wn_trainer_data_samples(r->tr, 0) + wn_trainer_data_samples(r->tr, 1) +
                           (double)tc.bands * (double)(tc.frames[0] + tc.frames[1])) /
                (1024.0 * 1024.0));
    cond_lines(r, &tc);
    if (r->ranks > 1)
        cli_note("%d ranks (MPI), each %d windows of the batch of %d and %s threads",
                 r->ranks, p->batch / r->ranks, p->batch, threads);
    if (r->warmup_scaled)
        cli_note("warm-up of %lld steps, a tenth of this short run (--warmup sets it)",
                 (long long)p->warmup);
    if (r->o.resume)
        fprintf(stderr, "wavenet: resuming %s at step %lld\n", r->o.resume,
                (long long)wn_trainer_steps_done(r->tr));
    if (!r->nvalid)
        cli_note("no validation clips: %s will hold the last weights, not the best", r->o.out);
}

/* Signals, the data read (with a line showing it on a terminal), the
 * resumed state, what the run is, the log's header. */
static int start(run *r)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    r->p.train_speakers = (const char *const *)r->train->spk;
    r->p.valid_speakers = (const char *const *)r->valid->spk;
    r->p.speaker_from_folder = r->o.spk_folder;
    if (!r->rank && !r->o.quiet && !wn_model_config(r->m).speakers &&
        (r->o.spk_folder || plist_has_speakers(r->train) || plist_has_speakers(r->valid)))
        cli_note("the clips' speakers are not used: the model has no speakers (wavenet init "
                 "--speakers N makes one that has)");
    r->load.show = cli_stderr_tty() && !r->o.quiet;
    r->load.active = 1;
    r->load.shown = tlog_now();
    r->tr = wn_trainer_create(r->m, &r->p, (const char *const *)r->train->v, r->train->n,
                              (const char *const *)r->valid->v, r->valid->n, &r->err);
    r->load.active = 0;
    if (r->load.width > 0) fprintf(stderr, "\r%*s\r", r->load.width, "");
    if (!r->tr) {
        if (r->err.code != WN_ERR_INTERRUPTED) return cli_fail_err(&r->err);
        cli_note("interrupted while reading the data; nothing written");
        return 0;
    }
    wn_config cfg = wn_model_config(r->m);
    r->rate = cfg.sample_rate;
    r->rf = wn_model_receptive_field(r->m);
    report_clips(r);
    if (r->o.resume && wn_trainer_resume(r->tr, r->o.resume, &r->err))
        return cli_fail_err(&r->err);
    r->nvalid = wn_trainer_clip_count(r->tr, 1);
    if (!r->o.quiet) banner(r);
    struct stat lst;
    if (r->log && (r->log->fd < 0 || (fstat(r->log->fd, &lst) == 0 && lst.st_size == 0)) &&
        tlog_row(r->log, &r->err, "step,seconds,train_bits,valid_bits,samples_per_s,lr,grad_norm,"
                "eta_s\n"))
        return cli_fail_err(&r->err);
    return CLI_GO_ON;
}

/* A failed step or save: why, and what is left to resume from. Any stop
 * after a step leaves a checkpoint: the trainer's weights are the last
 * finite ones (a failed update changes nothing), so unless the last
 * checkpoint already holds this step, it is written now. */
static int step_failed(run *r)
{
    cli_fail_err(&r->err);
    if (r->rank) return 1; /* rank 0 writes; the abort that follows ends it */
    int64_t step = wn_trainer_steps_done(r->tr);
    if (step > 0 && step != r->last_ckpt_step) {
        wn_error e2;
        if (wn_trainer_save(r->tr, r->o.ckpt, &e2) == WN_OK)
            r->last_ckpt_step = step;
        else
            cli_note("could not write the checkpoint either: %s", e2.message);
    }
    if (r->last_ckpt_step >= 0)
        cli_note("stopped; the checkpoint %s holds step %lld (continue with --resume %s)",
                 r->o.ckpt, (long long)r->last_ckpt_step, r->o.ckpt);
    else
        cli_note("stopped; no step was done, no checkpoint written");
    return 1;
}

/* --minutes: fix the schedule's length once the speed is known, counting
 * the validations to come */
static void fix_horizon(run *r, int64_t step, const wn_train_params *cur)
{
    double seg_secs = wn_trainer_seconds(r->tr) - r->seg_t0;
    int64_t seg_steps = step - r->seg_step0;
    if (!(r->budget > 0 && cur->steps == 0 && seg_steps >= 5 &&
          seg_secs >= fmin(30.0, 0.03 * r->budget)))
        return;
    double per = seg_secs / (double)seg_steps;
    if (r->nvalid && cur->valid_every > 0 && wn_trainer_last_validation(r->tr) < 0) {
        double vs = (double)wn_trainer_data_samples(r->tr, 1);
        double ws = (double)cur->batch * (cur->window + r->rf);
        per += per / 3.0 * vs / ws / (double)cur->valid_every;
    }
    int64_t horizon = step + (int64_t)((r->budget - wn_trainer_seconds(r->tr)) / per);
    if (horizon <= step) horizon = step + 1;
    wn_trainer_set_steps(r->tr, horizon);
    if (!r->o.quiet)
        cli_note("--minutes %g: about %lld steps; the lr schedule ends there", r->o.minutes,
                 (long long)horizon);
}

/* Steps until the end, an early stop or a signal; progress lines, log
 * rows and checkpoints on their schedules. */
static int train_steps(run *r)
{
    wn_trainer *tr = r->tr;
    const int show = !r->o.quiet;
    r->budget = r->o.set_minutes ? r->o.minutes * 60.0 : 0;
    r->seg_t0 = wn_trainer_seconds(tr);
    r->seg_step0 = wn_trainer_steps_done(tr);
    r->iv.t0 = tlog_now();
    r->last_valid = r->eta = r->last_norm = NAN;
    r->last_lr = wn_train_lr(&r->p, wn_trainer_steps_done(tr));
    r->last_ckpt_step = r->o.resume ? r->resumed_step : -1;
    int64_t bs;
    double b = wn_trainer_best(tr, &bs);
    if (isfinite(b)) r->last_valid = b;

    for (;;) {
        int64_t step = wn_trainer_steps_done(tr);
        wn_train_params cur = wn_trainer_params(tr);
        /* the ranks agree: a signal to any stops all at this step; rank 0's
         * clock decides the time budget and the --minutes horizon */
        int64_t agree[3] = {g_stop != 0,
                            r->rank ? -1 : r->budget > 0 && wn_trainer_seconds(tr) >= r->budget,
                            r->rank ? -1 : cur.steps};
        if (r->ranks > 1) {
            if (wn_dist_max(agree, 3, &r->err)) return cli_fail_err(&r->err);
            if (agree[2] != cur.steps) wn_trainer_set_steps(tr, agree[2]);
            cur = wn_trainer_params(tr);
        }
        if (agree[0]) {
            r->interrupted = 1;
            break;
        }
        if (cur.steps > 0 && step >= cur.steps) break;
        if (agree[1]) break;
        wn_train_stats st;
        int rc = wn_trainer_step(tr, &st, &r->err);
        if (rc == WN_ERR_INTERRUPTED) {
            r->interrupted = 1;
            break;
        }
        if (rc) return step_failed(r);
        r->iv.loss_sum += st.loss_bits;
        r->iv.steps++;
        r->iv.samples += (double)st.samples;
        r->iv.step_seconds += st.step_seconds;
        r->step_secs += st.step_seconds;
        r->sum_secs += st.sum_seconds;
        r->last_lr = st.lr;
        r->last_norm = st.grad_norm;
        step = st.step;
        if (!r->rank) fix_horizon(r, step, &cur); /* the others take it from rank 0 */
        cur = wn_trainer_params(tr);
        int64_t seg_steps = step - r->seg_step0;
        double secs_per_step =
            seg_steps > 0 ? (wn_trainer_seconds(tr) - r->seg_t0) / (double)seg_steps : NAN;
        r->eta = cur.steps > 0 ? (double)(cur.steps - step) * secs_per_step : NAN;
        if (r->budget > 0) {
            double left = r->budget - wn_trainer_seconds(tr);
            r->eta = isfinite(r->eta) ? fmin(r->eta, left) : left;
        }
        if (st.validated) r->last_valid = st.valid_bits;
        /* a validation of the step before, which an interrupt had cut
         * short: its own line and row */
        if (st.validated && st.valid_step != step &&
            tlog_valid(r->log, show, tr, st.valid_step, st.valid_bits, st.improved, -1.0, &r->err))
            return step_failed(r);
        const int fresh = st.validated && st.valid_step == step;
        int due = fresh || step == r->seg_step0 + 1 || tlog_now() - r->iv.t0 >= r->o.print_every ||
                  st.stop || (cur.steps > 0 && step >= cur.steps);
        if (due && tlog_progress(r->log, show, tr, &r->iv, r->last_valid, fresh, r->last_lr,
                                 r->last_norm, r->eta, &r->err))
            return step_failed(r);
        r->wrote_best |= st.validated && st.improved;
        if (st.validated && st.improved && show)
            cli_note("step %lld: new best %.4f bits/sample, saved %s", (long long)st.valid_step,
                     st.valid_bits, r->o.out);
        if (!r->rank && r->ckpt_every > 0 && step % r->ckpt_every == 0) {
            if (wn_trainer_save(tr, r->o.ckpt, &r->err) ||
                (!r->nvalid && wn_trainer_save_model(tr, r->o.out, &r->err)))
                return step_failed(r);
            r->last_ckpt_step = step;
        }
        if (st.stop) {
            r->early = 1;
            break;
        }
    }
    return CLI_GO_ON;
}

/* The last progress line, a last validation, the checkpoint, the result. */
static int finish(run *r)
{
    wn_trainer *tr = r->tr;
    const opts *o = &r->o;
    const int show = !o->quiet;
    int64_t step = wn_trainer_steps_done(tr);
    /* after Ctrl-C the run is not over: the time it still needs */
    if (r->iv.steps && tlog_progress(r->log, show, tr, &r->iv, r->last_valid, 0, r->last_lr,
                                     r->last_norm, r->interrupted ? r->eta : 0, &r->err))
        return cli_fail_err(&r->err);
    if (!r->interrupted && r->nvalid && step > 0 && wn_trainer_last_validation(tr) != step) {
        wn_train_stats st;
        int rc = wn_trainer_validate(tr, &st, &r->err);
        if (rc == WN_ERR_INTERRUPTED) {
            r->interrupted = 1;
        } else if (rc) {
            return cli_fail_err(&r->err);
        } else {
            r->wrote_best |= st.improved;
            if (tlog_valid(r->log, show, tr, step, st.valid_bits, st.improved, 0, &r->err))
                return cli_fail_err(&r->err);
        }
    }
    if (r->rank) return 0; /* rank 0 writes and reports */
    if (r->ranks > 1 && r->step_secs > 0 && !o->quiet)
        cli_note("the gradient's sum across the %d ranks took %.1f%% of the steps' time "
                 "(%.3f of %.3f s)", r->ranks, 100 * r->sum_secs / r->step_secs, r->sum_secs,
                 r->step_secs);
    if (wn_trainer_save(tr, o->ckpt, &r->err) ||
        (!r->nvalid && wn_trainer_save_model(tr, o->out, &r->err)))
        return cli_fail_err(&r->err);
    int64_t best_step;
    double best = wn_trainer_best(tr, &best_step);
    char took[32];
    tlog_duration(wn_trainer_seconds(tr), took, sizeof took);
    if (r->interrupted)
        fprintf(stderr, "wavenet: interrupted at step %lld: checkpoint written to %s (continue "
                "with --resume %s)\n", (long long)step, o->ckpt, o->ckpt);
    else if (r->early)
        fprintf(stderr, "wavenet: early stop at step %lld: no new best in %d validations\n",
                (long long)step, r->p.patience);
    FILE *res = r->log && r->log->fd < 0 ? stderr : stdout; /* stdout holds only the CSV then */
    struct stat ost;
    if (r->nvalid && isfinite(best) && !r->wrote_best && stat(o->out, &ost) != 0)
        fprintf(res, "%s: not written: no validation of this run beat the best so far, %.4f "
                "bits/sample at step %lld, whose weights the checkpoint does not hold (%lld "
                "steps; checkpoint %s)\n", o->out, best, (long long)best_step, (long long)step,
                o->ckpt);
    else if (r->nvalid && isfinite(best))
        fprintf(res, "%s: best validation %.4f bits/sample at step %lld (%lld steps, %s of "
                "training; checkpoint %s)\n", o->out, best, (long long)best_step,
                (long long)step, took, o->ckpt);
    else if (r->nvalid)
        fprintf(res, "%s: not written yet (no validation ran; %lld steps; checkpoint %s)\n",
                o->out, (long long)step, o->ckpt);
    else
        fprintf(res, "%s: weights after step %lld (%s of training; checkpoint %s)\n", o->out,
                (long long)step, took, o->ckpt);
    return 0;
}

int cmd_train(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    r.o.print_every = 10;
    r.logw.fd = -1;
    /* exit 2 for a wrong command line, as every command does; 1 when a
     * file named on it cannot be used */
    /* started by mpirun or srun: a rank of a data-parallel run (dist.c) */
    wn_error derr;
    if (wn_dist_init(&argc, &argv, &derr)) return cli_fail_err(&derr);
    r.rank = wn_dist_rank();
    r.ranks = wn_dist_size();
    if (r.ranks > 1) cli_set_rank(r.rank);
    int status = cli_parse(&cli_cmd_train, &r.o, argc, argv);
    if (r.rank) r.o.quiet = 1; /* rank 0 reports for all */
    if (status == CLI_GO_ON) status = check_args(&r);
    if (status == CLI_GO_ON) status = load_settings(&r);
    if (status == CLI_GO_ON) status = open_outputs(&r);
    if (status == CLI_GO_ON) status = start(&r);
    if (status == CLI_GO_ON) status = train_steps(&r);
    if (status == CLI_GO_ON) status = finish(&r);
    if (r.logw.fd >= 0) close(r.logw.fd);
    wn_trainer_free(r.tr);
    wn_model_free(r.m);
    plist_free(&r.o.train);
    plist_free(&r.o.valid);
    plist_free(&r.o.lists);
    plist_free(&r.ck_train);
    plist_free(&r.ck_valid);
    /* a rank that failed ends them all (the others may wait for it in a
     * sum); the last checkpoint, written atomically, stays as it was */
    if (status != 0 && r.ranks > 1) wn_dist_abort(status);
    wn_dist_finalize();
    return status;
}
