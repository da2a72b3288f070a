"""Python's cyclic garbage collector, run only on the Qt main thread.

Left automatic, a collection starts in whichever thread happens to allocate when a threshold is
crossed: the Desk's I/O thread, the history writer, an asyncio executor. If that collection frees a
Qt object caught in a reference cycle (a widget, a QTimer, a pyqtgraph item), its C++ destructor runs
in that thread while the GUI thread may be painting or dispatching to it, and the process dies with a
segmentation fault at a random place (seen rarely on this project, in tests and at start-up). The
well-known remedy (pyqtgraph's ``GarbageCollector`` does the same for its users): turn the automatic
collector off and collect, generation by generation and with the same thresholds, from a timer on
the main thread. Reference counting, which frees almost everything, is untouched.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500  # often enough that garbage never piles up; a young-generation pass costs microseconds


class MainThreadGC(QObject):
    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.collections = [0, 0, 0]  # per generation, for tests and the debug log
        self.frozen = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        self.timer.start()

    def stop(self) -> None:
        """Back to how collection was before start (at shutdown, once the event loop no longer runs)."""
        self.timer.stop()
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
        if getattr(self, "_was_enabled", False):
            gc.enable()

    def freeze(self) -> None:
        """Start-up is over: what it made (modules, classes, the window's widgets, ~87,000 objects) lives as
        long as the app, yet a full collection walks all of it: 50-60 ms of the GUI thread at once ([P] 1).
        Moved to the permanent generation, it is never walked again (a full collection then takes well under
        a millisecond); reference counting still frees any of it. The young generations are collected first
        (cheap) so start-up's short-lived cycles are not kept."""
        gc.collect(1)
        gc.freeze()
        self.frozen = True

    def check(self) -> None:
        """What the automatic collector would have done by now, on this (the main) thread."""
        count0, count1, count2 = gc.get_count()
        if count0 <= self.threshold[0]:
            return
        generation = 0
        if count1 > self.threshold[1]:
            generation = 2 if count2 > self.threshold[2] else 1
        gc.collect(generation)
        self.collections[generation] += 1
