#!/usr/bin/env bash
# tests/test_readme.sh SRC BUILD - every command README.md and docs/*.md show
# runs.
#
# Runs each line of the pages' ```sh blocks (continuations joined), each page
# in its own scratch folder where `build` and `models` link to the real ones,
# so the lines run as written and a page's later lines may use what its
# earlier ones made. Left out: setting up and installing (install-deps,
# meson, sudo, cc, ./example: .ci/run and tests/test_install.sh cover them)
# and the test scripts themselves (bash tests/...: the suite and .ci/run run
# them). Scaled down, and said so: on a `train` line, --steps N,
# --valid-every N and --checkpoint-every N become N/100 (at least 1): README's
# 200 and 300 steps become 2 and 3, its --valid-every 100 becomes 1 (the
# flags and the resume are what is checked; the trainer's own tests check
# training). Fails on the first line that exits non-zero, naming its page.
set -euo pipefail
src=$(cd "${1:?usage: test_readme.sh SRC BUILD}" && pwd)
build=$(cd "${2:?usage: test_readme.sh SRC BUILD}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnreadme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# N/100, at least 1, for every "FLAG N" on the line
scale() {
    local cmd=$1 flag n
    for flag in --steps --valid-every --checkpoint-every; do
        if [[ "$cmd" =~ (^|[[:space:]])$flag[[:space:]]+([0-9]+) ]]; then
            n=$((BASH_REMATCH[2] / 100))
            ((n >= 1)) || n=1
            cmd=${cmd/$flag ${BASH_REMATCH[2]}/$flag $n}
        fi
    done
    printf '%s' "$cmd"
}

ran=0 skipped=0
for page in "$src/README.md" "$src"/docs/*.md; do
    name=${page#"$src"/}
    mapfile -t lines < <(awk '
        /^```sh/ { f = 1; next }
        /^```/ { f = 0 }
        f { if (sub(/\\$/, "")) { acc = acc $0; next } print acc $0; acc = "" }' "$page")
    if [[ "$name" == README.md ]] && ((${#lines[@]} < 8)); then
        echo "test_readme: only ${#lines[@]} commands found in README.md" >&2
        exit 1
    fi
    ((${#lines[@]})) || continue
    dir=$tmp/${name//\//_}
    mkdir "$dir"
    ln -s "$build" "$dir/build"
    ln -s "$src/models" "$dir/models"
    cd "$dir"
    for line in "${lines[@]}"; do
        case "$line" in
        *install-deps.sh* | meson\ * | sudo\ * | cc\ * | ./example* | bash\ tests/*)
            skipped=$((skipped + 1))
            continue
            ;;
        esac
        cmd=$line
        [[ "$cmd" != *" train "* ]] || cmd=$(scale "$cmd")
        # Open MPI keeps memory to the end: a sanitizer build reports it as leaks
        [[ "$cmd" != mpirun\ * ]] || cmd="ASAN_OPTIONS=\${ASAN_OPTIONS:-}:detect_leaks=0 $cmd"
        # a build without MPI (or no mpirun here) has nothing to run it with
        if [[ "$cmd" == *mpirun\ * ]] && { ! command -v mpirun > /dev/null || ! "$build/wavenet" --version | grep -q 'mpi'; }; then
            skipped=$((skipped + 1))
            continue
        fi
        if ! out=$(bash -c "set -o pipefail; $cmd" 2>&1 > /dev/null); then
            echo "test_readme: this line of $name failed:" >&2
            echo "  $line" >&2
            [[ "$cmd" == "$line" ]] || echo "  (run as: $cmd)" >&2
            printf '%s\n' "$out" | tail -n 5 >&2
            exit 1
        fi
        ran=$((ran + 1))
    done
done
((ran >= 30)) || { echo "test_readme: only $ran commands ran" >&2; exit 1; }
echo "test_readme: $ran commands of README.md and docs/*.md ran, $skipped set-up lines left out"
