"""logmel.py - the log-mel features of wavenet's vocoders in numpy/torch,
shared by tools/griffin_lim.py and tools/mel_distance.py (not a command).

The recipe is a conditional model's (docs/FORMAT.md, "Conditional models":
mel_fft, hop, cond bands, mel_fmin/fmax, mel_scale, mel_norm, mel_floor,
sample_rate) or the `wavenet mel` defaults: 8 kHz, fft 256, hop 64, 80
Slaney bands from 0 to half the rate, area-normalised, floor 1e-10. The
features are wn_logmel's, computed as docs/CLI.md's "Features from Python"
snippet computes them (float64): ln(max(mel power, floor)) of centred,
zero-padded, periodic-Hann frames, scaled so that a full-scale sine has
power 1.
"""
import os

import numpy as np
import torch
import torchaudio
import torchaudio.functional as AF

from wnrun import model_meta

DEFAULTS = dict(rate=8000, fft=256, hop=64, mels=80, fmin=0.0, fmax=0.0, scale="slaney",
                norm="slaney", floor=1e-10)


def recipe(model=None, **over):
    """A model's feature recipe (a dict of DEFAULTS' keys), or the
    defaults; keyword arguments that are not None override it."""
    r = dict(DEFAULTS)
    if model:
        m = model_meta(model)
        if not int(m.get("cond", 0) or 0):
            raise ValueError(f"{model}: not a mel-conditioned model (no 'cond' in its "
                             f"metadata): give no -m for the default recipe")
        r.update(rate=int(m.get("sample_rate", 8000)), fft=int(m.get("mel_fft", 0) or 0),
                 hop=int(m["hop"]), mels=int(m["cond"]), fmin=float(m.get("mel_fmin", 0)),
                 fmax=float(m.get("mel_fmax", 0)), scale=m.get("mel_scale", "slaney"),
                 norm=m.get("mel_norm", "slaney"), floor=float(m.get("mel_floor", 1e-10)))
        if not r["fft"]:  # wn__cond_default_fft: the smallest power of 2 >= 3 hop
            f = 8
            while f < 3 * r["hop"]:
                f *= 2
            r["fft"] = f
    r.update({k: v for k, v in over.items() if v is not None})
    if not r["fmax"] > 0:
        r["fmax"] = r["rate"] / 2
    return r


def describe(r):
    return (f"{r['rate']} Hz, fft {r['fft']}, hop {r['hop']}, {r['mels']} "
            f"{'HTK' if r['scale'] == 'htk' else 'Slaney'} bands {r['fmin']:g}-{r['fmax']:g} Hz")


def read_audio(path, rate):
    """Mono float64 samples at `rate` (torchaudio reads the file; a .raw
    file is 16-bit little-endian mono at `rate`, as `wavenet` reads it;
    other rates are resampled with torchaudio's resampler, not the
    libsamplerate of `wavenet`, so features then differ slightly)."""
    if path.lower().endswith(".raw"):
        x = torch.from_numpy(np.fromfile(path, dtype="<i2").astype(np.float64) / 32768.0)
        return x
    x, r = torchaudio.load(path)
    x = x.to(torch.float64).mean(0)
    if r != rate:
        x = AF.resample(x, r, rate)
    return x


def filters(r):
    """(fft/2+1, mels) float64: torchaudio's mel filters of the recipe."""
    return AF.melscale_fbanks(r["fft"] // 2 + 1, r["fmin"], r["fmax"], r["mels"], r["rate"],
                              norm="slaney" if r["norm"] == "slaney" else None,
                              mel_scale=r["scale"]).to(torch.float64)


def window(r):
    return torch.hann_window(r["fft"], periodic=True, dtype=torch.float64)


def power_scale(r):
    """The factor on |STFT|^2 that gives a full-scale sine power 1."""
    return (2.0 / window(r).sum().item()) ** 2


def mel_power(x, r, model_frames=False):
    """(frames, mels) float64 mel power of samples x. model_frames: the
    frames a conditional model conditions len(x) samples on, (n + hop/2) /
    hop + 1 (x padded with hop/2 zeros, as `wavenet mel -m` does); else
    n / hop + 1, as `wavenet mel` without a model."""
    x = torch.as_tensor(x, dtype=torch.float64)
    if model_frames:
        x = torch.nn.functional.pad(x, (0, r["hop"] // 2))
    X = torch.stft(x, r["fft"], r["hop"], window=window(r), center=True, pad_mode="constant",
                   return_complex=True)
    power = X.abs() ** 2 * power_scale(r)                       # (bins, frames)
    return (filters(r).T @ power).T


def logmel(x, r, model_frames=False):
    """(frames, mels) float64: ln(max(mel power, floor))."""
    return torch.log(torch.clamp(mel_power(x, r, model_frames), min=r["floor"]))


def load_features(path, r):
    """A features file (.npy, frames x bands, raw log-mels as `wavenet mel`
    writes them) as float64 (frames, mels)."""
    f = np.load(path)
    if f.ndim != 2 or f.shape[1] != r["mels"]:
        raise ValueError(f"{path}: shape {f.shape}, the recipe has {r['mels']} bands")
    return torch.from_numpy(f.astype(np.float64))


def write_wav(path, x, rate):
    """16-bit PCM WAV, samples clipped to [-1, 1]."""
    import wave
    pcm = np.clip(np.round(np.asarray(x, dtype=np.float64) * 32767), -32768, 32767)
    tmp = path + ".tmp"
    with wave.open(tmp, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype("<i2").tobytes())
    os.replace(tmp, path)
