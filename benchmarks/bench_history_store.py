"""[E] 2: the equity store after one year of 1-second snapshots for one account: size on disk and the time
to read a full-range chart and a one-day chart (targets: <= 50 MB, <= 50 ms, <= 10 ms).

The file is built as the running app leaves it after a year (31,536,000 snapshots seen): the last day at
full resolution, the six days before one snapshot a minute and older ones one per 15 minutes (the start-up
compaction of app/history.py), plus the equity tiers (app/equity_tiers.py: 1-minute buckets for 31 days,
15-minute, 4-hour and daily buckets for the year). Writing 31.5 million rows through the store would take
minutes of a shared CPU, so the tiers of each day are computed here with min/max over slices; the first day
is checked against the store's own roll_up, which must give the same rows.

    .venv/bin/python benchmarks/bench_history_store.py [--days 365] [--reads 50] [--points 4000]

Prints the figures and writes benchmarks/results/history_store.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import equity_tiers  # noqa: E402
from app.history import HistoryStore  # noqa: E402

DAY = 86400
ACCOUNT = "52005065@SimBroker-Demo"


def equity_of_day(d: int) -> list[float]:
    base = 10000.0 + 20.0 * d
    return [base + 300.0 * math.sin((d * DAY + i) / 5000.0) + 40.0 * math.sin(i / 37.0) - (900.0 if i == 43210 else 0.0)
            for i in range(DAY)]


def tier_rows(day_start: float, eq: list[float], balance: float, tier: int) -> list[tuple]:
    rows = []
    for b in range(0, DAY, tier):
        part = eq[b:b + tier]
        rows.append((ACCOUNT, tier, day_start + b, day_start + b, day_start + b + len(part) - 1, part[0], min(part),
                     max(part), part[-1], balance))
    return rows


def build(path: Path, days: int, now: float) -> float:
    HistoryStore(path).compact(now)  # the store's own schema, with tiers (an empty file: nothing to thin)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    check_done = False
    for d in range(days):
        day_start = now - (days - d) * DAY
        age_days = days - d
        eq = equity_of_day(d)
        balance = 10000.0 + 20.0 * d
        if age_days <= 1:
            keep = range(DAY)
        elif age_days <= 7:
            keep = range(59, DAY, 60)
        else:
            keep = range(899, DAY, 900)
        with conn:
            conn.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)",
                             [(ACCOUNT, day_start + i, balance, eq[i], "USD") for i in keep])
            for tier in equity_tiers.TIERS:
                if day_start < now - equity_tiers.KEEP.get(tier, float("inf")):
                    continue
                conn.executemany("INSERT INTO equity_tiers VALUES (?,?,?,?,?,?,?,?,?,?)",
                                 tier_rows(day_start, eq, balance, tier))
        if not check_done:  # the shortcut must equal the store's own roll-up
            mem = sqlite3.connect(":memory:")
            mem.execute(equity_tiers.SCHEMA.strip().rstrip(";"))
            equity_tiers.roll_up(mem, [(ACCOUNT, day_start + i, balance, eq[i], "USD") for i in range(DAY)])
            ours = sorted(r for t in equity_tiers.TIERS for r in tier_rows(day_start, eq, balance, t))
            assert sorted(mem.execute("SELECT * FROM equity_tiers")) == ours, "shortcut differs from roll_up"
            mem.close()
            check_done = True
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - started


def timed(fn, n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return {"median_ms": round(statistics.median(times), 3), "p95_ms": round(times[int(0.95 * (n - 1))], 3)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--reads", type=int, default=50)
    ap.add_argument("--points", type=int, default=equity_tiers.DEFAULT_POINTS)
    args = ap.parse_args()
    now = float(int(time.time()) // DAY * DAY)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "history.sqlite3"
        build_s = build(path, args.days, now)
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
        start = now - args.days * DAY
        results = {}
        conn = sqlite3.connect(path)
        for name, lo, hi in (("full_range", start, now), ("last_day", now - DAY, now),
                             ("a_day_100_days_ago", now - 100 * DAY, now - 99 * DAY)):
            pts = equity_tiers.read_points(path, ACCOUNT, lo, hi, args.points, now=now)
            fresh = timed(lambda lo=lo, hi=hi: equity_tiers.read_points(path, ACCOUNT, lo, hi, args.points, now=now),
                          args.reads)
            kept = timed(lambda lo=lo, hi=hi: equity_tiers.read_points(path, ACCOUNT, lo, hi, args.points, now=now,
                                                                       conn=conn), args.reads)
            results[name] = {"points": len(pts), "tier_s": equity_tiers.pick_tier(lo, hi, args.points, now),
                             "min_low": min((p[3] for p in pts), default=None), "new_connection": fresh,
                             "open_connection": kept}
        conn.close()
    out = {"days": args.days, "snapshots_seen": args.days * DAY, "max_points": args.points,
           "size_mb": round(size / 1e6, 2), "target_size_mb": 50, "build_s": round(build_s, 1),
           "reads": results, "target_full_range_ms": 50, "target_one_day_ms": 10}
    print(json.dumps(out, indent=2))
    res = ROOT / "benchmarks" / "results"
    res.mkdir(exist_ok=True)
    (res / "history_store.json").write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
