"""Close every open position the way real brokers accept it.

- the filling policy follows the symbol's execution mode: instant and request execution fill or kill,
  exchange execution returns the rest to the book, market execution uses what the symbol's flags
  allow; on 10030 (unsupported filling) the next allowed policy is tried;
- order_check first, so a request the server would refuse is not sent;
- requotes and price changes (10004, 10020, 10021) are retried a few times with a fresh tick;
- a partial fill (10010) is progress: the rest of the position is closed next;
- a volume above the symbol's volume_max is closed in several deals;
- positions go oldest first, which FIFO accounts require (10045 otherwise);
- "market closed" (10018) and the other refusals are said in plain words.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

REQUOTE, DONE, DONE_PARTIAL, MARKET_CLOSED = 10004, 10009, 10010, 10018
PRICE_CHANGED, PRICE_OFF, ALGO_OFF, INVALID_FILL, FIFO = 10020, 10021, 10027, 10030, 10045
PRICE_RETRIES = 3
MAX_DEALS = 50  # per position: a broker that keeps filling partly must not keep us here forever

PLAIN = {
    MARKET_CLOSED: "the market is closed for this symbol — close it when the market opens",
    FIFO: "the broker closes positions first in, first out, and an older position of this symbol is still open",
    INVALID_FILL: "the broker accepts none of the filling modes the symbol allows",
    ALGO_OFF: "Algo Trading is off in the terminal — press its Algo Trading button",
    REQUOTE: "the broker kept requoting the price",
    PRICE_CHANGED: "the price kept changing",
    PRICE_OFF: "the broker gave no price for it",
}


def filling_modes(mt5: ModuleType, info: Any) -> list[int]:
    """The filling policies to try for a market order on this symbol, best first."""
    exemode = getattr(info, "trade_exemode", mt5.SYMBOL_TRADE_EXECUTION_MARKET)
    flags = int(getattr(info, "filling_mode", 0) or 0)
    if exemode in (mt5.SYMBOL_TRADE_EXECUTION_INSTANT, mt5.SYMBOL_TRADE_EXECUTION_REQUEST):
        return [mt5.ORDER_FILLING_FOK]
    flagged = [mode for bit, mode in ((1, mt5.ORDER_FILLING_FOK), (2, mt5.ORDER_FILLING_IOC)) if flags & bit]
    if exemode == mt5.SYMBOL_TRADE_EXECUTION_EXCHANGE:
        return [mt5.ORDER_FILLING_RETURN, *flagged]
    return flagged or [mt5.ORDER_FILLING_RETURN]


def _chunk(volume: float, info: Any) -> float:
    vmax = float(getattr(info, "volume_max", 0) or 0)
    step = float(getattr(info, "volume_step", 0) or 0)
    if vmax <= 0 or volume <= vmax:
        return volume
    if step > 0:
        vmax = int(vmax / step + 1e-9) * step
    return round(vmax, 8)


class Closer:
    def __init__(self, mt5: ModuleType, comment: str) -> None:
        self.mt5 = mt5
        self.comment = comment
        self.retcodes: list[int] = []  # every retcode met, for the job's record

    def close_all(self, on_each: Callable[[int, int], None] | None = None,
                  order: Callable[[Any], Any] | None = None) -> dict[str, Any]:
        """``order``: a sort key for the positions (default oldest first, which FIFO accounts need)."""
        positions = sorted(self.mt5.positions_get() or (), key=order or (lambda p: (p.time_msc, p.ticket)))
        closed, failed, messages = 0, 0, []
        for p in positions:
            if on_each is not None:
                on_each(closed + failed, len(positions))
            why = self.close(p)
            if why is None:
                closed += 1
            else:
                failed += 1
                messages.append(f"{p.symbol} #{p.ticket}: {why}")
        return {"closed": closed, "failed": failed, "messages": messages, "retcodes": list(self.retcodes)}

    def close(self, p: Any) -> str | None:
        """Close one position whole; None when done, else why not."""
        info = self.mt5.symbol_info(p.symbol)
        if info is None:
            return f"no symbol information ({self.mt5.last_error()[1]})"
        modes = filling_modes(self.mt5, info)
        remaining = float(p.volume)
        for _ in range(MAX_DEALS):
            if remaining <= 1e-9:
                return None
            chunk = _chunk(remaining, info)
            code, comment = self._deal(p, chunk, modes)
            if code == DONE:
                remaining = round(remaining - chunk, 8)
            elif code == DONE_PARTIAL:
                left = self.mt5.positions_get(ticket=p.ticket)
                remaining = float(left[0].volume) if left else 0.0
            else:
                return f"{PLAIN.get(code, comment)} ({code})" if code is not None else comment
        return "the broker kept filling it only partly"

    def _deal(self, p: Any, volume: float, modes: list[int]) -> tuple[int | None, str]:
        mt5 = self.mt5
        buy = p.type == mt5.POSITION_TYPE_BUY
        code, comment = None, "not sent"
        for _ in range(PRICE_RETRIES + 1):
            tick = mt5.symbol_info_tick(p.symbol)
            if tick is None:
                return None, "no price"
            request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": p.symbol, "volume": volume,
                       "type": mt5.ORDER_TYPE_SELL if buy else mt5.ORDER_TYPE_BUY, "position": p.ticket,
                       "price": tick.bid if buy else tick.ask, "deviation": 20, "magic": p.magic,
                       "comment": self.comment, "type_time": mt5.ORDER_TIME_GTC}
            for mode in modes:
                code, comment = self._send({**request, "type_filling": mode})
                if code != INVALID_FILL:
                    if code == DONE or code not in (REQUOTE, PRICE_CHANGED, PRICE_OFF):
                        return code, comment
                    break  # a fresh tick, then again
            else:
                return code, comment  # no filling mode accepted
        return code, comment

    def _send(self, request: dict[str, Any]) -> tuple[int | None, str]:
        check = self.mt5.order_check(request)
        if check is not None and check.retcode not in (0, DONE):
            self.retcodes.append(int(check.retcode))
            return int(check.retcode), str(check.comment)
        result = self.mt5.order_send(request)
        if result is None:
            return None, str(self.mt5.last_error())
        self.retcodes.append(int(result.retcode))
        return int(result.retcode), str(result.comment)


def flatten_result(closed: dict[str, Any], orders: dict[str, Any]) -> dict[str, Any]:
    """close_all's answer with the pending orders' deletion folded in (``failed`` counts both)."""
    return {**closed, "deleted": orders["deleted"], "orders_failed": orders["failed"],
            "failed": int(closed.get("failed") or 0) + int(orders["failed"]),
            "messages": [*closed.get("messages", []), *orders["messages"]],
            "retcodes": [*closed.get("retcodes", []), *orders["retcodes"]]}
