"""The MetaTrader5 module as a bot sees it: bound to its account.

Reads (symbol_info, copy_rates_*, positions_get, account_info...) pass straight through. Logging in,
initializing or shutting the terminal down is refused: the lane owns the terminal. ``order_send`` goes
through the runner's checks (identity, read-only, trading switched off, runaway) before every order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from multi_user.errors import DeskError

REFUSED_CALLS = frozenset({"initialize", "login", "shutdown"})


class BotRefused(DeskError):
    """An order or call a bot may not make; the order was not sent."""


class AccountMT5:
    def __init__(self, mt5: Any, account_key: str, send: Callable[[dict[str, Any]], Any]) -> None:
        object.__setattr__(self, "_mt5", mt5)
        object.__setattr__(self, "_key", account_key)
        object.__setattr__(self, "_send", send)

    def __getattr__(self, name: str) -> Any:
        if name in REFUSED_CALLS:
            def refused(*args: Any, **kwargs: Any) -> Any:
                raise BotRefused(f"a bot may not call {name}(): it trades only {self._key}, on the terminal "
                                 "MT5 Desk logged in for it")
            return refused
        return getattr(self._mt5, name)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("the MetaTrader5 module given to a bot is read-only")

    def order_send(self, request: dict[str, Any]) -> Any:
        return self._send(request)
