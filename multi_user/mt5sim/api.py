"""MetaTrader5's public functions, with the real signatures, checks and failure values."""

from __future__ import annotations

import datetime as _dt
import time as _time
from typing import Any

from multi_user.mt5sim import builtin as _builtin
from multi_user.mt5sim import client
from multi_user.mt5sim import errors as e
from multi_user.mt5sim.structures import FIELDS

_Date = _dt.datetime | int | float


def _ts(value: Any) -> float | None:
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "item"):  # numpy scalars
        return _ts(value.item())
    return None


def _bad(name: str, failed: Any = None) -> Any:
    client.set_error(e.invalid_argument(name))
    return failed


def _int(value: Any) -> int | None:
    if hasattr(value, "item"):
        value = value.item()
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def initialize(path: str | None = None, *, login: int | None = None, password: str | None = None,
               server: str | None = None, timeout: int | None = None, portable: bool = False) -> bool:
    """Establish connection to MetaTrader 5 terminal (starts it when it is not running)."""
    if path is not None and not isinstance(path, str | bytes) and not hasattr(path, "__fspath__"):
        return _bad("path", False)
    if login is not None and _int(login) is None:
        return _bad("login", False)
    if password is not None and not isinstance(password, str):
        return _bad("password", False)
    if server is not None and not isinstance(server, str):
        return _bad("server", False)
    if timeout is not None and (_int(timeout) is None or timeout <= 0):
        return _bad("timeout", False)
    ms = int(timeout or client.DEFAULT_TIMEOUT)
    if not client.connect(None if path is None else str(path), ms, bool(portable)):
        return False
    if login is not None and not globals()["login"](login, password=password, server=server, timeout=ms):
        err = client.last_error()
        client.drop()
        client.set_error(err)
        return False
    # the real call returns only once the terminal is connected to a trade server: a terminal with no
    # saved account, or whose account cannot connect, fails with -10005 after ``timeout``
    deadline = _time.monotonic() + ms / 1000
    while not _broker_connected():
        if client.last_error()[0] in (e.NO_IPC[0], e.IPC_TIMEOUT[0]) or _time.monotonic() >= deadline:
            client.drop()
            client.set_error(e.IPC_TIMEOUT)
            return False
        _time.sleep(0.05)
    client.set_error(e.SUCCESS)
    return True


def _broker_connected() -> bool:
    info = client.call("terminal_info")
    return bool(info is not None and info.connected)


def login(login: int, password: str | None = None, server: str | None = None, timeout: int = 60000) -> bool:
    """Log in to specific account (switches the terminal for every client attached to it)."""
    if _int(login) is None:
        return _bad("login", False)
    if password is not None and not isinstance(password, str):
        return _bad("password", False)
    if server is not None and not isinstance(server, str):
        return _bad("server", False)
    if _int(timeout) is None or timeout <= 0:
        return _bad("timeout", False)
    wait = max(client.timeout_ms(), int(timeout) + 5000)
    return bool(client.call("login", wait, login=int(login), password=password, server=server, timeout=int(timeout)))


def shutdown() -> None:
    """Disconnect from MetaTrader 5 terminal (the terminal keeps running)."""
    client.drop()


def version() -> tuple[int, int, str] | None:
    res = client.call("version")
    return tuple(res) if res is not None else None


def last_error() -> tuple[int, str]:
    return client.last_error()


def account_info() -> Any:
    return client.call("account_info")


def terminal_info() -> Any:
    return client.call("terminal_info")


def symbols_total() -> int | None:
    return client.call("symbols_total")


def symbols_get(group: str | None = None) -> Any:
    if group is not None and not isinstance(group, str):
        return _bad("group")
    return client.call("symbols_get", group=group)


def _symbol_call(fn: str, symbol: Any, failed: Any = None, **kw: Any) -> Any:
    if not isinstance(symbol, str):
        client.set_error((-2, "Invalid 1st unnamed argument"))
        return failed
    return client.call(fn, symbol=symbol, **kw)


def symbol_info(symbol: str) -> Any:
    return _symbol_call("symbol_info", symbol)


def symbol_info_tick(symbol: str) -> Any:
    return _symbol_call("symbol_info_tick", symbol)


def symbol_select(symbol: str, enable: bool = True) -> bool:
    return bool(_symbol_call("symbol_select", symbol, False, enable=bool(enable)))


def market_book_add(symbol: str) -> bool:
    return bool(_symbol_call("market_book_add", symbol, False))


def market_book_get(symbol: str) -> Any:
    return _symbol_call("market_book_get", symbol)


def market_book_release(symbol: str) -> bool:
    return bool(_symbol_call("market_book_release", symbol, False))


def _rates(how: str, symbol: Any, timeframe: Any, a: Any, b: Any) -> Any:
    if not isinstance(symbol, str) or _int(timeframe) is None:
        return _bad("symbol" if not isinstance(symbol, str) else "timeframe")
    return client.call("copy_rates", how=how, symbol=symbol, timeframe=int(timeframe), a=a, b=b)


def copy_rates_from(symbol: str, timeframe: int, date_from: _Date, count: int) -> Any:
    t = _ts(date_from)
    if t is None or _int(count) is None or count <= 0:
        return _bad("date_from" if t is None else "count")
    return _rates("from", symbol, timeframe, t, int(count))


def copy_rates_from_pos(symbol: str, timeframe: int, start_pos: int, count: int) -> Any:
    if _int(start_pos) is None or start_pos < 0 or _int(count) is None or count <= 0:
        return _bad("start_pos" if _int(start_pos) is None or start_pos < 0 else "count")
    return _rates("from_pos", symbol, timeframe, int(start_pos), int(count))


def copy_rates_range(symbol: str, timeframe: int, date_from: _Date, date_to: _Date) -> Any:
    a, b = _ts(date_from), _ts(date_to)
    if a is None or b is None:
        return _bad("date_from" if a is None else "date_to")
    return _rates("range", symbol, timeframe, a, b)


def copy_ticks_from(symbol: str, date_from: _Date, count: int, flags: int) -> Any:
    t = _ts(date_from)
    if not isinstance(symbol, str) or t is None or _int(count) is None or _int(flags) is None:
        return _bad("symbol" if not isinstance(symbol, str) else "date_from" if t is None else "count")
    return client.call("copy_ticks", symbol=symbol, date_from=t, date_to=None, count=int(count), flags=int(flags))


def copy_ticks_range(symbol: str, date_from: _Date, date_to: _Date, flags: int) -> Any:
    a, b = _ts(date_from), _ts(date_to)
    if not isinstance(symbol, str) or a is None or b is None or _int(flags) is None:
        return _bad("symbol" if not isinstance(symbol, str) else "date_from" if a is None else "date_to")
    return client.call("copy_ticks", symbol=symbol, date_from=a, date_to=b, count=10**9, flags=int(flags))


def _filters(symbol: Any, group: Any, ticket: Any) -> dict[str, Any] | None:
    if symbol is not None and not isinstance(symbol, str):
        return _bad("symbol")
    if group is not None and not isinstance(group, str):
        return _bad("group")
    if ticket is not None and _int(ticket) is None:
        return _bad("ticket")
    return {"symbol": symbol, "group": group, "ticket": None if ticket is None else int(ticket)}


def orders_total() -> int | None:
    return client.call("orders_total")


def orders_get(*, symbol: str | None = None, group: str | None = None, ticket: int | None = None) -> Any:
    kw = _filters(symbol, group, ticket)
    return None if kw is None else client.call("orders_get", **kw)


def positions_total() -> int | None:
    return client.call("positions_total")


def positions_get(*, symbol: str | None = None, group: str | None = None, ticket: int | None = None) -> Any:
    kw = _filters(symbol, group, ticket)
    return None if kw is None else client.call("positions_get", **kw)


def _history(fn: str, date_from: Any, date_to: Any, group: Any, ticket: Any, position: Any) -> Any:
    if ticket is not None or position is not None:
        key, val = ("ticket", ticket) if ticket is not None else ("position", position)
        if _int(val) is None:
            return _bad(key)
        return client.call(fn, **{key: int(val)})
    a, b = _ts(date_from), _ts(date_to)
    if a is None or b is None:
        client.set_error(e.INVALID_ARGUMENTS)
        return None
    if group is not None and not isinstance(group, str):
        return _bad("group")
    return client.call(fn, date_from=a, date_to=b, **({"group": group} if group is not None else {}))


def history_orders_total(date_from: _Date, date_to: _Date) -> int | None:
    return _history("history_orders_total", date_from, date_to, None, None, None)


def history_orders_get(date_from: _Date | None = None, date_to: _Date | None = None, *, group: str | None = None,
                       ticket: int | None = None, position: int | None = None) -> Any:
    return _history("history_orders_get", date_from, date_to, group, ticket, position)


def history_deals_total(date_from: _Date, date_to: _Date) -> int | None:
    return _history("history_deals_total", date_from, date_to, None, None, None)


def history_deals_get(date_from: _Date | None = None, date_to: _Date | None = None, *, group: str | None = None,
                      ticket: int | None = None, position: int | None = None) -> Any:
    return _history("history_deals_get", date_from, date_to, group, ticket, position)


def order_calc_margin(action: int, symbol: str, volume: float, price: float) -> float | None:
    if _int(action) is None or not isinstance(symbol, str):
        return _bad("action" if _int(action) is None else "symbol")
    return client.call("order_calc_margin", action=int(action), symbol=symbol, volume=float(volume),
                       price=float(price))


def order_calc_profit(action: int, symbol: str, volume: float, price_open: float, price_close: float) -> float | None:
    if _int(action) is None or not isinstance(symbol, str):
        return _bad("action" if _int(action) is None else "symbol")
    return client.call("order_calc_profit", action=int(action), symbol=symbol, volume=float(volume),
                       price_open=float(price_open), price_close=float(price_close))


_INT_FIELDS = {"action", "magic", "order", "deviation", "type", "type_filling", "type_time", "expiration",
               "position", "position_by"}
_FLOAT_FIELDS = {"volume", "price", "stoplimit", "sl", "tp"}


def _request(request: Any) -> dict[str, Any] | None:
    if not isinstance(request, dict):
        client.set_error(e.INVALID_ARGUMENTS)
        return None
    out: dict[str, Any] = {}
    for key, value in request.items():
        if key not in FIELDS["TradeRequest"]:
            continue
        if hasattr(value, "item"):
            value = value.item()
        if key in _INT_FIELDS:
            if isinstance(value, _dt.datetime):
                value = int(value.timestamp())
            if _int(value) is None:
                return _bad(key)
        elif key in _FLOAT_FIELDS:
            if not isinstance(value, int | float) or isinstance(value, bool):
                return _bad(key)
            value = float(value)
        elif not isinstance(value, str):
            return _bad(key)
        out[key] = value
    if "action" not in out:
        return _bad("action")
    return out


def order_check(request: dict[str, Any]) -> Any:
    req = _request(request)
    return None if req is None else client.call("order_check", request=req)


def order_send(request: dict[str, Any]) -> Any:
    req = _request(request)
    return None if req is None else client.call("order_send", request=req)


# last: the functions above become builtin-like (see builtin.py); calls between them go through the wrappers
_builtin.wrap(globals())
