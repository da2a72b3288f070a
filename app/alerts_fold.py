"""One channel's outbox ([N] 3), pure (time passed in): folding, rate limit, quiet hours, retry, late.

- An alert waits ``fold_window`` seconds before it goes out; identical alerts raised meanwhile (and
  until it is sent) fold into it with a count, so a burst of 50 is one message "(×50)".
- Everything ready goes out together as one message (a digest when there are several).
- At most ``rate_limit`` messages per ``rate_window`` seconds; what waits meanwhile folds and goes out
  in the next message. Critical alerts are not held by the rate limit.
- In quiet hours only critical alerts go out; the others wait for the end of the quiet hours.
- A failed send puts its alerts back and retries after a pause doubling from 5 s to 15 min; an alert
  sent more than ``late_after`` seconds after it was raised is marked late (the network was down,
  quiet hours held it).
- At most ``max_pending`` different alerts wait; the oldest non-critical ones are dropped (counted).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from multi_user.alert_rules import Alert, format_time

BACKOFF = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0)


@dataclass
class Pending:
    alert: Alert
    count: int = 1
    last: float = 0.0  # when the newest identical alert was raised


@dataclass
class ChannelQueue:
    fold_window: float = 2.0
    rate_limit: int = 6
    rate_window: float = 600.0
    late_after: float = 120.0
    max_pending: int = 200
    backoff: tuple[float, ...] = BACKOFF
    pending: list[Pending] = field(default_factory=list)
    sending: list[Pending] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    failures: int = 0  # consecutive failed sends
    retry_at: float = 0.0
    dropped: int = 0

    def add(self, alert: Alert) -> None:
        for p in self.pending:  # one being sent is not changed under the sender: a new one starts
            if p.alert.fold_key == alert.fold_key:
                p.count += 1
                p.last = alert.ts
                return
        self.pending.append(Pending(alert, 1, alert.ts))
        while len(self.pending) > self.max_pending:
            victim = next((p for p in self.pending if not p.alert.critical), self.pending[0])
            self.pending.remove(victim)
            self.dropped += victim.count

    @property
    def busy(self) -> bool:
        return bool(self.sending)

    def due(self, now: float, quiet: bool = False, flush: bool = False) -> list[Pending]:
        """What to send now (moved to ``sending``), or [] (nothing ready, a send running, waiting)."""
        if self.sending or now < self.retry_at:
            return []
        ready = [p for p in self.pending if (flush or now - p.alert.ts >= self.fold_window)
                 and (p.alert.critical or not quiet)]
        if not ready:
            return []
        self.sent_at = [t for t in self.sent_at if now - t < self.rate_window]
        if len(self.sent_at) >= self.rate_limit and not flush:
            ready = [p for p in ready if p.alert.critical]
            if not ready:
                return []
        self.pending = [p for p in self.pending if p not in ready]
        self.sending = ready
        return ready

    def succeeded(self, now: float) -> None:
        self.sending = []
        self.sent_at.append(now)
        self.failures = 0
        self.retry_at = 0.0

    def failed(self, now: float) -> float:
        """The send failed: its alerts wait again (folding with any new identical ones); returns the pause."""
        back = list(self.sending)
        self.sending = []
        for p in back:
            same = next((q for q in self.pending if q.alert.fold_key == p.alert.fold_key), None)
            if same is not None:
                same.count += p.count
                same.alert = p.alert  # the oldest raise time: lateness counts from the first
            else:
                self.pending.insert(0, p)
        pause = self.backoff[min(self.failures, len(self.backoff) - 1)]
        self.failures += 1
        self.retry_at = now + pause
        return pause


def pending_to_json(p: Pending) -> dict[str, Any]:
    return {"alert": asdict(p.alert), "count": p.count, "last": p.last}


def pending_from_json(d: dict[str, Any]) -> Pending:
    return Pending(Alert(**d["alert"]), int(d["count"]), float(d["last"]))


def compose(batch: list[Pending], now: float, zone: ZoneInfo | None,
            late_after: float = 120.0) -> tuple[str, str, str]:
    """(title, body, level) of one message for a batch: the alert itself, or a digest."""
    worst = max(batch, key=lambda p: _RANK.get(p.alert.level, 1)).alert.level
    lines = [_line(p, now, zone, late_after) for p in batch]
    if len(batch) == 1:
        p = batch[0]
        late = now - p.alert.ts > late_after
        title = ("[late] " if late else "") + p.alert.title + (f" (×{p.count})" if p.count > 1 else "")
        return title, lines[0], worst
    total = sum(p.count for p in batch)
    late = any(now - p.alert.ts > late_after for p in batch)
    title = ("[late] " if late else "") + f"MT5 Desk: {total} alerts"
    return title, "\n\n".join(f"• {p.alert.title}" + (f" (×{p.count})" if p.count > 1 else "") + f"\n{ln}"
                              for p, ln in zip(batch, lines, strict=True)), worst


def _line(p: Pending, now: float, zone: ZoneInfo | None, late_after: float) -> str:
    a = p.alert
    text = a.body
    when = format_time(a.ts, zone)
    if p.count > 1:
        text += f"\n{p.count} times, first at {when}, last at {format_time(p.last, zone)}"
    else:
        text += f"\nat {when}"
    if now - a.ts > late_after:
        text += f" (sent late, at {format_time(now, zone)})"
    return text


_RANK = {"info": 0, "success": 0, "warning": 1, "error": 2}
