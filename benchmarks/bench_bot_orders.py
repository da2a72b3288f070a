"""What a bot's safety checks cost per order on the simulator ([I]).

    .venv/bin/python benchmarks/bench_bot_orders.py [--orders 60] [--runs 3]

In a throwaway world, one lane's Worker (in process) logged into a demo account: the median time of a
market order sent straight with ``order_send`` against the same order sent by a bot through its
account-bound facade (identity check, Algo Trading check, read-only check, runaway window, the ``bot``
event), and the time from ``bot_start`` to the bot's first order. Positions are closed again between runs.
Prints the figures and writes benchmarks/results/bot_orders.json.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _results import write_results

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import multi_user.mt5sim as mt5  # noqa: E402
from multi_user import worker_protocol as wp  # noqa: E402
from multi_user.bots.examples._orders import market  # noqa: E402
from multi_user.bridge import UserMT5Bridge  # noqa: E402
from multi_user.mt5sim import control  # noqa: E402
from multi_user.worker import Worker  # noqa: E402

BOT = '''
from multi_user.bots import Bot
from multi_user.bots.examples._orders import market

class Timed(Bot):
    interval = 0.0001

    def on_timer(self):
        market(self.mt5, "EURUSD", "buy", 0.01, "bench", magic=5)
'''


def timed_direct(n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        res = market(mt5, "EURUSD", "buy", 0.01, "bench", magic=5)
        out.append(time.perf_counter() - t)
        assert res.retcode == mt5.TRADE_RETCODE_DONE, res
    return out


def timed_bot(worker: Worker, buf: io.BytesIO, n: int) -> tuple[list[float], float]:
    start = time.perf_counter()
    first: float | None = None
    out = []
    while len(out) < n:
        t = time.perf_counter()
        before = worker.bot.orders
        worker.bot_step()
        if worker.bot.orders > before:
            out.append(time.perf_counter() - t)
            first = first if first is not None else time.perf_counter() - start
    assert b'"refused"' not in buf.getvalue()
    return out, first or 0.0


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--orders", type=int, default=60)
    p.add_argument("--runs", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        world = Path(tmp) / "sim"
        control.init_world(world)
        control.use_world(world)
        acc = next(a for a in control.demo_accounts(world) if a["login"] == 51001013)
        (Path(tmp) / "timed.py").write_text(BOT)
        buf = io.BytesIO()
        worker = Worker(UserMT5Bridge(mt5, timeout_ms=10000), buf, rate=3600, lane="bench")
        direct, via_bot, firsts = [], [], []
        try:
            worker.handle(wp.encode({"id": 1, "op": "switch", "login": acc["login"], "password": acc["password"],
                                     "server": acc["server"]}))
            for run in range(args.runs):
                direct += timed_direct(args.orders)
                worker.handle(wp.encode({"id": 10 + run, "op": "bot_start", "bot": str(Path(tmp) / "timed.py"),
                                         "login": acc["login"], "server": acc["server"],
                                         "max_orders_per_minute": 100000}))
                times, first = timed_bot(worker, buf, args.orders)
                via_bot += times
                firsts.append(first)
                worker.handle(wp.encode({"id": 100 + run, "op": "bot_stop"}))
                worker.bridge.close_all_positions()
        finally:
            mt5.shutdown()
            control.stop_all_terminals(world)
    d, b = statistics.median(direct) * 1000, statistics.median(via_bot) * 1000
    results = {"direct_order_ms_median": round(d, 2), "bot_order_ms_median": round(b, 2),
               "check_overhead_ms": round(b - d, 2), "bot_start_to_first_order_ms_median":
               round(statistics.median(firsts) * 1000, 2), "orders_per_run": args.orders, "runs": args.runs}
    print(f"direct order_send: {d:.2f} ms · through a bot: {b:.2f} ms · checks: {b - d:+.2f} ms per order · "
          f"bot_start to first order: {results['bot_start_to_first_order_ms_median']:.2f} ms (medians)")
    write_results("bot_orders", **results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
