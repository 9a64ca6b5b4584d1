"""wnrun.py - what the tools here share: running a `wavenet` command (its
stdout, or, if it fails, its own one-line error and exit status 1, not a
Python traceback that hides what wavenet said) and reading a weights file's
metadata. Standard library only."""
import json
import struct
import subprocess
import sys


def model_meta(path):
    """The metadata of a wavenet weights file (safetensors header only)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        if n > 100 << 20:
            raise ValueError(f"{path}: not a weights file (header of {n} bytes)")
        header = json.loads(f.read(n))
    return header.get("__metadata__", {})


def run(cmd):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:  # no binary there: say which, and how to name it
        sys.exit(f"{cmd[0]}: {e.strerror} (the WAVENET variable names the wavenet binary)")
    if p.returncode != 0:
        sys.exit(p.stderr.strip() or f"{' '.join(cmd[:2])}: exit status {p.returncode}")
    return p.stdout
