/* cli.h - shared by the `wavenet` subcommands: argument parsing, messages,
 * the default model path. The command is a thin layer over wavenet.h. */
#ifndef WN_CLI_H
#define WN_CLI_H

#include "wavenet.h"
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Print "wavenet: <message>" on stderr (one line); returns 1 (exit status). */
int cli_fail(const char *fmt, ...) CLI_PRINTF(1, 2);
/* Print "wavenet: <err->message>"; returns 1. */
int cli_fail_err(const wn_error *err);
/* Print "wavenet: note: ..." on stderr. */
void cli_note(const char *fmt, ...) CLI_PRINTF(1, 2);
void cli_warn(const char *fmt, ...) CLI_PRINTF(1, 2);
/* A rank of a data-parallel run: every message names it ("rank 1: ..."). */
void cli_set_rank(int rank);

/* The one number parser of every option. A whole number: optional '-' and
 * decimal digits only (no hex, spaces, exponent); a number: decimal with an
 * optional fraction and exponent (no hex, inf, nan, spaces). Out of range,
 * or malformed: a one-line error naming the flag and stating the range,
 * and -1. cli_double with zero_ok also takes exactly 0 below lo: a value
 * between 0 and lo would otherwise act as 0 silently (a subnormal float). */
int cli_int(const char *flag, const char *s, long lo, long hi, long *out);
int cli_u64(const char *flag, const char *s, uint64_t *out);
int cli_double(const char *flag, const char *s, double lo, double hi, double *out);
int cli_double0(const char *flag, const char *s, double lo, double hi, double *out);
/* "f32", "f16" or "int8" for --precision; 0, or 2 after printing the error. */
int cli_precision(const char *flag, const char *s, wn_precision *out);

/* ---------------------------------------------------------------- options
 * Each command describes its options in one table; cli_parse reads argv
 * with getopt_long from it and `CMD --help` is printed from it, so the
 * two cannot disagree (tests/test_cli_opts.c checks them and the docs). */
typedef enum cli_kind {
    CLI_HELP,  /* print the help, exit 0 */
    CLI_FLAG,  /* no value: the int at `off` becomes 1 */
    CLI_STR,   /* const char * at `off` (argv's string) */
    CLI_INT,   /* long at `off`, a whole number in [lo, hi] */
    CLI_U64,   /* uint64_t at `off`, any non-negative whole number */
    CLI_NUM,   /* double at `off` in [lo, hi] (or 0 with zero_ok) */
    CLI_CALL,  /* the value goes to fn */
    CLI_PATHS, /* one or more values, up to the next option: each to fn */
} cli_kind;

typedef struct cli_opt {
    const char *name;  /* long name, without "--" */
    char short_name;   /* 0: none */
    cli_kind kind;
    const char *arg;   /* the value's name in the help ("N", "FILE") */
    const char *help;  /* '\n' starts a continuation line */
    size_t off;        /* where the value goes: offsetof(the command's struct, field) */
    double lo, hi;     /* CLI_INT, CLI_NUM */
    int zero_ok;       /* CLI_NUM: 0 is allowed too ("0 = off") */
    size_t given;      /* CLI_GIVEN(struct, int field) set to 1 when given; 0: none */
    /* CLI_CALL, CLI_PATHS: 0, or the exit status after printing why */
    int (*fn)(void *opts, const char *flag, const char *value);
} cli_opt;
#define CLI_GIVEN(type, field) (offsetof(type, field) + 1)

typedef struct cli_cmd {
    const char *name, *summary;
    int (*run)(int argc, char **argv);
    const char *synopsis;  /* after "usage: wavenet NAME " */
    const char *intro;     /* between the usage line and the options (or NULL) */
    const char *outro;     /* after the options (or NULL) */
    const cli_opt *opts;   /* ends with a zero entry */
    /* arguments that are not options (and all after "--"): 0 or an exit
     * status; NULL: none taken */
    int (*operand)(void *opts, const char *value);
} cli_cmd;

/* The sampling options generate and vocode share, one definition so their
 * ranges and help cannot drift apart: S is the command's options struct,
 * with fields seed (uint64_t), temp, topp (double) and topk (long). */
#define CLI_SAMPLING_OPTS(S, seed_help)                                                        \
    {.name = "seed", .kind = CLI_U64, .arg = "N", .help = seed_help, .off = offsetof(S, seed)}, \
    {.name = "temperature", .kind = CLI_NUM, .arg = "T",                                       \
     .help = "1 = the model's distribution, 0 = argmax (default 1)", .off = offsetof(S, temp), \
     .lo = 1e-3, .hi = 100, .zero_ok = 1},                                                     \
    {.name = "top-k", .kind = CLI_INT, .arg = "K",                                             \
     .help = "sample among the K likeliest codes (0 = off)", .off = offsetof(S, topk),         \
     .lo = 0, .hi = 65536},                                                                    \
    {.name = "top-p", .kind = CLI_NUM, .arg = "P",                                             \
     .help = "sample among the likeliest codes holding mass P (1 = off)",                      \
     .off = offsetof(S, topp), .lo = 1e-9, .hi = 1}
/* --speaker, for the commands that take a voice: S has a field speaker */
#define CLI_SPEAKER_OPT(S)                                                                     \
    {.name = "speaker", .kind = CLI_STR, .arg = "NAME",                                        \
     .help = "the voice of a model with speakers: a name or a row number\n"                    \
     "(required for such a model)", .off = offsetof(S, speaker)}

/* Parse argv (argv[0] the command's name) into *opts. Returns -1 to go on,
 * else the exit status: 0 after --help, 2 for a wrong command line (one
 * line printed), or what a fn/operand returned. */
int cli_parse(const cli_cmd *c, void *opts, int argc, char **argv);
void cli_help(const cli_cmd *c, FILE *f);
#define CLI_GO_ON (-1)

/* The commands, in the order `wavenet --help` lists them. */
extern const cli_cmd *const cli_commands[];
extern const int cli_command_count;
extern const cli_cmd cli_cmd_init, cli_cmd_info, cli_cmd_generate, cli_cmd_score,
    cli_cmd_train, cli_cmd_baseline, cli_cmd_spectrogram;
extern const cli_cmd cli_cmd_mel; /* src/cli/cmd_mel.c */
extern const cli_cmd cli_cmd_vocode; /* src/cli/cmd_vocode.c */

/* The shipped model: $WAVENET_MODEL, else models/ beside the build tree or
 * the executable, else the installed data dir. Never NULL. */
const char *cli_default_model(void);
/* The same search for another shipped model: $ENV_NAME, else `file` in
 * those folders; the path goes into buf (size bytes) unless the
 * environment gives it. Never NULL; the file may not exist. */
const char *cli_default_model_named(const char *file, const char *env_name, char *buf,
                                    size_t size);
/* --speaker NAME of a model: *row its row (-1 for a model without
 * speakers and no NAME). 1 after a one-line error (a speaker model without
 * NAME, an unknown NAME, a NAME for a model without speakers), else 0. */
int cli_speaker(const wn_model *m, const char *model, const char *name, int *row);

/* A train_params speeds list (0-terminated, at most WN_MAX_SPEEDS) as
 * text, each %g and separated by sep ("" for none); buf of
 * CLI_SPEEDS_TEXT bytes. Returns buf. */
#define CLI_SPEEDS_TEXT (WN_MAX_SPEEDS * 20)
const char *cli_speeds_text(const float *speeds, const char *sep, char *buf);

/* s as a JSON string on stdout, quoted and escaped. */
void cli_json_str(const char *s);

/* 1 if stderr is a terminal (progress lines). */
int cli_stderr_tty(void);

/* An output must not be one of the command's inputs: 1 (after a one-line
 * error naming both) if the file at `out` is the same file, by device and
 * inode, as any of inputs[0..n) (NULL entries and "-" skipped); 0 if it is
 * none of them or does not exist yet. Names do not matter: a link, a
 * "./x" or a second path to the same file is caught too. */
int cli_output_is_input(const char *flag, const char *out, const char *const *inputs, int n);
/* Hold an advisory lock (flock) for writing `path` until the process
 * ends, on ".NAME.lock" beside it (the file itself is replaced by rename,
 * so it cannot carry the lock). 1 after a one-line error if another
 * process holds it: two runs writing the same file would leave one's model
 * and the other's checkpoint. */
int cli_lock(const char *flag, const char *path);
/* Check stdout once the results are written: 1 after a one-line error if
 * anything written to it was lost (a full disk, a closed pipe). */
int cli_stdout_ok(void);

/* Subcommands: argc/argv start at the subcommand name. Return exit status. */
/* init --from (init_from.c): m starts from MODEL's weights and predicts
 * what MODEL does; *copied tensors copied whole, *grown grown from smaller
 * ones or, for new layers' outputs, set to zero.
 * When m is neither MODEL's network nor a growth of it, `why` says what
 * differs (empty otherwise). */
int cli_init_from(wn_model *m, const char *path, int *copied, int *grown, char *why,
                  size_t why_size, wn_error *err);

int cmd_init(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_spectrogram(int argc, char **argv);
int cmd_vocode(int argc, char **argv);

#endif
