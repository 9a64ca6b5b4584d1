#!/usr/bin/python3
"""griffin_lim.py - audio from log-mel features without a neural vocoder:
the yardstick a WaveNet vocoder has to beat (docs/VOCODER.md).

    /usr/bin/python3 tools/griffin_lim.py [-m MODEL] IN.wav|FEATS.npy -o OUT.wav
                                          [--iters 32] [--seed N] [--json]

From a clip, its log-mel features with the model's recipe (`wavenet mel -m
MODEL` computes the same numbers); or features given as .npy (raw log-mels,
frames x bands, what `wavenet vocode` takes). The log-mel is inverted to a
linear power spectrogram by the least-squares pseudo-inverse of the mel
filters (torch.linalg.pinv, negative powers clamped to 0), then
torchaudio.transforms.GriffinLim (32 iterations, momentum 0.99, the
recipe's periodic Hann window and hop) estimates the phase. Without -m the
recipe is `wavenet mel`'s default (8 kHz, fft 256, hop 64, 80 Slaney bands).

Not torchaudio's InverseMelScale: its SGD fit starts from uniform(0, 1)
powers and stops at an absolute loss, which the quiet bands of a spectrum
40-60 dB under its peak never weigh in; on morig.wav its spectrogram's mel
bands came out 32 dB off on average (the pseudo-inverse's: 0 before the
clamp), and the Griffin-Lim audio 28 dB from the clip by
tools/mel_distance.py against 0.55 dB.

Output: 16-bit WAV at the recipe's rate, the clip's length (from a clip) or
(frames - 1) x hop samples (from features, as `wavenet vocode` gives).
Needs Debian's python3-torch and python3-torchaudio (bash
tools/install-deps.sh --torch).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(
        description="Griffin-Lim audio from log-mel features (a vocoder's yardstick)",
        epilog="docs/VOCODER.md: copy-synthesis, this yardstick and tools/mel_distance.py")
    ap.add_argument("input", help="an audio file (its features are computed) or FEATS.npy")
    ap.add_argument("-o", "--output", required=True, help="the WAV to write")
    ap.add_argument("-m", "--model", help="a conditional model whose feature recipe to use "
                    "(default: wavenet mel's defaults)")
    ap.add_argument("--iters", type=int, default=32, help="Griffin-Lim iterations (32)")
    ap.add_argument("--momentum", type=float, default=0.99, help="Griffin-Lim momentum (0.99)")
    ap.add_argument("--seed", type=int, default=0, help="the random initial phase's seed")
    ap.add_argument("--json", action="store_true", help="print one JSON line of what was done")
    a = ap.parse_args()

    import torch
    import torchaudio
    import logmel as L

    torch.manual_seed(a.seed)
    try:
        r = L.recipe(a.model)
        if a.input.lower().endswith(".npy"):
            feats = L.load_features(a.input, r)
            n = (feats.shape[0] - 1) * r["hop"]
        else:
            x = L.read_audio(a.input, r["rate"])
            n = len(x)
            feats = L.logmel(x, r, model_frames=True)
    except (OSError, ValueError, RuntimeError) as e:
        sys.exit(f"griffin_lim: {e}")
    if n < 1:
        sys.exit(f"griffin_lim: {a.input}: {feats.shape[0]} frame(s) make no samples")
    t0 = time.time()
    mel = torch.exp(feats).T                                   # (mels, frames) mel power
    fb = L.filters(r)                                          # (bins, mels)
    # the least-norm P with fb^T P = mel, per frame; negative powers clamped
    power = torch.clamp(torch.linalg.pinv(fb.T) @ mel, min=0)
    # our power is |STFT|^2 (2 / sum(window))^2: back to torch's magnitude
    mag = torch.sqrt(power / L.power_scale(r))
    # torch's inverse STFT takes the frames of (frames - 1) * hop samples; a
    # clip's own frames, (n + hop/2) / hop + 1, can be one more than n's
    # (n mod hop >= hop/2): synthesise those, then cut or pad to n
    n_gl = (feats.shape[0] - 1) * r["hop"]
    gl = torchaudio.transforms.GriffinLim(
        n_fft=r["fft"], n_iter=a.iters, win_length=r["fft"], hop_length=r["hop"],
        window_fn=torch.hann_window, power=1.0, momentum=a.momentum, length=n_gl,
        rand_init=True)
    y = gl(mag.float()).to(torch.float64)
    y = torch.nn.functional.pad(y, (0, max(0, n - n_gl)))[:n]
    peak = y.abs().max().item()
    L.write_wav(a.output, y.numpy(), r["rate"])
    d = {"input": a.input, "output": a.output, "frames": int(feats.shape[0]), "samples": n,
         "rate": r["rate"], "recipe": L.describe(r), "iters": a.iters,
         "peak": peak, "clipped": peak > 1, "seconds": time.time() - t0}
    if a.json:
        print(json.dumps(d))
    else:
        print(f"griffin_lim: wrote {a.output}: {n} samples ({n / r['rate']:.2f} s) from "
              f"{d['frames']} frames ({d['recipe']}), {a.iters} iterations"
              + (f"; peak {peak:.2f} clipped" if peak > 1 else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
