"""A lane's jobs and switches against a scripted worker (no processes): each job runs exactly once
([R] 1), a started job is never reported ended while the worker carries it out ([R] 3), an
unexpected exception ends a switch as failed without a retry loop ([R] 14), and a verify on the
account already shown always logs in with the password ([R] 4)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.lanes import Lane, LaneAccount, LaneConfig

A, B = "1001@Sim", "1002@Sim"


class ScriptedWorker:
    """Answers the lane's requests; close_all waits until the test lets it finish."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.gate: asyncio.Event | None = None
        self.switch_error: BaseException | None = None
        self.close_answer: dict[str, Any] = {"closed": 0, "failed": 0, "messages": []}
        self.running = True
        self.pid = 4242

    async def request(self, op: str, **fields: Any) -> Any:
        return await self.answer(self.send(op, **fields))

    def send(self, op: str, **fields: Any) -> tuple[str, dict[str, Any]]:
        self.calls.append((op, fields))
        changed()
        return op, fields

    def forget(self, sent: Any) -> None:
        pass

    async def answer(self, sent: tuple[str, dict[str, Any]], **_kw: Any) -> Any:
        op, fields = sent
        if op == "switch":
            if self.switch_error is not None:
                raise self.switch_error
            return {"login": fields["login"], "server": fields["server"], "relogged": True}
        if op == "close_all":
            if self.gate is not None:
                await self.gate.wait()
            return dict(self.close_answer)
        if op == "snapshot":
            return {"login": 1001, "server": "Sim", "equity": 1.0}
        return None

    def notify(self, op: str, **fields: Any) -> None:
        self.calls.append((op, fields))

    def ops(self, op: str) -> list[dict[str, Any]]:
        return [f for o, f in self.calls if o == op]


@pytest.fixture
def lane(qloop, data_dir: Path):
    events: list[dict[str, Any]] = []

    async def password(key: str) -> str:
        return "pw-" + key

    cfg = LaneConfig("shared", data_dir, "sim", None, portable=False, start_terminal=False)
    def emit(event: dict[str, Any]) -> None:
        events.append(event)
        changed()

    ln = Lane(cfg, emit=emit, password=password, on_snapshot=lambda k, d: None)
    ln.set_accounts([LaneAccount(A, 1001, "Sim"), LaneAccount(B, 1002, "Sim")])
    ln.worker = ScriptedWorker()  # type: ignore[assignment]
    ln._worker_up = True
    ln.lock.worker_ready()
    ln.events = events  # type: ignore[attr-defined]
    yield ln
    ln._stopping = True
    for t in list(ln._tasks):
        t.cancel()
    qloop.run_until_complete(asyncio.gather(*ln._tasks, return_exceptions=True))


CHANGED: list[asyncio.Event] = []  # set on every lane event and worker request


def changed() -> None:
    for ev in CHANGED:
        ev.set()


async def until(predicate, timeout: float = 5.0) -> None:
    """Wait (with a timeout) until ``predicate`` holds, re-checking after each event or request."""
    ev = asyncio.Event()
    CHANGED[:] = [ev]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        ev.clear()
        await asyncio.wait_for(ev.wait(), max(0.0, deadline - loop.time()))


def job_states(lane: Lane, account: str) -> list[tuple[str, str]]:
    return [(e["id"], e["state"]) for e in lane.events if e.get("event") == "job" and e["account"] == account]


def test_each_close_all_on_the_viewed_account_runs_once(qloop, lane: Lane) -> None:
    async def scenario() -> None:
        lane.lock.activate(A)
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")
        for n in (1, 2, 3):
            job = lane.lock.run_job(A, "close_all")
            await until(lambda job=job: job.ended)
            assert job.state == "done" and len(lane.worker.ops("close_all")) == n
        assert lane.lock.holder.reason == "viewing"
        assert len({jid for jid, _ in job_states(lane, A)}) == 3

    qloop.run_until_complete(scenario())


@pytest.mark.parametrize("interrupt", ["release", "preempt", "forget"])
def test_a_running_close_all_is_not_reported_ended_until_the_worker_answers(qloop, lane: Lane,
                                                                             interrupt: str) -> None:
    lane.worker.gate = asyncio.Event()
    lane.worker.close_answer = {"closed": 2, "failed": 1, "messages": ["EURUSD #7: market closed (10018)"],
                                "retcodes": [10009, 10009, 10018]}

    async def scenario() -> None:
        job = lane.lock.run_job(A, "close_all")
        await until(lambda: len(lane.worker.ops("close_all")) == 1)
        if interrupt == "release":
            assert lane.lock.release()
        elif interrupt == "preempt":
            lane.lock.activate(B, preempt=True)
        else:
            lane.lock.forget(A)
        for _ in range(5):
            await asyncio.sleep(0)  # let any wrong report happen
        assert job.state == "started" and lane.lock.holder.account == A
        assert [s for _, s in job_states(lane, A)] == ["queued", "started"]
        lane.worker.gate.set()
        await until(lambda: job.ended)
        end = [e for e in lane.events if e.get("event") == "job" and e["state"] == "failed"][-1]
        assert end["result"] == {"closed": 2, "failed": 1} and end["retcodes"] == [10009, 10009, 10018]
        assert "closed 2 position(s), 1 failed" in end["message"]
        if interrupt == "preempt":
            await until(lambda: lane.lock.holder is not None and lane.lock.holder.account == B)
        else:
            assert lane.lock.holder is None

    qloop.run_until_complete(scenario())


def test_an_unexpected_error_in_a_switch_fails_it_once_with_an_error_event(qloop, lane: Lane) -> None:
    lane.worker.switch_error = RuntimeError("bug in the bridge")

    async def scenario() -> None:
        job = lane.lock.run_job(A, "close_all")
        await until(lambda: job.ended)
        assert job.state == "failed" and "RuntimeError" in (job.message or "")
        for _ in range(20):
            await asyncio.sleep(0)  # a retry loop would show up as more switch calls
        assert len(lane.worker.ops("switch")) == 1
        assert lane.lock.holder is None and lane.lock.states[A][0] == "offline"
        assert any(e.get("event") == "error" and "RuntimeError" in e["message"] for e in lane.events)

    qloop.run_until_complete(scenario())


def test_verify_on_the_viewed_account_logs_in_with_the_password(qloop, lane: Lane) -> None:
    async def scenario() -> None:
        lane.lock.activate(A)
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")
        snap = await lane.verify(A, timeout=5)
        assert snap["login"] == 1001
        checks = [f for f in lane.worker.ops("switch") if f.get("check_password")]
        assert len(checks) == 1 and checks[0]["password"] == "pw-" + A
        assert lane.lock.holder.account == A and lane.lock.holder.reason == "viewing"

    qloop.run_until_complete(scenario())


def test_a_verify_that_logs_in_checks_the_password_once(qloop, lane: Lane) -> None:
    async def scenario() -> None:
        await lane.verify(B, timeout=5)
        assert [bool(f.get("check_password")) for f in lane.worker.ops("switch")] == [True]

    qloop.run_until_complete(scenario())


def test_a_close_all_the_worker_did_not_answer_in_time_ends_only_when_the_worker_is_gone(qloop, lane: Lane) -> None:
    from app.worker_client import WorkerError
    from multi_user import worker_protocol as wp

    async def timed_out(op: str, **fields: Any) -> Any:
        lane.worker.calls.append((op, fields))
        changed()
        if op == "close_all":
            try:
                raise TimeoutError
            except TimeoutError:
                raise WorkerError(wp.ERR_IPC, "shared worker did not answer 'close_all' within 90 s") from None
        return {}

    lane.worker.request = timed_out  # type: ignore[method-assign]

    async def scenario() -> None:
        job = lane.lock.run_job(A, "close_all")
        await until(lambda: len(lane.worker.ops("close_all")) == 1)
        for _ in range(5):
            await asyncio.sleep(0)  # let any wrong report happen
        assert job.state == "started"  # the worker may still be closing positions
        lane.worker.running = False
        lane.lock.worker_crashed()  # the hung worker is killed ([R] 7): now the job has really stopped
        assert job.state == "failed" and "worker stopped" in (job.message or "")

    qloop.run_until_complete(scenario())
