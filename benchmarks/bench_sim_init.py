"""How long ``sim init`` takes to make the demo world (the test suite and the demo make it often).

    .venv/bin/python benchmarks/bench_sim_init.py [--runs 5] [--history-days 90]

Median wall time of ``control.init_world`` into a fresh folder, with and without the accounts' past.
Prints the figures and writes benchmarks/results/sim_init.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _results import write_results

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from multi_user.mt5sim import control  # noqa: E402


def once(days: int | None) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        if days is None:
            control.init_world(Path(tmp) / "sim")
        else:
            control.init_world(Path(tmp) / "sim", history_days=days)
        return time.perf_counter() - start


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--history-days", type=int, default=90)
    args = p.parse_args()
    results = {}
    for label, days in (("no_past", 0), (f"past_{args.history_days}_days", args.history_days)):
        runs = [once(days) for _ in range(args.runs)]
        results[label] = {"median_s": round(statistics.median(runs), 3), "runs": [round(r, 3) for r in runs]}
        print(f"sim init, {label:>14}: {results[label]['median_s'] * 1000:6.0f} ms (median of {args.runs})")
    write_results("sim_init", results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
