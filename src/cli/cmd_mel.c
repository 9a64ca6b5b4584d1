/* cmd_mel.c - `wavenet mel`: an audio file's log-mel features as a NumPy
 * .npy file, frames x bands float32 (wn_audio_read + wn_logmel +
 * wn_npy_write), the features a vocoder is conditioned on. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct mel_opts {
    const char *in, *out, *model;
    long rate, fft, hop, mels;
    double fmin, fmax;
    int htk;
} mel_opts;

static int input(void *o, const char *path)
{
    mel_opts *mo = o;
    if (mo->in) {
        cli_fail("mel: one input file only ('%s' and '%s')", mo->in, path);
        return 2;
    }
    mo->in = path;
    return 0;
}

#define P(f) offsetof(mel_opts, f)
static const cli_opt table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "output", .short_name = 'o', .kind = CLI_STR, .arg = "FEATS.npy",
     .help = "the features, frames x bands float32 (required; '-' = stdout)", .off = P(out)},
    {.name = "model", .short_name = 'm', .kind = CLI_STR, .arg = "MODEL",
     .help = "a conditional model's features: its rate and recipe, and the\n"
     "frames it conditions the file's samples on (the other options\n"
     "then do not apply)", .off = P(model)},
    {.name = "rate", .kind = CLI_INT, .arg = "HZ",
     .help = "resample to HZ first (default 8000; 0 = the file's own rate)", .off = P(rate),
     .lo = 0, .hi = 1 << 20},
    {.name = "mels", .kind = CLI_INT, .arg = "N", .help = "mel bands (default 80)",
     .off = P(mels), .lo = 1, .hi = 4096},
    {.name = "fft", .kind = CLI_INT, .arg = "N",
     .help = "frame length in samples, even (default: 256 at 8 kHz, scaled\nwith the rate)",
     .off = P(fft), .lo = 8, .hi = 65536},
    {.name = "hop", .kind = CLI_INT, .arg = "N",
     .help = "frame step in samples (default: fft/4)", .off = P(hop), .lo = 1, .hi = 1 << 20},
    {.name = "fmin", .kind = CLI_NUM, .arg = "HZ",
     .help = "the lowest band's lower edge (default 0)", .off = P(fmin), .lo = 1e-3,
     .hi = 1e6, .zero_ok = 1},
    {.name = "fmax", .kind = CLI_NUM, .arg = "HZ",
     .help = "the highest band's upper edge (default: half the rate)", .off = P(fmax),
     .lo = 1e-3, .hi = 1e6, .zero_ok = 1},
    {.name = "htk", .kind = CLI_FLAG,
     .help = "HTK's mel scale (torchaudio's default) instead of Slaney's\n(librosa's)",
     .off = P(htk)},
    {0},
};
#undef P

static int cmd_mel(int argc, char **argv);

const cli_cmd cli_cmd_mel = {
    .name = "mel", .summary = "log-mel features of a WAV as a .npy file",
    .run = cmd_mel,
    .synopsis = "IN.wav -o FEATS.npy [-m MODEL | [--rate HZ] [--mels N] [--fft N]\n"
                "                   [--hop N] [--fmin HZ] [--fmax HZ] [--htk]]",
    .intro = "  IN       any audio file libsndfile reads (a .raw file is 16-bit LE mono);\n"
             "           channels are mixed to mono; '-' reads stdin\n",
    .outro = "Features: ln(max(P, 1e-10)) of the mel filters (area-normalised, as librosa's\n"
             "norm='slaney') applied to the power spectrum of centred periodic-Hann frames,\n"
             "scaled so a full-scale sine has power 1 (docs/CLI.md, \"mel\").\n",
    .opts = table, .operand = input,
};

/* -m MODEL: the model's own features of the file (wn_model_features) */
static int model_features(const mel_opts *o)
{
    const wn_mel_params d = wn_mel_default_params();
    if (o->rate != 8000 || o->fft != d.fft || o->hop != d.hop || o->mels != d.mels ||
        o->fmin != d.fmin || o->fmax != d.fmax || o->htk) {
        cli_fail("mel: -m takes the model's rate and recipe; drop the other options");
        return 2;
    }
    if (cli_output_is_input("-o", o->out, &o->model, 1)) return 1;
    wn_error err;
    wn_model *m = wn_model_load(o->model, &err);
    if (!m) return cli_fail_err(&err);
    wn_config c = wn_model_config(m);
    wn_mel_params p;
    if (wn_model_mel_params(m, &p) != WN_OK) {
        wn_model_free(m);
        return cli_fail("mel: %s has no mel conditioning", o->model);
    }
    float *x = NULL, *feats = NULL;
    size_t n = 0, frames = 0;
    wn_audio_info info;
    int rc = wn_audio_read(o->in, c.sample_rate, &x, &n, &info, &err);
    if (rc == WN_OK) rc = wn_model_features(m, x, n, &feats, &frames, &err);
    if (rc == WN_OK && frames > WN_NPY_MAX_ELEMENTS / (size_t)p.mels)
        rc = (err.code = WN_ERR_RANGE,
              snprintf(err.message, sizeof err.message,
                       "mel: %zu frames x %d bands is more than a .npy file here holds", frames,
                       p.mels),
              WN_ERR_RANGE);
    if (rc == WN_OK) rc = wn_npy_write(o->out, feats, frames, (size_t)p.mels, &err);
    free(x);
    free(feats);
    wn_model_free(m);
    if (rc != WN_OK) return cli_fail_err(&err);
    cli_note("wrote %s: %zu frames x %d bands of %s's features (%zu samples at %d Hz, hop %d%s)",
             strcmp(o->out, "-") ? o->out : "stdout", frames, p.mels, o->model, n, c.sample_rate,
             p.hop, info.resampled ? ", resampled" : "");
    return 0;
}

static int cmd_mel(int argc, char **argv)
{
    wn_mel_params p = wn_mel_default_params();
    mel_opts o = {NULL, NULL, NULL, 8000, p.fft, p.hop, p.mels, p.fmin, p.fmax, 0};
    int rc0 = cli_parse(&cli_cmd_mel, &o, argc, argv);
    if (rc0 != CLI_GO_ON) return rc0;
    if (o.fft % 2) {
        cli_fail("--fft: expected an even number, got %ld", o.fft);
        return 2;
    }
    if (!o.in || !o.out) {
        cli_fail("mel: %s is required (see wavenet mel --help)",
                 !o.in ? "an input file" : "-o FEATS.npy");
        return 2;
    }
    const char *in = o.in;
    if (cli_output_is_input("-o", o.out, &in, 1)) return 1;
    if (o.model) return model_features(&o);
    wn_error err;
    wn_audio_info info;
    float *x = NULL;
    size_t n = 0;
    if (wn_audio_read(in, (int)o.rate, &x, &n, &info, &err) != WN_OK) return cli_fail_err(&err);
    int sr = o.rate ? (int)o.rate : info.file_rate;
    p.fft = o.fft ? (int)o.fft : wn_spectrogram_auto_fft(sr);
    p.hop = o.hop ? (int)o.hop : p.fft / 4;
    p.mels = (int)o.mels, p.fmin = o.fmin, p.fmax = o.fmax;
    p.scale = o.htk ? WN_MEL_HTK : WN_MEL_SLANEY;
    /* the file's rate may rule these values out: a usage error */
    if (wn_mel_check(sr, &p, &err) != WN_OK) {
        free(x);
        cli_fail("mel: %s", err.message);
        return 2;
    }
    size_t frames = wn_stft_frames(n, p.hop);
    if (frames > WN_NPY_MAX_ELEMENTS / (size_t)p.mels) {
        free(x);
        return cli_fail("mel: %zu frames x %d bands is more than a .npy file here holds (2^31)",
                        frames, p.mels);
    }
    float *feats = malloc(frames * (size_t)p.mels * sizeof *feats);
    if (!feats) {
        free(x);
        return cli_fail("mel: out of memory for %zu frames", frames);
    }
    int rc = wn_logmel(x, n, sr, &p, feats, &err);
    free(x);
    if (rc == WN_OK) rc = wn_npy_write(o.out, feats, frames, (size_t)p.mels, &err);
    free(feats);
    if (rc != WN_OK) return cli_fail_err(&err);
    char how[96] = "";
    if (info.resampled)
        snprintf(how, sizeof how, "; %sresampled from %d Hz", info.mixed ? "mixed to mono, " : "",
                 info.file_rate);
    else if (info.mixed)
        snprintf(how, sizeof how, "; mixed %d channels to mono", info.file_channels);
    cli_note("wrote %s: %zu frames x %d bands, %g frames/s (%d Hz, fft %d, hop %d, %s mel "
             "%g to %g Hz%s)", strcmp(o.out, "-") ? o.out : "stdout", frames, p.mels,
             (double)sr / p.hop, sr, p.fft, p.hop, o.htk ? "HTK" : "Slaney", p.fmin,
             p.fmax > 0 ? p.fmax : sr / 2.0, how);
    return 0;
}
