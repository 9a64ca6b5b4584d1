#!/usr/bin/env bash
# Draw a training run's learning curve (the CSV of `wavenet train --log`) as a
# PNG: training and validation bits/sample against training minutes, with
# optional horizontal lines for baselines ("NAME=BITS").
#   tools/plot_curve.sh train.csv curve.png [bigram=5.952 lpc16-adaptive=5.501 ...]
# Needs gnuplot (Debian: gnuplot-nox); used for the model cards only.
# YRANGE=LO:HI sets the bits axis (default: from the figures).
set -euo pipefail
csv=$1 png=$2
shift 2
lines=""
for b in "$@"; do
    name=${b%%=*} val=${b#*=}
    lines="$lines, $val with lines dashtype 2 linewidth 1.5 title '$name ($val)'"
done
tmp="$png.tmp.$$"
valid="$png.valid.$$"
trap 'rm -f "$tmp" "$valid"' EXIT
# the validation rows: logs before 2026-11-28 (models/train.csv) repeat the last
# figure on every row, so keep the rows where it changes
awk -F, 'NR > 1 && $4 != "" && $4 != last { print $2 "," $4; last = $4 }' "$csv" > "$valid"
# the bits axis: YRANGE=LO:HI, else from the validation figures (and the
# baselines) up to where the training batches mostly lie
yrange=${YRANGE:-$(awk -F, -v base="$*" '
    NR == FNR { if ($2 != "" && (lo == "" || $2 < lo)) lo = $2; next }
    FNR > 1 && $3 != "" { n++; s += $3; ss += $3 * $3 }
    END {
        m = split(base, b, /[ =]/)
        for (i = 2; i <= m; i += 2) if (b[i] + 0 > hi0) hi0 = b[i] + 0
        hi = n ? s / n + 2 * sqrt(ss / n - (s / n) ^ 2) : lo + 1
        if (hi0 > hi) hi = hi0
        printf "%g:%g", int((lo - 0.25) * 2) / 2, int((hi + 0.75) * 2) / 2
    }' "$valid" "$csv")}
gnuplot <<GP
set terminal pngcairo size 900,540 font 'DejaVu Sans,11'
set output '$tmp'
set datafile separator ','
set datafile missing ''
set key top right
set grid
set xlabel 'training time (minutes)'
set ylabel 'bits per sample (mu-law codes)'
set title 'wavenet: learning curve'
set yrange [$yrange]
plot '$csv' every ::1 using (\$2/60):3 with lines linewidth 1 linecolor rgb '#6688aa' title 'training (batch)', \
     '$valid' using (\$1/60):2 with linespoints pointtype 7 pointsize 0.8 linewidth 2 linecolor rgb '#c33' title 'validation (new values)' $lines
GP
mv "$tmp" "$png"
