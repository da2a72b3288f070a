"""One refresh spread over event-loop turns ([P] 1): the window's periodic repaint is a list of small
steps (the sidebar's rows, a few overview tiles, the chart, the status line), and the pacer runs one
step per turn of the event loop. Qt paints what a step changed before the next step starts, so
twenty accounts' worth of updates never block the GUI thread for more than one step: a click, a
resize or the next snapshot is answered in between."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from ui.overview import total_plain

STEP_GAP_MS = 8
ROWS_PER_STEP = 5  # sidebar rows repainted per step


class FramePacer(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._steps: deque[Callable[[], None]] = deque()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        # Qt paints a window's changes from a timer of its own (about 5 ms after update()) and a
        # graphics scene's on a queued call: the next step waits past both, so each step's changes are
        # painted on their own and not merged into one long paint of everything
        self._timer.setInterval(STEP_GAP_MS)
        self._timer.timeout.connect(self._step)

    def busy(self) -> bool:
        return bool(self._steps)

    def run(self, steps: list[Callable[[], None]]) -> None:
        self._steps.extend(steps)
        if self._steps and not self._timer.isActive():
            self._timer.start()

    def stop(self) -> None:
        self._steps.clear()
        self._timer.stop()

    def flush(self) -> None:
        """Run every waiting step now, in order (a repaint asked for now must not leave the timer's
        earlier refresh half done: it took the dirty marks, so its steps are the only ones left to paint)."""
        self._timer.stop()
        while self._steps:
            step = self._steps.popleft()
            step()

    def _step(self) -> None:
        try:
            if self._steps:
                self._steps.popleft()()
        finally:  # a failing step must not hold the rest (and every later refresh) back
            if self._steps:
                self._timer.start()


def row_steps(model: Any, states: dict[str, Any], snaps: dict[str, Any], lock: dict[str, Any]) \
        -> list[Callable[[], None]]:
    """The sidebar's changed rows, ROWS_PER_STEP a step: twenty rows painted at once are one long paint
    (~0.5 ms a row); the last step repaints whatever is left, so no changed row is ever left stale."""
    pending: list[str] = []

    def first() -> None:
        model.states, model.snapshots = states, snaps
        model.set_lock(lock)  # [K] the padlocks: here and on each host
        pending[:] = model.changed_rows()
        more()

    def more(last: bool = False) -> None:
        n = len(pending) if last else ROWS_PER_STEP
        chunk, pending[:] = pending[:n], pending[n:]
        model.repaint_rows(chunk)

    extra = max(0, (len(model.accounts) - 1) // ROWS_PER_STEP)
    return [first, *(lambda last=(i == extra - 1): more(last) for i in range(extra))] if extra else \
        [lambda: (first(), more(True))]


def repaint_steps(window: Any) -> list[Callable[[], None]]:
    """The window's dirty parts as steps, each using the values read when the refresh began: the banner
    and the focused chart first (what the owner watches; a row never shows a state the chart does not
    show yet), the sidebar's rows, the overview's tiles a few at a time, the terminals, the status line."""
    dirty, window._dirty = window._dirty, set()
    if not dirty:
        return []
    states = window.desk.account_states()
    snaps = {a["key"]: window.desk.last_snapshot(a["key"]) for a in window.model.accounts}
    snaps = {k: v for k, v in snaps.items() if v}
    lock = window.desk.lock_state()
    steps: list[Callable[[], None]] = []
    if "banner" in dirty:
        steps.append(lambda: window.banner.show_lock(lock))
    if "chart" in dirty and window.focused:
        def chart() -> None:
            key = window.focused
            window.chart.redraw()
            window.chart.set_status((states.get(key) or {}).get("state") == "live", snaps.get(key))
        steps.append(chart)
    if "rows" in dirty:
        steps += row_steps(window.model, states, snaps, lock)
    if "overview" in dirty:
        steps += window.overview.refresh_steps(
            states, snaps, window.series, base=window.desk.base_currency(), rates=window.desk.rates,
            margin_warned={k for k in snaps if window.desk.health.margin_warned(k)})
    if "terminals" in dirty:
        steps.append(lambda: window.terminals.refresh(window.desk.lanes()))
    if "status" in dirty or "overview" in dirty:
        def status() -> None:
            line, counts = window._status_line(states, lock)
            window.status_text.setText(line)
            window.tray.set_tooltip("MT5 Desk · " + (counts or line) + "\n"
                                  + total_plain(snaps, states, window.desk.base_currency(), window.desk.rates))
        steps.append(status)
    return steps
