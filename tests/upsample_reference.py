#!/usr/bin/python3
"""upsample_reference.py - PyTorch's Conv1d and ConvTranspose1d as the
independent reference of the upsampler (src/upsample.h) that
tests/test_upsample.c compares against.

Run by hand (CI never has torch; it uses the committed fixture):

    /usr/bin/python3 tests/upsample_reference.py

writes tests/fixtures/upsample_ref.safetensors, a frames conv then two
transposed-conv stages (strides 4 and 2, kernel 2s, padding s/2: hop 8),
names as docs/FORMAT.md proposes, weights in PyTorch's layout:
    mel                     F32 (F, M)       input frames, time-major
    upsample.pre.weight     F32 (C, M, 3)    Conv1d(M, C, 3, padding=1)
    upsample.pre.bias       F32 (C)
    upsample.{i}.weight     F32 (C, C, 2s_i) ConvTranspose1d(C, C, 2s_i,
    upsample.{i}.bias       F32 (C)            stride=s_i, padding=s_i/2)
    g                       F32 (F hop, C)   fixed weights of the loss
    pre_out                 F32 (F, C)       after the frames conv
    up0_out                 F32 (4F, C)      after stage 0
    out                     F32 (F hop, C)   after stage 1
    loss                    F64 (1)          sum(out * g)
    grad.<name>             F32 (shape)      d loss / d <name>, for mel and
                                             every weight and bias
    __metadata__: frames, mels, channels, strides (comma-separated)
The reference is computed in float64 from the stored float32 values.
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_reference import write_safetensors  # noqa: E402 (one writer)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "upsample_ref.safetensors")

F, M, C = 7, 5, 8   # M != C: a swapped pre-conv shape cannot pass
STRIDES = (4, 2)
SEED = 77


def main():
    torch.manual_seed(SEED)
    pre = nn.Conv1d(M, C, 3, padding=1)
    ups = nn.ModuleList([nn.ConvTranspose1d(C, C, 2 * s, stride=s, padding=s // 2)
                         for s in STRIDES])
    hop = int(np.prod(STRIDES))
    mel = torch.randn(F, M)
    g = torch.randn(F * hop, C)
    # float32 values, float64 arithmetic
    pre, ups = pre.double(), ups.double()
    mel64 = mel.double().requires_grad_(True)
    x = mel64.T.unsqueeze(0)                       # (1, M, F)
    pre_out = pre(x)
    h = pre_out
    outs = []
    for u in ups:
        h = u(h)
        outs.append(h)
    out = h[0].T                                   # (F hop, C)
    assert out.shape == (F * hop, C), out.shape
    loss = (out * g.double()).sum()
    params = [("upsample.pre.weight", pre.weight), ("upsample.pre.bias", pre.bias)]
    for i, u in enumerate(ups):
        params += [(f"upsample.{i}.weight", u.weight), (f"upsample.{i}.bias", u.bias)]
    grads = torch.autograd.grad(loss, [mel64] + [p for _, p in params])

    f32 = lambda t: t.detach().to(torch.float32).contiguous().numpy()  # noqa: E731
    tensors = [("mel", f32(mel))]
    tensors += [(n, f32(p)) for n, p in params]
    tensors += [("g", f32(g)),
                ("pre_out", f32(pre_out[0].T)),
                ("up0_out", f32(outs[0][0].T)),
                ("out", f32(out)),
                ("loss", np.array([loss.item()], dtype=np.float64)),
                ("grad.mel", f32(grads[0]))]
    tensors += [(f"grad.{n}", f32(gr)) for (n, _), gr in zip(params, grads[1:])]
    meta = {"frames": F, "mels": M, "channels": C,
            "strides": ",".join(str(s) for s in STRIDES)}
    write_safetensors(OUT, tensors, meta)
    print(f"wrote {OUT}: {', '.join(k for k, _ in tensors)}")


if __name__ == "__main__":
    main()
