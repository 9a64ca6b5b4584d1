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

static const char usage[] =
    "usage: wavenet generate [-m MODEL] (--samples N | --seconds S) [--seed N]\n"
    "                        [--temperature T] [--top-k K] [--top-p P] [--prime WAV]\n"
    "                        [--keep-prime] [--streams B] [--threads N] [--precision P]\n"
    "                        [-o OUT.wav] [--json]\n"
    "  -o OUT.wav     output (default generated.wav; '-' = stdout); with B > 1 streams\n"
    "                 stream i goes to OUT-i.wav (i = 0..B-1). The extension picks the\n"
    "                 format: .wav (also for others), .flac, .aiff, .au, .caf, .w64, or\n"
    "                 .raw (headerless 16-bit little-endian); lossy ones are refused\n"
    "  --temperature  1 = the model's distribution, 0 = argmax (default 1)\n"
    "  --top-k K      sample among the K likeliest codes (0 = off)\n"
    "  --top-p P      sample among the likeliest codes holding mass P (1 = off)\n"
    "  --prime WAV    continue this recording (resampled to the model's rate)\n"
    "  --keep-prime   also write the prime at the start of each output\n"
    "  --threads N    threads over the streams (default 1; the output is the same)\n"
    "  --precision P  f32 (default: exactly the model); f16: weights kept as half\n"
    "                 floats, ~1.4x faster for one stream, samples exactly the model\n"
    "                 that `wavenet score --precision f16` scores; int8: 8-bit weights\n"
    "                 and 7-bit inputs in every product, ~2x faster, samples exactly\n"
    "                 what `wavenet score --precision int8` scores\n"
    "  --json         one JSON object per stream: file, samples, nll_nats, ...\n";

static volatile sig_atomic_t interrupted;
static void on_signal(int sig) { (void)sig; interrupted = 1; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') putchar('\\');
        if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
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
    const char *model = NULL, *out = "generated.wav", *prime = NULL;
    double seconds = -1;
    long samples = -1, streams = 1, topk = 0, threads = 1;
    double temp = 1.0, topp = 1.0;
    uint64_t seed = 0;
    int json = 0, keep_prime = 0;
    wn_precision prec = WN_PRECISION_F32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--samples")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 1, 1L << 40, &samples)) return 2;
        } else if (!strcmp(a, "--seconds")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_double(a, v, 1e-6, 1e9, &seconds)) return 2;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_u64(a, v, &seed)) return 2;
        } else if (!strcmp(a, "--temperature")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_double(a, v, 0, 100, &temp)) return 2;
        } else if (!strcmp(a, "--top-k")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 0, 65536, &topk)) return 2;
        } else if (!strcmp(a, "--top-p")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_double(a, v, 1e-9, 1, &topp)) return 2;
        } else if (!strcmp(a, "--prime")) {
            if (!(prime = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--keep-prime")) {
            keep_prime = 1;
        } else if (!strcmp(a, "--streams")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 1, 4096, &streams)) return 2;
        } else if (!strcmp(a, "--threads")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 1, 1024, &threads)) return 2;
        } else if (!strcmp(a, "--precision")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_precision(a, v, &prec)) return 2;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            cli_fail("generate: unknown option '%s' (see wavenet generate --help)", a);
            return 2;
        }
    }
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
    wn_error err;
    wn_model *m = wn_model_load(model, &err);
    if (!m) return cli_fail_err(&err);
    wn_config cfg = wn_model_config(m);
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
    if (!g || wn_gen_set_precision(g, prec, &err) || wn_gen_prime(g, pc, np, &err)) {
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
        wn_gen_run(g, (size_t)n, codes, lp);
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
            json_str(paths[b]);
            printf(",\"stream\":%d,\"samples\":%ld,\"nll_nats\":%.6f,\"bits_per_sample\":%.6f,"
                   "\"seed\":%llu,\"temperature\":%g,\"seconds\":%.3f}\n",
                   b, samples, nll[b], nll[b] / samples / log(2.0), (unsigned long long)seed,
                   temp, secs);
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
