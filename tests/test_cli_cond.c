/* test_cli_cond.c - the commands' side of conditional models: init writes
 * what it is asked for (info reads it back, text and JSON), --from starts a
 * model that scores exactly as its source, score takes a speaker and
 * features and refuses what does not fit in one line. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static char out[1 << 16];
static const char *const WAV = "/usr/share/codec2/wav/morig.wav";

static int wn(const char *args) { return tu_wn(args, out, sizeof out); }

static void bad(const char *args, int status, const char *needle)
{
    int rc = wn(args);
    CHECKF(rc == status && tu_lines(out) == 1 && strstr(out, needle),
           "'%s' exited %d (wanted %d), '%s' lacks '%s'", args, rc, status, out, needle);
}

/* the nats figure of score's one line */
static double nats(void)
{
    const char *p = strstr(out, "samples, ");
    return p ? atof(p + 9) : -1;
}

int main(void)
{
    char args[4096], src[512], voc[512], spk[512], feats[512];
    snprintf(src, sizeof src, "%s", tu_path("src.safetensors"));
    snprintf(voc, sizeof voc, "%s", tu_path("voc.safetensors"));
    snprintf(spk, sizeof spk, "%s", tu_path("spk.safetensors"));
    snprintf(feats, sizeof feats, "%s", tu_path("f.npy"));
    const char *small = "--layers 6 --stack 3 --residual 8 --dilation 8 --skip 16";

    /* init: a vocoder with speakers; info reads back every setting */
    snprintf(args, sizeof args, "init -o %s %s --seed 3", src, small);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args,
             "init -o %s %s --condition mel --mels 40 --hop 80 --fmin 50 --fmax 3800 --htk "
             "--upsample-pre --speaker-names ann,bob,cy --speaker-dim 4 --from %s",
             voc, small, src);
    CHECKF(wn(args) == 0 && strstr(out, "log-mel conditioning, speakers") &&
               strstr(out, "tensors from"), "init: %s", out);
    snprintf(args, sizeof args, "info -m %s", voc);
    CHECKF(wn(args) == 0 && strstr(out, "log-mel, 40 bands, hop 80 (100.0 frames/s)") &&
               strstr(out, "HTK scale 50-3800 Hz") && strstr(out, "8x10") &&
               strstr(out, "kernel-3 conv") && strstr(out, "not yet") &&
               strstr(out, "speakers:         3 (embedding width 4): ann, bob, cy"),
           "info: %s", out);
    snprintf(args, sizeof args, "info --json -m %s", voc);
    CHECKF(wn(args) == 0 && strstr(out, "\"format_version\":2") &&
               strstr(out, "\"condition\":\"mel\",\"mels\":40,\"hop\":80") &&
               strstr(out, "\"upsample_strides\":[8,10],\"cond_channels\":40,\"upsample_pre\":true") &&
               strstr(out, "\"speaker_names\":[\"ann\",\"bob\",\"cy\"]"),
           "info --json: %s", out);
    snprintf(args, sizeof args, "info --json -m %s", src);
    CHECKF(wn(args) == 0 && strstr(out, "\"format_version\":1") && !strstr(out, "condition"),
           "info --json, unconditional: %s", out);

    /* --mel-floor: kept in the model, shown by info, and the floor of the
     * features `mel -m` computes: morig's pauses sit below ln(1e-4) at the
     * default 1e-10 and exactly on it here */
    {
        char hi[512], fa[512], fb[512];
        snprintf(hi, sizeof hi, "%s", tu_path("floor.safetensors"));
        snprintf(fa, sizeof fa, "%s", tu_path("floor-default.npy"));
        snprintf(fb, sizeof fb, "%s", tu_path("floor-1e-4.npy"));
        snprintf(args, sizeof args, "init -o %s %s --condition mel --mel-floor 1e-4", hi, small);
        REQUIRE(wn(args) == 0);
        snprintf(args, sizeof args, "info -m %s", hi);
        CHECKF(wn(args) == 0 && strstr(out, "Hz, floor 0.0001\n"), "info, --mel-floor: %s", out);
        snprintf(args, sizeof args, "info --json -m %s", hi);
        CHECKF(wn(args) == 0 && strstr(out, "\"mel_floor\":0.0001,"), "info --json: %s", out);
        snprintf(args, sizeof args, "mel %s -o %s", WAV, fa);
        REQUIRE(wn(args) == 0);
        snprintf(args, sizeof args, "mel -m %s %s -o %s", hi, WAV, fb);
        REQUIRE(wn(args) == 0);
        float *a = NULL, *b = NULL;
        size_t ra, ca, rb, cb;
        wn_error err;
        REQUIRE_OK(wn_npy_read(fa, &a, &ra, &ca, &err), &err);
        REQUIRE_OK(wn_npy_read(fb, &b, &rb, &cb, &err), &err);
        const float lf = logf(1e-4f);
        size_t below = 0, at = 0, wrong = 0;
        for (size_t i = 0; ra == rb && ca == cb && i < ra * ca; i++) {
            below += a[i] < lf;
            at += b[i] == lf;
            wrong += b[i] < lf || (a[i] >= lf && b[i] != a[i]) || (a[i] < lf && b[i] != lf);
        }
        CHECKF(ra == rb && ca == cb && below > 0 && at == below && !wrong,
               "--mel-floor 1e-4: %zu cells below it by default, %zu on it, %zu wrong", below, at,
               wrong);
        free(a);
        free(b);
        snprintf(args, sizeof args, "init -o %s %s --mel-floor 1e-4", hi, small);
        CHECKF(wn(args) == 2 && strstr(out, "--mel-floor goes with --condition mel"),
               "--mel-floor without mel: %s", out);
    }

    /* --from: the layers' cond and speaker weights start at zero, so the
     * vocoder scores what its source scores, as any speaker, on its own
     * features or on other ones */
    snprintf(args, sizeof args, "score -m %s %s", src, WAV);
    REQUIRE(wn(args) == 0);
    const double want = nats();
    snprintf(args, sizeof args, "score -m %s --speaker bob %s", voc, WAV);
    CHECKF(wn(args) == 0 && nats() == want, "--from: %s vs %.3f", out, want);
    snprintf(args, sizeof args, "score -m %s --speaker 2 %s", voc, WAV);
    CHECKF(wn(args) == 0 && nats() == want, "--speaker by row: %s vs %.3f", out, want);
    snprintf(args, sizeof args, "mel -m %s %s -o %s", voc, WAV, feats);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "score -m %s --speaker ann --features %s %s", voc, feats, WAV);
    CHECKF(wn(args) == 0 && nats() == want, "--features: %s vs %.3f", out, want);

    /* --from a smaller network: more layers, residual and gate channels
     * (a speaker model, so the speaker weights grow too) score exactly as
     * the source, and training reaches the weights left at zero */
    {
        char sm[512], big[512], tr[512];
        snprintf(sm, sizeof sm, "%s", tu_path("grow-small.safetensors"));
        snprintf(big, sizeof big, "%s", tu_path("grow-big.safetensors"));
        snprintf(tr, sizeof tr, "%s", tu_path("grow-trained.safetensors"));
        snprintf(args, sizeof args, "init -o %s --layers 4 --stack 2 --residual 8 --dilation 6 "
                 "--skip 16 --speaker-names ann,bob --speaker-dim 3 --seed 4", sm);
        REQUIRE(wn(args) == 0);
        snprintf(args, sizeof args, "init -o %s --layers 7 --stack 2 --residual 12 --dilation 9 "
                 "--skip 16 --speaker-names ann,bob --speaker-dim 3 --seed 5 --from %s", big, sm);
        CHECKF(wn(args) == 0 && strstr(out, "more grown from its smaller ones"), "grow: %s", out);
        double nb[2] = {0, 0}, ns[2] = {0, 0};
        const char *who[2] = {"ann", "bob"};
        for (int k = 0; k < 2; k++) {
            snprintf(args, sizeof args, "score -m %s --speaker %s %s", sm, who[k], WAV);
            REQUIRE(wn(args) == 0);
            ns[k] = nats();
            snprintf(args, sizeof args, "score -m %s --speaker %s %s", big, who[k], WAV);
            REQUIRE(wn(args) == 0);
            nb[k] = nats();
        }
        CHECKF(ns[0] != ns[1] && fabs(nb[0] - ns[0]) < 1e-6 * ns[0] &&
                   fabs(nb[1] - ns[1]) < 1e-6 * ns[1],
               "grown model scores %.6f / %.6f, its source %.6f / %.6f", nb[0], nb[1], ns[0],
               ns[1]);
        /* a speaker model trains with a speaker per clip: a list line gives it */
        FILE *f = fopen(tu_path("grow.txt"), "w");
        REQUIRE(f);
        fprintf(f, "%s\tann\n", WAV);
        fclose(f);
        snprintf(args, sizeof args, "train -m %s -o %s --train-list %s --steps 3 --batch 2 "
                 "--window 256 --threads 1 --quiet", big, tr, tu_path("grow.txt"));
        REQUIRE(wn(args) == 0);
        wn_error err;
        wn_model *b = wn_model_load(big, &err), *t = wn_model_load(tr, &err);
        REQUIRE(b && t);
        /* zeros before, moved after: a new residual channel's input, a new
         * gate channel's outputs, a new layer's res and skip */
        struct {
            const char *name;
            int row0, col0; /* the zero block starts here (rows x cols x k) */
        } z[] = {{"causal.weight", 8, 0}, {"layers.0.res.weight", 8, 0},
                 {"layers.1.skip.weight", 0, 6}, {"layers.5.res.weight", 0, 0},
                 {"layers.6.skip.weight", 0, 0}};
        for (size_t i = 0; i < sizeof z / sizeof z[0]; i++) {
            int nd, sh[3] = {1, 1, 1};
            size_t n = wn_model_tensor_info(b, z[i].name, &nd, sh, NULL);
            REQUIRE(n > 0);
            float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
            REQUIRE(x && y);
            wn_model_tensor_get(b, z[i].name, NULL, x);
            wn_model_tensor_get(t, z[i].name, NULL, y);
            const int K = nd > 2 ? sh[2] : 1;
            double before = 0, after = 0;
            for (int r = z[i].row0; r < sh[0]; r++)
                for (int c = z[i].col0; c < sh[1]; c++)
                    for (int k = 0; k < K; k++) {
                        before += fabs(x[((size_t)r * sh[1] + c) * K + k]);
                        after += fabs(y[((size_t)r * sh[1] + c) * K + k]);
                    }
            CHECKF(before == 0 && after > 0, "%s: the grown block |%g| before training, |%g| "
                   "after", z[i].name, before, after);
            free(x);
            free(y);
        }
        wn_model_free(b);
        wn_model_free(t);
        /* a larger model that cannot grow (another skip width) is told so */
        snprintf(args, sizeof args, "init -o %s --layers 7 --stack 2 --residual 12 --dilation 9 "
                 "--skip 24 --speaker-names ann,bob --speaker-dim 3 --seed 5 --from %s", big, sm);
        CHECKF(wn(args) == 0 && strstr(out, "does not start from what it predicts") &&
                   strstr(out, "24 skip channels against its 16"),
               "no growth: %s", out);
    }

    /* a trained-looking vocoder: its own features and given ones agree,
     * and the speaker matters */
    snprintf(args, sizeof args, "init -o %s %s --condition mel --mels 40 --hop 80 "
             "--speakers 2 --seed 5", spk, small);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "score -m %s --speaker 0 %s", spk, WAV);
    REQUIRE(wn(args) == 0);
    const double own = nats();
    snprintf(args, sizeof args, "mel -m %s %s -o %s", spk, WAV, feats);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "score -m %s --speaker 0 --features %s %s", spk, feats, WAV);
    CHECKF(wn(args) == 0 && nats() == own, "own features: %s vs %.3f", out, own);
    snprintf(args, sizeof args, "score -m %s --speaker 1 %s", spk, WAV);
    CHECKF(wn(args) == 0 && nats() != own && nats() > 0, "another speaker: %s vs %.3f", out,
           own);

    /* a list's speakers ("path<TAB>speaker"): each file scored under its
     * line's voice, as --speaker scores it; --speaker overrides them */
    const double other = nats();
    const char *FORIG = "/usr/share/codec2/wav/forig.wav";
    snprintf(args, sizeof args, "score -m %s --speaker 1 %s", spk, FORIG);
    REQUIRE(wn(args) == 0);
    const double forig1 = nats();
    FILE *lf = fopen(tu_path("spk.txt"), "w");
    REQUIRE(lf);
    fprintf(lf, "# two voices\n%s\t0\n%s\t1\n", WAV, FORIG);
    fclose(lf);
    snprintf(args, sizeof args, "score -m %s --json --list %s", spk, tu_path("spk.txt"));
    CHECKF(wn(args) == 0 && tu_lines(out) == 2, "list with speakers: %s", out);
    const char *l1 = strstr(out, "\"speaker\":\"0\""), *l2 = strstr(out, "\"speaker\":\"1\"");
    /* (the text line has 3 decimals, the JSON 6) */
    CHECKF(l1 && l2 && fabs(atof(strstr(l1, "nll_nats\":") + 10) - own) < 1e-3 &&
               fabs(atof(strstr(l2, "nll_nats\":") + 10) - forig1) < 1e-3,
           "list speakers: %s (want %.6f and %.6f)", out, own, forig1);
    snprintf(args, sizeof args, "score -m %s --speaker 1 --list %s", spk, tu_path("spk.txt"));
    CHECKF(wn(args) == 0 && nats() == other, "--speaker over a list's: %s vs %.3f", out, other);
    snprintf(args, sizeof args, "score -m %s --list %s", src, tu_path("spk.txt"));
    CHECKF(wn(args) == 0 && strstr(out, "no speakers: the list's speaker names are not used"),
           "unconditional model, list with speakers: %s", out);
    lf = fopen(tu_path("spk.txt"), "w");
    REQUIRE(lf);
    fprintf(lf, "%s\tdan\n", WAV);
    fclose(lf);
    snprintf(args, sizeof args, "score -m %s --list %s", spk, tu_path("spk.txt"));
    bad(args, 1, "its list's speaker 'dan' is not one of");
    lf = fopen(tu_path("spk.txt"), "w");
    REQUIRE(lf);
    fprintf(lf, "%s\t1\n", WAV);
    fclose(lf);
    snprintf(args, sizeof args, "score -m %s --list %s %s", spk, tu_path("spk.txt"), FORIG);
    bad(args, 1, "choose one with --speaker"); /* forig has no speaker */

    /* fewer conditioning channels than bands: the frames conv maps them */
    snprintf(args, sizeof args, "init -o %s %s --condition mel --mels 40 --hop 80 "
             "--cond-channels 12 --from %s", voc, small, src);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "info -m %s", voc);
    CHECKF(wn(args) == 0 && strstr(out, "(40 to 12 channels)"), "info: %s", out);
    snprintf(args, sizeof args, "info --json -m %s", voc);
    CHECKF(wn(args) == 0 && strstr(out, "\"cond_channels\":12,\"upsample_pre\":true"),
           "info --json: %s", out);
    snprintf(args, sizeof args, "score -m %s %s", voc, WAV);
    CHECKF(wn(args) == 0 && nats() == want, "--cond-channels --from: %s vs %.3f", out, want);

    /* refusals: one line, a non-zero exit */
    snprintf(args, sizeof args, "score -m %s %s", spk, WAV);
    bad(args, 1, "choose one with --speaker");
    snprintf(args, sizeof args, "score -m %s --speaker dan %s", spk, WAV);
    bad(args, 1, "--speaker dan: ");
    snprintf(args, sizeof args, "score -m %s --speaker 0 %s", src, WAV);
    bad(args, 1, "has no speakers");
    snprintf(args, sizeof args, "score -m %s --features %s %s", src, feats, WAV);
    bad(args, 2, "takes no features");
    snprintf(args, sizeof args, "score -m %s --speaker 0 --features %s %s %s", spk, feats, WAV,
             WAV);
    bad(args, 2, "one audio file");
    snprintf(args, sizeof args, "mel %s -o %s --mels 20", WAV, feats);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "score -m %s --speaker 0 --features %s %s", spk, feats, WAV);
    bad(args, 1, "has 20 bands; the model takes 40");
    snprintf(args, sizeof args, "mel -m %s %s -o %s", spk, "/usr/share/codec2/wav/forig.wav",
             feats);
    REQUIRE(wn(args) == 0);
    snprintf(args, sizeof args, "score -m %s --speaker 0 --features %s %s", spk, feats, WAV);
    bad(args, 1, "feature frames condition");
    snprintf(args, sizeof args, "init -o %s --condition vocoder", voc);
    bad(args, 2, "expected 'mel'");
    snprintf(args, sizeof args, "init -o %s --hop 64", voc);
    bad(args, 2, "--hop goes with --condition mel");
    snprintf(args, sizeof args, "init -o %s --cond-channels 8", voc);
    bad(args, 2, "--cond-channels goes with --condition mel");
    snprintf(args, sizeof args, "init -o %s --condition mel --hop 50", voc);
    bad(args, 2, "hop 50");
    snprintf(args, sizeof args, "init -o %s --speaker-names a,a", voc);
    bad(args, 2, "given twice");
    snprintf(args, sizeof args, "init -o %s --speaker-names 'a b'", voc);
    bad(args, 2, "speaker name 1");
    snprintf(args, sizeof args, "init -o %s --speakers 2 --speaker-names a,b", voc);
    bad(args, 2, "not both");
    snprintf(args, sizeof args, "init -o %s --from %s --rate 16000", voc, src);
    bad(args, 2, "8000 Hz");
    snprintf(args, sizeof args, "init -o %s --from %s", src, src);
    bad(args, 1, "same file");
    return tu_finish("cli_cond", 0);
}
