"""A one-line label that never widens its window: it shows as much of its text as fits, ends with
"…", and gives the whole text in its tooltip."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QStyle, QStyleOption, QWidget

MIN_WIDTH = 40


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._own_tooltip = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self._sync_tooltip()

    def elided(self) -> str:
        width = max(0, self.contentsRect().width())
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, width)

    def is_elided(self) -> bool:
        return self.elided() != self.text()

    def _sync_tooltip(self) -> None:
        # the whole text on hover, only when some of it is hidden
        self.setToolTip(self.text() if self.text() and self.is_elided() else self._own_tooltip)

    def minimumSizeHint(self) -> QSize:
        return QSize(MIN_WIDTH, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(min(super().sizeHint().width(), 400), super().sizeHint().height())

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        self._sync_tooltip()

    def paintEvent(self, _event: Any) -> None:
        p = QPainter(self)
        opt = QStyleOption()
        opt.initFrom(self)
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_Widget, opt, p, self)
        p.setPen(self.palette().color(self.foregroundRole()))
        p.setFont(self.font())
        p.drawText(self.contentsRect(), int(self.alignment()) | Qt.AlignmentFlag.AlignVCenter, self.elided())
        p.end()
