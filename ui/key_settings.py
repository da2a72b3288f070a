"""The encryption key in Settings ([K] 4): its fingerprint to compare machines, and the same export and
import as ``key export|import``. Added to the Settings dialog from outside, like the portfolio rows.

scrypt takes about a second, so wrapping and unwrapping run on the Desk's I/O thread; the passphrase
lives only in the dialog's fields and the call, never in a log or a message."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from multi_user.errors import DeskError
from ui.dialog_parts import GrowingLabel, folder_row

Spawn = Callable[[Coroutine[Any, Any, Any]], Any]
Io = Callable[..., Coroutine[Any, Any, Any]]


def _secret_field(placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setEchoMode(QLineEdit.EchoMode.Password)
    field.setPlaceholderText(placeholder)
    return field


class _KeyDialog(QDialog):
    """A small form, a message line, and an action button that runs off the GUI thread."""

    def __init__(self, parent: QWidget, title: str, action: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setMinimumWidth(460)
        self.form = QFormLayout(self)
        self.message = GrowingLabel("")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.run_button = self.buttons.addButton(action, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.rejected.connect(self.reject)

    def finish_form(self) -> None:
        self.form.addRow(self.message)
        self.form.addRow(self.buttons)

    def say(self, text: str, error: bool) -> None:
        self.message.setStyleSheet("color:#d93025;" if error else "")
        self.message.setText(text)

    async def attempt(self, io: Io, work: Callable[[], str]) -> bool:
        """Run ``work`` on the I/O thread; show its result or its error (a DeskError's own words)."""
        self.run_button.setEnabled(False)
        self.say("Working… (the passphrase is stretched on purpose: about a second)", error=False)
        try:
            text = await io(work)
        except DeskError as exc:
            self.say(str(exc), error=True)
            return False
        finally:
            self.run_button.setEnabled(True)
        self.say(text, error=False)
        return True


class ExportKeyDialog(_KeyDialog):
    def __init__(self, parent: QWidget, data_dir: Path, spawn: Spawn, io: Io) -> None:
        super().__init__(parent, "Export the encryption key", "Export")
        self.path = QLineEdit(str(Path.home() / "mt5desk-key.txt"))
        self.passphrase = _secret_field("at least 8 characters")
        self.again = _secret_field("the same again")
        note = QLabel("The file holds the key wrapped with this passphrase. Carry it to the other machine and "
                      "import it there; send the passphrase another way.")
        note.setWordWrap(True)
        note.setObjectName("Muted")
        self.form.addRow(note)
        self.form.addRow("Write to", folder_row(self.path, "Where to write the key file", mode="save"))
        self.form.addRow("Passphrase", self.passphrase)
        self.form.addRow("Again", self.again)
        self.finish_form()
        self.run_button.clicked.connect(lambda: spawn(self.export(data_dir, io)))

    async def export(self, data_dir: Path, io: Io) -> bool:
        from multi_user.key_store import export_key_file

        if self.passphrase.text() != self.again.text():
            self.say("The two passphrases differ. Nothing was written.", error=True)
            return False
        target, passphrase = Path(self.path.text().strip()).expanduser(), self.passphrase.text()
        done = await self.attempt(
            io, lambda: f"Wrote the key (fingerprint {export_key_file(data_dir, target, passphrase)}) to {target}.")
        if done:
            self.passphrase.clear()
            self.again.clear()
        return done


class ImportKeyDialog(_KeyDialog):
    def __init__(self, parent: QWidget, data_dir: Path, spawn: Spawn, io: Io,
                 on_imported: Callable[[], None]) -> None:
        super().__init__(parent, "Import an encryption key", "Import")
        self.path = QLineEdit()
        self.path.setPlaceholderText("a file written by Export (or `key export`) on the other machine")
        self.raw = QCheckBox("Paste a plain Fernet key instead")
        self.raw.setToolTip("e.g. the web server's MT5_ENCRYPTION_KEY")
        self.secret = _secret_field("the file's passphrase")
        self.raw.toggled.connect(lambda on: (self.path.setEnabled(not on), self.secret.setPlaceholderText(
            "the Fernet key" if on else "the file's passphrase")))
        note = QLabel("The current key is kept as an old key, so every stored password stays readable.")
        note.setWordWrap(True)
        note.setObjectName("Muted")
        self.form.addRow(note)
        self.form.addRow("Key file", folder_row(self.path, "The key file to import", mode="open"))
        self.form.addRow("", self.raw)
        self.form.addRow("Passphrase", self.secret)
        self.finish_form()
        self.run_button.clicked.connect(lambda: spawn(self.import_(data_dir, io, on_imported)))

    async def import_(self, data_dir: Path, io: Io, on_imported: Callable[[], None]) -> bool:
        from multi_user.key_store import import_key, read_key_file
        from multi_user.keys import check_fernet_key

        raw, path, secret = self.raw.isChecked(), Path(self.path.text().strip()).expanduser(), self.secret.text()

        def work() -> str:
            key = check_fernet_key(secret) if raw else read_key_file(path, secret)
            result = import_key(data_dir, key)
            if not result["changed"]:
                return f"That key ({result['fingerprint']}) is already the current key; nothing was changed."
            return (f"The current key is now {result['fingerprint']}; the previous key {result['previous']} is "
                    "kept for reading. Restart MT5 Desk to use the new key, then run `accounts rotate` to "
                    "re-encrypt the stored passwords to it.")

        done = await self.attempt(io, work)
        if done:
            self.secret.clear()
            on_imported()
        return done


def add_key_settings(dialog: QDialog, data_dir: Path, spawn: Spawn, io: Io) -> QLabel:
    """Insert the "Encryption key" row above the dialog's buttons; returns the fingerprint label."""
    from multi_user.credentials import load_current_key
    from multi_user.keys import fingerprint

    shown = QLabel("…")
    shown.setObjectName("KeyFingerprint")
    shown.setToolTip("Compare it with `key fingerprint` on another machine: the same key shows the same text")

    async def refresh() -> None:
        try:
            raw, source = await io(load_current_key, data_dir)
        except DeskError as exc:
            shown.setText(f"cannot be read: {exc}")
            return
        shown.setText(f"{fingerprint(raw)}  ({source})")

    export, import_ = QPushButton("Export…"), QPushButton("Import…")
    export.clicked.connect(lambda: ExportKeyDialog(dialog, data_dir, spawn, io).open())
    import_.clicked.connect(lambda: ImportKeyDialog(dialog, data_dir, spawn, io, lambda: spawn(refresh())).open())
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(shown, 1)
    lay.addWidget(export)
    lay.addWidget(import_)
    form = dialog.layout()
    if isinstance(form, QFormLayout):
        form.insertRow(max(0, form.rowCount() - 1), "Encryption key", row)
    spawn(refresh())
    return shown
