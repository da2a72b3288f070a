"""The window on a real Desk (worker and terminal processes on the simulator), driven as the owner
would: link through the dialog (a rejected password shown next to the field), activate from the
sidebar and see the banner, badges and chart follow, reorder, unlink with confirmation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from lane_harness import fast_desk, link_accounts
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication, QMessageBox

pytestmark = pytest.mark.slow


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what="condition") -> None:
    """Wait (letting Qt and asyncio run) until ``predicate`` holds, or fail after ``timeout``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.02)


def run(loop: asyncio.AbstractEventLoop, coro) -> None:
    loop.run_until_complete(asyncio.wait_for(coro, 120))


@pytest.fixture
def demo(sim_world: Path) -> list[dict]:
    from multi_user.mt5sim import control

    return control.demo_accounts(sim_world)


def make_window(qtbot, data_dir: Path):
    from ui.main_window import MainWindow

    desk = fast_desk(data_dir)
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    return desk, window


def message_box() -> QMessageBox | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)


def test_link_through_the_dialog_with_a_rejected_password_first(qtbot, qloop, data_dir: Path,
                                                                 demo: list[dict]) -> None:
    link_accounts(data_dir, demo[:1])
    new = demo[3]
    desk, window = make_window(qtbot, data_dir)

    async def scenario() -> None:
        await desk.start()
        try:
            dialog = window.open_link_dialog()
            qtbot.keyClicks(dialog.login, "12ab")
            assert dialog.errors["login"].isVisible() and "number" in dialog.errors["login"].text()
            assert not dialog.link_button.isEnabled()
            dialog.login.clear()
            qtbot.keyClicks(dialog.login, str(new["login"]))
            qtbot.keyClicks(dialog.server, new["server"])
            qtbot.keyClicks(dialog.password, "not-the-password")
            assert not dialog.errors["login"].isVisible() and dialog.link_button.isEnabled()
            dialog.link_button.click()
            await until(lambda: dialog.errors["password"].isVisible(),
                        what=lambda: f"the rejected password message (status: {dialog.status.text()!r}, "
                                     f"{[(k, v.text()) for k, v in dialog.errors.items()]}, "
                                     f"lock {desk.lock_state()})")
            assert "rejected" in dialog.errors["password"].text()
            assert f"{new['login']}@{new['server']}" not in [a["key"] for a in desk.accounts()]
            dialog.password.clear()
            qtbot.keyClicks(dialog.password, new["password"])
            dialog.link_button.click()
            await until(lambda: dialog.result() == dialog.DialogCode.Accepted, what="the dialog to accept")
            key = f"{new['login']}@{new['server']}"
            await until(lambda: key in window.model.keys_in_view_order(), what="the new row")
            assert "not-the-password" not in dialog.status.text()
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_activate_from_the_sidebar_banner_badges_and_chart_follow(qtbot, qloop, data_dir: Path,
                                                                   demo: list[dict]) -> None:
    keys = link_accounts(data_dir, demo[:3])
    desk, window = make_window(qtbot, data_dir)

    async def scenario() -> None:
        await desk.start()
        try:
            target = keys[2]
            index = window.model.index_of(target)
            rect = window.sidebar.visualRect(index)
            # a real double-click is a press/release followed by a double-click event
            qtbot.mouseClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            qtbot.mouseDClick(window.sidebar.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            await until(lambda: (desk.lock_state().get("holder") or {}).get("account") == target
                        and not desk.lock_state().get("switching"), what="the lock to move")
            await until(lambda: window.banner.title.text().find(str(demo[2]["login"])) >= 0, what="the banner")
            await until(lambda: (window.model.states.get(target) or {}).get("state") == "live", what="the badge")
            assert window.chart.key == target
            await until(lambda: len(window.chart.series.ts) >= 2, what="the chart to draw live points")
            assert window.model.holder == target
            assert "Live" in window.chart.status.text()
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_reorder_by_drag_is_stored(qtbot, qloop, data_dir: Path, demo: list[dict]) -> None:
    same_server = [a for a in demo if a["server"] == demo[0]["server"]][:3]
    keys = link_accounts(data_dir, same_server)
    desk, window = make_window(qtbot, data_dir)

    async def scenario() -> None:
        from ui.sidebar import move_to

        await desk.start()
        try:
            target = window.model.index_of(keys[2])
            assert move_to(window.model, keys[0], target, QAbstractItemView.DropIndicatorPosition.BelowItem,
                           window.sidebar.reordered.emit)
            expected = [keys[1], keys[2], keys[0]]
            await until(lambda: window.model.keys_in_view_order() == expected, what="the new order")
            from multi_user.vault import Vault

            vault = await desk.io(Vault.open, data_dir)
            assert [a.key for a in await desk.io(vault.list_accounts)] == expected
            await desk.io(vault.close)
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_unlink_asks_first(qtbot, qloop, data_dir: Path, demo: list[dict]) -> None:
    keys = link_accounts(data_dir, demo[:2])
    desk, window = make_window(qtbot, data_dir)

    async def scenario() -> None:
        await desk.start()
        try:
            window.account_action("unlink", keys[1])
            await until(lambda: message_box() is not None, what="the confirmation")
            box = message_box()
            box.button(QMessageBox.StandardButton.Cancel).click()
            await until(lambda: message_box() is None, what="the box to close")
            assert keys[1] in window.model.keys_in_view_order()
            window.account_action("unlink", keys[1])
            await until(lambda: message_box() is not None, what="the confirmation")
            box = message_box()
            unlink = next(b for b in box.buttons() if b.text() == "Unlink")
            unlink.click()
            await until(lambda: keys[1] not in window.model.keys_in_view_order(), what="the row to go")
            assert keys[1] not in [a["key"] for a in desk.accounts()]
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_stopping_the_shared_terminal_says_stopped_not_restarting(qtbot, qloop, data_dir: Path,
                                                                 demo: list[dict]) -> None:
    keys = link_accounts(data_dir, demo[3:4])
    desk, window = make_window(qtbot, data_dir)

    async def scenario() -> None:
        await desk.start()
        try:
            await until(lambda: (desk.account_states().get(keys[0]) or {}).get("state") == "live", what="live")
            window.tabs.setCurrentWidget(window.terminals)
            window.repaint_dirty()
            await until(lambda: window.terminals.table.rowCount() >= 1, what="the terminals list")
            window.terminals.table.selectRow(window.terminals._lanes.index("shared"))
            window.terminals.buttons["stop"].click()
            await until(lambda: "stopped" in str((desk.account_states().get(keys[0]) or {}).get("message")),
                        what=lambda: f"the stop message: {desk.account_states().get(keys[0])}")
            state = desk.account_states()[keys[0]]
            assert state["state"] == "offline" and "restarting" not in state["message"]
            assert "press Start" in state["message"]
        finally:
            await desk.stop()

    run(qloop, scenario())


def test_change_the_stored_password_from_edit_checked_with_the_broker(qtbot, qloop, data_dir: Path,
                                                                       demo: list[dict]) -> None:
    """[D2]: Edit changes the stored password only after the broker accepted it, like a link; a rejected
    one is said next to the field and nothing stored changes (mode, name, token)."""
    from multi_user.vault import Vault
    from ui.dialogs import EditDialog

    key, = link_accounts(data_dir, demo[1:2])
    login, server = key.split("@")

    def stored_token() -> str:
        vault = Vault.open(data_dir)
        try:
            return vault.token(int(login), server)
        finally:
            vault.close()

    before = stored_token()
    desk, window = make_window(qtbot, data_dir)

    async def scenario() -> None:
        await desk.start()
        try:
            saved: list[dict] = []
            dialog = EditDialog(window, window.model.account(key) or {}, saved.append,
                                change_password=lambda pw: desk.link_account(login, server, pw))
            dialog.open()
            qtbot.keyClicks(dialog.password, "not-the-password")
            dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
            await until(lambda: "rejected" in dialog.password_error.text(), what=lambda: dialog.password_error.text())
            assert dialog.isVisible() and saved == [] and stored_token() == before
            dialog.password.clear()
            qtbot.keyClicks(dialog.password, demo[1]["password"])
            dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
            await until(lambda: dialog.result() == dialog.DialogCode.Accepted,
                        what=lambda: dialog.password_error.text())
            assert saved and saved[0]["mode"] == "shared"
            assert stored_token() != before  # a new token: the password was stored again after the check
        finally:
            await desk.stop()

    run(qloop, scenario())
