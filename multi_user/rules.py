"""Prop-firm rules ([H] 1): one model for every firm's daily and total loss floors. Pure, no Qt.

- Daily floor = ``ref_at_reset − daily_pct × base``; ``ref`` is the balance, the equity or the higher of
  the two at the day's reset (``daily_ref``), ``base`` the initial balance or ``ref`` (``daily_base``).
- Total floor: ``static`` (initial × (1 − total_pct)), or trailing (never falling) on the balance at each
  reset (``eod_balance``), on every closed balance (``closed_balance``) or on intraday equity
  (``intraday_equity``): highest source − total_pct × initial, stopping at ``total_lock`` when set.
- Reset: ``reset_time`` (HH:MM) in ``reset_zone``, an IANA zone or ``server`` (the broker's midnight,
  from the server's offset to UTC: multi_user/servertime.py).
Equity is what the floors are checked against: commissions, swaps and floating P/L all count, and a
floating loss carried over a reset counts against the new day (the reference is taken at the reset).

The app keeps a GuardState per account (app/guard.py stores it) and calls start_day at each reset,
observe on each snapshot and evaluate to get floors, headroom and level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from multi_user.errors import BadInput
from multi_user.rule_presets import PRESETS

DAILY_REFS = ("balance", "equity", "max")
DAILY_BASES = ("initial", "ref")
TOTAL_MODES = ("static", "eod_balance", "closed_balance", "intraday_equity")
LEVELS = ("ok", "warning", "breached")


@dataclass(frozen=True)
class Rules:
    initial: float
    preset: str = "custom"
    daily_pct: float | None = 0.05  # None: no daily limit
    daily_ref: str = "balance"
    daily_base: str = "initial"
    total_pct: float | None = 0.10
    total_mode: str = "static"
    total_lock: float | None = None  # a trailing total floor stops here (e.g. the initial balance)
    reset_zone: str = "server"
    reset_time: str = "00:00"
    warn_pct: float = 0.80  # warning once this share of a limit is used
    act_pct: float = 1.00  # the hard stop acts once this share is used (a safety buffer below 1)
    hard_stop: bool = False
    profit_target_pct: float | None = None
    min_trading_days: int | None = None
    min_profitable_days: int | None = None
    profitable_day_pct: float | None = None  # a day counts as profitable at this share of the initial
    best_day_max_share: float | None = None  # best day's profit ≤ this share of the total profit

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rules:
        known = {f.name for f in fields(cls)}
        return validate(cls(**{k: v for k, v in data.items() if k in known}))


def make_rules(preset: str, initial: float, **overrides: Any) -> Rules:
    """A preset's rules (or ``custom``) for this initial balance; ``overrides`` that are not None win."""
    name = preset.upper() if preset.lower() != "custom" else "custom"
    if name != "custom" and name not in PRESETS:
        raise BadInput(f"unknown preset {preset!r}: one of {', '.join([*PRESETS, 'custom'])}", field="preset")
    base = dict(PRESETS.get(name, {}))
    base.update({k: v for k, v in overrides.items() if v is not None})
    if base.get("total_lock") == "initial":  # presets say "stops at the initial balance", whatever it is
        base["total_lock"] = initial
    return Rules.from_json({**base, "preset": name, "initial": initial})


def validate(r: Rules) -> Rules:
    def bad(msg: str, fld: str) -> BadInput:
        return BadInput(msg, field=fld)

    if not (isinstance(r.initial, int | float) and r.initial > 0):
        raise bad(f"the initial balance must be a positive number, not {r.initial!r}", "initial")
    for name in ("daily_pct", "total_pct", "profit_target_pct", "profitable_day_pct"):
        v = getattr(r, name)
        if v is not None and not (0 < float(v) < 1):
            raise bad(f"{name} is a fraction between 0 and 1 (0.05 for 5%), not {v!r}", name)
    for name in ("warn_pct", "act_pct", "best_day_max_share"):
        v = getattr(r, name)
        if v is not None and not (0 < float(v) <= 1):
            raise bad(f"{name} is a fraction in (0, 1], not {v!r}", name)
    if r.daily_ref not in DAILY_REFS:
        raise bad(f"daily_ref is one of {DAILY_REFS}, not {r.daily_ref!r}", "daily_ref")
    if r.daily_base not in DAILY_BASES:
        raise bad(f"daily_base is one of {DAILY_BASES}, not {r.daily_base!r}", "daily_base")
    if r.total_mode not in TOTAL_MODES:
        raise bad(f"total_mode is one of {TOTAL_MODES}, not {r.total_mode!r}", "total_mode")
    if r.total_lock is not None and not float(r.total_lock) > 0:
        raise bad(f"total_lock is a positive amount, not {r.total_lock!r}", "total_lock")
    reset_clock(r.reset_time)
    if r.reset_zone != "server":
        try:
            ZoneInfo(r.reset_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise bad(f"unknown time zone {r.reset_zone!r} (an IANA name such as Europe/Prague, or 'server')",
                      "reset_zone") from None
    for name in ("min_trading_days", "min_profitable_days"):
        v = getattr(r, name)
        if v is not None and not (isinstance(v, int) and v >= 0):
            raise bad(f"{name} is a whole number ≥ 0, not {v!r}", name)
    return r


def reset_clock(text: str) -> tuple[int, int]:
    try:
        h, m = (int(p) for p in str(text).split(":"))
        if 0 <= h < 24 and 0 <= m < 60:
            return h, m
    except ValueError:
        pass
    raise BadInput(f"reset_time is HH:MM (24 h), not {text!r}", field="reset_time")


# ---- the reset clock ------------------------------------------------------------------------------
def last_reset(r: Rules, now: float, server_offset: int | None = 0) -> float:
    """UTC epoch seconds of the latest reset at or before ``now``. ``server_offset``: seconds the
    broker's clock is ahead of UTC (used only by ``reset_zone='server'``; None counts as UTC)."""
    h, m = reset_clock(r.reset_time)
    if r.reset_zone == "server":
        off = int(server_offset or 0)
        wall = datetime.fromtimestamp(now + off, UTC)
        at = wall.replace(hour=h, minute=m, second=0, microsecond=0)
        if at > wall:
            at -= timedelta(days=1)
        return at.timestamp() - off
    zone = ZoneInfo(r.reset_zone)
    wall = datetime.fromtimestamp(now, zone)
    day = wall.date()
    for back in range(3):  # a reset time skipped by a DST jump falls on the shifted wall time
        d = day - timedelta(days=back)
        at = datetime(d.year, d.month, d.day, h, m, tzinfo=zone).timestamp()
        if at <= now:
            return at
    raise AssertionError("unreachable: a reset lies within three days")


def next_reset(r: Rules, now: float, server_offset: int | None = 0) -> float:
    """UTC epoch seconds of the first reset after ``now`` (the zone's own DST rules apply)."""
    h, m = reset_clock(r.reset_time)
    if r.reset_zone == "server":
        return last_reset(r, now, server_offset) + 86400.0
    zone = ZoneInfo(r.reset_zone)
    day = datetime.fromtimestamp(now, zone).date()
    for ahead in range(3):
        d = day + timedelta(days=ahead)
        at = datetime(d.year, d.month, d.day, h, m, tzinfo=zone).timestamp()
        if at > now:
            return at
    raise AssertionError("unreachable: a reset lies within three days")


# ---- state ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DayRecord:
    start: float  # UTC epoch of the day's reset
    start_balance: float
    end_balance: float
    traded: bool = False


@dataclass(frozen=True)
class GuardState:
    day_start: float  # UTC epoch of the reset that began the current day
    day_ref: float  # the reference at that reset (balance, equity or the higher)
    total_floor: float
    peak: float  # highest value the trailing total floor follows
    day_balance: float  # balance at the reset (closed P/L of the day = balance − this)
    covered: bool = True  # False: the app was not connected at the reset, day_ref is from later
    blocked: bool = False  # the hard stop acted: no order until the next reset or a re-arm
    days: tuple[DayRecord, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "days": [asdict(d) for d in self.days]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GuardState:
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in data.items() if k in known}
        d["days"] = tuple(DayRecord(**x) for x in data.get("days") or ())
        return cls(**d)


def day_ref(r: Rules, balance: float, equity: float) -> float:
    return {"balance": balance, "equity": equity, "max": max(balance, equity)}[r.daily_ref]


def _trail(r: Rules, floor: float, source: float) -> float:
    if r.total_pct is None:
        return floor
    candidate = max(floor, source - r.total_pct * r.initial)
    return min(candidate, r.total_lock) if r.total_lock is not None and floor <= r.total_lock else candidate


def initial_state(r: Rules, balance: float, equity: float, at: float, *, covered: bool = True) -> GuardState:
    """The first day (the account's start): the static floor, trailing floors from the initial balance."""
    static = r.initial * (1 - r.total_pct) if r.total_pct is not None else 0.0
    floor = static
    peak = r.initial
    if r.total_mode != "static":
        source = {"eod_balance": balance, "closed_balance": balance, "intraday_equity": equity}[r.total_mode]
        peak = max(peak, source)
        floor = _trail(r, static, peak)
    return GuardState(day_start=at, day_ref=day_ref(r, balance, equity), total_floor=floor, peak=peak,
                      day_balance=balance, covered=covered)


def start_day(r: Rules, s: GuardState, balance: float, equity: float, at: float, *,
              covered: bool = True) -> GuardState:
    """A reset: the new day's reference, the end-of-day trailing floor moved, yesterday recorded,
    the hard stop's block lifted (firms end a day's breach at the reset; a total breach stays)."""
    record = DayRecord(start=s.day_start, start_balance=s.day_balance, end_balance=balance,
                       traded=any(d.start == s.day_start and d.traded for d in s.days[-1:]))
    days = (*(d for d in s.days if d.start != s.day_start), record)
    peak, floor = s.peak, s.total_floor
    if r.total_mode == "eod_balance":
        peak = max(peak, balance)
        floor = _trail(r, floor, peak)
    blocked = s.blocked and equity < floor
    return replace(s, day_start=at, day_ref=day_ref(r, balance, equity), day_balance=balance, peak=peak,
                   total_floor=floor, covered=covered, blocked=blocked, days=days)


def observe(r: Rules, s: GuardState, balance: float, equity: float, *, traded: bool = False) -> GuardState:
    """A snapshot within the day: intraday trailing floors follow, the day is marked traded."""
    peak, floor = s.peak, s.total_floor
    if r.total_mode == "closed_balance":
        peak = max(peak, balance)
        floor = _trail(r, floor, peak)
    elif r.total_mode == "intraday_equity":
        peak = max(peak, equity)
        floor = _trail(r, floor, peak)
    days = s.days
    traded = traded or balance != s.day_balance
    if traded and not any(d.start == s.day_start and d.traded for d in days):
        today = DayRecord(start=s.day_start, start_balance=s.day_balance, end_balance=balance, traded=True)
        days = (*(d for d in days if d.start != s.day_start), today)
    if peak == s.peak and floor == s.total_floor and days is s.days:
        return s
    return replace(s, peak=peak, total_floor=floor, days=days)


# ---- verdict ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Verdict:
    daily_floor: float | None
    total_floor: float
    daily_headroom: float | None
    daily_headroom_pct: float | None  # share of the daily limit still left (1.0 = untouched)
    total_headroom: float
    total_headroom_pct: float
    level: str  # ok / warning / breached
    act: bool  # the acting level (act_pct of a limit used) is reached
    next_reset: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def daily_floor(r: Rules, s: GuardState) -> float | None:
    if r.daily_pct is None:
        return None
    base = r.initial if r.daily_base == "initial" else s.day_ref
    return s.day_ref - r.daily_pct * base


def _used(headroom: float, limit: float) -> float:
    return 1.0 - headroom / limit if limit > 0 else 0.0


def evaluate(r: Rules, s: GuardState, equity: float, now: float, server_offset: int | None = 0) -> Verdict:
    """Floors, room left to each (amount and share of its limit), level and the next reset."""
    d_floor = daily_floor(r, s)
    d_room = equity - d_floor if d_floor is not None else None
    d_limit = (s.day_ref - d_floor) if d_floor is not None else 0.0
    t_room = equity - s.total_floor
    t_limit = (r.total_pct if r.total_pct is not None else 1.0) * r.initial
    used = [_used(t_room, t_limit)]
    if d_room is not None:
        used.append(_used(d_room, d_limit))
    breached = equity < s.total_floor or (d_floor is not None and equity < d_floor)
    level = "breached" if breached else "warning" if max(used) >= r.warn_pct else "ok"
    return Verdict(daily_floor=d_floor, total_floor=s.total_floor, daily_headroom=d_room,
                   daily_headroom_pct=(d_room / d_limit if d_room is not None and d_limit > 0 else None),
                   total_headroom=t_room, total_headroom_pct=t_room / t_limit if t_limit > 0 else 0.0,
                   level=level, act=breached or max(used) >= r.act_pct,
                   next_reset=next_reset(r, now, server_offset))


def objectives(r: Rules, s: GuardState, balance: float) -> dict[str, Any]:
    """Progress towards the optional objectives; only the ones the rules set."""
    out: dict[str, Any] = {}
    days = [*s.days, DayRecord(start=s.day_start, start_balance=s.day_balance, end_balance=balance,
                               traded=any(d.start == s.day_start and d.traded for d in s.days))]
    days = [d for i, d in enumerate(days) if all(o.start != d.start for o in days[i + 1:])]
    profit = balance - r.initial
    if r.profit_target_pct is not None:
        target = r.profit_target_pct * r.initial
        out["profit_target"] = {"target": target, "profit": profit, "met": profit >= target}
    if r.min_trading_days is not None:
        n = sum(1 for d in days if d.traded)
        out["trading_days"] = {"required": r.min_trading_days, "done": n, "met": n >= r.min_trading_days}
    if r.min_profitable_days is not None:
        threshold = (r.profitable_day_pct or 0.0) * r.initial
        n = sum(1 for d in days if d.end_balance - d.start_balance >= max(threshold, 0.01))
        out["profitable_days"] = {"required": r.min_profitable_days, "done": n, "threshold": threshold,
                                  "met": n >= r.min_profitable_days}
    if r.best_day_max_share is not None:
        best = max((d.end_balance - d.start_balance for d in days), default=0.0)
        share = best / profit if profit > 0 else None
        out["best_day"] = {"best": best, "share": share, "max_share": r.best_day_max_share,
                           "met": share is not None and share <= r.best_day_max_share}
    return out
