#!/usr/bin/env bash
# bench/mpi.sh - data-parallel training on this machine: N ranks x 1 thread
# against 1 process x N threads, the same global batch, alternating, and
# the share of a step that the gradient's sum across the ranks takes.
#
#   bash bench/mpi.sh [BUILD_DIR] [ROUNDS] [STEPS]     (build, 3, 12)
#
# Prints a markdown report (machine, commit, the runs and their medians) on
# stdout. Needs a build with MPI (meson -Dmpi=enabled) and mpirun.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rounds=${2:-3}
steps=${3:-12}
W=$(cd "$build" && pwd)/wavenet
B=$(cd "$build" && pwd)/bench/wavenet-bench
N=$(nproc)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnbmpi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
"$B" init --config small -o small.safetensors > /dev/null
"$B" init --config large -o large.safetensors > /dev/null
"$W" generate -m small.safetensors --seconds 6 --seed 1 -o clip.wav 2> /dev/null

# median samples/s of a run's steps after its first (the CSV log's column 5)
rate() { awk -F, 'NR > 2 && $5 != "" { print $5 }' "$1" | sort -n |
         awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
sumshare() { sed -n 's/.*took \([0-9.]*\)% of the steps.*/\1/p' "$1"; }

echo "# Data-parallel training on one machine: $N ranks x 1 thread against 1 process x $N threads"
echo
echo "- Date: $(date -u '+%Y-%m-%d %H:%M') UTC, commit \`$(git -C "$OLDPWD" rev-parse --short HEAD 2>/dev/null || echo '?')\`"
echo "- Machine: $(lscpu | sed -n 's/^Model name: *//p'); $N CPUs; load average at the start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "- Open MPI $(mpirun --version | head -1 | awk '{ print $NF }'); each run $steps steps, batch 8 x (RF + 2048), Adam; $rounds rounds alternating; samples/s = the median of a run's steps after its first"
echo
echo "| config | round | 1 process x $N threads | $N ranks x 1 thread | ranks / process | sum's share of a rank's step |"
echo "| --- | --- | --- | --- | --- | --- |"
for cfg in small large; do
    declare -a ratios=()
    for r in $(seq "$rounds"); do
        common=(-m $cfg.safetensors --train clip.wav --steps "$steps" --batch 8 --window 2048
                --print-every 0 --trim-db 0 --warmup 1)
        "$W" train "${common[@]}" -o p.st --threads "$N" --log p.csv > /dev/null 2>&1
        mpirun --allow-run-as-root --oversubscribe -np "$N" "$W" train "${common[@]}" -o m.st \
            --threads 1 --log m.csv > m.out 2>&1
        a=$(rate p.csv)
        b=$(rate m.csv)
        rm -f p.csv m.csv
        ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
        ratios+=("$ratio")
        printf '| %s | %d | %.0f | %.0f | %s | %s%% |\n' "$cfg" "$r" "$a" "$b" "$ratio" "$(sumshare m.out)"
    done
    med=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    echo "| $cfg | median | | | $med | |"
done
