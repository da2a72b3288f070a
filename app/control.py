"""The running app's local control endpoint: the headless host's JSON lines for any number of clients.

The GUI and ``run --headless`` both listen on it (QLocalServer: a named pipe on Windows, a Unix socket
elsewhere, both restricted to this user); ``python main.py attach`` and the command line (``accounts
link|unlink`` while an app runs) connect to it (app/control_client.py).

Per connection: the app sends ``hello`` (protocol version and the current state), then every Desk
event from then on. The client's first line must be ``{"cmd": "hello", "protocol": N}``; a version
the app does not speak is answered by an ``error`` and the connection is closed. Then the headless
host's commands (app/commands/headless_commands.py) plus ``link`` and ``unlink``; an error answering
a command goes to the client that sent it only.

A client that does not read costs the app nothing: what waits to be written to it is bounded
(MAX_CLIENT_BUFFER); past that the client is dropped with a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from app.commands.headless_commands import COMMANDS, CommandError, HeadlessCommands, LineSplitter, answer, clip
from app.remote_accounts import RenameCommand
from app.remote_queries import check_query, run_query
from multi_user.errors import DeskError

log = logging.getLogger("mt5desk.control")

PROTOCOL = 1
MAX_CLIENT_BUFFER = 1 << 20  # bytes waiting for one client before it is dropped
SOCKET_FILE = "control.sock"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on macOS


def endpoint_name(data_dir: Path) -> str:
    """Where the app of ``data_dir`` listens: a pipe name on Windows, else a socket path only we can use."""
    resolved = Path(data_dir).resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:16]
    if sys.platform == "win32":
        return f"mt5desk-control-{digest}"
    path = resolved / SOCKET_FILE
    if len(str(path).encode()) <= MAX_SOCKET_PATH:
        return str(path)
    # a data dir too deep for a socket path: a private folder in the temp dir (0700, ours)
    folder = Path(tempfile.gettempdir()) / f"mt5desk-{os.getuid()}"
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.stat()
    if st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise DeskError(f"{folder} is not private to this user; remove it and start again")
    return str(folder / f"{digest}.sock")


class ControlCommands(RenameCommand, HeadlessCommands):
    """One client's commands: the headless host's, after a hello, plus link, unlink and rename."""

    commands = (*COMMANDS, "hello", "link", "unlink", "query", "rename")

    def __init__(self, server: ControlServer, client: _Client) -> None:
        super().__init__(server.desk, client.send, server.quit or (lambda: None))
        self.server = server
        self.client = client
        self.greeted = False

    def feed(self, line: str) -> None:
        if not self.greeted:
            self.run(line)  # the handshake is answered at once, even while the app starts
        else:
            super().feed(line)

    def check(self, name: str, cmd: dict[str, Any]) -> None:
        if name != "hello" and not self.greeted:
            raise CommandError(f'send {{"cmd": "hello", "protocol": {PROTOCOL}}} first; nothing else was run')

    def _do_hello(self, cmd: dict[str, Any]) -> None:
        version = cmd.get("protocol")
        if version != PROTOCOL:
            self.client.send(answer({"event": "error", "command": "hello", "protocol": PROTOCOL,
                                     "message": f"hello: this MT5 Desk speaks control protocol {PROTOCOL}, the client "
                                                f"{clip(version)}: update the older of the two"}, cmd.get("id")))
            self.client.close_after_writing()
            return
        self.greeted = True
        if self.server.ready and not self.ready:
            self.started()

    def _do_quit(self, cmd: dict[str, Any]) -> None:
        if self.server.quit is None:
            raise CommandError("MT5 Desk runs with a window here: quit it from the window")
        self.server.quit()

    def _do_link(self, cmd: dict[str, Any]) -> None:
        # from another machine only the Fernet token travels (issue 18 item 3); this app decrypts it
        for field in ("login", "server", "token" if "token" in cmd else "password"):
            if not isinstance(cmd.get(field), (str, int)) or isinstance(cmd.get(field), bool):
                raise CommandError(f'needs "{field}" (a string)')
        for field in ("label", "terminal"):
            if cmd.get(field) is not None and not isinstance(cmd.get(field), str):
                raise CommandError(f'"{field}" must be a string, not {clip(cmd.get(field))}')
        self.server.spawn(self._link(cmd, cmd.get("id")))

    async def _link(self, cmd: dict[str, Any], request_id: Any) -> None:
        verify = cmd.get("verify", True) is not False
        try:
            password = str(cmd["password"]) if "token" not in cmd else await self.desk.io(
                lambda: decrypt_token(self.server.data_dir, str(cmd["token"])))
            account = await self.desk.link_account(
                str(cmd["login"]), str(cmd["server"]), password, label=cmd.get("label") or None,
                investor=bool(cmd.get("investor")), dedicated=bool(cmd.get("dedicated")),
                terminal=cmd.get("terminal") or None, verify=verify)
        except Exception as exc:  # every failure is answered; DeskError carries the exit code a CLI uses
            self._failed("link", exc, request_id)
            return
        snap = (self.desk.last_snapshot(account["key"]) or {}) if verify else {}
        self.client.send(answer({"event": "linked", "account": account, "verified": verify,
                                 "balance": snap.get("balance"), "equity": snap.get("equity"),
                                 "currency": snap.get("currency")}, request_id))

    def _do_query(self, cmd: dict[str, Any]) -> None:  # [K] another desk's views of this app's accounts
        key = self._account(cmd, "query")
        try:
            check_query(cmd)
        except ValueError as exc:
            raise CommandError(str(exc), account=key) from None
        self.server.spawn(self._query(key, cmd, cmd.get("id")))

    async def _query(self, key: str, cmd: dict[str, Any], request_id: Any) -> None:
        try:
            result = await run_query(self.desk, key, cmd)
        except Exception as exc:
            self._failed("query", exc, request_id)
            return
        self.client.send(answer({"event": "answer", "what": cmd["what"], "account": key, "result": result},
                                request_id))

    def _do_unlink(self, cmd: dict[str, Any]) -> None:
        key = self._account(cmd, "unlink")
        self.server.spawn(self._unlink(key, cmd.get("id")))

    async def _unlink(self, key: str, request_id: Any) -> None:
        try:
            await self.desk.unlink_account(key)
        except Exception as exc:
            self._failed("unlink", exc, request_id)
            return
        self.client.send(answer({"event": "unlinked", "account": key}, request_id))

    def _failed(self, name: str, exc: Exception, request_id: Any) -> None:
        if not isinstance(exc, DeskError):
            log.exception("%s through the control endpoint failed", name, exc_info=exc)
        ev = {"event": "error", "command": name, "message": f"{name}: {exc}",
              "exit_code": exc.exit_code if isinstance(exc, DeskError) else 1}
        if getattr(exc, "field", None):
            ev["field"] = exc.field  # type: ignore[attr-defined]
        self.client.send(answer(ev, request_id))


def decrypt_token(data_dir: Path, token: str) -> str:
    from multi_user.credentials import MT5CredentialManager
    from multi_user.errors import VaultError

    try:
        return MT5CredentialManager(data_dir).decrypt(token)
    except VaultError:
        raise VaultError("the password came encrypted with another key than this machine's: import the desk's key "
                         "here (`key export` there, `key import` here; `key fingerprint` compares them)") from None


class _Client:
    def __init__(self, server: ControlServer, sock: QLocalSocket, number: int) -> None:
        self.server = server
        self.sock = sock
        self.number = number
        self.closed = False
        self.commands = ControlCommands(server, self)
        self.splitter = LineSplitter(self.commands.feed, self.commands.too_long)
        sock.readyRead.connect(self._read)
        sock.disconnected.connect(self.close)

    def _read(self) -> None:
        while not self.closed and self.sock.bytesAvailable() > 0:
            self.splitter.feed(bytes(self.sock.read(1 << 16).data()))

    def send(self, ev: dict[str, Any]) -> None:
        self.write((json.dumps(ev, default=str) + "\n").encode())

    def write(self, data: bytes) -> None:
        if self.closed:
            return
        waiting = self.sock.bytesToWrite()
        if waiting + len(data) > MAX_CLIENT_BUFFER:
            log.warning("control client %d does not read its events (%d bytes waiting): dropped", self.number, waiting)
            self.close()
            return
        self.sock.write(data)

    def close_after_writing(self) -> None:
        self.sock.disconnectFromServer()  # writes what waits first, then closes

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.server.clients.discard(self)
        with contextlib.suppress(RuntimeError):  # Qt deleted the socket already (the app is ending)
            self.sock.abort()
            self.sock.deleteLater()


class ControlServer(QObject):
    """Listens for the Desk's clients; ``started()`` once the Desk has started (held commands run)."""

    def __init__(self, desk: Any, data_dir: Path, kind: str, quit: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.desk = desk
        self.data_dir = Path(data_dir)
        self.kind = kind
        self.quit = quit
        self.ready = False
        self.clients: set[_Client] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._count = 0
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.newConnection.connect(self._accept)
        desk.event.connect(self.broadcast)

    def listen(self) -> bool:
        """Start listening; False (logged) if the endpoint cannot be made: the app runs on without it."""
        try:
            name = endpoint_name(self.data_dir)
        except DeskError as exc:
            log.warning("no control endpoint: %s", exc)
            return False
        QLocalServer.removeServer(name)  # a socket left by a crashed owner (we own the data dir now)
        if not self._server.listen(name):
            log.warning("no control endpoint at %s: %s", name, self._server.errorString())
            return False
        if sys.platform != "win32":
            with contextlib.suppress(OSError):
                os.chmod(name, 0o600)
        log.info("control endpoint at %s", name)
        return True

    def started(self) -> None:
        self.ready = True
        for client in list(self.clients):
            if client.commands.greeted:
                client.commands.started()

    def hello(self) -> dict[str, Any]:
        accounts = self.desk.accounts()
        return {"event": "hello", "protocol": PROTOCOL, "app": "MT5 Desk", "kind": self.kind, "pid": os.getpid(),
                "started": self.ready, "accounts": accounts, "lock": self.desk.lock_state(),
                "lanes": getattr(self.desk, "lanes", list)(),  # [K] for a desk's Terminals tab
                "states": list(self.desk.account_states().values()),
                "snapshots": [s for s in (self.desk.last_snapshot(a["key"]) for a in accounts) if s]}

    def _accept(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            self._count += 1
            client = _Client(self, sock, self._count)
            self.clients.add(client)
            log.info("control client %d attached", client.number)
            client.send(self.hello())

    def broadcast(self, ev: dict[str, Any]) -> None:
        if not self.clients:
            return
        data = (json.dumps(ev, default=str) + "\n").encode()
        for client in list(self.clients):
            client.write(data)

    def spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        with contextlib.suppress(RuntimeError, TypeError):
            self.desk.event.disconnect(self.broadcast)
        self._server.close()
        for client in list(self.clients):
            client.close()
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
