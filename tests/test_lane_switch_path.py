"""[P] 3: the lane's side of a quick switch, against the scripted worker of test_lanes_jobs: the password is
read as soon as the lock grants the terminal (once, for that very request), and a sweep visit whose first
snapshot comes with its login's answer gives the terminal back only once it is live."""

from __future__ import annotations

from typing import Any

from test_lanes_jobs import A, B, changed, lane, until  # noqa: F401  (lane: the fixture)

from app.lanes import Lane


def count_reads(ln: Lane) -> list[str]:
    """The accounts whose password the lane reads, in order."""
    reads: list[str] = []
    inner = ln._prefetch._read

    async def counted(key: str) -> str:
        reads.append(key)
        return await inner(key)

    ln._prefetch._read = counted  # type: ignore[method-assign]
    return reads


def test_the_password_read_starts_as_the_lock_grants_and_serves_that_login_once(qloop, lane: Lane) -> None:  # noqa: F811
    reads = count_reads(lane)

    async def scenario() -> None:
        lane.lock.activate(A)
        assert lane._prefetch._pending is not None and lane._prefetch._pending[0] is lane.lock.holder  # at once
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")
        lane.lock.activate(B)
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.account == B
                    and lane.lock.holder.phase == "active")
        assert reads == [A, B]
        assert [f["password"] for f in lane.worker.ops("switch")] == ["pw-" + A, "pw-" + B]

    qloop.run_until_complete(scenario())


def test_a_sweep_snapshot_that_comes_with_the_login_releases_the_terminal_once_live(qloop, lane: Lane) -> None:  # noqa: F811
    worker = lane.worker
    plain = worker.answer
    seen: list[dict[str, Any]] = []
    lane._on_snapshot = lambda key, data: seen.append(data)  # type: ignore[method-assign]

    async def answer(sent: Any, **kw: Any) -> Any:
        result = await plain(sent, **kw)
        op, fields = sent
        if op == "switch":  # the worker's first snapshot, read in the same pipe read as the answer
            lane._push({"type": "snapshot", "data": {"login": fields["login"], "server": fields["server"]}})
            changed()
        return result

    worker.answer = answer  # type: ignore[method-assign]

    async def scenario() -> None:
        assert lane.lock.sweep_next(A) is not None
        await until(lambda: lane.lock.holder is None and seen)
        states = [e["state"] for e in lane.events if e.get("event") == "account_state" and e["account"] == A]
        assert "live" in states and states[-1] == "idle", states

    qloop.run_until_complete(scenario())


def test_the_worker_is_asked_to_read_ahead_before_the_login(qloop, lane: Lane) -> None:  # noqa: F811
    async def scenario() -> None:
        lane.lock.activate(B)
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")
        ops = [op for op, _ in lane.worker.calls]
        assert ops[:2] == ["prepare", "switch"], ops
        assert lane.worker.ops("prepare") == [{"login": 1002, "server": "Sim"}]  # no password in it

    qloop.run_until_complete(scenario())


def test_a_login_waiting_for_a_check_of_the_same_account_reads_its_password_after_it(qloop, lane: Lane) -> None:  # noqa: F811
    """The check carries a password of its own (being verified): the login after it must not use that one."""
    from types import SimpleNamespace

    reads = count_reads(lane)

    async def scenario() -> None:
        lane._verify_jobs["check"] = SimpleNamespace(account=A)  # type: ignore[assignment]
        lane.lock.activate(A)
        assert lane._prefetch._pending is None and not lane.worker.ops("prepare") and not reads
        lane._verify_jobs.clear()  # the check ended
        lane._pump()
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")
        assert reads == [A]

    qloop.run_until_complete(scenario())


def test_the_password_read_and_the_login_start_before_the_desk_hears_of_the_grant(qloop, lane: Lane) -> None:  # noqa: F811
    """The Desk's handling of the lock event (the window's, the activity log's) no longer delays the login."""
    at_grant: list[tuple[bool, bool, list[str]]] = []
    emit = lane._emit

    def spy(event: dict[str, Any]) -> None:
        if event.get("event") == "lock" and at_grant == []:
            at_grant.append((lane._prefetch._pending is not None, lane._busy, [op for op, _ in lane.worker.calls]))
        emit(event)

    lane._emit = spy  # type: ignore[method-assign]

    async def scenario() -> None:
        lane.lock.activate(A)
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")

    qloop.run_until_complete(scenario())
    assert at_grant == [(True, True, ["prepare"])]


def test_a_password_read_reaches_the_loop_in_one_queued_call(qloop, tmp_path) -> None:
    """asyncio's call_soon_threadsafe costs two turns of the qasync loop (a queued signal, then a 0 ms timer): the
    reader settles the future from one queued Qt call instead. A failed read still fails the future."""
    import asyncio

    import pytest

    from app.lane_password import PasswordReader

    reader = PasswordReader(tmp_path)

    def read(login: int, server: str) -> str:
        if login == 2:
            raise KeyError("no password stored for 2 on Sim")
        return f"pw-{login}"

    reader._read = read  # type: ignore[method-assign]

    def not_threadsafe(*args: Any, **kw: Any) -> None:
        raise AssertionError("call_soon_threadsafe: two loop turns")

    async def scenario() -> None:
        asyncio.get_running_loop().call_soon_threadsafe = not_threadsafe  # type: ignore[method-assign]
        assert await asyncio.wait_for(reader.password(1, "Sim"), 10) == "pw-1"
        with pytest.raises(KeyError, match="no password stored"):
            await asyncio.wait_for(reader.password(2, "Sim"), 10)
        assert await reader.password(3, "Sim", temp="being-checked") == "being-checked"

    try:
        qloop.run_until_complete(scenario())
    finally:
        del qloop.call_soon_threadsafe  # the instance attribute set above
        reader.close()


def test_a_password_read_on_the_thread_has_the_worker_read_ahead_meanwhile(qloop, lane: Lane) -> None:  # noqa: F811
    """The read starts first (at hand, it sends the switch at once: below); when it has to go to the reader's
    thread, a prepare follows so the worker reads what the login needs meanwhile."""
    order: list[str] = []
    start, notify = lane._prefetch.start, lane.worker.notify
    lane._prefetch.start = lambda holder: order.append("password") or start(holder)  # type: ignore[method-assign]
    lane.worker.notify = lambda op, **f: order.append(op) or notify(op, **f)  # type: ignore[method-assign]

    async def scenario() -> None:
        lane.lock.activate(A)
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")

    qloop.run_until_complete(scenario())
    assert order == ["password", "prepare"]


def test_a_password_at_hand_goes_down_the_pipe_with_the_grant_itself(qloop, lane: Lane) -> None:  # noqa: F811
    """With the password decrypted from the reader's cached tokens (a done future), the switch is written as the
    lock grants, not on the login task's first turn; the task only awaits the answer."""
    import asyncio

    def at_hand(key: str) -> asyncio.Future[str]:
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        done.set_result("pw-" + key)
        return done

    lane._prefetch._read = at_hand  # type: ignore[assignment]

    async def scenario() -> None:
        lane.lock.activate(A)
        assert [op for op, _ in lane.worker.calls] == ["switch"]  # before any turn of the loop; no prepare
        assert lane.worker.ops("switch")[0]["password"] == "pw-" + A
        await until(lambda: lane.lock.holder is not None and lane.lock.holder.phase == "active")
        assert len(lane.worker.ops("switch")) == 1

    qloop.run_until_complete(scenario())
