/* cmd_generate.c - `wavenet generate`: cached sampling of one or more
 * streams into WAV files that are written as they grow (a temporary name,
 * a valid header at each flush) and renamed when complete. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gen_opts {
    const char *model, *out, *prime, *speaker;
    long samples, streams, topk, threads;
    double seconds, temp, topp;
    uint64_t seed;
    int json, keep_prime;
    wn_precision prec;
} gen_opts;

static int set_precision(void *o, const char *flag, const char *v)
{
    return cli_precision(flag, v, &((gen_opts *)o)->prec);
}

#define G(f) offsetof(gen_opts, f)
static const cli_opt table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "model", .short_name = 'm', .kind = CLI_STR, .arg = "MODEL",
     .help = "the weights file (default: the shipped model)", .off = G(model)},
    {.name = "output", .short_name = 'o', .kind = CLI_STR, .arg = "OUT.wav",
     .help = "output (default generated.wav; '-' = stdout); with B > 1 streams\n"
     "stream i goes to OUT-i.wav (i = 0..B-1). The extension picks the\n"
     "format: .wav (also for others), .flac, .aiff, .au, .caf, .w64, or\n"
     ".raw (headerless 16-bit little-endian); lossy ones are refused", .off = G(out)},
    {.name = "samples", .kind = CLI_INT, .arg = "N", .help = "samples to generate per stream",
     .off = G(samples), .lo = 1, .hi = 1099511627776.0},
    {.name = "seconds", .kind = CLI_NUM, .arg = "S",
     .help = "or seconds of audio at the model's rate", .off = G(seconds), .lo = 1e-6,
     .hi = 1e9},
    CLI_SAMPLING_OPTS(gen_opts, "sampling seed (0)"),
    {.name = "prime", .kind = CLI_STR, .arg = "WAV",
     .help = "continue this recording (resampled to the model's rate)", .off = G(prime)},
    {.name = "keep-prime", .kind = CLI_FLAG,
     .help = "also write the prime at the start of each output", .off = G(keep_prime)},
    CLI_SPEAKER_OPT(gen_opts),
    {.name = "streams", .kind = CLI_INT, .arg = "B",
     .help = "independent streams sampled together (1)", .off = G(streams), .lo = 1,
     .hi = 4096},
    {.name = "threads", .kind = CLI_INT, .arg = "N",
     .help = "threads over the streams (default 1; the output is the same)", .off = G(threads),
     .lo = 1, .hi = 1024},
    {.name = "precision", .kind = CLI_CALL, .arg = "P",
     .help = "f32 (default: exactly the model); f16: weights kept as half\n"
     "floats, samples exactly the model that scoring at f16 scores;\n"
     "int8: 8-bit weights and 7-bit inputs in every product, the\n"
     "fastest, samples exactly what scoring at int8 scores\n"
     "(docs/PRECISION.md: speeds and costs in bits)", .fn = set_precision},
    {.name = "json", .kind = CLI_FLAG,
     .help = "one JSON object per stream: file, samples, nll_nats, ...", .off = G(json)},
    {0},
};
#undef G

const cli_cmd cli_cmd_generate = {
    .name = "generate", .summary = "sample audio from a model into a WAV", .run = cmd_generate,
    .synopsis = "[-m MODEL] (--samples N | --seconds S) [--seed N]\n"
                "                        [--temperature T] [--top-k K] [--top-p P] [--prime WAV]\n"
                "                        [--keep-prime] [--speaker NAME] [--streams B] [--threads N]\n"
                "                        [--precision P] [-o OUT.wav] [--json]",
    .opts = table,
};

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* OUT.wav -> OUT-i.wav */
static char *stream_path(const char *out, int i, int streams)
{
    size_t n = strlen(out) + 24;
    char *p = malloc(n);
    if (!p) return NULL;
    if (streams == 1) {
        snprintf(p, n, "%s", out);
        return p;
    }
    /* the extension is after the last dot of the file's name, not a dot
     * that starts it (.take -> .take-0) */
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    const char *base = slash ? slash + 1 : out;
    if (!dot || dot <= base) dot = out + strlen(out);
    snprintf(p, n, "%.*s-%d%s", (int)(dot - out), out, i, dot);
    return p;
}

int cmd_generate(int argc, char **argv)
{
    gen_opts o = {NULL, "generated.wav", NULL, NULL, -1, 1, 0, 1, -1, 1.0, 1.0, 0, 0, 0,
                  WN_PRECISION_F32};
    int rc0 = cli_parse(&cli_cmd_generate, &o, argc, argv);
    if (rc0 != CLI_GO_ON) return rc0;
    const char *model = o.model, *out = o.out, *prime = o.prime;
    double seconds = o.seconds, temp = o.temp, topp = o.topp;
    long samples = o.samples, streams = o.streams, topk = o.topk, threads = o.threads;
    uint64_t seed = o.seed;
    int json = o.json, keep_prime = o.keep_prime;
    wn_precision prec = o.prec;
    if ((samples < 0) == (seconds < 0)) {
        cli_fail("generate: give exactly one of --samples N or --seconds S");
        return 2;
    }
    if (!*out) {
        cli_fail("-o: expected a file name or '-', got ''");
        return 2;
    }
    if (streams > 1 && !strcmp(out, "-")) {
        cli_fail("generate: -o - (stdout) takes a single stream");
        return 2;
    }
    if (!model) model = cli_default_model();
    const char *inputs[2] = {model, prime};
    for (long b = 0; b < streams; b++) {
        char *pb = stream_path(out, (int)b, (int)streams);
        int over = pb && cli_output_is_input("-o", pb, inputs, 2);
        free(pb);
        if (over) return 1;
    }
    wn_error err;
    wn_model *m = wn_model_load(model, &err);
    if (!m) return cli_fail_err(&err);
    wn_config cfg = wn_model_config(m);
    int spk = -1;
    if (cfg.cond) {
        wn_model_free(m);
        return cli_fail("generate: %s is a vocoder (%d log-mel bands): it makes audio from "
                        "features, with wavenet vocode FEATS.npy|IN.wav -m MODEL", model,
                        cfg.cond);
    }
    if (cli_speaker(m, model, o.speaker, &spk)) {
        wn_model_free(m);
        return 1;
    }
    if (seconds >= 0) {
        double n = floor(seconds * cfg.sample_rate + 0.5);
        if (n < 1 || n > 1e15) {
            wn_model_free(m);
            return cli_fail("generate: --seconds %g is out of range", seconds);
        }
        samples = (long)n;
    }
    int *pc = NULL;
    size_t np = 0;
    if (prime) {
        wn_audio_info info;
        if (wn_audio_read_codes(prime, cfg.sample_rate, cfg.bins, &pc, &np, &info, &err)) {
            wn_model_free(m);
            return cli_fail_err(&err);
        }
        if (info.resampled)
            cli_note("%s resampled from %d Hz to %d Hz", prime, info.file_rate, cfg.sample_rate);
        if (info.mixed) cli_note("%s mixed from %d channels to mono", prime, info.file_channels);
    }
    /* refuse before any work what a WAV file cannot hold (4 GiB) */
    double bytes = (double)(samples + (keep_prime ? (long)np : 0)) * (cfg.bins <= 256 ? 2 : 4);
    if (bytes > 4294967295.0 - 1024) {
        free(pc);
        wn_model_free(m);
        return cli_fail("generate: %ld samples is more than a WAV file holds", samples);
    }
    wn_sample_params sp = wn_sample_default_params();
    sp.temperature = (float)temp;
    sp.top_k = (int)topk;
    sp.top_p = (float)topp;
    sp.seed = seed;
    wn_gen *g = wn_gen_create(m, (int)streams, &sp, &err);
    const wn_cond voice = {NULL, 0, spk, 0};
    if (!g || wn_gen_set_precision(g, prec, &err) ||
        (spk >= 0 && wn_gen_set_cond(g, -1, &voice, &err)) || wn_gen_prime(g, pc, np, &err)) {
        wn_gen_free(g);
        free(pc);
        wn_model_free(m);
        return cli_fail_err(&err);
    }
    wn_gen_set_threads(g, (int)threads);
    int B = (int)streams, status = 0;
    enum { BLOCK = 4096 };
    wn_wav **w = calloc((size_t)B, sizeof *w);
    char **paths = calloc((size_t)B, sizeof *paths);
    int *buf = malloc(sizeof(int) * (size_t)B * BLOCK);
    int *codes = malloc(sizeof(int) * (size_t)B * BLOCK);
    double *lp = malloc(sizeof(double) * (size_t)B * BLOCK), *nll = calloc((size_t)B, sizeof(double));
    if (!w || !paths || !buf || !codes || !lp || !nll) {
        status = cli_fail("out of memory");
        goto done;
    }
    for (int b = 0; b < B; b++) {
        if (!(paths[b] = stream_path(out, b, B)) ||
            !(w[b] = wn_wav_open(paths[b], cfg.sample_rate, cfg.bins, &err))) {
            status = paths[b] ? cli_fail_err(&err) : cli_fail("out of memory");
            goto done;
        }
        if (keep_prime && np && wn_wav_write_codes(w[b], pc, np, &err)) {
            status = cli_fail_err(&err);
            goto done;
        }
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = cli_stderr_tty();
    double t_start = now_s(), t_shown = t_start;
    long done_n = 0, since_flush = 0;
    while (done_n < samples && !interrupted) {
        int n = samples - done_n < BLOCK ? (int)(samples - done_n) : BLOCK;
        if (wn_gen_run(g, (size_t)n, codes, lp) == WN_ERR_NONFINITE) {
            status = cli_fail("%s: the model's logits are not finite (its weights overflow "
                              "float32); nothing was written", model);
            goto done;
        }
        for (int i = 0; i < n; i++) /* [i*B + b] -> per stream [b*BLOCK + i] */
            for (int b = 0; b < B; b++) {
                buf[(size_t)b * BLOCK + i] = codes[(size_t)i * B + b];
                nll[b] -= lp[(size_t)i * B + b];
            }
        for (int b = 0; b < B; b++)
            if (wn_wav_write_codes(w[b], buf + (size_t)b * BLOCK, (size_t)n, &err)) {
                status = cli_fail_err(&err);
                goto done;
            }
        done_n += n;
        since_flush += n;
        if (since_flush >= cfg.sample_rate) { /* a playable file every second of audio */
            since_flush = 0;
            for (int b = 0; b < B; b++)
                if (wn_wav_flush(w[b], &err)) {
                    status = cli_fail_err(&err);
                    goto done;
                }
        }
        double t = now_s();
        if (tty && t - t_shown > 0.5) {
            t_shown = t;
            double rate = done_n / (t - t_start);
            fprintf(stderr, "\rwavenet: %ld/%ld samples, %.2fx real time, ETA %.0f s   ",
                    done_n, samples, rate * B / cfg.sample_rate, (samples - done_n) / rate);
        }
    }
    if (tty) fputc('\n', stderr);
    if (interrupted) {
        status = cli_fail("generate: interrupted after %ld samples; partial output left in the "
                          "temporary file beside %s", done_n, out);
        for (int b = 0; b < B; b++) {
            wn_wav_flush(w[b], NULL);
            /* keep the temporary (playable) file: do not abort or close */
        }
        goto leave_partial;
    }
    for (int b = 0; b < B; b++) {
        int rc = wn_wav_close(w[b], &err);
        w[b] = NULL;
        if (rc) {
            status = cli_fail_err(&err);
            goto done;
        }
    }
    double secs = now_s() - t_start;
    for (int b = 0; b < B; b++) {
        if (json) {
            printf("{\"file\":");
            cli_json_str(paths[b]);
            static const char *const pname[] = {"f32", "f16", "int8"};
            /* seconds: wall time of the whole run (every stream), kept for
             * scripts; wall_seconds says so in its name */
            printf(",\"stream\":%d,\"samples\":%ld,\"nll_nats\":%.6f,\"bits_per_sample\":%.6f,"
                   "\"seed\":%llu,\"temperature\":%g,\"top_k\":%ld,\"top_p\":%g,"
                   "\"precision\":\"%s\",\"prime\":",
                   b, samples, nll[b], nll[b] / samples / log(2.0), (unsigned long long)seed,
                   temp, topk, topp, pname[prec]);
            if (prime) cli_json_str(prime);
            else fputs("null", stdout);
            if (spk >= 0) { /* a model with speakers only: other models' lines as before */
                fputs(",\"speaker\":", stdout);
                cli_json_str(wn_model_speaker_name(m, spk));
            }
            printf(",\"keep_prime\":%s,\"seconds\":%.3f,\"wall_seconds\":%.3f}\n",
                   keep_prime ? "true" : "false", secs, secs);
        } else {
            fprintf(stderr, "wavenet: wrote %s: %ld samples (%.2f s), %.4f bits/sample\n",
                    strcmp(paths[b], "-") ? paths[b] : "stdout", samples,
                    (double)samples / cfg.sample_rate, nll[b] / samples / log(2.0));
        }
    }
    if (!json)
        fprintf(stderr, "wavenet: %.0f samples/s (%.1fx real time)\n", samples * B / secs,
                samples * B / secs / cfg.sample_rate);
done:
    for (int b = 0; w && b < B; b++)
        if (w[b]) wn_wav_abort(w[b]);
leave_partial:
    for (int b = 0; paths && b < B; b++) free(paths[b]);
    free(w);
    free(paths);
    free(buf);
    free(codes);
    free(lp);
    free(nll);
    free(pc);
    wn_gen_free(g);
    wn_model_free(m);
    return status;
}
