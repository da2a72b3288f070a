"""Close ONE open position (the Positions tab's "Close position…", [E] 3) the way close-all closes each:
the symbol's filling mode, order_check first, requotes retried, partial fills finished, plain words."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from multi_user.closing import Closer


def close_position(mt5: ModuleType, ticket: int, comment: str = "MT5 Desk close") -> dict[str, Any]:
    """``{"ticket", "closed": 0|1, "failed": 0|1, "messages", "retcodes"}`` like close-all's answer."""
    found = mt5.positions_get(ticket=int(ticket))
    if not found:
        return {"ticket": int(ticket), "closed": 0, "failed": 1, "retcodes": [],
                "messages": [f"#{ticket}: no such open position (closed already?)"]}
    p = found[0]
    closer = Closer(mt5, comment)
    why = closer.close(p)
    return {"ticket": int(ticket), "symbol": str(p.symbol), "closed": int(why is None), "failed": int(why is not None),
            "messages": [] if why is None else [f"{p.symbol} #{p.ticket}: {why}"], "retcodes": list(closer.retcodes)}
