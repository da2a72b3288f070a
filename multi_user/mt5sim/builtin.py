"""The API functions as the real package has them: compiled (builtin) functions of ``MetaTrader5._core``.

Frameworks copy ``mt5.account_info`` and friends onto their own classes and call them through an
instance. A Python function stored on a class becomes a method and gets ``self``; a builtin does
not. ``Builtin`` is a callable that is not a descriptor, so it is never bound, and carries the real
function's ``__name__``, ``__qualname__``, ``__doc__`` and ``__module__`` (docs from the wheel's
``_core*.pyd``). ``__wrapped__`` keeps ``inspect.signature`` working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MODULE = "MetaTrader5._core"

# name -> (call synopsis, description), the ml_doc strings of the real _core module
DOCS: dict[str, tuple[str, str]] = {
    "initialize": ('initialize([path],[server="SERVER"],[login=LOGIN],[password="PASSWORD"])',
                   "Establish connection to MetaTrader 5 terminal"),
    "shutdown": ("shutdown()", "Disconnect from MetaTrader 5 terminal"),
    "login": ('login(login,[server="SERVER"],[password="PASSWORD"])', "Log in to specific account"),
    "version": ("version()", "Get MetaTrader 5 terminal version"),
    "terminal_info": ("terminal_info()", "Get parameters of MetaTrader 5 terminal"),
    "account_info": ("account_info()", "Return information on the current account"),
    "copy_ticks_from": ("copy_ticks_from(symbol, date_from, count, flags)", "Get ticks starting from specific date"),
    "copy_ticks_range": ("copy_ticks_range(symbol, date_from, date_to, flags)", "Get ticks from specified period"),
    "copy_rates_from": ("copy_rates_from(symbol, timeframe, date_from, count)", "Get bars starting from specific date"),
    "copy_rates_from_pos": ("copy_rates_from_pos(symbol, timeframe, start_pos, count)",
                            "Get bars starting from specified position"),
    "copy_rates_range": ("copy_rates_range(symbol, timeframe, date_from, date_to)", "Get bars from specified period"),
    "positions_total": ("positions_total()", "Return the number of open positions"),
    "positions_get": ('positions_get([symbol="SYMBOL"],[ticket=TICKET],[group="GROUP"])',
                      "Return all open positions, can be filtered by symbol, group or ticket"),
    "orders_total": ("orders_total()", "Return the number of orders"),
    "orders_get": ('orders_get([symbol="SYMBOL"],[ticket=TICKET],[group="GROUP"])',
                   "Return all orders, can be filtered by symbol, group or ticket"),
    "history_orders_total": ("history_orders_total(date_from, date_to)",
                             "Return the number of orders in selected range from history"),
    "history_orders_get": ('history_orders_get([date_from, date_to, [group="GROUP"]],[position=POSITION],'
                           "[ticket=TICKET])",
                           "Return orders in selected range from history or filtered by position id, ticket"),
    "history_deals_total": ("history_deals_total(date_from, date_to)",
                            "Return the number of deals in selected range from history"),
    "history_deals_get": ('history_deals_get([date_from, date_to, [group="GROUP"]],[position=POSITION],'
                          "[ticket=TICKET])",
                          "Return deals in selected range from history or filtered by position id, ticket"),
    "order_check": ("order_check(request)", "Check if there are enough funds to execute required trading operation"),
    "order_send": ("order_send(request)", "Send trading requests to server"),
    "order_calc_margin": ("order_calc_margin(action, symbol, volume, price,)",
                          "Calculate margin required for specified order"),
    "order_calc_profit": ("order_calc_profit(action, symbol, volume, price_open, price_close)",
                          "Calculate profit for the current account in the current market conditions based on "
                          "parameters passed"),
    "symbol_info": ("symbol_info(symbol)", "Return full information for specified symbol"),
    "symbol_info_tick": ("symbol_info_tick(symbol)", "Return current prices of specified symbol"),
    "symbol_select": ("symbol_select(symbol,[enable])",
                      "Select symbol in Market Watch window or remove symbol from the window"),
    "symbols_total": ("symbols_total()", "Return the number of all available symbols"),
    "symbols_get": ('symbols_get([group="GROUP"])', "Return all available symbols or filtred by group"),
    "market_book_add": ("market_book_add(symbol)", "Opens Depth of Market for a selected symbol"),
    "market_book_release": ("market_book_release(symbol)", "Closes Depth of Market for a selected symbol"),
    "market_book_get": ("market_book_get(symbol)", "Returns Depth of Market structures of a specified symbol"),
    "last_error": ("last_error()", "Return last error code and description"),
}


class Builtin:
    """One API function; stored on a class and called through an instance it gets no ``self``."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        name = fn.__name__
        synopsis, text = DOCS[name]
        self.__wrapped__ = fn
        self.__name__ = self.__qualname__ = name
        self.__doc__ = f"{synopsis}\n{text}"
        self.__module__ = MODULE
        self.__text_signature__ = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__wrapped__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<built-in function {self.__name__}>"

    # a builtin is copied as itself
    def __copy__(self) -> Builtin:
        return self

    def __deepcopy__(self, memo: dict) -> Builtin:
        return self

    def __reduce__(self) -> tuple:
        return lookup, (self.__name__,)


def lookup(name: str) -> Builtin:
    """The simulator's API function ``name`` (how a pickled one is found again)."""
    from multi_user.mt5sim import api

    return getattr(api, name)


def wrap(namespace: dict[str, Any]) -> None:
    """Turn every API function of ``namespace`` (a module's globals) into a ``Builtin``."""
    for name in DOCS:
        namespace[name] = Builtin(namespace[name])

