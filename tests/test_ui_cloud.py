"""Cloud sync from the window: sign in through the dialog, the account linked on another desktop
appears in the sidebar, and the status bar shows who is signed in and when the last sync was."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from test_ui_desk import make_window, run, until

from app.cloud_sync import CloudSync, save_cloud_settings
from multi_user.vault import Vault

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
PASSWORD = "Cloud-pass-123"
EMAIL = f"owner-{uuid.uuid4().hex[:8]}@example.test"  # the PostgreSQL server is shared by the session


def test_sign_in_from_the_window_brings_the_other_desktops_accounts(qtbot, qloop, tmp_path: Path, data_dir: Path,
                                                                     supabase_server, sim_world, monkeypatch) -> None:
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", Fernet.generate_key().decode())  # shared with the web server
    from app.settings import save_settings

    save_settings(data_dir, {"demo_linked": True})
    other = tmp_path / "other-desktop"
    other.mkdir()
    save_cloud_settings(other, supabase_server.url, supabase_server.anon_key)
    vault = Vault.open(other)
    vault.link(777001, "Cloud-Broker", "pw-777", label="From the laptop")
    vault.close()
    desk, window = make_window(qtbot, data_dir)

    async def scenario() -> None:
        laptop = CloudSync.from_settings(other)
        await laptop.sign_up(EMAIL, PASSWORD)
        await laptop.sync_now()
        await laptop.aclose()
        await desk.start()
        try:
            from ui.cloud_panel import CloudDialog

            dialog = CloudDialog(window, window.cloud)
            dialog.open()
            dialog.url.setText(supabase_server.url)
            dialog.key.setText(supabase_server.anon_key)
            dialog.email.setText(EMAIL)
            dialog.password.setText("wrong-password")
            dialog.sign_in.click()
            await until(lambda: "⚠" in dialog.message.text(), what="the sign-in error")
            assert "wrong-password" not in dialog.message.text()
            dialog.password.setText(PASSWORD)
            dialog.sign_in.click()
            await until(lambda: "777001@Cloud-Broker" in window.model.keys_in_view_order(), what="the synced row")
            await until(lambda: EMAIL in window.cloud_text.text()
                        and "last sync" in window.cloud_text.text(), what="the status bar")
            assert dialog.password.text() == ""
        finally:
            await window.cloud.close()
            await desk.stop()
            await asyncio.sleep(0)

    run(qloop, scenario())
