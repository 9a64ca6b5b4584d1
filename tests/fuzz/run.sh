#!/usr/bin/env bash
# tests/fuzz/run.sh - build the libFuzzer targets with clang (ASan + UBSan)
# straight from the library sources and run each for a bounded time.
#
#   bash tests/fuzz/run.sh SECONDS [TARGET...]     (targets: model audio npy)
#
# Exits non-zero if a target crashes, leaks, times out on one input, or
# allocates more than the malloc limit; the input that did it is saved as
# build-fuzz/artifacts/<target>/crash-* (or leak-*, timeout-*, oom-*).
# To turn it into a regression: fix the bug, then copy the file into
# tests/fuzz/corpus_<target>/ (named after what it tests) so every later
# run starts from it.
#
# Seeds are read from tests/fuzz/corpus_<target>/ (never written); new
# inputs the fuzzer finds go to build-fuzz/corpus/<target>/ and are reused by
# the next run on this machine. Reproduce one input:
#   build-fuzz/fuzz_model build-fuzz/artifacts/model/crash-...
#
# The audio target runs at tens of inputs per second, not thousands: every
# header is parsed first in a forked child (the header sandbox, which the
# target turns on as the command does: src/audio_header.c), and forking an
# ASan process is slow.
#
# Environment: CC (clang), WN_FUZZ_BUILD (build-fuzz), WN_FUZZ_MALLOC_MB
# (512: no input of a few KB may need more).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)

secs=${1:-}
if [[ ! "$secs" =~ ^[0-9]+$ ]] || (( secs < 1 )); then
    echo "usage: bash tests/fuzz/run.sh SECONDS [model] [audio] [npy]" >&2
    exit 2
fi
shift
targets=("$@")
(( ${#targets[@]} )) || targets=(model audio npy)

CC=${CC:-clang}
out=${WN_FUZZ_BUILD:-build-fuzz}
malloc_mb=${WN_FUZZ_MALLOC_MB:-512}
mkdir -p "$out/obj"

pkgs="sndfile fftw3f samplerate jansson zlib openblas gdlib"
pc_cflags=$(pkg-config --cflags $pkgs)
pc_libs=$(pkg-config --libs $pkgs)
# The meson build generates wn_config.h; the library only needs the version.
printf '#define WN_VERSION_STRING "fuzz"\n' > "$out/wn_config.h"

# -O1 -g: fast enough to fuzz, exact stack traces. No OpenMP: serial code
# (the pragmas are then ignored), as the build allows with -Dopenmp=disabled.
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cflags="-std=c11 -D_GNU_SOURCE -fno-fast-math -g -O1 -Wall -Wextra -Werror
        -Wno-unknown-pragmas -Iinclude -Isrc -include $out/wn_config.h $pc_cflags"

# an object is rebuilt when its source, any header or this script is newer
newest=$(ls -t include/*.h src/*.h "$root/tests/fuzz/run.sh" | head -1)
compile() { # src obj extra-flags...
    local src=$1 obj=$2
    shift 2
    if [[ ! -f "$obj" || "$src" -nt "$obj" || "$newest" -nt "$obj" ]]; then
        # shellcheck disable=SC2086
        nice -n 10 "$CC" $cflags $san "$@" -c "$src" -o "$obj"
    fi
}

echo "fuzz: building with $($CC --version | head -1)"
libobjs=()
for src in src/*.c; do
    obj="$out/obj/$(basename "${src%.c}").o"
    # the library itself gets coverage feedback for the fuzzer
    compile "$src" "$obj" -fsanitize=fuzzer-no-link
    libobjs+=("$obj")
done

status=0
for t in "${targets[@]}"; do
    src=tests/fuzz/fuzz_$t.c
    [[ -f "$src" ]] || { echo "fuzz: no target '$t' ($src)" >&2; exit 2; }
    compile "$src" "$out/obj/fuzz_$t.o" -fsanitize=fuzzer-no-link
    # shellcheck disable=SC2086
    nice -n 10 "$CC" -fsanitize=fuzzer $san "$out/obj/fuzz_$t.o" "${libobjs[@]}" \
        $pc_libs -lm -o "$out/fuzz_$t"

    seeds=tests/fuzz/corpus_$t
    work=$out/corpus/$t
    arts=$out/artifacts/$t
    mkdir -p "$work" "$arts"
    dict=()
    [[ -f tests/fuzz/$t.dict ]] && dict=(-dict="tests/fuzz/$t.dict")
    echo "fuzz: $t for ${secs} s (seeds $seeds, corpus $work)"
    log=$out/fuzz_$t.log
    # -timeout: one input may take at most 10 s; -malloc_limit_mb: an input
    # of at most 64 KiB has no business asking for more. Leaks are errors.
    set +e
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:abort_on_error=1:quarantine_size_mb=16 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        nice -n 10 "$out/fuzz_$t" -max_total_time="$secs" -timeout=10 \
        -malloc_limit_mb="$malloc_mb" -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 \
        -artifact_prefix="$arts/" "${dict[@]}" "$work" "$seeds" > "$log" 2>&1
    rc=$?
    set -e
    # a crashed target leaves its scratch files on tmpfs: remove those of
    # processes that are gone
    for f in /dev/shm/wn-fuzz-* "${TMPDIR:-/tmp}"/wn-fuzz-*; do
        [[ -e "$f" || -L "$f" ]] || continue
        pid=${f##*-}
        pid=${pid%%.*}
        [[ "$pid" =~ ^[0-9]+$ ]] && ! kill -0 "$pid" 2>/dev/null && rm -f "$f"
    done
    grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" |
        tail -3 | sed "s/^/fuzz: $t: /"
    if (( rc != 0 )); then
        echo "fuzz: $t FAILED (exit $rc); the end of $log:" >&2
        grep -E 'ERROR|SUMMARY|==[0-9]+==|Test unit written|bad error report|#[0-9]+ ' "$log" |
            head -40 >&2 || true
        ls -1 "$arts" | sed "s|^|fuzz: artifact $arts/|" >&2
        status=1
    else
        echo "fuzz: $t ok ($(ls "$work" | wc -l) inputs in the working corpus)"
    fi
done
exit $status
