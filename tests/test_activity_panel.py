"""The activity panel as a model over its entries ([P] 4): newest first, coloured by level, trimmed to
MAX_ROWS from the oldest, a start-up load merged with what arrived meanwhile, and each time written when
painted (today's by the clock, older ones with their date)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from ui.activity_panel import LEVEL_COLOURS, MAX_ROWS, ActivityPanel


def entry(i: int, **more) -> dict:
    return {"id": i, "ts": time.time(), "kind": "info", "level": "info", "title": f"t{i}", "detail": f"d{i}", **more}


def cell(panel: ActivityPanel, row: int, column: int, role=Qt.ItemDataRole.DisplayRole):
    return panel.model.data(panel.model.index(row, column), role)


def test_newest_first_with_the_level_colour_and_the_whole_text_as_tip(qtbot) -> None:
    panel = ActivityPanel()
    qtbot.addWidget(panel)
    panel.add(entry(1, level="error", detail="a long reason"))
    panel.add(entry(2, level="success"))
    assert panel.titles() == ["t2", "t1"]
    assert panel.table.model().rowCount() == 2
    assert cell(panel, 1, 2) == "a long reason" == cell(panel, 1, 2, Qt.ItemDataRole.ToolTipRole)
    assert cell(panel, 1, 1, Qt.ItemDataRole.ForegroundRole).color().name() == LEVEL_COLOURS["error"]
    assert cell(panel, 0, 1, Qt.ItemDataRole.ForegroundRole).color().name() == LEVEL_COLOURS["success"]
    assert cell(panel, 0, 2, Qt.ItemDataRole.ForegroundRole) is None  # only the title is coloured


def test_the_log_keeps_the_newest_max_rows(qtbot) -> None:
    panel = ActivityPanel()
    qtbot.addWidget(panel)
    panel.load([entry(i) for i in range(MAX_ROWS + 20)])
    assert panel.model.rowCount() == MAX_ROWS and panel.titles()[0] == f"t{MAX_ROWS + 19}"
    for i in range(MAX_ROWS + 20, MAX_ROWS + 25):
        panel.add(entry(i))
    titles = panel.titles()
    assert len(titles) == len(panel.entries) == MAX_ROWS
    assert titles[0] == f"t{MAX_ROWS + 24}" and titles[-1] == "t25"


def test_a_load_puts_the_stored_entries_before_those_that_came_live_meanwhile(qtbot) -> None:
    panel = ActivityPanel()
    qtbot.addWidget(panel)
    panel.add(entry(3))  # stored too: shown once
    panel.add({"ts": time.time(), "level": "info", "title": "live, not stored yet"})
    panel.load([entry(1), entry(2), entry(3)])
    assert panel.titles() == ["live, not stored yet", "t3", "t2", "t1"]


def test_an_entry_from_another_day_shows_its_date(qtbot) -> None:
    panel = ActivityPanel()
    qtbot.addWidget(panel)
    then = time.time() - 3 * 86400
    panel.add(entry(1, ts=then))
    panel.add(entry(2))
    assert cell(panel, 1, 0) == time.strftime("%d %b %H:%M:%S", time.localtime(then))
    assert len(cell(panel, 0, 0)) in (8, 15)  # HH:MM:SS (or dated, if midnight passed just now)
