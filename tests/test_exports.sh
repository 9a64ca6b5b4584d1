#!/usr/bin/env bash
# The shared library exports exactly the functions the public headers
# declare with WN_API: none missing (a program of its own could not link),
# none extra (no internal wn__ function leaks into the ABI).
# usage: test_exports.sh LIBWAVENET.so include/wavenet.h [more headers...]
set -euo pipefail
lib=$1
shift
header="$*"
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort)
declared=$(cat "$@" | grep -o '^WN_API[^(]*(' | sed 's/($//; s/.*[ *]//' | sort)
[ -n "$declared" ] || { echo "no WN_API functions found in $header"; exit 1; }
if [ "$exported" != "$declared" ]; then
    echo "exports of $lib differ from the WN_API functions of $header (< exported, > declared):"
    diff <(echo "$exported") <(echo "$declared") || true
    exit 1
fi
if nm -D --defined-only "$lib" | awk '{ print $NF }' | grep -q '^wn__'; then
    echo "$lib exports internal wn__ symbols"
    exit 1
fi
echo "$(echo "$declared" | wc -l) functions exported, as declared"
