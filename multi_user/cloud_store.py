"""The Supabase side of cloud sync: sign in/out and the `user_mt5_credentials` table, over supabase-py's async client.

No Qt here; it runs on whatever asyncio loop calls it (qasync in the app, plain asyncio in tests).
Only the project URL and the anon key are used — never a service key: row level security on the
server is what keeps one user's rows from another. Passwords travel only as the vault's Fernet tokens.

The session (access + refresh token) is kept in the OS keyring; where no keyring works it goes to
`<data>/cloud_session.json` with mode 0600. The client's own refresh timer is off (it would leave a
task running on the loop); instead every call first asks for a session that is refreshed when close
to expiry.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
from postgrest.exceptions import APIError
from supabase import AsyncClient, AsyncClientOptions
from supabase_auth._async.storage import AsyncSupportedStorage
from supabase_auth.errors import AuthApiError, AuthError, AuthRetryableError

from multi_user.errors import DeskError

log = logging.getLogger("mt5desk.cloud")

TABLE = "user_mt5_credentials"
KEYRING_SERVICE = "MT5 Desk"
SESSION_FILE = "cloud_session.json"
COLUMNS = ("id, login, server, password_encrypted, label, investor, mode, terminal_path, sort_order, "
           "deleted_at, created_at, updated_at, changed_at")
Clock = Callable[[], datetime]
DATE_RESOLUTION = timedelta(seconds=1.25)  # the Date header's whole second, plus the reply's travel


class CloudError(DeskError):
    """Cloud sync failed; the message is for the trader. Local data is unchanged by the failure."""


class CloudOffline(CloudError):
    """The Supabase project could not be reached; the vault keeps working and sync catches up later."""


class CloudAuthError(CloudError):
    """Not signed in, wrong email or password, or the session expired and could not be renewed."""


def parse_time(value: str) -> datetime:
    """PostgREST's and the vault's ISO-8601 forms ('...+00:00', '...Z', micro or milliseconds) to aware UTC."""
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def format_time(value: datetime) -> str:
    """The vault's form: UTC, milliseconds, 'Z' (sub-millisecond digits are dropped)."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class RemoteRow:
    """One row of user_mt5_credentials as the signed-in user sees it. `token` is a Fernet token or None."""

    id: str
    login: int
    server: str
    token: str | None
    label: str | None
    investor: bool
    mode: str
    terminal_path: str | None
    order: int
    deleted_at: str | None
    created_at: str
    updated_at: str  # when the server stored the row (the server's clock; moves on every write)
    changed_at: str | None = None  # when the change was made, on the server's clock (None: as updated_at)

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> RemoteRow:
        return cls(str(row["id"]), int(row["login"]), str(row["server"]), row.get("password_encrypted"),
                   row.get("label"), bool(row.get("investor")), row.get("mode") or "shared",
                   row.get("terminal_path"), int(row.get("sort_order") or 0), row.get("deleted_at"),
                   str(row["created_at"]), str(row["updated_at"]),
                   str(row["changed_at"]) if row.get("changed_at") else None)

    def __repr__(self) -> str:  # the token stays out of logs and tracebacks
        return f"RemoteRow({self.login}@{self.server}, updated_at={self.updated_at}, deleted={self.deleted_at})"


class SessionStorage(AsyncSupportedStorage):
    """supabase-py's session storage: the OS keyring, else a 0600 file in the data dir."""

    def __init__(self, data_dir: Path, url: str) -> None:
        self.path = Path(data_dir) / SESSION_FILE
        self.account = f"supabase-session:{url.rstrip('/')}"

    def _keyring(self) -> Any | None:
        try:
            import keyring
            from keyring.backends.fail import Keyring as FailKeyring

            return None if isinstance(keyring.get_keyring(), FailKeyring) else keyring
        except Exception:
            return None

    def _file(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_file(self, data: dict[str, str]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    async def get_item(self, key: str) -> str | None:
        kr = self._keyring()
        if kr is not None:
            try:
                return kr.get_password(KEYRING_SERVICE, f"{self.account}:{key}")
            except Exception as exc:
                log.warning("keyring read failed (%s); using the session file", type(exc).__name__)
        return self._file().get(f"{self.account}:{key}")

    async def set_item(self, key: str, value: str) -> None:
        kr = self._keyring()
        if kr is not None:
            try:
                kr.set_password(KEYRING_SERVICE, f"{self.account}:{key}", value)
                return
            except Exception as exc:
                log.warning("keyring write failed (%s); using the session file", type(exc).__name__)
        data = self._file()
        data[f"{self.account}:{key}"] = value
        self._write_file(data)

    async def remove_item(self, key: str) -> None:
        kr = self._keyring()
        if kr is not None:
            try:
                kr.delete_password(KEYRING_SERVICE, f"{self.account}:{key}")
            except Exception:
                pass
        data = self._file()
        if data.pop(f"{self.account}:{key}", None) is not None:
            self._write_file(data)


def _plain(exc: BaseException) -> CloudError:
    """A supabase-py / httpx failure in the trader's words (never echoing a token)."""
    if isinstance(exc, httpx.RequestError | AuthRetryableError | OSError):
        return CloudOffline("The cloud could not be reached (no network, or the project URL is wrong). "
                            "Your accounts are safe on this computer; sync will catch up when you are back online.")
    if isinstance(exc, AuthApiError):
        code = getattr(exc, "code", None) or ""
        if code in ("invalid_credentials", "invalid_grant") or "Invalid login" in str(exc):
            return CloudAuthError("Wrong email or password.")
        if "refresh" in code or "Refresh Token" in str(exc):
            return CloudAuthError("Your cloud session ended; please sign in again.")
        return CloudAuthError(f"The cloud refused the sign-in: {exc}")
    if isinstance(exc, AuthError):
        return CloudAuthError(f"Cloud sign-in problem: {exc}")
    if isinstance(exc, APIError) and str(exc.code) in ("502", "503", "504", "520"):
        return _plain(OSError())
    if isinstance(exc, APIError):
        if exc.code in ("PGRST301", "PGRST302", "401"):
            return CloudAuthError("Your cloud session ended; please sign in again.")
        if exc.code == "42501":
            return CloudError("The cloud refused the change (not allowed for this user).")
        return CloudError(f"The cloud rejected the request: {exc.message or exc.code}")
    return CloudError(f"Cloud sync failed: {type(exc).__name__}")


class ServerClock:
    """Measures the server's clock against ours from the HTTP Date header every reply carries.

    Date has whole seconds and was stamped a little before we read it, so the offset lies in
    [Date - ours, Date + 1 s + travel - ours]. We take the value in that range nearest to zero: a clock
    that agrees with the server's to within the range keeps millisecond ordering of its changes, and one
    that is off by more is corrected to within about a second. (A separate object, not a CloudStore method,
    so the httpx client's hook holds no reference back to the store.)"""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.offset: timedelta | None = None  # server clock minus ours, from the last reply's Date

    async def note(self, response: httpx.Response) -> None:
        raw = response.headers.get("date")
        if not raw:
            return
        try:
            server = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            server = server.replace(tzinfo=UTC)
        low = server - self.clock()
        self.offset = min(max(timedelta(0), low), low + DATE_RESOLUTION)


class CloudStore:
    """One user's view of user_mt5_credentials. Call `aclose()` when done."""

    def __init__(self, data_dir: Path, url: str, anon_key: str, *, timeout: float = 15.0,
                 clock: Clock | None = None) -> None:
        if not url.startswith(("http://", "https://")):
            raise CloudError("The Supabase project URL must start with https:// (or http:// for a local test)")
        if not anon_key:
            raise CloudError("The Supabase anon key is missing")
        self.url, self._anon_key = url.rstrip("/"), anon_key
        self._server_clock = ServerClock(clock or (lambda: datetime.now(UTC)))
        self._http = httpx.AsyncClient(timeout=timeout, event_hooks={"response": [self._server_clock.note]})
        options = AsyncClientOptions(storage=SessionStorage(Path(data_dir), self.url), auto_refresh_token=False,
                                     persist_session=True, httpx_client=self._http,
                                     # no in-call retry loop: a failed sync is simply retried on the next one
                                     postgrest_client_retry=False)
        self._client = AsyncClient(self.url, anon_key, options)

    def __repr__(self) -> str:
        return f"CloudStore({self.url})"

    @property
    def server_offset(self) -> timedelta | None:
        """The server's clock minus ours, as measured from the last reply; None before any reply."""
        return self._server_clock.offset

    async def aclose(self) -> None:
        await self._settle()
        await self._http.aclose()

    async def _settle(self) -> None:
        # supabase-py hands each auth event to realtime in a background task; let those finish so none is left
        tasks = [t for t in getattr(self._client, "_background_tasks", ()) if not t.done()]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # ---- auth -----------------------------------------------------------------------------------------
    async def sign_up(self, email: str, password: str) -> str:
        """Create a cloud account (projects with auto-confirm sign it in at once); returns the user id."""
        try:
            res = await self._client.auth.sign_up({"email": email, "password": password})
        except Exception as exc:
            raise _plain(exc) from None
        finally:
            await self._settle()
        if res.session is None or res.user is None:
            return await self.sign_in(email, password)
        return res.user.id

    async def sign_in(self, email: str, password: str) -> str:
        """Sign in with email and password; returns the user id. The session is stored for next time."""
        if not email or not password:
            raise CloudAuthError("Enter the email and password of your cloud account.")
        try:
            res = await self._client.auth.sign_in_with_password({"email": email, "password": password})
        except Exception as exc:
            raise _plain(exc) from None
        finally:
            await self._settle()
        if res.user is None or res.session is None:
            raise CloudAuthError("The cloud did not open a session (is the email confirmed?).")
        return res.user.id

    async def sign_out(self) -> None:
        """Forget the session here; tell the server too when it is reachable (offline still signs out here)."""
        try:
            await self._client.auth.sign_out({"scope": "local"})
        except Exception as exc:
            log.info("sign-out could not reach the cloud (%s); signed out locally", type(exc).__name__)
        finally:
            await self._settle()

    async def current_user(self) -> tuple[str, str | None] | None:
        """(user id, email) of the stored session, refreshing it if it is about to expire; None if signed out."""
        try:
            session = await self._client.auth.get_session()
        except Exception as exc:
            raise _plain(exc) from None
        finally:
            await self._settle()
        if session is None:
            return None
        self._client.postgrest.auth(session.access_token)
        return session.user.id, session.user.email

    async def _user_id(self) -> str:
        who = await self.current_user()
        if who is None:
            raise CloudAuthError("Not signed in to the cloud.")
        return who[0]

    # ---- rows -----------------------------------------------------------------------------------------
    async def fetch_rows(self, since: str | None = None) -> list[RemoteRow]:
        """The signed-in user's rows (tombstones included), oldest change first; only newer than `since` if given."""
        await self._user_id()
        query = self._client.table(TABLE).select(COLUMNS).order("updated_at")
        if since:
            query = query.gt("updated_at", since)
        try:
            res = await query.execute()
        except Exception as exc:
            raise _plain(exc) from None
        return [RemoteRow.from_json(r) for r in res.data]

    async def upsert(self, rows: list[dict[str, Any]]) -> list[RemoteRow]:
        """Insert or update rows keyed by (user, login, server); returns them as stored (server-side updated_at)."""
        if not rows:
            return []
        uid = await self._user_id()
        payload = [{**r, "user_id": uid} for r in rows]
        try:
            res = await (self._client.table(TABLE)
                         .upsert(payload, on_conflict="user_id,login,server").execute())
        except Exception as exc:
            raise _plain(exc) from None
        return [RemoteRow.from_json(r) for r in res.data]

    async def delete_row(self, login: int, server: str) -> int:
        """Hard-delete one row (the web dashboard's way of unlinking); returns how many went."""
        uid = await self._user_id()
        try:
            res = await (self._client.table(TABLE).delete().eq("user_id", uid).eq("login", login)
                         .eq("server", server).execute())
        except Exception as exc:
            raise _plain(exc) from None
        return len(res.data)


# updated_at is never sent: the server stamps it. changed_at is the change's time on the server's clock.
def live_payload(*, login: int, server: str, token: str, label: str | None, investor: bool, mode: str,
                 terminal_path: str | None, order: int, created_at: str, changed_at: str) -> dict[str, Any]:
    return {"login": login, "server": server, "password_encrypted": token, "label": label, "investor": investor,
            "mode": mode, "terminal_path": terminal_path, "sort_order": order, "deleted_at": None,
            "created_at": created_at, "changed_at": changed_at}


def tombstone_payload(*, login: int, server: str, deleted_at: str, changed_at: str) -> dict[str, Any]:
    # same keys as live_payload: PostgREST takes one column set per bulk request
    return {"login": login, "server": server, "password_encrypted": None, "label": None, "investor": False,
            "mode": "shared", "terminal_path": None, "sort_order": 0, "deleted_at": deleted_at,
            "created_at": deleted_at, "changed_at": changed_at}
