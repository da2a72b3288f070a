"""Reading the worker's stdout on the GUI thread: one long line arriving in QProcess-sized reads
(64 KiB), with WorkerClient's buffer, against the old ``bytes += … ; split`` buffer for comparison.

    .venv/bin/python benchmarks/bench_worker_pipe.py [--mb 40] [--chunk-kb 64]

Prints the figures and writes benchmarks/results/worker_pipe.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def old_buffer(chunks: list[bytes]) -> int:
    buf, lines = b"", 0
    for c in chunks:
        buf += c
        *done, buf = buf.split(b"\n")
        lines += len(done)
    return lines


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=int, default=40)
    p.add_argument("--chunk-kb", type=int, default=64)
    args = p.parse_args()
    from PySide6.QtCore import QCoreApplication

    from app.worker_client import WorkerClient

    _app = QCoreApplication.instance() or QCoreApplication([])
    line = b'{"type":"big","pad":"' + b"x" * (args.mb * 1024 * 1024) + b'"}\n'
    step = args.chunk_kb * 1024
    chunks = [line[i:i + step] for i in range(0, len(line), step)]
    got: list[dict] = []
    client = WorkerClient(["unused"], on_push=got.append, on_exit=lambda c, x: None, max_line=len(line) + 1)
    t = time.perf_counter()
    for c in chunks:
        client.feed(c)
    new_s = time.perf_counter() - t
    assert len(got) == 1 and len(got[0]["pad"]) == args.mb * 1024 * 1024
    t = time.perf_counter()
    old_buffer(chunks)
    old_s = time.perf_counter() - t
    figures = {"line_mb": args.mb, "chunk_kb": args.chunk_kb, "reads": len(chunks),
               "worker_client_s": round(new_s, 3), "old_buffer_s": round(old_s, 3)}
    print(json.dumps(figures, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "worker_pipe.json").write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
