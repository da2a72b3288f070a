"""The Desk's jobs in flight and its activity log: what is queued or running (asked about before a quit),
and the owner-visible entries shown at once and stored on the I/O thread, a repeated warning folded.
A mixin of app/desk.Desk."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from app.activity import JOB_END_STATES

if TYPE_CHECKING:
    from app.desk import Desk

log = logging.getLogger("mt5desk.desk")
REPEAT_ACTIVITY_AFTER = 60.0  # the same failure logged again only after this long (no storm)


class ActivityOps:
    @staticmethod
    def job_id(ev: dict[str, Any]) -> str:
        """The job's id; before the lock gave ids (CONTRACTS 1), its lane, account and job name."""
        return str(ev.get("id") or f"{ev.get('lane')}|{ev.get('account')}|{ev.get('job')}")

    def _track_job(self: Desk, ev: dict[str, Any]) -> None:
        jid = self.job_id(ev)
        if ev.get("state") in JOB_END_STATES:
            self._jobs.pop(jid, None)
        else:
            self._jobs[jid] = ev

    def pending_jobs(self: Desk) -> list[dict[str, Any]]:
        """Jobs queued or running on any lane (the owner is asked before quitting drops them)."""
        return [j for j in self._jobs.values() if j.get("job") not in ("verify", "reset_visit")]

    def log_activity(self: Desk, entry: dict[str, Any]) -> None:
        """Show an entry at once (an ``activity`` event) and store it on the I/O thread."""
        entry = {"ts": time.time(), "level": "info", "kind": "info", "account": None, "detail": "", **entry}
        fold = f"{entry['title']}|{entry['detail']}"
        if entry["level"] in ("error", "warning"):
            if entry["ts"] - self._logged.get(fold, -REPEAT_ACTIVITY_AFTER) < REPEAT_ACTIVITY_AFTER:
                return
            self._logged[fold] = entry["ts"]
        self.event.emit({**entry, "event": "activity", "ts": entry["ts"]})
        with contextlib.suppress(RuntimeError):  # the I/O thread is gone: the app is past its end
            self._io.submit(self._store_activity, entry)

    def _store_activity(self: Desk, entry: dict[str, Any]) -> None:
        try:
            self.activity.add(entry)
        except Exception as exc:  # a full disk must not stop the desk; the window showed it already
            log.warning("could not store an activity entry: %s", exc)

    async def recent_activity(self: Desk, limit: int = 500) -> list[dict[str, Any]]:
        return await self.io(self.activity.recent, limit)
