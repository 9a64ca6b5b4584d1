#!/usr/bin/env bash
# Regenerate samples/ from the shipped models: the speech model's
# unconditional audio at temperature 1.0 (two seeds) and a continuation of a
# held-out validation clip; the vocoder's copy-synthesis of three held-out
# clips (original and vocoded side by side in one spectrogram); two voices
# of the speaker model. Deterministic: the same models and seeds give the
# same bytes, on any machine (below).
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
# the card's recommended setting, temperature 1.0: the first two seeds, 12 s
# each (the model often waits seconds in silence before it talks)
"$W" generate -m "$M" --seconds 12 --seed 1 --temperature 1.0 -o "$O"/uncond-seed1.wav --json >> "$log"
"$W" generate -m "$M" --seconds 12 --seed 2 --temperature 1.0 -o "$O"/uncond-seed2.wav --json >> "$log"
"$W" generate -m "$M" --seconds 3 --seed 3 --temperature 1.0 --prime "$REAL" --keep-prime \
    -o "$O"/continue-morig.wav --json >> "$log"
for f in uncond-seed1 uncond-seed2 continue-morig; do
    "$W" spectrogram "$O"/$f.wav -o "$O"/$f.png --title "$f (generated)"
done
"$W" spectrogram "$REAL" -o "$O"/real-morig.png --title "morig.wav (real speech, validation)"

# The vocoder: three held-out clips (never trained on) resynthesised from
# their own features. The features are committed (samples/*.npy, written
# once by `wavenet mel -m` the vocoder): FFTW picks its codelets by CPU, so
# features made afresh can differ in a last bit between machines, and a last
# bit can flip a draw.
V=models/wavenet-vocoder.safetensors
vlog=$O/vocode.jsonl
: > "$vlog"
for c in morig:/usr/share/codec2/wav/morig.wav kristoff:/usr/share/codec2/raw/kristoff.raw \
         nl-ad-2:/usr/share/klettres/nl/syllab/ad-2.ogg; do
    name=${c%%:*} clip=${c#*:}
    [[ -f samples/$name.npy ]] || "$W" mel -m "$V" "$clip" -o samples/"$name".npy
    [[ "$O" == samples ]] || cp samples/"$name".npy "$O"/
    "$W" vocode -m "$V" "$O"/"$name".npy --seed 1 -o "$O"/vocoded-"$name".wav --json >> "$vlog"
    "$W" spectrogram "$clip" "$O"/vocoded-"$name".wav --rate 8000 -o "$O"/copy-"$name".png \
        --label "$(basename "$clip") (real speech, held out)" --label "vocoded from its log-mel" \
        --title "copy-synthesis: $name"
done

# The speaker model: two voices, saying whatever they say
VO=models/wavenet-voices.safetensors
for s in vk5qi:1 kl-fr:1; do
    spk=${s%%:*} seed=${s#*:}
    "$W" generate -m "$VO" --speaker "$spk" --seconds 4 --seed "$seed" -o "$O"/voice-"$spk".wav \
        --json >> "$log"
    "$W" spectrogram "$O"/voice-"$spk".wav -o "$O"/voice-"$spk".png --title "voice $spk (generated)"
done
cat "$log" "$vlog"
