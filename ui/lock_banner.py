"""The active-account lock banner: who holds the shared terminal, since when, why, who waits; below it,
each of the owner's hosts' shared terminals the same way ([K]: unknown, with its age, while offline)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape as _escape
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from app.remote_locks import unknown_text
from ui.formatting import clock


def escape(text: str) -> str:
    return _escape(text, quote=False)


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
        self.hosts = QLabel()
        self.hosts.setObjectName("LockHosts")
        self.hosts.setTextFormat(Qt.TextFormat.RichText)
        self.hosts.setWordWrap(True)
        text.addWidget(self.hosts)
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
        self.title.setText(f"<b>Shared terminal:</b> {holder_html(lock, self.name_of)}")
        waiting = queue_text(lock, self.name_of)
        self.detail.setText(f"Waiting: {waiting}" if waiting else
                            "Nobody waiting. Double-click an account (or press Enter on it) to switch to it.")
        hosts = [f"<b>{escape(str(h.get('host')))}'s shared terminal:</b> {holder_html(h, self.name_of)}"
                 + (f" &nbsp;·&nbsp; waiting: {escape(w)}" if (w := queue_text(h, self.name_of)) else "")
                 for h in lock.get("hosts") or []]
        self.hosts.setText("<br>".join(hosts))
        self.hosts.setVisible(bool(hosts))
        # Cancel also stops a host's switch (when none runs here): the command goes to that host
        remote = next((h for h in lock.get("hosts") or [] if h.get("known") and h.get("switching")), None)
        if not self._switching and remote is not None:
            self._switching = remote["switching"]
        self.cancel.setText("Cancel switch" if remote is None or lock.get("switching")
                            else f"Cancel switch on {remote.get('host')}")
        self.progress.setVisible(bool(self._switching))
        self.cancel.setVisible(bool(self._switching))
        self.release.setVisible(holder is not None and not self._switching)


def holder_html(lock: dict[str, Any], name_of: Callable[[str], str]) -> str:
    """'free', 'logging in to X…', 'held by X · since … · job: …', or (a host offline) 'unknown: …'."""
    if lock.get("known") is False:
        return f"<i>{escape(unknown_text(lock))}</i>"
    holder = lock.get("holder")
    if holder is None:
        return "free"
    name = escape(name_of(holder["account"]))
    if lock.get("switching"):
        return f"logging in to {escape(name_of(lock['switching']))}…"
    why = REASONS.get(holder.get("reason"), holder.get("reason") or "")
    if holder.get("job"):
        why = f"job: {JOBS.get(holder['job'], holder['job'])}"
        if holder.get("priority"):
            why += " (ahead of the queue: a hard stop or a firm's reset)"
    return f"held by {name} &nbsp;·&nbsp; since {clock(holder.get('since'))} &nbsp;·&nbsp; {escape(why)}"


def queue_text(lock: dict[str, Any], name_of: Callable[[str], str]) -> str:
    """'1. X (close all positions, first)   2. Y', or '' when nobody waits."""
    parts = []
    for i, q in enumerate(lock.get("queue") or [], 1):
        first = ", first" if q.get("priority") else ""
        extra = f" ({JOBS.get(q['job'], q['job'])}{first})" if q.get("job") else ""
        parts.append(f"{i}. {name_of(q['account'])}{extra}")
    return "   ".join(parts)


def lock_plain(lock: dict[str, Any] | None, name_of: Callable[[str], str]) -> str:
    """The lock in a few words (a column of the Terminals tab): who holds it and why, how many wait."""
    if not lock:
        return "—"
    if lock.get("known") is False:
        return f"unknown (last seen {clock(lock.get('offline_since'))})" if lock.get("offline_since") else "unknown"
    holder, waiting = lock.get("holder"), len(lock.get("queue") or [])
    if holder is None:
        text = "free"
    elif lock.get("switching"):
        text = f"logging in to {name_of(lock['switching'])}…"
    else:
        why = JOBS.get(holder["job"], holder["job"]) if holder.get("job") else REASONS.get(holder.get("reason"), "")
        text = f"{name_of(holder['account'])}: {why}" + (", first" if holder.get("priority") else "")
    return text + (f" · {waiting} waiting" if waiting else "")
