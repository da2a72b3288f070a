"""The alert engine ([N]): the Desk's events → alerts (multi_user/alert_rules.py) → each channel's outbox
(app/alerts_fold.py) → apprise, on sender threads (app/alerts_channels.py).

The same engine runs in the GUI and the headless host (both drive a Desk). Nothing here blocks the GUI
thread or a lane: files are read on the Desk's I/O thread, messages are sent on two sender threads,
and the outboxes are only touched on the event loop. A channel that fails is retried with backoff; the
first failure of a streak is written to the activity log and alerted on the other channels, the
recovery is logged too. Every send (or failed try) is an ``alert_delivery`` event.

Settings (settings.json, re-read every few seconds, so `alerts settings` reaches a running app):
``alert_disconnect_after`` (s), ``alert_quiet_hours`` ('22:00-07:00' or ''), ``alert_zone`` (IANA name,
'' = this machine's zone), ``alert_rate_limit`` (messages per channel per 10 min), ``alert_fold_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QTimer

from app import alerts_channels as store
from app.alerts_fold import ChannelQueue, Pending, compose, pending_from_json, pending_to_json
from app.settings import load_settings
from multi_user.alert_rules import (
    DISCONNECT_AFTER_DEFAULT,
    Alert,
    AlertRules,
    describe_account,
    in_quiet_hours,
    owner_zone,
    parse_quiet_hours,
)

if TYPE_CHECKING:
    from app.desk import Desk

log = logging.getLogger("mt5desk.alerts")

ALERT_DEFAULTS: dict[str, Any] = {"alert_disconnect_after": DISCONNECT_AFTER_DEFAULT, "alert_quiet_hours": "",
                                  "alert_zone": "", "alert_rate_limit": 6, "alert_fold_seconds": 2.0}
PENDING_FILE = "alerts_pending.json"  # alerts not sent when the app stopped, sent (late) at the next start
RELOAD_EVERY = 3.0
STOP_WAIT = 5.0  # seconds the app's stop waits for alerts still being sent


@dataclass
class Channel:
    id: int
    masked: str
    label: str | None
    events: list[str] | None
    url: str = field(repr=False)
    queue: ChannelQueue = field(default_factory=ChannelQueue)
    failing: bool = False

    def wants(self, alert: Alert) -> bool:
        return self.events is None or alert.category in self.events or alert.category == "channel"

    @property
    def name(self) -> str:
        return f"#{self.id} {self.label or self.masked}"


class AlertEngine:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.rules = AlertRules(describe=self._describe)
        self.channels: dict[int, Channel] = {}
        self.settings: dict[str, Any] = dict(ALERT_DEFAULTS)
        self._pool: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inflight: set[asyncio.Future[Any]] = set()
        self._reloaded = 0.0
        self._stamp: tuple[Any, ...] | None = None
        self._timer = QTimer(desk)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(lambda: self.tick(time.time()))
        desk.event.connect(self.on_event)

    # ---- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alerts-send")
        await self.reload()
        for cid, items in (await self.desk.io(_take_pending, self.desk.data_dir / PENDING_FILE)).items():
            ch = self.channels.get(int(cid))
            for item in items if ch is not None else []:
                with contextlib.suppress(TypeError, ValueError, KeyError):
                    ch.queue.pending.append(pending_from_json(item))
        self._timer.start()

    async def stop(self) -> None:
        """Send what waits (without the fold pause), wait a little for the sends, end the senders."""
        self._timer.stop()
        if self._pool is None:
            return
        self.pump(time.time(), flush=True)
        if self._inflight:
            with contextlib.suppress(TimeoutError, Exception):
                await asyncio.wait_for(asyncio.gather(*self._inflight, return_exceptions=True), STOP_WAIT)
        pool, self._pool = self._pool, None
        pool.shutdown(wait=not self._inflight, cancel_futures=True)
        # what could not be sent (a channel down, quiet hours) waits on disk for the next start: a send
        # still running now may then arrive twice, which beats an alert lost
        left = {str(ch.id): [pending_to_json(p) for p in [*ch.queue.sending, *ch.queue.pending]]
                for ch in self.channels.values() if ch.queue.sending or ch.queue.pending}
        with contextlib.suppress(Exception):
            await self.desk.io(_keep_pending, self.desk.data_dir / PENDING_FILE, left)

    async def reload(self) -> None:
        """Channels (decrypted in memory only) and the alert settings, from disk on the I/O thread."""
        self._reloaded = time.time()
        try:
            stamp, settings, records = await self.desk.io(self._read, self._stamp)
        except Exception as exc:  # the key cannot be read: keep what we have
            log.warning("alert channels not re-read: %s", exc)
            return
        if stamp == self._stamp:
            return
        self._stamp = stamp
        self.settings = settings
        self.rules.disconnect_after = settings["alert_disconnect_after"]
        if records is None:  # an unreadable alerts.json (said once in the log): keep the channels we have
            return
        kept: dict[int, Channel] = {}
        for rec in records:
            ch = self.channels.get(rec["id"]) or Channel(rec["id"], rec["masked"], rec["label"], rec["events"],
                                                        rec["url"])
            ch.masked, ch.label, ch.events, ch.url = rec["masked"], rec["label"], rec["events"], rec["url"]
            ch.queue.fold_window = settings["alert_fold_seconds"]
            ch.queue.rate_limit = max(1, int(settings["alert_rate_limit"]))
            kept[ch.id] = ch
        self.channels = kept

    def _read(self, old: tuple[Any, ...] | None) -> tuple[tuple[Any, ...], dict[str, Any], list[dict[str, Any]] | None]:
        from multi_user.paths import settings_path

        stamp = tuple(_mtime(p) for p in (store.channels_path(self.desk.data_dir), settings_path(self.desk.data_dir)))
        if stamp == old:
            return stamp, self.settings, []
        settings = alert_settings(load_settings(self.desk.data_dir))
        try:
            stored = store.load_store(self.desk.data_dir)["channels"]
        except Exception as exc:
            log.warning("alert channels not re-read: %s", exc)
            return stamp, settings, None
        creds = self._credentials()
        records = []
        for rec in stored:
            try:
                url = creds.decrypt(rec["url_encrypted"])
            except Exception as exc:
                log.warning("alert channel #%s cannot be decrypted (%s); it is skipped", rec.get("id"), exc)
                continue
            records.append({**store.public(rec), "url": url})
        return stamp, settings, records

    def _credentials(self) -> Any:
        creds = getattr(getattr(self.desk, "_vault", None), "credentials", None)
        if creds is None:
            from multi_user.credentials import MT5CredentialManager

            creds = MT5CredentialManager(self.desk.data_dir)
        return creds

    # ---- events in -----------------------------------------------------------------------------
    def on_event(self, ev: dict[str, Any]) -> None:
        try:
            alerts = self.rules.on_event(ev, time.time())
        except Exception:  # an odd event must never break the Desk's signal
            log.exception("alert rules failed on a %s event", ev.get("event"))
            return
        for alert in alerts:
            self.raise_alert(alert)

    def raise_alert(self, alert: Alert, exclude: Channel | None = None) -> None:
        for ch in self.channels.values():
            if ch is not exclude and ch.wants(alert):
                ch.queue.add(alert)
        self.pump(time.time())

    def tick(self, now: float) -> None:
        for alert in self.rules.tick(now):
            self.raise_alert(alert)
        if now - self._reloaded >= RELOAD_EVERY and self._loop is not None and self._loop.is_running():
            self._reloaded = now
            self.desk._spawn(self.reload())
        self.pump(now)

    # ---- sending -------------------------------------------------------------------------------
    def zone(self) -> Any:
        return owner_zone(self.settings.get("alert_zone"))

    def quiet(self, now: float) -> bool:
        try:
            hours = parse_quiet_hours(self.settings.get("alert_quiet_hours"))
        except ValueError:
            return False
        return in_quiet_hours(now, hours, self.zone())

    def pump(self, now: float, flush: bool = False) -> None:
        if self._pool is None or self._loop is None:
            return  # not started: alerts wait in their outboxes
        quiet = self.quiet(now)
        for ch in list(self.channels.values()):
            batch = ch.queue.due(now, quiet, flush)
            if not batch:
                continue
            title, body, level = compose(batch, now, self.zone(), ch.queue.late_after)
            fut = self._loop.run_in_executor(self._pool, store.send, ch.url, title, body, level)
            self._inflight.add(fut)
            fut.add_done_callback(partial(self._sent, ch, batch, title))

    def _sent(self, ch: Channel, batch: list[Pending], title: str, fut: asyncio.Future[Any]) -> None:
        self._inflight.discard(fut)
        try:
            ok, reason = fut.result()
        except BaseException as exc:  # cancelled at the stop, or the sender itself broke
            ok, reason = False, f"not sent ({type(exc).__name__})"
        now = time.time()
        count = sum(p.count for p in batch)
        late = any(now - p.alert.ts > ch.queue.late_after for p in batch)
        base = {"event": "alert_delivery", "channel": ch.id, "masked": ch.masked, "title": title,
                "alerts": len(batch), "count": count, "late": late}
        if ok:
            ch.queue.succeeded(now)
            self.desk.emit({**base, "state": "sent", "message": ""})
            if ch.failing:
                ch.failing = False
                self.desk.log_activity({"kind": "notice", "level": "success", "title": f"Alert channel {ch.name} "
                                        "works again", "detail": f"sent {count} waiting alert(s)"})
        else:
            pause = ch.queue.failed(now)
            self.desk.emit({**base, "state": "failed", "message": reason, "retry_in": pause})
            if not ch.failing and self._pool is not None:
                ch.failing = True
                self.desk.log_activity({"kind": "failure", "level": "error", "title": f"Alert channel {ch.name} fails",
                                        "detail": f"{reason}; retrying with a growing pause (next in {pause:.0f} s), "
                                                  "the alerts wait"})
                self.raise_alert(Alert("channel", f"Alert channel {ch.name} fails", reason, now, None, "error"),
                                 exclude=ch)
        self.pump(now)

    # ---- owner's actions (Settings → Alerts) ----------------------------------------------------
    async def add_channel(self, url: str, events: list[str] | None = None, label: str | None = None) -> dict[str, Any]:
        rec = await self.desk.io(store.add_channel, self.desk.data_dir, self._credentials(), url, events, label)
        await self.reload()
        return rec

    async def remove_channel(self, channel_id: int) -> dict[str, Any]:
        rec = await self.desk.io(store.remove_channel, self.desk.data_dir, channel_id)
        await self.reload()
        return rec

    def list_channels(self) -> list[dict[str, Any]]:
        return [{"id": c.id, "masked": c.masked, "label": c.label, "events": c.events, "failing": c.failing}
                for c in sorted(self.channels.values(), key=lambda c: c.id)]

    async def test_channel(self, channel_id: int) -> tuple[bool, str]:
        """Send a test message now (not through the outbox); (ok, reason)."""
        ch = self.channels.get(channel_id)
        if ch is None or self._pool is None or self._loop is None:
            return False, "no such channel"
        title, body = test_message(self.zone())
        return await self._loop.run_in_executor(self._pool, store.send, ch.url, title, body, "info")

    def _describe(self, key: str) -> str:
        account = next((a for a in self.desk.accounts() if a.get("key") == key), None)
        return describe_account(account, key)


def alert_settings(loaded: dict[str, Any]) -> dict[str, Any]:
    """The alert settings from settings.json; a missing or hand-broken value is its default."""
    out = dict(ALERT_DEFAULTS)
    for key, default in ALERT_DEFAULTS.items():
        value = loaded.get(key)
        try:
            out[key] = type(default)(value) if value is not None else default
        except (TypeError, ValueError):
            log.warning("setting %s=%r is unusable; using %r", key, value, default)
    return out


def test_message(zone: Any) -> tuple[str, str]:
    from multi_user.alert_rules import format_time

    return ("MT5 Desk test alert", f"This channel works: MT5 Desk's alerts will arrive here.\nat "
                                   f"{format_time(time.time(), zone)}")


def _keep_pending(path: Any, left: dict[str, list[dict[str, Any]]]) -> None:
    from multi_user.json_file import write_atomic

    if left:
        write_atomic(path, left)
    else:
        path.unlink(missing_ok=True)


def _take_pending(path: Any) -> dict[str, list[dict[str, Any]]]:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    path.unlink(missing_ok=True)
    return {k: v for k, v in data.items() if isinstance(v, list)} if isinstance(data, dict) else {}


def _mtime(path: Any) -> tuple[float, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime, st.st_size
