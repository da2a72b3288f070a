"""The rest of the trade surface: a netting account, TRADE_ACTION_CLOSE_BY / SLTP / MODIFY / REMOVE,
the terminal's Algo Trading switch (``sim fault algo-off``) and trades made by the trader at the
terminal (``sim trade``, ``sim autotrade``), all against simulated terminal processes."""

from __future__ import annotations

import json

import pytest
from fixtures_sim import sim_cli


def login(mt5, accounts: list[dict], login_: int) -> dict:
    acc = next(a for a in accounts if a["login"] == login_)
    assert mt5.initialize(login=acc["login"], password=acc["password"], server=acc["server"]), mt5.last_error()
    return acc


def deal(mt5, symbol: str, volume: float, otype: int, **kw) -> object:
    r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": otype, **kw})
    assert r.retcode == mt5.TRADE_RETCODE_DONE, r
    return r


def test_netting_account_adds_reduces_and_reverses(mt5, demo_accounts) -> None:
    login(mt5, demo_accounts, 52010130)
    assert mt5.account_info().margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING
    (pos,) = mt5.positions_get(symbol="EURUSD")  # the demo's 0.30 buy
    first = deal(mt5, "EURUSD", 0.2, mt5.ORDER_TYPE_BUY)
    (grown,) = mt5.positions_get(symbol="EURUSD")
    assert (grown.ticket, grown.volume, grown.type) == (pos.ticket, 0.5, mt5.POSITION_TYPE_BUY)
    assert grown.price_open == pytest.approx((pos.price_open * 0.3 + first.price * 0.2) / 0.5, abs=1e-5)
    deal(mt5, "EURUSD", 0.1, mt5.ORDER_TYPE_SELL)
    assert mt5.positions_get(symbol="EURUSD")[0].volume == 0.4
    rev = deal(mt5, "EURUSD", 0.7, mt5.ORDER_TYPE_SELL)
    (flipped,) = mt5.positions_get(symbol="EURUSD")
    assert (flipped.ticket, flipped.type, flipped.volume) == (pos.ticket, mt5.POSITION_TYPE_SELL, 0.3)
    entries = [d.entry for d in mt5.history_deals_get(position=pos.ticket)]
    assert entries == [mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_IN, mt5.DEAL_ENTRY_OUT, mt5.DEAL_ENTRY_INOUT]
    assert mt5.history_deals_get(ticket=rev.deal)[0].profit != 0.0
    deal(mt5, "EURUSD", 0.3, mt5.ORDER_TYPE_BUY)
    assert mt5.positions_get(symbol="EURUSD") == ()
    assert mt5.positions_total() == len({p.symbol for p in mt5.positions_get()})  # one per symbol
    r = mt5.order_send({"action": mt5.TRADE_ACTION_CLOSE_BY, "position": 1, "position_by": 2})
    assert r.retcode == mt5.TRADE_RETCODE_INVALID  # no close-by on netting


def test_close_by_sltp_modify_remove(mt5, demo_accounts) -> None:
    login(mt5, demo_accounts, 51003039)  # hedging
    buy = deal(mt5, "EURUSD", 0.3, mt5.ORDER_TYPE_BUY)
    sell = deal(mt5, "EURUSD", 0.1, mt5.ORDER_TYPE_SELL)
    r = mt5.order_send({"action": mt5.TRADE_ACTION_CLOSE_BY, "position": buy.order, "position_by": sell.order})
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.positions_get(ticket=buy.order)[0].volume == pytest.approx(0.2)
    assert mt5.positions_get(ticket=sell.order) == ()
    order = mt5.history_orders_get(ticket=r.order)[0]
    assert (order.type, order.position_id, order.position_by_id) == (mt5.ORDER_TYPE_CLOSE_BY, buy.order, sell.order)
    by = [d for d in mt5.history_deals_get(0, 4e9) if d.order == r.order]
    assert [d.entry for d in by] == [mt5.DEAL_ENTRY_OUT_BY] * 2 and {d.position_id for d in by} == {buy.order,
                                                                                                    sell.order}
    assert sum(d.profit for d in by) == pytest.approx((sell.price - buy.price) * 100000 * 0.1, abs=0.02)
    tick = mt5.symbol_info_tick("EURUSD")
    r = mt5.order_send({"action": mt5.TRADE_ACTION_SLTP, "position": buy.order, "sl": round(tick.bid - 0.01, 5),
                        "tp": round(tick.bid + 0.01, 5)})
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    p = mt5.positions_get(ticket=buy.order)[0]
    assert (p.sl, p.tp) == (round(tick.bid - 0.01, 5), round(tick.bid + 0.01, 5))
    pend = mt5.order_send({"action": mt5.TRADE_ACTION_PENDING, "symbol": "EURUSD", "volume": 0.1,
                           "type": mt5.ORDER_TYPE_BUY_LIMIT, "price": round(tick.ask - 0.02, 5)})
    assert pend.retcode == mt5.TRADE_RETCODE_DONE
    r = mt5.order_send({"action": mt5.TRADE_ACTION_MODIFY, "order": pend.order, "price": round(tick.ask - 0.03, 5),
                        "sl": 0.0, "tp": 0.0})
    assert r.retcode == mt5.TRADE_RETCODE_DONE
    assert mt5.orders_get(ticket=pend.order)[0].price_open == round(tick.ask - 0.03, 5)
    r = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": pend.order})
    assert r.retcode == mt5.TRADE_RETCODE_DONE and mt5.orders_get(ticket=pend.order) == ()
    assert mt5.history_orders_get(ticket=pend.order)[0].state == mt5.ORDER_STATE_CANCELED
    bad = mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": pend.order})
    assert bad.retcode == mt5.TRADE_RETCODE_INVALID_ORDER


def test_algo_trading_switch(mt5, sim_world, data_dir, demo_accounts) -> None:
    from multi_user.mt5sim import control

    login(mt5, demo_accounts, 51003039)
    exe = control.base_install(sim_world)
    assert mt5.terminal_info().trade_allowed
    out = sim_cli(data_dir, "fault", "algo-off", "--terminal", str(exe), "--json")
    assert out.returncode == 0, out.stderr
    assert not mt5.terminal_info().trade_allowed
    r = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": 0})
    assert (r.retcode, r.comment) == (mt5.TRADE_RETCODE_CLIENT_DISABLES_AT, "AutoTrading disabled by client")
    assert mt5.account_info().trade_allowed  # the account may trade; the terminal's button is off
    assert sim_cli(data_dir, "fault", "clear").returncode == 0
    assert mt5.terminal_info().trade_allowed
    deal(mt5, "EURUSD", 0.1, mt5.ORDER_TYPE_BUY)


def test_the_trader_at_the_terminal(mt5, sim_world, data_dir, demo_accounts) -> None:
    acc = login(mt5, demo_accounts, 51001013)
    who = ["--login", str(acc["login"]), "--server", acc["server"]]
    out = sim_cli(data_dir, "trade", *who, "--symbol", "GBPUSD", "--side", "sell", "--volume", "0.2", "--json")
    assert out.returncode == 0, out.stderr
    made = json.loads(out.stdout)
    pos = mt5.positions_get(ticket=made["position"])[0]
    assert (pos.type, pos.volume, pos.magic, pos.reason) == (mt5.POSITION_TYPE_SELL, 0.2, 0,
                                                             mt5.POSITION_REASON_CLIENT)
    far = mt5.symbol_info_tick("GBPUSD").bid * 0.9
    pending = json.loads(sim_cli(data_dir, "trade", *who, "--symbol", "GBPUSD", "--side", "buy", "--volume", "0.1",
                                 "--pending", f"{far:.5f}", "--json").stdout)
    assert mt5.orders_get(ticket=pending["order"])[0].type == mt5.ORDER_TYPE_BUY_LIMIT
    closed = json.loads(sim_cli(data_dir, "trade", "--close", str(pos.ticket), "--json").stdout)
    assert closed["action"] == "close" and mt5.positions_get(ticket=pos.ticket) == ()
    assert mt5.history_deals_get(ticket=closed["deal"])[0].reason == mt5.DEAL_REASON_CLIENT
    assert sim_cli(data_dir, "trade", "--close", str(pending["order"])).returncode == 0
    assert mt5.orders_get(ticket=pending["order"]) == ()
    bad = sim_cli(data_dir, "trade", *who, "--symbol", "NOPE", "--side", "buy", "--volume", "0.1")
    assert bad.returncode == 2 and "unknown symbol" in bad.stderr
    auto = sim_cli(data_dir, "autotrade", *who, "--every", "0.05", "--for", "0.3", "--json")
    assert auto.returncode == 0, auto.stderr
    acts = [json.loads(line) for line in auto.stdout.splitlines()]
    assert acts and all(a["action"] in ("buy", "sell", "close") for a in acts)
    assert any(p.comment == "autotrade" for p in mt5.positions_get())
