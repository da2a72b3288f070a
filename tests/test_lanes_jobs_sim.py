"""Jobs on real lanes (worker and terminal processes on the simulator): a second close-all runs
like the first ([R] 1), linking the account that holds the shared terminal checks the password
with the broker and ends promptly ([R] 4, [D2] 3)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lane_harness import Recorder, fast_desk, link_accounts, snapshot_of, state_of

from app.desk import Desk
from multi_user.errors import AuthorizationError

pytestmark = pytest.mark.slow


def run(loop: asyncio.AbstractEventLoop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, 120))


def job_end(key: str, kind: str):
    return lambda e: (e.get("event") == "job" and e.get("account") == key and e.get("job") == kind
                      and e.get("state") in ("done", "failed", "cancelled"))


@contextlib.asynccontextmanager
async def viewing(data_dir: Path, key: str) -> AsyncIterator[tuple[Desk, Recorder]]:
    """A started desk with ``key`` live; stopped afterwards."""
    desk = fast_desk(data_dir)
    rec = Recorder(desk)
    await desk.start()
    try:
        desk.activate(key)
        await rec.wait_for(state_of(key, "live"))
        yield desk, rec
    finally:
        await desk.stop()


@pytest.mark.parametrize("dedicated", [False, True], ids=["viewed-shared", "dedicated"])
def test_a_second_close_all_runs_like_the_first(qloop, data_dir: Path, demo_accounts: list[dict],
                                                 dedicated: bool) -> None:
    first = f"{demo_accounts[0]['login']}@{demo_accounts[0]['server']}"
    key, = link_accounts(data_dir, demo_accounts[:1], dedicated={first} if dedicated else set())
    async def scenario() -> None:
        async with viewing(data_dir, key) as (desk, rec):
            for _ in range(3):
                mark = len(rec.events)
                desk.close_all(key)
                end = await rec.wait_for(job_end(key, "close_all"), after=mark)
                assert end["state"] == "done", end
                assert isinstance(end["id"], str) and isinstance(end["result"], dict)
            ids = {e["id"] for e in rec.of("job", account=key)}
            assert len(ids) == 3  # three jobs, each with its own id
            holder = desk.lock_state()["holder"] if not dedicated else None
            assert holder is None or holder["reason"] == "viewing"

    run(qloop, scenario())


def test_relinking_the_viewed_account_checks_the_password_and_ends_promptly(qloop, data_dir: Path,
                                                                            demo_accounts: list[dict]) -> None:
    acct = demo_accounts[0]
    key, = link_accounts(data_dir, [acct])

    async def scenario() -> None:
        async with viewing(data_dir, key) as (desk, rec):
            # a wrong password for the account the terminal already shows is refused by the broker
            with pytest.raises(AuthorizationError):
                await asyncio.wait_for(desk.link_account(str(acct["login"]), acct["server"], "wrong-password"), 30)
            end = await rec.wait_for(job_end(key, "verify"))
            assert end["state"] == "failed"
            # the viewer comes back on the stored password
            mark = len(rec.events)
            await rec.wait_for(snapshot_of(key), after=mark)
            assert desk.lock_state()["holder"]["account"] == key
            # the right password is accepted, promptly, and the job ends
            mark = len(rec.events)
            await asyncio.wait_for(desk.link_account(str(acct["login"]), acct["server"], acct["password"]), 30)
            end = await rec.wait_for(job_end(key, "verify"), after=mark)
            assert end["state"] == "done"
            holder = desk.lock_state()["holder"]
            assert holder["account"] == key and holder["reason"] == "viewing"

    run(qloop, scenario())


def test_a_dedicated_account_that_falls_idle_takes_its_own_terminal_again(qloop, data_dir: Path,
                                                                         demo_accounts: list[dict]) -> None:
    """The soak's dedicated accounts left idle with no reason: whatever drops a dedicated lane's lock
    (a cancel, a release), its one account is logged in again and streams."""
    first = f"{demo_accounts[0]['login']}@{demo_accounts[0]['server']}"
    key, = link_accounts(data_dir, demo_accounts[:1], dedicated={first})

    async def scenario() -> None:
        async with viewing(data_dir, key) as (desk, rec):
            lane = desk.dedicated[key]
            for drop in (lambda: lane.lock.release(key), lambda: lane.lock.forget(key) or lane.lock.release(key)):
                mark = len(rec.events)
                drop()
                await rec.wait_for(state_of(key, "live"), after=mark)  # logged in again, not only streaming
                assert lane.lock.holder is not None and lane.lock.holder.account == key
                mark = len(rec.events)
                await rec.wait_for(snapshot_of(key), after=mark)

    run(qloop, scenario())


def test_expert_advisors_on_the_shared_terminal_are_told_once(qloop, data_dir: Path, demo_accounts: list[dict]) -> None:
    """[W] 5: an account whose positions were opened by EAs, viewed on the shared terminal, gets one notice
    (its EAs restart at every switch and run only while it is shown), not one per snapshot."""
    key, = link_accounts(data_dir, demo_accounts[:1])

    async def scenario() -> None:
        async with viewing(data_dir, key) as (_desk, rec):
            notice = await rec.wait_for(lambda e: e.get("event") == "notice" and e.get("account") == key)
            assert "Expert Advisor" in notice["message"] and notice["level"] == "warning"
            mark = len(rec.events)
            for _ in range(3):
                await rec.wait_for(snapshot_of(key), after=len(rec.events))
            assert not [e for e in rec.events[mark:] if e.get("event") == "notice" and e.get("account") == key]

    run(qloop, scenario())
