#!/usr/bin/env bash
# tests/test_kill.sh - no lost work: SIGKILL a training run at random moments
# several times (it writes its checkpoint every step, so most kills land in
# or near a checkpoint write); after each kill the last checkpoint and the
# best model must load (wn_model_load, through `wavenet info`) and
# `wavenet train --resume` must continue from a step no earlier than the
# last one seen. A final resumed run must finish cleanly.
#
#   WAVENET=build/wavenet bash tests/test_kill.sh [ROUNDS]
#
# A tiny model and tiny data are made here (the data by `wavenet generate`,
# so nothing but bash and the binary is needed); the whole test takes
# seconds. WN_KILL_SEED fixes the random kill times (printed at the start).
set -euo pipefail
W=${WAVENET:-./wavenet}
W=$(cd "$(dirname "$W")" && pwd)/$(basename "$W")
rounds=${1:-8}
seed=${WN_KILL_SEED:-$$}
RANDOM=$seed
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnkill.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
fail() { echo "test_kill: FAIL: $*" >&2; exit 1; }
echo "test_kill: seed $seed, $rounds rounds, in $tmp"

"$W" init -o m.safetensors --layers 4 --stack 2 --residual 4 --dilation 4 --skip 8 \
    --seed 1 2>/dev/null
"$W" generate -m m.safetensors --seconds 2 --seed 1 -o a.wav 2>/dev/null
"$W" generate -m m.safetensors --seconds 1 --seed 2 -o b.wav 2>/dev/null

common=(-o best.safetensors --checkpoint ck.safetensors --train a.wav --valid b.wav
        --batch 2 --window 256 --threads 1 --checkpoint-every 1 --valid-every 3
        --print-every 1000)
last_step=0
kills=0
for ((r = 1; r <= rounds; r++)); do
    if [[ -f ck.safetensors ]]; then
        args=(--resume ck.safetensors --steps 1000000)
    else
        args=(-m m.safetensors --steps 1000000)
    fi
    "$W" train "${args[@]}" "${common[@]}" 2> "log$r" &
    pid=$!
    # 0 .. 2 s: from inside start-up to well into training
    delay=$(printf '0.%02d' $((RANDOM % 100)))
    (( RANDOM % 2 )) && delay=1${delay#0}
    sleep "$delay"
    kill -KILL "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null && st=0 || st=$?
    [[ $st -eq 137 || $st -eq 0 ]] || { cat "log$r" >&2; fail "round $r: exit status $st"; }
    if [[ "${args[0]}" == --resume ]]; then
        # the resumed run started where the last checkpoint was (if it got
        # as far as saying so before the kill)
        got=$(sed -n 's/^wavenet: resuming .* at step \([0-9]*\)$/\1/p' "log$r")
        if [[ -n "$got" ]]; then
            (( got >= last_step )) || fail "round $r resumed at step $got < $last_step"
        fi
        ! grep -v '^wavenet: \(note\|warning\|training\|batch\|memory\|resuming\)\|^step ' \
            "log$r" | grep -q . || { cat "log$r" >&2; fail "round $r: unexpected output"; }
    fi
    for f in ck.safetensors best.safetensors; do
        [[ -f $f ]] || continue
        "$W" info -m "$f" > /dev/null 2> info.err ||
            fail "round $r (killed after ${delay} s): $f does not load: $(cat info.err)"
    done
    steps=$(LC_ALL=C grep -a -o '"steps":"[0-9]*"' ck.safetensors 2>/dev/null | head -1 |
            tr -dc 0-9 || true)
    echo "test_kill: round $r: killed after ${delay} s; checkpoint at step ${steps:-none}"
    if [[ -n "$steps" ]]; then
        (( steps >= last_step )) || fail "round $r: checkpoint went back from $last_step to $steps"
        last_step=$steps
    fi
done
(( last_step > 0 )) || fail "no checkpoint was ever written (kills too early?)"

# a clean finish from the last checkpoint: a few more steps, exit 0
target=$((last_step + 3))
"$W" train --resume ck.safetensors --steps "$target" "${common[@]}" > final.out 2> final.err ||
    { cat final.err >&2; fail "the final resumed run failed"; }
grep -q "resuming ck.safetensors at step $last_step\$" final.err ||
    { cat final.err >&2; fail "the final run did not resume at step $last_step"; }
"$W" info -m ck.safetensors > /dev/null || fail "the final checkpoint does not load"
"$W" info -m best.safetensors > /dev/null || fail "the final best model does not load"
steps=$(LC_ALL=C grep -a -o '"steps":"[0-9]*"' ck.safetensors | head -1 | tr -dc 0-9)
[[ "$steps" == "$target" ]] || fail "the final checkpoint is at step $steps, not $target"
stale=$(find . -name '.*.tmp.*' | wc -l)
echo "test_kill: ok: $kills kills, resumed up to step $last_step, finished at $target" \
     "($stale temporary files left by the killed runs)"
