"""Job records: one short action on one account (closing its positions, checking its password),
from the owner's request to its end.

A job has a string id, unique in this run of the app and never derived from a Python object's
address (those are reused), so a finished job can never be mistaken for a new one. Its state only
moves forward::

    queued -> started -> done | failed
    queued -> cancelled            (only a job that never started may be cancelled)
    queued -> failed               (it could not start: the login it needed failed)

``started`` means the worker carries the job out; a started job is never reported ended until
the worker has answered (or is dead). ``JobBook`` is the one place that changes a job's state and
emits the ``job`` event; the lock owns one per lane.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

QUEUED, STARTED, DONE, FAILED, CANCELLED = "queued", "started", "done", "failed", "cancelled"
END_STATES = frozenset({DONE, FAILED, CANCELLED})
_NEXT = {QUEUED: frozenset({STARTED, FAILED, CANCELLED}), STARTED: frozenset({DONE, FAILED})}

_numbers = itertools.count(1)  # one counter per process: ids never repeat across lanes
_RUN = f"{os.getpid():x}"  # job ids of two runs of the app differ too


class JobStateError(RuntimeError):
    """A job was asked to move backwards or to leave an end state: a bug in the caller."""


@dataclass
class Job:
    account: str
    kind: str  # "close_all" | "close_position" | "verify"
    number: int = field(default_factory=lambda: next(_numbers))  # request order, across lanes
    state: str = QUEUED
    message: str | None = None
    retcodes: list[int] = field(default_factory=list)
    result: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {"ticket": 123} for close_position

    @property
    def id(self) -> str:
        return f"j{_RUN}-{self.number}"

    @property
    def ended(self) -> bool:
        return self.state in END_STATES


class JobBook:
    """Creates jobs and moves them forward, emitting one ``job`` event per change."""

    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self._emit = emit

    def new(self, account: str, kind: str, params: dict[str, Any] | None = None) -> Job:
        job = Job(account, kind, params=dict(params or {}))
        self._emit(self.event(job))
        return job

    def start(self, job: Job) -> None:
        self._move(job, STARTED, None)

    def finish(self, job: Job, ok: bool, message: str | None = None, *, result: dict[str, Any] | None = None,
               retcodes: Iterable[int] = ()) -> None:
        if job.state != STARTED:
            raise JobStateError(f"job {job.id} is {job.state}: only a started job can finish")
        job.result = dict(result or {})
        job.retcodes = [int(c) for c in retcodes]
        self._move(job, DONE if ok else FAILED, message)

    def fail(self, job: Job, message: str | None) -> None:
        """The job could not be carried out (its login failed, its worker died)."""
        self._move(job, FAILED, message)

    def cancel(self, job: Job, message: str | None) -> None:
        self._move(job, CANCELLED, message)

    def _move(self, job: Job, state: str, message: str | None) -> None:
        if state not in _NEXT.get(job.state, ()):
            raise JobStateError(f"job {job.id} cannot go from {job.state} to {state}")
        job.state, job.message = state, message
        if state in END_STATES and job.result is None:
            job.result = {}
        self._emit(self.event(job))

    @staticmethod
    def event(job: Job) -> dict[str, Any]:
        ev: dict[str, Any] = {"event": "job", "id": job.id, "account": job.account, "job": job.kind,
                              "state": job.state, "message": job.message, "retcodes": list(job.retcodes)}
        if job.params:
            ev["params"] = dict(job.params)
        if job.ended:
            ev["result"] = dict(job.result or {})
        return ev
