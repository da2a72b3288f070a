"""Small window pieces: one instance per data dir, tray alerts, the lock banner's words, sidebar badges."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QWidget

from ui.formatting import badge_text
from ui.launch import SingleInstance, ask_running_instance, instance_name
from ui.lock_banner import LockBanner
from ui.theme import app_icon
from ui.tray import Tray


def test_a_second_start_for_the_same_data_dir_raises_the_first(qtbot, tmp_path: Path) -> None:
    raised = []
    name = instance_name(tmp_path / "a")
    first = SingleInstance(name, lambda: raised.append(True))
    try:
        assert instance_name(tmp_path / "b") != name
        assert not ask_running_instance(instance_name(tmp_path / "b"))
        assert ask_running_instance(name)
        qtbot.waitUntil(lambda: raised == [True], timeout=5000)
    finally:
        first.close()
    assert not ask_running_instance(name)


def test_tray_alerts_once_per_minute_per_problem(qtbot) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    tray = Tray(window, app_icon(), lambda key: f"Acct {key}")
    tray.on_event({"event": "account_state", "account": "1@S", "state": "auth_error", "message": "rejected"})
    tray.on_event({"event": "account_state", "account": "1@S", "state": "auth_error", "message": "rejected"})
    tray.on_event({"event": "account_state", "account": "2@S", "state": "offline", "message": "broker lost"})
    tray.on_event({"event": "terminal", "lane": "dedicated 3@S", "state": "failed", "message": "keeps crashing"})
    tray.on_event({"event": "account_state", "account": "1@S", "state": "live"})
    assert [t for t, _ in tray.alerts] == ["Acct 1@S failed to log in", "Acct 2@S is offline",
                                          "A terminal keeps crashing"]


def test_banner_says_who_holds_why_and_who_waits(qtbot) -> None:
    banner = LockBanner(lambda key: {"1@S": "Challenge", "2@S": "Live", "3@S": "Swing"}[key])
    qtbot.addWidget(banner)
    banner.show()
    banner.show_lock({"holder": {"account": "1@S", "since": 0, "reason": "job", "job": "close_all", "phase": "active"},
                      "queue": [{"account": "2@S", "reason": "viewing", "job": None},
                                {"account": "3@S", "reason": "job", "job": "close_all"}], "switching": None})
    assert "Challenge" in banner.title.text() and "close all positions" in banner.title.text()
    assert banner.detail.text() == "Waiting: 1. Live   2. Swing (close all positions)"
    assert banner.release.isVisible() and not banner.cancel.isVisible()
    banner.show_lock({"holder": {"account": "2@S", "since": 0, "reason": "viewing", "job": None,
                                 "phase": "switching"}, "queue": [], "switching": "2@S"})
    assert "logging in to Live" in banner.title.text() and banner.cancel.isVisible()
    with qtbot.waitSignal(banner.cancel_requested) as got:
        banner.cancel.click()
    assert got.args == ["2@S"]


def test_badges_show_queue_place_and_age() -> None:
    assert badge_text({"state": "waiting", "place": 2}, None) == "Waiting #2"
    assert badge_text({"state": "idle"}, {"ts": 1000.0}, now=1125.0) == "Idle · 2m ago"
    assert badge_text({"state": "auth_error"}, None) == "Login failed"
    assert badge_text(None, None) == "Idle"


def test_screenshot_size_and_theme_options() -> None:
    from main import build_parser

    args = build_parser().parse_args(["--screenshot", "x.png", "--size", "1024x700", "--theme", "dark"])
    assert args.size == (1024, 700) and args.theme == "dark"
    for bad in ("1024", "10x10", "axb"):
        try:
            build_parser().parse_args(["--size", bad])
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"--size {bad} was accepted")


def test_terminals_buttons_act_only_on_a_selected_row(qtbot) -> None:
    from ui.terminals_panel import TerminalsPanel

    acted: list[tuple[str, str]] = []
    panel = TerminalsPanel(lambda lane, verb: acted.append((lane, verb)), str)
    qtbot.addWidget(panel)
    panel.refresh([{"lane": "shared", "accounts": ["1@S"]}, {"lane": "dedicated 2@S", "accounts": ["2@S"]}])
    assert not any(b.isEnabled() for b in panel.buttons.values())
    panel.buttons["stop"].click()
    assert acted == []
    panel.table.selectRow(1)
    assert all(b.isEnabled() for b in panel.buttons.values())
    panel.buttons["stop"].click()
    assert acted == [("dedicated 2@S", "stop")]


def test_the_crosshair_readout_is_cleared_when_another_account_is_focused(qtbot, qloop, data_dir) -> None:
    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.chart.readout.setText("12:00:00   Equity 1,000.00")
    window.focus("2@S")
    assert window.chart.readout.text() == ""
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())


def test_the_status_bar_never_counts_0_accounts_while_starting(qtbot, qloop, data_dir) -> None:
    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.repaint_dirty()
    assert "0 accounts" not in window.status_text.text()
    assert window.status_text.text() == "Starting: reading your accounts…"
    window.on_event({"event": "accounts", "accounts": [
        {"key": f"{n}@S", "login": n, "server": "S", "label": "", "mode": "shared", "investor": False}
        for n in (1, 2)]})
    window.repaint_dirty()
    assert window.status_text.text() == "2 accounts · 0 live · starting the terminals…"
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())


def test_tray_tooltip_has_the_portfolio_and_how_many_are_live(qtbot, qloop, data_dir) -> None:
    import time

    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    desk._started = True
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.on_event({"event": "accounts", "accounts": [
        {"key": f"{n}@S", "login": n, "server": "S", "label": "", "mode": "shared", "investor": False}
        for n in (1, 2)]})
    desk._snapshots = {"1@S": {"currency": "USD", "equity": 100.0, "profit": 1.0, "ts": time.time()},
                       "2@S": {"currency": "EUR", "equity": 50.0, "profit": 2.0, "ts": time.time()}}
    desk._states = {"1@S": {"state": "live"}}
    window._dirty.add("overview")
    window.repaint_dirty()
    assert window.tray.tooltip == "MT5 Desk · 2 accounts · 1 live\n50.00 EUR (1 not live)\n100.00 USD"
    desk._started = False
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())



def test_settings_choose_the_base_currency_and_the_margin_warning(qtbot, qloop, data_dir) -> None:
    import asyncio

    from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QDoubleSpinBox

    from app.desk import Desk
    from app.settings import load_settings
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    dialog = window.open_settings()
    base = dialog.findChild(QComboBox, "BaseCurrency")
    base.setCurrentIndex(base.findData("EUR"))
    dialog.findChild(QDoubleSpinBox, "MarginWarning").setValue(200)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()

    async def saved() -> None:
        while load_settings(data_dir).get("base_currency") != "EUR":
            await asyncio.sleep(0.02)

    qloop.run_until_complete(asyncio.wait_for(saved(), 10))
    assert desk.base_currency() == "EUR" and load_settings(data_dir)["margin_warning_level"] == 200
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())
