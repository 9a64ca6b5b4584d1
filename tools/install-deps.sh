#!/usr/bin/env bash
# Install what wavenet needs to build, test and train, from Debian 12's packages.
#   build:  meson, ninja, pkg-config, a C compiler
#   libs:   libsndfile (audio I/O), FFTW (spectra), libsamplerate (resampling),
#           jansson (the weights file's JSON header), zlib (crc32),
#           OpenBLAS (matrix products), libgd (PNG images), OpenMP (gcc's libgomp)
#   data:   codec2-examples (8 kHz speech clips under /usr/share/codec2) and
#           klettres-data (letters and syllables in 20 languages, /usr/share/klettres)
#   MPI:    Open MPI (data-parallel training: mpirun -np N wavenet train ...)
#   checks: valgrind, clang + its sanitizer/fuzzer runtime
# With --torch, also python3-torch, python3-torchaudio and python3-numpy: the
# PyTorch peer of bench/ and the reference scripts tests/torch_reference.py
# and tests/mel_reference.py (neither the build nor CI needs them).
set -euo pipefail
extra=""
case "${1:-}" in
    "") ;;
    --torch) extra="python3-torch python3-torchaudio python3-numpy" ;;
    *) echo "usage: bash tools/install-deps.sh [--torch]" >&2; exit 2 ;;
esac
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
    build-essential meson ninja-build pkg-config \
    libsndfile1-dev libfftw3-dev libsamplerate0-dev libjansson-dev zlib1g-dev \
    libopenblas-dev libgd-dev \
    codec2-examples klettres-data \
    openmpi-bin libopenmpi-dev \
    valgrind clang libclang-rt-14-dev $extra >/dev/null
echo "wavenet: dependencies installed"
