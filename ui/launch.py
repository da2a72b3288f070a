"""Start the GUI: QApplication on a qasync loop, one instance per data dir, the Desk, the window.

A second start for the same data dir asks the first window to come forward and exits (two apps
would fight over the terminal). ``--screenshot PNG --after S`` renders the window and exits.

Quitting is one path whatever asks for it (the title bar's close, the tray's Quit, SIGTERM at a
logout, SIGINT): the window only *requests* a quit; ``_run`` then shuts the window's tasks, cloud
sync, the Desk (workers, terminals, history flush) down in order and only then returns, so the
qasync loop never stops under a pending future. Qt's own quit-on-last-window-closed is off: it
would stop the loop mid-shutdown ("Event loop stopped before Future completed").
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    import asyncio

# The window's shell paints before anything slow is imported ([P] 2, ui/window_start.py): asyncio, qasync,
# QtNetwork and the rest are imported where they are used, after it.
log = logging.getLogger("mt5desk.launch")


def instance_name(data_dir: Path) -> str:
    import hashlib

    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    return f"mt5desk-{digest}"


def ask_running_instance(name: str) -> bool:
    """True if another MT5 Desk serves this data dir (it was asked to come forward)."""
    from PySide6.QtNetwork import QLocalSocket

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
        from PySide6.QtNetwork import QLocalServer

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

    if _no_display():
        if not args.screenshot:
            print("error: no display to open the window on. Run it under a desktop session or `xvfb-run`, "
                  "render it with --screenshot PNG, or run the lanes with `run --headless`.", file=sys.stderr)
            return 2
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # a screenshot needs no screen

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("MT5 Desk")
    app.setOrganizationName("MT5 Desk")
    from app.instance import DataDirBusy, acquire

    try:
        owner = acquire(args.data_dir, "gui")  # one app per data dir: a headless host here makes this exit 5
    except DataDirBusy:
        if not args.screenshot and ask_running_instance(instance_name(args.data_dir)):
            print("MT5 Desk is already running for this data folder; brought its window forward.")
            return 0
        raise
    app.setQuitOnLastWindowClosed(False)  # the window asks _run to quit; see the module's docstring
    from ui.window_start import show_shell

    window = show_shell(app, args)  # painted before the Desk, the charts and the workers are even imported
    from app.logging_setup import setup_logging

    setup_logging(args.data_dir, args.log_level)
    import asyncio

    import qasync

    from app.main_thread_gc import MainThreadGC

    collector = MainThreadGC(app)  # cycles freed on this thread only: a Qt object freed elsewhere can crash
    collector.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_run(app, args, window, collector))
    finally:
        _drain(loop)
        loop.close()
        collector.stop()
        owner.release()


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel and finish whatever task is still pending, so none is destroyed while pending."""
    import asyncio

    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.wait(pending, timeout=5))


def quit_signals() -> tuple[int, ...]:
    import signal

    return tuple(getattr(signal, n) for n in ("SIGTERM", "SIGINT", "SIGHUP") if hasattr(signal, n))


def install_quit_signals(on_signal: Callable[[int], None]) -> Callable[[], None]:
    """Turn SIGTERM/SIGINT/SIGHUP into an orderly quit. Qt's loop runs no Python while it waits,
    so the signal wakes it through a socket (signal.set_wakeup_fd) watched by a QSocketNotifier.
    Returns a function that restores the previous handlers."""
    import signal
    import socket

    from PySide6.QtCore import QSocketNotifier

    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    wsock.setblocking(False)
    try:
        old_fd = signal.set_wakeup_fd(wsock.fileno())
    except ValueError:  # not the main thread (tests): no signal handling
        rsock.close()
        wsock.close()
        return lambda: None
    handled = quit_signals()
    old = {sig: signal.signal(sig, lambda *_: None) for sig in handled}
    notifier = QSocketNotifier(rsock.fileno(), QSocketNotifier.Type.Read)

    def readable() -> None:
        with contextlib.suppress(OSError):
            for number in rsock.recv(64):
                if number in handled:  # the wakeup fd also carries any other handled signal
                    on_signal(number)

    notifier.activated.connect(readable)

    def restore() -> None:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(old_fd)
        for sig, handler in old.items():
            signal.signal(sig, handler)
        rsock.close()
        wsock.close()

    return restore


async def _run(app: QApplication, args: Any, window: Any, collector: Any = None) -> int:
    """Fill the painted shell in, start the Desk behind it, and run until a quit is asked for; then stop
    everything in order. A quit asked while starting (the shell's close box, a signal) is honoured."""
    import asyncio
    import signal

    from app.windows_mutex import hold_running_mutex

    mutex = hold_running_mutex()
    quit_requested: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def request_quit(why: str) -> None:
        if not quit_requested.done():
            log.info("quitting: %s", why)
            quit_requested.set_result(why)

    window.quit_handler = request_quit
    restore_signals = install_quit_signals(lambda n: request_quit(f"signal {signal.Signals(n).name}"))
    single = None if args.screenshot else SingleInstance(instance_name(args.data_dir), lambda: _bring_forward(window))
    desk = hosts = control = stall_guard = None
    code = 0
    try:
        from ui.window_start import import_slow_parts

        await import_slow_parts()  # the shell stays painted; the loop turns between the slow imports
        if quit_requested.done():
            return 0
        from app.control import ControlServer  # [K] attach: the window's desk serves clients too
        from app.desk import make_desk
        from app.remote_desk import RemoteHosts  # [K] the owner's other machines, next to the local accounts
        from app.remote_view import DeskWithHosts
        from app.stall_guard import install_if_debug

        desk = make_desk(args.data_dir, args.backend)
        if args.screenshot and getattr(args, "theme", None):
            desk.settings["theme"] = args.theme  # for this picture only; not saved
        hosts = RemoteHosts(args.data_dir)
        hosts.event.connect(lambda ev: desk.alerts.on_event(ev) if ev.get("event") == "host" else None)  # [N]
        window.fill(DeskWithHosts(desk, hosts))
        control = ControlServer(desk, args.data_dir, "gui")
        control.listen()
        stall_guard = install_if_debug(window)  # --log-level DEBUG: stalls over 50 ms go to the log
        await window.start_desk()
        if collector is not None:
            collector.freeze()  # [P] 1: a full collection no longer walks start-up's objects (50-60 ms)
        control.started()
        hosts.start()
        if args.screenshot:
            await asyncio.wait({quit_requested}, timeout=max(0.0, float(args.after)))
            window.cloud.show()  # the cloud line as configured (its client is made on first use)
            window.repaint_dirty()
            code = 0 if save_screenshot(window, Path(args.screenshot)) else 1
        else:
            window._spawn(window.cloud.start())
            await quit_requested
    finally:
        window.statusBar().showMessage("Closing: stopping the terminals and saving…")
        await window.shutdown()
        if window.filled:
            with contextlib.suppress(Exception):
                await window.cloud.close()
        if control is not None:
            await control.close()
        if hosts is not None:
            hosts.stop()
        if desk is not None:
            await desk.stop()
        if single is not None:
            single.close()
        window.close()
        restore_signals()
        if stall_guard is not None:
            stall_guard.stop()
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
