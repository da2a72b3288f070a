"""The app icon and the light/dark style."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent.parent / "resources"

LIGHT = """
QWidget { font-size: 10pt; }
#LockBanner { background: #e8f0fe; border: 1px solid #aecbfa; border-radius: 6px; }
#LockTitle { font-size: 11pt; }
#LockDetail { color: #3c4043; }
#ChartTitle { font-size: 12pt; }
#ChartStatus { color: #3c4043; }
#ChartReadout { color: #5f6368; font-family: monospace; }
#SimulatorBadge { background: #fbbc04; color: #202124; font-weight: bold; border-radius: 4px; }
#PortfolioTotal { font-size: 11pt; padding: 4px 0; }
#Tile { background: white; border: 1px solid #dadce0; border-radius: 6px; }
#TileName { font-weight: bold; }
#TileValue { font-size: 11pt; }
"""

DARK = LIGHT + """
QWidget { background: #202124; color: #e8eaed; }
#LockBanner { background: #174ea6; border-color: #4285f4; }
#LockDetail, #ChartStatus, #ChartReadout { color: #bdc1c6; }
#Tile { background: #292a2d; border-color: #5f6368; }
"""


def apply_theme(theme: str) -> None:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        app.setStyleSheet(DARK if theme == "dark" else LIGHT)


def app_icon() -> QIcon:
    """resources/app.png when present (drawn by tools/make_icons.py), else the same mark drawn here."""
    png = RESOURCES / "app.png"
    if png.exists():
        return QIcon(str(png))
    pix = QPixmap(64, 64)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor("#174ea6"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(QRectF(2, 2, 60, 60), 12, 12)
    path = QPainterPath()
    path.moveTo(10, 46)
    for x, y in ((22, 34), (32, 40), (44, 22), (54, 28)):
        path.lineTo(x, y)
    p.setPen(QPen(QColor("#81c995"), 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)
    p.setPen(QColor("white"))
    f = QFont()
    f.setBold(True)
    f.setPixelSize(14)
    p.setFont(f)
    p.drawText(QRectF(6, 44, 52, 18), Qt.AlignmentFlag.AlignRight, "M5")
    p.end()
    return QIcon(pix)


def lock_icon() -> QIcon:
    """A small padlock for the account that holds the shared terminal."""
    pix = QPixmap(32, 32)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor("#174ea6"), 3.5))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(9, 3, 14, 18), 0, 180 * 16)
    p.drawLine(9, 12, 9, 15)
    p.drawLine(23, 12, 23, 15)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor("#174ea6"))
    p.drawRoundedRect(QRectF(5, 14, 22, 16), 3, 3)
    p.setBrush(QColor("white"))
    p.drawEllipse(QRectF(14, 19, 4, 4))
    p.end()
    return QIcon(pix)
