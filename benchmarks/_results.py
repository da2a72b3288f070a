"""Where a benchmark's figures go: benchmarks/results/NAME.json, with when and where they were measured.

Every file also says how fast the machine was while it ran (``machine``): this box is a shared virtual
machine, and the same code measured 1.5x slower one night than the next morning with the load average
alike. What moved was time the host took back (``steal``) and the speed of a core, neither of which the
load average shows. So each result carries the share of the two cores that was stolen, busy and idle
over the run, read from /proc/stat, and a calibration: the median time of a fixed piece of pure Python,
timed as the figures are written. Compare figures across runs only with their calibrations side by side.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _cpu_ticks() -> list[int] | None:
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None  # not Linux: the calibration alone says how fast the machine was


_START = _cpu_ticks()  # the benchmark imports this module as it starts


def _workload() -> float:
    t0 = time.perf_counter()
    total = 0
    for i in range(60_000):
        total += (i * 7) % 13
    d = {str(i): i for i in range(2_000)}
    total += sum(d.values())
    return time.perf_counter() - t0


def calibration_ms(repeat: int = 9) -> float:
    """Median time of a fixed pure-Python workload (~4 ms on this box when quiet and fast). Run for 50 ms
    first: an idle virtual core timed at once measured up to twice as slow."""
    warm_until = time.perf_counter() + 0.05
    while time.perf_counter() < warm_until:
        _workload()
    return round(statistics.median(_workload() for _ in range(repeat)) * 1000, 3)


def machine_state() -> dict[str, Any]:
    """The machine's speed and load over the run so far (see the module docstring)."""
    out: dict[str, Any] = {"calibration_ms": calibration_ms(),
                           "load_average": [round(x, 2) for x in os.getloadavg()]}
    end = _cpu_ticks()
    if _START and end:
        delta = [b - a for a, b in zip(_START, end, strict=True)]
        total = sum(delta[:8]) or 1  # user nice system idle iowait irq softirq steal
        out["cpu_share_over_run"] = {"busy": round(sum(delta[0:3] + delta[5:7]) / total, 3),
                                     "idle": round(sum(delta[3:5]) / total, 3),
                                     "steal": round(delta[7] / total, 3)}
    return out


def write_results(name: str, **fields: Any) -> Path:
    machine = machine_state()
    out = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "python": platform.python_version(), "platform": platform.platform(), "machine": machine, **fields}
    dest = ROOT / "benchmarks" / "results" / f"{name}.json"
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=2) + "\n")
    share = machine.get("cpu_share_over_run", {})
    print(f"machine: calibration {machine['calibration_ms']} ms, load {machine['load_average']}, "
          f"over the run busy {share.get('busy', '?')} / idle {share.get('idle', '?')} / "
          f"steal {share.get('steal', '?')} of the cores")
    print(f"wrote {dest.relative_to(ROOT)}")
    return dest
