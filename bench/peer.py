#!/usr/bin/python3
"""peer.py - the PyTorch peer of the benchmark (bench/README.md): the same
network as the C library, written the way a PyTorch user would write it,
loaded from our safetensors file (docs/FORMAT.md) so both sides run the
same weights. One job per process; one line of JSON on stdout.

    peer.py info
    peer.py gen   -m MODEL --streams B --threads T [--seconds S] [--min-steps N]
    peer.py score -m MODEL --codes FILE [-n N] --threads T [--seconds S] [--min-reps N]
    peer.py train -m MODEL --codes FILE --batch B --window T --threads T [--seconds S]
                  [--min-steps N]
    peer.py check -m MODEL --codes FILE [-n N]   incremental vs full forward

A conditional model (docs/FORMAT.md, version 2) takes --features FEATS.npy
(its raw log-mel frames, (frames, bands) float32, as `wavenet mel -m MODEL`
or `wavenet-bench feats` writes them) and/or --speaker N (a row or a name)
in every job; with --features, gen is vocoding: it stops at the features'
end, (frames - 1) x hop samples. --codes also takes the CSV of `wavenet
score --per-sample` (file,sample,code,logp_nats): check then compares its
own teacher-forced log-probabilities with the C library's.

- score: a teacher-forced forward under torch.inference_mode(), in chunks
  of --chunk outputs whose inputs overlap by the receptive field (valid,
  unpadded convolutions, the skip convolutions on the last outputs only, as
  in ibab's tensorflow-wavenet), the past before the clip being silence.
- train: the same forward on batch x (RF + T) windows, cross-entropy over the
  last T positions, backward, torch.optim.Adam (lr 1e-3).
- gen: cached incremental generation (Fast WaveNet): per layer a queue of
  its last d inputs (a ring of d columns), per step and per layer one small
  matmul on [h(t-d), h(t)], the gate, the 1x1 residual and skip products;
  softmax and torch.multinomial for the sample.
- conditioning: the upsampler (per-band normalisation, the optional
  kernel-3 frames conv, the nn.ConvTranspose1d stages) runs over the frames
  a span of samples needs plus a halo of frames (exactly the rows of the
  whole clip); sample t reads upsampled row t + hop//2, zeros before sample
  0. Teacher-forced, each layer adds its 1x1 cond conv of those rows and
  its speaker conv of the nn.Embedding row; cached generation computes the
  upsampled rows of --cond-block samples at a time and every layer's cond
  product of that block in one matmul (the L cond weights stacked), then
  adds one row per layer and step; the speaker's term is folded into the
  dilated bias once.

Run with Debian's /usr/bin/python3 (python3-torch, numpy). Threads: the
environment (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) is set
to --threads before torch is imported, then torch.set_num_threads (Debian's
torch calls the system BLAS, OpenBLAS, whose own thread pool torch does not
control; --blas-threads sets it apart).
"""
import argparse
import json
import os
import resource
import struct
import sys
import time


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cmd", choices=["info", "gen", "score", "train", "check"])
    ap.add_argument("-m", dest="model")
    ap.add_argument("--codes")
    ap.add_argument("-n", type=int, default=0, help="use only the first N codes")
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--window", type=int, default=8000)
    ap.add_argument("--seconds", type=float, default=0.0)
    ap.add_argument("--min-steps", type=int, default=1)
    ap.add_argument("--min-reps", type=int, default=1)
    ap.add_argument("--chunk", type=int, default=65536,
                    help="scoring: outputs per forward (memory bound)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--features", help="a conditional model's log-mel frames (.npy)")
    ap.add_argument("--speaker", help="a speaker model's speaker: row number or name")
    ap.add_argument("--cond-block", type=int, default=1024,
                    help="gen: samples whose cond products are made in one matmul")
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="OPENBLAS_NUM_THREADS (default: --threads)")
    return ap.parse_args()


ARGS = parse_args()
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = str(ARGS.threads)
if ARGS.blas_threads:
    os.environ["OPENBLAS_NUM_THREADS"] = str(ARGS.blas_threads)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(ARGS.threads)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:
    pass


def load_wavenet(path):
    """docs/FORMAT.md's numpy reader."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {k: np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]],
                                dtype="<f4").reshape(v["shape"])
               for k, v in header.items() if not k.startswith("opt.")}
    return meta, tensors


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Layer(nn.Module):
    def __init__(self, R, D, S, d, C=0, G=0):
        super().__init__()
        self.d = d
        self.dilated = nn.Conv1d(R, 2 * D, 2, dilation=d)
        if C:  # local conditioning: the upsampled log-mels
            self.cond = nn.Conv1d(C, 2 * D, 1, bias=False)
        if G:  # global conditioning: the speaker's embedding
            self.speaker = nn.Conv1d(G, 2 * D, 1, bias=False)
        self.res = nn.Conv1d(D, R, 1)
        self.skip = nn.Conv1d(D, S, 1)


def floats(text, n, default):
    return [float(v) for v in text.split(",")] if text else [default] * n


class Upsampler(nn.Module):
    """Raw log-mel frames -> one row per sample (docs/FORMAT.md): (x - mean)
    / std per band, the optional kernel-3 frames conv, then the transposed
    convs (kernel 2s, stride s, padding s/2): F frames give F hop rows."""

    def __init__(self, meta):
        super().__init__()
        M = self.M = int(meta["cond"])  # bands; C: the channels (cond_channels)
        C = self.C = int(meta.get("cond_channels", 0) or 0) or M
        self.hop = int(meta["hop"])
        self.strides = [int(v) for v in meta["upsample_strides"].split(",")]
        assert int(np.prod(self.strides)) == self.hop, meta["upsample_strides"]
        self.pre = nn.Conv1d(M, C, 3, padding=1) if int(meta.get("upsample_pre", 0)) else None
        for i, s in enumerate(self.strides):
            self.add_module(str(i), nn.ConvTranspose1d(C, C, 2 * s, stride=s, padding=s // 2))
        # the normalisation is metadata, not a tensor: buffers outside the state dict
        self.register_buffer("mean", torch.tensor(floats(meta.get("feature_mean"), M, 0.0)),
                             persistent=False)
        self.register_buffer("std", torch.tensor(floats(meta.get("feature_std"), M, 1.0)),
                             persistent=False)
        # a row of frame f's block depends on frames f-1..f+1 (the stages'
        # reach is under a hop), the frames conv adds one each side; the
        # cut edges of a span's frames are one frame further out
        self.halo = 2 + (self.pre is not None)

    def forward(self, feats):
        """feats (F, C) raw -> (C, F hop)."""
        x = ((feats - self.mean) / self.std).t()[None]
        if self.pre is not None:
            x = self.pre(x)
        for i in range(len(self.strides)):
            x = getattr(self, str(i))(x)
        return x[0]

    def rows(self, feats, first, n, whole=False):
        """(C, n): the rows of samples first .. first + n - 1: row t + hop//2
        of the upsampled frames, zeros before sample 0 and past the last
        row. Upsamples only the frames these rows need, and a halo."""
        Fn, hop = feats.shape[0], self.hop
        out = feats.new_zeros(self.C, n)
        t0, t1 = max(first, 0), min(first + n, Fn * hop - hop // 2)
        if t1 <= t0:
            return out
        r0, r1 = t0 + hop // 2, t1 + hop // 2          # rows [r0, r1)
        fa = 0 if whole else max(0, r0 // hop - self.halo)
        fb = Fn if whole else min(Fn, (r1 - 1) // hop + 1 + self.halo)
        u = self(feats[fa:fb])
        return torch.cat([out[:, :t0 - first], u[:, r0 - fa * hop:r1 - fa * hop],
                          out[:, t1 - first:]], 1)


class WaveNet(nn.Module):
    """FORMAT.md's network with the same state-dict names."""

    def __init__(self, meta):
        super().__init__()
        self.Q, self.R, self.D, self.S = (int(meta[k]) for k in ("bins", "residual", "dilation", "skip"))
        L, K = int(meta["layers"]), int(meta["stack"])
        self.C = int(meta.get("cond_channels", 0) or 0) or int(meta.get("cond", 0) or 0)
        self.N = int(meta.get("speakers", 0) or 0)
        self.G = int(meta.get("speaker_dim", 0) or 0) if self.N else 0
        self.speaker_names = meta.get("speaker_names", "").split(",") if self.N else []
        self.causal = nn.Conv1d(self.Q, self.R, 2)
        if self.N:
            self.speaker = nn.Embedding(self.N, self.G)
        if self.C:
            self.upsample = Upsampler(meta)
            self.hop = self.upsample.hop
        self.layers = nn.ModuleList(Layer(self.R, self.D, self.S, 2 ** (i % K), self.C, self.G)
                                    for i in range(L))
        self.head = nn.ModuleList([nn.Conv1d(self.S, self.S, 1), nn.Conv1d(self.S, self.Q, 1)])
        self.rf = 2 + sum(l.d for l in self.layers)
        # mu-law silence: the code of 0.0 (wn_mulaw_silence), Q/2 for even Q
        mu = self.Q - 1
        self.silence = int(np.floor((0.0 + 1) / 2 * mu + 0.5))

    def forward(self, codes, cond=None, spk=None):
        """codes (B, N) long -> logits (B, Q, N - RF + 1): output i predicts
        the code after input i + RF - 1, from valid (unpadded) convolutions.
        A conditional model: cond (B, C, N), column p the features row of
        the sample input p predicts (Upsampler.rows); spk (B,) speaker rows."""
        w = self.causal.weight
        # the kernel-2 convolution of a one-hot input is two embedding lookups
        h = (F.embedding(codes[:, :-1], w[:, :, 0].t()) + F.embedding(codes[:, 1:], w[:, :, 1].t())
             + self.causal.bias).transpose(1, 2)
        V = codes.shape[1] - self.rf + 1
        e = self.speaker(spk)[:, :, None] if self.N else None   # (B, G, 1)
        skip = None
        last = len(self.layers) - 1
        off = 0  # column k of layer i's output holds input k + off + 1
        for i, l in enumerate(self.layers):
            off += l.d
            a = l.dilated(h)
            if self.C:
                a = a + l.cond(cond[:, :, off + 1:])
            if self.N:
                a = a + l.speaker(e)
            z = torch.tanh(a[:, :self.D]) * torch.sigmoid(a[:, self.D:])
            s = l.skip(z[:, :, -V:])
            skip = s if skip is None else skip + s
            if i < last:  # the last layer's residual output is never read
                h = h[:, :, l.d:] + l.res(z)
        return self.head[1](F.relu(self.head[0](F.relu(skip))))


def build(path):
    meta, t = load_wavenet(path)
    if int(meta.get("version", "1")) > 2:
        sys.exit(f"peer.py: {path}: format version {meta['version']} (this peer reads 1 and 2)")
    net = WaveNet(meta)
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in t.items()})
    return net


def read_codes(path, n):
    """int32 codes, or the CSV of `wavenet score --per-sample` (its codes)."""
    if path.endswith(".csv"):
        x = read_score_csv(path)[0]
    else:
        x = np.fromfile(path, dtype="<i4").astype(np.int64)
    return x[:n] if n else x


def read_score_csv(path):
    """`wavenet score --per-sample` of one file: (codes, logp_nats)."""
    codes, logp = [], []
    with open(path) as f:
        next(f)
        for line in f:
            parts = line.rsplit(",", 3)
            codes.append(int(parts[2]))
            logp.append(float(parts[3]))
    return np.array(codes, dtype=np.int64), np.array(logp)


def read_cond(net, n):
    """The job's conditioning: features (frames, C) float32 tensor or None,
    the speaker's row or None; refused as the C library refuses them."""
    feats = spk = None
    if net.C:
        if not ARGS.features:
            sys.exit("peer.py: a mel-conditioned model needs --features FEATS.npy")
        feats = torch.from_numpy(np.load(ARGS.features).astype(np.float32))
        if feats.ndim != 2 or feats.shape[1] != net.upsample.M:
            sys.exit(f"peer.py: {ARGS.features}: shape {tuple(feats.shape)}, the model has "
                     f"{net.upsample.M} bands")
        need = cond_frames(net, n)
        if n and feats.shape[0] < need:
            sys.exit(f"peer.py: {feats.shape[0]} frames condition "
                     f"{(feats.shape[0] - 1) * net.hop} samples; {n} need {need}")
    elif ARGS.features:
        sys.exit("peer.py: the model has no mel conditioning")
    if net.N:
        s = ARGS.speaker if ARGS.speaker is not None else "0"
        spk = (net.speaker_names.index(s) if s in net.speaker_names
               else int(s) if s.isdigit() else -1)
        if not 0 <= spk < net.N:
            sys.exit(f"peer.py: speaker {s}: the model has {net.N}")
    elif ARGS.speaker is not None:
        sys.exit("peer.py: the model has no speakers")
    return feats, spk


def cond_frames(net, n):
    """wn_model_cond_frames: the frames that condition n samples."""
    return (n + net.hop // 2) // net.hop + 1


class Generator:
    """Cached incremental generation of B streams (Fast WaveNet queues)."""

    def __init__(self, net, B, seed, feats=None, spk=None, block=1024):
        self.B, self.net = B, net
        self.gen = torch.Generator().manual_seed(seed)
        w = net.causal.weight.detach()
        self.e0, self.e1 = w[:, :, 0].t().contiguous(), w[:, :, 1].t().contiguous()
        self.cb = net.causal.bias.detach()
        # conditioning: the speaker's term folds into each layer's dilated
        # bias; the features' products come a block of samples at a time
        e = net.speaker.weight.detach()[spk] if net.N else None
        self.feats, self.block = feats, block
        self.limit = (feats.shape[0] - 1) * net.hop if net.C else None
        if net.C:  # every layer's cond weight stacked: (L 2D, C)
            self.wc = torch.cat([l.cond.weight.detach()[:, :, 0] for l in net.layers]).contiguous()
        self.pc, self.pc_start = None, None
        self.lay = []
        for l in net.layers:
            wd = l.dilated.weight.detach()
            bd = l.dilated.bias.detach()
            if e is not None:
                bd = bd + l.speaker.weight.detach()[:, :, 0] @ e
            self.lay.append((l.d,
                             torch.cat([wd[:, :, 0], wd[:, :, 1]], 1).contiguous(),  # (2D, 2R)
                             bd,
                             l.res.weight.detach()[:, :, 0].contiguous(), l.res.bias.detach(),
                             l.skip.weight.detach()[:, :, 0].contiguous(), l.skip.bias.detach()))
        self.h0 = (net.head[0].weight.detach()[:, :, 0].contiguous(), net.head[0].bias.detach())
        self.h1 = (net.head[1].weight.detach()[:, :, 0].contiguous(), net.head[1].bias.detach())
        # the past is silence: every layer's input is then the same column
        # at every position; fill each queue with it
        sil = net.silence
        h = (self.e0[sil] + self.e1[sil] + self.cb)[None]
        self.queues = []
        for d, wd, bd, wr, br, ws, bs in self.lay:
            self.queues.append(h.expand(d, B, -1).clone())  # (d, B, R)
            a = F.linear(torch.cat([h, h], 1), wd, bd)
            z = torch.tanh(a[:, :net.D]) * torch.sigmoid(a[:, net.D:])
            h = h + F.linear(z, wr, br)
        self.t = 0
        self.prev = torch.full((B,), sil, dtype=torch.long)
        self.cur = torch.full((B,), sil, dtype=torch.long)

    def cond_row(self):
        """(L, 2D): every layer's cond product for sample self.t; a block's
        products in one matmul when the sample leaves the last block."""
        t = self.t
        if self.pc is None or t >= self.pc_start + self.block:
            self.pc_start = t - t % self.block
            u = self.net.upsample.rows(self.feats, self.pc_start, self.block)   # (C, block)
            self.pc = (u.t() @ self.wc.t()).view(self.block, len(self.lay), -1)
        return self.pc[t - self.pc_start]

    def logits(self):
        """Logits (B, Q) of the next sample (sample self.t) after inputs
        prev, cur."""
        D = self.net.D
        h = self.e0[self.prev] + self.e1[self.cur] + self.cb
        skip = 0
        c = self.cond_row() if self.net.C else None
        for i, ((d, wd, bd, wr, br, ws, bs), q) in enumerate(zip(self.lay, self.queues)):
            slot = self.t % d
            x = torch.cat([q[slot], h], 1)     # [h(t-d) | h(t)]
            q[slot] = h                        # h(t) replaces h(t-d) in the queue
            a = F.linear(x, wd, bd)
            if c is not None:
                a = a + c[i]
            z = torch.tanh(a[:, :D]) * torch.sigmoid(a[:, D:])
            skip = skip + F.linear(z, ws, bs)
            h = h + F.linear(z, wr, br)
        w0, b0 = self.h0
        w1, b1 = self.h1
        return F.linear(F.relu(F.linear(F.relu(skip), w0, b0)), w1, b1)

    def feed(self, code):
        self.prev, self.cur = self.cur, code
        self.t += 1

    def step(self):
        p = torch.softmax(self.logits(), -1)
        nxt = torch.multinomial(p, 1, generator=self.gen).squeeze(1)
        self.feed(nxt)
        return nxt


def out(d):
    d.setdefault("side", "peer")
    d["max_rss"] = max_rss_bytes()
    print(json.dumps(d), flush=True)


def cmd_info():
    a = torch.randn(512, 512)
    _ = a @ a  # load the BLAS
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if any(k in p for k in ("blas", "mkl", "dnnl", "gomp", "iomp")):
                libs.add(os.path.basename(p))
    print(json.dumps({"torch": torch.__version__, "numpy": np.__version__,
                      "python": sys.version.split()[0],
                      "torch_threads": torch.get_num_threads(),
                      "libs": sorted(libs)}))


def cmd_gen(net):
    feats, spk = read_cond(net, 0)
    base = rss_bytes()
    with torch.inference_mode():
        g = Generator(net, ARGS.streams, ARGS.seed, feats, spk, ARGS.cond_block)
        if g.limit is not None and g.limit < 21:
            sys.exit(f"peer.py: {feats.shape[0]} frames condition {g.limit} samples: too few")
        for _ in range(20):
            g.step()
        steps = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while True:
            c = g.step()
            steps += 1
            el = time.perf_counter() - t0
            if el >= ARGS.seconds and steps >= ARGS.min_steps:
                break
            if g.limit is not None and g.t >= g.limit:  # vocoded every frame
                break
        cpu = time.process_time() - c0
    out({"job": "gen", "streams": ARGS.streams, "threads": ARGS.threads, "steps": steps,
         "samples": steps * ARGS.streams, "seconds": el, "cpu_seconds": cpu,
         "samples_per_s": steps * ARGS.streams / el, "base_rss": base,
         "last_code": int(c[0]), "cond": net.C, "speaker": spk,
         "cond_block": ARGS.cond_block if net.C else 0})


def score(net, x, feats=None, spk=None, logp=None):
    """-sum log p(x_t | x_<t) in nats, the past before x_0 silence; logp
    (n floats, optional) receives each sample's log-probability."""
    n, rf = len(x), net.rf
    s = torch.cat([torch.full((rf,), net.silence, dtype=torch.long), torch.from_numpy(x)])
    xt = torch.from_numpy(x)
    sp = torch.tensor([spk]) if net.N else None
    nll = 0.0
    for t0 in range(0, n, ARGS.chunk):
        t1 = min(n, t0 + ARGS.chunk)
        # input p of s is sample p - rf and predicts sample p - rf + 1
        cond = net.upsample.rows(feats, t0 - rf + 1, t1 - t0 + rf - 1)[None] if net.C else None
        logits = net(s[t0:t1 + rf - 1][None], cond, sp)[0]  # (Q, t1 - t0)
        lp = F.log_softmax(logits, 0).gather(0, xt[t0:t1][None])[0]
        if logp is not None:
            logp[t0:t1] = lp.double().numpy()
        nll -= lp.double().sum().item()
    return nll


def cmd_score(net):
    x = read_codes(ARGS.codes, ARGS.n)
    feats, spk = read_cond(net, len(x))
    base = rss_bytes()
    with torch.inference_mode():
        score(net, x[:20000], feats, spk)  # warm-up
        reps = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while True:
            nll = score(net, x, feats, spk)
            reps += 1
            el = time.perf_counter() - t0
            if el >= ARGS.seconds and reps >= ARGS.min_reps:
                break
        cpu = time.process_time() - c0
    n = len(x)
    out({"job": "score", "threads": ARGS.threads, "n": n, "reps": reps, "samples": reps * n,
         "seconds": el, "cpu_seconds": cpu, "samples_per_s": reps * n / el,
         "base_rss": base, "chunk": ARGS.chunk,
         "bits_per_sample": nll / n / np.log(2)})


def windows(x, B, length, step):
    """The windows of bench.c's fill_windows, and their starts."""
    span = len(x) - length + 1
    starts = [((step * B + b) * 104729) % span for b in range(B)]
    return torch.from_numpy(np.stack([x[s:s + length] for s in starts])), starts


def cmd_train(net):
    x = read_codes(ARGS.codes, ARGS.n)
    feats, spk = read_cond(net, len(x))
    B, T, rf = ARGS.batch, ARGS.window, net.rf
    length = rf + T
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    sp = torch.full((B,), spk, dtype=torch.long) if net.N else None
    base = rss_bytes()

    def train_step(step):
        w, starts = windows(x, B, length, step)
        opt.zero_grad(set_to_none=True)
        # a window from clip sample o: input i predicts sample o + i + 1
        # and reads its features row (through the upsampler, which learns)
        cond = (torch.stack([net.upsample.rows(feats, o + 1, length - 1) for o in starts])
                if net.C else None)
        loss = F.cross_entropy(net(w[:, :-1], cond, sp), w[:, rf:])
        loss.backward()
        opt.step()
        return loss.item()

    loss0 = train_step(0)  # warm-up, on the initial weights (compare with ours)
    steps, step = 0, 1
    c0, t0 = time.process_time(), time.perf_counter()
    while True:
        loss = train_step(step)
        step += 1
        steps += 1
        el = time.perf_counter() - t0
        if el >= ARGS.seconds and steps >= ARGS.min_steps:
            break
    cpu = time.process_time() - c0
    out({"job": "train", "threads": ARGS.threads, "batch": B, "window": T, "len": length,
         "steps": steps, "samples": steps * B * T, "seconds": el, "cpu_seconds": cpu,
         "samples_per_s": steps * B * T / el, "base_rss": base,
         "loss0": loss0, "loss_last": loss, "cond": net.C, "speaker": spk})


def cmd_check(net):
    """The incremental generator fed the codes (teacher forcing) against the
    full forward: the same logits up to float32 rounding. A conditional
    model: the same with its features and speaker, the cached generator
    making its cond products a block at a time (a block of 64 here, so that
    a few blocks are crossed), and the upsampler by spans against the whole
    clip's. Codes from a `wavenet score --per-sample` CSV: also the peer's
    per-sample log-probabilities of every code against the C library's."""
    allx = read_codes(ARGS.codes, 0)
    x = allx[:ARGS.n or 300]
    n, rf = len(x), net.rf
    feats, spk = read_cond(net, len(allx))
    sp = torch.tensor([spk]) if net.N else None
    res = {"job": "check", "n": n, "cond": net.C, "speaker": spk}
    with torch.inference_mode():
        s = torch.cat([torch.full((rf,), net.silence, dtype=torch.long), torch.from_numpy(x)])
        cond = net.upsample.rows(feats, 1 - rf, n + rf - 1)[None] if net.C else None
        full = net(s[:n + rf - 1][None], cond, sp)[0].t()           # (n, Q)
        g = Generator(net, 1, 0, feats, spk, 64)
        inc = []
        for i in range(n):
            inc.append(g.logits()[0])
            g.feed(torch.tensor([int(x[i])]))
        inc = torch.stack(inc)
        if net.C:  # rows by spans (halo) against the whole clip's upsampling
            m = len(allx)
            whole = net.upsample.rows(feats, -5, m + 5, whole=True)
            span = torch.cat([net.upsample.rows(feats, t, 97) for t in range(-5, m, 97)], 1)
            res["rows_span_vs_whole"] = (span[:, :m + 5] - whole).abs().max().item()
            res["rows_scale"] = whole.abs().max().item()
        if ARGS.codes.endswith(".csv"):
            _, ref = read_score_csv(ARGS.codes)
            lp = np.zeros(len(allx))
            score(net, allx, feats, spk, lp)
            d = np.abs(lp - ref)
            res.update(ref_n=len(allx), ref_logp_max_abs_diff=float(d.max()),
                       ref_logp_worst_sample=int(d.argmax()),
                       ref_nll_nats_diff=float(-lp.sum() + ref.sum()))
    err = (inc - full).abs().max().item()
    scale = full.abs().max().item()
    ok = err <= 1e-4 * max(1.0, scale)
    ok &= res.get("rows_span_vs_whole", 0) <= 1e-5 * max(1.0, res.get("rows_scale", 0))
    ok &= res.get("ref_logp_max_abs_diff", 0) <= 1e-4
    res.update(max_abs_diff=err, max_abs_logit=scale, ok=bool(ok))
    out(res)


def main():
    if ARGS.cmd == "info":
        return cmd_info()
    net = build(ARGS.model)
    {"gen": cmd_gen, "score": cmd_score, "train": cmd_train, "check": cmd_check}[ARGS.cmd](net)


if __name__ == "__main__":
    main()
