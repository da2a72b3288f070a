"""[E] 4 in the overview: each tile shows its account's statistics over the overview's range, the same numbers
as ``accounts stats --json`` (one code path: Desk.account_stats), a deposit never shows as gain, an account
that is not live shows how old its numbers are, the range is remembered, and new deals refresh the tile
through the frame pacer's repaint (never painted per event)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from fake_desk import FakeDesk, fake_accounts, fake_window
from test_accounts_cli import cli

from app.deals_store import DealsStore
from app.desk_history import HistoryOps
from app.history import HistoryStore
from app.overview_stats import DEFAULT_RANGE, SETTING, OverviewStats, valid_range
from app.settings import load_settings, save_settings
from multi_user import stats
from multi_user.paths import history_path
from ui.overview_stats import strip_versions, tile_texts

H = 3600.0
DAY = 86400.0
_ticket = iter(range(1000, 10**9))


def deal(t: float, type_: int, *, entry: int = 0, pos: int = 0, profit: float = 0.0) -> dict[str, Any]:
    return {"ticket": next(_ticket), "order": 0, "time": t, "time_msc": int(t * 1000), "type": type_, "entry": entry,
            "magic": 0, "position_id": pos, "reason": 0, "volume": 1.0, "price": 1.1, "commission": 0.0, "swap": 0.0,
            "profit": profit, "fee": 0.0, "symbol": "EURUSD" if pos else "", "comment": ""}


def trade(pos: int, t_in: float, t_out: float, profit: float) -> list[dict[str, Any]]:
    return [deal(t_in, stats.DEAL_BUY, entry=stats.ENTRY_IN, pos=pos),
            deal(t_out, stats.DEAL_SELL, entry=stats.ENTRY_OUT, pos=pos, profit=profit)]


class StatsDesk(HistoryOps, FakeDesk):
    """The window's fake desk, but its statistics are the real Desk's (app/desk_history.py) over real stores."""

    def __init__(self, data_dir: Path, accounts: list[dict[str, Any]], **kw: Any) -> None:
        super().__init__(data_dir, accounts, **kw)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-io")

    async def io(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Path, list[dict[str, Any]], float]:
    """Three accounts in one data dir: A lost 50 on 1,000 while 1,000 more was deposited (TWR -5 %, not
    +95 %), plus a win 20 days ago, withdrawn (in 30 days, not in 7); B won and lost; C has nothing stored."""
    accounts = fake_accounts(3)
    now = time.time()
    d = now - 2 * DAY  # two days ago: inside every range
    a, b = (x["key"] for x in accounts[:2])
    store = DealsStore(tmp_path)
    a_deals = [deal(now - 25 * DAY, stats.DEAL_BALANCE, profit=1000.0),
               *trade(9, now - 20 * DAY, now - 20 * DAY + H, 80.0),
               deal(now - 19 * DAY, stats.DEAL_BALANCE, profit=-80.0),
               *trade(1, d + H, d + 4 * H, -50.0), deal(d + 3 * H, stats.DEAL_BALANCE, profit=1000.0)]
    b_deals = [deal(now - 3 * DAY, stats.DEAL_BALANCE, profit=5000.0), *trade(2, d, d + H, 120.0),
               *trade(3, d + 2 * H, d + 5 * H, -40.0), *trade(4, d + 6 * H, d + 7 * H, 30.0)]
    for acc, deals in ((accounts[0], a_deals), (accounts[1], b_deals)):
        store.save({"login": acc["login"], "server": acc["server"], "currency": "USD", "offset": 0,
                    "fetched_at": now - DAY, "since": None, "deals": deals, "orders": []})
    hist = HistoryStore(history_path(tmp_path))
    hist.start()
    # A's equity: 1,000 before the trade, 950 at its low while the deposit lands, 1,950 after
    for t, bal, eq in ((d, 1000.0, 1000.0), (d + 2 * H, 1000.0, 950.0), (d + 3.5 * H, 2000.0, 1950.0),
                       (d + 5 * H, 1950.0, 1950.0)):
        hist.add(a, t, bal, eq, "USD")
    for i in range(20):
        hist.add(b, d + i * 0.5 * H, 5000.0, 5000.0 + (i % 7) * 10 - 60.0 * (i == 9), "USD")
    hist.stop()
    return tmp_path, accounts, now


def tile_of(window: Any, key: str) -> Any:
    return window.overview.tiles[key]


def shown(tile: Any) -> tuple[str, str, str]:
    return tile.stats.gain.text(), tile.stats.rest.text(), tile.stats.toolTip()


def settle(qloop: Any, window: Any) -> None:
    """Until the overview's statistics are worked through, then the frame pacer's repaint of what they dirtied."""
    async def idle() -> None:
        window.overview_stats.release()  # what the window's start-up timer does after START_DELAY_MS
        while window.overview_stats.busy():
            await asyncio.wait_for(asyncio.gather(*window._tasks), 10)
    qloop.run_until_complete(asyncio.wait_for(idle(), 30))
    window.repaint_dirty()


def test_tiles_show_the_numbers_of_accounts_stats_json_for_the_same_range(qtbot, qloop, stores) -> None:
    data_dir, accounts, _now = stores
    desk = StatsDesk(data_dir, accounts, theme="light")
    desk.settings["overview_range"] = "7d"
    try:
        with fake_window(qtbot, qloop, desk) as window:
            settle(qloop, window)
            since = dt.datetime.fromtimestamp(window.overview_stats.range_start, dt.UTC).isoformat()
            r = cli(data_dir, "accounts", "stats", "--from", since, "--json")
            assert r.returncode == 0, r.stderr
            payload = json.loads(r.stdout)
            by_key = {f"{x['login']}@{x['server']}": x for x in payload["accounts"]}
            for key in (accounts[0]["key"], accounts[1]["key"]):
                assert shown(tile_of(window, key)) == tile_texts(by_key[key], "the last 7 days")
            # the 7 days leave A's old win out: its trades and net profit are the range's, as in the JSON
            assert by_key[accounts[0]["key"]]["trades"] == 1 and by_key[accounts[0]["key"]]["net_profit"] == -50.0
            assert tile_of(window, accounts[1]["key"]).stats.rest.text().startswith("DD ")
            assert window.overview.strip._versions == strip_versions(payload["portfolio"], False)[0]
    finally:
        desk.close()


def test_a_deposit_during_a_losing_trade_does_not_show_as_gain_in_the_tile(qtbot, qloop, stores) -> None:
    data_dir, accounts, _now = stores
    desk = StatsDesk(data_dir, accounts)
    desk.settings["overview_range"] = "7d"
    try:
        with fake_window(qtbot, qloop, desk) as window:
            settle(qloop, window)
            gain, rest, tip = shown(tile_of(window, accounts[0]["key"]))
            assert gain == "-5.00%"  # the loss over the capital at risk; balance alone: +95 % or -2.5 %
            assert rest.endswith("· -50.00 · 1 trades")
            assert "Deposits: 1,000.00 USD" in tip
    finally:
        desk.close()


def test_an_account_that_is_not_live_shows_the_age_of_its_numbers_and_nothing_shows_a_dash(qtbot, qloop,
                                                                                            stores) -> None:
    data_dir, accounts, now = stores
    desk = StatsDesk(data_dir, accounts)
    a, b, c = (x["key"] for x in accounts)
    desk.states = {a: {"state": "live"}, b: {"state": "idle"}, c: {"state": "idle"}}
    then = now - 3 * H
    desk.snaps[b] = {**desk.snaps[b], "ts": then, "taken_at": then}
    try:
        with fake_window(qtbot, qloop, desk) as window:
            days = {dt.date.today()}
            settle(qloop, window)
            shown_as_of = tile_of(window, b).as_of.text()
            days.add(dt.date.today())  # local midnight may pass in between: either day's spelling is right
            when = dt.datetime.fromtimestamp(then)
            assert shown_as_of in {f"as of {when:%H:%M}" if when.date() == day else f"as of {when:%d %b %H:%M}"
                                   for day in days}
            assert tile_of(window, a).as_of.text() == ""  # live: current
            gain, rest, tip = shown(tile_of(window, c))
            assert gain == "—" and rest == "no deals stored yet" and "read while it is live" in tip
    finally:
        desk.close()


def test_new_deals_and_a_new_range_refresh_the_tiles_on_the_repaint_and_the_range_is_remembered(
        qtbot, qloop, stores) -> None:
    data_dir, accounts, now = stores
    desk = StatsDesk(data_dir, accounts)
    b = accounts[1]["key"]
    try:
        with fake_window(qtbot, qloop, desk) as window:
            settle(qloop, window)
            assert window.overview.range_box.range_name() == "30d"  # the default
            before = shown(tile_of(window, b))
            DealsStore(data_dir).save({"login": accounts[1]["login"], "server": accounts[1]["server"],
                                       "currency": "USD", "offset": 0, "fetched_at": now, "since": now - DAY,
                                       "deals": trade(5, now - 2 * H, now - H, 500.0), "orders": []})
            window.timer.stop()  # the window's own repaint waits: the test repaints when it checks
            window._dirty.clear()
            desk.event.emit({"event": "deals", "account": b, "state": "ok", "new": 2})
            qloop.run_until_complete(asyncio.wait_for(asyncio.gather(*window._tasks), 10))
            assert "overview" in window._dirty and shown(tile_of(window, b)) == before  # painted on the repaint
            window.repaint_dirty()
            assert "4 trades" in tile_of(window, b).stats.rest.text()
            window.overview.range_box.setCurrentIndex(window.overview.range_box.findData("90d"))
            settle(qloop, window)
            assert desk.saved[-1] == {"overview_range": "90d"} and "90 days" in tile_of(window, b).stats.toolTip()
        with fake_window(qtbot, qloop, desk) as again:  # a restart on the saved settings
            assert again.overview.range_box.range_name() == "90d" and again.overview_stats.range_name == "90d"
    finally:
        desk.close()


def test_a_range_change_while_computing_drops_the_old_ranges_numbers(qloop) -> None:
    asked: list[tuple[str, float | None]] = []
    gate, started = asyncio.Event(), asyncio.Event()
    tasks: list[asyncio.Task[Any]] = []

    async def account_stats(key: str, start: float | None, end: float | None) -> dict[str, Any]:
        asked.append((key, start))
        started.set()
        await gate.wait()
        return {"currency": "USD", "trades": 1 if start is None else 7, "net_profit": 1.0, "deposits": 0.0,
                "withdrawals": 0.0, "max_drawdown": 0.0, "start_balance": 100.0, "daily_pl": {}}

    loader = OverviewStats(account_stats, lambda c: tasks.append(asyncio.ensure_future(c)), lambda: None, "7d")

    async def scenario() -> None:
        loader.set_accounts(["a@S", "b@S"])
        await asyncio.wait_for(started.wait(), 10)  # a@S is being computed over 7 days
        loader.set_range("All")
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

    qloop.run_until_complete(scenario())
    assert asked[0][1] is not None and {k for k, s in asked if s is None} == {"a@S", "b@S"}
    assert {k: v["trades"] for k, v in loader.accounts.items()} == {"a@S": 1, "b@S": 1}
    assert loader.portfolio[0]["trades"] == 2 and not loader.busy()


def test_the_range_is_kept_in_settings_json_and_a_bad_stored_range_falls_back(tmp_path: Path) -> None:
    assert load_settings(tmp_path)[SETTING] == DEFAULT_RANGE == "30d"
    save_settings(tmp_path, {SETTING: "90d"})
    assert load_settings(tmp_path)[SETTING] == "90d"  # a restart reads it back
    assert valid_range("90d") == "90d" and valid_range("3 weeks") == valid_range(None) == DEFAULT_RANGE


def test_the_totals_take_one_line_per_currency_only_when_one_line_does_not_fit(qtbot) -> None:
    from ui.overview import Overview

    now = time.time()
    snaps = {"a": {"currency": "USD", "equity": 217_840.9, "profit": 340.9, "ts": now},
             "b": {"currency": "EUR", "equity": 48_055.91, "profit": 55.91, "ts": now}}
    overview = Overview(str)
    qtbot.addWidget(overview)
    overview.set_accounts(list(snaps))
    overview.show()
    qtbot.waitExposed(overview)
    for width, one_line in ((1800, True), (600, False)):
        overview.resize(width, 400)
        qtbot.waitUntil(lambda w=width: abs(overview.total.width() - (w - 16)) <= 4, timeout=5000)
        overview.refresh({k: {"state": "live"} for k in snaps}, snaps, {})
        text = overview.total.text()
        assert ("|" in text) is one_line and ("<br>" in text) is not one_line, width
        assert "48,055.91 EUR" in text and "217,840.90 USD" in text


def test_held_until_released_and_a_range_switched_back_to_shows_its_last_numbers_at_once(qloop) -> None:
    asked: list[str] = []
    tasks: list[asyncio.Task[Any]] = []
    gate = asyncio.Event()

    async def account_stats(key: str, start: float | None, end: float | None) -> dict[str, Any]:
        asked.append(key)
        if len(asked) > 2:  # the first range's numbers come at once, then the gate holds the others
            await gate.wait()
        return {"currency": "USD", "trades": 3 if start else 9, "net_profit": 1.0, "deposits": 0.0,
                "withdrawals": 0.0, "max_drawdown": 0.0, "start_balance": 100.0, "daily_pl": {}}

    loader = OverviewStats(account_stats, lambda c: tasks.append(asyncio.ensure_future(c)), lambda: None, "30d")
    loader.held = True
    loader.set_accounts(["a@S", "b@S"])

    async def scenario() -> None:
        assert not tasks and not asked  # the window's start-up goes first
        loader.release()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert {k: v["trades"] for k, v in loader.accounts.items()} == {"a@S": 3, "b@S": 3}
        loader.set_range("All")
        assert loader.accounts == {}  # never the other range's numbers
        loader.set_range("30d")
        assert {k: v["trades"] for k, v in loader.accounts.items()} == {"a@S": 3, "b@S": 3}  # before any answer
        gate.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)

    qloop.run_until_complete(scenario())
    assert not loader.busy() and loader.portfolio[0]["accounts"] == 2
