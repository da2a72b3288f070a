"""Where the equity guard keeps its files ([H]): <data>/rules.json (the owner's rules per account,
written by ``accounts rules`` and the window) and <data>/guard.json (the guard's state per account:
day anchors, trailing peaks, the block, the last verdict; written by the running app only).

Small JSON files, written atomically (temp file + os.replace) so a crash leaves the old or the new
file, never half of one. Blocking: call on the Desk's I/O thread or from the command line.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("mt5desk.guard")

RULES_FILE = "rules.json"
GUARD_FILE = "guard.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); starting without it", path, exc)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _write(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def load_rules(data_dir: Path) -> dict[str, dict[str, Any]]:
    """key -> {"rules": Rules.to_json(), "armed_at": epoch seconds of the last set/re-arm}."""
    return _read(Path(data_dir) / RULES_FILE)


def save_rules(data_dir: Path, rules: dict[str, dict[str, Any]]) -> None:
    _write(Path(data_dir) / RULES_FILE, rules)


def load_guard(data_dir: Path) -> dict[str, dict[str, Any]]:
    """key -> {"state": GuardState.to_json(), "blocked_at": float|None, "last": the last guard event}."""
    return _read(Path(data_dir) / GUARD_FILE)


def save_guard(data_dir: Path, guard: dict[str, dict[str, Any]]) -> None:
    _write(Path(data_dir) / GUARD_FILE, guard)
