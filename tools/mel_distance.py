#!/usr/bin/python3
"""mel_distance.py - log-mel distance between two recordings of the same
utterance: how far a vocoder's output is from the original (docs/VOCODER.md).

    /usr/bin/python3 tools/mel_distance.py [-m MODEL] REF.wav TEST.wav [--json] [--max-lag F]
    /usr/bin/python3 tools/mel_distance.py [-m MODEL] --check CLIP.wav

Both files' log-mel spectra are computed with one recipe: the model's (its
metadata: rate, fft, hop, bands, range, scale, norm, floor) or, without -m,
`wavenet mel`'s default (8 kHz, fft 256, hop 64, 80 Slaney bands). Power in
dB, 10 log10 of the mel power (a full-scale sine is 0 dB); each file's
floored 60 dB (--range) below the reference's peak, so that silence and
noise far under the speech weigh nothing; frames aligned by time (frame f
centred on sample f x hop in both), the longer file's extra frames left
out (--max-lag F: the test may lag or lead by up to F whole frames, the
best lag counts: for codecs and vocoders with a delay). The distance is the mean absolute difference in dB over frames and
bands: 0 for identical audio; a gain g on the test shifts every band by
20 log10 g dB before the floor (6.02 dB for g = 1/2).

Prints the distance (dB); --json prints one object with the frame counts,
the floor and the recipe. --check CLIP runs the two checks above on a clip
in memory (itself: 0; the clip at gain 1/2: the shift, exactly as the floor
predicts it) and exits non-zero if either fails.
Needs Debian's python3-torch and python3-torchaudio.
"""
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

DB = 10 / math.log(10)  # ln power -> dB


def mel_db(x, r):
    import logmel as L
    return L.logmel(x, r) * DB                                  # (frames, mels)


def distance(ref_db, test_db, rng, max_lag=0):
    """Mean |ref - test| in dB over the common frames, both floored rng dB
    under the reference's peak (test frame f + lag against ref frame f, the
    best lag in [-max_lag, max_lag]); and the details."""
    import torch
    floor = ref_db.max().item() - rng
    a_all = torch.clamp(ref_db, min=floor)
    b_all = torch.clamp(test_db, min=floor)
    best = None
    for lag in range(-max_lag, max_lag + 1):
        a = a_all[max(0, -lag):]
        b = b_all[max(0, lag):]
        n = min(a.shape[0], b.shape[0])
        if n < 1:
            continue
        d = (a[:n] - b[:n]).abs().mean().item()
        if best is None or d < best[0]:
            best = (d, lag, n)
    if best is None:
        raise ValueError("no frames in common")
    return best[0], dict(frames=best[2], lag_frames=best[1], ref_frames=ref_db.shape[0],
                         test_frames=test_db.shape[0], floor_db=floor, ref_peak_db=floor + rng)


def check(path, r, rng):
    import torch
    import logmel as L
    x = L.read_audio(path, r["rate"])
    ref = mel_db(x, r)
    d0, _ = distance(ref, mel_db(x.clone(), r), rng)
    g = 0.5
    shift = 20 * math.log10(g)
    dg, info = distance(ref, mel_db(x * g, r), rng)
    # the prediction: every band moved by the shift, then both floored
    fl = info["floor_db"]
    pred = (torch.clamp(ref, min=fl) - torch.clamp(ref + shift, min=fl)).abs().mean().item()
    above = (ref + shift > fl).double().mean().item()
    ok = d0 == 0 and abs(dg - pred) < 1e-6 * abs(shift)
    print(json.dumps({"clip": path, "recipe": L.describe(r), "itself_db": d0, "gain": g,
                      "shift_db": shift, "gain_db": dg, "predicted_db": pred,
                      "cells_above_floor_after_gain": above, "ok": ok}))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(
        description="log-mel distance (dB) between a reference recording and a test one",
        epilog="docs/VOCODER.md: copy-synthesis, the Griffin-Lim yardstick, this distance")
    ap.add_argument("ref", nargs="?", help="the reference audio (the original)")
    ap.add_argument("test", nargs="?", help="the audio to measure (a vocoder's output)")
    ap.add_argument("-m", "--model", help="a conditional model whose feature recipe to use "
                    "(default: 8 kHz, fft 256, hop 64, 80 Slaney bands)")
    ap.add_argument("--range", type=float, default=60.0,
                    help="dB under the reference's peak where both spectra are floored (60)")
    ap.add_argument("--max-lag", type=int, default=0, metavar="F",
                    help="let the test lag or lead by up to F frames, the best lag "
                    "counting (0)")
    ap.add_argument("--json", action="store_true", help="one JSON object instead of a number")
    ap.add_argument("--check", metavar="CLIP",
                    help="check the measure on CLIP: against itself and at gain 1/2")
    a = ap.parse_args()
    if not a.check and not (a.ref and a.test):
        ap.error("give REF and TEST (or --check CLIP)")

    import logmel as L
    try:
        r = L.recipe(a.model)
        if a.check:
            sys.exit(check(a.check, r, a.range))
        ref = mel_db(L.read_audio(a.ref, r["rate"]), r)
        test = mel_db(L.read_audio(a.test, r["rate"]), r)
    except (OSError, ValueError, RuntimeError) as e:
        sys.exit(f"mel_distance: {e}")
    d, info = distance(ref, test, a.range, max(0, a.max_lag))
    if a.json:
        print(json.dumps({"ref": a.ref, "test": a.test, "mel_distance_db": d, **info,
                          "range_db": a.range, "recipe": L.describe(r)}))
    else:
        print(f"{d:.4f}")
        if info["lag_frames"]:
            print(f"mel_distance: note: the test lags by {info['lag_frames']} frame(s)",
                  file=sys.stderr)
        if abs(info["ref_frames"] - info["test_frames"]) > 1 + abs(info["lag_frames"]):
            print(f"mel_distance: note: {info['ref_frames']} and {info['test_frames']} frames: "
                  f"compared the first {info['frames']}", file=sys.stderr)


if __name__ == "__main__":
    main()
