#!/usr/bin/env python3
"""voices_data.py - the speaker model's data (models/README.md, "voices"):
a speaker per klettres training language and per codec2 training speaker
with at least 10 s of speech, each with held-out speech of its own, so
that the card can score every speaker's held-out speech under its own name
and under another's.

    python3 tools/voices_data.py [OUT_DIR]        (default: data/voices)

Writes OUT_DIR/train.txt and OUT_DIR/valid.txt, list files of
`path<TAB>speaker` lines (as `wavenet train --train-list` reads them), and
the codec2 pieces they name under OUT_DIR/codec2/: each codec2 clip is cut
into its first 80% (training) and the rest (held out), at 8 kHz 16-bit.
klettres files are named where Debian installs them; every 8th file of a
language (sorted by name) is held out. Malayalam (ml) keeps its letters and
every 8th syllable, as the speech model's list does. The held-out languages
of the speech model (nl, ru, pt_BR) and the languages of neither list (id,
nn) are not used, nor codec2's 700d_end_over (a modem signal, not a voice).
Standard library only; the same bytes on every run.
"""
import os
import sys
import wave

KLETTRES = "/usr/share/klettres"
CODEC2 = "/usr/share/codec2"
LANGS = "ar cs da de en en_GB es fr he hu it lt ml nb nds tn uk".split()
# (file, speaker, format): raw = 16-bit LE mono 8 kHz. Not raw/700d_end_over.raw,
# in codec2's training list but no voice: 10 s of a FreeDV 700D modem signal
# (a steady 1.0 - 2.2 kHz band), then digital silence.
SPEAKERS = [
    ("raw/hts.raw", "hts", "raw"),
    ("wav/ve9qrp.wav", "ve9qrp", "wav"),
    ("wav/david4.wav", "david", "wav"),
    ("wav/vk2tpm_004.wav", "vk2tpm", "wav"),
    ("wav/vk5qi.wav", "vk5qi", "wav"),
    ("raw/speech_orig_16k.wav", "orig16k", "wav"),
]


def pcm16(path, fmt):
    """(rate, little-endian 16-bit mono frames) of a codec2 file"""
    if fmt == "raw":
        with open(path, "rb") as f:
            return 8000, f.read()
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise SystemExit(f"{path}: not 16-bit mono")
        return w.getframerate(), w.readframes(w.getnframes())


def write_wav(path, rate, frames):
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    os.replace(tmp, path)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "data/voices"
    os.makedirs(os.path.join(out, "codec2"), exist_ok=True)
    train, valid = [], []
    for path, name, fmt in SPEAKERS:
        rate, pcm = pcm16(os.path.join(CODEC2, path), fmt)
        n = len(pcm) // 2
        cut = n * 8 // 10
        for part, a, b, lst in (("train", 0, cut, train), ("valid", cut, n, valid)):
            dst = os.path.abspath(os.path.join(out, "codec2", f"{name}-{part}.wav"))
            write_wav(dst, rate, pcm[2 * a:2 * b])
            lst.append((dst, name))
    for lang in LANGS:
        files = []
        for sub in ("alpha", "syllab"):
            d = os.path.join(KLETTRES, lang, sub)
            if not os.path.isdir(d):
                continue
            names = sorted(f for f in os.listdir(d) if f.endswith(".ogg"))
            if lang == "ml" and sub == "syllab":
                names = names[::8]
            files += [os.path.join(d, f) for f in names]
        if not files:
            raise SystemExit(f"{KLETTRES}/{lang}: no .ogg files (apt-get install klettres-data)")
        for i, f in enumerate(files):
            (valid if i % 8 == 7 else train).append((f, "kl-" + lang))
    head = ("# {} clips of the speaker model (tools/voices_data.py): path<TAB>speaker\n")
    for name, lst in (("train.txt", train), ("valid.txt", valid)):
        with open(os.path.join(out, name), "w") as f:
            f.write(head.format(name[:-4]))
            for p, s in lst:
                f.write(f"{p}\t{s}\n")
    speakers = sorted({s for _, s in train})
    print(f"{out}: {len(train)} training and {len(valid)} held-out clips of "
          f"{len(speakers)} speakers: {' '.join(speakers)}")


if __name__ == "__main__":
    main()
