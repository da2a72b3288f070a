"""``bots list [--json]`` ([I] 2): the bots there are (the examples, <data>/bots/*.py, installed entry
points in group ``mt5_desk.bots``) and their parameters.

JSON shape: {"bots": [{name, source, description, interval, timeframe, bars (it has on_bar), symbols,
params: {NAME: {type, default, min, max, choices, help}}} | {name, source, error, params: {}}]}

Loading a bot runs its module: this command does it in its own process, never in the window's.
"""

from __future__ import annotations

import json
from typing import Any

from multi_user.errors import EXIT_OK


def add_bots_arguments(sub: Any) -> None:
    bots = sub.add_parser("bots", help="the bots that can run per account, and their parameters")
    bsub = bots.add_subparsers(dest="bots_command", metavar="ACTION", required=True)
    ls = bsub.add_parser("list", help="available bots and their parameters")
    ls.add_argument("--json", action="store_true", help="one JSON object on stdout")


def _param_line(name: str, p: dict[str, Any]) -> str:
    bounds = []
    if p.get("choices"):
        bounds.append("one of " + ", ".join(map(str, p["choices"])))
    if p.get("min") is not None:
        bounds.append(f">= {p['min']}")
    if p.get("max") is not None:
        bounds.append(f"<= {p['max']}")
    extra = f" ({'; '.join(bounds)})" if bounds else ""
    return f"    {name}: {p['type']} = {p['default']!r}{extra}" + (f"  {p['help']}" if p.get("help") else "")


def run_bots(args: Any) -> int:
    from multi_user.bots.loader import available

    bots = available(args.data_dir)
    if args.json:
        print(json.dumps({"bots": bots}, indent=1, default=str))
        return EXIT_OK
    for b in bots:
        if b.get("error"):
            print(f"{b['name']}  [{b['source']}]  cannot be loaded: {b['error']}")
            continue
        calls = [f"every {b['interval']} s"] if b.get("interval") else []
        calls += [f"each new {b['timeframe']} bar"] if b.get("bars") else []
        print(f"{b['name']}  [{b['source']}]  {b['description']}" + (f" ({', '.join(calls)})" if calls else ""))
        for name, p in b["params"].items():
            print(_param_line(name, p))
    return EXIT_OK
