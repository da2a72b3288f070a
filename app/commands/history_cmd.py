"""``accounts history|trades|stats|report`` ([E] 5): exports from the local stores.

They read <data>/deals.sqlite3 (deals and history orders) and <data>/history.sqlite3 (equity), so they
work while the GUI runs (SQLite WAL: readers never block its writer) and while no terminal runs. The
deals are as fresh as the last fetch (the app fetches a live account's deals every few minutes).

- history --csv FILE: ``time_utc,balance,equity,equity_low,equity_high``; before the first snapshot the
  balance curve is rebuilt from the deals (equity = low = high = balance there);
- trades --csv FILE: one row per closed position (columns in TRADE_COLUMNS; fees, rare, are in
  ``commission``);
- stats [--json]: ``{"accounts": [...], "portfolio": [...]}`` (docs/STATISTICS.md);
- report --html FILE: a statement laid out like the terminal's history report, self-contained.
Dates: ``YYYY-MM-DD`` (a --to date includes that whole day) or ISO 8601 times; UTC unless they say
otherwise. Bad input exits 2 and writes nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from app.account_history import AccountHistory, iso
from multi_user import stats
from multi_user.errors import BadInput
from multi_user.validation import parse_login, parse_server

COMMANDS = ("history", "trades", "stats", "report")
HISTORY_COLUMNS = ("time_utc", "balance", "equity", "equity_low", "equity_high")
TRADE_COLUMNS = ("position", "symbol", "type", "volume", "open_time_utc", "close_time_utc", "open_price",
                 "close_price", "sl", "tp", "commission", "swap", "profit", "magic", "comment")


def add_history_arguments(asub: Any) -> None:
    """The four commands on ``accounts``'s sub-parser."""
    for name, helptext, needs in (
            ("history", "equity/balance points to CSV", "csv"), ("trades", "closed positions to CSV", "csv"),
            ("stats", "statistics (docs/STATISTICS.md)", None), ("report", "an HTML statement", "html")):
        p = asub.add_parser(name, help=helptext)
        p.add_argument("--login", required=name != "stats")
        p.add_argument("--server", required=name != "stats")
        p.add_argument("--from", dest="date_from", metavar="DATE", help="UTC date or ISO time (default: all)")
        p.add_argument("--to", dest="date_to", metavar="DATE", help="UTC date (whole day) or ISO time")
        if needs == "csv":
            p.add_argument("--csv", required=True, metavar="FILE", help="where to write ('-': stdout)")
        elif needs == "html":
            p.add_argument("--html", required=True, metavar="FILE")
        else:
            p.add_argument("--json", action="store_true")
            p.add_argument("--refresh", action="store_true",
                           help="fetch new deals through the terminal first (only while no MT5 Desk runs here)")


def parse_date(text: str | None, *, end: bool = False) -> float | None:
    """UTC epoch seconds of a date (an end date: the end of that day) or an ISO time (naive = UTC)."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
            return (day + timedelta(days=1)).timestamp() - 0.001 if end else day.timestamp()
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadInput(f"not a date: {text!r} (use YYYY-MM-DD or an ISO time such as 2026-01-05T14:00:00Z)",
                       field="date") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _key(args: Any) -> str:
    return f"{parse_login(args.login)}@{parse_server(args.server)}"


def _known(stores: AccountHistory, key: str) -> None:
    if key not in stores.accounts():
        raise BadInput(f"No history for {key} in {stores.data_dir}: its deals are fetched while the account is "
                       "live in MT5 Desk", field="login")


def _write(target: str, text: str) -> None:
    if target == "-":
        print(text, end="")
        return
    path = Path(target)
    if path.parent and not path.parent.exists():
        raise BadInput(f"No such folder: {path.parent}", field="file")
    tmp = path.with_name(path.name + ".partial")
    with open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _csv(header: tuple[str, ...], rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _num(x: float, places: int = 2) -> str:
    return f"{x:.{places}f}"


def history_csv(stores: AccountHistory, key: str, start: float | None, end: float | None) -> str:
    pts = stores.points(key, start, end, max_points=200_000)
    return _csv(HISTORY_COLUMNS, [[iso(t), _num(b), _num(e), _num(lo), _num(hi)] for t, b, e, lo, hi in pts])


def trades_csv(stores: AccountHistory, key: str, start: float | None, end: float | None) -> str:
    trades = stats.closed_trades(stores.deals.deals(key), stores.deals.orders(key), start, end)
    return _csv(TRADE_COLUMNS, [
        [t.position, t.symbol, t.type, f"{t.volume:g}", iso(t.open_time), iso(t.close_time), f"{t.open_price:.6g}",
         f"{t.close_price:.6g}", f"{t.sl:.6g}", f"{t.tp:.6g}", _num(t.commission + t.fee), _num(t.swap),
         _num(t.profit), t.magic, t.comment] for t in trades])


def _stats_text(payload: dict[str, Any]) -> str:
    lines = []
    for a in payload["accounts"]:
        def f(v: Any, unit: str = "") -> str:
            return "—" if v is None else f"{v:.2f}{unit}"
        lines.append(f"{a['login']}@{a['server']} ({a['currency']}): gain {f(a['gain_pct'], ' %')}, net profit "
                     f"{f(a['net_profit'])}, max drawdown {f(a['max_drawdown_pct'], ' %')}, {a['trades']} trades, "
                     f"win rate {f(a['win_rate_pct'], ' %')}, profit factor {f(a['profit_factor'])}")
    for p in payload["portfolio"]:
        lines.append(f"portfolio {p['currency']}: {p['accounts']} account(s), net profit {p['net_profit']:.2f}, "
                     f"deposits {p['deposits']:.2f}, withdrawals {p['withdrawals']:.2f}, {p['trades']} trades")
    return "\n".join(lines) if lines else "No history stored yet."


def run_history(args: Any) -> int:
    data_dir: Path = args.data_dir
    cmd = args.accounts_command
    start, end = parse_date(args.date_from), parse_date(args.date_to, end=True)
    if start is not None and end is not None and start > end:
        raise BadInput("--from is after --to", field="date")
    if cmd == "stats" and (args.login is None) != (args.server is None):
        raise BadInput("give both --login and --server, or neither (all accounts)", field="login")
    key = _key(args) if args.login is not None else None
    if cmd == "stats" and args.refresh:
        from app.commands.history_refresh import refresh_deals

        refresh_deals(args, data_dir, [key] if key else None)
    stores = AccountHistory(data_dir)
    if key is not None:
        _known(stores, key)
    if cmd == "history":
        _write(args.csv, history_csv(stores, key, start, end))
    elif cmd == "trades":
        _write(args.csv, trades_csv(stores, key, start, end))
    elif cmd == "stats":
        payload = stores.stats_payload([key] if key else stores.accounts(), start, end)
        print(json.dumps(payload) if args.json else _stats_text(payload))
    elif cmd == "report":
        from app.commands.report_html import render_report

        all_deals = stores.deals.deals(key)
        _write(args.html, render_report(
            stores.stats(key, start, end), [d for d in all_deals if stats.in_range(d["time"], start, end)],
            stores.deals.orders(key, start, end), stats.closed_trades(all_deals, stores.deals.orders(key), start, end),
            start, end, opening_balance=stats.balance_before(all_deals, start) if start is not None else 0.0))
    return 0
