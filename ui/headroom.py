"""Headroom at a glance ([H] 2): each guarded account's room to its nearest loss floor, in words and a
colour, from the guard's last ``guard`` event (app/guard.py).

The D2 rule holds here: a stale number shown as live is worse than none. Room is shown as current only
while the account is live and its last verdict is recent; otherwise it says how old it is and the
account reads "Unguarded while idle" (its floors are not checked while it is not live).
Pure functions (no widgets) so the sidebar, the overview and the chart paint the same words.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont

from app.text import age
from ui.formatting import money

STALE_AFTER = 15.0  # a live verdict older than this is shown with its age
AMBER = "#b06000"
AMBER_DARK = "#fbbc04"  # readable on the dark theme
HEADROOM_LINE = 18  # pixels the sidebar row grows by for the headroom line


@dataclass(frozen=True)
class Headroom:
    text: str  # one short line: "Daily room 4,000.00 (40%) · reset in 3h 12m"
    level: str  # ok / warning / breached / blocked / stale (stale: not current, muted)
    tooltip: str
    floor: str | None  # "daily" or "total": the nearer floor
    daily_floor: float | None
    total_floor: float | None


def colour_of(level: str, colours: Any) -> str:
    """The line's colour for a level, readable on the theme (``colours``: ui.theme.Colours)."""
    amber = AMBER_DARK if colours.name == "dark" else AMBER
    return {"ok": colours.profit, "warning": amber, "breached": colours.loss,
            "blocked": colours.loss}.get(level, colours.muted)


def countdown(until: float | None, now: float) -> str:
    if until is None:
        return "unknown"
    left = max(0, int(until - now))
    h, rest = divmod(left, 3600)
    return f"{h}h {rest // 60:02d}m" if h else f"{rest // 60}m {rest % 60:02d}s"


def reset_words(ev: dict[str, Any]) -> str:
    """When the firm's day resets, in the firm's zone: "00:00 Europe/Prague" or "00:00 server time"."""
    zone, at = ev.get("reset_zone") or "server", ev.get("reset_time") or "00:00"
    if zone == "server":
        return f"{at} server time"
    nxt = ev.get("next_reset")
    if nxt:
        try:  # the zone's own name for the date (CET/CEST): a DST change is visible
            return datetime.fromtimestamp(float(nxt), ZoneInfo(zone)).strftime(f"%H:%M %Z ({zone})")
        except (ValueError, KeyError, OSError):
            pass
    return f"{at} {zone}"


def nearest(ev: dict[str, Any]) -> tuple[str | None, float | None, float | None]:
    """(which floor, room to it, share of its limit left) of the nearer floor."""
    rooms = [(name, ev.get(f"{name}_headroom"), ev.get(f"{name}_headroom_pct")) for name in ("daily", "total")]
    known = [(n, float(r), p) for n, r, p in rooms if r is not None]
    if not known:
        return None, None, None
    name, room, pct = min(known, key=lambda x: x[1])
    return name, room, None if pct is None else float(pct)


def headroom_of(ev: dict[str, Any] | None, live: bool, now: float | None = None,
                seen_at: float | None = None, currency: str | None = None) -> Headroom | None:
    """What to show for a guarded account. ``ev``: its last guard event; ``live``: the account is live
    now; ``seen_at``: when the last verdict computed while live arrived (None: not this run)."""
    if not ev:
        return None
    now = time.time() if now is None else now
    which, room, pct = nearest(ev)
    label = {"daily": "Daily room", "total": "Max-loss room"}.get(which or "", "Room")
    amount = "unknown" if room is None else money(room, currency)
    share = "" if pct is None else f" ({min(max(pct, 0.0), 1.0) * 100:.0f}% left)"  # a day's gains: still 100%
    reset = f"reset in {countdown(ev.get('next_reset'), now)}"
    d_floor, t_floor = ev.get("daily_floor"), ev.get("total_floor")
    floors = (f"Daily floor {money(d_floor, currency)} · max-loss floor {money(t_floor, currency)}\n"
              f"The day resets at {reset_words(ev)} ({reset})." + objectives_text(ev.get("objectives")))
    stale = (not live or ev.get("coverage") == "unguarded" or seen_at is None
             or now - seen_at > STALE_AFTER)
    old = "" if seen_at is None else f" {age(now - seen_at)} ago"
    if ev.get("blocked"):
        text = f"⊘ BLOCKED · reset in {countdown(ev.get('next_reset'), now)} · Re-arm lifts it"
        tip = ("The hard stop acted: MT5 Desk closed the positions and sends no order for this account until "
               f"the day resets at {reset_words(ev)}.\nTo lift it now: right-click → Prop-firm rules… → Re-arm "
               "(or `accounts rules set` again).\n" + floors)
        return Headroom(text, "blocked", tip, which, d_floor, t_floor)
    if stale:
        was = f"{label.lower()} was {amount}{share}{old}" if room is not None and seen_at is not None else \
            "room unknown"
        text = f"Unguarded while idle · {was}"
        tip = ("Its loss floors are checked only while the account is live; the room shown is from"
               f"{old or ' before'} and is not current.\n" + floors)
        return Headroom(text, "stale", tip, which, d_floor, t_floor)
    level = str(ev.get("level") or "ok")
    mark = {"warning": "⚠ ", "breached": "✖ BREACHED · "}.get(level, "")
    text = f"{mark}{label} {amount}{share} · {reset}"
    late = ("\nNot connected at the day's reset: today's reference is the first value seen after it; the firm's "
            "daily floor may differ." if ev.get("coverage") == "late" else "")
    return Headroom(text, level, floors + late, which, d_floor, t_floor)


def objectives_text(obj: dict[str, Any] | None) -> str:
    """The objectives' progress, one line each (only those the rules set)."""
    lines = []
    for name, o in (obj or {}).items():
        mark = "✓" if o.get("met") else "…"
        if name == "profit_target":
            lines.append(f"{mark} profit target: {money(o.get('profit'))} of {money(o.get('target'))}")
        elif name in ("trading_days", "profitable_days"):
            lines.append(f"{mark} {name.replace('_', ' ')}: {o.get('done')} of {o.get('required')}")
        elif name == "best_day":
            share = o.get("share")
            lines.append(f"{mark} best day: {'—' if share is None else f'{share * 100:.0f}%'} of the profit "
                         f"(at most {float(o.get('max_share') or 0) * 100:.0f}%)")
    return ("\nObjectives:\n" + "\n".join(lines)) if lines else ""


def reset_time_text(ts: float | None) -> str:
    """A reset moment in UTC, for tooltips and the rules dialog."""
    return "unknown" if not ts else datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def paint_headroom(p: Any, rect: Any, h: Headroom, colours: Any) -> None:
    """The sidebar row's headroom line (a QPainter on a QRect), elided, in its level's colour."""
    font = QFont(p.font())
    font.setBold(h.level in ("warning", "breached", "blocked"))
    p.setFont(font)
    p.setPen(QColor(colour_of(h.level, colours)))
    p.drawText(rect, Qt.AlignmentFlag.AlignVCenter,
               p.fontMetrics().elidedText(h.text, Qt.TextElideMode.ElideRight, rect.width()))
