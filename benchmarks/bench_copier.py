"""The copier's latency: from a master position existing in the simulated world to each follower's copy
existing (the follower's answer reaching the app), over N trades with F followers, each on its own
terminal; and the CPU the master's fast polling costs.

    .venv/bin/python benchmarks/bench_copier.py [--trades 100] [--followers 5] [--cpu-seconds 10]

Each trade is opened on the master as its trader would (`sim trade`'s code path), every follower's
``copy`` open event awaited, then the trade is closed and every close awaited. Prints p50/p95 of the
open and close latencies and the master worker's and terminal's CPU share while polling (and with the
watch off, for comparison); writes benchmarks/results/copier.json. Target: p95 <= 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from benchmarks._results import write_results  # noqa: E402


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time of a process (Linux /proc; 0.0 where it cannot be read)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 1)


async def measure(data_dir: Path, world: Path, keys: list[str], trades: int, cpu_window: float) -> dict:
    from lane_harness import Recorder, fast_desk

    from multi_user.copy_model import CopyLink
    from multi_user.copy_store import save_links
    from multi_user.mt5sim import manual

    master, followers = keys[0], keys[1:]
    save_links(data_dir, [CopyLink(master, f, sizing="fixed", volume=0.01) for f in followers])
    desk = fast_desk(data_dir)
    rec = Recorder(desk)
    await desk.start()
    login, server = master.split("@", 1)
    opens: list[float] = []
    closes: list[float] = []
    inside: list[float] = []  # from the master state that showed the trade to the follower's answer
    try:
        def ready() -> bool:
            return all(lk.started and lk.master in desk.copier.masters and lk.follower in desk.copier.views
                       for lk in desk.copier.links)

        await rec.wait_for(lambda _e: ready(), timeout=120)
        for _ in range(trades):
            for action, sink in (("open", opens), ("close", closes)):
                mark = len(rec.events)
                if action == "open":
                    r = manual.trade(world, int(login), server, "EURUSD", "buy", 0.01)
                    ticket = int(r["position"])
                else:
                    manual.close(world, ticket)
                t0 = time.time()  # the position exists (or is gone) in the world from here on
                seen: dict[str, float] = {}

                def done(e: dict, action: str = action, ticket: int = ticket, seen: dict = seen) -> bool:
                    if e.get("event") == "copy" and e.get("action") == action and e.get("master_position") == ticket:
                        seen[e["follower"]] = float(e["ts"])
                        if action == "open":
                            inside.append(float(e["latency_ms"]))
                    return len(seen) == len(followers)

                await rec.wait_for(done, after=mark, timeout=60)
                sink.extend((ts - t0) * 1000 for ts in seen.values())
        lane = desk.dedicated[master]
        pids = {"worker": lane.worker.pid, "terminal": lane.terminal.pid if lane.terminal else None}
        cpu = {}
        for label, interval in (("polling", desk.copier.watch_interval), ("snapshots_only", 0.0)):
            await lane.worker.request("copy_watch", on=interval > 0, interval=interval or 0.02)
            before = {k: cpu_seconds(p) for k, p in pids.items()}
            t = time.monotonic()
            await asyncio.sleep(cpu_window)  # a benchmark, not a test: it measures over a fixed window
            span = time.monotonic() - t
            cpu[label] = {k: round((cpu_seconds(p) - before[k]) / span * 100, 2) for k, p in pids.items()}
    finally:
        await desk.stop()
    return {"opens": opens, "closes": closes, "cpu_pct": cpu, "inside": inside}


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--trades", type=int, default=100)
    p.add_argument("--followers", type=int, default=5)
    p.add_argument("--cpu-seconds", type=float, default=10.0)
    args = p.parse_args()
    import qasync
    from lane_harness import link_accounts
    from PySide6.QtCore import QCoreApplication

    from multi_user.mt5sim import control

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        world = data_dir / "sim"
        control.ensure_world(world)
        demo = [a for i, a in enumerate(control.demo_accounts(world)) if i != 9][:args.followers + 1]  # hedging
        keys = [f"{a['login']}@{a['server']}" for a in demo]
        link_accounts(data_dir, demo, dedicated=set(keys))
        app = QCoreApplication.instance() or QCoreApplication([])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        try:
            got = loop.run_until_complete(measure(data_dir, world, keys, args.trades, args.cpu_seconds))
        finally:
            loop.close()
            control.stop_all_terminals(world)
    opens, closes = got["opens"], got["closes"]
    result = {
        "trades": args.trades, "followers": args.followers, "copies": len(opens),
        "open_p50_ms": pct(opens, 0.5), "open_p95_ms": pct(opens, 0.95), "open_max_ms": round(max(opens), 1),
        "open_mean_ms": round(statistics.mean(opens), 1),
        "open_after_detection_p50_ms": pct(got["inside"], 0.5),
        "open_after_detection_p95_ms": pct(got["inside"], 0.95),
        "close_p50_ms": pct(closes, 0.5), "close_p95_ms": pct(closes, 0.95),
        "target_p95_ms": 100, "cpu_pct_master": got["cpu_pct"], "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    write_results("copier", **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
