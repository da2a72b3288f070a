"""Where a benchmark's figures go: benchmarks/results/NAME.json, with when and where they were measured."""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def write_results(name: str, **fields: Any) -> Path:
    out = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "python": platform.python_version(), "platform": platform.platform(), **fields}
    dest = ROOT / "benchmarks" / "results" / f"{name}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {dest.relative_to(ROOT)}")
    return dest
