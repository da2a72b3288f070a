"""One account's history as the exports and the statistics read it: deals (app/deals_store.py) and equity
(app/equity_tiers.py over history.sqlite3) of one data dir, with the balance curve before the first
snapshot rebuilt from the deals, and the statistics of docs/STATISTICS.md. No widgets, no terminal;
blocking (SQLite): call off the GUI thread."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app import equity_tiers
from app.deals_store import FILE_NAME as DEALS_FILE
from app.deals_store import DealsStore
from multi_user import stats
from multi_user.paths import history_path

STATS_POINTS = 20000  # equity points per account for drawdown and TWR (90 days: the 15-minute tier)
Point = tuple[float, float, float, float, float]


def iso(ts: float | None) -> str:
    if not ts:
        return ""
    return datetime.fromtimestamp(float(ts), UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def segments(points: list[Point], max_gap: float) -> list[list[Point]]:
    """Split points where two follow each other more than ``max_gap`` seconds apart: a stretch where the
    account was not live is a gap in a chart, not a straight line."""
    out: list[list[Point]] = []
    for p in points:
        if not out or p[0] - out[-1][-1][0] > max_gap:
            out.append([p])
        else:
            out[-1].append(p)
    return out


class AccountHistory:
    """The deals store and the equity store of one data dir, read together (opening may create an empty
    deals file)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.deals = DealsStore(data_dir / DEALS_FILE)
        self.history = history_path(data_dir)

    def accounts(self) -> list[str]:
        keys = {a["account"] for a in self.deals.accounts()}
        if self.history.exists():
            conn = sqlite3.connect(self.history)
            try:
                keys |= {r[0] for r in conn.execute("SELECT DISTINCT account FROM snapshots")}
            except sqlite3.OperationalError:
                pass
            finally:
                conn.close()
        return sorted(keys)

    def currency(self, key: str) -> str:
        meta = self.deals.account(key)
        if meta and meta.get("currency"):
            return str(meta["currency"])
        if self.history.exists():
            conn = sqlite3.connect(self.history)
            try:
                row = conn.execute("SELECT currency FROM snapshots WHERE account=? ORDER BY ts DESC LIMIT 1",
                                   (key,)).fetchone()
            finally:
                conn.close()
            if row:
                return str(row[0])
        return ""

    def points(self, key: str, start: float | None, end: float | None,
               max_points: int = equity_tiers.DEFAULT_POINTS) -> list[Point]:
        """Equity points for the range; before the first snapshot, the balance rebuilt from the deals."""
        pts: list[Point] = []
        if self.history.exists():
            pts = equity_tiers.read_points(self.history, key, start, end, max_points)
        first = pts[0][0] if pts else float("inf")
        rebuilt = [(t, b, b, b, b) for t, b in stats.balance_curve(self.deals.deals(key))
                   if t < first and (start is None or t >= start) and (end is None or t <= end)]
        return rebuilt + pts

    def stats(self, key: str, start: float | None, end: float | None) -> dict[str, Any]:
        """The statistics object of ``accounts stats`` for one account over the range."""
        login, server = key.split("@", 1)
        deals = self.deals.deals(key)
        # the points start a day early: the TWR needs the floating P/L just before the range's start
        points = self.points(key, None if start is None else start - 86400, end, STATS_POINTS)
        summary = stats.summary(deals, points, self.deals.orders(key), start, end)
        return {"login": int(login), "server": server, "currency": self.currency(key), **summary}

    def stats_payload(self, keys: list[str], start: float | None, end: float | None) -> dict[str, Any]:
        accounts = [self.stats(k, start, end) for k in keys]
        return {"from": iso(start) or None, "to": iso(end) or None, "accounts": accounts,
                "portfolio": stats.portfolio([(a["currency"], a) for a in accounts])}
