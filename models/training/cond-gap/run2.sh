#!/bin/sh
# the conditioning experiment, longer: 8,000 steps each (runs/xcond2/README
# in models/training/xcond); $1 = which of uncond c16 c80
B=../../build/wavenet
m=$1
$B train -m $m.safetensors -o $m-8k-best.safetensors --train-list train.txt --valid-list valid.txt \
    --steps 8000 --batch 8 --window 2048 --lr 1e-3 --warmup 100 --decay cosine:0.1 \
    --trim-db 0 --valid-every 500 --checkpoint-every 500 --threads 1 --seed 3 \
    --log $m-8k.csv --checkpoint $m-8k.ckpt > $m-8k.out 2>&1
