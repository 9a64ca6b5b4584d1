#!/bin/sh
# bench/run.sh [--quick] [run.py options]: build wavenet-bench, then run the
# benchmark of issue 5 (bench/run.py; bench/README.md). The build folder is
# $WN_BENCH_BUILD, default "build" at the top of the source tree.
set -eu
cd "$(dirname "$0")/.."
BUILD=${WN_BENCH_BUILD:-build}
[ -d "$BUILD" ] || meson setup "$BUILD"
meson compile -C "$BUILD" wavenet-bench wavenet:executable >&2
exec /usr/bin/python3 bench/run.py --build-dir "$BUILD" "$@"
