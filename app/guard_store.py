"""Where the equity guard keeps its files ([H]): <data>/rules.json (the owner's rules per account,
written by ``accounts rules`` and the window) and <data>/guard.json (the guard's state per account:
day anchors, trailing peaks, the block, the last verdict; written by the running app only).

Small JSON files, written atomically (temp file + os.replace) so a crash leaves the old or the new
file, never half of one. Blocking: call on the Desk's I/O thread or from the command line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from multi_user.json_file import read_dict_of_dicts, write_atomic

RULES_FILE = "rules.json"
GUARD_FILE = "guard.json"


def load_rules(data_dir: Path) -> dict[str, dict[str, Any]]:
    """key -> {"rules": Rules.to_json(), "armed_at": epoch seconds of the last set/re-arm}."""
    return read_dict_of_dicts(Path(data_dir) / RULES_FILE)


def save_rules(data_dir: Path, rules: dict[str, dict[str, Any]]) -> None:
    write_atomic(Path(data_dir) / RULES_FILE, rules)


def load_guard(data_dir: Path) -> dict[str, dict[str, Any]]:
    """key -> {"state": GuardState.to_json(), "blocked_at": float|None, "last": the last guard event}."""
    return read_dict_of_dicts(Path(data_dir) / GUARD_FILE)


def save_guard(data_dir: Path, guard: dict[str, dict[str, Any]]) -> None:
    write_atomic(Path(data_dir) / GUARD_FILE, guard)
