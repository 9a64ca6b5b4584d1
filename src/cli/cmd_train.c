/* cmd_train.c - `wavenet train`: its options, what they settle before any
 * data is read (the settings, over a checkpoint's when resuming; every
 * output checked and locked), and the stages of a run in order. The run
 * itself is train_run.c's, its start-up report train_report.c's, the lines
 * and the CSV log it writes train_log.c's, the mathematics src/train.c's. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_train.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_STEPS 2000

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

int plist_has_speakers(const plist *l)
{
    for (int i = 0; l->spk && i < l->n; i++)
        if (l->spk[i]) return 1;
    return 0;
}

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

/* "0.9,1.1": up to WN_MAX_SPEEDS speeds, each in [0.5, 2] and not 1;
 * "none" clears them (a resumed run's) */
static int set_speeds(void *o, const char *flag, const char *v)
{
    opts *op = o;
    float sp[WN_MAX_SPEEDS] = {0};
    if (strcmp(v, "none")) {
        char buf[256];
        if (strlen(v) >= sizeof buf) return cli_fail("%s: the list is too long", flag), 2;
        snprintf(buf, sizeof buf, "%s", v);
        int n = 0;
        for (char *tok = buf, *next; tok; tok = next) {
            next = strchr(tok, ',');
            if (next) *next++ = 0;
            double x;
            if (n == WN_MAX_SPEEDS)
                return cli_fail("%s '%s': at most %d speeds", flag, v, WN_MAX_SPEEDS), 2;
            if (cli_double(flag, tok, 0.5, 2, &x)) return 2;
            if (x == 1)
                return cli_fail("%s '%s': speed 1 is the clips themselves, always used", flag,
                                v), 2;
            for (int j = 0; j < n; j++)
                if (sp[j] == (float)x) return cli_fail("%s '%s': %s twice", flag, v, tok), 2;
            sp[n++] = (float)x;
        }
    }
    memcpy(op->speeds, sp, sizeof sp);
    op->set_speeds = 1;
    return 0;
}

static int set_trim_ends(void *o, const char *flag, const char *v)
{
    if (wn_trim_ends_parse(v) < 0)
        return cli_fail("%s '%s': expected both, start or end", flag, v), 2;
    ((opts *)o)->trim_ends = v;
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
    {.name = "trim-ends", .kind = CLI_CALL, .arg = "WHICH",
     .help = "which silent ends --trim-db cuts: both (default), start or\n"
     "end (docs/TRAINING.md: what whole clips cost a generation)",
     .fn = set_trim_ends},
    {.name = "gain-may-clip", .kind = CLI_FLAG,
     .help = "let --gain-jitter clip a window, as runs before its cap did\n"
     "(to reproduce one)", .off = O(may_clip)},
    {.name = "max-clipped", .kind = CLI_NUM, .arg = "PCT",
     .help = "skip a training file with more than PCT% of its samples\n"
     "at full scale (1; 100 = keep every file)",
     .off = O(maxclip), .lo = 1e-6, .hi = 100, .zero_ok = 1, .given = SET(set_maxclip)},
    {.name = "rescale-above", .kind = CLI_NUM, .arg = "PEAK",
     .help = "scale a training file whose peak is above PEAK times full\n"
     "scale (a float file decoded hot) to peak 1 (2; 0 = never)",
     .off = O(rescale), .lo = 1, .hi = 1e6, .zero_ok = 1, .given = SET(set_rescale)},
    {.name = "speed-perturb", .kind = CLI_CALL, .arg = "LIST",
     .help = "also train on each clip resampled to these speeds, a copy\n"
     "each (0.9,1.1: 10% slower and lower, faster and higher;\n"
     "each in 0.5..2; none = off, the default)", .fn = set_speeds},
    {.name = "checkpoint", .kind = CLI_STR, .arg = "PATH", .help = "checkpoint file (OUT.ckpt)",
     .off = O(ckpt)},
    {.name = "checkpoint-every", .kind = CLI_INT, .arg = "N",
     .help = "write the checkpoint every N steps (500; 0 = at the end)", .off = O(ckpt_every),
     .lo = 0, .hi = 1e12, .given = SET(set_ckpt_every)},
    {.name = "keep-weights", .kind = CLI_STR, .arg = "DIR",
     .help = "at every checkpoint also keep the weights as\n"
     "DIR/step-N.safetensors (made if missing), to average the\n"
     "last ones (tools/average_models.py); a resumed run keeps on\n"
     "(none: stop keeping them)", .off = O(keep)},
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
                "                     [--keep-weights DIR]\n"
                "                     [--valid-every N] [--patience N] [--optimizer NAME]\n"
                "                     [--gain-jitter DB] [--gain-may-clip] [--trim-db DB]\n"
                "                     [--trim-ends WHICH] [--max-clipped PCT] [--rescale-above PEAK]\n"
                "                     [--speed-perturb LIST]\n"
                "                     [--log FILE.csv] [--print-every S]\n"
                "                     [--quiet | --verbose]",
    .intro = "Train MODEL (a weights file from `wavenet init` or an earlier run) on speech\n"
             "clips; OUT receives the best model on the validation clips (the last one\n"
             "when there are none). A conditional model (mel bands or speakers, from\n"
             "`wavenet init`) learns from each clip's log-mel features and speaker\n"
             "(docs/TRAINING.md).\n",
    .outro = "SIGINT/SIGTERM write the checkpoint at the end of the current step and exit 0;\n"
             "a second signal a second or more later stops at once.\n",
    .opts = table,
};

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
    if (o->trim_ends) p->trim_ends = (wn_trim_ends)wn_trim_ends_parse(o->trim_ends);
    if (o->set_maxclip) p->max_clipped = (float)(o->maxclip / 100);
    if (o->set_rescale) p->rescale_above = (float)o->rescale;
    if (o->may_clip) p->gain_may_clip = 1;
    if (o->set_speeds) memcpy(p->speeds, o->speeds, sizeof p->speeds);
    r->ckpt_every = o->set_ckpt_every ? o->ckpt_every : 500;
    /* a resumed run checkpoints as often as it did (unless told) */
    if (o->resume && !o->set_ckpt_every &&
        wn_checkpoint_meta(o->resume, "user.checkpoint_every", r->every_buf,
                           sizeof r->every_buf, NULL) == WN_OK && r->every_buf[0]) {
        char *end;
        long v = strtol(r->every_buf, &end, 10);
        if (*end || v < 0)
            return cli_fail("--resume %s: its checkpoint_every '%s' is not a step count",
                            o->resume, r->every_buf);
        r->ckpt_every = v;
        if (v != 500 && !o->quiet)
            cli_note("a checkpoint every %ld steps, as the run had it (--checkpoint-every N "
                     "changes it)", v);
    }
    snprintf(r->every_buf, sizeof r->every_buf, "%ld", r->ckpt_every);
    p->best_path = o->out;
    r->meta[0] = "user.out";
    r->meta[1] = absolute(o->out, r->abs_out, sizeof r->abs_out);
    r->meta[2] = "user.log";
    r->meta[3] = o->log && strcmp(o->log, "-") ? absolute(o->log, r->abs_log, sizeof r->abs_log)
                                                : "";
    r->meta[4] = "user.checkpoint_every";
    r->meta[5] = r->every_buf;
    /* ... and where it keeps its weights */
    if (o->resume && !o->keep &&
        wn_checkpoint_meta(o->resume, "user.keep_weights", r->keep_buf, sizeof r->keep_buf,
                           NULL) == WN_OK && r->keep_buf[0]) {
        o->keep = r->keep_buf;
        r->keep_inherited = 1;
    }
    if (o->keep && !strcmp(o->keep, "none")) o->keep = NULL;
    r->meta[6] = "user.keep_weights";
    r->meta[7] = o->keep ? absolute(o->keep, r->abs_keep, sizeof r->abs_keep) : "";
    r->meta[8] = NULL;
    p->meta = r->meta;
    p->progress = train_on_progress;
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

/* --keep-weights DIR: a folder we can write in, made if missing */
static int keep_dir(const char *dir, int inherited)
{
    /* a resumed run's folder may be another machine's path */
    const char *hint = inherited ? " (the run's folder, from its checkpoint: --keep-weights DIR "
                                   "or none changes it)"
                                 : "";
    struct stat st;
    if (strlen(dir) > 4000) return cli_fail("--keep-weights: folder name too long");
    if (mkdir(dir, 0777) && errno != EEXIST)
        return cli_fail("--keep-weights %s: cannot make the folder: %s%s", dir, strerror(errno),
                        hint);
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return cli_fail("--keep-weights %s: not a folder%s", dir, hint);
    int e = tlog_dir_probe(dir);
    if (e) return cli_fail("--keep-weights %s: cannot write in it: %s%s", dir, strerror(e), hint);
    return 0;
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
    if (o->keep && keep_dir(o->keep, r->keep_inherited)) return 1;
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
    if (status == CLI_GO_ON) status = train_start(&r);
    if (status == CLI_GO_ON) status = train_steps(&r);
    if (status == CLI_GO_ON) status = train_finish(&r);
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
