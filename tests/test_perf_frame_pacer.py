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
