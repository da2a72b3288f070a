"""[E] 2: equity tiers keep each bucket's open, low, high and last; reads pick the tier that fits the
range and return at most about max_points rows; old files get tiers; a kill -9 loses no flushed point."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from kill9 import kill_writer_after

from app import equity_tiers
from app.history import DAY, HistoryStore
from multi_user import stats

ROOT = Path(__file__).resolve().parent.parent


def write(store: HistoryStore, rows: list[tuple]) -> None:
    store.start()
    for r in rows:
        store.add(*r)
    store.stop()


def day_with_a_dip(start: float, dip_at: int = 43200) -> list[tuple]:
    rows = [("1@S", start + i, 1000.0, 1000.0, "USD") for i in range(86400)]
    rows[dip_at] = ("1@S", start + dip_at, 1000.0, 700.0, "USD")
    return rows


def test_a_deep_intraday_low_survives_compaction_into_the_drawdown(tmp_path: Path) -> None:
    now = 1_780_012_800.0  # a UTC midnight
    start = now - 3 * DAY
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    write(store, day_with_a_dip(start))
    removed = store.compact(now)
    assert removed > 80000  # the old compaction thinned the snapshots themselves...
    raw = sqlite3.connect(path).execute("SELECT MIN(equity) FROM snapshots").fetchone()[0]
    assert raw == 1000.0  # ...and lost the dip
    points = equity_tiers.read_points(path, "1@S", start, start + DAY, now=now)
    assert len(points) == 1440  # the one-minute tier fits a day
    assert min(p[3] for p in points) == 700.0
    assert stats.max_drawdown(points) == (300.0, 30.0)


def test_reads_pick_the_tier_that_fits_and_stay_under_max_points(tmp_path: Path) -> None:
    now = 1_780_000_000.0
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    rows = [("1@S", now - 60 * DAY + i * 60, 1000.0, 1000.0 + (i % 50), "USD") for i in range(60 * 1440)]
    write(store, rows)
    assert equity_tiers.pick_tier(now - 3600, now, 4000, now) is None
    assert equity_tiers.pick_tier(now - DAY, now, 4000, now) == 60
    assert equity_tiers.pick_tier(now - 40 * DAY, now, 4000, now) == 900  # one-minute buckets are gone by then
    assert equity_tiers.pick_tier(now - 365 * DAY, now, 4000, now) == 14400
    for span, limit in ((3000, 4000), (DAY, 4000), (30 * DAY, 4000), (60 * DAY, 800)):
        pts = equity_tiers.read_points(path, "1@S", now - span, now, limit, now=now)
        assert 0 < len(pts) <= limit + 1, (span, len(pts))
        assert all(lo <= eq <= hi for _, _, eq, lo, hi in pts)
    whole = equity_tiers.read_points(path, "1@S", max_points=800, now=now)
    assert min(p[3] for p in whole) == 1000.0 and max(p[4] for p in whole) == 1049.0


def test_an_older_file_gets_its_tiers_built_from_its_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE snapshots (account TEXT NOT NULL, ts REAL NOT NULL, balance REAL NOT NULL, "
                "equity REAL NOT NULL, currency TEXT NOT NULL DEFAULT '')")
    con.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)", day_with_a_dip(1_779_926_400.0))  # from a UTC midnight
    con.commit()
    con.close()
    HistoryStore(path).compact(1_779_926_400.0 + DAY)  # the start-up step builds the tiers, then thins
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == equity_tiers.SCHEMA_VERSION
    rows = con.execute("SELECT tier, COUNT(*), MIN(low), MAX(high) FROM equity_tiers GROUP BY tier").fetchall()
    con.close()
    assert rows == [(60, 1440, 700.0, 1000.0), (900, 96, 700.0, 1000.0), (14400, 6, 700.0, 1000.0),
                    (86400, 1, 700.0, 1000.0)]


def test_open_and_last_follow_time_even_across_batches(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    write(store, [("1@S", 1050.0 + i, 600.0, 950.0 - i, "USD") for i in range(30)])  # the later half first
    write(store, [("1@S", 1020.0 + i, 500.0 + i, 900.0 + i, "USD") for i in range(30)])  # same minute, earlier
    con = sqlite3.connect(path)
    row = con.execute("SELECT first_ts, last_ts, open, low, high, last, balance FROM equity_tiers "
                      "WHERE tier=60 AND bucket=1020").fetchone()
    con.close()
    assert row == (1020.0, 1079.0, 900.0, 900.0, 950.0, 921.0, 600.0)


def test_history_survives_a_kill_9_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    flushed = kill_writer_after(ROOT / "tests" / "helpers" / "history_writer.py", path, 10000)
    HistoryStore(path)  # reopens after the crash
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        n, low = con.execute("SELECT COUNT(*), MIN(equity) FROM snapshots").fetchone()
        assert n >= flushed
        # the tiers were written in the same transactions as the snapshots: never apart
        assert con.execute("SELECT MIN(low) FROM equity_tiers WHERE tier=60").fetchone()[0] == low
        tier_last = con.execute("SELECT MAX(last_ts) FROM equity_tiers WHERE tier=60").fetchone()[0]
        assert tier_last == con.execute("SELECT MAX(ts) FROM snapshots").fetchone()[0]
    finally:
        con.close()


def test_a_stretch_without_snapshots_is_a_gap_not_a_line() -> None:
    from app.account_history import segments

    pts = [(float(t), 1.0, 1.0, 1.0, 1.0) for t in (0, 60, 120, 4000, 4060)]
    assert [len(s) for s in segments(pts, 180.0)] == [3, 2]
    assert segments([], 180.0) == []
