"""Start the GUI: QApplication on a qasync loop, one instance per data dir, the Desk, the window.

A second start for the same data dir asks the first window to come forward and exits (two apps
would fight over the terminal). ``--screenshot PNG --after S`` renders the window and exits.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtNetwork import QLocalServer, QLocalSocket
from PySide6.QtWidgets import QApplication

log = logging.getLogger("mt5desk.launch")


def instance_name(data_dir: Path) -> str:
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    return f"mt5desk-{digest}"


def ask_running_instance(name: str) -> bool:
    """True if another MT5 Desk serves this data dir (it was asked to come forward)."""
    sock = QLocalSocket()
    sock.connectToServer(name)
    if not sock.waitForConnected(500):
        return False
    sock.write(b"raise\n")
    sock.waitForBytesWritten(500)
    sock.disconnectFromServer()
    return True


class SingleInstance:
    def __init__(self, name: str, on_raise: Any) -> None:
        self.server = QLocalServer()
        QLocalServer.removeServer(name)  # a stale socket from a crashed run
        self.server.listen(name)
        self.server.newConnection.connect(lambda: self._accept(on_raise))

    def _accept(self, on_raise: Any) -> None:
        while self.server.hasPendingConnections():
            conn = self.server.nextPendingConnection()
            conn.readyRead.connect(lambda c=conn: (c.readAll(), on_raise()))

    def close(self) -> None:
        self.server.close()


def _no_display() -> bool:
    import os

    return (sys.platform.startswith("linux") and not os.environ.get("DISPLAY")
            and not os.environ.get("WAYLAND_DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"))


def run_gui(args: Any) -> int:
    import os

    import qasync

    if _no_display():
        if not args.screenshot:
            print("error: no display to open the window on. Run it under a desktop session or `xvfb-run`, "
                  "render it with --screenshot PNG, or run the lanes with `run --headless`.", file=sys.stderr)
            return 2
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MT5 Desk")
    app.setOrganizationName("MT5 Desk")
    name = instance_name(args.data_dir)
    if not args.screenshot and ask_running_instance(name):
        print("MT5 Desk is already running for this data folder; brought its window forward.")
        return 0
    from app.instance import acquire

    owner = acquire(args.data_dir, "gui")  # one app per data dir: a headless host here makes this exit 5
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_run(app, args, name))
    finally:
        loop.close()
        owner.release()


async def _run(app: QApplication, args: Any, name: str) -> int:
    from app.desk import make_desk
    from app.windows_mutex import hold_running_mutex
    from ui.main_window import MainWindow

    mutex = hold_running_mutex()
    desk = make_desk(args.data_dir, args.backend)
    if args.screenshot and getattr(args, "theme", None):
        desk.settings["theme"] = args.theme  # for this picture only; not saved
    window = MainWindow(desk)
    if args.screenshot and getattr(args, "size", None):
        window.resize(*args.size)
    single = None if args.screenshot else SingleInstance(name, lambda: _bring_forward(window))
    from app.control import ControlServer  # [K] attach: the window's desk serves clients too

    control = ControlServer(desk, args.data_dir, "gui")
    control.listen()
    closed = asyncio.Event()
    app.lastWindowClosed.connect(closed.set)
    window.show()
    code = 0
    try:
        await desk.start()
        control.started()
        window.on_event({"event": "accounts", "accounts": desk.accounts()})
        if not args.screenshot:
            window._spawn(window.cloud.start())
        if args.screenshot:
            await asyncio.sleep(max(0.0, float(args.after)))
            window.repaint_dirty()
            code = 0 if save_screenshot(window, Path(args.screenshot)) else 1
        else:
            await closed.wait()
    finally:
        window.save_state()
        await window.cloud.close()
        await control.close()
        await desk.stop()
        if single is not None:
            single.close()
        window.close()
        del mutex
    return code


def _bring_forward(window: Any) -> None:
    window.showNormal()
    window.raise_()
    window.activateWindow()


def save_screenshot(window: Any, path: Path) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(path))
    log.info("screenshot %s: %s", path, "saved" if ok else "FAILED")
    return bool(ok)
