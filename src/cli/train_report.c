/* train_report.c - what `wavenet train` says once the data is read and
 * before the first step: the clips read (one summary, or a line each with
 * --verbose), what the run is and the memory it takes, its conditioning.
 * Apart from the run (train_run.c): it reads what the trainer reports and
 * prints it, and decides nothing. */
#include "cmd_train.h"

#include <stdio.h>
#include <string.h>

/* One clip's line (--verbose). */
static void clip_line(const run *r, const wn_clip_report *c, int valid)
{
    const int rate = r->rate;
    if (c->resampled)
        cli_note("%s: resampled from %d Hz to %d Hz", c->path, c->file_rate, rate);
    if (valid) return;
    if (c->gain != 1)
        cli_note("%s: decoded at up to %.1f times full scale (above --rescale-above %g); "
                 "scaled to peak 1", c->path, 1.0 / c->gain, r->p.rescale_above);
    const int64_t kept = c->samples - c->head - c->tail;
    if (c->silent) {
        cli_warn("%s: all silence (%.2f s); skipped", c->path, (double)c->samples / rate);
    } else if (c->clipped) {
        cli_warn("%s: clipped, %.1f%% of its samples at full scale (more than --max-clipped "
                 "%g%%); skipped", c->path, 100 * c->clipped_frac, 100 * r->p.max_clipped);
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
void train_report_clips(const run *r)
{
    if (r->rank) return; /* every rank read the same: rank 0 says it */
    int n = wn_trainer_clip_count(r->tr, 0), trimmed = 0, silent = 0, unusable = 0, hot = 0;
    int resampled = 0, rescaled = 0;
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
            hot += c->clipped;
            rescaled += c->gain != 1;
            if (c->unusable) unusable++, bad = bad ? bad : c;
        }
    if (unusable && !r->o.verbose) {
        int64_t need = r->p.window > r->rf + 1 ? r->p.window : r->rf + 1;
        char clip[96] = "";
        if (hot)
            snprintf(clip, sizeof clip, "; %d clipped: over %g%% of their samples at full "
                     "scale, --max-clipped", hot, 100 * r->p.max_clipped);
        cli_warn("%d training file%s skipped (%d all silence%s; each other needs %lld samples "
                 "of sound: more than the receptive field %d and at least the window %d): "
                 "%s%s", unusable, unusable > 1 ? "s" : "", silent, clip, (long long)need, r->rf,
                 r->p.window, bad->path, unusable > 1 ? " and more (--verbose names them)" : "");
    }
    if (r->o.quiet) return;
    char line[512];
    size_t k = 0;
#define ADD(...) \
    (k < sizeof line ? (k += (size_t)snprintf(line + k, sizeof line - k, __VA_ARGS__)) : k)
    ADD("read %d training file%s (%.1f s)", n, n == 1 ? "" : "s", (double)total / r->rate);
    static const char *const ends[] = {"ends", "start", "end"};
    const char *which = ends[r->p.trim_ends <= WN_TRIM_END ? r->p.trim_ends : 0];
    if (r->p.trim_db > 0 && trimmed)
        ADD(": %.1f s of it silence, trimmed at the %s of %d file%s (%.0f%%)",
            (double)cut / r->rate, which, trimmed, trimmed == 1 ? "" : "s",
            total ? 100.0 * (double)cut / (double)total : 0.0);
    else if (r->p.trim_db > 0)
        ADD(": no silence to trim at their %s", which);
    else
        ADD(": no trimming (--trim-db 0)");
    if (unusable) ADD(", %d skipped", unusable);
    if (rescaled)
        ADD("; %d decoded above %g times full scale, scaled to peak 1 (--rescale-above)",
            rescaled, r->p.rescale_above);
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

void train_banner(const run *r)
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
    if (p->speeds[0] != 0) {
        char list[CLI_SPEEDS_TEXT];
        cli_speeds_text(p->speeds, ", ", list);
        fprintf(stderr, "wavenet: speed perturbation %s: copies of the clips, %.1f s more\n",
                list, (double)wn_trainer_data_samples(r->tr, 2) / r->rate);
    }
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
                           (double)wn_trainer_data_samples(r->tr, 2) +
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
