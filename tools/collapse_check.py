#!/usr/bin/env python3
"""collapse_check.py - does unconditional generation fall into steady noise?

A babbling speech model can get stuck: after a few seconds its samples settle
into a steady band of noise (the radio noise some training clips carry) and
never leave it. Speech is never steady: its loudness rises and falls with the
syllables, several times a second. This tool generates several samples per
setting and measures, in every second of each, the spread of the loudness of
its 32 ms frames (the standard deviation of their level in dB). A second whose
spread is under --steady dB (default 3) is steady; a sample has collapsed at
the first second from which every later second is steady. Clean speech
spreads 5 - 20 dB a second (morig, hts1a, vk5qi; --check WAV prints a file's),
a stuck sample about 1 - 2, and so do two training clips of speech under
strong radio noise (david4, vk2tpm_004): the noise a stuck model makes.

    python3 tools/collapse_check.py [-m MODEL] [--seeds 8] [--seconds 6]
        [--setting "--temperature 1.0"] [--setting "--temperature 0.9 --top-p 0.95"] ...
        [--each-speaker]

--each-speaker (a speaker model): every setting once per voice the model
lists, "--speaker NAME" put before it; with no --setting, each voice at the
defaults (temperature 1.0).

Prints a Markdown table: per setting, how many samples collapsed and when,
and the median spread and level of the last second (a level near 0 dB is
digital silence, about 40 - 60 dB speech or noise at a speech-like level). Standard library only; WAVENET
picks the binary (default build/wavenet).
"""
import argparse
import json
import math
import os
import shlex
import statistics
import sys
import tempfile
import wave

from wnrun import run


def spreads(path, frame_ms=32, levels_out=None):
    """per second of the file: the standard deviation of its frames' level (dB);
    levels_out, if a list, gets each second's mean level (dB re 1 LSB)"""
    with wave.open(path, "rb") as w:
        rate, n = w.getframerate(), w.getnframes()
        raw = w.readframes(n)
    x = [int.from_bytes(raw[2 * i:2 * i + 2], "little", signed=True) for i in range(n)]
    fl = rate * frame_ms // 1000
    levels = []
    for i in range(0, n - fl + 1, fl):
        e = sum(v * v for v in x[i:i + fl]) / fl
        levels.append(10 * math.log10(e + 1.0))  # +1: digital silence is 0 dB
    per_s = 1000 // frame_ms
    if levels_out is not None:
        levels_out += [statistics.fmean(levels[i:i + per_s])
                       for i in range(0, len(levels) - per_s + 1, per_s)]
    return [statistics.pstdev(levels[i:i + per_s])
            for i in range(0, len(levels) - per_s + 1, per_s)]


def collapse_second(sp, steady):
    """the first second from which every second is steady, or None"""
    k = None
    for i in range(len(sp) - 1, -1, -1):
        if sp[i] < steady:
            k = i
        else:
            break
    return k


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-m", "--model", default=None)
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--steady", type=float, default=3.0)
    ap.add_argument("--setting", action="append", default=None,
                    help="generate options of one setting (repeatable)")
    ap.add_argument("--check", metavar="WAV", help="print a recording's spreads and exit")
    ap.add_argument("--each-speaker", action="store_true",
                    help="each setting once per speaker of the model")
    a = ap.parse_args()
    if a.check:
        print(" ".join(f"{s:.1f}" for s in spreads(a.check)))
        return
    wavenet = os.environ.get("WAVENET", "build/wavenet")
    settings = a.setting or ["--temperature 1.0", "--temperature 0.9"]
    if a.each_speaker:
        info = run([wavenet, "info", "--json"] + (["-m", a.model] if a.model else []))
        names = json.loads(info).get("speaker_names") or []
        if not names:
            sys.exit("collapse_check.py: --each-speaker: the model has no speakers")
        settings = [f"--speaker {shlex.quote(n)} {st}".strip()
                    for n in names for st in (a.setting or [""])]
    print(f"| setting | collapsed (of {a.seeds}) | at second | last second: spread, median (dB) "
          f"| last second: level, median (dB) |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for st in settings:
            when, last, level = [], [], []
            for seed in range(1, a.seeds + 1):
                out = os.path.join(tmp, "s.wav")
                cmd = [wavenet, "generate", "--seconds", str(a.seconds), "--seed", str(seed),
                       "-o", out] + shlex.split(st)
                if a.model:
                    cmd += ["-m", a.model]
                run(cmd)
                lv = []
                sp = spreads(out, levels_out=lv)
                level.append(lv[-1])
                k = collapse_second(sp, a.steady)
                if k is not None:
                    when.append(k)
                last.append(sp[-1])
            at = ", ".join(str(k) for k in sorted(when)) or "-"
            print(f"| `{st}` | {len(when)} | {at} | {statistics.median(last):.1f} "
                  f"| {statistics.median(level):.0f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
