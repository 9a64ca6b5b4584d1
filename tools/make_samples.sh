#!/usr/bin/env bash
# Regenerate samples/ from the shipped model: unconditional audio at
# temperature 1.0 and 0.9, a continuation of a held-out validation clip, and
# spectrograms of each beside one of real speech. Deterministic: the same
# model and seeds give the same bytes, on any machine (below).
#   tools/make_samples.sh [path/to/wavenet [OUT_DIR]]     (OUT_DIR: samples)
set -euo pipefail
W=$(realpath "${1:-$(dirname "$0")/../build/wavenet}")
O=$(mkdir -p "${2:-$(dirname "$0")/../samples}" && cd "${2:-$(dirname "$0")/../samples}" && pwd)
cd "$(dirname "$0")/.."
[[ "$O" != "$(pwd)/samples" ]] || O=samples # as generate.jsonl names the files
# The scalar reference kernels: float32 sums in one fixed order on any CPU.
# The vector tables (AVX2, AVX-512) each give the model to float rounding,
# and a last-bit difference in a logit can flip a draw and with it all
# that follows: the bytes would depend on the machine's table.
export WN_KERNELS=scalar
# A continuation primes through the teacher-forced pass, whose products go
# to OpenBLAS, and OpenBLAS picks its kernels by CPU too: pin them to the
# AVX2 ones (Haswell's, which it runs on every AVX2 machine, Zen included).
export OPENBLAS_CORETYPE=Haswell
M=models/wavenet-speech.safetensors
REAL=/usr/share/codec2/wav/morig.wav   # validation clip (never trained on)
log=$O/generate.jsonl
: > "$log"
"$W" generate -m "$M" --seconds 6 --seed 1 --temperature 1.0 -o "$O"/uncond-t1.0.wav --json >> "$log"
"$W" generate -m "$M" --seconds 6 --seed 2 --temperature 0.9 -o "$O"/uncond-t0.9.wav --json >> "$log"
"$W" generate -m "$M" --seconds 3 --seed 3 --temperature 0.9 --prime "$REAL" --keep-prime \
    -o "$O"/continue-morig.wav --json >> "$log"
for f in uncond-t1.0 uncond-t0.9 continue-morig; do
    "$W" spectrogram "$O"/$f.wav -o "$O"/$f.png --title "$f (generated)"
done
"$W" spectrogram "$REAL" -o "$O"/real-morig.png --title "morig.wav (real speech, validation)"
cat "$log"
