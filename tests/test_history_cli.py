"""[E] 5: accounts history|trades|stats|report from the local stores, with no terminal running."""

from __future__ import annotations

import csv
import json
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
from test_accounts_cli import cli

from app.deals_store import DealsStore
from app.history import HistoryStore
from multi_user import stats
from multi_user.bridge import UserMT5Bridge
from multi_user.mt5sim import control
from multi_user.paths import history_path


@pytest.fixture
def stored(mt5: ModuleType, demo_accounts: list[dict], sim_world: Path, data_dir: Path) -> list[dict]:
    """Two accounts' deals fetched into the data dir, a few equity snapshots, then every terminal stopped."""
    accounts = [a for a in demo_accounts if a["server"] == "SimBroker-Demo"][:2]
    bridge = UserMT5Bridge(mt5, timeout_ms=10000)
    store = DealsStore(data_dir)
    hist = HistoryStore(history_path(data_dir))
    hist.start()
    for a in accounts:
        bridge.switch(a["login"], a["password"], a["server"])
        fetched = bridge.history()
        store.save(fetched)
        snap = bridge.snapshot()
        for i in range(120):  # two minutes of snapshots, one of them a dip
            eq = snap["equity"] - (300.0 if i == 60 else 0.0)
            hist.add(f"{a['login']}@{a['server']}", fetched["fetched_at"] + i, snap["balance"], eq, snap["currency"])
    hist.stop()
    bridge.shutdown()
    control.stop_all_terminals(sim_world)  # the exports must not need a terminal
    return accounts


def rows_of(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_trades_csv_has_the_issue_columns_and_one_row_per_closed_position(stored, data_dir: Path) -> None:
    a = stored[0]
    key = f"{a['login']}@{a['server']}"
    out = data_dir / "trades.csv"
    r = cli(data_dir, "accounts", "trades", "--login", str(a["login"]), "--server", a["server"], "--csv", str(out))
    assert r.returncode == 0, r.stderr
    rows = rows_of(out)
    assert rows[0] == ["position", "symbol", "type", "volume", "open_time_utc", "close_time_utc", "open_price",
                       "close_price", "sl", "tp", "commission", "swap", "profit", "magic", "comment"]
    store = DealsStore(data_dir)
    trades = stats.closed_trades(store.deals(key), store.orders(key))
    assert len(rows) - 1 == len(trades) > 20
    first = rows[1]
    assert first[0] == str(trades[0].position) and first[2] in ("buy", "sell")
    assert first[4].endswith("Z") and first[5] >= first[4]
    # a range: only positions closed in it
    day = rows[len(rows) // 2][5][:10]
    r = cli(data_dir, "accounts", "trades", "--login", str(a["login"]), "--server", a["server"], "--from", day,
            "--to", day, "--csv", str(out))
    assert r.returncode == 0, r.stderr
    ranged = rows_of(out)[1:]
    assert ranged and all(row[5].startswith(day) for row in ranged)


def test_history_csv_columns_rebuilt_balance_and_kept_low(stored, data_dir: Path) -> None:
    a = stored[0]
    out = data_dir / "history.csv"
    r = cli(data_dir, "accounts", "history", "--login", str(a["login"]), "--server", a["server"], "--csv", str(out))
    assert r.returncode == 0, r.stderr
    rows = rows_of(out)
    assert rows[0] == ["time_utc", "balance", "equity", "equity_low", "equity_high"]
    body = rows[1:]
    assert len(body) > 100  # the balance rebuilt from 90 days of deals, then the snapshots
    assert body == sorted(body, key=lambda row: row[0])
    lows = [float(row[3]) for row in body[-120:]]
    equities = [float(row[2]) for row in body[-120:]]
    assert min(lows) == pytest.approx(max(equities) - 300.0)


def test_stats_json_per_account_and_portfolio(stored, data_dir: Path) -> None:
    r = cli(data_dir, "accounts", "stats", "--json")
    assert r.returncode == 0, r.stderr
    payload = json.loads(r.stdout)
    assert [f"{x['login']}@{x['server']}" for x in payload["accounts"]] == sorted(
        f"{a['login']}@{a['server']}" for a in stored)
    for acc in payload["accounts"]:
        for field in ("login", "server", "currency", "gain_pct", "absolute_gain_pct", "net_profit", "deposits",
                      "withdrawals", "max_drawdown_pct", "max_drawdown", "profit_factor", "win_rate_pct", "trades",
                      "expectancy", "sharpe", "best_day", "worst_day"):
            assert field in acc, field
        assert acc["deposits"] > 0 and acc["withdrawals"] >= 0 and acc["trades"] > 20
        assert acc["max_drawdown"] >= 300.0 - 0.01  # the dip in the snapshots
    assert {p["currency"] for p in payload["portfolio"]} == {a["currency"] for a in payload["accounts"]}
    assert sum(p["trades"] for p in payload["portfolio"]) == sum(a["trades"] for a in payload["accounts"])
    a = stored[0]
    one = json.loads(cli(data_dir, "accounts", "stats", "--login", str(a["login"]), "--server", a["server"],
                         "--json").stdout)
    assert len(one["accounts"]) == 1 and one["accounts"][0]["login"] == a["login"]


class _Deals(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.table: str | None = None
        self.in_body = False
        self.rows: dict[str, list[list[str]]] = {}
        self.row: list[str] | None = None
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        attrs = dict(attrs)
        if tag == "table":
            self.table = attrs.get("id")
        elif tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.row = []
        elif tag == "td" and self.row is not None:
            self.row.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self.in_body = False
        elif tag == "tr" and self.row is not None:
            self.rows.setdefault(self.table or "", []).append(self.row)
            self.row = None

    def handle_data(self, data: str) -> None:
        if self.row:
            self.row[-1] += data


def test_html_report_is_self_contained_and_lists_every_deal_of_the_range(stored, data_dir: Path) -> None:
    a = stored[1]
    key = f"{a['login']}@{a['server']}"
    deals = DealsStore(data_dir).deals(key)
    day_from = stats._day(deals[len(deals) // 3]["time"])
    day_to = stats._day(deals[2 * len(deals) // 3]["time"])
    out = data_dir / "report.html"
    r = cli(data_dir, "accounts", "report", "--login", str(a["login"]), "--server", a["server"], "--from", day_from,
            "--to", day_to, "--html", str(out))
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert "<script" not in text and "src=" not in text and "http" not in text and "@import" not in text
    parsed = _Deals()
    parsed.feed(text)
    expected = [d for d in deals if day_from <= stats._day(d["time"]) <= day_to]
    assert [row[1] for row in parsed.rows["deals"]] == [str(d["ticket"]) for d in expected]
    assert parsed.rows["positions"] and parsed.rows["orders"]
    assert 'id="summary"' in text and 'id="results"' in text and "Total net profit" in text
    assert "Trade History Report" in text and a["server"] in text


def test_bad_input_exits_2_and_writes_nothing(stored, data_dir: Path) -> None:
    a = stored[0]
    out = data_dir / "x.csv"
    r = cli(data_dir, "accounts", "trades", "--login", str(a["login"]), "--server", a["server"], "--from",
            "yesterday", "--csv", str(out))
    assert r.returncode == 2 and "not a date" in r.stderr and not out.exists()
    r = cli(data_dir, "accounts", "trades", "--login", "123", "--server", a["server"], "--csv", str(out))
    assert r.returncode == 2 and "No history for 123@" in r.stderr and not out.exists()
    r = cli(data_dir, "accounts", "stats", "--login", str(a["login"]), "--json")
    assert r.returncode == 2 and "both --login and --server" in r.stderr


def test_stats_refresh_fetches_through_the_terminal_only_while_no_app_runs(demo_accounts, data_dir: Path) -> None:
    from app.instance import acquire

    a = demo_accounts[0]
    who = ("--login", str(a["login"]), "--server", a["server"])
    assert cli(data_dir, "accounts", "link", *who, "--no-verify", stdin=a["password"] + "\n").returncode == 0
    assert cli(data_dir, "accounts", "stats", *who, "--json").returncode == 2  # nothing fetched yet
    owner = acquire(data_dir, "gui", "test")
    try:
        r = cli(data_dir, "accounts", "stats", *who, "--refresh", "--json")
        assert r.returncode == 5 and "run without --refresh" in r.stderr
    finally:
        owner.release()
    r = cli(data_dir, "accounts", "stats", *who, "--refresh", "--json")
    assert r.returncode == 0, r.stderr
    [acc] = json.loads(r.stdout)["accounts"]
    assert acc["trades"] > 20 and acc["deposits"] > 0 and a["password"] not in r.stdout + r.stderr


def test_the_running_host_fetches_live_accounts_deals_for_the_exports(data_dir: Path, demo_accounts) -> None:
    """[E] 1 end to end: the host fetches a live account's deals (a `deals` event) into the data dir,
    and the exports read them after it has quit."""
    from test_headless import Headless

    with Headless(data_dir, duration=120) as host:
        ev = host.wait_for(lambda e: e["event"] == "deals" and e["state"] == "ok" and e["full"], timeout=90)
        assert ev["new"] > 20
        host.send({"cmd": "quit"})
        assert host.finish() == 0
    login, server = ev["account"].split("@", 1)
    r = cli(data_dir, "accounts", "stats", "--login", login, "--server", server, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["accounts"][0]["trades"] > 10
