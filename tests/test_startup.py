"""Start-up ([P] 2): the window's shell paints before anything slow is imported or opened, then it is filled in.

The real app is started in a child (main.py, simulator, --screenshot) with a probe that notes, at the first
paint of any widget, which of the slow modules are already imported; the screenshot it leaves is of the
filled window. In process: the shell on its own (nothing slow imported, its actions wait for the Desk,
a quit while starting asks nothing), then filled in; the plain start's small parser agrees with the whole one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SLOW = ("numpy", "pyqtgraph", "app.desk", "multi_user.vault", "app.history", "ui.window_build", "ui.equity_chart",
        "asyncio", "qasync", "app.commands.history_cmd")

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
from PySide6 import QtWidgets
from PySide6.QtCore import QEvent, QObject
seen = {{}}

class Probe(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and obj.isWidgetType() and not seen:
            seen["slow"] = [m for m in {slow!r} if m in sys.modules]
            seen["window"] = obj.window().windowTitle()
        return False

class App(QtWidgets.QApplication):
    def __init__(self, *args):
        super().__init__(*args)
        self._probe = Probe()
        self.installEventFilter(self._probe)

QtWidgets.QApplication = App
import main
code = main.main(["--data-dir", {data!r}, "--backend", "sim", "--screenshot", {png!r}, "--after", "0.5"])
print(json.dumps(seen), flush=True)
sys.exit(code)
"""


@pytest.mark.slow  # ~10–25 s: a first start makes the simulator's world and starts its terminals
def test_the_first_paint_comes_before_the_slow_imports_and_the_screenshot_is_of_the_filled_window(
        tmp_path: Path) -> None:
    png = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    code = PROBE.format(root=str(ROOT), slow=SLOW, data=str(tmp_path / "data"), png=str(png))
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180,
                       cwd=str(ROOT))
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen["window"] == "MT5 Desk"
    assert seen["slow"] == [], f"imported before the first paint: {seen['slow']}"
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    from PySide6.QtGui import QImage

    shot = QImage(str(png))
    assert not shot.isNull() and shot.width() >= 1000


def test_the_shell_imports_nothing_slow() -> None:
    """ui.launch and the shell's module in a fresh interpreter: Qt and a few light modules only."""
    code = ("import sys; import main, ui.launch, ui.window_start, ui.main_window; "
            f"print([m for m in {SLOW!r} if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=str(ROOT))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_the_shell_says_it_is_starting_and_fills_in(qtbot, qloop, tmp_path: Path) -> None:
    from fake_desk import FakeDesk, fake_accounts
    from PySide6.QtWidgets import QLabel

    from ui.main_window import MainWindow

    window = MainWindow(data_dir=tmp_path, theme="light")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    assert window.windowTitle() == "MT5 Desk" and not window.filled
    assert "Starting" in window.status_text.text()
    assert any("Starting…" in w.text() for w in window.sidebar_place.findChildren(QLabel))
    assert not any(a.isEnabled() for a in window._desk_actions), "no Desk yet: nothing to link or release"
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())][:4] == \
        ["All accounts", "Positions", "Terminals", "Activity"]
    desk = FakeDesk(tmp_path / "data", fake_accounts(3))
    window.fill(desk)
    try:
        assert window.filled and all(a.isEnabled() for a in window._desk_actions)
        assert window.model.keys_in_view_order()
        qtbot.waitUntil(lambda: window.sidebar.panel.isVisible() and window.chart.isVisible())  # shown next turn
        assert not any("Starting…" in w.text() for w in window.sidebar_place.findChildren(QLabel)
                       if w.isVisibleTo(window))
        assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == \
            ["All accounts", "Positions", "Terminals", "Activity", "Bots", "Copier"]
    finally:
        window.timer.stop()
        for task in list(window._tasks):
            task.cancel()
        qloop.run_until_complete(window.shutdown())


def test_closing_the_shell_before_it_is_filled_quits_without_asking(qtbot, qloop, tmp_path: Path) -> None:
    from ui.main_window import MainWindow

    window = MainWindow(data_dir=tmp_path)
    qtbot.addWidget(window)
    window.show()
    asked: list[str] = []
    window.quit_handler = asked.append
    window.close()  # the title bar's close while the Desk is still being made
    assert asked == ["the owner quit"] and window.isVisible()
    qloop.run_until_complete(window.shutdown())
    assert not (tmp_path / "window.ini").exists(), "an unfilled window saves no layout over the last one"


@pytest.mark.parametrize("argv", [[], ["--backend", "sim"], ["--data-dir", "/x", "--log-level", "debug"],
                                  ["--screenshot", "a.png", "--after", "1", "--size", "1024x700", "--theme", "dark"],
                                  ["--data-dir", "sim"]])
def test_a_plain_start_parses_as_the_whole_command_line_does(argv: list[str]) -> None:
    import main

    whole = vars(main.build_parser().parse_args(argv))
    assert vars(main.parse_args(argv)) == whole


@pytest.mark.parametrize("argv", [["accounts", "list", "--json"], ["--backend", "sim", "run", "--headless"],
                                  ["sim", "fault", "--help"], ["--bogus"], ["nonsense"]])
def test_anything_else_goes_to_the_whole_parser(argv: list[str], capsys) -> None:
    import main

    try:
        whole = vars(main.build_parser().parse_args(argv))
    except SystemExit as exc:
        whole = {"exit": exc.code}
    expected_out = capsys.readouterr()
    try:
        got = vars(main.parse_args(argv))
    except SystemExit as exc:
        got = {"exit": exc.code}
    assert got == whole
    assert capsys.readouterr() == expected_out, "the same words on stdout and stderr"
