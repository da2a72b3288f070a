"""The dialog that starts a bot on an account ([I] 5): the bot chosen from those a lane's worker found,
and one field per declared parameter, built from the bot's schema (``bots list --json`` shape).

The values are checked again in the worker (the schema's one judge); a refusal is shown under the field
it names and the dialog stays open, nothing started.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
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
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ui.dialog_parts import error_label, fit_height, with_error

BIG = 1_000_000_000


def field_for(spec: dict[str, Any]) -> QWidget:
    """An editor for one parameter, set to its default, bounded as the schema says."""
    kind, default = spec.get("type"), spec.get("default")
    if spec.get("choices"):
        w = QComboBox()
        for c in spec["choices"]:
            w.addItem(str(c), c)
        w.setCurrentIndex(max(0, w.findData(default)))
        return w
    if kind == "bool":
        w = QCheckBox()
        w.setChecked(bool(default))
        return w
    if kind == "int":
        w = QSpinBox()
        w.setRange(int(spec["min"]) if spec.get("min") is not None else -BIG,
                   int(spec["max"]) if spec.get("max") is not None else BIG)
        w.setValue(int(default or 0))
        return w
    if kind == "float":
        w = QDoubleSpinBox()
        w.setDecimals(5)
        w.setRange(float(spec["min"]) if spec.get("min") is not None else -BIG,
                   float(spec["max"]) if spec.get("max") is not None else BIG)
        w.setValue(float(default or 0.0))
        return w
    return QLineEdit("" if default is None else str(default))


def value_of(w: QWidget) -> Any:
    if isinstance(w, QComboBox):
        return w.currentData()
    if isinstance(w, QCheckBox):
        return w.isChecked()
    if isinstance(w, (QSpinBox, QDoubleSpinBox)):
        return w.value()
    assert isinstance(w, QLineEdit)
    return w.text()


class BotParamsDialog(QDialog):
    def __init__(self, parent: QWidget | None, account_name: str, bots: list[dict[str, Any]],
                 start: Callable[[str, dict[str, Any], float | None, bool], Awaitable[Any]],
                 spawn: Callable[[Any], None], shared: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Start a bot on {account_name}")
        self.bots = [b for b in bots if not b.get("error")]
        self._start, self._spawn = start, spawn
        self.fields: dict[str, QWidget] = {}
        self.errors: dict[str, QLabel] = {}
        lay = QVBoxLayout(self)
        top = QFormLayout()
        self.choice = QComboBox()
        for b in self.bots:
            self.choice.addItem(b["name"], b["name"])
        self.choice.currentIndexChanged.connect(lambda _i: self._build())
        top.addRow("Bot", self.choice)
        self.description = QLabel()
        self.description.setWordWrap(True)
        top.addRow("", self.description)
        lay.addLayout(top)
        self.form_box = QWidget()
        self.form = QFormLayout(self.form_box)
        lay.addWidget(self.form_box)
        opts = QFormLayout()
        self.turns = QSpinBox()
        self.turns.setRange(0, 24 * 60)
        self.turns.setSuffix(" min")
        self.turns.setSpecialValueText("hold the terminal until stopped")
        self.turns.setToolTip("On the shared terminal: after this long, let other accounts waiting for the "
                              "terminal have their turn, then continue")
        self.turns.setEnabled(shared)
        opts.addRow("Take turns every", self.turns)
        self.restart = QCheckBox("Start it again when MT5 Desk starts")
        opts.addRow("", self.restart)
        lay.addLayout(opts)
        self.message = error_label()
        lay.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.start_button = self.buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._submit)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)
        if not self.bots:
            self.message.setText("No bot was found: put one in the data dir's bots folder (docs/BOTS.md)")
            self.message.show()
            self.start_button.setEnabled(False)
        self._build()

    def schema(self) -> dict[str, Any]:
        name = self.choice.currentData()
        return next((b for b in self.bots if b["name"] == name), {"params": {}, "description": ""})

    def _build(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields, self.errors = {}, {}
        bot = self.schema()
        self.description.setText(bot.get("description") or "")
        for name, spec in (bot.get("params") or {}).items():
            field, err = field_for(spec), error_label()
            if spec.get("help"):
                field.setToolTip(spec["help"])
            self.fields[name], self.errors[name] = field, err
            self.form.addRow(name, with_error(field, err))
        fit_height(self)

    def values(self) -> dict[str, Any]:
        return {name: value_of(w) for name, w in self.fields.items()}

    def _submit(self) -> None:
        for err in [self.message, *self.errors.values()]:
            err.hide()
        self.start_button.setEnabled(False)
        self._spawn(self._run(self.choice.currentData(), self.values(), self.turns.value() or None,
                              self.restart.isChecked()))

    async def _run(self, bot: str, params: dict[str, Any], turns: float | None, restart: bool) -> None:
        from multi_user.errors import DeskError  # errors only: no MetaTrader5, no bot is imported here

        try:
            await self._start(bot, params, turns, restart)
        except DeskError as exc:
            # the worker's refusal names the parameter ("parameter 'fast' must be…"): show it under that field
            named = re.search(r"parameter '([^']+)'", str(exc))
            where = self.errors.get(getattr(exc, "field", None) or (named.group(1) if named else ""), self.message)
            where.setText(str(exc))
            where.show()
            self.start_button.setEnabled(True)
            fit_height(self)
            return
        self.accept()
