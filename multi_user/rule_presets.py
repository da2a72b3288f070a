"""Prop-firm presets for multi_user/rules.py. Firms change their rules: each preset names where its
numbers come from and when they were read, and a trader can override any field (``custom``).

The numbers were taken from the firms' public rule pages as summarised in MT5 Desk issue 14 and as
published by the firms in 2025; they were NOT re-checked online when written (2026-11-25, no network
access to the firms' sites). Check them against the firm's current page before relying on them.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    # FTMO 2-Step Challenge. Source: ftmo.com "Trading Objectives" (Maximum Daily Loss 5% of the initial
    # balance from the balance at midnight CE(S)T; Maximum Loss 10% static; profit target 10% in phase 1
    # (5% in phase 2); minimum 4 trading days). Read 2025; recorded 2026-11-25.
    "FTMO-2STEP": {
        "daily_pct": 0.05, "daily_ref": "balance", "daily_base": "initial",
        "total_pct": 0.10, "total_mode": "static", "total_lock": None,
        "reset_zone": "Europe/Prague", "reset_time": "00:00",
        "profit_target_pct": 0.10, "min_trading_days": 4,
    },
    # FTMO 1-Step Challenge. Source: ftmo.com "1-Step Challenge" (Maximum Daily Loss 3% of the initial
    # balance; Maximum Loss 10% trailing on the end-of-day balance, stopping at the initial balance;
    # profit target 10%; best day at most 50% of the total profit). Read 2025; recorded 2026-11-25.
    "FTMO-1STEP": {
        "daily_pct": 0.03, "daily_ref": "balance", "daily_base": "initial",
        "total_pct": 0.10, "total_mode": "eod_balance", "total_lock": "initial",
        "reset_zone": "Europe/Prague", "reset_time": "00:00",
        "profit_target_pct": 0.10, "best_day_max_share": 0.50,
    },
    # The5ers High Stakes. Source: the5ers.com "High Stakes" program rules (daily loss 5% of the higher of
    # the balance and the equity at the server's day start; maximum loss 10% static; target 8% step 1
    # (5% step 2); 3 profitable days of at least 0.5% of the initial balance). Read 2025; recorded 2026-11-25.
    "THE5ERS-HIGH-STAKES": {
        "daily_pct": 0.05, "daily_ref": "max", "daily_base": "ref",
        "total_pct": 0.10, "total_mode": "static", "total_lock": None,
        "reset_zone": "server", "reset_time": "00:00",
        "profit_target_pct": 0.08, "min_profitable_days": 3, "profitable_day_pct": 0.005,
    },
    # FundedNext Stellar 2-Step. Source: fundednext.com "Stellar Challenge" rules (daily loss 5% of the
    # initial balance, from the higher of the balance and the equity at the server's day start; maximum
    # loss 10% static; target 8% phase 1 (5% phase 2); minimum 5 trading days). Read 2025; recorded 2026-11-25.
    "FUNDEDNEXT-STELLAR-2STEP": {
        "daily_pct": 0.05, "daily_ref": "max", "daily_base": "initial",
        "total_pct": 0.10, "total_mode": "static", "total_lock": None,
        "reset_zone": "server", "reset_time": "00:00",
        "profit_target_pct": 0.08, "min_trading_days": 5,
    },
}
