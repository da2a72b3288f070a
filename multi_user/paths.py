"""Where MT5 Desk keeps its files. Everything the app writes lives under one data dir."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ENV_DATA_DIR = "MT5DESK_DATA_DIR"


def resolve_data_dir(arg: str | os.PathLike[str] | None = None) -> Path:
    """--data-dir, else $MT5DESK_DATA_DIR, else the platform's user data folder. Created if missing."""
    raw = arg or os.environ.get(ENV_DATA_DIR) or platformdirs.user_data_dir("MT5 Desk", appauthor=False)
    path = Path(raw).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def vault_path(data_dir: Path) -> Path:
    return data_dir / "vault.sqlite3"


def vault_marker_path(data_dir: Path) -> Path:
    """Written once the vault is set up: an empty vault next to it was truncated, not new."""
    return data_dir / "vault.initialised"


def key_file_path(data_dir: Path) -> Path:
    return data_dir / "encryption.key"


def old_keys_path(data_dir: Path) -> Path:
    """Earlier keys kept after `key import` (one per line, 0600), used only to decrypt."""
    return data_dir / "encryption.old-keys"


def logs_dir(data_dir: Path) -> Path:
    return data_dir / "logs"


def sim_world_dir(data_dir: Path) -> Path:
    return data_dir / "sim"


def terminals_dir(data_dir: Path) -> Path:
    """Portable terminal folders of dedicated lanes live here unless the owner points elsewhere."""
    return data_dir / "terminals"


def history_path(data_dir: Path) -> Path:
    return data_dir / "history.sqlite3"


def settings_path(data_dir: Path) -> Path:
    return data_dir / "settings.json"
