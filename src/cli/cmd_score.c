/* cmd_score.c - `wavenet score`: exact log-likelihood of audio files. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int progress(void *user, double done, double total)
{
    const char *name = user;
    fprintf(stderr, "\rwavenet: scoring %s: %3.0f%%", name, 100.0 * done / total);
    return 0;
}

/* a CSV field: quoted, with quotes doubled (RFC 4180) */
static void csv_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
        else fputc(*s, f);
    }
    fputc('"', f);
}

/* Append a path's audio files (a folder: those in it) to *files. */
static int add_path(const char *path, char ***files, int *n, wn_error *err)
{
    const int before = *n;
    int rc = wn_path_expand(path, files, n, err);
    if (rc == WN_OK && *n == before) { /* only a folder can give nothing */
        err->code = rc = WN_ERR_ARG;
        snprintf(err->message, sizeof err->message, "score: %s: a folder without audio files",
                 path);
    }
    return rc;
}

/* A file's codes at the model's rate and, for a mel-conditioned model
 * (feats given), its own features, of the same samples. */
static int read_input(const wn_model *m, const char *path, int **codes, size_t *n,
                      wn_audio_info *info, float **feats, size_t *frames, wn_error *err)
{
    const wn_config c = wn_model_config(m);
    if (!c.cond || !feats)
        return wn_audio_read_codes(path, c.sample_rate, c.bins, codes, n, info, err);
    float *x = NULL;
    int rc = wn_audio_read(path, c.sample_rate, &x, n, info, err);
    if (rc != WN_OK) return rc;
    *codes = malloc(sizeof(int) * *n);
    if (!*codes) rc = (err->code = WN_ERR_NOMEM, snprintf(err->message, sizeof err->message, "%s: out of memory", path), WN_ERR_NOMEM);
    for (size_t i = 0; rc == WN_OK && i < *n; i++) (*codes)[i] = wn_mulaw_encode(x[i], c.bins);
    if (rc == WN_OK) rc = wn_model_features(m, x, *n, feats, frames, err);
    free(x);
    if (rc != WN_OK) {
        free(*codes);
        *codes = NULL;
    }
    return rc;
}

typedef struct score_opts {
    const char *model, *csv, *features, *speaker;
    int json;
    long threads;
    wn_precision prec;
    char **files; /* malloc'ed paths, in the order given */
    int nfiles;
    char **spk;   /* each file's speaker from its list line, or NULL */
    int nspk;     /* entries of spk: nfiles, or 0 while no list named one */
} score_opts;

/* spk[k] = name (copied; NULL for none) for the files from k on */
static int set_speakers(score_opts *so, int from, const char *name)
{
    if (!name && !so->nspk) return 0;
    char **s = realloc(so->spk, sizeof *s * (size_t)(so->nfiles ? so->nfiles : 1));
    if (!s) return cli_fail("out of memory");
    so->spk = s;
    for (int k = so->nspk; k < so->nfiles; k++) s[k] = NULL; /* files without one */
    for (int k = from; k < so->nfiles; k++)
        if (name && !(s[k] = strdup(name))) return cli_fail("out of memory");
    so->nspk = so->nfiles;
    return 0;
}

static void score_free(score_opts *o)
{
    wn_list_free(o->files, o->nfiles);
    wn_list_free(o->spk, o->nspk);
}

static int set_precision(void *o, const char *flag, const char *v)
{
    return cli_precision(flag, v, &((score_opts *)o)->prec);
}

static int add_operand(void *o, const char *path)
{
    score_opts *so = o;
    wn_error err;
    const int from = so->nfiles;
    if (add_path(path, &so->files, &so->nfiles, &err)) return cli_fail_err(&err);
    return set_speakers(so, from, NULL);
}

/* a list's paths, each a file or a folder, as train reads a list; a
 * line's speaker ("path<TAB>speaker") goes with every file of its path */
static int add_list(void *o, const char *flag, const char *v)
{
    (void)flag;
    score_opts *so = o;
    wn_error err;
    char **l = NULL, **sp = NULL;
    int nl = 0, rc = wn_list_read_speakers(v, &l, &sp, &nl, &err), bad = 0;
    for (int k = 0; !rc && !bad && k < nl; k++) {
        const int from = so->nfiles;
        rc = add_path(l[k], &so->files, &so->nfiles, &err);
        if (!rc) bad = set_speakers(so, from, sp[k]);
    }
    wn_list_free(l, nl);
    wn_list_free(sp, nl);
    if (bad) return bad;
    if (!rc && !nl) return cli_fail("%s: no paths in the list", v); /* as baseline says it */
    return rc ? cli_fail_err(&err) : 0;
}

#define S(f) offsetof(score_opts, f)
static const cli_opt table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "model", .short_name = 'm', .kind = CLI_STR, .arg = "MODEL",
     .help = "the weights file (default: the shipped model)", .off = S(model)},
    {.name = "json", .kind = CLI_FLAG,
     .help = "one JSON object per file: file, samples, nll_nats,\n"
     "bits_per_sample", .off = S(json)},
    {.name = "per-sample", .kind = CLI_STR, .arg = "FILE.csv",
     .help = "write file,sample,code,logp_nats for every sample (CSV);\n"
     "'-' writes it to stdout and the per-file lines to stderr", .off = S(csv)},
    {.name = "threads", .kind = CLI_INT, .arg = "N", .help = "OpenMP threads (0 = all)",
     .off = S(threads), .lo = 0, .hi = 1024},
    {.name = "precision", .kind = CLI_CALL, .arg = "P",
     .help = "f32 (default), f16: score the model with its weights rounded\n"
     "to half floats, the model `generate --precision f16` samples,\n"
     "or int8: score through the int8 generation steps themselves, the\n"
     "model `generate --precision int8` samples (chunks as streams of\n"
     "generators: slower than scoring at f32 or f16)", .fn = set_precision},
    {.name = "features", .kind = CLI_STR, .arg = "FEATS.npy",
     .help = "a conditional model: score the one file given these log-mel\n"
     "features (frames x bands float32, as vocode took them) instead\n"
     "of the file's own", .off = S(features)},
    CLI_SPEAKER_OPT(score_opts),
    {.name = "list", .kind = CLI_CALL, .arg = "FILE",
     .help = "score the paths of a list file too: one per line, '#'\n"
     "comments, relative to the list (as train reads them); a\n"
     "speaker model scores a line \"path<TAB>speaker\" under that\n"
     "speaker unless --speaker is given", .fn = add_list},
    {0},
};
#undef S

const cli_cmd cli_cmd_score = {
    .name = "score", .summary = "exact log-likelihood of audio files (bits/sample)",
    .run = cmd_score,
    .synopsis = "[-m MODEL] [--json] [--per-sample FILE.csv] [--threads N]\n"
                "                     [--precision P] [--features FEATS.npy] [--speaker NAME]\n"
                "                     [--list FILE] [--] PATH...",
    .intro = "prints per file: samples, total NLL in nats, bits per sample; with several\n"
             "files a last line with their total (text output only). A conditional model\n"
             "scores each file given its own log-mel features (or --features) and\n"
             "--speaker: the conditional NLL\n"
             "  PATH           an audio file, or a folder: every audio file in it (sorted);\n"
             "                 '-' is stdin\n",
    .opts = table, .operand = add_operand,
};

int cmd_score(int argc, char **argv)
{
    score_opts o = {0};
    o.prec = WN_PRECISION_F32;
    int rc0 = cli_parse(&cli_cmd_score, &o, argc, argv);
    if (rc0 != CLI_GO_ON) {
        score_free(&o);
        return rc0;
    }
    const char *model = o.model, *csv = o.csv;
    int json = o.json;
    long threads = o.threads;
    wn_precision prec = o.prec;
    char **files = o.files;
    int nfiles = o.nfiles;
    wn_error err;
    if (!nfiles) {
        cli_fail("score: no audio files given (see wavenet score --help)");
        goto bad;
    }
    if (!model) model = cli_default_model();
    wn_model *m = wn_model_load(model, &err);
    if (!m || (prec != WN_PRECISION_I8 && wn_model_round(m, prec, &err))) {
        wn_model_free(m);
        score_free(&o);
        return cli_fail_err(&err);
    }
    wn_config cfg = wn_model_config(m);
    /* conditioning: the speaker by name, the features file (one input) */
    int speaker = -1;
    float *given = NULL;
    size_t given_frames = 0;
    /* a speaker model scores each file under its list line's speaker when
     * no --speaker is given: every file needs one then */
    int named = o.nspk > 0;
    for (int k = 0; named && k < nfiles; k++) named = o.spk[k] != NULL;
    if (o.nspk && !cfg.speakers)
        cli_note("%s has no speakers: the list's speaker names are not used", model);
    if ((o.speaker || !named) && cli_speaker(m, model, o.speaker, &speaker)) {
        wn_model_free(m);
        score_free(&o);
        return 1;
    }
    if (o.features) {
        size_t cols = 0;
        const char *why = !cfg.cond ? "the model takes no features"
                          : nfiles > 1 ? "--features goes with one audio file" : NULL;
        if (why || wn_npy_read(o.features, &given, &given_frames, &cols, &err) != WN_OK) {
            if (why) cli_fail("score: --features: %s", why);
            else cli_fail_err(&err);
            wn_model_free(m);
            score_free(&o);
            return why ? 2 : 1;
        }
        if ((int)cols != cfg.cond) {
            cli_fail("score: %s has %zu bands; the model takes %d", o.features, cols, cfg.cond);
            free(given);
            wn_model_free(m);
            score_free(&o);
            return 1;
        }
    }
    FILE *cf = NULL, *res = stdout; /* the CSV, and where the results go */
    char tmp[4200];
    const int csv_stdout = csv && !strcmp(csv, "-");
    if (csv_stdout) {
        cf = stdout;
        res = stderr;
        fprintf(cf, "file,sample,code,logp_nats\n");
    } else if (csv) {
        if (strlen(csv) > 4000) {
            wn_model_free(m);
            score_free(&o);
            return cli_fail("--per-sample: path too long");
        }
        /* never over an input; written beside, renamed when complete */
        int over = cli_output_is_input("--per-sample", csv, (const char *const *)files, nfiles) ||
                   cli_output_is_input("--per-sample", csv, &model, 1);
        if (over || !(cf = wn_file_open(csv, tmp, sizeof tmp, &err))) {
            wn_model_free(m);
            score_free(&o);
            return over ? 1 : cli_fail_err(&err);
        }
        fprintf(cf, "file,sample,code,logp_nats\n");
    }
    int status = 0, tty = cli_stderr_tty(), scored = 0;
    size_t all_n = 0;
    double all_nll = 0;
    for (int k = 0; k < nfiles; k++) {
        int *codes = NULL;
        size_t n = 0;
        wn_audio_info info;
        float *feats = NULL;
        size_t frames = 0;
        if (read_input(m, files[k], &codes, &n, &info, given ? NULL : &feats, &frames, &err)) {
            status = cli_fail_err(&err);
            continue;
        }
        int sk = speaker;
        if (!o.speaker && named && cfg.speakers && (sk = wn_model_speaker_find(m, o.spk[k])) < 0) {
            status = cli_fail("%s: its list's speaker '%s' is not one of %s's (wavenet info "
                              "-m MODEL lists them)", files[k], o.spk[k], model);
            free(codes);
            free(feats);
            continue;
        }
        wn_cond cond = {given ? given : feats, given ? given_frames : frames, sk, cfg.cond};
        if (info.resampled)
            cli_note("%s resampled from %d Hz to %d Hz", files[k], info.file_rate,
                     cfg.sample_rate);
        if (info.mixed) cli_note("%s mixed from %d channels to mono", files[k], info.file_channels);
        float *logp = csv ? malloc(sizeof(float) * n) : NULL;
        wn_score_params sp = wn_score_default_params();
        sp.threads = (int)threads;
        if (tty && n > 100000) {
            sp.progress = progress;
            sp.progress_user = files[k];
        }
        /* int8 has no teacher-forced twin: its generation steps (f16 is
         * the rounded model above, teacher-forced) */
        if (prec == WN_PRECISION_I8) sp.precision = prec;
        if (cfg.cond || cfg.speakers) sp.cond = &cond;
        double nll;
        int rc = (csv && !logp) ? (err.code = WN_ERR_NOMEM,
                                   snprintf(err.message, sizeof err.message, "out of memory"),
                                   WN_ERR_NOMEM)
                                : wn_score_codes(m, codes, n, &sp, &nll, logp, &err);
        if (sp.progress) fputc('\n', stderr);
        if (rc) {
            status = cli_fail("%s: %s", files[k], err.message);
        } else {
            scored++;
            all_n += n;
            all_nll += nll;
            double bits = nll / n / log(2.0);
            if (json) {
                fprintf(res, "{\"file\":");
                json_str(res, files[k]);
                if (sk >= 0) {
                    fprintf(res, ",\"speaker\":");
                    json_str(res, wn_model_speaker_name(m, sk));
                }
                fprintf(res, ",\"samples\":%zu,\"nll_nats\":%.6f,\"bits_per_sample\":%.6f}\n", n,
                        nll, bits);
            } else {
                fprintf(res, "%s: %zu samples, %.3f nats, %.4f bits/sample\n", files[k], n, nll,
                        bits);
            }
            fflush(res);
            for (size_t i = 0; cf && i < n; i++) {
                csv_str(cf, files[k]);
                fprintf(cf, ",%zu,%d,%.7g\n", i, codes[i], logp[i]);
            }
        }
        free(logp);
        free(codes);
        free(feats);
    }
    free(given);
    if (!json && nfiles > 1 && scored) {
        /* the corpus's figure: every sample weighs the same, not every file */
        fprintf(res, "total: %d", scored);
        if (scored < nfiles) fprintf(res, " of %d", nfiles);
        fprintf(res, " files, %zu samples, %.3f nats, %.4f bits/sample\n", all_n, all_nll,
                all_nll / (double)all_n / log(2.0));
    }
    if (csv_stdout) {
        if (fflush(stdout) != 0 || ferror(stdout))
            status = cli_fail("stdout: write failed: %s", strerror(errno));
    } else if (cf) {
        /* a failed run leaves an existing CSV as it was */
        if (status) wn_file_abort(cf, tmp);
        else if (wn_file_commit(cf, tmp, csv, &err)) status = cli_fail_err(&err);
    }
    wn_model_free(m);
    score_free(&o);
    return status;
bad:
    score_free(&o);
    return 2;
}
