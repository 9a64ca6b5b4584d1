/* train_run.c - `wavenet train` once its settings are made (cmd_train.c):
 * signals, the data read (with a line on a terminal), the loop of steps
 * with its progress lines, log rows and checkpoints, the agreement of MPI
 * ranks at every step, a checkpoint left behind by a failure, and the end.
 * All over the wn_trainer API. */
#define _POSIX_C_SOURCE 200809L
#include "cmd_train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

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

int train_on_progress(void *user, double done, double total)
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

/* Signals, the data read (with a line showing it on a terminal), the
 * resumed state, what the run is, the log's header. */
int train_start(run *r)
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
    train_report_clips(r);
    if (r->o.resume && wn_trainer_resume(r->tr, r->o.resume, &r->err))
        return cli_fail_err(&r->err);
    r->nvalid = wn_trainer_clip_count(r->tr, 1);
    if (!r->o.quiet) train_banner(r);
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

/* --keep-weights: the weights of this step as DIR/step-N.safetensors
 * (once per step); 0, or 1 with the reason in r->err */
static int train_keep_weights(run *r, int64_t step)
{
    if (!r->o.keep || r->rank || step == r->last_kept_step) return 0;
    char path[4200]; /* the folder's name is at most 4000 bytes (keep_dir) */
    snprintf(path, sizeof path, "%s/step-%lld.safetensors", r->o.keep, (long long)step);
    if (wn_trainer_save_model(r->tr, path, &r->err)) return 1;
    r->last_kept_step = step;
    return 0;
}

/* Steps until the end, an early stop or a signal; progress lines, log
 * rows and checkpoints on their schedules. */
int train_steps(run *r)
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
    r->last_kept_step = -1;
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
            if (train_keep_weights(r, step)) return step_failed(r);
        }
        if (st.stop) {
            r->early = 1;
            break;
        }
    }
    return CLI_GO_ON;
}

/* The last progress line, a last validation, the checkpoint, the result. */
int train_finish(run *r)
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
    if (step > 0 && train_keep_weights(r, step)) return cli_fail_err(&r->err);
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
