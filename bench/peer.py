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
    def __init__(self, R, D, S, d):
        super().__init__()
        self.d = d
        self.dilated = nn.Conv1d(R, 2 * D, 2, dilation=d)
        self.res = nn.Conv1d(D, R, 1)
        self.skip = nn.Conv1d(D, S, 1)


class WaveNet(nn.Module):
    """FORMAT.md's network with the same state-dict names."""

    def __init__(self, meta):
        super().__init__()
        self.Q, self.R, self.D, self.S = (int(meta[k]) for k in ("bins", "residual", "dilation", "skip"))
        L, K = int(meta["layers"]), int(meta["stack"])
        self.causal = nn.Conv1d(self.Q, self.R, 2)
        self.layers = nn.ModuleList(Layer(self.R, self.D, self.S, 2 ** (i % K)) for i in range(L))
        self.head = nn.ModuleList([nn.Conv1d(self.S, self.S, 1), nn.Conv1d(self.S, self.Q, 1)])
        self.rf = 2 + sum(l.d for l in self.layers)
        # mu-law silence: the code of 0.0 (wn_mulaw_silence), Q/2 for even Q
        mu = self.Q - 1
        self.silence = int(np.floor((0.0 + 1) / 2 * mu + 0.5))

    def forward(self, codes):
        """codes (B, N) long -> logits (B, Q, N - RF + 1): output i predicts
        the code after input i + RF - 2, from valid (unpadded) convolutions."""
        w = self.causal.weight
        # the kernel-2 convolution of a one-hot input is two embedding lookups
        h = (F.embedding(codes[:, :-1], w[:, :, 0].t()) + F.embedding(codes[:, 1:], w[:, :, 1].t())
             + self.causal.bias).transpose(1, 2)
        V = codes.shape[1] - self.rf + 1
        skip = None
        last = len(self.layers) - 1
        for i, l in enumerate(self.layers):
            a = l.dilated(h)
            z = torch.tanh(a[:, :self.D]) * torch.sigmoid(a[:, self.D:])
            s = l.skip(z[:, :, -V:])
            skip = s if skip is None else skip + s
            if i < last:  # the last layer's residual output is never read
                h = h[:, :, l.d:] + l.res(z)
        return self.head[1](F.relu(self.head[0](F.relu(skip))))


def build(path):
    meta, t = load_wavenet(path)
    net = WaveNet(meta)
    net.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in t.items()})
    return net


def read_codes(path, n):
    x = np.fromfile(path, dtype="<i4").astype(np.int64)
    return x[:n] if n else x


class Generator:
    """Cached incremental generation of B streams (Fast WaveNet queues)."""

    def __init__(self, net, B, seed):
        self.B, self.net = B, net
        self.gen = torch.Generator().manual_seed(seed)
        w = net.causal.weight.detach()
        self.e0, self.e1 = w[:, :, 0].t().contiguous(), w[:, :, 1].t().contiguous()
        self.cb = net.causal.bias.detach()
        self.lay = []
        for l in net.layers:
            wd = l.dilated.weight.detach()
            self.lay.append((l.d,
                             torch.cat([wd[:, :, 0], wd[:, :, 1]], 1).contiguous(),  # (2D, 2R)
                             l.dilated.bias.detach(),
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

    def logits(self):
        """Logits (B, Q) of the next sample after inputs prev, cur."""
        D = self.net.D
        h = self.e0[self.prev] + self.e1[self.cur] + self.cb
        skip = 0
        for (d, wd, bd, wr, br, ws, bs), q in zip(self.lay, self.queues):
            slot = self.t % d
            x = torch.cat([q[slot], h], 1)     # [h(t-d) | h(t)]
            q[slot] = h                        # h(t) replaces h(t-d) in the queue
            a = F.linear(x, wd, bd)
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
    base = rss_bytes()
    with torch.inference_mode():
        g = Generator(net, ARGS.streams, ARGS.seed)
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
        cpu = time.process_time() - c0
    out({"job": "gen", "streams": ARGS.streams, "threads": ARGS.threads, "steps": steps,
         "samples": steps * ARGS.streams, "seconds": el, "cpu_seconds": cpu,
         "samples_per_s": steps * ARGS.streams / el, "base_rss": base,
         "last_code": int(c[0])})


def score(net, x):
    """-sum log p(x_t | x_<t) in nats, the past before x_0 silence."""
    n, rf = len(x), net.rf
    s = torch.cat([torch.full((rf,), net.silence, dtype=torch.long), torch.from_numpy(x)])
    xt = torch.from_numpy(x)
    nll = 0.0
    for t0 in range(0, n, ARGS.chunk):
        t1 = min(n, t0 + ARGS.chunk)
        logits = net(s[t0:t1 + rf - 1][None])[0]           # (Q, t1 - t0)
        lp = F.log_softmax(logits, 0)
        nll -= lp.gather(0, xt[t0:t1][None]).double().sum().item()
    return nll


def cmd_score(net):
    x = read_codes(ARGS.codes, ARGS.n)
    base = rss_bytes()
    with torch.inference_mode():
        score(net, x[:20000])  # warm-up
        reps = 0
        c0, t0 = time.process_time(), time.perf_counter()
        while True:
            nll = score(net, x)
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
    """The windows of bench.c's fill_windows."""
    span = len(x) - length + 1
    starts = [((step * B + b) * 104729) % span for b in range(B)]
    return torch.from_numpy(np.stack([x[s:s + length] for s in starts]))


def cmd_train(net):
    x = read_codes(ARGS.codes, ARGS.n)
    B, T, rf = ARGS.batch, ARGS.window, net.rf
    length = rf + T
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    base = rss_bytes()

    def train_step(step):
        w = windows(x, B, length, step)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(w[:, :-1]), w[:, rf:])
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
         "loss0": loss0, "loss_last": loss})


def cmd_check(net):
    """The incremental generator fed the codes (teacher forcing) against the
    full forward: the same logits up to float32 rounding."""
    x = read_codes(ARGS.codes, ARGS.n or 300)
    n, rf = len(x), net.rf
    with torch.inference_mode():
        s = torch.cat([torch.full((rf,), net.silence, dtype=torch.long), torch.from_numpy(x)])
        full = net(s[:n + rf - 1][None])[0].t()           # (n, Q)
        g = Generator(net, 1, 0)
        inc = []
        for i in range(n):
            inc.append(g.logits()[0])
            g.feed(torch.tensor([int(x[i])]))
        inc = torch.stack(inc)
    err = (inc - full).abs().max().item()
    scale = full.abs().max().item()
    out({"job": "check", "n": n, "max_abs_diff": err, "max_abs_logit": scale,
         "ok": err <= 1e-4 * max(1.0, scale)})


def main():
    if ARGS.cmd == "info":
        return cmd_info()
    net = build(ARGS.model)
    {"gen": cmd_gen, "score": cmd_score, "train": cmd_train, "check": cmd_check}[ARGS.cmd](net)


if __name__ == "__main__":
    main()
