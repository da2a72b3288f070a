"""What the active-account lock holds and how it tells: the holder and queue records, the
``lock`` / ``account_state`` events with their gapless ``seq``, and the views built from them.
The rules that change them are in app/lock.py."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.jobs import Job, JobBook

SWITCHING, ACTIVE = "switching", "active"


@dataclass
class Request:
    id: int
    account: str
    reason: str
    job: Job | None
    requested_at: float
    resume_viewing: bool = False  # a job on an account the owner wants to watch afterwards
    priority: bool = False  # [H] a hard stop or a reset visit: queued ahead of the other jobs


@dataclass
class Holder:
    account: str
    since: float
    reason: str
    job: Job | None
    phase: str
    request_id: int
    resume_viewing: bool = field(default=False, repr=False)
    then: str | None = None  # what follows the running job: THEN_RELEASE, THEN_FORGET or None
    priority: bool = False  # its job was a priority job (kept if the worker dies and it waits again)


class LockState:
    """Holder, queue and account states of one lane, and the events that report every change."""

    def __init__(self, listener: Callable[[dict[str, Any]], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.listener = listener
        self.clock = clock
        self.holder: Holder | None = None
        self.queue: list[Request] = []
        self.states: dict[str, tuple[str, str | None]] = {}
        self.worker_up = False
        self.jobs = JobBook(self._emit)
        self._seq = 0
        self._places: dict[str, int] = {}

    def lock_event(self) -> dict[str, Any]:
        h = self.holder
        return {"event": "lock",
                "holder": None if h is None else {
                    "account": h.account, "since": h.since, "reason": h.reason,
                    "job": h.job.kind if h.job else None, "job_id": h.job.id if h.job else None,
                    "phase": h.phase, "then": h.then, **({"priority": True} if h.priority else {})},
                "queue": [{"account": r.account, "reason": r.reason, "job": r.job.kind if r.job else None,
                           "job_id": r.job.id if r.job else None, "requested_at": r.requested_at,
                           **({"priority": True} if r.priority else {})}
                          for r in self.queue],
                "switching": h.account if h is not None and h.phase == SWITCHING else None}

    def snapshot(self) -> dict[str, Any]:
        return {**self.lock_event(), "seq": self._seq, "worker_up": self.worker_up,
                "states": {a: {"state": s, "message": m, "place": self._places.get(a)}
                           for a, (s, m) in self.states.items()},
                "requests": [{"id": r.id, "account": r.account, "reason": r.reason,
                              "job_id": r.job.id if r.job else None, "requested_at": r.requested_at,
                              "resume_viewing": r.resume_viewing} for r in self.queue]}

    def _emit_lock(self) -> None:
        self._emit(self.lock_event())
        places: dict[str, int] = {}
        held = self.holder.account if self.holder is not None else None
        for i, r in enumerate(self.queue):
            if r.account != held:  # the holder's account may also wait with another job: it stays live
                places.setdefault(r.account, i + 1)
        for account, place in places.items():
            if self._places.get(account) != place or self.states.get(account, ("",))[0] != "waiting":
                self._places[account] = place
                self.states[account] = ("waiting", None)
                self._emit({"event": "account_state", "account": account, "state": "waiting",
                            "place": place, "message": None})
        for account in [a for a in self._places if a not in places]:
            del self._places[account]

    def _set_state(self, account: str, state: str, message: str | None = None) -> None:
        if self.states.get(account) == (state, message):
            return
        self.states[account] = (state, message)
        if state != "waiting":
            self._places.pop(account, None)
        self._emit({"event": "account_state", "account": account, "state": state, "place": None,
                    "message": message})

    def _emit(self, event: dict[str, Any]) -> None:
        self._seq += 1
        event["seq"] = self._seq
        event.setdefault("ts", self.clock())
        if self.listener is not None:
            self.listener(event)
