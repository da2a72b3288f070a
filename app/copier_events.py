"""The copier's ``copy`` events and a copy job's summary (docs/ARCHITECTURE.md, event table)."""

from __future__ import annotations

from typing import Any

from multi_user.copy_model import CopyLink

VERBS = {"open": "opened", "add": "added to", "close": "closed", "partial": "partly closed", "sltp": "SL/TP set",
         "place": "placed", "modify": "modified", "remove": "removed"}


def copy_event(lk: CopyLink, *, action: str, reason: str | None = None, **fields: Any) -> dict[str, Any]:
    ev: dict[str, Any] = {"event": "copy", "master": lk.master, "follower": lk.follower, "account": lk.follower,
                          "action": action, "master_position": None, "symbol": None, "volume": None,
                          "retcode": None, "latency_ms": None, "reason": reason, "ok": action == "skip"}
    ev.update(fields)
    return ev


def summary(results: list[dict[str, Any]]) -> tuple[bool, str, dict[str, Any], list[int]]:
    """A copy job's outcome from its actions: (ok, message, result, retcodes)."""
    counts: dict[str, int] = {}
    failed, retcodes, parts = 0, [], []
    for r in results:
        if r.get("kind") == "skip":
            counts["skipped"] = counts.get("skipped", 0) + 1
            continue
        if r.get("retcode") is not None:
            retcodes.append(int(r["retcode"]))
        if r.get("ok"):
            verb = VERBS.get(str(r.get("kind")), str(r.get("kind")))
            counts[verb] = counts.get(verb, 0) + 1
            parts.append(f"{verb} {float(r.get('volume') or 0):g} {r.get('symbol')}")
        else:
            failed += 1
            parts.append(f"{r.get('kind')} {r.get('symbol')} failed: {r.get('message') or r.get('retcode')}")
    message = "; ".join(parts) or "the follower mirrors its master"
    return not failed, message, {**counts, "failed": failed}, retcodes
