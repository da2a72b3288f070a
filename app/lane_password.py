"""[P] 3: the password of a switch, read without waiting: a lane asks for it as its lock grants the terminal
(app/lane_switch.py); it is decrypted on the spot from the cached encrypted tokens while no stored password has
changed, else read on a reader thread of its own (not behind the Desk's writes)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal, Slot

from multi_user.vault_changes import TOKEN_CHANGES


class PasswordPrefetch:
    def __init__(self, read: Callable[[str], Awaitable[str]], tasks: set[Any]) -> None:
        self._read = read
        self._tasks = tasks  # the lane's: cancelled when it stops
        self._pending: tuple[Any, asyncio.Future[str]] | None = None  # (the lock's request, its read)

    def started(self, holder: Any) -> bool:
        return self._pending is not None and self._pending[0] is holder

    def start(self, holder: Any) -> bool:
        """Start reading for a request that is switching (once per request: False when already started)."""
        if holder is None or self.started(holder):
            return False
        task = asyncio.ensure_future(self._read(holder.account))  # a future: the read may have begun already
        self._pending = (holder, task)
        if task.done():  # decrypted on the spot: a done callback would cost a loop turn (~0.1 ms in qasync)
            task.cancelled() or task.exception()  # a failure is the login's to report
            return True
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    def ready(self, holder: Any) -> bool:
        """The password read for this request is at hand (it did not fail)."""
        pending = self._pending
        return (pending is not None and pending[0] is holder and pending[1].done() and not pending[1].cancelled()
                and pending[1].exception() is None)

    def take_ready(self, holder: Any, key: str) -> str | None:
        """The password read ahead for this very request if it is already at hand (decrypted from the cached
        tokens), else None and nothing taken."""
        pending = self._pending
        if pending is None or holder is None or holder.account != key or not self.ready(holder):
            return None
        self._pending = None
        return str(pending[1].result())

    async def take(self, holder: Any, key: str) -> str:
        """The password for ``key``'s login: read ahead for this very request, else read now."""
        pending, self._pending = self._pending, None
        if pending is not None and holder is not None and pending[0] is holder and holder.account == key:
            return await pending[1]
        return await self._read(key)


def _settle(done: asyncio.Future[str], result: tuple[str | None, BaseException | None]) -> None:
    if done.done():
        return  # the login gave up waiting (the lane stopped, or another account was chosen)
    password, exc = result
    if exc is not None:
        done.set_exception(exc)
    else:
        done.set_result(str(password))


class _Delivery(QObject):
    """Lives on the loop's thread: a read's result, emitted on the reader thread, arrives there in one event."""

    deliver = Signal(object, object)

    def __init__(self) -> None:
        super().__init__()
        self.deliver.connect(self._settle, Qt.ConnectionType.QueuedConnection)

    @Slot(object, object)
    def _settle(self, done: asyncio.Future[str], result: tuple[str | None, BaseException | None]) -> None:
        _settle(done, result)


class PasswordReader:
    """Reads and decrypts passwords on a thread of its own, with its own connection to the vault (WAL lets it
    read beside the Desk's I/O thread): a switch's password no longer waits behind the history, activity and
    settings writes queued on that thread. The vault's key is shared (``credentials``), not read again."""

    def __init__(self, data_dir: Path, credentials: Any = None) -> None:
        self._data_dir = data_dir
        self.credentials = credentials
        self._vault: Any = None  # opened on the reader's thread, used there only
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vault-passwords")
        self._delivery = _Delivery() if QCoreApplication.instance() is not None else None
        # [P] 3: the encrypted passwords as last read, with the vault's TOKEN_CHANGES stamp they were read at:
        # while the stamp holds, a switch decrypts on the spot (tens of microseconds of CPU, no disk) instead
        # of waiting for this thread and a hop back to the loop (~0.7 ms of every switch). Tokens only: a
        # plaintext password is never kept.
        self._tokens: tuple[int | None, dict[tuple[int, str], str], Callable[[str], str]] | None = None

    def _read(self, login: int, server: str) -> str:
        from multi_user.vault import Vault

        if self._vault is None:
            self._vault = Vault.open(self._data_dir, self.credentials)
        stamp = TOKEN_CHANGES.stamp()  # before the read: a change after it makes these tokens old
        with contextlib.suppress(Exception):  # the cache is a shortcut; the read below reports errors
            self._tokens = (stamp, self._vault.tokens(), self._vault.credentials.decrypt)
        return str(self._vault.password(login, server))

    def _cached(self, login: int, server: str) -> str | None:
        cached = self._tokens
        if cached is None or cached[0] is None:
            return None
        token = cached[1].get((login, server))
        if token is None or TOKEN_CHANGES.stamp() != cached[0]:
            return None
        try:
            return cached[2](token)
        except Exception:  # a token that does not decrypt: the reader thread reports it as the vault words it
            return None

    def password(self, login: int, server: str, temp: str | None = None) -> asyncio.Future[str]:
        """Submitted at once (not when a coroutine would first run): the read starts as the lock grants.
        ``temp``: a password being checked (linking), given back as it is."""
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        if temp is not None:
            done.set_result(temp)
            return done
        password = self._cached(login, server)
        if password is not None:
            done.set_result(password)
            del password
            return done
        self._pool.submit(self._read_into, done, login, server)
        return done

    def _read_into(self, done: asyncio.Future[str], login: int, server: str) -> None:
        try:
            result: tuple[str | None, BaseException | None] = (self._read(login, server), None)
        except BaseException as exc:  # the vault's own error (never holding the password): the login reports it
            result = (None, exc)
        # [P] 3: one queued Qt call sets the future on the loop's thread; call_soon_threadsafe took two loop turns
        if self._delivery is not None:
            self._delivery.deliver.emit(done, result)
        else:
            done.get_loop().call_soon_threadsafe(_settle, done, result)

    def _close(self) -> None:
        if self._vault is not None:
            self._vault.close()
            self._vault = None

    def close(self) -> None:
        with contextlib.suppress(RuntimeError):  # closed twice
            self._pool.submit(self._close).result()
        self._pool.shutdown(wait=True)
