"""The activity panel's cost ([P] 4): RSS, the start-up load and each new entry, for the panel holding 1,000
entries (its MAX_ROWS), offscreen.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_activity_panel.py [--module PATH]
    # --module: another ui/activity_panel.py to measure (e.g. `git show REV:ui/activity_panel.py > old.py`)

No target of its own: it is part of the GUI's memory (bench_memory.py, <= 250 MB) and of the frame budget
(a load is one event-loop turn: <= 16 ms). Writes benchmarks/results/activity_panel.json.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--module", default=str(ROOT / "ui" / "activity_panel.py"))
    args = p.parse_args()
    from _results import write_results
    from bench_memory import rss_mb
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    spec = importlib.util.spec_from_file_location("activity_panel_measured", args.module)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    detail = ("52004052 has 2 position(s) opened by an Expert Advisor: on the shared terminal its EAs run only "
              "while it is the account shown; give it its own terminal if they must run all the time")
    entries = [{"id": i, "ts": time.time() - 1000 + i, "kind": "info", "level": "warning" if i % 3 else "info",
                "title": f"Expert Advisors on a switched terminal ({i})", "detail": detail} for i in range(1000)]
    panel = module.ActivityPanel()
    panel.resize(1100, 420)
    panel.show()
    app.processEvents()
    gc.collect()
    before = rss_mb(os.getpid())
    t0 = time.perf_counter()
    panel.load(entries[:500])  # stored entries, read at start-up
    load_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    for e in entries[500:]:
        panel.add(e)
    add_us = (time.perf_counter() - t0) / 500 * 1e6
    app.processEvents()
    gc.collect()
    grown = rss_mb(os.getpid()) - before
    print(f"{args.module}: RSS +{grown:.2f} MB for 1,000 entries; a load of 500 stored entries {load_ms:.1f} ms; "
          f"an entry added {add_us:.1f} us")
    write_results("activity_panel", module=args.module, rss_grown_mb=round(grown, 2), load_500_ms=round(load_ms, 2),
                  add_us=round(add_us, 1))
    panel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
