#!/usr/bin/env python3
"""average_models.py - one model whose every weight is the mean of that
weight in several models or training checkpoints of one network (the
checkpoints a run kept late in its schedule): a cheap way to a model a
little better than any one of them, as an exponential moving average of
the weights would give.

    python3 tools/average_models.py -o OUT.safetensors IN...

Every input must have the same tensors (names and shapes) and the same
network and conditioning metadata; the optimizer's moments of a checkpoint
(`opt.*`) are left out. OUT gets the first input's network and conditioning
metadata, `steps` the largest input's and `averaged_steps` each input's
(docs/FORMAT.md), a fresh `crc32`, and is written to a temporary name and
renamed. Judge the result as any model, by `wavenet score` on held-out
clips. Standard library only.
"""
import argparse
import array
import json
import os
import struct
import sys
import zlib

# what a model file's metadata says about its network (docs/FORMAT.md);
# the rest of a checkpoint's (its run's settings and state) is left out
MODEL_KEYS = ("format version sample_rate bins layers stack residual dilation skip "
              "cond hop upsample_pre cond_channels upsample_strides features mel_fft "
              "mel_window mel_fmin mel_fmax mel_scale mel_norm mel_floor feature_mean "
              "feature_std speakers speaker_dim speaker_names").split()


def load(path):
    """(metadata, {name: (shape, array of float)}) of a safetensors file"""
    try:
        with open(path, "rb") as f:
            b = f.read()
        n = struct.unpack("<Q", b[:8])[0]
        head = json.loads(b[8:8 + n])
    except (OSError, ValueError, struct.error) as e:
        sys.exit(f"average_models: {path}: not a readable model ({e})")
    meta = head.pop("__metadata__", {})
    if meta.get("format") != "wavenet":
        sys.exit(f"average_models: {path}: not a wavenet model")
    t = {}
    for name, d in head.items():
        if name.startswith("opt."):
            continue
        if d.get("dtype") != "F32":
            sys.exit(f"average_models: {path}: {name} is not float32")
        lo, hi = d["data_offsets"]
        count = 1
        for d_ in d["shape"]:
            count *= d_
        raw = b[8 + n + lo:8 + n + hi]
        if hi - lo != 4 * count or len(raw) != 4 * count:
            sys.exit(f"average_models: {path}: {name} is cut short or mis-sized")
        a = array.array("f")
        a.frombytes(raw)
        if sys.byteorder != "little":
            a.byteswap()
        t[name] = (d["shape"], a)
    return meta, t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    if a.output in a.inputs:
        sys.exit("average_models: the output is one of the inputs")
    meta0, t0 = load(a.inputs[0])
    sums = {k: [float(x) for x in v[1]] for k, v in t0.items()}
    steps = [meta0.get("steps", "?")]
    for p in a.inputs[1:]:
        meta, t = load(p)
        for k in MODEL_KEYS:
            if meta.get(k) != meta0.get(k):
                sys.exit(f"average_models: {p}: {k} is {meta.get(k)!r}, "
                         f"{a.inputs[0]} has {meta0.get(k)!r}")
        if {k: v[0] for k, v in t.items()} != {k: v[0] for k, v in t0.items()}:
            sys.exit(f"average_models: {p}: other tensors than {a.inputs[0]}")
        for k, (_, v) in t.items():
            s = sums[k]
            for i, x in enumerate(v):
                s[i] += x
        steps.append(meta.get("steps", "?"))
    out_meta = {k: meta0[k] for k in MODEL_KEYS if k in meta0}
    known = [int(s) for s in steps if s.isdigit()]
    if known:
        out_meta["steps"] = str(max(known))
    out_meta["averaged_steps"] = ",".join(steps)
    head, data, off = {}, bytearray(), 0
    for k, (shape, _) in t0.items():
        v = array.array("f", (x / len(a.inputs) for x in sums[k]))
        if sys.byteorder != "little":
            v.byteswap()
        b = v.tobytes()
        head[k] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(b)]}
        off += len(b)
        data += b
    out_meta["crc32"] = str(zlib.crc32(data))
    head["__metadata__"] = out_meta
    h = json.dumps(head, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    tmp = a.output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    os.replace(tmp, a.output)
    print(f"average_models: wrote {a.output}, the mean of {len(a.inputs)} models "
          f"(steps {out_meta['averaged_steps']})", file=sys.stderr)


if __name__ == "__main__":
    main()
