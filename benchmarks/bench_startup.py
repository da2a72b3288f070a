"""Start-up ([P] 2/4): process start to the first painted window, the real app (main.py, simulator
backend) with N linked accounts and a year of equity history each, against a bare PySide6 window
(import, QApplication, a QMainWindow, its first paint) in the same run, alternated, median of --runs.
Also: process start to the window listing the accounts ("20 accounts" in the status line).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_startup.py [--runs 5] [--accounts 20] [--days 365]

Target: app first paint <= 1.5 x the bare window's. Prints target and miss, writes
benchmarks/results/startup.json. The history is built once with numpy for one account (the store's
layout after a year: last day full, a week per minute, older per 15 minutes, the equity tiers) and
copied to the others in SQL.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))
TARGET_RATIO = 1.5
DAY = 86400

BARE = """
import json, sys, time
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
class W(QMainWindow):
    def event(self, ev):
        if ev.type() == QEvent.Type.Paint and not getattr(self, "painted", False):
            self.painted = True
            print(json.dumps({"first_paint": time.time()}), flush=True)
            QTimer.singleShot(0, app.quit)
        return super().event(ev)
w = W(); w.resize(1400, 860); w.setWindowTitle("bare"); w.show()
app.exec()
"""

APP = """
import json, sys, time
sys.path.insert(0, {root!r})
marks = {{}}
import ui.main_window as mw
from PySide6.QtCore import QEvent, QTimer

class Timed(mw.MainWindow):
    def __init__(self, desk):
        super().__init__(desk)
        self._probe = QTimer(self)
        self._probe.setInterval(5)
        self._probe.timeout.connect(self._check)
        self._probe.start()

    def event(self, ev):
        if ev.type() == QEvent.Type.Paint and "first_paint" not in marks:
            marks["first_paint"] = time.time()
        return super().event(ev)

    def _check(self):
        if "accounts_listed" not in marks and "{n} accounts" in self.status_text.text():
            marks["accounts_listed"] = time.time()
        if "first_paint" in marks and "accounts_listed" in marks and self.quit_handler is not None:
            self._probe.stop()
            print(json.dumps(marks), flush=True)
            self.quit_handler("benchmark done")

mw.MainWindow = Timed
import main
sys.exit(main.main(["--data-dir", {data!r}, "--backend", "sim"]))
"""


def build_history(path: Path, keys: list[str], days: int) -> None:
    import numpy as np

    from app import equity_tiers
    from app.history import HistoryStore

    now = time.time()
    HistoryStore(path).compact(now)  # the store's own schema (an empty file: nothing to thin)
    first, t0 = keys[0], now - days * DAY
    t = np.arange(t0, now, 1.0)
    eq = 10000.0 + 300.0 * np.sin(t / 5000.0) + 40.0 * np.sin(t / 37.0)
    bal = 10000.0 + 20.0 * ((t - t0) // DAY)
    age = now - t
    keep = (age <= DAY) | ((age <= 7 * DAY) & (t.astype(np.int64) % 60 == 0)) | (t.astype(np.int64) % 900 == 0)
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)",
                         ((first, float(a), float(b), float(c), "USD") for a, b, c in
                          zip(t[keep], bal[keep], eq[keep], strict=True)))
        for tier in equity_tiers.TIERS:
            keep_for = equity_tiers.KEEP.get(tier, float("inf"))
            n = len(t) // tier
            tt = t[:n * tier].reshape(n, tier)
            ee = eq[:n * tier].reshape(n, tier)
            bb = bal[:n * tier].reshape(n, tier)
            rows = [(first, tier, float(tt[i, 0]), float(tt[i, 0]), float(tt[i, -1]), float(ee[i, 0]),
                     float(ee[i].min()), float(ee[i].max()), float(ee[i, -1]), float(bb[i, -1]))
                    for i in range(n) if now - tt[i, 0] <= keep_for]
            conn.executemany("INSERT INTO equity_tiers VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
        for key in keys[1:]:
            conn.execute("INSERT INTO snapshots SELECT ?, ts, balance, equity, currency FROM snapshots "
                         "WHERE account = ?", (key, first))
            conn.execute("INSERT INTO equity_tiers SELECT ?, tier, bucket, first_ts, last_ts, open, low, high, last, "
                         "balance FROM equity_tiers WHERE account = ?", (key, first))
    conn.close()


def run_child(code: str, env: dict[str, str], timeout: float) -> tuple[dict[str, float], float]:
    started = time.time()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=env, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.stdout:
            proc.stdout.close()
    if not line.strip():
        raise RuntimeError("the child printed no marks (did it start?)")
    return json.loads(line), started


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--accounts", type=int, default=20)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--data", type=Path, help="keep the prepared data dir here and reuse it next time (A/B runs)")
    args = p.parse_args()
    from _results import write_results
    from bench_gui_load import synthetic_accounts
    from lane_harness import link_accounts

    from multi_user.paths import history_path

    bare, app, listed = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        # an installed app has its bytecode compiled; this dev box sets PYTHONDONTWRITEBYTECODE, which would
        # make every child compile every module: bytecode goes to a cache of this run (one warm-up run each)
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring", "PYTHONPYCACHEPREFIX": f"{tmp}/pycache"}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        data = args.data or Path(tmp) / "data"
        if not history_path(data).exists():
            data.mkdir(parents=True, exist_ok=True)
            keys = link_accounts(data, synthetic_accounts(args.accounts))
            t = time.perf_counter()
            build_history(history_path(data), keys, args.days)
            print(f"history: {args.accounts} accounts x {args.days} days built in {time.perf_counter() - t:.1f} s, "
                  f"{history_path(data).stat().st_size / 1e6:.1f} MB")
        code = APP.format(root=str(ROOT), data=str(data), n=args.accounts)
        run_child(BARE, env, 60)
        run_child(code, env, 120)
        for _ in range(args.runs):
            marks, started = run_child(BARE, env, 30)
            bare.append(marks["first_paint"] - started)
            marks, started = run_child(code, env, 90)
            app.append(marks["first_paint"] - started)
            listed.append(marks["accounts_listed"] - started)
    med = {k: round(statistics.median(v), 3) for k, v in (("bare", bare), ("app", app), ("listed", listed))}
    ratio = round(med["app"] / med["bare"], 2)
    verdict = "met" if ratio <= TARGET_RATIO else \
        f"MISSED by {ratio - TARGET_RATIO:.2f}x ({med['app'] - TARGET_RATIO * med['bare']:.3f} s too slow)"
    print(f"first paint: app {med['app']} s, bare PySide6 window {med['bare']} s (medians of {args.runs})")
    print(f"ratio {ratio} (target <= {TARGET_RATIO}): {verdict}")
    print(f"accounts listed in the window: {med['listed']} s after process start")
    write_results("startup", accounts=args.accounts, days=args.days, runs=args.runs, target_ratio=TARGET_RATIO,
                  first_paint_app_s=app, first_paint_bare_s=bare, accounts_listed_s=listed,
                  median_app_s=med["app"], median_bare_s=med["bare"], median_accounts_listed_s=med["listed"],
                  ratio=ratio, met=ratio <= TARGET_RATIO)
    return 0


if __name__ == "__main__":
    sys.exit(main())
