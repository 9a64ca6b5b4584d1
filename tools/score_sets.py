#!/usr/bin/env python3
"""score_sets.py - a model's bits/sample on a list, in all and per set, as the
cards in models/README.md give them: `wavenet score --json` over the list,
its clips' NLL and samples summed per set (a set: the clips under one of
the --set folders; default /usr/share/codec2 and /usr/share/klettres).

    python3 tools/score_sets.py MODEL LIST [--speaker NAME] [--threads N]
                                [--set NAME=FOLDER ...]

A conditional model is scored given each clip's own features (`wavenet
score` computes them). Prints a Markdown table. Standard library only;
WAVENET picks the binary (default build/wavenet).
"""
import argparse
import json
import math
import os
import sys

from wnrun import run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("list")
    ap.add_argument("--speaker")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--set", action="append", default=[],
                    help="NAME=FOLDER (repeatable; default codec2 and klettres)")
    a = ap.parse_args()
    sets = [s.split("=", 1) for s in a.set] or [["codec2", "/usr/share/codec2"],
                                                  ["klettres", "/usr/share/klettres"]]
    cmd = [os.environ.get("WAVENET", "build/wavenet"), "score", "-m", a.model, "--json",
           "--threads", str(a.threads), "--list", a.list]
    if a.speaker:
        cmd += ["--speaker", a.speaker]
    out = run(cmd)
    tot = {name: [0.0, 0, 0] for name, _ in sets + [["all", ""]]}
    for line in out.splitlines():
        o = json.loads(line)
        if "file" not in o:  # the total line
            continue
        for name, folder in sets + [["all", ""]]:
            if o["file"].startswith(folder.rstrip("/") + "/") or name == "all":
                t = tot[name]
                t[0] += o["nll_nats"]
                t[1] += o["samples"]
                t[2] += 1
    print("| set | clips | samples | bits/sample |")
    print("| --- | --- | --- | --- |")
    for name, (nats, n, k) in tot.items():
        if n:
            print(f"| {name} | {k} | {n:,} | {nats / n / math.log(2):.4f} |")
    if not tot["all"][1]:
        sys.exit("score_sets: no clip scored")


if __name__ == "__main__":
    main()
