"""[E] 6: 20 accounts x 1,000,000 points on screen (ui/equity_chart.EquityChart, one per account, in a
1600x1000 grid, offscreen): repaint median and p95 (target p95 <= 16 ms) while each account gets a live
value (each chart's plot area painted again, summed over the 20), and the CPU cost of appending one point per
account at 10 Hz with the window's 250 ms repaint timer (target <= 5 % of one core).

Each chart is given its million points at once through set_history (the worst case: the app itself reads
at most two points per pixel from the store), so the figures show what the chart's own reduction does (at
most two points per pixel column, ui/chart_points.py), that the history is a cached picture, and that a live
value redraws only the newest columns.

The repaint's wall time is the target; its CPU time (this thread's) is printed beside it: on the shared
machine the slow 5 % are the scheduler's (wall 30-80 ms where the CPU was 10-12 ms, no collection ran).
The default live values rarely make a new low or high in their column (most refreshes repaint nothing);
``--range 1h --walk`` is the case where nearly every refresh redraws the newest column.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_chart_repaint.py   # --accounts 20 --points 1000000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QGridLayout, QWidget

from ui.equity_chart import RANGES, EquityChart, Series


def history(n: int, now: float) -> dict:
    ts = now - n + np.arange(n, dtype=float)  # one point a second, up to now
    eq = 10_000 + np.cumsum(np.random.default_rng(n).normal(0, 1, n))
    bal = np.full(n, 10_000.0)
    return {"points": np.column_stack([ts, bal, eq, eq, eq]).tolist(), "step": 0, "past": [], "flows": []}


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(len(values) * p))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=20)
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repaints", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--range", choices=[label for label, _ in RANGES], default="All",
                    help="the range button picked (1h: a column is ~12 s, so most live values change the drawing)")
    ap.add_argument("--walk", action="store_true",
                    help="live values a random walk (new lows and highs) instead of a 7-second saw tooth")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    grid = QWidget()
    grid.resize(1600, 1000)
    lay = QGridLayout(grid)
    now = time.time()
    charts, series = [], []
    data = history(args.points, now)
    for i in range(args.accounts):
        chart, s = EquityChart(), Series()
        pick = [label for label, _ in RANGES].index(args.range)
        chart.range_buttons.button(pick).setChecked(True)  # All: every point in view
        lay.addWidget(chart, i // 5, i % 5)
        chart.show_account(f"{i}@S", f"Account {i}", s)
        chart.set_history(f"{i}@S", data)
        charts.append(chart)
        series.append(s)
    del data  # the chart keeps arrays, not the read's million Python rows (they only made the GC's rounds long)
    grid.show()
    app.processEvents()
    grid.grab()  # the first paint builds the caches
    t = now + 1
    times, cpu_times = [], []  # wall (the target) and this thread's CPU: on a loaded machine they differ by
    gc_runs = []  # the time the scheduler gave others; a collection during the loop would show here
    def count_gc(phase: str, _info: dict) -> None:
        if phase == "start":
            gc_runs.append(1)

    gc.callbacks.append(count_gc)
    for _ in range(args.repaints):
        for chart, s in zip(charts, series, strict=True):
            s.append(t, 10_000.0, 10_000.0 + (t % 7))
            chart.redraw()
        t += 1
        start, cpu_start = time.perf_counter(), time.thread_time()
        for chart in charts:  # what a new value costs on screen: each plot area painted again, at once
            chart.plot.viewport().repaint()
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.thread_time() - cpu_start) * 1000)
    gc.callbacks.remove(count_gc)
    # as the app runs: one point per account every 100 ms (10 Hz), drawn by the window's 250 ms repaint timer
    state = {"t": t}

    rng = np.random.default_rng(7)
    walk = [10_000.0] * len(series)

    def tick() -> None:
        state["t"] += 0.1
        for i, s in enumerate(series):
            if args.walk:
                walk[i] += float(rng.normal(0, 1))
            s.append(state["t"], 10_000.0, walk[i] if args.walk else 10_000.0 + (state["t"] % 7))

    def repaint() -> None:
        for chart in charts:
            chart.redraw()

    timers = []
    for ms, fn in ((100, tick), (250, repaint)):
        timer = QTimer()
        timer.setInterval(ms)
        timer.timeout.connect(fn)
        timers.append(timer)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for timer in timers:
        timer.start()
    loop = QEventLoop()
    QTimer.singleShot(int(args.seconds * 1000), loop.quit)
    loop.exec()
    for timer in timers:
        timer.stop()
    cpu = (time.process_time() - cpu0) / (time.perf_counter() - wall0) * 100
    result = {"accounts": args.accounts, "points_per_account": args.points, "range": args.range, "walk": args.walk,
              "repaint_all_ms": {"median": round(statistics.median(times), 2), "p95": round(pct(times, 0.95), 2)},
              "repaint_all_cpu_ms": {"median": round(statistics.median(cpu_times), 2),
                                     "p95": round(pct(cpu_times, 0.95), 2)},
              "gc_runs_during_repaints": len(gc_runs), "load_average": os.getloadavg()[0],
              "append_10hz_cpu_pct_of_one_core": round(cpu, 2)}
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    name = "chart_repaint" + ("" if args.range == "All" else f"_{args.range}") + ("_walk" if args.walk else "")
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
