"""The encryption key in Settings ([K] 4): the same export and import as `key export|import`, off the GUI
thread, with its result or its reason shown, and nothing changed on a mistake."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from test_keys import files, tokens, vault_with

from multi_user.credentials import load_current_key
from multi_user.keys import fingerprint
from ui.key_settings import ExportKeyDialog, ImportKeyDialog

PASS = "correct horse battery"


async def _io(fn, *args):
    return await asyncio.to_thread(fn, *args)


def _spawned(tasks: list):
    return lambda coro: tasks.append(asyncio.ensure_future(coro))


def test_export_then_import_through_the_dialogs(qtbot, qloop, tmp_path: Path) -> None:
    a, b = tmp_path / "desk", tmp_path / "vps"
    a.mkdir()
    b.mkdir()
    vault_with(a, (1001, "Demo-A", "pw-a"))
    vault_with(b, (2001, "Demo-B", "pw-b"))
    key_file = tmp_path / "key.txt"
    tasks: list = []

    export = ExportKeyDialog(None, a, _spawned(tasks), _io)
    qtbot.addWidget(export)
    export.path.setText(str(key_file))
    export.passphrase.setText(PASS)
    export.again.setText(PASS + "!")
    assert qloop.run_until_complete(export.export(a, _io)) is False
    assert "differ" in export.message.text() and not key_file.exists()
    export.again.setText(PASS)
    assert qloop.run_until_complete(export.export(a, _io)) is True
    a_print = fingerprint(load_current_key(a)[0])
    assert a_print in export.message.text() and PASS not in export.message.text()
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600 and not export.passphrase.text()

    imported: list[bool] = []
    dialog = ImportKeyDialog(None, b, _spawned(tasks), _io, lambda: imported.append(True))
    qtbot.addWidget(dialog)
    dialog.path.setText(str(key_file))
    dialog.secret.setText("wrong passphrase")
    before = files(b)
    assert qloop.run_until_complete(dialog.import_(b, _io, lambda: imported.append(True))) is False
    assert "passphrase" in dialog.message.text().lower() and files(b) == before and not imported
    dialog.secret.setText(PASS)
    assert qloop.run_until_complete(dialog.import_(b, _io, lambda: imported.append(True))) is True
    assert a_print in dialog.message.text() and "Restart MT5 Desk" in dialog.message.text() and imported
    assert fingerprint(load_current_key(b)[0]) == a_print
    assert [t[:2] for t in tokens(b)] == [(2001, "Demo-B")], "the old key still reads b's own rows"
    assert not tasks


def test_the_settings_dialog_shows_the_keys_fingerprint(qtbot, qloop, data_dir: Path) -> None:
    from PySide6.QtWidgets import QLabel

    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    dialog = window.open_settings()
    shown = dialog.findChild(QLabel, "KeyFingerprint")
    expected = fingerprint(load_current_key(data_dir)[0])

    async def filled() -> None:
        while expected not in shown.text():
            await asyncio.sleep(0.02)

    qloop.run_until_complete(asyncio.wait_for(filled(), 10))
    dialog.close()
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())
