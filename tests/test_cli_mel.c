/* test_cli_mel.c - `wavenet mel` end to end: its .npy holds exactly what
 * wn_logmel computes for the options given (the library's log-mel is
 * checked against torchaudio by test_spectrum), through files and pipes;
 * bad input gets one line, a non-zero exit and an untouched output. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char out[1 << 16];
static const char *const WAV = "/usr/share/codec2/wav/morig.wav";

static int wn(const char *args) { return tu_wn(args, out, sizeof out); }

static void bad(const char *args, int status, const char *needle)
{
    int rc = wn(args);
    CHECKF(rc == status && tu_lines(out) == 1 && strstr(out, needle),
           "'%s' exited %d (wanted %d), '%s' lacks '%s'", args, rc, status, out, needle);
    fprintf(stderr, "  %-60.60s -> %s", args, out);
}

/* the command's file against wn_logmel of wn_audio_read at `rate` */
static void same_as_library(const char *npy, const char *wav, int rate, const wn_mel_params *p,
                            const char *what)
{
    wn_error err;
    float *x, *want, *got;
    size_t n, r, c;
    wn_audio_info info;
    REQUIRE_OK(wn_audio_read(wav, rate, &x, &n, &info, &err), &err);
    int sr = rate ? rate : info.file_rate;
    int fft = p->fft ? p->fft : wn_spectrogram_auto_fft(sr);
    size_t frames = wn_stft_frames(n, p->hop ? p->hop : fft / 4);
    want = malloc(frames * (size_t)p->mels * sizeof *want);
    REQUIRE(want);
    REQUIRE_OK(wn_logmel(x, n, sr, p, want, &err), &err);
    int rc = wn_npy_read(npy, &got, &r, &c, &err);
    CHECKF(rc == WN_OK && r == frames && c == (size_t)p->mels, "%s: %s (%zu, %zu) vs (%zu, %d)",
           what, rc ? err.message : "", r, c, frames, p->mels);
    if (rc == WN_OK && r == frames && c == (size_t)p->mels)
        CHECKF(!memcmp(got, want, frames * c * sizeof *got), "%s: values differ", what);
    if (rc == WN_OK) free(got);
    free(want);
    free(x);
}

static void le(unsigned char *p, uint32_t v, int bytes)
{
    for (int k = 0; k < bytes; k++) p[k] = (unsigned char)(v >> (8 * k));
}

/* a 16-bit mono WAV of n samples of a 440 Hz square wave at `rate` */
static void write_wav(const char *path, int rate, int n)
{
    unsigned char h[44];
    uint32_t data = (uint32_t)n * 2;
    memcpy(h, "RIFF....WAVEfmt ", 16);
    le(h + 4, 36 + data, 4);
    le(h + 16, 16, 4);
    le(h + 20, 1, 2); /* PCM */
    le(h + 22, 1, 2); /* mono */
    le(h + 24, (uint32_t)rate, 4);
    le(h + 28, (uint32_t)rate * 2, 4);
    le(h + 32, 2, 2);
    le(h + 34, 16, 2);
    memcpy(h + 36, "data", 4);
    le(h + 40, data, 4);
    FILE *f = fopen(path, "wb");
    REQUIRE(f && fwrite(h, 1, 44, f) == 44);
    for (int i = 0; i < n; i++) {
        unsigned char s[2];
        le(s, (uint16_t)(((long)i * 880 / rate) & 1 ? 8000 : -8000), 2);
        REQUIRE(fwrite(s, 1, 2, f) == 2);
    }
    REQUIRE(fclose(f) == 0);
}

int main(void)
{
    char args[4096];
    static char a[512], b[512], w16[512];
    snprintf(a, sizeof a, "%s", tu_path("a.npy"));
    snprintf(b, sizeof b, "%s", tu_path("b.npy"));
    snprintf(w16, sizeof w16, "%s", tu_path("w16.wav"));

    /* the defaults: 8 kHz, 80 Slaney bands, fft 256, hop 64; one note */
    snprintf(args, sizeof args, "mel %s -o %s", WAV, a);
    REQUIRE(wn(args) == 0);
    CHECKF(tu_lines(out) == 1 && strstr(out, "note: wrote") && strstr(out, "frames x 80 bands") &&
           strstr(out, "125 frames/s"), "note: %s", out);
    fprintf(stderr, "  %s", out);
    wn_mel_params p = wn_mel_default_params();
    same_as_library(a, WAV, 8000, &p, "defaults");

    /* every option moved */
    snprintf(args, sizeof args,
             "mel %s -o %s --mels 40 --fft 512 --hop 100 --fmin 100 --fmax 3800 --htk", WAV, b);
    REQUIRE(wn(args) == 0);
    CHECKF(strstr(out, "frames x 40 bands, 80 frames/s") && strstr(out, "HTK"), "%s", out);
    p.mels = 40, p.fft = 512, p.hop = 100, p.fmin = 100, p.fmax = 3800, p.scale = WN_MEL_HTK;
    same_as_library(b, WAV, 8000, &p, "every option");

    /* --rate: resampled to 8000 by default, the file's own with 0 */
    write_wav(w16, 16000, 16000);
    snprintf(args, sizeof args, "mel %s -o %s", w16, b);
    REQUIRE(wn(args) == 0);
    CHECKF(strstr(out, "resampled from 16000 Hz") && strstr(out, "(8000 Hz"), "%s", out);
    p = wn_mel_default_params();
    same_as_library(b, w16, 8000, &p, "--rate default on 16 kHz");
    snprintf(args, sizeof args, "mel %s -o %s --rate 0", w16, b);
    REQUIRE(wn(args) == 0);
    CHECKF(strstr(out, "(16000 Hz, fft 512, hop 128") && strstr(out, "125 frames/s"), "%s", out);
    same_as_library(b, w16, 0, &p, "--rate 0");
    snprintf(args, sizeof args, "mel %s -o %s --rate 11025 --mels 64", w16, b);
    REQUIRE(wn(args) == 0);
    p.mels = 64;
    same_as_library(b, w16, 11025, &p, "--rate 11025");

    /* pipes: stdin in, stdout out, the same bytes as the files */
    snprintf(args, sizeof args, "cat %s | %s mel - -o - 2>/dev/null | cmp - %s", WAV,
             tu_wavenet(), a);
    CHECKF(tu_run(args, out, sizeof out) == 0, "mel - -o -: %s", out);

    /* bad input: one line, non-zero, the old output untouched */
    const char *empty = tu_path("empty.wav"), *text = tu_path("text.wav");
    write_wav(empty, 8000, 0);
    FILE *f = fopen(text, "w");
    REQUIRE(f && fputs("this is not audio\n", f) >= 0 && fclose(f) == 0);
    snprintf(args, sizeof args, "mel %s -o %s", empty, a);
    bad(args, 1, "empty");
    snprintf(args, sizeof args, "mel %s -o %s", text, a);
    bad(args, 1, "not a readable audio file");
    snprintf(args, sizeof args, "mel %s -o %s", WAV, tu_tmpdir());
    bad(args, 1, "is a folder");
    /* -o its input, by the same name and by another: refused, unchanged */
    snprintf(args, sizeof args, "cp %s %s", WAV, tu_path("c.wav"));
    REQUIRE(tu_run(args, NULL, 0) == 0);
    snprintf(args, sizeof args, "mel %s -o %s", tu_path("c.wav"), tu_path("c.wav"));
    bad(args, 1, "is the same file as the input");
    snprintf(args, sizeof args, "cd %s && %s mel c.wav -o ./c.wav 2>&1 && false; cmp c.wav %s",
             tu_tmpdir(), tu_wavenet(), WAV);
    CHECKF(tu_run(args, out, sizeof out) == 0 && tu_lines(out) == 1 &&
           strstr(out, "is the same file as the input"), "-o ./its input: %s", out);
    snprintf(args, sizeof args, "mel %s", WAV);
    bad(args, 2, "-o FEATS.npy is required");
    snprintf(args, sizeof args, "mel -o %s", a);
    bad(args, 2, "an input file is required");
    snprintf(args, sizeof args, "mel %s %s -o %s", WAV, WAV, a);
    bad(args, 2, "one input file only");
    snprintf(args, sizeof args, "mel %s -o %s --fft 255", WAV, a);
    bad(args, 2, "--fft");
    snprintf(args, sizeof args, "mel %s -o %s --fmax 5000", WAV, a);
    bad(args, 2, "mel:");
    snprintf(args, sizeof args, "mel %s -o %s -m x --mels 40", WAV, a);
    bad(args, 2, "drop the other options");
    snprintf(args, sizeof args, "mel %s -o %s -m %s/models/wavenet-speech.safetensors", WAV, a,
             tu_srcdir());
    bad(args, 1, "has no mel conditioning");
    snprintf(args, sizeof args, "mel %s -o /dev/null/x.npy", WAV);
    bad(args, 1, "/dev/null/x.npy");
    p = wn_mel_default_params();
    same_as_library(a, WAV, 8000, &p, "after the refusals");

    /* -m: a conditional model's features, as wn_model_features gives them:
     * (n + hop/2) / hop + 1 frames of its recipe (hop 80 here, 40 bands) */
    {
        wn_config c = wn_config_default();
        c.layers = 2, c.stack = 2, c.residual = c.dilation = 4, c.skip = 8;
        c.cond = 40, c.hop = 80;
        wn_error err;
        wn_model *m = wn_model_init(&c, 1, &err);
        REQUIRE(m);
        char model[512];
        snprintf(model, sizeof model, "%s", tu_path("voc.safetensors"));
        REQUIRE_OK(wn_model_save(m, model, &err), &err);
        snprintf(args, sizeof args, "mel %s -o %s -m %s", WAV, a, model);
        CHECKF(wn(args) == 0 && tu_lines(out) == 1, "mel -m: %s", out);
        float *x, *want, *got;
        size_t n, fr, r, cols;
        REQUIRE_OK(wn_audio_read(WAV, 8000, &x, &n, NULL, &err), &err);
        REQUIRE_OK(wn_model_features(m, x, n, &want, &fr, &err), &err);
        CHECK(fr == (n + 40) / 80 + 1 && fr == wn_model_cond_frames(m, n));
        int rc = wn_npy_read(a, &got, &r, &cols, &err);
        CHECKF(rc == WN_OK && r == fr && cols == 40, "mel -m: (%zu, %zu)", r, cols);
        if (rc == WN_OK && r == fr && cols == 40)
            CHECK(!memcmp(got, want, fr * cols * sizeof *got));
        /* its frames are those of wn_logmel over the signal and hop/2 zeros */
        wn_mel_params q;
        REQUIRE(wn_model_mel_params(m, &q) == WN_OK && q.hop == 80 && q.mels == 40);
        float *xp = calloc(n + 40, sizeof *xp), *ref = malloc(fr * 40 * sizeof *ref);
        REQUIRE(xp && ref);
        memcpy(xp, x, n * sizeof *x);
        REQUIRE_OK(wn_logmel(xp, n + 40, 8000, &q, ref, &err), &err);
        CHECK(!memcmp(ref, want, fr * 40 * sizeof *ref));
        if (rc == WN_OK) free(got);
        free(xp), free(ref), free(want), free(x);
        wn_model_free(m);
    }
    return tu_finish("cli_mel", 0);
}
