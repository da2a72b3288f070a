"""Equity history: snapshots per account in SQLite, written in batches by one background thread.

Writes never block the caller (the GUI thread enqueues). Reads are blocking and belong off the
GUI thread; each read opens its own connection (WAL lets it run beside the writer). Old data is
downsampled at start-up: full resolution for a day, one point a minute for a week, then one
point every fifteen minutes.

The writer survives a failing database (another program holding the file, a full disk): a batch
that cannot be written stays queued and is retried with a growing pause (0.5 s doubling to 30 s),
and `status.json` keeps being refreshed meanwhile. The queue is bounded (`max_pending` rows): past
that the OLDEST waiting rows are dropped and counted. Every change of the writer's health is
reported through `on_state` as a `history` event (see docs/ARCHITECTURE.md).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app import equity_tiers

log = logging.getLogger("mt5desk.history")

SCHEMA = """
CREATE TABLE IF NOT EXISTS snapshots (
    account TEXT NOT NULL,
    ts REAL NOT NULL,
    balance REAL NOT NULL,
    equity REAL NOT NULL,
    currency TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS snapshots_account_ts ON snapshots(account, ts);
"""
DAY = 86400.0
MAX_PENDING = 200_000  # about a day of 1 s snapshots for two accounts; ~20 MB of memory at most
BATCH = 5000
GATHER = 0.2  # one transaction per ~0.2 s while snapshots keep coming
RETRY_FIRST, RETRY_MAX = 0.5, 30.0
# [P] 4: the writer's connection lives as long as the app; SQLite's default page cache (2 MB) filled as the
# tables grew and was ~2 MB of the window's growth in a 10-minute run. Appends touch only the tail pages.
WRITER_CACHE_KIB = 256

Row = tuple[str, float, float, float, str]


def _connect(path: Path, timeout: float = 10.0, cache_kib: int | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=timeout)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    if cache_kib is not None:
        conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")  # negative: KiB, not pages
    return conn


class HistoryStore:
    def __init__(self, path: Path, status_path: Path | None = None, *,
                 on_state: Callable[[dict[str, Any]], None] | None = None, max_pending: int = MAX_PENDING,
                 busy_timeout: float = 10.0, retry_first: float = RETRY_FIRST, retry_max: float = RETRY_MAX) -> None:
        """`on_state` is called on the writer thread with each `history` event; hop threads in it."""
        self.path = path
        self.status_path = status_path
        self.on_state = on_state
        self.max_pending = max(2, max_pending)
        self._busy_timeout, self._retry_first, self._retry_max = busy_timeout, retry_first, retry_max
        self._cond = threading.Condition()
        self._pending: deque[tuple[int, Row]] = deque()  # (sequence number, row), oldest first
        self._seq = 0
        self._dropped = 0  # rows dropped (oldest first) because the queue was full, since start
        self._dropped_upto = 0  # highest sequence number dropped
        self._status: dict[str, Any] | None = None
        self._stopping = False
        self._failing: str | None = None  # the last error while the writer cannot write, else None
        self._thread: threading.Thread | None = None
        with _connect(path) as conn:
            conn.executescript(SCHEMA)
        equity_tiers.ensure(conn)  # [E] 2: lows and highs kept per bucket
        conn.close()

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Flush what can be written (one last attempt if the database is failing) and end the thread."""
        if self._thread is not None:
            with self._cond:
                self._stopping = True
                self._cond.notify_all()
            self._thread.join(timeout=max(10.0, self._busy_timeout + 5))
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def health(self) -> dict[str, Any]:
        """The writer's state as a `history` event would give it now."""
        with self._cond:
            return self._event()

    def add(self, account: str, ts: float, balance: float, equity: float, currency: str) -> None:
        with self._cond:
            self._seq += 1
            self._pending.append((self._seq, (account, ts, balance, equity, currency)))
            if len(self._pending) > self.max_pending:
                seq, _ = self._pending.popleft()
                self._dropped += 1
                self._dropped_upto = seq
            self._cond.notify()

    def write_status(self, status: dict[str, Any]) -> None:
        """Replace <data>/status.json (for `accounts status` while the app runs); latest wins."""
        with self._cond:
            self._status = status
            self._cond.notify()

    # ---- the writer thread ---------------------------------------------------------------------
    def _event(self) -> dict[str, Any]:
        if self._failing is None:
            state = "ok"
            message = "Equity history is being saved."
        else:
            state = "retrying"
            message = f"Equity history cannot be saved ({self._failing}); retrying."
            if not self._dropped:
                message += f" Nothing is lost: {len(self._pending)} snapshot(s) wait in memory."
        if self._dropped:
            message += (f" {self._dropped} oldest snapshot(s) were dropped because the queue was full "
                        f"({self.max_pending} rows).")
        return {"event": "history", "ts": time.time(), "state": state, "pending": len(self._pending),
                "dropped": self._dropped, "error": self._failing, "message": message}

    def _report(self) -> None:
        with self._cond:
            ev = self._event()
        if ev["state"] == "ok":
            log.info("%s", ev["message"])
        else:
            log.warning("%s", ev["message"])
        if self.on_state is not None:
            try:
                self.on_state(ev)
            except Exception:  # a broken listener must not stop the writer
                log.exception("history state listener failed")

    def _take(self) -> tuple[list[tuple[int, Row]], dict[str, Any] | None, bool]:
        """Wait for work; return (a batch still in the queue, a status to write, whether to stop)."""
        with self._cond:
            while not self._pending and self._status is None and not self._stopping:
                self._cond.wait()
            if not self._stopping and len(self._pending) < BATCH:
                # gather a batch: one transaction per GATHER seconds while snapshots come in
                self._cond.wait_for(lambda: self._stopping or len(self._pending) >= BATCH, timeout=GATHER)
            batch = [self._pending[i] for i in range(min(BATCH, len(self._pending)))]
            status, self._status = self._status, None
            return batch, status, self._stopping

    def _committed(self, batch: list[tuple[int, Row]]) -> None:
        """Take a written batch off the queue; rows of it that add() dropped meanwhile were written after all."""
        first, last = batch[0][0], batch[-1][0]
        with self._cond:
            while self._pending and self._pending[0][0] <= last:
                self._pending.popleft()
            self._dropped -= max(0, min(last, self._dropped_upto) - first + 1)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        pause = self._retry_first
        while True:
            batch, status, stop = self._take()
            if status is not None:
                self._write_status_file(status)
            try:
                if batch:
                    if conn is None:
                        conn = _connect(self.path, self._busy_timeout, WRITER_CACHE_KIB)
                    with conn:
                        conn.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)", [row for _, row in batch])
                        equity_tiers.roll_up(conn, [row for _, row in batch])
                    self._committed(batch)
            except Exception as exc:  # sqlite3.Error mostly; anything else must not end the thread either
                if conn is not None:
                    conn.close()
                    conn = None  # reconnect: the file may have been replaced or unlocked meanwhile
                error = str(exc) or type(exc).__name__
                first = self._failing is None
                with self._cond:
                    self._failing = error
                if first and not isinstance(exc, sqlite3.Error):
                    log.exception("history write failed; will retry")  # not the database: keep the traceback
                self._report()
                if stop:
                    log.error("history writer stopped with %d snapshot(s) unsaved", len(self._pending))
                    break
                with self._cond:  # back off; stop() cuts the pause short for one last attempt
                    self._cond.wait_for(lambda: self._stopping, timeout=pause)
                pause = min(pause * 2, self._retry_max)
                continue
            if self._failing is not None:
                with self._cond:
                    self._failing = None
                pause = self._retry_first
                self._report()
            with self._cond:
                done = stop and not self._pending and self._status is None
            if done:
                break
        if conn is not None:
            conn.close()

    def _write_status_file(self, status: dict[str, Any]) -> None:
        if self.status_path is None:
            return
        tmp = self.status_path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(status, default=str), encoding="utf-8")
            os.replace(tmp, self.status_path)
        except OSError as exc:  # the next status replaces it; the writer carries on
            log.warning("status file not written: %s", exc)

    # ---- reads (blocking: call off the GUI thread) ---------------------------------------
    def read(self, account: str, since: float | None = None,
             max_points: int = 20000) -> list[tuple[float, float, float]]:
        conn = _connect(self.path)
        try:
            rows = conn.execute(
                "SELECT ts, balance, equity FROM snapshots WHERE account=? AND ts>=? ORDER BY ts",
                (account, since or 0.0)).fetchall()
        finally:
            conn.close()
        if len(rows) > max_points:  # thin evenly, keep the newest point
            step = len(rows) / max_points
            rows = [rows[int(i * step)] for i in range(max_points - 1)] + [rows[-1]]
        return rows

    def latest(self) -> dict[str, dict[str, Any]]:
        conn = _connect(self.path)
        try:
            rows = conn.execute(
                "SELECT s.account, s.ts, s.balance, s.equity, s.currency FROM snapshots s "
                "JOIN (SELECT account, MAX(ts) AS ts FROM snapshots GROUP BY account) m "
                "ON s.account=m.account AND s.ts=m.ts").fetchall()
        finally:
            conn.close()
        return {a: {"ts": ts, "balance": b, "equity": e, "currency": c} for a, ts, b, e, c in rows}

    def compact(self, now: float | None = None) -> int:
        """Downsample old snapshots; returns how many rows were removed (0 when the file is held: next start)."""
        now = time.time() if now is None else now
        try:
            equity_tiers.upgrade_and_prune(self.path, now, self._busy_timeout)
            return self._compact(now)
        except sqlite3.OperationalError as exc:  # another program holds the file: not worth failing a start for
            log.warning("history not compacted this time: %s", exc)
            return 0

    def _compact(self, now: float) -> int:
        conn = _connect(self.path, self._busy_timeout)
        removed = 0
        ranges = ((now - 7 * DAY, now - DAY, 60.0), (0.0, now - 7 * DAY, 900.0))
        try:
            with conn:
                for lo, hi, bucket in ranges:
                    cur = conn.execute(
                        "DELETE FROM snapshots WHERE ts >= ? AND ts < ? AND rowid NOT IN ("
                        " SELECT MAX(rowid) FROM snapshots WHERE ts >= ? AND ts < ?"
                        " GROUP BY account, CAST(ts / ? AS INTEGER))",
                        (lo, hi, lo, hi, bucket))
                    removed += cur.rowcount
        finally:
            conn.close()
        return removed
