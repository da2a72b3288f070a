"""``accounts rules set|clear|status`` ([H] 7): an account's prop-firm rules and its guard's verdict.

Rules live in <data>/rules.json (app/guard_store.py), not in the vault; a running MT5 Desk re-reads
the file within seconds. ``set`` again re-arms an account the hard stop blocked. Percentages on the
command line are percents (``--daily-pct 5`` is 5 %). ``status`` works while no app runs: floors and
headroom come from the guard's stored anchors and the last known values, and the state is
``unguarded`` unless a running app has the account live.

JSON shapes (``--json``):
- set:    {"rules": {key, preset, initial, ..., armed_at}};  clear: {"cleared": key}
- status: {"running": bool, "accounts": [{key, preset, initial, hard_stop, reset_zone, reset_time,
          next_reset_utc, next_reset_local, daily_floor, total_floor, daily_headroom, daily_headroom_pct,
          total_headroom, total_headroom_pct, level, state ("ok"/"warning"/"breached"/"unguarded"),
          coverage, blocked, objectives, balance, equity, values_at}]}
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app import guard_store, last_values
from app.commands.accounts_cmd import _running_status
from multi_user import rules as rm
from multi_user.errors import BadInput
from multi_user.rule_presets import PRESETS
from multi_user.validation import parse_login, parse_server

PERCENTS = ("daily_pct", "total_pct", "warn_pct", "act_pct", "profit_target_pct", "profitable_day_pct",
            "best_day_max_share")


def add_rules_arguments(asub: Any) -> None:
    rules = asub.add_parser("rules", help="prop-firm rules and the equity guard: set, clear, status")
    rsub = rules.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    s = rsub.add_parser("set", help="guard an account with a preset or custom rules (again: re-arm it)")
    s.add_argument("--login", required=True)
    s.add_argument("--server", required=True)
    s.add_argument("--preset", required=True, help=f"one of {', '.join([*PRESETS, 'custom'])}")
    s.add_argument("--initial", required=True, type=float, help="the account's initial balance")
    s.add_argument("--warn-pct", type=float, help="warn at this percent of a limit used (default 80)")
    s.add_argument("--act-pct", type=float, help="the hard stop acts at this percent used (default 100)")
    s.add_argument("--hard-stop", action="store_true", help="on the acting level: close all and block")
    s.add_argument("--daily-pct", type=float, help="daily loss limit, percent (custom)")
    s.add_argument("--daily-ref", choices=rm.DAILY_REFS, help="the day's reference at the reset")
    s.add_argument("--daily-base", choices=rm.DAILY_BASES, help="the daily percent is of this")
    s.add_argument("--total-pct", type=float, help="maximum loss, percent of the initial balance")
    s.add_argument("--total-mode", choices=rm.TOTAL_MODES)
    s.add_argument("--total-lock", help="a trailing floor stops at this amount ('initial': the initial balance)")
    s.add_argument("--reset-zone", help="IANA zone (e.g. Europe/Prague) or 'server' (the broker's midnight)")
    s.add_argument("--reset-time", help="HH:MM in that zone (default 00:00)")
    s.add_argument("--profit-target-pct", type=float)
    s.add_argument("--min-trading-days", type=int)
    s.add_argument("--min-profitable-days", type=int)
    s.add_argument("--profitable-day-pct", type=float, help="a profitable day makes this percent of the initial")
    s.add_argument("--best-day-max-share", type=float, help="best day at most this percent of the total profit")
    s.add_argument("--json", action="store_true")
    c = rsub.add_parser("clear", help="stop guarding an account")
    c.add_argument("--login", required=True)
    c.add_argument("--server", required=True)
    c.add_argument("--json", action="store_true")
    st = rsub.add_parser("status", help="floors, headroom and state of each guarded account")
    st.add_argument("--json", action="store_true")


def run_rules(args: Any) -> int:
    data_dir: Path = args.data_dir
    if args.rules_command == "status":
        return _status(args, data_dir)
    key = f"{parse_login(args.login)}@{parse_server(args.server)}"
    stored = guard_store.load_rules(data_dir)
    if args.rules_command == "clear":
        if key not in stored:
            raise BadInput(f"{key} has no rules to clear (accounts rules status lists the guarded ones)",
                           field="login")
        del stored[key]
        guard_store.save_rules(data_dir, stored)
        _out(args, {"cleared": key}, f"{key} is no longer guarded.")
        return 0
    r = _rules_from(args)  # everything checked before anything is written
    shared = _linked(data_dir, key) == "shared"
    armed = time.time()
    stored[key] = {"rules": r.to_json(), "armed_at": armed}
    guard_store.save_rules(data_dir, stored)
    _out(args, {"rules": {"key": key, **r.to_json(), "armed_at": armed}},
         f"{key} guarded by {r.preset} (initial {r.initial:,.2f}"
         + (f", daily {r.daily_pct * 100:g}%" if r.daily_pct else "")
         + (f", total {r.total_pct * 100:g}% {r.total_mode}" if r.total_pct else "")
         + f", reset {r.reset_time} {r.reset_zone}" + (", hard stop armed" if r.hard_stop else "") + ")."
         + ("\nIt is on the shared terminal: its floors are checked only while it is live there. Give it its own "
            "terminal (dedicated) to keep it guarded all the time." if shared else ""))
    return 0


def _rules_from(args: Any) -> rm.Rules:
    over: dict[str, Any] = {}
    for name in ("daily_ref", "daily_base", "total_mode", "reset_zone", "reset_time", "min_trading_days",
                 "min_profitable_days", *PERCENTS):
        value = getattr(args, name, None)
        if value is not None:
            over[name] = value / 100.0 if name in PERCENTS else value
    if args.total_lock is not None:
        if args.total_lock.strip().lower() == "initial":
            over["total_lock"] = "initial"
        else:
            try:
                over["total_lock"] = float(args.total_lock)
            except ValueError:
                raise BadInput(f"--total-lock is an amount or 'initial', not {args.total_lock!r}",
                               field="total_lock") from None
    if args.hard_stop:
        over["hard_stop"] = True
    return rm.make_rules(args.preset, args.initial, **over)


def _linked(data_dir: Path, key: str) -> str:
    """The linked account's mode (shared/dedicated); BadInput when it is not linked."""
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        mode = next((a.mode for a in vault.list_accounts() if a.key == key), None)
        if mode is None:
            raise BadInput(f"{key} is not linked (accounts link first); nothing was stored", field="login")
        return str(mode)
    finally:
        vault.close()


def _out(args: Any, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload, default=str) if getattr(args, "json", False) else text)


def account_status(key: str, r: rm.Rules, rec: dict[str, Any] | None, values: dict[str, Any] | None,
                   live: bool, now: float) -> dict[str, Any]:
    """One guarded account's floors and headroom from the stored anchors and the last known values."""
    rec = rec or {}
    last = rec.get("last") or {}
    vals = values or {}
    if last.get("equity") is not None and float(last.get("ts") or 0) > float(vals.get("ts") or 0):
        vals = {"balance": last.get("balance"), "equity": last.get("equity"), "ts": last.get("ts")}
    balance, equity = vals.get("balance"), vals.get("equity")
    out: dict[str, Any] = {"key": key, "preset": r.preset, "initial": r.initial, "hard_stop": r.hard_stop,
                           "reset_zone": r.reset_zone, "reset_time": r.reset_time, "balance": balance,
                           "equity": equity, "values_at": vals.get("ts"), "blocked": False, "coverage": "never",
                           "objectives": {}}
    for f in ("daily_floor", "total_floor", "daily_headroom", "daily_headroom_pct", "total_headroom",
              "total_headroom_pct", "level"):
        out[f] = None
    offset = last.get("server_offset")
    nxt = rm.next_reset(r, now, offset)
    zone = UTC if r.reset_zone == "server" else ZoneInfo(r.reset_zone)
    out["next_reset_utc"] = datetime.fromtimestamp(nxt, UTC).isoformat()
    if r.reset_zone != "server":
        out["next_reset_local"] = datetime.fromtimestamp(nxt, zone).isoformat()
    elif offset is None:  # learned from the ticks while the account is live; until then UTC stands in
        out["next_reset_local"] = "server midnight (the server's offset is not known yet: UTC assumed)"
    else:
        out["next_reset_local"] = datetime.fromtimestamp(nxt + int(offset), UTC).strftime("%Y-%m-%dT%H:%M server time")
    state = None
    if rec.get("state"):
        try:
            state = rm.GuardState.from_json(rec["state"])
        except (TypeError, ValueError, KeyError):
            state = None
    if state is None and balance is not None and equity is not None:
        state = rm.initial_state(r, float(balance), float(equity), now, covered=False)
    if state is not None and equity is not None:
        v = rm.evaluate(r, state, float(equity), now, offset)
        out.update({k: val for k, val in v.to_json().items() if k not in ("next_reset", "act")})
        out["objectives"] = rm.objectives(r, state, float(balance if balance is not None else equity))
        out["blocked"] = state.blocked
        out["coverage"] = ("live" if state.covered else "late") if rec.get("state") else "never"
    out["state"] = (out["level"] or "ok") if live else "unguarded"
    return out


def _status(args: Any, data_dir: Path) -> int:
    stored = guard_store.load_rules(data_dir)
    guard = guard_store.load_guard(data_dir)
    values = last_values.load(data_dir)
    running = _running_status(data_dir)
    states = (running or {}).get("accounts") or {}
    now = time.time()
    rows, lines = [], []
    for key in sorted(stored):
        try:
            r = rm.Rules.from_json(stored[key]["rules"])
        except Exception as exc:
            lines.append(f"{key}: rules unusable ({exc})")
            continue
        live = (states.get(key) or {}).get("state") == "live"
        row = account_status(key, r, guard.get(key), values.get(key), live, now)
        rows.append(row)
        lines.append(_text(row))
    head = "" if running else "MT5 Desk is not running: nothing is guarded now; last known values:\n"
    _out(args, {"running": running is not None, "accounts": rows},
         head + ("\n".join(lines) if lines else "No account has rules (accounts rules set ...)."))
    return 0


def _money(v: Any) -> str:
    return "—" if v is None else f"{float(v):,.2f}"


def _pct(v: Any) -> str:
    return "" if v is None else f" ({float(v) * 100:.0f}%)"


def _text(row: dict[str, Any]) -> str:
    parts = [f"{row['key']:<32} {row['preset']:<24} {row['state']:<10}",
             f"  daily floor {_money(row['daily_floor'])}  room {_money(row['daily_headroom'])}"
             f"{_pct(row['daily_headroom_pct'])}",
             f"  total floor {_money(row['total_floor'])}  room {_money(row['total_headroom'])}"
             f"{_pct(row['total_headroom_pct'])}",
             f"  next reset {row['next_reset_utc'][:16].replace('T', ' ')} UTC"
             + (f" ({row['next_reset_local'][:16].replace('T', ' ')} {row['reset_zone']})"
                if row["reset_zone"] != "server" else f" ({row['next_reset_local']})")
             + f"  coverage {row['coverage']}" + ("  BLOCKED" if row["blocked"] else "")]
    for name, o in row["objectives"].items():
        parts.append(f"  {name}: {'met' if o.get('met') else 'not yet'} "
                     + ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in o.items() if k != "met"))
    return "\n".join(parts)
