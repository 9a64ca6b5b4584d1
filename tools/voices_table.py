#!/usr/bin/env python3
"""voices_table.py - does a speaker model know its voices? Scores every
speaker's held-out speech under every speaker name of the model and prints
the card's table: per speaker, bits/sample under its own name, the mean
under the other names, and the lowest other name.

    python3 tools/voices_table.py MODEL VALID_LIST [--wavenet BIN] [--threads N]
                                  [--matrix OUT.csv]

VALID_LIST has `path<TAB>speaker` lines ('#' comments), as
tools/voices_data.py writes them. Every figure is `wavenet score --speaker`
over the speaker's files (their total NLL over their total samples).
--matrix also writes the whole speaker x name table. Standard library only.
"""
import argparse
import json
import math
import sys

from wnrun import run


def read_list(path):
    files = {}
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        p, _, spk = line.partition("\t")
        if not spk:
            sys.exit(f"voices_table: {path}: '{line}' has no speaker column")
        files.setdefault(spk, []).append(p)
    return files


def speaker_names(wavenet, model):
    out = run([wavenet, "info", "-m", model, "--json"])
    return json.loads(out)["speaker_names"]


def score(wavenet, model, name, paths, threads):
    """total nats and samples of paths under speaker `name`"""
    out = run([wavenet, "score", "-m", model, "--speaker", name, "--json",
               "--threads", str(threads), "--"] + paths)
    nats = samples = 0
    for line in out.splitlines():
        o = json.loads(line)
        nats += o["nll_nats"]
        samples += o["samples"]
    return nats, samples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("valid_list")
    ap.add_argument("--wavenet", default="build/wavenet")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--matrix")
    a = ap.parse_args()
    files = read_list(a.valid_list)
    names = speaker_names(a.wavenet, a.model)
    unknown = sorted(set(files) - set(names))
    if unknown:
        sys.exit(f"voices_table: speakers not in the model: {', '.join(unknown)}")
    bits = {}  # (speaker, name) -> bits/sample
    seconds = {}
    rate = json.loads(run([a.wavenet, "info", "-m", a.model, "--json"]))["sample_rate"]
    for spk in sorted(files):
        for name in names:
            nats, n = score(a.wavenet, a.model, name, files[spk], a.threads)
            bits[spk, name] = nats / n / math.log(2)
            seconds[spk] = n / rate
        print(f"voices_table: {spk} done", file=sys.stderr)
    if a.matrix:
        with open(a.matrix, "w", encoding="utf-8") as f:
            f.write("speaker," + ",".join(names) + "\n")
            for spk in sorted(files):
                f.write(spk + "," + ",".join(f"{bits[spk, n]:.4f}" for n in names) + "\n")
    print("| speaker | held-out s | own name | other names, mean | lowest other | own lower by |")
    print("| --- | --- | --- | --- | --- | --- |")
    lower = 0
    for spk in sorted(files):
        own = bits[spk, spk]
        others = [(bits[spk, n], n) for n in names if n != spk]
        best = min(others)
        mean = sum(b for b, _ in others) / len(others)
        lower += own < best[0]
        print(f"| {spk} | {seconds[spk]:.1f} | {own:.3f} | {mean:.3f} | {best[0]:.3f} ({best[1]}) "
              f"| {best[0] - own:+.3f} |")
    print(f"\nown name lowest for {lower} of {len(files)} speakers")


if __name__ == "__main__":
    main()
