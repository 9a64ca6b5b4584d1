#!/usr/bin/python3
"""run.py - the benchmark of issue 5: our library (wavenet-bench) against the
PyTorch peer (peer.py), same machine, same run, alternating, medians; writes
bench/RESULTS.md. Usually started through bench/run.sh (which builds first):

    bench/run.sh            the full benchmark (idle machine, ~30 min)
    bench/run.sh --quick    a smoke test: short inputs, 1 repetition (~1 min)

Every measurement is a separate process (so its peak RSS is its own): the
model files and the codes are written once into the work folder (bench/out/,
git-ignored), then for each configuration, job and thread count, each
repetition runs ours and the peer back to back, swapping who goes first from
one repetition to the next. Reported: the median samples/s over the
repetitions, the largest peak RSS.

The conditioning jobs run a log-mel vocoder of each configuration's size
(`wavenet-bench init --cond 80 --cond-channels 32`, hop 64) on the features of the decoded
codes (`wavenet-bench feats`): `vocode` (ours: the `wavenet vocode` command,
skipped with a note while the build has none; the peer: its cached
generation with --features) beside `gen1cmd` (the unconditional model
through `wavenet generate`, the peer's unconditional generation), whose
ratio is the per-sample cost of conditioning; and `train-cond`.
"""
import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import wave

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"

CONFIGS = {
    # name: L, K, R, D, S, Q (the C side builds them in `wavenet-bench init`)
    "small": dict(L=20, K=10, R=32, D=32, S=128, Q=256),
    "large": dict(L=30, K=10, R=64, D=64, S=256, Q=256),
}
JOBS = ["gen1", "gen8", "gen1h", "gen8h", "gen1q", "gen8q", "score", "train", "train1",
        "gen1cmd", "vocode", "train-cond"]
JOB_TITLE = {"gen1": "generation, 1 stream", "gen8": "generation, 8 streams",
             "gen1h": "generation, 1 stream, f16 weights",
             "gen8h": "generation, 8 streams, f16 weights",
             "gen1q": "generation, 1 stream, int8 products",
             "gen8q": "generation, 8 streams, int8 products",
             "score": "scoring", "train": "training",
             "train1": "training, one window",
             "gen1cmd": "generation, 1 stream, the command (vocoding's unconditional twin)",
             "vocode": "vocoding log-mels, 1 stream",
             "train-cond": "training, log-mel conditioned"}
# the jobs of the conditional twin of a config (log-mel bands, hop)
COND_JOBS = {"vocode", "train-cond"}
COND_BANDS, COND_HOP, COND_STRIDES = 80, 64, (8, 8)
# the shipped vocoder's conditioning channels (init --cond-channels): the
# frames conv maps the 80 bands to them
COND_CHANNELS = 32
# our side of these runs the `wavenet` command, timed by its --json line
CLI_JOBS = {"gen1cmd", "vocode"}
# the reduced-precision jobs (f16, int8) run our side only and reuse the
# peer's float32 runs of the same cell (PyTorch has no faster half-precision
# or int8 path for this model on these CPUs)
REDUCED_OF = {"gen1h": "gen1", "gen8h": "gen8", "gen1q": "gen1", "gen8q": "gen8"}
PRECISION_OF = {"gen1h": "f16", "gen8h": "f16", "gen1q": "int8", "gen8q": "int8"}
HOUR = 3600 * 8000  # samples in an hour at 8 kHz
GIB = 1 << 30


def macs_per_sample(c, cond=False):
    """L(4RD + DR + DS) + S^2 + SQ multiply-adds per output sample; a
    vocoder adds L 2D C for the layers' cond products (C the conditioning
    channels), the frames conv's 3 M C per frame (M bands) and the
    upsampler's 2 C^2 per row of each stage (s_1..s_i rows of stage i per
    hop samples)."""
    m = c["L"] * (4 * c["R"] * c["D"] + c["D"] * c["R"] + c["D"] * c["S"]) \
        + c["S"] ** 2 + c["S"] * c["Q"]
    if cond:
        C, r = COND_CHANNELS, 1
        m += c["L"] * 2 * c["D"] * C + 3 * COND_BANDS * C / COND_HOP
        for s in COND_STRIDES:
            r *= s
            m += 2 * C * C * r / COND_HOP
    return m


def parse_args():
    ap = argparse.ArgumentParser(description="wavenet vs PyTorch benchmark (issue 5)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: short inputs, 1 repetition, no 1-hour job; "
                         "writes bench/out/RESULTS-quick.md")
    ap.add_argument("--reps", type=int, help="repetitions per measurement (3; quick 1)")
    ap.add_argument("--seconds", type=float,
                    help="least timed seconds per measurement (5; quick 0: one unit)")
    ap.add_argument("--configs", default="small,large")
    ap.add_argument("--jobs", default=",".join(JOBS), help="of " + ",".join(JOBS))
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--clip-seconds", type=float, help="scoring clip at 8 kHz (60; quick 2)")
    ap.add_argument("--train-window", type=int,
                    help="predicted samples per training window (8000; quick 500)")
    ap.add_argument("--vocode-seconds", type=float,
                    help="audio of the vocoding features and of gen1cmd, at 8 kHz "
                         "(30; quick 0.5): our command runs once over all of it")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--hour", dest="hour", action="store_true", default=None,
                    help="score an hour of audio with our library (memory target; "
                         "on by default, off with --quick)")
    ap.add_argument("--no-hour", dest="hour", action="store_false")
    ap.add_argument("--hour-configs", default="small",
                    help="configs for the 1-hour scoring (small; large takes ~15 min more)")
    ap.add_argument("--hour-samples", type=int, default=HOUR,
                    help="samples of the 'hour' (28,800,000; smaller only to test the script)")
    ap.add_argument("--peak-seconds", type=float, help="per peak measurement (1; quick 0.05)")
    ap.add_argument("--no-peer", action="store_true", help="our side only")
    ap.add_argument("--peer-blas-threads",
                    help="OPENBLAS_NUM_THREADS of the peer to try, a list of numbers or "
                         "'t' (= the cell's thread count); the best median is reported "
                         "(default '1,t'; quick '1')")
    ap.add_argument("--peer-chunk", type=int, default=65536,
                    help="peer scoring: outputs per forward")
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--work-dir", default=os.path.join(HERE, "out"))
    ap.add_argument("--out", help="report (bench/RESULTS.md; quick: bench/out/RESULTS-quick.md)")
    ap.add_argument("--timeout", type=float, default=3600, help="per process, seconds")
    a = ap.parse_args()
    q = a.quick
    a.reps = a.reps or (1 if q else 3)
    a.seconds = a.seconds if a.seconds is not None else (0.0 if q else 5.0)
    a.clip_seconds = a.clip_seconds or (2.0 if q else 60.0)
    a.train_window = a.train_window or (500 if q else 8000)
    a.vocode_seconds = a.vocode_seconds or (0.5 if q else 30.0)
    a.peak_seconds = a.peak_seconds or (0.05 if q else 1.0)
    a.hour = (not q) if a.hour is None else a.hour
    a.peer_blas_threads = a.peer_blas_threads or ("1" if q else "1,t")
    a.out = a.out or (os.path.join(a.work_dir, "RESULTS-quick.md") if q
                      else os.path.join(HERE, "RESULTS.md"))
    a.configs = [c for c in a.configs.split(",") if c]
    a.jobs = [j for j in a.jobs.split(",") if j]
    a.threads = [int(t) for t in a.threads.split(",") if t]
    a.hour_configs = [c for c in a.hour_configs.split(",") if c]
    for c in a.configs + a.hour_configs:
        if c not in CONFIGS:
            ap.error(f"unknown config {c}")
    for j in a.jobs:
        if j not in JOBS:
            ap.error(f"unknown job {j}")
    return a


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run_json(cmd, env=None, timeout=3600):
    """Run one measurement process; its last stdout line is JSON."""
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {p.returncode}: {err}"}
    try:
        d = json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "no JSON in output: " + p.stdout[-200:]}
    d["wall_process"] = time.time() - t0
    return d


def run_cli(cmd, out_wav, env=None, timeout=3600):
    """Run the `wavenet` command with --json once: samples/s from its own
    timing (the samples over its "seconds"; the process's wall time when
    it gives none), the process's own peak RSS (os.wait4)."""
    t0 = time.time()
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        try:
            p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env)
        except OSError as e:
            return {"error": str(e)}
        while True:
            pid, sts, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.time() - t0 > timeout:
                p.kill()
                os.wait4(p.pid, 0)
                p.returncode = -9
                return {"error": f"timed out after {timeout:.0f} s"}
            time.sleep(0.02)
        wall = time.time() - t0
        p.returncode = os.waitstatus_to_exitcode(sts)  # reaped here, not by Popen
        fo.seek(0)
        fe.seek(0)
        so, se = fo.read(), fe.read()
    if p.returncode != 0:
        err = (se.strip().splitlines() or ["?"])[-1]
        return {"error": f"exit {p.returncode}: {err}"}
    d = {}
    for line in so.splitlines()[::-1]:
        try:
            d = json.loads(line)
            break
        except ValueError:
            continue
    samples = d.get("samples")
    if samples is None:
        try:
            with wave.open(out_wav) as w:
                samples = w.getnframes()
        except (OSError, EOFError, wave.Error) as e:
            return {"error": f"no --json line and no readable {out_wav}: {e}"}
    secs = d.get("seconds") or wall
    d.update(side="ours", samples=samples, seconds=secs, wall_process=wall,
             samples_per_s=samples / secs, max_rss=ru.ru_maxrss * 1024)
    return d


def write_codes_wav(codes, n, path, bins=256):
    """The first n codes of an int32 codes file, mu-law decoded, as a 16-bit
    WAV at 8 kHz (numpy-free: run.py runs without the peer's packages)."""
    import array
    c = array.array("i")
    with open(codes, "rb") as f:
        c.frombytes(f.read(4 * n))
    if sys.byteorder != "little":
        c.byteswap()
    mu = bins - 1
    pcm = array.array("h")
    for k in c:
        y = 2.0 * k / mu - 1.0
        x = math.copysign(((1 + mu) ** abs(y) - 1) / mu, y)
        pcm.append(max(-32768, min(32767, int(round(x * 32767)))))
    if sys.byteorder != "little":
        pcm.byteswap()
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(pcm.tobytes())


# ------------------------------------------------------------------ machine

def lscpu():
    info = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip()
    except OSError:
        pass
    return info


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[:3]
    except OSError:
        return ["?"] * 3


# ------------------------------------------------------------------ formatting

def fnum(x, digits=0):
    if x is None:
        return "—"
    return f"{x:,.{digits}f}"


def fmib(b):
    return "—" if b is None else f"{b / (1 << 20):,.0f} MiB"


def fratio(x):
    return "—" if x is None else f"{x:.2f}×"


def table(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------ main

def main():
    a = parse_args()
    exe = os.path.join(a.build_dir, "bench", "wavenet-bench")
    if not os.access(exe, os.X_OK):
        sys.exit(f"run.py: {exe} not found: build first (meson compile -C {a.build_dir})")
    os.makedirs(a.work_dir, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = loadavg()
    cpu = lscpu()
    env_ours = dict(os.environ)
    info = run_json([exe, "info"])
    peer_info = {} if a.no_peer else run_json([PY, os.path.join(HERE, "peer.py"), "info"])
    log(f"wavenet-bench: kernels {info.get('kernels')}, {info.get('openblas_config')}")
    if not a.no_peer:
        if not peer_info.get("torch"):
            sys.exit("run.py: the PyTorch peer cannot import torch: install Debian's "
                     "python3-torch and python3-numpy (apt-get install python3-torch "
                     "python3-numpy), or run with --no-peer")
        log(f"peer: torch {peer_info.get('torch')}, {', '.join(peer_info.get('libs', []))}")
    if float(load_start[0]) > 0.5:
        log(f"warning: load average {load_start[0]} at start: the machine is not idle, "
            "timings will be disturbed")

    # models (same weights for both sides) and the codes
    models = {}
    for c in sorted(set(a.configs) | (set(a.hour_configs) if a.hour else set())):
        path = os.path.join(a.work_dir, f"{c}.safetensors")
        d = run_json([exe, "init", "--config", c, "--seed", "1", "-o", path])
        if "error" in d:
            sys.exit(f"run.py: init {c}: {d['error']}")
        models[c] = dict(path=path, **d)
    clip_n = int(round(a.clip_seconds * 8000))
    vocode_n = int(round(a.vocode_seconds * 8000))
    rf_max = max(m["receptive_field"] for m in models.values())
    codes_n = max(clip_n, vocode_n, rf_max + a.train_window + 50000)
    codes = os.path.join(a.work_dir, "codes.i32")
    d = run_json([exe, "codes", "-n", str(codes_n), "--seed", "1", "-o", codes])
    if "error" in d:
        sys.exit(f"run.py: codes: {d['error']}")

    # the conditional twins (a log-mel vocoder of each config's size, the
    # same seed) and their features: of the whole codes file (training
    # windows read them from their offsets) and of the vocoding clip
    wn = os.path.join(a.build_dir, "wavenet")
    cond_models, feats, vocode_note = {}, {}, None
    if set(a.jobs) & COND_JOBS:
        for c in a.configs:
            path = os.path.join(a.work_dir, f"{c}-cond.safetensors")
            d = run_json([exe, "init", "--config", c, "--seed", "1", "--cond", str(COND_BANDS),
                          "--hop", str(COND_HOP), "--cond-channels", str(COND_CHANNELS),
                          "-o", path])
            if "error" in d:
                sys.exit(f"run.py: init {c} --cond: {d['error']}")
            cond_models[c] = dict(path=path, **d)
        m0 = cond_models[a.configs[0]]["path"]  # every twin has the same recipe
        for name, n in (("train", codes_n), ("vocode", vocode_n)):
            feats[name] = os.path.join(a.work_dir, f"feats-{name}.npy")
            d = run_json([exe, "feats", "-m", m0, "--codes", codes, "-n", str(n), "-o",
                          feats[name]])
            if "error" in d:
                sys.exit(f"run.py: feats: {d['error']}")
            feats[name + "_frames"] = d["frames"]
        # `wavenet vocode` is being written: until the build has it, the
        # vocoding cells run the peer only and say why
        if "vocode" in a.jobs:
            try:
                p = subprocess.run([wn, "vocode", "--help"], capture_output=True, text=True)
                if p.returncode != 0:
                    vocode_note = ("skipped: this build's `wavenet` has no vocode command ("
                                   + ((p.stderr.strip().splitlines() or ["?"])[-1])[:80] + ")")
            except OSError as e:
                vocode_note = f"skipped: no {os.path.relpath(wn, ROOT)} ({e.strerror})"
            if vocode_note:
                log(f"vocode: {vocode_note}")
    vocode_samples = (feats["vocode_frames"] - 1) * COND_HOP if feats else 0

    # the machine's peak: FMA and sgemm
    log(f"peak: FMA and sgemm rates ({a.peak_seconds} s each)")
    peak = run_json([exe, "peak", "--seconds", str(a.peak_seconds), "--threads",
                     str(max(a.threads + [2]))])
    if "error" in peak:
        log(f"peak: {peak['error']}")
        peak = {"fma": [], "sgemm": []}

    def fma_peak(t):
        v = [f["gflops"] for f in peak["fma"] if f["threads"] == t]
        return max(v) if v else None

    def sgemm_ref(config, t):
        v = [g["gflops"] for g in peak["sgemm"]
             if g["shape"] == f"{config}-dilated" and g["threads"] == t]
        return max(v) if v else None

    # the peer's own check: incremental generation == full forward
    checks = {}
    if not a.no_peer:
        for c in a.configs:
            checks[c] = run_json([PY, os.path.join(HERE, "peer.py"), "check", "-m",
                                  models[c]["path"], "--codes", codes, "-n", "200"])
    # the conditional twin: the peer's cached vocoding against its full
    # forward, and its per-sample log-probabilities against the C library's
    # (`wavenet score --per-sample` of a WAV of the decoded codes, given the
    # features `wavenet mel -m` computes for it)
    cond_checks = {}
    if cond_models and not a.no_peer and os.access(wn, os.X_OK):
        wav = os.path.join(a.work_dir, "cond-clip.wav")
        write_codes_wav(codes, min(codes_n, 16000), wav)
        for c in a.configs:
            m = cond_models[c]["path"]
            cf = os.path.join(a.work_dir, f"cond-clip-{c}.npy")
            csv = os.path.join(a.work_dir, f"cond-clip-{c}.csv")
            ps = [subprocess.run(cmd, capture_output=True, text=True) for cmd in
                  ([wn, "mel", "-m", m, wav, "-o", cf],
                   [wn, "score", "-m", m, "--threads", "2", "--per-sample", csv, wav])]
            bad = [p for p in ps if p.returncode != 0]
            cond_checks[c] = ({"error": (bad[0].stderr.strip().splitlines() or ["?"])[-1]}
                              if bad else
                              run_json([PY, os.path.join(HERE, "peer.py"), "check", "-m", m,
                                        "--codes", csv, "--features", cf, "-n", "200"]))
            log(f"peer check, {c} vocoder: {cond_checks[c]}")

    # ---------------------------------------------------------------- jobs
    def blas_variants(t):
        v = set()
        for x in a.peer_blas_threads.split(","):
            v.add(t if x.strip() == "t" else int(x))
        return sorted(v)

    def commands(config, job, t, blas):
        m = (cond_models if job in COND_JOBS else models)[config]["path"]
        sec = str(a.seconds)
        common = ["-m", m, "--threads", str(t), "--seconds", sec]
        peer_py = [PY, os.path.join(HERE, "peer.py")]
        if job in CLI_JOBS:
            # ours: the command, once over vocode_n samples; the peer: its
            # cached generation for --seconds (and at most those samples)
            out = os.path.join(a.work_dir, f"{job}.wav")
            if job == "vocode":
                ours = [wn, "vocode", "-m", m, feats["vocode"], "-o", out]
                peer = ["gen", "--features", feats["vocode"]]
            else:
                ours = [wn, "generate", "-m", m, "--samples", str(vocode_samples), "-o", out]
                peer = ["gen"]
            ours += ["--threads", str(t), "--seed", "1", "--json"]
            peer += ["--streams", "1", "--min-steps", "50" if a.quick else "200"]
            return ours, peer_py + peer + common + ["--blas-threads", str(blas)]
        if job == "gen1" or job == "gen8" or job in REDUCED_OF:
            streams = "1" if job.startswith("gen1") else "8"
            ours = ["gen", "--streams", streams, "--min-steps", "300" if a.quick else "2000"]
            if job in REDUCED_OF:
                ours += ["--precision", PRECISION_OF[job]]
            peer = ["gen", "--streams", streams, "--min-steps", "50" if a.quick else "200"]
        elif job == "score":
            ours = ["score", "--codes", codes, "-n", str(clip_n)]
            peer = ours + ["--chunk", str(a.peer_chunk)]
        else:  # train1: a batch of one window, which threads share by time
            ours = ["train", "--codes", codes, "--batch", "1" if job == "train1" else str(a.batch),
                    "--window", str(a.train_window)]
            if job == "train-cond":
                ours += ["--features", feats["train"]]
            peer = list(ours)
        pc = peer_py + peer + common + ["--blas-threads", str(blas)]
        return [exe] + ours + common, pc

    results = {}  # (config, job, threads) -> {"ours": [...], "peer": [...]}
    cells = [(c, j, t) for c in a.configs for j in a.jobs for t in a.threads]
    # Debian's torch calls OpenBLAS (pthreads), whose thread pool torch's
    # set_num_threads does not govern; on 2 cores torch's OpenMP threads and
    # OpenBLAS's then spin against each other. The peer runs with each
    # OpenBLAS thread count asked for and is credited with its best median.
    for i, (c, j, t) in enumerate(cells):
        r = results.setdefault((c, j, t), {"ours": [], "peer": [], "peer_variants": {}})
        sides = ["ours"] + ([] if a.no_peer or j in REDUCED_OF
                            else [f"peer{b}" for b in blas_variants(t)])
        for rep in range(a.reps):
            for side in (sides if rep % 2 == 0 else sides[::-1]):
                env = dict(env_ours, OMP_NUM_THREADS=str(t))
                b = int(side[4:]) if side != "ours" else 1
                ours_cmd, peer_cmd = commands(c, j, t, b)
                if side != "ours":
                    d = run_json(peer_cmd, env=env, timeout=a.timeout)
                elif j == "vocode" and vocode_note:
                    d = {"skipped": vocode_note}
                elif j in CLI_JOBS:
                    d = run_cli(ours_cmd, ours_cmd[ours_cmd.index("-o") + 1], env=env,
                                timeout=a.timeout)
                else:
                    d = run_json(ours_cmd, env=env, timeout=a.timeout)
                if side == "ours":
                    r["ours"].append(d)
                else:
                    d["blas_threads"] = b
                    r["peer_variants"].setdefault(b, []).append(d)
                msg = d.get("error") or d.get("skipped") or \
                    f"{d['samples_per_s']:,.0f} samples/s, peak {d['max_rss'] / (1 << 20):,.0f} MiB"
                who = "ours" if side == "ours" else f"peer (OpenBLAS threads {b})"
                log(f"[{i + 1}/{len(cells)}] {c} {j} threads={t} rep {rep + 1}/{a.reps} "
                    f"{who}: {msg}")
        if j in REDUCED_OF and (c, REDUCED_OF[j], t) in results:
            r["peer_variants"] = results[(c, REDUCED_OF[j], t)]["peer_variants"]
        # the peer's best OpenBLAS setting
        best = None
        for b, runs in r["peer_variants"].items():
            v = [d["samples_per_s"] for d in runs if "error" not in d]
            m = statistics.median(v) if v else -1
            if best is None or m > best[0]:
                best = (m, b)
        if best:
            r["peer"], r["peer_blas"] = r["peer_variants"][best[1]], best[1]

    hour = {}
    if a.hour:
        for c in a.hour_configs:
            log(f"scoring an hour ({a.hour_samples:,} samples) with the {c} model, 2 threads ...")
            hour[c] = run_json([exe, "score", "-m", models[c]["path"], "--synth",
                                str(a.hour_samples),
                                "--threads", "2", "--no-warmup"],
                               env=dict(env_ours, OMP_NUM_THREADS="2"), timeout=a.timeout)
            d = hour[c]
            log(f"  {d.get('error') or fmib(d['max_rss']) + ' peak, ' + fnum(d['samples_per_s']) + ' samples/s'}")

    # what f16 weights and int8 products cost: the shipped model on its
    # validation clips, scored at each precision (`score --precision f16` /
    # `int8` scores exactly what f16 / int8 generation samples from). The
    # results.json key stays "f16_cost" (it holds "f32", "f16", "int8" and
    # "samples"); the int8 figure is also under "int8_cost".
    f16cost = {}
    if any(j in REDUCED_OF for j in a.jobs):
        wn = os.path.join(a.build_dir, "wavenet")
        shipped = os.path.join(ROOT, "models", "wavenet-speech.safetensors")
        with open(os.path.join(ROOT, "models", "valid.txt")) as f:
            clips = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        if os.access(wn, os.X_OK) and clips and all(os.path.exists(p) for p in clips):
            for prec in ("f32", "f16", "int8"):
                out = subprocess.run([wn, "score", "-m", shipped, "--json", "--threads", "2",
                                      "--precision", prec] + clips,
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    log(f"score --precision {prec}: exit {out.returncode}: "
                        + ((out.stderr.strip().splitlines() or ["?"])[-1]))
                else:
                    rows_ = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
                    n_ = sum(r_["samples"] for r_ in rows_)
                    f16cost[prec] = sum(r_["nll_nats"] for r_ in rows_) / n_ / math.log(2)
                    f16cost["samples"] = n_
            log(f"f16 / int8 cost on the shipped model: {f16cost}")

    finished = datetime.datetime.now(datetime.timezone.utc)
    load_end = loadavg()

    # ---------------------------------------------------------------- summary
    def ok(runs):
        return [d for d in runs if "error" not in d and "skipped" not in d]

    def med(c, j, t, side, key="samples_per_s"):
        r = results.get((c, j, t))
        v = [d[key] for d in ok(r[side])] if r else []
        return statistics.median(v) if v else None

    def peak_rss(c, j, t, side):
        r = results.get((c, j, t))
        v = [d["max_rss"] for d in ok(r[side])] if r else []
        return max(v) if v else None

    def gflops(c, j, sps):
        if sps is None:
            return None
        return sps * macs_per_sample(CONFIGS[c], j in COND_JOBS) * 2 \
            * (3 if j.startswith("train") else 1) / 1e9

    rows = []
    for (c, j, t) in cells:
        o, p = med(c, j, t, "ours"), med(c, j, t, "peer")
        go, gp = gflops(c, j, o), gflops(c, j, p)
        fp = fma_peak(t)
        rr = results[(c, j, t)]
        errs = [d.get("error") or d["skipped"]
                for d in rr["ours"] + [x for v in rr["peer_variants"].values() for x in v]
                if "error" in d or "skipped" in d]
        pb = ""
        if len(rr["peer_variants"]) > 1:
            pb = " (BLAS " + ", ".join(
                f"{b}: " + fnum(statistics.median([d["samples_per_s"] for d in v
                                                   if "error" not in d] or [0]))
                for b, v in sorted(rr["peer_variants"].items())) + ")"
        rows.append([c, JOB_TITLE[j], t, fnum(o), fnum(p) + pb,
                     fratio(o / p if o and p else None),
                     fnum(go, 1) + (f" ({100 * go / fp:.0f}%)" if go and fp else ""),
                     fnum(gp, 1), fmib(peak_rss(c, j, t, "ours")),
                     fmib(peak_rss(c, j, t, "peer")),
                     "; ".join(sorted(set(errs)))[:120]])

    targets = []

    def tgt(name, target, measured, passed):
        result = "—" if passed is None or measured == "—" else ("PASS" if passed else "FAIL")
        targets.append([name, target, measured, result])

    o = med("small", "gen1", 1, "ours")
    tgt("generation, small, 1 stream, 1 thread", "≥ 100,000 samples/s",
        fnum(o) if o else "—", o is not None and o >= 100000)
    p2 = med("small", "gen1", 2, "peer")
    r = o / p2 if o and p2 else None
    tgt("… against the peer's cached generation (small, 1 stream, 2 threads)", "≥ 50× the peer",
        fratio(r) + (f" ({fnum(p2)} samples/s)" if p2 else "") if r else "—",
        r is not None and r >= 50)
    o = med("small", "gen8", 2, "ours")
    tgt("generation, small, 8 streams, 2 threads", "≥ 350,000 samples/s in total",
        fnum(o) if o else "—", o is not None and o >= 350000)
    for j1, j8, what in (("gen1h", "gen8h", "f16 weights"), ("gen1q", "gen8q", "int8 products")):
        o = med("small", j1, 1, "ours")
        tgt(f"generation, small, 1 stream, 1 thread, {what}", "≥ 100,000 samples/s",
            fnum(o) if o else "—", o is not None and o >= 100000 if o else None)
        r = o / p2 if o and p2 else None
        tgt(f"… {what}, against the peer (small, 1 stream, 2 threads)", "≥ 50× the peer",
            fratio(r) if r else "—", r is not None and r >= 50 if r else None)
        o = med("small", j8, 2, "ours")
        tgt(f"generation, small, 8 streams, 2 threads, {what}", "≥ 350,000 samples/s in total",
            fnum(o) if o else "—", o is not None and o >= 350000 if o else None)
    o = med("large", "gen1", 1, "ours")
    tgt("generation, large, 1 stream, 1 thread", "≥ 16,000 samples/s",
        fnum(o) if o else "—", o is not None and o >= 16000)
    for j, what in (("gen1h", "f16 weights"), ("gen1q", "int8 products")):
        o = med("large", j, 1, "ours")
        tgt(f"generation, large, 1 stream, 1 thread, {what}", "≥ 16,000 samples/s",
            fnum(o) if o else "—", o is not None and o >= 16000 if o else None)
    for c in ("small", "large"):
        o, p = med(c, "score", 2, "ours"), med(c, "score", 2, "peer")
        r = o / p if o and p else None
        tgt(f"scoring, {c}, 2 threads", "≥ 3× the peer", fratio(r) if r else "—",
            r is not None and r >= 3)
        g, ref = gflops(c, "score", o), sgemm_ref(c, 2)
        tgt(f"scoring, {c}, 2 threads", "≥ ½ the BLAS sgemm rate "
            f"({c}-dilated product, 2 threads)",
            f"{g:.1f} of {ref:.1f} GFLOP/s ({g / ref:.2f})" if g and ref else "—",
            g is not None and ref is not None and g >= 0.5 * ref)
    for c in ("small", "large"):
        o, p = med(c, "train", 2, "ours"), med(c, "train", 2, "peer")
        r = o / p if o and p else None
        tgt(f"training, {c}, 2 threads", "≥ 1.5× the peer (positions with a loss)",
            fratio(r) if r else "—", r is not None and r >= 1.5)
    for c in ("small", "large"):
        d = hour.get(c)
        if d and "error" not in d:
            tgt(f"memory: scoring an hour ({d['n']:,} samples), {c}, 2 threads",
                "peak RSS < 1 GiB", fmib(d["max_rss"]), d["max_rss"] < GIB)
        else:
            tgt(f"memory: scoring an hour, {c}", "peak RSS < 1 GiB",
                d["error"] if d else "not run (" + ("not in --hour-configs" if a.hour else
                                                    "--quick" if a.quick else "--no-hour") + ")",
                False if d else None)

    def ours_ok(c, j, t):
        return ok(results.get((c, j, t), {"ours": []})["ours"])

    genmem = {}
    for c in a.configs:
        g1 = ours_ok(c, "gen1", 1) or ours_ok(c, "gen1", 2)
        g8 = ours_ok(c, "gen8", 2) or ours_ok(c, "gen8", 1)
        if not g1:
            tgt(f"memory: generation state, {c}", "< 2× the weights", "—", False)
            continue
        w, h1 = g1[0]["weights_bytes"], g1[0]["gen_heap_bytes"]
        genmem[c] = dict(weights=w, heap1=h1, ring1=g1[0]["gen_ring_bytes"],
                         rss1=g1[0]["gen_rss_bytes"],
                         heap8=g8[0]["gen_heap_bytes"] if g8 else None)
        tgt(f"memory: generation state, {c}, 1 stream", "< 2× the weights",
            f"{h1 / 1024:,.0f} KiB = {h1 / w:.2f}× the weights ({w / 1024:,.0f} KiB)"
            if h1 >= 0 else "—", 0 <= h1 < 2 * w)

    # ---------------------------------------------------------------- report
    kern = info.get("kernels", "?")
    forced = info.get("WN_KERNELS") or ""
    model = cpu.get("Model name", platform.processor() or "?")
    cores = cpu.get("Core(s) per socket", "?")
    sockets = cpu.get("Socket(s)", "1")
    md = []
    title = "# Benchmark: wavenet against PyTorch (issue 5)"
    md.append(title)
    md.append("")
    if a.quick:
        md.append("**QUICK SMOKE RUN** (`--quick`): short inputs, one repetition, one unit "
                  "of work timed after the warm-up. The figures below only show that every "
                  "job runs; they are not the benchmark.")
        md.append("")
    if float(load_start[0]) > 0.5 or float(load_end[0]) > 0.5:
        md.append(f"**The machine was not idle** (load average {load_start[0]} at the start, "
                  f"{load_end[0]} at the end): timings are disturbed.")
        md.append("")
    md.append(f"- Date: {started:%Y-%m-%d %H:%M} – {finished:%H:%M} UTC")
    md.append(f"- Machine: {model}; {cpu.get('CPU(s)', os.cpu_count())} CPUs, "
              f"{cores} cores × {sockets} socket(s), {cpu.get('Thread(s) per core', '?')} "
              f"thread(s) per core; L2 {cpu.get('L2 cache', '?')}, L3 {cpu.get('L3 cache', '?')}"
              f"{'; ' + cpu['Hypervisor vendor'] + ' guest' if cpu.get('Hypervisor vendor') else ''}; "
              f"Linux {platform.release()}")
    md.append(f"- Load average at the start / end: {' '.join(load_start)} / {' '.join(load_end)}")
    md.append(f"- Ours: kernels `{kern}`"
              + (f" (forced by WN_KERNELS={forced})" if forced else
                 " (the library's run-time choice; WN_KERNELS unset)")
              + f"; BLAS: {info.get('openblas_config', '?')} (core {info.get('openblas_core', '?')}); "
              f"gcc {info.get('compiler', '?')}, OpenMP {info.get('openmp', '?')}; "
              f"binary {os.path.relpath(exe, ROOT)}")
    if not a.no_peer:
        md.append(f"- Peer: PyTorch {peer_info.get('torch', '?')} (Debian python3-torch), "
                  f"numpy {peer_info.get('numpy', '?')}, Python {peer_info.get('python', '?')}; "
                  f"libraries loaded: {', '.join(peer_info.get('libs', []))}; "
                  f"torch.set_num_threads and OMP_NUM_THREADS = the thread count; "
                  f"OPENBLAS_NUM_THREADS tried: {a.peer_blas_threads} ('t' = the thread "
                  f"count), the best median counts (Debian's torch calls OpenBLAS, whose "
                  f"threads torch does not govern: they and torch's OpenMP threads can spin "
                  f"against each other)")
    md.append(f"- Command: `{' '.join(['bench/run.py'] + sys.argv[1:])}`; {a.reps} "
              f"repetition(s) per cell, each ≥ {a.seconds:g} s timed after a warm-up; "
              f"ours and the peer alternate (who goes first swaps every repetition); "
              f"medians of samples/s, largest peak RSS")
    md.append(f"- Work: generation from silence (temperature 1, full softmax); scoring "
              f"{clip_n:,} samples ({clip_n / 8000:g} s at 8 kHz, a random walk over the "
              f"codes); training batch {a.batch} × (RF + {a.train_window:,}), Adam, "
              f"samples = {a.batch} × {a.train_window:,} positions with a loss per step; "
              f"'one window': batch 1, which our threads share by chunks of time and "
              f"PyTorch's by splitting each operation")
    md.append("")
    md.append("## Machine peak")
    md.append("")
    frows = [[f["isa"], f["threads"], fnum(f["gflops"], 1)] for f in peak["fma"]]
    md.append(table(["FP32 FMA loop", "threads", "GFLOP/s"], frows))
    md.append("")
    srows = [[g["shape"], f"{g['M']}×{g['N']}×{g['K']}", g["threads"],
              "OpenBLAS threads" if g["mode"] == "openblas" else "concurrent 1-thread calls",
              fnum(g["gflops"], 1)] for g in peak["sgemm"]]
    md.append(table(["sgemm (NoTrans × Trans)", "M×N×K", "threads", "how", "GFLOP/s"], srows))
    md.append("")
    md.append("## Results")
    md.append("")
    md.append(table(["config", "job", "threads", "ours samples/s", "peer samples/s",
                     "ours / peer", "ours GFLOP/s (% of FMA peak)", "peer GFLOP/s",
                     "ours peak RSS", "peer peak RSS", "errors"], rows))
    md.append("")
    md.append("MACs per sample = L(4RD + DR + DS) + S² + SQ: "
              + ", ".join(f"{c} {macs_per_sample(CONFIGS[c]):,}" for c in CONFIGS)
              + "; a log-mel twin adds L·2D·C for the layers' cond products and "
              "2C² per row of each upsampler stage: "
              + ", ".join(f"{c} {macs_per_sample(CONFIGS[c], True):,.0f}" for c in CONFIGS)
              + "; GFLOP/s = samples/s × 2 × MACs (training: × 3, forward and backward). "
              "The FMA peak is the best FMA loop at that thread count. Peak RSS is "
              "getrusage's ru_maxrss of the job's own process (the peer's includes "
              "PyTorch itself: "
              + (fmib(statistics.median([d["base_rss"] for r in results.values()
                                         for d in ok(r["peer"])]))
                 if any(ok(r["peer"]) for r in results.values()) else "—")
              + " after import and model load).")
    md.append("")
    md.append("## Targets")
    md.append("")
    md.append(table(["job", "target", "measured", "result"], targets))
    md.append("")
    if f16cost.get("f16") is not None and f16cost.get("f32") is not None:
        md.append(f"f16 weights (`wavenet generate --precision f16`, opt-in; float32 "
                  f"arithmetic, the weights of the per-sample products stored as IEEE "
                  f"halves): the shipped model scores {f16cost['f32']:.6f} bits/sample "
                  f"on its {f16cost['samples']:,} validation samples with float32 weights "
                  f"and {f16cost['f16']:.6f} with them rounded to half "
                  f"(`wavenet score --precision f16`, exactly the model f16 generation "
                  f"samples from): a cost of {f16cost['f16'] - f16cost['f32']:+.6f} "
                  f"bits/sample. Scoring and training always use float32.")
        md.append("")
    if f16cost.get("int8") is not None and f16cost.get("f32") is not None:
        md.append(f"int8 products (`wavenet generate --precision int8`, opt-in: 8-bit "
                  f"weights with a scale per output, each product's input quantised to 7 "
                  f"bits, exact integer sums): the shipped model scores "
                  f"{f16cost['int8']:.6f} bits/sample on its {f16cost['samples']:,} "
                  f"validation samples (`wavenet score --precision int8` scores exactly "
                  f"what int8 generation samples), against {f16cost['f32']:.6f} in "
                  f"float32: a cost of {f16cost['int8'] - f16cost['f32']:+.6f} bits/sample.")
        md.append("")
    if genmem:
        md.append("Generation state: what `wn_gen_create` (+ prime) allocates, from "
                  "glibc's mallinfo2 (bytes in use before and after; exact, whether touched "
                  "or not). It holds the per-layer queues (B × R × Σd floats), the weights "
                  "re-packed for the per-sample kernels, the scratch of one step and, when a "
                  "thread runs a single stream, the queues of tap-0 products (B × Σd × 2D "
                  "floats), which is why one stream costs more than "
                  "each further one.")
        md.append("")
        gm = []
        for c, g in genmem.items():
            per = (g["heap8"] - g["heap1"]) / 7 if g["heap8"] is not None else None
            gm.append([c, f"{g['weights'] / 1024:,.0f} KiB", f"{g['heap1'] / 1024:,.0f} KiB",
                       f"{g['ring1'] / 1024:,.0f} KiB",
                       f"{per / 1024:,.0f} KiB" if per is not None else "—",
                       f"{g['rss1'] / 1024:,.0f} KiB"])
        md.append(table(["config", "weights", "wn_gen, 1 stream", "its queues",
                         "each further stream", "RSS growth, 1 stream"], gm))
        md.append("")
    if hour:
        md.append(f"Scoring an hour: `wavenet-bench score --synth {a.hour_samples} --threads 2` "
                  f"(the codes, 4 bytes each, are in memory: "
                  f"{a.hour_samples * 4 / (1 << 20):,.0f} MiB of the peak).")
        for c, d in hour.items():
            md.append(f"- {c}: " + (d["error"] if "error" in d else
                                    f"peak RSS {fmib(d['max_rss'])}, "
                                    f"{fnum(d['samples_per_s'])} samples/s, "
                                    f"{d['seconds']:.0f} s"))
        md.append("")
    md.append("## Cross-checks (same weights, same data)")
    md.append("")
    xr = []
    for c in a.configs:
        so = [d for d in ok(results.get((c, "score", a.threads[0]), {"ours": []})["ours"])]
        sp = [d for d in ok(results.get((c, "score", a.threads[0]), {"peer": []})["peer"])]
        if so and sp:
            x, y = so[0]["bits_per_sample"], sp[0]["bits_per_sample"]
            xr.append([c, "scoring, bits/sample", f"{x:.7f}", f"{y:.7f}", f"{abs(x - y):.1e}",
                       "ok" if abs(x - y) < 1e-5 else "MISMATCH"])
        for tj, what in (("train", "training"), ("train-cond", "log-mel training")):
            to = [d for d in ok(results.get((c, tj, a.threads[0]), {"ours": []})["ours"])]
            tp = [d for d in ok(results.get((c, tj, a.threads[0]), {"peer": []})["peer"])]
            if not (to and tp):
                continue
            x, y = to[0]["loss0"], tp[0]["loss0"]
            xr.append([c, f"{what}, first loss (nats)", f"{x:.7f}", f"{y:.7f}",
                       f"{abs(x - y):.1e}", "ok" if abs(x - y) < 1e-5 else "MISMATCH"])
            if to[0]["steps"] == tp[0]["steps"] == 1:
                x, y = to[0]["loss_last"], tp[0]["loss_last"]
                xr.append([c, f"{what}, loss after one Adam step", f"{x:.7f}", f"{y:.7f}",
                           f"{abs(x - y):.1e}", "ok" if abs(x - y) < 1e-5 else "MISMATCH"])
        ch = checks.get(c)
        if ch:
            xr.append([c, "peer: incremental generation vs full forward, largest logit difference", "",
                       "", f"{ch['max_abs_diff']:.1e}" if "error" not in ch else ch["error"],
                       "ok" if ch.get("ok") else "MISMATCH"])
        ch = cond_checks.get(c)
        if ch and "error" in ch:
            xr.append([c, "log-mel vocoder: peer check", "", "", ch["error"], "error"])
        elif ch:
            xr.append([c, "log-mel vocoder: peer's cached generation (cond products by "
                       "blocks) vs its full forward, largest logit difference", "", "",
                       f"{ch['max_abs_diff']:.1e}", "ok" if ch["max_abs_diff"] <= 1e-4 *
                       max(1, ch["max_abs_logit"]) else "MISMATCH"])
            xr.append([c, f"log-mel vocoder: per-sample log p of {ch['ref_n']:,} samples, "
                       f"`wavenet score --per-sample` vs the peer's forward, worst (nats)",
                       "", "", f"{ch['ref_logp_max_abs_diff']:.1e}",
                       "ok" if ch["ref_logp_max_abs_diff"] <= 1e-4 else "MISMATCH"])
    md.append(table(["config", "what", "ours", "peer", "difference", ""], xr)
              if xr else "(no scoring or training jobs ran)")
    md.append("")
    if cond_models:
        md.append("## Conditioning")
        md.append("")
        md.append(f"Each config's log-mel twin: {COND_BANDS} bands, hop {COND_HOP} "
                  f"(transposed convs {'×'.join(map(str, COND_STRIDES))}), the same layers; "
                  f"features of the decoded codes (`wavenet-bench feats`). Vocoding: "
                  f"{feats['vocode_frames']:,} frames, {vocode_samples:,} samples; ours is "
                  f"`wavenet vocode` once over them (its --json timing), the peer its cached "
                  f"generation with the cond products of 1,024 samples in one matmul, "
                  f"for ≥ {a.seconds:g} s. `generation, the command` is the unconditional "
                  f"model through `wavenet generate` (the same number of samples) and the "
                  f"peer's unconditional generation, so that 'conditional / unconditional' "
                  f"is the per-sample cost of conditioning on each side, both measured in "
                  f"this run, alternating.")
        md.append("")
        cr = []
        for c in a.configs:
            for t in a.threads:
                for side in ("ours", "peer"):
                    pairs = (("gen1cmd", "vocode", "generation"), ("train", "train-cond", "training"))
                    for ju, jc, what in pairs:
                        u, v = med(c, ju, t, side), med(c, jc, t, side)
                        if u is None and v is None:
                            continue
                        cr.append([c, what, t, side, fnum(u), fnum(v),
                                   f"{v / u:.3f}" if u and v else "—"])
        md.append(table(["config", "job", "threads", "side", "unconditional samples/s",
                         "log-mel conditioned samples/s", "conditional / unconditional"], cr)
                  if cr else "(no conditioning job ran)")
        md.append("")
        if vocode_note:
            md.append(f"`vocode`, ours: {vocode_note}.")
            md.append("")
    text = "\n".join(md) + "\n"
    with open(a.out + ".tmp", "w") as f:
        f.write(text)
    os.replace(a.out + ".tmp", a.out)
    raw = {"started": started.isoformat(), "finished": finished.isoformat(),
           "args": vars(a), "lscpu": cpu, "info": info, "peer_info": peer_info,
           "peak": peak, "checks": checks, "cond_checks": cond_checks,
           "cond_models": cond_models, "vocode_note": vocode_note,
           "hour": hour, "f16_cost": f16cost,
           "int8_cost": ({k: f16cost[k] for k in ("f32", "int8", "samples") if k in f16cost}
                         if "int8" in f16cost else {}),
           "results": [{"config": c, "job": j, "threads": t,
                        **{k: v for k, v in r.items() if k != "peer_variants"},
                        "peer_variants": {str(b): v for b, v in r["peer_variants"].items()}}
                       for (c, j, t), r in results.items()]}
    with open(os.path.join(a.work_dir, "results.json"), "w") as f:
        json.dump(raw, f, indent=1)
    print(text)
    log(f"wrote {os.path.relpath(a.out, os.getcwd())} and "
        f"{os.path.relpath(os.path.join(a.work_dir, 'results.json'), os.getcwd())}")


if __name__ == "__main__":
    main()
