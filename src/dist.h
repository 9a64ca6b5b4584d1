/* dist.h - data-parallel training across processes (MPI) behind a few
 * calls: rank and size, a gradient summed over the ranks by a fixed tree,
 * values gathered or broadcast, an agreement to stop. A build without MPI,
 * or a process not started by mpirun/srun, is one rank and every call is
 * the identity. */
#ifndef WN_DIST_H
#define WN_DIST_H

#include "internal.h"

int wn__dist_rank(void);
int wn__dist_size(void);
/* Sum n floats over the ranks, the result on every rank, by the tree that
 * grad.c's pairwise sum has over equal blocks: at level l, rank r (a
 * multiple of 2^(l+1)) adds what rank r + 2^l holds on its right; so the
 * ranks' sums of power-of-two blocks of windows merge into one process's
 * bits. */
int wn__dist_sum_tree(float *x, size_t n, wn_error *err);
/* Every rank's n doubles side by side (rank order) into all (size * n). */
int wn__dist_allgather(const double *mine, size_t n, double *all, wn_error *err);

#endif
