/* test_shipped.c - the shipped model is what its card says: it loads, has
 * the configuration the card lists, and scores the validation clips within
 * 0.01 bits/sample of the card's figure, and the training clips within 0.01
 * of its training figure (both from the committed model, not the log). */
#include "testutil.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

/* The card's figures: rows "| `key` | value |" of models/README.md. */
static int card_value(const char *card, const char *key, double *out)
{
    char pat[80];
    snprintf(pat, sizeof pat, "| `%s` |", key);
    const char *p = strstr(card, pat);
    if (!p) return 0;
    *out = atof(p + strlen(pat));
    return 1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (fread(b, 1, (size_t)n, f) != (size_t)n) n = 0;
    b[n] = 0;
    fclose(f);
    return b;
}

int main(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/README.md", tu_srcdir());
    char *card = slurp(path);
    REQUIRE(card);
    snprintf(path, sizeof path, "%s/models/wavenet-speech.safetensors", tu_srcdir());
    wn_error err;
    wn_model *m = wn_model_load(path, &err);
    REQUIRE(m);
    wn_config c = wn_model_config(m);
    struct { const char *key; double have; } cfg[] = {
        {"sample_rate", c.sample_rate}, {"bins", c.bins},         {"layers", c.layers},
        {"stack", c.stack},             {"residual", c.residual}, {"dilation", c.dilation},
        {"skip", c.skip},               {"receptive_field", wn_model_receptive_field(m)},
        {"parameters", (double)wn_model_param_count(m)},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) {
        double want = NAN;
        CHECKF(card_value(card, cfg[i].key, &want), "the card lacks `%s`", cfg[i].key);
        CHECKF(want == cfg[i].have, "%s: card %g, model %g", cfg[i].key, want, cfg[i].have);
    }
    double card_bits = NAN;
    REQUIRE(card_value(card, "valid_bits_per_sample", &card_bits));

    double card_train = NAN;
    REQUIRE(card_value(card, "train_bits_per_sample", &card_train));

    /* the validation clips of models/valid.txt, then the training clips of
     * models/train.txt, scored as `wavenet score` does */
    for (int list = 0; list < 2; list++) {
        snprintf(path, sizeof path, "%s/models/%s.txt", tu_srcdir(), list ? "train" : "valid");
        FILE *f = fopen(path, "r");
        REQUIRE(f);
        char line[1024];
        double nll = 0;
        size_t total = 0;
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n#")] = 0;
            if (!line[0]) continue;
            if (access(line, R_OK) != 0) {
                fprintf(stderr, "%s missing: install codec2-examples (skipped)\n", line);
                return 77;
            }
            int *codes;
            size_t n;
            wn_audio_info info;
            REQUIRE_OK(wn_audio_read_codes(line, c.sample_rate, c.bins, &codes, &n, &info, &err),
                       &err);
            double x;
            REQUIRE_OK(wn_score_codes(m, codes, n, NULL, &x, NULL, &err), &err);
            fprintf(stderr, "%s: %zu samples, %.4f bits/sample\n", line, n, x / n / log(2));
            if (total == 0 && !list) { /* the first clip again through the int8 generator */
                double x8 = tu_fed_nll(m, WN_PRECISION_I8, codes, n, NULL);
                fprintf(stderr, "%s at int8: %.4f bits/sample (%+.4f)\n", line, x8 / n / log(2),
                        (x8 - x) / n / log(2));
                CHECKF(fabs(x8 - x) / n / log(2) < 0.01, "int8 costs %.4f bits/sample",
                       (x8 - x) / n / log(2));
            }
            nll += x;
            total += n;
            free(codes);
        }
        fclose(f);
        const double bits = nll / total / log(2), want = list ? card_train : card_bits;
        fprintf(stderr, "%s: %.4f bits/sample, card %.4f\n", list ? "training" : "validation", bits,
                want);
        CHECKF(fabs(bits - want) <= 0.01, "%s: %.4f vs card %.4f", list ? "training" : "validation",
               bits, want);
    }
    wn_model_free(m);
    free(card);
    return tu_finish("shipped", 0);
}
