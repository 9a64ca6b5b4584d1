/* cli_opts.c - every command's options are read here, from its table
 * (cli.h), by glibc's getopt_long, and its --help is printed from the same
 * table. Conventions kept from the hand-written parsers this replaced:
 * long names only as written in full (no abbreviations, which a later
 * option could make ambiguous in someone's script), a value may start with
 * '-' (--lr -1 is an out-of-range number, not a flag), an option taking
 * paths takes every argument up to the next option, and each error is one
 * line with exit status 2. New: --name=VALUE, and "--" ending the options. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define MAX_OPTS 64

const cli_cmd *const cli_commands[] = {
    &cli_cmd_init,  &cli_cmd_info,     &cli_cmd_generate,    &cli_cmd_vocode,
    &cli_cmd_score, &cli_cmd_train,    &cli_cmd_baseline,    &cli_cmd_spectrogram,
    &cli_cmd_mel,
};
const int cli_command_count = (int)(sizeof cli_commands / sizeof cli_commands[0]);

static int takes_value(const cli_opt *o) { return o->kind != CLI_HELP && o->kind != CLI_FLAG; }

/* "-m, --model MODEL" */
static int left_column(const cli_opt *o, char *buf, size_t n)
{
    char sh[8] = "    ";
    if (o->short_name) snprintf(sh, sizeof sh, "-%c, ", o->short_name);
    return snprintf(buf, n, "  %s--%s%s%s%s", sh, o->name, takes_value(o) ? " " : "",
                    takes_value(o) ? o->arg : "", o->kind == CLI_PATHS ? "..." : "");
}

void cli_help(const cli_cmd *c, FILE *f)
{
    fprintf(f, "usage: wavenet %s %s\n", c->name, c->synopsis);
    if (c->intro) fprintf(f, "\n%s", c->intro);
    fputs("\noptions:\n", f);
    enum { COL = 28 };
    for (const cli_opt *o = c->opts; o->name; o++) {
        char left[128];
        int w = left_column(o, left, sizeof left);
        fputs(left, f);
        if (w >= COL - 1) fprintf(f, "\n%*s", COL, "");
        else fprintf(f, "%*s", COL - w, "");
        for (const char *h = o->help; *h; h++) {
            fputc(*h, f);
            if (*h == '\n') fprintf(f, "%*s", COL, "");
        }
        fputc('\n', f);
    }
    if (c->outro) fprintf(f, "\n%s", c->outro);
}

/* Store one option's value; 0, or the exit status after saying why. */
static int apply(const cli_opt *o, void *opts, const char *flag, const char *v)
{
    void *dest = (char *)opts + o->off;
    if (o->given) *(int *)((char *)opts + o->given - 1) = 1;
    switch (o->kind) {
    case CLI_FLAG: *(int *)dest = 1; return 0;
    case CLI_STR: *(const char **)dest = v; return 0;
    case CLI_INT: return cli_int(flag, v, (long)o->lo, (long)o->hi, dest) ? 2 : 0;
    case CLI_U64: return cli_u64(flag, v, dest) ? 2 : 0;
    case CLI_NUM:
        return (o->zero_ok ? cli_double0 : cli_double)(flag, v, o->lo, o->hi, dest) ? 2 : 0;
    case CLI_CALL:
    case CLI_PATHS: return o->fn(opts, flag, v);
    case CLI_HELP: break;
    }
    return 0;
}

static int unknown(const cli_cmd *c, const char *what, const char *arg)
{
    cli_fail("%s: %s '%s' (see wavenet %s --help)", c->name, what, arg, c->name);
    return 2;
}

int cli_parse(const cli_cmd *c, void *opts, int argc, char **argv)
{
    struct option lo[MAX_OPTS + 1];
    char shorts[3 + 2 * MAX_OPTS] = "-:"; /* '-': arguments in order; ':': quiet */
    int n = 0;
    for (const cli_opt *o = c->opts; o->name && n < MAX_OPTS; o++, n++) {
        /* paths follow as arguments of their own (--train=PATH is the first) */
        int has = o->kind == CLI_PATHS ? optional_argument
                  : takes_value(o)     ? required_argument
                                       : no_argument;
        lo[n] = (struct option){o->name, has, NULL, 256 + n};
        if (o->short_name) {
            size_t k = strlen(shorts);
            shorts[k] = o->short_name;
            strcpy(shorts + k + 1, takes_value(o) ? ":" : "");
        }
    }
    lo[n] = (struct option){0};

    const cli_opt *paths = NULL; /* the CLI_PATHS option taking arguments now */
    char pflag[80] = "";
    int npaths = 0, rc = 0;
    optind = 0; /* glibc: start afresh */
    opterr = 0;
    for (;;) {
        int at = optind ? optind : 1, li = -1;
        int ch = getopt_long(argc, argv, shorts, lo, &li);
        if (ch == -1) break;
        if (ch == 1) { /* not an option */
            if (paths) rc = apply(paths, opts, pflag, optarg), npaths++;
            else if (c->operand) rc = c->operand(opts, optarg);
            else rc = unknown(c, "unexpected argument", optarg);
            if (rc) return rc;
            continue;
        }
        if (paths && !npaths) return cli_fail("%s needs one or more paths", pflag), 2;
        paths = NULL;
        const char *text = argv[at];
        if (ch == '?') {
            /* a flag given "=value" is unknown to getopt too: say which */
            const char *eq = strchr(text, '=');
            for (int i = 0; i < n && eq && !strncmp(text, "--", 2); i++)
                if (!takes_value(&c->opts[i]) && (size_t)(eq - text - 2) == strlen(lo[i].name) &&
                    !strncmp(text + 2, lo[i].name, (size_t)(eq - text - 2)))
                    return cli_fail("--%s takes no value", lo[i].name), 2;
            return unknown(c, "unknown option", text);
        }
        if (ch == ':') {
            for (int k = 0; k < n && !strncmp(text, "--", 2); k++)
                if (!strcmp(text + 2, lo[k].name)) return cli_fail("%s needs a value", text), 2;
            if (strncmp(text, "--", 2)) return cli_fail("%s needs a value", text), 2;
            return unknown(c, "unknown option", text);
        }
        int i = -1;
        if (ch >= 256) i = ch - 256;
        for (int k = 0; k < n && i < 0; k++)
            if (c->opts[k].short_name == ch) i = k;
        const cli_opt *o = &c->opts[i];
        char flag[80];
        if (li >= 0) {
            /* getopt_long takes unique prefixes; we take whole names only */
            size_t len = strlen(o->name);
            if (strncmp(text, "--", 2) || strncmp(text + 2, o->name, len) ||
                (text[2 + len] && text[2 + len] != '='))
                return unknown(c, "unknown option", text);
            snprintf(flag, sizeof flag, "--%s", o->name);
        } else {
            snprintf(flag, sizeof flag, "-%c", ch);
        }
        if (o->kind == CLI_HELP) {
            cli_help(c, stdout);
            return 0;
        }
        if (o->kind == CLI_PATHS) {
            if (o->given) *(int *)((char *)opts + o->given - 1) = 1;
            paths = o;
            npaths = 0;
            snprintf(pflag, sizeof pflag, "%s", flag);
            if (optarg && (rc = apply(o, opts, flag, optarg))) return rc;
            npaths += optarg != NULL;
            continue;
        }
        if ((rc = apply(o, opts, flag, optarg))) return rc;
    }
    for (int k = optind; k < argc; k++) { /* after "--": never options */
        if (paths) rc = apply(paths, opts, pflag, argv[k]), npaths++;
        else if (c->operand) rc = c->operand(opts, argv[k]);
        else rc = unknown(c, "unexpected argument", argv[k]);
        if (rc) return rc;
    }
    if (paths && !npaths) return cli_fail("%s needs one or more paths", pflag), 2;
    return CLI_GO_ON;
}
