# ruff: noqa: F401
"""MT5 Desk's MetaTrader 5 simulator: ``import multi_user.mt5sim as mt5`` is a drop-in for ``MetaTrader5``.

Its namespace holds what the real package's does: the functions, the constants with their real
values, ``__version__``/``__author__``, the result structure types and the Buy/Sell/Close helpers.
Everything else (the world, terminals, faults) lives in ``multi_user.mt5sim.control``.
"""

from multi_user.mt5sim.api import (
    account_info,
    copy_rates_from,
    copy_rates_from_pos,
    copy_rates_range,
    copy_ticks_from,
    copy_ticks_range,
    history_deals_get,
    history_deals_total,
    history_orders_get,
    history_orders_total,
    initialize,
    last_error,
    login,
    market_book_add,
    market_book_get,
    market_book_release,
    order_calc_margin,
    order_calc_profit,
    order_check,
    order_send,
    orders_get,
    orders_total,
    positions_get,
    positions_total,
    shutdown,
    symbol_info,
    symbol_info_tick,
    symbol_select,
    symbols_get,
    symbols_total,
    terminal_info,
    version,
)
from multi_user.mt5sim.constants import *  # noqa: F403
from multi_user.mt5sim.helpers import Buy, Close, Sell
from multi_user.mt5sim.structures import (
    AccountInfo,
    BookInfo,
    OrderCheckResult,
    OrderSendResult,
    SymbolInfo,
    TerminalInfo,
    Tick,
    TradeDeal,
    TradeOrder,
    TradePosition,
    TradeRequest,
)

__version__ = "5.0.6231"
__author__ = "MetaQuotes Ltd."
