#!/usr/bin/env bash
# tests/bad_inputs.sh - run the real `wavenet` on every bad input we know of
# (the fuzzers' seed files, special files, bad flags, resource limits) and
# write the table of what each gets to tests/BAD_INPUTS.md.
#
#   bash tests/bad_inputs.sh [BUILD_DIR] [OUT.md]     (build, tests/BAD_INPUTS.md)
#
# Each row: the input, the command (paths relative to where it ran), the
# exit status and the first error line on stderr (notes and the training
# banner left out). An exit status above 128 (a signal) or an error of more
# than one line is flagged in the last column; the script then exits 1.
# The command reads audio with the header sandbox on (wn_audio_set_sandbox
# in src/cli/main.c), so headers that hang libsndfile are rows here too.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${1:-build}
out=${2:-tests/BAD_INPUTS.md}
[[ "$out" = /* ]] || out=$root/$out
W=$(cd "$build" && pwd)/wavenet
[[ -x "$W" ]] || { echo "bad_inputs.sh: no $W (build first)" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnbad.XXXXXX")
trap 'chmod -R u+w "$tmp" 2>/dev/null; umount "$tmp/full" 2>/dev/null || true; rm -rf "$tmp"' EXIT
cd "$tmp"

rows=$tmp/rows.md
: > "$rows"
flagged=0
section() { printf '\n## %s\n\n| input | command | exit | message |\n| --- | --- | --- | --- |\n' "$1" >> "$rows"; }
md() { sed 's/|/\\|/g; s/`/'"'"'/g; s/\x1b/\\x1b/g' <<< "$1"; }

# row DESCRIPTION [LIMITS] -- ARGS...: run `wavenet ARGS` in $PWD (after
# `ulimit LIMITS` when given; wavenet ignores SIGXFSZ itself, so a write past
# -f fails with EFBIG like a full disk), record the outcome. Every run is bounded:
# 4 GiB of address space unless LIMITS say otherwise, 60 s (20 s with LIMITS).
row() {
    local what=$1 limits="" secs=60
    shift
    if [[ "$1" != -- ]]; then limits=$1; secs=20; shift; fi
    shift
    local rc=0 msg note=""
    ( trap - XFSZ; ulimit -v 4194304; [[ -z "$limits" ]] || ulimit $limits
      exec timeout "$secs" "$W" "$@" ) > "$tmp/stdout" 2> "$tmp/stderr" < /dev/null || rc=$?
    local errs
    errs=$(grep -v '^wavenet: \(note\|warning\|training \|batch [0-9]\|memory estimate\|resuming \)\|^step ' \
           "$tmp/stderr" || true)
    if (( rc == 0 )); then
        # the first line, its temporary paths cut before the 200-byte cut (a
        # path split there would leave the random folder name in the table)
        msg="accepted: $(head -1 "$tmp/stdout" | sed "s|$tmp/||g" | head -c 200)"
        [[ "$msg" == "accepted: " ]] && msg="accepted: $(tail -1 "$tmp/stderr")"
    else
        msg=$(head -1 <<< "$errs")
        [[ -n "$msg" ]] || msg="(no message)"
        (( $(grep -c . <<< "$errs" || true) <= 1 )) || [[ "$msg" == usage:* ]] ||
            note=" **(more than one line)**"
        [[ "$msg" != "(no message)" ]] || note=" **(silent failure)**"
    fi
    (( rc != 124 )) || note=" **(timed out after $secs s)**"
    (( rc <= 124 )) || note=" **(exit $rc: killed by a signal)**"
    # a known limitation outside our code is recorded as such, not flagged
    if [[ -n "$note" && -n "${KNOWN:-}" ]]; then
        note="$note (known limitation: $KNOWN)"
    else
        [[ -z "$note" ]] || flagged=$((flagged + 1))
    fi
    local shown="wavenet $*"
    [[ -z "$limits" ]] || shown="(ulimit $limits) $shown"
    shown=${shown//$tmp\//}
    shown=${shown//$root\//}
    msg=${msg//$tmp\//}
    msg=${msg//$root\//}
    msg=$(sed -E 's/\.tmp\.[0-9]+/.tmp.PID/g' <<< "$msg")
    printf '| %s | `%s` | %s | %s%s |\n' "$(md "$what")" "$(md "$shown")" "$rc" \
        "$(md "$msg")" "$note" >> "$rows"
    last_rc=$rc
}
# refused: the row before must have failed (exit 0 there is a silent wrong
# result); unchanged FILE SUM: FILE still has that md5sum (nothing written over)
refused() {
    if (( last_rc == 0 )); then
        echo "| ^ exit 0: a wrong result or a write that should have been refused | | | **(silent wrong result)** |" >> "$rows"
        flagged=$((flagged + 1))
    fi
}
unchanged() {
    if [[ "$(md5sum < "$1")" != "$2" ]]; then
        echo "| ^ ${1#$tmp/} was changed | | | **(lost work)** |" >> "$rows"
        flagged=$((flagged + 1))
    fi
}

# ------------------------------------------------------------ fixtures
"$W" init -o tiny.safetensors --bins 256 --layers 4 --stack 2 --residual 4 --dilation 4 \
    --skip 8 --seed 1 2>/dev/null
"$W" generate -m tiny.safetensors --seconds 1 --seed 1 -o clip.wav 2>/dev/null
"$W" generate -m tiny.safetensors --seconds 1 --seed 2 -o old.wav 2>/dev/null
# a clip at another rate (spectrogram panels need one rate)
"$W" init -o tiny16k.safetensors --rate 16000 --bins 256 --layers 4 --stack 2 --residual 4 \
    --dilation 4 --skip 8 --seed 1 2>/dev/null
"$W" generate -m tiny16k.safetensors --seconds 0.5 --seed 1 -o clip16k.wav 2>/dev/null
# a vocoder with speakers, and features of it (and of another band count)
"$W" init -o voc.safetensors --condition mel --mels 8 --hop 16 --speaker-names ann,bo --layers 2 --stack 2 \
    --residual 4 --dilation 4 --skip 8 --seed 1 2>/dev/null
"$W" mel clip.wav --mels 8 --fft 64 --hop 16 -o feats.npy 2>/dev/null
"$W" mel clip.wav --mels 40 -o f40.npy 2>/dev/null
cp clip.wav clipwav.npy
mkdir adir emptydir
mkfifo fifo.safetensors fifo.wav
printf 'this is not audio\n' > text.wav
: > empty.safetensors
# a header that claims 2^40 elements, and a tensor count in the millions
hdr() { # write a safetensors file: $1 = path, $2 = header text, data from stdin
    local h=$2 pad
    pad=$(( (8 - ${#h} % 8) % 8 ))
    h="$h$(printf '%*s' $pad '')"
    local n=${#h}
    { printf "$(printf '\\x%02x\\x%02x\\x%02x\\x%02x\\x%02x\\x%02x\\x%02x\\x%02x' \
          $((n & 255)) $((n >> 8 & 255)) $((n >> 16 & 255)) $((n >> 24 & 255)) 0 0 0 0)"
      printf '%s' "$h"; cat; } > "$1"
}
hdr e40.safetensors '{"causal.weight":{"dtype":"F32","shape":[1048576,1048576],"data_offsets":[0,16]}}' \
    < <(head -c 16 /dev/zero)
hdr claims14g.safetensors '{"__metadata__":{"format":"wavenet","version":"1","sample_rate":"8000","bins":"256","layers":"18","stack":"10","residual":"4096","dilation":"4096","skip":"4096"}}' \
    < /dev/null
awk 'BEGIN { printf "{"; for (i = 0; i < 1000001; i++) printf "%s\"opt.%d\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}", i ? "," : "", i; printf "}" }' \
    > million.json
hdr million.safetensors "$(cat million.json)" < /dev/null
rm million.json

# ------------------------------------------------------------ model files
section "Weights files (\`wavenet info -m FILE\`; files from tests/fuzz/corpus_model/)"
row "zero-length file" -- info -m empty.safetensors
row "a directory" -- info -m adir
row "a FIFO (must not block)" -- info -m fifo.safetensors
row "a character device" -- info -m /dev/zero
row "a missing file" -- info -m missing.safetensors
row "a WAV given as a model" -- info -m clip.wav
row "a tensor claiming 2^40 elements" -- info -m e40.safetensors
row "metadata for 1.8e9 parameters, no data (14 GiB if allocated)" "-v 1048576" -- \
    info -m claims14g.safetensors
row "1000001 tensors (62 MB header)" "-v 1048576" -- info -m million.safetensors
row "1000001 tensors (62 MB header), 512 MiB address space" "-v 524288" -- \
    info -m million.safetensors
rm -f million.safetensors
cd "$root/tests/fuzz/corpus_model"
for f in *; do
    row "corpus_model/$f" -- info -m "$f"
done
for f in valid-checkpoint*.safetensors ckpt-*; do
    row "corpus_model/$f as --resume" -- train --resume "$f" -o "$tmp/o.safetensors" \
        --train "$tmp/clip.wav" --valid "$tmp/old.wav" --steps 1 --window 64 --batch 1 \
        --threads 1
done
cd "$tmp"

# ------------------------------------------------------------ audio files
section "Audio files (\`wavenet score -m tiny.safetensors FILE\`, read at the model's 8000 Hz; files from tests/fuzz/corpus_audio/)"
row "a folder without audio files" -- score -m tiny.safetensors adir
row "a missing list file" -- score -m tiny.safetensors --list missing.txt
row "a FIFO (must not block)" -- score -m tiny.safetensors fifo.wav
row "a character device" -- score -m tiny.safetensors /dev/zero
row "a missing file" -- score -m tiny.safetensors missing.wav
row "'-' with nothing on stdin (or given twice: stdin is read once)" -- score -m tiny.safetensors -
truncate -s $(( (1 << 32) + 2 )) huge.raw
row "a 4 GiB .raw (2^31+1 frames, sparse)" -- score -m tiny.safetensors huge.raw
rm -f huge.raw
cd "$root/tests/fuzz/corpus_audio"
for f in *; do
    row "corpus_audio/$f" -- score -m "$tmp/tiny.safetensors" "$f"
done
for f in float32-nan.wav truncated-claims-more.wav text.wav; do
    row "corpus_audio/$f (spectrogram)" -- spectrogram "$f" -o "$tmp/x.png"
    row "corpus_audio/$f (--prime)" -- generate -m "$tmp/tiny.safetensors" --samples 10 \
        --prime "$f" -o "$tmp/x.wav"
    row "corpus_audio/$f (--train)" -- train -m "$tmp/tiny.safetensors" -o "$tmp/o.safetensors" \
        --train "$f" --steps 1
done
cd "$tmp"

# ------------------------------------------------------------ flags
section "Flags"
row "no command" --
row "unknown command" -- frobnicate
for a in "--samples 0" "--samples -5" "--samples ten" "--samples 1e3" "--samples 10 --seconds 1" \
         "--seconds 0" "--seconds nan" "--seconds inf" "--seconds -1" "--samples 10 --temperature -1" \
         "--samples 10 --temperature nan" "--samples 10 --top-k -1" "--samples 10 --top-k 70000" \
         "--samples 10 --top-p 0" "--samples 10 --top-p 1.5" "--samples 10 --streams 0" \
         "--samples 10 --streams 5000" "--samples 10 --threads 0" "--samples 10 --seed -1" \
         "--samples 10 --prime missing.wav" "--samples 10 -o /nonexistent/x.wav" \
         "--samples 10 -o adir" "--samples 10 -o adir/" "--samples 10 --streams 2 -o -" \
         "--samples 10 --bogus" "--samples 10 --precision f8" "--samples" "--samples 0x10" \
         "--samples 10 --temperature 1e-40" "--samples 10 --top-p 0x1p-1" "--samp 10"; do
    # shellcheck disable=SC2086
    row "generate $a" -- generate -m tiny.safetensors $a
done
row "generate -o ''" -- generate -m tiny.safetensors --samples 10 -o ""
for a in "--samples 2147483648" "--seconds 300000" "--samples 2147483648 --streams 3" \
         "--samples 1099511627776" "--samples 2147480000 --keep-prime --prime clip.wav"; do
    # shellcheck disable=SC2086
    row "generate $a (more than a WAV holds)" -- generate -m tiny.safetensors $a -o never.wav
done
for a in "--bins 1" "--bins 65537" "--layers 0" "--stack 25" "--rate 0" "--residual 5000" \
         "--layers 1024 --residual 4096 --dilation 4096 --skip 4096" "--seed x"; do
    # shellcheck disable=SC2086
    row "init $a" -- init -o i.safetensors $a
done
row "init without -o" -- init
row "init -o a directory" -- init -o adir
row "info -m a directory" -- info -m adir
row "score without files" -- score -m tiny.safetensors
row "score, a file named -x.wav after --" -- score -m tiny.safetensors -- -x.wav
row "score, a file named -x.wav without --" -- score -m tiny.safetensors -x.wav
row "score --threads -1" -- score -m tiny.safetensors --threads -1 clip.wav
printf 'clip.wav\tnobody\n' > spk-list.txt
row "score --list, a speaker the model lacks" -- score -m voc.safetensors --list spk-list.txt
row "score --per-sample in a missing folder" -- score -m tiny.safetensors \
    --per-sample /nonexistent/x.csv clip.wav
tr=(-m tiny.safetensors -o o.safetensors --train clip.wav)
for a in "--steps 0" "--batch 0" "--window 0" "--lr -1" "--lr nan" "--decay bogus" \
         "--decay step:0" "--decay cosine:2" "--optimizer lbfgs" "--steps 5 --minutes 1" \
         "--gain-jitter 100" "--trim-db -1" "--threads 0" "--checkpoint o.safetensors" \
         "--checkpoint-every -1" "--patience -1" "--valid-every -1" "--resume tiny.safetensors" \
         "--resume missing.ckpt" "--window 100000" "--batch 65536 --window 16777216" \
         "--print-every -1" "--log /nonexistent/x.csv" "--max-clipped 101" \
         "--max-clipped -1" "--gain-may-clip=1" "--rescale-above 0.5" "--bogus" \
         "--keep-weights tiny.safetensors" "--keep-weights /nonexistent/a/b" \
         "--keep-weights /proc/kept"; do
    # shellcheck disable=SC2086
    row "train $a" -- train "${tr[@]}" $a --steps 1
done
row "train without -o" -- train -m tiny.safetensors --train clip.wav
row "train without -m" -- train -o o.safetensors --train clip.wav
row "train without data" -- train -m tiny.safetensors -o o.safetensors
row "train on a missing file" -- train -m tiny.safetensors -o o.safetensors --train missing.wav
row "train on a folder without audio" -- train -m tiny.safetensors -o o.safetensors --train emptydir
row "train -o in a missing folder" -- train -m tiny.safetensors -o /nonexistent/o.safetensors \
    --train clip.wav
row "train --train-list missing" -- train -m tiny.safetensors -o o.safetensors --train-list nope.txt
row "init -o - (a model cannot go to stdout)" -- init -o -
row "train -o -" -- train -m tiny.safetensors -o - --train clip.wav --steps 1
row "generate into a lossy format" -- generate -m tiny.safetensors --samples 10 -o x.ogg
row "spectrogram without input" -- spectrogram -o x.png
row "spectrogram without -o" -- spectrogram clip.wav
for a in "--fft 7" "--fft 4" "--hop 0" "--range 0" "--width 10" "--rate 0" "--title"; do
    # shellcheck disable=SC2086
    row "spectrogram $a" -- spectrogram clip.wav -o x.png $a
done
row "spectrogram, two inputs (side by side)" -- spectrogram clip.wav old.wav -o x.png
row "spectrogram, inputs at 8000 and 16000 Hz" -- spectrogram clip.wav clip16k.wav -o x.png
row "spectrogram, more labels than inputs" -- spectrogram clip.wav -o x.png --label a --label b
row "spectrogram, fewer labels than inputs" -- spectrogram clip.wav old.wav -o x.png --label a
row "spectrogram --label" -- spectrogram clip.wav old.wav -o x.png --label
# shellcheck disable=SC2046
row "spectrogram, 17 inputs" -- spectrogram $(printf 'clip.wav %.0s' {1..17}) -o x.png
row "spectrogram, standard input twice" -- spectrogram - - -o x.png
for a in "--mel 0" "--fmin 100" "--mel 40 --fmax 9000" "--mel 40 --fmin 3000 --fmax 2000"; do
    # shellcheck disable=SC2086
    row "spectrogram $a" -- spectrogram clip.wav -o x.png $a
done
row "baseline without data" -- baseline
row "baseline on a folder without audio" -- baseline --train emptydir --valid old.wav
for a in "--bins 1" "--rate 0" "--lpc-k -1" "--lpc-reweight 1000" "--rescale-above -1" \
         "--bogus"; do
    # shellcheck disable=SC2086
    row "baseline $a" -- baseline --train clip.wav --valid old.wav $a
done
row "vocode without input" -- vocode -m voc.safetensors --speaker ann -o x.wav
row "vocode without -o" -- vocode feats.npy -m voc.safetensors --speaker ann
row "vocode without --speaker (a model with speakers)" -- vocode feats.npy -m voc.safetensors \
    -o x.wav
row "vocode --speaker unknown" -- vocode feats.npy -m voc.safetensors --speaker cy -o x.wav
row "vocode with an unconditional model" -- vocode feats.npy -m tiny.safetensors -o x.wav
row "vocode features of 40 bands (the model's 8)" -- vocode f40.npy -m voc.safetensors \
    --speaker ann -o x.wav
row "vocode a WAV named .npy" -- vocode clipwav.npy -m voc.safetensors --speaker ann -o x.wav
row "vocode two inputs, -o a file" -- vocode feats.npy clip.wav -m voc.safetensors \
    --speaker ann -o x.wav
row "vocode two inputs of one name" -- vocode clip.wav ./clip.wav -m voc.safetensors \
    --speaker ann -o adir
row "generate with a vocoder" -- generate -m voc.safetensors --speaker ann --samples 10 -o x.wav
row "generate --speaker, a model without speakers" -- generate -m tiny.safetensors \
    --speaker ann --samples 10 -o x.wav

# ------------------------------------------------------------ limits and outputs
section "Resource limits and outputs (an existing output must survive every failure)"
# keep FILE...: give each an old version now; check it after the next row
keep() {
    kept=("$@")
    for f in "$@"; do printf 'precious %s\n' "$f" > "$f"; done
}
check_kept() {
    for f in "${kept[@]}"; do
        if [[ "$(cat "$f" 2>/dev/null)" != "precious $f" ]]; then
            echo "| ^ the existing ${f#$tmp/} was replaced or lost | | | **(lost work)** |" >> "$rows"
            flagged=$((flagged + 1))
        fi
    done
    kept=()
}
keep old.wav
row "disk full (ulimit -f 32 KiB): generate" "-f 32" -- generate -m tiny.safetensors \
    --samples 100000 -o old.wav
check_kept
keep old.wav
row "disk full (ulimit -f 8 KiB): vocode" "-f 8" -- vocode feats.npy -m voc.safetensors \
    --speaker ann -o old.wav
check_kept
keep new.safetensors
row "disk full (ulimit -f 64 KiB): init" "-f 64" -- init -o new.safetensors --residual 64
check_kept
keep ps.csv
row "disk full (ulimit -f 16 KiB): score --per-sample" "-f 16" -- score -m tiny.safetensors \
    --per-sample ps.csv clip.wav
check_kept
keep ps.csv
row "score --per-sample, one of two inputs unreadable" -- score -m tiny.safetensors \
    --per-sample ps.csv clip.wav text.wav
check_kept
keep x.png
row "disk full (ulimit -f 4 KiB): spectrogram" "-f 4" -- spectrogram clip.wav -o x.png
check_kept
keep o.safetensors o.safetensors.ckpt
row "disk full (ulimit -f 8 KiB): train" "-f 8" -- train -m tiny.safetensors -o o.safetensors \
    --train clip.wav --steps 2 --window 64 --batch 1 --threads 1
check_kept
# the training log is appended to: a 1100-byte log under a 1 KiB limit
# must refuse its next row and stay as it was
{ head -c 1100 /dev/zero | tr '\0' '#'; echo; } > log.csv
cp log.csv log.before
row "disk full (ulimit -f 1 KiB, the log already past it): train --log" "-f 1" -- train \
    -m tiny.safetensors -o o2.safetensors --train clip.wav --steps 2 --window 64 --batch 1 \
    --threads 1 --log log.csv
if ! cmp -s log.csv log.before; then
    echo "| ^ the existing log.csv was changed | | | **(lost work)** |" >> "$rows"
    flagged=$((flagged + 1))
fi
# OpenBLAS 0.3.21 (Debian 12) retries a failed 128 MB mmap forever, in its
# load-time thread pool and at a thread's first product. Under a limit the
# command restarts itself without the pool (OPENBLAS_NUM_THREADS=1, one
# malloc arena) and checks that a buffer per thread fits, else one line
# (src/cli/main.c).
row "200 MB address space: info" "-v 200000" -- info -m tiny.safetensors
row "200 MB address space: score" "-v 200000" -- score -m tiny.safetensors clip.wav
row "300 MB address space: generate --streams 4096" \
    "-v 300000" -- generate -m tiny.safetensors --samples 100 --streams 4096 -o x.wav
OMP_NUM_THREADS=1 row "300 MB address space, OMP_NUM_THREADS=1: generate --streams 4096" \
    "-v 300000" -- generate -m tiny.safetensors --samples 100 --streams 4096 -o x.wav
OMP_NUM_THREADS=1 row "300 MB address space, OMP_NUM_THREADS=1: score" "-v 300000" -- \
    score -m tiny.safetensors clip.wav
OMP_NUM_THREADS=1 row "300 MB address space, OMP_NUM_THREADS=1: train" "-v 300000" -- \
    train -m tiny.safetensors -o o.safetensors --train clip.wav --steps 2 --batch 2 --window 64 \
    --quiet
row "4 open files: generate --streams 4" "-n 4" -- generate -m tiny.safetensors --samples 10 \
    --streams 4 -o x.wav
row "output into /proc" -- generate -m tiny.safetensors --samples 10 -o /proc/x.wav
mkdir -p full
if mount -t tmpfs -o size=64k tmpfs full 2>/dev/null; then
    keep full/old.wav full/m.safetensors
    row "a real full disk (64 KiB tmpfs): generate" -- generate -m tiny.safetensors \
        --samples 100000 -o full/old.wav
    row "a real full disk (64 KiB tmpfs): init" -- init -o full/m.safetensors
    check_kept
    umount full
else
    echo "| a real full disk (tmpfs) | (skipped: cannot mount a tmpfs here) | | |" >> "$rows"
fi

# ------------------------------------------------------------ hardening, round 2
section "Writes through planted links, outputs over inputs, lost results (issue 20)"
# clips of its own (the sections above replaced v2.wav)
"$W" generate -m tiny.safetensors --seconds 1 --seed 5 -o v1.wav 2>/dev/null
"$W" generate -m tiny.safetensors --seconds 1 --seed 6 -o v2.wav 2>/dev/null
# 1. temporaries: a link planted where an old temporary would be (a dead
# process's and a live one's) is never written through nor removed by the
# stale-file cleanup; a link at the output itself is replaced, its target kept
printf 'victim\n' > victim.txt
vsum=$(md5sum < victim.txt)
ln -s victim.txt .planted.st.tmp.1.aaaaaaaaaaaa
ln -s victim.txt .planted.st.tmp.4194000.bbbbbbbbbbbb
row "links planted at .NAME.tmp.PID.* beside the output (PID 1 alive, 4194000 dead)" -- \
    init -o planted.st
unchanged victim.txt "$vsum"
[[ -L .planted.st.tmp.1.aaaaaaaaaaaa && -L .planted.st.tmp.4194000.bbbbbbbbbbbb ]] || {
    echo "| ^ a planted link was removed | | | **(wrong file removed)** |" >> "$rows"; flagged=$((flagged + 1)); }
ln -s victim.txt linked.st
row "the output is a link to another file" -- init -o linked.st
unchanged victim.txt "$vsum"
[[ -f linked.st && ! -L linked.st ]] || {
    echo "| ^ the link was written through | | | **(lost work)** |" >> "$rows"; flagged=$((flagged + 1)); }
for w in init spectrogram train; do
    ln -sf victim.txt ".$w.out.tmp.4194000.cccccccccccc"
done
row "init beside a planted link" -- init -o init.out
row "spectrogram beside a planted link" -- spectrogram v1.wav -o spectrogram.out
row "train beside a planted link" -- train -m tiny.safetensors -o train.out --train v1.wav \
    --steps 1 --window 64 --batch 1 --threads 1 --checkpoint train.out.ckpt
unchanged victim.txt "$vsum"
# 2. an output that is one of the command's inputs, by any name
cp tiny.safetensors model2.safetensors
cp v1.wav in2.wav
msum=$(md5sum < model2.safetensors); csum=$(md5sum < in2.wav)
ln -s in2.wav in2-link.wav
printf '%s\n' "$tmp/in2.wav" > list2.txt
row "generate -o the model" -- generate -m model2.safetensors --samples 10 -o model2.safetensors
refused
row "generate -o the prime, by a link" -- generate -m model2.safetensors --samples 10 \
    --prime in2.wav -o in2-link.wav
refused
row "spectrogram -o its input" -- spectrogram in2.wav -o ./in2.wav
refused
row "spectrogram -o its second input" -- spectrogram v1.wav in2.wav -o in2-link.wav
refused
row "score --per-sample over the model" -- score -m model2.safetensors --per-sample \
    model2.safetensors in2.wav
refused
row "score --per-sample over the audio" -- score -m model2.safetensors --per-sample in2-link.wav in2.wav
refused
row "train -o a training file" -- train -m model2.safetensors -o in2-link.wav --train in2.wav \
    --steps 1 --window 64 --batch 1
refused
row "train --log the model" -- train -m model2.safetensors -o o3.safetensors --train in2.wav \
    --log model2.safetensors --steps 1 --window 64 --batch 1
refused
row "train --checkpoint a validation clip" -- train -m model2.safetensors -o o3.safetensors \
    --train v1.wav --valid in2.wav --checkpoint in2-link.wav --steps 1 --window 64 --batch 1
refused
row "train -o the list file" -- train -m model2.safetensors -o list2.txt --train-list list2.txt \
    --steps 1 --window 64 --batch 1
refused
unchanged model2.safetensors "$msum"
unchanged in2.wav "$csum"
# 3. results lost on stdout
for c in "info -m tiny.safetensors" "score -m tiny.safetensors v1.wav" \
         "generate -m tiny.safetensors --samples 10 -o g.wav --json" \
         "baseline --train v1.wav --valid v2.wav" \
         "train -m tiny.safetensors -o t4.safetensors --train v1.wav --steps 1 --window 64 --batch 1"; do
    rc=0
    # shellcheck disable=SC2086
    timeout 60 "$W" $c > /dev/full 2> "$tmp/stderr" || rc=$?
    n=$(grep -c . "$tmp/stderr" || true)
    msg=$(grep -v 'note\|^step \|training \|batch \|memory estimate' "$tmp/stderr" | head -1)
    note=""
    (( rc != 0 )) || { note=" **(silent wrong result)**"; flagged=$((flagged + 1)); }
    printf '| stdout is /dev/full | `wavenet %s > /dev/full` | %s | %s%s |\n' "$(md "$c")" "$rc" \
        "$(md "$msg")" "$note" >> "$rows"
done
# 4. non-finite numbers
python3 - "$tmp" <<'PY'
import json, struct, sys
d = sys.argv[1]
def rewrite(src, dst, edit):
    b = open(src, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    body = bytearray(b[8 + n:])
    edit(h, body)
    t = json.dumps(h, separators=(',', ':')).encode()
    t += b' ' * ((8 - len(t) % 8) % 8)
    open(dst, 'wb').write(struct.pack('<Q', len(t)) + t + bytes(body))
def overflow(h, body):  # head.1.weight = 3e38, head.0.bias = 1000: logits overflow
    h['__metadata__'].pop('crc32', None)
    for name, val in (('head.1.weight', 3e38), ('head.0.bias', 1000.0)):
        a, e = h[name]['data_offsets']
        body[a:e] = struct.pack('<f', val) * ((e - a) // 4)
rewrite(d + '/tiny.safetensors', d + '/overflow.safetensors', overflow)
PY
row "a model whose logits overflow: generate" -- generate -m overflow.safetensors --samples 100 -o ovf.wav
refused
row "a model whose logits overflow: score" -- score -m overflow.safetensors v1.wav
refused
row "a subnormal temperature" -- generate -m tiny.safetensors --samples 10 --temperature 1e-40 -o t.wav
refused
"$W" train -m tiny.safetensors -o nanrun.safetensors --train v1.wav --valid v2.wav --steps 2 \
    --window 64 --batch 1 --threads 1 --checkpoint nanrun.ckpt > /dev/null 2>&1
for v in nan -inf; do
    python3 - "$tmp" "$v" <<'PY'
import json, struct, sys
d, v = sys.argv[1], sys.argv[2]
b = open(d + '/nanrun.ckpt', 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
h['__metadata__']['best_valid_bits'] = v
t = json.dumps(h, separators=(',', ':')).encode()
t += b' ' * ((8 - len(t) % 8) % 8)
open(d + '/nan-' + v + '.ckpt', 'wb').write(struct.pack('<Q', len(t)) + t + b[8 + n:])
PY
    row "a checkpoint whose best validation is $v" -- train --resume "nan-$v.ckpt" \
        -o nanout.safetensors --steps 3
    refused
done
# 6. resuming with other audio under the same name
cp v1.wav data6.wav
"$W" train -m tiny.safetensors -o r6.safetensors --train data6.wav --steps 2 --window 64 \
    --batch 1 --threads 1 > /dev/null 2>&1
cp v2.wav data6.wav
row "--resume where the training file now holds other audio" -- train --resume r6.safetensors.ckpt --steps 4
refused
# 7. two runs on the same output: the lock is held
if command -v flock > /dev/null; then
    flock .busy.safetensors.lock sleep 30 &
    lockpid=$!
    sleep 0.3
    row "a second run while another holds the output" -- train -m tiny.safetensors \
        -o busy.safetensors --train v1.wav --steps 1 --window 64 --batch 1
    refused
    kill $lockpid 2>/dev/null || true
    wait $lockpid 2>/dev/null || true
fi
# 8. work bounded by the input
row "a receptive field of 700 M samples" -- init -o huge.safetensors --layers 1024 --stack 24
refused
# a receptive field of 2^20 samples (x 32 channels: 128 MiB of activations
# if scored over it) on a one-second clip: the silence before the clip
# costs one row, so 400 MB of address space is plenty
"$W" init -o longrf.safetensors --layers 20 --stack 20 --residual 32 --dilation 8 --skip 8 \
    2>/dev/null
OMP_NUM_THREADS=1 row "receptive field 2^20, 32 channels, a 1 s clip, 400 MB: score" \
    "-v 400000" -- score -m longrf.safetensors clip.wav
if (( last_rc != 0 )); then
    echo "| ^ the clip was not scored | | | **(work not bounded by the input)** |" >> "$rows"
    flagged=$((flagged + 1))
fi
hdr nested.safetensors '{"x":[[[[[[[[[[1]]]]]]]]]]}' < /dev/null
row "a header nested 10 deep" -- info -m nested.safetensors
refused
( trap - XFSZ; ulimit -v 4194304; exec timeout 20 "$W" score -m tiny.safetensors - ) \
    < /dev/zero > /dev/null 2> "$tmp/stderr" && rc=0 || rc=$?
printf '| endless zeros on stdin | `wavenet score - < /dev/zero` | %s | %s%s |\n' "$rc" \
    "$(md "$(head -1 "$tmp/stderr")")" "$( (( rc == 1 )) && echo || { flagged=$((flagged + 1)); echo ' **(not refused at once)**'; })" >> "$rows"
# 10. terminal escapes in a file name reach the terminal escaped
esc=$(printf 'esc\033[31mred.wav')
cp v1.wav "$esc"
printf 'not audio' > "$esc"
row "a file name with a terminal escape" -- score -m tiny.safetensors "$esc"
if grep -q $'\033' "$tmp/stderr"; then
    echo "| ^ the escape reached stderr raw | | | **(terminal escape)** |" >> "$rows"
    flagged=$((flagged + 1))
fi

{
    echo "# Bad inputs and what they get"
    echo
    echo "Generated by \`bash tests/bad_inputs.sh\` with \`$("$W" --version)\` on $(date -u +%Y-%m-%d)."
    echo "Every row ran the real binary; the message is the first error line on stderr"
    echo "(\`score\` prints one error per unreadable file and carries on with the rest)."
    echo "**Flagged** rows are failures of the one-line, no-crash rule."
    tried=$(grep -c '^| [^-^]' "$rows" || true)
    echo
    echo "**$tried cases tried, $((tried - flagged)) handled cleanly** ($flagged flagged:"
    echo "crashes, hangs, lost files, silent wrong results and messages of more than one line)."
    cat "$rows"
} > "$out"
echo "bad_inputs.sh: $(grep -c '^| [^-^]' "$rows") rows written to ${out#$root/}; $flagged flagged"
(( flagged == 0 ))
