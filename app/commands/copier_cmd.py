"""``copier add|list|remove|pause|resume`` ([J] 5): the local trade copier's links.

Links live in <data>/copier.json (multi_user/copy_store.py); each change is an atomic read-modify-write
under the file's lock, as the app's own changes are, so the two writing at once never lose a change. A
running MT5 Desk (GUI or headless) re-reads the file within seconds, as it does rules.json, so these
commands work the same whether or not an app runs. Bad input changes nothing stored (exit 2).

JSON shapes (``--json``):
- add:    {"link": {master, follower, sizing, multiplier, volume, max_volume, symbol_map, symbols, reverse,
          copy_sltp, copy_pending, max_slippage, copy_open, paused, created_at, started, baseline}}
- list:   {"links": [link, ...]}
- remove: {"removed": {master, follower}};  pause/resume: {"link": link}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app import last_values
from multi_user.copy_model import SIZINGS, CopyLink, netting_refusal, parse_maps, parse_symbols
from multi_user.copy_store import add_link, check_accounts, find_link, load_links, update_links
from multi_user.errors import BadInput
from multi_user.validation import parse_login, parse_server


def add_copier_arguments(sub: Any) -> None:
    cp = sub.add_parser("copier", help="copy one account's trades to others: add, list, remove, pause, resume")
    csub = cp.add_subparsers(dest="copier_command", metavar="ACTION", required=True)
    add = csub.add_parser("add", help="make FOLLOWER copy MASTER's trades (both need their own terminal)")
    _pair(add, master_required=True)
    add.add_argument("--sizing", choices=SIZINGS, default="equity",
                     help="equity or balance ratio (default equity), a fixed volume, or a multiplier")
    add.add_argument("--multiplier", type=float, default=1.0, help="times the master's volume (also on a ratio)")
    add.add_argument("--volume", type=float, default=0.0, help="lots per trade with --sizing fixed")
    add.add_argument("--max-volume", type=float, default=0.0, help="never more lots than this per trade")
    add.add_argument("--map", action="append", metavar="SRC=DST", help="a master symbol's name on the follower")
    add.add_argument("--symbols", metavar="A,B", help="copy only these symbols (!A: all but A)")
    add.add_argument("--reverse", action="store_true", help="buy for sell, SL for TP")
    add.add_argument("--no-sltp", action="store_true", help="do not copy stop loss and take profit")
    add.add_argument("--no-pending", action="store_true", help="do not copy pending orders")
    add.add_argument("--max-slippage", type=int, default=0, metavar="POINTS",
                     help="skip a trade when the follower's price is further than this from the master's")
    add.add_argument("--copy-open", action="store_true", help="also copy the trades already open on the master")
    add.add_argument("--json", action="store_true")
    ls = csub.add_parser("list", help="the copy links")
    ls.add_argument("--json", action="store_true")
    for name, helptext in (("remove", "stop copying to FOLLOWER (its copies stay open)"),
                           ("pause", "stop copying to FOLLOWER for now"), ("resume", "copy to FOLLOWER again")):
        p = csub.add_parser(name, help=helptext)
        _pair(p, master_required=False)
        p.add_argument("--json", action="store_true")


def _pair(p: Any, *, master_required: bool) -> None:
    p.add_argument("--master", required=master_required, metavar="LOGIN@SERVER")
    p.add_argument("--follower", required=True, metavar="LOGIN@SERVER")


def _key(text: str | None, role: str) -> str | None:
    if text is None:
        return None
    login, sep, server = text.partition("@")
    if not sep:
        raise BadInput(f"--{role} must be LOGIN@SERVER, not {text!r}", field=role)
    return f"{parse_login(login)}@{parse_server(server)}"


def _accounts(data_dir: Path) -> list[dict[str, Any]]:
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        return [{"key": a.key, "mode": a.mode, "investor": bool(a.investor)} for a in vault.list_accounts()]
    finally:
        close = getattr(vault, "close", None)
        if close:
            close()


def _check_margin_modes(link: CopyLink, data_dir: Path) -> None:
    """Refuse a link the copier could never follow, from the accounts' margin modes as last seen live
    (<data>/last_values.json); an account never seen live yet is checked by the copier when it is."""
    seen = last_values.load(data_dir)
    why = netting_refusal((seen.get(link.master) or {}).get("margin_mode"),
                          (seen.get(link.follower) or {}).get("margin_mode"), link.follower)
    if why:
        raise BadInput(why, field="follower")


def describe(lk: CopyLink) -> str:
    size = {"equity": "equity ratio", "balance": "balance ratio", "fixed": f"fixed {lk.volume:g} lots",
            "multiplier": f"x{lk.multiplier:g}"}[lk.sizing]
    if lk.sizing in ("equity", "balance") and lk.multiplier != 1:
        size += f" x{lk.multiplier:g}"
    extras = [size]
    extras += [f"max {lk.max_volume:g} lots"] if lk.max_volume else []
    extras += ["reversed"] if lk.reverse else []
    extras += [f"map {', '.join(f'{a}={b}' for a, b in lk.symbol_map.items())}"] if lk.symbol_map else []
    extras += [f"symbols {','.join(lk.symbols)}"] if lk.symbols else []
    extras += ["no SL/TP"] if not lk.copy_sltp else []
    extras += ["no pending"] if not lk.copy_pending else []
    extras += [f"max slippage {lk.max_slippage} points"] if lk.max_slippage else []
    extras += ["also open trades"] if lk.copy_open else []
    return f"{lk.master} -> {lk.follower}{' (paused)' if lk.paused else ''}: {'; '.join(extras)}"


def _out(args: Any, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if getattr(args, "json", False) else text, flush=True)


def run_copier(args: Any) -> int:
    data_dir: Path = args.data_dir
    cmd = args.copier_command
    links = load_links(data_dir)
    if cmd == "list":
        _out(args, {"links": [lk.to_json() for lk in links]},
             "\n".join(describe(lk) for lk in links) or "No copy links (copier add makes one).")
        return 0
    master, follower = _key(args.master, "master"), _key(args.follower, "follower")
    assert follower is not None
    if cmd == "add":
        assert master is not None
        link = CopyLink(master, follower, sizing=args.sizing, multiplier=args.multiplier, volume=args.volume,
                        max_volume=args.max_volume, symbol_map=parse_maps(args.map),
                        symbols=parse_symbols(args.symbols), reverse=args.reverse, copy_sltp=not args.no_sltp,
                        copy_pending=not args.no_pending, max_slippage=args.max_slippage, copy_open=args.copy_open)
        add_link(links, link)  # checks the link and the other links before the vault is opened
        check_accounts(link, _accounts(data_dir))
        _check_margin_modes(link, data_dir)
        update_links(data_dir, lambda now: add_link(now, link))  # against the links as stored at this moment
        _out(args, {"link": link.to_json()}, f"Copying {describe(link)}\n(a running MT5 Desk starts within seconds; "
                                             "trades already open on the master are "
                                             f"{'copied too' if link.copy_open else 'left alone'})")
        return 0
    found: list[CopyLink] = []

    def change(now: list[CopyLink]) -> list[CopyLink]:
        link = find_link(now, master, follower)
        found.append(link)
        if cmd == "remove":
            return [lk for lk in now if lk is not link]
        link.paused = cmd == "pause"
        return now

    update_links(data_dir, change)
    link = found[0]
    if cmd == "remove":
        _out(args, {"removed": {"master": link.master, "follower": link.follower}},
             f"{link.follower} no longer copies {link.master}; the copies it has stay open.")
        return 0
    _out(args, {"link": link.to_json()}, describe(link))
    return 0
