"""multi_user/stats.py against the worked examples of docs/STATISTICS.md (the same numbers)."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from multi_user import stats

ROOT = Path(__file__).resolve().parent.parent
D = 1767571200.0  # 2026-01-05 00:00 UTC, a Monday
H = 3600.0
_ticket = iter(range(1000, 10**9))


def deal(t: float, type_: int, *, entry: int = 0, pos: int = 0, profit: float = 0.0, commission: float = 0.0,
         swap: float = 0.0, volume: float = 1.0, price: float = 1.1) -> dict:
    return {"ticket": next(_ticket), "order": 0, "time": t, "type": type_, "entry": entry, "magic": 0,
            "position_id": pos, "reason": 0, "volume": volume, "price": price, "commission": commission,
            "swap": swap, "profit": profit, "fee": 0.0, "symbol": "EURUSD" if pos else "", "comment": ""}


def deposit(t: float, amount: float) -> dict:
    return deal(t, stats.DEAL_BALANCE, profit=amount)


def trade(pos: int, t_in: float, t_out: float, profit: float, commission: float = 0.0, swap: float = 0.0,
          side: int = stats.DEAL_BUY) -> list[dict]:
    """An entry deal carrying half the commission and the exit deal carrying the rest, the profit and swap."""
    return [deal(t_in, side, entry=stats.ENTRY_IN, pos=pos, commission=commission / 2),
            deal(t_out, 1 - side, entry=stats.ENTRY_OUT, pos=pos, profit=profit, commission=commission / 2, swap=swap)]


# ---- Example 1: a deposit during a losing trade ---------------------------------------------------------
def example1(with_deposit: bool) -> tuple[list[dict], list[tuple]]:
    deals = [deposit(D, 1000.0), *trade(1, D + 1 * H, D + 4 * H, -50.0)]
    points = [(D + 2 * H, 1000.0, 950.0)]
    if with_deposit:
        deals.append(deposit(D + 3 * H, 1000.0))
        points.append((D + 4 * H, 1950.0, 1950.0))
    else:
        points.append((D + 4 * H, 950.0, 950.0))
    return deals, points


def test_example1_a_deposit_during_a_losing_trade_does_not_change_the_twr_gain() -> None:
    with_dep = stats.twr_pct(*example1(True))
    without = stats.twr_pct(*example1(False))
    assert with_dep == pytest.approx(-5.0) and without == pytest.approx(-5.0)
    # balance alone (no equity points) would divide the loss by the larger capital: -2.5 %
    assert stats.twr_pct(example1(True)[0]) == pytest.approx(-2.5)
    s = stats.summary(*example1(True))
    assert s["deposits"] == 2000.0 and s["net_profit"] == -50.0 and s["trades"] == 1


# ---- Example 2: a deep intraday low survives compaction into the drawdown -------------------------------
def test_example2_an_intraday_low_survives_compaction() -> None:
    points = [(D + i, 1000.0, 1000.0) for i in range(86400)]
    points[43200] = (D + 43200, 1000.0, 700.0)  # one second at 700 at noon
    points[-1] = (D + 86399, 1000.0, 1000.0)
    tiers = stats.bucket_points(points, 900.0)  # fifteen-minute buckets
    assert len(tiers) == 96
    assert stats.max_drawdown(tiers) == (300.0, 30.0)
    assert stats.max_drawdown(points) == (300.0, 30.0)
    # what one point per bucket (the old compaction) would have kept: no drawdown at all
    assert stats.max_drawdown([p for p in points if p[0] % 900 == 899]) == (0.0, 0.0)


def test_example2b_a_withdrawal_is_not_a_drawdown() -> None:
    deals = [deposit(D, 1000.0), deposit(D + 2 * H, -500.0)]
    points = [(D + H, 1000.0, 1000.0), (D + 3 * H, 500.0, 500.0), (D + 4 * H, 500.0, 450.0)]
    assert stats.max_drawdown(points, deals) == (50.0, 5.0)  # 50 off the 1000 high, not 550


# ---- Example 3: trades, profit factor, win rate, expectancy, days, Sharpe --------------------------------
def example3() -> list[dict]:
    return [deposit(D, 1000.0),
            *trade(1, D + 1 * H, D + 2 * H, 110.0, commission=-7.0, swap=-3.0),            # +100
            *trade(2, D + 1 * 86400 + H, D + 1 * 86400 + 2 * H, -45.0, commission=-5.0),   # -50
            *trade(3, D + 2 * 86400 + H, D + 2 * 86400 + 2 * H, 52.0, commission=-2.0)]    # +50


def test_example3_trade_statistics() -> None:
    s = stats.summary(example3())
    assert s["trades"] == 3 and s["net_profit"] == 100.0 and s["deposits"] == 1000.0
    assert s["profit_factor"] == 3.0 and s["win_rate_pct"] == pytest.approx(66.6667)
    assert s["expectancy"] == pytest.approx(33.33) and s["avg_win"] == 75.0 and s["avg_loss"] == -50.0
    assert s["absolute_gain_pct"] == 10.0 and s["gain_pct"] == pytest.approx(10.0)
    assert s["daily_pl"] == {"2026-01-05": 100.0, "2026-01-06": -50.0, "2026-01-07": 50.0}
    assert s["best_day"] == {"date": "2026-01-05", "pl": 100.0}
    assert s["worst_day"] == {"date": "2026-01-06", "pl": -50.0}
    assert s["monthly_pl"] == {"2026-01": 100.0}
    returns = [100 / 1000, -50 / 1100, 50 / 1050]
    assert s["sharpe"] == pytest.approx(statistics.fmean(returns) / statistics.stdev(returns), abs=1e-4)
    assert s["sharpe"] == pytest.approx(0.4623, abs=1e-4)


def test_example3_trade_rows_sum_their_costs() -> None:
    t = stats.closed_trades(example3())[0]
    assert (t.position, t.type, t.commission, t.swap, t.profit, t.result) == (1, "buy", -7.0, -3.0, 110.0, 100.0)


def test_a_partly_closed_position_is_not_a_trade_yet() -> None:
    deals = [deposit(D, 1000.0), deal(D + H, 0, entry=0, pos=9, volume=2.0),
             deal(D + 2 * H, 1, entry=1, pos=9, volume=1.0, profit=10.0)]
    assert stats.closed_trades(deals) == []
    deals.append(deal(D + 3 * H, 1, entry=1, pos=9, volume=1.0, profit=20.0))
    [t] = stats.closed_trades(deals)
    assert t.volume == 2.0 and t.profit == 30.0 and t.close_time == D + 3 * H


def test_range_limits_trades_and_flows() -> None:
    s = stats.summary(example3(), start=D + 86400, end=D + 2 * 86400 + 23 * H)
    assert s["trades"] == 2 and s["net_profit"] == 0.0 and s["deposits"] == 0.0
    assert s["absolute_gain_pct"] == 0.0  # over the 1100 balance at the range's start
    assert s["gain_pct"] == pytest.approx(0.0, abs=1e-9)  # 1100 -> 1050 -> 1100


@given(st.lists(st.tuples(st.floats(-500, 500), st.floats(1, 5000)), min_size=1, max_size=20))
def test_flows_never_count_as_gain(moves: list[tuple[float, float]]) -> None:
    """Only deposits (no trading): the TWR gain is 0 whatever their sizes."""
    deals = [deposit(D + i * H, amount) for i, (_, amount) in enumerate(moves)]
    gain = stats.twr_pct(deals)
    assert gain == pytest.approx(0.0, abs=1e-9)


def test_daily_pl_sums_to_net_profit() -> None:
    s = stats.summary(example3())
    assert sum(s["daily_pl"].values()) == pytest.approx(s["net_profit"])


def test_portfolio_sums_per_currency() -> None:
    a = stats.summary(example3())
    out = stats.portfolio([("USD", a), ("USD", a), ("EUR", a)])
    assert [p["currency"] for p in out] == ["EUR", "USD"]
    assert out[1]["net_profit"] == 200.0 and out[1]["trades"] == 6 and out[1]["accounts"] == 2
    # example 3 starts from nothing and deposits 1,000: two of them made 200 on 2,000
    assert out[1]["absolute_gain_pct"] == 10.0 and out[1]["monthly_pl"] == {"2026-01": 200.0}


def test_the_document_gives_the_numbers_the_tests_check() -> None:
    doc = (ROOT / "docs" / "STATISTICS.md").read_text(encoding="utf-8")
    for figure in ("−5 %", "−2.5 %", "300.00 (30 %)", "3.00", "66.67 %", "33.33", "0.4623", "10 %"):
        assert figure in doc, figure
    assert len(re.findall(r"^### Example", doc, flags=re.M)) >= 3
