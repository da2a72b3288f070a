"""Make tests/data/mt5_reference.json from the real MetaTrader5 wheel (Windows-only, never imported here).

    python tools/mt5_reference.py /tmp/mt5wheel/MetaTrader5 > tests/data/mt5_reference.json

(the folder is the ``MetaTrader5`` package unpacked from the wheel: ``unzip MetaTrader5-*.whl``).
Constants and helpers come from its ``__init__.py`` (parsed, not executed); function names, result
structure names and error messages from the strings of its ``_core*.pyd``. Structure field ORDER
is not recoverable from the binary (its string table is de-duplicated), so the field lists below
are the documented ones (mql5.com "Python Integration" pages) and the tool checks that every one
of their fields is a string in the binary.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

# The documented field order of each result structure (mql5.com, Python Integration pages).
DOC_FIELDS: dict[str, list[str]] = {
 'TradePosition': ['ticket', 'time', 'time_msc', 'time_update', 'time_update_msc', 'type', 'magic', 'identifier',
                   'reason', 'volume', 'price_open', 'sl', 'tp', 'price_current', 'swap', 'profit', 'symbol',
                   'comment', 'external_id'],
 'TradeOrder': ['ticket', 'time_setup', 'time_setup_msc', 'time_done', 'time_done_msc', 'time_expiration', 'type',
                'type_time', 'type_filling', 'state', 'magic', 'position_id', 'position_by_id', 'reason',
                'volume_initial', 'volume_current', 'price_open', 'sl', 'tp', 'price_current', 'price_stoplimit',
                'symbol', 'comment', 'external_id'],
 'TradeDeal': ['ticket', 'order', 'time', 'time_msc', 'type', 'entry', 'magic', 'position_id', 'reason', 'volume',
               'price', 'commission', 'swap', 'profit', 'fee', 'symbol', 'comment', 'external_id'],
 'TradeRequest': ['action', 'magic', 'order', 'symbol', 'volume', 'price', 'stoplimit', 'sl', 'tp', 'deviation',
                  'type', 'type_filling', 'type_time', 'expiration', 'comment', 'position', 'position_by'],
 'OrderSendResult': ['retcode', 'deal', 'order', 'volume', 'price', 'bid', 'ask', 'comment', 'request_id',
                     'retcode_external', 'request'],
 'OrderCheckResult': ['retcode', 'balance', 'equity', 'profit', 'margin', 'margin_free', 'margin_level', 'comment',
                      'request'],
 'Tick': ['time', 'bid', 'ask', 'last', 'volume', 'time_msc', 'flags', 'volume_real'],
 'TerminalInfo': ['community_account', 'community_connection', 'connected', 'dlls_allowed', 'trade_allowed',
                  'tradeapi_disabled', 'email_enabled', 'ftp_enabled', 'notifications_enabled', 'mqid', 'build',
                  'maxbars', 'codepage', 'ping_last', 'community_balance', 'retransmission', 'company', 'name',
                  'language', 'path', 'data_path', 'commondata_path'],
 'AccountInfo': ['login', 'trade_mode', 'leverage', 'limit_orders', 'margin_so_mode', 'trade_allowed',
                 'trade_expert', 'margin_mode', 'currency_digits', 'fifo_close', 'balance', 'credit', 'profit',
                 'equity', 'margin', 'margin_free', 'margin_level', 'margin_so_call', 'margin_so_so',
                 'margin_initial', 'margin_maintenance', 'assets', 'liabilities', 'commission_blocked', 'name',
                 'server', 'currency', 'company'],
 'SymbolInfo': ['custom', 'chart_mode', 'select', 'visible', 'session_deals', 'session_buy_orders',
                'session_sell_orders', 'volume', 'volumehigh', 'volumelow', 'time', 'digits', 'spread',
                'spread_float', 'ticks_bookdepth', 'trade_calc_mode', 'trade_mode', 'start_time',
                'expiration_time', 'trade_stops_level', 'trade_freeze_level', 'trade_exemode', 'swap_mode',
                'swap_rollover3days', 'margin_hedged_use_leg', 'expiration_mode', 'filling_mode', 'order_mode',
                'order_gtc_mode', 'option_mode', 'option_right', 'bid', 'bidhigh', 'bidlow', 'ask', 'askhigh',
                'asklow', 'last', 'lasthigh', 'lastlow', 'volume_real', 'volumehigh_real', 'volumelow_real',
                'option_strike', 'point', 'trade_tick_value', 'trade_tick_value_profit', 'trade_tick_value_loss',
                'trade_tick_size', 'trade_contract_size', 'trade_accrued_interest', 'trade_face_value',
                'trade_liquidity_rate', 'volume_min', 'volume_max', 'volume_step', 'volume_limit', 'swap_long',
                'swap_short', 'margin_initial', 'margin_maintenance', 'session_volume', 'session_turnover',
                'session_interest', 'session_buy_orders_volume', 'session_sell_orders_volume', 'session_open',
                'session_close', 'session_aw', 'session_price_settlement', 'session_price_limit_min',
                'session_price_limit_max', 'margin_hedged', 'price_change', 'price_volatility',
                'price_theoretical', 'price_greeks_delta', 'price_greeks_theta', 'price_greeks_gamma',
                'price_greeks_vega', 'price_greeks_rho', 'price_greeks_omega', 'price_sensitivity', 'basis',
                'category', 'currency_base', 'currency_profit', 'currency_margin', 'bank', 'description',
                'exchange', 'formula', 'isin', 'name', 'page', 'path'],
 'BookInfo': ['type', 'price', 'volume', 'volume_dbl']}


def _eval(node: ast.expr) -> int | float | str:
    return eval(compile(ast.Expression(node), "<const>", "eval"), {"__builtins__": {}})  # literals and | only


def parse_init(path: Path) -> dict:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    constants: dict[str, int] = {}
    meta: dict[str, str] = {}
    helpers: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            value = _eval(node.value)
            (meta if name.startswith("__") else constants)[name] = value
        elif isinstance(node, ast.FunctionDef):
            helpers.append(node.name)
    return {"constants": constants, "meta": meta, "helpers": sorted(h for h in helpers if not h.startswith("_"))}


def binary_strings(data: bytes) -> list[str]:
    ascii_runs = [m.group().decode() for m in re.finditer(rb"[\x20-\x7e]{4,}", data)]
    wide_runs = [m.group().decode("utf-16-le") for m in re.finditer(rb"(?:[\x20-\x7e]\x00){4,}", data)]
    return ascii_runs + wide_runs


def main(argv: list[str]) -> int:
    pkg = Path(argv[1] if len(argv) > 1 else "/tmp/mt5wheel/MetaTrader5")
    init = parse_init(pkg / "__init__.py")
    core = next(pkg.glob("_core*.pyd"))
    data = core.read_bytes()
    strings = binary_strings(data)
    # short names (sl, tp, bid) are NUL-delimited entries of the string table
    present = set(strings) | {m.group().decode() for m in re.finditer(rb"(?<=\x00)[\x20-\x7e]{2,}(?=\x00)", data)}
    # each exported function has a docstring signature "name(...)" in the binary
    functions = sorted({m.group(1) for s in strings if (m := re.fullmatch(r"([a-z_]+)\((.*)\)", s))})
    struct_names = sorted(s for s in present if re.fullmatch(r"(Trade[A-Z]\w+|Order\w+Result|Tick|TerminalInfo|"
                                                              r"SymbolInfo|AccountInfo|BookInfo)", s))
    fields = DOC_FIELDS
    missing = {k: [f for f in v if f not in present] for k, v in fields.items()}
    missing = {k: v for k, v in missing.items() if v}
    if missing or set(fields) != set(struct_names):
        print(f"structure lists disagree with the binary: missing fields {missing}, "
              f"names {sorted(set(fields) ^ set(struct_names))}", file=sys.stderr)
        return 1
    messages = sorted(s for s in present if s == "Success" or s.startswith(("Terminal: ", "IPC ", "No IPC"))
                      or s in ("Process create failed '%s'", "MetaTrader 5 x64 not found", "Invalid arguments",
                               "Unnamed arguments not allowed", "Auto-Trading using Python API disabled in Terminal")
                      or re.fullmatch(r'Invalid "\w+" argument|Invalid \w+ unnamed argument', s))
    ref = {
        "source": f"MetaTrader5 {init['meta'].get('__version__')} wheel ({core.name})",
        "regenerate": "python tools/mt5_reference.py /tmp/mt5wheel/MetaTrader5 > tests/data/mt5_reference.json",
        "version": init["meta"].get("__version__"),
        "author": init["meta"].get("__author__"),
        "functions": functions,
        "helpers": init["helpers"],
        "constants": init["constants"],
        "structures": fields,
        "error_messages": messages,
    }
    print(json.dumps(ref, indent=1, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
