/* cmd_spectrogram.c - `wavenet spectrogram`: audio files' log-magnitude
 * spectrograms as one image, side by side on one colour scale when there
 * are several (wn_audio_read + wn_spectrogram_png_panels). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUTS 16 /* wn_spectrogram_png_panels' limit */

typedef struct spec_opts {
    const char *in[MAX_INPUTS], *label[MAX_INPUTS];
    int nin, nlabel;
    const char *out, *title;
    long rate, fft, hop, width, height, mels;
    double range, fmin, fmax;
} spec_opts;

static int input(void *o, const char *path)
{
    spec_opts *so = o;
    if (so->nin == MAX_INPUTS) {
        cli_fail("spectrogram: at most %d inputs ('%s' is one more)", MAX_INPUTS, path);
        return 2;
    }
    so->in[so->nin++] = path;
    return 0;
}

static int label(void *o, const char *flag, const char *text)
{
    spec_opts *so = o;
    if (so->nlabel == MAX_INPUTS) {
        cli_fail("%s: at most %d labels, one per input", flag, MAX_INPUTS);
        return 2;
    }
    so->label[so->nlabel++] = text;
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
     .help = "text above the image (default: the input file name; none for\nseveral inputs)",
     .off = P(title)},
    {.name = "label", .kind = CLI_CALL, .arg = "TEXT",
     .help = "text above a panel: once per input, in order (default for\nseveral inputs: "
             "each file's name)", .fn = label},
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
    .name = "spectrogram", .summary = "log-magnitude spectrograms of WAVs as PNG",
    .run = cmd_spectrogram,
    .synopsis = "IN.wav [IN2.wav ...] -o OUT.png [--label TEXT]... [--rate HZ]\n"
                "                           [--fft N] [--hop N] [--range DB] [--title TEXT]\n"
                "                           [--width PX] [--height PX]\n"
                "                           [--mel N [--fmin HZ] [--fmax HZ]]",
    .intro = "  IN       any audio file libsndfile reads (a .raw file is 16-bit LE mono, 8000 Hz\n"
             "           unless --rate is given); channels are mixed to mono. Several\n"
             "           inputs (up to 16) are drawn side by side, left to right, on one\n"
             "           colour scale (dB below the loudest of them all); without --rate\n"
             "           they must share a sample rate\n",
    .opts = table, .operand = input,
};

/* Read every input at one rate into x[i], n[i]; *sr the rate. 0, or the
 * exit status after a one-line error (the caller frees x[0..nin)). */
static int read_inputs(const spec_opts *o, float **x, size_t *n, int *sr)
{
    wn_error err;
    for (int i = 0; i < o->nin; i++) {
        const char *in = o->in[i];
        wn_audio_info info;
        if (wn_audio_read(in, (int)o->rate, &x[i], &n[i], &info, &err) != WN_OK)
            return cli_fail_err(&err);
        if (i == 0) *sr = o->rate ? (int)o->rate : info.file_rate;
        else if (!o->rate && info.file_rate != *sr) {
            /* panels share a frequency axis and an STFT: one rate */
            cli_fail("spectrogram: %s is %d Hz but %s is %d Hz; give --rate HZ to draw both "
                     "at one rate", in, info.file_rate, o->in[0], *sr);
            return 2;
        }
        if (info.mixed) cli_note("%s: mixed %d channels to mono", in, info.file_channels);
        if (info.resampled)
            cli_note("%s: resampled from %d Hz to %ld Hz", in, info.file_rate, o->rate);
    }
    return 0;
}

/* The mel options against the rate: 0, or 2 after a one-line error */
static int check_mel(const wn_spectrogram_params *p, int sr)
{
    wn_error err;
    if ((p->fmin != 0 || p->fmax != 0) && !p->mels) {
        cli_fail("spectrogram: --fmin and --fmax need --mel N");
        return 2;
    }
    if (p->mels) { /* the file's rate may rule these values out: a usage error */
        wn_mel_params mp = wn_mel_default_params();
        mp.fft = p->fft, mp.hop = p->hop, mp.mels = p->mels, mp.fmin = p->fmin, mp.fmax = p->fmax;
        if (wn_mel_check(sr, &mp, &err) != WN_OK) {
            cli_fail("spectrogram: --mel/--fmin/--fmax: %s", err.message);
            return 2;
        }
    }
    return 0;
}

/* The inputs and labels make sense together: 0, or 2 after a one-line error */
static int check_inputs(const spec_opts *o)
{
    if (!o->nin || !o->out) {
        cli_fail("spectrogram: %s is required (see wavenet spectrogram --help)",
                 !o->nin ? "an input file" : "-o OUT.png");
        return 2;
    }
    if (o->nlabel && o->nlabel != o->nin) {
        cli_fail("spectrogram: %d label%s for %d input%s (give --label once per input, in "
                 "order, or not at all)", o->nlabel, o->nlabel > 1 ? "s" : "", o->nin,
                 o->nin > 1 ? "s" : "");
        return 2;
    }
    int stdin_uses = 0;
    for (int i = 0; i < o->nin; i++) stdin_uses += !strcmp(o->in[i], "-");
    if (stdin_uses > 1) {
        cli_fail("spectrogram: standard input ('-') can be only one of the inputs");
        return 2;
    }
    return 0;
}

/* A panel's default label: its file's name without the folders */
static const char *file_label(const char *path)
{
    if (!strcmp(path, "-")) return "stdin";
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static void report(const spec_opts *o, const wn_spectrogram_params *p, const size_t *n, int sr)
{
    const int fft = p->fft ? p->fft : wn_spectrogram_auto_fft(sr);
    fprintf(stderr, "wavenet: wrote %s (", strcmp(o->out, "-") ? o->out : "stdout");
    if (o->nin > 1) fprintf(stderr, "%d panels: ", o->nin);
    for (int i = 0; i < o->nin; i++)
        fprintf(stderr, "%s%.2f", i ? ", " : "", (double)n[i] / sr);
    fprintf(stderr, " s at %d Hz, fft %d, hop %d", sr, fft, p->hop ? p->hop : fft / 4);
    if (p->mels)
        fprintf(stderr, ", %d mel bands from %g to %g Hz", p->mels, p->fmin,
                p->fmax > 0 ? p->fmax : sr / 2.0);
    fputs(")\n", stderr);
}

int cmd_spectrogram(int argc, char **argv)
{
    wn_spectrogram_params p = wn_spectrogram_default_params();
    spec_opts o = {.fft = p.fft, .hop = p.hop, .width = p.width, .height = p.height,
                   .mels = p.mels, .range = p.range_db, .fmin = p.fmin, .fmax = p.fmax};
    int rc = cli_parse(&cli_cmd_spectrogram, &o, argc, argv);
    if (rc != CLI_GO_ON) return rc;
    if (o.fft % 2) {
        cli_fail("--fft: expected an even number, got %ld", o.fft);
        return 2;
    }
    p.fft = (int)o.fft, p.hop = (int)o.hop, p.width = (int)o.width, p.height = (int)o.height;
    p.mels = (int)o.mels, p.range_db = (float)o.range, p.fmin = o.fmin, p.fmax = o.fmax;
    if ((rc = check_inputs(&o))) return rc;
    if (cli_output_is_input("-o", o.out, o.in, o.nin)) return 1;
    float *x[MAX_INPUTS] = {0};
    size_t n[MAX_INPUTS] = {0};
    int sr = 0;
    rc = read_inputs(&o, x, n, &sr);
    if (!rc) rc = check_mel(&p, sr);
    if (!rc) {
        const char *labels[MAX_INPUTS];
        for (int i = 0; i < o.nin; i++)
            labels[i] = o.nlabel ? o.label[i] : o.nin > 1 ? file_label(o.in[i]) : NULL;
        p.title = o.title ? o.title : o.nin == 1 ? o.in[0] : NULL;
        wn_error err;
        if (wn_spectrogram_png_panels((const float *const *)x, n, labels, o.nin, sr, o.out,
                                      &p, &err) != WN_OK)
            rc = cli_fail_err(&err);
        else
            report(&o, &p, n, sr);
    }
    for (int i = 0; i < o.nin; i++) free(x[i]);
    return rc;
}
