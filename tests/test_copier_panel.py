"""[J] 4: the Copier tab shows each link, its mirrored positions, latency and skip reasons; pause/resume."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject, Signal

from multi_user.copy_model import CopyLink
from ui.copier_panel import CopierPanel


class Desk(QObject):
    event = Signal(dict)

    def __init__(self) -> None:
        super().__init__()
        link = CopyLink("1@M", "2@F", sizing="fixed", volume=0.1, reverse=True)
        paused: list[tuple[str, bool]] = []

        async def set_paused(follower: str, value: bool) -> None:
            paused.append((follower, value))
            link.paused = value

        self.paused = paused
        self.copier = SimpleNamespace(
            links=[link], link_of=lambda f: link if f == "2@F" else None, set_paused=set_paused,
            views={"2@F": {"positions": [{"symbol": "EURUSD", "volume": 0.1}], "latency_ms": 42.0,
                           "skipped": {"77": "the follower's broker has no symbol for XAUUSD"}}})


def test_panel_shows_links_and_pauses(qtbot: Any) -> None:
    desk = Desk()
    ran: list[Any] = []

    def spawn(coro: Any) -> None:
        ran.append(coro)
        try:
            coro.send(None)
        except StopIteration:
            pass

    panel = CopierPanel(desk, spawn, str)
    qtbot.addWidget(panel)
    cells = [panel.table.item(0, c).text() for c in range(panel.table.columnCount())]
    assert cells[:4] == ["1@M", "2@F", "fixed 0.1 · reversed", "copying"]
    assert cells[4] == "EURUSD 0.1" and cells[5] == "42 ms" and "no symbol for XAUUSD" in cells[6]
    desk.event.emit({"event": "copy", "follower": "2@F", "action": "open", "volume": 0.1, "symbol": "EURUSD",
                     "master_position": 5, "latency_ms": 38.0, "ok": True, "ts": 0})
    assert "open 0.1 EURUSD #5 in 38 ms" in panel.events.item(0).text()
    panel.table.selectRow(0)
    assert panel.pause_button.isEnabled() and not panel.resume_button.isEnabled()
    panel.pause_button.click()
    panel.refresh()
    assert desk.paused == [("2@F", True)] and panel.table.item(0, 3).text() == "paused"
    assert panel.resume_button.isEnabled()
    panel.timer.stop()
