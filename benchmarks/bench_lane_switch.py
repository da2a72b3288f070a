"""Lane overhead: how long from an activate request to the first snapshot of the new account,
against the same switches done by a bare script calling the simulator directly, in one run.

    .venv/bin/python benchmarks/bench_lane_switch.py [--switches 40]

Prints the medians and writes benchmarks/results/lane_switch.json. The lane's overhead is
(lane median) - (bare median): the worker pipe, the lock, the event routing, the vault read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def bare_switches(world: Path, accounts: list[dict], n: int) -> list[float]:
    """login + account_info on the simulator directly: the floor any lane must pay."""
    import multi_user.mt5sim as mt5
    from multi_user.mt5sim import control

    exe = control.base_install(world)
    assert mt5.initialize(path=str(exe), timeout=10000), mt5.last_error()
    times = []
    try:
        for i in range(n):
            a = accounts[i % len(accounts)]
            t0 = time.perf_counter()
            assert mt5.login(a["login"], password=a["password"], server=a["server"]), mt5.last_error()
            info = mt5.account_info()
            assert info.login == a["login"]
            mt5.positions_get()
            times.append(time.perf_counter() - t0)
    finally:
        mt5.shutdown()
    return times


async def lane_switches(data_dir: Path, keys: list[str], n: int, at_emission: bool = False) -> list[float]:
    """``at_emission``: stop the clock as the Desk emits the snapshot, not when the awaiting task next runs."""
    from lane_harness import Recorder, fast_desk, snapshot_of

    desk = fast_desk(data_dir)
    rec = Recorder(desk)
    stamps: dict[str, float] = {}
    desk.event.connect(lambda ev: ev.get("event") == "snapshot" and stamps.setdefault(ev["account"],
                                                                                      time.perf_counter()))
    await desk.start()
    times = []
    try:
        for i in range(n):
            key = keys[i % len(keys)]
            mark = len(rec.events)
            stamps.clear()
            t0 = time.perf_counter()
            desk.activate(key)
            await rec.wait_for(snapshot_of(key), after=mark, timeout=60)
            times.append((stamps[key] if at_emission else time.perf_counter()) - t0)
    finally:
        await desk.stop()
    return times


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--switches", type=int, default=40)
    args = p.parse_args()
    import qasync
    from lane_harness import link_accounts
    from PySide6.QtCore import QCoreApplication

    from multi_user.mt5sim import control

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        world = data_dir / "sim"
        control.ensure_world(world)
        demo = control.demo_accounts(world)[:4]
        keys = link_accounts(data_dir, demo)
        app = QCoreApplication.instance() or QCoreApplication([])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        try:
            lane = loop.run_until_complete(lane_switches(data_dir, keys, args.switches))
        finally:
            loop.close()
        bare = bare_switches(world, demo, args.switches)
        control.stop_all_terminals(world)
    result = {
        "switches": args.switches,
        "lane_activate_to_first_snapshot_median_ms": round(statistics.median(lane) * 1000, 2),
        "bare_login_account_info_median_ms": round(statistics.median(bare) * 1000, 2),
    }
    result["lane_overhead_median_ms"] = round(result["lane_activate_to_first_snapshot_median_ms"]
                                              - result["bare_login_account_info_median_ms"], 2)
    result["ratio_lane_to_bare"] = round(statistics.median(lane) / statistics.median(bare), 2)
    print(json.dumps(result, indent=2))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "lane_switch.json").write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
