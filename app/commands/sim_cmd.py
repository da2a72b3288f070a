"""``sim init|accounts|fault|trade|autotrade|deposit``: the simulator's broker world from the command line.

The demo accounts' passwords are simulator fixtures (printed on purpose), not the owner's secrets.
Faults live in the world DB, so every simulated terminal sees them at once.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.commands.sim_trade_cmd import add_trade_arguments, run_trade_command
from multi_user.errors import BadInput, TerminalError
from multi_user.paths import sim_world_dir
from multi_user.servertime import format_offset


def add_sim_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="sim_command", metavar="ACTION", required=True)
    init = sub.add_parser("init", help="create the demo world (8+ accounts on 3 servers) if it is missing")
    init.add_argument("--seed", type=int, help="seed of the demo world's accounts and prices")
    init.add_argument("--reset", action="store_true", help="stop its terminals and make the world afresh")
    init.add_argument("--history-days", type=int, default=90, metavar="N",
                      help="days of past trading, deposits and withdrawals on every account (default 90)")
    init.add_argument("--json", action="store_true")
    acc = sub.add_parser("accounts", help="the demo accounts with their master and investor passwords")
    acc.add_argument("--json", action="store_true")

    fault = sub.add_parser("fault", help="inject a fault every simulated terminal sees")
    fsub = fault.add_subparsers(dest="fault", metavar="FAULT", required=True)
    a = fsub.add_parser("auth", help="logins fail with (-6, 'Terminal: Authorization failed')")
    a.add_argument("--login", help="only this login (default: every account)")
    a.add_argument("--server", help="only this server")
    s = fsub.add_parser("slow-login", help="logins take SECONDS")
    s.add_argument("--seconds", type=float, required=True)
    t = fsub.add_parser("ipc-timeout", help="a terminal stops answering: its clients get (-10005, 'IPC timeout')")
    t.add_argument("--terminal", required=True, metavar="PATH", help="terminal64.exe or its folder")
    t.add_argument("--seconds", type=float, default=90.0, help="how long it hangs (default 90)")
    d = fsub.add_parser("disconnect", help="the broker drops: terminal_info().connected is false, prices freeze")
    d.add_argument("--server", help="only this server (default: every server)")
    k = fsub.add_parser("shock", help="move a symbol's price by PERCENT from now on")
    k.add_argument("--symbol", required=True)
    k.add_argument("--percent", type=float, required=True)
    g = fsub.add_parser("algo-off", help="switch off a terminal's Algo Trading: order_send gets retcode 10027")
    g.add_argument("--terminal", required=True, metavar="PATH", help="terminal64.exe or its folder")
    c = fsub.add_parser("crash", help="kill a terminal process")
    c.add_argument("--terminal", required=True, metavar="PATH", help="terminal64.exe or its folder")
    fsub.add_parser("clear", help="remove every fault")
    fsub.add_parser("list", help="the active faults")
    add_trade_arguments(sub)
    for p in (a, s, t, d, k, g, c, *fsub.choices.values()):
        if not any(act.dest == "json" for act in p._actions):
            p.add_argument("--json", action="store_true")


def run_sim(args: argparse.Namespace) -> int:
    from multi_user.mt5sim import control

    world = sim_world_dir(Path(args.data_dir))
    if args.sim_command == "init":
        if not 0 <= args.history_days <= 3650:
            raise BadInput("--history-days must be between 0 and 3650", field="history_days")
        kwargs: dict[str, Any] = {"reset": args.reset, "history_days": args.history_days}
        if args.seed is not None:
            kwargs["seed"] = args.seed
        created = control.init_world(world, **kwargs)
        accounts = control.demo_accounts(world)
        servers = sorted({a["server"] for a in accounts})
        _out(args, {"world": str(world), "created": created, "accounts": len(accounts), "servers": servers,
                    "terminal": str(control.base_install(world))},
             f"{'created' if created else 'kept the existing'} simulator world at {world}: "
             f"{len(accounts)} accounts on {len(servers)} servers")
        return 0
    control.ensure_world(world)
    if args.sim_command in ("trade", "autotrade", "deposit"):
        return run_trade_command(args, world)
    if args.sim_command == "accounts":
        accounts = control.demo_accounts(world)
        if args.json:
            print(json.dumps(accounts, indent=2))
        else:
            print(f"{'login':>10}  {'server':<18} {'cur':<4} {'balance':>11} {'lev':>5}  {'mode':<7} {'clock':<6}"
                  f" password    investor")
            for a in accounts:
                mode = "netting" if a["margin_mode"] == 0 else "hedging"
                print(f"{a['login']:>10}  {a['server']:<18} {a['currency']:<4} {a['balance']:>11.2f} "
                      f"{'1:' + str(a['leverage']):>5}  {mode:<7} {format_offset(a['server_offset']):<6} "
                      f"{a['password']:<11} {a['investor_password']}")
        return 0
    return _fault(args, world)


def _out(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)


def _known_server(world: Path, server: str | None) -> str | None:
    from multi_user.mt5sim import control

    if server is not None and server not in {a["server"] for a in control.demo_accounts(world)}:
        raise BadInput(f"no server {server!r} in the simulator world", field="server")
    return server


def _terminal_folder(path: str) -> Path:
    p = Path(path).expanduser().resolve()
    folder = p.parent if p.suffix.lower() == ".exe" else p
    if not (folder / "terminal64.exe").exists():
        raise BadInput(f"no simulated terminal at {path}", field="terminal")
    return folder


def _fault(args: argparse.Namespace, world: Path) -> int:
    from multi_user.mt5sim import control

    kind = args.fault
    if kind == "auth":
        login = None
        if args.login is not None:
            if not str(args.login).isdigit():
                raise BadInput(f"login must be a number, not {args.login!r}", field="login")
            login = int(args.login)
        server = _known_server(world, args.server)
        control.add_auth_failure(world, login, server)
        _out(args, {"fault": kind, "login": login, "server": server},
             f"logins to {login or 'every account'} on {server or 'every server'} now fail")
    elif kind == "slow-login":
        if not 0 < args.seconds <= 3600:
            raise BadInput("--seconds must be between 0 and 3600", field="seconds")
        control.add_slow_login(world, args.seconds)
        _out(args, {"fault": kind, "seconds": args.seconds}, f"logins now take {args.seconds:g} s")
    elif kind == "ipc-timeout":
        if not 0 < args.seconds <= 86400:
            raise BadInput("--seconds must be between 0 and 86400", field="seconds")
        folder = _terminal_folder(args.terminal)
        control.add_ipc_timeout(world, folder, args.seconds)
        _out(args, {"fault": kind, "terminal": str(folder), "seconds": args.seconds},
             f"the terminal in {folder} stops answering for {args.seconds:g} s")
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
    elif kind == "algo-off":
        folder = _terminal_folder(args.terminal)
        control.add_algo_off(world, folder)
        _out(args, {"fault": kind, "terminal": str(folder)}, f"Algo Trading is off in the terminal in {folder}")
    elif kind == "crash":
        folder = _terminal_folder(args.terminal)
        pid = control.crash_terminal(folder)
        if pid is None:
            raise TerminalError(f"no simulated terminal is running in {folder}")
        _out(args, {"fault": kind, "terminal": str(folder), "pid": pid}, f"killed the terminal {pid} in {folder}")
    elif kind == "clear":
        n = control.clear_faults(world)
        _out(args, {"fault": kind, "cleared": n}, f"cleared {n} fault(s)")
    else:
        rows = control.active_faults(world)
        print(json.dumps(rows) if args.json else "\n".join(
            f"{r['kind']}: " + ", ".join(f"{k}={v}" for k, v in r.items() if v is not None and k not in ("id", "kind"))
            for r in rows) or "no faults")
    return 0
