"""Plain-words helpers shared by the command line and the window."""

from __future__ import annotations


def age(seconds: float, compact: bool = True) -> str:
    """How old something is: '45s', '12m', '3h', '2d' (or '45 s', '12 min', … when not compact)."""
    seconds = max(0.0, seconds)
    for limit, div, short, long in ((60, 1, "s", " s"), (3600, 60, "m", " min"), (86400, 3600, "h", " h")):
        if seconds < limit:
            return f"{seconds / div:.0f}{short if compact else long}"
    return f"{seconds / 86400:.0f}{'d' if compact else ' days'}"
