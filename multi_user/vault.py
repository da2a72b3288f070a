"""The local vault: linked accounts in SQLite (WAL, synchronous=FULL), passwords as Fernet tokens only.

Rows follow Supabase's ``user_mt5_credentials`` (login, server, password_encrypted, created_at,
updated_at) plus desktop fields. Every change is one transaction, so a process killed at any
moment leaves the vault as it was before or after, never half. Migrations are steps applied in
order by ``PRAGMA user_version``; other modules may append to ``MIGRATIONS``. Opening, checking and
setting up the file (safe when several processes start on a fresh data dir) is in vault_setup.py.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from multi_user import vault_setup
from multi_user.credentials import MT5CredentialManager
from multi_user.errors import BadInput, VaultError
from multi_user.paths import vault_marker_path, vault_path
from multi_user.validation import check_password, parse_login, parse_server
from multi_user.vault_changes import TOKEN_CHANGES

KEY_CHECK_PLAINTEXT = "mt5desk-key-check"
MODES = ("shared", "dedicated")

MIGRATIONS: list[str] = [
    # 1: accounts, tombstones of unlinked accounts (so cloud sync can propagate unlinks), meta
    """
    CREATE TABLE accounts (
        id INTEGER PRIMARY KEY,
        login INTEGER NOT NULL CHECK (login > 0),
        server TEXT NOT NULL CHECK (length(server) BETWEEN 1 AND 128),
        password_encrypted TEXT NOT NULL,
        label TEXT,
        investor INTEGER NOT NULL DEFAULT 0,
        mode TEXT NOT NULL DEFAULT 'shared' CHECK (mode IN ('shared', 'dedicated')),
        terminal_path TEXT,
        sort_order INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_balance REAL,
        last_equity REAL,
        last_currency TEXT,
        last_snapshot_at REAL,
        UNIQUE (login, server)
    );
    CREATE TABLE tombstones (
        login INTEGER NOT NULL,
        server TEXT NOT NULL,
        deleted_at TEXT NOT NULL,
        PRIMARY KEY (login, server)
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2 (cloud sync): per account, the remote updated_at and the local stamp both sides agreed on at the
    # last sync, so a later difference on either side is a change to send or fetch
    """
    CREATE TABLE sync_state (
        login INTEGER NOT NULL,
        server TEXT NOT NULL,
        remote_updated_at TEXT NOT NULL,
        local_stamp TEXT NOT NULL,
        PRIMARY KEY (login, server)
    );
    """,
]


Clock = Callable[[], datetime]


def now_iso(clock: Clock | None = None) -> str:
    """UTC, milliseconds, 'Z': the vault's form of a time (from this machine's clock unless one is given)."""
    return (clock() if clock else datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


@dataclass(frozen=True)
class Account:
    """A linked account as the app sees it. Holds no password and no token."""

    login: int
    server: str
    label: str | None
    investor: bool
    mode: str
    terminal_path: str | None
    order: int
    created_at: str
    updated_at: str
    last_balance: float | None = None
    last_equity: float | None = None
    last_currency: str | None = None
    last_snapshot_at: float | None = None

    @property
    def key(self) -> str:
        return f"{self.login}@{self.server}"


_COLUMNS = ("login, server, label, investor, mode, terminal_path, sort_order, created_at, updated_at, "
            "last_balance, last_equity, last_currency, last_snapshot_at")


def _account(row: tuple[Any, ...]) -> Account:
    return Account(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7], row[8],
                   row[9], row[10], row[11], row[12])


class Vault:
    def __init__(self, conn: sqlite3.Connection, credentials: MT5CredentialManager, path: Path,
                 clock: Clock | None = None) -> None:
        self._conn = vault_setup.GuardedConnection(conn, path)
        self.credentials = credentials
        self.path = path
        self.clock = clock  # where change stamps come from (tests give two desktops different clocks)

    @classmethod
    def open(cls, data_dir: Path, credentials: MT5CredentialManager | None = None, *,
             clock: Clock | None = None) -> Vault:
        """Open (setting up once) the data dir's vault; a damaged, truncated or busy one is a VaultError."""
        path = vault_path(Path(data_dir))
        path.parent.mkdir(parents=True, exist_ok=True)
        conn, _version = vault_setup.connect(path, MIGRATIONS, vault_marker_path(Path(data_dir)))
        try:
            keys = credentials or MT5CredentialManager(Path(data_dir))
        except BaseException:
            conn.close()
            raise
        return cls(conn, keys, path, clock)

    def now(self) -> str:
        return now_iso(self.clock)

    def close(self) -> None:
        self._conn.close()

    @contextlib.contextmanager
    def _tx(self, tokens: bool = False) -> Iterator[vault_setup.GuardedConnection]:
        """One transaction; ``tokens``: it may change a stored password (TOKEN_CHANGES counts it)."""
        with TOKEN_CHANGES.changing() if tokens else contextlib.nullcontext():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def tokens(self) -> dict[tuple[int, str], str]:
        """Every account's encrypted password (never decrypted here)."""
        return {(int(r[0]), str(r[1])): r[2]
                for r in self._conn.execute("SELECT login, server, password_encrypted FROM accounts").fetchall()}

    # ---- the key check: tells "another key" apart from "a damaged row" -------------------------
    def key_matches(self) -> bool | None:
        """True/False whether the vault's key check decrypts with the current keys; None if none yet."""
        row = self._conn.execute("SELECT value FROM meta WHERE key='key_check'").fetchone()
        return None if row is None else self.credentials.can_decrypt(row[0])

    def _ensure_key(self, c: vault_setup.GuardedConnection) -> None:
        row = c.execute("SELECT value FROM meta WHERE key='key_check'").fetchone()
        if row is None:
            c.execute("INSERT INTO meta VALUES ('key_check', ?)", (self.credentials.encrypt(KEY_CHECK_PLAINTEXT),))
        elif not self.credentials.can_decrypt(row[0]):
            raise VaultError("This vault was encrypted with another key: set MT5_ENCRYPTION_KEY (or add the old key "
                             "to MT5_ENCRYPTION_KEYS) to the key it was made with. Nothing was changed.")

    # ---- reads -------------------------------------------------------------------------------------
    def list_accounts(self) -> list[Account]:
        rows = self._conn.execute(f"SELECT {_COLUMNS} FROM accounts ORDER BY sort_order, id").fetchall()
        return [_account(r) for r in rows]

    def get(self, login: int, server: str) -> Account | None:
        row = self._conn.execute(f"SELECT {_COLUMNS} FROM accounts WHERE login=? AND server=?",
                                 (login, server)).fetchone()
        return _account(row) if row else None

    def token(self, login: int, server: str) -> str:
        row = self._conn.execute("SELECT password_encrypted FROM accounts WHERE login=? AND server=?",
                                 (login, server)).fetchone()
        if row is None:
            raise BadInput(f"No linked account {login} on {server}.", field="login")
        return row[0]

    def password(self, login: int, server: str) -> str:
        """Decrypt one account's password; a bad token is an error for this account only."""
        try:
            return self.credentials.decrypt(self.token(login, server))
        except VaultError as exc:
            raise VaultError(f"Account {login} on {server}: {exc}") from None

    def tombstones(self) -> list[tuple[int, str, str]]:
        return self._conn.execute("SELECT login, server, deleted_at FROM tombstones ORDER BY deleted_at").fetchall()

    # ---- writes (each one transaction) ---------------------------------------------------------------
    def link(self, login: int | str, server: str, password: str, *, label: str | None = None,
             investor: bool | None = None, mode: str | None = None, terminal_path: str | None = None) -> Account:
        """Insert, or update the existing (login, server) row; the token is replaced.

        Re-linking (e.g. to change the password) keeps every field the caller leaves at None: label,
        investor flag, mode, terminal path, and always the sidebar order. A new account gets the
        defaults (master password, shared terminal, no terminal path, last in the sidebar)."""
        login_n, server_s = parse_login(login), parse_server(server)
        check_password(password)
        if mode is not None and mode not in MODES:
            raise BadInput(f"Mode must be shared or dedicated, not {mode!r}.", field="mode")
        token = self.credentials.encrypt(password)
        stamp = self.now()
        flag = None if investor is None else int(investor)
        with self._tx(tokens=True) as c:
            self._ensure_key(c)
            exists = c.execute("SELECT 1 FROM accounts WHERE login=? AND server=?", (login_n, server_s)).fetchone()
            if exists:
                c.execute("UPDATE accounts SET password_encrypted=?, label=COALESCE(?, label), "
                          "investor=COALESCE(?, investor), mode=COALESCE(?, mode), "
                          "terminal_path=COALESCE(?, terminal_path), updated_at=? WHERE login=? AND server=?",
                          (token, label, flag, mode, terminal_path, stamp, login_n, server_s))
            else:
                order = c.execute("SELECT COALESCE(MAX(sort_order), -1) + 1 FROM accounts").fetchone()[0]
                c.execute("INSERT INTO accounts (login, server, password_encrypted, label, investor, mode, "
                          "terminal_path, sort_order, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
                          (login_n, server_s, token, label, flag or 0, mode or "shared", terminal_path, order,
                           stamp, stamp))
            c.execute("DELETE FROM tombstones WHERE login=? AND server=?", (login_n, server_s))
        account = self.get(login_n, server_s)
        assert account is not None
        return account

    def update(self, login: int, server: str, **fields: Any) -> Account:
        allowed = {"label": "label", "mode": "mode", "terminal_path": "terminal_path", "order": "sort_order",
                   "investor": "investor"}
        unknown = set(fields) - set(allowed)
        if unknown:
            raise BadInput(f"Unknown account field(s): {', '.join(sorted(unknown))}")
        if "mode" in fields and fields["mode"] not in MODES:
            raise BadInput(f"Mode must be shared or dedicated, not {fields['mode']!r}.", field="mode")
        with self._tx() as c:
            if not c.execute("SELECT 1 FROM accounts WHERE login=? AND server=?", (login, server)).fetchone():
                raise BadInput(f"No linked account {login} on {server}.", field="login")
            for name, value in fields.items():
                c.execute(f"UPDATE accounts SET {allowed[name]}=? WHERE login=? AND server=?",
                          (int(value) if name == "investor" else value, login, server))
            c.execute("UPDATE accounts SET updated_at=? WHERE login=? AND server=?", (self.now(), login, server))
        account = self.get(login, server)
        assert account is not None
        return account

    def reorder(self, keys: list[str]) -> None:
        """Sidebar order: the given account keys first, in that order; the rest keep theirs after."""
        current = [a.key for a in self.list_accounts()]
        ordered = [k for k in keys if k in current] + [k for k in current if k not in keys]
        with self._tx() as c:
            for i, key in enumerate(ordered):
                login, _, server = key.partition("@")
                c.execute("UPDATE accounts SET sort_order=? WHERE login=? AND server=?", (i, int(login), server))

    def unlink(self, login: int, server: str) -> None:
        """Remove the row and its token; keep a tombstone (no secrets) so the unlink can sync."""
        with self._tx(tokens=True) as c:
            cur = c.execute("DELETE FROM accounts WHERE login=? AND server=?", (login, server))
            if cur.rowcount == 0:
                raise BadInput(f"No linked account {login} on {server}.", field="login")
            c.execute("INSERT OR REPLACE INTO tombstones VALUES (?,?,?)", (login, server, self.now()))
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old token leaves the WAL file too

    def rotate(self) -> int:
        """Re-encrypt every stored password to the current key, all in one transaction."""
        with self._tx(tokens=True) as c:
            rows = c.execute("SELECT id, login, server, password_encrypted FROM accounts").fetchall()
            for rid, login, server, token in rows:
                try:
                    new = self.credentials.rotate_token(token)
                except VaultError as exc:
                    raise VaultError(f"Account {login} on {server}: {exc}. Nothing was re-encrypted.") from None
                c.execute("UPDATE accounts SET password_encrypted=? WHERE id=?", (new, rid))
            c.execute("INSERT OR REPLACE INTO meta VALUES ('key_check', ?)",
                      (self.credentials.encrypt(KEY_CHECK_PLAINTEXT),))
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return len(rows)

    def record_snapshot(self, login: int, server: str, *, balance: float, equity: float, currency: str,
                        ts: float) -> None:
        """Last known values for `accounts status`; not a change of the account (updated_at stays)."""
        with self._tx() as c:
            c.execute("UPDATE accounts SET last_balance=?, last_equity=?, last_currency=?, last_snapshot_at=? "
                      "WHERE login=? AND server=?", (balance, equity, currency, ts, login, server))

    # ---- cloud sync (app/cloud_sync.py): a downloaded row is stored as-is, keeping its times --------------
    def put_remote(self, login: int, server: str, token: str, *, label: str | None, investor: bool, mode: str,
                   order: int, created_at: str, updated_at: str) -> None:
        """Insert or update from the cloud: the Fernet token as-is (it must decrypt here) and the remote's times."""
        if mode not in MODES:
            raise BadInput(f"Mode must be shared or dedicated, not {mode!r}.", field="mode")
        if not self.credentials.can_decrypt(token):
            raise VaultError(f"Account {login} on {server}: the password was encrypted with another key")
        with self._tx(tokens=True) as c:
            self._ensure_key(c)
            c.execute("INSERT INTO accounts (login, server, password_encrypted, label, investor, mode, sort_order, "
                      "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT (login, server) DO UPDATE SET "
                      "password_encrypted=excluded.password_encrypted, label=excluded.label, "
                      "investor=excluded.investor, mode=excluded.mode, sort_order=excluded.sort_order, "
                      "updated_at=excluded.updated_at",
                      (login, server, token, label, int(investor), mode, order, created_at, updated_at))
            c.execute("DELETE FROM tombstones WHERE login=? AND server=?", (login, server))

    def remove_remote(self, login: int, server: str, deleted_at: str) -> None:
        """An unlink that came from the cloud: like unlink(), with the remote's time on the tombstone."""
        with self._tx(tokens=True) as c:
            c.execute("DELETE FROM accounts WHERE login=? AND server=?", (login, server))
            c.execute("INSERT OR REPLACE INTO tombstones VALUES (?,?,?)", (login, server, deleted_at))
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def sync_state(self) -> dict[tuple[int, str], tuple[str, str]]:
        """(login, server) -> (remote updated_at, local stamp) as of the last sync."""
        rows = self._conn.execute("SELECT login, server, remote_updated_at, local_stamp FROM sync_state").fetchall()
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}

    def set_sync_state(self, login: int, server: str, remote_updated_at: str | None, local_stamp: str | None) -> None:
        with self._tx() as c:
            if remote_updated_at is None or local_stamp is None:
                c.execute("DELETE FROM sync_state WHERE login=? AND server=?", (login, server))
            else:
                c.execute("INSERT OR REPLACE INTO sync_state VALUES (?,?,?,?)",
                          (login, server, remote_updated_at, local_stamp))

    def sync_owner(self) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key='sync_owner'").fetchone()
        return row[0] if row else None

    def reset_sync_state(self, owner: str) -> None:
        """Another cloud user signed in here: what was agreed with the previous one no longer holds."""
        with self._tx() as c:
            c.execute("DELETE FROM sync_state")
            c.execute("INSERT OR REPLACE INTO meta VALUES ('sync_owner', ?)", (owner,))
