"""Draw the MT5 Desk icon with Qt and write resources/app.png (256 px) and resources/app.ico.

    python tools/make_icons.py [--out DIR]

The .ico holds 16, 20, 24, 32, 40, 48, 64 px as 32-bit BMP images (every Windows and NSIS reads
those) and 256 px as PNG (the Vista+ way to keep a large icon small). Each size is drawn at its own
resolution rather than scaled down, so the small ones stay crisp. Runs offscreen, no display needed.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPen,
)

ROOT = Path(__file__).resolve().parent.parent
ICO_BMP_SIZES = (16, 20, 24, 32, 40, 48, 64)
ICO_PNG_SIZES = (256,)

BACKGROUND_TOP = QColor("#1a3f8f")
BACKGROUND_BOTTOM = QColor("#0d2259")
BAR = QColor("#8ab4f8")
LINE = QColor("#81c995")
TEXT = QColor("#ffffff")


def draw_icon(size: int) -> QImage:
    """The mark: a dark blue rounded square, three stacked account bars, a rising equity line, "M5"."""
    img = QImage(size, size, QImage.Format.Format_ARGB32)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256.0
    margin = 8 * s if size >= 32 else 0.5
    rect = QRectF(margin, margin, size - 2 * margin, size - 2 * margin)
    grad = QLinearGradient(rect.topLeft(), rect.bottomLeft())
    grad.setColorAt(0.0, BACKGROUND_TOP)
    grad.setColorAt(1.0, BACKGROUND_BOTTOM)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(grad)
    p.drawRoundedRect(rect, 44 * s, 44 * s)

    # Three stacked rounded bars on the left: the accounts. Small sizes drop the text, keep the bars.
    small = size < 40
    bar_h = (26 if not small else 34) * s
    bar_x = 36 * s
    widths = (72, 58, 44) if not small else (88, 70, 52)
    top = (132 if not small else 96) * s
    p.setBrush(BAR)
    for i, w in enumerate(widths):
        y = top + i * (bar_h + (12 if not small else 14) * s)
        p.drawRoundedRect(QRectF(bar_x, y, w * s, bar_h), bar_h / 2.5, bar_h / 2.5)

    # The equity line rising across the right half.
    pts = [(120, 200), (152, 164), (178, 180), (220, 104)] if not small else [(112, 212), (150, 160),
                                                                            (176, 178), (222, 70)]
    path = QPainterPath(QPointF(pts[0][0] * s, pts[0][1] * s))
    for x, y in pts[1:]:
        path.lineTo(x * s, y * s)
    pen_w = max(1.5, (16 if not small else 22) * s)
    p.setPen(QPen(LINE, pen_w, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(path)

    if not small:
        font = QFont("DejaVu Sans")
        font.setBold(True)
        font.setPixelSize(max(8, round(78 * s)))
        p.setFont(font)
        p.setPen(TEXT)
        p.drawText(QRectF(30 * s, 22 * s, 200 * s, 96 * s),
                   int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), "M5")
    p.end()
    return img


def png_bytes(img: QImage) -> bytes:
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not img.save(buf, "PNG"):
        raise RuntimeError("Qt could not encode PNG")
    buf.close()
    return bytes(data.data())


def bmp_icon_bytes(img: QImage) -> bytes:
    """One ICO image in the classic form: BITMAPINFOHEADER, bottom-up BGRA pixels, 1-bit AND mask."""
    size = img.width()
    img = img.convertToFormat(QImage.Format.Format_ARGB32)  # little-endian memory order is B, G, R, A
    header = struct.pack("<IiiHHIIiiII", 40, size, size * 2, 1, 32, 0, 0, 0, 0, 0, 0)
    rows = []
    mask_rows = []
    mask_stride = ((size + 31) // 32) * 4
    for y in range(size - 1, -1, -1):
        line = bytes(img.constScanLine(y))[: size * 4]
        rows.append(line)
        mask = bytearray(mask_stride)
        for x in range(size):
            if line[x * 4 + 3] == 0:  # fully transparent: mark it in the AND mask for old readers
                mask[x // 8] |= 0x80 >> (x % 8)
        mask_rows.append(bytes(mask))
    return header + b"".join(rows) + b"".join(mask_rows)


def ico_bytes(bmp_sizes: tuple[int, ...] = ICO_BMP_SIZES, png_sizes: tuple[int, ...] = ICO_PNG_SIZES) -> bytes:
    images: list[tuple[int, bytes]] = [(n, bmp_icon_bytes(draw_icon(n))) for n in bmp_sizes]
    images += [(n, png_bytes(draw_icon(n))) for n in png_sizes]
    out = [struct.pack("<HHH", 0, 1, len(images))]
    offset = 6 + 16 * len(images)
    for n, blob in images:
        dim = 0 if n >= 256 else n  # 0 means 256 in an ICONDIRENTRY
        out.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset))
        offset += len(blob)
    out.extend(blob for _, blob in images)
    return b"".join(out)


def read_ico_sizes(data: bytes) -> list[int]:
    """The pixel sizes listed in an .ico's directory (used by the tests and as a self-check)."""
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    if reserved != 0 or kind != 1:
        raise ValueError("not an .ico file")
    sizes = []
    for i in range(count):
        w = data[6 + 16 * i]
        sizes.append(256 if w == 0 else w)
    return sizes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "resources", help="folder to write app.png and app.ico")
    args = ap.parse_args(argv)
    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "app.png").write_bytes(png_bytes(draw_icon(256)))
    ico = ico_bytes()
    (args.out / "app.ico").write_bytes(ico)
    print(f"wrote {args.out / 'app.png'} and {args.out / 'app.ico'} (sizes {read_ico_sizes(ico)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
