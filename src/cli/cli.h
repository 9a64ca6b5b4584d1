/* cli.h - shared by the `wavenet` subcommands: argument parsing, messages,
 * the default model path. The command is a thin layer over wavenet.h. */
#ifndef WN_CLI_H
#define WN_CLI_H

#include "wavenet.h"
#include <stdint.h>

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

/* Strict number parsing of a flag's value: the whole string must parse and
 * lie in [lo, hi]; otherwise print a one-line error naming the flag and
 * return -1. */
int cli_int(const char *flag, const char *s, long lo, long hi, long *out);
int cli_u64(const char *flag, const char *s, uint64_t *out);
int cli_double(const char *flag, const char *s, double lo, double hi, double *out);
/* "f32" or "f16" for --precision; 0, or 2 after printing the error. */
int cli_precision(const char *flag, const char *s, wn_precision *out);

/* The value after a flag: argv[*i + 1], advancing *i; prints an error and
 * returns NULL if missing. */
const char *cli_value(int argc, char **argv, int *i);

/* The shipped model: $WAVENET_MODEL, else models/ beside the build tree or
 * the executable, else the installed data dir. Never NULL. */
const char *cli_default_model(void);

/* 1 if stderr is a terminal (progress lines). */
int cli_stderr_tty(void);

/* Subcommands: argc/argv start at the subcommand name. Return exit status. */
int cmd_init(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_baseline(int argc, char **argv);
int cmd_spectrogram(int argc, char **argv);

#endif
