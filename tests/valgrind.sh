#!/usr/bin/env bash
# tests/valgrind.sh - valgrind memcheck over a subset of the test suite that
# finishes in a few minutes: every invalid read/write, use of uninitialised
# memory, and leak (definite, indirect or possible) is an error.
#
#   bash tests/valgrind.sh [BUILD_DIR] [TEST...]     (BUILD_DIR: build)
#
# The C tests run under valgrind themselves; the `wavenet` commands that
# test_cli and test_hostile start run under it too (through $WAVENET), each
# with its own log, and every log is checked at the end (an exit status alone
# would miss errors in a command that is meant to fail). OpenMP and OpenBLAS
# run one thread (OMP_NUM_THREADS=1): libgomp's idle pool is otherwise
# reported as "possibly lost"; tests/valgrind.supp holds what remains of
# that kind (see its comments).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build}
shift || true
[[ -x "$build/wavenet" ]] || { echo "valgrind.sh: build first ($build/wavenet)" >&2; exit 2; }
build=$(cd "$build" && pwd)
command -v valgrind > /dev/null || { echo "valgrind.sh: valgrind not installed" >&2; exit 2; }

# The subset: everything but the slow numerical tests (grad, train,
# baseline, model_file's large models), about 3-4 minutes on one core.
tests=("$@")
(( ${#tests[@]} )) || tests=(errors mulaw kernels layers optim stream stream_cond score torch_ref audio
                             spectrum cli)

logs=$(mktemp -d "${TMPDIR:-/tmp}/wnvalgrind.XXXXXX")
trap 'rm -rf "$logs"' EXIT
# shellcheck disable=SC2054 # the commas are inside option values
vg=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
    --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible
    --suppressions="$root/tests/valgrind.supp" --num-callers=30)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export WN_SRCDIR=$root WN_BUILDDIR=$build
export WAVENET="${vg[*]} --log-file=$logs/cmd.%p.log $build/wavenet"

status=0
for t in "${tests[@]}"; do
    exe=$build/tests/test_$t
    [[ -x "$exe" ]] || { echo "valgrind.sh: no $exe (skipped)"; continue; }
    start=$SECONDS
    set +e
    (cd "$build" && "${vg[@]}" --log-file="$logs/test_$t.log" "$exe" > "$logs/test_$t.out" 2>&1)
    rc=$?
    set -e
    if (( rc != 0 )); then
        echo "valgrind.sh: test_$t FAILED (exit $rc, $((SECONDS - start)) s)"
        tail -20 "$logs/test_$t.out" | sed 's/^/    /'
        status=1
    else
        echo "valgrind.sh: test_$t ok ($((SECONDS - start)) s)"
    fi
done

# every log: the tests' and their commands'
bad=0
ncmd=0
for log in "$logs"/*.log; do
    [[ -e "$log" ]] || continue
    [[ "$log" == */cmd.* ]] && ncmd=$((ncmd + 1))
    if grep -q 'ERROR SUMMARY: [1-9]' "$log"; then
        bad=$((bad + 1))
        cmdline=$(sed -n 's/^==[0-9]*== Command: //p' "$log" | head -1)
        echo "valgrind.sh: errors in: ${cmdline:-$log}"
        grep -E '^==[0-9]+== ( {0,3}[A-Z][^=]*|   (at|by) 0x.*)' "$log" | grep -v ' Copyright\|Using Valgrind\|Command:\|Memcheck,' |
            head -40 | sed 's/^/    /'
        status=1
    fi
done
echo "valgrind.sh: ${#tests[@]} tests and $ncmd commands checked; $bad with errors"
exit $status
