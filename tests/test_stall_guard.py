"""[P] 5: the stall guard logs an event-loop stall over its threshold with what the GUI thread ran."""

from __future__ import annotations

import logging
import time

import pytest

from app.stall_guard import StallGuard, install_if_debug


def _hog_the_gui_thread(seconds: float) -> None:
    """Busy on the GUI thread: the kind of stall the guard exists for (not a wait for anything)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(200))


def test_a_stall_is_logged_with_the_function_that_held_the_gui_thread(qtbot, caplog) -> None:
    guard = StallGuard(threshold_ms=50)
    caplog.set_level(logging.WARNING, logger="mt5desk.stall")
    guard.start()
    try:
        qtbot.waitUntil(lambda: guard.beats >= 3, timeout=5000)  # the loop runs and beats
        _hog_the_gui_thread(0.25)
        qtbot.waitUntil(lambda: guard.stalls >= 1, timeout=5000)
    finally:
        guard.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "mt5desk.stall"]
    assert any("stalled" in line and "_hog_the_gui_thread" in line and "GUI thread busy" in line
               for line in lines), lines
    stalled_ms = max(float(line.split("stalled ")[1].split(" ms")[0]) for line in lines)
    assert stalled_ms >= 200


def test_a_quiet_loop_logs_nothing(qtbot, caplog) -> None:
    guard = StallGuard(threshold_ms=200)  # far above anything a quiet loop does, even on a busy machine
    caplog.set_level(logging.WARNING, logger="mt5desk.stall")
    guard.start()
    try:
        qtbot.waitUntil(lambda: guard.beats >= 20, timeout=10000)
    finally:
        guard.stop()
    assert guard.stalls == 0
    assert not [r for r in caplog.records if r.name == "mt5desk.stall"]


@pytest.mark.parametrize("level, on", [(logging.DEBUG, True), (logging.INFO, False)])
def test_the_guard_runs_only_in_debug_mode(qtbot, level: int, on: bool) -> None:
    logger = logging.getLogger("mt5desk")
    before = logger.level
    logger.setLevel(level)
    try:
        guard = install_if_debug()
        assert (guard is not None) is on
        if guard is not None:
            guard.stop()
    finally:
        logger.setLevel(before)
