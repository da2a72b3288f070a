"""[W] 6: closing every position the way real brokers accept it, on simulated symbols with different
execution and filling modes, requotes, market hours, a FIFO account and a position above volume_max."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from multi_user.bridge import UserMT5Bridge
from multi_user.closing import filling_modes
from multi_user.mt5sim import control


def login(mt5: ModuleType, a: dict) -> UserMT5Bridge:
    b = UserMT5Bridge(mt5, timeout_ms=10000)
    b.switch(a["login"], a["password"], a["server"])
    return b


def open_position(mt5: ModuleType, symbol: str, volume: float, side: int = 0) -> None:
    tick = mt5.symbol_info_tick(symbol)
    mode = filling_modes(mt5, mt5.symbol_info(symbol))[0]
    res = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume, "type": side,
                          "price": tick.ask if side == 0 else tick.bid, "deviation": 50, "type_filling": mode})
    assert res.retcode == mt5.TRADE_RETCODE_DONE, res


def test_the_symbols_differ_as_real_ones_do(mt5: ModuleType, demo_accounts: list[dict]) -> None:
    login(mt5, demo_accounts[0])
    assert mt5.symbol_info("USDJPY").trade_exemode == mt5.SYMBOL_TRADE_EXECUTION_INSTANT
    assert mt5.symbol_info("US500").trade_exemode == mt5.SYMBOL_TRADE_EXECUTION_EXCHANGE
    assert mt5.symbol_info("USDCHF").filling_mode == 2
    tick = mt5.symbol_info_tick("USDCHF")
    fok = mt5.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "USDCHF", "volume": 0.1, "type": 0,
                          "price": tick.ask, "type_filling": mt5.ORDER_FILLING_FOK})
    assert fok.retcode == mt5.TRADE_RETCODE_INVALID_FILL


def test_close_all_follows_each_symbols_filling_mode_and_retries_requotes(mt5: ModuleType, sim_world: Path,
                                                                          demo_accounts: list[dict]) -> None:
    a = demo_accounts[0]
    bridge = login(mt5, a)
    for symbol in ("USDCHF", "USDJPY", "US500", "EURUSD", "EURUSD"):
        open_position(mt5, symbol, 1.0 if symbol == "US500" else 0.1)
    control.add_requotes(sim_world, "USDCHF", 2)
    control.add_requotes(sim_world, "EURUSD", 1)
    control.add_fifo(sim_world, a["login"])
    assert mt5.account_info().fifo_close is True
    result = bridge.close_all_positions()
    assert result["failed"] == 0, result["messages"]
    assert mt5.positions_get() == ()


def test_a_closed_market_is_said_plainly_and_the_rest_is_closed(mt5: ModuleType, sim_world: Path,
                                                                demo_accounts: list[dict]) -> None:
    bridge = login(mt5, demo_accounts[0])
    open_position(mt5, "US500", 1.0)
    open_position(mt5, "EURUSD", 0.1)
    control.add_market_closed(sim_world, "US500")
    result = bridge.close_all_positions()
    assert result["failed"] >= 1 and all("US500" in m for m in result["messages"])
    assert "market is closed" in result["messages"][0] and "(10018)" in result["messages"][0]
    assert 10018 in result["retcodes"] and 10009 in result["retcodes"]  # the job's record keeps every retcode
    assert {p.symbol for p in mt5.positions_get()} == {"US500"}


def test_a_position_above_volume_max_is_closed_in_several_deals(mt5: ModuleType, sim_world: Path,
                                                                  demo_accounts: list[dict]) -> None:
    """A netting position grown past volume_max (here written straight into the broker's books)."""
    import time

    from multi_user.mt5sim import world

    netting = next(a for a in demo_accounts if a["login"] == 52010130)
    bridge = login(mt5, netting)
    vmax = mt5.symbol_info("US500").volume_max
    price = mt5.symbol_info_tick("US500").ask
    con = world.connect(sim_world)
    try:
        con.execute("BEGIN IMMEDIATE")
        world.open_position(con, netting["login"], netting["server"], "US500", 0, vmax * 1.5, price,
                            int(time.time() * 1000))
        con.execute("COMMIT")
    finally:
        con.close()
    before = len(mt5.history_deals_get(0, 2**31) or ())
    result = bridge.close_all_positions()
    assert result["failed"] == 0, result["messages"]
    assert not mt5.positions_get(symbol="US500")
    assert len(mt5.history_deals_get(0, 2**31)) - before >= 2  # one deal could not close it
