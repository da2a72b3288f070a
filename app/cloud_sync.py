"""Cloud sync for the desk: sign in/out and two-way sync of linked accounts with Supabase.

Async, on whatever asyncio loop calls it (qasync in the app, plain asyncio in tests). The local
vault stays the source of truth when offline: a failed sync changes nothing and the next one catches
up. Settings (project URL and anon key — never a service key) live under "cloud" in settings.json.

Use from the GUI::

    sync = CloudSync.from_settings(data_dir)      # or CloudSync(data_dir, url, anon_key)
    sync.add_listener(lambda status: ...)         # called after every state change
    await sync.restore()                          # picks up the stored session, if any
    await sync.sign_in(email, password)
    report = await sync.sync_now()                # SyncReport; status.last_error has plain words on failure
    await sync.sign_out(); await sync.aclose()
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from app.settings import load_settings, save_settings
from multi_user.cloud_store import (
    CloudAuthError,
    CloudError,
    CloudStore,
    RemoteRow,
    format_time,
    live_payload,
    parse_time,
    tombstone_payload,
)
from multi_user.errors import BadInput, DeskError, VaultError
from multi_user.sync_engine import Agree, Conflict, LocalState, Pull, Push, RemoveHere, plan_sync, server_time
from multi_user.vault import Clock, Vault, now_iso

log = logging.getLogger("mt5desk.cloud")


# ---- settings -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CloudSettings:
    url: str | None
    anon_key: str | None
    last_sync: str | None = None
    email: str | None = None

    def __repr__(self) -> str:
        return f"CloudSettings(url={self.url!r}, email={self.email!r}, last_sync={self.last_sync!r})"


def _jwt_role(key: str) -> str | None:
    parts = key.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return payload.get("role") if isinstance(payload, dict) else None


def check_anon_key(key: str) -> str:
    """Accept an anon/publishable key; refuse a service key, which bypasses row level security."""
    key = key.strip()
    if not key:
        raise BadInput("Enter the project's anon (public) key.", field="anon_key")
    if key.startswith("sb_secret_") or _jwt_role(key) == "service_role":
        raise BadInput("That is the service_role (secret) key, which bypasses row level security. "
                       "Use the project's anon (public) key.", field="anon_key")
    return key


def check_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("https://", "http://")) or len(url) < 10:
        raise BadInput("The project URL looks like https://<project>.supabase.co", field="url")
    return url


def load_cloud_settings(data_dir: Path) -> CloudSettings:
    raw = load_settings(Path(data_dir)).get("cloud") or {}
    if not isinstance(raw, dict):
        raw = {}
    return CloudSettings(raw.get("url"), raw.get("anon_key"), raw.get("last_sync"), raw.get("email"))


def _save_cloud(data_dir: Path, **changes: Any) -> None:
    current = load_settings(Path(data_dir)).get("cloud") or {}
    save_settings(Path(data_dir), {"cloud": {**(current if isinstance(current, dict) else {}), **changes}})


def save_cloud_settings(data_dir: Path, url: str, anon_key: str) -> CloudSettings:
    """Validate and store the project URL and anon key (bad input raises BadInput and stores nothing)."""
    url, anon_key = check_url(url), check_anon_key(anon_key)
    _save_cloud(Path(data_dir), url=url, anon_key=anon_key)
    return load_cloud_settings(Path(data_dir))


# ---- status and report ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    login: int
    server: str
    message: str


@dataclass
class SyncReport:
    pushed: int = 0  # accounts (and unlinks) sent to the cloud
    pulled: int = 0  # accounts stored here from the cloud
    removed_here: int = 0  # unlinks that came from the cloud
    conflicts: list[Conflict] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)  # per row; the rest of the sync went through
    finished_at: str = ""

    def summary(self) -> str:
        parts = [f"{self.pushed} sent", f"{self.pulled} received", f"{self.removed_here} unlinked here"]
        if self.conflicts:
            parts.append(f"{len(self.conflicts)} conflict(s) resolved")
        if self.errors:
            parts.append(f"{len(self.errors)} account(s) skipped")
        return ", ".join(parts)


@dataclass(frozen=True)
class CloudStatus:
    configured: bool
    email: str | None  # signed-in user's email; None when signed out
    syncing: bool
    last_sync: str | None  # UTC ISO time of the last successful sync
    last_error: str | None  # plain words, for the status bar; None after a good sync
    last_report: SyncReport | None = None

    @property
    def signed_in(self) -> bool:
        return self.email is not None


class CloudSync:
    """Owns one CloudStore; every public method is a coroutine except `status`, listeners and settings."""

    def __init__(self, data_dir: Path, url: str | None, anon_key: str | None, *, clock: Clock | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.clock = clock  # this machine's clock (injected by tests to play desktops whose clocks are off)
        saved = load_cloud_settings(self.data_dir)
        self._store: CloudStore | None = None
        if url and anon_key:
            self._store = CloudStore(self.data_dir, check_url(url), check_anon_key(anon_key), clock=clock)
        self._status = CloudStatus(self._store is not None, None, False, saved.last_sync, None)
        self._lock = asyncio.Lock()
        self._listeners: list[Callable[[CloudStatus], None]] = []

    @classmethod
    def from_settings(cls, data_dir: Path, *, clock: Clock | None = None) -> CloudSync:
        saved = load_cloud_settings(Path(data_dir))
        return cls(Path(data_dir), saved.url, saved.anon_key, clock=clock)

    def __repr__(self) -> str:
        return f"CloudSync({self.data_dir}, signed_in={self._status.email!r})"

    @property
    def status(self) -> CloudStatus:
        return self._status

    def add_listener(self, callback: Callable[[CloudStatus], None]) -> None:
        self._listeners.append(callback)

    def _set(self, **changes: Any) -> None:
        self._status = replace(self._status, **changes)
        for callback in list(self._listeners):
            try:
                callback(self._status)
            except Exception:  # a broken listener must not break sync
                log.exception("cloud status listener failed")

    def _need_store(self) -> CloudStore:
        if self._store is None:
            raise CloudError("Cloud sync is not set up: enter the Supabase project URL and anon key in Settings.")
        return self._store

    async def aclose(self) -> None:
        if self._store is not None:
            await self._store.aclose()

    # ---- sign in / out -------------------------------------------------------------------------------
    async def restore(self) -> bool:
        """Resume the stored session (refreshing it); True when signed in. Offline keeps the last known email."""
        if self._store is None:
            return False
        try:
            who = await self._store.current_user()
        except CloudError as exc:
            self._set(last_error=str(exc), email=load_cloud_settings(self.data_dir).email
                      if not isinstance(exc, CloudAuthError) else None)
            return False
        self._set(email=who[1] if who else None, last_error=None)
        return who is not None

    async def sign_in(self, email: str, password: str) -> CloudStatus:
        store = self._need_store()
        try:
            await store.sign_in(email.strip(), password)
        except CloudError as exc:
            self._set(last_error=str(exc))
            raise
        _save_cloud(self.data_dir, email=email.strip())
        self._set(email=email.strip(), last_error=None)
        return self._status

    async def sign_up(self, email: str, password: str) -> CloudStatus:
        store = self._need_store()
        try:
            await store.sign_up(email.strip(), password)
        except CloudError as exc:
            self._set(last_error=str(exc))
            raise
        _save_cloud(self.data_dir, email=email.strip())
        self._set(email=email.strip(), last_error=None)
        return self._status

    async def sign_out(self) -> None:
        if self._store is not None:
            await self._store.sign_out()
        _save_cloud(self.data_dir, email=None)
        self._set(email=None, last_error=None)

    # ---- sync ------------------------------------------------------------------------------------------
    async def sync_now(self) -> SyncReport:
        """One full two-way sync. Raises CloudError (and sets status.last_error) if the cloud fails midway;
        what was done before the failure stays consistent on both sides and the next sync continues."""
        store = self._need_store()
        async with self._lock:
            self._set(syncing=True)
            try:
                report = await self._sync(store)
            except DeskError as exc:
                self._set(syncing=False, last_error=str(exc))
                raise
            _save_cloud(self.data_dir, last_sync=report.finished_at)
            error = "; ".join(e.message for e in report.errors) or None
            self._set(syncing=False, last_sync=report.finished_at, last_error=error, last_report=report)
            return report

    async def _sync(self, store: CloudStore) -> SyncReport:
        who = await store.current_user()
        if who is None:
            raise CloudAuthError("Not signed in to the cloud.")
        remote_rows = await store.fetch_rows()
        offset = store.server_offset
        if offset is None:
            log.warning("the cloud's replies carry no Date header: conflicts are ordered by this machine's clock")
            offset = timedelta(0)
        vault = Vault.open(self.data_dir, clock=self.clock)
        try:
            if vault.sync_owner() != who[0]:
                vault.reset_sync_state(who[0])
            return await self._apply(store, vault, remote_rows, offset)
        finally:
            vault.close()

    async def _apply(self, store: CloudStore, vault: Vault, remote_rows: list[RemoteRow],
                     offset: timedelta) -> SyncReport:
        local: dict[tuple[int, str], LocalState] = {
            (a.login, a.server): LocalState(a.login, a.server, a.updated_at, False) for a in vault.list_accounts()}
        for login, server, deleted_at in vault.tombstones():
            local.setdefault((login, server), LocalState(login, server, deleted_at, True))
        remote = {(r.login, r.server): r for r in remote_rows}
        plan = plan_sync(local, remote, vault.sync_state(), offset)
        report = SyncReport(conflicts=plan.conflicts)
        pushes: list[tuple[tuple[int, str], dict[str, Any]]] = []
        for action in plan.actions:
            if isinstance(action, Push):
                pushes.append((action.key, self._payload(vault, local[action.key], offset)))
            elif isinstance(action, Pull):
                self._pull(vault, action.row, report)
            elif isinstance(action, RemoveHere):
                stamp = format_time(parse_time(action.row.deleted_at or action.row.updated_at)) if action.row \
                    else vault.now()
                vault.remove_remote(action.key[0], action.key[1], stamp)
                vault.set_sync_state(*action.key, action.row.updated_at if action.row else None,
                                     stamp if action.row else None)
                report.removed_here += 1
            elif isinstance(action, Agree):
                vault.set_sync_state(*action.key, action.remote_updated_at, action.local_stamp)
        if pushes:
            stored = {(r.login, r.server): r for r in await store.upsert([p for _, p in pushes])}
            for key, _ in pushes:
                row = stored.get(key)
                if row is not None:
                    vault.set_sync_state(*key, row.updated_at, local[key].stamp)
                    report.pushed += 1
        for conflict in report.conflicts:
            log.info("cloud sync conflict: %s", conflict.describe())
        report.finished_at = now_iso(self.clock)
        return report

    @staticmethod
    def _payload(vault: Vault, state: LocalState, offset: timedelta) -> dict[str, Any]:
        changed_at = format_time(server_time(state.stamp, offset))  # the change's time on the server's clock
        if state.deleted:
            return tombstone_payload(login=state.login, server=state.server, deleted_at=state.stamp,
                                     changed_at=changed_at)
        account = vault.get(state.login, state.server)
        assert account is not None
        # the vault's Fernet token goes as-is: the password is never decrypted for sync
        return live_payload(login=account.login, server=account.server, token=vault.token(account.login,
                            account.server), label=account.label, investor=account.investor, mode=account.mode,
                            terminal_path=account.terminal_path, order=account.order,
                            created_at=account.created_at, changed_at=changed_at)

    @staticmethod
    def _pull(vault: Vault, row: RemoteRow, report: SyncReport) -> None:
        if not row.token:
            report.errors.append(RowError(row.login, row.server, f"Account {row.login} on {row.server}: "
                                          "the cloud row has no password; skipped"))
            return
        stamp = format_time(parse_time(row.updated_at))
        existing = vault.get(row.login, row.server)
        try:
            vault.put_remote(row.login, row.server, row.token, label=row.label, investor=row.investor,
                             mode=row.mode, order=existing.order if existing else row.order,
                             created_at=format_time(parse_time(row.created_at)), updated_at=stamp)
        except (VaultError, BadInput) as exc:
            report.errors.append(RowError(row.login, row.server, f"{exc} (set MT5_ENCRYPTION_KEY to the key used "
                                          "on your other machines); this account was skipped"
                                          if isinstance(exc, VaultError) else str(exc)))
            return
        vault.set_sync_state(row.login, row.server, row.updated_at, stamp)
        report.pulled += 1
