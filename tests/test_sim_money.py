"""Money: commission on every deal, swaps at the server's rollover (triple Wednesday), stop-out at the
server's margin_so_so closing the largest loser, credit apart from balance, deposits and withdrawals
(``sim deposit``), and every demo account's past (``sim init --history-days``). Terminals are
processes; the ``sim`` commands run as processes too."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fixtures_sim import sim_cli

from multi_user.mt5sim import money
from multi_user.mt5sim.clock import UTC_CLOCK
from multi_user.mt5sim.prices import SYMBOLS

FAR = time.time() + 2 * 86400  # history ranges are server wall time, ahead of UTC


def login(mt5, acc: dict) -> None:
    assert mt5.initialize(login=acc["login"], password=acc["password"], server=acc["server"]), mt5.last_error()


def pick(accounts: list[dict], login_: int) -> dict:
    return next(a for a in accounts if a["login"] == login_)


@pytest.mark.parametrize(("open_", "close_", "nights"), [
    ((2025, 6, 2, 10), (2025, 6, 2, 23), 0),  # Monday, same day
    ((2025, 6, 2, 10), (2025, 6, 3, 1), 1),  # Monday night
    ((2025, 6, 4, 22), (2025, 6, 5, 1), 3),  # Wednesday night counts three
    ((2025, 6, 6, 22), (2025, 6, 9, 1), 1),  # Friday to Monday: the weekend is in Wednesday's three
    ((2025, 6, 2, 10), (2025, 6, 9, 10), 7),  # a full week
    ((2025, 6, 2, 10), (2025, 6, 30, 10), 28),
])
def test_swap_nights(open_: tuple, close_: tuple, nights: int) -> None:
    a, b = (datetime(*x, tzinfo=UTC).timestamp() for x in (open_, close_))
    assert money.swap_nights(a, b, UTC_CLOCK) == nights


def test_the_past_is_there_and_adds_up(mt5, demo_accounts) -> None:
    streaks, withdrawals, nights_seen = [], 0, set()
    for acc in demo_accounts:
        login(mt5, acc)
        deals = mt5.history_deals_get(0, FAR)
        orders = mt5.history_orders_get(0, FAR)
        trades = [d for d in deals if d.type in (0, 1)]
        balance_ops = [d for d in deals if d.type == mt5.DEAL_TYPE_BALANCE]
        assert len(trades) >= 60 and len(orders) >= len(trades) - 5, acc["login"]
        assert len([d for d in balance_ops if d.profit > 0]) >= 2  # the first deposit and one after it
        withdrawals += any(d.profit < 0 for d in balance_ops)
        assert deals[0].type == mt5.DEAL_TYPE_BALANCE and deals[0].time < time.time() - 85 * 86400
        assert all(d.commission < 0 for d in trades)
        info = mt5.account_info()
        booked = sum(d.profit + d.commission + d.swap for d in deals)
        assert info.balance == pytest.approx(booked, abs=0.05) and info.balance == acc["balance"]
        outs = [d for d in trades if d.entry == mt5.DEAL_ENTRY_OUT]
        run = best = 0
        for d in outs:
            run = run + 1 if d.profit < 0 else 0
            best = max(best, run)
        streaks.append(best)
        # swaps: nights between the two deals' server wall times, at the symbol's rate
        if acc["currency"] == "USD":
            ins = {d.position_id: d for d in trades if d.entry == mt5.DEAL_ENTRY_IN}
            for d in outs:
                spec = SYMBOLS[d.symbol]
                if spec.currency_profit != "USD" or d.position_id not in ins:
                    continue
                nights = money.swap_nights(ins[d.position_id].time, d.time, UTC_CLOCK)
                nights_seen.add(nights)
                points = spec.swap_long if d.type == mt5.DEAL_TYPE_SELL else spec.swap_short
                assert d.swap == pytest.approx(nights * points * spec.point * spec.contract_size * d.volume, abs=0.011)
    assert max(streaks) >= 8 and withdrawals >= 2
    assert 0 in nights_seen and 1 in nights_seen and max(nights_seen) >= 3  # a Wednesday's triple among them


def test_history_days_and_a_deterministic_past(tmp_path) -> None:
    from multi_user.mt5sim import world

    for name in ("a", "b"):
        proc = sim_cli(tmp_path / name, "init", "--history-days", "10", "--json")
        assert proc.returncode == 0, proc.stderr
    assert sim_cli(tmp_path / "c", "init", "--history-days", "-1").returncode == 2
    assert not (tmp_path / "c" / "sim" / world.DB_NAME).exists()  # bad input stores nothing
    pasts = []
    for name in ("a", "b"):
        con = world.connect(tmp_path / name / "sim")
        pasts.append([tuple(r) for r in con.execute(
            "SELECT ticket, login, time_msc, type, entry, volume, price, profit, commission, swap FROM deals"
            " WHERE type IN (0, 1) AND comment != 'demo' ORDER BY ticket")])
        first = con.execute("SELECT min(time_msc) FROM deals").fetchone()[0] / 1000
        con.close()
        assert 10 * 86400 <= time.time() - first < 11 * 86400
    n = min(map(len, pasts)) - 20  # the two pasts may stop a trade apart on each account
    assert n > 100 and pasts[0][:n] == pasts[1][:n]


def test_commission_per_side_and_credit_apart_from_balance(mt5, sim_world, data_dir, demo_accounts) -> None:
    acc = pick(demo_accounts, 51003039)  # SimBroker-Demo, USD
    login(mt5, acc)
    before = mt5.account_info()
    out = sim_cli(data_dir, "deposit", "--login", str(acc["login"]), "--server", acc["server"], "--amount", "1000",
                  "--credit", "--json")
    assert out.returncode == 0, out.stderr
    info = mt5.account_info()
    assert (info.credit, info.balance) == (before.credit + 1000, before.balance)
    assert info.equity == pytest.approx(before.equity + 1000, abs=0.05)
    deal = mt5.history_deals_get(ticket=json.loads(out.stdout)["deal"])[0]
    assert (deal.type, deal.profit) == (mt5.DEAL_TYPE_CREDIT, 1000.0)
    refused = sim_cli(data_dir, "deposit", "--login", str(acc["login"]), "--server", acc["server"], "--amount",
                      "-1000000")
    assert refused.returncode == 2 and "free margin" in refused.stderr
    assert mt5.account_info().balance == before.balance
    back = sim_cli(data_dir, "deposit", "--login", str(acc["login"]), "--server", acc["server"], "--amount", "-250",
                   "--at", "2025-01-31T12:00:00Z", "--json")
    assert back.returncode == 0, back.stderr
    w = mt5.history_deals_get(ticket=json.loads(back.stdout)["deal"])[0]
    assert (w.type, w.profit, w.time) == (mt5.DEAL_TYPE_BALANCE, -250.0, int(datetime(2025, 1, 31, 14, tzinfo=UTC)
                                                                             .timestamp()))  # UTC+2 in winter
    assert mt5.account_info().balance == pytest.approx(before.balance - 250)
    r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 2.0, "type": 0})
    assert mt5.history_deals_get(ticket=r.deal)[0].commission == -7.0  # 3.50 USD per lot per side


def test_stop_out_closes_the_largest_loser_first(mt5, sim_world, data_dir, demo_accounts) -> None:
    acc = pick(demo_accounts, 53007091)  # Northwind, 2,500 USD at 1:500, stop-out at 30 %
    login(mt5, acc)
    big = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "XAUUSD", "volume": 1.0, "type": 0})
    small = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.01, "type": 0})
    assert big.retcode == small.retcode == mt5.TRADE_RETCODE_DONE
    info = mt5.account_info()
    assert (info.margin_so_call, info.margin_so_so, info.margin_so_mode) == (50.0, 30.0, 0)
    gold = sum(p.volume for p in mt5.positions_get(symbol="XAUUSD"))
    # a drop that leaves the equity at ~60 USD: far below 30 % of the margin
    percent = -(info.equity - 60) / (big.price * 100 * gold) * 100
    assert sim_cli(data_dir, "fault", "shock", "--symbol", "XAUUSD", "--percent", f"{percent:.4f}").returncode == 0
    after = mt5.account_info()
    tickets = {p.ticket for p in mt5.positions_get()}
    assert big.order not in tickets and small.order in tickets  # only the largest loser went
    so = next(d for d in mt5.history_deals_get(position=big.order) if d.entry == mt5.DEAL_ENTRY_OUT)
    assert so.reason == mt5.DEAL_REASON_SO and so.comment.startswith("[so ")
    assert after.margin_level > after.margin_so_so
