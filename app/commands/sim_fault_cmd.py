"""``sim fault KIND``: inject a fault every simulated terminal sees (kept in the world DB), or clear them.

Each kind is described in docs/SIMULATOR.md; the stricter-than-the-real-terminal ones in
docs/REAL_TERMINAL.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from multi_user.errors import BadInput, TerminalError


def add_fault_arguments(sub: Any) -> None:
    fault = sub.add_parser("fault", help="inject a fault every simulated terminal sees")
    fsub = fault.add_subparsers(dest="fault", metavar="FAULT", required=True)
    a = fsub.add_parser("auth", help="logins fail with (-6, 'Terminal: Authorization failed')")
    a.add_argument("--login", help="only this login (default: every account)")
    a.add_argument("--server", help="only this server")
    fsub.add_parser("slow-login", help="logins take SECONDS").add_argument("--seconds", type=float, required=True)
    fsub.add_parser("slow-start", help="a terminal started from now on listens only SECONDS after its start "
                    "(a client that comes sooner finds no terminal)").add_argument("--seconds", type=float,
                                                                                   required=True)
    t = _terminal(fsub, "ipc-timeout", "a terminal stops answering: its clients' calls block until it answers again")
    t.add_argument("--seconds", type=float, default=90.0, help="how long it hangs (default 90)")
    t = _terminal(fsub, "ipc-drop", "a terminal's IPC goes away (connections closed, no endpoint) while its "
                  "process runs on, then comes back")
    t.add_argument("--seconds", type=float, default=5.0, help="how long it is away (default 5)")
    fsub.add_parser("disconnect", help="the broker drops: terminal_info().connected is false, prices freeze"
                    ).add_argument("--server", help="only this server (default: every server)")
    k = fsub.add_parser("shock", help="move a symbol's price by PERCENT from now on")
    k.add_argument("--symbol", required=True)
    k.add_argument("--percent", type=float, required=True)
    r = fsub.add_parser("requote", help="the next COUNT market deals on SYMBOL get retcode 10004 (requote)")
    r.add_argument("--symbol", required=True)
    r.add_argument("--count", type=int, default=1)
    fsub.add_parser("market-closed", help="deals on SYMBOL get retcode 10018 (market closed)"
                    ).add_argument("--symbol", required=True)
    fsub.add_parser("fifo", help="account LOGIN must close positions first in, first out (10045)"
                    ).add_argument("--login", required=True)
    _terminal(fsub, "algo-off", "switch off a terminal's Algo Trading: order_send gets retcode 10027")
    _terminal(fsub, "algo-off-on-login", "the terminal's option 'Disable algorithmic trading when the account "
              "has been changed': a login to another account turns Algo Trading off")
    _terminal(fsub, "api-off", "the terminal's option 'Disable algorithmic trading via external Python API': "
              "every call but terminal_info and version fails with -8")
    _terminal(fsub, "crash", "kill a terminal process")
    u = _terminal(fsub, "update", "the terminal updates itself (LiveUpdate): it exits cleanly and a new copy "
                  "starts from the same folder GAP seconds later")
    u.add_argument("--gap", type=float, default=1.0, help="seconds until the new copy listens (default 1)")
    fsub.add_parser("clear", help="remove every fault")
    fsub.add_parser("list", help="the active faults")
    for p in fsub.choices.values():
        p.add_argument("--json", action="store_true")


def _terminal(fsub: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    p = fsub.add_parser(name, help=help_text)
    p.add_argument("--terminal", required=True, metavar="PATH", help="terminal64.exe or its folder")
    return p


def _out(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)


def _known_server(world: Path, server: str | None) -> str | None:
    from multi_user.mt5sim import control

    if server is not None and server not in {a["server"] for a in control.demo_accounts(world)}:
        raise BadInput(f"no server {server!r} in the simulator world", field="server")
    return server


def _known_login(world: Path, login: str) -> int:
    from multi_user.mt5sim import control

    if not str(login).isdigit():
        raise BadInput(f"login must be a number, not {login!r}", field="login")
    if int(login) not in {a["login"] for a in control.demo_accounts(world)}:
        raise BadInput(f"no account {login} in the simulator world", field="login")
    return int(login)


def _known_symbol(symbol: str) -> str:
    from multi_user.mt5sim.prices import SYMBOLS

    if symbol not in SYMBOLS:
        raise BadInput(f"unknown symbol {symbol!r}: the simulator has {', '.join(SYMBOLS)}", field="symbol")
    return symbol


def _seconds(value: float, top: float) -> float:
    if not 0 < value <= top:
        raise BadInput(f"--seconds must be between 0 and {top:g}", field="seconds")
    return value


def _terminal_folder(path: str) -> Path:
    p = Path(path).expanduser().resolve()
    folder = p.parent if p.suffix.lower() == ".exe" else p
    if not (folder / "terminal64.exe").exists():
        raise BadInput(f"no simulated terminal at {path}", field="terminal")
    return folder


def run_fault(args: argparse.Namespace, world: Path) -> int:
    from multi_user.mt5sim import control

    kind = args.fault
    if kind == "auth":
        login = None if args.login is None else _known_login(world, args.login)
        server = _known_server(world, args.server)
        control.add_auth_failure(world, login, server)
        _out(args, {"fault": kind, "login": login, "server": server},
             f"logins to {login or 'every account'} on {server or 'every server'} now fail")
    elif kind in ("slow-login", "slow-start"):
        seconds = _seconds(args.seconds, 3600)
        (control.add_slow_login if kind == "slow-login" else control.add_slow_start)(world, seconds)
        _out(args, {"fault": kind, "seconds": seconds}, f"logins now take {seconds:g} s" if kind == "slow-login"
             else f"terminals started from now on listen {seconds:g} s after their start")
    elif kind in ("ipc-timeout", "ipc-drop"):
        seconds = _seconds(args.seconds, 86400)
        folder = _terminal_folder(args.terminal)
        (control.add_ipc_timeout if kind == "ipc-timeout" else control.add_ipc_drop)(world, folder, seconds)
        _out(args, {"fault": kind, "terminal": str(folder), "seconds": seconds},
             f"the terminal in {folder} {'stops answering' if kind == 'ipc-timeout' else 'drops its IPC'} "
             f"for {seconds:g} s")
    elif kind == "disconnect":
        server = _known_server(world, args.server)
        control.add_disconnect(world, server)
        _out(args, {"fault": kind, "server": server}, f"{server or 'every server'} is now disconnected")
    elif kind == "shock":
        try:
            control.add_shock(world, args.symbol, args.percent)
        except ValueError as exc:
            raise BadInput(str(exc), field="symbol") from None
        _out(args, {"fault": kind, "symbol": args.symbol, "percent": args.percent},
             f"{args.symbol} moved by {args.percent:+g}%")
    elif kind == "requote":
        symbol = _known_symbol(args.symbol)
        if not 1 <= args.count <= 1000:
            raise BadInput("--count must be between 1 and 1000", field="count")
        control.add_requotes(world, symbol, args.count)
        _out(args, {"fault": kind, "symbol": symbol, "count": args.count},
             f"the next {args.count} deal(s) on {symbol} get a requote (10004)")
    elif kind == "market-closed":
        symbol = _known_symbol(args.symbol)
        control.add_market_closed(world, symbol)
        _out(args, {"fault": kind, "symbol": symbol}, f"the market for {symbol} is closed (10018)")
    elif kind == "fifo":
        login = _known_login(world, args.login)
        control.add_fifo(world, login)
        _out(args, {"fault": kind, "login": login}, f"account {login} now closes first in, first out (10045)")
    else:
        return _terminal_fault(args, world)
    return 0


def _terminal_fault(args: argparse.Namespace, world: Path) -> int:
    from multi_user.mt5sim import control

    kind = args.fault
    if kind in ("algo-off", "algo-off-on-login", "api-off"):
        folder = _terminal_folder(args.terminal)
        add, text = {"algo-off": (control.add_algo_off, "Algo Trading is off"),
                     "algo-off-on-login": (control.add_algo_off_on_login,
                                           "a change of account turns Algo Trading off"),
                     "api-off": (control.add_api_off, "the Python API is disabled (-8)")}[kind]
        add(world, folder)
        _out(args, {"fault": kind, "terminal": str(folder)}, f"{text} in the terminal in {folder}")
    elif kind in ("crash", "update"):
        folder = _terminal_folder(args.terminal)
        if kind == "update" and not 0 <= args.gap <= 600:
            raise BadInput("--gap must be between 0 and 600", field="gap")
        pid = control.crash_terminal(folder) if kind == "crash" else control.update_terminal(folder, args.gap)
        if pid is None:
            raise TerminalError(f"no simulated terminal is running in {folder}")
        data: dict[str, Any] = {"fault": kind, "terminal": str(folder), "pid": pid}
        if kind == "crash":
            _out(args, data, f"killed the terminal {pid} in {folder}")
        else:
            _out(args, {**data, "gap": args.gap},
                 f"the terminal {pid} in {folder} exited for an update; a new one listens in {args.gap:g} s")
    elif kind == "clear":
        n = control.clear_faults(world)
        _out(args, {"fault": kind, "cleared": n}, f"cleared {n} fault(s)")
    else:
        rows = control.active_faults(world)
        print(json.dumps(rows) if args.json else "\n".join(
            f"{r['kind']}: " + ", ".join(f"{k}={v}" for k, v in r.items() if v is not None and k not in ("id", "kind"))
            for r in rows) or "no faults")
    return 0
