"""Prop-firm presets for multi_user/rules.py. Firms change their rules: each preset names where its
numbers come from and when they were read, and a trader can override any field (``custom``).

Checked on 2026-11-25 against stored copies of the firms' own pages (this machine has no access to the
live sites), each named below with what it says. Firms change their rules: a trader should compare a
preset with the firm's current page and override what differs.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # FTMO 2-Step Challenge. ftmo.com/en/trading-objectives and academy.ftmo.com "Maximum Daily Loss":
    # daily limit = balance at midnight CE(S)T − 5% of the initial capital (on equity, commissions and
    # swaps included); Maximum Loss: equity never below 90% of the initial balance; profit target 10%
    # (5% in the Verification); minimum 4 trading days, a day counted by a trade opened on it.
    "FTMO-2STEP": {
        "daily_pct": 0.05, "daily_ref": "balance", "daily_base": "initial",
        "total_pct": 0.10, "total_mode": "static", "total_lock": None,
        "reset_zone": "Europe/Prague", "reset_time": "00:00",
        "profit_target_pct": 0.10, "min_trading_days": 4,
    },
    # FTMO 1-Step Challenge. ftmo.com 1-Step pages: Max Daily Loss 3%, profit target 10%, Best Day Rule
    # 50% of the total profit; Maximum Loss: recalculated each midnight CE(S)T as the highest end-of-day
    # balance (or the initial capital if higher) − 10% of the initial capital, "can only increase". FTMO's
    # text names no stop at the initial balance (some third-party summaries claim one): none here.
    "FTMO-1STEP": {
        "daily_pct": 0.03, "daily_ref": "balance", "daily_base": "initial",
        "total_pct": 0.10, "total_mode": "eod_balance", "total_lock": None,
        "reset_zone": "Europe/Prague", "reset_time": "00:00",
        "profit_target_pct": 0.10, "best_day_max_share": 0.50,
    },
    # The5ers High Stakes. help.the5ers.com "maximum loss and maximum daily loss in the High Stakes
    # program": daily loss 5% of the day's starting equity or starting balance, the higher, at 00:00
    # server time (UTC+3, 5 PM New York); maximum loss 10% of the initial balance. Targets 8% / 5% and
    # 3 profitable days of at least 0.5% of the initial balance from summaries of the program page.
    "THE5ERS-HIGH-STAKES": {
        "daily_pct": 0.05, "daily_ref": "max", "daily_base": "ref",
        "total_pct": 0.10, "total_mode": "static", "total_lock": None,
        "reset_zone": "server", "reset_time": "00:00",
        "profit_target_pct": 0.08, "min_profitable_days": 3, "profitable_day_pct": 0.005,
    },
    # FundedNext Stellar 2-Step. help.fundednext.com: daily loss limit 5% of the initial balance in one
    # day, reset at midnight server time (GMT+2, GMT+3 in summer); maximum loss 10%: never below 90% of
    # the initial balance; trades on at least 5 days; targets 8% / 5%. The day's reference point (here the
    # higher of balance and equity at the reset) is NOT stated on the page read: check it with the firm.
    "FUNDEDNEXT-STELLAR-2STEP": {
        "daily_pct": 0.05, "daily_ref": "max", "daily_base": "initial",
        "total_pct": 0.10, "total_mode": "static", "total_lock": None,
        "reset_zone": "server", "reset_time": "00:00",
        "profit_target_pct": 0.08, "min_trading_days": 5,
    },
}
