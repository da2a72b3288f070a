"""Settings in <data>/settings.json. Unknown keys are kept (other parts, e.g. cloud sync, add theirs)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from multi_user.paths import settings_path

log = logging.getLogger("mt5desk.settings")

DEFAULTS: dict[str, Any] = {
    "base_install": None,  # terminal64.exe (or its folder) copied for new portable terminals
    "shared_terminal": None,  # the shared lane's terminal; None: the backend's default
    "snapshot_rate": 1.0,  # seconds between snapshots of a live account
    "sweep_enabled": False,  # visit idle shared accounts for a fresh snapshot (brokers flag login storms)
    "sweep_min_minutes": 30,  # at least this long between two sweep logins of one account
    "theme": "light",
    "base_currency": "",  # the portfolio total converted to this currency ("" : per currency only)
    "margin_warning_level": 150.0,  # percent: warn when an account's margin level falls below
    "demo_linked": False,  # the simulator's demo accounts were linked once on first start
    "overview_range": "30d",  # the overview tiles' statistics period (app/overview_stats.py RANGES)
}


def load_settings(data_dir: Path) -> dict[str, Any]:
    path = settings_path(data_dir)
    stored: dict[str, Any] = {}
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(stored, dict):
            raise ValueError("not an object")
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        log.warning("settings file %s is unreadable (%s); using defaults", path, exc)
        stored = {}
    return {**DEFAULTS, **stored}


def save_settings(data_dir: Path, settings: dict[str, Any]) -> None:
    """Atomic replace, merged over what is on disk so keys written by other parts survive."""
    path = settings_path(data_dir)
    merged = {**load_settings(data_dir), **settings}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)
