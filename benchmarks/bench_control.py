"""The control endpoint (app/control.py) under load: one app, N clients reading, one that never reads.

A stand-in Desk emits snapshot-sized events in bursts on the Qt loop; each client is a plain Unix
socket read on its own thread. Measures the events per second every client received and the app's
longest single burst (the time the loop was busy in broadcast), and checks the sleeping client got
dropped without slowing the rest.

    .venv/bin/python benchmarks/bench_control.py [--clients 3] [--events 20000] [--burst 50]

Prints the figures and writes benchmarks/results/bench_control.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal

from app.control import PROTOCOL, ControlServer, endpoint_name


class Desk(QObject):
    event = Signal(dict)

    def accounts(self) -> list:
        return []

    def lock_state(self) -> dict:
        return {"event": "lock", "holder": None, "queue": []}

    def account_states(self) -> dict:
        return {}

    def last_snapshot(self, key: str) -> None:
        return None


def reader(path: str, total: int, counts: list[int], i: int, done: threading.Event) -> None:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(json.dumps({"cmd": "hello", "protocol": PROTOCOL}).encode() + b"\n")
    buf = b""
    while counts[i] < total:
        chunk = s.recv(1 << 16)
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        counts[i] += sum(1 for x in lines if b'"snapshot"' in x)
    s.close()
    done.set()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=3)
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--burst", type=int, default=50)
    args = ap.parse_args()
    app = QCoreApplication(sys.argv[:1])
    drops: list[str] = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            drops.append(record.getMessage())

    logging.getLogger("mt5desk.control").addHandler(Count(logging.WARNING))
    tmp = Path(tempfile.mkdtemp(prefix="mt5bc-"))
    desk = Desk()
    server = ControlServer(desk, tmp, "headless")
    server.listen()
    server.started()
    path = endpoint_name(tmp)
    sleeper = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sleeper.connect(path)
    counts = [0] * args.clients
    dones = [threading.Event() for _ in range(args.clients)]
    threads = [threading.Thread(target=reader, args=(path, args.events, counts, i, dones[i]), daemon=True)
               for i in range(args.clients)]
    for t in threads:
        t.start()
    sample = {"event": "snapshot", "account": "51001013@SimBroker-Demo", "balance": 10000.0, "equity": 10031.4,
              "margin": 778.72, "free_margin": 9252.68, "margin_level": 1288.1, "profit": 31.4, "positions": 3,
              "leverage": 100, "currency": "USD", "connected": True, "lane": "shared", "ts": 0.0}
    sent = 0
    bursts: list[float] = []
    t0 = 0.0

    def tick() -> None:
        nonlocal sent, t0
        if len(server.clients) < args.clients + 1 and not bursts:
            return  # wait until everyone is connected
        t0 = t0 or time.perf_counter()
        start = time.perf_counter()
        for _ in range(min(args.burst, args.events - sent)):
            sent += 1
            desk.event.emit({**sample, "n": sent, "ts": time.time()})
        bursts.append(time.perf_counter() - start)
        if sent >= args.events:
            timer.stop()

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(tick)
    timer.start()
    deadline = time.monotonic() + 120
    while not all(d.is_set() for d in dones) and time.monotonic() < deadline:
        app.processEvents()
    elapsed = time.perf_counter() - t0
    result = {"clients": args.clients, "events": args.events, "received": counts,
              "events_per_second_per_client": round(min(counts) / elapsed),
              "longest_burst_ms": round(max(bursts) * 1000, 2), "burst": args.burst,
              "clients_dropped": len(drops)}
    print(json.dumps(result, indent=1))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_control.json").write_text(json.dumps(result, indent=1))
    sleeper.close()
    app.processEvents()
    return 0 if min(counts) == args.events and len(drops) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
