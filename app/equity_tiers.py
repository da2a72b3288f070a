"""Equity tiers ([E] 2): downsampled equity that keeps each bucket's open, low, high and last equity and
its last balance, so a drawdown is never smoothed away, and reads that never load all rows.

Tiers live next to the snapshots in history.sqlite3 (table ``equity_tiers``), one row per account,
tier and bucket. They are maintained as snapshots are written (the history writer calls ``roll_up`` in
the same transaction as the insert, so a crash never leaves them apart), built once from the existing
snapshots of an older file and pruned by age at start-up (``upgrade_and_prune``, from the store's
compaction, which the app runs off the GUI thread before old snapshots are thinned).

A read (``read_points``) picks the finest tier whose buckets put at most ``max_points`` in the range
and returns ``(ts, balance, equity, equity_low, equity_high)`` rows: ``ts`` is the time of the bucket's
last snapshot, balance and equity its values, low and high the extremes over the bucket. Ranges shorter
than ``max_points`` seconds are read from the snapshots themselves (low = high = equity).
Blocking: call off the GUI thread.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

SCHEMA_VERSION = 1  # history.sqlite3's user_version: 0 = snapshots only, 1 = with equity tiers
TIERS = (60, 900, 14400, 86400)  # seconds per bucket
KEEP = {60: 31 * 86400.0}  # a tier not listed is kept forever (900 s: 35,040 rows a year per account)
DEFAULT_POINTS = 4000  # a wide chart's pixels times two

SCHEMA = """
CREATE TABLE IF NOT EXISTS equity_tiers (
    account TEXT NOT NULL, tier INTEGER NOT NULL, bucket REAL NOT NULL,
    first_ts REAL NOT NULL, last_ts REAL NOT NULL,
    open REAL NOT NULL, low REAL NOT NULL, high REAL NOT NULL, last REAL NOT NULL, balance REAL NOT NULL,
    PRIMARY KEY (account, tier, bucket)
) WITHOUT ROWID;
"""

UPSERT = """
INSERT INTO equity_tiers (account, tier, bucket, first_ts, last_ts, open, low, high, last, balance)
VALUES (?,?,?,?,?,?,?,?,?,?)
ON CONFLICT(account, tier, bucket) DO UPDATE SET
    open = CASE WHEN excluded.first_ts < first_ts THEN excluded.open ELSE open END,
    first_ts = MIN(first_ts, excluded.first_ts),
    low = MIN(low, excluded.low), high = MAX(high, excluded.high),
    last = CASE WHEN excluded.last_ts >= last_ts THEN excluded.last ELSE last END,
    balance = CASE WHEN excluded.last_ts >= last_ts THEN excluded.balance ELSE balance END,
    last_ts = MAX(last_ts, excluded.last_ts)
"""

Row = Sequence[object]  # (account, ts, balance, equity, currency), as the history writer queues them


def ensure(conn: sqlite3.Connection) -> None:
    """Create the tiers table (cheap: the history store's constructor may run on the GUI thread)."""
    with conn:
        conn.execute(SCHEMA.strip().rstrip(";"))


def migrate(conn: sqlite3.Connection) -> None:
    """On a file from before the tiers, build them once from the snapshots there are. It reads every
    snapshot: it runs with the start-up compaction, off the GUI thread, before old snapshots are thinned."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version >= SCHEMA_VERSION:
        return
    ensure(conn)
    with conn:
        for tier in TIERS:
            conn.execute(
                "INSERT OR REPLACE INTO equity_tiers "
                "SELECT s.account, ?, b.bucket, b.first_ts, b.last_ts, "
                " (SELECT equity FROM snapshots WHERE account=s.account AND ts=b.first_ts LIMIT 1),"
                " b.low, b.high, s.equity, s.balance "
                "FROM (SELECT account, CAST(ts / ? AS INTEGER) * ? AS bucket, MIN(ts) AS first_ts, MAX(ts) AS last_ts,"
                "      MIN(equity) AS low, MAX(equity) AS high FROM snapshots GROUP BY account, bucket) b "
                "JOIN snapshots s ON s.account=b.account AND s.ts=b.last_ts "
                "GROUP BY s.account, b.bucket", (tier, tier, tier))
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def roll_up(conn: sqlite3.Connection, rows: Iterable[Row]) -> None:
    """Fold written snapshots into every tier (inside the caller's transaction)."""
    buckets: dict[tuple[str, int, float], list[float]] = {}
    for account, ts, balance, equity, _currency in rows:
        t, e, b = float(ts), float(equity), float(balance)  # type: ignore[arg-type]
        for tier in TIERS:
            key = (str(account), tier, (t // tier) * tier)
            cur = buckets.get(key)
            if cur is None:
                buckets[key] = [t, t, e, e, e, e, b]
                continue
            if t < cur[0]:
                cur[0], cur[2] = t, e
            cur[3], cur[4] = min(cur[3], e), max(cur[4], e)
            if t >= cur[1]:
                cur[1], cur[5], cur[6] = t, e, b
    conn.executemany(UPSERT, [(a, tier, bucket, *v) for (a, tier, bucket), v in buckets.items()])


def prune(conn: sqlite3.Connection, now: float | None = None) -> int:
    """Drop fine tiers past their age (coarser ones keep the period); returns rows removed."""
    now = time.time() if now is None else now
    removed = 0
    with conn:
        for tier, age in KEEP.items():
            removed += conn.execute("DELETE FROM equity_tiers WHERE tier=? AND bucket < ?",
                                    (tier, now - age)).rowcount
    return removed


def upgrade_and_prune(path: Path, now: float | None = None, timeout: float = 10.0) -> int:
    """The start-up step of the history store: build the tiers of an older file, drop aged fine tiers."""
    conn = sqlite3.connect(path, timeout=timeout)
    try:
        migrate(conn)
        return prune(conn, now)
    finally:
        conn.close()


def pick_tier(start: float, end: float, max_points: int, now: float) -> int | None:
    """The finest tier giving at most ``max_points`` buckets over the range and still kept at ``start``;
    None: the snapshots themselves fit."""
    span = max(0.0, end - start)
    if span <= max_points:
        return None
    for tier in TIERS:
        if span / tier <= max_points and start >= now - KEEP.get(tier, float("inf")):
            return tier
    return TIERS[-1]


def read_points(path: Path, account: str, start: float | None = None, end: float | None = None,
                max_points: int = DEFAULT_POINTS, *, now: float | None = None,
                conn: sqlite3.Connection | None = None) -> list[tuple[float, float, float, float, float]]:
    """At most about ``max_points`` rows ``(ts, balance, equity, equity_low, equity_high)`` for the range."""
    now = time.time() if now is None else now
    own = conn is None
    if conn is None:
        conn = sqlite3.connect(path, timeout=10.0)
    try:
        if start is None or end is None:
            lo, hi = conn.execute("SELECT MIN(first_ts), MAX(last_ts) FROM equity_tiers WHERE account=? AND tier=?",
                                  (account, TIERS[-1])).fetchone()
            if lo is None:
                lo, hi = conn.execute("SELECT MIN(ts), MAX(ts) FROM snapshots WHERE account=?", (account,)).fetchone()
            if lo is None:
                return []
            start = lo if start is None else start
            end = hi if end is None else end
        tier = pick_tier(start, end, max_points, now)
        if tier is None:
            rows = conn.execute("SELECT ts, balance, equity, equity, equity FROM snapshots "
                                "WHERE account=? AND ts>=? AND ts<=? ORDER BY ts", (account, start, end)).fetchall()
        else:
            rows = conn.execute(
                "SELECT last_ts, balance, last, low, high FROM equity_tiers WHERE account=? AND tier=? "
                "AND bucket>=? AND bucket<=? ORDER BY bucket", (account, tier, (start // tier) * tier, end)).fetchall()
        return [tuple(r) for r in rows]
    finally:
        if own:
            conn.close()
