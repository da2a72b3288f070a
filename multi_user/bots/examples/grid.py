"""A grid: buys each time the price falls one step below the last entry, sells each time it rises one
step above, each position with a take-profit one step away, at most ``levels`` open at once."""

from __future__ import annotations

from typing import ClassVar

from multi_user.bots import Bot, Param
from multi_user.bots.examples._orders import market

MAGIC = 170002


class Grid(Bot):
    name = "grid"
    description = "Grid: buy every step down, sell every step up, take-profit one step away."
    interval = 2.0
    params: ClassVar[dict[str, Param]] = {
        "symbol": Param(str, "EURUSD", help="the symbol traded"),
        "step_points": Param(int, 5, min=1, max=100000, help="grid step in points"),
        "levels": Param(int, 3, min=1, max=50, help="most positions open at once"),
        "volume": Param(float, 0.01, min=0.01, max=10.0, help="lots per position"),
    }

    def on_start(self) -> None:
        self.anchor: float | None = None
        self.log.info("started on %s: step %d points, %d levels", self.ctx.params["symbol"],
                      self.ctx.params["step_points"], self.ctx.params["levels"])

    def on_timer(self) -> None:
        p, mt5 = self.ctx.params, self.mt5
        mt5.symbol_select(p["symbol"], True)
        info, tick = mt5.symbol_info(p["symbol"]), mt5.symbol_info_tick(p["symbol"])
        if info is None or tick is None:
            return
        mid, step = (tick.bid + tick.ask) / 2, p["step_points"] * info.point
        if self.anchor is None:
            self.anchor = mid
            return
        mine = [q for q in mt5.positions_get(symbol=p["symbol"]) or () if q.magic == MAGIC]
        if abs(mid - self.anchor) < step or len(mine) >= p["levels"]:
            return
        side = "buy" if mid < self.anchor else "sell"
        tp = tick.ask + step if side == "buy" else tick.bid - step
        result = market(mt5, p["symbol"], side, p["volume"], "grid", magic=MAGIC, tp=round(tp, info.digits))
        self.log.info("%s at %.5f (anchor %.5f) -> retcode %s", side, mid, self.anchor,
                      getattr(result, "retcode", None))
        self.anchor = mid
