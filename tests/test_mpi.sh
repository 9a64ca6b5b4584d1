#!/usr/bin/env bash
# tests/test_mpi.sh - data-parallel training over MPI against one process:
#   - 2 ranks (batch 4) and 3 ranks (batch 6) give the weights and the Adam
#     moments of one process with the same global batch, bit for bit;
#   - a checkpoint written by 2 ranks resumes in one process, bit for bit as
#     one process that stopped at the same step;
#   - a conditional model (mel bands, speakers from folders) on 2 ranks is one
#     process's too;
#   - a batch that does not split among the ranks is refused in one line;
#   - SIGTERM to the job stops every rank at one step and the checkpoint
#     holds it (mpirun's own status after a signal is 1); kill -9 of one rank ends the job non-zero with the last
#     checkpoint intact and loadable.
# Run by meson when the build has MPI and mpirun exists (tests/meson.build).
#   bash tests/test_mpi.sh WAVENET
set -euo pipefail
W=$1
# Open MPI keeps memory to the end: a sanitizer build reports it as leaks
MPI=(env "ASAN_OPTIONS=${ASAN_OPTIONS:-}:detect_leaks=0" mpirun --oversubscribe --allow-run-as-root)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnmpi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
pass=0
fail=0
check() { # check WHAT CONDITION...
    local what=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $what" >&2; fi
}
# the tensors of two safetensors files (weights, and moments of a checkpoint), byte for byte
same_tensors() {
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
def t(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n]); d = b[8 + n:]
    return {k: d[v['data_offsets'][0]:v['data_offsets'][1]] for k, v in h.items() if k != '__metadata__'}
a, b = t(sys.argv[1]), t(sys.argv[2])
sys.exit(0 if a == b and len(a) > 0 else 1)
PY
}

"$W" init -o m.st --layers 6 --stack 3 --residual 8 --dilation 8 --skip 16 --seed 3 2>/dev/null
"$W" generate -m m.st --seconds 1 --seed 1 -o a.wav 2>/dev/null
"$W" generate -m m.st --seconds 1 --seed 2 -o b.wav 2>/dev/null
"$W" generate -m m.st --seconds 0.5 --seed 3 -o v.wav 2>/dev/null
common=(--train a.wav b.wav --valid v.wav --window 300 --valid-every 3 --threads 1 --trim-db 0
        --gain-jitter 3)

# N ranks against one process
for nb in "2 4" "3 6"; do
    set -- $nb
    n=$1 b=$2
    "$W" train -m m.st -o one$b.st --checkpoint one$b.ckpt --steps 6 --batch $b "${common[@]}" \
        > /dev/null 2>&1
    "${MPI[@]}" -np $n "$W" train -m m.st -o r$n.st --checkpoint r$n.ckpt --steps 6 --batch $b \
        "${common[@]}" > r$n.out 2>&1 || true
    check "$n ranks ran" grep -q "best validation" r$n.out
    check "$n ranks (batch $b): the checkpoint is one process's, bit for bit" \
        same_tensors one$b.ckpt r$n.ckpt
    check "$n ranks (batch $b): the best model is one process's" same_tensors one$b.st r$n.st
done

# 2 ranks to step 3, one process from there to 6: as one process 3 + 3
"$W" train -m m.st -o s.st --checkpoint s.ckpt --steps 3 --batch 4 "${common[@]}" > /dev/null 2>&1
"$W" train --resume s.ckpt --steps 6 > /dev/null 2>&1
"${MPI[@]}" -np 2 "$W" train -m m.st -o t.st --checkpoint t.ckpt --steps 3 --batch 4 \
    "${common[@]}" > /dev/null 2>&1 || true
"$W" train --resume t.ckpt --steps 6 > t.out 2>&1 || true
check "a 2-rank checkpoint resumes in one process, bit for bit" same_tensors s.ckpt t.ckpt

# a conditional model (mel bands and speakers): every rank computes the
# features of the clips it reads (all training clips, its share of the
# validation clips); 2 ranks give one process's weights, moments,
# normalisation and speaker names
"$W" init -o c.st --layers 4 --stack 2 --residual 8 --dilation 8 --skip 16 --condition mel --mels 8 --hop 16 \
    --speakers 2 --seed 3 2>/dev/null
mkdir -p spk/x spk/y
cp a.wav spk/x/
cp b.wav spk/y/
printf 'v.wav\tx\nb.wav\ty\n' > cv.txt
ccommon=(--train spk --speaker-from-folder --valid-list cv.txt --window 300 --valid-every 3
         --threads 1 --trim-db 0 --gain-jitter 3)
"$W" train -m c.st -o c1.st --checkpoint c1.ckpt --steps 6 --batch 4 "${ccommon[@]}" \
    > /dev/null 2>&1
"${MPI[@]}" -np 2 "$W" train -m c.st -o c2.st --checkpoint c2.ckpt --steps 6 --batch 4 \
    "${ccommon[@]}" > c2.out 2>&1 || true
check "a conditional model on 2 ranks ran" grep -q "best validation" c2.out
check "... its checkpoint is one process's, bit for bit" same_tensors c1.ckpt c2.ckpt
check "... and its best model" same_tensors c1.st c2.st
same_meta() { # the metadata a model and its normalisation and names are read from
    python3 - "$1" "$2" <<'PY'
import json, struct, sys
def m(p):
    b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]
    d = json.loads(b[8:8 + n])['__metadata__']
    return [d.get(k) for k in ('feature_mean', 'feature_std', 'speaker_names', 'best_valid_bits')]
a, b = m(sys.argv[1]), m(sys.argv[2])
sys.exit(0 if a == b and a[0] and a[2] == 'x,y' else 1)
PY
}
check "... the same normalisation, speaker names and validation figure" same_meta c1.ckpt c2.ckpt

# a batch that does not split
rc=0
"${MPI[@]}" -np 2 "$W" train -m m.st -o x.st --steps 2 --batch 3 "${common[@]}" > x.out 2>&1 || rc=$?
check "batch 3 on 2 ranks refused" test $rc -ne 0
check "... with a message naming the split" grep -q "does not split among 2 ranks" x.out

# SIGTERM to the job: every rank stops at one step, the checkpoint holds it
"${MPI[@]}" -np 2 "$W" train -m m.st -o k.st --checkpoint k.ckpt --steps 100000000 --batch 4 \
    "${common[@]}" --valid-every 0 --print-every 1000 > k.out 2>&1 &
job=$!
for _ in $(seq 300); do grep -qs "^step " k.out && break; sleep 0.1; done
sleep 0.5
kill -TERM $job
wait $job || true # mpirun itself exits 1 after a signal, whatever the ranks did
check "SIGTERM: every rank stopped at one step, the checkpoint written" \
    grep -q "interrupted at step" k.out
check "SIGTERM: no rank reported an error" test -z "$(grep 'rank [0-9]*: ' k.out | grep -v note)"
check "SIGTERM: the checkpoint loads" "$W" info -m k.ckpt > /dev/null 2>&1

# kill -9 of one rank: the job ends non-zero, the last checkpoint stays whole
"${MPI[@]}" -np 2 "$W" train -m m.st -o d.st --checkpoint d.ckpt --steps 100000000 --batch 4 \
    "${common[@]}" --valid-every 0 --checkpoint-every 2 --print-every 1000 > d.out 2>&1 &
job=$!
for _ in $(seq 300); do [[ -s d.ckpt ]] && break; sleep 0.1; done
sleep 0.5
victim=$(pgrep -f "train -m m.st -o d.st" | sort -n | tail -1)
kill -9 "$victim" || true
rc=0
wait $job || rc=$?
check "kill -9 of a rank: the job ends non-zero" test $rc -ne 0
check "kill -9 of a rank: the last checkpoint loads" "$W" info -m d.ckpt > /dev/null 2>&1
check "kill -9 of a rank: it resumes" "$W" train --resume d.ckpt --steps \
    "$(( $(python3 -c "import json,struct,sys;b=open('d.ckpt','rb').read();n=struct.unpack('<Q',b[:8])[0];print(json.loads(b[8:8+n])['__metadata__']['steps'])") + 1 ))" \
    > /dev/null 2>&1

echo "test_mpi: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
