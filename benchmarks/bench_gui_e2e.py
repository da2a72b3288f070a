"""GUI end to end on the simulator ([P] 4): the real window (offscreen is fine) on a real Desk whose lanes run
as processes: 8 dedicated accounts, each on its own simulated terminal with its own worker, streaming
snapshots at 2 Hz, and a switch storm on the shared lane (the shared terminal switched between two accounts
every second through Desk.activate, as a click in the sidebar does). A 5 ms QTimer records the gaps between
its ticks; a gap far over 5 ms is a stall of the GUI thread's event loop. Each gap's GUI-thread CPU time is
recorded too: on a loaded machine part of a gap is other processes' turn (18 processes here on 2 cores).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_gui_e2e.py [--seconds 20] [--dedicated 8]
        [--rate 2] [--switch-every 1] [--profile N] [--guard-ms MS] [--trace-ms MS]
    # --profile N: the GUI thread's top N cProfile entries; --guard-ms: the stall guard's stack per stall
    # --trace-ms MS: after the run, per gap over MS, every thread's CPU and run-queue wait, Qt's events (_gap_trace.py)

Target: longest stall <= 16 ms (one frame at 60 Hz). Prints target and miss, writes
benchmarks/results/gui_e2e.json. The synthetic-source version at a larger scale is bench_gui_load.py.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

TARGET_MS = 16.0


class Counter:
    """Snapshots per account and completed switches, from the Desk's events."""

    def __init__(self, desk: Any) -> None:
        self.snapshots: dict[str, int] = {}
        self.waiting: dict[str, asyncio.Future[None]] = {}
        desk.event.connect(self._on_event)

    def _on_event(self, ev: dict[str, Any]) -> None:
        if ev.get("event") != "snapshot" or ev.get("restored"):
            return
        key = ev.get("account")
        self.snapshots[key] = self.snapshots.get(key, 0) + 1
        fut = self.waiting.pop(key, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def first_snapshot(self, key: str, timeout: float) -> bool:
        fut = self.waiting[key] = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(fut, timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self.waiting.pop(key, None)


async def all_streaming(counter: Counter, keys: list[str], timeout: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if all(counter.snapshots.get(k) for k in keys):
            return True
        await asyncio.sleep(0.1)
    return False


async def storm(desk: Any, counter: Counter, keys: list[str], until: float, every: float) -> tuple[int, list[float]]:
    """Activate the shared accounts in turn every ``every`` s; count the switches whose snapshot came."""
    loop = asyncio.get_running_loop()
    done, took = 0, []
    i = 0
    while loop.time() < until:
        started = loop.time()
        key = keys[i % len(keys)]
        desk.activate(key)
        if await counter.first_snapshot(key, timeout=max(0.1, until - started)):
            done += 1
            took.append(loop.time() - started)
        i += 1
        await asyncio.sleep(max(0.0, started + every - loop.time()))
    return done, took


def main() -> int:
    from bench_gui_load import GapProbe, app_gc, gap_trace, print_profile, profile_options, qt_loop, report, stall_guard

    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--dedicated", type=int, default=8)
    p.add_argument("--rate", type=float, default=2.0, help="snapshots per second per account")
    p.add_argument("--switch-every", type=float, default=1.0)
    profile_options(p)
    args = p.parse_args()

    from _results import write_results
    from lane_harness import link_accounts

    from app.desk import Desk
    from app.settings import save_settings
    from multi_user.mt5sim import control
    from ui.main_window import MainWindow

    trace = gap_trace(args.trace_ms)
    loop = qt_loop()
    collector = app_gc()
    prof = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        world = data_dir / "sim"
        control.ensure_world(world)
        demo = control.demo_accounts(world)
        if len(demo) < args.dedicated + 2:
            raise SystemExit(f"the demo world has {len(demo)} accounts: {args.dedicated} dedicated and 2 shared "
                             "do not fit")
        chosen = demo[:args.dedicated + 2]
        dedicated = {f"{a['login']}@{a['server']}" for a in chosen[2:]}
        keys = link_accounts(data_dir, chosen, dedicated=dedicated)
        shared = [k for k in keys if k not in dedicated]
        save_settings(data_dir, {"snapshot_rate": 1.0 / args.rate})
        desk = Desk(data_dir, "sim")
        counter = Counter(desk)
        window = MainWindow(desk)
        window.resize(1400, 860)
        window.show()
        probe = GapProbe()
        guard = stall_guard(args.guard_ms)

        async def run() -> dict[str, Any]:
            lp = asyncio.get_running_loop()
            t_start = lp.time()
            await window.start_desk()
            collector.freeze()  # as ui/launch.py does once the Desk has started
            ready = await all_streaming(counter, sorted(dedicated), timeout=120)
            started_s = round(lp.time() - t_start, 1)
            await asyncio.sleep(1.0)  # the window settles (history reads after the first values)
            before = dict(counter.snapshots)
            t0 = lp.time()
            probe.start()
            if guard:
                guard.start()
            if trace:
                trace.start()
            if prof:
                prof.enable()
            switches, took = await storm(desk, counter, shared, t0 + args.seconds, args.switch_every)
            if prof:
                prof.disable()
            probe.stop()
            if guard:
                guard.stop()
            if trace:
                trace.stop()
                print(trace.report(probe.gaps, probe.at, probe.cpu))
            elapsed = lp.time() - t0
            figures = probe.figures(time.perf_counter() - elapsed)
            streamed = {k: counter.snapshots.get(k, 0) - before.get(k, 0) for k in sorted(dedicated)}
            await window.shutdown()
            await desk.stop()
            took_ms = sorted(t * 1000 for t in took)
            return {"all_dedicated_streaming": ready, "start_to_all_streaming_s": started_s,
                    "measured_s": round(elapsed, 1), "switches": switches,
                    "switch_median_ms": round(took_ms[len(took_ms) // 2], 1) if took_ms else None,
                    "dedicated_snapshots": sum(streamed.values()),
                    "dedicated_snapshots_expected": int(args.rate * elapsed * len(dedicated)),
                    "fewest_snapshots_of_one_account": min(streamed.values(), default=0), **figures}

        try:
            result = loop.run_until_complete(run())
        finally:
            window.close()
            loop.close()
            collector.stop()
            control.stop_all_terminals(world)
    result = {"dedicated": args.dedicated, "rate_hz": args.rate, "switch_every_s": args.switch_every,
              "seconds": args.seconds, "load_average": [round(x, 2) for x in os.getloadavg()], **result}
    print_profile(prof, args.profile)
    print(report("longest event-loop stall", result["max_stall_ms"], TARGET_MS))
    print(report("p99 gap", result["p99_gap_ms"], TARGET_MS))
    print(f"(of which the GUI thread's own CPU time: longest {result['max_busy_stall_ms']} ms, p99 "
          f"{result['p99_busy_gap_ms']} ms; the rest of a gap is time the OS gave to other processes)")
    print(f"median gap {result['median_gap_ms']} ms, {result['gaps_over_16ms']} gaps over 16 ms; worst (ms, at s): "
          f"{result['worst_gaps_at_s']}")
    print(f"{result['switches']} switches (median {result['switch_median_ms']} ms to the first snapshot), "
          f"{result['dedicated_snapshots']} of ~{result['dedicated_snapshots_expected']} dedicated snapshots "
          f"(fewest for one account: {result['fewest_snapshots_of_one_account']}); all dedicated streaming: "
          f"{result['all_dedicated_streaming']} after {result['start_to_all_streaming_s']} s; "
          f"load average {result['load_average']}")
    write_results("gui_e2e", target_max_stall_ms=TARGET_MS, met=result["max_stall_ms"] <= TARGET_MS, **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
