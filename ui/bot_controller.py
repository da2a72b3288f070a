"""Hooks the bot UI ([I] 5) into the main window with one call: the Bots tab, the sidebar's bot markers,
and the start dialog (its bot list asked of a lane's worker: the window never loads a bot itself)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QMessageBox

from ui.bot_panel import BotPanel
from ui.bot_params_dialog import BotParamsDialog


def attach_bots(window: Any) -> BotPanel:
    desk = window.desk
    panel = BotPanel(window.name_of, lambda key: desk.bots.stop(key), lambda: getattr(window, "focused", None))
    window.tabs.addTab(panel, "Bots")
    desk.event.connect(panel.on_event)
    window.model.bot_markers = panel.markers  # the sidebar's rows read them (ui/sidebar.py texts)
    panel.changed.connect(lambda _key: window.sidebar.viewport().update())
    panel.start_requested.connect(lambda key: window._spawn(open_start_dialog(window, key)))
    return panel


async def open_start_dialog(window: Any, key: str) -> BotParamsDialog | None:
    from multi_user.errors import DeskError

    desk = window.desk
    try:
        bots = await desk.bots.available()
    except DeskError as exc:
        QMessageBox.warning(window, "Bots", f"The bots could not be listed: {exc}")
        return None

    async def start(bot: str, params: dict[str, Any], turns: float | None, restart: bool) -> Any:
        return await desk.bots.start(key, bot, params, turns=turns, restart=restart)

    dialog = BotParamsDialog(window, window.name_of(key), bots, start, window._spawn,
                             shared=key not in getattr(desk, "dedicated", {}))
    dialog.open()
    return dialog
