"""The package's nature: API functions behave like the real compiled (builtin) functions, so a
framework that stores them on its own class and calls them through an instance runs unchanged, and
result structures pickle and ``_asdict()`` like the real ones. Run in a client process against a
simulated terminal process."""

from __future__ import annotations

import json
from pathlib import Path

from fixtures_sim import run_client

REF = json.loads((Path(__file__).parent / "data" / "mt5_reference.json").read_text())

FRAMEWORK = r"""
import json, pickle, sys, time
import multi_user.mt5sim as sim
sys.modules["MetaTrader5"] = sim
import MetaTrader5 as mt5

names = json.loads(sys.argv[1])
login, server = int(sys.argv[2]), sys.argv[3]
password = sys.stdin.readline().strip()

# what frameworks do: the package's functions as class attributes, called through an instance
Api = type("Api", (), {n: getattr(mt5, n) for n in names})
api = Api()
out = {"meta": {n: [getattr(api, n).__name__, getattr(api, n).__module__, getattr(api, n).__doc__,
                    repr(getattr(api, n))] for n in names}}
assert api.initialize(login=login, password=password, server=server, timeout=30000), api.last_error()
now = time.time() + 86400
calls = {
    "login": api.login(login, password=password, server=server), "version": api.version(),
    "last_error": api.last_error(), "terminal_info": api.terminal_info(),
    "account_info": api.account_info(), "symbols_total": api.symbols_total(),
    "symbols_get": api.symbols_get(group="EUR*"), "symbol_info": api.symbol_info("EURUSD"),
    "symbol_info_tick": api.symbol_info_tick("EURUSD"), "symbol_select": api.symbol_select("EURUSD", True),
    "market_book_add": api.market_book_add("EURUSD"), "market_book_get": api.market_book_get("EURUSD"),
    "market_book_release": api.market_book_release("EURUSD"),
    "copy_rates_from": api.copy_rates_from("EURUSD", mt5.TIMEFRAME_M1, now, 3),
    "copy_rates_from_pos": api.copy_rates_from_pos("EURUSD", mt5.TIMEFRAME_M1, 0, 3),
    "copy_rates_range": api.copy_rates_range("EURUSD", mt5.TIMEFRAME_H1, now - 86400 * 3, now),
    "copy_ticks_from": api.copy_ticks_from("EURUSD", now - 86400 - 5, 3, mt5.COPY_TICKS_ALL),
    "copy_ticks_range": api.copy_ticks_range("EURUSD", now - 86400 - 5, now - 86400, mt5.COPY_TICKS_ALL),
    "positions_total": api.positions_total(), "positions_get": api.positions_get(),
    "orders_total": api.orders_total(), "orders_get": api.orders_get(),
    "history_orders_total": api.history_orders_total(0, now), "history_orders_get": api.history_orders_get(0, now),
    "history_deals_total": api.history_deals_total(0, now), "history_deals_get": api.history_deals_get(0, now),
    "order_calc_margin": api.order_calc_margin(mt5.ORDER_TYPE_BUY, "EURUSD", 0.1, 1.1),
    "order_calc_profit": api.order_calc_profit(mt5.ORDER_TYPE_BUY, "EURUSD", 0.1, 1.1, 1.2),
    "order_check": api.order_check({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                                    "type": mt5.ORDER_TYPE_BUY}),
    "order_send": api.order_send({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1,
                                  "type": mt5.ORDER_TYPE_BUY, "comment": "framework"}),
}
out["ok"] = sorted(n for n, v in calls.items() if v is not None and v is not False)
structs = [calls["account_info"], calls["terminal_info"], calls["symbol_info"], calls["symbol_info_tick"],
           calls["positions_get"][0], calls["history_deals_get"][0], calls["history_orders_get"][0],
           calls["order_check"], calls["order_send"], calls["market_book_get"][0]]
out["structs"] = []
for s in structs:
    back = pickle.loads(pickle.dumps(s))
    d = s._asdict()
    out["structs"].append([type(s).__name__, back == s and type(back) is type(s), type(d).__name__,
                           list(d) == list(type(s)._fields), isinstance(s, tuple)])
out["send"] = calls["order_send"].retcode
out["shutdown"] = api.shutdown()
print(json.dumps(out))
"""


def test_a_framework_class_holding_the_api_functions_works(sim_world, demo_accounts) -> None:
    a = next(x for x in demo_accounts if x["currency"] == "USD" and x["server"] == "SimBroker-Demo")
    names = REF["functions"]
    proc = run_client(FRAMEWORK, json.dumps(names), str(a["login"]), a["server"], stdin=a["password"] + "\n")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])
    for name in names:
        fname, module, doc, text = out["meta"][name]
        assert fname == name and module == "MetaTrader5._core" and text == f"<built-in function {name}>"
        assert doc.startswith(name + "(") and "\n" in doc
    assert out["ok"] == sorted(set(names) - {"initialize", "shutdown"}), set(names) - set(out["ok"])
    assert out["send"] == 10009
    for name, round_trip, dict_type, same_order, is_tuple in out["structs"]:
        assert round_trip and dict_type == "dict" and same_order and is_tuple, name
    assert out["shutdown"] is None


def test_builtin_like_functions_in_process() -> None:
    """The same facts without a terminal: no binding, copies are the function, pickles by name."""
    import copy
    import inspect
    import pickle

    import multi_user.mt5sim as mt5

    class Holder:
        last_error = mt5.last_error
        version = mt5.version

    assert Holder().last_error() == mt5.last_error()
    assert Holder.__dict__["version"] is mt5.version
    assert copy.deepcopy(mt5.account_info) is mt5.account_info
    assert pickle.loads(pickle.dumps(mt5.order_send)) is mt5.order_send
    assert list(inspect.signature(mt5.copy_rates_from).parameters) == ["symbol", "timeframe", "date_from", "count"]
    assert mt5.initialize.__doc__.splitlines()[1] == "Establish connection to MetaTrader 5 terminal"
