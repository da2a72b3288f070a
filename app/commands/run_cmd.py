"""``run --headless``: the lanes without a window, for a VPS and for tests.

Events go to stdout, one per line (JSON with --json, else a readable line). Commands come on stdin,
one JSON object per line (see app/commands/headless_commands.py): {"cmd": "activate", "account":
"LOGIN@SERVER"}, {"cmd": "release"}, {"cmd": "cancel", "account": ...}, {"cmd": "close_all",
"account": ...}, {"cmd": "quit"}; each gets its effect or an ``error`` event naming it. The same
events and commands are served to ``attach`` clients on the control endpoint (app/control.py).

The host owns its data dir (app/instance.py) and refuses to start on a vault made with another key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
import time
from typing import Any

from multi_user.errors import DeskError, VaultError


def format_event(ev: dict[str, Any]) -> str:
    kind = ev.get("event")
    if ev.get("host") and kind != "host":  # [K] a host's event: its name first
        return f"[{ev['host']}] " + format_event({k: v for k, v in ev.items() if k != "host"})
    if kind == "lock" and ev.get("known") is False:
        return "lock: unknown (host not online)"
    if kind == "snapshot":
        return (f"snapshot {ev['account']}: equity {ev.get('equity'):.2f} balance {ev.get('balance'):.2f} "
                f"{ev.get('currency', '')} profit {ev.get('profit', 0):+.2f} positions {ev.get('positions')}")
    if kind == "lock":
        holder = (ev.get("holder") or {}).get("account") or "nobody"
        queue = ", ".join(q["account"] for q in ev.get("queue") or []) or "none"
        return f"lock: held by {holder}; waiting: {queue}"
    if kind in ("terminal", "worker"):
        return (f"{kind} [{ev['lane']}] {ev['state']} pid {ev.get('pid')} restarts {ev.get('restarts')}"
                + (f": {ev['message']}" if ev.get("message") else ""))
    if kind == "account_state":
        return f"{ev['account']}: {ev['state']}" + (f" ({ev['message']})" if ev.get("message") else "")
    return f"{kind}: " + json.dumps({k: v for k, v in ev.items() if k not in ("event", "ts")}, default=str)


def run_headless(args: Any) -> int:
    from app.instance import DataDirBusy, acquire

    try:
        owner = acquire(args.data_dir, "headless")
    except DataDirBusy as exc:
        exc = DataDirBusy(f"{exc}; `attach` talks to it", exc.owner)  # [K] 1: one owner, many clients
        _early_error(args, exc)
        raise exc from None
    try:
        check_vault_key(args.data_dir)
    except DeskError as exc:
        _early_error(args, exc)
        owner.release()
        raise
    import qasync
    from PySide6.QtCore import QCoreApplication

    from app.main_thread_gc import MainThreadGC

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    collector = MainThreadGC(app)  # cycles freed on this thread only (the host has I/O threads too)
    collector.start()
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_host(args))
    finally:
        loop.close()
        collector.stop()
        owner.release()


def _early_error(args: Any, exc: DeskError) -> None:
    """An error before the host runs: an event for a --json reader (main prints it on stderr)."""
    if args.json:
        print(json.dumps({"event": "error", "message": str(exc), "ts": time.time()}), flush=True)


def check_vault_key(data_dir: Any) -> None:
    """Raise VaultError (exit 4) if the stored passwords were made with another key: running with
    every account offline would hide that."""
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        if vault.key_matches() is False:
            raise VaultError("The vault was encrypted with another key, so no account could log in: set "
                             "MT5_ENCRYPTION_KEY (or add the old key to MT5_ENCRYPTION_KEYS) to the key it was "
                             "made with. Nothing was started.")
    finally:
        vault.close()


async def _host(args: Any) -> int:
    from app.commands.headless_commands import read_lines
    from app.control import ControlServer
    from app.desk import Desk
    from app.remote_commands import HostCommands
    from app.remote_desk import RemoteHosts
    from app.remote_view import DeskWithHosts
    from app.windows_mutex import hold_running_mutex

    mutex = hold_running_mutex()  # the installer refuses to run while MT5 Desk does
    loop = asyncio.get_running_loop()
    quit_event = asyncio.Event()
    out = sys.stdout

    def print_event(ev: dict[str, Any]) -> None:
        ev.setdefault("ts", time.time())
        try:
            out.write((json.dumps(ev, default=str) if args.json else format_event(ev)) + "\n")
            out.flush()
        except (BrokenPipeError, ValueError):
            quit_event.set()

    desk = Desk(args.data_dir, args.backend)
    hosts = RemoteHosts(args.data_dir)  # [K] the owner's other machines, as the window attaches to them
    view = DeskWithHosts(desk, hosts)
    view.event.connect(print_event)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, quit_event.set)
    commands = HostCommands(view, print_event, quit_event.set)
    control = ControlServer(desk, args.data_dir, "headless", quit_event.set)
    control.listen()  # before start: a client attaching meanwhile sees start-up; its commands wait

    def post(fn: Any, arg: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the host is exiting
            loop.call_soon_threadsafe(fn, arg)

    def read_stdin(fd: int) -> None:
        read_lines(lambda n: os.read(fd, n), lambda line: post(commands.feed, line),
                   lambda size: post(commands.too_long, size))
        # stdin closed: keep running until --duration or a signal, like a service

    if sys.stdin is not None and not sys.stdin.isatty():
        threading.Thread(target=read_stdin, args=(sys.stdin.fileno(),), daemon=True, name="headless-stdin").start()
    try:
        await desk.start()
    except DeskError as exc:
        print_event({"event": "error", "message": str(exc)})
        await control.close()
        await desk.stop()
        return exc.exit_code
    hosts.start()
    commands.started()  # what came during start-up runs now, in order
    control.started()
    try:
        if args.duration:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(quit_event.wait(), args.duration)
        else:
            await quit_event.wait()
    finally:
        hosts.stop()
        await control.close()
        await desk.stop()
        del mutex
    return 0
