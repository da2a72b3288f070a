"""[P] 1: the window's refresh runs as small steps, one per event-loop turn, in order; a failing step
does not hold the others (or every later refresh) back."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from ui.frame_pacer import FramePacer


def test_steps_run_in_order_one_per_turn_and_survive_a_failing_step(qtbot) -> None:
    pacer = FramePacer()
    ran: list[str] = []
    turns: list[int] = []
    counter = [0]
    ticker = QTimer()  # counts event-loop turns between the steps
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: counter.__setitem__(0, counter[0] + 1))
    ticker.start()

    def step(name: str):
        def run() -> None:
            ran.append(name)
            turns.append(counter[0])
        return run

    def broken() -> None:
        ran.append("broken")
        raise RuntimeError("a bug in one widget's refresh")

    with qtbot.captureExceptions() as raised:  # Qt reports the bug; the pacer goes on
        pacer.run([step("chart"), broken, step("rows"), step("status")])
        assert pacer.busy() and ran == []  # nothing runs inside run(): the caller's turn ends first
        qtbot.waitUntil(lambda: not pacer.busy(), timeout=5000)
    ticker.stop()
    assert [str(e[1]) for e in raised] == ["a bug in one widget's refresh"]
    assert ran == ["chart", "broken", "rows", "status"]
    assert turns == sorted(turns) and len(set(turns)) == len(turns)  # each step in a turn of its own
    pacer.run([step("again")])  # a later refresh still runs
    qtbot.waitUntil(lambda: ran[-1] == "again", timeout=5000)


def test_stop_drops_what_is_left(qtbot) -> None:
    pacer = FramePacer()
    ran: list[int] = []
    pacer.run([lambda: ran.append(1), lambda: ran.append(2)])
    pacer.stop()
    assert not pacer.busy()
    pacer.run([lambda: ran.append(3)])
    qtbot.waitUntil(lambda: ran == [3], timeout=5000)


def test_a_repaint_asked_for_now_finishes_the_timers_refresh_first(qtbot, qloop, tmp_path) -> None:
    """The window's timer may take the dirty marks and leave its steps waiting; a repaint asked for now
    (tests, a screenshot) must paint those too, not find nothing dirty and leave the rows as they were."""
    from tests.fake_desk import FakeDesk, fake_accounts, fake_window

    desk = FakeDesk(tmp_path / "d", fake_accounts(2))
    with fake_window(qtbot, qloop, desk) as window:
        window.timer.stop()
        window.model.holders = set()  # as if the rows were painted before the lock arrived
        window._dirty.add("rows")
        window._paced_repaint()  # the timer's refresh: takes the marks, its steps wait for later turns
        assert window.pacer.busy() and not window._dirty
        window.repaint_dirty()
        assert not window.pacer.busy() and window.model.holders  # the rows step ran: the padlock is back


def test_flush_runs_the_waiting_steps_in_order(qtbot) -> None:
    pacer = FramePacer()
    ran: list[str] = []
    pacer.run([lambda: ran.append("a"), lambda: ran.append("b")])
    pacer.flush()
    assert ran == ["a", "b"] and not pacer.busy()
