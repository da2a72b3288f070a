"""The focused account's pending orders (orders_get), a sub-tab of the Positions tab ([E] 3).

Read from the account's worker with the open positions, only while the account is live; otherwise the
last list stays (the Positions tab's status line says how old it is)."""

from __future__ import annotations

from typing import Any

from ui.rows_table import RowsTable, fill

ORDER_COLUMNS = ("Ticket", "Symbol", "Type", "Volume", "Price", "SL", "TP", "Current", "Placed")
ORDER_TYPES = {2: "buy limit", 3: "sell limit", 4: "buy stop", 5: "sell stop", 6: "buy stop limit",
               7: "sell stop limit", 8: "close by"}


def order_rows(orders: list[dict[str, Any]]) -> list[list[str]]:
    from ui.positions_panel import local_time, price

    rows = []
    for o in sorted(orders, key=lambda o: float(o.get("time_setup_utc") or o.get("time_setup") or 0)):
        placed = (local_time(o.get("time_setup_utc")) if o.get("time_setup_utc")
                  else f"{local_time(o.get('time_setup'))} server")
        volume = float(o.get("volume_current") or o.get("volume_initial") or 0)
        rows.append([str(o.get("ticket") or ""), str(o.get("symbol") or ""),
                     ORDER_TYPES.get(int(o.get("type", -1)), str(o.get("type"))), f"{volume:g}",
                     price(o.get("price_open")), price(o.get("sl")), price(o.get("tp")),
                     price(o.get("price_current")), placed])
    return rows


def show_orders(t: RowsTable, orders: list[dict[str, Any]]) -> None:
    fill(t, order_rows(orders), {})
