"""Scheduled reset visits ([H] 3): a guarded account on the shared terminal is logged in at its firm's
daily reset, so the day's reference (balance/equity at the reset) is read when it happens.

The day-start equity cannot be rebuilt from deals. The guard (app/guard.py) counts a day as covered when
it saw a value shortly before the reset (COVER_GAP) and then one after it; so each reset gets two short
``reset_visit`` jobs through the shared lock: one BEFORE seconds ahead of it and one AFTER seconds past it.
Jobs go before viewing in the lock's queue (the owner's view comes back after), and show in the queue
and the banner like any job. A dedicated account needs none: it is live all the time.

At start, a shared guarded account whose day began before the latest reset (the app was off at the
reset) gets a visit at once, so its daily floor is set as soon as possible (the guard marks the day
``late``: the firm's floor may differ).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from app.flatten import submit
from multi_user import rules as rm

if TYPE_CHECKING:
    from app.desk import Desk

log = logging.getLogger("mt5desk.reset_visits")

BEFORE = 90.0  # the first visit this long before the reset (well inside the guard's COVER_GAP of 120 s)
AFTER = 5.0  # the second this long after it
KIND = "reset_visit"


def visit_times(r: rm.Rules, now: float, offset: int | None) -> tuple[float, float, float]:
    """(the next reset, its visit before, its visit after) as UTC epoch seconds."""
    at = rm.next_reset(r, now, offset)
    return at, at - BEFORE, at + AFTER


class ResetVisits:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.planned: dict[str, float] = {}  # account -> the reset its visits are for
        self._planned_offset: dict[str, int | None] = {}  # account -> the server offset that plan assumed
        self.queued: set[tuple[str, float, str]] = set()  # (account, reset, "before"/"after"/"missed")
        self._started = False

    def wanted(self) -> dict[str, rm.Rules]:
        """Guarded shared accounts whose rules have a daily limit (the ones a reset matters to)."""
        lane = self.desk.shared
        if lane is None:
            return {}
        return {k: r for k, r in self.desk.guard.rules.items()
                if r.daily_pct is not None and k in lane.accounts and k not in self.desk.dedicated}

    def check(self, now: float) -> list[tuple[str, str]]:
        """Every second (the Desk's timer): queue the visits that are due. Returns [(account, why)] queued."""
        guard = self.desk.guard
        if not getattr(guard, "_loaded", False) or self.desk.shared is None:
            return []
        out: list[tuple[str, str]] = []
        wanted = self.wanted()
        if not self._started:
            self._started = True
            for key, r in wanted.items():
                s = guard.states.get(key)
                last = rm.last_reset(r, now, guard._offsets.get(key))
                if s is None or last - s.day_start >= 12 * 3600.0:  # the day began before the latest reset
                    out += self._queue(key, last, "missed")
        for key, r in wanted.items():
            reset, offset = self.planned.get(key), guard._offsets.get(key)
            # plan the next reset once this one is over, and again when the server's offset is learned or moves
            # (a DST change): a server-midnight reset planned on a guessed offset is hours off
            if reset is None or now > reset + AFTER + 60.0 or self._planned_offset.get(key) != offset:
                reset = self.planned[key] = rm.next_reset(r, now - AFTER - 60.0, offset)
                self._planned_offset[key] = offset
            if reset - BEFORE <= now < reset:
                out += self._queue(key, reset, "before")
            elif reset + AFTER <= now <= reset + AFTER + 60.0:
                out += self._queue(key, reset, "after")
        for key in set(self.planned) - set(wanted):
            self.planned.pop(key, None)
            self._planned_offset.pop(key, None)
        return out

    def _queue(self, key: str, reset: float, phase: str) -> list[tuple[str, str]]:
        if (key, reset, phase) in self.queued:
            return []
        self.queued.add((key, reset, phase))
        holder = self.desk.shared.lock.holder if self.desk.shared is not None else None
        if holder is not None and holder.account == key and holder.phase == "active":
            return [(key, phase)]  # it is live already: its snapshots are the visit
        why = submit(self.desk, key, KIND, priority=True)  # [H] 3: the reset does not wait its turn
        if why is not None:
            log.warning("reset visit of %s not queued: %s", key, why)
            return []
        if phase == "missed":
            self.desk.log_activity({"kind": "job", "level": "warning", "account": key,
                                    "title": f"{self.desk.name_of(key)}: visiting it after a missed reset",
                                    "detail": "MT5 Desk was not running at its firm's daily reset; today's daily "
                                              "floor starts from the first value read now and may differ from "
                                              "the firm's"})
        return [(key, phase)]


async def run_visit(worker: Any, key: str, on_snapshot: Any, lane: str) -> tuple[bool, str, dict[str, Any]]:
    """The job itself (on the lane, the account logged in): read one snapshot and hand it to the Desk."""
    snap = await worker.request("snapshot")
    on_snapshot(key, {**snap, "lane": lane})
    return True, "read the values at the firm's daily reset", {"equity": snap.get("equity"),
                                                               "balance": snap.get("balance")}
