"""Run a writer script until it reports ``word N`` with N >= ``until``, then kill -9 it (waiting on its
output, never on a clock); returns the last N it reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path


def kill_writer_after(script: Path, target: Path, until: int) -> int:
    proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True)
    reported = 0
    try:
        for line in proc.stdout:
            reported = int(line.split()[1])
            if reported >= until:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()
    return reported
