#!/usr/bin/env bash
# tests/example.c, built against the shared library with nothing but
# <wavenet.h>, gives the command's own figures: its score of a clip equals
# `wavenet score`, and the bits/sample it reports for the second it
# generates equal `wavenet score` of the WAV it wrote.
# usage: test_example.sh EXAMPLE WAVENET MODEL CLIP
set -euo pipefail
example=$1 wavenet=$2 model=$3 clip=$4
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
"$example" "$model" "$clip" "$dir/gen.wav" > "$dir/out.txt"
cat "$dir/out.txt"
[ -s "$dir/gen.wav" ] || { echo "no WAV written"; exit 1; }
ls "$dir" | grep -v '^gen.wav$\|^out.txt$' && { echo "a temporary file was left behind"; exit 1; }
bits() { awk -v f="$1:" '$1 == f { print $4 }' "$dir/out.txt"; }
cli() { "$wavenet" score -m "$model" --json "$1" | sed 's/.*"bits_per_sample": *\([-0-9.e]*\).*/\1/'; }
check() { # name, example's figure, the command's, tolerance
    awk -v n="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
        d = a - b; if (d < 0) d = -d
        printf "%s: example %s, wavenet score %s\n", n, a, b
        if (a == "" || b == "" || d > t) { print "  differ by more than " t; exit 1 } }'
}
check "$clip" "$(bits "$clip")" "$(cli "$clip")" 1e-5
# generation (cached steps) against scoring (the teacher-forced pass):
# float rounding only
check generated "$(bits "$dir/gen.wav")" "$(cli "$dir/gen.wav")" 1e-4
# a wrong argument: a one-line error and a non-zero exit, no output file
if "$example" "$dir/missing.safetensors" "$clip" "$dir/x.wav" 2> "$dir/err.txt"; then
    echo "a missing model was not refused"; exit 1
fi
[ "$(wc -l < "$dir/err.txt")" -eq 1 ] && [ ! -e "$dir/x.wav" ] || { cat "$dir/err.txt"; exit 1; }
echo "example: ok"
