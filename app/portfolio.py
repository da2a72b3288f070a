"""The portfolio total: per currency, and in one base currency (the owner's choice in Settings)
converted with the terminal's own quotes. Every part says how current it is: accounts whose values
are not live are counted as such with the age of the oldest, unknown floating P/L stays unknown,
and each conversion rate carries the time of its quote.

Pure functions (no Qt, no I/O); the Desk fetches the rates (``rates`` worker request).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

RATES_EVERY = 30.0  # seconds between two rate requests to a terminal


@dataclass
class Part:
    currency: str
    equity: float = 0.0
    profit: float = 0.0
    accounts: int = 0
    not_live: int = 0  # accounts whose values are the last known ones, not current
    oldest: float | None = None  # ts of the oldest value among those
    profit_unknown: int = 0  # accounts whose floating P/L is not known (never shown as 0)


@dataclass
class BaseTotal:
    currency: str
    equity: float = 0.0
    profit: float = 0.0
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)  # "EUR/USD" -> {rate, symbol, time}
    missing: list[str] = field(default_factory=list)  # currencies without a quote: left out of the total


def per_currency(states: dict[str, dict], snapshots: dict[str, dict]) -> list[Part]:
    parts: dict[str, Part] = {}
    for key, snap in snapshots.items():
        cur = snap.get("currency")
        if not cur or snap.get("equity") is None:
            continue
        part = parts.setdefault(cur, Part(cur))
        part.accounts += 1
        part.equity += float(snap["equity"])
        if snap.get("profit") is None:
            part.profit_unknown += 1
        else:
            part.profit += float(snap["profit"])
        if (states.get(key) or {}).get("state") != "live":
            part.not_live += 1
            ts = float(snap.get("taken_at") or snap.get("ts") or 0.0) or None
            if ts is not None and (part.oldest is None or ts < part.oldest):
                part.oldest = ts
    return sorted(parts.values(), key=lambda p: p.currency)


def pairs_needed(parts: list[Part], base: str) -> list[tuple[str, str]]:
    return [(p.currency, base) for p in parts if base and p.currency != base]


def in_base(parts: list[Part], base: str, rates: dict[str, dict[str, Any]]) -> BaseTotal | None:
    """The total in ``base``; None when no base currency is chosen."""
    if not base:
        return None
    total = BaseTotal(base)
    for p in parts:
        if p.currency == base:
            rate = 1.0
        else:
            quote = rates.get(f"{p.currency}/{base}")
            if not quote or not quote.get("rate"):
                total.missing.append(p.currency)
                continue
            rate = float(quote["rate"])
            total.rates[f"{p.currency}/{base}"] = quote
        total.equity += p.equity * rate
        total.profit += p.profit * rate
    return total


def rate_age(quote: dict[str, Any], now: float | None = None) -> float:
    return max(0.0, (time.time() if now is None else now) - float(quote.get("time") or 0.0))
