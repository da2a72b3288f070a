"""The activity log ([D2] 2 and the activity panel): a close-all's result reaches the owner in the
status bar, the tray and the persistent activity log; entries survive a restart; job events with
the old ("aborted") and the new (id, result, "cancelled") names both read right."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from lane_harness import fast_desk, link_accounts
from test_ui_desk import message_box, run, until

from app.activity import ActivityLog, entry_for, job_result_text


def test_entries_are_kept_across_restarts(tmp_path: Path) -> None:
    log = ActivityLog(tmp_path / "activity.sqlite3")
    first = log.add({"ts": 1.0, "kind": "job", "level": "success", "account": "1@S", "title": "one", "detail": "d"})
    log.add({"ts": 2.0, "kind": "alert", "level": "error", "account": None, "title": "two"})
    log.close()
    again = ActivityLog(tmp_path / "activity.sqlite3")
    assert [(e["title"], e["level"], e["account"]) for e in again.recent()] == [("one", "success", "1@S"),
                                                                               ("two", "error", None)]
    assert again.recent()[0]["id"] == first["id"]
    again.close()


@pytest.mark.parametrize(("ev", "title", "detail"), [
    ({"state": "done", "message": "closed 2 position(s)"}, "Close all positions on 1@S: done", "closed 2 position(s)"),
    ({"state": "done", "id": "j1", "result": {"closed": 3, "failed": 0}}, "Close all positions on 1@S: done",
     "closed 3 positions"),
    ({"state": "failed", "id": "j1", "result": {"closed": 1, "failed": 2}, "message": "positions still open"},
     "Close all positions on 1@S: failed", "closed 1 position, 2 still open: positions still open"),
    ({"state": "done", "id": "j1", "result": {"closed": 1, "failed": 1}}, "Close all positions on 1@S: failed",
     "closed 1 position, 1 still open"),
    ({"state": "aborted", "message": "released by the owner"}, "Close all positions on 1@S: cancelled",
     "released by the owner"),
    ({"state": "cancelled", "id": "j2", "message": "dropped because the app quit"},
     "Close all positions on 1@S: cancelled", "dropped because the app quit"),
])
def test_job_ends_in_old_and_new_words(ev: dict, title: str, detail: str) -> None:
    entry = entry_for({"event": "job", "account": "1@S", "job": "close_all", "ts": 5.0, **ev})
    assert entry is not None and (entry["title"], entry["detail"]) == (title, detail)


def test_what_is_not_worth_an_entry() -> None:
    assert entry_for({"event": "job", "account": "1@S", "job": "close_all", "state": "started"}) is None
    assert entry_for({"event": "job", "account": "1@S", "job": "verify", "state": "done"}) is None
    assert entry_for({"event": "snapshot", "account": "1@S"}) is None
    assert entry_for({"event": "account_state", "account": "1@S", "state": "live"}, previous_state="live") is None
    switch = entry_for({"event": "account_state", "account": "1@S", "state": "live"}, previous_state="connecting")
    assert switch is not None and switch["title"] == "1@S is live"
    assert job_result_text({"job": "close_all", "state": "done", "result": {"closed": 0, "failed": 0}}) == \
        "closed 0 positions"


def test_repeated_failures_are_folded(data_dir: Path, qloop) -> None:
    from app.desk import Desk

    desk = Desk(data_dir, "sim")
    shown: list[dict] = []
    desk.event.connect(lambda ev: shown.append(ev) if ev.get("event") == "activity" else None)
    for _ in range(3):
        desk.emit({"event": "error", "lane": "shared", "message": "broker unreachable"})
    assert [e["detail"] for e in shown] == ["broker unreachable"]
    qloop.run_until_complete(desk.stop())


@pytest.mark.slow
def test_a_close_all_result_reaches_status_bar_tray_and_the_kept_log(qtbot, qloop, data_dir: Path,
                                                                      sim_world: Path) -> None:
    from multi_user.mt5sim import control
    from ui.main_window import MainWindow

    demo = control.demo_accounts(sim_world)
    with_positions = next(d for d in demo if d["login"] == 51001013)  # two open positions in the demo world
    (key,) = link_accounts(data_dir, [with_positions])
    desk = fast_desk(data_dir)
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()

    async def scenario() -> None:
        await window.start_desk()
        try:
            await until(lambda: (desk.account_states().get(key) or {}).get("state") == "live", what="live")
            window.account_action("close_all", key)
            await until(lambda: message_box() is not None, what="the confirmation")
            next(b for b in message_box().buttons() if b.text() == "Close all positions").click()
            await until(lambda: any("Close all positions" in t and ": done" in t for t in window.activity.titles()),
                        what=lambda: f"the result in the activity panel: {window.activity.titles()}")
            status = window.statusBar().currentMessage()
            assert re.search(r"Close all positions on .*: done — closed 2 position", status), status
            assert any("closed 2 position" in m for _, m in window.tray.alerts), window.tray.alerts
        finally:
            await window.shutdown()
            await desk.stop()

    run(qloop, scenario())
    kept = ActivityLog(data_dir / "activity.sqlite3").recent()
    assert any(e["title"].endswith(": done") and e["detail"].startswith("closed 2 position") for e in kept), kept
    # a new window shows the kept entries
    desk2 = fast_desk(data_dir)
    window2 = MainWindow(desk2)
    qtbot.addWidget(window2)

    async def reopen() -> None:
        window2._spawn(window2._load_activity())
        await until(lambda: any(": done" in t for t in window2.activity.titles()), what="the kept entries")
        await window2.shutdown()
        await desk2.stop()

    qloop.run_until_complete(asyncio.wait_for(reopen(), 30))


def test_the_logs_open_connection_keeps_a_small_page_cache(tmp_path: Path) -> None:
    """[P] 4: the connection lives as long as the app; SQLite's default cache (2 MB) grew the window's RSS."""
    log = ActivityLog(tmp_path / "activity.sqlite3")
    log.add({"kind": "info", "title": "x"})
    size = log._db().execute("PRAGMA cache_size").fetchone()[0]
    assert -1024 <= size < 0, size  # KiB, at most 1 MiB (default: -2000)
