"""What the desk shows stays true ([D2] 4 app side, 5, 6, 12):
- a logged-in account whose terminal says connected=false turns Disconnected, one whose values
  stopped arriving or whose prices stopped moving turns Stale, and Live again when healthy;
- works with the snapshot fields of CONTRACTS 3 and without them (older workers);
- after a restart the last values (with P/L) come back with their age, never invented zeros,
  and the portfolio total marks the parts that are not live;
- a margin level under the warning level raises one alert;
- moving an account back to the shared terminal leaves no stale "Live";
- an account whose login failed is never visited unasked.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from lane_harness import Recorder, fast_desk, link_accounts, snapshot_of, state_of
from test_ui_desk import run, until

from app import last_values
from app.lock import ActiveAccountLock

KEY = "1@S"


@pytest.fixture
def desk(data_dir: Path, qloop):
    """A Desk (not started) whose shared lane is a bare lock with KEY logged in and live."""
    from app.desk import Desk

    d = Desk(data_dir, "sim")
    d._accounts = [{"key": KEY, "login": 1, "server": "S", "label": "", "mode": "shared"}]
    lock = ActiveAccountLock(listener=lambda ev: d.emit({**ev, "lane": "shared"}))
    d.shared = SimpleNamespace(lock=lock, accounts={KEY: None}, name="shared", worker=SimpleNamespace(running=False))
    lock.worker_ready()
    lock.activate(KEY)
    lock.switch_succeeded(KEY)
    yield d
    d.shared = None
    qloop.run_until_complete(d.stop())


def state(desk) -> str:
    return desk.account_states()[KEY]["state"]


def snap(**fields) -> dict:
    return {"login": 1, "server": "S", "currency": "USD", "balance": 100.0, "equity": 101.0, "profit": 1.0,
            "positions": 1, "ts": time.time(), **fields}


def test_connected_false_turns_disconnected_then_live_again(desk) -> None:
    desk._on_snapshot(KEY, snap(connected=False, taken_at=time.time()))
    desk.health.check(time.time())
    assert state(desk) == "disconnected"
    assert "no connection to the broker" in desk.account_states()[KEY]["message"]
    desk._on_snapshot(KEY, snap(connected=True, taken_at=time.time(), last_tick_time=time.time()))
    assert state(desk) == "live"


def test_old_workers_terminal_connected_field_is_understood(desk) -> None:
    desk._on_snapshot(KEY, snap(terminal_connected=False))
    desk.health.check(time.time())
    assert state(desk) == "disconnected"


def test_values_that_stop_arriving_turn_stale(desk) -> None:
    now = time.time()
    desk._on_snapshot(KEY, snap(connected=True, taken_at=now, last_tick_time=now))
    desk.health.check(now + 2)
    assert state(desk) == "live"
    desk.health.check(now + 6)
    assert state(desk) == "stale" and "no fresh values" in desk.account_states()[KEY]["message"]


def test_prices_that_stop_moving_turn_stale(desk) -> None:
    now = time.time()
    desk._on_snapshot(KEY, snap(connected=True, taken_at=now, last_tick_time=now - 30))
    desk.health.check(now)
    assert state(desk) == "stale" and "no new prices" in desk.account_states()[KEY]["message"]


def test_without_tick_times_frozen_values_with_positions_turn_stale(desk) -> None:
    t0 = time.time()
    desk._on_snapshot(KEY, snap(ts=t0))
    desk.health._moved[KEY] = (desk.health._moved[KEY][0], t0 - 25)  # the same values for 25 s
    desk._on_snapshot(KEY, snap(ts=t0))
    desk.health.check(t0)
    assert state(desk) == "stale" and "have not moved" in desk.account_states()[KEY]["message"]
    desk._on_snapshot(KEY, snap(ts=time.time(), equity=102.5, profit=2.5))
    assert state(desk) == "live"


def test_margin_under_the_warning_level_alerts_once(desk) -> None:
    alerts: list[dict] = []
    desk.event.connect(lambda ev: alerts.append(ev) if ev.get("event") == "alert" else None)
    for level in (300.0, 140.0, 120.0):
        desk._on_snapshot(KEY, snap(margin=50.0, margin_free=51.0, margin_level=level))
    assert len(alerts) == 1 and "margin level 140 %" in alerts[0]["message"]
    assert desk.health.margin_warned(KEY)
    desk._on_snapshot(KEY, snap(margin=20.0, margin_free=81.0, margin_level=505.0))
    desk._on_snapshot(KEY, snap(margin=50.0, margin_free=51.0, margin_level=130.0))
    assert len(alerts) == 2


def test_last_values_prefer_the_stored_snapshot_and_never_invent_a_profit() -> None:
    history = {"a": {"ts": 10.0, "balance": 1.0, "equity": 2.0, "currency": "USD"},
               "b": {"ts": 50.0, "balance": 1.0, "equity": 2.0, "currency": "USD"}}
    stored = {"a": {"ts": 20.0, "equity": 3.0, "profit": -4.5}, "b": {"ts": 40.0, "equity": 3.0, "profit": 1.0}}
    merged = last_values.merge(history, stored)
    assert merged["a"]["profit"] == -4.5
    assert merged["b"]["profit"] is None and merged["b"]["equity"] == 2.0
    assert last_values.keep({"free_margin": 5.0, "equity": 1.0, "junk": 1})["margin_free"] == 5.0


def test_tile_and_total_show_unknown_pl_and_not_live_parts(qtbot) -> None:
    from ui.overview import Overview, total_html

    now = time.time()
    snaps = {"a": {"currency": "USD", "equity": 100.0, "profit": None, "ts": now - 600},
             "b": {"currency": "USD", "equity": 50.0, "profit": 5.0, "ts": now},
             "c": {"currency": "EUR", "equity": 10.0, "profit": 1.0, "ts": now}}
    states = {"b": {"state": "live"}, "c": {"state": "live"}, "a": {"state": "idle"}}
    html = total_html(snaps, states, "USD", {"EUR/USD": {"rate": 1.1, "symbol": "EURUSD", "time": now - 3}}, now)
    assert "150.00 USD" in html and "P/L of 1 unknown" in html and "1 not live, oldest 10m ago" in html
    assert "161.00 USD" in html and "1 EUR = 1.1 USD (EURUSD, 3s ago)" in html
    assert "· 1 not live</span>" in html
    assert "no quote yet" in total_html(snaps, states, "JPY", {}, now)
    overview = Overview(str)
    qtbot.addWidget(overview)
    overview.set_accounts(list(snaps))
    overview.refresh(states, snaps, {})
    assert overview.tiles["a"].pl.text() == "—" and overview.tiles["b"].pl.text() == "+5.00"


@pytest.mark.slow
def test_after_a_restart_idle_accounts_show_their_last_pl(qtbot, qloop, data_dir: Path, sim_world: Path) -> None:
    from multi_user.mt5sim import control
    from ui.main_window import MainWindow

    demo = control.demo_accounts(sim_world)
    accounts = [next(d for d in demo if d["login"] == login) for login in (51001013, 52004052)]
    keys = link_accounts(data_dir, accounts)
    desk = fast_desk(data_dir)

    async def first_run() -> None:
        rec = Recorder(desk)
        await desk.start()
        try:
            for key in keys:  # both visited once: their last values include the floating P/L
                desk.activate(key)
                # a value with a floating P/L (a price may sit exactly at an open price for a moment)
                await rec.wait_for(lambda e, k=key: snapshot_of(k)(e) and bool(e.get("profit")))
        finally:
            await desk.stop()

    run(qloop, first_run())
    profit = {k: desk.last_snapshot(k)["profit"] for k in keys}
    assert all(profit.values()), profit  # the demo accounts have open positions
    desk2 = fast_desk(data_dir)
    window = MainWindow(desk2)
    qtbot.addWidget(window)

    async def second_run() -> None:
        await window.start_desk()
        try:
            idle = next(k for k in keys if desk2.settings.get("last_active") != k)
            restored = desk2.last_snapshot(idle)
            assert restored["profit"] == pytest.approx(profit[idle]) and restored.get("restored")
            await until(lambda: window.overview.tiles[idle].pl.text() not in ("", "+0.00"), what="the tile's P/L")
            assert window.overview.tiles[idle].pl.text() == f"{profit[idle]:+,.2f}"
            badge = window.overview.tiles[idle].badge.text()
            assert "Idle" in badge and "ago" in badge
        finally:
            await window.shutdown()
            await desk2.stop()

    run(qloop, second_run())


@pytest.mark.slow
def test_back_to_the_shared_terminal_is_not_left_live(qloop, data_dir: Path, sim_world: Path) -> None:
    from multi_user.mt5sim import control

    demo = control.demo_accounts(sim_world)
    keys = link_accounts(data_dir, demo[3:5], dedicated={f"{demo[4]['login']}@{demo[4]['server']}"})
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            await rec.wait_for(state_of(keys[1], "live"))
            after = len(rec.events)
            await desk.update_account(keys[1], mode="shared")
            await rec.wait_for(state_of(keys[1], "idle"), after=after)
            assert desk.account_states()[keys[1]]["state"] == "idle"
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_a_failed_login_is_not_retried_unasked(desk) -> None:
    desk.shared.lock.release(KEY)
    desk.shared.lock.activate(KEY)  # logging in again ...
    desk.shared.lock.switch_failed(KEY, "auth", "rejected")  # ... and the broker says no
    assert desk.health.login_failed() == {KEY}
    desk.settings.update({"sweep_enabled": True, "sweep_min_minutes": 1})
    desk._maybe_sweep(time.time() + 3600)
    assert desk.shared.lock.holder is None and not desk.shared.lock.queue


@pytest.mark.slow
def test_a_cancelled_login_that_lands_later_is_said_and_not_watched(qloop, data_dir: Path, sim_world: Path) -> None:
    from multi_user.mt5sim import control

    demo = control.demo_accounts(sim_world)
    keys = link_accounts(data_dir, demo[3:5])
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            desk.activate(keys[0])
            await rec.wait_for(state_of(keys[0], "live"))
            worker = desk.shared.worker
            send = worker.send

            def sending(op: str, **kw):
                sent = send(op, **kw)  # the request is on its way to the worker
                if op == "switch" and kw.get("login") == demo[4]["login"]:
                    # the owner cancels while the terminal is logging it in
                    asyncio.get_running_loop().call_soon(desk.cancel, keys[1])
                return sent

            worker.send = sending
            desk.activate(keys[1])
            entry = await rec.wait_for(lambda e: e.get("event") == "activity" and "cancelled login" in e["title"])
            assert entry["account"] == keys[1]
            assert desk.account_states()[keys[1]]["state"] == "idle"
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_the_key_file_notice_reaches_the_window(qtbot, qloop, data_dir: Path) -> None:
    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    desk._vault = SimpleNamespace(credentials=SimpleNamespace(key_source="file"))
    desk._key_file_notice()
    assert window.notice_text.text() == "⚠ Notice"
    assert "encryption key is kept in a file" in window.notice_text.toolTip()
    assert str(data_dir / "encryption.key") in window.notice_text.toolTip()
    assert any("kept in a file" in t for t in window.activity.titles())
    desk._vault = None
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())


@pytest.mark.slow
def test_the_first_start_visits_are_explained(qloop, data_dir: Path, sim_world: Path) -> None:
    from app.settings import save_settings
    from multi_user.mt5sim import control

    link_accounts(data_dir, control.demo_accounts(sim_world)[3:6])
    desk = fast_desk(data_dir)
    save_settings(data_dir, {"sweep_enabled": True, "sweep_min_minutes": 5})
    desk.settings.update({"sweep_enabled": True, "sweep_min_minutes": 5})
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            notice = await rec.wait_for(lambda e: e.get("event") == "notice" and "Visiting" in e["title"])
            assert notice["title"] == "Visiting 3 accounts once for fresh values"
            assert "logs each in briefly" in notice["message"]
        finally:
            await desk.stop()

    run(qloop, scenario())


@pytest.mark.slow
def test_a_failed_own_terminal_moved_back_is_not_left_offline(qloop, data_dir: Path, sim_world: Path) -> None:
    from app.settings import save_settings
    from multi_user.mt5sim import control

    demo = control.demo_accounts(sim_world)
    keys = link_accounts(data_dir, demo[3:5])
    desk = fast_desk(data_dir)
    save_settings(data_dir, {"base_install": str(data_dir / "no-such-install" / "terminal64.exe")})
    desk.settings["base_install"] = str(data_dir / "no-such-install" / "terminal64.exe")
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            await desk.update_account(keys[1], mode="dedicated")
            await rec.wait_for(state_of(keys[1], "offline"))
            after = len(rec.events)
            await desk.update_account(keys[1], mode="shared")
            await rec.wait_for(state_of(keys[1], "idle"), after=after)
            assert desk.account_states()[keys[1]]["state"] == "idle"
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_values_from_before_the_login_get_a_grace_then_turn_stale(desk) -> None:
    since = desk.shared.lock.holder.since
    desk._snapshots[KEY] = {**snap(ts=since - 3600), "restored": True}
    desk.health.check(since + 1)
    assert state(desk) == "live", "a fresh login gets a few seconds for its first values"
    desk.health.check(since + 6)
    assert state(desk) == "stale" and "no values from the terminal for 6 s" in desk.account_states()[KEY]["message"]
