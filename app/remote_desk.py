"""The owner's hosts together: one RemoteHost link per stored host, their events on one signal.

The window (or a test) creates ``RemoteHosts(data_dir)`` next to the Desk, connects ``event`` and
calls ``start()``; each event is a host's own (with ``host`` set) or a ``host`` event about a link.
Commands go to one host by name (``send(host, cmd)``); its accounts are named ``key`` there as here,
the pair (host, key) names one account on the desk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from app.remote_hosts import Host, HostStore
from app.remote_link import BACKOFF, RemoteHost
from multi_user.errors import BadInput, DeskError

log = logging.getLogger("mt5desk.remote")

T = TypeVar("T")
FORWARDED = ("activate", "release", "cancel", "close_all", "flatten", "link", "unlink", "rename", "query")


class RemoteHosts(QObject):
    event = Signal(dict)

    def __init__(self, data_dir: Path, backoff: tuple[float, float] = BACKOFF, keep_wire: bool = False) -> None:
        """``keep_wire``: each link keeps every byte of its channel (tests look for secrets in them)."""
        super().__init__()
        self.keep_wire = keep_wire
        self.data_dir = Path(data_dir)
        self.store = HostStore(self.data_dir)
        self.backoff = backoff
        self.links: dict[str, RemoteHost] = {}
        self._pool: ThreadPoolExecutor | None = None  # key scans, key files: never on the GUI thread

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hosts-io")
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def start(self) -> None:
        """Connect to every stored host (and any added since)."""
        try:
            hosts = self.store.load()
        except DeskError as exc:  # a damaged hosts.json must not keep the local desk from starting
            log.warning("no remote hosts: %s", exc)
            return
        for host in hosts:
            self._link(host).start()

    def stop(self) -> None:
        for link in list(self.links.values()):
            link.stop()
            link.event.disconnect(self.event.emit)
            link.deleteLater()
        self.links.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def add(self, host: Host) -> None:
        self.store.add(host)
        self._link(host).start()

    def remove(self, name: str) -> None:
        self.store.remove(name)
        link = self.links.pop(name, None)
        if link is not None:
            link.stop()
            link.deleteLater()

    def reconnect(self, name: str) -> None:
        """After the owner fixed what refused the host (a confirmed key, an update)."""
        link = self.links.get(name)
        if link is None:
            raise BadInput(f"no host named {name!r}")
        link.stop()
        link.start()

    def send(self, host: str, cmd: dict[str, Any]) -> bool:
        link = self.links.get(host)
        if link is None:
            raise BadInput(f"no host named {host!r}")
        if "password" in cmd:
            raise BadInput("a password never goes to another machine: send its token (encrypted with the shared key)")
        if cmd.get("cmd") not in FORWARDED:
            raise BadInput(f"{cmd.get('cmd')!r} is not sent to a host; one of {', '.join(FORWARDED)}")
        return link.send(cmd)

    def statuses(self) -> list[dict[str, Any]]:
        return [link.status() for link in self.links.values()]

    def accounts(self) -> list[dict[str, Any]]:
        """Every remote account as in an ``accounts`` event, with ``host`` added."""
        return [{**a, "host": name} for name, link in self.links.items() for a in link.accounts]

    def _link(self, host: Host) -> RemoteHost:
        link = self.links.get(host.name)
        if link is None:
            link = RemoteHost(host, self.data_dir, self.backoff)
            link.wire = bytearray() if self.keep_wire else None
            link.event.connect(self.event.emit)
            self.links[host.name] = link
        return link
