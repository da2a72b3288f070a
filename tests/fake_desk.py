"""A Desk stand-in for window layout tests: the methods the window reads, fixed data, no processes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject, Signal

LONG_NAME = "Ada Lovelace — FTMO 200k challenge phase 2 (swing, do not touch before NFP)"


def fake_accounts(n: int = 9, long_names: bool = False) -> list[dict[str, Any]]:
    servers = ("SimBroker-Demo", "SimBroker-Live", "Northwind-Server")
    out = []
    for i in range(n):
        server = servers[i % len(servers)]
        login = 51000000 + i
        label = f"{LONG_NAME} #{i}" if long_names else f"Account {i}"
        out.append({"key": f"{login}@{server}", "login": login, "server": server, "label": label,
                    "mode": "dedicated" if i % 4 == 1 else "shared", "investor": i % 5 == 4, "terminal": None})
    return out


class FakeDesk(QObject):
    event = Signal(dict)

    def __init__(self, data_dir: Path, accounts: list[dict[str, Any]], theme: str = "light") -> None:
        super().__init__()
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.settings: dict[str, Any] = {"theme": theme}
        self.simulator = True
        self._accounts = accounts
        now = time.time()
        self.states = {a["key"]: {"state": ("live", "idle", "waiting", "auth_error", "offline")[i % 5], "place": 1}
                       for i, a in enumerate(accounts)}
        self.snaps = {a["key"]: {"equity": 10000.0 + 1234.5 * i, "balance": 10000.0, "profit": 37.5 * (i - 4),
                                 "currency": "USD", "ts": now - 30 * i} for i, a in enumerate(accounts)}
        self.saved: list[dict[str, Any]] = []
        self.activated: list[str] = []
        self.rates: dict[str, dict[str, Any]] = {}
        self.chart: dict[str, dict[str, Any]] = {}  # account -> what chart_data answers
        self.chart_reads: list[tuple[Any, ...]] = []
        self.open_positions: dict[str, list[dict[str, Any]]] = {}
        self.trades: dict[str, list[dict[str, Any]]] = {}
        self.stats: dict[str, dict[str, Any]] = {}
        self.portfolio: dict[str, dict[str, Any]] = {}  # currency -> what portfolio_stats answers
        self.health = SimpleNamespace(margin_warned=lambda key: False)  # app/desk_health.py's view the window reads

    def accounts(self) -> list[dict[str, Any]]:
        return list(self._accounts)

    def account_states(self) -> dict[str, dict[str, Any]]:
        return self.states

    def last_snapshot(self, key: str) -> dict[str, Any] | None:
        return self.snaps.get(key)

    def lock_state(self) -> dict[str, Any]:
        key = self._accounts[0]["key"] if self._accounts else None
        holder = {"account": key, "since": time.time() - 60, "reason": "viewing", "job": None} if key else None
        return {"holder": holder, "queue": [], "switching": None}

    def lanes(self) -> list[dict[str, Any]]:
        return [{"lane": "shared", "accounts": [a["key"] for a in self._accounts], "folder": None,
                 "terminal": {"state": "running", "pid": 100}, "worker": {"state": "running", "pid": 101}}]

    def known_servers(self) -> list[str]:
        return sorted({a["server"] for a in self._accounts})

    def job_running(self) -> str | None:
        return None

    async def history(self, key: str, since: float | None = None,
                      max_points: int | None = None) -> list[tuple[float, float, float]]:
        return []

    async def chart_data(self, key: str, start: float | None, end: float | None,
                         max_points: int = 4000) -> dict[str, Any]:
        self.chart_reads.append((key, start, end, max_points))
        return self.chart.get(key) or {"points": [], "step": 0, "past": [], "flows": []}

    async def positions(self, key: str) -> list[dict[str, Any]] | None:
        return self.open_positions.get(key) if self.states.get(key, {}).get("state") == "live" else None

    async def closed_trades(self, key: str, start: float | None = None,
                            end: float | None = None) -> list[dict[str, Any]]:
        return list(self.trades.get(key, []))

    async def account_stats(self, key: str, start: float | None = None, end: float | None = None) -> dict[str, Any]:
        return dict(self.stats.get(key) or {})

    async def portfolio_stats(self, currency: str, start: float | None = None,
                              end: float | None = None) -> dict[str, Any] | None:
        return dict(self.portfolio[currency]) if currency in self.portfolio else None

    async def recent_activity(self) -> list[dict[str, Any]]:
        return []

    def pending_jobs(self) -> list[dict[str, Any]]:
        return []

    def base_currency(self) -> str:
        return "USD"

    async def save_settings(self, values: dict[str, Any]) -> None:
        self.settings.update(values)
        self.saved.append(dict(values))

    async def reload_from_vault(self) -> None:
        return None

    def activate(self, key: str, preempt: bool = False) -> None:
        self.activated.append(key)

    def __getattr__(self, name: str) -> Any:
        """Any other desk action the window wires up: a no-op (layout tests never press them)."""
        if name.startswith("__"):
            raise AttributeError(name)

        def nothing(*_args: Any, **_kwargs: Any) -> None:
            return None

        return nothing


@contextmanager
def fake_window(qtbot: Any, loop: asyncio.AbstractEventLoop, desk: FakeDesk) -> Iterator[Any]:
    """The real main window on a FakeDesk; its history loads run on ``loop`` and none is left behind."""
    from ui.main_window import MainWindow
    from ui.theme import apply_theme

    window = MainWindow(desk)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    loop.run_until_complete(asyncio.wait_for(asyncio.gather(*window._tasks), 10))
    window.repaint_dirty()
    try:
        yield window
    finally:
        window.timer.stop()
        for task in list(window._tasks):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        apply_theme("light")
