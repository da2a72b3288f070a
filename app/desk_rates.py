"""The Desk's conversion rates for the portfolio total in one base currency: asked from the
terminals' own quotes (worker request ``rates``) every RATES_EVERY seconds while a base currency
is chosen, and emitted as a ``rates`` event. A terminal without the symbol simply gives no rate:
the total then names the currency it could not convert, never guesses."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from app.portfolio import RATES_EVERY, pairs_needed, per_currency

if TYPE_CHECKING:
    from app.desk import Desk

log = logging.getLogger("mt5desk.rates")


class RatesOps:
    rates: dict[str, dict[str, Any]]
    _rates_asked: float

    def base_currency(self: Desk) -> str:
        return str(self.settings.get("base_currency") or "").strip().upper()

    def _maybe_fetch_rates(self: Desk, now: float) -> None:
        if not self.base_currency() or now - self._rates_asked < RATES_EVERY:
            return
        self._rates_asked = now
        self._spawn(self.fetch_rates())

    async def fetch_rates(self: Desk) -> dict[str, dict[str, Any]]:
        base = self.base_currency()
        snaps = {k: v for k, v in self._snapshots.items() if k in {a["key"] for a in self._accounts}}
        wanted = [p for p in pairs_needed(per_currency(self.account_states(), snaps), base)]
        missing = [p for p in wanted if f"{p[0]}/{p[1]}" not in self.rates
                   or time.time() - float(self.rates[f"{p[0]}/{p[1]}"].get("asked") or 0) > RATES_EVERY / 2]
        for lane in [self.shared, *self.dedicated.values()]:
            if not missing:
                break
            if lane is None or not lane.worker.running:
                continue
            with contextlib.suppress(Exception):
                got = await asyncio.wait_for(lane.worker.request("rates", pairs=[list(p) for p in missing]), 10)
                now = time.time()
                for pair, quote in (got or {}).items():
                    self.rates[pair] = {**quote, "asked": now}
                missing = [p for p in missing if f"{p[0]}/{p[1]}" not in got]
        self.emit({"event": "rates", "base": base, "rates": dict(self.rates)})
        return self.rates
