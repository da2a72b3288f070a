"""The app side of bots (app/bots.py) against a real lock and a stand-in worker (no processes): a bot is a
``bot`` job that waits for the lock, refusals change nothing, and the guard's block or a close-all stops it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal

from app.bots import BotManager
from app.lock import ActiveAccountLock
from multi_user.errors import BadInput

A, B, RO = "1@S", "2@S", "3@S"


class FakeWorker:
    def __init__(self, lane: FakeLane) -> None:
        self.lane = lane
        self.running = True
        self.calls: list[tuple[str, dict]] = []

    async def request(self, op: str, **fields: Any) -> Any:
        self.calls.append((op, fields))
        if op == "bot_check":
            if fields["bot"] != "grid":
                raise BadInput(f"no bot named {fields['bot']!r}")
            return {"values": {"levels": 3, **fields["params"]}}
        if op == "bot_start":
            self.lane.push({"type": "bot", "kind": "state", "state": "running", "account": self.lane.holder_key()})
        if op == "bot_stop":
            self.lane.push({"type": "bot", "kind": "state", "state": "paused" if fields.get("pause") else "stopped",
                            "message": fields["message"], "orders": 0, "retcodes": [],
                            "account": self.lane.holder_key()})
        return {}


class FakeLane:
    """Lane's part that matters here: the lock decides, logins succeed at once, jobs run through job_runners."""

    def __init__(self, desk: FakeDesk) -> None:
        self.name = "shared"
        self.desk = desk
        self.accounts = {k: SimpleNamespace(key=k, login=int(k[0]), server="S") for k in (A, B, RO)}
        self.lock = ActiveAccountLock(listener=self._event)
        self.lock.worker_ready()
        self.worker = FakeWorker(self)
        self.job_runners: dict = {}
        self.push_hooks: dict = {}
        self.tasks: set = set()

    def holder_key(self) -> str | None:
        return self.lock.holder.account if self.lock.holder else None

    def push(self, msg: dict) -> None:
        self.push_hooks[msg["type"]](self, msg)

    def _event(self, ev: dict) -> None:
        self.desk.emit({**ev, "lane": self.name})
        asyncio.get_event_loop().call_soon(self.pump)

    def pump(self) -> None:
        h = self.lock.holder
        if h is None:
            return
        if h.phase == "switching":
            self.lock.switch_succeeded(h.account)
        elif h.job is not None and h.job.state == "started" and not getattr(h.job, "dispatched", False):
            h.job.dispatched = True
            task = asyncio.ensure_future(self.run(h.job))
            self.tasks.add(task)

    async def run(self, job: Any) -> None:
        if job.kind == "close_all":
            self.lock.job_finished(job.id, True, "closed 0", result={"closed": 0, "failed": 0})
            return
        ok, message, result, retcodes = await self.job_runners[job.kind](self, job)
        self.lock.job_finished(job.id, ok, message, result=result, retcodes=retcodes)


class FakeDesk(QObject):
    event = Signal(dict)

    def __init__(self, data_dir: Path) -> None:
        super().__init__()
        self.data_dir = data_dir
        self.settings: dict = {}
        self.blocked: set[str] = set()
        self.guard = SimpleNamespace(is_blocked=lambda k: k in self.blocked)
        self.events: list[dict] = []
        self.changed = asyncio.Event()
        self.shared = FakeLane(self)

    def emit(self, ev: dict) -> None:
        self.events.append(ev)
        self.changed.set()
        self.event.emit(ev)

    def accounts(self) -> list[dict]:
        return [{"key": k, "investor": k == RO} for k in (A, B, RO)]

    def lane_of(self, key: str) -> FakeLane:
        return self.shared

    async def io(self, fn: Any, *args: Any) -> Any:
        return fn(*args)

    def close_all(self, key: str) -> None:
        self.shared.lock.run_job(key, "close_all")

    async def until(self, pred: Any, timeout: float = 5.0) -> dict:
        async def wait() -> dict:
            seen = 0
            while True:
                for ev in self.events[seen:]:
                    if pred(ev):
                        return ev
                seen = len(self.events)
                self.changed.clear()
                await self.changed.wait()
        return await asyncio.wait_for(wait(), timeout)


def bot_state(key: str, state: str):
    return lambda e: e.get("event") == "bot" and e.get("account") == key and e.get("state") == state


@pytest.fixture
def desk(qloop, tmp_path: Path) -> FakeDesk:
    return FakeDesk(tmp_path)


def test_a_second_bot_waits_for_the_lock_and_starts_when_the_first_stops(qloop, desk: FakeDesk) -> None:
    bots = BotManager(desk)

    async def scenario() -> None:
        await bots.start(A, "grid", {})
        await desk.until(bot_state(A, "running"))
        await bots.start(B, "grid", {"levels": 5})
        await desk.until(bot_state(B, "waiting"))
        assert desk.shared.lock.holder.account == A and bots.runs[B].state == "waiting"
        assert bots.stop(A)
        await desk.until(bot_state(A, "stopped"))
        await desk.until(bot_state(B, "running"))
        starts = [f for op, f in desk.shared.worker.calls if op == "bot_start"]
        assert [s["login"] for s in starts] == [1, 2] and starts[1]["params"] == {"levels": 5}
        bots.stop(B)
        await desk.until(bot_state(B, "stopped"))

    qloop.run_until_complete(scenario())
    jobs = [e for e in desk.events if e.get("event") == "job" and e["job"] == "bot"]
    assert [(e["account"], e["state"]) for e in jobs if e["state"] != "queued"] == [
        (A, "started"), (A, "done"), (B, "started"), (B, "done")]


def test_refusals_change_nothing(qloop, desk: FakeDesk) -> None:
    bots = BotManager(desk)
    desk.blocked.add(B)

    async def scenario() -> None:
        with pytest.raises(BadInput, match="read-only"):
            await bots.start(RO, "grid", {})
        with pytest.raises(BadInput, match="risk guard blocks"):
            await bots.start(B, "grid", {})
        with pytest.raises(BadInput, match="no bot named 'nope'"):
            await bots.start(A, "nope", {})
        with pytest.raises(BadInput, match="turns is a number of minutes"):
            await bots.start(A, "grid", {}, turns=-1)
        assert bots.runs == {} and desk.shared.lock.queue == [] and desk.shared.lock.holder is None
        await bots.start(A, "grid", {}, restart=True)
        with pytest.raises(BadInput, match="already"):
            await bots.start(A, "grid", {})
        assert (desk.data_dir / "bots.json").is_file()
        bots.stop(A)
        await desk.until(bot_state(A, "stopped"))

    qloop.run_until_complete(scenario())
    assert (desk.data_dir / "bots.json").read_text().strip() == "{}"  # the owner stopped it: no restart


def test_a_waiting_bot_stopped_leaves_the_queue(qloop, desk: FakeDesk) -> None:
    bots = BotManager(desk)

    async def scenario() -> None:
        await bots.start(A, "grid", {})
        await desk.until(bot_state(A, "running"))
        await bots.start(B, "grid", {})
        bots.stop(B)
        await desk.until(bot_state(B, "stopped"))
        assert desk.shared.lock.queue == [] and bots.runs[A].state == "running"
        bots.stop(A)
        await desk.until(bot_state(A, "stopped"))

    qloop.run_until_complete(scenario())
    assert not [op for op, f in desk.shared.worker.calls if op == "bot_start" and f["login"] == 2]


@pytest.mark.parametrize("how", ["guard", "close_all"])
def test_the_guard_block_or_a_close_all_stops_the_bot(qloop, desk: FakeDesk, how: str) -> None:
    bots = BotManager(desk)

    async def scenario() -> None:
        await bots.start(A, "grid", {})
        await desk.until(bot_state(A, "running"))
        if how == "guard":
            desk.emit({"event": "guard", "account": A, "blocked": True})
        else:
            desk.close_all(A)
        stopped = await desk.until(bot_state(A, "stopped"))
        assert ("risk guard" if how == "guard" else "close-all") in stopped["message"]
        if how == "close_all":
            await desk.until(lambda e: e.get("event") == "job" and e["job"] == "close_all" and e["state"] == "done")

    qloop.run_until_complete(scenario())


def test_a_bot_stopped_as_its_job_starts_ends_stopped_without_running(qloop, desk: FakeDesk) -> None:
    bots = BotManager(desk)

    async def scenario() -> None:
        await bots.start(A, "grid", {})
        await desk.until(bot_state(A, "running"))
        await bots.start(B, "grid", {})
        bots.runs[B].stopping = "stopped by the owner"  # the stop came after the lock had started its job
        bots.stop(A)
        ev = await desk.until(bot_state(B, "stopped"))
        assert ev["message"] == "stopped by the owner" and bots.runs[B].state == "stopped"
        await desk.until(lambda e: e.get("event") == "job" and e.get("account") == B and e["state"] == "done")

    qloop.run_until_complete(scenario())
    assert not [f for op, f in desk.shared.worker.calls if op == "bot_start" and f["login"] == 2]
