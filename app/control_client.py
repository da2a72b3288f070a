"""Clients of the running app's control endpoint (app/control.py): ``attach`` and one-shot requests.

``python main.py attach`` relays the endpoint to stdin/stdout: it does the version handshake, prints the
app's ``hello`` and then every event, and sends each stdin line as a command. It runs until the app
closes the connection (exit 0), stdout is closed, or ``--duration`` ends; stdin ending does not stop it,
as with ``run --headless``. No app running on the data dir (after ``--wait S`` seconds): exit 3 with a
message saying so.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import uuid
from collections import deque
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalSocket

from app.commands.headless_commands import MAX_LINE_BYTES, LineSplitter, read_lines
from app.control import PROTOCOL, endpoint_name
from app.instance import current_owner
from multi_user.errors import EXIT_TERMINAL, DeskError

CONNECT_WAIT = 5.0  # seconds an app that owns the data dir may take to open its endpoint


class ControlUnavailable(DeskError):
    """No running app answers on the data dir's control endpoint."""

    exit_code = EXIT_TERMINAL


class ControlConnection:
    """A blocking connection: for the command line, and the start of ``attach``."""

    def __init__(self, data_dir: Path, client: str, timeout: float = CONNECT_WAIT, wait: float = 0.0) -> None:
        """``wait``: seconds to wait for an app to start on the data dir (else one must own it already)."""
        QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
        self.sock = QLocalSocket()
        self._lines: deque[str] = deque()
        self._splitter = LineSplitter(self._lines.append, lambda size: None)
        name = endpoint_name(Path(data_dir))
        start = time.monotonic()
        deadline = start + max(timeout, wait)
        while True:
            self.sock.connectToServer(name)
            if self.sock.waitForConnected(int(max(0.1, deadline - time.monotonic()) * 1000)):
                break
            owner = current_owner(Path(data_dir))
            if (owner is None and time.monotonic() >= start + wait) or time.monotonic() >= deadline:
                what = ("MT5 Desk is not running on this data dir (start it, or `run --headless`)" if owner is None
                        else f"MT5 Desk ({owner.describe()}) does not answer on its control endpoint")
                raise ControlUnavailable(what)
            time.sleep(0.1)  # bounded by the deadline: the app is starting or opening its endpoint
        self.hello = self.read_event(timeout)
        if self.hello is None or self.hello.get("event") != "hello":
            raise ControlUnavailable("The running MT5 Desk did not greet this client")
        if self.hello.get("protocol") != PROTOCOL:
            raise ControlUnavailable(f"The running MT5 Desk speaks control protocol {self.hello.get('protocol')}, "
                                     f"this one {PROTOCOL}: update the older of the two")
        self.send({"cmd": "hello", "protocol": PROTOCOL, "client": client})

    def send(self, cmd: dict[str, Any]) -> None:
        self.sock.write((json.dumps(cmd) + "\n").encode())
        self.sock.waitForBytesWritten(5000)

    def pending(self) -> list[str]:
        out = list(self._lines)
        self._lines.clear()
        return out

    def read_event(self, timeout: float) -> dict[str, Any] | None:
        """The next event, or None after ``timeout`` seconds; ControlUnavailable if the app went away."""
        deadline = time.monotonic() + timeout
        while not self._lines:
            if self.sock.bytesAvailable() == 0:
                remaining = deadline - time.monotonic()
                if self.sock.state() != QLocalSocket.LocalSocketState.ConnectedState:
                    raise ControlUnavailable("MT5 Desk closed the connection")
                if remaining <= 0:
                    return None
                if not self.sock.waitForReadyRead(int(remaining * 1000)) and self.sock.bytesAvailable() == 0:
                    continue
            self._splitter.feed(bytes(self.sock.readAll().data()))
        line = self._lines.popleft()
        try:
            ev = json.loads(line)
        except ValueError:
            ev = None
        if not isinstance(ev, dict):
            raise ControlUnavailable(f"The running MT5 Desk sent something that is not an event: {line[:80]!r}")
        return ev

    def request(self, cmd: dict[str, Any], timeout: float = 300.0) -> dict[str, Any]:
        """Send ``cmd`` with a fresh id; its answer (an event carrying that id)."""
        request_id = uuid.uuid4().hex
        self.send({**cmd, "id": request_id})
        deadline = time.monotonic() + timeout
        while True:
            ev = self.read_event(max(0.0, deadline - time.monotonic()))
            if ev is None:
                raise ControlUnavailable(f"MT5 Desk did not answer {cmd.get('cmd')!r} within {timeout:.0f} s")
            if ev.get("id") == request_id:
                return ev

    def close(self) -> None:
        self.sock.disconnectFromServer()
        if self.sock.state() != QLocalSocket.LocalSocketState.UnconnectedState:
            self.sock.waitForDisconnected(2000)


class _Relay(QObject):
    line = Signal(str)  # from the stdin thread; delivered on the main thread (queued)
    too_long = Signal(int)


def run_attach(args: Any) -> int:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C ends the relay at once; the app runs on
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    conn = ControlConnection(args.data_dir, "attach", wait=float(args.wait or 0))
    sock = conn.sock
    code = 0

    def out(line: str) -> None:
        nonlocal code
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except (BrokenPipeError, ValueError, OSError):
            app.exit(code)

    out(json.dumps(conn.hello))
    for line in conn.pending():
        out(line)
    splitter = LineSplitter(out, lambda size: None)

    def on_ready() -> None:
        splitter.feed(bytes(sock.readAll().data()))

    relay = _Relay()
    relay.line.connect(lambda text: sock.write((text + "\n").encode()))
    relay.too_long.connect(lambda size: out(json.dumps(
        {"event": "error", "command": None, "ts": time.time(),
         "message": f"command line too long ({size} bytes; the limit is {MAX_LINE_BYTES}): not sent"})))
    sock.readyRead.connect(on_ready)
    sock.disconnected.connect(lambda: app.exit(0))
    if sys.stdin is not None and not sys.stdin.isatty():
        fd = sys.stdin.fileno()
        threading.Thread(target=read_lines, args=(lambda n: os.read(fd, n), relay.line.emit, relay.too_long.emit),
                         daemon=True, name="attach-stdin").start()
    if args.duration:
        QTimer.singleShot(int(args.duration * 1000), lambda: app.exit(0))
    if sock.bytesAvailable() > 0:
        on_ready()
    if sock.state() != QLocalSocket.LocalSocketState.ConnectedState:
        return 0
    code = app.exec()
    sock.abort()
    return code
