#!/usr/bin/env python3
"""features_worth.py - how much a vocoder leans on its features: each clip
scored by `wavenet score` given its own log-mel features, given features
that say nothing (the model's training mean of each band, `feature_mean`,
at every frame) and given wrong ones (its own rotated by half the frames).

    python3 tools/features_worth.py MODEL CLIP... [--speaker NAME] [--threads N]

"own" against "mean" is what the features buy over what the past samples
give; "rotated" is the cost of features that disagree with the audio.
Prints a Markdown table in bits/sample. Standard library only; WAVENET
picks the binary (default build/wavenet).
"""
import argparse
import ast
import json
import os
import struct
import sys
import tempfile

from wnrun import model_meta, run


def read_npy(path):
    """(frames, bands, the float32 values' bytes) of a 2-D float32 .npy"""
    with open(path, "rb") as f:
        b = f.read()
    if b[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    n = struct.unpack("<H", b[8:10])[0]
    head = ast.literal_eval(b[10:10 + n].decode("latin1"))
    if head["descr"] != "<f4" or head["fortran_order"] or len(head["shape"]) != 2:
        sys.exit(f"{path}: not 2-D little-endian float32")
    return head["shape"][0], head["shape"][1], b[10 + n:]


def write_npy(path, frames, bands, data):
    head = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }" % (frames, bands)
    pad = 64 - (10 + len(head) + 1) % 64
    head = head + " " * pad + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode("latin1"))
        f.write(data)


def feature_mean(model):
    try:
        meta = model_meta(model)
    except (OSError, ValueError, struct.error) as e:
        sys.exit(f"{model}: not a readable model ({e})")
    if "feature_mean" not in meta:
        sys.exit(f"{model}: not a vocoder with feature normalisation")
    return [float(v) for v in meta["feature_mean"].split(",")]


def score(wn, model, clip, feats, extra):
    out = run([wn, "score", "-m", model, "--json", "--features", feats, clip] + extra)
    return json.loads(out.splitlines()[0])["bits_per_sample"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("clips", nargs="+")
    ap.add_argument("--speaker")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    wn = os.environ.get("WAVENET", "build/wavenet")
    extra = ["--threads", str(a.threads)] + (["--speaker", a.speaker] if a.speaker else [])
    mean = feature_mean(a.model)
    print("| clip | own | mean | rotated |")
    print("| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        own, flat, rot = (os.path.join(tmp, n + ".npy") for n in ("own", "mean", "rot"))
        for clip in a.clips:
            run([wn, "mel", "-m", a.model, clip, "-o", own])
            F, M, data = read_npy(own)
            if M != len(mean):
                sys.exit(f"{clip}: {M} bands, the model has {len(mean)}")
            write_npy(flat, F, M, struct.pack("<%df" % M, *mean) * F)
            row = 4 * M
            k = F // 2
            write_npy(rot, F, M, data[(F - k) * row:] + data[:(F - k) * row])
            r = [score(wn, a.model, clip, p, extra) for p in (own, flat, rot)]
            print("| %s | %.4f | %.4f | %.4f |" % (os.path.basename(clip), *r))


if __name__ == "__main__":
    main()
