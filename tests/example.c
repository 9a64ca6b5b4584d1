/* The library as a program of its own uses it: only <wavenet.h>, linked
 * against the installed libwavenet (README, "The library"):
 *
 *   cc -std=c11 example.c $(pkg-config --cflags --libs wavenet) -lm -o example
 *   ./example MODEL IN.wav OUT.wav
 *
 * scores IN.wav, then samples one second from silence into OUT.wav and
 * prints both in bits per sample (`wavenet score OUT.wav` reproduces the
 * second). The tests build it against the shared library and compare it
 * with the command's own figures (tests/test_example.sh). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <wavenet.h>

static int fail(const wn_error *err)
{
    fprintf(stderr, "example: %s\n", err->message);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: example MODEL IN.wav OUT.wav\n");
        return 2;
    }
    wn_error err;
    wn_model *m = wn_model_load(argv[1], &err);
    if (!m) return fail(&err);
    const wn_config c = wn_model_config(m);

    /* score: any audio libsndfile reads, as mu-law codes at the model's rate */
    int *codes;
    size_t n;
    double nll;
    if (wn_audio_read_codes(argv[2], c.sample_rate, c.bins, &codes, &n, NULL, &err) ||
        wn_score_codes(m, codes, n, NULL, &nll, NULL, &err)) {
        wn_model_free(m);
        return fail(&err);
    }
    free(codes);
    printf("%s: %zu samples, %.6f bits/sample\n", argv[2], n, nll / (double)n / log(2.0));

    /* generate: one stream, one second, seed 1, into a WAV */
    wn_sample_params sp = wn_sample_default_params();
    sp.seed = 1;
    const size_t len = (size_t)c.sample_rate;
    int *out = malloc(sizeof(int) * len);
    double *logp = malloc(sizeof(double) * len);
    wn_gen *g = wn_gen_create(m, 1, &sp, &err);
    int rc = 1, e;
    if (!out || !logp) {
        fprintf(stderr, "example: out of memory\n");
    } else if (!g || wn_gen_prime(g, NULL, 0, &err)) {
        fail(&err);
    } else if ((e = wn_gen_run(g, len, out, logp)) != WN_OK) {
        fprintf(stderr, "example: %s\n", wn_strerror(e)); /* wn_gen_run fills no wn_error */
    } else {
        /* written to a temporary name, renamed into place by close */
        wn_wav *w = wn_wav_open(argv[3], c.sample_rate, c.bins, &err);
        if (w && wn_wav_write_codes(w, out, len, &err)) {
            wn_wav_abort(w);
            w = NULL;
        }
        if (!w || wn_wav_close(w, &err)) {
            fail(&err);
        } else {
            double sum = 0;
            for (size_t i = 0; i < len; i++) sum -= logp[i];
            printf("%s: %zu samples, %.6f bits/sample\n", argv[3], len, sum / (double)len / log(2.0));
            rc = 0;
        }
    }
    wn_gen_free(g);
    free(out);
    free(logp);
    wn_model_free(m);
    return rc;
}
