"""The activity log: what the owner should know happened (switches, job results, failures, alerts,
notices), with times, kept across restarts in <data>/activity.sqlite3.

``entry_for(event)`` decides which Desk events become an entry, and in which words; the Desk
writes entries on its I/O thread (``ActivityLog.add`` blocks) and emits each as an ``activity``
event, so the window shows it at once. Other parts only emit their events; they never write here.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ACTIVITY_FILE = "activity.sqlite3"
KEEP_DAYS = 90.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    level TEXT NOT NULL,
    account TEXT,
    title TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS activity_ts ON activity(ts);
"""
LEVELS = ("info", "success", "warning", "error")
JOB_END_STATES = {"done", "failed", "cancelled", "aborted"}  # "aborted": the lock's old name for cancelled
JOB_NAMES = {"close_all": "Close all positions", "verify": "Password check", "flatten": "Flatten",
             "reset_visit": "Reset visit", "close_position": "Close a position", "bot": "Bot"}
STATE_ENTRIES = {  # account_state -> (level, what happened)
    "auth_error": ("error", "login failed"),
    "offline": ("error", "is offline"),
    "mismatch": ("error", "shows the wrong account"),
    "stale": ("warning", "stopped getting fresh values"),
    "disconnected": ("warning", "lost the broker connection"),
}


class ActivityLog:
    """Blocking SQLite access; call from one thread (the Desk's I/O thread) at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._guard = threading.Lock()

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA cache_size=-256")  # [P] 4: open for the app's life; SQLite's default is 2 MB
            conn.executescript(SCHEMA)
            self._conn = conn
        return self._conn

    def add(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Store an entry (``ts, kind, level, account, title, detail``); returns it with its ``id``."""
        with self._guard:
            conn = self._db()
            with conn:
                cur = conn.execute(
                    "INSERT INTO activity (ts, kind, level, account, title, detail) VALUES (?,?,?,?,?,?)",
                    (float(entry.get("ts") or time.time()), str(entry.get("kind") or "info"),
                     str(entry.get("level") or "info"), entry.get("account"), str(entry.get("title") or ""),
                     str(entry.get("detail") or "")))
            return {**entry, "id": cur.lastrowid}

    def recent(self, limit: int = 500) -> list[dict[str, Any]]:
        """The newest entries, oldest first."""
        with self._guard:
            rows = self._db().execute(
                "SELECT id, ts, kind, level, account, title, detail FROM activity ORDER BY id DESC LIMIT ?",
                (limit,)).fetchall()
        keys = ("id", "ts", "kind", "level", "account", "title", "detail")
        return [dict(zip(keys, r, strict=True)) for r in reversed(rows)]

    def prune(self, now: float | None = None) -> int:
        with self._guard:
            conn = self._db()
            with conn:
                cur = conn.execute("DELETE FROM activity WHERE ts < ?", ((now or time.time()) - KEEP_DAYS * 86400,))
            return cur.rowcount

    def close(self) -> None:
        with self._guard:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def job_result_text(ev: dict[str, Any]) -> str:
    """A job's outcome in words: the ``result`` dict where the lock gives one, else its message."""
    result = ev.get("result") or {}
    message = str(ev.get("message") or "")
    if ev.get("job") == "close_all" and isinstance(result, dict) and "closed" in result:
        closed, failed = int(result.get("closed") or 0), int(result.get("failed") or 0)
        text = f"closed {closed} position{'s' if closed != 1 else ''}"
        if failed:
            text += f", {failed} still open"
        if message and failed:
            text += f": {message}"
        return text
    return message or str(ev.get("state") or "")


def entry_for(ev: dict[str, Any], name_of: Callable[[str], str] = str,
              previous_state: str | None = None) -> dict[str, Any] | None:
    """The activity entry a Desk event makes, or None (most events are not worth an entry)."""
    kind = ev.get("event")
    account = ev.get("account")
    who = name_of(account) if account else ""
    base = {"ts": float(ev.get("ts") or time.time()), "account": account}
    if kind == "job":
        state = ev.get("state")
        job = JOB_NAMES.get(str(ev.get("job")), str(ev.get("job")))
        if ev.get("job") == "verify" and state not in ("failed",):
            return None  # a link check reports through its dialog; only a failure is worth keeping
        if state == "queued" and ev.get("job") == "close_all":
            return {**base, "kind": "job", "level": "info", "title": f"{job} on {who}: queued",
                    "detail": "waits for the shared terminal"}
        if state not in JOB_END_STATES:
            return None
        level = {"done": "success", "failed": "error"}.get(str(state), "warning")
        verdict = {"done": "done", "failed": "failed", "cancelled": "cancelled", "aborted": "cancelled"}[state]
        if state == "done" and ev.get("job") == "close_all":
            result = ev.get("result") or {}
            if isinstance(result, dict) and int(result.get("failed") or 0):
                level, verdict = "error", "failed"
        return {**base, "kind": "job", "level": level, "title": f"{job} on {who}: {verdict}",
                "detail": job_result_text(ev)}
    if kind == "account_state":
        state = ev.get("state")
        if state == "live" and previous_state == "connecting":
            lane = ev.get("lane")
            where = "" if not lane else " on the shared terminal" if lane == "shared" else " on its own terminal"
            return {**base, "kind": "switch", "level": "info", "title": f"{who} is live{where}",
                    "detail": ev.get("message") or ""}
        if state in STATE_ENTRIES and previous_state != state:
            level, what = STATE_ENTRIES[state]
            return {**base, "kind": "alert", "level": level, "title": f"{who} {what}",
                    "detail": ev.get("message") or ""}
        return None
    if kind == "error":
        return {**base, "kind": "failure", "level": "error",
                "title": f"{who}: error" if who else "Error", "detail": str(ev.get("message") or "")}
    if kind in ("notice", "alert"):
        return {**base, "kind": kind, "level": str(ev.get("level") or ("warning" if kind == "alert" else "info")),
                "title": str(ev.get("title") or ""), "detail": str(ev.get("message") or "")}
    if kind == "terminal" and ev.get("state") == "failed":
        return {**base, "kind": "failure", "level": "error", "title": "A terminal keeps crashing",
                "detail": f"{ev.get('lane')}: {ev.get('message') or ''}"}
    return None
