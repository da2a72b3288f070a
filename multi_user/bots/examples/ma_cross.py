"""Moving-average crossover: long while the fast average is above the slow one, short below."""

from __future__ import annotations

from typing import ClassVar

from multi_user.bots import Bot, Param
from multi_user.bots.examples._orders import market

MAGIC = 170001


class MaCross(Bot):
    name = "ma_cross"
    description = "Moving-average crossover: holds one position in the direction of the fast average."
    timeframe = "M1"
    params: ClassVar[dict[str, Param]] = {
        "symbol": Param(str, "EURUSD", help="the symbol traded"),
        "fast": Param(int, 5, min=1, max=200, help="bars in the fast average"),
        "slow": Param(int, 20, min=2, max=500, help="bars in the slow average"),
        "volume": Param(float, 0.01, min=0.01, max=10.0, help="lots per position"),
    }

    def on_start(self) -> None:
        p = self.ctx.params
        if p["fast"] >= p["slow"]:
            raise ValueError(f"fast ({p['fast']}) must be below slow ({p['slow']})")
        self.log.info("started on %s: MA %d / %d", p["symbol"], p["fast"], p["slow"])
        self.follow()  # take the side the averages show now, then follow each new bar

    def on_bar(self, symbol: str, bar: object) -> None:
        self.follow()

    def follow(self) -> None:
        p, mt5 = self.ctx.params, self.mt5
        rates = mt5.copy_rates_from_pos(p["symbol"], mt5.TIMEFRAME_M1, 1, p["slow"])
        if rates is None or len(rates) < p["slow"]:
            self.log.warning("not enough bars of %s yet", p["symbol"])
            return
        closes = [float(r["close"]) for r in rates]
        fast, slow = sum(closes[-p["fast"]:]) / p["fast"], sum(closes) / len(closes)
        want = "buy" if fast > slow else "sell"
        mine = [q for q in mt5.positions_get(symbol=p["symbol"]) or () if q.magic == MAGIC]
        for q in mine:
            if (q.type == mt5.POSITION_TYPE_BUY) == (want == "buy"):
                return  # already on the right side
            market(mt5, p["symbol"], "sell" if q.type == mt5.POSITION_TYPE_BUY else "buy", q.volume,
                   "ma_cross exit", magic=MAGIC, position=q.ticket)
        result = market(mt5, p["symbol"], want, p["volume"], "ma_cross", magic=MAGIC)
        self.log.info("%s %s: fast %.5f slow %.5f -> retcode %s", want, p["symbol"], fast, slow,
                      getattr(result, "retcode", None))
