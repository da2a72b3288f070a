"""Trading statistics over an account's deals and equity points: pure functions, no I/O, all times UTC.

Inputs
- deals: dicts with the MT5 deal fields (``ticket, order, time, type, entry, magic, position_id, reason,
  volume, price, commission, swap, profit, fee, symbol, comment``), ``time`` in UTC epoch seconds
  (the deals store converts the server's clock once, on the way in).
- points: equity points ``(ts, balance, equity)`` or ``(ts, balance, equity, equity_low, equity_high)``
  in time order; a point without low/high has low = high = equity.

Every definition, with a worked example checked by tests/test_stats.py, is in docs/STATISTICS.md.
Balance operations (DEAL_TYPE_BALANCE: deposits and withdrawals; DEAL_TYPE_CREDIT) are cash flows:
never profit, and the time-weighted return is split at each of them.
"""

from __future__ import annotations

import bisect
import math
import statistics as _st
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

DEAL_BUY, DEAL_SELL, DEAL_BALANCE, DEAL_CREDIT = 0, 1, 2, 3
ENTRY_IN, ENTRY_OUT, ENTRY_INOUT, ENTRY_OUT_BY = 0, 1, 2, 3
FLOW_TYPES = (DEAL_BALANCE, DEAL_CREDIT)
EPS = 1e-9

Deal = dict[str, Any]
Point = Sequence[float]


def money(deal: Deal) -> float:
    """What a deal did to the balance: profit + commission + swap + fee."""
    return (float(deal.get("profit") or 0) + float(deal.get("commission") or 0) + float(deal.get("swap") or 0)
            + float(deal.get("fee") or 0))


def is_flow(deal: Deal) -> bool:
    return int(deal.get("type", -1)) in FLOW_TYPES


def _sorted(deals: Iterable[Deal]) -> list[Deal]:
    return sorted(deals, key=lambda d: (float(d["time"]), int(d.get("ticket") or 0)))


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def in_range(ts: float, start: float | None, end: float | None) -> bool:
    return (start is None or ts >= start) and (end is None or ts <= end)


# ---- balance, flows, floating P/L ---------------------------------------------------------------
def balance_before(deals: Sequence[Deal], ts: float) -> float:
    """The balance just before ``ts`` (deals at ``ts`` itself not yet booked); credit is not balance."""
    return sum(money(d) for d in deals if float(d["time"]) < ts and int(d.get("type", -1)) != DEAL_CREDIT)


def balance_curve(deals: Iterable[Deal]) -> list[tuple[float, float]]:
    """(time, balance after the deal) for every deal that moved the balance: the curve before snapshots."""
    out, bal = [], 0.0
    for d in _sorted(deals):
        if int(d.get("type", -1)) == DEAL_CREDIT:
            continue
        m = money(d)
        if m:
            bal += m
            out.append((float(d["time"]), round(bal, 2)))
    return out


class _Floating:
    """equity − balance (floating P/L and credit) at any instant, from the last point at or before it."""

    def __init__(self, points: Sequence[Point]) -> None:
        self.ts = [float(p[0]) for p in points]
        self.values = [float(p[2]) - float(p[1]) for p in points]

    def before(self, ts: float) -> float:
        i = bisect.bisect_left(self.ts, ts) - 1  # strictly before: a snapshot at the flow's instant may include it
        return self.values[i] if i >= 0 else 0.0

    def at(self, ts: float) -> float:
        i = bisect.bisect_right(self.ts, ts) - 1
        return self.values[i] if i >= 0 else 0.0


def twr_pct(deals: Sequence[Deal], points: Sequence[Point] = (), start: float | None = None,
            end: float | None = None) -> float | None:
    """Time-weighted return in %: sub-periods split at every balance operation, chained.

    A sub-period's value is balance (from the deals) + floating P/L (equity − balance of the last point
    before that instant; 0 without points). The value just before a flow ends one period; that value plus
    the flow starts the next, so a deposit is never a gain, and a loss made before a deposit is measured
    against the capital it was made with. None when there was never a positive value to measure from."""
    ds = _sorted(deals)
    fl = _Floating(points)
    t0 = float(start) if start is not None else (float(ds[0]["time"]) if ds else 0.0)
    last = [float(ds[-1]["time"])] if ds else []
    t1 = float(end) if end is not None else max([t0, *last, *(float(p[0]) for p in points[-1:])])
    value = balance_before(ds, t0) + fl.before(t0)  # value at the range's start
    growth, measured = 1.0, False
    cash = balance_before(ds, t0)
    for d in ds:
        ts = float(d["time"])
        if ts < t0 or ts > t1:
            continue
        if not is_flow(d):
            cash += money(d)
            continue
        before = cash + fl.before(ts)
        if value > EPS:
            growth *= before / value
            measured = True
        if int(d.get("type", -1)) != DEAL_CREDIT:
            cash += money(d)
        value = before + money(d)
    final = cash + fl.at(t1)
    if value > EPS:
        growth *= final / value
        measured = True
    return (growth - 1.0) * 100.0 if measured else None


def flows(deals: Iterable[Deal], start: float | None = None, end: float | None = None) -> tuple[float, float]:
    """(deposits, withdrawals) in the range: positive sums of DEAL_TYPE_BALANCE deals."""
    dep = wd = 0.0
    for d in deals:
        if int(d.get("type", -1)) == DEAL_BALANCE and in_range(float(d["time"]), start, end):
            m = money(d)
            if m > 0:
                dep += m
            else:
                wd -= m
    return dep, wd


def net_profit(deals: Iterable[Deal], start: float | None = None, end: float | None = None) -> float:
    """Every non-flow deal's money in the range: trade results, commissions, swaps, fees, charges."""
    return sum(money(d) for d in deals if not is_flow(d) and in_range(float(d["time"]), start, end))


# ---- closed positions -----------------------------------------------------------------------------------
@dataclass
class Trade:
    position: int
    symbol: str
    type: str  # "buy" | "sell": the side it was opened with
    volume: float
    open_time: float
    close_time: float
    open_price: float
    close_price: float
    commission: float
    swap: float
    profit: float
    fee: float
    magic: int
    comment: str
    sl: float = 0.0
    tp: float = 0.0

    @property
    def result(self) -> float:
        """What the position made, all costs included."""
        return self.profit + self.commission + self.swap + self.fee


def closed_trades(deals: Iterable[Deal], orders: Iterable[dict[str, Any]] = (), start: float | None = None,
                  end: float | None = None) -> list[Trade]:
    """One Trade per position fully closed within the range (by its last exit deal), in closing order.

    A position's commission, swap and fee are summed over all its deals (the entry commission too)."""
    by_pos: dict[int, list[Deal]] = defaultdict(list)
    for d in _sorted(deals):
        if int(d.get("type", -1)) in (DEAL_BUY, DEAL_SELL) and d.get("position_id"):
            by_pos[int(d["position_id"])].append(d)
    stops: dict[int, tuple[float, float]] = {}
    for o in sorted(orders, key=lambda o: int(o.get("ticket") or 0)):
        pid = int(o.get("position_id") or 0)
        if pid and pid not in stops:
            stops[pid] = (float(o.get("sl") or 0), float(o.get("tp") or 0))
    out = []
    for pid, ds in by_pos.items():
        ins = [d for d in ds if int(d.get("entry", 0)) in (ENTRY_IN, ENTRY_INOUT)]
        outs = [d for d in ds if int(d.get("entry", 0)) in (ENTRY_OUT, ENTRY_OUT_BY, ENTRY_INOUT)]
        if not ins or not outs:
            continue
        vin, vout = sum(float(d["volume"]) for d in ins), sum(float(d["volume"]) for d in outs)
        if vout + EPS < vin:
            continue  # still (partly) open
        close_time = float(outs[-1]["time"])
        if not in_range(close_time, start, end):
            continue
        first = ins[0]
        sl, tp = stops.get(pid, (0.0, 0.0))
        out.append(Trade(
            position=pid, symbol=str(first.get("symbol") or ""),
            type="buy" if int(first["type"]) == DEAL_BUY else "sell", volume=round(vin, 8),
            open_time=float(first["time"]), close_time=close_time,
            open_price=sum(float(d["price"]) * float(d["volume"]) for d in ins) / vin,
            close_price=sum(float(d["price"]) * float(d["volume"]) for d in outs) / vout,
            commission=_total(ds, "commission"), swap=_total(ds, "swap"), profit=_total(ds, "profit"),
            fee=_total(ds, "fee"),
            magic=int(first.get("magic") or 0), comment=str(first.get("comment") or ""), sl=sl, tp=tp))
    out.sort(key=lambda t: (t.close_time, t.position))
    return out


def _total(deals: Iterable[Deal], field: str) -> float:
    return sum(float(d.get(field) or 0) for d in deals)


# ---- drawdown --------------------------------------------------------------------------------------------
def max_drawdown(points: Sequence[Point], deals: Sequence[Deal] = ()) -> tuple[float, float]:
    """(amount, %) of the deepest fall of equity from a previous high to a later low.

    Uses each point's stored low and high, so an intraday low kept by compaction counts. Deposits and
    withdrawals are taken out first (a withdrawal is not a drawdown): the curve is equity − the net flows
    booked so far; the % is the fall over the equity at the high it fell from."""
    ft = sorted((float(d["time"]), money(d)) for d in deals if is_flow(d))
    times = [t for t, _ in ft]
    cum = [0.0]
    for _, m in ft:
        cum.append(cum[-1] + m)
    peak_adj = peak_real = None
    worst_amt = worst_pct = 0.0
    for p in points:
        ts, eq = float(p[0]), float(p[2])
        low = float(p[3]) if len(p) > 3 else eq
        high = float(p[4]) if len(p) > 4 else eq
        f = cum[bisect.bisect_right(times, ts)]
        if peak_adj is not None:
            # the order of a bucket's own low and high is unknown: its low is measured against the
            # highs before it (never understated by more than one bucket's range)
            fall = peak_adj - (low - f)
            if fall > worst_amt + EPS:
                worst_amt = fall
            if peak_real and peak_real > EPS:
                worst_pct = max(worst_pct, fall / peak_real * 100.0)
        if peak_adj is None or high - f > peak_adj:
            peak_adj, peak_real = high - f, high
    return round(worst_amt, 2), round(worst_pct, 4)


# ---- daily figures -----------------------------------------------------------------------------------
def daily_pl(deals: Iterable[Deal], start: float | None = None, end: float | None = None) -> dict[str, float]:
    """Closed P/L (non-flow deals' money) per UTC day, 'YYYY-MM-DD' → amount; days without deals absent."""
    out: dict[str, float] = defaultdict(float)
    for d in deals:
        if not is_flow(d) and in_range(float(d["time"]), start, end) and money(d):
            out[_day(float(d["time"]))] += money(d)
    return {k: round(v, 2) for k, v in sorted(out.items())}


def monthly_pl(deals: Iterable[Deal], start: float | None = None, end: float | None = None) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for day, v in daily_pl(deals, start, end).items():
        out[day[:7]] += v
    return {k: round(v, 2) for k, v in sorted(out.items())}


def daily_returns(deals: Sequence[Deal], start: float | None = None, end: float | None = None) -> list[float]:
    """Each UTC day's closed P/L over the balance just before that day's first P/L deal (a deposit
    earlier that day counts in the base), for every day with closed P/L and a positive base."""
    base_of: dict[str, float] = {}  # the balance just before each day's first P/L deal, in one pass
    bal = 0.0
    for d in _sorted(deals):
        t = float(d["time"])
        if not is_flow(d) and money(d) and in_range(t, start, end):
            base_of.setdefault(_day(t), bal)
        if int(d.get("type", -1)) != DEAL_CREDIT:
            bal += money(d)
    return [pl / base_of[day] for day, pl in daily_pl(deals, start, end).items() if base_of[day] > EPS]


def sharpe(returns: Sequence[float]) -> float | None:
    """Mean over sample standard deviation of daily returns (risk-free 0, not annualised); None below
    two days or with no variation."""
    if len(returns) < 2:
        return None
    sd = _st.stdev(returns)
    return None if sd <= EPS else _st.fmean(returns) / sd


# ---- everything at once --------------------------------------------------------------------------------
def summary(deals: Sequence[Deal], points: Sequence[Point] = (), orders: Sequence[dict[str, Any]] = (),
            start: float | None = None, end: float | None = None) -> dict[str, Any]:
    """The statistics of [E] 4 for one account over [start, end] (None: unbounded), money unrounded-ish."""
    pts = [p for p in points if in_range(float(p[0]), start, end)]
    trades = closed_trades(deals, orders, start, end)
    results = [t.result for t in trades]
    wins, losses = [r for r in results if r > 0], [r for r in results if r < 0]
    dep, wd = flows(deals, start, end)
    net = net_profit(deals, start, end)
    base = balance_before(deals, float(start)) if start is not None else 0.0
    dd_amt, dd_pct = max_drawdown(pts, deals)
    days = daily_pl(deals, start, end)
    gain = twr_pct(deals, points, start, end)

    def r(x: float | None, n: int = 2) -> float | None:
        return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(x, n)

    return {
        "gain_pct": r(gain, 4),
        "absolute_gain_pct": r(net / (base + dep) * 100.0, 4) if base + dep > EPS else None,
        "start_balance": r(base),
        "net_profit": r(net), "deposits": r(dep), "withdrawals": r(wd),
        "max_drawdown_pct": r(dd_pct, 4), "max_drawdown": r(dd_amt),
        "profit_factor": r(sum(wins) / -sum(losses), 4) if losses else None,
        "win_rate_pct": r(len(wins) / len(results) * 100.0, 4) if results else None,
        "trades": len(trades),
        "expectancy": r(_st.fmean(results)) if results else None,
        "avg_win": r(_st.fmean(wins)) if wins else None,
        "avg_loss": r(_st.fmean(losses)) if losses else None,
        "sharpe": r(sharpe(daily_returns(deals, start, end)), 4),
        "best_day": _extreme(days, max), "worst_day": _extreme(days, min),
        "daily_pl": days, "monthly_pl": monthly_pl(deals, start, end),
    }


def _extreme(days: dict[str, float], pick: Any) -> dict[str, Any] | None:
    if not days:
        return None
    day = pick(days, key=lambda k: days[k])
    return {"date": day, "pl": days[day]}


def portfolio(summaries: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """One object per currency from (currency, account summary) pairs: sums of money and counts; the
    absolute gain recomputed from the sums (net profit over starting balances + deposits: a percentage
    is not summable). Ratios that do not add up (TWR, Sharpe, drawdown %) are left out."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for cur, s in summaries:
        groups[cur].append(s)
    out = []
    for cur, ss in sorted(groups.items()):
        days: dict[str, float] = defaultdict(float)
        for s in ss:
            for k, v in s["daily_pl"].items():
                days[k] += v
        days = {k: round(v, 2) for k, v in sorted(days.items())}
        months: dict[str, float] = defaultdict(float)
        for k, v in days.items():
            months[k[:7]] += v
        trades = sum(s["trades"] for s in ss)
        net = sum(s["net_profit"] or 0 for s in ss)
        invested = sum((s.get("start_balance") or 0) + (s["deposits"] or 0) for s in ss)
        out.append({
            "currency": cur, "accounts": len(ss),
            "net_profit": round(net, 2),
            "absolute_gain_pct": round(net / invested * 100.0, 4) if invested > EPS else None,
            "deposits": round(sum(s["deposits"] or 0 for s in ss), 2),
            "withdrawals": round(sum(s["withdrawals"] or 0 for s in ss), 2),
            "max_drawdown": round(sum(s["max_drawdown"] or 0 for s in ss), 2),
            "trades": trades, "best_day": _extreme(days, max), "worst_day": _extreme(days, min),
            "daily_pl": days, "monthly_pl": {k: round(v, 2) for k, v in sorted(months.items())},
        })
    return out


# ---- compaction that keeps the lows -------------------------------------------------------------------
def bucket_points(points: Iterable[Point], seconds: float) -> list[tuple[float, float, float, float, float, float]]:
    """Downsample to one row per bucket: (bucket start, last balance, last equity, low, high, open equity),
    itself a point for max_drawdown. Every point's low and high is kept, so a drawdown survives."""
    out: list[list[float]] = []
    for p in points:
        ts, bal, eq = float(p[0]), float(p[1]), float(p[2])
        low = float(p[3]) if len(p) > 3 else eq
        high = float(p[4]) if len(p) > 4 else eq
        b = math.floor(ts / seconds) * seconds
        if out and out[-1][0] == b:
            row = out[-1]
            row[1], row[2], row[3], row[4] = bal, eq, min(row[3], low), max(row[4], high)
        else:
            out.append([b, bal, eq, low, high, float(p[5]) if len(p) > 5 else eq])
    return [tuple(r) for r in out]  # type: ignore[misc]
