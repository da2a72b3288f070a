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
    "disconnected": "Disconnected",
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
    "disconnected": "#c5221f",
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


def margin_text(snap: dict | None) -> str:
    """'Free 9,500.00 · level 812 %' (or 'no margin used'); '' when the snapshot has no margin figures."""
    if not snap or snap.get("margin") is None:
        return ""
    free = snap.get("margin_free", snap.get("free_margin"))
    free_text = f"Free {money(float(free))}" if free is not None else ""
    if not float(snap.get("margin") or 0.0):
        return f"{free_text} · no margin used" if free_text else "no margin used"
    level = snap.get("margin_level")
    level_text = f"level {float(level):,.0f} %" if level is not None else ""
    return " · ".join(t for t in (free_text, level_text) if t)
