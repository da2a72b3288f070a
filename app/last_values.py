"""The last values seen of every account (equity, floating P/L, margin, positions, ...) in
<data>/last_values.json, so a restart shows them with their age instead of invented zeros.

The history store keeps balance and equity only; this keeps the whole last snapshot. Blocking:
read and write on the Desk's I/O thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from multi_user.json_file import read_dict_of_dicts, write_atomic

LAST_VALUES_FILE = "last_values.json"
FIELDS = ("login", "server", "currency", "balance", "equity", "profit", "margin", "margin_free", "margin_level",
          "positions", "leverage", "connected", "last_tick_time", "taken_at", "ts",
          "margin_mode")  # [J]: the CLI's `copier add` refuses a netting follower of a hedging master with it


def keep(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The fields worth keeping of a snapshot (the worker's old name free_margin becomes margin_free)."""
    out = {f: snapshot[f] for f in FIELDS if snapshot.get(f) is not None}
    if "margin_free" not in out and snapshot.get("free_margin") is not None:
        out["margin_free"] = snapshot["free_margin"]
    return out


def load(data_dir: Path) -> dict[str, dict[str, Any]]:
    return read_dict_of_dicts(Path(data_dir) / LAST_VALUES_FILE)


def save(data_dir: Path, values: dict[str, dict[str, Any]]) -> None:
    write_atomic(Path(data_dir) / LAST_VALUES_FILE, values)


def merge(history_latest: dict[str, dict[str, Any]], stored: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per account the newer of the history's last point and the stored snapshot. A history point
    newer than the stored snapshot has no P/L or margin: those stay unknown (None), never 0."""
    out: dict[str, dict[str, Any]] = {}
    for key in {*history_latest, *stored}:
        h, s = history_latest.get(key), stored.get(key)
        if s is not None and (h is None or float(s.get("ts") or 0) >= float(h.get("ts") or 0)):
            out[key] = dict(s)
        elif h is not None:
            out[key] = {**h, "profit": None}
    return out
