/* dist.c - the MPI behind dist.h, or the one-rank stub when the build has
 * no MPI (meson -Dmpi=disabled, or none found). MPI is started by
 * wn_dist_init only in a process that mpirun or srun started, so a plain
 * run never touches it. Everything goes over MPI_COMM_WORLD. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

#ifdef WN_MPI
#include <mpi.h>

static int started; /* wn_dist_init started MPI (and finalizes it) */

/* launched by a process manager that MPI_Init can talk to */
static int launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK",
                                       "MPI_LOCALNRANKS", "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i])) return 1;
    return 0;
}

int wn_dist_init(int *argc, char ***argv, wn_error *err)
{
    int on = 0;
    MPI_Initialized(&on);
    if (on || !launched()) return WN_OK;
    int provided = 0;
    /* our OpenMP threads never call MPI: FUNNELED is enough */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return wn__err(err, WN_ERR_IO, "MPI_Init failed");
    started = 1;
    return WN_OK;
}

void wn_dist_finalize(void)
{
    int fin = 0;
    if (started && MPI_Finalized(&fin) == MPI_SUCCESS && !fin) MPI_Finalize();
    started = 0;
}

void wn_dist_abort(int code)
{
    int on = 0;
    MPI_Initialized(&on);
    if (on) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

static int active(void)
{
    int on = 0, fin = 0;
    MPI_Initialized(&on);
    if (on) MPI_Finalized(&fin);
    return on && !fin;
}

int wn__dist_rank(void)
{
    int r = 0;
    if (active()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int wn__dist_size(void)
{
    int n = 1;
    if (active()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

/* MPI counts are ints: a slab goes in pieces of at most 2^30 floats */
#define PIECE ((size_t)1 << 30)

int wn__dist_sum_tree(float *x, size_t n, wn_error *err)
{
    const int size = wn__dist_size(), rank = wn__dist_rank();
    if (size == 1) return WN_OK;
    float *in = NULL;
    int rc = WN_OK;
    for (int step = 1; step < size && rc == WN_OK; step *= 2) {
        if (rank % (2 * step) == 0) {
            if (rank + step >= size) continue;
            if (!in && !(in = wn__alloc(n < PIECE ? n : PIECE, sizeof(float)))) {
                rc = wn__err(err, WN_ERR_NOMEM, "out of memory for the gradient's sum");
                break;
            }
            for (size_t o = 0; o < n && rc == WN_OK; o += PIECE) {
                int k = (int)(n - o < PIECE ? n - o : PIECE);
                if (MPI_Recv(in, k, MPI_FLOAT, rank + step, step, MPI_COMM_WORLD,
                             MPI_STATUS_IGNORE) != MPI_SUCCESS)
                    rc = wn__err(err, WN_ERR_IO, "rank %d: receiving rank %d's gradient failed",
                                 rank, rank + step);
                for (int i = 0; rc == WN_OK && i < k; i++) x[o + (size_t)i] += in[i];
            }
        } else if (rank % (2 * step) == step) {
            for (size_t o = 0; o < n && rc == WN_OK; o += PIECE) {
                int k = (int)(n - o < PIECE ? n - o : PIECE);
                if (MPI_Send(x + o, k, MPI_FLOAT, rank - step, step, MPI_COMM_WORLD) !=
                    MPI_SUCCESS)
                    rc = wn__err(err, WN_ERR_IO, "rank %d: sending the gradient failed", rank);
            }
            break; /* this rank's part is in; it waits for the result */
        }
    }
    wn__free(in);
    for (size_t o = 0; o < n && rc == WN_OK; o += PIECE) {
        int k = (int)(n - o < PIECE ? n - o : PIECE);
        if (MPI_Bcast(x + o, k, MPI_FLOAT, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
            rc = wn__err(err, WN_ERR_IO, "rank %d: broadcasting the gradient failed", rank);
    }
    return rc;
}

int wn__dist_allgather(const double *mine, size_t n, double *all, wn_error *err)
{
    if (wn__dist_size() == 1) {
        memcpy(all, mine, n * sizeof *all);
        return WN_OK;
    }
    if (MPI_Allgather(mine, (int)n, MPI_DOUBLE, all, (int)n, MPI_DOUBLE, MPI_COMM_WORLD) !=
        MPI_SUCCESS)
        return wn__err(err, WN_ERR_IO, "rank %d: gathering the validation failed",
                       wn__dist_rank());
    return WN_OK;
}

int wn_dist_max(int64_t *v, int n, wn_error *err)
{
    if (wn__dist_size() == 1 || n <= 0) return WN_OK;
    int64_t *out = malloc(sizeof *out * (size_t)n);
    if (!out) return wn__err(err, WN_ERR_NOMEM, "out of memory");
    int ok = MPI_Allreduce(v, out, n, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD) == MPI_SUCCESS;
    if (ok) memcpy(v, out, sizeof *out * (size_t)n);
    free(out);
    return ok ? WN_OK : wn__err(err, WN_ERR_IO, "rank %d: agreeing with the other ranks failed",
                                wn__dist_rank());
}

int wn_dist_available(void) { return 1; }

#else /* one rank */

int wn_dist_init(int *argc, char ***argv, wn_error *err)
{
    (void)argc;
    (void)argv;
    (void)err;
    return WN_OK;
}
void wn_dist_finalize(void) {}
void wn_dist_abort(int code) { exit(code); }
int wn__dist_rank(void) { return 0; }
int wn__dist_size(void) { return 1; }
int wn__dist_sum_tree(float *x, size_t n, wn_error *err)
{
    (void)x;
    (void)n;
    (void)err;
    return WN_OK;
}
int wn__dist_allgather(const double *mine, size_t n, double *all, wn_error *err)
{
    (void)err;
    memcpy(all, mine, n * sizeof *all);
    return WN_OK;
}
int wn_dist_available(void) { return 0; }
int wn_dist_max(int64_t *v, int n, wn_error *err)
{
    (void)v;
    (void)n;
    (void)err;
    return WN_OK;
}

#endif

int wn_dist_rank(void) { return wn__dist_rank(); }
int wn_dist_size(void) { return wn__dist_size(); }
