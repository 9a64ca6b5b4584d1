#!/usr/bin/python3
"""npy_reference.py - .npy files written by numpy itself, the independent
reference that tests/test_npy.c reads (wn_npy_read), and the check that
numpy loads what wn_npy_write writes.
Run by hand (CI never runs python), with Debian's python3-numpy:
    /usr/bin/python3 tests/npy_reference.py
writes tests/fixtures/npy_*.npy, each holding pattern(rows, cols) (below)
in some form:
    npy_v1_f4.npy     (7, 5) '<f4', format 1.0 (what numpy.save writes)
    npy_v2_f4.npy     the same, format 2.0 (4-byte header length)
    npy_v3_f4.npy     the same, format 3.0 (utf-8 header)
    npy_f8.npy        (7, 5) '<f8' of the float64 values before rounding
    npy_fortran.npy   (7, 5) '<f4', fortran_order True
    npy_be_f4.npy     (7, 5) '>f4'
    npy_i2.npy        (7, 5) '<i2'
    npy_1d.npy        (35,) '<f4'
    npy_3d.npy        (2, 3, 4) '<f4'
    npy_0row.npy      (0, 80) '<f4'
    /usr/bin/python3 tests/npy_reference.py OURS.npy
loads OURS.npy (a file wn_npy_write wrote: WN_NPY_KEEP=OURS.npy
build/test_npy keeps the one it writes) and checks it is pattern(7, 5),
float32, C order, bit for bit, and byte for byte what numpy.save writes.
    /usr/bin/python3 tests/npy_reference.py --mel IN.wav FEATS.npy
checks FEATS.npy (`wavenet mel IN.wav -o FEATS.npy`, IN.wav at 8 kHz)
against the torchaudio snippet of docs/CLI.md, as written (needs
python3-torchaudio).
"""
import io
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")


def pattern64(rows, cols):
    """(i - 7) / 3 for element i, except -0.0, a subnormal and float32's
    largest value first: tests/test_npy.c computes the same in C."""
    v = (np.arange(rows * cols, dtype=np.float64) - 7.0) / 3.0
    v[0], v[1], v[2] = -0.0, 1e-40, float(np.finfo(np.float32).max)
    return v.reshape(rows, cols)


def pattern(rows, cols):
    return pattern64(rows, cols).astype(np.float32)


def save(name, a, version=None):
    path = os.path.join(FIX, name)
    with open(path, "wb") as f:
        np.lib.format.write_array(f, a, version=version, allow_pickle=False)
    print(f"wrote {path}: {a.dtype.str} {a.shape} "
          f"{'F' if np.isfortran(a) else 'C'} v{version or 'auto'}")


def make():
    a = pattern(7, 5)
    save("npy_v1_f4.npy", a)
    save("npy_v2_f4.npy", a, (2, 0))
    save("npy_v3_f4.npy", a, (3, 0))
    save("npy_f8.npy", pattern64(7, 5))
    save("npy_fortran.npy", np.asfortranarray(a))
    save("npy_be_f4.npy", a.astype(">f4"))
    save("npy_i2.npy", (np.arange(35, dtype=np.int16) - 7).reshape(7, 5))
    save("npy_1d.npy", a.reshape(35))
    save("npy_3d.npy", pattern(1, 24).reshape(2, 3, 4))
    save("npy_0row.npy", np.zeros((0, 80), dtype=np.float32))


def check(path):
    b = np.load(path, allow_pickle=False)
    want = pattern(7, 5)
    assert b.dtype == np.float32 and b.dtype.byteorder in "<=", b.dtype
    assert b.shape == want.shape and b.flags.c_contiguous, (b.shape, b.flags)
    assert b.tobytes() == want.tobytes(), "values differ"
    ref = io.BytesIO()
    np.save(ref, want)
    with open(path, "rb") as f:
        ours = f.read()
    assert ours == ref.getvalue(), "loads, but not the bytes numpy.save writes"
    print(f"{path}: float32 {b.shape}, bit-exact, the same bytes as numpy.save "
          f"(numpy {np.__version__})")


def check_mel(wav, feats):
    """The snippet of docs/CLI.md ("Features from Python"), as written."""
    import torch
    import torchaudio
    import torchaudio.functional as AF
    torch.set_default_dtype(torch.float64)      # the filters' grids too
    x, rate = torchaudio.load(wav)
    assert rate == 8000, rate
    x = x.mean(0).to(torch.float64)
    fft, hop, mels, fmin, fmax = 256, 64, 80, 0.0, rate / 2
    win = torch.hann_window(fft, periodic=True, dtype=torch.float64)
    X = torch.stft(x, fft, hop, window=win, center=True, pad_mode="constant",
                   return_complex=True)
    power = (X.abs() * (2.0 / win.sum())) ** 2
    fb = AF.melscale_fbanks(fft // 2 + 1, fmin, fmax, mels, rate,
                            norm="slaney", mel_scale="slaney")
    ref = torch.log(torch.clamp(fb.T @ power, min=1e-10)).T.float().numpy()
    ours = np.load(feats)
    assert ours.shape == ref.shape and ours.dtype == np.float32, (ours.shape, ref.shape)
    err = np.abs(ours - ref).max()
    print(f"{feats}: {ours.shape}, max |ours - torchaudio| = {err:.3g} nats")
    assert err < 1e-3, err


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--mel":
        check_mel(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 2:
        check(sys.argv[1])
    else:
        make()
