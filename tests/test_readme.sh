#!/usr/bin/env bash
# tests/test_readme.sh SRC BUILD - every command README.md shows runs.
#
# Runs each line of README's ```sh blocks (continuations joined) in a
# scratch folder where `build` and `models` link to the real ones, so the
# lines run as written. Left out: setting up and installing (install-deps,
# meson, sudo, cc, ./example: .ci/run and tests/test_install.sh cover them).
# Scaled down, and said so: train's --steps 200 / 300 and --valid-every 100
# become 2 / 3 and 1 (the flags and the resume are what is checked; the
# trainer's own tests check training). Fails on the first line that exits
# non-zero, naming it.
set -euo pipefail
src=$(cd "${1:?usage: test_readme.sh SRC BUILD}" && pwd)
build=$(cd "${2:?usage: test_readme.sh SRC BUILD}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnreadme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
ln -s "$build" "$tmp/build"
ln -s "$src/models" "$tmp/models"

mapfile -t lines < <(awk '
    /^```sh/ { f = 1; next }
    /^```/ { f = 0 }
    f { if (sub(/\\$/, "")) { acc = acc $0; next } print acc $0; acc = "" }' "$src/README.md")
(( ${#lines[@]} > 20 )) || { echo "test_readme: only ${#lines[@]} commands found" >&2; exit 1; }

ran=0 skipped=0
cd "$tmp"
for line in "${lines[@]}"; do
    case "$line" in
    *install-deps.sh* | meson\ * | sudo\ * | cc\ * | ./example*) skipped=$((skipped + 1)); continue ;;
    esac
    cmd=$line
    if [[ "$cmd" == *" train "* ]]; then
        cmd=${cmd/--steps 200/--steps 2}
        cmd=${cmd/--steps 300/--steps 3}
        cmd=${cmd/--valid-every 100/--valid-every 1}
    fi
    if ! out=$(bash -c "set -o pipefail; $cmd" 2>&1 > /dev/null); then
        echo "test_readme: this README line failed:" >&2
        echo "  $line" >&2
        printf '%s\n' "$out" | tail -n 5 >&2
        exit 1
    fi
    ran=$((ran + 1))
done
echo "test_readme: $ran README commands ran, $skipped set-up lines left out"
