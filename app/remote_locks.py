"""A host's shared-terminal lock and lanes as the desk shows them ([K] #18: every view works for a host's
accounts): the lock banner, the Terminals tab and the sidebar's padlock read these next to the local ones.

The host's ``lock`` events come over its link with the host's account keys; here they carry the desk's
names (``KEY@HOST``) and ``host``. What the desk knows of a host's lock is only as fresh as its link: while
the host is not online its lock is *unknown* (``known`` false, with ``offline_since``) — never the last
holder shown as if it still held the terminal; the next ``hello`` brings the host's real lock back.
"""

from __future__ import annotations

import time
from typing import Any

SHARED = "shared"
FREE: dict[str, Any] = {"holder": None, "queue": [], "switching": None}


def remote_key(key: str, host: str) -> str:
    return f"{key}@{host}"


def renamed_lock(lock: dict[str, Any], host: str) -> dict[str, Any]:
    """A host's lock event with the desk's account names and ``host``."""
    out = {**FREE, **lock, "host": host, "known": True}
    if isinstance(out.get("holder"), dict) and out["holder"].get("account"):
        out["holder"] = {**out["holder"], "account": remote_key(out["holder"]["account"], host)}
    out["queue"] = [{**q, "account": remote_key(q["account"], host)} for q in out.get("queue") or []
                    if isinstance(q, dict) and q.get("account")]
    if isinstance(out.get("switching"), str):
        out["switching"] = remote_key(out["switching"], host)
    return out


def unknown_lock(status: dict[str, Any]) -> dict[str, Any]:
    """The lock of a host that is not online, from its link's ``host`` event: nobody shown as holding it,
    why, and since when it was last seen."""
    return {"event": "lock", **FREE, "host": status.get("host"), "known": False, "state": status.get("state"),
            "offline_since": status.get("offline_since"), "message": status.get("message")}


def host_lock(name: str, link: Any) -> dict[str, Any]:
    if link.state != "online":
        return unknown_lock(link.status())
    return renamed_lock(link.locks.get(SHARED) or {"event": "lock"}, name)


def unknown_text(lock: dict[str, Any], now: float | None = None) -> str:
    """'unknown: host vps1 is offline, last seen 21:40:12 (42 s ago)' for a lock with ``known`` false."""
    seen = lock.get("offline_since")
    if seen:
        age = max(0.0, (now or time.time()) - float(seen))
        when = time.strftime("%H:%M:%S", time.localtime(float(seen)))
        return f"unknown: host {lock.get('host')} is {lock.get('state')}, last seen {when} ({age:.0f} s ago)"
    return f"unknown: host {lock.get('host')} is {lock.get('state')} (not reached yet)"


def host_lanes(name: str, link: Any) -> list[dict[str, Any]]:
    """The host's lanes as rows of the Terminals tab: ``lane`` is ``LANE@HOST`` (the panel's buttons act
    on this machine's lanes only), the shared one with the host's lock; unknown while it is offline."""
    known = link.state == "online"
    out = []
    for lane_name, lane in link.lanes.items():
        row: dict[str, Any] = {"lane": remote_key(lane_name, name), "host": name, "host_lane": lane_name,
                               "folder": lane.get("folder"), "known": known,
                               "accounts": [remote_key(k, name) for k in lane.get("accounts") or []],
                               "terminal": lane.get("terminal"), "worker": lane.get("worker")}
        if not known:
            row["unknown"] = unknown_text(unknown_lock(link.status()))
        if lane_name == SHARED:
            row["lock"] = host_lock(name, link)
        out.append(row)
    return out
