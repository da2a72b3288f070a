"""The Desk's sweep visits: an idle shared account is logged in briefly for fresh values (when the
owner turned sweeps on), never one whose password was rejected, and always said so in the window
and the activity log; after start, the account watched last time is logged back in."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.desk import Desk

log = logging.getLogger("mt5desk.desk")


class SweepOps:
    _swept: dict[str, float]

    async def _resume(self: Desk) -> None:
        """After start: one sweep visit per idle shared account (when sweeps are on), then log the
        account the owner was watching last time back in."""
        lane = self.shared
        if lane is None:
            return
        if self.settings.get("sweep_enabled"):
            minutes = float(self.settings.get("sweep_min_minutes") or 30)
            now = time.time()
            failed = self.health.login_failed()  # never retried unasked: the owner fixes the password first
            due = [k for k in lane.accounts if k not in failed
                   and now - float((self._snapshots.get(k) or {}).get("ts") or 0.0) >= 60.0 * minutes]
            if due:
                self.emit({"event": "notice", "level": "info", "kind": "sweep",
                           "title": f"Visiting {len(due)} account{'s' if len(due) != 1 else ''} once for fresh values",
                           "message": f"their last values are older than {minutes:.0f} min, so the shared terminal "
                                      "logs each in briefly, then returns to the account you watch "
                                      "(Settings → visit idle accounts)."})
            for key in due:
                if lane.lock.sweep_next(key) is None:
                    break  # the owner asked for something meanwhile: theirs comes first
                self._swept[key] = now
                await self._wait_visit(key)
        last = self.settings.get("last_active")
        target = last if last in lane.accounts else next(iter(lane.accounts), None)
        if target in self.health.login_failed():
            return  # its password was rejected: logging it in again unasked would only fail again
        if target is not None and lane.lock.holder is None and not lane.lock.queue:
            self.activate(target)

    async def _wait_visit(self: Desk, key: str, timeout: float = 20.0) -> None:
        done = asyncio.get_running_loop().create_future()

        def watch(ev: dict[str, Any]) -> None:
            lane = self.shared
            if lane is not None and (lane.lock.holder is None or lane.lock.holder.account != key) and not done.done():
                done.set_result(None)

        self.event.connect(watch)
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            log.warning("sweep visit of %s took longer than %.0f s", key, timeout)
        finally:
            self.event.disconnect(watch)

    def _maybe_sweep(self: Desk, now: float) -> None:
        lane = self.shared
        if lane is None or not self.settings.get("sweep_enabled"):
            return
        if lane.lock.holder is not None or self._lock_state.get("queue"):
            return
        min_gap = 60.0 * float(self.settings.get("sweep_min_minutes") or 30)
        failed = self.health.login_failed()
        for key in lane.accounts:
            if key in failed:
                continue  # a rejected password is not retried unasked
            last = self._swept.get(key, 0.0)
            snap_ts = float((self._snapshots.get(key) or {}).get("ts") or 0.0)
            if now - last >= min_gap and now - snap_ts >= min_gap:
                self._swept[key] = now
                if lane.lock.sweep_next(key) is not None:
                    self.log_activity({"kind": "sweep", "account": key,
                                       "title": f"Visiting {self.name_of(key)} for fresh values",
                                       "detail": "idle for a while; logged in briefly "
                                                 "(Settings → visit idle accounts)"})
                return
