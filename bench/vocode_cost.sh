#!/bin/bash
# vocode_cost.sh - conditioning's per-sample cost: `wavenet vocode` of a vocoder
# against `wavenet generate` of the unconditional model with the same layers,
# the same number of samples, alternating, one thread, f32 (the conditioning
# issue's target: vocode at most 10% slower a sample, >= 90,000 samples/s).
#
#   bench/vocode_cost.sh VOCODER SPEECH [WAV] [ROUNDS]
#
# WAV (default /usr/share/codec2/wav/ve9qrp.wav) gives the features (`wavenet
# mel -m VOCODER`); generate makes as many samples as vocode does. Prints a
# Markdown table (machine, commit, rounds, medians) for bench/runs/. Run it
# on an idle machine: pause other work (kill -STOP) for its minute or two.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
W=${WAVENET:-$here/build/wavenet}
if [ $# -lt 2 ]; then
    echo "usage: bench/vocode_cost.sh VOCODER SPEECH [WAV] [ROUNDS]" >&2
    exit 2
fi
V=$1 S=$2 WAV=${3:-/usr/share/codec2/wav/ve9qrp.wav} R=${4:-3}
[ -x "$W" ] || { echo "vocode_cost: no wavenet at $W (build it, or set WAVENET)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# the same layers on both sides, or the ratio says nothing about conditioning
shape() { "$W" info -m "$1" --json | python3 -c 'import json,sys; j=json.load(sys.stdin)
print(*(j[k] for k in ("sample_rate","bins","layers","stack","residual","dilation","skip")))'; }
if [ "$(shape "$V")" != "$(shape "$S")" ]; then
    echo "vocode_cost: $V and $S differ in their layers ($(shape "$V") against $(shape "$S"))" >&2
    exit 1
fi
"$W" mel -m "$V" "$WAV" -o "$tmp/f.npy" 2>"$tmp/mel.err" || { cat "$tmp/mel.err" >&2; exit 1; }
# samples = (frames - 1) x hop, read off vocode's own report of a first run
# (which also warms the page cache); its time is not counted
n=$("$W" vocode -m "$V" "$tmp/f.npy" --threads 1 --json -o "$tmp/v.wav" |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["samples"])')

wall() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["wall_seconds"])'; }
echo "- Date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit \`$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)\`"
echo "- Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'),"\
     "family $(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')"\
     "model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' '), $(nproc) CPUs"
echo "- vocode \`$V\` on the features of \`$WAV\` against generate \`$S\`:"\
     "$n samples each, 1 thread, f32, \`--json\` \`wall_seconds\`"
echo
echo "| round | generate (s) | vocode (s) | per sample | generate (samples/s) | vocode (samples/s) |"
echo "| --- | --- | --- | --- | --- | --- |"
gs=() vs=()
for r in $(seq "$R"); do
    g=$("$W" generate -m "$S" --samples "$n" --seed 1 --threads 1 --json -o "$tmp/g.wav" | wall)
    v=$("$W" vocode -m "$V" "$tmp/f.npy" --seed 1 --threads 1 --json -o "$tmp/v.wav" | wall)
    gs+=("$g") vs+=("$v")
    python3 -c "g,v,n=$g,$v,$n; print(f'| $r | {g:.3f} | {v:.3f} | {100*(v/g-1):+.1f}% | {n/g:,.0f} | {n/v:,.0f} |')"
done
python3 - "$n" "${gs[*]}" "${vs[*]}" <<'EOF'
import statistics as st, sys
n = int(sys.argv[1])
g = st.median(map(float, sys.argv[2].split()))
v = st.median(map(float, sys.argv[3].split()))
print(f"\nMedians: vocode {100*(v/g-1):+.1f}% a sample against generate; "
      f"vocode {n/v:,.0f} samples/s, generate {n/g:,.0f}")
EOF
