/* cmd_model.c - `wavenet init` (a seeded random model) and `wavenet info`. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct init_opts {
    const char *out, *speakers;
    long rate, bins, layers, stack, residual, dilation, skip, mels, hop, speaker_dim;
    uint64_t seed;
    int upsample_pre;
} init_opts;

#define I(f) offsetof(init_opts, f)
static const cli_opt init_table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "output", .short_name = 'o', .kind = CLI_STR, .arg = "MODEL",
     .help = "the weights file to write (required)", .off = I(out)},
    {.name = "rate", .kind = CLI_INT, .arg = "HZ", .help = "sample rate (8000)", .off = I(rate),
     .lo = 1, .hi = 768000},
    {.name = "bins", .kind = CLI_INT, .arg = "Q", .help = "mu-law classes (256)",
     .off = I(bins), .lo = 2, .hi = 65536},
    {.name = "layers", .kind = CLI_INT, .arg = "L", .help = "dilated layers (20)",
     .off = I(layers), .lo = 1, .hi = 1024},
    {.name = "stack", .kind = CLI_INT, .arg = "K",
     .help = "layers per stack: dilations 1, 2, ..., 2^(K-1), repeated (10)", .off = I(stack),
     .lo = 1, .hi = 24},
    {.name = "residual", .kind = CLI_INT, .arg = "R", .help = "residual channels (32)",
     .off = I(residual), .lo = 1, .hi = 4096},
    {.name = "dilation", .kind = CLI_INT, .arg = "D",
     .help = "gate channels: the dilated convolution gives 2D (32)", .off = I(dilation),
     .lo = 1, .hi = 4096},
    {.name = "skip", .kind = CLI_INT, .arg = "S", .help = "skip channels (128)", .off = I(skip),
     .lo = 1, .hi = 4096},
    {.name = "seed", .kind = CLI_U64, .arg = "N", .help = "the random weights' seed (0)",
     .off = I(seed)},
    {.name = "mels", .kind = CLI_INT, .arg = "C",
     .help = "a vocoder: conditioned on C log-mel bands (0 = none)", .off = I(mels), .lo = 0,
     .hi = 1024},
    {.name = "hop", .kind = CLI_INT, .arg = "N",
     .help = "with --mels: samples per feature frame (default: wavenet mel's,\n"
     "64 at 8 kHz)", .off = I(hop), .lo = 2, .hi = 65536},
    {.name = "upsample-pre", .kind = CLI_FLAG,
     .help = "with --mels: a kernel-3 conv over the frames before upsampling",
     .off = I(upsample_pre)},
    {.name = "speakers", .kind = CLI_STR, .arg = "NAMES",
     .help = "conditioned on a speaker: their names, comma-separated", .off = I(speakers)},
    {.name = "speaker-dim", .kind = CLI_INT, .arg = "G",
     .help = "with --speakers: a speaker embedding's width (16)", .off = I(speaker_dim),
     .lo = 1, .hi = 4096},
    {0},
};
#undef I

const cli_cmd cli_cmd_init = {
    .name = "init", .summary = "write a model with seeded random weights", .run = cmd_init,
    .synopsis = "-o MODEL [--rate HZ] [--bins Q] [--layers L] [--stack K]\n"
                "                    [--residual R] [--dilation D] [--skip S] [--seed N]\n"
                "                    [--mels C [--hop N] [--upsample-pre]]\n"
                "                    [--speakers NAMES [--speaker-dim G]]",
    .intro = "defaults: 8000 Hz, 256 bins, 20 layers in stacks of 10, R=32, D=32, S=128, "
             "seed 0\n",
    .opts = init_table,
};

int cmd_init(int argc, char **argv)
{
    wn_config c = wn_config_default();
    init_opts o = {NULL, NULL, c.sample_rate, c.bins, c.layers, c.stack, c.residual,
                   c.dilation, c.skip, 0, 0, 0, 0, 0};
    int rc = cli_parse(&cli_cmd_init, &o, argc, argv);
    if (rc != CLI_GO_ON) return rc;
    if (!o.out) {
        cli_fail("init: -o MODEL is required");
        return 2;
    }
    if (!o.mels && (o.hop || o.upsample_pre)) {
        cli_fail("init: --hop and --upsample-pre go with --mels C");
        return 2;
    }
    if (!o.speakers && o.speaker_dim) {
        cli_fail("init: --speaker-dim goes with --speakers NAMES");
        return 2;
    }
    c.sample_rate = (int)o.rate, c.bins = (int)o.bins, c.layers = (int)o.layers;
    c.stack = (int)o.stack, c.residual = (int)o.residual, c.dilation = (int)o.dilation;
    c.skip = (int)o.skip;
    c.cond = (int)o.mels;
    /* wavenet mel's default hop at this rate, so its features fit */
    c.hop = c.cond ? (o.hop ? (int)o.hop : wn_spectrogram_auto_fft(c.sample_rate) / 4) : 0;
    c.upsample_pre = o.upsample_pre;
    /* the names: a copy cut at the commas */
    char *names = o.speakers ? strdup(o.speakers) : NULL;
    const char *name[4096];
    int n = 0;
    for (char *p = names, *t; p && (t = strsep(&p, ","));) {
        if (n == 4096) {
            free(names);
            return cli_fail("init: --speakers: more than 4096 names");
        }
        name[n++] = t;
    }
    c.speakers = n;
    c.speaker_dim = n ? (o.speaker_dim ? (int)o.speaker_dim : 16) : 0;
    const char *out = o.out;
    uint64_t seed = o.seed;
    wn_error err;
    wn_model *m = wn_model_init(&c, seed, &err);
    if (!m || (n && wn_model_set_speaker_names(m, name, n, &err))) {
        free(names);
        wn_model_free(m);
        return cli_fail_err(&err);
    }
    free(names);
    rc = wn_model_save(m, out, &err);
    if (rc == WN_OK)
        fprintf(stderr, "wavenet: wrote %s (%zu parameters, receptive field %d samples)\n",
                out, wn_model_param_count(m), wn_model_receptive_field(m));
    wn_model_free(m);
    return rc == WN_OK ? 0 : cli_fail_err(&err);
}

typedef struct info_opts {
    const char *model;
    int json;
} info_opts;

static const cli_opt info_table[] = {
    {.name = "help", .short_name = 'h', .kind = CLI_HELP, .help = "this help"},
    {.name = "model", .short_name = 'm', .kind = CLI_STR, .arg = "MODEL",
     .help = "the weights file (default: the shipped model)",
     .off = offsetof(info_opts, model)},
    {.name = "json", .kind = CLI_FLAG, .help = "one JSON object instead of the table",
     .off = offsetof(info_opts, json)},
    {0},
};

const cli_cmd cli_cmd_info = {
    .name = "info", .summary = "print a model's configuration", .run = cmd_info,
    .synopsis = "[-m MODEL] [--json]", .opts = info_table,
};

int cmd_info(int argc, char **argv)
{
    info_opts o = {0};
    int rc = cli_parse(&cli_cmd_info, &o, argc, argv);
    if (rc != CLI_GO_ON) return rc;
    const char *path = o.model;
    int json = o.json;
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
               "\"receptive_field\":%d,\"receptive_field_ms\":%.3f,\"parameters\":%zu,"
               "\"mels\":%d,\"hop\":%d,\"upsample_pre\":%d,\"speakers\":[",
               WN_FORMAT_VERSION, c.sample_rate, c.bins, c.layers, c.stack, c.residual,
               c.dilation, c.skip, rf, rf_ms, wn_model_param_count(m), c.cond, c.hop,
               c.upsample_pre);
        for (int i = 0; i < c.speakers; i++) {
            if (i) putchar(',');
            cli_json_str(wn_model_speaker_name(m, i));
        }
        printf("]}\n");
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
        if (c.cond) {
            int st[4], ns = wn_model_upsample_strides(m, st);
            printf("conditioning:     %d log-mel bands, hop %d (upsampler", c.cond, c.hop);
            for (int i = 0; i < ns; i++) printf("%s%d", i ? " x " : " ", st[i]);
            printf("%s; wavenet vocode)\n", c.upsample_pre ? ", frames conv" : "");
        }
        if (c.speakers) {
            printf("speakers:         %d (", c.speakers);
            for (int i = 0; i < c.speakers && i < 16; i++)
                printf("%s%s", i ? ", " : "", wn_model_speaker_name(m, i));
            printf("%s), embedding %d\n", c.speakers > 16 ? ", ..." : "", c.speaker_dim);
        }
    }
    wn_model_free(m);
    return 0;
}
