"""The active-account lock banner: who holds the shared terminal, since when, why, who waits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from ui.formatting import clock

REASONS = {"viewing": "viewing", "job": "running a job", "sweep": "refreshing its values"}
JOBS = {"close_all": "close all positions", "verify": "checking a new account",
        "flatten": "flatten: close all, delete pending orders", "reset_visit": "reading the values at its firm's reset",
        "close_position": "closing one position", "bot": "a bot trades it"}


class LockBanner(QFrame):
    cancel_requested = Signal(str)
    release_requested = Signal()

    def __init__(self, name_of: Callable[[str], str]) -> None:
        super().__init__()
        self.name_of = name_of
        self.setObjectName("LockBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setObjectName("LockTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)  # a long account name wraps instead of widening the window
        self.detail = QLabel()
        self.detail.setObjectName("LockDetail")
        self.detail.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 0)  # busy: MT5 does not report login progress
        self.progress.setFixedWidth(120)
        self.progress.setTextVisible(False)
        self.cancel = QPushButton("Cancel switch")
        self.release = QPushButton("Release")
        self.release.setToolTip("Give the shared terminal back (the account stays linked)")
        self.cancel.clicked.connect(lambda: self._switching and self.cancel_requested.emit(self._switching))
        self.release.clicked.connect(self.release_requested.emit)
        text = QVBoxLayout()
        text.setSpacing(2)
        text.addWidget(self.title)
        text.addWidget(self.detail)
        row = QHBoxLayout(self)
        row.setContentsMargins(12, 8, 12, 8)
        row.addLayout(text, 1)
        row.addWidget(self.progress)
        row.addWidget(self.cancel)
        row.addWidget(self.release)
        self._switching: str | None = None
        self.show_lock({"holder": None, "queue": [], "switching": None})

    def show_lock(self, lock: dict[str, Any]) -> None:
        holder = lock.get("holder")
        self._switching = lock.get("switching")
        if holder is None:
            self.title.setText("<b>Shared terminal:</b> free")
        else:
            name = self.name_of(holder["account"])
            why = REASONS.get(holder.get("reason"), holder.get("reason") or "")
            if holder.get("job"):
                why = f"job: {JOBS.get(holder['job'], holder['job'])}"
                if holder.get("priority"):
                    why += " (ahead of the queue: a hard stop or a firm's reset)"
            if self._switching:
                self.title.setText(f"<b>Shared terminal:</b> logging in to {name}…")
            else:
                self.title.setText(f"<b>Shared terminal held by</b> {name} &nbsp;·&nbsp; since "
                                   f"{clock(holder.get('since'))} &nbsp;·&nbsp; {why}")
        queue = lock.get("queue") or []
        if queue:
            parts = []
            for i, q in enumerate(queue, 1):
                first = ", first" if q.get("priority") else ""
                extra = f" ({JOBS.get(q['job'], q['job'])}{first})" if q.get("job") else ""
                parts.append(f"{i}. {self.name_of(q['account'])}{extra}")
            self.detail.setText("Waiting: " + "   ".join(parts))
        else:
            self.detail.setText("Nobody waiting. Double-click an account (or press Enter on it) to switch to it.")
        self.progress.setVisible(bool(self._switching))
        self.cancel.setVisible(bool(self._switching))
        self.release.setVisible(holder is not None and not self._switching)
