"""Dialogs and small panels tell the truth: a wrong install folder is refused with the reason, a
misspelled server is named (with the server the owner probably meant), a successful link is
confirmed, the Terminals buttons need a selected row, and the tray sums up the desk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from fake_desk import FakeDesk, fake_accounts
from PySide6.QtWidgets import QApplication, QMessageBox, QSystemTrayIcon, QWidget

from multi_user.errors import AuthorizationError
from ui.dialogs import LinkDialog, suggest_server
from ui.settings_dialog import EditDialog, SettingsDialog
from ui.terminals_panel import TerminalsPanel
from ui.theme import app_icon
from ui.tray import Tray


def run(loop: asyncio.AbstractEventLoop, coro: Any) -> Any:
    return loop.run_until_complete(asyncio.wait_for(coro, 30))


def test_settings_refuse_a_folder_without_terminal64_and_save_a_good_one(qtbot, qloop, tmp_path: Path) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    saved: list[dict] = []
    dialog = SettingsDialog(parent, {"base_install": None}, saved.append)
    dialog.show()
    assert dialog.base.browse_button.isVisible()
    dialog.base.setText(str(tmp_path / "no such folder"))
    dialog.buttons.accepted.emit()
    run(qloop, dialog.check_task)
    assert saved == [] and dialog.base_error.isVisible() and "no such folder" in dialog.base_error.text()
    (tmp_path / "empty").mkdir()
    dialog.base.setText(str(tmp_path / "empty"))
    dialog.buttons.accepted.emit()
    run(qloop, dialog.check_task)
    assert saved == [] and "terminal64.exe" in dialog.base_error.text()
    (tmp_path / "mt5").mkdir()
    (tmp_path / "mt5" / "terminal64.exe").write_bytes(b"MZ")
    dialog.base.setText(str(tmp_path / "mt5"))
    dialog.tray.setChecked(True)
    dialog.buttons.accepted.emit()
    run(qloop, dialog.check_task)
    assert saved and saved[0]["base_install"] == str(tmp_path / "mt5") and saved[0]["minimize_to_tray"] is True
    assert not dialog.base_error.isVisible()


def test_edit_refuses_a_wrong_terminal_folder(qtbot, qloop, tmp_path: Path) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    saved: list[dict] = []
    dialog = EditDialog(parent, {"login": 1, "server": "S", "label": "A", "mode": "shared"}, saved.append)
    dialog.terminal.setText(str(tmp_path / "nope"))
    dialog.buttons.accepted.emit()
    run(qloop, dialog.check_task)
    assert saved == [] and not dialog.error.isHidden() and "nope" in dialog.error.text()


def test_suggest_server() -> None:
    known = ["SimBroker-Demo", "SimBroker-Live", "Northwind-Server"]
    assert suggest_server("SimBroker-Demo", known) is None
    assert suggest_server("simbroker-demo", known) == "SimBroker-Demo"
    assert suggest_server("SimBroker-Dmeo", known) == "SimBroker-Demo"
    assert suggest_server("Northwnd-Server", known) == "Northwind-Server"
    assert suggest_server("Completely-Else", known) is None


class LinkingDesk(FakeDesk):
    def __init__(self, data_dir: Path, reject: bool) -> None:
        super().__init__(data_dir, fake_accounts(3))
        self.reject = reject

    async def link_account(self, login: str, server: str, password: str, **kw: Any) -> dict:
        if self.reject:
            raise AuthorizationError("Authorization failed (-6)")
        return {"key": f"{login}@{server}", "login": int(login), "server": server, "label": kw.get("label"),
                "mode": "dedicated" if kw.get("dedicated") else "shared"}


def link_dialog(qtbot, tmp_path: Path, reject: bool, server: str) -> LinkDialog:
    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = LinkDialog(parent, LinkingDesk(tmp_path, reject=reject))
    dialog.host = parent  # keeps the parent window alive as long as the dialog
    dialog.show()
    qtbot.keyClicks(dialog.login, "51000009")
    qtbot.keyClicks(dialog.server, server)
    return dialog


def test_a_misspelled_server_is_named_with_the_known_one(qtbot, qloop, tmp_path: Path) -> None:
    dialog = link_dialog(qtbot, tmp_path, True, "SimBroker-Dmeo")
    assert "Did you mean" in dialog.errors["server"].text()  # a hint while typing already
    assert dialog.link_button.isEnabled() is False
    qtbot.keyClicks(dialog.password, "secret-pass")
    assert dialog.link_button.isEnabled()  # a hint, not a refusal: the broker may know a new server
    dialog.link_button.click()
    run(qloop, _wait_task(dialog))
    assert "SimBroker-Demo" in dialog.errors["server"].text() and "not seen" in dialog.errors["server"].text()
    assert not dialog.errors["password"].isVisible()
    dialog.errors["server"].linkActivated.emit("SimBroker-Demo")
    assert dialog.server.text() == "SimBroker-Demo"
    dialog.link_button.click()
    run(qloop, _wait_task(dialog))
    assert "rejected" in dialog.errors["password"].text() and "wrong password" in dialog.errors["password"].text()


def test_a_successful_link_is_confirmed(qtbot, qloop, tmp_path: Path) -> None:
    dialog = link_dialog(qtbot, tmp_path, False, "SimBroker-Demo")
    qtbot.keyClicks(dialog.password, "secret-pass")
    qtbot.keyClicks(dialog.label, "New one")
    dialog.link_button.click()
    run(qloop, _wait_task(dialog))
    assert dialog.result() == dialog.DialogCode.Accepted
    box = dialog.confirmation
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "New one (51000009@SimBroker-Demo) is linked" in box.text() and "secret-pass" not in box.text()
    box.close()


def _wait_task(dialog: LinkDialog) -> asyncio.Task:
    assert dialog._task is not None, "the link button did not start a check"
    return dialog._task


def test_terminal_buttons_need_a_selected_lane(qtbot) -> None:
    done: list[tuple[str, str]] = []
    panel = TerminalsPanel(lambda lane, verb: done.append((lane, verb)), str)
    qtbot.addWidget(panel)
    panel.refresh([{"lane": "shared", "accounts": ["1@S"], "terminal": None, "worker": None},
                   {"lane": "dedicated 2@S", "accounts": ["2@S"], "terminal": None, "worker": None}])
    assert not any(b.isEnabled() for b in panel.buttons.values())
    panel.buttons["restart"].click()
    assert done == []
    panel.table.selectRow(1)
    assert all(b.isEnabled() for b in panel.buttons.values())
    panel.buttons["restart"].click()
    assert done == [("dedicated 2@S", "restart")]
    panel.table.clearSelection()
    assert not panel.buttons["stop"].isEnabled()


def test_minimize_to_tray_hides_the_window_only_when_chosen(qtbot, tmp_path: Path) -> None:
    window = QWidget()
    qtbot.addWidget(window)
    window.desk = FakeDesk(tmp_path, fake_accounts(3))
    tray = Tray(window, app_icon(), str)
    tray.icon = QSystemTrayIcon(app_icon(), window)  # offscreen has no tray; stand one in
    tray.set_tooltip("MT5 Desk · " + "1,000.00 USD\n" * 20)
    assert len(tray.tooltip) == 127 and tray.tooltip.endswith("…")  # Windows cuts longer tray tooltips
    window.show()
    qtbot.waitExposed(window)
    window.showMinimized()
    QApplication.processEvents()
    assert window.isVisible()  # not chosen: a normal minimize
    window.showNormal()
    window.desk.settings["minimize_to_tray"] = True
    window.showMinimized()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=2000)
    tray._show()
    assert window.isVisible()
