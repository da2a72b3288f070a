"""Which Desk events become an alert for the owner away from the desk ([N] 2), pure: no Qt, no I/O,
time passed in.

Rules (each alert names the account, what happened and the figures; its time is told by the sender):
- ``guard``: one alert per crossing into ``warning`` or ``breached`` (a breach is critical); nothing while
  the account is unguarded, nothing for the same level again.
- ``activity`` entries of the hard stop ("Hard stop on …": fired, run again, positions may still be
  open) and the end of a hard stop's close-all (all closed): category ``hard_stop``, critical when an
  error (fired, or failed).
- ``job`` that ended ``failed`` (any job but the link check), or a close-all ``done`` that left positions
  open: category ``job``, with the reason and the retcodes.
- ``account_state``: a live account that stays down (``disconnected``, ``stale``, ``offline``, and what
  follows while it reconnects) for ``disconnect_after`` seconds raises one ``disconnect`` alert
  (from ``tick``); its return to ``live`` raises one recovery alert. An account the owner switched away
  from (``idle``/``waiting``) is not down.
- ``terminal``/``worker`` in state ``failed`` (the supervisor gave up restarting it): ``terminal``.
- ``alert`` events (the margin warning, and what [J] copier, [I] bots, [K] hosts emit): category = their
  ``kind``; ``critical: true`` in the event makes the alert critical.

Critical alerts go out in quiet hours too (app/alerts_fold.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

CATEGORIES = ("guard", "hard_stop", "job", "disconnect", "terminal", "margin", "copier", "bot", "host", "channel")
DOWN_STATES = ("disconnected", "stale", "offline")
AWAY_STATES = ("idle", "waiting")  # the owner switched to another account: not a failure
DISCONNECT_AFTER_DEFAULT = 30.0


@dataclass(frozen=True)
class Alert:
    category: str  # what a channel subscribes to (one of CATEGORIES, or a newer event kind)
    title: str
    body: str
    ts: float  # when it was raised (UTC epoch)
    account: str | None = None
    level: str = "warning"  # info / success / warning / error
    critical: bool = False  # sent in quiet hours too

    @property
    def fold_key(self) -> str:
        """Identical alerts (same what and where) fold into one message with a count."""
        return f"{self.category}|{self.account}|{self.title}|{self.body}"


Describe = Callable[[str], str]


@dataclass
class AlertRules:
    """The alert rules with their memory (levels seen, accounts down); feed events, tick every second."""

    disconnect_after: float = DISCONNECT_AFTER_DEFAULT
    describe: Describe = str  # account key -> "Label (login, server)"
    _guard_level: dict[str, str] = field(default_factory=dict)
    _state: dict[str, str] = field(default_factory=dict)
    _down: dict[str, tuple[float, str]] = field(default_factory=dict)  # key -> (since, why)
    _alerted_down: dict[str, float] = field(default_factory=dict)  # key -> since (down alert sent)
    _stopping: set[str] = field(default_factory=set)  # accounts whose hard stop fired
    _host_down: dict[str, float] = field(default_factory=dict)  # host -> when its outage was alerted

    def on_event(self, ev: dict[str, Any], now: float) -> list[Alert]:
        kind = ev.get("event")
        handler = _HANDLERS.get(str(kind))
        return handler(self, ev, now) if handler else []

    # ---- handlers ------------------------------------------------------------------------------
    def _guard(self, ev: dict[str, Any], now: float) -> list[Alert]:
        key, level = str(ev.get("account")), str(ev.get("level") or "ok")
        if ev.get("coverage") == "unguarded":
            return []
        was = self._guard_level.get(key, "ok")
        self._guard_level[key] = level
        if level == was or level not in ("warning", "breached"):
            return []
        breach = level == "breached"
        words = "breached a loss floor" if breach else "is near a loss floor"
        figures = (f"equity {_money(ev.get('equity'))}, balance {_money(ev.get('balance'))}; "
                   f"daily floor {_money(ev.get('daily_floor'))} (room {_money(ev.get('daily_headroom'))}), "
                   f"total floor {_money(ev.get('total_floor'))} (room {_money(ev.get('total_headroom'))})")
        if ev.get("hard_stop"):
            figures += "; hard stop armed"
        return [Alert("guard", f"{self.describe(key)} {words}", figures, now, key,
                      "error" if breach else "warning", critical=breach)]

    def _activity(self, ev: dict[str, Any], now: float) -> list[Alert]:
        title = str(ev.get("title") or "")
        if ev.get("kind") != "alert" or not title.startswith("Hard stop on"):
            return []
        key = ev.get("account")
        error = ev.get("level") == "error"
        if key and title.endswith("closing all positions"):
            self._stopping.add(str(key))
        if key and "may still be open" in title:
            self._stopping.discard(str(key))
        return [Alert("hard_stop", title, str(ev.get("detail") or ""), now, key,
                      "error" if error else "warning", critical=error)]

    def _job(self, ev: dict[str, Any], now: float) -> list[Alert]:
        key, state, job = ev.get("account"), ev.get("state"), str(ev.get("job") or "job")
        result = ev.get("result") if isinstance(ev.get("result"), dict) else {}
        left_open = int(result.get("failed") or 0) if job == "close_all" else 0
        who = self.describe(str(key)) if key else "an account"
        if key and job == "close_all" and str(key) in self._stopping and state in ("done", "failed", "cancelled"):
            if state == "done" and not left_open:
                self._stopping.discard(str(key))
                return [Alert("hard_stop", f"Hard stop on {who}: all positions closed",
                              f"closed {int(result.get('closed') or 0)} position(s); no order is sent for it "
                              "until the next reset or a re-arm", now, key, "success", critical=True)]
            return []  # the guard runs it again or gives up: its activity entries tell that
        if job == "verify" or not (state == "failed" or (state == "done" and left_open)):
            return []
        name = {"close_all": "Close all", "flatten_all": "Flatten all"}.get(job, job.replace("_", " ").capitalize())
        reason = str(ev.get("message") or state)
        if left_open:
            reason = f"{left_open} position(s) still open" + (f": {reason}" if ev.get("message") else "")
        retcodes = ev.get("retcodes") or []
        body = reason + (f" (retcodes {', '.join(str(r) for r in retcodes)})" if retcodes else "")
        return [Alert("job", f"{name} on {who} failed", body, now, key, "error")]

    def _account_state(self, ev: dict[str, Any], now: float) -> list[Alert]:
        key, state = str(ev.get("account")), str(ev.get("state"))
        was = self._state.get(key)
        self._state[key] = state
        if state in DOWN_STATES:
            if key not in self._down and (was == "live" or was in DOWN_STATES):
                self._down[key] = (float(ev.get("ts") or now), str(ev.get("message") or state))
            elif key in self._down:
                self._down[key] = (self._down[key][0], str(ev.get("message") or state))
            return []
        if state == "live":
            self._down.pop(key, None)
            since = self._alerted_down.pop(key, None)
            if since is None:
                return []
            return [Alert("disconnect", f"{self.describe(key)} is live again",
                          f"back after {_duration(now - since)} down", now, key, "success")]
        if state in AWAY_STATES:
            self._down.pop(key, None)
            self._alerted_down.pop(key, None)
        return []  # connecting, auth_error, mismatch: a down account stays down

    def _accounts(self, ev: dict[str, Any], now: float) -> list[Alert]:
        """An unlinked account is forgotten: no outage alert for an account that is gone."""
        linked = {str(a.get("key")) for a in ev.get("accounts") or [] if isinstance(a, dict)}
        for memory in (self._down, self._alerted_down, self._state, self._guard_level):
            for key in set(memory) - linked:
                memory.pop(key, None)
        return []

    def _lane(self, ev: dict[str, Any], now: float) -> list[Alert]:
        if ev.get("state") != "failed":
            return []
        lane = str(ev.get("lane") or "")
        owner = lane.removeprefix("dedicated ")
        where = "The shared terminal" if lane == "shared" else f"The terminal of {self.describe(owner)}"
        what = "terminal" if ev.get("event") == "terminal" else "worker"
        why = ev.get("message") or "no reason given"
        return [Alert("terminal", f"{where} gave up restarting",
                      f"its {what} crashed {ev.get('restarts') or 0} time(s): {why}; restart it from the Terminals tab",
                      now, None if lane == "shared" else owner, "error")]

    def _alert(self, ev: dict[str, Any], now: float) -> list[Alert]:
        key = ev.get("account")
        category = str(ev.get("kind") or "alert")
        title = str(ev.get("title") or category)
        return [Alert(category, title, str(ev.get("message") or ""), now, key, str(ev.get("level") or "warning"),
                      critical=bool(ev.get("critical")))]

    def _copy(self, ev: dict[str, Any], now: float) -> list[Alert]:
        """[J] a trade the copier did not copy (the copier says each skip once until its reason changes); a
        failed copy order ends its `copy` job failed, which _job alerts."""
        if ev.get("action") != "skip":
            return []
        follower, master = str(ev.get("follower") or ev.get("account") or ""), str(ev.get("master") or "")
        what = f"{ev.get('symbol')} #{ev.get('master_position')}" if ev.get("master_position") else "its trades"
        return [Alert("copier", f"{self.describe(follower)} did not copy {what} of {self.describe(master)}",
                      str(ev.get("reason") or "skipped"), now, follower or None, "warning")]

    def _host(self, ev: dict[str, Any], now: float) -> list[Alert]:
        """[K] a remote host whose link dropped or was refused, once per outage, and its return."""
        host, state = str(ev.get("host") or ""), str(ev.get("state") or "")
        if not host or ev.get("event") != "host":
            return []
        if state in ("offline", "refused") and host not in self._host_down:
            self._host_down[host] = now
            return [Alert("host", f"Host {host} is {state}", str(ev.get("message") or state) +
                          "; its terminals run on by themselves", now, None, "error")]
        if state == "online" and host in self._host_down:
            since = self._host_down.pop(host)
            return [Alert("host", f"Host {host} is online again", f"back after {_duration(now - since)}", now,
                          None, "success")]
        return []

    # ---- the clock -----------------------------------------------------------------------------
    def tick(self, now: float) -> list[Alert]:
        """Accounts down for ``disconnect_after`` seconds: one alert each (per outage)."""
        out = []
        for key, (since, why) in list(self._down.items()):
            if key in self._alerted_down or now - since < self.disconnect_after:
                continue
            self._alerted_down[key] = since
            out.append(Alert("disconnect", f"{self.describe(key)} is down",
                             f"{why} (for {_duration(now - since)})", now, key, "error"))
        return out


_HANDLERS: dict[str, Callable[[AlertRules, dict[str, Any], float], list[Alert]]] = {
    "guard": AlertRules._guard, "activity": AlertRules._activity, "job": AlertRules._job,
    "account_state": AlertRules._account_state, "terminal": AlertRules._lane, "worker": AlertRules._lane,
    "alert": AlertRules._alert, "accounts": AlertRules._accounts, "copy": AlertRules._copy, "host": AlertRules._host,
}


# ---- words and times ------------------------------------------------------------------------------
def describe_account(account: dict[str, Any] | None, key: str) -> str:
    """'Label (login, server)', or 'login, server' without a label."""
    if not account:
        login, _, server = key.partition("@")
        return f"{login}, {server}" if server else key
    where = f"{account.get('login')}, {account.get('server')}"
    return f"{account['label']} ({where})" if account.get("label") else where


def owner_zone(name: str | None) -> ZoneInfo | None:
    """The owner's zone: an IANA name, or None for this machine's local zone."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def format_time(ts: float, zone: ZoneInfo | None) -> str:
    """'2026-11-25 19:02:05 CET' in the owner's zone (this machine's zone when none is set)."""
    dt = datetime.fromtimestamp(ts, UTC).astimezone(zone) if zone else datetime.fromtimestamp(ts).astimezone()
    return dt.strftime("%Y-%m-%d %H:%M:%S %Z").strip()


def parse_quiet_hours(text: str | None) -> tuple[dtime, dtime] | None:
    """'22:00-07:00' -> (22:00, 07:00); '' or 'off' -> None. ValueError for anything else."""
    text = (text or "").strip().lower()
    if text in ("", "off", "none"):
        return None
    try:
        start, end = (dtime.fromisoformat(p.strip()) for p in text.split("-"))
    except ValueError:
        raise ValueError(f"quiet hours are HH:MM-HH:MM (e.g. 22:00-07:00) or 'off', not {text!r}") from None
    if start == end:
        raise ValueError("quiet hours must start and end at different times")
    return start, end


def in_quiet_hours(ts: float, hours: tuple[dtime, dtime] | None, zone: ZoneInfo | None) -> bool:
    if hours is None:
        return False
    dt = datetime.fromtimestamp(ts, UTC).astimezone(zone) if zone else datetime.fromtimestamp(ts).astimezone()
    t, (start, end) = dt.time().replace(tzinfo=None), hours
    return start <= t < end if start < end else (t >= start or t < end)


def _money(v: Any) -> str:
    return "unknown" if v is None else f"{float(v):,.2f}"


def _duration(seconds: float) -> str:
    s = max(0, int(seconds))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"
