"""[H] 6 flatten on the simulator: positions closed AND pending orders deleted; the result says how many;
flatten all on shared and dedicated accounts leaves every tradeable account flat, the shared ones one
after another through the lock, the read-only (investor) account skipped; a job that could open a
position on a blocked account is refused with the reason."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from lane_harness import Recorder, fast_desk, link_accounts, snapshot_of

from app import flatten
from multi_user.bridge import UserMT5Bridge
from multi_user.closing import flatten_result
from multi_user.mt5sim import manual, world


def open_book(sim_world: Path, a: dict[str, Any], positions: int = 2, orders: int = 2) -> None:
    for _ in range(positions):
        assert manual.trade(sim_world, a["login"], a["server"], "EURUSD", "buy", 0.1)["retcode"] == 10009
    for i in range(orders):
        out = manual.trade(sim_world, a["login"], a["server"], "EURUSD", "buy", 0.1, pending=0.5 + i / 100)
        assert out["retcode"] == 10009, out


def book(sim_world: Path, a: dict[str, Any]) -> tuple[int, int]:
    con = world.connect(sim_world)
    try:
        who = (a["login"], a["server"])
        pos = con.execute("SELECT COUNT(*) FROM positions WHERE login = ? AND server = ?", who).fetchone()[0]
        orders = con.execute("SELECT COUNT(*) FROM orders WHERE login = ? AND server = ? AND history = 0",
                             who).fetchone()[0]
        return int(pos), int(orders)
    finally:
        con.close()


def test_the_bridge_deletes_every_pending_order_and_counts_them(mt5: ModuleType, sim_world: Path,
                                                                demo_accounts: list[dict]) -> None:
    a = demo_accounts[0]
    open_book(sim_world, a, positions=1, orders=3)
    held, pending = book(sim_world, a)  # the demo world's own positions and orders too
    bridge = UserMT5Bridge(mt5, timeout_ms=10000)
    bridge.switch(a["login"], a["password"], a["server"])
    closed = bridge.close_all_positions()
    deleted = bridge.delete_pending_orders()
    assert deleted == {"deleted": pending, "failed": 0, "messages": [], "retcodes": [10009] * pending}
    assert closed["closed"] == held and pending >= 3
    assert book(sim_world, a) == (0, 0)
    merged = flatten_result(closed, {**deleted, "failed": 1, "messages": ["order EURUSD #9: refused (10013)"]})
    assert merged["closed"] == held and merged["deleted"] == pending and merged["failed"] == 1
    assert flatten.close_outcome(merged)[3] == (f"closed {held} position(s), deleted {pending} order(s), 1 failed: "
                                                "order EURUSD #9: refused (10013)")


def test_a_blocked_account_refuses_jobs_that_could_open_a_position() -> None:
    jobs: list[tuple[str, str]] = []
    lock = SimpleNamespace(run_job=lambda k, kind, priority=False: jobs.append((k, kind)))
    lane = SimpleNamespace(accounts={"1@S"}, lock=lock)
    events: list[dict[str, Any]] = []
    desk = SimpleNamespace(guard=SimpleNamespace(is_blocked=lambda key: True), lane_of=lambda key: lane,
                           name_of=lambda key: key, emit=events.append)
    why = flatten.submit(desk, "1@S", "order_send")  # type: ignore[arg-type]
    assert why is not None and "blocked by its hard stop" in why and "Re-arm" in why
    assert events[-1]["event"] == "error" and events[-1]["message"] == why and jobs == []
    for kind in ("flatten", "close_all", "reset_visit"):  # never opening a position: never refused
        assert flatten.submit(desk, "1@S", kind) is None  # type: ignore[arg-type]
    assert jobs == [("1@S", "flatten"), ("1@S", "close_all"), ("1@S", "reset_visit")]


@pytest.mark.slow
def test_flatten_all_on_shared_and_dedicated_accounts(qloop, data_dir: Path, sim_world: Path,
                                                       demo_accounts: list[dict]) -> None:
    from multi_user.vault import Vault

    shared, dedicated = demo_accounts[1:3], demo_accounts[3:4]
    keys = link_accounts(data_dir, [*shared, *dedicated], dedicated={f"{a['login']}@{a['server']}" for a in dedicated})
    inv = demo_accounts[9]
    vault = Vault.open(data_dir)
    try:
        vault.link(inv["login"], inv["server"], inv["investor_password"], label="investor", investor=True)
    finally:
        vault.close()
    investor_key = f"{inv['login']}@{inv['server']}"
    for a in [*shared, *dedicated, inv]:
        open_book(sim_world, a)
    before = {f"{a['login']}@{a['server']}": book(sim_world, a) for a in [*shared, *dedicated, inv]}

    async def scenario() -> None:
        desk = fast_desk(data_dir)
        rec = Recorder(desk)
        await desk.start()
        try:
            await rec.wait_for(snapshot_of(keys[2]))  # the dedicated lane is up
            out = flatten.flatten_all(desk)
            assert sorted(out["queued"]) == sorted(keys)
            assert [k for k, _ in out["skipped"]] == [investor_key]
            for key in keys:
                end = await rec.wait_for(lambda e, key=key: e.get("event") == "job" and e.get("job") == "flatten"
                                         and e.get("account") == key and e.get("state") in ("done", "failed"),
                                         timeout=90)
                held, pending = before[key]
                assert end["state"] == "done", end
                assert end["result"] == {"closed": held, "failed": 0, "deleted": pending}, end
        finally:
            await desk.stop()
        # the lock: on the shared lane a flatten starts only after the one before it ended
        shared_keys = set(keys[:2])
        order = [(e["account"], e["state"]) for e in rec.of("job") if e.get("job") == "flatten"
                 and e["account"] in shared_keys and e["state"] in ("started", "done")]
        assert len(order) == 4 and order[0][1] == "started" and order[1] == (order[0][0], "done"), order

    qloop.run_until_complete(asyncio.wait_for(scenario(), 150))
    for a in [*shared, *dedicated]:
        assert book(sim_world, a) == (0, 0)
    assert book(sim_world, inv) == before[investor_key]  # the read-only account was not touched


@pytest.mark.slow
def test_headless_flatten_all_on_the_demo_world(data_dir: Path, sim_world: Path, demo_accounts: list[dict]) -> None:
    """{"cmd": "flatten_all"} on the headless host: every tradeable demo account ends flat (positions and
    pending orders), the investor account is skipped, the shared ones go one after another through the lock."""
    from tests.test_headless import Headless

    for a in demo_accounts[:3]:
        manual.trade(sim_world, a["login"], a["server"], "EURUSD", "buy", 0.1, pending=0.5)
    host = Headless(data_dir, duration=120)
    with host:
        accounts = host.wait_for(lambda e: e["event"] == "accounts" and e["accounts"])["accounts"]
        investor = {a["key"] for a in accounts if a["investor"]}
        dedicated = {a["key"] for a in accounts if a["mode"] == "dedicated"}
        for key in dedicated:
            host.wait_for(lambda e, k=key: e["event"] == "snapshot" and e["account"] == k)
        host.send({"cmd": "flatten_all", "id": "f1"})
        answer = host.wait_for(lambda e: e["event"] == "flatten" and e.get("id") == "f1")
        assert {s["account"] for s in answer["skipped"]} == investor and investor
        for key in answer["queued"]:
            end = host.wait_for(lambda e, k=key: e["event"] == "job" and e["job"] == "flatten" and e["account"] == k
                                and e["state"] in ("done", "failed"), timeout=90)
            assert end["state"] == "done", end
        host.send({"cmd": "quit"})
        assert host.finish() == 0
    assert set(answer["queued"]) == {a["key"] for a in accounts} - investor
    for a in demo_accounts:
        key = f"{a['login']}@{a['server']}"
        if key in answer["queued"]:
            assert book(sim_world, a) == (0, 0), key
    shared_runs = [(e["account"], e["state"]) for e in host.events if e["event"] == "job" and e["job"] == "flatten"
                   and e["account"] not in dedicated and e["state"] in ("started", "done")]
    for i in range(0, len(shared_runs), 2):  # on the shared lane: start, done, start, done — never two at once
        assert shared_runs[i][1] == "started" and shared_runs[i + 1] == (shared_runs[i][0], "done"), shared_runs


@pytest.mark.parametrize("fifo", [False, True], ids=["hedging", "fifo"])
def test_flatten_closes_the_largest_loser_first_unless_the_broker_wants_fifo(monkeypatch, fifo: bool) -> None:
    from collections import namedtuple

    from multi_user.closing import Closer

    pos = namedtuple("pos", "ticket symbol profit time_msc")
    book_ = [pos(1, "EURUSD", -5.0, 1), pos(2, "GBPUSD", -50.0, 2), pos(3, "USDJPY", 20.0, 3)]
    closed: list[int] = []
    monkeypatch.setattr(Closer, "close", lambda self, p: closed.append(p.ticket))
    bridge = UserMT5Bridge.__new__(UserMT5Bridge)
    bridge.mt5 = SimpleNamespace(account_info=lambda: SimpleNamespace(fifo_close=fifo), positions_get=lambda: book_)
    assert bridge.close_losers_first()["closed"] == 3
    assert closed == ([1, 2, 3] if fifo else [2, 1, 3])
