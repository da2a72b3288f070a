"""The GUI stall guard ([P] 5): in debug mode the app logs every event-loop stall longer than a
threshold (50 ms) with what the GUI thread was running, so a regression shows up in a trader's log
and not only in a benchmark.

A QTimer beats on the GUI thread every few milliseconds. A watchdog thread looks at the last beat;
while the beat is late it samples the GUI thread's Python stack (``sys._current_frames``). When the
beat comes back after more than the threshold, the guard logs one line with the stall's length, the
GUI thread's own CPU time in it (a small share means the machine was busy elsewhere) and the stack
seen most often during it. A stack that stops in the event loop itself means Qt's own C++
work (painting, layout, style) held the thread, with no Python frame to blame.
"""

from __future__ import annotations

import collections
import logging
import sys
import threading
import time
import traceback
from typing import Any

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger("mt5desk.stall")
BEAT_MS = 10
THRESHOLD_MS = 50.0
MAX_SAMPLES = 50  # per stall: a few seconds' worth at the watchdog's pace
FRAMES_SHOWN = 8


class StallGuard(QObject):
    def __init__(self, threshold_ms: float = THRESHOLD_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.threshold = threshold_ms / 1000.0
        self.stalls = 0  # how many were logged (tests and benchmarks read it)
        self.beats = 0
        self._gui_thread = threading.get_ident()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._samples: list[tuple[str, ...]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(BEAT_MS)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        self._gui_thread = threading.get_ident()  # started from the thread it guards
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._stop.clear()
        self._timer.start()
        self._thread = threading.Thread(target=self._watch, name="stall-guard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._timer.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    # ---- GUI thread --------------------------------------------------------------------------
    def _beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        gap, busy = now - self._last, cpu - self._last_cpu
        self._last, self._last_cpu = now, cpu
        self.beats += 1
        with self._lock:
            samples, self._samples = self._samples, []
        if gap - BEAT_MS / 1000.0 > self.threshold:
            self.stalls += 1
            # busy: the GUI thread's own CPU time in the gap; the rest went to other threads or processes
            log.warning("GUI event loop stalled %.0f ms (GUI thread busy %.0f ms of it); running: %s",
                        gap * 1000, busy * 1000, describe(samples))

    # ---- watchdog thread ---------------------------------------------------------------------
    def _watch(self) -> None:
        period = max(self.threshold / 4, 0.002)
        while not self._stop.wait(period):
            late = time.perf_counter() - self._last - BEAT_MS / 1000.0
            if late <= self.threshold / 2:
                continue
            frame = sys._current_frames().get(self._gui_thread)
            if frame is None:
                continue
            stack = tuple(f"{_short(fs.filename)}:{fs.lineno} {fs.name}"
                          for fs in traceback.extract_stack(frame)[-FRAMES_SHOWN:])
            with self._lock:
                if len(self._samples) < MAX_SAMPLES:
                    self._samples.append(stack)


def _short(filename: str) -> str:
    parts = filename.replace("\\", "/").split("/")
    return "/".join(parts[-2:])


def describe(samples: list[tuple[str, ...]]) -> str:
    """The stack seen most often during the stall, innermost call last."""
    if not samples:
        return "no Python frame sampled (Qt's own work: painting, layout or style)"
    stack, seen = collections.Counter(samples).most_common(1)[0]
    where = " <- ".join(reversed(stack))
    return f"{where} ({seen} of {len(samples)} samples)"


def install_if_debug(parent: Any = None) -> StallGuard | None:
    """A running guard when the app logs at DEBUG (``--log-level DEBUG``), else None."""
    if not logging.getLogger("mt5desk").isEnabledFor(logging.DEBUG):
        return None
    guard = StallGuard(parent=parent)
    guard.start()
    log.debug("stall guard on: event-loop stalls over %.0f ms are logged", guard.threshold * 1000)
    return guard
