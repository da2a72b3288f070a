"""Job records (app/jobs.py): string ids that never repeat, states that only move forward, exactly
one end state, and the event fields of CONTRACTS item 1."""

from __future__ import annotations

import contextlib
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.jobs import END_STATES, Job, JobBook, JobStateError

ORDER = {"queued": 0, "started": 1, "done": 2, "failed": 2, "cancelled": 2}
OPS = st.lists(st.sampled_from(["start", "done", "failed_run", "fail", "cancel"]), max_size=8)


def apply(book: JobBook, job: Job, op: str) -> None:
    if op == "start":
        book.start(job)
    elif op == "done":
        book.finish(job, True, "closed 1", result={"closed": 1, "failed": 0}, retcodes=[10009])
    elif op == "failed_run":
        book.finish(job, False, "market closed", result={"closed": 0, "failed": 1}, retcodes=[10018])
    elif op == "fail":
        book.fail(job, "login failed")
    else:
        book.cancel(job, "cancelled by the owner")


@given(ops=OPS)
def test_a_job_only_moves_forward_and_ends_at_most_once(ops: list[str]) -> None:
    events: list[dict] = []
    book = JobBook(events.append)
    job = book.new("1@S", "close_all")
    for op in ops:
        before = (job.state, len(events))
        try:
            apply(book, job, op)
        except JobStateError:
            assert (job.state, len(events)) == before  # a refused move changes nothing and emits nothing
    states = [e["state"] for e in events]
    assert states[0] == "queued"
    assert all(ORDER[a] < ORDER[b] for a, b in itertools.pairwise(states)), states
    assert sum(s in END_STATES for s in states) <= 1
    assert "cancelled" not in states or "started" not in states  # only a job that never started is cancelled
    assert {e["id"] for e in events} == {job.id}


@given(ops=OPS)
def test_every_job_driven_to_its_end_ends_in_exactly_one_end_state(ops: list[str]) -> None:
    events: list[dict] = []
    book = JobBook(events.append)
    job = book.new("1@S", "verify")
    for op in ops:
        with contextlib.suppress(JobStateError):
            apply(book, job, op)
    if not job.ended:  # the lane always ends what it started: the worker answers
        apply(book, job, "done" if job.state == "started" else "cancel")
    assert [e["state"] for e in events].count(job.state) == 1 and job.state in END_STATES
    assert events[-1]["state"] == job.state


def test_ids_are_strings_that_never_repeat() -> None:
    book = JobBook(lambda e: None)
    jobs = [book.new("1@S", "close_all") for _ in range(1000)]
    assert all(isinstance(j.id, str) for j in jobs)
    assert len({j.id for j in jobs}) == 1000
    assert [j.number for j in jobs] == sorted(j.number for j in jobs)


def test_event_fields() -> None:
    events: list[dict] = []
    book = JobBook(events.append)
    job = book.new("1@S", "close_all")
    book.start(job)
    book.finish(job, False, "1 failed", result={"closed": 2, "failed": 1}, retcodes=[10009, 10009, 10018])
    queued, started, failed = events
    assert queued == {"event": "job", "id": job.id, "account": "1@S", "job": "close_all", "state": "queued",
                      "message": None, "retcodes": []}
    assert "result" not in started
    assert failed["state"] == "failed" and failed["result"] == {"closed": 2, "failed": 1}
    assert failed["retcodes"] == [10009, 10009, 10018]


def test_a_started_job_cannot_be_cancelled_or_finished_twice() -> None:
    book = JobBook(lambda e: None)
    job = book.new("1@S", "close_all")
    book.start(job)
    with pytest.raises(JobStateError):
        book.cancel(job, "released")
    book.finish(job, True)
    with pytest.raises(JobStateError):
        book.finish(job, True)
    with pytest.raises(JobStateError):
        book.fail(job, "late")
