"""[P] 1: an overview refresh touches only the tiles whose shown values changed, and never leaves one
stale: a changed value updates its tile (and no other), an idle tile's age still ticks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fake_desk import FakeDesk, fake_accounts

from ui.overview import Overview, Tile


@pytest.fixture
def overview(qtbot, monkeypatch):
    accounts = fake_accounts(6)
    desk = FakeDesk(Path("/tmp/unused-desk"), accounts)
    view = Overview(lambda key: key)
    qtbot.addWidget(view)
    view.set_accounts([a["key"] for a in accounts])
    updated: list[str] = []
    update_from = Tile.update_from

    def spy(tile: Tile, *args: Any) -> None:
        updated.append(tile.key)
        update_from(tile, *args)
    monkeypatch.setattr(Tile, "update_from", spy)
    return view, desk, updated


def refresh(view: Overview, desk: FakeDesk, now: float) -> None:
    for step in view.refresh_steps(desk.states, desk.snaps, {}, now=now):
        step()


def test_a_changed_value_updates_its_tile_and_only_that_tile(overview) -> None:
    view, desk, updated = overview
    now = time.time()
    refresh(view, desk, now)
    assert len(updated) == 6
    updated.clear()
    refresh(view, desk, now)
    assert updated == []  # nothing changed: no tile touched
    key = next(iter(desk.snaps))
    desk.snaps[key]["equity"] = 123456.78  # changed in place: still seen
    refresh(view, desk, now)
    assert updated == [key]
    assert "123,456.78" in view.tiles[key].value.text()


def test_an_idle_tiles_age_ticking_still_updates_it(overview) -> None:
    view, desk, updated = overview
    now = time.time()
    idle = next(k for k, s in desk.states.items() if s["state"] == "idle")
    refresh(view, desk, now)
    before = view.tiles[idle].badge.text()
    updated.clear()
    refresh(view, desk, now + 60.0)
    assert idle in updated and view.tiles[idle].badge.text() != before
    live = next(k for k, s in desk.states.items() if s["state"] == "live")
    assert live not in updated


def test_a_state_or_a_margin_warning_updates_the_tile(overview) -> None:
    view, desk, updated = overview
    now = time.time()
    key = next(iter(desk.snaps))
    refresh(view, desk, now)
    updated.clear()
    desk.states[key] = {"state": "stale"}
    refresh(view, desk, now)
    assert updated == [key]
    updated.clear()
    for step in view.refresh_steps(desk.states, desk.snaps, {}, margin_warned={key}, now=now):
        step()
    assert updated == [key]


def test_a_tiles_first_margin_line_keeps_its_height(qtbot) -> None:
    """[P] 1: a tile's height is the same before and after its margin line first shows, so the first values
    of twenty accounts do not move the grid under them (a whole-viewport repaint per tile)."""
    tile = Tile("1@Srv")
    qtbot.addWidget(tile)
    tile.show()
    tile.show_margin(None, False)
    assert not tile.margin.isVisible()
    empty = tile.sizeHint().height()
    tile.show_margin({"margin": 250.0, "margin_free": 9_500.0, "margin_level": 4000.0}, False)
    assert tile.margin.isVisible() and tile.margin.text().startswith("Free 9,500.00")
    assert tile.sizeHint().height() == empty
    tile.show_margin(None, False)  # the values gone again (a restart): hidden, same height
    assert not tile.margin.isVisible() and tile.sizeHint().height() == empty
