"""Simulated money: quotes, margin and profit, market orders, closing, history, pending orders, investor
(read-only) sessions, market data arrays and argument errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from multi_user.mt5sim import money, prices
from multi_user.mt5sim.clock import UTC_CLOCK


@pytest.fixture
def usd(mt5, demo_accounts):
    a = next(x for x in demo_accounts if x["currency"] == "USD" and x["balance"] >= 10000)
    assert mt5.initialize(login=a["login"], password=a["password"], server=a["server"]), mt5.last_error()
    return a


def _one_instant(mt5):
    """account_info and positions_get from the same tick: they are two calls, as on a real terminal, and a tick
    may fall between them (a loaded machine spreads them over seconds), so read again until the positions did
    not move around the account read."""
    deadline = time.monotonic() + 30
    while True:
        before = mt5.positions_get()
        info = mt5.account_info()
        after = mt5.positions_get()
        if [p.profit for p in before] == [p.profit for p in after] or time.monotonic() > deadline:
            return info, after


def test_account_values_add_up(mt5, usd) -> None:
    info, positions = _one_instant(mt5)
    assert positions, "the demo account has open positions"
    # as on MT5, the account's floating profit counts the swap the open positions have accrued (a position
    # open across a rollover has some)
    profit = sum(p.profit + p.swap for p in positions)
    assert info.profit == pytest.approx(profit, abs=0.05)
    assert info.equity == pytest.approx(info.balance + info.profit, abs=0.01)
    assert info.margin_free == pytest.approx(info.equity - info.margin, abs=0.01)
    assert info.margin_level == pytest.approx(info.equity / info.margin * 100, abs=0.01)
    assert info.trade_allowed and info.leverage == usd["leverage"] and info.currency == "USD"
    assert mt5.positions_total() == len(positions)


def test_margin_and_profit_formulas(mt5, usd) -> None:
    tick = mt5.symbol_info_tick("EURUSD")
    margin = mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, tick.ask)
    lots_in_eur = 100000 / usd["leverage"]
    assert margin == pytest.approx(lots_in_eur * (tick.bid + tick.ask) / 2, rel=1e-3)
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 1.0, 1.1, 1.101) == pytest.approx(100.0)
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_SELL, "EURUSD", 0.5, 1.1, 1.101) == pytest.approx(-50.0)
    jpy = mt5.order_calc_profit(mt5.ORDER_TYPE_BUY, "USDJPY", 1.0, 150.0, 150.1)  # 10000 JPY in USD
    assert jpy == pytest.approx(10000 / ((mt5.symbol_info_tick("USDJPY").bid + mt5.symbol_info_tick("USDJPY").ask) / 2),
                                rel=2e-3)
    gold = mt5.symbol_info("XAUUSD")
    assert gold.trade_contract_size == 100 and gold.trade_calc_mode == mt5.SYMBOL_CALC_MODE_CFDLEVERAGE
    assert mt5.order_calc_margin(mt5.ORDER_TYPE_BUY, "NOPE", 1.0, 1.0) is None


def test_market_order_fills_closes_and_history_follows(mt5, usd) -> None:
    before = mt5.account_info()
    n = mt5.positions_total()
    tick = mt5.symbol_info_tick("GBPUSD")
    req = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "GBPUSD", "volume": 0.2, "type": mt5.ORDER_TYPE_BUY,
           "price": tick.ask, "deviation": 20, "magic": 77, "comment": "test open",
           "type_time": mt5.ORDER_TIME_GTC, "type_filling": mt5.ORDER_FILLING_IOC}
    check = mt5.order_check(req)
    assert check.retcode == 0 and check.margin > before.margin and check.request.symbol == "GBPUSD"
    res = mt5.order_send(req)
    assert res.retcode == mt5.TRADE_RETCODE_DONE and res.comment == "Request executed"
    assert res.volume == 0.2 and res.price == res.ask and res.deal and res.order
    assert res.request._asdict()["magic"] == 77
    pos = mt5.positions_get(ticket=res.order)[0]
    assert (pos.symbol, pos.type, pos.volume, pos.magic, pos.identifier) == ("GBPUSD", 0, 0.2, 77, res.order)
    assert mt5.positions_total() == n + 1
    entry = mt5.history_deals_get(ticket=res.deal)[0]
    assert entry.commission == pytest.approx(-0.2 * usd["commission"], abs=0.005)  # per lot per side
    # opening moves equity and books the commission, nothing else
    assert mt5.account_info().balance == pytest.approx(before.balance + entry.commission, abs=0.005)
    close = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "GBPUSD", "volume": 0.2,
                            "type": mt5.ORDER_TYPE_SELL, "position": pos.ticket, "price": tick.bid})
    assert close.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.positions_get(ticket=pos.ticket) == ()
    deals = mt5.history_deals_get(position=pos.ticket)
    assert [d.entry for d in deals] == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT]
    # no swap unless a rollover fell between the two deals (deal times are server wall time: UTC_CLOCK reads them
    # as they are); it can, when the test runs across the server's midnight
    nights = money.swap_nights(entry.time_msc / 1000, deals[1].time_msc / 1000, UTC_CLOCK)
    spec = prices.SYMBOLS["GBPUSD"]
    swap = round(nights * spec.swap_long * spec.point * spec.contract_size * 0.2, 2)
    assert deals[1].commission == entry.commission and deals[1].swap == pytest.approx(swap, abs=0.005)
    assert mt5.account_info().balance == pytest.approx(
        before.balance + deals[1].profit + deals[1].swap + 2 * entry.commission, abs=0.005)
    assert deals[1].profit == pytest.approx((close.price - res.price) * 100000 * 0.2, abs=0.01)
    orders = mt5.history_orders_get(position=pos.ticket)
    assert len(orders) == 2 and all(o.state == mt5.ORDER_STATE_FILLED for o in orders)
    now = datetime.now(UTC)
    # history ranges are in the server's wall time, which runs ahead of UTC on most servers
    later = now + timedelta(hours=4)
    assert mt5.history_deals_total(datetime(2020, 1, 1, tzinfo=UTC), later) >= 3  # deposit, in, out
    assert any(d.type == mt5.DEAL_TYPE_BALANCE for d in mt5.history_deals_get(0, time.time() + 4 * 3600))
    assert len(mt5.history_deals_get(0, time.time() + 4 * 3600, group="GBP*")) >= 2


def test_refusals_come_with_the_real_retcodes(mt5, demo_accounts) -> None:
    small = min(demo_accounts, key=lambda a: a["balance"])
    assert mt5.initialize(login=small["login"], password=small["password"], server=small["server"])
    base = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "XAUUSD", "type": mt5.ORDER_TYPE_BUY}
    assert mt5.order_send({**base, "volume": 50.0}).retcode == mt5.TRADE_RETCODE_NO_MONEY
    assert mt5.order_send({**base, "volume": 0.001}).retcode == mt5.TRADE_RETCODE_INVALID_VOLUME
    assert mt5.order_send({**base, "volume": 0.1, "symbol": "NOPE"}).retcode == mt5.TRADE_RETCODE_INVALID
    assert mt5.order_send({**base, "volume": 0.1, "position": 1}).retcode == mt5.TRADE_RETCODE_POSITION_CLOSED
    assert mt5.order_send({**base, "volume": "1"}) is None
    assert mt5.last_error() == (-2, 'Invalid "volume" argument')
    assert mt5.order_send("buy") is None and mt5.last_error() == (-2, "Invalid arguments")


def test_pending_orders_are_placed_and_removed(mt5, usd) -> None:
    tick = mt5.symbol_info_tick("EURUSD")
    res = mt5.order_send({"action": mt5.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
                          "type": mt5.ORDER_TYPE_BUY_LIMIT, "price": round(tick.ask * 0.8, 5)})
    assert res.retcode == mt5.TRADE_RETCODE_DONE
    assert [o.ticket for o in mt5.orders_get(symbol="EURUSD")] == [res.order] and mt5.orders_total() == 1
    assert mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": res.order}).retcode == 10009
    assert mt5.orders_total() == 0
    assert mt5.history_orders_get(ticket=res.order)[0].state == mt5.ORDER_STATE_CANCELED


def test_a_pending_order_the_price_has_passed_fills(mt5, usd) -> None:
    tick = mt5.symbol_info_tick("USDCHF")
    res = mt5.order_send({"action": mt5.TRADE_ACTION_PENDING, "symbol": "USDCHF", "volume": 0.1,
                          "type": mt5.ORDER_TYPE_BUY_LIMIT, "price": round(tick.ask * 1.05, 5)})
    assert res.retcode == 10009
    pos = mt5.positions_get(ticket=res.order)
    assert len(pos) == 1 and pos[0].symbol == "USDCHF" and mt5.orders_total() == 0


def test_investor_password_is_read_only(mt5, demo_accounts) -> None:
    a = demo_accounts[0]
    assert mt5.initialize(login=a["login"], password=a["investor_password"], server=a["server"])
    info = mt5.account_info()
    assert info.login == a["login"] and info.trade_allowed is False
    assert mt5.positions_get() is not None
    res = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                          "type": mt5.ORDER_TYPE_BUY})
    assert res.retcode == mt5.TRADE_RETCODE_TRADE_DISABLED and res.deal == 0
    assert mt5.order_check({"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0}).retcode == 10017


def test_market_data_arrays_symbols_and_book(mt5, usd) -> None:
    rates = mt5.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 50)
    assert rates.dtype.names == ("time", "open", "high", "low", "close", "tick_volume", "spread", "real_volume")
    assert len(rates) == 50 and all(rates["time"][1:] - rates["time"][:-1] == 60)
    assert (rates["high"] >= rates["open"]).all() and (rates["low"] <= rates["close"]).all()
    h1 = mt5.copy_rates_range("USDJPY", mt5.TIMEFRAME_H1, datetime(2024, 1, 1, tzinfo=UTC),
                              datetime(2024, 1, 2, tzinfo=UTC))
    assert len(h1) == 25 and h1["time"][0] == int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
    assert len(mt5.copy_rates_from("US500", mt5.TIMEFRAME_D1, time.time(), 10)) == 10
    # ten seconds of server wall time at a fixed past instant: "the last ten seconds" of a New-York-close server
    # are not ten seconds of ticks in the hour its clock repeats in autumn (or skips in spring)
    noon = datetime(2024, 1, 2, 12, tzinfo=UTC).timestamp()
    ticks = mt5.copy_ticks_range("EURUSD", noon - 10, noon, mt5.COPY_TICKS_ALL)
    assert ticks.dtype.names[:3] == ("time", "bid", "ask") and len(ticks) == 21  # every half second, both ends
    assert ticks["time"][0] == noon - 10 and ticks["time"][-1] == noon
    now = time.time()
    assert (ticks["ask"] > ticks["bid"]).all()
    assert len(mt5.copy_ticks_from("EURUSD", now - 100, 5, mt5.COPY_TICKS_ALL)) == 5
    assert mt5.copy_rates_from_pos("NOPE", mt5.TIMEFRAME_M1, 0, 5) is None
    assert mt5.symbols_total() == len(mt5.symbols_get()) >= 5
    assert {s.name for s in mt5.symbols_get(group="*USD*,!EUR*")} == {"GBPUSD", "USDJPY", "USDCHF", "XAUUSD"}
    assert mt5.symbol_info("NOPE") is None and mt5.last_error() == (-1, "Terminal: Call failed")
    assert mt5.symbol_info_tick(123) is None and mt5.last_error() == (-2, "Invalid 1st unnamed argument")
    assert mt5.market_book_get("EURUSD") is None
    assert mt5.market_book_add("EURUSD")
    book = mt5.market_book_get("EURUSD")
    assert len(book) == 10 and book[0].type == mt5.BOOK_TYPE_SELL and book[-1].type == mt5.BOOK_TYPE_BUY
    assert mt5.market_book_release("EURUSD")
    assert mt5.symbol_select("EURUSD", False) and mt5.symbol_info("EURUSD").select is False


def test_prices_are_reproducible_from_the_seed_and_move() -> None:
    t = 1_700_000_000.25
    assert prices.quote(7, "EURUSD", t) == prices.quote(7, "EURUSD", t)
    assert prices.quote(7, "EURUSD", t) != prices.quote(8, "EURUSD", t)
    series = [prices.quote(7, "XAUUSD", t + i)[1] for i in range(0, 600, 5)]
    assert len(set(series)) > 50  # the price moves, second by second
    assert max(series) / min(series) < 1.02  # ... but like a market, not a random number generator
    shocked = prices.quote(7, "EURUSD", t + 10, [("EURUSD", t, 1.05)])[1]
    assert shocked == pytest.approx(prices.quote(7, "EURUSD", t + 10)[1] * 1.05, rel=1e-4)


def test_equity_moves_while_positions_are_open(mt5, usd) -> None:
    first = mt5.account_info().equity
    deadline = time.monotonic() + 15
    while mt5.account_info().equity == first:  # waiting for the next price ticks
        assert time.monotonic() < deadline, "equity never moved"
        time.sleep(0.05)


def test_two_worlds_with_one_seed_hold_the_same_accounts(tmp_path: Path) -> None:
    from multi_user.mt5sim import control

    control.init_world(tmp_path / "a", seed=3)
    control.init_world(tmp_path / "b", seed=3)
    control.init_world(tmp_path / "c", seed=4)
    a, b, c = (control.demo_accounts(tmp_path / x) for x in "abc")
    assert a == b and a != c
    assert len(a) >= 8 and len({x["server"] for x in a}) >= 3 and {x["currency"] for x in a} == {"USD", "EUR"}


def test_the_packages_buy_sell_close_helpers(mt5, usd) -> None:
    n = mt5.positions_total()
    r = mt5.Buy("EURUSD", 0.1)
    assert r.retcode == mt5.TRADE_RETCODE_DONE and r.request.action == mt5.TRADE_ACTION_DEAL
    s = mt5.Sell("EURUSD", 0.1, comment="helper")
    assert s.retcode == mt5.TRADE_RETCODE_DONE and mt5.positions_total() == n + 2
    assert mt5.Close("EURUSD", ticket=r.order) is True
    assert mt5.Close("EURUSD", ticket=s.order) is True
    assert mt5.positions_total() == n
