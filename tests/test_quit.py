"""Quitting the real app ([D2] 1): the REAL window on an X server (Xvfb) with a window manager
(openbox) is closed as the owner does it (the title bar's close, sent by `wmctrl -c`), and the
app is sent SIGTERM as a logout does. Each time: exit 0, no traceback, no "Task was destroyed",
no "QProcess: Destroyed while process is still running", and no child process left behind.
Quitting with a job queued asks first; a job the quit drops is reported in the activity log.

Xvfb, openbox and wmctrl come from .ci/run; without them the real-window tests skip (fail on CI).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import marked_processes

ROOT = Path(__file__).resolve().parent.parent
BAD_OUTPUT = ("Traceback", "Task was destroyed", "QProcess: Destroyed", "Event loop stopped")


def _need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        reason = f"{', '.join(missing)} not installed"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the real-window quit test: {reason}", pytrace=False)
        pytest.skip(reason)


def _wait(predicate, timeout: float, what: str, log: Path | None = None,
          app: subprocess.Popen | None = None, explain=None) -> None:
    """Poll a condition of another process (no event to wait on across processes) until a deadline;
    stop at once when the app has exited, and say everything that helps to find out why."""
    deadline = time.monotonic() + timeout
    while not predicate():
        ended = app is not None and app.poll() is not None
        if ended or time.monotonic() > deadline:
            if app is not None and not ended:
                # a hung app: faulthandler (enabled by main.py) writes every thread's stack on SIGABRT
                app.send_signal(signal.SIGABRT)
                try:
                    app.wait(15)
                except subprocess.TimeoutExpired:
                    pass
            parts = [f"{'the app exited with ' + str(app.returncode) if ended else 'timed out'} waiting for {what}"]
            if log is not None:
                parts.append(f"output:\n{log.read_text()[-3000:]}")
                crash = log.parent / "data" / "logs" / "crash.log"
                if crash.exists():
                    parts.append(f"crash.log:\n{crash.read_text()[-4000:]}")
                app_log = log.parent / "data" / "logs" / "mt5desk.log"
                if app_log.exists():
                    parts.append(f"mt5desk.log:\n{app_log.read_text()[-3000:]}")
            if explain is not None:
                parts.append(explain())
            raise AssertionError("\n".join(parts))
        time.sleep(0.1)


def _wm_ready(env: dict[str, str]) -> bool:
    """openbox has taken the display once wmctrl can name the window manager."""
    try:
        return subprocess.run(["wmctrl", "-m"], env=env, capture_output=True, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@pytest.fixture
def x_display(tmp_path: Path) -> Iterator[dict[str, str]]:
    """An Xvfb display with openbox running on it; the environment to start a real window there."""
    _need("Xvfb", "openbox", "wmctrl")
    read_fd, write_fd = os.pipe()
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24", "-nolisten", "tcp"],
                            pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        display = f":{f.readline().strip()}"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = display
    wm = subprocess.Popen(["openbox"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # the window can only be listed (and closed by its title bar) once the window manager runs
        _wait(lambda: _wm_ready(env), 60, "openbox to manage the display",
              explain=lambda: f"openbox {'exited ' + str(wm.poll()) if wm.poll() is not None else 'runs'}")
        yield env
    finally:
        for proc in (wm, xvfb):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _start_app(env: dict[str, str], data_dir: Path, log: Path) -> subprocess.Popen:
    out = log.open("w")
    return subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir)], env=env,
                            stdout=out, stderr=subprocess.STDOUT, cwd=str(ROOT))


def _window_listed(env: dict[str, str]) -> bool:
    listed = subprocess.run(["wmctrl", "-l"], env=env, capture_output=True, text=True, timeout=10)
    return "MT5 Desk" in listed.stdout


def _desk_running(data_dir: Path) -> bool:
    """The Desk writes status.json every second once its lanes run; the watched account holds the lock."""
    try:
        status = json.loads((data_dir / "status.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(status.get("holder"))


def _children_of(pid: int) -> set[int]:
    return {p for p in marked_processes() if p != pid}


def _quit_and_check(env: dict[str, str], data_dir: Path, log: Path, how) -> None:
    before = marked_processes()
    app = _start_app(env, data_dir, log)
    try:
        # generous limits: a first start makes the simulator's world and starts three terminals
        _wait(lambda: _window_listed(env), 120, "the window to appear", log, app,
              explain=lambda: "wmctrl -l:\n" + subprocess.run(["wmctrl", "-l"], env=env, capture_output=True,
                                                              text=True, timeout=10).stdout)
        _wait(lambda: _desk_running(data_dir), 120, "the desk to log an account in", log, app)
        assert _children_of(app.pid) - before, "the app runs its terminals and workers"
        how(app)
        code = app.wait(120)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    output = log.read_text()
    assert code == 0, f"exit code {code}:\n{output[-3000:]}"
    for bad in BAD_OUTPUT:
        assert bad not in output, f"{bad!r} in the output:\n{output[-3000:]}"
    _wait(lambda: not (marked_processes() - before), 10, "every child process to end")
    assert not (data_dir / "status.json").exists(), "the orderly shutdown removes status.json"


@pytest.mark.slow
def test_closing_the_real_window_quits_cleanly(x_display: dict[str, str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    def close_window(app: subprocess.Popen) -> None:
        subprocess.run(["wmctrl", "-c", "MT5 Desk"], env=x_display, check=True, timeout=10)

    _quit_and_check(x_display, data_dir, tmp_path / "app.log", close_window)
    assert "quitting: the owner quit" in (data_dir / "logs" / "mt5desk.log").read_text()


@pytest.mark.slow
def test_sigterm_is_an_orderly_quit(x_display: dict[str, str], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _quit_and_check(x_display, data_dir, tmp_path / "app.log", lambda app: app.send_signal(signal.SIGTERM))
    assert "quitting: signal SIGTERM" in (data_dir / "logs" / "mt5desk.log").read_text()


def test_quitting_with_a_job_queued_asks_first_and_logs_the_dropped_job(qtbot, qloop, data_dir: Path) -> None:
    from PySide6.QtWidgets import QApplication, QMessageBox

    from app.activity import ActivityLog
    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    asked: list[str] = []
    window.quit_handler = asked.append
    desk.emit({"event": "job", "id": "7", "lane": "shared", "account": "1@S", "job": "close_all",
               "state": "queued", "message": None})
    window.close()  # the title bar's close
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert "Close all positions on 1@S" in box.text() and window.isVisible() and not asked
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert not asked, "Cancel keeps the app running"
    window.close()
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    next(b for b in box.buttons() if b.text() == "Quit anyway").click()
    assert asked == ["the owner quit"]
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())
    entries = ActivityLog(data_dir / "activity.sqlite3").recent()
    assert [(e["title"], e["detail"]) for e in entries] == [
        ("Close all positions on 1@S: queued", "waits for the shared terminal"),
        ("Close all positions on 1@S: cancelled", "dropped because the app quit")]


def test_quitting_without_a_job_does_not_ask(qtbot, qloop, data_dir: Path) -> None:
    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    asked: list[str] = []
    window.quit_handler = asked.append
    assert window.request_quit() is True and asked == ["the owner quit"]
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())


def test_ctrl_q_quits_the_same_way(qtbot, qloop, data_dir: Path) -> None:
    from PySide6.QtCore import Qt

    from app.desk import Desk
    from ui.main_window import MainWindow

    desk = Desk(data_dir, "sim")
    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitActive(window):
        window.activateWindow()
    asked: list[str] = []
    window.quit_handler = asked.append
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert asked == ["the owner quit"]
    qloop.run_until_complete(window.shutdown())
    qloop.run_until_complete(desk.stop())
