"""The headless host's commands: one JSON object per stdin line, each answered by its effect or an
``error`` event that names it.

- A line longer than ``MAX_LINE_BYTES`` is skipped without being held in memory, and reported.
- What an error echoes of the input is clipped to ``ECHO_CHARS`` characters plus its size.
- Commands that arrive while the host is still starting wait, in order, and run once it has started.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from app.bots_commands import BotCommands
from app.flatten import flatten_all

MAX_LINE_BYTES = 64 * 1024
ECHO_CHARS = 200
COMMANDS = ("activate", "release", "cancel", "close_all", "flatten", "flatten_all", "quit", "bot_start", "bot_stop")


def clip(value: Any) -> str:
    """``value`` as text, cut to ECHO_CHARS characters with its full size said."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if len(text) <= ECHO_CHARS:
        return text
    return f"{text[:ECHO_CHARS]}… ({len(text)} characters)"


def answer(ev: dict[str, Any], request_id: Any) -> dict[str, Any]:
    """``ev`` carrying the request's ``id`` when it had a string or integer one (clipped)."""
    if isinstance(request_id, (str, int)) and not isinstance(request_id, bool):
        ev["id"] = clip(request_id) if isinstance(request_id, str) else request_id
    return ev


class CommandError(Exception):
    def __init__(self, message: str, account: str | None = None) -> None:
        super().__init__(message)
        self.account = account


class LineSplitter:
    """Cuts a byte stream into lines as chunks come: each non-empty line goes to ``deliver``, an over-long
    one only to ``too_long`` (its size in bytes), never holding more than MAX_LINE_BYTES of it in memory.
    Shared by the headless host's stdin and the control endpoint's clients (app/control.py)."""

    def __init__(self, deliver: Callable[[str], None], too_long: Callable[[int], None]) -> None:
        self.deliver = deliver
        self.too_long = too_long
        self._buf = bytearray()
        self._skipped: int | None = None  # bytes of the over-long line being skipped

    def feed(self, chunk: bytes) -> None:
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            piece = chunk[start:] if nl < 0 else chunk[start:nl]
            if self._skipped is not None:
                self._skipped += len(piece)
            else:
                self._buf += piece
                if len(self._buf) > MAX_LINE_BYTES:
                    self._skipped = len(self._buf)
                    self._buf.clear()
            if nl < 0:
                return
            if self._skipped is not None:
                self.too_long(self._skipped)
                self._skipped = None
            else:
                text = self._buf.decode("utf-8", errors="replace").strip()
                if text:
                    self.deliver(text)
            self._buf.clear()
            start = nl + 1

    def end(self) -> None:
        """The stream ended: a last line without its newline still counts."""
        if self._skipped is not None:
            self.too_long(self._skipped + len(self._buf))
        elif self._buf.strip():
            self.deliver(self._buf.decode("utf-8", errors="replace").strip())
        self._buf.clear()
        self._skipped = None


def read_lines(read: Callable[[int], bytes], deliver: Callable[[str], None], too_long: Callable[[int], None]) -> None:
    """Feed each line that ``read(n)`` yields through a LineSplitter until EOF.

    ``read`` is ``os.read`` on the fd, not ``sys.stdin``: a daemon thread blocked inside the buffered
    stdin holds its lock and makes the interpreter abort at exit."""
    splitter = LineSplitter(deliver, too_long)
    while True:
        chunk = read(1 << 16)
        if not chunk:
            splitter.end()
            return
        splitter.feed(chunk)


class HeadlessCommands(BotCommands):  # BotCommands: bot_start, bot_stop ([I], app/bots_commands.py)
    """Runs commands against a started Desk; holds back those that come before it has started."""

    commands: tuple[str, ...] = COMMANDS

    def __init__(self, desk: Any, emit: Callable[[dict[str, Any]], None], quit: Callable[[], None]) -> None:
        self.desk = desk
        self.emit = emit
        self.quit = quit
        self.ready = False
        self._pending: list[str] = []

    def feed(self, line: str) -> None:
        if self.ready:
            self.run(line)
        else:
            self._pending.append(line)

    def started(self) -> None:
        self.ready = True
        pending, self._pending = self._pending, []
        for line in pending:
            self.run(line)

    def too_long(self, size: int) -> None:
        self.emit({"event": "error", "command": None,
                   "message": f"command line too long ({size} bytes; the limit is {MAX_LINE_BYTES}): ignored"})

    def run(self, line: str) -> None:
        name: str | None = None
        request_id: Any = None
        try:
            try:
                cmd = json.loads(line)
            except ValueError as exc:
                raise CommandError(f"not JSON ({exc}): {clip(line)}") from None
            if not isinstance(cmd, dict):
                raise CommandError(f'a command is a JSON object like {{"cmd": "activate", "account": "LOGIN@SERVER"}}, '
                                   f"not {clip(cmd)}")
            request_id = cmd.get("id")
            raw = cmd.get("cmd")
            if not isinstance(raw, str):
                raise CommandError(f'no "cmd" naming the command (one of {", ".join(self.commands)})' if raw is None
                                   else f'"cmd" must be a string, not {clip(raw)}')
            name = clip(raw)
            if raw not in self.commands:
                raise CommandError(f"unknown command {name!r}; known: {', '.join(self.commands)}")
            self.check(raw, cmd)
            getattr(self, f"_do_{raw}")(cmd)
        except CommandError as exc:
            known = name in self.commands
            self.emit(answer({"event": "error", "command": name, "message": f"{name}: {exc}" if known else str(exc),
                              **({"account": exc.account} if exc.account is not None else {})}, request_id))

    def check(self, name: str, cmd: dict[str, Any]) -> None:
        """A hook before a known command runs (the control endpoint wants its handshake first)."""

    # ---- the commands --------------------------------------------------------------------------
    def _account(self, cmd: dict[str, Any], name: str) -> str:
        account = cmd.get("account")
        if account is None:
            raise CommandError(f'needs an account: {{"cmd": "{name}", "account": "LOGIN@SERVER"}}')
        if not isinstance(account, str):
            raise CommandError(f'the account must be a string "LOGIN@SERVER", not {clip(account)}')
        if account not in {a["key"] for a in self.desk.accounts()}:
            raise CommandError(f"no linked account {clip(account)}", account=clip(account))
        return account

    def _lane(self, account: str) -> Any:
        lane = self.desk.lane_of(account)
        if lane is None or account not in lane.accounts:
            raise CommandError(f"{account} has no running terminal lane", account=account)
        return lane

    def _do_quit(self, cmd: dict[str, Any]) -> None:
        self.quit()

    def _do_activate(self, cmd: dict[str, Any]) -> None:
        account = self._account(cmd, "activate")
        if account in self.desk.dedicated:
            raise CommandError(f"{account} has its own terminal and is always live; only shared accounts "
                               "are activated", account=account)
        self._lane(account)
        self.desk.activate(account, preempt=bool(cmd.get("preempt")))

    def _do_release(self, cmd: dict[str, Any]) -> None:
        lane = self.desk.shared
        if lane is None or lane.lock.holder is None:
            raise CommandError("no account holds the shared terminal; nothing to release")
        self.desk.release()

    def _do_cancel(self, cmd: dict[str, Any]) -> None:
        account = self._account(cmd, "cancel")
        if self._lane(account).lock.cancel(account) is False:
            raise CommandError(f"{account} neither waits for its terminal nor is logging in; nothing to cancel",
                               account=account)

    def _do_close_all(self, cmd: dict[str, Any]) -> None:
        account = self._account(cmd, "close_all")
        self._lane(account)
        self.desk.close_all(account)

    def _do_flatten(self, cmd: dict[str, Any]) -> None:  # [H] 6: positions closed, pending orders deleted
        self._flatten([self._account(cmd, "flatten")], cmd)

    def _do_flatten_all(self, cmd: dict[str, Any]) -> None:
        self._flatten(None, cmd)

    def _flatten(self, keys: list[str] | None, cmd: dict[str, Any]) -> None:
        out = flatten_all(self.desk, keys)
        self.emit(answer({"event": "flatten", "queued": out["queued"],
                          "skipped": [{"account": k, "why": why} for k, why in out["skipped"]]}, cmd.get("id")))
