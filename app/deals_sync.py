"""Keeps the deals store fed while accounts are live ([E] 1): a thin performer over DealsStore.

When a live account's snapshot arrives and its deals were not fetched in the last ``every`` seconds,
one ``history`` request goes to its lane's worker (in full the first time, then incrementally) and the
answer is written on the I/O thread. One fetch per account at a time; a failure is reported as a
``deals`` event and retried at the next interval, never in a loop. The answer names the account it is
from, so a shared lane that switched meanwhile still files it under the right account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from app.deals_store import DealsStore, account_key

log = logging.getLogger("mt5desk.deals")

EVERY = 300.0  # seconds between fetches of one live account
FETCH_TIMEOUT = 120.0  # a full first fetch of a busy account's years of deals is large


class DealsSync:
    def __init__(self, data_dir: Path, *, io: Callable[..., Awaitable[Any]], emit: Callable[[dict[str, Any]], None],
                 spawn: Callable[[Any], None], every: float = EVERY) -> None:
        self.data_dir = data_dir
        self.io, self.emit, self.spawn, self.every = io, emit, spawn, every
        self._store: DealsStore | None = None
        self._last: dict[str, float] = {}  # monotonic time of the last attempt per account
        self._busy: set[str] = set()

    def on_snapshot(self, key: str, lane: Any) -> None:
        """Called for every snapshot of a live account (GUI thread) with its lane; starts a fetch when one
        is due. Not during a sweep visit of the shared terminal: a sweep stays brief, and a fetch queued in
        its worker would hold up the next account's switch."""
        now = time.monotonic()
        holder = getattr(getattr(lane, "lock", None), "holder", None)
        if holder is not None and (holder.account != key or holder.reason == "sweep"):
            return
        worker = getattr(lane, "worker", None)
        if worker is None or key in self._busy or now - self._last.get(key, -1e18) < self.every:
            return
        self._last[key] = now
        self._busy.add(key)
        self.spawn(self.fetch(key, worker))

    def busy(self, key: str) -> bool:
        """A fetch of the account's deals is out (its worker is occupied with it)."""
        return key in self._busy

    async def _open(self) -> DealsStore:
        if self._store is None:
            self._store = await self.io(DealsStore, self.data_dir)
        return self._store

    async def fetch(self, key: str, worker: Any) -> int | None:
        """Fetch and store; returns the number of new deals, None when it failed (reported as an event)."""
        try:
            store = await self._open()
            args = await self.io(store.fetch_args, key)
            result = await worker.request("history", timeout=FETCH_TIMEOUT, **args)
            got = account_key(result["login"], result["server"])
            new = await self.io(store.save, result)
            self.emit({"event": "deals", "account": got, "state": "ok", "new": new,
                       "full": args["since"] is None, "message": f"{new} new deal(s) stored"})
            return new
        except Exception as exc:  # a busy terminal or a closed lane: the next interval tries again
            log.warning("deals of %s not fetched: %s", key, exc)
            self.emit({"event": "deals", "account": key, "state": "failed", "new": 0, "full": False,
                       "message": f"deals not fetched: {exc}"})
            return None
        finally:
            self._busy.discard(key)
