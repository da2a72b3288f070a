"""[P] 1, ui/layout_gate.py: a label in an overview tile changing its size no longer repaints the whole tab
widget (its tab bar, its frame), while a change to what the tabs lay out from still re-lays them out."""

from __future__ import annotations

from fake_desk import FakeDesk, fake_accounts, fake_window
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication, QLabel, QTabWidget, QVBoxLayout, QWidget

from ui.layout_gate import TabLayoutGate


class Paints(QObject):
    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self.count = 0
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.count += 1
        return False


def settle(qtbot, widget: QWidget) -> None:
    """Every posted layout request and paint handled (no sleep: until a paint of ours has come through)."""
    probe = Paints(widget)
    widget.update()
    qtbot.waitUntil(lambda: probe.count > 0, timeout=5_000)
    QApplication.processEvents()


def shown_tabs(qtbot, *pages: QWidget) -> tuple[QTabWidget, TabLayoutGate]:
    tabs = QTabWidget()
    for i, page in enumerate(pages):
        tabs.addTab(page, f"Tab {i}")
    qtbot.addWidget(tabs)
    tabs.resize(600, 300)
    tabs.show()
    qtbot.waitExposed(tabs)
    return tabs, TabLayoutGate(tabs)


def test_a_page_label_relaid_out_does_not_repaint_the_tab_bar(qtbot) -> None:
    page = QWidget()
    label = QLabel("12,345.67 USD")
    QVBoxLayout(page).addWidget(label)
    tabs, gate = shown_tabs(qtbot, page, QWidget())
    settle(qtbot, page)
    bar = Paints(tabs.tabBar())
    swallowed = gate.swallowed
    label.setText("12,345.68 USD")  # a new value: the label asks its ancestors for a new layout
    qtbot.waitUntil(lambda: gate.swallowed > swallowed, timeout=5_000)  # the request reached the tabs: held
    settle(qtbot, label)
    assert bar.count == 0, "the tab bar was repainted for a label's size"


def test_what_the_tabs_lay_out_from_still_passes(qtbot) -> None:
    tabs, gate = shown_tabs(qtbot, QWidget())
    settle(qtbot, tabs)
    passed = gate.passed
    tabs.addTab(QWidget(), "A second tab with a long name")
    qtbot.waitUntil(lambda: gate.passed > passed, timeout=5_000)
    qtbot.waitUntil(lambda: tabs.tabBar().width() >= tabs.tabBar().sizeHint().width(), timeout=5_000)
    page = tabs.widget(0)
    page.setMinimumHeight(250)  # the page's minimum grew: the tab widget's own hint must follow
    passed = gate.passed
    qtbot.waitUntil(lambda: gate.passed > passed, timeout=5_000)
    assert tabs.minimumSizeHint().height() >= 250


def test_the_window_tabs_are_gated_and_an_overview_relayout_leaves_the_tab_bar_alone(qtbot, qloop, tmp_path) -> None:
    with fake_window(qtbot, qloop, FakeDesk(tmp_path / "data", fake_accounts(4))) as window:
        window.tabs.setCurrentIndex(0)
        assert isinstance(window.tab_gate, TabLayoutGate)
        gate = window.tab_gate
        window.timer.stop()  # the window's own refresh (its banner, its strips) may legitimately re-lay it out
        window.pacer.stop()
        for _ in range(5):  # a request may still pass while the window finishes laying itself out
            settle(qtbot, window.overview)
            bar = Paints(window.tabs.tabBar())
            passed, swallowed = gate.passed, gate.swallowed
            window.overview.updateGeometry()  # what a tile's label changing its text ends in, hints unchanged
            qtbot.waitUntil(lambda: gate.passed + gate.swallowed > passed + swallowed, timeout=5_000)  # noqa: B023
            if gate.swallowed > swallowed:
                break
        assert gate.swallowed > swallowed
        settle(qtbot, window.overview)
        assert bar.count == 0
