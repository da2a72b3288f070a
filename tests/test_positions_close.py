"""[E] 3 leftovers: close ONE position (worker request, a job through the lock, the Positions tab's menu and
button with the result and its retcode), the pending orders list, and the history view's CSV export that
writes what `accounts history|trades --csv` write."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from test_close_all_sim import login, open_position
from test_history_cli import stored as stored_accounts  # noqa: F401  (a fixture: two accounts' stored history)

from app.desk_positions import PositionOps, close_outcome
from app.lock import ActiveAccountLock
from multi_user import worker_protocol as wp
from multi_user.mt5sim import control
from multi_user.worker import Worker


def ask(worker: Worker, out: io.BytesIO, op: str, **kw: Any) -> dict[str, Any]:
    worker.handle(wp.encode({"id": 7, "op": op, **kw}))
    return [json.loads(x) for x in out.getvalue().splitlines() if json.loads(x).get("id") == 7][-1]


def test_the_worker_closes_one_position_and_lists_pending_orders(mt5: ModuleType, demo_accounts: list[dict],
                                                                 sim_world: Path) -> None:
    bridge = login(mt5, demo_accounts[0])
    open_position(mt5, "EURUSD", 0.1)
    open_position(mt5, "US500", 1.0)
    before = {p.ticket: p.symbol for p in mt5.positions_get()}
    target = next(t for t, s in before.items() if s == "US500")
    tick = mt5.symbol_info_tick("EURUSD")
    placed = mt5.order_send({"action": mt5.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.2,
                             "type": mt5.ORDER_TYPE_BUY_LIMIT, "price": round(tick.ask * 0.98, 5)})
    assert placed.retcode == mt5.TRADE_RETCODE_DONE
    out = io.BytesIO()
    worker = Worker(bridge, out, lane="shared")
    a = demo_accounts[0]
    assert ask(worker, out, "switch", login=a["login"], password=a["password"], server=a["server"])["ok"]
    answer = ask(worker, out, "close_position", ticket=target)
    assert answer["ok"] and answer["result"]["closed"] == 1 and 10009 in answer["result"]["retcodes"]
    assert {p.ticket for p in mt5.positions_get()} == set(before) - {target}  # only that one
    ok, message, result, codes = close_outcome(answer["result"])
    assert ok and f"#{target}" in message and "retcode 10009" in message and result["ticket"] == target
    orders = ask(worker, out, "orders")["result"]
    assert [o["ticket"] for o in orders] == [placed.order] and orders[0]["type"] == mt5.ORDER_TYPE_BUY_LIMIT
    # gone already: said plainly; a closed market: its words and retcode
    again = ask(worker, out, "close_position", ticket=target)["result"]
    assert again["failed"] == 1 and "no such open position" in again["messages"][0]
    control.add_market_closed(sim_world, "EURUSD")
    eur = next(t for t, s in before.items() if s == "EURUSD")
    ok, message, _result, codes = close_outcome(ask(worker, out, "close_position", ticket=eur)["result"])
    assert not ok and "(10018)" in message and 10018 in codes
    bad = ask(worker, out, "close_position", ticket="12")
    assert bad["ok"] is False and bad["error"]["kind"] == "bad_request"


def test_close_position_jobs_carry_their_ticket_and_only_equal_jobs_merge() -> None:
    events: list[dict[str, Any]] = []
    lock = ActiveAccountLock(listener=events.append)
    a = lock.run_job("1@S", "close_position", {"ticket": 5})
    assert lock.run_job("1@S", "close_position", {"ticket": 5}) is a  # a double click: one job
    b = lock.run_job("1@S", "close_position", {"ticket": 6})
    assert b is not a and b.params == {"ticket": 6}
    jobs = [e for e in events if e.get("event") == "job"]
    assert jobs[0]["params"] == {"ticket": 5} and "params" not in lock.jobs.event(lock.run_job("1@S", "close_all"))


class PanelDesk:
    """What the Positions tab asks of the desk."""

    def __init__(self) -> None:
        self.closed: list[tuple[str, int]] = []
        self.exports: list[tuple[str, str, str]] = []
        self.positions_of = [{"ticket": 11, "symbol": "EURUSD", "type": 0, "volume": 0.1, "price_open": 1.1,
                              "price_current": 1.2, "profit": 10.0, "swap": 0.0, "time": 1_700_000_000,
                              "time_utc": 1_700_000_000},
                             {"ticket": 12, "symbol": "GBPUSD", "type": 1, "volume": 0.3, "price_open": 1.3,
                              "price_current": 1.2, "profit": 30.0, "swap": -1.0, "time": 1_700_000_500,
                              "time_utc": 1_700_000_500}]

    async def positions(self, key: str) -> list[dict[str, Any]]:
        return self.positions_of

    async def pending_orders(self, key: str) -> list[dict[str, Any]]:
        return [{"ticket": 99, "symbol": "USDJPY", "type": 3, "volume_current": 0.5, "price_open": 155.5,
                 "time_setup_utc": 1_700_000_100}]

    async def closed_trades(self, key: str, start: float | None = None, end: float | None = None) -> list:
        return []

    def close_position(self, key: str, ticket: int) -> None:
        self.closed.append((key, ticket))

    async def export_csv(self, key: str, what: str, start: float, end: float, path: str) -> int:
        if not Path(path).parent.is_dir():
            raise OSError(f"No such folder: {Path(path).parent}")
        self.exports.append((key, what, path))
        return 3


def test_the_positions_tab_closes_one_position_shows_orders_and_exports(qtbot, qloop, tmp_path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    from ui.positions_panel import PositionsPanel

    desk = PanelDesk()
    tasks: list[Any] = []
    panel = PositionsPanel(desk, tasks.append, lambda key: None)
    qtbot.addWidget(panel)
    panel.show()

    def drain() -> None:
        while tasks:
            qloop.run_until_complete(tasks.pop(0))

    panel.show_account("1@S", "USD")
    drain()
    assert panel.open_table.rowCount() == 2 and panel.orders_table.rowCount() == 1
    assert panel.orders_table.item(0, 2).text() == "sell limit" and "(1)" in panel.inner.tabText(1)
    panel.open_table.selectRow(1)
    assert panel.selected_ticket() == 12
    box = panel.ask_close(panel.selected_ticket())
    next(b for b in box.buttons() if b.text() == "Close position").click()
    assert desk.closed == [("1@S", 12)] and "Closing #12" in panel.result.text()
    panel.job_event({"event": "job", "job": "close_position", "account": "1@S", "state": "failed",
                     "params": {"ticket": 12}, "retcodes": [10018],
                     "message": "could not close GBPUSD #12: the market is closed (10018)"})
    assert "market is closed (10018)" in panel.result.text()
    panel.job_event({"event": "job", "job": "close_position", "account": "1@S", "state": "done",
                     "params": {"ticket": 12}, "retcodes": [10009], "message": "closed GBPUSD #12 (retcode 10009)"})
    assert panel.result.text().startswith("✓") and "10009" in panel.result.text()
    drain()
    # Export CSV: where the owner chose; a missing folder is said, nothing written
    panel.ask_path = lambda what: str(tmp_path / f"{what}.csv")
    panel.export("history")
    drain()
    assert desk.exports == [("1@S", "history", str(tmp_path / "history.csv"))]
    assert "Exported 3 row(s)" in panel.closed_totals.text()
    panel.ask_path = lambda what: str(tmp_path / "gone" / "x.csv")
    panel.export("trades")
    drain()
    assert "Export failed" in panel.closed_totals.text() and len(desk.exports) == 1
    QApplication.processEvents()


class _Reader:
    """The Desk's parts export_csv uses: its history reader and its I/O thread."""

    def __init__(self, data_dir: Path) -> None:
        from app.account_history import AccountHistory

        self.history = AccountHistory(data_dir)

    def _history_reader(self):
        return self.history

    async def io(self, fn):
        return await asyncio.get_running_loop().run_in_executor(None, fn)


@pytest.mark.slow
def test_export_csv_writes_what_the_command_line_writes(stored_accounts, data_dir: Path) -> None:  # noqa: F811
    from test_accounts_cli import cli

    from multi_user.errors import BadInput

    a = stored_accounts[0]
    key = f"{a['login']}@{a['server']}"
    reader = _Reader(data_dir)
    for what in ("history", "trades"):
        gui, cmd = data_dir / f"gui-{what}.csv", data_dir / f"cli-{what}.csv"
        rows = asyncio.run(PositionOps.export_csv(reader, key, what, None, None, str(gui)))  # type: ignore[arg-type]
        r = cli(data_dir, "accounts", what, "--login", str(a["login"]), "--server", a["server"], "--csv", str(cmd))
        assert r.returncode == 0, r.stderr
        assert gui.read_bytes() == cmd.read_bytes() and rows == len(cmd.read_text().splitlines()) - 1 > 10
    with pytest.raises(BadInput):
        asyncio.run(PositionOps.export_csv(reader, key, "stats", None, None, str(data_dir / "x.csv")))
    assert not (data_dir / "x.csv").exists()



@pytest.mark.slow
def test_the_desk_closes_one_position_as_a_job_through_the_lock(qloop, data_dir: Path, sim_world: Path) -> None:
    from lane_harness import snapshot_of, state_of
    from test_update_restart import one_account_desk

    desk, rec, key = one_account_desk(data_dir, sim_world)  # its account has open positions

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(key)
            await rec.wait_for(state_of(key, "live"))
            while (positions := await desk.positions(key)) is None:  # the first deals fetch occupies it
                await rec.wait_for(snapshot_of(key), after=len(rec.events))
            ticket = int(positions[0]["ticket"])
            desk.close_position(key, ticket)
            end = await rec.wait_for(lambda e: e["event"] == "job" and e["job"] == "close_position"
                                     and e["state"] in ("done", "failed"))
            assert end["state"] == "done", end
            assert end["params"] == {"ticket": ticket} and 10009 in end["retcodes"] and end["result"]["closed"] == 1
            assert f"#{ticket}" in end["message"] and "retcode 10009" in end["message"]
            while (left := await desk.positions(key)) is None:  # back to viewing it after the job
                await rec.wait_for(snapshot_of(key), after=len(rec.events))
            assert ticket not in {int(p["ticket"]) for p in left} and len(left) == len(positions) - 1
        finally:
            await desk.stop()

    qloop.run_until_complete(asyncio.wait_for(scenario(), 120))
