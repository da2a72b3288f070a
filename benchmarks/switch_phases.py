"""Where a switch's time goes ([P] 3): the phases of activate -> first snapshot, stamped inside one run.

    .venv/bin/python benchmarks/switch_phases.py [--switches 40] [--show 2]

Runs bench_lane_switch.lane_switches (the real Desk, worker and simulated terminal) with time stamps on both
sides of the pipe: the app's (Desk, lane, password reader, worker client) by wrapping their methods here, the
worker's (request received, switch handled, every simulator call) by a sitecustomize the worker loads from a
temporary folder on its PYTHONPATH. Both read CLOCK_MONOTONIC (time.perf_counter on Linux), so one switch's
stamps line up across processes. Prints each phase's median time since activate (the first two switches are
left out: start-up), the simulator calls per switch and their median length, and ``--show`` whole timelines.
Nothing is written: the stamps are for reading. Instrumented: the figures run a little slower than the
benchmark's.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "benchmarks")]

WORKER_SITE = r'''
import os, sys, time
if os.environ.get("SWITCH_PHASES") and "multi_user.worker" in getattr(sys, "orig_argv", []):
    _out = open(os.path.join(os.environ["SWITCH_PHASES"], f"worker-{os.getpid()}.txt"), "a", buffering=1)
    _pc = time.perf_counter
    def _rec(name, t=None):
        _out.write(f"{_pc() if t is None else t:.7f} {name}\n")
    import queue
    _put = queue.Queue.put
    def put(self, item, *a, **k):
        if isinstance(item, bytes) and b'"op":"switch"' in item:
            _rec("worker: switch request read")
        return _put(self, item, *a, **k)
    queue.Queue.put = put
    import multi_user.worker_switch as ws
    def _wrap(cls, name, label):
        inner = getattr(cls, name)
        def f(self, *a):
            _rec(label + " starts"); r = inner(self, *a); _rec(label + " ends"); return r
        setattr(cls, name, f)
    _wrap(ws.SwitchOps, "op_switch", "worker: switch")
    _wrap(ws.SwitchOps, "op_prepare", "worker: prepare")
    _wrap(ws.SwitchOps, "_switched", "worker: checks after the answer")
    import multi_user.worker as wk
    _send = wk.Worker.send
    def send(self, message, *more):
        r = _send(self, message, *more)
        if more and any(m.get("type") == "snapshot" for m in more):
            _rec("worker: answer and snapshot written")
        return r
    wk.Worker.send = send
    import multi_user.mt5sim as sim
    for _n in ("login", "account_info", "terminal_info", "positions_get", "symbol_info_tick"):
        def _mk(inner=getattr(sim, _n), n=_n):
            def f(*a, **k):
                t = _pc(); r = inner(*a, **k); _rec(f"sim {n} {_pc() - t:.7f}", t); return r
            return f
        setattr(sim, _n, _mk())
'''


def instrument(stamps: list[tuple[float, str]]) -> None:
    import app.desk as desk
    import app.lane_password as lane_password
    import app.lane_switch as lane_switch
    import app.lanes as lanes
    import app.worker_client as worker_client

    def rec(name: str) -> None:
        stamps.append((time.perf_counter(), name))

    def wrap(cls: Any, name: str, before: Any, after: Any = None) -> None:
        inner = getattr(cls, name)

        def f(self: Any, *a: Any, **k: Any) -> Any:
            label = before(self, *a, **k)
            if label:
                rec(label)
            r = inner(self, *a, **k)
            label = after(self, *a, **k) if after else None
            if label:
                rec(label)
            return r
        setattr(cls, name, f)

    wrap(desk.Desk, "activate", lambda s, key, *a: "app: activate")
    wrap(desk.Desk, "emit", lambda s, ev: "app: snapshot emitted" if ev.get("event") == "snapshot" else None)
    wrap(lanes.Lane, "_push", lambda s, msg: "app: snapshot push starts" if msg.get("type") == "snapshot" else None)
    wrap(worker_client.WorkerClient, "_dispatch", lambda s, line: "app: answer line starts" if b'"ok":true' in line
         and b'"relogged"' in line else None, lambda s, line: "app: answer resolved" if b'"ok":true' in line
         and b'"relogged"' in line else None)
    wrap(lanes.Lane, "_lock_event", lambda s, ev: "app: lock grants" if ev.get("event") == "lock"
         and s.lock.holder is not None and s.lock.holder.phase == "switching" else None)
    wrap(lane_switch.SwitchPath, "_switch", lambda s, *a: "app: login task created")
    wrap(lane_password.PasswordReader, "_read", lambda s, *a: "app: password read starts (thread)",
         lambda s, *a: "app: password read ends (thread)")
    wrap(worker_client.WorkerClient, "notify", lambda s, op, **k: f"app: {op} written" if op == "prepare" else None)
    wrap(worker_client.WorkerClient, "_write", lambda s, data: "app: switch written" if b'"op":"switch"' in data
         else None)
    def what(data: Any) -> str:
        head = bytes(data[:40])
        return "an answer" if head.startswith(b'{"id":') else head.split(b",")[0].decode(errors="replace")

    wrap(worker_client.WorkerClient, "feed", lambda s, data: f"app: worker output read ({what(data)})")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--switches", type=int, default=40)
    p.add_argument("--show", type=int, default=0, help="print this many whole timelines")
    args = p.parse_args()
    trace = Path(tempfile.mkdtemp(prefix="switch-phases-"))
    (trace / "sitecustomize.py").write_text(WORKER_SITE)
    os.environ["SWITCH_PHASES"] = str(trace)
    os.environ["PYTHONPATH"] = os.pathsep.join([str(trace), str(ROOT), os.environ.get("PYTHONPATH", "")])
    stamps: list[tuple[float, str]] = []
    instrument(stamps)
    import qasync
    from bench_lane_switch import lane_switches
    from lane_harness import link_accounts
    from PySide6.QtCore import QCoreApplication

    from multi_user.mt5sim import control

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        world = data_dir / "sim"
        control.ensure_world(world)
        keys = link_accounts(data_dir, control.demo_accounts(world)[:4])
        app = QCoreApplication.instance() or QCoreApplication([])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        try:
            lane = loop.run_until_complete(lane_switches(data_dir, keys, args.switches, at_emission=True))
        finally:
            loop.close()
            control.stop_all_terminals(world)
    for f in trace.glob("worker-*.txt"):
        for line in f.read_text().splitlines():
            t, name = line.split(" ", 1)
            stamps.append((float(t), name))
    stamps.sort()
    switches: list[list[tuple[float, str]]] = []
    for t, name in stamps:
        if name == "app: activate":
            switches.append([])
        if switches:
            switches[-1].append((t, name))
    phases: dict[str, list[float]] = collections.defaultdict(list)
    calls: collections.Counter[str] = collections.Counter()
    lengths: dict[str, list[float]] = collections.defaultdict(list)
    for one in switches[2:]:
        t0, first = one[0][0], {}
        for t, name in one:
            if name.startswith("sim "):
                call, length = name.rsplit(" ", 1)
                calls[call] += 1
                lengths[call].append(float(length) * 1000)
                name = f"worker: {call} ends"
                t += float(length)
            first.setdefault(name, t)
        for name, t in first.items():
            phases[name].append((t - t0) * 1000)
    n = max(1, len(switches) - 2)
    print(f"activate -> first snapshot, lane median {statistics.median(lane) * 1000:.2f} ms ({len(lane)} switches)")
    print("phase (first time in a switch; median ms since activate, in how many switches):")
    for name in sorted(phases, key=lambda k: statistics.median(phases[k])):
        print(f"  {statistics.median(phases[name]):7.3f}  {name}  ({len(phases[name])})")
    print("simulator calls per switch (all, also after the answer):",
          {k: round(v / n, 2) for k, v in sorted(calls.items())})
    print("their median length, ms:", {k: round(statistics.median(v), 3) for k, v in sorted(lengths.items())})
    for one in switches[2:2 + args.show]:
        print("----")
        for t, name in one:
            print(f"  {(t - one[0][0]) * 1000:8.3f}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
