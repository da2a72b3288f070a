"""[P] 3: a lane reads the password of the account its lock just granted at once, while the pump has yet to
start the login (and the vault's I/O thread may still be busy with the previous switch's writes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any


class PasswordPrefetch:
    def __init__(self, read: Callable[[str], Awaitable[str]], tasks: set[asyncio.Task[Any]]) -> None:
        self._read = read
        self._tasks = tasks  # the lane's: cancelled when it stops
        self._pending: tuple[Any, asyncio.Task[str]] | None = None  # (the lock's request, its read)

    def start(self, holder: Any) -> None:
        """Start reading for a request that is switching (once per request)."""
        if holder is None or (self._pending is not None and self._pending[0] is holder):
            return
        task = asyncio.ensure_future(self._read(holder.account))
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a failure is the login's to report
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        self._pending = (holder, task)

    async def take(self, holder: Any, key: str) -> str:
        """The password for ``key``'s login: read ahead for this very request, else read now."""
        pending, self._pending = self._pending, None
        if pending is not None and holder is not None and pending[0] is holder and holder.account == key:
            return await pending[1]
        return await self._read(key)
