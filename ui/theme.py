"""The app icon and the light/dark style. Widgets that paint themselves (sidebar rows, charts) read
``colours()`` and follow ``notifier().changed``, so a theme switch reaches them too."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QApplication

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


@dataclass(frozen=True)
class Colours:
    name: str
    text: str
    muted: str
    base: str
    selected: str  # a selected sidebar row's background; ``text`` stays readable on it
    group: str
    group_text: str
    divider: str
    chart_bg: str
    chart_fg: str
    equity: str
    balance: str
    crosshair: str
    lock: str
    profit: str
    loss: str


LIGHT_COLOURS = Colours("light", text="#202124", muted="#5f6368", base="#ffffff", selected="#d2e3fc",
                        group="#f1f3f4", group_text="#3c4043", divider="#e0e0e0", chart_bg="#ffffff",
                        chart_fg="#3c4043", equity="#1a73e8", balance="#80868b", crosshair="#9aa0a6",
                        lock="#174ea6", profit="#1e8e3e", loss="#c5221f")
DARK_COLOURS = Colours("dark", text="#e8eaed", muted="#9aa0a6", base="#202124", selected="#394457",
                       group="#2d2e31", group_text="#e8eaed", divider="#3c4043", chart_bg="#202124",
                       chart_fg="#bdc1c6", equity="#8ab4f8", balance="#9aa0a6", crosshair="#5f6368",
                       lock="#8ab4f8", profit="#81c995", loss="#f28b82")


LIGHT = """
QWidget { font-size: 10pt; }
#LockBanner { background: #e8f0fe; border: 1px solid #aecbfa; border-radius: 6px; }
#LockTitle { font-size: 11pt; }
#LockDetail { color: #3c4043; }
#ChartTitle { font-size: 12pt; font-weight: bold; }
#ChartStatus { color: #3c4043; }
#ChartReadout { color: #5f6368; font-family: monospace; }
#SimulatorBadge { background: #fbbc04; color: #202124; font-weight: bold; border-radius: 4px; }
#PortfolioTotal { font-size: 11pt; padding: 4px 0; }
#Tile { background: white; border: 1px solid #dadce0; border-radius: 6px; }
#TileName { font-weight: bold; }
#TileValue { font-size: 11pt; }
#Muted { color: #5f6368; }
"""

# The dark look comes from the palette (so views, selections and inputs all follow); the sheet
# only recolours the named pieces that the light sheet colours.
DARK = LIGHT + """
#LockBanner { background: #1c3a6b; border-color: #4285f4; }
#LockDetail, #ChartStatus, #ChartReadout, #Muted { color: #bdc1c6; }
#Tile { background: #292a2d; border-color: #5f6368; }
"""

_current = LIGHT_COLOURS
_default_style: str | None = None


class ThemeNotifier(QObject):
    changed = Signal(str)


_notifier: ThemeNotifier | None = None


def notifier() -> ThemeNotifier:
    global _notifier
    if _notifier is None:
        _notifier = ThemeNotifier()
    return _notifier


def colours() -> Colours:
    return _current


def pl_colour(value: float) -> str:
    """Green for a gain, red for a loss, muted for nothing, readable on the current theme."""
    return _current.profit if value > 0 else _current.loss if value < 0 else _current.muted


def dark_palette() -> QPalette:
    p = QPalette()
    role, group = QPalette.ColorRole, QPalette.ColorGroup
    for r, c in ((role.Window, "#202124"), (role.WindowText, "#e8eaed"), (role.Base, "#202124"),
                 (role.AlternateBase, "#2d2e31"), (role.ToolTipBase, "#3c4043"), (role.ToolTipText, "#e8eaed"),
                 (role.Text, "#e8eaed"), (role.Button, "#303134"), (role.ButtonText, "#e8eaed"),
                 (role.BrightText, "#f28b82"), (role.Highlight, "#394457"), (role.HighlightedText, "#ffffff"),
                 (role.Link, "#8ab4f8"), (role.PlaceholderText, "#9aa0a6"), (role.Mid, "#5f6368"),
                 (role.Midlight, "#3c4043"), (role.Dark, "#17181a"), (role.Shadow, "#000000"),
                 (role.Light, "#5f6368")):
        p.setColor(r, QColor(c))
    for r in (role.Text, role.WindowText, role.ButtonText):
        p.setColor(group.Disabled, r, QColor("#6f7378"))
    return p


def apply_theme(theme: str) -> None:
    global _current, _default_style
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    dark = theme == "dark"
    _current = DARK_COLOURS if dark else LIGHT_COLOURS
    if dark and _default_style is None:
        _default_style = app.style().name()
    if _default_style is not None:  # else never dark yet: the default style and palette are still on ([P] 2)
        # Fusion honours every palette colour on every platform (the native Windows style does not)
        app.setStyle("Fusion" if dark else _default_style)
        app.setPalette(dark_palette() if dark else app.style().standardPalette())
    app.setStyleSheet(DARK if dark else LIGHT)
    notifier().changed.emit(_current.name)


def app_icon() -> QIcon:
    """resources/app.png when present (drawn by tools/make_icons.py), else the same mark drawn here."""
    png = RESOURCES / "app.png"
    if png.exists():
        return QIcon(str(png))
    from PySide6.QtCore import Qt  # not at the top: the window's first paint does without it ([P] 2)

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


def lock_icon(colour: str | None = None) -> QIcon:
    """A small padlock for the account that holds the shared terminal (in the theme's colour)."""
    from PySide6.QtCore import Qt

    ink = QColor(colour or _current.lock)
    pix = QPixmap(32, 32)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(ink, 3.5))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawArc(QRectF(9, 3, 14, 18), 0, 180 * 16)
    p.drawLine(9, 12, 9, 15)
    p.drawLine(23, 12, 23, 15)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(ink)
    p.drawRoundedRect(QRectF(5, 14, 22, 16), 3, 3)
    p.setBrush(QColor(_current.base))
    p.drawEllipse(QRectF(14, 19, 4, 4))
    p.end()
    return QIcon(pix)
