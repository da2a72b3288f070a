"""Flatten ([H] 6): close every position AND delete every pending order of an account, as a ``flatten``
job through its lane's lock; "flatten all" does it for every account that can trade. Dedicated lanes run
in parallel (each has its own lock), shared accounts one after another through the shared lock;
read-only (investor) accounts and accounts without a running lane are listed as skipped.

Also the one gate every job goes through on its way to a lock (``submit``): a job that could open a
position on an account the hard stop blocked is refused with the reason and how to lift the block.
Only jobs that never open a position (close, flatten, the credentials check, a reset visit) pass a block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.desk import Desk

# jobs that never open a position: never refused on a blocked account (a reset visit reads the values that
# lift a daily block at the reset)
NEVER_OPENS = frozenset({"close_all", "flatten", "verify", "reset_visit", "close_position"})


def close_outcome(answer: dict[str, Any]) -> tuple[bool, dict[str, Any], list[int], str]:
    """(ok, result, retcodes, message) of a worker's close_all answer (with ``deleted`` when it flattened)."""
    closed, failed = int(answer.get("closed", 0)), int(answer.get("failed", 0))
    result: dict[str, Any] = {"closed": closed, "failed": failed}
    if "deleted" in answer:
        result["deleted"] = int(answer["deleted"])
    return not failed, result, list(answer.get("retcodes") or []), result_text(result, answer.get("messages"))


def result_text(result: dict[str, Any], messages: list[str] | None = None) -> str:
    """"closed 3 position(s), deleted 2 order(s), 1 failed: …" """
    text = f"closed {int(result.get('closed') or 0)} position(s)"
    if "deleted" in result:
        text += f", deleted {int(result['deleted'])} order(s)"
    if int(result.get("failed") or 0):
        text += f", {int(result['failed'])} failed" + (": " + "; ".join(messages) if messages else "")
    return text


def refusal(desk: Desk, key: str, kind: str) -> str | None:
    """Why ``kind`` may not run on ``key`` now (None: it may)."""
    guard = getattr(desk, "guard", None)
    if kind in NEVER_OPENS or guard is None or not guard.is_blocked(key):
        return None
    return (f"{desk.name_of(key)} is blocked by its hard stop: MT5 Desk sends no order that could open a position "
            "until the day resets. To lift it now re-arm it (Prop-firm rules… → Re-arm, or `accounts rules set`).")


def submit(desk: Desk, key: str, kind: str, priority: bool = False) -> str | None:
    """Queue job ``kind`` on ``key``'s lane; the reason it was refused or could not be queued, else None."""
    why = refusal(desk, key, kind)
    lane = desk.lane_of(key)
    if why is None and (lane is None or key not in lane.accounts):
        why = f"{desk.name_of(key)} has no running terminal lane"
    if why is not None:
        desk.emit({"event": "error", "account": key, "job": kind, "message": why})
        return why
    lane.lock.run_job(key, kind, priority=priority)  # type: ignore[union-attr]
    return None


def tradeable(desk: Desk, keys: list[str] | None = None) -> tuple[list[str], list[tuple[str, str]]]:
    """(accounts flatten all acts on, [(account, why skipped)]), in the owner's order."""
    wanted = set(keys) if keys is not None else None
    act: list[str] = []
    skipped: list[tuple[str, str]] = []
    for a in desk.accounts():
        key = a["key"]
        if wanted is not None and key not in wanted:
            continue
        lane = desk.lane_of(key)
        if a.get("investor"):
            skipped.append((key, "read-only (investor password): it cannot trade"))
        elif lane is None or key not in lane.accounts:
            skipped.append((key, "no running terminal lane"))
        else:
            act.append(key)
    return act, skipped


def flatten_all(desk: Desk, keys: list[str] | None = None) -> dict[str, Any]:
    """Queue a flatten job on each tradeable account (``keys``: only these). {"queued", "skipped"}."""
    act, skipped = tradeable(desk, keys)
    queued = []
    for key in act:
        why = submit(desk, key, "flatten")
        if why is None:
            queued.append(key)
        else:
            skipped.append((key, why))
    desk.log_activity({"kind": "job", "level": "warning" if skipped else "info",
                       "title": f"Flatten: {len(queued)} account(s) queued" + (f", {len(skipped)} skipped" if skipped
                                                                                 else ""),
                       "detail": "; ".join(f"{desk.name_of(k)}: {why}" for k, why in skipped)})
    return {"queued": queued, "skipped": skipped}
