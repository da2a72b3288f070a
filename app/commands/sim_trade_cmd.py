"""``sim trade|autotrade|deposit``: act on a simulated account as its trader or its broker would.

``trade`` places or closes what a trader clicking in that account's terminal would (deal reason
CLIENT, magic 0); ``autotrade`` keeps one account trading by itself for demos; ``deposit`` books a
balance or credit operation. Each prints what it did, as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import time
from pathlib import Path
from typing import Any

from multi_user.errors import BadInput

AUTOTRADE_COMMENT = "autotrade"


def add_trade_arguments(sub: Any) -> None:
    t = sub.add_parser("trade", help="open, place or close a trade on an account, as its trader would")
    t.add_argument("--login", type=int)
    t.add_argument("--server")
    t.add_argument("--symbol")
    t.add_argument("--side", choices=("buy", "sell"))
    t.add_argument("--volume", type=float)
    t.add_argument("--sl", type=float, default=0.0, help="stop loss price")
    t.add_argument("--tp", type=float, default=0.0, help="take profit price")
    t.add_argument("--pending", type=float, metavar="PRICE", help="a limit or stop order at PRICE instead")
    t.add_argument("--close", type=int, metavar="TICKET", help="close this position (or cancel this order)")
    t.add_argument("--json", action="store_true")
    a = sub.add_parser("autotrade", help="keep an account trading by itself (demos)")
    a.add_argument("--login", type=int, required=True)
    a.add_argument("--server", required=True)
    a.add_argument("--every", type=float, required=True, metavar="SECONDS", help="one action every SECONDS")
    a.add_argument("--for", dest="duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    a.add_argument("--json", action="store_true")
    d = sub.add_parser("deposit", help="deposit (or, negative, withdraw) balance or credit")
    d.add_argument("--login", type=int, required=True)
    d.add_argument("--server", required=True)
    d.add_argument("--amount", type=float, required=True, help="negative: a withdrawal")
    d.add_argument("--credit", action="store_true", help="credit, not balance")
    d.add_argument("--at", metavar="ISO-TIME", help="backdate the operation (a test fixture)")
    d.add_argument("--json", action="store_true")


def _print(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if args.json else text, flush=True)


def _text(r: dict[str, Any]) -> str:
    if r["action"] in ("close", "cancel"):
        return f"{r['action']}d {r['ticket']} on {r['login']}@{r['server']} at {r['price']:g}"
    return (f"{r['action']} {r['volume']:g} {r['symbol']} on {r['login']}@{r['server']} at {r['price']:g}"
            f" (order {r['order']})")


def run_trade_command(args: argparse.Namespace, world: Path) -> int:
    from multi_user.mt5sim import manual

    try:
        if args.sim_command == "deposit":
            return _deposit(args, world)
        if args.sim_command == "autotrade":
            return _autotrade(args, world)
        if args.close is not None:
            r = manual.close(world, args.close)
        else:
            missing = [f"--{n}" for n in ("login", "server", "symbol", "side", "volume") if getattr(args, n) is None]
            if missing:
                raise BadInput(f"sim trade needs {', '.join(missing)} (or --close TICKET)", field=missing[0][2:])
            if args.volume <= 0:
                raise BadInput("--volume must be positive", field="volume")
            r = manual.trade(world, args.login, args.server, args.symbol, args.side, args.volume, sl=args.sl,
                             tp=args.tp, pending=args.pending)
    except manual.Refused as exc:
        raise BadInput(str(exc)) from None
    _print(args, r, _text(r))
    return 0


def _deposit(args: argparse.Namespace, world: Path) -> int:
    from multi_user.mt5sim import manual

    at = None
    if args.at is not None:
        try:
            at = dt.datetime.fromisoformat(args.at)
        except ValueError:
            raise BadInput(f"--at must be an ISO time like 2025-01-31T12:00:00Z, not {args.at!r}", field="at") from None
        if at.tzinfo is None:
            at = at.replace(tzinfo=dt.UTC)
    r = manual.deposit(world, args.login, args.server, args.amount, credit=args.credit, at=at)
    _print(args, r, f"{r['action']} of {abs(r['amount']):.2f} on {args.login}@{args.server}: balance "
                    f"{r['balance']:.2f}, credit {r['credit']:.2f}")
    return 0


def _autotrade(args: argparse.Namespace, world: Path) -> int:
    """Alternately opens small trades and closes the oldest, keeping at most three of its own open."""
    from multi_user.mt5sim import manual
    from multi_user.mt5sim import world as w
    from multi_user.mt5sim.prices import SYMBOLS

    if not 0 < args.every <= 86400 or (args.duration is not None and args.duration <= 0):
        raise BadInput("--every must be in (0, 86400] and --for positive", field="every")
    rng = random.Random(args.login)
    end = None if args.duration is None else time.monotonic() + args.duration
    while True:
        con = w.connect(world)
        try:
            mine = [r[0] for r in con.execute("SELECT ticket FROM positions WHERE login = ? AND server = ? AND"
                                              " comment = ? ORDER BY time_msc", (args.login, args.server,
                                                                                 AUTOTRADE_COMMENT))]
        finally:
            con.close()
        try:
            if mine and (len(mine) >= 3 or rng.random() < 0.4):
                r = manual.close(world, mine[0])
            else:
                symbol = rng.choice(sorted(SYMBOLS))
                spec = SYMBOLS[symbol]
                r = manual.trade(world, args.login, args.server, symbol, rng.choice(("buy", "sell")),
                                 round(spec.volume_min * rng.randint(1, 5), 2), comment=AUTOTRADE_COMMENT)
            _print(args, r, _text(r))
        except manual.Refused as exc:
            _print(args, {"action": "refused", "error": str(exc)}, f"refused: {exc}")
        if end is not None and time.monotonic() + args.every > end:
            return 0
        time.sleep(args.every)  # the pace of a demo, not a wait for a condition
