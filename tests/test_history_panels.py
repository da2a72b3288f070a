"""[E] 3, 4, 6 in the window: the focused chart reads its range from the store at the plot's resolution
(a year-long store never gives more points than asked), a live value only touches the tail, the past
before the first snapshot is the balance rebuilt from deals with deposit markers; the statistics panel
shows docs/STATISTICS.md's worked numbers; the positions panel lists and updates open positions (on a
fake desk, and on a real desk with the simulator)."""

from __future__ import annotations

import asyncio
import math
import sqlite3
import time
from pathlib import Path

import numpy as np
import pytest
from fake_desk import FakeDesk, fake_accounts, fake_window
from PySide6.QtCore import QPointF
from test_stats import D, H, deposit, example3, trade

from app import equity_tiers
from app.account_history import AccountHistory
from app.deals_store import DealsStore
from app.desk_history import chart_data
from app.history import SCHEMA
from multi_user.paths import history_path
from ui.equity_chart import EquityChart, Series
from ui.stats_panel import StatsPanel

KEY = "1001@Sim-Demo"
YEAR = 365 * 86400.0


def year_of_snapshots(data_dir: Path, every: float = 300.0) -> float:
    """One year of snapshots (one each ``every`` s) with their tiers, as the history writer leaves them."""
    now = time.time()
    conn = sqlite3.connect(history_path(data_dir))
    conn.executescript(SCHEMA)
    equity_tiers.ensure(conn)
    ts = np.arange(now - YEAR, now, every)
    rows = [(KEY, float(t), 10_000.0, 10_000.0 + 50 * np.sin(i / 100), "USD") for i, t in enumerate(ts)]
    with conn:
        conn.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)", rows)
        equity_tiers.roll_up(conn, rows)
    conn.close()
    return now


def save_deals(data_dir: Path, deals: list[dict]) -> None:
    DealsStore(data_dir).save({"login": 1001, "server": "Sim-Demo", "currency": "USD", "offset": 7200,
                               "since": None, "deals": deals, "orders": []})


def chart_on(qtbot, data_dir: Path) -> tuple[EquityChart, list[tuple]]:
    """A chart whose loads are answered at once from the data dir, as the window does off the GUI thread."""
    chart = EquityChart()
    qtbot.addWidget(chart)
    chart.resize(1000, 500)
    chart.show()
    qtbot.waitExposed(chart)
    asked: list[tuple] = []
    history = AccountHistory(data_dir)

    def load(key, start, end, n):
        asked.append((start, end, n))
        chart.set_history(key, chart_data(history, key, start, end, n))

    chart.wanted.connect(load)
    return chart, asked


def test_a_year_long_store_loads_at_most_the_plots_points_per_range(qtbot, tmp_path: Path) -> None:
    now = year_of_snapshots(tmp_path)
    data = chart_data(AccountHistory(tmp_path), KEY, None, None, 1000)
    assert 300 <= len(data["points"]) <= 1000 and data["step"] == 86400
    chart, asked = chart_on(qtbot, tmp_path)
    chart.range_buttons.button(4).setChecked(True)  # All
    chart.show_account(KEY, "Acct", Series())
    n = asked[-1][2]
    assert n <= 2 * chart.plot.width() + 1
    x = chart.history_layer.arrays["eq"][0]
    assert 300 <= len(x) <= n
    assert x[0] < now - YEAR + 86400 * 2  # the whole year is there
    chart.range_buttons.button(1).click()  # 1d: a finer tier (or the snapshots), still bounded
    x = chart.history_layer.arrays["eq"][0]
    assert asked[-1][0] == pytest.approx(now - 86400, abs=60) and 200 <= len(x) <= n
    assert chart.history is not None and chart.history["gap"] < 3 * 900 + 1


def test_a_live_value_only_redraws_the_tail(qtbot, tmp_path: Path) -> None:
    now = year_of_snapshots(tmp_path)
    chart, _ = chart_on(qtbot, tmp_path)
    series = Series()
    chart.show_account(KEY, "Acct", series)
    drawn = chart.history_layer.paths["eq"]
    # the three live values in one pixel column (columns sit at multiples of dx seconds): now + 1 .. now + 3
    # straddled a column's edge in about one run in fifty
    dx = chart.points.dx
    base = now if math.floor((now + 1) / dx) == math.floor((now + 3) / dx) else math.ceil((now + 1) / dx) * dx
    for i in range(3):
        series.append(base + i + 1, 10_000.0, 10_010.0 + i)
        chart.redraw()
    assert chart.history_layer.paths["eq"] is drawn  # the history's picture was not drawn again
    x, y = chart.live_layer.arrays["eq"]  # the newest column: its low and its high, in time order
    assert list(y[-2:]) == [10_010.0, 10_012.0] and x[-1] == base + 3


def test_before_the_first_snapshot_the_balance_comes_from_deals_with_deposit_markers(qtbot, tmp_path: Path) -> None:
    start = time.time() - 80 * 86400
    deals = [deposit(start, 1000.0), *trade(1, start + 3600, start + 7200, 110.0, commission=-10.0),
             deposit(start + 10 * 86400, 500.0)]
    save_deals(tmp_path, deals)
    chart, _ = chart_on(qtbot, tmp_path)
    chart.range_buttons.button(3).setChecked(True)  # 3m
    chart.show_account(KEY, "Acct", Series())
    x, y = chart.history_layer.arrays["past"]
    assert y[-1] == pytest.approx(1600.0) and x[0] == pytest.approx(start)
    assert sorted(s.data() for s in chart.flow_markers.points()) == [500.0, 1000.0]
    assert not chart.empty.isVisible()


def test_the_statistics_panel_shows_the_worked_example(qtbot, tmp_path: Path) -> None:
    save_deals(tmp_path, example3())  # docs/STATISTICS.md, example 3
    panel = StatsPanel()
    qtbot.addWidget(panel)
    panel.set_stats(AccountHistory(tmp_path).stats(KEY, None, None))
    shown = {k: v.text() for k, v in panel.values.items()}
    assert shown["Gain (TWR)"] == "+10.00 %" and shown["Absolute gain"] == "+10.00 %"
    assert shown["Net profit"] == "+100.00 USD" and shown["Deposits"] == "1,000.00 USD"
    assert shown["Profit factor"] == "3.00" and shown["Win rate"] == "66.67 %" and shown["Trades"] == "3"
    assert shown["Expectancy"] == "+33.33" and shown["Sharpe (daily)"] == "0.46"
    assert shown["Best day"] == "+100.00 · 5 Jan" and shown["Worst day"] == "-50.00 · 6 Jan"
    assert shown["Average win"] == "+75.00" and shown["Average loss"] == "-50.00"
    assert D  # the example's dates


def test_the_pnl_bars_fill_quiet_days_and_months_and_read_the_bar_under_the_mouse(qtbot, tmp_path: Path) -> None:
    deals = [*example3(), *trade(4, D + 40 * 86400 + H, D + 40 * 86400 + 2 * H, -20.0)]  # a loss in February
    save_deals(tmp_path, deals)
    panel = StatsPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 700)
    panel.show()
    panel.set_stats(AccountHistory(tmp_path).stats(KEY, None, None))
    bars = panel.bars
    assert bars.bars() == [("2026-01", 100.0), ("2026-02", -20.0)]
    bars.daily_button.click()
    days = bars.bars()
    assert days[:3] == [("2026-01-05", 100.0), ("2026-01-06", -50.0), ("2026-01-07", 50.0)]
    assert len(days) == 41 and days[-1] == ("2026-02-14", -20.0) and days[3] == ("2026-01-08", 0.0)
    assert bars.readout.text() == "2 days up, 2 down · hover a bar"
    vb = bars.plot.getPlotItem().vb
    bars._hover(vb.mapViewToScene(QPointF(1, -10)))  # the mouse over the second bar
    assert bars.readout.text() == "Tue 6 Jan 2026: -50.00 USD"
    panel.set_stats(None)
    assert bars.bars() == [] and bars.readout.text() == "No closed trades in the period."


def test_the_window_shows_positions_and_statistics_of_the_focused_account(qtbot, qloop, tmp_path: Path) -> None:
    accounts = fake_accounts(3)
    desk = FakeDesk(tmp_path, accounts)
    key = accounts[0]["key"]  # live in the fake desk
    desk.open_positions[key] = [{"ticket": 1, "symbol": "EURUSD", "type": 0, "volume": 0.1, "price_open": 1.1,
                                 "price_current": 1.1012, "sl": 1.09, "tp": 0.0, "swap": -0.5, "profit": 12.0,
                                 "time": time.time() - 3600, "time_utc": time.time() - 3600}]
    desk.stats[key] = {"currency": "USD", "gain_pct": 4.5, "net_profit": 450.0, "trades": 12}
    desk.trades[key] = [{"position": 7, "symbol": "XAUUSD", "type": "sell", "volume": 0.02,
                         "open_time": time.time() - 7200, "close_time": time.time() - 3600, "open_price": 2300.0,
                         "close_price": 2290.0, "commission": -0.1, "swap": 0.0, "profit": 20.0, "result": 19.9}]
    with fake_window(qtbot, qloop, desk) as window:
        window.tabs.setCurrentWidget(window.positions)
        panel = window.positions

        async def scenario() -> None:
            await asyncio.wait_for(asyncio.gather(*window._tasks), 10)
            assert panel.open_table.rowCount() == 1 and panel.open_table.item(0, 8).text() == "+12.00"
            assert "Live" in panel.status.text() and "profit +12.00 USD" in panel.open_totals.text()
            assert panel.closed_table.rowCount() == 1 and panel.closed_table.item(0, 11).text() == "+19.90"
            assert window.stats.values["Gain (TWR)"].text() == "+4.50 %"
            # the portfolio of the USD accounts instead of the focused one, and back
            desk.portfolio["USD"] = {"currency": "USD", "accounts": 3, "net_profit": 900.0, "absolute_gain_pct": 3.0,
                                     "trades": 30, "monthly_pl": {"2026-10": 400.0, "2026-11": 500.0}}
            scope = window.stats.scope
            assert [scope.itemText(i) for i in range(scope.count())] == ["This account", "Portfolio · USD accounts"]
            scope.setCurrentIndex(1)
            await asyncio.wait_for(asyncio.gather(*window._tasks), 10)
            assert window.stats.values["Net profit"].text() == "+900.00 USD"
            assert window.stats.values["Gain (TWR)"].text() == "—" and "3 account(s) in USD" in window.stats.note.text()
            assert window.stats.bars.bars() == [("2026-10", 400.0), ("2026-11", 500.0)]
            scope.setCurrentIndex(0)
            await asyncio.wait_for(asyncio.gather(*window._tasks), 10)
            assert window.stats.values["Gain (TWR)"].text() == "+4.50 %"
            desk.open_positions[key][0]["profit"] = 15.5  # the next poll brings the new profit
            desk.open_positions[key].append({**desk.open_positions[key][0], "ticket": 2, "symbol": "GBPUSD"})
            panel.poll()
            await asyncio.wait_for(asyncio.gather(*window._tasks), 10)
            assert panel.open_table.rowCount() == 2 and panel.open_table.item(0, 8).text() == "+15.50"
            desk.states[key] = {"state": "idle"}  # not live: the last list stays, with its age
            panel.poll()
            await asyncio.wait_for(asyncio.gather(*window._tasks), 10)
            assert panel.open_table.rowCount() == 2 and "Not live · as of" in panel.status.text()

        qloop.run_until_complete(scenario())


@pytest.mark.slow
def test_the_positions_panel_lists_a_demo_accounts_open_positions_live(qtbot, qloop, data_dir: Path,
                                                                        sim_world: Path) -> None:
    from lane_harness import fast_desk, link_accounts
    from test_ui_desk import until

    from multi_user.mt5sim import control
    from ui.main_window import MainWindow

    demo = control.demo_accounts(sim_world)
    account = next(a for a in demo if a["login"] == 53007091)  # the default world gives it an open position
    (key,) = link_accounts(data_dir, [account])
    desk = fast_desk(data_dir)
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    window.tabs.setCurrentWidget(window.positions)
    panel = window.positions

    async def scenario() -> None:
        await desk.start()
        try:
            window.activate(key)
            await until(lambda: (desk.account_states().get(key) or {}).get("state") == "live", what="live")
            await until(lambda: "Live" in panel.status.text() and panel.open_table.rowCount() > 0, timeout=30,
                        what=lambda: f"the positions ({panel.status.text()!r})")
            assert panel.open_table.rowCount() == (desk.last_snapshot(key) or {}).get("positions")
            first = panel.open_table.item(0, 4).text()  # the current price moves with the simulator's ticks
            await until(lambda: panel.open_table.item(0, 4).text() != first, timeout=30, what="a new price")
        finally:
            await desk.stop()

    qloop.run_until_complete(asyncio.wait_for(scenario(), 120))


def test_a_week_asked_of_ten_minutes_of_history_is_read_at_the_minutes_resolution(tmp_path: Path) -> None:
    now = time.time()
    conn = sqlite3.connect(history_path(tmp_path))
    conn.executescript(SCHEMA)
    equity_tiers.ensure(conn)
    rows = [(KEY, now - 600 + i, 100.0, 100.0 + i % 7, "USD") for i in range(600)]
    with conn:
        conn.executemany("INSERT INTO snapshots VALUES (?,?,?,?,?)", rows)
        equity_tiers.roll_up(conn, rows)
    conn.close()
    data = chart_data(AccountHistory(tmp_path), KEY, now - 7 * 86400, None, 2000)
    assert len(data["points"]) == 600 and data["step"] == 0


def test_positions_are_asked_only_of_an_account_live_on_its_lane_and_never_behind_a_job(qloop, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from app.desk_history import HistoryOps

    asked: list[str] = []

    async def request(op: str, **_kw):
        asked.append(op)
        return [{"ticket": 1, "time": 1_700_007_200.0, "symbol": "EURUSD"}]

    lane = SimpleNamespace(lock=SimpleNamespace(holder=None), worker=SimpleNamespace(request=request))

    class Desk(HistoryOps):
        def __init__(self) -> None:
            self.data_dir = tmp_path
            self._states = {KEY: {"state": "live"}}
            self.deals = SimpleNamespace(busy=lambda key: False)

        def lane_of(self, key):
            return lane

        async def io(self, fn, *args):
            return fn(*args)

    save_deals(tmp_path, [])  # the learned server offset: +2 h
    desk = Desk()
    assert qloop.run_until_complete(desk.positions(KEY)) is None  # nobody holds the lane: no login for this
    lane.lock.holder = SimpleNamespace(account="other@S", reason="viewing")
    assert qloop.run_until_complete(desk.positions(KEY)) is None
    lane.lock.holder = SimpleNamespace(account=KEY, reason="job")  # a close-all runs: not behind it
    assert qloop.run_until_complete(desk.positions(KEY)) is None and asked == []
    lane.lock.holder = SimpleNamespace(account=KEY, reason="viewing")
    (p,) = qloop.run_until_complete(desk.positions(KEY))
    assert asked == ["positions"] and p["time_utc"] == 1_700_000_000.0
