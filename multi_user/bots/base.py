"""What a bot is: a class the owner writes, run by MT5 Desk inside one lane's worker process.

A bot subclasses ``Bot``, declares its parameters and how it wants to be called, and gets a
``BotContext``: ``ctx.mt5`` (the MetaTrader5 module bound to its account: reads pass through, orders
are checked, logins refused), ``ctx.account`` (login, server, key), ``ctx.params`` (validated),
``ctx.log`` (a logger whose lines reach the bot log panel) and ``ctx.stopping`` (set when the owner
stops it; a long loop should look at it). See docs/BOTS.md.

Calls are made between the worker's requests, one at a time, on the worker's one thread: a call
must return quickly (seconds, not minutes); MT5 Desk stops a bot only between calls.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from multi_user.bots.params import Param


@dataclass(frozen=True)
class AccountIdentity:
    login: int
    server: str

    @property
    def key(self) -> str:
        return f"{self.login}@{self.server}"


@dataclass
class BotContext:
    mt5: Any
    account: AccountIdentity
    params: dict[str, Any]
    log: logging.Logger
    stopping: threading.Event


class Bot:
    """Base class of the owner's bots. Override what you need; every hook is optional."""

    name: ClassVar[str] = ""  # how the owner names it (default: the module's name)
    description: ClassVar[str] = ""
    params: ClassVar[dict[str, Param]] = {}
    interval: ClassVar[float | None] = None  # seconds between on_timer calls; None: no timer
    symbols: ClassVar[tuple[str, ...]] = ()  # on_bar is called on each new bar of these (or of params["symbol"])
    timeframe: ClassVar[str] = "M1"  # the bars' timeframe, as MT5 names it (M1, M5, H1, D1...)

    def __init__(self, ctx: BotContext) -> None:
        self.ctx = ctx

    @property
    def mt5(self) -> Any:
        return self.ctx.mt5

    @property
    def log(self) -> logging.Logger:
        return self.ctx.log

    def bar_symbols(self) -> tuple[str, ...]:
        if type(self).on_bar is Bot.on_bar:
            return ()  # it does not look at bars: none are fetched for it
        if self.symbols:
            return tuple(self.symbols)
        symbol = self.ctx.params.get("symbol")
        return (str(symbol),) if symbol else ()

    def on_start(self) -> None:
        """Once, before any other call."""

    def on_timer(self) -> None:
        """Every ``interval`` seconds."""

    def on_bar(self, symbol: str, bar: Any) -> None:
        """A new bar opened on ``symbol``; ``bar`` is the one that just closed (time, open, high, low, close...)."""

    def on_stop(self) -> None:
        """Once, when the bot stops (owner, pause, failure); orders are refused from here on."""
