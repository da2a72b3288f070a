"""The bot UI: the parameters dialog built from a bot's schema (a refusal shown under its field, nothing
started), the Bots tab's table and log, and the sidebar's words for a bot's state."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox

from multi_user.errors import BadInput
from ui.bot_panel import BotPanel, bot_marker, log_line
from ui.bot_params_dialog import BotParamsDialog

SCHEMA = [{"name": "grid", "description": "Grid", "params": {
    "symbol": {"type": "str", "default": "EURUSD", "min": None, "max": None, "choices": None, "help": "the symbol"},
    "levels": {"type": "int", "default": 3, "min": 1, "max": 50, "choices": None, "help": ""},
    "volume": {"type": "float", "default": 0.01, "min": 0.01, "max": 10.0, "choices": None, "help": ""},
    "side": {"type": "str", "default": "sell", "min": None, "max": None, "choices": ["buy", "sell"], "help": ""},
    "hedge": {"type": "bool", "default": True, "min": None, "max": None, "choices": None, "help": ""}}},
    {"name": "broken", "source": "x.py", "error": "could not be loaded", "params": {}},
    {"name": "quiet", "description": "No parameters", "params": {}}]


def test_the_dialog_has_one_field_per_parameter_and_shows_a_refusal_under_it(qtbot, qloop) -> None:
    calls: list[tuple] = []

    async def start(bot: str, params: dict[str, Any], turns: float | None, restart: bool) -> None:
        calls.append((bot, params, turns, restart))
        if params["levels"] == 7:
            raise BadInput("parameter 'levels' must be at most 6, not 7")

    tasks: list[asyncio.Task] = []
    dialog = BotParamsDialog(None, "Ada (1)", SCHEMA, start, lambda c: tasks.append(asyncio.ensure_future(c)),
                             shared=True)
    qtbot.addWidget(dialog)
    assert [dialog.choice.itemText(i) for i in range(dialog.choice.count())] == ["grid", "quiet"]  # broken left out
    f = dialog.fields
    assert isinstance(f["symbol"], QLineEdit) and isinstance(f["levels"], QSpinBox)
    assert isinstance(f["volume"], QDoubleSpinBox) and isinstance(f["side"], QComboBox)
    assert isinstance(f["hedge"], QCheckBox) and f["levels"].maximum() == 50 and f["volume"].minimum() == 0.01
    assert dialog.values() == {"symbol": "EURUSD", "levels": 3, "volume": 0.01, "side": "sell", "hedge": True}
    f["levels"].setValue(7)
    dialog.turns.setValue(5)
    dialog._submit()
    qloop.run_until_complete(asyncio.gather(*tasks))
    assert calls[-1] == ("grid", {"symbol": "EURUSD", "levels": 7, "volume": 0.01, "side": "sell", "hedge": True},
                         5, False)
    assert "at most 6" in dialog.errors["levels"].text() and not dialog.errors["levels"].isHidden()
    assert dialog.result() == 0 and dialog.start_button.isEnabled()  # still open, nothing started
    f["levels"].setValue(4)
    dialog.restart.setChecked(True)
    dialog._submit()
    qloop.run_until_complete(asyncio.gather(*tasks))
    assert calls[-1][1]["levels"] == 4 and calls[-1][3] is True and dialog.result() == 1
    dialog.choice.setCurrentIndex(1)
    assert dialog.fields == {}


def test_the_bots_tab_shows_states_orders_and_the_log(qtbot) -> None:
    stopped: list[str] = []
    panel = BotPanel(lambda k: f"Ada {k}", stopped.append, lambda: "1@S")
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.changed):
        panel.on_event({"event": "bot", "kind": "state", "account": "1@S", "bot": "grid", "state": "running"})
    panel.on_event({"event": "bot", "kind": "order", "account": "1@S", "bot": "grid", "ok": True, "retcode": 10009,
                    "comment": "Request executed", "request": {"symbol": "EURUSD", "type": 0, "volume": 0.01}})
    panel.on_event({"event": "bot", "kind": "order", "account": "1@S", "bot": "grid", "ok": False, "retcode": None,
                    "refused": "1@S is read-only", "request": {}})
    assert panel.table.rowCount() == 1 and panel.table.item(0, 3).text() == "1"
    assert panel.markers == {"1@S": "Bot grid: running"}
    panel.on_event({"event": "bot", "kind": "state", "account": "1@S", "bot": "grid", "state": "failed",
                    "message": "ZeroDivisionError: x", "traceback": "Traceback…\n  on_timer"})
    text = panel.log.toPlainText()
    assert "→ 10009 Request executed" in text and "REFUSED: 1@S is read-only" in text and "on_timer" in text
    assert panel.table.item(0, 2).text() == "failed" and panel.markers["1@S"] == "Bot grid: failed"
    panel.stop_button.click()
    assert stopped == ["1@S"]


def test_the_sidebar_words() -> None:
    assert bot_marker(None) is None and bot_marker({"bot": "g", "state": "stopped"}) is None
    assert bot_marker({"bot": "g", "state": "waiting"}) == "Bot g: waiting for the terminal"
    assert "[warning] slow" in log_line({"kind": "log", "level": "warning", "message": "slow", "account": "a",
                                         "bot": "g", "ts": 0}, str)
