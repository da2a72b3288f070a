"""Words and numbers as a trader reads them: money, ages, states."""

from __future__ import annotations

import time

from app.text import age

STATE_LABELS = {
    "live": "Live",
    "waiting": "Waiting",
    "idle": "Idle",
    "connecting": "Connecting…",
    "auth_error": "Login failed",
    "offline": "Offline",
    "stale": "Stale",
    "mismatch": "Wrong account",
}

STATE_COLOURS = {  # badge background
    "live": "#1e8e3e",
    "waiting": "#b06000",
    "idle": "#5f6368",
    "connecting": "#1a73e8",
    "auth_error": "#c5221f",
    "offline": "#80868b",
    "stale": "#a8710b",
    "mismatch": "#c5221f",
}

PROFIT = "#1e8e3e"
LOSS = "#c5221f"


def money(value: float | None, currency: str | None = None, sign: bool = False) -> str:
    if value is None:
        return "—"
    text = f"{value:+,.2f}" if sign else f"{value:,.2f}"
    return f"{text} {currency}" if currency else text


def age_since(ts: float | None, now: float | None = None) -> str:
    if not ts:
        return "never"
    return age((now or time.time()) - ts) + " ago"


def clock(ts: float | None) -> str:
    if not ts:
        return "—"
    return time.strftime("%H:%M:%S", time.localtime(ts))


def badge_text(state: dict | None, snapshot: dict | None, now: float | None = None) -> str:
    """The sidebar badge: waiting shows its place, idle the age of its last values."""
    s = (state or {}).get("state") or "idle"
    if s == "waiting" and (state or {}).get("place"):
        return f"Waiting #{state['place']}"
    if s == "idle":
        ts = (snapshot or {}).get("ts")
        return f"Idle · {age_since(ts, now)}" if ts else "Idle"
    return STATE_LABELS.get(s, s)
