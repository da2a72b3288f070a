"""[N] Settings → Alerts: channels listed masked, add / test / remove with their results shown, a bad URL
refused next to the field, the alert settings saved with the dialog; the General rows stay."""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_alerts_receivers import JSON_TOKEN, files_containing
from test_alerts_receivers import hook as hook


def test_alerts_tab_adds_tests_and_removes_a_channel(qtbot, qloop, data_dir: Path, hook) -> None:
    from PySide6.QtWidgets import QComboBox, QDialogButtonBox, QLabel, QListWidget, QTabWidget

    from app.desk import Desk
    from app.settings import load_settings
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    qloop.run_until_complete(desk.alerts.start())
    window = MainWindow(desk)
    qtbot.addWidget(window)
    dialog = window.open_settings()
    tabs = dialog.findChild(QTabWidget, "SettingsTabs")
    assert [tabs.tabText(i) for i in range(tabs.count())] == ["General", "Alerts"]
    assert dialog.findChild(QComboBox, "BaseCurrency") is not None  # the other rows are still there
    panel = dialog.alerts_panel

    def done() -> None:
        qloop.run_until_complete(asyncio.wait_for(panel.last_task, 60))

    panel.url.setText("nonsense://what-is-this")
    panel.add_button.click()
    done()
    assert "does not accept" in panel.result.text() and panel.channels.count() == 0

    panel.url.setText(hook.url())
    panel.label.setText("phone")
    panel.add_button.click()
    done()
    assert panel.channels.count() == 1 and panel.url.text() == ""
    assert panel.channels.item(0).text() == f"#1 json://***@127.0.0.1:{hook.port}/… (phone) — all events"
    panel.channels.setCurrentRow(0)
    panel.test_button.click()
    done()
    assert panel.result.text() == "Test sent to #1."
    assert hook.wait_for(lambda m: m["title"] == "MT5 Desk test alert", 1)
    shown = [w.text() for w in dialog.findChildren(QLabel)] + \
        [lw.item(i).text() for lw in dialog.findChildren(QListWidget) for i in range(lw.count())]
    assert not any(JSON_TOKEN in t for t in shown)
    assert files_containing(data_dir, JSON_TOKEN) == []

    panel.remove_button.click()
    done()
    assert panel.channels.count() == 0 and "Removed #1" in panel.result.text()

    panel.quiet.setText("22:00-07:00")
    panel.zone.setText("Europe/Prague")
    panel.disconnect_after.setValue(45)
    dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Save).click()

    async def saved() -> None:
        while load_settings(data_dir).get("alert_quiet_hours") != "22:00-07:00":
            await asyncio.sleep(0.02)

    qloop.run_until_complete(asyncio.wait_for(saved(), 10))
    stored = load_settings(data_dir)
    assert stored["alert_zone"] == "Europe/Prague" and stored["alert_disconnect_after"] == 45
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())
