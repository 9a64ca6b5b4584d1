/* main.c - the `wavenet` command: dispatch to a subcommand. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: wavenet COMMAND [OPTIONS]   (wavenet COMMAND --help)\n\ncommands:\n");
    for (int i = 0; i < cli_command_count; i++)
        fprintf(f, "  %-12s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
}

int main(int argc, char **argv)
{
    /* a write past the file size limit (ulimit -f) then fails with EFBIG,
     * which every writer reports in one line and cleans up after, instead
     * of the signal killing the process mid-write */
    signal(SIGXFSZ, SIG_IGN);
    /* the command reads anyone's files: parse each header in a forked
     * child first, so a hostile one cannot hang or crash the run */
    wn_audio_set_sandbox(1);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    int status = 2;
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        status = 0;
    } else if (!strcmp(argv[1], "--version")) {
        printf("wavenet %s (format version %d%s)\n", WN_VERSION_STRING, WN_FORMAT_VERSION,
               wn_dist_available() ? ", mpi" : "");
        status = 0;
    } else {
        int i = 0;
        while (i < cli_command_count && strcmp(argv[1], cli_commands[i]->name)) i++;
        if (i < cli_command_count)
            status = cli_commands[i]->run(argc - 1, argv + 1);
        else
            cli_fail("unknown command '%s' (try 'wavenet --help')", argv[1]);
    }
    /* results lost on the way out (a full disk, a closed pipe) are a
     * failure, whatever the command thought */
    if (status == 0 && cli_stdout_ok()) status = 1;
    return status;
}
