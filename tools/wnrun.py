"""wnrun.py - run a `wavenet` command for the tools here: its stdout, or,
if it fails, its own one-line error and exit status 1 (not a Python
traceback that hides what wavenet said). Standard library only."""
import subprocess
import sys


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(p.stderr.strip() or f"{' '.join(cmd[:2])}: exit status {p.returncode}")
    return p.stdout
