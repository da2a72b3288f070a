"""What a bridge snapshot is made of: the dict of one account's values, and the watch on the newest tick."""

from __future__ import annotations

import time
from typing import Any


class TickWatch:
    """When the newest tick of the watched symbols last changed, in UTC epoch seconds on this
    machine's clock (tick stamps are in the broker's time zone, so they are compared, not reported)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._newest: int | None = None
        self.seen_at: float | None = None

    def update(self, newest_msc: int | None, connected: bool, now: float) -> float | None:
        if newest_msc is not None and (self._newest is None or newest_msc > self._newest):
            # the first tick seen is only vouched for as current while the broker is connected
            if self._newest is not None or connected:
                self.seen_at = now
            self._newest = newest_msc
        return self.seen_at


def snapshot_of(info: Any, positions: Any, connected: bool, last_tick: float | None) -> dict[str, Any]:
    """The snapshot fields (CONTRACTS 3) from account_info, the positions and the connection."""
    margin_free = float(info.margin_free)
    return {"login": int(info.login), "server": str(info.server), "currency": info.currency,
            "balance": float(info.balance), "equity": float(info.equity), "margin": float(info.margin),
            "margin_free": margin_free, "free_margin": margin_free, "margin_level": float(info.margin_level),
            "profit": float(info.profit), "positions": len(positions), "leverage": int(info.leverage),
            "margin_mode": int(getattr(info, "margin_mode", 2)),  # [J] 0/1 netting, 2 hedging
            "trade_allowed": bool(info.trade_allowed), "connected": connected, "terminal_connected": connected,
            "last_tick_time": last_tick, "taken_at": time.time()}
