/* cmd_model.c - `wavenet init` (a seeded random model) and `wavenet info`. */
#include "cli.h"
#include "train_log.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct init_opts {
    const char *out;
    long rate, bins, layers, stack, residual, dilation, skip;
    uint64_t seed;
    const char *condition, *names, *from;
    long mels, hop, fft, speakers, speaker_dim, channels;
    double fmin, fmax, floor;
    int htk, pre;
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
    {.name = "condition", .kind = CLI_STR, .arg = "mel",
     .help = "a vocoder: condition every layer on log-mel features", .off = I(condition)},
    {.name = "mels", .kind = CLI_INT, .arg = "N", .help = "with --condition mel: bands (80)",
     .off = I(mels), .lo = 1, .hi = 1024},
    {.name = "hop", .kind = CLI_INT, .arg = "H",
     .help = "with --condition mel: samples per frame, a product of even\n"
     "strides <= 32 (default: fft/4, 64 at 8 kHz)", .off = I(hop), .lo = 2, .hi = 65536},
    {.name = "fft", .kind = CLI_INT, .arg = "F",
     .help = "with --condition mel: frame length (default: the smallest\n"
     "power of two >= 3 hop)", .off = I(fft), .lo = 8, .hi = 65536},
    {.name = "fmin", .kind = CLI_NUM, .arg = "HZ", .help = "with --condition mel: lowest edge (0)",
     .off = I(fmin), .lo = 1e-3, .hi = 1e6, .zero_ok = 1},
    {.name = "fmax", .kind = CLI_NUM, .arg = "HZ",
     .help = "with --condition mel: highest edge (half the rate)", .off = I(fmax),
     .lo = 1e-3, .hi = 1e6, .zero_ok = 1},
    {.name = "htk", .kind = CLI_FLAG, .help = "with --condition mel: HTK's mel scale (Slaney's)",
     .off = I(htk)},
    {.name = "mel-floor", .kind = CLI_NUM, .arg = "P",
     .help = "with --condition mel: the features are ln(max(power, P));\n"
     "a full-scale sine has power 1 (1e-10)", .off = I(floor), .lo = 1e-30, .hi = 1},
    {.name = "cond-channels", .kind = CLI_INT, .arg = "C",
     .help = "with --condition mel: the upsampler's and the layers'\n"
     "conditioning channels (default: the bands); fewer cost less\n"
     "per sample; implies --upsample-pre, whose conv maps the bands\n"
     "to them", .off = I(channels), .lo = 1, .hi = 1024},
    {.name = "upsample-pre", .kind = CLI_FLAG,
     .help = "with --condition mel: a kernel-3 conv over the frames before\n"
     "the transposed convs", .off = I(pre)},
    {.name = "speakers", .kind = CLI_INT, .arg = "N",
     .help = "a speaker table of N rows (named 0..N-1 until training\n"
     "names them)", .off = I(speakers), .lo = 1, .hi = 65536},
    {.name = "speaker-names", .kind = CLI_STR, .arg = "A,B,..",
     .help = "a speaker table with these names", .off = I(names)},
    {.name = "from", .kind = CLI_STR, .arg = "MODEL",
     .help = "start from MODEL's weights: every tensor of the same name\n"
     "and shape is copied (e.g. an unconditional model's layers into\n"
     "a vocoder) and the layers' new cond and speaker weights start\n"
     "at zero; a larger network (more layers, residual or gate\n"
     "channels; the same skip and stack) grows from MODEL's: the new\n"
     "model predicts what MODEL does until trained", .off = I(from)},
    {.name = "speaker-dim", .kind = CLI_INT, .arg = "G",
     .help = "a speaker embedding's width (16)", .off = I(speaker_dim), .lo = 1, .hi = 4096},
    {0},
};
#undef I

const cli_cmd cli_cmd_init = {
    .name = "init", .summary = "write a model with seeded random weights", .run = cmd_init,
    .synopsis = "-o MODEL [--rate HZ] [--bins Q] [--layers L] [--stack K]\n"
                "                    [--residual R] [--dilation D] [--skip S] [--seed N]\n"
                "                    [--condition mel [--mels N] [--hop H] [--fft F] [--fmin HZ]\n"
                "                    [--fmax HZ] [--htk] [--mel-floor P] [--upsample-pre]\n"
                "                    [--cond-channels C]]\n"
                "                    [--speakers N | --speaker-names A,B,..] [--speaker-dim G]\n"
                "                    [--from MODEL]",
    .intro = "defaults: 8000 Hz, 256 bins, 20 layers in stacks of 10, R=32, D=32, S=128, "
             "seed 0\n",
    .opts = init_table,
};

int cmd_init(int argc, char **argv)
{
    wn_config c = wn_config_default();
    init_opts o = {NULL, c.sample_rate, c.bins, c.layers, c.stack, c.residual, c.dilation,
                   c.skip, 0, NULL, NULL, NULL, 80, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0};
    int rc = cli_parse(&cli_cmd_init, &o, argc, argv);
    if (rc != CLI_GO_ON) return rc;
    if (!o.out) {
        cli_fail("init: -o MODEL is required");
        return 2;
    }
    c.sample_rate = (int)o.rate, c.bins = (int)o.bins, c.layers = (int)o.layers;
    c.stack = (int)o.stack, c.residual = (int)o.residual, c.dilation = (int)o.dilation;
    c.skip = (int)o.skip;
    const char *out = o.out;
    uint64_t seed = o.seed;
    wn_error err;
    /* conditioning */
    if (o.condition && strcmp(o.condition, "mel")) {
        cli_fail("init: --condition: expected 'mel', got '%s'", o.condition);
        return 2;
    }
    wn_mel_params mp = wn_mel_default_params();
    if (o.condition) {
        c.cond = (int)o.mels;
        c.hop = o.hop ? (int)o.hop : (o.fft ? (int)o.fft : wn_spectrogram_auto_fft(c.sample_rate)) / 4;
        c.upsample_pre = o.pre || (o.channels && o.channels != o.mels);
        c.cond_channels = o.channels == o.mels ? 0 : (int)o.channels;
        mp.mels = c.cond, mp.hop = c.hop, mp.fft = (int)o.fft, mp.fmin = o.fmin, mp.fmax = o.fmax;
        mp.scale = o.htk ? WN_MEL_HTK : WN_MEL_SLANEY;
        if (o.floor > 0) mp.floor = (float)o.floor;
    } else {
        static const char *const mel_only[] = {"--hop", "--fft", "--fmin", "--fmax", "--htk",
                                               "--upsample-pre", "--mels", "--cond-channels",
                                               "--mel-floor"};
        const int given[] = {o.hop != 0, o.fft != 0, o.fmin != 0, o.fmax != 0, o.htk, o.pre,
                             o.mels != 80, o.channels != 0, o.floor != 0};
        for (int i = 0; i < 9; i++)
            if (given[i]) {
                cli_fail("init: %s goes with --condition mel", mel_only[i]);
                return 2;
            }
    }
    char **names = NULL;
    int nnames = 0;
    if (o.names && o.speakers) {
        cli_fail("init: --speakers or --speaker-names, not both");
        return 2;
    }
    if (o.names) {
        /* "a,b,c": the count is the names' */
        char *copy = strdup(o.names);
        for (char *p = copy, *tok; copy && (tok = strsep(&p, ","));) {
            char **grown = realloc(names, sizeof *names * (size_t)(nnames + 1));
            if (!grown) break;
            names = grown;
            names[nnames++] = tok;
        }
        c.speakers = nnames;
        if (!copy || !nnames) {
            free(copy);
            free(names);
            return cli_fail("init: out of memory");
        }
    } else {
        c.speakers = (int)o.speakers;
    }
    if (c.speakers) c.speaker_dim = (int)o.speaker_dim;
    wn_model *m = wn_model_init(&c, seed, &err);
    rc = m ? WN_OK : err.code;
    if (rc == WN_OK && o.condition) rc = wn_model_set_mel_params(m, &mp, &err);
    if (rc == WN_OK && names)
        rc = wn_model_set_speaker_names(m, (const char *const *)names, nnames, &err);
    if (names) {
        free(names[0]); /* the copy */
        free(names);
    }
    int copied = 0, grown = 0;
    char why[96] = "";
    if (rc == WN_OK && o.from)
        rc = cli_init_from(m, o.from, &copied, &grown, why, sizeof why, &err);
    if (rc != WN_OK) {
        wn_model_free(m);
        cli_fail("init: %s", err.message);
        return 2;
    }
    if (o.from && cli_output_is_input("-o", out, &o.from, 1)) {
        wn_model_free(m);
        return 1;
    }
    rc = wn_model_save(m, out, &err);
    if (rc == WN_OK)
        fprintf(stderr, "wavenet: wrote %s (%zu parameters, receptive field %d samples%s%s)\n",
                out, wn_model_param_count(m), wn_model_receptive_field(m),
                c.cond ? ", log-mel conditioning" : "", c.speakers ? ", speakers" : "");
    if (rc == WN_OK && o.from && grown)
        cli_note("%d of %d tensors from %s, %d more grown from its smaller ones or set to zero "
                 "(the new channels' and layers' paths into the old ones)", copied,
                 wn_model_tensor_count(m), o.from, grown);
    else if (rc == WN_OK && o.from && why[0])
        cli_note("%d of %d tensors from %s; the new model does not start from what it "
                 "predicts (%s; a model grows from another only with the same skip channels "
                 "and dilations, and no fewer layers or channels)",
                 copied, wn_model_tensor_count(m), o.from, why);
    else if (rc == WN_OK && o.from)
        cli_note("%d of %d tensors from %s", copied, wn_model_tensor_count(m), o.from);
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
    .name = "info",
    .summary = "print a model's configuration (and a checkpoint's training state)",
    .run = cmd_info,
    .synopsis = "[-m MODEL] [--json]", .opts = info_table,
};

/* A training checkpoint (`train --checkpoint`): where its run stands,
 * what it trains with, on how many files. Read from the checkpoint's
 * metadata; is_ckpt 0 for a plain model file. */
typedef struct ckpt_view {
    int is_ckpt;
    wn_train_params p;
    int64_t step, best_step, last_step;
    double best, last, seconds;
    int ntrain, nvalid;
    char decay[64];
} ckpt_view;

static double meta_num(const char *path, const char *key, double dflt)
{
    char buf[64];
    if (wn_checkpoint_meta(path, key, buf, sizeof buf, NULL) != WN_OK) return dflt;
    char *end;
    double v = strtod(buf, &end);
    return end != buf ? v : dflt;
}

static int ckpt_view_read(const char *path, ckpt_view *v, wn_error *err)
{
    memset(v, 0, sizeof *v);
    char buf[32];
    if (wn_checkpoint_meta(path, "train_checkpoint", buf, sizeof buf, NULL) != WN_OK)
        return WN_OK;
    char **tr = NULL, **va = NULL;
    int rc = wn_checkpoint_read(path, &v->p, &v->step, &tr, &v->ntrain, &va, &v->nvalid, err);
    if (rc != WN_OK) return rc;
    wn_list_free(tr, v->ntrain);
    wn_list_free(va, v->nvalid);
    v->is_ckpt = 1;
    v->best = meta_num(path, "best_valid_bits", INFINITY);
    v->best_step = (int64_t)meta_num(path, "best_step", 0);
    v->last = meta_num(path, "last_valid_bits", NAN);
    v->last_step = (int64_t)meta_num(path, "last_valid_step", 0);
    v->seconds = meta_num(path, "train_seconds", 0);
    wn_decay_format(&v->p, v->decay, sizeof v->decay);
    return WN_OK;
}

static void ckpt_view_print(const ckpt_view *v, int json)
{
    const int has_best = isfinite(v->best), has_last = isfinite(v->last) && v->last_step > 0;
    if (json) {
        printf(",\"checkpoint\":{\"step\":%lld,\"total_steps\":%lld,\"train_seconds\":%.3f,",
               (long long)v->step, (long long)v->p.steps, v->seconds);
        if (has_best)
            printf("\"best_valid_bits\":%.6f,\"best_step\":%lld,", v->best,
                   (long long)v->best_step);
        else
            printf("\"best_valid_bits\":null,\"best_step\":null,");
        if (has_last)
            printf("\"last_valid_bits\":%.6f,\"last_valid_step\":%lld,", v->last,
                   (long long)v->last_step);
        else
            printf("\"last_valid_bits\":null,\"last_valid_step\":null,");
        printf("\"optimizer\":\"%s\",\"batch\":%d,\"window\":%d,\"lr\":%g,\"warmup\":%lld,"
               "\"decay\":\"%s\",\"seed\":%llu,\"threads\":%d,\"trim_db\":%g,"
               "\"trim_ends\":\"%s\",\"gain_jitter_db\":%g,\"train_files\":%d,"
               "\"valid_files\":%d,\"speeds\":[",
               wn_optimizer_name(v->p.optim.kind), v->p.batch, v->p.window, v->p.lr,
               (long long)v->p.warmup, v->decay, (unsigned long long)v->p.seed, v->p.threads,
               v->p.trim_db, wn_trim_ends_name(v->p.trim_ends), v->p.gain_jitter_db, v->ntrain,
               v->nvalid);
        char sp[CLI_SPEEDS_TEXT];
        printf("%s]}", cli_speeds_text(v->p.speeds, ",", sp));
        return;
    }
    char took[32];
    tlog_duration(v->seconds, took, sizeof took);
    printf("checkpoint:       step %lld of %lld, %s of training (resume with train --resume)\n",
           (long long)v->step, (long long)v->p.steps, took);
    if (has_best && has_last)
        printf("validation:       best %.4f bits/sample at step %lld; last %.4f at step %lld\n",
               v->best, (long long)v->best_step, v->last, (long long)v->last_step);
    else if (has_best)
        printf("validation:       best %.4f bits/sample at step %lld\n", v->best,
               (long long)v->best_step);
    else
        printf("validation:       none yet\n");
    printf("settings:         %s, batch %d x window %d, lr %g, warm-up %lld, decay %s, seed "
           "%llu, %d thread%s\n",
           wn_optimizer_name(v->p.optim.kind), v->p.batch, v->p.window, v->p.lr,
           (long long)v->p.warmup, v->decay, (unsigned long long)v->p.seed, v->p.threads,
           v->p.threads == 1 ? "" : "s");
    printf("data:             %d training file%s, %d validation file%s", v->ntrain,
           v->ntrain == 1 ? "" : "s", v->nvalid, v->nvalid == 1 ? "" : "s");
    char sp[CLI_SPEEDS_TEXT];
    if (v->p.speeds[0] != 0)
        printf("; the training clips also at speeds %s", cli_speeds_text(v->p.speeds, ", ", sp));
    printf("\n");
    /* how the clips were read matters as much as the rates: whole clips and
     * trimmed ones train different models (models/training/voices-v6) */
    if (v->p.trim_db > 0)
        printf("clips:            silence %g dB under each clip's peak cut at %s", v->p.trim_db,
               v->p.trim_ends == WN_TRIM_START ? "the start"
               : v->p.trim_ends == WN_TRIM_END ? "the end"
                                                : "both ends");
    else
        printf("clips:            whole (no silence cut)");
    if (v->p.gain_jitter_db > 0)
        printf("; gain jitter +-%g dB", v->p.gain_jitter_db);
    printf(" (--trim-db %g --trim-ends %s --gain-jitter %g)\n", v->p.trim_db,
           wn_trim_ends_name(v->p.trim_ends), v->p.gain_jitter_db);
}

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
    ckpt_view ck;
    if (ckpt_view_read(path, &ck, &err) != WN_OK) {
        wn_model_free(m);
        return cli_fail_err(&err);
    }
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
               "\"receptive_field\":%d,\"receptive_field_ms\":%.3f,\"parameters\":%zu",
               c.cond || c.speakers ? 2 : 1, c.sample_rate, c.bins, c.layers, c.stack,
               c.residual, c.dilation, c.skip, rf, rf_ms, wn_model_param_count(m));
        if (c.cond) {
            wn_mel_params p;
            wn_model_mel_params(m, &p);
            int st[4], ns = wn_model_upsample_strides(m, st);
            printf(",\"condition\":\"mel\",\"mels\":%d,\"hop\":%d,\"fft\":%d,\"fmin\":%g,"
                   "\"fmax\":%g,\"mel_scale\":\"%s\",\"mel_floor\":%g,\"upsample_strides\":[",
                   c.cond, c.hop, p.fft, p.fmin, p.fmax, p.scale == WN_MEL_HTK ? "htk" : "slaney",
                   (double)p.floor);
            for (int i = 0; i < ns; i++) printf("%s%d", i ? "," : "", st[i]);
            printf("],\"cond_channels\":%d", c.cond_channels ? c.cond_channels : c.cond);
            printf(",\"upsample_pre\":%s,\"feature_norm\":%s", c.upsample_pre ? "true" : "false",
                   wn_model_feature_norm(m, NULL, NULL) == 1 ? "true" : "false");
        }
        if (c.speakers) {
            printf(",\"speakers\":%d,\"speaker_dim\":%d,\"speaker_names\":[", c.speakers,
                   c.speaker_dim);
            for (int i = 0; i < c.speakers; i++)
                printf("%s\"%s\"", i ? "," : "", wn_model_speaker_name(m, i));
            printf("]");
        }
        if (ck.is_ckpt) ckpt_view_print(&ck, 1);
        printf("}\n");
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
            wn_mel_params p;
            wn_model_mel_params(m, &p);
            int st[4], ns = wn_model_upsample_strides(m, st);
            char up[64] = "";
            for (int i = 0, l = 0; i < ns; i++)
                l += snprintf(up + l, sizeof up - (size_t)l, "%s%d", i ? "x" : "", st[i]);
            printf("conditioning:     log-mel, %d bands, hop %d (%.1f frames/s), fft %d, %s "
                   "scale %g-%g Hz, floor %g\n", c.cond, c.hop, (double)c.sample_rate / c.hop,
                   p.fft, p.scale == WN_MEL_HTK ? "HTK" : "Slaney", p.fmin, p.fmax,
                   (double)p.floor);
            char pre[80] = "";
            if (c.upsample_pre)
                snprintf(pre, sizeof pre, " after a kernel-3 conv over the frames (%d to %d "
                         "channels)", c.cond, c.cond_channels ? c.cond_channels : c.cond);
            printf("upsampler:        transposed convs %s%s; features normalised %s\n", up, pre,
                   wn_model_feature_norm(m, NULL, NULL) == 1 ? "by the training data's mean "
                                                               "and std"
                                                             : "(not yet: set by training)");
        }
        if (c.speakers) {
            printf("speakers:         %d (embedding width %d):", c.speakers, c.speaker_dim);
            for (int i = 0; i < c.speakers; i++)
                printf("%s%s", i ? ", " : " ", wn_model_speaker_name(m, i));
            printf("\n");
        }
        if (ck.is_ckpt) ckpt_view_print(&ck, 0);
    }
    wn_model_free(m);
    return 0;
}
