# ruff: noqa: UP032, SIM118  (kept in the documentation's own style, on purpose)
"""The MetaTrader5 package's documented examples (mql5.com, "Python Integration"), joined into one script.

Written for the real package: ``import MetaTrader5 as mt5``. It runs unchanged on MT5 Desk's
simulator when ``MetaTrader5`` resolves to ``multi_user.mt5sim`` (tests/test_sim_docs_example.py).
The only change from the documentation: the two accounts' credentials are read from stdin (one JSON
list) instead of being written into the code.
"""

import json
import sys
from datetime import datetime

import MetaTrader5 as mt5

accounts = json.loads(sys.stdin.readline())

# display data on the MetaTrader 5 package
print("MetaTrader5 package author: ", mt5.__author__)
print("MetaTrader5 package version: ", mt5.__version__)

# establish connection to the MetaTrader 5 terminal
if not mt5.initialize():
    print("initialize() failed, error code =", mt5.last_error())
    quit()

# display data on connection status, server name and trading account
print(mt5.terminal_info())
# display data on MetaTrader 5 version
print(mt5.version())

# connect to the trade accounts specifying password and server, one after the other
for account in accounts:
    authorized = mt5.login(account["login"], password=account["password"], server=account["server"])
    if authorized:
        account_info = mt5.account_info()
        if account_info is not None:
            print("connected to account #{}".format(account["login"]))
            # display trading account data in the form of a dictionary
            account_info_dict = mt5.account_info()._asdict()
            for prop in account_info_dict:
                print("  {}={}".format(prop, account_info_dict[prop]))
    else:
        print("failed to connect at account #{}, error code: {}".format(account["login"], mt5.last_error()))

    # get open positions
    positions = mt5.positions_get()
    if positions is None:
        print("No positions, error code={}".format(mt5.last_error()))
    elif len(positions) > 0:
        print("positions_get()={}".format(len(positions)))
        for position in positions:
            print(position)
    else:
        print("positions_get()=0")

# prepare the buy request structure
symbol = "USDJPY"
symbol_info = mt5.symbol_info(symbol)
if symbol_info is None:
    print(symbol, "not found, can not call order_check()")
    mt5.shutdown()
    quit()

# if the symbol is unavailable in MarketWatch, add it
if not symbol_info.visible:
    print(symbol, "is not visible, trying to switch on")
    if not mt5.symbol_select(symbol, True):
        print("symbol_select({}}) failed, exit", symbol)
        mt5.shutdown()
        quit()

lot = 0.1
point = mt5.symbol_info(symbol).point
price = mt5.symbol_info_tick(symbol).ask
deviation = 20
request = {
    "action": mt5.TRADE_ACTION_DEAL,
    "symbol": symbol,
    "volume": lot,
    "type": mt5.ORDER_TYPE_BUY,
    "price": price,
    "sl": price - 100 * point,
    "tp": price + 100 * point,
    "deviation": deviation,
    "magic": 234000,
    "comment": "python script open",
    "type_time": mt5.ORDER_TIME_GTC,
    "type_filling": mt5.ORDER_FILLING_RETURN,
}

# send a trading request
result = mt5.order_send(request)
# check the execution result
print("1. order_send(): by {} {} lots at {} with deviation={} points".format(symbol, lot, price, deviation))
if result.retcode != mt5.TRADE_RETCODE_DONE:
    print("2. order_send failed, retcode={}".format(result.retcode))
    # request the result as a dictionary and display it element by element
    result_dict = result._asdict()
    for field in result_dict.keys():
        print("   {}={}".format(field, result_dict[field]))
    mt5.shutdown()
    quit()

print("2. order_send done, ", result)
print("   opened position with POSITION_TICKET={}".format(result.order))

# create a close request
position_id = result.order
price = mt5.symbol_info_tick(symbol).bid
request = {
    "action": mt5.TRADE_ACTION_DEAL,
    "symbol": symbol,
    "volume": lot,
    "type": mt5.ORDER_TYPE_SELL,
    "position": position_id,
    "price": price,
    "deviation": deviation,
    "magic": 234000,
    "comment": "python script close",
    "type_time": mt5.ORDER_TIME_GTC,
    "type_filling": mt5.ORDER_FILLING_RETURN,
}
# send a trading request
result = mt5.order_send(request)
# check the execution result
print("3. close position #{}: sell {} {} lots at {} with deviation={} points".format(
    position_id, symbol, lot, price, deviation))
if result.retcode != mt5.TRADE_RETCODE_DONE:
    print("4. order_send failed, retcode={}".format(result.retcode))
    print("   result", result)
else:
    print("4. position #{} closed, {}".format(position_id, result))

# get the number of deals in history
from_date = datetime(2020, 1, 1)
to_date = datetime.now()
deals = mt5.history_deals_get(from_date, to_date, group="*USD*")
if deals is None:
    print("No deals with group=\"*USD*\", error code={}".format(mt5.last_error()))
elif len(deals) > 0:
    print("history_deals_get({}, {}, group=\"*USD*\")={}".format(from_date, to_date, len(deals)))

# get all deals related to the position
deals = mt5.history_deals_get(position=position_id)
if deals is None:
    print("No deals with position #{}".format(position_id))
    print("error code =", mt5.last_error())
elif len(deals) > 0:
    print("Deals with position id #{}: {}".format(position_id, len(deals)))
    for deal in deals:
        print("  ", deal)

# shut down connection to the MetaTrader 5 terminal
mt5.shutdown()
