"""[E] 1: deals and history orders fetched from the terminal (times to UTC on the way in), kept in the
data dir across restarts and a kill -9 of the writer, fetched incrementally, and a versioned schema."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from types import ModuleType

import pytest
from kill9 import kill_writer_after

from app.deals_store import SCHEMA_VERSION, DealsStore, DealsStoreError
from app.deals_sync import DealsSync
from multi_user import deal_time
from multi_user.bridge import UserMT5Bridge
from multi_user.mt5sim import manual

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def live(mt5: ModuleType, demo_accounts: list[dict]) -> tuple[UserMT5Bridge, dict]:
    a = next(x for x in demo_accounts if x["server"].startswith("SimBroker"))  # a New-York-close clock
    b = UserMT5Bridge(mt5, timeout_ms=10000)
    b.switch(a["login"], a["password"], a["server"])
    return b, a


def world_deals(world: Path, login: int, server: str) -> dict[int, int]:
    con = sqlite3.connect(world / "world.sqlite3")
    try:
        return dict(con.execute("SELECT ticket, time_msc FROM deals WHERE login=? AND server=?", (login, server)))
    finally:
        con.close()


def test_a_full_fetch_converts_server_times_to_utc_and_survives_a_restart(live, sim_world: Path,
                                                                          data_dir: Path) -> None:
    bridge, a = live
    fetched = bridge.history()
    assert fetched["offset"] in (7200, 10800) and fetched["login"] == a["login"]
    truth = world_deals(sim_world, a["login"], a["server"])  # the broker's own UTC times
    assert len(truth) > 50 and len(fetched["deals"]) == len(truth)
    store = DealsStore(data_dir)
    assert store.save(fetched) == len(truth)
    del store
    again = DealsStore(data_dir)  # a restart: a new store object on the same file
    key = f"{a['login']}@{a['server']}"
    deals = again.deals(key)
    # 90 days back crosses a daylight-saving change: every deal's UTC time is still exact
    assert {d["ticket"]: d["time_msc"] for d in deals} == truth
    assert [d["time"] for d in deals] == sorted(d["time"] for d in deals)
    assert again.orders(key) and again.account(key)["currency"] == fetched["currency"]
    assert again.account(key)["full_fetch_at"] is not None


def test_the_next_fetch_is_incremental_and_adds_only_new_deals(live, sim_world: Path, data_dir: Path) -> None:
    bridge, a = live
    store = DealsStore(data_dir)
    key = f"{a['login']}@{a['server']}"
    assert store.fetch_args(key) == {"since": None, "offset": None}
    store.save(bridge.history())
    total = len(store.deals(key))
    args = store.fetch_args(key)
    assert args["since"] is not None and args["offset"] in (7200, 10800)
    part = bridge.history(**args)
    assert 0 < len(part["deals"]) < total  # only the last week (or so) is read again
    assert store.save(part) == 0  # nothing new, nothing doubled
    opened = manual.trade(sim_world, a["login"], a["server"], "EURUSD", "buy", 0.1)
    manual.close(sim_world, opened["position"] if "position" in opened else opened["ticket"])
    assert store.save(bridge.history(**store.fetch_args(key))) == 2  # the entry and the exit
    assert len(store.deals(key)) == total + 2


def test_deals_survive_a_kill_9_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "deals.sqlite3"
    committed = kill_writer_after(ROOT / "tests" / "helpers" / "deals_writer.py", path, 5000)
    store = DealsStore(path)
    con = sqlite3.connect(path)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        con.close()
    n = len(store.deals("1@S"))
    assert n >= committed and n % 500 == 0  # every commit is whole: no half-written fetch


def test_schema_version_and_migration(tmp_path: Path) -> None:
    path = tmp_path / "deals.sqlite3"
    sqlite3.connect(path).close()  # an empty file: version 0
    DealsStore(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")} >= {
        "deals", "orders", "accounts"}
    con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(DealsStoreError, match="newer MT5 Desk"):
        DealsStore(path)
    assert path.read_bytes() == before


def test_new_york_close_times_follow_their_own_date() -> None:
    summer, winter = 1783000000.0, 1767571200.0  # 2026-07-02 and 2026-01-05, UTC
    assert deal_time.server_to_utc(summer + 3 * 3600, 7200) == summer  # learned in winter, used in summer
    assert deal_time.server_to_utc(winter + 2 * 3600, 10800) == winter
    assert deal_time.server_to_utc(winter + 3600, 3600) == winter  # any other offset is fixed
    assert deal_time.utc_to_server(summer, 7200) == summer + 3 * 3600


class FakeLane:
    def __init__(self, worker: FakeWorker, holder=None) -> None:
        self.worker = worker
        self.lock = type("Lock", (), {"holder": holder})()


class FakeWorker:
    def __init__(self, answer: dict) -> None:
        self.answer, self.asked = answer, []

    async def request(self, op: str, **fields):
        self.asked.append((op, fields))
        return self.answer


def test_deals_sync_fetches_a_live_account_once_per_interval(data_dir: Path) -> None:
    events, tasks = [], []

    async def io(fn, *args):
        return fn(*args)

    async def main() -> None:
        sync = DealsSync(data_dir, io=io, emit=events.append, spawn=lambda c: tasks.append(asyncio.ensure_future(c)))
        worker = FakeWorker({"login": 7, "server": "S", "currency": "USD", "offset": 0, "fetched_at": 1.0,
                             "since": None, "orders": [],
                             "deals": [{"ticket": 1, "time": 1.0, "time_msc": 1000, "type": 2, "profit": 100.0}]})
        sweep = type("Holder", (), {"account": "7@S", "reason": "sweep"})()
        sync.on_snapshot("7@S", FakeLane(worker, sweep))  # a sweep visit stays brief: no fetch
        sync.on_snapshot("7@S", FakeLane(worker))
        sync.on_snapshot("7@S", FakeLane(worker))  # within the interval (and while busy): no second fetch
        await asyncio.gather(*tasks)
        sync.on_snapshot("7@S", FakeLane(worker))
        await asyncio.gather(*tasks)
        assert [op for op, _ in worker.asked] == ["history"]
        assert worker.asked[0][1]["since"] is None

    asyncio.run(main())
    assert events[-1]["event"] == "deals" and events[-1]["state"] == "ok" and events[-1]["new"] == 1
    assert DealsStore(data_dir).deals("7@S")[0]["profit"] == 100.0
