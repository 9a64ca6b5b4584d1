#!/bin/sh
# vocoder-v6: the shipped speech model plus fine-hop log-mel conditioning
# (hop 8 = 1 ms, fft 32, 10 bands), whole clips, as vocoder-v3/v4 trained
B=../../build/wavenet
$B train -m start.safetensors -o best.safetensors --train-list ../../models/speech-train.txt \
    --valid-list ../../models/speech-valid.txt --steps 6000 --batch 16 --window 2048 \
    --lr 3e-4 --warmup 200 --decay cosine:0.05 --gain-jitter 6 --trim-db 0 \
    --valid-every 250 --checkpoint-every 250 --keep-weights kept --threads 1 --seed 3 \
    --log train.csv --checkpoint train.ckpt > train.out 2>&1
