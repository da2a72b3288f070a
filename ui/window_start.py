"""The first seconds of the GUI ([P] 2): the window's shell shown and painted before anything slow is
imported or opened, then the slow imports one at a time with the event loop turning between them.

What the shell needs is Qt and a few light ui modules (ui/main_window.py's own imports). The Desk, the
vault, the history store, the charts (pyqtgraph, numpy) and the workers come after its first paint, and
the shell says that the accounts and the terminals are starting meanwhile.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

if TYPE_CHECKING:
    from ui.main_window import MainWindow

PAINT_WAIT_MS = 3000  # a window that is never exposed (another desktop, minimised) must not hold start-up
# What filling the window in imports, slowest first; one at a time so the shell repaints and a quit is seen
SLOW_IMPORTS = ("numpy", "pyqtgraph", "ui.window_build", "app.desk", "app.remote_view", "app.control")


class _FirstPaint(QObject):
    """Ends ``loop`` at the window's first paint (its children paint in the same pass). It watches the window
    only: a filter on the whole application makes PySide find a Python type for every object that gets an
    event (Qt's private window classes too), which builds the enums of every class of every Qt module."""

    def __init__(self, loop: QEventLoop) -> None:
        super().__init__()
        self.loop, self.painted = loop, False

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        if ev.type() == QEvent.Type.Paint:
            self.painted = True
            self.loop.quit()  # takes effect once this whole paint pass has been flushed
        return False


def show_shell(app: QApplication, args: Any) -> MainWindow:
    """The window's shell, shown and painted: title, toolbar, "Starting…" where the accounts will be."""
    from app.settings import load_settings
    from ui.main_window import MainWindow

    theme = getattr(args, "theme", None) if args.screenshot else None  # a screenshot's theme is not saved
    window = MainWindow(data_dir=args.data_dir, theme=theme or load_settings(args.data_dir).get("theme"))
    if args.screenshot and getattr(args, "size", None):
        window.resize(*args.size)
    window.show()
    wait_for_paint(app, window)
    return window


def wait_for_paint(app: QApplication, window: QWidget, timeout_ms: int = PAINT_WAIT_MS) -> bool:
    """Run Qt's loop until ``window`` has painted once (or ``timeout_ms``); True if it painted."""
    loop = QEventLoop()
    seen = _FirstPaint(loop)
    window.installEventFilter(seen)
    QTimer.singleShot(timeout_ms, loop.quit)
    try:
        loop.exec()
    finally:
        window.removeEventFilter(seen)
    return seen.painted


async def import_slow_parts() -> None:
    """The modules the filled window and the Desk need, with the loop turning between them."""
    import asyncio

    for name in SLOW_IMPORTS:
        importlib.import_module(name)
        await asyncio.sleep(0)
