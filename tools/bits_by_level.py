#!/usr/bin/env python3
"""bits_by_level.py - where a model's bits go: its NLL on a list, split by
how loud each stretch of the audio is.

    python3 tools/bits_by_level.py LIST MODEL [MODEL ...] [--threads N]

Each model scores the list (`wavenet score --per-sample`; a conditional
model given each clip's own features). Each sample is put in a band by the
level of the 32 ms frame around it, in dB under its clip's loudest frame
(the level of the decoded mu-law codes): near-silence (more than 40 dB
down: room noise, breath, the gaps between syllables), quiet (20 - 40 dB
down) and loud (within 20 dB of the peak: voiced speech). Prints a Markdown
table: per band, its share of the samples and each model's bits/sample.

A stretch of noise costs bits that no model can save: its samples are
unpredictable by nature, so the band of near-silence shows how much of a
list's NLL is out of reach. Standard library only; WAVENET picks the
binary (default build/wavenet).
"""
import argparse
import csv
import io
import math
import os
import sys

from wnrun import run

BANDS = [("near-silence (> 40 dB down)", -1e9, -40.0),
         ("quiet (20 - 40 dB down)", -40.0, -20.0),
         ("loud (within 20 dB of the peak)", -20.0, 1e9)]


def decode(code, bins=256):
    """mu-law code to [-1, 1], as wn_mulaw_decode"""
    mu = bins - 1
    y = 2.0 * code / mu - 1.0
    return math.copysign(math.expm1(abs(y) * math.log1p(mu)) / mu, y)


def per_sample(model, lst, threads):
    cmd = [os.environ.get("WAVENET", "build/wavenet"), "score", "-m", model, "--threads",
           str(threads), "--per-sample", "-", "--list", lst]
    out = run(cmd)
    clips = {}
    for row in csv.DictReader(io.StringIO(out)):
        c = clips.setdefault(row["file"], ([], []))
        c[0].append(int(row["code"]))
        c[1].append(-float(row["logp_nats"]) / math.log(2))
    return clips


def bands_of(codes, frame=256):
    """each sample's band, by its frame's level under the clip's loudest frame"""
    x = [decode(c) for c in codes]
    nf = max(1, (len(x) + frame - 1) // frame)
    lev = []
    for f in range(nf):
        seg = x[f * frame:(f + 1) * frame]
        p = sum(v * v for v in seg) / len(seg)
        lev.append(10 * math.log10(p + 1e-12))
    top = max(lev)
    out = []
    for t in range(len(x)):
        d = lev[t // frame] - top
        out.append(next(i for i, (_, lo, hi) in enumerate(BANDS) if lo <= d < hi))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("list")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    bits = []
    band = None
    for m in a.models:
        clips = per_sample(m, a.list, a.threads)
        if band is None:
            band = {f: bands_of(c[0]) for f, c in clips.items()}
            order = sorted(clips)
        elif sorted(clips) != order:
            sys.exit("bits_by_level: the models scored different files")
        bits.append(clips)
    n = [0] * len(BANDS)
    tot = [[0.0] * len(BANDS) for _ in a.models]
    for f in order:
        for t, b in enumerate(band[f]):
            n[b] += 1
            for k, clips in enumerate(bits):
                tot[k][b] += clips[f][1][t]
    names = [os.path.basename(m) for m in a.models]
    if len(set(names)) < len(names):  # runs' best.safetensors: name their folders
        names = [os.path.join(os.path.basename(os.path.dirname(m)), os.path.basename(m))
                 for m in a.models]
    print("| band | share of the samples | " + " | ".join(names) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in names) + " |")
    N = sum(n)
    for b, (label, _, _) in enumerate(BANDS):
        if n[b]:
            print(f"| {label} | {100 * n[b] / N:.1f}% | " +
                  " | ".join(f"{tot[k][b] / n[b]:.3f}" for k in range(len(names))) + " |")
    print(f"| all ({N} samples) | 100% | " +
          " | ".join(f"{sum(tot[k]) / N:.4f}" for k in range(len(names))) + " |")


if __name__ == "__main__":
    main()
