"""An account statement as one self-contained HTML page ([E] 5), laid out like the terminal's own history
report: header, positions, orders, deals, summary and results. No script, no external file: it opens
offline in any browser and prints as is. Times are UTC (labelled). Pure: data in, text out."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

from multi_user import stats

DEAL_TYPES = {0: "buy", 1: "sell", 2: "balance", 3: "credit", 4: "charge", 5: "correction", 6: "bonus",
              7: "commission", 8: "daily commission", 9: "monthly commission", 12: "interest"}
ENTRIES = {0: "in", 1: "out", 2: "in/out", 3: "out by"}
ORDER_TYPES = {0: "buy", 1: "sell", 2: "buy limit", 3: "sell limit", 4: "buy stop", 5: "sell stop",
               6: "buy stop limit", 7: "sell stop limit", 8: "close by"}
ORDER_STATES = {0: "started", 1: "placed", 2: "canceled", 3: "partial", 4: "filled", 5: "rejected", 6: "expired"}

STYLE = """
body{font:13px/1.35 Tahoma,Arial,sans-serif;color:#111;margin:24px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:22px 0 6px;padding:4px 6px;background:#e8edf3}
table{border-collapse:collapse;width:100%} th,td{padding:3px 6px;border-bottom:1px solid #ddd;white-space:nowrap}
th{background:#f4f6f8;text-align:left} td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.loss td.p{color:#b00} tr.win td.p{color:#070} .head td{border:none;padding:1px 12px 1px 0}
.results td{border:none} .results td.k{color:#555}
"""


def _t(ts: float | None) -> str:
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y.%m.%d %H:%M:%S") if ts else ""


def _m(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}".replace(",", " ")


def _p(x: float | None) -> str:
    return "" if not x else f"{x:.5g}"


def _row(cells: list[tuple[str, bool]], cls: str = "") -> str:
    tds = "".join(f'<td class="n">{escape(v)}</td>' if num else f"<td>{escape(v)}</td>" for v, num in cells)
    return f'<tr class="{cls}">{tds}</tr>' if cls else f"<tr>{tds}</tr>"


def _table(header: list[str], rows: list[str], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "\n".join(rows) if rows else f'<tr><td colspan="{len(header)}">none</td></tr>'
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def render_report(account: dict[str, Any], deals: list[dict[str, Any]], orders: list[dict[str, Any]],
                  trades: list[stats.Trade], start: float | None, end: float | None, *,
                  opening_balance: float = 0.0, generated: float | None = None) -> str:
    """``deals`` and ``orders``: those of the range; ``trades``: positions closed in it; ``account``: the
    statistics object of ``accounts stats`` for the range."""
    cur = str(account.get("currency") or "")
    who = f"{account['login']} on {account['server']}"
    period = f"{_t(start) or 'the first deal'} – {_t(end) or 'now'} (UTC)"
    gen = _t(generated or datetime.now(UTC).timestamp())

    position_rows = [_row([(_t(t.open_time), False), (str(t.position), True), (t.symbol, False), (t.type, False),
                           (f"{t.volume:g}", True), (_p(t.open_price), True), (_p(t.sl), True), (_p(t.tp), True),
                           (_t(t.close_time), False), (_p(t.close_price), True), (_m(t.commission + t.fee), True),
                           (_m(t.swap), True), (_m(t.profit), True), (_m(t.result), True)],
                          "win" if t.result > 0 else "loss" if t.result < 0 else "")
                     for t in trades]
    order_rows = [_row([(_t(o.get("time_setup")), False), (str(o.get("ticket")), True),
                        (str(o.get("symbol") or ""), False),
                        (ORDER_TYPES.get(int(o.get("type") or 0), str(o.get("type"))), False),
                        (f"{float(o.get('volume_initial') or 0):g}", True), (_p(o.get("price_open")), True),
                        (_p(o.get("sl")), True), (_p(o.get("tp")), True), (_t(o.get("time_done")), False),
                        (ORDER_STATES.get(int(o.get("state") or 0), str(o.get("state"))), False),
                        (str(o.get("comment") or ""), False)])
                  for o in orders]
    balance, deal_rows = opening_balance, []
    for d in deals:
        if int(d.get("type", -1)) != stats.DEAL_CREDIT:
            balance += stats.money(d)
        deal_rows.append(_row([
            (_t(d["time"]), False), (str(d["ticket"]), True), (str(d.get("symbol") or ""), False),
            (DEAL_TYPES.get(int(d.get("type") or 0), str(d.get("type"))), False),
            (ENTRIES.get(int(d.get("entry") or 0), "") if not stats.is_flow(d) else "", False),
            (f"{float(d.get('volume') or 0):g}" if not stats.is_flow(d) else "", True),
            (_p(d.get("price")) if not stats.is_flow(d) else "", True), (str(d.get("order") or ""), True),
            (_m(d.get("commission")), True), (_m(d.get("fee")), True), (_m(d.get("swap")), True),
            (_m(d.get("profit")), True), (_m(balance), True), (str(d.get("comment") or ""), False)]))

    wins = [t for t in trades if t.result > 0]
    losses = [t for t in trades if t.result < 0]
    longs, shorts = [t for t in trades if t.type == "buy"], [t for t in trades if t.type == "sell"]

    def share(part: list[Any], whole: list[Any]) -> str:
        return f"{len(part)} ({len(part) / len(whole) * 100:.2f} %)" if whole else "0"

    def won(side: list[stats.Trade]) -> str:  # as the terminal: all of that side, and the share won
        return f"{len(side)} ({sum(t.result > 0 for t in side) / len(side) * 100:.2f} %)" if side else "0"

    def streak(sign: int) -> int:
        best = run = 0
        for t in trades:
            run = run + 1 if (t.result > 0 if sign > 0 else t.result < 0) else 0
            best = max(best, run)
        return best

    a = account
    best, worst = a.get("best_day") or {}, a.get("worst_day") or {}
    results = [
        ("Total net profit", _m(a.get("net_profit"))), ("Gross profit", _m(sum(t.result for t in wins))),
        ("Gross loss", _m(sum(t.result for t in losses))), ("Profit factor", _m(a.get("profit_factor"))),
        ("Expected payoff", _m(a.get("expectancy"))), ("Sharpe ratio (daily)", _m(a.get("sharpe"))),
        ("Gain (time-weighted)", f"{_m(a.get('gain_pct'))} %"),
        ("Absolute gain", f"{_m(a.get('absolute_gain_pct'))} %"),
        ("Maximal drawdown (equity)", f"{_m(a.get('max_drawdown'))} ({_m(a.get('max_drawdown_pct'))} %)"),
        ("Total trades", str(len(trades))),
        ("Short trades (won %)", won(shorts)), ("Long trades (won %)", won(longs)),
        ("Profit trades (% of total)", share(wins, trades)), ("Loss trades (% of total)", share(losses, trades)),
        ("Largest profit trade", _m(max((t.result for t in wins), default=None))),
        ("Largest loss trade", _m(min((t.result for t in losses), default=None))),
        ("Average profit trade", _m(a.get("avg_win"))), ("Average loss trade", _m(a.get("avg_loss"))),
        ("Maximum consecutive wins", str(streak(1))), ("Maximum consecutive losses", str(streak(-1))),
        ("Best day", f"{best.get('date', '—')} {_m(best.get('pl'))}"),
        ("Worst day", f"{worst.get('date', '—')} {_m(worst.get('pl'))}"),
    ]
    summary = [("Opening balance", _m(opening_balance)), ("Deposits", _m(a.get("deposits"))),
               ("Withdrawals", _m(a.get("withdrawals"))), ("Closed trade P/L", _m(a.get("net_profit"))),
               ("Closing balance", _m(balance))]

    def pairs(items: list[tuple[str, str]], table_id: str) -> str:
        rows = "".join(f'<tr><td class="k">{escape(k)}</td><td class="n">{escape(v)}</td></tr>' for k, v in items)
        return f'<table class="results" id="{table_id}">{rows}</table>'

    monthly = "".join(f'<tr><td>{escape(k)}</td><td class="n">{_m(v)}</td></tr>'
                      for k, v in (a.get("monthly_pl") or {}).items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Trade History Report: {escape(who)}</title>
<style>{STYLE}</style></head><body>
<h1>Trade History Report</h1>
<table class="head"><tr><td>Account:</td><td><b>{escape(str(account['login']))}</b> ({escape(cur)})</td></tr>
<tr><td>Server:</td><td>{escape(str(account['server']))}</td></tr>
<tr><td>Period:</td><td>{escape(period)}</td></tr>
<tr><td>Generated:</td><td>{escape(gen)} UTC by MT5 Desk</td></tr></table>
<h2>Positions</h2>
{_table(["Open time", "Position", "Symbol", "Type", "Volume", "Price", "S / L", "T / P", "Close time", "Price",
         "Commission", "Swap", "Profit", "Result"], position_rows, "positions")}
<h2>Orders</h2>
{_table(["Open time", "Order", "Symbol", "Type", "Volume", "Price", "S / L", "T / P", "Time", "State", "Comment"],
        order_rows, "orders")}
<h2>Deals</h2>
{_table(["Time", "Deal", "Symbol", "Type", "Direction", "Volume", "Price", "Order", "Commission", "Fee", "Swap",
         "Profit", "Balance", "Comment"], deal_rows, "deals")}
<h2>Summary ({escape(cur)})</h2>
{pairs(summary, "summary")}
<h2>Results</h2>
{pairs(results, "results")}
<h2>Monthly P/L</h2>
<table class="results" id="monthly">{monthly or '<tr><td>none</td></tr>'}</table>
</body></html>
"""
