"""Small JSON files that survive a crash: written to a temporary name, fsynced, then renamed over the
old one (a crash leaves the old file or the new one, never half of one); read back tolerantly."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger("mt5desk.json_file")


def read_dict_of_dicts(path: Path) -> dict[str, dict[str, Any]]:
    """``{key: {...}}`` from ``path``; a missing file is empty, an unreadable one is said in the log."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("%s is unreadable (%s); starting without it", path, exc)
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def write_atomic(path: Path, data: Any) -> None:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
