#!/usr/bin/env bash
# tests/test_samples.sh SRC BUILD - samples/ is what tools/make_samples.sh
# makes: every WAV and PNG byte for byte, and each run's NLL in
# generate.jsonl and vocode.jsonl (the scalar reference kernels and OpenBLAS pinned: the
# same bytes on any machine with AVX2). A change to what the model samples or how spectrograms are
# drawn then shows here: regenerate samples/ with the script and commit.
set -euo pipefail
src=$(cd "${1:?usage: test_samples.sh SRC BUILD}" && pwd)
build=$(cd "${2:?usage: test_samples.sh SRC BUILD}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnsamples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
bash "$src/tools/make_samples.sh" "$build/wavenet" "$tmp" > "$tmp/log" 2>&1 || {
    cat "$tmp/log" >&2
    exit 1
}
bad=0 n=0
for f in "$src"/samples/*.wav "$src"/samples/*.png; do
    n=$((n + 1))
    if ! cmp -s "$f" "$tmp/$(basename "$f")"; then
        echo "test_samples: $(basename "$f") differs from what tools/make_samples.sh makes" >&2
        bad=1
    fi
done
# the NLL of each run (the wall time and the folder aside)
key() {
    sed -E 's/"(file|input)":"[^"]*\//"\1":"/g; s/,"seconds":[0-9.]+//; s/,"wall_seconds":[0-9.]+//' "$1"
}
for j in generate vocode; do
    if ! diff <(key "$src/samples/$j.jsonl") <(key "$tmp/$j.jsonl") >&2; then
        echo "test_samples: $j.jsonl differs" >&2
        bad=1
    fi
done
# Unprimed generation does not touch OpenBLAS (silence's queues are made
# in double): its numbers stay the same whichever kernels OpenBLAS picks
# (Prescott's SSE3 ones run on any x86-64)
gen() {
    WN_KERNELS=scalar OPENBLAS_CORETYPE=$1 "$build/wavenet" generate \
        -m "$src/models/wavenet-speech.safetensors" --samples 4000 --seed 5 \
        -o "$tmp/core-$1.wav" --json 2> /dev/null | sed -E 's/.*"nll_nats":([0-9.]+).*/\1/'
}
if [[ "$(uname -m)" == x86_64 ]] && grep -qw avx2 /proc/cpuinfo; then
    a=$(gen Prescott) b=$(gen Haswell)
    if [[ -z "$a" || "$a" != "$b" ]] || ! cmp -s "$tmp/core-Prescott.wav" "$tmp/core-Haswell.wav"; then
        echo "test_samples: unprimed generation depends on OpenBLAS's kernels (NLL $a and $b)" >&2
        bad=1
    fi
fi
(( n >= 17 )) || { echo "test_samples: only $n files in samples/" >&2; exit 1; }
(( bad == 0 )) || exit 1
echo "test_samples: $n files and generate.jsonl as tools/make_samples.sh makes them"
