"""The result structures of the real package: same names, same fields in the same order.

The real ones are C struct sequences with an ``_asdict()`` method; named tuples give the same
reading (index, attribute, ``_asdict()``). Field lists are checked against the reference made
from the wheel (tests/data/mt5_reference.json).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

FIELDS: dict[str, tuple[str, ...]] = {
    "TradePosition": (
        "ticket", "time", "time_msc", "time_update", "time_update_msc", "type", "magic", "identifier",
        "reason", "volume", "price_open", "sl", "tp", "price_current", "swap", "profit", "symbol",
        "comment", "external_id"),
    "TradeOrder": (
        "ticket", "time_setup", "time_setup_msc", "time_done", "time_done_msc", "time_expiration", "type",
        "type_time", "type_filling", "state", "magic", "position_id", "position_by_id", "reason",
        "volume_initial", "volume_current", "price_open", "sl", "tp", "price_current", "price_stoplimit",
        "symbol", "comment", "external_id"),
    "TradeDeal": (
        "ticket", "order", "time", "time_msc", "type", "entry", "magic", "position_id", "reason", "volume",
        "price", "commission", "swap", "profit", "fee", "symbol", "comment", "external_id"),
    "TradeRequest": (
        "action", "magic", "order", "symbol", "volume", "price", "stoplimit", "sl", "tp", "deviation", "type",
        "type_filling", "type_time", "expiration", "comment", "position", "position_by"),
    "OrderSendResult": (
        "retcode", "deal", "order", "volume", "price", "bid", "ask", "comment", "request_id",
        "retcode_external", "request"),
    "OrderCheckResult": (
        "retcode", "balance", "equity", "profit", "margin", "margin_free", "margin_level", "comment", "request"),
    "Tick": ("time", "bid", "ask", "last", "volume", "time_msc", "flags", "volume_real"),
    "TerminalInfo": (
        "community_account", "community_connection", "connected", "dlls_allowed", "trade_allowed",
        "tradeapi_disabled", "email_enabled", "ftp_enabled", "notifications_enabled", "mqid", "build",
        "maxbars", "codepage", "ping_last", "community_balance", "retransmission", "company", "name",
        "language", "path", "data_path", "commondata_path"),
    "AccountInfo": (
        "login", "trade_mode", "leverage", "limit_orders", "margin_so_mode", "trade_allowed", "trade_expert",
        "margin_mode", "currency_digits", "fifo_close", "balance", "credit", "profit", "equity", "margin",
        "margin_free", "margin_level", "margin_so_call", "margin_so_so", "margin_initial",
        "margin_maintenance", "assets", "liabilities", "commission_blocked", "name", "server", "currency",
        "company"),
    "SymbolInfo": (
        "custom", "chart_mode", "select", "visible", "session_deals", "session_buy_orders",
        "session_sell_orders", "volume", "volumehigh", "volumelow", "time", "digits", "spread",
        "spread_float", "ticks_bookdepth", "trade_calc_mode", "trade_mode", "start_time", "expiration_time",
        "trade_stops_level", "trade_freeze_level", "trade_exemode", "swap_mode", "swap_rollover3days",
        "margin_hedged_use_leg", "expiration_mode", "filling_mode", "order_mode", "order_gtc_mode",
        "option_mode", "option_right", "bid", "bidhigh", "bidlow", "ask", "askhigh", "asklow", "last",
        "lasthigh", "lastlow", "volume_real", "volumehigh_real", "volumelow_real", "option_strike", "point",
        "trade_tick_value", "trade_tick_value_profit", "trade_tick_value_loss", "trade_tick_size",
        "trade_contract_size", "trade_accrued_interest", "trade_face_value", "trade_liquidity_rate",
        "volume_min", "volume_max", "volume_step", "volume_limit", "swap_long", "swap_short",
        "margin_initial", "margin_maintenance", "session_volume", "session_turnover", "session_interest",
        "session_buy_orders_volume", "session_sell_orders_volume", "session_open", "session_close",
        "session_aw", "session_price_settlement", "session_price_limit_min", "session_price_limit_max",
        "margin_hedged", "price_change", "price_volatility", "price_theoretical", "price_greeks_delta",
        "price_greeks_theta", "price_greeks_gamma", "price_greeks_vega", "price_greeks_rho",
        "price_greeks_omega", "price_sensitivity", "basis", "category", "currency_base", "currency_profit",
        "currency_margin", "bank", "description", "exchange", "formula", "isin", "name", "page", "path"),
    "BookInfo": ("type", "price", "volume", "volume_dbl"),
}

TradePosition = namedtuple("TradePosition", FIELDS["TradePosition"])
TradeOrder = namedtuple("TradeOrder", FIELDS["TradeOrder"])
TradeDeal = namedtuple("TradeDeal", FIELDS["TradeDeal"])
TradeRequest = namedtuple("TradeRequest", FIELDS["TradeRequest"])
OrderSendResult = namedtuple("OrderSendResult", FIELDS["OrderSendResult"])
OrderCheckResult = namedtuple("OrderCheckResult", FIELDS["OrderCheckResult"])
Tick = namedtuple("Tick", FIELDS["Tick"])
TerminalInfo = namedtuple("TerminalInfo", FIELDS["TerminalInfo"])
AccountInfo = namedtuple("AccountInfo", FIELDS["AccountInfo"])
SymbolInfo = namedtuple("SymbolInfo", FIELDS["SymbolInfo"])
BookInfo = namedtuple("BookInfo", FIELDS["BookInfo"])

TYPES: dict[str, type] = {
    "TradePosition": TradePosition, "TradeOrder": TradeOrder, "TradeDeal": TradeDeal,
    "TradeRequest": TradeRequest, "OrderSendResult": OrderSendResult, "OrderCheckResult": OrderCheckResult,
    "Tick": Tick, "TerminalInfo": TerminalInfo, "AccountInfo": AccountInfo, "SymbolInfo": SymbolInfo,
    "BookInfo": BookInfo,
}

# numpy record layouts of copy_rates_* and copy_ticks_*, as the real package returns them
RATES_DTYPE = np.dtype([("time", "<i8"), ("open", "<f8"), ("high", "<f8"), ("low", "<f8"), ("close", "<f8"),
                        ("tick_volume", "<u8"), ("spread", "<i4"), ("real_volume", "<u8")])
TICKS_DTYPE = np.dtype([("time", "<i8"), ("bid", "<f8"), ("ask", "<f8"), ("last", "<f8"), ("volume", "<u8"),
                        ("time_msc", "<i8"), ("flags", "<u4"), ("volume_real", "<f8")])
ARRAYS = {"rates": RATES_DTYPE, "ticks": TICKS_DTYPE}


def make(kind: str, values: dict[str, Any]) -> tuple:
    """Build structure ``kind`` from a dict, filling fields the simulator does not model with zeros."""
    fields = FIELDS[kind]
    return TYPES[kind](*(values.get(f, _zero(f, kind)) for f in fields))


def _zero(field: str, kind: str) -> Any:
    text = {"comment", "symbol", "external_id", "name", "server", "currency", "company", "path", "data_path",
            "commondata_path", "language", "basis", "category", "currency_base", "currency_profit",
            "currency_margin", "bank", "description", "exchange", "formula", "isin", "page"}
    if field in text:
        return ""
    return 0


def encode(value: Any) -> Any:
    """Structures → JSON-able tagged lists for the IPC (the terminal side)."""
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return {"__s": type(value).__name__, "v": [encode(v) for v in value]}
    if isinstance(value, tuple):
        return {"__t": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


def decode(value: Any) -> Any:
    """The client side of ``encode``: tagged lists back into structures, arrays into numpy records."""
    if isinstance(value, dict):
        if "__s" in value:
            return TYPES[value["__s"]](*(decode(v) for v in value["v"]))
        if "__a" in value:
            return np.array([tuple(decode(r)) for r in value["v"]], dtype=ARRAYS[value["__a"]])
        if "__t" in value:
            return tuple(decode(v) for v in value["__t"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value
