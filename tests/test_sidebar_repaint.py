"""[P] 1: the sidebar repaints only the rows whose painted content changed, and never leaves one stale:
a changed value repaints its row (and no other), an idle row's age still ticks."""

from __future__ import annotations

import time
from typing import Any

import pytest
from test_sidebar_filter import sidebar  # noqa: F401  (the fixture)

from ui.headroom import Headroom
from ui.sidebar import KEY_ROLE, AccountSidebar


@pytest.fixture
def bar(sidebar):  # noqa: F811
    sidebar.panel.resize(320, 900)  # every row visible
    return sidebar


class Spy:
    """The rows the model said changed, and the rows the delegate really painted."""

    def __init__(self, bar: AccountSidebar) -> None:
        self.changed: list[str] = []
        self.painted: list[str] = []
        model = bar.model()
        model.dataChanged.connect(lambda tl, br, *_: self.changed.extend(
            model.index(r, 0, tl.parent()).data(KEY_ROLE)
            for r in range(tl.row(), br.row() + 1)))
        delegate = bar.itemDelegate()
        paint = delegate.paint

        def spy(p: Any, option: Any, index: Any) -> None:
            self.painted.append(index.data(KEY_ROLE))
            paint(p, option, index)
        delegate.paint = spy  # type: ignore[method-assign]

    def clear(self) -> None:
        self.changed.clear()
        self.painted.clear()


def settle(qtbot, bar: AccountSidebar, now: float) -> None:
    """Paint what is pending, with every row's signature taken at ``now``."""
    bar.model().refresh(now=now)
    bar.viewport().repaint()


def test_a_changed_value_repaints_its_row_and_only_that_row(qtbot, bar) -> None:
    model, now = bar.model(), time.time()
    spy = Spy(bar)
    settle(qtbot, bar, now)
    spy.clear()
    model.refresh(now=now)  # nothing changed: nothing repainted
    assert spy.changed == []
    key = model.accounts[3]["key"]
    model.snapshots[key] = {**model.snapshots[key], "equity": 123456.78}
    model.refresh(now=now)
    assert spy.changed == [key]
    qtbot.waitUntil(lambda: key in spy.painted, timeout=2000)
    assert set(spy.painted) == {key}
    assert "123,456.78" in bar.itemDelegate().texts(key)[2]  # what that paint showed


def test_an_idle_rows_age_ticking_still_repaints_it(qtbot, bar) -> None:
    model, now = bar.model(), time.time()
    idle = next(k for k, s in model.states.items() if s["state"] == "idle")
    live = next(k for k, s in model.states.items() if s["state"] == "live")
    spy = Spy(bar)
    settle(qtbot, bar, now)
    spy.clear()
    model.refresh(now=now + 1.0)  # one second on: the idle badge's age changed, the live one did not
    assert idle in spy.changed and live not in spy.changed
    qtbot.waitUntil(lambda: idle in spy.painted, timeout=2000)


@pytest.mark.parametrize("change", ["state", "padlock", "bot", "copier", "headroom", "profit"])
def test_everything_a_row_paints_repaints_it(qtbot, bar, change: str) -> None:
    model, now = bar.model(), time.time()
    key = model.accounts[2]["key"]
    spy = Spy(bar)
    settle(qtbot, bar, now)
    spy.clear()
    if change == "state":
        model.states[key] = {"state": "stale"}
    elif change == "padlock":
        model.set_lock({"holder": {"account": key}})
    elif change == "bot":
        model.bot_markers = {key: "Bot grid: running"}
    elif change == "copier":
        model.copier_markers = {key: ("Copies Main", "tooltip")}
    elif change == "headroom":
        model.headroom = {key: Headroom("Daily room 4,000.00", "ok", "", "daily", 6000.0, None)}
    else:
        model.snapshots[key] = {**model.snapshots[key], "profit": -1.0}
    model.refresh(now=now)
    assert spy.changed == [key]


def test_no_resort_when_no_sort_key_changed(bar, monkeypatch) -> None:
    model = bar.model()
    bar.panel.sort.setCurrentIndex(bar.panel.sort.findData("equity"))
    calls: list[int] = []
    wanted = model._wanted
    monkeypatch.setattr(model, "_wanted", lambda: calls.append(1) or wanted())
    key = model.accounts[1]["key"]
    model.snapshots[key] = {**model.snapshots[key], "currency": "EUR"}  # painted, not a sort key
    model.refresh()
    assert calls == []
    model.snapshots[key] = {**model.snapshots[key], "equity": 10 ** 7}  # a sort key: re-sorted, first now
    model.refresh()
    assert calls == [1] and model.keys_in_view_order()[0] == key


def test_the_windows_repaint_spreads_changed_rows_over_steps_and_leaves_none_stale(qtbot, bar) -> None:
    from ui.frame_pacer import ROWS_PER_STEP, row_steps

    model = bar.model()
    spy = Spy(bar)
    settle(qtbot, bar, time.time())
    spy.clear()
    snaps = {k: {**s, "equity": 1.0 + i} for i, (k, s) in enumerate(model.snapshots.items())}  # every row
    steps = row_steps(model, model.states, snaps, {})
    assert len(steps) == 2  # six rows: five, then the rest
    steps[0]()
    assert len(spy.changed) == ROWS_PER_STEP
    steps[1]()
    assert sorted(spy.changed) == sorted(snaps)
    assert model.changed_rows() == []


def test_the_windows_one_second_tick_repaints_an_idle_rows_age(qtbot, qloop, tmp_path, monkeypatch) -> None:
    from fake_desk import FakeDesk, fake_accounts, fake_window

    desk = FakeDesk(tmp_path, fake_accounts(6))
    with fake_window(qtbot, qloop, desk) as win:
        idle = next(k for k, s in desk.states.items() if s["state"] == "idle")
        spy = Spy(win.sidebar)
        win.repaint_dirty()
        spy.clear()
        later = time.time() + 5.0  # no event came; the idle badge's age moved on
        monkeypatch.setattr(time, "time", lambda: later)
        win.rules_view.tick()
        win.repaint_dirty()
        assert idle in spy.changed
        live = next(k for k, s in desk.states.items() if s["state"] == "live")
        assert live not in spy.changed
