#!/usr/bin/env bash
# tests/test_bench.sh BUILD_DIR - the benchmark of issue 5 (bench/) still
# runs end to end. Not a measurement: no figure is compared with a target
# here (timings belong to bench/run.sh on an idle machine). It checks that
# `bench/run.py --quick --no-peer` (our side only: CI has no PyTorch) runs
# every job of `small` on 1 and 2 threads without an error, that its JSON
# and its report hold every cell (the conditioning jobs on the log-mel twin
# too; `vocode` skipped with its note while `wavenet` has no vocode command),
# the machine's peak, the reduced-precision costs, the generation state and
# the conditioning table, and that `wavenet-bench ab` answers with
# both sides' rates and refuses a wrong flag in one line.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: test_bench.sh BUILD_DIR}" && pwd)
B=$build/bench/wavenet-bench
tmp=$(mktemp -d "${TMPDIR:-/tmp}/wnbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export PYTHONDONTWRITEBYTECODE=1 # importing run.py must not write into the source tree

/usr/bin/python3 "$src/bench/run.py" --quick --no-peer --configs small --threads 1,2 \
    --build-dir "$build" --work-dir "$tmp" --out "$tmp/R.md" > "$tmp/log" 2>&1 || {
    cat "$tmp/log"
    echo "test_bench: bench/run.py failed" >&2
    exit 1
}

# `wavenet vocode` is written apart: until the build has it, the vocoding
# cells must say so (skipped), and only then
vocode=0
"$build/wavenet" vocode --help > /dev/null 2>&1 && vocode=1

/usr/bin/python3 - "$tmp" "$src/bench/run.py" "$vocode" <<'EOF'
import json, math, os, sys
tmp, runpy, has_vocode = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sys.path.insert(0, os.path.dirname(runpy))
import run  # the driver's own job list and titles
bad = []
d = json.load(open(os.path.join(tmp, "results.json")))
cells = {(r["config"], r["job"], r["threads"]): r for r in d["results"]}
for job in run.JOBS:
    for t in (1, 2):
        r = cells.get(("small", job, t))
        if r is None:
            bad.append(f"no cell small/{job}/{t}")
            continue
        ours = r.get("ours") or []
        if job == "vocode" and not has_vocode:
            if not ours or not all("no vocode command" in x.get("skipped", "") for x in ours):
                bad.append(f"small/{job}/{t}: not skipped without wavenet vocode: {ours}")
            continue
        errs = [x.get("error") or x.get("skipped") for x in ours if "error" in x or "skipped" in x]
        if not ours or errs:
            bad.append(f"small/{job}/{t}: {errs or 'no run'}")
        elif not all(x["samples_per_s"] > 0 and x["max_rss"] > 0 for x in ours):
            bad.append(f"small/{job}/{t}: {ours}")
for t in (1, 2):
    if not any(f["threads"] == t and f["gflops"] > 0 for f in d["peak"]["fma"]):
        bad.append(f"no FMA peak on {t} thread(s)")
if not any(g["shape"] == "small-dilated" and g["gflops"] > 0 for g in d["peak"]["sgemm"]):
    bad.append("no sgemm rate for small-dilated")
# the shipped model's validation clips at three precisions: close, not
# equal (rounding the weights to half can land a hair better: the speech
# model of 2026-12-06 scores 0.000004 lower at f16)
for key, lo, hi in (("f16_cost", -1e-3, 1e-3), ("int8_cost", 0, 0.05)):
    c = d.get(key) or {}
    p = "f16" if key == "f16_cost" else "int8"
    cost = c.get(p, math.nan) - c.get("f32", math.nan)
    if not (c.get("samples", 0) > 0 and math.isfinite(cost) and cost != 0 and lo <= cost < hi):
        bad.append(f"{key}: {c}")
md = open(os.path.join(tmp, "R.md")).read()
for needle in ["## Machine peak", "## Results", "## Targets", "## Conditioning",
               "| small | generation | 1 | ours |", "| small | training | 2 | ours |",
               "| generation, small, 8 streams, 2 threads, int8 products |",
               "| memory: generation state, small, 1 stream |",
               "| small | generation, 8 streams, int8 products | 2 |"]:
    if needle not in md:
        bad.append(f"the report lacks {needle!r}")
for title in run.JOB_TITLE.values():
    for t in (1, 2):
        if f"| small | {title} | {t} |" not in md:
            bad.append(f"the report has no row for {title}, {t} thread(s)")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print(f"bench: {len(cells)} cells, report of {len(md.splitlines())} lines")
EOF

# ab: two generators of one model in one process, both sides' rates
"$B" ab -m "$tmp/small.safetensors" --streams 2 --threads 1 --precision int8 \
    --b-precision f16 --block 256 --seconds 0.3 > "$tmp/ab.json"
/usr/bin/python3 - "$tmp/ab.json" <<'EOF'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
d = json.loads(lines[-1])
assert d["job"] == "ab" and d["rounds"] >= 2, d
assert d["a"]["samples_per_s"] > 0 and d["b"]["samples_per_s"] > 0, d
assert d["b"]["precision"] == "f16" and d["a"]["precision"] == "int8", d
print("ab:", d["rounds"], "rounds, b/a", d["b_over_a"])
EOF
rc=0
"$B" ab -m "$tmp/small.safetensors" --bogus > "$tmp/out" 2>&1 || rc=$?
if [[ $rc -ne 2 || $(wc -l < "$tmp/out") -ne 1 ]] || ! grep -q "unknown option --bogus" "$tmp/out"; then
    echo "test_bench: 'wavenet-bench ab --bogus' exited $rc:" >&2
    cat "$tmp/out" >&2
    exit 1
fi
rc=0
"$B" ab -m "$tmp/small.safetensors" --streams > "$tmp/out" 2>&1 || rc=$?
if [[ $rc -ne 2 || $(wc -l < "$tmp/out") -ne 1 ]] || ! grep -q -- "--streams needs a value" "$tmp/out"; then
    echo "test_bench: 'wavenet-bench ab --streams' (no value) exited $rc:" >&2
    cat "$tmp/out" >&2
    exit 1
fi
echo "test_bench: ok"
