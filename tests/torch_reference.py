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
    and in __metadata__ (strings): the config, n, batch, len, T, rf, lr.

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


if __name__ == "__main__":
    sys.exit(main())
