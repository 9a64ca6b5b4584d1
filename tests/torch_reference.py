#!/usr/bin/python3
"""torch_reference.py - an independent PyTorch reference of the wavenet
network (docs/FORMAT.md) that writes the fixtures tests/test_torch_ref.c
compares the C library against.

Run by hand (CI never has torch; it uses the committed fixtures):

    /usr/bin/python3 tests/torch_reference.py

writes
    tests/fixtures/torch_ref_model.safetensors  the model (FORMAT.md, F32)
    tests/fixtures/torch_ref_data.safetensors   the expected values:
        codes          I32 (n)          a random-walk code sequence x
        logits         F32 (n, Q)       logits[t] for x_t given x_<t, the past
                                        before x_0 being silence (code Q/2)
        train_codes    I32 (B, len)     training windows, len = RF + T
        loss           F64 (1)          wn_loss_grad's loss (mean CE, nats)
        grad.<name>    F32 (shape)      d(loss)/d(<name>) for every tensor
        adam1.<name>   F32 (shape)      <name> after one torch.optim.Adam step
                                        (lr 1e-3, betas 0.9/0.999, eps 1e-8)
                                        driven by the grad.* values above
    and in __metadata__ (strings): the config, n, batch, len, T, rf, lr;
    and the same for a conditional model (log-mel features through an
    upsampler, speakers: format version 2), main_cond() below:
    tests/fixtures/torch_cond_model.safetensors and torch_cond_data.safetensors.

The reference values are computed in float64 from the float32 weights stored
in the model file, so the C side and this side use bit-identical weights.
Before writing, the script checks itself: the zero-padded full pass against a
slow explicit loop of FORMAT.md's equations, and autograd against central
finite differences; it exits non-zero if either disagrees.
"""
import json
import os
import struct
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")

# A small config; D != R and S != R so that a transposed or mixed-up shape
# cannot go unnoticed.
Q, LAYERS, STACK, R, D, S = 256, 6, 3, 8, 6, 10
SAMPLE_RATE = 8000
N_LOGITS = 170        # logits fixture is N_LOGITS * Q floats: keeps it small
BATCH, T_TRAIN = 2, 40
LR, BETAS, EPS = 1e-3, (0.9, 0.999), 1e-8
SEED = 1234


class Layer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        self.dilated = nn.Conv1d(R, 2 * D, 2, dilation=d)
        self.res = nn.Conv1d(D, R, 1)
        self.skip = nn.Conv1d(D, S, 1)


class WaveNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.causal = nn.Conv1d(Q, R, 2)
        self.layers = nn.ModuleList(
            [Layer(2 ** (i % STACK)) for i in range(LAYERS)])
        # head.0 / head.1 without ReLU modules between them (those would
        # shift the state-dict indices); the ReLUs are applied in forward.
        self.head = nn.ModuleList([nn.Conv1d(S, S, 1), nn.Conv1d(S, Q, 1)])

    def receptive_field(self):
        return 2 + sum(l.d for l in self.layers)

    def forward(self, codes):
        """codes: (B, T) long -> logits (B, Q, T); output t sees inputs
        t-RF+1..t, zeros (not silence) before input 0."""
        x = F.one_hot(codes, Q).to(self.causal.weight.dtype).transpose(1, 2)
        h = self.causal(F.pad(x, (1, 0)))
        skip = 0
        for l in self.layers:
            a = l.dilated(F.pad(h, (l.d, 0)))
            z = torch.tanh(a[:, :D]) * torch.sigmoid(a[:, D:])
            skip = skip + l.skip(z)
            h = h + l.res(z)
        return self.head[1](F.relu(self.head[0](F.relu(skip))))


def make_model():
    torch.manual_seed(SEED)
    m = WaveNet()
    # Larger than PyTorch's default init so that the logits are far from
    # uniform, tanh/sigmoid work off their linear region and the ReLUs cut
    # a fair share of units.
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.startswith("causal.weight"):
                p.copy_(torch.randn_like(p) * 0.8)       # one-hot input
            elif name.endswith("weight"):
                fan_in = p.shape[1] * p.shape[2]
                gain = 1.6 if name.startswith("head") else 1.0
                p.copy_(torch.randn_like(p) * gain / fan_in ** 0.5)
            else:
                p.copy_(torch.randn_like(p) * 0.3)
    # float32 weights are the truth; the float64 model is cast from them
    return m.float()


def random_walk(rng, n, start=None):
    x = np.empty(n, dtype=np.int64)
    c = Q // 2 if start is None else start
    for i in range(n):
        c = int(np.clip(c + int(np.round(rng.normal(0, 7))), 0, Q - 1))
        x[i] = c
    return x


# ------------------------------------------------------------- safetensors

def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, numpy array) in file order. F32/F64/I32."""
    dtypes = {np.dtype("<f4"): "F32", np.dtype("<f8"): "F64",
              np.dtype("<i4"): "I32"}
    header, chunks, off = {}, [], 0
    for name, a in tensors:
        a = np.ascontiguousarray(a)
        dt = a.dtype.newbyteorder("<")
        raw = a.astype(dt).tobytes()
        header[name] = {"dtype": dtypes[dt], "shape": list(a.shape),
                        "data_offsets": [off, off + len(raw)]}
        chunks.append(raw)
        off += len(raw)
    data = b"".join(chunks)
    meta = {k: str(v) for k, v in metadata.items()}
    meta["crc32"] = str(zlib.crc32(data) & 0xFFFFFFFF)
    hjson = json.dumps({"__metadata__": meta, **header},
                       separators=(",", ":")).encode()
    hjson += b" " * (-len(hjson) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        f.write(data)
    os.replace(tmp, path)


def read_safetensors(path):
    """The numpy reader of FORMAT.md, extended to I32/F64."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    assert str(zlib.crc32(data)) == meta["crc32"]
    np_dt = {"F32": "<f4", "F64": "<f8", "I32": "<i4"}
    return meta, {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]],
                                   dtype=np_dt[v["dtype"]]).reshape(v["shape"])
                  for k, v in header.items()}


# ------------------------------------------------------------- self-checks

def slow_logits(m, inputs, t):
    """FORMAT.md's equations for one output position t of the zero-padded
    pass, written as explicit loops over taps (no conv, no padding)."""
    def col(seq, i):  # h or one-hot column i, zero before 0
        return seq[i] if i >= 0 else torch.zeros_like(seq[0])

    W = m.causal.weight
    onehot = [F.one_hot(torch.tensor(int(c)), Q).double() for c in inputs]
    # h for every position <= t (needed by the dilated taps)
    h = [W[:, :, 0] @ col(onehot, i - 1) + W[:, :, 1] @ onehot[i] + m.causal.bias
         for i in range(t + 1)]
    skip = torch.zeros(S, dtype=torch.float64)
    for l in m.layers:
        newh = []
        for i in range(t + 1):
            a = (l.dilated.weight[:, :, 0] @ col(h, i - l.d)
                 + l.dilated.weight[:, :, 1] @ h[i] + l.dilated.bias)
            z = torch.tanh(a[:D]) * torch.sigmoid(a[D:])
            if i == t:
                skip = skip + l.skip.weight[:, :, 0] @ z + l.skip.bias
            newh.append(h[i] + l.res.weight[:, :, 0] @ z + l.res.bias)
        h = newh
    y = torch.relu(m.head[0].weight[:, :, 0] @ torch.relu(skip) + m.head[0].bias)
    return m.head[1].weight[:, :, 0] @ y + m.head[1].bias


def loss_fn(m, train_codes, rf):
    """wn_loss_grad: inputs codes[:, :len-1] zero-padded, outputs at
    rf-1..len-2 predict codes[:, rf:len]; mean CE in nats."""
    out = m(train_codes[:, :-1])                # (B, Q, len-1)
    pred = out[:, :, rf - 1:]                   # (B, Q, T)
    return F.cross_entropy(pred, train_codes[:, rf:], reduction="mean")


def main():
    torch.set_printoptions(precision=10)
    m32 = make_model()
    names = [k for k in m32.state_dict()]
    m = WaveNet()
    m.load_state_dict(m32.state_dict())
    m = m.double()
    rf = m.receptive_field()
    ok = True

    rng = np.random.default_rng(SEED)
    silence = Q // 2
    x = random_walk(rng, N_LOGITS)
    train = np.stack([random_walk(rng, rf + T_TRAIN, start=int(rng.integers(40, 216)))
                      for _ in range(BATCH)])

    # (a) logits with a silent past: run over s = [silence]*RF + x[:-1] and
    # keep the last n outputs (each sees only real samples of s).
    s = np.concatenate([np.full(rf, silence), x[:-1]])
    with torch.no_grad():
        full = m(torch.tensor(s)[None])[0]                    # (Q, len(s))
    logits = full[:, -N_LOGITS:].T.contiguous()               # (n, Q)
    for t in (0, 5, rf + 3, len(s) - 1):
        with torch.no_grad():
            ref = slow_logits(m, s, t)
        e = (full[:, t] - ref).abs().max().item()
        print(f"self-check: full pass vs explicit loop at position {t}: {e:.3e}")
        ok &= e < 1e-12
    # ...and the zero-padded pass shifted by silence equals "input at t is
    # x[t-1]": output t only depends on the last RF inputs.
    with torch.no_grad():
        longer = m(torch.tensor(np.concatenate([np.full(3 * rf, silence), x[:-1]]))[None])[0]
    e = (longer[:, -N_LOGITS:].T - logits).abs().max().item()
    print(f"self-check: longer silent past changes nothing: {e:.3e}")
    ok &= e < 1e-12

    # (b) loss and gradients
    tc = torch.tensor(train)
    m.zero_grad()
    loss = loss_fn(m, tc, rf)
    loss.backward()
    # (a parameter that does not reach the loss has grad None: zero)
    grads = {k: p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
             for k, p in m.named_parameters()}
    print(f"loss {loss.item():.10f} nats (uniform would be {np.log(Q):.4f})")

    # finite differences (central, float64) for a few entries per kind
    fd_rng = np.random.default_rng(7)
    params = dict(m.named_parameters())
    worst_fd = 0.0
    checks = ["causal.weight", "causal.bias", "layers.0.dilated.weight",
              "layers.2.dilated.bias", "layers.3.res.weight", "layers.1.skip.bias",
              "layers.5.skip.weight", "head.0.weight", "head.0.bias",
              "head.1.weight", "head.1.bias"]
    for name in checks:
        p = params[name]
        g = grads[name].flatten()
        # prefer entries with a non-zero gradient (causal.weight is sparse)
        nz = torch.nonzero(g).flatten().numpy()
        for idx in fd_rng.choice(nz, size=min(3, len(nz)), replace=False):
            h = 1e-5
            with torch.no_grad():
                flat = p.view(-1)
                old = flat[idx].item()
                flat[idx] = old + h
                lp = loss_fn(m, tc, rf).item()
                flat[idx] = old - h
                lm = loss_fn(m, tc, rf).item()
                flat[idx] = old
            fd = (lp - lm) / (2 * h)
            # relative, with a floor: the difference quotient's round-off is
            # ~1e-16 * loss / h in absolute terms
            e = abs(fd - g[idx].item()) / max(abs(g[idx].item()), 1e-3)
            worst_fd = max(worst_fd, e)
            if e > 1e-5:
                print(f"  {name}[{idx}]: autograd {g[idx].item():.6e}, fd {fd:.6e}")
    print(f"self-check: autograd vs finite differences, worst error {worst_fd:.3e}")
    ok &= worst_fd < 1e-5
    # the last layer's residual output is never read: exactly zero gradient
    last = f"layers.{LAYERS - 1}.res"
    ok &= bool((grads[last + ".weight"] == 0).all() and (grads[last + ".bias"] == 0).all())

    # How far float32 arithmetic alone lands from this float64 reference
    # (to judge the C test's tolerances).
    m_f = WaveNet()
    m_f.load_state_dict(m32.state_dict())
    with torch.no_grad():
        lf = m_f(torch.tensor(s)[None])[0][:, -N_LOGITS:].T.double()
    print(f"float32 torch: logits max |err|/(1+|ref|) "
          f"{((lf - logits).abs() / (1 + logits.abs())).max().item():.3e}")
    lossf = loss_fn(m_f, tc, rf)
    lossf.backward()
    worst = max((((p.grad.double() - grads[k]).abs().max())
                 / max(grads[k].abs().max().item(), 1e-4)).item()
                for k, p in m_f.named_parameters() if p.grad is not None)
    print(f"float32 torch: loss err {abs(lossf.item() - loss.item()):.3e}, "
          f"grad max |err| / max(max|ref|, 1e-4) per tensor {worst:.3e}")

    # (c) one Adam step driven by the stored (float32) gradients, in float64
    grads32 = {k: g.float() for k, g in grads.items()}
    madam = WaveNet()
    madam.load_state_dict(m32.state_dict())
    madam = madam.double()
    opt = torch.optim.Adam(madam.parameters(), lr=LR, betas=BETAS, eps=EPS,
                           weight_decay=0)
    for k, p in madam.named_parameters():
        p.grad = grads32[k].double()
    opt.step()
    adam1 = {k: p.detach().float() for k, p in madam.named_parameters()}

    if not ok:
        print("torch_reference.py: a self-check failed; nothing written",
              file=sys.stderr)
        return 1

    os.makedirs(OUT, exist_ok=True)
    sd = m32.state_dict()
    model_meta = {"format": "wavenet", "version": 1, "sample_rate": SAMPLE_RATE,
                  "bins": Q, "layers": LAYERS, "stack": STACK, "residual": R,
                  "dilation": D, "skip": S}
    write_safetensors(os.path.join(OUT, "torch_ref_model.safetensors"),
                      [(k, sd[k].numpy().astype("<f4")) for k in names], model_meta)
    data = [("codes", x.astype("<i4")),
            ("logits", logits.numpy().astype("<f4")),
            ("train_codes", train.astype("<i4")),
            ("loss", np.array([loss.item()], dtype="<f8"))]
    data += [("grad." + k, grads32[k].numpy().astype("<f4")) for k in names]
    data += [("adam1." + k, adam1[k].numpy().astype("<f4")) for k in names]
    data_meta = dict(model_meta, n=N_LOGITS, batch=BATCH, len=rf + T_TRAIN,
                     T=T_TRAIN, rf=rf, lr=LR, silence=silence,
                     generator="tests/torch_reference.py, torch " + torch.__version__)
    write_safetensors(os.path.join(OUT, "torch_ref_data.safetensors"), data, data_meta)

    # read back what was written
    meta, t = read_safetensors(os.path.join(OUT, "torch_ref_model.safetensors"))
    assert all(np.array_equal(t[k], sd[k].numpy()) for k in names)
    assert [k for k in t] == names
    meta, t = read_safetensors(os.path.join(OUT, "torch_ref_data.safetensors"))
    assert np.array_equal(t["codes"], x) and np.array_equal(t["train_codes"], train)
    lg = logits.numpy()
    print(f"logits: std {lg.std():.3f}, range [{lg.min():.2f}, {lg.max():.2f}]")
    for f in ("torch_ref_model.safetensors", "torch_ref_data.safetensors"):
        print(f"wrote tests/fixtures/{f} ({os.path.getsize(os.path.join(OUT, f))} bytes)")
    return 0


# ============================================================ conditional
#
# The conditional reference (format version 2): a vocoder with speakers,
# written the way a PyTorch user would write it. The clip's raw log-mel
# frames are normalised per band, (x - mean) / std, go through a frames
# conv (nn.Conv1d(C, C, 3, padding=1)) and two nn.ConvTranspose1d stages
# (kernel 2s, padding s/2: strides 4 and 10, wn__upsample_plan's for hop
# 40) over the whole clip; sample t reads upsampled row t + hop//2 (zeros
# before sample 0, the silent past, and past the last row); a speaker is an
# nn.Embedding row e_s; and each layer adds 1x1 convs without bias of both
# to its dilated pre-activation:
#     a[t] = dilated(h)[t] + cond(u)[t] + speaker(e_s)
# Written by main_cond() into
#     tests/fixtures/torch_cond_model.safetensors   the model, our names
#                                                   and metadata (version 2)
#     tests/fixtures/torch_cond_data.safetensors    the expected values:
#         codes          I32 (n)         clip 0, a random-walk code sequence
#         features       F32 (F0, C)     clip 0's raw log-mel frames
#         codes1         I32 (n1)        clip 1
#         features1      F32 (F1, C)
#         logits         F32 (n, Q)      clip 0 spoken by `logits_speaker`,
#                                        the past before x_0 silence
#         train_codes    I32 (B, len)    windows cut from the clips:
#         train_clip     I32 (B)           the clip (0 or 1),
#         train_offset   I32 (B)           the clip sample of codes[b][0],
#         train_speaker  I32 (B)           the speaker
#         loss           F64 (1)         wn_grad_ctx_run_cond's loss: mean
#                                        CE over B x (len - RF) samples; net
#                                        row i of a window predicts clip
#                                        sample offset + i + 1 and reads
#                                        that sample's features row
#         grad.<name>    F32 (shape)     d(loss)/d(<name>), every tensor
#     and in __metadata__ the sizes (n, n1, batch, len, T, rf, hop, silence,
#     logits_speaker).

CQ, CLAYERS, CSTACK, CR, CD, CS = 64, 6, 3, 8, 6, 10
CC, HOP, STRIDES = 5, 40, (4, 10)     # C bands; hop 40 = 4 x 10
NSPK, GSPK = 4, 3                     # N speakers of G dimensions
SPK_NAMES = ("ana", "ben", "cy", "dee")
# the recipe: not the defaults, so that a loader that dropped one shows
MEL = {"fft": 256, "fmin": 60.0, "fmax": 3800.0, "scale": "htk", "norm": "none",
       "floor": 1e-5}
CN0, CN1 = 230, 200                   # clip lengths: 230 % 40 > 20, so clip 0
                                      # needs a frame past wn_stft_frames'
CT_TRAIN = 40
# (clip, offset, speaker): offsets 0 (the first row reads sample 1), at the
# clip's end, and off the hop's grid; speaker 1 in none (zero gradient row).
# Three windows: on two threads the third is shared by both (src/grad.c).
WINDOWS = ((0, 0, 0), (0, CN0 - 16 - CT_TRAIN, 3), (1, 97, 2))
LOGITS_SPEAKER = 2
CSEED = 4321


class CondLayer(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.d = d
        self.dilated = nn.Conv1d(CR, 2 * CD, 2, dilation=d)
        self.cond = nn.Conv1d(CC, 2 * CD, 1, bias=False)
        self.speaker = nn.Conv1d(GSPK, 2 * CD, 1, bias=False)
        self.res = nn.Conv1d(CD, CR, 1)
        self.skip = nn.Conv1d(CD, CS, 1)


class Upsampler(nn.Module):
    """Raw log-mel frames (F, C) -> one row per sample, (C, F hop)."""

    def __init__(self):
        super().__init__()
        self.pre = nn.Conv1d(CC, CC, 3, padding=1)
        for i, s in enumerate(STRIDES):
            self.add_module(str(i), nn.ConvTranspose1d(CC, CC, 2 * s, stride=s,
                                                       padding=s // 2))
        # the model's normalisation (metadata, not tensors)
        self.mean = torch.zeros(CC)
        self.std = torch.ones(CC)

    def forward(self, feats):
        x = (feats - self.mean.to(feats.dtype)) / self.std.to(feats.dtype)
        x = self.pre(x.T[None])
        for i in range(len(STRIDES)):
            x = getattr(self, str(i))(x)
        return x[0]


class CondWaveNet(nn.Module):
    def __init__(self):
        super().__init__()
        # registered in the order of the C tensor table
        self.causal = nn.Conv1d(CQ, CR, 2)
        self.speaker = nn.Embedding(NSPK, GSPK)
        self.upsample = Upsampler()
        self.layers = nn.ModuleList(
            [CondLayer(2 ** (i % CSTACK)) for i in range(CLAYERS)])
        self.head = nn.ModuleList([nn.Conv1d(CS, CS, 1), nn.Conv1d(CS, CQ, 1)])

    def receptive_field(self):
        return 2 + sum(l.d for l in self.layers)

    def cond_rows(self, feats, first, n):
        """(C, n): the features' rows of samples first .. first + n - 1."""
        u = self.upsample(feats)                              # (C, F hop)
        t = torch.arange(first, first + n)
        row = t + HOP // 2
        ok = (t >= 0) & (row < u.shape[1])
        u0 = F.pad(u, (1, 0))                                 # column 0: zeros
        return u0[:, torch.where(ok, row + 1, torch.zeros_like(row))]

    def forward(self, codes, cond, spk):
        """codes (B, T), cond (B, C, T) each position's features row, spk
        (B,) -> logits (B, Q, T); zeros (not silence) before input 0."""
        x = F.one_hot(codes, CQ).to(self.causal.weight.dtype).transpose(1, 2)
        h = self.causal(F.pad(x, (1, 0)))
        e = self.speaker(spk)[:, :, None]                     # (B, G, 1)
        skip = 0
        for l in self.layers:
            a = l.dilated(F.pad(h, (l.d, 0))) + l.cond(cond) + l.speaker(e)
            z = torch.tanh(a[:, :CD]) * torch.sigmoid(a[:, CD:])
            skip = skip + l.skip(z)
            h = h + l.res(z)
        return self.head[1](F.relu(self.head[0](F.relu(skip))))


def make_cond_model(mean, std):
    torch.manual_seed(CSEED)
    m = CondWaveNet()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name == "causal.weight":
                p.copy_(torch.randn_like(p) * 0.8)
            elif name == "speaker.weight":                    # the table
                p.copy_(torch.randn_like(p))
            elif name.startswith("upsample.") and name.endswith("weight"):
                # a transposed conv's output row sums 2 taps of C inputs
                fan = p.shape[1] * 3 if ".pre." in name else p.shape[0] * 2
                p.copy_(torch.randn_like(p) / fan ** 0.5)
            elif name.endswith(("cond.weight", "speaker.weight")):
                p.copy_(torch.randn_like(p) * 0.6 / p.shape[1] ** 0.5)
            elif name.endswith("weight"):
                fan_in = p.shape[1] * p.shape[2]
                gain = 1.6 if name.startswith("head") else 1.0
                p.copy_(torch.randn_like(p) * gain / fan_in ** 0.5)
            else:
                p.copy_(torch.randn_like(p) * 0.3)
    m = m.float()
    m.upsample.mean, m.upsample.std = torch.tensor(mean), torch.tensor(std)
    return m


def cond_frames(n):
    """wn_model_cond_frames: the frames that condition n samples."""
    return (n + HOP // 2) // HOP + 1


def make_features(rng, frames):
    """Log-mel-like frames: a level per band plus a random walk in time."""
    base = -6.0 + 0.7 * np.arange(CC)
    walk = np.cumsum(rng.normal(0, 0.9, (frames, CC)), axis=0)
    return (base + walk + rng.normal(0, 0.3, (frames, CC))).astype(np.float32)


def slow_upsample(m, feats):
    """The upsampler as explicit loops in numpy (float64): the frames conv
    out[t] = b + sum_k W[:, :, k] x[t + k - 1], then each transposed conv
    scattering input row t into output rows t s - p + k, k < K."""
    up = m.upsample
    x = (feats.astype(np.float64) - up.mean.double().numpy()) / up.std.double().numpy()
    Fn = x.shape[0]
    w = up.pre.weight.detach().double().numpy()
    y = np.tile(up.pre.bias.detach().double().numpy(), (Fn, 1))
    for t in range(Fn):
        for k in range(3):
            if 0 <= t + k - 1 < Fn:
                y[t] += w[:, :, k] @ x[t + k - 1]
    for i, s in enumerate(STRIDES):
        conv = getattr(up, str(i))
        w = conv.weight.detach().double().numpy()            # (in, out, K)
        K, p = w.shape[2], s // 2
        out = np.tile(conv.bias.detach().double().numpy(), (y.shape[0] * s, 1))
        for t in range(y.shape[0]):
            for k in range(K):
                o = t * s - p + k
                if 0 <= o < out.shape[0]:
                    out[o] += w[:, :, k].T @ y[t]
        y = out
    return y                                                  # (F hop, C)


def slow_cond_logits(m, inputs, rows, spk, t):
    """The network's equations at position t, explicit loops over taps;
    rows (C, T) the features row of each position."""
    def col(seq, i):
        return seq[i] if i >= 0 else torch.zeros_like(seq[0])
    W = m.causal.weight
    onehot = [F.one_hot(torch.tensor(int(c)), CQ).double() for c in inputs]
    e = m.speaker.weight[spk]
    h = [W[:, :, 0] @ col(onehot, i - 1) + W[:, :, 1] @ onehot[i] + m.causal.bias
         for i in range(t + 1)]
    skip = torch.zeros(CS, dtype=torch.float64)
    for l in m.layers:
        newh = []
        for i in range(t + 1):
            a = (l.dilated.weight[:, :, 0] @ col(h, i - l.d) + l.dilated.weight[:, :, 1] @ h[i]
                 + l.dilated.bias + l.cond.weight[:, :, 0] @ rows[:, i]
                 + l.speaker.weight[:, :, 0] @ e)
            z = torch.tanh(a[:CD]) * torch.sigmoid(a[CD:])
            if i == t:
                skip = skip + l.skip.weight[:, :, 0] @ z + l.skip.bias
            newh.append(h[i] + l.res.weight[:, :, 0] @ z + l.res.bias)
        h = newh
    y = torch.relu(m.head[0].weight[:, :, 0] @ torch.relu(skip) + m.head[0].bias)
    return m.head[1].weight[:, :, 0] @ y + m.head[1].bias


def cond_loss(m, feats, tc, rf):
    """wn_grad_ctx_run_cond's loss over the windows of WINDOWS."""
    n = tc.shape[1] - 1
    rows = torch.stack([m.cond_rows(feats[c], off + 1, n) for c, off, _ in WINDOWS])
    spk = torch.tensor([s for _, _, s in WINDOWS])
    out = m(tc[:, :-1], rows, spk)
    return F.cross_entropy(out[:, :, rf - 1:], tc[:, rf:], reduction="mean")


def cond_logits(m, x, feats, spk, past):
    """logits (n, Q) of clip x with `past` silent inputs before it."""
    n = len(x)
    s = np.concatenate([np.full(past, CQ // 2), x[:-1]])
    # position p holds input s[p] = x[p - past] and predicts sample p - past + 1
    rows = m.cond_rows(feats, 1 - past, len(s))
    full = m(torch.tensor(s)[None], rows[None], torch.tensor([spk]))[0]
    return full[:, -n:].T.contiguous(), s, rows


def fmt9(v):
    """C's "%.9g" of a float32 (what wn_model_save writes)."""
    return "%.9g" % float(np.float32(v))


def main_cond():
    ok = True
    rng = np.random.default_rng(CSEED)
    feats_np = [make_features(rng, cond_frames(CN0)), make_features(rng, cond_frames(CN1))]
    allf = np.concatenate(feats_np).astype(np.float64)
    mean = allf.mean(0).astype(np.float32)
    std = allf.std(0).astype(np.float32)
    m32 = make_cond_model(mean, std)
    names = list(m32.state_dict())
    m = CondWaveNet()
    m.load_state_dict(m32.state_dict())
    m = m.double()
    m.upsample.mean, m.upsample.std = m32.upsample.mean, m32.upsample.std
    rf = m.receptive_field()
    length = rf + CT_TRAIN
    silence = CQ // 2

    def walk(n):
        x = np.empty(n, dtype=np.int64)
        c = int(rng.integers(16, 48))
        for i in range(n):
            c = int(np.clip(c + int(np.round(rng.normal(0, 2.5))), 0, CQ - 1))
            x[i] = c
        return x
    clips = [walk(CN0), walk(CN1)]
    feats = [torch.tensor(f).double() for f in feats_np]
    train = np.stack([clips[c][off:off + length] for c, off, _ in WINDOWS])
    assert train.shape == (len(WINDOWS), length)

    # (a) self-checks of the upsampler: as many rows as samples of F hop,
    # and the explicit loops
    with torch.no_grad():
        for f, fn in zip(feats, feats_np):
            u = m.upsample(f)
            ok &= u.shape == (CC, f.shape[0] * HOP)
            e = np.abs(u.T.numpy() - slow_upsample(m, fn)).max()
            print(f"cond self-check: upsampler vs explicit loops ({f.shape[0]} frames): {e:.3e}")
            ok &= e < 1e-12

    # (b) logits, speaker LOGITS_SPEAKER, a silent past of rf
    x = clips[0]
    with torch.no_grad():
        logits, s, rows = cond_logits(m, x, feats[0], LOGITS_SPEAKER, rf)
        full = m(torch.tensor(s)[None], rows[None], torch.tensor([LOGITS_SPEAKER]))[0]
        for t in (0, rf - 2, rf + 3, rf + 37, len(s) - 1):
            e = (full[:, t] - slow_cond_logits(m, s, rows, LOGITS_SPEAKER, t)).abs().max().item()
            print(f"cond self-check: full pass vs explicit loop at position {t}: {e:.3e}")
            ok &= e < 1e-12
        longer, _, _ = cond_logits(m, x, feats[0], LOGITS_SPEAKER, 3 * rf)
        e = (longer - logits).abs().max().item()
        print(f"cond self-check: longer silent past changes nothing: {e:.3e}")
        ok &= e < 1e-12
        # the conditioning matters: a C side that dropped a term would show
        nof = m(torch.tensor(s)[None], torch.zeros_like(rows)[None],
                torch.tensor([LOGITS_SPEAKER]))[0][:, -CN0:].T
        other, _, _ = cond_logits(m, x, feats[0], 1, rf)
        d_f = (nof - logits).abs().max().item()
        d_s = (other - logits).abs().max().item()
        print(f"cond: logits move by up to {d_f:.2f} without the features and {d_s:.2f} "
              f"with speaker 1")
        ok &= d_f > 0.5 and d_s > 0.5

    # (c) loss and every gradient
    tc = torch.tensor(train)
    m.zero_grad()
    loss = cond_loss(m, feats, tc, rf)
    loss.backward()
    grads = {k: p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
             for k, p in m.named_parameters()}
    print(f"cond loss {loss.item():.10f} nats (uniform would be {np.log(CQ):.4f})")
    ok &= bool((grads["speaker.weight"][1] == 0).all())       # speaker 1 in no window
    fd_rng = np.random.default_rng(8)
    params = dict(m.named_parameters())
    worst_fd = 0.0
    for name in ("speaker.weight", "upsample.pre.weight", "upsample.pre.bias",
                 "upsample.0.weight", "upsample.0.bias", "upsample.1.weight",
                 "upsample.1.bias", "layers.0.cond.weight", "layers.5.cond.weight",
                 "layers.1.speaker.weight", "layers.3.dilated.bias", "head.1.weight"):
        p, g = params[name], grads[name].flatten()
        nz = torch.nonzero(g).flatten().numpy()
        for idx in fd_rng.choice(nz, size=min(3, len(nz)), replace=False):
            h = 1e-5
            with torch.no_grad():
                flat = p.view(-1)
                old = flat[idx].item()
                flat[idx] = old + h
                lp = cond_loss(m, feats, tc, rf).item()
                flat[idx] = old - h
                lm = cond_loss(m, feats, tc, rf).item()
                flat[idx] = old
            fd = (lp - lm) / (2 * h)
            e = abs(fd - g[idx].item()) / max(abs(g[idx].item()), 1e-3)
            worst_fd = max(worst_fd, e)
            if e > 1e-5:
                print(f"  {name}[{idx}]: autograd {g[idx].item():.6e}, fd {fd:.6e}")
    print(f"cond self-check: autograd vs finite differences, worst error {worst_fd:.3e}")
    ok &= worst_fd < 1e-5

    # float32 torch against this float64 reference (the C tolerances' yardstick)
    mf = CondWaveNet()
    mf.load_state_dict(m32.state_dict())
    mf.upsample.mean, mf.upsample.std = m32.upsample.mean, m32.upsample.std
    feats32 = [torch.tensor(f) for f in feats_np]
    with torch.no_grad():
        lf, _, _ = cond_logits(mf, x, feats32[0], LOGITS_SPEAKER, rf)
    print(f"cond float32 torch: logits max |err|/(1+|ref|) "
          f"{((lf.double() - logits).abs() / (1 + logits.abs())).max().item():.3e}")
    lossf = cond_loss(mf, feats32, tc, rf)
    lossf.backward()
    gmax = max(g.abs().max().item() for g in grads.values())
    worst = max((((p.grad.double() - grads[k]).abs().max())
                 / max(grads[k].abs().max().item(), 0.01 * gmax)).item()
                for k, p in mf.named_parameters() if p.grad is not None)
    print(f"cond float32 torch: loss err {abs(lossf.item() - loss.item()):.3e}, grad max "
          f"|err| / max(max|ref|, 1% of the largest) per tensor {worst:.3e}")

    if not ok:
        print("torch_reference.py: a conditional self-check failed; nothing written",
              file=sys.stderr)
        return 1

    # the metadata as wn_model_save writes it (src/cond.c), in its order
    sd = m32.state_dict()
    model_meta = {"format": "wavenet", "version": 2, "sample_rate": SAMPLE_RATE,
                  "bins": CQ, "layers": CLAYERS, "stack": CSTACK, "residual": CR,
                  "dilation": CD, "skip": CS, "cond": CC, "hop": HOP, "upsample_pre": 1,
                  "upsample_strides": ",".join(str(s) for s in STRIDES),
                  "features": "log-mel", "mel_fft": MEL["fft"], "mel_window": "hann",
                  "mel_fmin": "%.17g" % MEL["fmin"], "mel_fmax": "%.17g" % MEL["fmax"],
                  "mel_scale": MEL["scale"], "mel_norm": MEL["norm"],
                  "mel_floor": fmt9(MEL["floor"]),
                  "feature_mean": ",".join(fmt9(v) for v in mean),
                  "feature_std": ",".join(fmt9(v) for v in std),
                  "speakers": NSPK, "speaker_dim": GSPK,
                  "speaker_names": ",".join(SPK_NAMES)}
    mpath = os.path.join(OUT, "torch_cond_model.safetensors")
    dpath = os.path.join(OUT, "torch_cond_data.safetensors")
    write_safetensors(mpath, [(k, sd[k].numpy().astype("<f4")) for k in names], model_meta)
    data = [("codes", clips[0].astype("<i4")), ("features", feats_np[0]),
            ("codes1", clips[1].astype("<i4")), ("features1", feats_np[1]),
            ("logits", logits.numpy().astype("<f4")),
            ("train_codes", train.astype("<i4")),
            ("train_clip", np.array([c for c, _, _ in WINDOWS], dtype="<i4")),
            ("train_offset", np.array([o for _, o, _ in WINDOWS], dtype="<i4")),
            ("train_speaker", np.array([s for _, _, s in WINDOWS], dtype="<i4")),
            ("loss", np.array([loss.item()], dtype="<f8"))]
    data += [("grad." + k, grads[k].float().numpy().astype("<f4")) for k in names]
    data_meta = {"n": CN0, "n1": CN1, "batch": len(WINDOWS), "len": length, "T": CT_TRAIN,
                 "rf": rf, "hop": HOP, "silence": silence, "logits_speaker": LOGITS_SPEAKER,
                 "generator": "tests/torch_reference.py, torch " + torch.__version__}
    write_safetensors(dpath, data, data_meta)

    meta, t = read_safetensors(mpath)
    assert [k for k in t] == names and all(np.array_equal(t[k], sd[k].numpy()) for k in names)
    meta, t = read_safetensors(dpath)
    assert np.array_equal(t["train_codes"], train) and np.array_equal(t["features"], feats_np[0])
    lg = logits.numpy()
    print(f"cond logits: std {lg.std():.3f}, range [{lg.min():.2f}, {lg.max():.2f}]")
    for f in (mpath, dpath):
        print(f"wrote tests/fixtures/{os.path.basename(f)} ({os.path.getsize(f)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main() or main_cond())
