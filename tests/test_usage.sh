#!/usr/bin/env bash
# The usage example at the top of include/wavenet.h compiles and does what
# it says: the build cuts it out of the header into a main() (extract), and
# the test runs that program (run) where the example's relative model path
# exists: it must write out.wav, byte for byte what `wavenet generate` writes
# with the same model, seed and length, and leave no temporary file.
# usage: test_usage.sh extract HEADER OUT.c
#        test_usage.sh run EXAMPLE WAVENET MODEL
set -euo pipefail
case ${1:-} in
extract)
    header=$2 out=$3
    # the code lines (indented by 4 under " * ") after the "Usage" line, up
    # to the first comment line that is not code
    body=$(awk '/^ \* Usage/ { inside = 1; next }
                inside && /^ \*     / { sub(/^ \*     /, ""); print; started = 1; next }
                inside && started { exit }' "$header")
    grep -q wn_model_load <<< "$body" || { echo "$header: no usage example found" >&2; exit 1; }
    { echo "/* made by tests/test_usage.sh from the usage example in $(basename "$header") */"
      echo '#include <stdio.h>'
      echo '#include <wavenet.h>'
      echo
      echo 'int main(void)'
      echo '{'
      sed 's/^/    /' <<< "$body"
      echo '}'
    } > "$out"
    ;;
run)
    example=$2 wavenet=$3 model=$4
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    mkdir "$dir/run" "$dir/run/models"
    ln -s "$model" "$dir/run/models/wavenet-speech.safetensors"
    (cd "$dir/run" && "$example")
    [ -s "$dir/run/out.wav" ] || { echo "the example wrote no out.wav"; exit 1; }
    extra=$(ls "$dir/run" | grep -v '^out.wav$\|^models$' || true)
    [ -z "$extra" ] || { echo "the example left files behind: $extra"; exit 1; }
    "$wavenet" generate -m "$model" --samples 8000 --seed 42 -o "$dir/cli.wav" 2> /dev/null
    cmp "$dir/run/out.wav" "$dir/cli.wav" ||
        { echo "out.wav differs from wavenet generate --samples 8000 --seed 42"; exit 1; }
    echo "usage example: built, ran, out.wav is $(stat -c %s "$dir/run/out.wav") bytes," \
         "the same as wavenet generate's"
    ;;
*)
    echo "usage: test_usage.sh extract HEADER OUT.c | run EXAMPLE WAVENET MODEL" >&2
    exit 2
    ;;
esac
