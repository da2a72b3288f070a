"""Prop-firm rules of one account from the window ([H] 1, 5): a preset or custom rules, the hard stop,
re-arm after a block, clear. The same file and checks as ``accounts rules set|clear`` (rules.json via
app/guard_store.py, multi_user/rules.py validates): bad input is said next to the form and nothing is
stored. Percent fields are percents (5 = 5 %), as on the command line."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import guard_store
from multi_user import rules as rm
from multi_user.errors import BadInput
from multi_user.rule_presets import PRESETS
from ui.dialog_parts import error_label

PCT = ("daily_pct", "total_pct", "profit_target_pct")
CHOICES = {"daily_ref": rm.DAILY_REFS, "daily_base": rm.DAILY_BASES, "total_mode": rm.TOTAL_MODES}
TEXTS = ("total_lock", "reset_zone", "reset_time", "min_trading_days")
LABELS = {"daily_pct": "Daily loss limit (%)", "total_pct": "Maximum loss (%)",
          "profit_target_pct": "Profit target (%)",
          "daily_ref": "Day starts from", "daily_base": "Daily % is of", "total_mode": "Maximum loss floor",
          "total_lock": "Trailing floor stops at", "reset_zone": "Reset time zone", "reset_time": "Reset time (HH:MM)",
          "min_trading_days": "Minimum trading days"}


def store_rules(data_dir: Path, key: str, rules: rm.Rules | None) -> None:
    """Write (or, with None, remove) one account's rules; a write is a (re-)arm. Blocking: the I/O thread."""
    stored = guard_store.load_rules(data_dir)
    if rules is None:
        stored.pop(key, None)
    else:
        stored[key] = {"rules": rules.to_json(), "armed_at": time.time()}
    guard_store.save_rules(data_dir, stored)


class RulesDialog(QDialog):
    """``save(key, rules|None, dedicated)`` is awaited by the caller's task runner (``spawn``)."""

    def __init__(self, parent: QWidget, key: str, name: str, current: rm.Rules | None, *, shared: bool,
                 blocked: bool, save: Callable[[str, rm.Rules | None, bool], Awaitable[None]],
                 spawn: Callable[[Any], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Prop-firm rules · {name}")
        self.key, self.save, self.spawn, self.shared = key, save, spawn, shared
        self.preset = QComboBox()
        self.preset.addItems([*PRESETS, "custom"])
        self.initial = QDoubleSpinBox()
        self.initial.setRange(0, 1e12)
        self.initial.setDecimals(2)
        self.initial.setGroupSeparatorShown(True)
        self.warn = _pct_box(80)
        self.act = _pct_box(100)
        self.hard_stop = QCheckBox("Hard stop: at the acting level close all, delete pending orders and block")
        self.dedicate = QCheckBox("Give it its own terminal (a hard stop acts at once, and it stays guarded)")
        self.dedicate.setVisible(shared)
        self.fields: dict[str, Any] = {}
        form = QFormLayout()
        form.addRow("Preset", self.preset)
        form.addRow("Initial balance", self.initial)
        form.addRow("Warn at (% of a limit used)", self.warn)
        form.addRow("Act at (% of a limit used)", self.act)
        for name in PCT:
            self.fields[name] = _pct_box(0)
            self.fields[name].setSpecialValueText("none")
            form.addRow(LABELS[name], self.fields[name])
        for name, choices in CHOICES.items():
            self.fields[name] = QComboBox()
            self.fields[name].addItems(choices)
            form.addRow(LABELS[name], self.fields[name])
        for name in TEXTS:
            self.fields[name] = QLineEdit()
            form.addRow(LABELS[name], self.fields[name])
        self.fields["reset_zone"].setPlaceholderText("Europe/Prague, or server (the broker's midnight)")
        self.fields["total_lock"].setPlaceholderText("an amount, 'initial', or empty")
        self.fields["min_trading_days"].setPlaceholderText("empty: none")
        self.error = error_label()
        self.block_note = QLabel("⊘ The hard stop blocked this account: no order is sent for it until the day "
                                 "resets. Re-arm lifts the block now (your rules stay as they are).")
        self.block_note.setWordWrap(True)
        self.block_note.setObjectName("ErrorText")
        self.block_note.setVisible(blocked)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.addButton("Save and arm" if current is None else "Save (re-arms)",
                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.rearm = QPushButton("Re-arm (lift the block)")
        self.rearm.setVisible(blocked and current is not None)
        self.clear = QPushButton("Stop guarding")
        self.clear.setVisible(current is not None)
        buttons.addButton(self.rearm, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.clear, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.ok.clicked.connect(self.submit)
        self.rearm.clicked.connect(lambda: self._finish(current, False))
        self.clear.clicked.connect(lambda: self._finish(None, False))
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.block_note)
        lay.addLayout(form)
        lay.addWidget(self.hard_stop)
        lay.addWidget(self.dedicate)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        self.preset.currentTextChanged.connect(self._fill_preset)
        if current is not None:
            self._fill(current)
        else:
            self._fill_preset(self.preset.currentText())

    def _fill_preset(self, name: str) -> None:
        if name == "custom":
            return  # custom starts from whatever is shown
        self._fill(rm.make_rules(name, self.initial.value() or 100_000.0), keep_money=True)

    def _fill(self, r: rm.Rules, keep_money: bool = False) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentText(r.preset if r.preset in PRESETS else "custom")
        self.preset.blockSignals(False)
        if not keep_money or not self.initial.value():
            self.initial.setValue(r.initial)
        self.warn.setValue(r.warn_pct * 100)
        self.act.setValue(r.act_pct * 100)
        self.hard_stop.setChecked(r.hard_stop)
        for name in PCT:
            v = getattr(r, name)
            self.fields[name].setValue(0 if v is None else v * 100)
        for name in CHOICES:
            self.fields[name].setCurrentText(getattr(r, name))
        lock = r.total_lock
        preset_lock = PRESETS.get(r.preset, {}).get("total_lock")
        shown = "initial" if preset_lock == "initial" else "" if lock is None else f"{lock:g}"
        self.fields["total_lock"].setText(shown)
        self.fields["reset_zone"].setText(r.reset_zone)
        self.fields["reset_time"].setText(r.reset_time)
        days = r.min_trading_days
        self.fields["min_trading_days"].setText("" if days is None else str(days))

    def rules(self) -> rm.Rules:
        """The rules the form says (BadInput with the field's name when something is wrong)."""
        over: dict[str, Any] = {"warn_pct": self.warn.value() / 100, "act_pct": self.act.value() / 100,
                                "hard_stop": self.hard_stop.isChecked()}
        for name in PCT:
            over[name] = self.fields[name].value() / 100 or None
        for name in CHOICES:
            over[name] = self.fields[name].currentText()
        over["reset_zone"] = self.fields["reset_zone"].text().strip() or "server"
        over["reset_time"] = self.fields["reset_time"].text().strip() or "00:00"
        lock = self.fields["total_lock"].text().strip().lower()
        try:
            over["total_lock"] = None if not lock else "initial" if lock == "initial" else float(lock.replace(",", ""))
        except ValueError:
            raise BadInput(f"the total lock is an amount or 'initial', not {lock!r}", field="total_lock") from None
        days = self.fields["min_trading_days"].text().strip()
        if days and not days.isdigit():
            raise BadInput(f"minimum trading days is a whole number, not {days!r}", field="min_trading_days")
        over["min_trading_days"] = int(days) if days else None
        r = rm.make_rules(self.preset.currentText(), self.initial.value(), **over)
        # make_rules keeps a preset's value where the form says "none": the form is what is stored
        return rm.validate(replace(r, **{n: over[n] for n in (*PCT, "total_lock", "min_trading_days")
                                         if over[n] is None}))

    def submit(self) -> None:
        try:
            r = self.rules()
        except BadInput as exc:
            self.error.setText(str(exc))
            self.error.show()
            return
        self._finish(r, self.dedicate.isChecked() and self.shared)

    def _finish(self, r: rm.Rules | None, dedicated: bool) -> None:
        self.spawn(self.save(self.key, r, dedicated))
        self.accept()


def _pct_box(value: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(0, 100)
    box.setDecimals(2)
    box.setSuffix(" %")
    box.setValue(value)
    return box
