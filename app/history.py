"""Equity history: snapshots per account in SQLite, written in batches by one background thread.

Writes never block the caller (the GUI thread enqueues). Reads are blocking and belong off the
GUI thread; each read opens its own connection (WAL lets it run beside the writer). Old data is
downsampled at start-up: full resolution for a day, one point a minute for a week, then one
point every fifteen minutes.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

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
_STOP = object()


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


class HistoryStore:
    def __init__(self, path: Path, status_path: Path | None = None) -> None:
        self.path = path
        self.status_path = status_path
        self._q: queue.Queue[Any] = queue.Queue()
        self._thread: threading.Thread | None = None
        with _connect(path) as conn:
            conn.executescript(SCHEMA)
        conn.close()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._q.put(_STOP)
            self._thread.join(timeout=10)
            self._thread = None

    def add(self, account: str, ts: float, balance: float, equity: float, currency: str) -> None:
        self._q.put(("snap", (account, ts, balance, equity, currency)))

    def write_status(self, status: dict[str, Any]) -> None:
        """Replace <data>/status.json (for `accounts status` while the app runs); latest wins."""
        self._q.put(("status", status))

    def _run(self) -> None:
        conn = _connect(self.path)
        try:
            while True:
                item = self._q.get()
                batch, status, stop = [], None, item is _STOP
                while not stop:
                    if item[0] == "snap":
                        batch.append(item[1])
                    else:
                        status = item[1]
                    try:
                        item = self._q.get(timeout=0.2)  # gather a batch: one transaction per ~0.2 s
                    except queue.Empty:
                        break
                    stop = item is _STOP
                if batch:
                    with conn:
                        conn.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)", batch)
                if status is not None and self.status_path is not None:
                    self._write_status_file(status)
                if stop:
                    return
        except Exception:
            log.exception("history writer stopped")
        finally:
            conn.close()

    def _write_status_file(self, status: dict[str, Any]) -> None:
        assert self.status_path is not None
        tmp = self.status_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(status, default=str), encoding="utf-8")
        os.replace(tmp, self.status_path)

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
        """Downsample old snapshots; returns how many rows were removed."""
        now = time.time() if now is None else now
        conn = _connect(self.path)
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
