"""The equity chart's drawn layers ([E] 2, 6): QPainterPaths of runs already reduced to the screen
(ui/chart_points.py), drawn by one QGraphicsObject each instead of pyqtgraph's PlotCurveItems, which
re-clip and re-downsample their data and rebuild their path on every paint.

The history layer (the equity low-high band, equity, balance, the balance rebuilt from deals) is cached
by Qt as a pixmap in device coordinates: a repaint, a live value or the crosshair only copies it; it is
drawn again when its paths change or the view is zoomed (a pan scrolls the pixmap). The live layer (the
newest columns) is small and drawn on every repaint.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPainterPath, QPen, QPixmapCache
from PySide6.QtWidgets import QGraphicsItem

from ui.chart_decimate import BAL_A, BAL_B, BAL_TA, BAL_TB, EQ_A, EQ_B, EQ_TA, EQ_TB, SEG, WIDTH, band, line

ORDER = ("band", "past", "eq", "bal")  # bottom to top
PAD_PX = 3.0  # half the widest pen, and a pixel for antialiasing
# Each cached layer and the axes (with their grid) take a pixmap the size of the plot; Qt's default 10 MB
# cache held fewer than 20 charts' worth, so every paint drew the axes again ([E] 6: 131 ms for 20 charts)
PIXMAP_CACHE_KB = 64 * 1024


def make_room_in_pixmap_cache() -> None:
    if QPixmapCache.cacheLimit() < PIXMAP_CACHE_KB:
        QPixmapCache.setCacheLimit(PIXMAP_CACHE_KB)


SMALL = 200  # points: a path this short is built faster point by point than through pyqtgraph's arrays


def path_of(x: np.ndarray, y: np.ndarray) -> QPainterPath:
    """The points joined, broken where a value is NaN (connect="finite")."""
    if len(x) > SMALL:
        return pg.arrayToQPath(x, y, connect="finite")
    path, move = QPainterPath(), True
    for xi, yi in zip(x.tolist(), y.tolist(), strict=True):
        if xi != xi or yi != yi:  # NaN: a gap
            move = True
        elif move:
            path.moveTo(xi, yi)
            move = False
        else:
            path.lineTo(xi, yi)
    return path


class Layer(pg.GraphicsObject):
    def __init__(self, cached: bool) -> None:
        super().__init__()
        self.paths: dict[str, QPainterPath] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # what each path was built from
        self.styles: dict[str, tuple[QPen | None, QBrush | None]] = {}
        self._bounds = QRectF()  # of the data, without the pens
        self._rect: QRectF | None = None
        self._pad: tuple[float, float] | None = None  # PAD_PX in data units, for the view's scale
        if cached:
            self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    @property
    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self._arrays

    def set_arrays(self, arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.prepareGeometryChange()
        self._arrays = arrays
        self.paths = {name: path_of(x, y) for name, (x, y) in arrays.items() if len(x)}
        bounds = QRectF()
        for path in self.paths.values():
            bounds = bounds.united(path.boundingRect())
        self._bounds, self._rect = bounds, None
        self.update()

    def set_styles(self, styles: dict[str, tuple[QPen | None, QBrush | None]]) -> None:
        self.styles = styles
        self.update()

    def points_in(self, name: str, x0: float, x1: float) -> int:
        """How many points of a path lie in [x0, x1] (what a view of that range draws)."""
        x = self.arrays.get(name, (np.zeros(0), None))[0]
        return int(np.count_nonzero((x >= x0) & (x <= x1)))

    # ---- QGraphicsItem ---------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self._rect is None:
            if self._bounds.isNull():
                self._rect = QRectF()
            else:
                if self._pad is None:
                    px, py = self.pixelVectors()
                    self._pad = (PAD_PX * (px.length() if px is not None else 0.0),
                                 PAD_PX * (py.length() if py is not None else 0.0))
                dx, dy = self._pad
                self._rect = self._bounds.adjusted(-dx, -dy, dx, dy)
        return self._rect

    def viewTransformChanged(self) -> None:
        self.prepareGeometryChange()
        self._rect = self._pad = None

    def dataBounds(self, ax: int, frac: float = 1.0, orthoRange: Any = None) -> tuple[float, float] | None:
        if self._bounds.isNull():
            return None
        b = self._bounds
        return (b.left(), b.right()) if ax == 0 else (b.top(), b.bottom())

    def paint(self, p: QPainter, *_: Any) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for name in ORDER:
            path = self.paths.get(name)
            pen, brush = self.styles.get(name, (None, None))
            if path is None:
                continue
            if brush is not None:
                p.fillPath(path, brush)
            if pen is not None:
                p.setPen(pen)
                p.setBrush(Qt.BrushStyle.NoBrush)
                p.drawPath(path)


class LiveLayer(Layer):
    """The newest runs (a few dozen at most), built point by point: numpy's cost per call is more than the work."""

    def __init__(self) -> None:
        super().__init__(cached=False)
        self.rows: list[list[float]] = []

    def set_rows(self, rows: list[list[float]]) -> None:
        self.rows = rows
        paths = {"eq": QPainterPath(), "bal": QPainterPath()}
        for name, (ta, a, tb, b) in (("eq", (EQ_TA, EQ_A, EQ_TB, EQ_B)), ("bal", (BAL_TA, BAL_A, BAL_TB, BAL_B))):
            path, seg = paths[name], None
            for r in rows:
                (path.lineTo if r[SEG] == seg else path.moveTo)(r[ta], r[a])
                path.lineTo(r[tb], r[b])
                seg = r[SEG]
        bounds = paths["eq"].boundingRect().united(paths["bal"].boundingRect()) if rows else QRectF()
        if bounds != self._bounds:  # else the scene's index and the dirty region stay as they are
            self.prepareGeometryChange()
            self._bounds, self._rect = bounds, None
        self.paths = paths
        self.update()

    @property
    def arrays(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        runs = np.asarray(self.rows, dtype=float).reshape(-1, WIDTH)
        return {"eq": line(runs, "eq"), "bal": line(runs, "bal")}


def runs_arrays(runs: np.ndarray, with_band: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    arrays = {"eq": line(runs, "eq"), "bal": line(runs, "bal")}
    if with_band:
        arrays["band"] = band(runs)
    return arrays
