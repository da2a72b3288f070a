"""[H] in the window: headroom in the sidebar and the overview (coloured by level, with its age when it is
not current), the floors on the chart, the block and how to lift it, the rules dialog (bad input stores
nothing) and flatten's confirmation naming the accounts. A FakeDesk with a stand-in guard, no processes."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fake_desk import FakeDesk, fake_accounts, fake_window
from PySide6.QtWidgets import QApplication, QMessageBox

from app import guard_store
from multi_user import rules as rm
from ui.headroom import countdown, headroom_of, reset_words
from ui.rules_dialog import RulesDialog
from ui.theme import LIGHT_COLOURS

NOW = 1_790_000_000.0


def verdict(key: str, *, level: str = "ok", daily: float = 4000.0, total: float = 9000.0, blocked: bool = False,
            coverage: str = "live", ts: float = NOW) -> dict[str, Any]:
    return {"event": "guard", "account": key, "preset": "FTMO-2STEP", "level": level, "coverage": coverage,
            "daily_floor": 190_000.0, "total_floor": 180_000.0, "daily_headroom": daily,
            "daily_headroom_pct": daily / 10_000, "total_headroom": total, "total_headroom_pct": total / 20_000,
            "next_reset": NOW + 3 * 3600 + 12 * 60, "reset_zone": "Europe/Prague", "reset_time": "00:00",
            "blocked": blocked, "ts": ts}


# ---- the words, pure ------------------------------------------------------------------------------
def test_live_headroom_names_the_nearest_floor_with_amount_share_and_countdown() -> None:
    h = headroom_of(verdict("k"), live=True, now=NOW + 1, seen_at=NOW, currency="USD")
    assert h is not None and h.level == "ok" and h.floor == "daily"
    assert h.text == "Daily room 4,000.00 USD (40% left) · reset in 3h 11m"
    assert "190,000.00" in h.tooltip and ("CET" in h.tooltip or "CEST" in h.tooltip)
    nearer_total = headroom_of(verdict("k", daily=5000, total=900, level="warning"), True, NOW, NOW)
    assert nearer_total is not None and nearer_total.text.startswith("⚠ Max-loss room 900.00 (4% left)")


def test_a_stale_number_is_never_shown_as_live() -> None:
    """D2: not live, unguarded, or a verdict older than STALE_AFTER: the age is said and the colour is muted."""
    for live, coverage, seen in ((False, "live", NOW), (True, "unguarded", NOW), (True, "live", NOW - 300)):
        h = headroom_of(verdict("k", coverage=coverage), live, NOW, seen)
        assert h is not None and h.level == "stale", (live, coverage, seen)
        assert h.text.startswith("Unguarded while idle")
    old = headroom_of(verdict("k"), False, NOW, NOW - 300)
    assert old is not None and "daily room was 4,000.00 (40% left) 5m ago" in old.text
    never = headroom_of(verdict("k"), False, NOW, None)  # restored from guard.json: no age this run
    assert never is not None and "room unknown" in never.text and "4,000" not in never.text


def test_a_block_says_why_and_how_to_lift_it() -> None:
    h = headroom_of(verdict("k", blocked=True, level="breached"), True, NOW, NOW)
    assert h is not None and h.level == "blocked" and h.text.startswith("⊘ BLOCKED")
    assert "Re-arm" in h.tooltip and "accounts rules set" in h.tooltip


def test_countdown_and_reset_zone_words() -> None:
    assert countdown(NOW + 3725, NOW) == "1h 02m"
    assert countdown(NOW + 65, NOW) == "1m 05s"
    assert countdown(NOW - 5, NOW) == "0m 00s"
    assert reset_words({"reset_zone": "server", "reset_time": "00:00"}) == "00:00 server time"
    winter = reset_words({"reset_zone": "Europe/Prague", "next_reset": 1_795_993_200.0})  # 2026-12-01 00:00 CET
    assert winter.startswith("00:00 CET")


# ---- the window ------------------------------------------------------------------------------------
class FakeGuard:
    def __init__(self, keys: list[str]) -> None:
        self.rules = {k: rm.make_rules("FTMO-2STEP", 200_000) for k in keys}
        self.last: dict[str, dict[str, Any]] = {}
        self.blocked: set[str] = set()
        self.reloaded = 0

    def is_blocked(self, key: str) -> bool:
        return key in self.blocked

    async def _reload(self) -> None:
        self.reloaded += 1
        self.rules = {k: rm.Rules.from_json(v["rules"]) for k, v in guard_store.load_rules(self.data_dir).items()}


@pytest.fixture
def guarded(qtbot, qloop, tmp_path: Path):
    accounts = fake_accounts(6)
    desk = FakeDesk(tmp_path / "data", accounts)
    keys = [a["key"] for a in accounts]
    for k in keys[:3]:
        desk.states[k] = {"state": "live"}
    guard = FakeGuard(keys[:3])
    guard.data_dir = desk.data_dir
    desk.guard = guard
    lanes = SimpleNamespace(accounts=set(keys), lock=SimpleNamespace(jobs=[]))
    lanes.lock.run_job = lambda key, kind, priority=False: lanes.lock.jobs.append((key, kind))
    desk.lane_of = lambda key: lanes
    desk.name_of = lambda key: key
    desk.activity = []
    desk.log_activity = desk.activity.append

    async def io(fn: Any, *args: Any) -> Any:
        return fn(*args)

    desk.io = io
    with fake_window(qtbot, qloop, desk) as win:
        yield win, desk, keys, lanes


def emit_verdicts(desk: FakeDesk, keys: list[str]) -> None:
    now = time.time()
    desk.event.emit({**verdict(keys[0], ts=now), "next_reset": now + 3600})
    desk.event.emit({**verdict(keys[1], level="warning", daily=500, ts=now), "next_reset": now + 3600})
    desk.event.emit({**verdict(keys[2], level="breached", daily=-20, blocked=True, ts=now), "next_reset": now + 3600})


def test_sidebar_rows_and_tiles_show_headroom_in_the_levels_colour(qtbot, guarded) -> None:
    win, desk, keys, _ = guarded
    rows_before = win.sidebar.visualRect(win.model.index_of(keys[0])).height()
    emit_verdicts(desk, keys)
    view = win.rules_view
    qtbot.waitUntil(lambda: keys[2] in win.model.headroom, timeout=3000)  # the window's timer repainted
    assert [win.model.headroom[k].level for k in keys[:3]] == ["ok", "warning", "blocked"]
    assert keys[3] not in win.model.headroom  # unguarded accounts get no line
    qtbot.waitUntil(lambda: win.sidebar.visualRect(win.model.index_of(keys[0])).height() > rows_before)
    labels = view.tile_labels
    assert labels[keys[1]].text().startswith("⚠ Daily room 500.00")
    assert "#b06000" in labels[keys[1]].styleSheet()
    assert LIGHT_COLOURS.loss in labels[keys[2]].styleSheet() and "BLOCKED" in labels[keys[2]].text()
    assert not labels[keys[3]].isVisible()


def test_headroom_turns_stale_when_the_account_stops_being_live(qtbot, guarded) -> None:
    win, desk, keys, _ = guarded
    emit_verdicts(desk, keys)
    qtbot.waitUntil(lambda: keys[0] in win.model.headroom, timeout=3000)
    assert win.model.headroom[keys[0]].level == "ok"
    desk.states[keys[0]] = {"state": "idle"}
    desk.event.emit({"event": "account_state", "account": keys[0], "state": "idle"})
    qtbot.waitUntil(lambda: win.model.headroom[keys[0]].level == "stale", timeout=3000)
    assert win.model.headroom[keys[0]].text.startswith("Unguarded while idle")


def test_the_focused_accounts_floors_are_drawn_on_the_chart(qtbot, guarded) -> None:
    win, desk, keys, _ = guarded
    win.focus(keys[1])
    emit_verdicts(desk, keys)
    floors = win.rules_view.floors
    qtbot.waitUntil(lambda: floors.daily.isVisible(), timeout=3000)
    assert floors.daily.value() == 190_000.0 and floors.total.value() == 180_000.0
    assert "Daily floor 190,000.00" in floors.daily.label.format
    assert win.chart.levels == [190_000.0]  # the nearer floor is kept in view
    win.focus(keys[4])  # not guarded: no floors
    win.rules_view.repaint(time.time())
    assert not floors.daily.isVisible() and win.chart.levels == []


def test_rules_dialog_bad_input_stores_nothing_and_good_input_arms(qtbot, qloop, guarded) -> None:
    win, desk, keys, _ = guarded
    key = keys[4]
    dialog = win.rules_view.open_rules(key)
    assert isinstance(dialog, RulesDialog) and dialog.dedicate.isVisibleTo(dialog)  # a shared account
    dialog.initial.setValue(100_000)
    dialog.fields["reset_zone"].setText("Mars/Olympus")
    dialog.submit()
    assert "unknown time zone" in dialog.error.text() and dialog.isVisible()
    assert guard_store.load_rules(desk.data_dir) == {}
    dialog.fields["reset_zone"].setText("Europe/Prague")
    dialog.hard_stop.setChecked(True)
    dialog.submit()
    qloop.run_until_complete(asyncio.wait_for(asyncio.gather(*win._tasks), 10))
    stored = guard_store.load_rules(desk.data_dir)[key]
    assert stored["rules"]["preset"] == "FTMO-2STEP" and stored["rules"]["hard_stop"] is True
    assert stored["rules"]["initial"] == 100_000 and stored["armed_at"] > 0
    assert desk.guard.reloaded == 1 and key in desk.guard.rules


def test_rules_dialog_offers_re_arm_on_a_blocked_account_and_clear(qtbot, qloop, guarded) -> None:
    win, desk, keys, _ = guarded
    key = keys[0]
    guard_store.save_rules(desk.data_dir, {key: {"rules": desk.guard.rules[key].to_json(), "armed_at": 1.0}})
    desk.guard.blocked.add(key)
    dialog = win.rules_view.open_rules(key)
    assert dialog.block_note.isVisibleTo(dialog) and dialog.rearm.isVisibleTo(dialog)
    dialog.rearm.click()
    qloop.run_until_complete(asyncio.wait_for(asyncio.gather(*win._tasks), 10))
    assert guard_store.load_rules(desk.data_dir)[key]["armed_at"] > 1.0  # a later arm lifts the block
    dialog = win.rules_view.open_rules(key)
    dialog.clear.click()
    qloop.run_until_complete(asyncio.wait_for(asyncio.gather(*win._tasks), 10))
    assert key not in guard_store.load_rules(desk.data_dir)


def test_a_preset_fills_the_form_and_custom_keeps_it(guarded) -> None:
    win, _desk, keys, _ = guarded
    dialog = win.rules_view.open_rules(keys[5])
    dialog.preset.setCurrentText("FTMO-1STEP")
    assert dialog.fields["total_mode"].currentText() == "eod_balance"
    assert dialog.fields["total_lock"].text() == ""  # FTMO's floor only rises, with no stop (rule_presets.py)
    dialog.initial.setValue(100_000)
    r = dialog.rules()
    assert r.total_lock is None and r.daily_pct == pytest.approx(0.03)
    dialog.preset.setCurrentText("custom")
    dialog.fields["daily_pct"].setValue(4)
    r = dialog.rules()
    assert r.preset == "custom" and r.daily_pct == pytest.approx(0.04) and r.total_mode == "eod_balance"


def message_box() -> QMessageBox | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)


def test_flatten_all_names_the_accounts_skips_read_only_and_queues_flatten_jobs(qtbot, guarded) -> None:
    win, desk, keys, lanes = guarded
    investor = next(a["key"] for a in desk.accounts() if a["investor"])
    box = win.rules_view.flatten(None)
    text = box.text()
    login = investor.split("@")[0]
    assert f"({keys[0].split('@')[0]})" in text and f"({login}): read-only" in text
    next(b for b in box.buttons() if b.text().startswith("Flatten ")).click()
    assert [k for k, kind in lanes.lock.jobs if kind == "flatten"] == [k for k in keys if k != investor]
    progress = win.rules_view.progress
    assert progress is not None and progress.isVisible()
    desk.event.emit({"event": "job", "job": "flatten", "account": keys[0], "state": "done",
                     "result": {"closed": 3, "deleted": 2, "failed": 1}})
    assert "closed 3 position(s), deleted 2 order(s), 1 failed" in progress.lines[keys[0]].text()


def test_flatten_blocked_only_acts_on_the_blocked_accounts(qtbot, guarded) -> None:
    win, desk, keys, lanes = guarded
    desk.guard.blocked.add(keys[2])
    box = win.rules_view.flatten(None, only_blocked=True)
    assert keys[2].split("@")[0] in box.text() and keys[0].split("@")[0] not in box.text()
    next(b for b in box.buttons() if b.text().startswith("Flatten ")).click()
    assert lanes.lock.jobs == [(keys[2], "flatten")]


def test_risk_events_notify_once_per_crossing_and_objectives_show_in_the_tooltip(qtbot, guarded) -> None:
    win, desk, keys, _ = guarded
    for state, blocked in (("ok", False), ("warning", False), ("breached", False), ("breached", True)):
        desk.event.emit({"event": "risk", "account": keys[0], "state": state, "blocked": blocked})
    titles = [t for t, _ in win.tray.alerts]
    assert sum("is near a loss floor" in t for t in titles) == 1
    assert sum("breached a loss floor" in t for t in titles) == 1
    assert sum("blocked by its hard stop" in t for t in titles) == 1
    objectives = {"profit_target": {"target": 10_000, "profit": 2_500, "met": False},
                  "trading_days": {"required": 4, "done": 4, "met": True},
                  "best_day": {"best": 900, "share": 0.36, "max_share": 0.5, "met": True}}
    h = headroom_of({**verdict(keys[0]), "objectives": objectives}, True, NOW, NOW)
    assert h is not None
    assert "… profit target: 2,500.00 of 10,000.00" in h.tooltip and "✓ trading days: 4 of 4" in h.tooltip
    assert "✓ best day: 36% of the profit (at most 50%)" in h.tooltip


def test_a_verdict_stored_before_the_restart_is_shown_as_old_not_live(qtbot, guarded) -> None:
    """The guard reads guard.json after the window is built and does not repeat an unguarded verdict."""
    win, desk, keys, _ = guarded
    desk.guard.last[keys[3]] = {**verdict(keys[3], coverage="unguarded")}
    desk.guard.rules[keys[3]] = rm.make_rules("FTMO-2STEP", 200_000)
    qtbot.waitUntil(lambda: keys[3] in win.model.headroom, timeout=3000)
    h = win.model.headroom[keys[3]]
    assert h.level == "stale" and h.text == "Unguarded while idle · room unknown"


def test_the_sidebars_headroom_line_has_the_floors_and_how_to_lift_a_block_as_tooltip(qtbot, guarded) -> None:
    from PySide6.QtCore import QEvent, QPoint
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtWidgets import QToolTip

    win, desk, keys, _ = guarded
    emit_verdicts(desk, keys)
    qtbot.waitUntil(lambda: keys[2] in win.model.headroom, timeout=3000)
    view = win.sidebar
    qtbot.waitUntil(lambda: view.visualRect(win.model.index_of(keys[2])).height() > 60, timeout=3000)
    rect = view.visualRect(win.model.index_of(keys[2]))
    pos = QPoint(rect.left() + 40, rect.bottom() - 6)
    event = QHelpEvent(QEvent.Type.ToolTip, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    qtbot.waitUntil(lambda: "Re-arm" in QToolTip.text(), timeout=3000)
    assert "190,000.00" in QToolTip.text()
