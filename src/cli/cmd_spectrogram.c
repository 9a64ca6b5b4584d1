/* cmd_spectrogram.c - `wavenet spectrogram`: an audio file's log-magnitude
 * spectrogram as a PNG (wn_audio_read + wn_spectrogram_png). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: wavenet spectrogram IN.wav -o OUT.png [--rate HZ] [--fft N] [--hop N]\n"
    "                           [--range DB] [--title TEXT] [--width PX] [--height PX]\n"
    "                           [--mel N [--fmin HZ] [--fmax HZ]]\n"
    "  IN       any audio file libsndfile reads (a .raw file is 16-bit LE mono, 8000 Hz\n"
    "           unless --rate is given); channels are mixed to mono\n"
    "  --rate   resample to HZ first (default: the file's own rate)\n"
    "  --fft    frame length in samples, even (default: 256 at 8 kHz, scaled with the rate)\n"
    "  --hop    frame step in samples (default: fft/4)\n"
    "  --range  colours span this many dB below the loudest point (default 80)\n"
    "  --title  text above the plot (default: the input file name)\n"
    "  --width, --height  whole image size in pixels (default: from the length and fft)\n"
    "  --mel    N mel bands (Slaney's scale) as rows instead of the FFT bins\n"
    "  --fmin, --fmax  the mel bands' range in Hz (default 0 to half the rate)\n";

int cmd_spectrogram(int argc, char **argv)
{
    wn_spectrogram_params p = wn_spectrogram_default_params();
    const char *in = NULL, *out = NULL, *title = NULL;
    long rate = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long x;
        double d;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--rate")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 1, 1 << 20, &rate)) return 2;
        } else if (!strcmp(a, "--fft")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 8, 65536, &x)) return 2;
            if (x % 2) {
                cli_fail("--fft: expected an even number, got %ld", x);
                return 2;
            }
            p.fft = (int)x;
        } else if (!strcmp(a, "--hop")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 1, 1 << 20, &x)) return 2;
            p.hop = (int)x;
        } else if (!strcmp(a, "--range")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_double(a, v, 1, 400, &d)) return 2;
            p.range_db = (float)d;
        } else if (!strcmp(a, "--title")) {
            if (!(title = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--width")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 64, 8192, &x)) return 2;
            p.width = (int)x;
        } else if (!strcmp(a, "--height")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 64, 8192, &x)) return 2;
            p.height = (int)x;
        } else if (!strcmp(a, "--mel")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_int(a, v, 1, 4096, &x)) return 2;
            p.mels = (int)x;
        } else if (!strcmp(a, "--fmin") || !strcmp(a, "--fmax")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_double(a, v, 0, 1e6, &d)) return 2;
            *(a[4] == 'i' ? &p.fmin : &p.fmax) = d;
        } else if (a[0] == '-' && a[1]) {
            cli_fail("spectrogram: unknown option '%s' (see wavenet spectrogram --help)", a);
            return 2;
        } else if (!in) {
            in = a;
        } else {
            cli_fail("spectrogram: one input file only ('%s' and '%s')", in, a);
            return 2;
        }
    }
    if (!in || !out) {
        cli_fail("spectrogram: %s is required (see wavenet spectrogram --help)",
                 !in ? "an input file" : "-o OUT.png");
        return 2;
    }
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
