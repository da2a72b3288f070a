"""The GUI thread is never blocked: the longest Qt event-loop stall while the window runs on a
real desk (simulator) through a storm of account switches and a terminal crash.

    .venv/bin/python benchmarks/bench_gui_stall.py [--seconds 12] [--switch-every 0.1]

A 5 ms QTimer records the gap between its ticks; any gap far above 5 ms is time the GUI thread
spent not answering. Prints the figures and writes benchmarks/results/gui_stall.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=12.0)
    p.add_argument("--switch-every", type=float, default=0.1)
    args = p.parse_args()

    import qasync
    from lane_harness import fast_desk, link_accounts
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from multi_user.mt5sim import control
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        world = data_dir / "sim"
        control.ensure_world(world)
        keys = link_accounts(data_dir, control.demo_accounts(world)[:5])
        desk = fast_desk(data_dir)
        window = MainWindow(desk)
        window.show()
        gaps: list[float] = []
        at: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            at.append(now)
            last[0] = now

        probe = QTimer()
        probe.setInterval(5)
        probe.timeout.connect(tick)

        marks: dict[str, float] = {}

        async def storm() -> dict:
            await desk.start()
            events = [0]
            desk.event.connect(lambda _ev: events.__setitem__(0, events[0] + 1))
            probe.start()
            last[0] = time.perf_counter()
            t0 = time.perf_counter()
            marks["t0"] = t0
            switches, crashed = 0, False
            while time.perf_counter() - t0 < args.seconds:
                window.activate(keys[switches % len(keys)])
                switches += 1
                if not crashed and time.perf_counter() - t0 > args.seconds / 2:
                    os.kill(desk.shared.terminal.pid, signal.SIGKILL)
                    marks["crash"] = time.perf_counter() - t0
                    crashed = True
                await asyncio.sleep(args.switch_every)
            probe.stop()
            await desk.stop()
            return {"switches": switches, "events": events[0]}

        try:
            counts = loop.run_until_complete(storm())
        finally:
            control.stop_all_terminals(world)
            window.close()
            loop.close()
    ms = sorted(g * 1000 for g in gaps)
    worst = sorted(zip(gaps, at, strict=True), reverse=True)[:3]
    result = {
        "seconds": args.seconds,
        **counts,
        "timer_ticks": len(ms),
        "max_stall_ms": round(ms[-1], 1),
        "p99_gap_ms": round(ms[int(len(ms) * 0.99) - 1], 1),
        "median_gap_ms": round(statistics.median(ms), 2),
        "crash_at_s": round(marks.get("crash", -1), 2),
        "worst_gaps_at_s": [[round(g * 1000, 1), round(t - marks["t0"], 2)] for g, t in worst],
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "gui_stall.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
