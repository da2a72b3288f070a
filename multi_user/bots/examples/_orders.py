"""Market orders for the example bots (a bot file may import helpers like any Python module)."""

from __future__ import annotations

from typing import Any

from multi_user.closing import filling_modes


def market(mt5: Any, symbol: str, side: str, volume: float, comment: str, *, magic: int,
           position: int | None = None, tp: float = 0.0) -> Any:
    """A buy or sell at the market; ``position`` closes that position instead of opening one."""
    mt5.symbol_select(symbol, True)
    tick = mt5.symbol_info_tick(symbol)
    if tick is None:
        return None
    buy = side == "buy"
    request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": float(volume),
               "type": mt5.ORDER_TYPE_BUY if buy else mt5.ORDER_TYPE_SELL, "price": tick.ask if buy else tick.bid,
               "deviation": 50, "magic": magic, "comment": comment,
               "type_filling": filling_modes(mt5, mt5.symbol_info(symbol))[0]}
    if position:
        request["position"] = int(position)
    if tp:
        request["tp"] = float(tp)
    return mt5.order_send(request)
