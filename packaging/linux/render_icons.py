"""Render the SVG app icon to PNGs (and a Windows .ico) with Qt, so no other image tool is needed.

    QT_QPA_PLATFORM=offscreen python packaging/linux/render_icons.py packaging/inglenook.svg OUT_DIR

writes OUT_DIR/inglenook-<size>.png for the usual hicolor sizes and OUT_DIR/inglenook.ico.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def main(svg: str, out: str) -> int:
    app = QGuiApplication.instance() or QGuiApplication([])  # noqa: F841  (Qt needs one for fonts)
    renderer = QSvgRenderer(svg)
    if not renderer.isValid():
        print(f"{svg} is not a valid SVG", file=sys.stderr)
        return 1
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        if not image.save(str(folder / f"inglenook-{size}.png")):
            print(f"could not write the {size}px icon", file=sys.stderr)
            return 1
        if size == 256:
            image.save(str(folder / "inglenook.ico"))  # Qt's ico plugin; optional (Windows only)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
