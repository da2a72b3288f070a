"""The Desk's per-position actions and reads for the Positions tab ([E] 3, 5): close one position (a job
through the lock, like close-all), the pending orders of a live account, and the CSV exports the
command line writes (`accounts history --csv`, `accounts trades --csv`), written on the I/O thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.deals_sync import FETCH_TIMEOUT
from app.lock import VIEWING
from multi_user.deal_time import server_to_utc
from multi_user.errors import BadInput

if TYPE_CHECKING:
    from app.desk import Desk

EXPORTS = ("history", "trades")


def close_outcome(answer: dict[str, Any]) -> tuple[bool, str, dict[str, Any], list[int]]:
    """(ok, message, result, retcodes) of a close_position answer, the retcode in the words."""
    closed, failed = int(answer.get("closed", 0)), int(answer.get("failed", 0))
    retcodes = [int(c) for c in answer.get("retcodes") or []]
    last = f" (retcode {retcodes[-1]})" if retcodes else ""
    what = f"{answer.get('symbol') or ''} #{answer.get('ticket')}".strip()
    result = {"closed": closed, "failed": failed, "ticket": answer.get("ticket")}
    if failed or not closed:
        return False, "could not close " + "; ".join(answer.get("messages") or [what]), result, retcodes
    return True, f"closed {what}{last}", result, retcodes


class PositionOps:
    def close_position(self: Desk, key: str, ticket: int) -> None:
        """Queue a job that closes one position of the account (it logs in first if it must)."""
        lane = self.lane_of(key)
        if lane is not None and key in lane.accounts:
            lane.lock.run_job(key, "close_position", {"ticket": int(ticket)})

    async def pending_orders(self: Desk, key: str) -> list[dict[str, Any]] | None:
        """The account's pending orders from its worker, or None when it is not live on its lane now."""
        lane = self.lane_of(key)
        holder = lane.lock.holder if lane is not None else None
        live = (self._states.get(key) or {}).get("state") == "live"
        if lane is None or holder is None or (holder.account, holder.reason) != (key, VIEWING) or not live \
                or self.deals.busy(key):
            return None
        orders = list(await lane.worker.request("orders", timeout=FETCH_TIMEOUT) or [])
        offset = (await self.io(lambda: self._history_reader().deals.fetch_args(key))).get("offset")
        for o in orders:  # server wall-clock time to UTC once, here ([B2])
            o["time_setup_utc"] = (server_to_utc(float(o.get("time_setup") or 0), int(offset))
                                   if offset is not None else None)
        return orders

    async def export_csv(self: Desk, key: str, what: str, start: float | None, end: float | None,
                         path: str) -> int:
        """Write what `accounts history|trades --csv` writes for the range; returns the data rows written."""
        from app.commands.history_cmd import _write as write_text
        from app.commands.history_cmd import history_csv, trades_csv

        if what not in EXPORTS:
            raise BadInput(f"unknown export {what!r}: one of {', '.join(EXPORTS)}", field="export")

        def write() -> int:
            text = (history_csv if what == "history" else trades_csv)(self._history_reader(), key, start, end)
            write_text(path, text)
            return max(0, text.count("\n") - 1)

        return await self.io(write)
