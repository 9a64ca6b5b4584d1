#!/usr/bin/env bash
# `meson install` gives a program of its own what it needs: the installed
# tree (staged with --destdir) holds the command, the shared library, the
# header, wavenet.pc and the model, and tests/example.c compiles with
# nothing but `pkg-config --cflags --libs wavenet` and runs against it.
# usage: test_install.sh BUILD_DIR   (from the top of the tree; CI runs it)
set -euo pipefail
build=$1
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --destdir "$stage" --quiet > /dev/null
for f in bin/wavenet include/wavenet.h include/wavenet_signal.h include/wavenet_train.h \
    share/wavenet/models/wavenet-speech.safetensors; do
    [ -n "$(find "$stage" -path "*/$f")" ] || { echo "install: no $f"; exit 1; }
done
pc=$(find "$stage" -name wavenet.pc)
[ -n "$pc" ] || { echo "install: no wavenet.pc"; exit 1; }
export PKG_CONFIG_SYSROOT_DIR=$stage PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir wavenet)
case $libdir in "$stage"/*) ;; *) libdir=$stage$libdir ;; esac # pkgconf prefixes the sysroot
cc -std=c11 -O2 -Wall -Wextra -Werror tests/example.c $(pkg-config --cflags --libs wavenet) -lm \
    -o "$stage/example"
LD_LIBRARY_PATH=$libdir "$stage/example" "$(find "$stage" -name wavenet-speech.safetensors)" \
    /usr/share/codec2/wav/morig.wav "$stage/gen.wav"
echo "install: ok"
