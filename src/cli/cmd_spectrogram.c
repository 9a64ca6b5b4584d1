/* cmd_spectrogram.c - `wavenet spectrogram`: an audio file's log-magnitude
 * spectrogram as a PNG (wn_audio_read + wn_spectrogram_png). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct spec_opts {
    const char *in, *out, *title;
    long rate, fft, hop, width, height, mels;
    double range, fmin, fmax;
} spec_opts;

static int input(void *o, const char *path)
{
    spec_opts *so = o;
    if (so->in) {
        cli_fail("spectrogram: one input file only ('%s' and '%s')", so->in, path);
        return 2;
    }
    so->in = path;
    return 0;
}

#define P(f) offsetof(spec_opts, f)
static const cli_opt table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "output", .short_name = 'o', .kind = CLI_STR, .arg = "OUT.png",
     .help = "the image (required; '-' = stdout)", .off = P(out)},
    {.name = "rate", .kind = CLI_INT, .arg = "HZ",
     .help = "resample to HZ first (default: the file's own rate)", .off = P(rate), .lo = 1,
     .hi = 1 << 20},
    {.name = "fft", .kind = CLI_INT, .arg = "N",
     .help = "frame length in samples, even (default: 256 at 8 kHz, scaled\nwith the rate)",
     .off = P(fft), .lo = 8, .hi = 65536},
    {.name = "hop", .kind = CLI_INT, .arg = "N",
     .help = "frame step in samples (default: fft/4)", .off = P(hop), .lo = 1, .hi = 1 << 20},
    {.name = "range", .kind = CLI_NUM, .arg = "DB",
     .help = "colours span this many dB below the loudest point (default 80)", .off = P(range),
     .lo = 1, .hi = 400},
    {.name = "title", .kind = CLI_STR, .arg = "TEXT",
     .help = "text above the plot (default: the input file name)", .off = P(title)},
    {.name = "width", .kind = CLI_INT, .arg = "PX",
     .help = "whole image width in pixels (default: from the length)", .off = P(width),
     .lo = 64, .hi = 8192},
    {.name = "height", .kind = CLI_INT, .arg = "PX",
     .help = "whole image height in pixels (default: from the fft)", .off = P(height), .lo = 64,
     .hi = 8192},
    {.name = "mel", .kind = CLI_INT, .arg = "N",
     .help = "N mel bands (Slaney's scale) as rows instead of the FFT bins", .off = P(mels),
     .lo = 1, .hi = 4096},
    {.name = "fmin", .kind = CLI_NUM, .arg = "HZ",
     .help = "the mel bands' lowest frequency (default 0)", .off = P(fmin), .lo = 1e-3,
     .hi = 1e6, .zero_ok = 1},
    {.name = "fmax", .kind = CLI_NUM, .arg = "HZ",
     .help = "the mel bands' highest frequency (default: half the rate)", .off = P(fmax),
     .lo = 1e-3, .hi = 1e6, .zero_ok = 1},
    {0},
};
#undef P

const cli_cmd cli_cmd_spectrogram = {
    .name = "spectrogram", .summary = "log-magnitude spectrogram of a WAV as PNG",
    .run = cmd_spectrogram,
    .synopsis = "IN.wav -o OUT.png [--rate HZ] [--fft N] [--hop N]\n"
                "                           [--range DB] [--title TEXT] [--width PX] [--height PX]\n"
                "                           [--mel N [--fmin HZ] [--fmax HZ]]",
    .intro = "  IN       any audio file libsndfile reads (a .raw file is 16-bit LE mono, 8000 Hz\n"
             "           unless --rate is given); channels are mixed to mono\n",
    .opts = table, .operand = input,
};

int cmd_spectrogram(int argc, char **argv)
{
    wn_spectrogram_params p = wn_spectrogram_default_params();
    spec_opts o = {NULL, NULL, NULL, 0, p.fft, p.hop, p.width, p.height, p.mels, p.range_db,
                   p.fmin, p.fmax};
    int rc0 = cli_parse(&cli_cmd_spectrogram, &o, argc, argv);
    if (rc0 != CLI_GO_ON) return rc0;
    if (o.fft % 2) {
        cli_fail("--fft: expected an even number, got %ld", o.fft);
        return 2;
    }
    const char *in = o.in, *out = o.out, *title = o.title;
    long rate = o.rate;
    p.fft = (int)o.fft, p.hop = (int)o.hop, p.width = (int)o.width, p.height = (int)o.height;
    p.mels = (int)o.mels, p.range_db = (float)o.range, p.fmin = o.fmin, p.fmax = o.fmax;
    if (!in || !out) {
        cli_fail("spectrogram: %s is required (see wavenet spectrogram --help)",
                 !in ? "an input file" : "-o OUT.png");
        return 2;
    }
    if (cli_output_is_input("-o", out, &in, 1)) return 1;
    wn_error err;
    wn_audio_info info;
    float *x = NULL;
    size_t n = 0;
    if (wn_audio_read(in, (int)rate, &x, &n, &info, &err) != WN_OK) return cli_fail_err(&err);
    if (info.mixed) cli_note("%s: mixed %d channels to mono", in, info.file_channels);
    if (info.resampled) cli_note("%s: resampled from %d Hz to %ld Hz", in, info.file_rate, rate);
    int sr = rate ? (int)rate : info.file_rate;
    if ((p.fmin != 0 || p.fmax != 0) && !p.mels) {
        free(x);
        cli_fail("spectrogram: --fmin and --fmax need --mel N");
        return 2;
    }
    if (p.mels) { /* the file's rate may rule these values out: a usage error */
        wn_mel_params mp = wn_mel_default_params();
        mp.fft = p.fft, mp.hop = p.hop, mp.mels = p.mels, mp.fmin = p.fmin, mp.fmax = p.fmax;
        if (wn_mel_check(sr, &mp, &err) != WN_OK) {
            free(x);
            cli_fail("spectrogram: --mel/--fmin/--fmax: %s", err.message);
            return 2;
        }
    }
    p.title = title ? title : in;
    int rc = wn_spectrogram_png(x, n, sr, out, &p, &err);
    free(x);
    if (rc != WN_OK) return cli_fail_err(&err);
    fprintf(stderr, "wavenet: wrote %s (%.2f s at %d Hz, fft %d, hop %d",
            strcmp(out, "-") ? out : "stdout", (double)n / sr,
            sr, p.fft ? p.fft : wn_spectrogram_auto_fft(sr),
            p.hop ? p.hop : (p.fft ? p.fft : wn_spectrogram_auto_fft(sr)) / 4);
    if (p.mels)
        fprintf(stderr, ", %d mel bands from %g to %g Hz", p.mels, p.fmin,
                p.fmax > 0 ? p.fmax : sr / 2.0);
    fputs(")\n", stderr);
    return 0;
}
