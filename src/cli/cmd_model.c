/* cmd_model.c - `wavenet init` (a seeded random model) and `wavenet info`. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char init_usage[] =
    "usage: wavenet init -o MODEL [--rate HZ] [--bins Q] [--layers L] [--stack K]\n"
    "                    [--residual R] [--dilation D] [--skip S] [--seed N]\n"
    "defaults: 8000 Hz, 256 bins, 20 layers in stacks of 10, R=32, D=32, S=128, seed 0\n";

int cmd_init(int argc, char **argv)
{
    wn_config c = wn_config_default();
    const char *out = NULL;
    uint64_t seed = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        long x;
        struct { const char *flag; int *field; long lo, hi; } ints[] = {
            {"--rate", &c.sample_rate, 1, 768000}, {"--bins", &c.bins, 2, 65536},
            {"--layers", &c.layers, 1, 1024},      {"--stack", &c.stack, 1, 24},
            {"--residual", &c.residual, 1, 4096},  {"--dilation", &c.dilation, 1, 4096},
            {"--skip", &c.skip, 1, 4096}};
        int matched = 0;
        for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++)
            if (!strcmp(a, ints[k].flag)) {
                if (!(v = cli_value(argc, argv, &i)) ||
                    cli_int(a, v, ints[k].lo, ints[k].hi, &x))
                    return 2;
                *ints[k].field = (int)x;
                matched = 1;
            }
        if (matched) continue;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(init_usage, stdout);
            return 0;
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (!(out = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(a, "--seed")) {
            if (!(v = cli_value(argc, argv, &i)) || cli_u64(a, v, &seed)) return 2;
        } else {
            cli_fail("init: unknown option '%s' (see wavenet init --help)", a);
            return 2;
        }
    }
    if (!out) {
        cli_fail("init: -o MODEL is required");
        return 2;
    }
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    if (!m) return cli_fail_err(&err);
    int rc = wn_model_save(m, out, &err);
    if (rc == WN_OK)
        fprintf(stderr, "wavenet: wrote %s (%zu parameters, receptive field %d samples)\n",
                out, wn_model_param_count(m), wn_model_receptive_field(m));
    wn_model_free(m);
    return rc == WN_OK ? 0 : cli_fail_err(&err);
}

static const char info_usage[] = "usage: wavenet info [-m MODEL] [--json]\n";

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) {
            if (!(path = cli_value(argc, argv, &i))) return 2;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(info_usage, stdout);
            return 0;
        } else {
            cli_fail("info: unknown option '%s' (see wavenet info --help)", argv[i]);
            return 2;
        }
    }
    if (!path) path = cli_default_model();
    wn_error err;
    wn_model *m = wn_model_load(path, &err);
    if (!m) return cli_fail_err(&err);
    wn_config c = wn_model_config(m);
    int rf = wn_model_receptive_field(m);
    double rf_ms = 1000.0 * rf / c.sample_rate;
    if (json) {
        printf("{\"file\":\"");
        for (const char *p = path; *p; p++) {
            if (*p == '"' || *p == '\\') putchar('\\');
            putchar(*p);
        }
        printf("\",\"format_version\":%d,\"sample_rate\":%d,\"bins\":%d,\"layers\":%d,"
               "\"stack\":%d,\"residual\":%d,\"dilation\":%d,\"skip\":%d,"
               "\"receptive_field\":%d,\"receptive_field_ms\":%.3f,\"parameters\":%zu}\n",
               WN_FORMAT_VERSION, c.sample_rate, c.bins, c.layers, c.stack, c.residual,
               c.dilation, c.skip, rf, rf_ms, wn_model_param_count(m));
    } else {
        printf("model:            %s\n", path);
        printf("sample rate:      %d Hz\n", c.sample_rate);
        printf("bins:             %d (mu-law, mu = %d)\n", c.bins, c.bins - 1);
        printf("layers:           %d (dilations 1..%d, stacks of %d)\n", c.layers,
               1 << ((c.layers < c.stack ? c.layers : c.stack) - 1), c.stack);
        printf("channels:         residual %d, dilation %d, skip %d\n", c.residual,
               c.dilation, c.skip);
        printf("receptive field:  %d samples (%.1f ms)\n", rf, rf_ms);
        printf("parameters:       %zu\n", wn_model_param_count(m));
    }
    wn_model_free(m);
    return 0;
}
