"""The window's Desk with the owner's hosts in it: local accounts and every host's, one event stream.

``DeskWithHosts(desk, remote)`` stands where the window expects the Desk: whatever it does not
override goes to the local Desk. A remote account is named ``f"{key}@{host}"`` on the desk (login
first, so code that reads a login from a key still can), its ``server`` shown as ``host · server``
so the sidebar groups it under its host, its label ending in ``· host``. Activate, cancel and
close-all of a remote account go to its host; the host's events come back with the desk's names.
A host's shared-terminal lock and lanes are shown next to the local ones, labelled with its name
(app/remote_locks.py): ``lock_state()`` carries them in ``hosts``, ``lanes()`` adds the host's lanes, and
the host's ``lock``, ``terminal`` and ``worker`` events come out with ``host`` (and the desk's names);
while a host is not online its lock is ``known: false``. Its ``rates`` stay its own.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.remote_desk import RemoteHosts
from app.remote_locks import host_lanes, host_lock, remote_key, renamed_lock, unknown_lock
from multi_user.errors import BadInput, DeskError, TerminalError, VaultError

ANSWER_WAIT = 300.0  # seconds: a verify job on a host waits for its shared terminal
QUERY_WAIT = 30.0
LINK_FIELDS = ("label", "investor", "dedicated", "terminal", "verify")
ERRORS: dict[int, type[DeskError]] = {2: BadInput, 3: TerminalError, 4: VaultError}
SHOWN = {"account_state", "snapshot", "job", "activity", "alert", "notice", "error", "guard", "deals", "lock",
         "terminal", "worker", "flatten"}


class DeskWithHosts(QObject):
    event = Signal(dict)

    def __init__(self, desk: Any, remote: RemoteHosts) -> None:
        super().__init__()
        self._desk = desk
        self.remote = remote
        desk.event.connect(self._on_local)
        remote.event.connect(self._on_remote)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._desk, name)

    # ---- names -----------------------------------------------------------------------------------
    def split(self, key: str) -> tuple[str, str] | None:
        """(host, the host's key) for a remote account, else None."""
        base, _, host = key.rpartition("@")
        if "@" in base and host in self.remote.links:
            return host, base
        return None

    def _account(self, a: dict[str, Any], host: str) -> dict[str, Any]:
        return {**a, "key": remote_key(a["key"], host), "host": host, "server": f"{host} · {a['server']}",
                "label": f"{a.get('label') or a['key']} · {host}"}

    # ---- what the window reads -------------------------------------------------------------------
    def accounts(self) -> list[dict[str, Any]]:
        local = self._desk.accounts()
        return [*local, *(self._account(a, n) for n, link in self.remote.links.items() for a in link.accounts)]

    def account_states(self) -> dict[str, dict[str, Any]]:
        out = dict(self._desk.account_states())
        for name, link in self.remote.links.items():
            for a in link.accounts:
                key = remote_key(a["key"], name)
                if link.state == "online":
                    state = link.states.get(a["key"]) or {"state": "idle"}
                    out[key] = {**state, "account": key}
                else:
                    seen = link.offline_since
                    age = f" (last seen {time.time() - seen:.0f} s ago)" if seen else ""
                    out[key] = {"event": "account_state", "account": key, "state": "offline", "place": None,
                                "message": f"host {name} is {link.state}{age}: {link.message}"}
        return out

    def last_snapshot(self, key: str) -> dict[str, Any] | None:
        where = self.split(key)
        if where is None:
            return self._desk.last_snapshot(key)
        snap = self.remote.links[where[0]].snapshots.get(where[1])
        return {**snap, "account": key} if snap else None

    def lock_state(self) -> dict[str, Any]:
        """This machine's lock, with each host's shared-terminal lock in ``hosts`` (unknown while offline)."""
        return {**self._desk.lock_state(), "hosts": [host_lock(n, link) for n, link in self.remote.links.items()]}

    def lanes(self) -> list[dict[str, Any]]:
        local = [{**ln, "lock": self._desk.lock_state()} if ln.get("lane") == "shared" else ln
                 for ln in self._desk.lanes()]
        return [*local, *(ln for n, link in self.remote.links.items() for ln in host_lanes(n, link))]

    def name_of(self, key: str) -> str:
        where = self.split(key)
        return self._desk.name_of(key) if where is None else f"{self._desk.name_of(where[1])} on {where[0]}"

    # ---- a host's account's views: asked of the host (app/remote_queries.py) ---------------------
    async def positions(self, key: str) -> list[dict[str, Any]] | None:
        if self.split(key) is None:
            return await self._desk.positions(key)
        return await self._ask(key, "positions", None)

    async def account_stats(self, key: str, start: float | None = None, end: float | None = None) -> dict[str, Any]:
        if self.split(key) is None:
            return await self._desk.account_stats(key, start, end)
        return await self._ask(key, "stats", {}, start=start, end=end)

    async def closed_trades(self, key: str, start: float | None = None,
                            end: float | None = None) -> list[dict[str, Any]]:
        if self.split(key) is None:
            return await self._desk.closed_trades(key, start, end)
        return await self._ask(key, "trades", [], start=start, end=end)

    async def chart_data(self, key: str, start: float | None, end: float | None, max_points: int = 4000) -> Any:
        empty = await self._desk.chart_data(key, start, end, max_points)  # a remote key: nothing here
        if self.split(key) is None:
            return empty
        return await self._ask(key, "chart", empty, start=start, end=end, max_points=max_points)

    async def history(self, key: str, since: float | None = None, max_points: int = 20000) -> list[Any]:
        if self.split(key) is None:
            return await self._desk.history(key, since, max_points)
        return await self._ask(key, "history", [], start=since, max_points=max_points)

    async def _ask(self, key: str, what: str, fallback: Any, **args: Any) -> Any:
        """The host's answer for one of its accounts; ``fallback`` while it cannot answer (offline)."""
        host, base = self.split(key) or ("", key)
        try:
            ev = await self._request(host, {"cmd": "query", "what": what, "account": base, **args}, timeout=QUERY_WAIT)
        except DeskError:
            return fallback
        result = ev.get("result")
        return fallback if result is None else result

    # ---- commands --------------------------------------------------------------------------------
    def activate(self, key: str, preempt: bool = False) -> None:
        if not self._forward(key, "activate", preempt=preempt):
            self._desk.activate(key, preempt)

    def cancel(self, key: str) -> None:
        if not self._forward(key, "cancel"):
            self._desk.cancel(key)

    def close_all(self, key: str) -> None:
        if not self._forward(key, "close_all"):
            self._desk.close_all(key)

    async def link_account(self, login: str, server: str, password: str, **fields: Any) -> dict[str, Any]:
        """A server ending in ``@HOST`` (a remote account's key split at its first "@"): the password is
        encrypted here and only its token goes to the host, which checks it with the broker and stores
        it; its ``error`` answer is raised here as the same kind of DeskError."""
        base, _, host = str(server).rpartition("@")
        if not base or host not in self.remote.links:
            return await self._desk.link_account(login, server, password, **fields)
        from multi_user.credentials import MT5CredentialManager

        data_dir = self.remote.data_dir
        token = await self.remote.io(lambda: MT5CredentialManager(data_dir).encrypt(password))
        answer = await self._request(host, {"cmd": "link", "login": str(login), "server": base, "token": token,
                                            **{k: v for k, v in fields.items() if k in LINK_FIELDS}})
        return self._account(answer["account"], host)

    async def unlink_account(self, key: str) -> None:
        where = self.split(key)
        if where is None:
            await self._desk.unlink_account(key)
            return
        await self._request(where[0], {"cmd": "unlink", "account": where[1]})

    async def update_account(self, key: str, **fields: Any) -> Any:
        where = self.split(key)
        if where is None:
            return await self._desk.update_account(key, **fields)
        host, base = where
        account = next((a for a in self.remote.links[host].accounts if a["key"] == base), None)
        if account is None:
            raise BadInput(f"{key}: host {host} does not list it (offline, or unlinked there)")
        if any(fields.get(f) not in (None, account.get(f) or ("" if f == "terminal" else None))
               for f in ("mode", "terminal")):
            raise BadInput(f"{key} lives on host {host}: its own terminal is chosen there; only its name "
                           "is changed from here", field="mode")
        if fields.get("label") is None:
            return None
        label = str(fields["label"]).strip().removesuffix(f" · {host}").strip()  # as shown here: "NAME · HOST"
        await self._request(host, {"cmd": "rename", "account": base, "label": "" if label == base else label},
                            timeout=QUERY_WAIT)
        return None

    async def _request(self, host: str, cmd: dict[str, Any], timeout: float = ANSWER_WAIT) -> dict[str, Any]:
        request_id = uuid.uuid4().hex
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

        def on_event(ev: dict[str, Any]) -> None:
            if ev.get("id") == request_id and ev.get("host") == host and not answer.done():
                answer.set_result(ev)

        self.remote.event.connect(on_event)
        try:
            self.remote.send(host, {**cmd, "id": request_id})  # an offline host answers at once
            ev = await asyncio.wait_for(answer, timeout)
        except TimeoutError:
            raise TerminalError(f"host {host} did not answer {cmd['cmd']} within {timeout:.0f} s") from None
        finally:
            self.remote.event.disconnect(on_event)
        if ev.get("event") == "error":
            raise ERRORS.get(int(ev.get("exit_code") or 3), TerminalError)(str(ev.get("message")))
        return ev

    def _forward(self, key: str, cmd: str, **fields: Any) -> bool:
        where = self.split(key)
        if where is None:
            return False
        self.remote.send(where[0], {"cmd": cmd, "account": where[1], **fields})
        return True

    # ---- events ----------------------------------------------------------------------------------
    def _on_local(self, ev: dict[str, Any]) -> None:
        if ev.get("event") == "accounts":
            self._emit_accounts()
        else:
            self.event.emit(ev)

    def _on_remote(self, ev: dict[str, Any]) -> None:
        kind, host = ev.get("event"), ev.get("host")
        if kind in ("accounts", "host"):
            if kind == "accounts" or ev.get("state") in ("online", "offline", "refused", "stopped"):
                self._emit_accounts()
            if kind == "host" and isinstance(host, str):
                self.event.emit(ev)  # the host's link: online, offline (since when), refused, removed, and why
                if ev.get("state") != "online":  # its lock is unknown now; online: its hello's lock follows
                    self.event.emit(unknown_lock(ev))
            return
        if kind not in SHOWN or not isinstance(host, str):
            return
        if kind == "lock":
            self.event.emit(renamed_lock(ev, host))
            return
        out = dict(ev)
        if isinstance(out.get("account"), str):
            out["account"] = remote_key(out["account"], host)
        if kind in ("terminal", "worker") and isinstance(out.get("lane"), str):
            out["lane"] = remote_key(out["lane"], host)
        for field in ("title", "message"):
            if isinstance(out.get(field), str) and kind in ("activity", "notice", "error", "alert"):
                out[field] = f"{host}: {out[field]}"
        self.event.emit(out)

    def _emit_accounts(self) -> None:
        self.event.emit({"event": "accounts", "accounts": self.accounts(), "ts": time.time()})
