"""[H] the guard in the window: what one repaint of ui/rules_view.RulesView costs with N guarded accounts
(headroom words for every sidebar row and tile, the chart's floors), on the real main window over the
layout tests' FakeDesk, offscreen. It runs on the window's 250 ms repaint timer at most, so a few ms for
50 accounts is what keeps it invisible.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_rules_repaint.py   # --accounts 50 --repaints 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from PySide6.QtWidgets import QApplication  # noqa: E402

from benchmarks._results import write_results  # noqa: E402
from multi_user import rules as rm  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--repaints", type=int, default=200)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    from fake_desk import FakeDesk, fake_accounts

    from ui.main_window import MainWindow

    accounts = fake_accounts(args.accounts)
    desk = FakeDesk(Path(tempfile.mkdtemp()), accounts)
    keys = [a["key"] for a in accounts]
    for k in keys:
        desk.states[k] = {"state": "live"}
    desk.guard = SimpleNamespace(rules={k: rm.make_rules("FTMO-2STEP", 200_000) for k in keys}, last={},
                                 is_blocked=lambda k: False)
    window = MainWindow(desk)
    window.resize(1400, 900)
    window.show()
    view = window.rules_view
    times = []
    for i in range(args.repaints):
        now = time.time()
        for n, k in enumerate(keys):  # every account's room moves a little each time: the worst case
            room = 4000.0 - (i + n) % 50
            desk.event.emit({"event": "guard", "account": k, "preset": "FTMO-2STEP", "coverage": "live",
                             "daily_floor": 190_000.0, "total_floor": 180_000.0, "next_reset": now + 3 * 3600,
                             "reset_zone": "Europe/Prague", "reset_time": "00:00", "ts": now,
                             "level": "warning" if room < 3980 else "ok", "daily_headroom": room,
                             "daily_headroom_pct": room / 10_000, "total_headroom": 9000,
                             "total_headroom_pct": 0.45, "blocked": False})
        t = time.perf_counter()
        view.repaint(now)
        times.append((time.perf_counter() - t) * 1000)
        app.processEvents()
    times.sort()
    fields = {"accounts": args.accounts, "repaints": args.repaints,
              "repaint_ms_median": round(statistics.median(times), 2),
              "repaint_ms_p95": round(times[int(len(times) * 0.95) - 1], 2)}
    print(fields)
    write_results("rules_repaint", **fields)
    window.timer.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
