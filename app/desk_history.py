"""The Desk's reads for the focused account's chart, positions and statistics ([E] 3, 4, 6).

History reads go to the I/O thread through AccountHistory (equity tiers at the range's resolution, the
balance before the first snapshot rebuilt from the deals); open positions come from the account's own
worker, and only while the account already holds its lane and is live: nothing here ever logs in."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app import equity_tiers
from app.account_history import AccountHistory
from app.deals_sync import FETCH_TIMEOUT
from app.lock import VIEWING
from multi_user import stats
from multi_user.deal_time import server_to_utc

if TYPE_CHECKING:
    from app.desk import Desk



def first_time(path: Path, key: str) -> float | None:
    """When the account's equity history starts (from the coarsest tier: a few rows a year)."""
    conn = sqlite3.connect(path, timeout=10.0)
    try:
        row = conn.execute("SELECT MIN(first_ts) FROM equity_tiers WHERE account=? AND tier=?",
                           (key, equity_tiers.TIERS[-1])).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None


def read_recent(path: Path, key: str, start: float | None, end: float | None,
                max_points: int) -> list[tuple[float, float, float, float, float]]:
    """read_points over the part of the range that has data: a week asked of an account recorded for ten
    minutes is read at the ten minutes' resolution, not the week's."""
    if not path.exists():
        return []
    first = first_time(path, key)
    if start is not None and first is not None:
        start = max(start, first)
    return equity_tiers.read_points(path, key, start, end, max_points)


def chart_data(ah: AccountHistory, key: str, start: float | None, end: float | None,
               max_points: int) -> dict[str, Any]:
    """The chart's read of one range: equity points at the range's resolution (``step`` seconds per point,
    0 for raw snapshots), the balance rebuilt from deals before the first snapshot (``past``) and the
    balance operations (``flows``: time, amount, balance after). Blocking."""
    points = read_recent(ah.history, key, start, end, max_points)
    step = 0
    if len(points) > 1:
        first = first_time(ah.history, key)
        step = equity_tiers.pick_tier(points[0][0] if start is None else max(start, first or start),
                                      points[-1][0] if end is None else end, max_points, time.time()) or 0
    deals = ah.deals.deals(key)
    curve = stats.balance_curve(deals)
    first = points[0][0] if points else float("inf")
    past = [(t, b) for t, b in curve if t < first and (start is None or t >= start) and (end is None or t <= end)]
    after = dict(curve)
    flows = [(float(d["time"]), stats.money(d), after.get(float(d["time"]), 0.0)) for d in deals
             if stats.is_flow(d) and (start is None or float(d["time"]) >= start)
             and (end is None or float(d["time"]) <= end)]
    return {"points": points, "step": step, "past": past, "flows": flows}


def closed_trades(ah: AccountHistory, key: str, start: float | None, end: float | None) -> list[dict[str, Any]]:
    trades = stats.closed_trades(ah.deals.deals(key), ah.deals.orders(key), start, end)
    return [{**t.__dict__, "result": t.result} for t in trades]


class HistoryOps:
    _account_history: AccountHistory | None = None

    def _history_reader(self: Desk) -> AccountHistory:
        """One AccountHistory per Desk, opened on the I/O thread (opening may create the deals file)."""
        if self._account_history is None:
            self._account_history = AccountHistory(self.data_dir)
        return self._account_history

    async def chart_data(self: Desk, key: str, start: float | None, end: float | None,
                         max_points: int = equity_tiers.DEFAULT_POINTS) -> dict[str, Any]:
        return await self.io(lambda: chart_data(self._history_reader(), key, start, end, max_points))

    async def account_stats(self: Desk, key: str, start: float | None = None,
                            end: float | None = None) -> dict[str, Any]:
        return await self.io(lambda: self._history_reader().stats(key, start, end))

    async def portfolio_stats(self: Desk, currency: str, start: float | None = None,
                              end: float | None = None) -> dict[str, Any] | None:
        """The portfolio object of ``accounts stats`` for one currency (None: no account in it)."""
        keys = [a["key"] for a in self.accounts()]
        payload = await self.io(lambda: self._history_reader().stats_payload(keys, start, end))
        return next((p for p in payload["portfolio"] if p["currency"] == currency), None)

    async def closed_trades(self: Desk, key: str, start: float | None = None,
                            end: float | None = None) -> list[dict[str, Any]]:
        return await self.io(lambda: closed_trades(self._history_reader(), key, start, end))

    async def positions(self: Desk, key: str) -> list[dict[str, Any]] | None:
        """The account's open positions from its worker, or None when it is not live on its lane now
        (the panel then shows the last list and its age; it never asks for a login)."""
        lane = self.lane_of(key)
        holder = lane.lock.holder if lane is not None else None
        if lane is None or holder is None or holder.account != key or holder.reason != VIEWING \
                or (self._states.get(key) or {}).get("state") != "live" or lane.worker is None \
                or self.deals.busy(key):
            return None  # a job or a deals fetch occupies the worker: a quick question would wait behind it
        result = list(await lane.worker.request("positions", timeout=FETCH_TIMEOUT) or [])
        offset = (await self.io(lambda: self._history_reader().deals.fetch_args(key))).get("offset")
        for p in result:  # the terminal gives server wall-clock time; UTC once, here ([B2])
            p["time_utc"] = server_to_utc(float(p.get("time") or 0), int(offset)) if offset is not None else None
        return result
