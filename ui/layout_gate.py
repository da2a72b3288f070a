"""A tab widget that re-lays itself out only when its layout can change ([P] 1).

Qt's QLayout::activate ends with an unconditional ``updateGeometry()`` ("ideally only if sizeHint() or
sizePolicy() has changed", says its source), so a tile's badge or "as of" label changing its text sends a
LayoutRequest up every ancestor to the window, each switch and each second. A QTabWidget answers every
LayoutRequest with ``setUpLayout()``, which ends in ``update()`` of the whole widget: its frame, tab bar and
every non-opaque strip of the page painted again, 5-9 ms of the GUI thread measured in bench_gui_e2e (3-4
times a second), for a geometry that did not move.

The gate lets a LayoutRequest through only when what QTabWidget lays out from has changed: its size, the
tab bar's and the pages' size hints, the number of tabs and the current one. Tabs added, renamed or
resized, and a page whose minimum grew, all still re-lay it out."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QStackedWidget, QTabWidget


class TabLayoutGate(QObject):
    def __init__(self, tabs: QTabWidget) -> None:
        super().__init__(tabs)
        self.tabs = tabs
        self.stack = tabs.findChild(QStackedWidget, "qt_tabwidget_stackedwidget",
                                    Qt.FindChildOption.FindDirectChildrenOnly)
        self.last = self.inputs()
        self.passed = self.swallowed = 0  # for tests and the benchmark's notes
        tabs.installEventFilter(self)

    def inputs(self) -> tuple[Any, ...]:
        """What QTabWidget::setUpLayout reads (its corner widgets are not used in this window)."""
        bar, stack = self.tabs.tabBar(), self.stack
        hints = (stack.sizeHint(), stack.minimumSizeHint()) if stack is not None else ()
        return (self.tabs.size(), bar.sizeHint(), bar.minimumSizeHint(), *hints, self.tabs.count(),
                self.tabs.currentIndex(), bar.isVisible())

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.tabs and event.type() == QEvent.Type.LayoutRequest:
            now = self.inputs()
            if now == self.last:
                self.swallowed += 1
                return True
            self.last = now
            self.passed += 1
        return False
