"""[J] making links from the window: the Copier tab's Add/Edit/Remove dialog offers every option of
`copier add`; bad input (an investor follower, a netting follower of a hedging master, a fixed size
without a volume, a bad map) is said and stores nothing; a shared-terminal account is offered its own
terminal. The sidebar's follower and master rows carry the copier's marker and a tooltip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QDialog, QMessageBox

from app.copier import Copier
from multi_user.copy_model import CopyLink
from multi_user.copy_store import links_path, load_links, save_links
from tests.test_copier_app import Desk
from ui.copier_marker import copier_markers
from ui.copier_panel import CopierPanel
from ui.sidebar import AccountDelegate
from ui.sidebar_model import AccountsModel

M, F, INV, NET, OTHER = "1@M", "2@F", "3@F", "4@F", "5@F"


class WindowDesk(Desk):
    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.modes = {M: "dedicated", F: "shared", INV: "dedicated", NET: "dedicated", OTHER: "dedicated"}
        self.updated: list[tuple[str, str]] = []
        self.copier = Copier(self)

    def accounts(self) -> list[dict]:
        return [{"key": k, "label": f"Acc {k[0]}", "login": int(k[0]), "server": k[2:], "mode": mode,
                 "investor": k == INV} for k, mode in self.modes.items()]

    def last_snapshot(self, key: str) -> dict | None:
        return {"margin_mode": 0 if key == NET else 2}

    async def update_account(self, key: str, mode: str | None = None) -> None:
        self.updated.append((key, str(mode)))
        self.modes[key] = str(mode)


def run_now(coro: Any) -> None:
    try:
        coro.send(None)  # the stand-in desk's io never suspends
    except StopIteration:
        pass


def panel_for(tmp_path: Path, qtbot: Any) -> tuple[CopierPanel, WindowDesk]:
    desk = WindowDesk(tmp_path)
    panel = CopierPanel(desk, run_now, lambda k: f"Acc {k[0]}")
    qtbot.addWidget(panel)
    panel.timer.stop()
    return panel, desk


def pick(dialog: Any, master: str, follower: str) -> None:
    dialog.master.setCurrentIndex(dialog.master.findData(master))
    dialog.follower.setCurrentIndex(dialog.follower.findData(follower))


def test_bad_links_are_said_and_store_nothing(tmp_path: Path, qtbot: Any) -> None:
    panel, desk = panel_for(tmp_path, qtbot)
    dialog = panel.open_dialog(None)
    assert dialog is not None
    for (master, follower), setup, words in (
            ((M, INV), {}, "read-only"),
            ((M, NET), {}, "netting account"),
            ((M, M), {}, "cannot copy itself"),
            ((M, OTHER), {"sizing": "fixed", "volume": 0.0}, "--volume"),
            ((M, OTHER), {"maps": "XAUUSD"}, "SRC=DST")):
        pick(dialog, master, follower)
        dialog.sizing.setCurrentIndex(dialog.sizing.findData(setup.get("sizing", "equity")))
        dialog.volume.setValue(setup.get("volume", 0.1))
        dialog.maps.setText(setup.get("maps", ""))
        dialog.ok.click()
        assert dialog.error.isVisible() and words in dialog.error.text(), (follower, dialog.error.text())
        assert dialog.isVisible()
    assert not links_path(tmp_path).exists() and desk.updated == []
    dialog.close()


def test_a_link_with_every_option_and_its_own_terminal(tmp_path: Path, qtbot: Any) -> None:
    panel, desk = panel_for(tmp_path, qtbot)
    dialog = panel.open_dialog(None)
    pick(dialog, M, F)
    assert dialog.own_terminal.isVisibleTo(dialog) and dialog.own_terminal.isChecked()
    assert "Acc 2" in dialog.own_terminal.text() and "skips every trade" in dialog.shared_note.text()
    dialog.sizing.setCurrentIndex(dialog.sizing.findData("fixed"))
    dialog.volume.setValue(0.2)
    dialog.max_volume.setValue(1.5)
    dialog.maps.setText("XAUUSD=GOLD, US500=SPX500")
    dialog.symbols.setText("EURUSD,XAUUSD")
    dialog.reverse.setChecked(True)
    dialog.sltp.setChecked(False)
    dialog.pending.setChecked(False)
    dialog.slippage.setValue(30)
    dialog.copy_open.setChecked(True)
    dialog.ok.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    (lk,) = load_links(tmp_path)
    assert (lk.master, lk.follower, lk.sizing, lk.volume, lk.max_volume, lk.symbol_map, lk.symbols, lk.reverse,
            lk.copy_sltp, lk.copy_pending, lk.max_slippage, lk.copy_open) == (
        M, F, "fixed", 0.2, 1.5, {"XAUUSD": "GOLD", "US500": "SPX500"}, ["EURUSD", "XAUUSD"], True, False, False,
        30, True)
    assert desk.updated == [(F, "dedicated")]  # the same switch as the sidebar's "Give it its own terminal"
    assert [k for k, _ in desk.updated] == [F] and desk.copier.links[0].key == lk.key


def test_declining_the_own_terminal_stores_the_link_and_changes_no_account(tmp_path: Path, qtbot: Any) -> None:
    panel, desk = panel_for(tmp_path, qtbot)
    dialog = panel.open_dialog(None)
    pick(dialog, M, F)
    dialog.own_terminal.setChecked(False)
    dialog.ok.click()
    assert [lk.follower for lk in load_links(tmp_path)] == [F] and desk.updated == []


def test_edit_keeps_the_links_start_and_remove_asks_first(tmp_path: Path, qtbot: Any) -> None:
    save_links(tmp_path, [CopyLink(M, OTHER, started=True, baseline=[5], paused=True)])
    panel, desk = panel_for(tmp_path, qtbot)
    run_now(desk.copier.load())
    panel.refresh()
    panel.table.selectRow(0)
    assert panel.edit_button.isEnabled() and panel.remove_button.isEnabled()
    dialog = panel.open_dialog(OTHER)
    assert not dialog.master.isEnabled() and dialog.master.currentData() == M
    dialog.sizing.setCurrentIndex(dialog.sizing.findData("multiplier"))
    dialog.multiplier.setValue(2.5)
    dialog.ok.click()
    (lk,) = load_links(tmp_path)
    assert (lk.sizing, lk.multiplier, lk.started, lk.baseline, lk.paused) == ("multiplier", 2.5, True, [5], True)
    panel.remove_button.click()
    box = next(w for w in panel.findChildren(QMessageBox) if w.isVisible())
    assert "stay open" in box.text()
    next(b for b in box.buttons() if b.text() == "Remove link").click()
    assert load_links(tmp_path) == [] and desk.copier.links == []


def test_sidebar_markers_name_the_master_and_the_links_state(tmp_path: Path, qtbot: Any) -> None:
    desk = WindowDesk(tmp_path)
    copier = desk.copier
    copier.links = [CopyLink(M, F), CopyLink(M, OTHER, paused=True)]
    copier.views = {F: {"skipped": {"link": "the follower 2@F has no terminal of its own: give it one to copy",
                                    "77": "the follower's broker has no symbol for XAUUSD"}}}
    markers = copier_markers(copier, lambda k: f"Acc {k[0]}")
    assert markers[F][0] == "Copies Acc 1 (not copying)"
    assert "Follows Acc 1 (1@M)" in markers[F][1] and "no terminal of its own" in markers[F][1]
    assert "skipped #77" in markers[F][1]
    assert markers[OTHER][0] == "Copies Acc 1 (paused)"
    assert markers[M][0] == "Master of 2" and "Acc 5: paused" in markers[M][1]
    model = AccountsModel()
    model.set_accounts(desk.accounts())
    model.copier_markers = markers
    delegate = AccountDelegate(model, None, lambda: 400)
    assert delegate.texts(F)[1].endswith("Copies Acc 1 (not copying)")
    assert delegate.texts(M)[1].endswith("Master of 2") and "Copies" not in delegate.texts(INV)[1]
