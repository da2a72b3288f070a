"""The copier's markers on the sidebar's rows ([J] 4): "Copies Main" on a follower, "Master of 2" on a
master, each with a tooltip naming the other side and the link's state (copying, paused, not copying
and why, the last trades skipped and why). Read by ui/sidebar.py from ``model.copier_markers``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Marker = tuple[str, str]  # (text on the row, tooltip)


def link_state(link: Any, view: dict[str, Any]) -> tuple[str, str]:
    """(short state, the reason in full) of one link as the copier last saw it."""
    skipped = dict(view.get("skipped") or {})
    if link.paused:
        return "paused", "paused (Copier tab → Resume)"
    if skipped.get("link"):
        return "not copying", f"not copying: {skipped['link']}"
    if view.get("error"):
        return "error", f"copying, last error: {view['error']}"
    return "copying", "copying"


def _skips(view: dict[str, Any]) -> list[str]:
    trades = [(t, why) for t, why in dict(view.get("skipped") or {}).items() if t != "link"]
    return [f"  skipped #{t}: {why}" for t, why in trades[-3:]]


def _short(name: str) -> str:
    """The row has little room: the master's label without the login the tooltip names anyway."""
    return re.sub(r" \(\d+\)$", "", name)


def copier_markers(copier: Any, name_of: Callable[[str], str]) -> dict[str, Marker]:
    if copier is None:
        return {}
    out: dict[str, Marker] = {}
    followers: dict[str, list[str]] = {}
    for lk in copier.links:
        view = copier.views.get(lk.follower, {})
        state, full = link_state(lk, view)
        text = f"Copies {_short(name_of(lk.master))}" + ("" if state == "copying" else f" ({state})")
        out[lk.follower] = (text, "\n".join([f"Follows {name_of(lk.master)} ({lk.master}) — trade copier",
                                             f"Link: {full}", *_skips(view)]))
        followers.setdefault(lk.master, []).append(f"  {name_of(lk.follower)}: {full}")
    for master, lines in followers.items():
        if master in out:  # never both (copier add refuses it); keep the follower's marker if a file says so
            continue
        out[master] = (f"Master of {len(lines)}", "\n".join(["Trade copier master; its trades are copied to:",
                                                             *lines]))
    return out
