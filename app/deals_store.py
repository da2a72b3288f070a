"""Deals store ([E] 1): every account's deals and history orders, kept in <data>/deals.sqlite3.

Fetched from the terminal while the account is live (the worker's ``history`` request: in full the
first time, then from a week before the newest stored deal, so late-filled orders are not missed) and
read while it is idle or no terminal runs: the history, the statistics and the exports work offline.
All times are UTC (converted in the worker, on the way in). A fetch is written in one transaction and
tickets are upserted, so a repeated or overlapping fetch never duplicates a deal and a writer killed
mid-way leaves the store as it was before that fetch (SQLite WAL).

Blocking: call off the GUI thread. Each call opens its own connection.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from multi_user.errors import DeskError

SCHEMA_VERSION = 1
FILE_NAME = "deals.sqlite3"
OVERLAP = 7 * 86400.0  # an incremental fetch re-reads the last week (orders filled after being placed)

DEAL_COLUMNS = ("ticket", "order", "time", "time_msc", "type", "entry", "magic", "position_id", "reason", "volume",
                "price", "commission", "swap", "profit", "fee", "symbol", "comment", "external_id")
ORDER_COLUMNS = ("ticket", "time_setup", "time_setup_msc", "time_done", "time_done_msc", "type", "type_time",
                 "type_filling", "state", "magic", "position_id", "position_by_id", "reason", "volume_initial",
                 "volume_current", "price_open", "sl", "tp", "price_current", "price_stoplimit", "symbol",
                 "comment", "external_id")


def _cols(columns: tuple[str, ...]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


# Migration n takes a file from user_version n to n + 1 (statements run in one transaction; executescript
# would commit half-way). Add steps; never edit a released one.
MIGRATIONS: list[list[str]] = [
    [f'CREATE TABLE deals (account TEXT NOT NULL, {_cols(DEAL_COLUMNS)}, PRIMARY KEY (account, ticket))',
     "CREATE INDEX deals_account_time ON deals(account, time)",
     f'CREATE TABLE orders (account TEXT NOT NULL, {_cols(ORDER_COLUMNS)}, PRIMARY KEY (account, ticket))',
     "CREATE TABLE accounts (account TEXT PRIMARY KEY, login INTEGER NOT NULL, server TEXT NOT NULL,"
     " currency TEXT NOT NULL DEFAULT '', server_offset INTEGER, fetched_at REAL, full_fetch_at REAL)"],
]


class DealsStoreError(DeskError):
    """The deals file is from a newer MT5 Desk or damaged."""


def account_key(login: int, server: str) -> str:
    return f"{int(login)}@{server}"


class DealsStore:
    def __init__(self, path: Path) -> None:
        """``path``: the file, or the data dir (then <data>/deals.sqlite3)."""
        self.path = path / FILE_NAME if path.is_dir() else path
        conn = self._connect()
        try:
            self._migrate(conn)
        finally:
            conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.row_factory = sqlite3.Row
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise DealsStoreError(f"{self.path} was written by a newer MT5 Desk (schema {version}; this one reads "
                                  f"up to {SCHEMA_VERSION}); it was left unchanged")
        for step in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql in MIGRATIONS[step]:
                    conn.execute(sql)
                conn.execute(f"PRAGMA user_version={step + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # ---- writes ------------------------------------------------------------------------------------
    def save(self, fetched: dict[str, Any]) -> int:
        """Store one ``history`` answer (login, server, currency, offset, fetched_at, since, deals, orders);
        returns how many deals were new."""
        key = account_key(fetched["login"], fetched["server"])
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                before = conn.execute("SELECT COUNT(*) FROM deals WHERE account=?", (key,)).fetchone()[0]
                conn.executemany(
                    f"INSERT OR REPLACE INTO deals (account, {_cols(DEAL_COLUMNS)}) "
                    f"VALUES (?, {', '.join('?' * len(DEAL_COLUMNS))})",
                    [(key, *(d.get(c) for c in DEAL_COLUMNS)) for d in fetched.get("deals") or ()])
                conn.executemany(
                    f"INSERT OR REPLACE INTO orders (account, {_cols(ORDER_COLUMNS)}) "
                    f"VALUES (?, {', '.join('?' * len(ORDER_COLUMNS))})",
                    [(key, *(o.get(c) for c in ORDER_COLUMNS)) for o in fetched.get("orders") or ()])
                full = fetched.get("since") is None
                fetched_at = float(fetched.get("fetched_at") or time.time())
                conn.execute(
                    "INSERT INTO accounts (account, login, server, currency, server_offset, fetched_at, full_fetch_at)"
                    " VALUES (?,?,?,?,?,?,?) ON CONFLICT(account) DO UPDATE SET currency=excluded.currency,"
                    " server_offset=excluded.server_offset, fetched_at=excluded.fetched_at,"
                    " full_fetch_at=COALESCE(excluded.full_fetch_at, accounts.full_fetch_at)",
                    (key, int(fetched["login"]), str(fetched["server"]), str(fetched.get("currency") or ""),
                     fetched.get("offset"), fetched_at, fetched_at if full else None))
                after = conn.execute("SELECT COUNT(*) FROM deals WHERE account=?", (key,)).fetchone()[0]
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()
        return after - before

    # ---- reads ----------------------------------------------------------------------------------------
    def fetch_args(self, key: str) -> dict[str, Any]:
        """The ``history`` request's fields for the next fetch: full when nothing is stored yet."""
        conn = self._connect()
        try:
            meta = conn.execute("SELECT server_offset, full_fetch_at FROM accounts WHERE account=?", (key,)).fetchone()
            newest = conn.execute("SELECT MAX(time) FROM deals WHERE account=?", (key,)).fetchone()[0]
        finally:
            conn.close()
        if meta is None or meta["full_fetch_at"] is None or newest is None:
            return {"since": None, "offset": meta["server_offset"] if meta else None}
        return {"since": max(0.0, float(newest) - OVERLAP), "offset": meta["server_offset"]}

    def accounts(self) -> list[dict[str, Any]]:
        conn = self._connect()
        try:
            rows = conn.execute("SELECT a.*, (SELECT COUNT(*) FROM deals d WHERE d.account=a.account) AS deals "
                                "FROM accounts a ORDER BY a.account").fetchall()
        finally:
            conn.close()
        return [dict(r) for r in rows]

    def account(self, key: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts() if a["account"] == key), None)

    def deals(self, key: str, start: float | None = None, end: float | None = None) -> list[dict[str, Any]]:
        return self._rows("deals", "time", key, start, end)

    def orders(self, key: str, start: float | None = None, end: float | None = None) -> list[dict[str, Any]]:
        return self._rows("orders", "time_setup", key, start, end)

    def _rows(self, table: str, tcol: str, key: str, start: float | None, end: float | None) -> list[dict[str, Any]]:
        conn = self._connect()
        try:
            rows = conn.execute(
                f"SELECT * FROM {table} WHERE account=? AND {tcol}>=? AND {tcol}<=? ORDER BY {tcol}, ticket",
                (key, -1e18 if start is None else start, 1e18 if end is None else end)).fetchall()
        finally:
            conn.close()
        out = []
        for r in rows:
            d = dict(r)
            d.pop("account", None)
            out.append(d)
        return out
