#!/usr/bin/env bash
# The commands run the BLAS kernels the CPU can run: where Debian 12's
# OpenBLAS does not know the CPU it falls back to its SSE3 "Prescott" set
# (3x slower training, bench/runs/2026-12-06-f-blas-core.md), and wavenet
# then restarts itself with OPENBLAS_CORETYPE (src/kernels.c). A user's own
# OPENBLAS_CORETYPE is kept. On a CPU OpenBLAS knows, the first check holds
# without a restart; on one without AVX2 there is nothing better to pick.
# usage: test_blas_core.sh WAVENET WAVENET_BENCH
set -euo pipefail
wavenet=$1 bench=$2
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo || { echo "no AVX2+FMA: skipped"; exit 77; }
# the cores OpenBLAS picks as it loads, one line per start of the program
cores() { OPENBLAS_VERBOSE=2 "$@" 2>&1 >/dev/null | sed -n 's/^Core: //p' | tr '\n' ' '; }
seen=$(cores env -u OPENBLAS_CORETYPE "$wavenet" --version)
core=${seen% }; core=${core##* }
[ -n "$core" ] || { echo "OpenBLAS printed no core (OPENBLAS_VERBOSE=2)"; exit 1; }
[ "$core" != Prescott ] || { echo "wavenet runs OpenBLAS's Prescott kernels on a CPU with AVX2"; exit 1; }
kept=$(cores env OPENBLAS_CORETYPE=Prescott "$wavenet" --version)
[ "$kept" = "Prescott " ] || { echo "OPENBLAS_CORETYPE=Prescott gave cores '$kept'"; exit 1; }
info=$(env -u OPENBLAS_CORETYPE "$bench" info)
if grep -q '"openblas_core": "Prescott"' <<< "$info"; then
    echo "wavenet-bench runs the Prescott kernels: $info"; exit 1
fi
# the restart keeps the command line
env -u OPENBLAS_CORETYPE "$wavenet" --version | grep -q '^wavenet ' ||
    { echo "no version line after the restart"; exit 1; }
echo "ok: cores picked: $seen"
