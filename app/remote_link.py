"""One remote host as the desk sees it: ``ssh ... mt5-desk attach`` as a child, its events relayed.

The remote ``attach`` prints the host app's ``hello`` (protocol, accounts, lock, states, last
snapshots) and then every event; the desk answers the hello with its own protocol version (the host
closes the connection when it does not speak it) and from then on writes commands as JSON lines.

Every relayed event carries ``host`` (the host's name); the link keeps the host's last state (accounts,
lock per lane, its lanes' terminals, account states, snapshots) so a view can be drawn at any time. When the
connection ends the host is ``offline`` (``since`` says from when, its accounts go ``offline`` too) and
the link reconnects with a pause doubling from ``backoff[0]`` to ``backoff[1]`` seconds; the host's terminals
keep running meanwhile, and the next hello brings the view back in line with the host. A failure that
waiting cannot cure (an unconfirmed or changed host key, another protocol version, no MT5 Desk there)
is ``refused``: no retry until the owner acts and calls ``start()`` again.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from app.control import PROTOCOL
from app.remote_hosts import Host, attach_argv, explain_ssh_failure
from multi_user.errors import DeskError

log = logging.getLogger("mt5desk.remote")

BACKOFF = (1.0, 60.0)
STDERR_KEEP = 4096
MAX_HOST_LINE = 16 << 20
HOST_STATES = ("connecting", "online", "offline", "refused", "stopped")


class RemoteHost(QObject):
    """The link to one host; ``event`` carries the ``host`` events and the host's own events."""

    event = Signal(dict)

    def __init__(self, host: Host, data_dir: Path, backoff: tuple[float, float] = BACKOFF) -> None:
        super().__init__()
        self.host = host
        self.data_dir = Path(data_dir)
        self.backoff = backoff
        self.state = "stopped"
        self.since = time.time()
        self.message = ""
        self.offline_since: float | None = None  # when the host was last seen (it has been online before)
        self.remote: dict[str, Any] = {}  # the host app's hello minus the state (kind, pid, protocol)
        self.accounts: list[dict[str, Any]] = []
        self.locks: dict[str, dict[str, Any]] = {}
        self.lanes: dict[str, dict[str, Any]] = {}  # the host's lanes: accounts, folder, last terminal/worker
        self.states: dict[str, dict[str, Any]] = {}
        self.snapshots: dict[str, dict[str, Any]] = {}
        self.connects = 0
        self.wire: bytearray | None = None  # set to a bytearray to keep every byte of the channel (tests)
        self._proc: QProcess | None = None
        self._stderr = b""
        self._greeted = False
        self._delay = backoff[0]
        self._retry = QTimer(self)
        self._retry.setSingleShot(True)
        self._retry.timeout.connect(self._connect)
        self._buf = bytearray()

    # ---- the owner's side ------------------------------------------------------------------------
    def start(self) -> None:
        if self._proc is None:
            self._delay = self.backoff[0]
            self._retry.stop()
            self._connect()

    def stop(self) -> None:
        self._retry.stop()
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.finished.disconnect(self._ended)
            proc.kill()
            proc.waitForFinished(3000)
            proc.deleteLater()
        self._set_state("stopped", "")

    def send(self, cmd: dict[str, Any]) -> bool:
        """Forward one command; an offline host answers at once with an ``error`` event (not queued:
        a switch or close-all sent minutes later would surprise the owner)."""
        if self.state != "online":  # online means a running ssh child: its end makes the host offline
            self._emit({"event": "error", "command": cmd.get("cmd"), "account": cmd.get("account"),
                        "message": f"{cmd.get('cmd')}: host {self.host.name} is {self.state}"
                                   f"{self._age()}: not sent", **({"id": cmd["id"]} if "id" in cmd else {})})
            return False
        self._write(cmd)
        return True

    def status(self) -> dict[str, Any]:
        return {"event": "host", "host": self.host.name, "destination": self.host.destination,
                "state": self.state, "since": self.since, "offline_since": self.offline_since,
                "message": self.message,
                "retry_in": self._retry.remainingTime() / 1000 if self._retry.isActive() else None,
                "accounts": len(self.accounts), "remote": self.remote}

    # ---- the connection --------------------------------------------------------------------------
    def _connect(self) -> None:
        try:
            argv = attach_argv(self.host, self.data_dir)
        except DeskError as exc:  # no OpenSSH client on this machine: said, the local desk goes on
            self._set_state("refused", f"{self.host.name}: {exc}")
            return
        proc = QProcess(self)
        proc.setProgram(argv[0])
        proc.setArguments(argv[1:])
        proc.readyReadStandardOutput.connect(self._read)
        proc.readyReadStandardError.connect(self._read_stderr)
        proc.finished.connect(self._ended)
        proc.errorOccurred.connect(self._failed_to_start)
        self._proc = proc
        self._stderr = b""
        self._greeted = False
        self._buf = bytearray()
        self.connects += 1
        self._set_state("connecting", f"ssh {self.host.destination}")
        proc.start()

    def _failed_to_start(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._proc is not None:
            self._ended(-1, QProcess.ExitStatus.CrashExit)

    def _read(self) -> None:
        proc = self._proc
        if proc is None:
            return
        data = bytes(proc.readAllStandardOutput().data())
        if self.wire is not None:
            self.wire += data
        self._feed(data)

    def _read_stderr(self) -> None:
        if self._proc is not None:
            self._stderr = (self._stderr + bytes(self._proc.readAllStandardError().data()))[-STDERR_KEEP:]

    def _write(self, cmd: dict[str, Any]) -> None:
        data = (json.dumps(cmd) + "\n").encode()
        if self.wire is not None:
            self.wire += data
        if self._proc is not None:
            self._proc.write(data)

    def _ended(self, code: int, status: QProcess.ExitStatus) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._read_stderr_of(proc)
        proc.deleteLater()
        if self.state == "refused":
            return  # said already (another protocol)
        message, retry = explain_ssh_failure(self.host, self._stderr.decode(errors="replace"),
                                             code if status == QProcess.ExitStatus.NormalExit else None)
        if self._greeted and code == 0:
            message, retry = f"{self.host.name}: MT5 Desk there closed the connection (it quit)", True
        log.info("host %s: connection ended (%s)", self.host.name, message)
        self._go_offline("offline" if retry else "refused", message)
        if retry:
            self._retry.start(int(self._delay * 1000))
            self._delay = min(self._delay * 2, self.backoff[1])
            self._emit(self.status())  # with its retry_in

    def _read_stderr_of(self, proc: QProcess) -> None:
        self._stderr = (self._stderr + bytes(proc.readAllStandardError().data()))[-STDERR_KEEP:]

    def _go_offline(self, state: str, message: str) -> None:
        was_online = self.state == "online"
        if was_online:
            self.offline_since = time.time()
        self._set_state(state, message)
        if was_online or state == "refused":
            for account in self.accounts:
                self._emit({"event": "account_state", "account": account["key"], "state": "offline",
                            "place": None, "message": f"host {self.host.name} is {state}: {message}"})

    def _refuse(self, message: str) -> None:
        self._set_state("refused", message)
        if self._proc is not None:
            self._proc.kill()

    # ---- what the host says ----------------------------------------------------------------------
    def _feed(self, data: bytes) -> None:
        """Lines of the host's output. Not the commands' 64 KiB limit: a host's hello carries all its
        accounts with their last values; a line past MAX_HOST_LINE means something else talks there."""
        self._buf += data
        start = 0
        while (nl := self._buf.find(b"\n", start)) >= 0:
            text = self._buf[start:nl].decode("utf-8", errors="replace").strip()
            start = nl + 1
            if text:
                self._line(text)
        del self._buf[:start]
        if len(self._buf) > MAX_HOST_LINE:
            log.warning("host %s sent a line over %d bytes: dropped", self.host.name, MAX_HOST_LINE)
            self._buf.clear()

    def _line(self, text: str) -> None:
        try:
            ev = json.loads(text)
        except ValueError:
            ev = None
        if not isinstance(ev, dict) or not isinstance(ev.get("event"), str):
            log.info("host %s said: %s", self.host.name, text[:200])  # e.g. a login banner from a shell profile
            return
        if not self._greeted:
            self._hello(ev)
            return
        kind = ev["event"]
        if kind == "error" and ev.get("command") == "hello":
            self._refuse(f"{self.host.name}: {ev.get('message')}")
            return
        self._track(ev)
        self._emit(ev)

    def _hello(self, ev: dict[str, Any]) -> None:
        if ev["event"] != "hello":
            log.info("host %s: %s before its hello", self.host.name, ev["event"])
            return
        if ev.get("protocol") != PROTOCOL:
            self._refuse(f"{self.host.name} speaks control protocol {ev.get('protocol')}, this desk {PROTOCOL}: "
                         "update the older of the two")
            return
        self._greeted = True
        self._write({"cmd": "hello", "protocol": PROTOCOL, "client": "desk"})  # the host checks ours
        self.remote = {k: ev.get(k) for k in ("protocol", "app", "kind", "pid", "started")}
        self.accounts = list(ev.get("accounts") or [])
        self.locks = {}
        self.lanes = {ln["lane"]: dict(ln) for ln in ev.get("lanes") or [] if isinstance(ln, dict) and ln.get("lane")}
        self.states = {}
        self.snapshots = {}
        self._delay = self.backoff[0]
        self.offline_since = None
        self._set_state("online", f"{self.host.name}: MT5 Desk ({ev.get('kind')}) with {len(self.accounts)} accounts")
        # the host's state as events: a view that draws from events is in line with the host again
        now = time.time()
        self._relay({"event": "accounts", "accounts": self.accounts, "ts": now})
        if ev.get("lock"):
            self._relay({**ev["lock"], "event": "lock"})
        for state in ev.get("states") or []:
            self._relay({**state, "event": "account_state"})
        for snap in ev.get("snapshots") or []:
            self._relay({**snap, "event": "snapshot"})

    def _relay(self, ev: dict[str, Any]) -> None:
        self._track(ev)
        self._emit(ev)

    def _track(self, ev: dict[str, Any]) -> None:
        kind = ev["event"]
        if kind == "accounts":
            self.accounts = list(ev.get("accounts") or [])
        elif kind == "lock":
            self.locks[ev.get("lane") or "shared"] = ev
        elif kind in ("terminal", "worker") and ev.get("lane"):
            lane = self.lanes.setdefault(ev["lane"], {"lane": ev["lane"], "accounts": []})
            lane[kind] = ev
            lane["folder"] = lane.get("folder") or ev.get("folder")
        elif kind == "account_state" and ev.get("account"):
            self.states[ev["account"]] = ev
        elif kind == "snapshot" and ev.get("account"):
            self.snapshots[ev["account"]] = ev

    # ---- helpers ---------------------------------------------------------------------------------
    def _set_state(self, state: str, message: str) -> None:
        changed = state != self.state
        self.state = state
        self.message = message
        if changed:
            self.since = time.time()
        if changed or state == "refused":
            self._emit(self.status())

    def _age(self) -> str:
        if self.offline_since is not None:
            return f" (last seen {time.time() - self.offline_since:.0f} s ago)"
        return ""

    def _emit(self, ev: dict[str, Any]) -> None:
        ev["host"] = self.host.name
        ev.setdefault("ts", time.time())
        self.event.emit(ev)
