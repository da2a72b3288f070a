"""``sim init|accounts|fault|trade|autotrade|deposit``: the simulator's broker world from the command line.

The demo accounts' passwords are simulator fixtures (printed on purpose), not the owner's secrets.
Faults live in the world DB, so every simulated terminal sees them at once.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from app.commands.sim_fault_cmd import add_fault_arguments, run_fault
from app.commands.sim_trade_cmd import add_trade_arguments, run_trade_command
from multi_user.errors import BadInput
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

    add_fault_arguments(sub)
    add_trade_arguments(sub)


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
    return run_fault(args, world)


def _out(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text)
