"""Dialogs: link an account (validated as typed, checked on a terminal in the background), edit,
settings, and confirmations. Opened with open(); the terminal check is awaited on the qasync loop,
never with exec()."""

from __future__ import annotations

import asyncio
import difflib
import html
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QCompleter,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from multi_user.errors import AuthorizationError, BadInput, DeskError, TerminalError
from multi_user.validation import check_password, parse_login, parse_server
from ui.dialog_parts import GrowingLabel, error_label, fit_height, folder_row, with_error
from ui.settings_dialog import EditDialog, SettingsDialog, confirm, notice

__all__ = ["EditDialog", "LinkDialog", "SettingsDialog", "confirm", "notice", "suggest_server"]


def suggest_server(typed: str, known: list[str]) -> str | None:
    """The known server the owner probably meant by ``typed`` (None if it is known or nothing is close)."""
    typed = typed.strip()
    if not typed or typed in known:
        return None
    by_fold = {k.casefold(): k for k in known}
    if typed.casefold() in by_fold:
        return by_fold[typed.casefold()]
    close = difflib.get_close_matches(typed.casefold(), list(by_fold), n=1, cutoff=0.75)
    return by_fold[close[0]] if close else None


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
        self.known_servers = list(desk.known_servers())
        self.server.setCompleter(QCompleter(self.known_servers, self))
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.label = QLineEdit()
        self.label.setPlaceholderText("optional, e.g. FTMO challenge 2")
        self.investor = QCheckBox("This is the investor (read-only) password")
        self.dedicated = QCheckBox("Give it its own terminal (stays live all the time)")
        self.terminal = QLineEdit()
        self.terminal.setPlaceholderText("optional: terminal64.exe folder to use")
        term_row = folder_row(self.terminal, "Choose the MetaTrader 5 folder (with terminal64.exe)")
        self.errors = {name: error_label() for name in ("login", "server", "password", "terminal")}
        self.errors["server"].setTextFormat(Qt.TextFormat.RichText)
        self.errors["server"].linkActivated.connect(self._use_server)
        form = QFormLayout()
        form.addRow("Login", with_error(self.login, self.errors["login"]))
        form.addRow("Server", with_error(self.server, self.errors["server"]))
        form.addRow("Password", with_error(self.password, self.errors["password"]))
        form.addRow("Name", self.label)
        form.addRow("", self.investor)
        form.addRow("", self.dedicated)
        form.addRow("Terminal", with_error(term_row, self.errors["terminal"]))
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.hide()
        self.status = GrowingLabel()
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

    def _use_server(self, server: str) -> None:
        self.server.setText(server)
        self.password.setFocus()

    def _show(self, field: str, message: str | None, rich: bool = False) -> None:
        label = self.errors[field]
        if message and not rich and label.textFormat() == Qt.TextFormat.RichText:
            message = html.escape(message)
        label.setText(message or "")
        label.setVisible(bool(message))
        if message:
            fit_height(self)

    def _did_you_mean(self, server: str) -> str | None:
        """A hint under the server field when it is close to, but not, a server seen before."""
        guess = suggest_server(server, self.known_servers)
        if guess is None:
            return None
        return (f"MT5 Desk has not seen a server “{html.escape(server.strip())}”. Did you mean "
                f"<a href=\"{html.escape(guess)}\">{html.escape(guess)}</a>?")

    def _validate(self, show: bool = True) -> bool:
        ok = True
        for field, check in (("login", parse_login), ("server", parse_server), ("password", check_password)):
            widget = getattr(self, field)
            try:
                check(widget.text())
                if show:
                    self._show(field, self._did_you_mean(widget.text()) if field == "server" else None, rich=True)
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
            self._rejected(exc)
        except BadInput as exc:
            self._show(exc.field if exc.field in self.errors else "login", str(exc))
            self.status.setText("")
        except TerminalError as exc:
            if self.terminal.text().strip():  # about the folder the owner chose
                self._show("terminal", str(exc))
                self.status.setText("")
            else:
                self.status.setText(f"⚠ {exc}")
        except DeskError as exc:
            self.status.setText(f"⚠ {exc}")
        else:
            self.accept()
            self._confirm_linked()
        finally:
            self.progress.hide()
            self._task = None
            self._validate(show=False)  # keep the terminal's verdict next to its field
            fit_height(self)

    def _rejected(self, exc: Exception) -> None:
        """A rejected login: a misspelled server is named as such, not blamed on the password."""
        server = self.server.text().strip()
        self.status.setText("")
        guess = suggest_server(server, self.known_servers)
        if guess is not None:
            self._show("server", f"The broker rejected this login, and MT5 Desk has not seen a server "
                                 f"“{html.escape(server)}”. Did you mean <a href=\"{html.escape(guess)}\">"
                                 f"{html.escape(guess)}</a>?", rich=True)
            self._show("password", None)
        elif server not in self.known_servers and self.known_servers:
            self._show("password", f"The broker rejected this login: wrong password, or no server named "
                                   f"“{server}” (type it exactly as MT5 shows it). ({exc})")
        else:
            self._show("password", f"The broker rejected this login: wrong password for this account on "
                                   f"{server}. ({exc})")

    def _confirm_linked(self) -> None:
        a = self.linked or {}
        name = f"{a.get('label')} ({a.get('login')}@{a.get('server')})" if a.get("label") else a.get("key", "")
        how = ("It has its own terminal and stays live." if a.get("mode") == "dedicated"
               else "It uses the shared terminal: double-click it in the list to view it live.")
        self.confirmation = notice(self.parentWidget() or self, "Account linked",
                                   f"{name} is linked: the broker accepted the login, and the password is "
                                   f"stored encrypted on this computer.\n\n{how}")
