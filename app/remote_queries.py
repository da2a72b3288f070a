"""Reads another desk may ask a running app for over the control endpoint (issue 18: every view works
for a host's accounts): ``{"cmd": "query", "what": W, "account": KEY, "start": S, "end": E}``.

W is one of QUERIES, each a read-only Desk coroutine; the answer is ``{"event": "answer", "what": W,
"account": KEY, "result": ...}`` (JSON: tuples become lists) or an ``error``. Nothing here changes state
or carries a secret: positions, statistics, closed trades, the chart's points.
"""

from __future__ import annotations

from typing import Any

QUERIES = ("positions", "stats", "trades", "chart", "history")
MAX_POINTS = 20000


def _when(cmd: dict[str, Any], field: str) -> float | None:
    value = cmd.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'"{field}" must be epoch seconds or null')
    return float(value)


def check_query(cmd: dict[str, Any]) -> str:
    what = cmd.get("what")
    if what not in QUERIES:
        raise ValueError(f'"what" must be one of {", ".join(QUERIES)}')
    _when(cmd, "start")
    _when(cmd, "end")
    points = cmd.get("max_points", 4000)
    if isinstance(points, bool) or not isinstance(points, int) or not 1 <= points <= MAX_POINTS:
        raise ValueError(f'"max_points" must be 1…{MAX_POINTS}')
    return str(what)


async def run_query(desk: Any, key: str, cmd: dict[str, Any]) -> Any:
    """The Desk's answer to one checked query."""
    what, start, end = cmd["what"], _when(cmd, "start"), _when(cmd, "end")
    points = int(cmd.get("max_points", 4000))
    if what == "positions":
        return await desk.positions(key)
    if what == "stats":
        return await desk.account_stats(key, start, end)
    if what == "trades":
        return await desk.closed_trades(key, start, end)
    if what == "chart":
        return await desk.chart_data(key, start, end, points)
    return await desk.history(key, start, points)
