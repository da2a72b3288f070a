"""One running bot inside a lane's worker: calls it when due, checks every order, stops it safely.

The worker calls ``step`` between its requests (one thread: a bot call never overlaps an MT5 request
of the lane) and ``stop`` when asked; both happen between the bot's calls, so a bot is never cut off
in the middle of an order. A bot that raises is stopped (``failed``, with its traceback); one that
sends more than ``max_per_minute`` orders in a minute is stopped as runaway. Every order attempt is
reported (``emit``) with its retcode and comment, or with why it was refused.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from typing import Any

from multi_user.bots.base import AccountIdentity, Bot, BotContext
from multi_user.bots.facade import AccountMT5, BotRefused
from multi_user.errors import DeskError

BAR_POLL = 1.0  # seconds between looks for a new bar
ORDER_FIELDS = ("action", "symbol", "volume", "type", "price", "position", "sl", "tp", "magic", "comment")
RUNNING, PAUSED, STOPPED, FAILED = "running", "paused", "stopped", "failed"


class _ToEvents(logging.Handler):
    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(logging.INFO)
        self._emit = emit

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._emit({"kind": "log", "level": record.levelname.lower(), "message": record.getMessage()[:2000]})
        except Exception:  # a log line must never take the bot down
            self.handleError(record)


class BotRunner:
    def __init__(self, cls: type[Bot], name: str, params: dict[str, Any], account: AccountIdentity, *,
                 mt5: Any, check_account: Callable[[], None], emit: Callable[[dict[str, Any]], None],
                 max_per_minute: int = 30, clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.account, self.mt5 = name, account, mt5
        self.state = RUNNING
        self.message: str | None = None
        self.orders = 0
        self.retcodes: list[int] = []
        self._emit_raw = emit
        self._check_account = check_account
        self._max = max(1, int(max_per_minute))
        self._clock = clock
        self._sent: deque[float] = deque()
        self._started = False
        self._next_timer = 0.0
        self._next_bars = 0.0
        self._last_bar: dict[str, int] = {}
        self._must_fail: str | None = None  # runaway: the bot fails even if it caught the refusal
        self.stopping = threading.Event()
        self.log = logging.getLogger(f"mt5desk.bot.{account.key}")
        self._handler = _ToEvents(self.emit)
        self.log.addHandler(self._handler)
        ctx = BotContext(AccountMT5(mt5, account.key, self._order), account, dict(params), self.log, self.stopping)
        self.bot = cls(ctx)
        self._timeframe = getattr(mt5, f"TIMEFRAME_{cls.timeframe}", None)

    def emit(self, fields: dict[str, Any]) -> None:
        self._emit_raw({"type": "bot", "account": self.account.key, "bot": self.name, **fields})

    @property
    def active(self) -> bool:
        return self.state == RUNNING and not self.stopping.is_set()

    # ---- calls -------------------------------------------------------------------------------
    def due_in(self, now: float) -> float:
        if not self.active:
            return 60.0
        if not self._started:
            return 0.0
        waits = []
        if self.bot.interval:
            waits.append(self._next_timer - now)
        if self.bot.bar_symbols() and self._timeframe is not None:
            waits.append(self._next_bars - now)
        return max(0.0, min(waits, default=60.0))

    def step(self) -> None:
        """Make the calls that are due (at most one of each kind)."""
        now = self._clock()
        if not self.active:
            return
        try:
            if not self._started:
                self._started = True
                self.bot.on_start()
                self._next_timer = now  # first timer call right after the start
            if self.active and self.bot.interval and now >= self._next_timer:
                self._next_timer = now + float(self.bot.interval)
                self.bot.on_timer()
            if self.active and self._timeframe is not None and now >= self._next_bars and self.bot.bar_symbols():
                self._next_bars = now + BAR_POLL
                self._bars()
        except Exception as exc:
            if self.state == RUNNING:
                self._end(FAILED, self._must_fail or f"{type(exc).__name__}: {exc}", traceback.format_exc())
        if self._must_fail and self.state == RUNNING:
            self._end(FAILED, self._must_fail)

    def _bars(self) -> None:
        for symbol in self.bot.bar_symbols():
            rates = self.mt5.copy_rates_from_pos(symbol, self._timeframe, 0, 2)
            if rates is None or len(rates) < 2:
                continue
            newest = int(rates[-1]["time"])
            seen = self._last_bar.get(symbol)
            self._last_bar[symbol] = newest
            if seen is not None and newest > seen and self.active:
                self.bot.on_bar(symbol, rates[-2])

    def stop(self, message: str, state: str = STOPPED) -> None:
        """Stop between calls: ``on_stop`` runs, no order is sent after this."""
        if self.state == RUNNING:
            self._end(state, message)

    def _end(self, state: str, message: str, trace: str | None = None) -> None:
        self.stopping.set()
        self.state, self.message = state, message
        if trace:
            self.log.error("%s failed: %s\n%s", self.name, message, trace)
        if self._started:
            try:
                self.bot.on_stop()
            except Exception as exc:
                self.log.warning("on_stop raised %s: %s", type(exc).__name__, exc)
        self.log.removeHandler(self._handler)
        self.emit({"kind": "state", "state": state, "message": message, "orders": self.orders,
                   "retcodes": list(self.retcodes),
                   **({"traceback": trace} if trace else {})})

    # ---- orders ------------------------------------------------------------------------------
    def _order(self, request: dict[str, Any]) -> Any:
        summary = {k: request.get(k) for k in ORDER_FIELDS if isinstance(request, dict) and k in request}
        try:
            self._allow(request)
        except DeskError as exc:
            self.emit({"kind": "order", "ok": False, "retcode": None, "comment": None, "refused": str(exc),
                       "request": summary})
            raise
        self.orders += 1
        result = self.mt5.order_send(request)
        if result is None:
            code, text = self.mt5.last_error()
            self.emit({"kind": "order", "ok": False, "retcode": None, "comment": f"not sent: {text} ({code})",
                       "request": summary})
            return None
        retcode = int(result.retcode)
        self.retcodes.append(retcode)
        ok = retcode in (self.mt5.TRADE_RETCODE_DONE, self.mt5.TRADE_RETCODE_PLACED,
                         getattr(self.mt5, "TRADE_RETCODE_DONE_PARTIAL", -1))
        self.emit({"kind": "order", "ok": ok, "retcode": retcode, "comment": str(result.comment),
                   "order": int(result.order), "deal": int(result.deal), "request": summary})
        return result

    def _allow(self, request: Any) -> None:
        if not self.active:
            raise BotRefused(f"{self.name} is stopping: no order is sent any more")
        if not isinstance(request, dict):
            raise BotRefused("order_send takes a request dict")
        now = self._clock()
        while self._sent and self._sent[0] <= now - 60.0:
            self._sent.popleft()
        if len(self._sent) >= self._max:
            message = f"runaway: more than {self._max} orders in a minute; stopped (the limit is a setting)"
            self._must_fail = message
            self.stopping.set()  # on_stop may still run, but sends nothing
            raise BotRefused(message)
        self._sent.append(now)
        self._check_account()  # the terminal shows this bot's account, as its lane logged it in
        info = self.mt5.account_info()
        if info is None:
            raise BotRefused("the account could not be read: the order was not sent")
        if not bool(info.trade_allowed):
            raise BotRefused(f"{self.account.key} is read-only (investor login): a bot cannot trade it")
