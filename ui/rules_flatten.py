"""Flatten's progress ([H] 6): one line per account, from queued to its result ("closed 3 position(s),
deleted 2 order(s), 1 failed: …"); skipped accounts are listed with the reason. Non-modal: the jobs run
through the locks whether it is open or not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from app.flatten import result_text

MARKS = {"queued": "… waiting", "started": "⟳ working", "done": "✓", "failed": "⚠ FAILED", "cancelled": "✖ cancelled"}


class FlattenProgress(QDialog):
    def __init__(self, parent: QWidget, name_of: Callable[[str], str], queued: list[str],
                 skipped: list[tuple[str, str]]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Flatten: progress")
        self.name_of = name_of
        self.lines: dict[str, QLabel] = {}
        self.state: dict[str, str] = {}
        lay = QVBoxLayout(self)
        for key in queued:
            self.lines[key] = QLabel()
            self.lines[key].setWordWrap(True)
            lay.addWidget(self.lines[key])
            self._set(key, "queued", "")
        for key, why in skipped:
            label = QLabel(f"– {name_of(key)}: skipped, {why}")
            label.setObjectName("Muted")
            label.setWordWrap(True)
            lay.addWidget(label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        lay.addWidget(buttons)

    def _set(self, key: str, state: str, detail: str) -> None:
        self.state[key] = state
        self.lines[key].setText(f"{MARKS.get(state, state)} {self.name_of(key)}" + (f": {detail}" if detail else ""))

    def on_job(self, ev: dict[str, Any]) -> None:
        key = ev.get("account")
        if key not in self.lines:
            return
        state = str(ev.get("state"))
        result = ev.get("result") if isinstance(ev.get("result"), dict) else None
        detail = result_text(result) if result and "closed" in result else str(ev.get("message") or "")
        if state == "failed" and result and ev.get("message"):
            detail = str(ev["message"])  # the whole story: which ones failed and why
        self._set(key, state, detail)

    def summary(self) -> str:
        return " · ".join(f"{self.name_of(k)} {self.state[k]}" for k in self.lines)
