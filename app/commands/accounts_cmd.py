"""``accounts list|status|link|unlink|rotate``.

JSON shapes (``--json``):
- list:   {"accounts": [{key, login, server, label, investor, mode, terminal, order, created_at, updated_at}]}
- status: {"running": bool, "holder": key|null, "queue": [key], "accounts": [{key, login, server, label, mode,
           investor, state, balance, equity, currency, snapshot_at}]}
- link:   {"linked": {account}, "verified": bool, "balance": float|null, "equity": float|null, "currency": str|null}
          (while an app runs, link and unlink go through it: app/control.py; same output and exit codes)
- unlink: {"unlinked": key};  rotate: {"rotated": n}
"""

from __future__ import annotations

import getpass
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from app.instance import DataDirBusy, DataDirOwner, acquire, busy_message, current_owner
from app.text import age
from multi_user.errors import BadInput, TerminalError
from multi_user.validation import check_password, parse_login, parse_server


def _out(args: Any, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload, default=str) if getattr(args, "json", False) else text)


def _account_json(a: Any) -> dict[str, Any]:
    return {"key": a.key, "login": a.login, "server": a.server, "label": a.label, "investor": a.investor,
            "mode": a.mode, "terminal": a.terminal_path, "order": a.order, "created_at": a.created_at,
            "updated_at": a.updated_at}


def read_password(prompt: str = "Password: ") -> str:
    """First line of stdin when it is not a terminal, else a hidden prompt. Never an argument."""
    if sys.stdin is None:
        raise BadInput("No password given: pipe it on stdin or run in a terminal", field="password")
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def _running_status(data_dir: Path) -> dict[str, Any] | None:
    """status.json written by a running MT5 Desk, if its process is alive."""
    try:
        status = json.loads((data_dir / "status.json").read_text(encoding="utf-8"))
        pid = int(status["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except (PermissionError, OSError):
        pass
    return status


def _own_for(data_dir: Path, cmd: str, drives_terminal: bool) -> DataDirOwner | None:
    """Link and unlink change what a running app works with, so while one owns the data dir they go
    through it (DataDirBusy here; app/commands/accounts_via_app.py), or refuse if it cannot be reached;
    a verifying link also drives a terminal, so it owns the data dir itself meanwhile."""
    try:
        if drives_terminal:
            return acquire(data_dir, "cli", f"accounts {cmd}")
        owner = current_owner(data_dir)
        if owner is not None and owner.kind != "cli":
            raise DataDirBusy(busy_message(owner), owner)
    except DataDirBusy as exc:
        then = ("try again when it has finished" if exc.owner.kind == "cli"
                else f"{cmd} the account in the running app, or quit it and run this again")
        raise DataDirBusy(f"{exc}: {then}. Nothing was changed.", exc.owner) from None
    return None


def run_accounts(args: Any) -> int:
    from multi_user.vault import Vault

    data_dir: Path = args.data_dir
    cmd = args.accounts_command
    # validate what was typed before touching anything
    login, server, owner = 0, "", None
    if cmd in ("link", "unlink"):
        login, server = parse_login(args.login), parse_server(args.server)
        try:
            owner = _own_for(data_dir, cmd, drives_terminal=cmd == "link" and not args.no_verify)
        except DataDirBusy as busy:
            if busy.owner.kind == "cli":
                raise
            from app.commands.accounts_via_app import through_app

            return through_app(args, cmd, login, server, busy)  # [R] 5: the running app does it
    try:
        return _run(args, Vault.open(data_dir), cmd, data_dir, login, server)
    finally:
        if owner is not None:
            owner.release()


def _run(args: Any, vault: Any, cmd: str, data_dir: Path, login: int, server: str) -> int:
    try:
        if cmd == "list":
            accounts = vault.list_accounts()
            rows = [f"{a.key:<36} {a.label or '':<24} {a.mode:<9} {'investor' if a.investor else ''}"
                    for a in accounts]
            _out(args, {"accounts": [_account_json(a) for a in accounts]},
                 "\n".join(rows) if rows else "No accounts linked yet (accounts link --login N --server S).")
        elif cmd == "status":
            return _status(args, vault, data_dir)
        elif cmd == "link":
            return _link(args, vault, login, server)
        elif cmd == "unlink":
            vault.unlink(login, server)
            _out(args, {"unlinked": f"{login}@{server}"}, f"Unlinked {login}@{server}; its password was deleted.")
        elif cmd == "rotate":
            n = vault.rotate()
            _out(args, {"rotated": n}, f"Re-encrypted {n} password(s) with the current key.")
        return 0
    finally:
        vault.close()


def _status(args: Any, vault: Any, data_dir: Path) -> int:
    running = _running_status(data_dir)
    states = (running or {}).get("accounts") or {}
    rows, out = [], []
    for a in vault.list_accounts():
        live = states.get(a.key) or {}
        balance = live.get("balance") if live.get("balance") is not None else a.last_balance
        equity = live.get("equity") if live.get("equity") is not None else a.last_equity
        currency = live.get("currency") or a.last_currency
        at = live.get("ts") or a.last_snapshot_at
        state = live.get("state") or ("not running" if running is None else "idle")
        out.append({"key": a.key, "login": a.login, "server": a.server, "label": a.label, "mode": a.mode,
                    "investor": a.investor, "state": state, "balance": balance, "equity": equity,
                    "currency": currency, "snapshot_at": at})
        money = f"{equity:>12.2f} {currency or ''}" if equity is not None else f"{'—':>12}"
        since = f"{age(time.time() - at, compact=False)} ago" if at else "never"
        rows.append(f"{a.key:<36} {state:<12} equity {money}  (as of {since})")
    holder = (running or {}).get("holder")
    head = (f"Shared terminal: {holder or 'free'}" if running else "MT5 Desk is not running; last known values:")
    _out(args, {"running": running is not None, "holder": holder, "queue": (running or {}).get("queue") or [],
                "accounts": out}, "\n".join([head, *rows]) if rows else head + "\nNo accounts linked yet.")
    return 0


def _link(args: Any, vault: Any, login: int, server: str) -> int:
    password = check_password(read_password(f"Password for {login} on {server}: "))
    # a flag given sets it; one left out keeps what an already linked account has (re-linking to change
    # the password must not reset its mode, investor flag or terminal)
    mode = "dedicated" if args.dedicated else None
    snapshot: dict[str, Any] | None = None
    if not args.no_verify:
        snapshot = _verify(args, login, server, password)
    account = vault.link(login, server, password, label=args.label, investor=True if args.investor else None,
                         mode=mode, terminal_path=args.terminal)
    del password
    if snapshot:
        vault.record_snapshot(login, server, balance=snapshot["balance"], equity=snapshot["equity"],
                              currency=snapshot["currency"], ts=time.time())
    report_link(args, _account_json(account), snapshot)
    return 0


def report_link(args: Any, account: dict[str, Any], snapshot: dict[str, Any] | None) -> None:
    """What `accounts link` prints, whether it linked itself or through the running app."""
    payload = {"linked": account, "verified": snapshot is not None,
               "balance": (snapshot or {}).get("balance"), "equity": (snapshot or {}).get("equity"),
               "currency": (snapshot or {}).get("currency")}
    key, mode = account["key"], account["mode"]
    if snapshot:
        text = (f"Linked {key} ({mode}); verified on the terminal: balance {snapshot['balance']:.2f} "
                f"{snapshot['currency']}, equity {snapshot['equity']:.2f}.")
    else:
        text = f"Linked {key} ({mode}) WITHOUT checking it on a terminal (--no-verify)."
    _out(args, payload, text)


def _verify(args: Any, login: int, server: str, password: str) -> dict[str, Any]:
    """Log in once through UserMT5Bridge; raises (and nothing is stored) if that fails."""
    from multi_user.backend import load_backend
    from multi_user.bridge import UserMT5Bridge
    from multi_user.terminals import default_shared_terminal, resolve_backend_name, terminal_exe

    backend = resolve_backend_name(args.backend)
    if args.terminal:
        exe = terminal_exe(args.terminal)
        if not exe.exists():
            raise BadInput(f"No terminal64.exe at {args.terminal}", field="terminal")
    else:
        exe = default_shared_terminal(backend, args.data_dir)
    mt5 = load_backend(backend, args.data_dir)
    bridge = UserMT5Bridge(mt5, str(exe) if exe else None, timeout_ms=60000)
    try:
        bridge.switch(login, password, server, check_password=True)  # [R] 4: always ask the broker
        snap = bridge.snapshot()
    except TerminalError:
        raise
    finally:
        bridge.shutdown()
    return snap
