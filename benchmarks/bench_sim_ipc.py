"""The simulator's call overhead through its IPC, so later work can tell app overhead from simulator overhead.

    .venv/bin/python benchmarks/bench_sim_ipc.py [--runs 5] [--seconds 1.0]

Measures, in a throwaway world: calls per second of ``version()`` (pure IPC round trip),
``symbol_info_tick()`` (a quote), ``account_info()`` (the call the app polls: account row,
open positions valued at current quotes) and ``positions_get()``; the median of several runs.
Also the cost of the builtin-like wrapping alone (``last_error()`` through the wrapper against the
bare function, in process), since IPC figures on a shared machine vary by more than that cost.
Prints the figures and writes benchmarks/results/sim_ipc.json.
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

import multi_user.mt5sim as mt5  # noqa: E402
from multi_user.mt5sim import control  # noqa: E402


def rate(fn, seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        n += 1
        if n % 50 == 0 and time.perf_counter() >= deadline:
            break
    return n / (time.perf_counter() - start)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--seconds", type=float, default=1.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "sim"
        control.init_world(world)
        control.use_world(world)
        acc = next(a for a in control.demo_accounts(world) if a["login"] == 51001013)  # 2 open positions
        try:
            assert mt5.initialize(login=acc["login"], password=acc["password"], server=acc["server"]), mt5.last_error()
            calls = {"version": mt5.version, "symbol_info_tick": lambda: mt5.symbol_info_tick("EURUSD"),
                     "account_info": mt5.account_info, "positions_get": mt5.positions_get}
            results = {}
            for name, fn in calls.items():
                assert fn() is not None, mt5.last_error()
                runs = [rate(fn, args.seconds) for _ in range(args.runs)]
                results[name] = {"median_calls_per_s": round(statistics.median(runs), 1),
                                 "median_us_per_call": round(1e6 / statistics.median(runs), 1),
                                 "runs": [round(r, 1) for r in runs]}
                print(f"{name:>17}: {results[name]['median_calls_per_s']:>8.0f} calls/s "
                      f"({results[name]['median_us_per_call']:.0f} µs/call, median of {args.runs})")
            wrapped, bare = mt5.last_error, mt5.last_error.__wrapped__
            w = statistics.median(rate(wrapped, args.seconds / 4) for _ in range(args.runs))
            b = statistics.median(rate(bare, args.seconds / 4) for _ in range(args.runs))
            results["builtin_wrapper"] = {"overhead_ns_per_call": round((1 / w - 1 / b) * 1e9, 1),
                                          "share_of_account_info_pct": round(
                                              (1 / w - 1 / b) * 1e6 / results["account_info"]["median_us_per_call"]
                                              * 100, 3)}
            print(f"  builtin wrapper: {results['builtin_wrapper']['overhead_ns_per_call']:.0f} ns/call "
                  f"({results['builtin_wrapper']['share_of_account_info_pct']:.3f}% of an account_info call)")
        finally:
            mt5.shutdown()
            control.stop_all_terminals(world)
    write_results("sim_ipc", runs=args.runs, seconds_per_run=args.seconds, open_positions=2, results=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
