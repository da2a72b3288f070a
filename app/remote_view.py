"""The window's Desk with the owner's hosts in it: local accounts and every host's, one event stream.

``DeskWithHosts(desk, remote)`` stands where the window expects the Desk: whatever it does not
override goes to the local Desk. A remote account is named ``f"{key}@{host}"`` on the desk (login
first, so code that reads a login from a key still can), its ``server`` shown as ``host · server``
so the sidebar groups it under its host, its label ending in ``· host``. Activate, cancel and
close-all of a remote account go to its host; the host's events come back with the desk's names.
What belongs to one machine only (its lock banner, terminals, conversion rates) stays local: a host's
``lock``, ``terminal``, ``worker`` and ``rates`` events are kept in its link, not shown as the desk's.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.remote_desk import RemoteHosts

SHOWN = {"account_state", "snapshot", "job", "activity", "alert", "notice", "error", "guard", "deals"}


def remote_key(key: str, host: str) -> str:
    return f"{key}@{host}"


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

    def name_of(self, key: str) -> str:
        where = self.split(key)
        return self._desk.name_of(key) if where is None else f"{self._desk.name_of(where[1])} on {where[0]}"

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
            if kind == "accounts" or ev.get("state") in ("online", "offline", "refused"):
                self._emit_accounts()
            return
        if kind not in SHOWN or not isinstance(host, str):
            return
        out = dict(ev)
        if isinstance(out.get("account"), str):
            out["account"] = remote_key(out["account"], host)
        for field in ("title", "message"):
            if isinstance(out.get(field), str) and kind in ("activity", "notice", "error", "alert"):
                out[field] = f"{host}: {out[field]}"
        self.event.emit(out)

    def _emit_accounts(self) -> None:
        self.event.emit({"event": "accounts", "accounts": self.accounts(), "ts": time.time()})
