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

static void usage(FILE *f)
{
    fprintf(f,
        "usage: wavenet baseline [--train PATH...] [--train-list FILE]\n"
        "                        [--valid PATH...] [--valid-list FILE]\n"
        "                        [--rate HZ] [--bins Q] [--lpc-k K] [--lpc-reweight N]\n"
        "                        [--json]\n"
        "\n"
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
        "                  with 1 / (mean |residual|)^2\n"
        "\n"
        "options:\n"
        "  --train PATH...     training audio files or folders of them (one or more,\n"
        "                      until the next flag)\n"
        "  --train-list FILE   a file of training paths (files or folders), one per\n"
        "                      line, '#' comments, relative paths relative to the list\n"
        "  --valid PATH...     validation audio files or folders\n"
        "  --valid-list FILE   a file of validation paths\n"
        "  --rate HZ           sample rate the audio is resampled to (8000)\n"
        "  --bins Q            mu-law classes (256)\n"
        "  --lpc-k K           impose the adaptive scale factor k (default: fitted;\n"
        "                      1/(2 ln 2) = 0.7213 is the logistic's own relation)\n"
        "  --lpc-reweight N    weighted least-squares refits of the adaptive LPC\n"
        "                      (default 6; 0 = ordinary least squares)\n"
        "  --json              one JSON object per baseline and line:\n"
        "                      {\"baseline\", \"bits_per_sample\", \"nll_nats\", \"samples\"}\n"
        "  -h, --help          this help\n"
        "\n"
        "example:\n"
        "  wavenet baseline --train-list models/train.txt --valid-list models/valid.txt\n");
}

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

/* Paths after a flag, up to the next argument that starts with '-'. */
static int take_paths(int argc, char **argv, int *i, strvec *out)
{
    const char *flag = argv[*i];
    int n = 0;
    while (*i + 1 < argc && argv[*i + 1][0] != '-') {
        if (sv_push(out, argv[++*i])) return 1;
        n++;
    }
    if (n == 0) return cli_fail("%s needs one or more paths", flag);
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

int cmd_baseline(int argc, char **argv)
{
    strvec train = {0}, valid = {0};
    long rate = 8000, bins = 256, reweight = -1;
    double lpc_k = 0;
    int json = 0, rc = 0, list_failed = 0;

    for (int i = 1; i < argc && rc == 0; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            sv_free(&train);
            sv_free(&valid);
            return 0;
        } else if (!strcmp(a, "--train")) {
            rc = take_paths(argc, argv, &i, &train);
        } else if (!strcmp(a, "--valid")) {
            rc = take_paths(argc, argv, &i, &valid);
        } else if (!strcmp(a, "--train-list") || !strcmp(a, "--valid-list")) {
            if (!(v = cli_value(argc, argv, &i))) rc = 1;
            else if (read_list(v, a[2] == 't' ? &train : &valid)) list_failed = rc = 1;
        } else if (!strcmp(a, "--rate")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 1000, 384000, &rate)) rc = 1;
        } else if (!strcmp(a, "--bins")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 2, 65536, &bins)) rc = 1;
        } else if (!strcmp(a, "--lpc-k")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_double(a, v, 0.001, 1000, &lpc_k)) rc = 1;
        } else if (!strcmp(a, "--lpc-reweight")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 0, 100, &reweight)) rc = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            rc = cli_fail("baseline: unknown option '%s' (try 'wavenet baseline --help')", a);
        }
    }
    if (rc == 0 && train.n == 0)
        rc = cli_fail("baseline: no training clips (use --train or --train-list)");
    if (rc == 0 && valid.n == 0)
        rc = cli_fail("baseline: no validation clips (use --valid or --valid-list)");
    if (rc == 0 && (expand(&train) || expand(&valid))) list_failed = rc = 1;
    if (rc) { /* 2 for a wrong command line, as every command; 1 for a bad list file or folder */
        sv_free(&train);
        sv_free(&valid);
        return list_failed ? 1 : 2;
    }

    wn_baseline_params p = wn_baseline_default_params();
    p.bins = (int)bins;
    p.lpc_k = lpc_k;
    if (reweight >= 0) p.lpc_reweight = (int)reweight;
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
            json_t *o = json_pack("{s:s, s:f, s:f, s:I}", "baseline", res[i].name,
                                  "bits_per_sample", res[i].bits_per_sample, "nll_nats",
                                  res[i].nll_nats, "samples", (json_int_t)res[i].samples);
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
        printf("# %d training clip(s), %d validation clip(s) (%lld samples) at %ld Hz, "
               "%ld mu-law bins\n", train.n, valid.n,
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
