"""Helpers for driving a real Desk (real worker and terminal processes on the simulator) in tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.desk import Desk
from app.supervisor import RestartPolicy


class Recorder:
    """Collects a Desk's events and lets a test await a condition on them (with a timeout)."""

    def __init__(self, desk: Desk) -> None:
        self.events: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        desk.event.connect(self._on_event)

    def _on_event(self, ev: dict[str, Any]) -> None:
        self.events.append(ev)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0,
                       after: int = 0) -> dict[str, Any]:
        """The first event from index ``after`` on that satisfies ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen = after
        while True:
            for ev in self.events[seen:]:
                if predicate(ev):
                    return ev
            seen = len(self.events)
            remaining = deadline - loop.time()
            if remaining <= 0:
                kinds = [(e.get("event"), e.get("account") or e.get("lane"), e.get("state")) for e in self.events[-25:]]
                raise AssertionError(f"no matching event within {timeout} s; last events: {kinds}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def of(self, kind: str, **match: Any) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == kind and all(e.get(k) == v for k, v in match.items())]


def snapshot_of(key: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("event") == "snapshot" and e.get("account") == key


def state_of(key: str, state: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("event") == "account_state" and e.get("account") == key and e.get("state") == state


def link_accounts(data_dir: Path, accounts: list[dict[str, Any]], *, dedicated: set[str] = frozenset(),
                  wrong_password: set[str] = frozenset()) -> list[str]:
    """Store accounts straight in the vault (no terminal check), as `accounts link --no-verify` does."""
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    keys = []
    try:
        for a in accounts:
            key = f"{a['login']}@{a['server']}"
            password = "not-the-password" if key in wrong_password else a["password"]
            vault.link(a["login"], a["server"], password, label=a.get("name"),
                       mode="dedicated" if key in dedicated else "shared")
            keys.append(key)
    finally:
        close = getattr(vault, "close", None)
        if close:
            close()
    from app.settings import save_settings

    save_settings(data_dir, {"demo_linked": True})  # the tests choose their own accounts
    return keys


def fast_desk(data_dir: Path) -> Desk:
    """A Desk on the simulator with quick snapshots and quick restarts (tests only)."""
    from app.settings import save_settings

    save_settings(data_dir, {"snapshot_rate": 0.2})
    return Desk(data_dir, "sim", timeout_ms=5000,
                policy_factory=lambda: RestartPolicy(delays=(0.2, 0.4, 0.8), max_crashes=5, window=60))
