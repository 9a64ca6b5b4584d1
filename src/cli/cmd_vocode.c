/* cmd_vocode.c - `wavenet vocode`: audio from log-mel features with a
 * conditional model (a vocoder): features from a .npy file, or an audio
 * file's own (copy-synthesis: wn_model_features at the model's rate).
 * Several inputs are streams of one generator, each stopped at its own
 * end (wn_gen_stop_stream), each written to its own file (atomic). */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define VOCODER_NAME "wavenet-vocoder.safetensors"
/* the longest output: 2^27 samples (4.7 hours at 8 kHz, 256 MiB of WAV) */
#define MAX_SAMPLES ((size_t)1 << 27)

typedef struct voc_opts {
    const char *model, *out, *speaker;
    const char **in;
    int nin;
    long topk, threads;
    double temp, topp;
    uint64_t seed;
    int json;
    wn_precision prec;
} voc_opts;

static int input(void *o, const char *path)
{
    voc_opts *vo = o;
    const char **in = realloc(vo->in, sizeof *in * (size_t)(vo->nin + 1));
    if (!in) return cli_fail("out of memory");
    in[vo->nin++] = path;
    vo->in = in;
    return 0;
}

static int set_precision(void *o, const char *flag, const char *v)
{
    return cli_precision(flag, v, &((voc_opts *)o)->prec);
}

#define V(f) offsetof(voc_opts, f)
static const cli_opt table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "model", .short_name = 'm', .kind = CLI_STR, .arg = "MODEL",
     .help = "the vocoder (default: $WAVENET_VOCODER, else the shipped\n"
     "models/" VOCODER_NAME ")", .off = V(model)},
    {.name = "output", .short_name = 'o', .kind = CLI_STR, .arg = "OUT.wav",
     .help = "the output (required; '-' = stdout); with several inputs an\n"
     "existing folder, each input's output DIR/<its name>.wav. The\n"
     "extension picks the format, as generate's -o", .off = V(out)},
    CLI_SPEAKER_OPT(voc_opts),
    CLI_SAMPLING_OPTS(voc_opts, "sampling seed (0); input i samples with stream i's generator"),
    {.name = "threads", .kind = CLI_INT, .arg = "N",
     .help = "threads over the inputs (default 1; the output is the same)", .off = V(threads),
     .lo = 1, .hi = 1024},
    {.name = "precision", .kind = CLI_CALL, .arg = "P",
     .help = "f32 (default), f16 or int8, as generate's (docs/PRECISION.md)",
     .fn = set_precision},
    {.name = "json", .kind = CLI_FLAG,
     .help = "one JSON object per input: file, input, frames, samples, ...", .off = V(json)},
    {0},
};
#undef V

const cli_cmd cli_cmd_vocode = {
    .name = "vocode", .summary = "audio from log-mel features with a vocoder model",
    .run = cmd_vocode,
    .synopsis = "FEATS.npy|IN.wav... -o OUT.wav|DIR [-m MODEL] [--speaker NAME]\n"
                "                      [--seed N] [--temperature T] [--top-k K] [--top-p P]\n"
                "                      [--threads N] [--precision P] [--json]",
    .intro = "  FEATS.npy  log-mel features, frames x bands float32, in the model's recipe\n"
             "             (wavenet mel, or a TTS front end's with the same recipe)\n"
             "  IN.wav     any other name: audio, resynthesised from its own features\n"
             "             (copy-synthesis); '-' reads stdin\n"
             "Each input gives (frames - 1) x hop samples.\n",
    .opts = table, .operand = input,
};

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int is_npy(const char *path)
{
    size_t n = strlen(path);
    return n > 4 && !strcasecmp(path + n - 4, ".npy");
}

/* DIR/<the input's name without its extension>.wav */
static char *out_path(const char *dir, const char *in)
{
    const char *slash = strrchr(in, '/'), *base = slash ? slash + 1 : in;
    if (!strcmp(in, "-")) base = "stdin";
    const char *dot = strrchr(base, '.');
    const int len = dot && dot > base ? (int)(dot - base) : (int)strlen(base);
    size_t n = strlen(dir) + (size_t)len + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%.*s.wav", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", len, base);
    return p;
}

/* One input's features: a .npy file's, or an audio file's own. */
static int read_features(const wn_model *m, const char *path, float **feats, size_t *frames)
{
    const wn_config c = wn_model_config(m);
    wn_error err;
    if (is_npy(path)) {
        size_t cols;
        if (wn_npy_read(path, feats, frames, &cols, &err) != WN_OK) return cli_fail_err(&err);
        if (cols != (size_t)c.cond) {
            free(*feats);
            *feats = NULL;
            return cli_fail("%s: %zu bands a frame; the model takes %d (wavenet mel --mels %d "
                            "--hop %d makes them)", path, cols, c.cond, c.cond, c.hop);
        }
        return 0;
    }
    wn_audio_info info;
    float *x = NULL;
    size_t n = 0;
    if (wn_audio_read(path, c.sample_rate, &x, &n, &info, &err) != WN_OK)
        return cli_fail_err(&err);
    if (info.resampled)
        cli_note("%s resampled from %d Hz to %d Hz", path, info.file_rate, c.sample_rate);
    if (info.mixed) cli_note("%s mixed from %d channels to mono", path, info.file_channels);
    int rc = wn_model_features(m, x, n, feats, frames, &err);
    free(x);
    return rc == WN_OK ? 0 : cli_fail_err(&err);
}

/* Everything one run holds, per input b: its output and writer, its
 * frames and length, its NLL. */
typedef struct voc_run {
    const voc_opts *o;
    const char *model, *speaker; /* the speaker's name, NULL for none */
    int B, rate;
    char **paths;
    wn_wav **w;
    size_t *frames, *len;
    double *nll;
} voc_run;

/* The streams to the end of the longest input, in runs that end where an
 * input does: its file is closed and its stream stopped there. */
static int run_streams(wn_gen *g, voc_run *r)
{
    enum { BLOCK = 4096 };
    const int B = r->B;
    int *codes = malloc(sizeof(int) * (size_t)B * BLOCK), *buf = malloc(sizeof(int) * BLOCK);
    double *lp = malloc(sizeof(double) * (size_t)B * BLOCK);
    if (!codes || !buf || !lp) {
        free(codes), free(buf), free(lp);
        return cli_fail("out of memory");
    }
    size_t total = 0, done = 0, since_flush = 0, left = 0;
    for (int b = 0; b < B; b++) total = r->len[b] > total ? r->len[b] : total;
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const int tty = cli_stderr_tty();
    double t0 = now_s(), shown = t0;
    int status = 0;
    wn_error err;
    while (done < total && !interrupted && !status) {
        size_t n = total - done < BLOCK ? total - done : BLOCK;
        for (int b = 0; b < B; b++) /* up to the next end */
            if (r->len[b] > done && r->len[b] - done < n) n = r->len[b] - done;
        int rc = wn_gen_run(g, n, codes, lp);
        if (rc != WN_OK) {
            status = cli_fail("vocode: %s", wn_gen_last_error(g));
            break;
        }
        for (int b = 0; b < B && !status; b++) {
            if (!r->w[b]) continue; /* done, closed */
            for (size_t i = 0; i < n; i++) {
                buf[i] = codes[i * (size_t)B + (size_t)b];
                r->nll[b] -= lp[i * (size_t)B + (size_t)b];
            }
            if (wn_wav_write_codes(r->w[b], buf, n, &err)) status = cli_fail_err(&err);
            else if (r->len[b] == done + n) {
                rc = wn_wav_close(r->w[b], &err);
                r->w[b] = NULL;
                if (rc) status = cli_fail_err(&err);
                else if (wn_gen_stop_stream(g, b, &err)) status = cli_fail_err(&err);
            }
        }
        done += n;
        since_flush += n;
        if (since_flush >= (size_t)r->rate && !status) { /* playable every second of audio */
            since_flush = 0;
            for (int b = 0; b < B && !status; b++)
                if (r->w[b] && wn_wav_flush(r->w[b], &err)) status = cli_fail_err(&err);
        }
        double t = now_s();
        if (tty && t - shown > 0.5) {
            shown = t;
            double rate = done / (t - t0);
            fprintf(stderr, "\rwavenet: %zu/%zu samples, %.2fx real time, ETA %.0f s   ", done,
                    total, rate * B / r->rate, (total - done) / rate);
        }
    }
    if (tty) fputc('\n', stderr);
    for (int b = 0; b < B; b++) left += r->w[b] != NULL;
    if (interrupted && !status)
        status = cli_fail("vocode: interrupted after %zu samples; %zu of %d outputs were not "
                          "written", done, left, B);
    free(codes);
    free(buf);
    free(lp);
    if (status) return status;
    const double secs = now_s() - t0;
    static const char *const pname[] = {"f32", "f16", "int8"};
    for (int b = 0; b < B; b++) {
        const double n = (double)r->len[b], bits = r->nll[b] / n / log(2.0);
        if (!r->o->json) {
            fprintf(stderr, "wavenet: wrote %s: %zu samples (%.2f s) from %zu frames of %s, "
                    "%.4f bits/sample\n", strcmp(r->paths[b], "-") ? r->paths[b] : "stdout",
                    r->len[b], n / r->rate, r->frames[b], r->o->in[b], bits);
            continue;
        }
        /* generate's fields, and the input's; nll_bits = bits_per_sample */
        printf("{\"file\":");
        cli_json_str(r->paths[b]);
        printf(",\"input\":");
        cli_json_str(r->o->in[b]);
        printf(",\"stream\":%d,\"frames\":%zu,\"samples\":%zu,\"nll_nats\":%.6f,"
               "\"bits_per_sample\":%.6f,\"nll_bits\":%.6f,\"seed\":%llu,"
               "\"temperature\":%g,\"top_k\":%ld,\"top_p\":%g,\"precision\":\"%s\","
               "\"speaker\":", b, r->frames[b], r->len[b], r->nll[b], bits, bits,
               (unsigned long long)r->o->seed, r->o->temp, r->o->topk, r->o->topp,
               pname[r->o->prec]);
        if (r->speaker) cli_json_str(r->speaker);
        else fputs("null", stdout);
        printf(",\"model\":");
        cli_json_str(r->model);
        printf(",\"seconds\":%.3f,\"wall_seconds\":%.3f}\n", secs, secs);
    }
    if (!r->o->json) {
        double all = 0;
        for (int b = 0; b < B; b++) all += (double)r->len[b];
        fprintf(stderr, "wavenet: %.0f samples/s (%.1fx real time)\n", all / secs,
                all / secs / r->rate);
    }
    return 0;
}

int cmd_vocode(int argc, char **argv)
{
    voc_opts o = {0};
    o.topk = 0, o.threads = 1, o.temp = 1, o.topp = 1, o.prec = WN_PRECISION_F32;
    int rc0 = cli_parse(&cli_cmd_vocode, &o, argc, argv);
    if (rc0 != CLI_GO_ON) {
        free(o.in);
        return rc0;
    }
    const int B = o.nin;
    if (!B || !o.out || !*o.out) {
        free(o.in);
        cli_fail("vocode: %s (see wavenet vocode --help)",
                 !B ? "give one or more inputs (FEATS.npy or audio)" : "-o OUT.wav is required");
        return 2;
    }
    if (o.json && !strcmp(o.out, "-")) {
        free(o.in);
        cli_fail("vocode: --json and -o - would both write to stdout");
        return 2;
    }
    struct stat st;
    if (B > 1 && (stat(o.out, &st) != 0 || !S_ISDIR(st.st_mode))) {
        free(o.in);
        cli_fail("vocode: with %d inputs, -o names an existing folder (each input's output is "
                 "DIR/<its name>.wav); %s is not one", B, o.out);
        return 2;
    }
    char defbuf[4200];
    const char *model = o.model;
    if (!model) {
        const char *env = getenv("WAVENET_VOCODER");
        model = cli_default_model_named(VOCODER_NAME, "WAVENET_VOCODER", defbuf, sizeof defbuf);
        if (!(env && *env) && access(model, R_OK) != 0) { /* $WAVENET_VOCODER: load says */
            free(o.in);
            return cli_fail("vocode: no vocoder model: models/" VOCODER_NAME " is not found "
                            "beside the program; name one with -m MODEL or "
                            "$WAVENET_VOCODER");
        }
    }
    int status = 0;
    wn_model *m = NULL;
    wn_gen *g = NULL;
    char **paths = calloc((size_t)B, sizeof *paths);
    wn_wav **w = calloc((size_t)B, sizeof *w);
    float **feats = calloc((size_t)B, sizeof *feats);
    size_t *frames = calloc((size_t)B, sizeof *frames), *len = calloc((size_t)B, sizeof *len);
    double *nll = calloc((size_t)B, sizeof *nll);
    if (!paths || !w || !feats || !frames || !len || !nll) {
        status = cli_fail("out of memory");
        goto done;
    }
    for (int b = 0; b < B; b++) {
        if (!(paths[b] = B > 1 ? out_path(o.out, o.in[b]) : strdup(o.out))) {
            status = cli_fail("out of memory");
            goto done;
        }
        for (int a = 0; a < b; a++)
            if (!strcmp(paths[a], paths[b])) {
                status = cli_fail("vocode: inputs %s and %s would both be written to %s",
                                  o.in[a], o.in[b], paths[b]);
                goto done;
            }
        const char **ins = malloc(sizeof *ins * (size_t)(B + 1));
        if (!ins) {
            status = cli_fail("out of memory");
            goto done;
        }
        memcpy(ins, o.in, sizeof *ins * (size_t)B);
        ins[B] = model;
        int over = cli_output_is_input("-o", paths[b], ins, B + 1);
        free(ins);
        if (over) {
            status = 1;
            goto done;
        }
    }
    wn_error err;
    if (!(m = wn_model_load(model, &err))) {
        status = cli_fail_err(&err);
        goto done;
    }
    const wn_config cfg = wn_model_config(m);
    if (!cfg.cond) {
        status = cli_fail("vocode: %s takes no features (%s): use wavenet generate%s", model,
                          cfg.speakers ? "a model of speakers alone" : "an unconditional model",
                          cfg.speakers ? " --speaker NAME" : "");
        goto done;
    }
    int spk;
    if (cli_speaker(m, model, o.speaker, &spk)) {
        status = 1;
        goto done;
    }
    wn_sample_params sp = wn_sample_default_params();
    sp.temperature = (float)o.temp, sp.top_k = (int)o.topk, sp.top_p = (float)o.topp;
    sp.seed = o.seed;
    if (!(g = wn_gen_create(m, B, &sp, &err)) || wn_gen_set_precision(g, o.prec, &err)) {
        status = cli_fail_err(&err);
        goto done;
    }
    /* each input's features into its stream, one input at a time */
    for (int b = 0; b < B; b++) {
        if (read_features(m, o.in[b], &feats[b], &frames[b])) {
            status = 1;
            goto done;
        }
        len[b] = wn_model_cond_samples(m, frames[b]);
        if (len[b] < 1) {
            status = cli_fail("%s: %zu frame%s condition%s no samples (a clip needs at least 2)",
                              o.in[b], frames[b], frames[b] == 1 ? "" : "s",
                              frames[b] == 1 ? "s" : "");
            goto done;
        }
        if (len[b] > MAX_SAMPLES) {
            status = cli_fail("%s: %zu frames would make %zu samples, more than the %zu (%.1f "
                              "hours at %d Hz) vocode writes", o.in[b], frames[b], len[b],
                              MAX_SAMPLES, (double)MAX_SAMPLES / cfg.sample_rate / 3600,
                              cfg.sample_rate);
            goto done;
        }
        const wn_cond c = {feats[b], frames[b], spk, cfg.cond};
        /* read in place (kept until the end): one copy of an hour of
         * features in memory, not two */
        if (wn_gen_use_cond(g, b, &c, &err)) {
            status = cli_fail("%s: %s", o.in[b], err.message);
            goto done;
        }
    }
    if (wn_gen_prime(g, NULL, 0, &err)) {
        status = cli_fail_err(&err);
        goto done;
    }
    wn_gen_set_threads(g, (int)o.threads);
    for (int b = 0; b < B; b++)
        if (!(w[b] = wn_wav_open(paths[b], cfg.sample_rate, cfg.bins, &err))) {
            status = cli_fail_err(&err);
            goto done;
        }
    voc_run r = {&o, model, spk >= 0 ? wn_model_speaker_name(m, spk) : NULL, B,
                 cfg.sample_rate, paths, w, frames, len, nll};
    status = run_streams(g, &r);
done:
    for (int b = 0; w && b < B; b++)
        if (w[b]) wn_wav_abort(w[b]);
    for (int b = 0; paths && b < B; b++) free(paths[b]);
    for (int b = 0; feats && b < B; b++) free(feats[b]);
    free(paths);
    free(w);
    free(feats);
    free(frames);
    free(len);
    free(nll);
    free(o.in);
    wn_gen_free(g);
    wn_model_free(m);
    return status;
}
