#!/usr/bin/env bash
# The standard-library Python tools that users run on models:
# average_models.py (every weight the mean of the inputs', checked here by
# an independent reader; a model averaged with itself scores exactly as it
# did; mismatched, truncated or overwritten inputs refused with one line
# and no output), wnrun.py (a failing wavenet is its one-line error, not
# a traceback), bench/vocode_cost.sh (a table; unlike models refused) and
# collapse_check.py --each-speaker (a row per voice).
# usage: test_tools.sh WAVENET TOOLS_DIR
set -euo pipefail
wn=$1 tools=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fail() { echo "FAIL: $*"; exit 1; }
one_line() { # status, output: non-zero exit, one line, no traceback
    [ "$1" -ne 0 ] || fail "$3: exit 0"
    [ "$(printf '%s\n' "$2" | wc -l)" -eq 1 ] || fail "$3: not one line: $2"
    ! grep -q Traceback <<< "$2" || fail "$3: a traceback: $2"
}

small="--layers 4 --stack 2 --residual 8 --dilation 8 --skip 16"
"$wn" init -o a.safetensors $small --seed 1 2> /dev/null
"$wn" init -o b.safetensors $small --seed 2 2> /dev/null
"$wn" init -o c.safetensors --layers 6 --stack 3 --residual 8 --dilation 8 --skip 16 2> /dev/null
"$wn" generate -m a.safetensors --samples 3000 --seed 7 -o clip.wav 2> /dev/null

# the mean, weight by weight, as a separate reader of the files sees it
python3 "$tools/average_models.py" -o ab.safetensors a.safetensors b.safetensors 2> /dev/null
python3 - a.safetensors b.safetensors ab.safetensors <<'EOF'
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop("__metadata__")
    out = {}
    for k, d in h.items():
        lo, hi = d["data_offsets"]
        raw = b[8 + n + lo:8 + n + hi]
        out[k] = struct.unpack("<%df" % (len(raw) // 4), raw)
    return meta, out
_, a = tensors(sys.argv[1])
_, b = tensors(sys.argv[2])
meta, m = tensors(sys.argv[3])
assert set(a) == set(m), "other tensors"
worst = 0.0
for k in a:
    for x, y, z in zip(a[k], b[k], m[k]):
        worst = max(worst, abs(z - (x + y) / 2) / max(abs(x + y) / 2, 1e-30))
assert worst < 1e-6, f"not the mean: relative error {worst}"
assert meta["averaged_steps"].count(",") == 1, meta
EOF
"$wn" info -m ab.safetensors > /dev/null || fail "the average is not a model wavenet reads"

# a model averaged with itself is that model: the same score to the last digit
python3 "$tools/average_models.py" -o aa.safetensors a.safetensors a.safetensors 2> /dev/null
sa=$("$wn" score -m a.safetensors clip.wav 2> /dev/null)
saa=$("$wn" score -m aa.safetensors clip.wav 2> /dev/null)
[ "${sa#*:}" = "${saa#*:}" ] || fail "a averaged with itself scores otherwise: $sa / $saa"
sab=$("$wn" score -m ab.safetensors clip.wav 2> /dev/null)
[ "${sa#*:}" != "${sab#*:}" ] || fail "the mean of two models scores as the first"

# refused with one line, nothing written
set +e
out=$(python3 "$tools/average_models.py" -o x.safetensors a.safetensors c.safetensors 2>&1)
one_line $? "$out" "another network"
head -c 2000 b.safetensors > cut.safetensors
out=$(python3 "$tools/average_models.py" -o x.safetensors a.safetensors cut.safetensors 2>&1)
one_line $? "$out" "a truncated input"
out=$(python3 "$tools/average_models.py" -o x.safetensors a.safetensors clip.wav 2>&1)
one_line $? "$out" "a WAV as a model"
out=$(python3 "$tools/average_models.py" -o a.safetensors a.safetensors b.safetensors 2>&1)
one_line $? "$out" "the output is an input"
set -e
[ ! -e x.safetensors ] && [ ! -e x.safetensors.tmp ] || fail "a refused average left a file"
"$wn" score -m a.safetensors clip.wav > /dev/null 2>&1 || fail "the input was damaged"

# wnrun: wavenet's own error, one line, and its exit status
set +e
out=$(cd "$tools" && WAVENET="$wn" python3 -c 'from wnrun import run; run([__import__("os").environ["WAVENET"], "score", "-m", "/nonexistent.safetensors", "x.wav"])' 2>&1)
one_line $? "$out" "wnrun on a failing command"
set -e
grep -q "nonexistent" <<< "$out" || fail "wnrun hid wavenet's error: $out"
# ... and a binary that is not there is one line too (run from elsewhere)
set +e
out=$(WAVENET=/nonexistent/wavenet python3 "$tools/score_sets.py" a.safetensors list.txt 2>&1)
one_line $? "$out" "score_sets without a wavenet binary"
set -e
grep -q "WAVENET" <<< "$out" || fail "no hint of WAVENET: $out"

# bench/vocode_cost.sh: a table row per round and the medians; two models
# whose layers differ refused with one line
"$wn" init -o v.safetensors $small --condition mel --mels 20 --hop 64 --seed 3 2> /dev/null
out=$(WAVENET="$wn" bash "$tools/../bench/vocode_cost.sh" v.safetensors a.safetensors clip.wav 2)
[ "$(grep -c '^| [12] | ' <<< "$out")" -eq 2 ] || fail "vocode_cost: not two rounds: $out"
grep -q '^Medians: vocode [-+][0-9.]*% a sample' <<< "$out" || fail "vocode_cost: no medians: $out"
set +e
out=$(WAVENET="$wn" bash "$tools/../bench/vocode_cost.sh" v.safetensors c.safetensors clip.wav 1 2>&1)
one_line $? "$out" "vocode_cost on two networks"
set -e
# collapse_check.py --each-speaker: a row per voice, in the model's order;
# a model without speakers refused with one line
"$wn" init -o s.safetensors $small --speaker-names ann,bob --seed 4 2> /dev/null
out=$(WAVENET="$wn" python3 "$tools/collapse_check.py" -m s.safetensors --seeds 1 \
    --seconds 1 --each-speaker)
[ "$(grep -c '^| `--speaker ' <<< "$out")" -eq 2 ] || fail "each-speaker: not two rows: $out"
grep -A1 'speaker ann' <<< "$out" | grep -q 'speaker bob' || fail "each-speaker order: $out"
set +e
out=$(WAVENET="$wn" python3 "$tools/collapse_check.py" -m a.safetensors --seeds 1 \
    --seconds 1 --each-speaker 2>&1)
one_line $? "$out" "each-speaker on a model without speakers"
set -e
echo "tools: all passed"
