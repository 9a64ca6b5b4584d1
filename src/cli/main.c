/* main.c - the `wavenet` command: dispatch to a subcommand. */
#include "cli.h"
#include "kernels.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: wavenet COMMAND [OPTIONS]   (wavenet COMMAND --help)\n\ncommands:\n");
    for (int i = 0; i < cli_command_count; i++)
        fprintf(f, "  %-12s %s\n", cli_commands[i]->name, cli_commands[i]->summary);
}

/* Under an address-space limit (ulimit -v) OpenBLAS's thread pool, which
 * starts when the library loads, before main, can spin forever retrying a
 * malloc that glibc fails while creating the thread's arena, and the
 * process then hangs at exit. The command runs OpenBLAS on one thread
 * anyway (kernels.c): so when there is a limit, start once more with
 * OPENBLAS_NUM_THREADS=1 (no pool) and one malloc arena, settings that
 * only take effect at load time. */
static void restart_if_limited(char **argv)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return;
    if (getenv("WN_RESTARTED")) return;
    const char *bt = getenv("OPENBLAS_NUM_THREADS");
    if (bt && !strcmp(bt, "1") && getenv("MALLOC_ARENA_MAX")) return;
    if (setenv("WN_RESTARTED", "1", 1) || setenv("MALLOC_ARENA_MAX", "1", 0) ||
        setenv("OPENBLAS_NUM_THREADS", "1", 1))
        return;
    execv("/proc/self/exe", argv); /* on failure: go on as we are */
}

/* OpenBLAS 0.3.21 maps a 128 MiB buffer for each thread that runs a
 * product, and when that fails it retries forever instead of failing. So
 * under an address-space limit, first make sure that much can be mapped
 * for as many threads as OpenMP runs (and 40 MiB more: thread stacks, the
 * model, the work); if not, say so in one line instead of hanging
 * (tests/bad_inputs.sh tries limits around it). */
static int enough_address_space(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_AS, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 1;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    const char *omp = getenv("OMP_NUM_THREADS");
    if (omp && atol(omp) > 0) threads = atol(omp);
    if (threads < 1) threads = 1;
    const size_t need = ((size_t)threads * 128 + 40) << 20;
    void *p = mmap(NULL, need, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p != MAP_FAILED) {
        munmap(p, need);
        return 1;
    }
    cli_fail("the address-space limit (ulimit -v, %llu MiB) leaves less than the %zu MiB "
             "that %ld thread%s of OpenBLAS need%s: raise it%s", (unsigned long long)(r.rlim_cur >> 20),
             need >> 20, threads, threads == 1 ? "" : "s", threads == 1 ? "s" : "",
             threads == 1 ? "" : ", or set OMP_NUM_THREADS=1");
    return 0;
}

int main(int argc, char **argv)
{
    wn__blas_pick_core(argv);
    restart_if_limited(argv);
    if (argc >= 2 && strcmp(argv[1], "--version") && strcmp(argv[1], "--help") &&
        !enough_address_space())
        return 1;
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
