"""A tile's small equity line, painted with QPainter ([P] 1/2). A pyqtgraph PlotWidget per tile cost
~100 ms to build (menus, config forms, axes) and ~4 ms to paint: twenty of them stalled the window at
start-up for seconds and took most of each overview refresh. This draws the same line, scaled to the
widget with a small margin, in well under a millisecond."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QWidget

MARGIN = 0.06  # of the height, above and below the line, as the plot's auto-range padding left


class Sparkline(QWidget):
    def __init__(self, height: int = 60) -> None:
        super().__init__()
        self.setFixedHeight(height)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # it fills itself: nothing below to paint
        self._ts = np.empty(0)
        self._values = np.empty(0)
        self._line = QColor("#1a73e8")
        self._background = QColor("white")

    def set_colours(self, line: str, background: str) -> None:
        self._line, self._background = QColor(line), QColor(background)
        self.update()

    def set_data(self, ts: Any, values: Any) -> None:
        self._ts = np.asarray(ts, dtype=float)
        self._values = np.asarray(values, dtype=float)
        self.update()

    def points(self) -> list[QPointF]:
        """The line in widget coordinates (oldest left, newest right; highest value on top)."""
        ts, v = self._ts, self._values
        ok = np.isfinite(ts) & np.isfinite(v)
        ts, v = ts[ok], v[ok]
        if len(ts) < 2:
            return []
        w, h = max(1, self.width() - 1), max(1, self.height() - 1)
        span_t = float(ts[-1] - ts[0]) or 1.0
        lo, hi = float(v.min()), float(v.max())
        pad = (hi - lo) * MARGIN or max(abs(hi) * 1e-4, 0.01)
        lo, hi = lo - pad, hi + pad
        xs = (ts - ts[0]) / span_t * w
        ys = h - (v - lo) / (hi - lo) * h
        return [QPointF(x, y) for x, y in zip(xs.tolist(), ys.tolist(), strict=True)]

    def paintEvent(self, event: Any) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), self._background)
        pts = self.points()
        if pts:
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            p.setPen(QPen(self._line, 1.5))
            p.drawPolyline(QPolygonF(pts))
        p.end()
