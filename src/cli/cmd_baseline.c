/* cmd_baseline.c - `wavenet baseline`: bits/sample of the reference models
 * (uniform, histogram, bigram, LPC with fixed and adaptive logistic
 * residuals), fitted on training clips and scored on validation clips, to
 * set beside `wavenet score`. A thin layer over wn_baseline_run. */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct strvec {
    char **v;
    int n, cap;
} strvec;

static int sv_push(strvec *s, const char *str)
{
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc(s->v, (size_t)cap * sizeof *v);
        if (!v) return cli_fail("out of memory");
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n] = strdup(str);
    if (!s->v[s->n]) return cli_fail("out of memory");
    s->n++;
    return 0;
}

static void sv_free(strvec *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

/* A list file, read exactly as `wavenet train` reads one (wn_list_read). */
static int read_list(const char *list, strvec *out)
{
    wn_error err;
    int before = out->n;
    if (wn_list_read(list, &out->v, &out->n, &err)) return cli_fail_err(&err);
    out->cap = out->n; /* wn_list_read grows the array to exactly n */
    if (out->n == before) return cli_fail("%s: no paths in the list", list);
    return 0;
}

/* Folders stand for the audio files in them, as `wavenet train` and
 * `wavenet score` read them (wn_path_expand); one without any is an error. */
static int expand(strvec *s)
{
    char **v = NULL;
    int n = 0;
    wn_error err;
    for (int i = 0; i < s->n; i++) {
        const int before = n;
        int rc = wn_path_expand(s->v[i], &v, &n, &err) ? cli_fail_err(&err) : 0;
        if (!rc && n == before) /* only a folder can give nothing */
            rc = cli_fail("baseline: %s: a folder without audio files", s->v[i]);
        if (rc) {
            wn_list_free(v, n);
            return rc;
        }
    }
    sv_free(s);
    s->v = v;
    s->n = s->cap = n;
    return 0;
}

typedef struct base_opts {
    strvec train, valid;
    long rate, bins, reweight;
    double lpc_k, maxclip, rescale;
    int json, set_maxclip, set_rescale;
} base_opts;

static int add_path(void *o, const char *flag, const char *path)
{
    base_opts *b = o;
    return sv_push(flag[2] == 't' ? &b->train : &b->valid, path);
}

static int add_list(void *o, const char *flag, const char *list)
{
    base_opts *b = o;
    return read_list(list, flag[2] == 't' ? &b->train : &b->valid);
}

#define B(f) offsetof(base_opts, f)
static const cli_opt table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "train", .kind = CLI_PATHS, .arg = "PATH",
     .help = "training audio files or folders of them (one or more,\n"
     "until the next flag)", .fn = add_path},
    {.name = "train-list", .kind = CLI_CALL, .arg = "FILE",
     .help = "a file of training paths (files or folders), one per\n"
     "line, '#' comments, relative paths relative to the list", .fn = add_list},
    {.name = "valid", .kind = CLI_PATHS, .arg = "PATH",
     .help = "validation audio files or folders", .fn = add_path},
    {.name = "valid-list", .kind = CLI_CALL, .arg = "FILE",
     .help = "a file of validation paths", .fn = add_list},
    {.name = "rate", .kind = CLI_INT, .arg = "HZ",
     .help = "sample rate the audio is resampled to (8000)", .off = B(rate), .lo = 1000,
     .hi = 384000},
    {.name = "bins", .kind = CLI_INT, .arg = "Q", .help = "mu-law classes (256)",
     .off = B(bins), .lo = 2, .hi = 65536},
    {.name = "lpc-k", .kind = CLI_NUM, .arg = "K",
     .help = "impose the adaptive scale factor k (default: fitted;\n"
     "1/(2 ln 2) = 0.7213 is the logistic's own relation)",
     .off = B(lpc_k), .lo = 0.001, .hi = 1000},
    {.name = "lpc-reweight", .kind = CLI_INT, .arg = "N",
     .help = "weighted least-squares refits of the adaptive LPC\n"
     "(default 6; 0 = ordinary least squares)", .off = B(reweight), .lo = 0, .hi = 100},
    {.name = "max-clipped", .kind = CLI_NUM, .arg = "PCT",
     .help = "leave out a training file with more than PCT% of its\n"
     "samples at full scale, as `wavenet train` does (1;\n100 = keep every file)",
     .off = B(maxclip), .lo = 1e-6, .hi = 100, .zero_ok = 1,
     .given = CLI_GIVEN(base_opts, set_maxclip)},
    {.name = "rescale-above", .kind = CLI_NUM, .arg = "PEAK",
     .help = "scale a training file whose peak is above PEAK times\n"
     "full scale to peak 1, as `wavenet train` does (2; 0 = never)",
     .off = B(rescale), .lo = 1, .hi = 1e6, .zero_ok = 1,
     .given = CLI_GIVEN(base_opts, set_rescale)},
    {.name = "json", .kind = CLI_FLAG, .help = "one JSON object per baseline and line:\n"
     "{\"baseline\", \"bits_per_sample\", \"nll_nats\", \"samples\",\n"
     "\"train_clipped\", \"train_rescaled\"}", .off = B(json)},
    {0},
};
#undef B

const cli_cmd cli_cmd_baseline = {
    .name = "baseline", .summary = "bits/sample of reference models (histogram, bigram, LPC)",
    .run = cmd_baseline,
    .synopsis = "[--train PATH...] [--train-list FILE]\n"
                "                        [--valid PATH...] [--valid-list FILE]\n"
                "                        [--rate HZ] [--bins Q] [--lpc-k K] [--lpc-reweight N]\n"
                "                        [--max-clipped PCT] [--rescale-above PEAK] [--json]",
    .intro =
        "Fit reference models on the training clips and print their bits/sample\n"
        "(base-2 NLL of the mu-law codes, averaged over every validation sample;\n"
        "the past before each clip is silence):\n"
        "  uniform         1/Q for every code (log2 Q)\n"
        "  histogram       code counts, add-one\n"
        "  bigram          P(code | previous code), add-one\n"
        "  lpc16-fixed     order-16 least-squares predictor on the decoded signal,\n"
        "                  logistic residual integrated over each mu-law bin,\n"
        "                  fixed scale (fitted)\n"
        "  lpc16-adaptive  the same, scale = k * mean |residual| of the previous\n"
        "                  32 samples, with a floor (k and floor fitted); the\n"
        "                  coefficients are refitted by least squares weighted\n"
        "                  with 1 / (mean |residual|)^2\n",
    .outro = "example:\n"
             "  wavenet baseline --train-list models/train.txt --valid-list models/valid.txt\n",
    .opts = table,
};

int cmd_baseline(int argc, char **argv)
{
    base_opts o = {.rate = 8000, .bins = 256, .reweight = -1};
    int rc = cli_parse(&cli_cmd_baseline, &o, argc, argv);
    /* 2 for a wrong command line, as every command; 1 for a bad list file or folder */
    if (rc == CLI_GO_ON && o.train.n == 0)
        rc = 2, cli_fail("baseline: no training clips (use --train or --train-list)");
    if (rc == CLI_GO_ON && o.valid.n == 0)
        rc = 2, cli_fail("baseline: no validation clips (use --valid or --valid-list)");
    if (rc == CLI_GO_ON && (expand(&o.train) || expand(&o.valid))) rc = 1;
    strvec train = o.train, valid = o.valid;
    if (rc != CLI_GO_ON) {
        sv_free(&train);
        sv_free(&valid);
        return rc;
    }
    long rate = o.rate, bins = o.bins, reweight = o.reweight;
    double lpc_k = o.lpc_k;
    int json = o.json;
    wn_baseline_params p = wn_baseline_default_params();
    p.bins = (int)bins;
    p.lpc_k = lpc_k;
    if (reweight >= 0) p.lpc_reweight = (int)reweight;
    if (o.set_maxclip) p.max_clipped = o.maxclip / 100;
    if (o.set_rescale) p.rescale_above = o.rescale;
    wn_baseline_result res[WN_BASELINE_COUNT];
    int nres = 0;
    wn_error err = {0};
    rc = wn_baseline_run((const char *const *)train.v, train.n, (const char *const *)valid.v,
                         valid.n, (int)rate, &p, res, &nres, &err);
    if (rc != WN_OK) {
        sv_free(&train);
        sv_free(&valid);
        return cli_fail_err(&err);
    }

    if (json) {
        for (int i = 0; i < nres; i++) {
            json_t *o = json_pack("{s:s, s:f, s:f, s:I, s:i, s:i}", "baseline", res[i].name,
                                  "bits_per_sample", res[i].bits_per_sample, "nll_nats",
                                  res[i].nll_nats, "samples", (json_int_t)res[i].samples,
                                  "train_clipped", res[i].train_clipped, "train_rescaled",
                                  res[i].train_rescaled);
            char *s = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
            if (!s) {
                json_decref(o);
                rc = cli_fail("out of memory");
                break;
            }
            puts(s);
            free(s);
            json_decref(o);
        }
    } else {
        int left = nres ? res[0].train_clipped : 0;
        printf("# %d training clip(s)", train.n - left);
        if (left) printf(" (%d more left out as clipped, --max-clipped)", left);
        if (nres && res[0].train_rescaled)
            printf(" (%d decoded hot, scaled to peak 1, --rescale-above)",
                   res[0].train_rescaled);
        printf(", %d validation clip(s) (%lld samples) at %ld Hz, %ld mu-law bins\n", valid.n,
               nres ? (long long)res[0].samples : 0LL, rate, bins);
        printf("%-16s %11s %11s  %s\n", "baseline", "bits/sample", "(training)", "fitted");
        for (int i = 0; i < nres; i++)
            printf("%-16s %11.3f %11.3f  %s\n", res[i].name, res[i].bits_per_sample,
                   res[i].train_bits_per_sample, res[i].fit);
    }
    if (fflush(stdout) != 0 && rc == 0) rc = cli_fail("cannot write the output");
    sv_free(&train);
    sv_free(&valid);
    return rc ? 1 : 0;
}
