"""Making or changing a copy link from the window ([J] 4): every option of ``copier add``.

Checked as the command line checks it (multi_user/copy_store.py) before anything is stored; bad input is
said under the form and stores nothing. A read-only (investor) follower and a netting follower of a
hedging master are refused with the reason. When the master or the follower runs on the shared
terminal, the dialog offers to give it its own (checked by default) and says what happens if not: the
link is stored, and the copier skips every trade with that reason until both have one. ``save`` (a
coroutine: the store and the own-terminal switch, off the GUI thread) is run by ``spawn``; its error,
e.g. a link the command line made meanwhile, is shown here and the dialog stays open.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from multi_user.copy_model import SIZINGS, CopyLink, netting_refusal, parse_maps, parse_symbols
from multi_user.copy_store import add_link, check_accounts
from multi_user.errors import BadInput, DeskError
from ui.dialog_parts import GrowingLabel, error_label

SIZING_LABELS = {"equity": "Equity ratio (follower equity ÷ master equity)", "balance": "Balance ratio",
                 "fixed": "Fixed volume", "multiplier": "Multiplier of the master's volume"}
Save = Callable[[CopyLink, "str | None", list[str]], Awaitable[Any]]  # link, the key it replaces, own terminals


def _spin(decimals: int, top: float, step: float, special: str = "") -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(0.0, top)
    box.setSingleStep(step)
    if special:
        box.setSpecialValueText(special)  # shown at 0
    return box


class CopierLinkDialog(QDialog):
    def __init__(self, parent: QWidget | None, accounts: list[dict[str, Any]], links: list[CopyLink],
                 save: Save, spawn: Callable[[Any], None], *,
                 link: CopyLink | None = None, margin_modes: dict[str, int] | None = None) -> None:
        super().__init__(parent)
        self.accounts = {a["key"]: a for a in accounts}
        self.links, self.save, self.spawn, self.editing = links, save, spawn, link
        self.margin_modes = margin_modes or {}
        self.setWindowTitle("Edit copy link" if link else "Add copy link")
        self.master, self.follower = QComboBox(), QComboBox()
        for combo, role in ((self.master, "master"), (self.follower, "follower")):
            combo.setAccessibleName(role.capitalize())
            for key, a in self.accounts.items():
                extra = " — read-only" if a.get("investor") else ""
                combo.addItem(f"{a.get('label') or key} — {key}{extra}", key)
            combo.currentIndexChanged.connect(self._accounts_changed)
        self.sizing = QComboBox()
        for s in SIZINGS:
            self.sizing.addItem(SIZING_LABELS[s], s)
        self.multiplier = _spin(3, 1000.0, 0.1)
        self.volume = _spin(2, 1000.0, 0.01)
        self.max_volume = _spin(2, 1000.0, 0.01, "no maximum")
        self.maps = QLineEdit()
        self.maps.setPlaceholderText("XAUUSD=GOLD, US500=SPX500  (suffixes like EURUSD.r are found by themselves)")
        self.symbols = QLineEdit()
        self.symbols.setPlaceholderText("all symbols; or EURUSD,XAUUSD (only these); or !US500 (all but these)")
        self.reverse = QCheckBox("Reverse (buy for sell, SL for TP)")
        self.sltp = QCheckBox("Copy stop loss and take profit, and their changes")
        self.pending = QCheckBox("Copy pending orders")
        self.slippage = QSpinBox()
        self.slippage.setRange(0, 100000)
        self.slippage.setSpecialValueText("any price")
        self.slippage.setSuffix(" points")
        self.copy_open = QCheckBox("Also copy the trades the master has open now")
        self.own_terminal = QCheckBox()
        self.shared_note = GrowingLabel()
        self.shared_note.setObjectName("Muted")
        self.error = error_label()
        self.sizing.currentIndexChanged.connect(self._sizing_changed)
        form = QFormLayout()
        for label, w in (("Master", self.master), ("Follower", self.follower), ("Sizing", self.sizing),
                         ("Multiplier", self.multiplier), ("Volume (lots)", self.volume),
                         ("Max volume (lots)", self.max_volume), ("Symbol names", self.maps),
                         ("Symbols", self.symbols), ("Max slippage", self.slippage)):
            form.addRow(label, w)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Save link" if link else "Add link")
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        for w in (self.reverse, self.sltp, self.pending, self.copy_open, self.own_terminal, self.shared_note):
            lay.addWidget(w)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self._fill(link or CopyLink("0@x", "1@x"))
        self.setMinimumWidth(560)

    def _fill(self, lk: CopyLink) -> None:
        for combo, key in ((self.master, lk.master), (self.follower, lk.follower)):
            i = combo.findData(key)
            if i >= 0:
                combo.setCurrentIndex(i)
            combo.setEnabled(self.editing is None)  # another pair is another link: remove this one, add that
        if self.editing is None and self.follower.currentIndex() == self.master.currentIndex() and \
                self.follower.count() > 1:
            self.follower.setCurrentIndex(1)
        self.sizing.setCurrentIndex(SIZINGS.index(lk.sizing))
        self.multiplier.setValue(lk.multiplier)
        self.volume.setValue(lk.volume or 0.01)
        self.max_volume.setValue(lk.max_volume)
        self.maps.setText(", ".join(f"{a}={b}" for a, b in lk.symbol_map.items()))
        self.symbols.setText(",".join(lk.symbols))
        self.reverse.setChecked(lk.reverse)
        self.sltp.setChecked(lk.copy_sltp)
        self.pending.setChecked(lk.copy_pending)
        self.slippage.setValue(lk.max_slippage)
        self.copy_open.setChecked(lk.copy_open)
        self.copy_open.setEnabled(self.editing is None)  # decided when the link starts
        self._sizing_changed()
        self._accounts_changed()

    def _sizing_changed(self) -> None:
        fixed = self.sizing.currentData() == "fixed"
        self.volume.setEnabled(fixed)
        self.multiplier.setEnabled(not fixed)

    def shared_keys(self) -> list[str]:
        keys = [self.master.currentData(), self.follower.currentData()]
        return [k for k in dict.fromkeys(keys) if k and (self.accounts.get(k) or {}).get("mode") != "dedicated"]

    def _accounts_changed(self) -> None:
        shared = self.shared_keys()
        names = " and ".join(str((self.accounts.get(k) or {}).get("label") or k) for k in shared)
        self.own_terminal.setText(f"Give {names} {'its' if len(shared) == 1 else 'their'} own terminal (recommended)")
        self.own_terminal.setChecked(True)
        self.shared_note.setText(f"{names} {'runs' if len(shared) == 1 else 'run'} on the shared terminal, but a "
                                 "copier needs master and follower live at the same time. Without an own terminal "
                                 "the link is stored, but the copier skips every trade with the reason \"no terminal "
                                 "of its own\" until both have one." if shared else "")
        for w in (self.own_terminal, self.shared_note):
            w.setVisible(bool(shared))
        self.error.hide()

    # ---- the link -----------------------------------------------------------------------------------
    def link(self) -> CopyLink:
        """The link the form describes, checked as ``copier add`` checks it; BadInput says what is wrong."""
        lk = CopyLink(str(self.master.currentData()), str(self.follower.currentData()),
                      sizing=str(self.sizing.currentData()), multiplier=self.multiplier.value(),
                      volume=self.volume.value() if self.sizing.currentData() == "fixed" else 0.0,
                      max_volume=self.max_volume.value(),
                      symbol_map=parse_maps([m for m in self.maps.text().replace(";", ",").split(",") if m.strip()]),
                      symbols=parse_symbols(self.symbols.text()), reverse=self.reverse.isChecked(),
                      copy_sltp=self.sltp.isChecked(), copy_pending=self.pending.isChecked(),
                      max_slippage=self.slippage.value(), copy_open=self.copy_open.isChecked())
        if self.editing is not None:
            lk.created_at, lk.started, lk.baseline, lk.paused = (self.editing.created_at, self.editing.started,
                                                                 list(self.editing.baseline), self.editing.paused)
            lk.copy_open = self.editing.copy_open
        others = [o for o in self.links if self.editing is None or o.key != self.editing.key]
        add_link(others, lk)
        check_accounts(lk, list(self.accounts.values()), own_terminal=False)
        why = netting_refusal(self.margin_modes.get(lk.master), self.margin_modes.get(lk.follower), lk.follower)
        if why is not None:
            raise BadInput(why, field="follower")
        return lk

    def submit(self) -> None:
        try:
            lk = self.link()
        except BadInput as exc:
            self.show_error(str(exc))
            return
        dedicate = self.shared_keys() if self.own_terminal.isChecked() else []
        self.ok.setEnabled(False)
        self.spawn(self._save(lk, dedicate))

    async def _save(self, lk: CopyLink, dedicate: list[str]) -> None:
        try:
            await self.save(lk, self.editing.key if self.editing else None, dedicate)
        except DeskError as exc:
            self.show_error(str(exc))
            return
        finally:
            self.ok.setEnabled(True)
        self.accept()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()

