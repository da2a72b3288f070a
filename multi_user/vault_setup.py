"""Opening the vault file safely: refuse a damaged or truncated one, and set up a fresh one once.

Several processes may open a fresh data dir at the same moment (the GUI, a command line, a headless
host). Set-up is therefore idempotent under races: the schema is created inside one BEGIN IMMEDIATE
transaction that re-reads ``user_version`` after taking SQLite's write lock, so the second process
finds the work done instead of failing on "table accounts already exists".

Damage is told apart from "new" and from "busy":
- ``PRAGMA quick_check`` on every open: a damaged page is reported before anything is read or written.
- a sidecar marker (``vault.initialised``) is written once the schema exists; a 0-byte vault next to
  it was truncated, not new, and is refused instead of being silently started afresh. A vault that is
  missing altogether (moved aside by the owner) starts a new one.
- SQLite's "busy/locked" after the 15 s wait is reported as busy, never as damage.
In each refusal nothing on disk is changed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from multi_user.errors import VaultError

BUSY_TIMEOUT = 15.0
MARKER_TEXT = ("MT5 Desk: this data dir holds a vault (vault.sqlite3). If that file is ever empty, it was damaged;\n"
               "restore it from a backup rather than deleting this marker.\n")


def refusal(path: Path, exc: sqlite3.Error) -> VaultError:
    name = getattr(exc, "sqlite_errorname", "") or ""
    if _busy(exc):
        return VaultError(f"The vault {path} is busy: another MT5 Desk process kept it locked for "
                          f"{BUSY_TIMEOUT:.0f} s. Try again; nothing was changed.")
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_READONLY", "SQLITE_IOERR")):
        return VaultError(f"The vault {path} cannot be opened ({exc}); check the folder's permissions and free "
                          "space. Nothing was changed.")
    return damaged(path, str(exc))


def damaged(path: Path, detail: str) -> VaultError:
    return VaultError(f"The vault {path} is damaged ({detail}). Nothing was changed. Restore it from a backup, or "
                      "move it aside to start a new one (your accounts would then need linking again).")


def check_not_truncated(path: Path, marker: Path) -> None:
    """An empty vault file where a vault was set up before is damage, not a fresh start."""
    try:
        empty = path.stat().st_size == 0
    except FileNotFoundError:
        return
    wal = path.with_name(path.name + "-wal")
    if empty and wal.exists() and wal.stat().st_size > 0:
        return  # WAL mode: a freshly set-up vault's pages may all still be in its -wal file
    if empty and marker.exists():
        raise VaultError(f"The vault {path} is empty (0 bytes) although this data dir had a vault: it was truncated "
                         "or damaged. Nothing was changed. Restore it from a backup, or move it and "
                         f"{marker.name} aside to start a new one (your accounts would then need linking again).")


def connect(path: Path, migrations: list[str], marker: Path) -> tuple[sqlite3.Connection, int]:
    """Open, check and (once, under the write lock) migrate the vault; returns the connection and its schema.

    SQLite answers "busy" at once, without waiting, to a process switching a fresh file to WAL while
    another does the same; the whole open is therefore retried (it changes nothing until it succeeds)
    until BUSY_TIMEOUT has passed."""
    check_not_truncated(path, marker)
    deadline = time.monotonic() + BUSY_TIMEOUT
    pause = 0.005
    while True:
        try:
            conn, version = _open(path, migrations)
            break
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() + pause > deadline:
                raise refusal(path, exc) from None
        time.sleep(pause)  # another process is setting the file up this very moment
        pause = min(pause * 2, 0.2)
    if not marker.exists():
        with contextlib.suppress(sqlite3.Error):  # put the schema into the main file before saying it exists
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        _write_marker(marker)
    return conn, version


def _busy(exc: sqlite3.Error) -> bool:
    return (getattr(exc, "sqlite_errorname", "") or "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def _open(path: Path, migrations: list[str]) -> tuple[sqlite3.Connection, int]:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA quick_check(3)").fetchall()]
        if problems != ["ok"]:
            raise damaged(path, "; ".join(problems))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA secure_delete=ON")  # an unlinked token is overwritten, not just freed
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > len(migrations):
            raise VaultError(f"The vault {path} was written by a newer MT5 Desk (schema {version}); update MT5 Desk")
        if version < len(migrations):
            version = _migrate(conn, migrations)
    except sqlite3.OperationalError:
        conn.close()
        raise
    except sqlite3.Error as exc:
        conn.close()
        raise refusal(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn, version


def _migrate(conn: sqlite3.Connection, migrations: list[str]) -> int:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # re-read under the write lock: another process may have set the vault up since we looked
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number in range(version + 1, len(migrations) + 1):
            for statement in migrations[number - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return len(migrations)


def _write_marker(marker: Path) -> None:
    tmp = marker.with_name(f".{marker.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(MARKER_TEXT)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, marker)  # several processes may race here; all write the same text


class Result:
    """A statement's rows, read in full while still guarded (SQLite reads pages lazily, as rows are fetched)."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows, self.rowcount = rows, rowcount

    def fetchone(self) -> Any:
        return self._rows[0] if self._rows else None

    def fetchall(self) -> list[Any]:
        return self._rows


class GuardedConnection:
    """The vault's connection once open: damage or a busy file met later is a VaultError (exit 4), not a traceback."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn, self._path = conn, path

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> Result:
        try:
            cur = self._conn.execute(statement, params)
            return Result(cur.fetchall(), cur.rowcount)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError):
            raise  # a mistake in a statement, not damage
        except sqlite3.DatabaseError as exc:
            raise refusal(self._path, exc) from None

    def close(self) -> None:
        self._conn.close()
