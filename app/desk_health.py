"""Is what the desk shows still true? Per logged-in account: Disconnected when its terminal says
it has no broker connection, Stale when its values stopped arriving or its prices stopped moving,
Live again with the next healthy snapshot. Also the margin-call warning.

Works with the snapshot fields of CONTRACTS 3 (``connected``, ``last_tick_time``, ``taken_at``) and
falls back on what older workers send (``terminal_connected``, ``ts``, unchanged values).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.desk import Desk

UNHEALTHY = ("stale", "disconnected")
FROZEN_AFTER = 20.0  # open positions whose values have not moved for this long: prices stopped
MARGIN_WARNING_DEFAULT = 150.0  # percent; brokers usually call margin at 100 % and stop out at 50 %
MARGIN_HYSTERESIS = 10.0  # percent above the warning level before a new warning may come


def connected(snap: dict[str, Any]) -> bool | None:
    value = snap.get("connected", snap.get("terminal_connected"))
    return None if value is None else bool(value)


def taken_at(snap: dict[str, Any]) -> float:
    return float(snap.get("taken_at") or snap.get("ts") or 0.0)


def margin_free(snap: dict[str, Any]) -> float | None:
    value = snap.get("margin_free", snap.get("free_margin"))
    return None if value is None else float(value)


class HealthWatch:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self._moved: dict[str, tuple[tuple[Any, ...], float]] = {}  # key -> (values, when they last changed)
        self._margin_warned: set[str] = set()

    # ---- limits ------------------------------------------------------------------------------
    def stale_after(self) -> float:
        return max(5.0, 5 * float(self.desk.settings.get("snapshot_rate") or 1.0))

    def margin_warning_level(self, snap: dict[str, Any]) -> float:
        level = float(self.desk.settings.get("margin_warning_level") or MARGIN_WARNING_DEFAULT)
        broker = snap.get("margin_so_call")
        return max(level, float(broker) + 20.0) if broker else level

    def login_failed(self) -> set[str]:
        return {k for k, s in self.desk.account_states().items() if s.get("state") == "auth_error"}

    # ---- verdicts -----------------------------------------------------------------------------
    def verdict(self, key: str, snap: dict[str, Any] | None, now: float,
                since: float = 0.0) -> tuple[str, str] | None:
        """("disconnected"|"stale", why) for an account logged in ``since`` whose values are not
        current, else None. Values from before this login count as none (with the same grace)."""
        fresh = snap is not None and not snap.get("restored") and taken_at(snap) >= since
        if not fresh:
            waited = now - since if since else self.stale_after() + 1
            return ("stale", f"no values from the terminal for {waited:.0f} s") \
                if waited > self.stale_after() else None
        assert snap is not None
        if connected(snap) is False:
            return "disconnected", "the terminal has no connection to the broker; values are frozen"
        age = now - taken_at(snap)
        if age > self.stale_after():
            return "stale", f"no fresh values from the terminal for {age:.0f} s"
        tick = snap.get("last_tick_time")
        if tick is not None and now - float(tick) > 2 * self.stale_after() and int(snap.get("positions") or 0):
            return "stale", f"no new prices for {now - float(tick):.0f} s"
        moved = self._moved.get(key)
        if tick is None and moved is not None and int(snap.get("positions") or 0) and now - moved[1] > FROZEN_AFTER:
            return "stale", f"open positions, but the values have not moved for {now - moved[1]:.0f} s"
        return None

    def on_snapshot(self, key: str, snap: dict[str, Any]) -> None:
        """A fresh snapshot: note whether its values moved, Live again if healthy, margin check."""
        values = (snap.get("equity"), snap.get("profit"), snap.get("margin"))
        now = time.time()
        prev = self._moved.get(key)
        if prev is None or prev[0] != values:
            self._moved[key] = (values, now)
        lane = self.desk.lane_of(key)
        holder = lane.lock.holder if lane is not None else None
        state = (self.desk.account_states().get(key) or {}).get("state")
        if state in UNHEALTHY and holder is not None and holder.account == key and holder.phase == "active" \
                and self.verdict(key, snap, now) is None:
            lane.lock.set_account_state(key, "live")
        self._check_margin(key, snap)

    def check(self, now: float) -> None:
        """Every second: turn a live account whose values are not current Stale/Disconnected."""
        desk = self.desk
        for lane in [desk.shared, *desk.dedicated.values()]:
            holder = lane.lock.holder if lane is not None else None
            if holder is None or holder.phase != "active":
                continue
            state = (desk.account_states().get(holder.account) or {}).get("state")
            if state not in ("live", *UNHEALTHY):
                continue
            verdict = self.verdict(holder.account, desk.last_snapshot(holder.account), now, holder.since)
            if verdict is not None and verdict[0] != state:
                lane.lock.set_account_state(holder.account, *verdict)

    def _check_margin(self, key: str, snap: dict[str, Any]) -> None:
        level = snap.get("margin_level")
        if not snap.get("margin") or level is None:
            self._margin_warned.discard(key)
            return
        warn_at = self.margin_warning_level(snap)
        if float(level) < warn_at and key not in self._margin_warned:
            self._margin_warned.add(key)
            free = margin_free(snap)
            self.desk.emit({"event": "alert", "account": key, "level": "error", "kind": "margin",
                            "title": f"Margin call ahead on {self.desk.name_of(key)}",
                            "message": f"margin level {float(level):.0f} % (warning below {warn_at:.0f} %)"
                                       + (f", free margin {free:,.2f} {snap.get('currency') or ''}"
                                          if free is not None else "")})
        elif float(level) >= warn_at + MARGIN_HYSTERESIS:
            self._margin_warned.discard(key)

    def margin_warned(self, key: str) -> bool:
        return key in self._margin_warned
