#!/usr/bin/python3
"""mel_reference.py - torchaudio's mel filters and log-mel features, the
independent reference that tests/test_spectrum.c compares wn_mel_filters
and wn_logmel against.

Run by hand (CI never has torch; it uses the committed fixture), with
Debian's python3-torchaudio:

    /usr/bin/python3 tests/mel_reference.py

writes tests/fixtures/mel_ref.safetensors:
    signal          F32 (n)            a chirp from 60 to 3,900 Hz with a
                                       little noise, n = 8,000 at 8 kHz
    fb.<case>       F32 (mels, fft/2+1) torchaudio.functional.melscale_fbanks
                                       (transposed to our layout), float64
    logmel.<case>   F32 (frames, mels) ln(max(P, 1e-10)) of the filters
                                       applied to the power spectrum of each
                                       centred, zero-padded, periodic-Hann
                                       frame of the signal (torch.stft in
                                       float64), scaled as wn_stft_magnitude
                                       scales (2 / sum(window), so a full-scale
                                       sine has power 1); cases at 8 kHz only
    __metadata__: cases (comma-separated), and per case <case>.rate, .fft,
    .hop, .mels, .fmin, .fmax, .scale (slaney|htk), .norm (slaney|none)
"""
import os
import sys

import numpy as np
import torch
import torchaudio.functional as AF

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import write_safetensors  # noqa: E402 (one writer)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "mel_ref.safetensors")

# name: rate, fft, hop, mels, fmin, fmax, scale, norm. "default" is
# wn_mel_default_params at 8 kHz; the others move every parameter.
CASES = {
    "default": (8000, 256, 64, 80, 0.0, 4000.0, "slaney", "slaney"),
    "htk": (8000, 512, 100, 40, 100.0, 3800.0, "htk", "none"),
    "slaney_peak": (8000, 200, 50, 24, 300.0, 3400.0, "slaney", "none"),
    "wide16k": (16000, 512, 128, 80, 50.0, 7600.0, "slaney", "slaney"),
    "htk22k": (22050, 512, 128, 64, 0.0, 11025.0, "htk", "slaney"),
}


def filters(rate, fft, mels, fmin, fmax, scale, norm):
    # in float64 throughout: melscale_fbanks builds its grids in the
    # default dtype, whose float32 rounding alone is ~5e-6 of the peak
    torch.set_default_dtype(torch.float64)
    fb = AF.melscale_fbanks(fft // 2 + 1, fmin, fmax, mels, rate,
                            norm=None if norm == "none" else norm,
                            mel_scale=scale)
    return fb.to(torch.float64).T.contiguous()  # (mels, bins)


def logmel(x, fft, hop, fb):
    win = torch.hann_window(fft, periodic=True, dtype=torch.float64)
    X = torch.stft(torch.from_numpy(x).to(torch.float64), fft, hop, window=win,
                   center=True, pad_mode="constant", return_complex=True)
    power = (X.abs() * (2.0 / win.sum())) ** 2          # (bins, frames)
    mel = fb @ power                                     # (mels, frames)
    return torch.log(torch.clamp(mel, min=1e-10)).T.contiguous()


def main():
    n, rate = 8000, 8000
    t = np.arange(n) / rate
    f0, f1 = 60.0, 3900.0  # a linear chirp: every band sees it pass
    phase = 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * t[-1]))
    rng = np.random.default_rng(5)
    x = (0.5 * np.sin(phase) + 0.01 * rng.standard_normal(n)).astype(np.float32)
    tensors, meta = [("signal", x)], {"cases": ",".join(CASES)}
    for name, (r, fft, hop, mels, fmin, fmax, scale, norm) in CASES.items():
        fb = filters(r, fft, mels, fmin, fmax, scale, norm)
        tensors.append((f"fb.{name}", fb.numpy().astype(np.float32)))
        if r == rate:
            lm = logmel(x.astype(np.float64), fft, hop, fb)
            assert lm.shape == (n // hop + 1, mels), lm.shape
            tensors.append((f"logmel.{name}", lm.numpy().astype(np.float32)))
        for k, v in zip(("rate", "fft", "hop", "mels", "fmin", "fmax", "scale", "norm"),
                        (r, fft, hop, mels, repr(fmin), repr(fmax), scale, norm)):
            meta[f"{name}.{k}"] = v
    write_safetensors(OUT, tensors, meta)
    print(f"wrote {OUT}: {', '.join(k for k, _ in tensors)}")


if __name__ == "__main__":
    main()
