"""The Desk's handling of each snapshot a lane delivers: the live values, health and guard fed, the last
values kept across restarts, the vault's last-known values recorded now and then, and the values of an
account that no longer holds the shared terminal let go. A mixin of app/desk.Desk."""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from app import last_values

if TYPE_CHECKING:
    from app.desk import Desk
    from app.lanes import Lane

log = logging.getLogger("mt5desk.desk")
RECORD_EVERY = 30.0  # seconds between last-known-value writes to the vault, per account


class SnapshotOps:
    def _on_snapshot(self: Desk, key: str, data: dict[str, Any]) -> None:
        ev = {"event": "snapshot", "account": key, **data}
        self._snapshots[key] = ev
        lane = self.lane_of(key)
        if lane is self.shared and lane is not None and (lane.lock.holder is None or lane.lock.holder.account != key):
            self._unheld_snapshot(lane, key)
        self.store.add(key, float(ev.get("ts") or time.time()), float(data.get("balance") or 0.0),
                         float(data.get("equity") or 0.0), str(data.get("currency") or ""))
        self.health.on_snapshot(key, ev)
        self.guard.on_snapshot(key, ev)
        if lane is not None:
            self.deals.on_snapshot(key, lane)  # [E] 1: fetch its deals now and then while live
        self.emit(ev)
        now = time.monotonic()
        if now - self._last_values_saved > RECORD_EVERY:
            self._last_values_saved = now
            with contextlib.suppress(RuntimeError):
                self._io.submit(self._save_last_values)
        if now - self._recorded.get(key, 0.0) > RECORD_EVERY and self._vault is not None:
            self._recorded[key] = now
            login, server = key.split("@", 1)
            self._io.submit(self._record_quietly, int(login), server, data)

    def _unheld_snapshot(self: Desk, lane: Lane, key: str) -> None:
        """Values of an account that does not hold the shared terminal: a cancelled login that landed
        after all, or a finished sweep visit. Stop watching it (never while another login runs)."""
        if key in self._cancelled:
            self._cancelled.discard(key)
            self.log_activity({"kind": "switch", "level": "warning", "account": key,
                               "title": f"The cancelled login of {self.name_of(key)} landed on the terminal",
                               "detail": "the terminal was already logging it in; MT5 Desk stopped watching it "
                                         "and no order is sent for it"})
        if lane.lock.holder is None and lane.worker.running:
            self._spawn(self._release_quietly(lane))

    async def _release_quietly(self: Desk, lane: Lane) -> None:
        with contextlib.suppress(Exception):
            await lane.worker.request("release")

    def _save_last_values(self: Desk) -> None:
        try:
            last_values.save(self.data_dir, {k: last_values.keep(v) for k, v in list(self._snapshots.items())})
        except OSError as exc:
            log.warning("could not save the last values: %s", exc)

    def _record_quietly(self: Desk, login: int, server: str, data: dict[str, Any]) -> None:
        try:
            self._vault.record_snapshot(login, server, balance=float(data.get("balance") or 0.0),
                                        equity=float(data.get("equity") or 0.0),
                                        currency=str(data.get("currency") or ""), ts=float(data.get("ts") or 0.0))
        except Exception as exc:  # an unlinked account or a busy vault: the history keeps the value
            log.debug("could not record last values of %s@%s: %s", login, server, exc)
