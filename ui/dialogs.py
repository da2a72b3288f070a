"""Dialogs: link an account (validated as typed, checked on a terminal in the background), edit,
settings, and confirmations. Opened with open(); the terminal check is awaited on the qasync loop,
never with exec()."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from multi_user.errors import AuthorizationError, BadInput, DeskError, TerminalError
from multi_user.validation import check_password, parse_login, parse_server


def _error_label() -> QLabel:
    label = QLabel("")
    label.setObjectName("FieldError")
    label.setWordWrap(True)
    label.setStyleSheet("color:#c5221f;")
    label.hide()
    return label


def _with_error(field: QWidget, error: QLabel) -> QWidget:
    box = QWidget()
    lay = QVBoxLayout(box)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.setSpacing(2)
    lay.addWidget(field)
    lay.addWidget(error)
    return box


class LinkDialog(QDialog):
    """Login, server (completed from known servers), password, investor, shared or own terminal."""

    def __init__(self, parent: QWidget, desk: Any) -> None:
        super().__init__(parent)
        self.desk = desk
        self.setWindowTitle("Link an MT5 account")
        self.setMinimumWidth(460)
        self.login = QLineEdit()
        self.login.setPlaceholderText("e.g. 51234567")
        self.server = QLineEdit()
        self.server.setPlaceholderText("as shown in MT5, e.g. MetaQuotes-Demo")
        self.server.setCompleter(QCompleter(desk.known_servers(), self))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.label = QLineEdit()
        self.label.setPlaceholderText("optional, e.g. FTMO challenge 2")
        self.investor = QCheckBox("This is the investor (read-only) password")
        self.dedicated = QCheckBox("Give it its own terminal (stays live all the time)")
        self.terminal = QLineEdit()
        self.terminal.setPlaceholderText("optional: terminal64.exe folder to use")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        term_row = QWidget()
        tr = QHBoxLayout(term_row)
        tr.setContentsMargins(0, 0, 0, 0)
        tr.addWidget(self.terminal, 1)
        tr.addWidget(browse)
        self.errors = {name: _error_label() for name in ("login", "server", "password", "terminal")}
        form = QFormLayout()
        form.addRow("Login", _with_error(self.login, self.errors["login"]))
        form.addRow("Server", _with_error(self.server, self.errors["server"]))
        form.addRow("Password", _with_error(self.password, self.errors["password"]))
        form.addRow("Name", self.label)
        form.addRow("", self.investor)
        form.addRow("", self.dedicated)
        form.addRow("Terminal", _with_error(term_row, self.errors["terminal"]))
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.link_button = self.buttons.addButton("Check and link", QDialogButtonBox.ButtonRole.AcceptRole)
        self.link_button.setEnabled(False)
        self.buttons.accepted.connect(self._start_link)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.buttons)
        for field in (self.login, self.server, self.password):
            field.textChanged.connect(self._validate)
        self.linked: dict[str, Any] | None = None
        self._task: asyncio.Task[None] | None = None

    def _browse(self) -> None:
        dialog = QFileDialog(self, "Choose the MetaTrader 5 folder (with terminal64.exe)")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.fileSelected.connect(self.terminal.setText)
        dialog.open()

    def _show(self, field: str, message: str | None) -> None:
        label = self.errors[field]
        label.setText(message or "")
        label.setVisible(bool(message))

    def _validate(self, show: bool = True) -> bool:
        ok = True
        for field, check in (("login", parse_login), ("server", parse_server), ("password", check_password)):
            widget = getattr(self, field)
            try:
                check(widget.text())
                if show:
                    self._show(field, None)
            except BadInput as exc:
                ok = False
                if show:  # don't shout at an empty field the owner has not reached yet
                    self._show(field, str(exc) if widget.text() else None)
        self.link_button.setEnabled(ok and self._task is None)
        return ok

    def _start_link(self) -> None:
        if not self._validate() or self._task is not None:
            return
        self._task = asyncio.ensure_future(self._link())

    async def _link(self) -> None:
        self.progress.show()
        self.status.setText("Checking the account on the terminal…")
        self.link_button.setEnabled(False)
        try:
            self.linked = await self.desk.link_account(
                self.login.text(), self.server.text(), self.password.text(), label=self.label.text() or None,
                investor=self.investor.isChecked(), dedicated=self.dedicated.isChecked(),
                terminal=self.terminal.text() or None)
        except AuthorizationError as exc:
            self._show("password", f"The broker rejected this login: wrong password or server. ({exc})")
            self.status.setText("")
        except BadInput as exc:
            self._show(exc.field if exc.field in self.errors else "login", str(exc))
            self.status.setText("")
        except TerminalError as exc:
            self._show("terminal", str(exc))
            self.status.setText("")
        except DeskError as exc:
            self.status.setText(str(exc))
        else:
            self.accept()
        finally:
            self.progress.hide()
            self._task = None
            self._validate(show=False)  # keep the terminal's verdict next to its field


class EditDialog(QDialog):
    def __init__(self, parent: QWidget, account: dict[str, Any], on_save: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {account['login']}@{account['server']}")
        self.label = QLineEdit(account.get("label") or "")
        self.mode = QComboBox()
        self.mode.addItem("Shared terminal (switched in turn)", "shared")
        self.mode.addItem("Its own terminal (always live)", "dedicated")
        self.mode.setCurrentIndex(1 if account.get("mode") == "dedicated" else 0)
        self.terminal = QLineEdit(account.get("terminal") or "")
        form = QFormLayout(self)
        form.addRow("Name", self.label)
        form.addRow("Runs on", self.mode)
        form.addRow("Terminal folder", self.terminal)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(lambda: (on_save({"label": self.label.text(), "mode": self.mode.currentData(),
                                                   "terminal": self.terminal.text()}), self.accept()))
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class SettingsDialog(QDialog):
    def __init__(self, parent: QWidget, settings: dict[str, Any], on_save: Callable[[dict[str, Any]], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.setMinimumWidth(480)
        self.base = QLineEdit(settings.get("base_install") or "")
        self.base.setPlaceholderText("MetaTrader 5 folder copied for accounts with their own terminal")
        self.rate = QDoubleSpinBox()
        self.rate.setRange(0.2, 60.0)
        self.rate.setSuffix(" s")
        self.rate.setValue(float(settings.get("snapshot_rate") or 1.0))
        self.sweep = QCheckBox("Refresh idle accounts when the shared terminal is free")
        self.sweep.setChecked(bool(settings.get("sweep_enabled")))
        self.sweep_gap = QSpinBox()
        self.sweep_gap.setRange(1, 1440)
        self.sweep_gap.setSuffix(" min between logins of one account")
        self.sweep_gap.setValue(int(settings.get("sweep_min_minutes") or 30))
        note = QLabel("Brokers may flag frequent logins; keep this interval generous on live accounts.")
        note.setWordWrap(True)
        note.setStyleSheet("color:#5f6368;")
        self.theme = QComboBox()
        self.theme.addItem("Light", "light")
        self.theme.addItem("Dark", "dark")
        self.theme.setCurrentIndex(1 if settings.get("theme") == "dark" else 0)
        form = QFormLayout(self)
        form.addRow("Base MT5 install", self.base)
        form.addRow("Snapshot every", self.rate)
        form.addRow("", self.sweep)
        form.addRow("At most", self.sweep_gap)
        form.addRow("", note)
        form.addRow("Theme", self.theme)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(lambda: (on_save(self.values()), self.accept()))
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        return {"base_install": self.base.text() or None, "snapshot_rate": self.rate.value(),
                "sweep_enabled": self.sweep.isChecked(), "sweep_min_minutes": self.sweep_gap.value(),
                "theme": self.theme.currentData()}


def confirm(parent: QWidget, title: str, text: str, yes: str, on_yes: Callable[[], None]) -> QMessageBox:
    """A non-blocking confirmation: ``on_yes`` runs only if the owner presses ``yes``."""
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.Cancel, parent)
    button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.buttonClicked.connect(lambda b: on_yes() if b is button else None)
    box.open()
    return box
