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

# The app's first paint is that of its window's shell (ui/main_window.py, before the slow imports): the probe is
# a subclass overriding event(), as the bare window does. (An event filter on the whole application would make
# PySide build a Python type, and its enums, for every class of every Qt module: ~100 ms the app does not pay.)
APP = """
import json, sys, time
PROFILE = None
if {profile!r}:
    import cProfile
    PROFILE = cProfile.Profile()
    PROFILE.enable()
sys.path.insert(0, {root!r})
marks = {{}}
import ui.main_window as mw
from PySide6.QtCore import QEvent, QTimer

class Timed(mw.MainWindow):
    def event(self, ev):
        if "first_paint" not in marks and ev.type() == QEvent.Type.Paint:
            marks["first_paint"] = time.time()
            print("FIRST_PAINT", file=sys.stderr, flush=True)  # --imports cuts -X importtime's lines here
            if PROFILE:
                PROFILE.disable()
                PROFILE.dump_stats({profile!r})
            self._probe = QTimer(self)
            self._probe.setInterval(5)
            self._probe.timeout.connect(self._check)
            self._probe.start()
        return super().event(ev)

    def _check(self):
        if "accounts_listed" not in marks and "{n} accounts" in self.status_text.text():
            marks["accounts_listed"] = time.time()
        if "accounts_listed" in marks and self.quit_handler is not None:
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


def run_child(code: str, env: dict[str, str], timeout: float,
              python_flags: tuple[str, ...] = ()) -> tuple[dict[str, float], float, str]:
    started = time.time()
    proc = subprocess.Popen([sys.executable, *python_flags, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE if python_flags else subprocess.DEVNULL,
                            env=env, text=True, start_new_session=True)
    try:
        if python_flags:  # stderr carries -X importtime's lines: read both pipes to the end
            out, err = proc.communicate(timeout=timeout)
            line = out.splitlines()[0] if out.strip() else ""
        else:
            line, err = (proc.stdout.readline() if proc.stdout else ""), ""
            proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        err = ""
    finally:
        if proc.stdout:
            proc.stdout.close()
    if not line.strip():
        raise RuntimeError("the child printed no marks (did it start?)")
    return json.loads(line), started, err


def import_profile(stderr: str, top: int) -> list[tuple[str, float, float]]:
    """``-X importtime``'s lines up to the first paint: (module, cumulative s, self s), biggest first.
    Only the outermost import of each tree is listed with its cumulative time; packages by self time below."""
    rows = []
    for line in stderr.split("FIRST_PAINT", 1)[0].splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_us, cum_us, name = (part for part in line[len("import time:"):].split("|"))
            rows.append((name.rstrip(), int(self_us) / 1e6, int(cum_us) / 1e6))
    outer = sorted(((n.strip(), c, s_) for n, s_, c in rows if not n.startswith("  ")), key=lambda r: -r[1])
    return outer[:top]


def package_totals(stderr: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for line in stderr.split("FIRST_PAINT", 1)[0].splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            self_us, _cum, name = line[len("import time:"):].split("|")
            pkg = name.strip().split(".")[0]
            totals[pkg] = totals.get(pkg, 0.0) + int(self_us) / 1e6
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def show_imports(data: Path, env: dict[str, str], accounts: int) -> int:
    """The imports and the cProfile of process start → first paint (after one warm-up run for the bytecode)."""
    import pstats

    prof = ROOT / "benchmarks" / "results" / "startup.prof"
    prof.parent.mkdir(parents=True, exist_ok=True)
    code = APP.format(root=str(ROOT), data=str(data), n=accounts, profile="")
    run_child(code, env, 120)
    marks, started, err = run_child(code, env, 120, ("-X", "importtime"))
    print(f"first paint {marks['first_paint'] - started:.3f} s after process start (with -X importtime)")
    print("imported before the first paint, outermost imports by cumulative time:")
    for name, cum, _self in import_profile(err, 15):
        print(f"  {cum * 1000:8.1f} ms  {name}")
    print("self time by top-level package:", ", ".join(f"{k} {v * 1000:.0f} ms"
                                                        for k, v in list(package_totals(err).items())[:10]))
    run_child(APP.format(root=str(ROOT), data=str(data), n=accounts, profile=str(prof)), env, 120)
    print(f"cProfile of process start → first paint ({prof.relative_to(ROOT)}), top by cumulative time:")
    pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(25)
    return 0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--accounts", type=int, default=20)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--data", type=Path, help="keep the prepared data dir here and reuse it next time (A/B runs)")
    p.add_argument("--imports", action="store_true", help="instead: what the app imports before its first paint "
                   "(-X importtime, one run) and a cProfile of the same span (benchmarks/results/startup.prof)")
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
        if args.imports:
            return show_imports(data, env, args.accounts)
        code = APP.format(root=str(ROOT), data=str(data), n=args.accounts, profile="")
        run_child(BARE, env, 60)
        run_child(code, env, 120)
        for _ in range(args.runs):
            marks, started, _err = run_child(BARE, env, 30)
            bare.append(marks["first_paint"] - started)
            marks, started, _err = run_child(code, env, 90)
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
