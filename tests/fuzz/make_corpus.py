#!/usr/bin/env python3
"""make_corpus.py - regenerate the fuzzers' seed corpora (stdlib only).

    python3 tests/fuzz/make_corpus.py BUILD/wavenet

corpus_model/: real files written by `wavenet init` and `wavenet train` (a
tiny model and a checkpoint), then one broken variant per check the loader
makes (docs/FORMAT.md). corpus_audio/: small WAVs of every sample format,
other containers written by sox (when installed), and broken headers.
Every file is a few KB. Files named regress-* are inputs that once crashed
or exhausted memory; they are kept by hand and never overwritten here.
Regenerating is not byte-for-byte reproducible (a checkpoint records its
training time), so rerun it only when the format changes.
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
MODEL_DIR = os.path.join(HERE, "corpus_model")
AUDIO_DIR = os.path.join(HERE, "corpus_audio")


# ------------------------------------------------------------ safetensors

def st_read(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def st_bytes(header, data, raw_header=None):
    s = raw_header if raw_header is not None else json.dumps(
        header, separators=(",", ":")).encode()
    s += b" " * ((8 - len(s) % 8) % 8)
    return struct.pack("<Q", len(s)) + s + data


def with_crc(header, data):
    h = json.loads(json.dumps(header))
    h.setdefault("__metadata__", {})["crc32"] = str(zlib.crc32(data))
    return h


def no_crc(header):
    h = json.loads(json.dumps(header))
    h.get("__metadata__", {}).pop("crc32", None)
    return h


def tensors(header):
    return [k for k in header if k != "__metadata__"]


def model_corpus(wavenet):
    tmp = tempfile.mkdtemp(prefix="wn-corpus-")
    try:
        # relative paths: the checkpoint's file lists do not depend on tmp
        wavenet = os.path.abspath(wavenet)
        model, clip, ckpt = "m.safetensors", "clip.wav", "c.ckpt"
        subprocess.run([wavenet, "init", "-o", model, "--bins", "4", "--layers", "2",
                        "--stack", "2", "--residual", "2", "--dilation", "2", "--skip", "2",
                        "--seed", "1"], check=True, stderr=subprocess.DEVNULL, cwd=tmp)
        write_wav(os.path.join(tmp, clip), 8000, 1, 1,
                  [int(8000 * math.sin(i * 0.05)) for i in range(600)])
        subprocess.run([wavenet, "train", "-m", model, "-o", "best.st",
                        "--train", clip, "--valid", clip, "--steps", "2", "--batch", "1",
                        "--window", "16", "--checkpoint", ckpt, "--threads", "1",
                        "--valid-every", "1"], cwd=tmp,
                       check=True, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        # conditional models (format version 2): a vocoder with speakers and
        # the frames conv, and a model of speakers alone
        small = ["--bins", "4", "--layers", "2", "--stack", "2", "--residual", "2",
                 "--dilation", "2", "--skip", "2", "--seed", "1"]
        for name, extra in (("voc.st", ["--condition", "mel", "--mels", "3", "--hop", "16",
                                        "--upsample-pre", "--speaker-names", "a,b"]),
                            ("spk.st", ["--speaker-names", "a,b"])):
            subprocess.run([wavenet, "init", "-o", name] + small + extra, check=True,
                           stderr=subprocess.DEVNULL, cwd=tmp)
        cond = {"valid-vocoder.safetensors": open(os.path.join(tmp, "voc.st"), "rb").read(),
                "valid-speakers.safetensors": open(os.path.join(tmp, "spk.st"), "rb").read()}
        model, ckpt = os.path.join(tmp, model), os.path.join(tmp, ckpt)
        h, data = st_read(model)
        ch, cdata = st_read(ckpt)
    finally:
        shutil.rmtree(tmp)

    files = dict(cond)
    files["valid-tiny.safetensors"] = st_bytes(h, data)
    files["valid-tiny-nocrc.safetensors"] = st_bytes(no_crc(h), data)
    files["valid-checkpoint.safetensors"] = st_bytes(ch, cdata)
    files["valid-checkpoint-nocrc.safetensors"] = st_bytes(no_crc(ch), cdata)
    hn = no_crc(h)
    first = tensors(h)[0]
    b0 = h[first]["data_offsets"][0]

    def put_float(d, i, v):
        d = bytearray(d)
        d[b0 + 4 * i:b0 + 4 * i + 4] = struct.pack("<f", v)
        return bytes(d)

    files["nan-weight.safetensors"] = st_bytes(with_crc(hn, put_float(data, 3, math.nan)),
                                              put_float(data, 3, math.nan))
    files["inf-weight.safetensors"] = st_bytes(hn, put_float(data, 1, math.inf))
    files["bad-crc.safetensors"] = st_bytes(h, put_float(data, 0, 0.5))
    full = st_bytes(h, data)
    files["truncated-data.safetensors"] = full[:len(full) - 10]
    files["truncated-header.safetensors"] = full[:40]
    files["empty.safetensors"] = b""
    files["seven-bytes.safetensors"] = b"\x10\x00\x00\x00\x00\x00\x00"
    files["zero-length-header.safetensors"] = b"\0" * 8
    files["header-length-2e63.safetensors"] = struct.pack("<Q", 1 << 63) + b"{}      "

    def variant(name, fn, data_=data, crc=False):
        x = json.loads(json.dumps(hn))
        fn(x)
        files[name] = st_bytes(with_crc(x, data_) if crc else x, data_)

    variant("shape-2e40-elements.safetensors",
            lambda x: x[first].update(shape=[1 << 20, 1 << 20]))
    variant("shape-overflow.safetensors",
            lambda x: x[first].update(shape=[1 << 62, 1 << 62, 16]))
    variant("shape-negative.safetensors", lambda x: x[first].update(shape=[-1, 2, 2]))
    variant("shape-9-dims.safetensors", lambda x: x[first].update(shape=[1] * 9))
    variant("shape-not-ints.safetensors", lambda x: x[first].update(shape=["2", 2.5, None]))
    variant("offsets-negative.safetensors",
            lambda x: x[first].update(data_offsets=[-8, 8]))
    variant("offsets-reversed.safetensors",
            lambda x: x[first].update(data_offsets=[16, 0]))
    variant("offsets-outside.safetensors",
            lambda x: x[first].update(data_offsets=[0, 1 << 40]))
    variant("offsets-three.safetensors",
            lambda x: x[first].update(data_offsets=[0, 4, 8]))
    second = tensors(h)[1]
    variant("overlap.safetensors",
            lambda x: x[second].update(data_offsets=[0, x[second]["data_offsets"][1] -
                                                     x[second]["data_offsets"][0]]))
    variant("dtype-f16.safetensors", lambda x: x[first].update(dtype="F16"))
    variant("dtype-unknown.safetensors", lambda x: x[first].update(dtype="F8_E4M3X"))
    variant("dtype-not-string.safetensors", lambda x: x[first].update(dtype=32))
    variant("tensor-missing.safetensors", lambda x: x.pop(tensors(h)[-1]))
    variant("tensor-extra.safetensors",
            lambda x: x.update({"extra.weight": {"dtype": "F32", "shape": [0],
                                                 "data_offsets": [len(data), len(data)]}}))
    variant("tensor-empty-overlapping.safetensors",
            lambda x: x.update({"opt.empty": {"dtype": "F32", "shape": [0],
                                              "data_offsets": [4, 4]}}))
    variant("tensor-not-object.safetensors", lambda x: x.update({first: [1, 2, 3]}))
    variant("tensor-wrong-shape.safetensors",  # same size, flattened
            lambda x: x[first].update(shape=[math.prod(x[first]["shape"])]))
    variant("meta-not-object.safetensors", lambda x: x.update(__metadata__=["format"]))
    variant("meta-not-string.safetensors", lambda x: x["__metadata__"].update(bins=4))
    variant("meta-version-2.safetensors", lambda x: x["__metadata__"].update(version="2"))
    variant("meta-format-other.safetensors",
            lambda x: x["__metadata__"].update(format="pytorch"))
    variant("meta-bins-text.safetensors", lambda x: x["__metadata__"].update(bins="four"))
    variant("meta-bins-huge.safetensors",
            lambda x: x["__metadata__"].update(bins="99999999999999999999"))
    variant("meta-layers-zero.safetensors", lambda x: x["__metadata__"].update(layers="0"))
    variant("meta-cond.safetensors", lambda x: x["__metadata__"].update(cond="3"))
    variant("meta-crc-text.safetensors", lambda x: x["__metadata__"].update(crc32="abc"))
    variant("meta-missing-skip.safetensors", lambda x: x["__metadata__"].pop("skip"))
    # a config far larger than the data it comes with (must not allocate for it)
    variant("config-larger-than-file.safetensors",
            lambda x: x["__metadata__"].update(residual="64", dilation="64", skip="64"))
    # ... and one that would need 2 x 7 GiB (a 14 GiB RSS bug, found by this fuzzer)
    variant("config-14gib.safetensors",
            lambda x: x["__metadata__"].update(layers="18", residual="4096",
                                               dilation="4096", skip="4096"))
    files["header-not-json.safetensors"] = st_bytes(None, b"", raw_header=b"{not json at all")
    files["header-array.safetensors"] = st_bytes(None, b"", raw_header=b"[1,2,3]")
    files["header-nul.safetensors"] = st_bytes(None, b"", raw_header=b'{"a\0b":1}')
    files["header-duplicate-keys.safetensors"] = st_bytes(
        None, data, raw_header=json.dumps(hn, separators=(",", ":")).encode()[:-1] +
        b',"' + first.encode() + b'":' + json.dumps(hn[first]).encode() + b"}")
    files["header-deep-nesting.safetensors"] = st_bytes(
        None, b"", raw_header=b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}")
    many = {"__metadata__": hn["__metadata__"]}
    many.update({"opt.%d" % i: {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}
                 for i in range(300)})
    many.update({k: v for k, v in hn.items() if k != "__metadata__"})
    files["many-tensors.safetensors"] = st_bytes(many, data)

    # checkpoint metadata the checkpoint reader parses
    cn = no_crc(ch)

    def cvariant(name, **kv):
        x = json.loads(json.dumps(cn))
        for k, v in kv.items():
            if v is None:
                x["__metadata__"].pop(k, None)
            else:
                x["__metadata__"][k] = v
        files[name] = st_bytes(x, cdata)

    cvariant("ckpt-files-not-list.safetensors", train_files='{"a":1}')
    cvariant("ckpt-files-not-strings.safetensors", train_files="[1,2,null]")
    cvariant("ckpt-files-bad-json.safetensors", valid_files="[\"a\",")
    cvariant("ckpt-batch-negative.safetensors", batch="-1")
    cvariant("ckpt-batch-huge.safetensors", batch="99999999999")
    cvariant("ckpt-lr-nan.safetensors", lr="nan")
    cvariant("ckpt-decay-bogus.safetensors", decay="sawtooth:3")
    cvariant("ckpt-optimizer-bogus.safetensors", optimizer="lbfgs")
    cvariant("ckpt-version-9.safetensors", train_checkpoint="9")
    cvariant("ckpt-steps-missing.safetensors", steps=None)
    return files


# ------------------------------------------------------------ audio

def riff(chunks, form=b"WAVE", magic=b"RIFF", big=False, size=None):
    body = b"".join(chunks)
    fmt = ">I" if big else "<I"
    return magic + struct.pack(fmt, size if size is not None else 4 + len(body)) + form + body


def chunk(cid, payload, big=False, size=None):
    fmt = ">I" if big else "<I"
    pad = b"\0" if len(payload) % 2 else b""
    return cid + struct.pack(fmt, size if size is not None else len(payload)) + payload + pad


def fmt_chunk(tag, ch, rate, bits, big=False, extra=b""):
    e = ">" if big else "<"
    align = ch * ((bits + 7) // 8)
    p = struct.pack(e + "HHIIHH", tag, ch, rate, (rate * align) & 0xFFFFFFFF, align & 0xFFFF, bits)
    if extra:
        p += struct.pack(e + "H", len(extra)) + extra
    return chunk(b"fmt ", p, big)


def pcm16(samples, big=False):
    return struct.pack((">" if big else "<") + "%dh" % len(samples), *samples)


def wav_bytes(rate, ch, tag, bits, payload, data_size=None, big=False, extra=b""):
    return riff([fmt_chunk(tag, ch, rate, bits, big, extra),
                 chunk(b"data", payload, big, data_size)],
                magic=b"RIFX" if big else b"RIFF", big=big)


def write_wav(path, rate, ch, tag, samples):
    open(path, "wb").write(wav_bytes(rate, ch, tag, 16, pcm16(samples)))


def audio_corpus():
    files = {}
    sine = [int(12000 * math.sin(i * 2 * math.pi * 440 / 8000)) for i in range(400)]
    files["pcm16-mono-8k.wav"] = wav_bytes(8000, 1, 1, 16, pcm16(sine))
    files["pcm16-stereo-16k.wav"] = wav_bytes(16000, 2, 1, 16, pcm16(sine))
    files["pcm16-mono-48k.wav"] = wav_bytes(48000, 1, 1, 16, pcm16(sine[:300]))
    files["pcm8-unsigned.wav"] = wav_bytes(8000, 1, 1, 8, bytes((s >> 8) + 128 for s in sine))
    files["pcm24.wav"] = wav_bytes(8000, 1, 1, 24, b"".join(
        struct.pack("<i", s << 8)[1:] for s in sine[:200]))
    files["pcm32.wav"] = wav_bytes(8000, 1, 1, 32, struct.pack("<200i",
                                                               *[s << 16 for s in sine[:200]]))
    fl = [s / 32768 for s in sine[:200]]
    files["float32.wav"] = wav_bytes(8000, 1, 3, 32, struct.pack("<200f", *fl))
    files["float64.wav"] = wav_bytes(8000, 1, 3, 64, struct.pack("<100d", *fl[:100]))
    files["float32-loud.wav"] = wav_bytes(8000, 1, 3, 32, struct.pack("<4f", 1e30, -1e30, 2, -3))
    files["float32-nan.wav"] = wav_bytes(8000, 1, 3, 32,
                                         struct.pack("<8f", 0, .1, .2, .3, .4, math.nan, 0, 0))
    files["float32-inf.wav"] = wav_bytes(8000, 1, 3, 32, struct.pack("<4f", 0, 0, -math.inf, 0))
    files["float32-stereo-nan.wav"] = wav_bytes(8000, 2, 3, 32,
                                                struct.pack("<6f", 0, 0, 0, math.nan, 0, 0))
    files["float64-inf.wav"] = wav_bytes(8000, 1, 3, 64, struct.pack("<3d", 0, math.inf, 0))
    files["mulaw.wav"] = wav_bytes(8000, 1, 7, 8, bytes(range(0, 256, 2)))
    files["alaw.wav"] = wav_bytes(8000, 1, 6, 8, bytes(range(1, 256, 2)))
    sub_pcm = struct.pack("<HI", 16, 4) + bytes.fromhex("0100000000001000800000aa00389b71")
    files["wavex-pcm16.wav"] = wav_bytes(8000, 1, 0xFFFE, 16, pcm16(sine[:100]),
                                         extra=sub_pcm)
    files["rifx-pcm16.wav"] = wav_bytes(8000, 1, 1, 16, pcm16(sine[:100], True), big=True)
    files["truncated-claims-more.wav"] = wav_bytes(8000, 1, 1, 16, pcm16(sine[:100]),
                                                   data_size=1000000)
    files["truncated-cut.wav"] = files["pcm16-mono-8k.wav"][:300]
    files["data-size-unknown.wav"] = wav_bytes(8000, 1, 1, 16, pcm16(sine[:100]),
                                               data_size=0xFFFFFFFF)
    files["data-size-zero.wav"] = wav_bytes(8000, 1, 1, 16, b"", data_size=0)
    files["zero-frames.wav"] = wav_bytes(8000, 1, 1, 16, b"")
    files["channels-zero.wav"] = wav_bytes(8000, 0, 1, 16, pcm16(sine[:100]))
    files["channels-65535.wav"] = wav_bytes(8000, 65535, 1, 16, pcm16(sine[:100]))
    files["channels-1025.wav"] = wav_bytes(8000, 1025, 1, 16, pcm16(sine[:1025]))
    files["rate-zero.wav"] = wav_bytes(0, 1, 1, 16, pcm16(sine[:100]))
    files["rate-huge.wav"] = wav_bytes(0x7FFFFFFF, 1, 1, 16, pcm16(sine[:100]))
    files["rate-1hz.wav"] = wav_bytes(1, 1, 1, 16, pcm16(sine[:100]))
    files["bits-zero.wav"] = wav_bytes(8000, 1, 1, 0, pcm16(sine[:100]))
    files["format-tag-unknown.wav"] = wav_bytes(8000, 1, 0x1234, 16, pcm16(sine[:100]))
    files["chunk-size-huge.wav"] = riff([chunk(b"LIST", b"x" * 10, size=0xFFFFFFF0),
                                         fmt_chunk(1, 1, 8000, 16),
                                         chunk(b"data", pcm16(sine[:100]))])
    files["riff-only.wav"] = b"RIFF\x04\x00\x00\x00WAVE"
    files["no-data-chunk.wav"] = riff([fmt_chunk(1, 1, 8000, 16)])
    rf64 = (b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" +
            chunk(b"ds64", struct.pack("<QQQI", 1 << 41, 1 << 40, 1 << 40, 0)) +
            fmt_chunk(1, 1, 8000, 16) + chunk(b"data", pcm16(sine[:100]), size=0xFFFFFFFF))
    files["rf64-claims-2e40.wav"] = rf64
    # AIFF: COMM claims more frames than SSND holds
    def ext80(v):
        e = int(math.floor(math.log2(v)))
        return struct.pack(">HQ", 16383 + e, int(v / 2 ** e * (1 << 63)))
    comm = chunk(b"COMM", struct.pack(">hIh", 1, 100000, 16) + ext80(8000), big=True)
    ssnd = chunk(b"SSND", struct.pack(">II", 0, 0) + pcm16(sine[:100], True), big=True)
    files["aiff-comm-claims-more.aiff"] = riff([comm, ssnd], form=b"AIFF", magic=b"FORM",
                                               big=True)
    au = b".snd" + struct.pack(">IIIII", 24, 1 << 30, 3, 8000, 1) + pcm16(sine[:100], True)
    files["au-claims-more.au"] = au
    files["au-valid.au"] = b".snd" + struct.pack(">IIIII", 24, 200, 3, 8000, 1) + pcm16(
        sine[:100], True)
    files["text.wav"] = b"this is not audio\n"
    files["empty.wav"] = b""
    files["one-byte.raw"] = b"\x01"
    files["odd-bytes.raw"] = pcm16(sine[:50]) + b"\x07"

    # other containers and codecs, written by sox if it is installed
    if shutil.which("sox"):
        tmp = tempfile.mkdtemp(prefix="wn-corpus-")
        try:
            src = os.path.join(tmp, "src.wav")
            open(src, "wb").write(files["pcm16-mono-8k.wav"])
            for name, args in [("sox.aiff", []), ("sox-float.aifc", ["-e", "floating-point"]),
                               ("sox.au", []), ("sox.flac", []), ("sox.w64", []),
                               ("sox.caf", []), ("sox.voc", []), ("sox.sph", []),
                               ("sox.ogg", ["-C", "-1"]), ("sox-ulaw.wav", ["-e", "u-law"]),
                               ("sox-adpcm.wav", ["-e", "ima-adpcm"]),
                               ("sox-gsm.wav", ["-e", "gsm-full-rate"])]:
                dst = os.path.join(tmp, name)
                r = subprocess.run(["sox", src] + args + [dst], stderr=subprocess.DEVNULL)
                if r.returncode == 0 and os.path.getsize(dst) < 8192:
                    files[name] = open(dst, "rb").read()
        finally:
            shutil.rmtree(tmp)
    return files


def write_all(directory, files):
    os.makedirs(directory, exist_ok=True)
    for f in os.listdir(directory):
        if not f.startswith("regress-"):
            os.remove(os.path.join(directory, f))
    for name, data in sorted(files.items()):
        open(os.path.join(directory, name), "wb").write(data)
    print("%s: %d files, %d bytes" % (directory, len(files), sum(map(len, files.values()))))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_corpus.py BUILD/wavenet")
    write_all(MODEL_DIR, model_corpus(sys.argv[1]))
    write_all(AUDIO_DIR, audio_corpus())


if __name__ == "__main__":
    main()
