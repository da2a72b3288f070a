"""``run --headless``: the lanes without a window, for a VPS and for tests.

Events go to stdout, one per line (JSON with --json, else a readable line). Commands come on stdin,
one JSON object per line: {"cmd": "activate", "account": "LOGIN@SERVER"}, {"cmd": "release"},
{"cmd": "cancel", "account": ...}, {"cmd": "close_all", "account": ...}, {"cmd": "quit"}.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import threading
from typing import Any

from multi_user.errors import DeskError


def format_event(ev: dict[str, Any]) -> str:
    kind = ev.get("event")
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
    import qasync
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_host(args))
    finally:
        loop.close()


async def _host(args: Any) -> int:
    from app.desk import Desk
    from app.windows_mutex import hold_running_mutex

    mutex = hold_running_mutex()  # the installer refuses to run while MT5 Desk does
    loop = asyncio.get_running_loop()
    quit_event = asyncio.Event()
    out = sys.stdout

    def print_event(ev: dict[str, Any]) -> None:
        try:
            out.write((json.dumps(ev, default=str) if args.json else format_event(ev)) + "\n")
            out.flush()
        except (BrokenPipeError, ValueError):
            quit_event.set()

    desk = Desk(args.data_dir, args.backend)
    desk.event.connect(print_event)
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, quit_event.set)

    def command(line: str) -> None:
        try:
            cmd = json.loads(line)
            name, account = cmd.get("cmd"), cmd.get("account")
            if name == "quit":
                quit_event.set()
            elif name == "activate":
                desk.activate(account, preempt=bool(cmd.get("preempt")))
            elif name == "release":
                desk.release()
            elif name == "cancel":
                desk.cancel(account)
            elif name == "close_all":
                desk.close_all(account)
            else:
                raise ValueError(f"unknown command {name!r}")
        except (ValueError, AttributeError, TypeError) as exc:
            print_event({"event": "error", "message": f"bad command: {exc}"})

    def read_stdin() -> None:
        for line in sys.stdin:
            if line.strip():
                loop.call_soon_threadsafe(command, line)
        # stdin closed: keep running until --duration or a signal, like a service

    if not sys.stdin.isatty() and sys.stdin is not None:
        threading.Thread(target=read_stdin, daemon=True, name="headless-stdin").start()
    try:
        await desk.start()
    except DeskError as exc:
        print_event({"event": "error", "message": str(exc)})
        await desk.stop()
        return exc.exit_code
    try:
        if args.duration:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(quit_event.wait(), args.duration)
        else:
            await quit_event.wait()
    finally:
        await desk.stop()
        del mutex
    return 0
