#!/bin/sh
# copy_synthesis.sh - how closely a vocoder follows the spectrogram: each
# clip resynthesised from its own log-mel features by `wavenet vocode` and by
# Griffin-Lim (tools/griffin_lim.py, 32 iterations), and both outputs'
# log-mel distance from the clip (tools/mel_distance.py: mean absolute dB
# over frames and bands, floored 60 dB below the clip's peak). Prints a
# Markdown table and the means (docs/VOCODER.md says how to read them).
# The distance is measured with one ruler for every vocoder, `wavenet mel`'s
# default recipe (8 kHz, fft 256, hop 64, 80 bands), so that vocoders with
# different recipes compare; RULER=model measures with the model's own.
#
#   sh tools/copy_synthesis.sh MODEL OUT_DIR CLIP... [-- VOCODE_OPTIONS]
#
# OUT_DIR gets each clip's vocoded and Griffin-Lim WAVs at the model's rate. VOCODE_OPTIONS go to `wavenet vocode` (default --seed 0 --threads 2).
# Needs Debian's python3-torch and python3-torchaudio; WAVENET picks the
# binary (default build/wavenet).
set -eu
[ $# -ge 3 ] || { echo "usage: sh tools/copy_synthesis.sh MODEL OUT_DIR CLIP... [-- VOCODE_OPTIONS]" >&2; exit 2; }
W=${WAVENET:-build/wavenet}
PY=/usr/bin/python3
here=$(dirname "$0")
model=$1
out=$2
shift 2
clips=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do clips="$clips $1"; shift; done
[ $# -gt 0 ] && shift
opts=${*:-"--seed 0 --threads 2"}
ruler=${RULER:-default}
case "$ruler" in
    default|model) ;;
    *) echo "copy_synthesis.sh: RULER is 'default' or 'model', not '$ruler'" >&2; exit 2 ;;
esac
# the distance of $2 from the clip $1, with the ruler
dist() {
    if [ "$ruler" = model ]; then "$PY" "$here/mel_distance.py" -m "$model" "$1" "$2"
    else "$PY" "$here/mel_distance.py" "$1" "$2"; fi
}
mkdir -p "$out"
rate=$("$W" info -m "$model" --json | "$PY" -c "import json, sys; print(json.load(sys.stdin)['sample_rate'])")
echo "| clip | seconds | vocoded (dB) | Griffin-Lim (dB) |"
echo "| --- | --- | --- | --- |"
sv=0 sg=0 n=0
for c in $clips; do
    name=$(basename "$c" | sed 's/\.[^.]*$//')
    # shellcheck disable=SC2086
    "$W" vocode -m "$model" "$c" -o "$out/$name-vocoded.wav" $opts --json > "$out/$name-vocoded.json"
    "$PY" "$here/griffin_lim.py" -m "$model" "$c" -o "$out/$name-griffin-lim.wav" > /dev/null
    v=$(dist "$c" "$out/$name-vocoded.wav")
    g=$(dist "$c" "$out/$name-griffin-lim.wav")
    s=$("$PY" -c "import json; o = json.load(open('$out/$name-vocoded.json')); print('%.1f' % (o['samples'] / $rate))")
    echo "| $name | $s | $v | $g |"
    sv=$("$PY" -c "print($sv + $v)") sg=$("$PY" -c "print($sg + $g)") n=$((n + 1))
done
"$PY" -c "print('\nmean over %d clips: vocoded %.2f dB, Griffin-Lim %.2f dB' % ($n, $sv / $n, $sg / $n))"
