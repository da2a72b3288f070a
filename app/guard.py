"""The equity guard ([H] 2): prop-firm rules (multi_user/rules.py) applied to live snapshots.

Per guarded account it keeps the day's anchor (the reference at the reset), the trailing peaks and the
hard stop's block in <data>/guard.json (app/guard_store.py), so a restart keeps them, and emits a
``guard`` event (docs/ARCHITECTURE.md) when what it shows changes. The decisions are pure
(``advance`` here, the model in multi_user/rules.py); the Guard only feeds them and acts.

Coverage is explicit: the day's reference can only be read at the reset, so ``coverage`` says
``live`` (anchored at the reset while connected), ``late`` (the app was not connected at the reset:
the anchor is the first value seen after it, the daily floor may differ from the firm's) or
``unguarded`` (the account is not live now: nothing is checked).
Hard stop (opt-in per account): once the acting level is reached, a flatten job (close all positions,
delete the pending orders: app/flatten.py) runs through the lane's lock and the account is marked
blocked until the next reset or until the owner re-arms it (``accounts rules set`` again, or the
rules dialog's Re-arm). A run that leaves positions open is run again (STOP_TRIES runs in all), then
reported as an error alert with its retcodes. ``is_blocked`` is what order paths ask
(app/flatten.submit refuses any job that could open a position on a blocked account).
A ``risk`` event ([H] 7) follows each change of state (ok/warning/breached/unguarded) or of the block.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from app import guard_store
from multi_user import rules as rm
from multi_user.servertime import learn_offset

if TYPE_CHECKING:
    from app.desk import Desk

log = logging.getLogger("mt5desk.guard")

COVER_GAP = 120.0  # a snapshot this close before the reset: the app was connected at the reset
EMIT_EVERY = 5.0  # headroom alone changing: at most one guard event per account this often
SAVE_EVERY = 10.0
RELOAD_EVERY = 5.0  # rules.json re-read (the command line may have changed it)
# a reset moved by an hour (the server's offset changed with DST, or is not learned yet after a
# restart) is the same day, not a new one: days are ~24 h apart, DST shifts ±1 h
NEW_DAY_AFTER = 12 * 3600.0
STOP_TRIES = 3  # a hard stop's close_all that leaves positions open is run again, this many runs in all
SHOWN = ("level", "coverage", "blocked", "daily_floor", "total_floor", "next_reset", "act")


def advance(r: rm.Rules, s: rm.GuardState | None, balance: float, equity: float, now: float,
            offset: int | None, last_seen: float | None) -> rm.GuardState:
    """The state after a snapshot at ``now``: a new day when a reset passed since the anchor."""
    reset_at = rm.last_reset(r, now, offset)
    covered = last_seen is not None and reset_at - COVER_GAP <= last_seen <= reset_at
    if s is None:
        return rm.initial_state(r, balance, equity, reset_at, covered=covered)
    if reset_at - s.day_start >= NEW_DAY_AFTER:
        return rm.start_day(r, s, balance, equity, reset_at, covered=covered)
    return rm.observe(r, s, balance, equity)


def guard_event(key: str, r: rm.Rules, s: rm.GuardState, v: rm.Verdict, coverage: str,
                balance: float, equity: float) -> dict[str, Any]:
    return {"event": "guard", "account": key, "preset": r.preset, **v.to_json(), "reset_zone": r.reset_zone,
            "reset_time": r.reset_time, "coverage": coverage, "blocked": s.blocked,
            "hard_stop": r.hard_stop, "balance": balance, "equity": equity,
            "objectives": rm.objectives(r, s, balance)}


def money_of(r: rm.Rules) -> list[Any]:
    """The rules a state's anchors and peaks depend on (JSON-shaped, compared with guard.json's)."""
    return [r.initial, r.total_mode, r.total_pct, r.total_lock, r.daily_ref]


def risk_state(ev: dict[str, Any]) -> str:
    return "unguarded" if ev.get("coverage") == "unguarded" else str(ev.get("level") or "ok")


def risk_event(ev: dict[str, Any]) -> dict[str, Any]:
    """[H] 7: the ``risk`` event (a state change), with the fields of ``accounts rules status``."""
    nxt = ev.get("next_reset")
    return {"event": "risk", "account": ev["account"], "state": risk_state(ev),
            "next_reset_utc": datetime.fromtimestamp(float(nxt), UTC).isoformat() if nxt else None,
            **{f: ev.get(f) for f in ("preset", "reset_zone", "reset_time", "daily_floor", "total_floor",
                                      "daily_headroom", "daily_headroom_pct", "total_headroom",
                                      "total_headroom_pct", "coverage", "blocked", "objectives")}}


class Guard:
    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.rules: dict[str, rm.Rules] = {}
        self.armed_at: dict[str, float] = {}
        self.states: dict[str, rm.GuardState] = {}
        self.blocked_at: dict[str, float] = {}
        self.last: dict[str, dict[str, Any]] = {}  # last guard event per account
        self._seen: dict[str, float] = {}  # when each account's last snapshot was taken (this run)
        self._offsets: dict[str, int] = {}
        self._emitted: dict[str, float] = {}
        self._dirty = False
        self._saved = self._reloaded = 0.0
        self._loaded = False
        self._made_with: dict[str, list[Any]] = {}  # the money rules each stored state was made with
        self._stopping: dict[str, int] = {}  # account -> close_all runs the hard stop started
        signal = getattr(desk, "event", None)
        if signal is not None:  # the job's end tells whether the flatten worked (retried if not)
            signal.connect(self.on_event)

    # ---- files (I/O thread) -------------------------------------------------------------------
    async def load(self) -> None:
        stored = await self.desk.io(guard_store.load_guard, self.desk.data_dir)
        for key, rec in stored.items():
            with contextlib.suppress(TypeError, ValueError, KeyError):
                self.states[key] = rm.GuardState.from_json(rec["state"])
                if rec.get("blocked_at") is not None:
                    self.blocked_at[key] = float(rec["blocked_at"])
                if isinstance(rec.get("last"), dict):
                    self.last[key] = rec["last"]
                if isinstance(rec.get("money"), list):
                    self._made_with[key] = rec["money"]
        self._apply_rules(await self.desk.io(guard_store.load_rules, self.desk.data_dir))
        self._loaded = True

    def _apply_rules(self, stored: dict[str, dict[str, Any]]) -> None:
        rules: dict[str, rm.Rules] = {}
        for key, rec in stored.items():
            try:
                rules[key] = rm.Rules.from_json(rec["rules"])
            except Exception as exc:  # a hand-edited file: that account is unguarded, the others go on
                log.warning("rules of %s are unusable (%s); not guarding it", key, exc)
                continue
            old = self.rules.get(key)
            # other money rules (changed now, or while no app ran: guard.json says which it was made with):
            # anchors and peaks start again, the old verdict goes
            was = money_of(old) if old is not None else self._made_with.get(key)
            if was is not None and was != money_of(rules[key]):
                self.states.pop(key, None)
                self.last.pop(key, None)
            armed = float(rec.get("armed_at") or 0.0)
            if key in self.states and self.states[key].blocked and armed > self.blocked_at.get(key, 0.0):
                self.states[key] = replace(self.states[key], blocked=False)  # the owner re-armed it
                self.blocked_at.pop(key, None)
                self._dirty = True
            self.armed_at[key] = armed
        for key in set(self.rules) - set(rules):
            self.last.pop(key, None)
        self.rules = rules

    def _record(self) -> dict[str, dict[str, Any]]:
        return {k: {"state": s.to_json(), "blocked_at": self.blocked_at.get(k), "last": self.last.get(k),
                    "money": money_of(self.rules[k]) if k in self.rules else self._made_with.get(k)}
                for k, s in self.states.items()}

    def save(self) -> None:
        """Write guard.json now (blocking: the I/O thread, or the Desk's stop). Never before the
        stored state was read: a start that failed early must not wipe the anchors."""
        if not self._loaded:
            return
        guard_store.save_guard(self.desk.data_dir, self._record())

    def _save_soon(self, now: float, urgent: bool = False) -> None:
        self._dirty = True
        if urgent or now - self._saved >= SAVE_EVERY:
            self._saved, self._dirty = now, False
            record = self._record()
            self.desk._spawn(self.desk.io(guard_store.save_guard, self.desk.data_dir, record))

    def is_blocked(self, key: str) -> bool:
        """The hard stop acted: MT5 Desk sends no order for this account until it is re-armed."""
        s = self.states.get(key)
        return bool(s and s.blocked)

    # ---- snapshots and the clock (GUI thread, no blocking) ------------------------------------
    def on_snapshot(self, key: str, snap: dict[str, Any]) -> None:
        r = self.rules.get(key)
        if r is None or not self._loaded or snap.get("restored"):
            return
        balance, equity = float(snap.get("balance") or 0.0), float(snap.get("equity") or 0.0)
        now = float(snap.get("taken_at") or snap.get("ts") or time.time())
        if snap.get("last_tick_time"):
            offset = learn_offset(float(snap["last_tick_time"]), now)
            if offset is not None:
                self._offsets[key] = offset
        old = self.states.get(key)
        s = advance(r, old, balance, equity, now, self._offsets.get(key), self._seen.get(key))
        self._seen[key] = now
        v = rm.evaluate(r, s, equity, now, self._offsets.get(key))
        if r.hard_stop and v.act and not s.blocked:
            s = replace(s, blocked=True)
            self.blocked_at[key] = time.time()
            self._hard_stop(key, v)
        self.states[key] = s
        ev = guard_event(key, r, s, v, "live" if s.covered else "late", balance, equity)
        self._publish({**ev, "server_offset": self._offsets.get(key)}, now)
        if s is not old:
            self._save_soon(time.time(), urgent=old is None or s.day_start != old.day_start
                            or s.blocked != old.blocked)

    def _hard_stop(self, key: str, v: rm.Verdict) -> None:
        who = self.desk.name_of(key)
        self.desk.log_activity({"kind": "alert", "level": "error", "account": key,
                                "title": f"Hard stop on {who}: closing all positions and deleting pending orders",
                                "detail": f"equity reached the acting level (daily floor {v.daily_floor}, total floor "
                                          f"{v.total_floor}); no order is sent for it until the next reset or a "
                                          "re-arm (accounts rules set)"})
        self._stopping[key] = 1
        self.desk.flatten(key, priority=True)  # [H] 5: ahead of the queue

    def on_event(self, ev: dict[str, Any]) -> None:
        """A hard stop's close_all ended: done, or run again (up to STOP_TRIES runs), or given up loudly."""
        key = ev.get("account")
        if ev.get("event") != "job" or ev.get("job") not in ("close_all", "flatten") or key not in self._stopping:
            return
        if ev.get("state") not in ("done", "failed", "cancelled"):
            return
        result = ev.get("result") or {}
        if ev.get("state") == "done" and not int(result.get("failed") or 0):
            self._stopping.pop(key, None)
            return
        tries = self._stopping[key]
        who = self.desk.name_of(key)
        if tries >= STOP_TRIES or ev.get("state") == "cancelled":  # cancelled: the owner or a quit stopped it
            self._stopping.pop(key, None)
            self.desk.log_activity({"kind": "alert", "level": "error", "account": key,
                                    "title": f"Hard stop on {who}: positions may still be open",
                                    "detail": f"close all ended {tries} time(s) without closing everything "
                                              f"({ev.get('message') or ev.get('state')}, retcodes "
                                              f"{ev.get('retcodes') or []}): close them in the terminal"})
            return
        self._stopping[key] = tries + 1
        self.desk.log_activity({"kind": "alert", "level": "warning", "account": key,
                                "title": f"Hard stop on {who}: closing again (run {tries + 1} of {STOP_TRIES})",
                                "detail": f"the last run ended {ev.get('state')}: {ev.get('message') or ''}"})
        self.desk.flatten(key, priority=True)  # [H] 5: ahead of the queue

    def _publish(self, ev: dict[str, Any], now: float) -> None:
        key = ev["account"]
        prev = self.last.get(key)
        changed = prev is None or any(prev.get(f) != ev.get(f) for f in SHOWN)
        if not changed and now - self._emitted.get(key, 0.0) < EMIT_EVERY:
            return
        if prev is None or prev.get("level") != ev["level"] or prev.get("coverage") != ev["coverage"]:
            self._alert(ev, prev)
        self._emitted[key] = now
        self.last[key] = ev
        self.desk.emit(dict(ev))
        if prev is None or risk_state(prev) != risk_state(ev) or bool(prev.get("blocked")) != bool(ev.get("blocked")):
            self.desk.emit(risk_event(ev))

    def _alert(self, ev: dict[str, Any], prev: dict[str, Any] | None) -> None:
        """One activity entry per crossing (warning, breach, unguarded), not one per snapshot."""
        who, key = self.desk.name_of(ev["account"]), ev["account"]
        was = (prev or {}).get("level", "ok")
        if ev["level"] != was and ev["level"] in ("warning", "breached") and ev["coverage"] != "unguarded":
            words = "breached a loss floor" if ev["level"] == "breached" else "is near a loss floor"
            self.desk.log_activity({"kind": "alert", "level": "error" if ev["level"] == "breached" else "warning",
                                    "account": key, "title": f"{who} {words}",
                                    "detail": f"daily room {_money(ev.get('daily_headroom'))}, total room "
                                              f"{_money(ev.get('total_headroom'))}"})
        if ev["coverage"] == "unguarded" and (prev or {}).get("coverage") not in (None, "unguarded"):
            self.desk.log_activity({"kind": "alert", "level": "warning", "account": key,
                                    "title": f"{who} is unguarded while it is not live",
                                    "detail": "its loss floors are not checked until it is live again"})
        if ev["coverage"] == "late" and (prev or {}).get("coverage") != "late":
            self.desk.log_activity({"kind": "alert", "level": "warning", "account": key,
                                    "title": f"{who}: not connected at the day's reset",
                                    "detail": "today's reference is the first value seen after the reset; "
                                              "the firm's daily floor may differ"})

    def check(self, now: float, states: dict[str, dict[str, Any]]) -> None:
        """Every second: accounts not live are unguarded; rules.json re-read now and then."""
        if not self._loaded:
            return
        if now - self._reloaded >= RELOAD_EVERY:
            self._reloaded = now
            self.desk._spawn(self._reload())
        for key, r in self.rules.items():
            live = (states.get(key) or {}).get("state") == "live"
            prev = self.last.get(key)
            if live or (prev is not None and prev.get("coverage") == "unguarded"):
                continue
            s = self.states.get(key)
            base = dict(prev) if prev else {"event": "guard", "account": key, "preset": r.preset,
                                            "level": "ok", "blocked": bool(s and s.blocked)}
            base["blocked"] = bool(s and s.blocked)
            with contextlib.suppress(Exception):
                base["next_reset"] = rm.next_reset(r, now, self._offsets.get(key))
            self._publish({**base, "coverage": "unguarded", "ts": now}, now)
        if self._dirty:
            self._save_soon(now)

    async def _reload(self) -> None:
        with contextlib.suppress(Exception):
            self._apply_rules(await self.desk.io(guard_store.load_rules, self.desk.data_dir))


def _money(v: Any) -> str:
    return "unknown" if v is None else f"{float(v):,.2f}"
