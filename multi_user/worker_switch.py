"""The worker's switch requests ([P] 3), kept apart from the rest of the worker: ``Worker`` inherits them.

``prepare`` (login, server) reads what a switch must know before its login — which account the terminal
shows, whether it is connected to the broker — while the app is still reading the password; the ``switch``
right after it (nothing else in between, within PREPARED_FOR seconds) uses those reads instead of making
them again. Reads left by the previous switch within PREPARED_FOR serve either (no terminal call at all);
with the password at hand the app sends the ``switch`` without a ``prepare``. ``switch`` logs in, answers,
and writes the new account's first snapshot in the same write; the checks that only inform (Algo Trading,
EA positions, health) follow the answer.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any, NamedTuple

from multi_user.bridge import TRADE_RETCODE_CLIENT_DISABLES_AT
from multi_user.errors import BadInput, DeskError

POSITION_REASON_EXPERT = 3
PREPARED_FOR = 0.5  # seconds: older reads are made again (the terminal may have changed meanwhile)


class SwitchOps:
    # provided by Worker
    bridge: Any
    lane: str
    rate: float
    streaming: bool
    _creds: tuple[int, str, str] | None
    _mismatch: dict[str, Any] | None
    _ea_note: str | None
    _reconnect_attempt: int
    _next_push: float
    _after_reply: Any
    _with_reply: list[dict[str, Any]]
    _prepared: tuple[int, str, float, Any] | None = None  # login, server, when, the bridge's reads
    _shown: tuple[float, AccountShown] | None = None  # when, the account a switch's identity check read
    _seen: tuple[float, Any] | None = None  # when, the reads the last switch left for the next one

    def send(self, message: dict[str, Any], *more: dict[str, Any]) -> None:  # pragma: no cover - Worker's
        raise NotImplementedError

    def push_health(self, force: bool = False) -> None:  # pragma: no cover - Worker's
        raise NotImplementedError

    def tick(self) -> None:  # pragma: no cover - Worker's
        raise NotImplementedError

    def bot_account_changes(self, login: int, server: str) -> None:  # pragma: no cover - BotOps'
        raise NotImplementedError

    def _snapshot(self, read: Any = None) -> dict[str, Any]:  # pragma: no cover - Worker's
        raise NotImplementedError

    def op_prepare(self, req: dict[str, Any]) -> None:
        try:
            login, server = int(req["login"]), str(req["server"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput("prepare needs login and server") from exc
        seen = self._take_seen()
        if seen is not None:
            when, reads = seen  # the last switch's own reads, fresh enough: no terminal call at all
        else:
            reads, when = self.bridge.read_before_login(), time.monotonic()
        self._prepared = None if reads is None else (login, server, when, reads)

    def _take_seen(self) -> tuple[float, Any] | None:
        """The reads the last switch left, while fresh (PREPARED_FOR) and with nothing in between."""
        seen, self._seen = self._seen, None
        return seen if seen is not None and time.monotonic() - seen[0] <= PREPARED_FOR else None

    def _take_prepared(self, login: int, server: str) -> Any:
        prepared, self._prepared = self._prepared, None
        if prepared is None or prepared[:2] != (login, server) or time.monotonic() - prepared[2] > PREPARED_FOR:
            # no prepare: the app had the password at hand and sent the switch at once (app/lane_switch.py);
            # the last switch's reads serve it on the same terms as they would have served a prepare
            seen = self._take_seen()
            return None if seen is None else seen[1]
        return prepared[3]

    def op_switch(self, req: dict[str, Any]) -> dict[str, Any]:
        try:
            login, password, server = int(req["login"]), str(req["password"]), str(req["server"])
        except (KeyError, TypeError, ValueError) as exc:
            raise BadInput("switch needs login, password and server") from exc
        before = self._take_prepared(login, server)
        self._mismatch = None
        self.bot_account_changes(login, server)
        self._seen = self._shown = None
        started = time.monotonic()
        try:
            # check_password: the broker checks it even when the terminal already shows the account
            ident = self.bridge.switch(login, password, server, check_password=req.get("check_password") is True,
                                       **({} if before is None else {"before": before}))
        except DeskError:
            self._creds = None
            self.push_health()
            raise
        self._creds = (login, password, server)
        self._shown = (started, AccountShown(ident.login, ident.server))  # read within the switch: at most this old
        self.streaming = bool(req.get("stream", True))
        self._reconnect_attempt = 0
        # the first snapshot of the new account goes out with the answer, in the same write, from what the
        # login already read; the checks that only inform follow at once, no longer holding every switch up
        self._next_push = 0.0
        if self.streaming:
            self._first_snapshot()
        self._after_reply = self._switched
        return {"login": ident.login, "server": ident.server, "terminal_path": ident.terminal_path,
                "relogged": ident.relogged}

    def _first_snapshot(self) -> None:
        try:
            snap = self._snapshot(self.bridge.first_snapshot)
        except DeskError:
            return  # the regular snapshot right after the answer says it (mismatch, error, reconnect)
        self._next_push = time.monotonic() + self.rate
        self._with_reply.append({"type": "snapshot", "data": snap})

    def _switched(self) -> None:
        self.tick()  # the new account's first snapshot, unless it went out with the answer
        with one_terminal_info(self.bridge) as once:  # both checks ask it: one terminal call, not two
            self._warn_trading()  # after every switch: an account change may have turned Algo Trading off
            self.push_health()
        shown, self._shown = self._shown, None
        term = None if once is None else once.read
        if shown is not None and term is not None and self._mismatch is None:
            # what a next switch must know before its login (which account is shown, is the broker connected, the
            # terminal's path), read a moment ago: a switch storm (sweeps, a trader clicking through) skips the reads
            self._seen = (shown[0], (shown[1], term))

    def _warn_trading(self) -> None:
        seen, self.bridge.switch_positions = self.bridge.switch_positions, None  # read with the first snapshot
        try:
            why = self.bridge.trading_blocked()
        except DeskError:
            return
        if why:
            self.send({"type": "error", "code": TRADE_RETCODE_CLIENT_DISABLES_AT, "message": why})
        if self.lane == "shared" and self._creds is not None:
            try:
                by_ea = [p for p in (self.bridge.positions() if seen is None else seen)
                         if p.get("magic") or p.get("reason") == POSITION_REASON_EXPERT]
            except DeskError:
                return
            # On the shared terminal an account's EAs restart at every switch and run only while it is
            # shown. Said in the health push (not as an error event: demo accounts all have EA positions).
            self._ea_note = (f"{self._creds[0]} has {len(by_ea)} position(s) opened by an Expert Advisor: on the "
                             "shared terminal its EAs run only while it is the account shown; give it its own "
                             "terminal if they must run all the time") if by_ea else None


class AccountShown(NamedTuple):
    """account_info()'s answer as switch() reads it before a login: which account the terminal shows."""

    login: int
    server: str


class _TerminalInfoOnce:
    """The MetaTrader5 module, but its first terminal_info() answer serves every later call."""

    def __init__(self, mt5: Any) -> None:
        self._mt5 = mt5
        self._term: tuple[Any] | None = None

    @property
    def read(self) -> Any:
        """The answer read (None: none, or not read)."""
        return None if self._term is None else self._term[0]

    def terminal_info(self) -> Any:
        if self._term is None:
            self._term = (self._mt5.terminal_info(),)
        return self._term[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mt5, name)


@contextlib.contextmanager
def one_terminal_info(bridge: Any) -> Iterator[_TerminalInfoOnce | None]:
    """[P] 3: checks made in one go after a switch (Algo Trading, health) share one terminal_info() answer; each
    read it afresh before, two terminal round trips where one says the same a moment apart."""
    mt5 = getattr(bridge, "mt5", None)
    if mt5 is None:
        yield None
        return
    once = bridge.mt5 = _TerminalInfoOnce(mt5)
    try:
        yield once
    finally:
        bridge.mt5 = mt5
