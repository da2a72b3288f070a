"""One desk, several remote hosts over a real sshd on loopback (issue 18, "Must show").

Starts sshd (tests/test_remote_hosts_ssh.running_sshd), N headless MT5 Desk hosts on the simulator
(each its own data dir and demo world: 10 accounts), adds them to a desk data dir with their host key
confirmed, and runs app/remote_desk.RemoteHosts on a Qt loop: one shared account is activated on each
host, then for --seconds the events the desk receives are counted, and a 5 ms timer measures the
desk loop's longest stall (the time between two ticks beyond 5 ms).

    .venv/bin/python benchmarks/bench_remote_hosts.py [--hosts 3] [--seconds 30]

Prints the figures and writes benchmarks/results/bench_remote_hosts.json. Linux with openssh-server.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from _results import write_results  # noqa: E402
from PySide6.QtCore import QCoreApplication, QElapsedTimer, QTimer  # noqa: E402
from test_remote_hosts_ssh import running_sshd  # noqa: E402

from app.remote_desk import RemoteHosts  # noqa: E402
from app.remote_hosts import HostStore, check_host  # noqa: E402
from app.remote_keys import scan, trust  # noqa: E402
from multi_user.mt5sim import control  # noqa: E402
from multi_user.paths import sim_world_dir  # noqa: E402


def wait(app: QCoreApplication, until, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            return False
        app.processEvents()
        time.sleep(0.005)
    return True


def longest_stall(app: QCoreApplication, seconds: float) -> float:
    """Run the loop for ``seconds`` with a 5 ms timer; the longest lateness of a tick in ms."""
    stall = [0.0]
    clock = QElapsedTimer()
    clock.start()
    last = [clock.nsecsElapsed()]

    def tick() -> None:
        now = clock.nsecsElapsed()
        stall[0] = max(stall[0], (now - last[0]) / 1e6 - 5.0)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    timer.start()
    QTimer.singleShot(int(seconds * 1000), app.quit)
    app.exec()
    timer.stop()
    return stall[0]


def timed(fn, busy: dict[str, float]):
    """``fn`` measured: the desk's own time reading and relaying one chunk of a host's output."""
    def run() -> None:
        t0 = time.perf_counter()
        fn()
        spent = (time.perf_counter() - t0) * 1000
        busy["max"] = max(busy["max"], spent)
        busy["total"] += spent
    return run


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hosts", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=30.0)
    args = ap.parse_args()
    app = QCoreApplication(sys.argv[:1])
    tmp = Path(tempfile.mkdtemp(prefix="mt5rh-"))
    desk = tmp / "desk"
    desk.mkdir()
    names = [f"vps{i + 1}" for i in range(args.hosts)]
    procs: list[subprocess.Popen] = []
    with running_sshd(tmp / "sshd") as sshd, contextlib.ExitStack() as stack:
        for n in names:
            d = tmp / n
            d.mkdir()
            control.ensure_world(sim_world_dir(d))
            stack.callback(control.stop_all_terminals, sim_world_dir(d))
            procs.append(subprocess.Popen([sys.executable, str(ROOT / "main.py"), "--data-dir", str(d), "--backend",
                                           "sim", "run", "--headless", "--duration", str(args.seconds + 240)],
                                          stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            command = " ".join(shlex.quote(p) for p in (sys.executable, str(ROOT / "main.py"), "--data-dir", str(d)))
            host = check_host(n, f"{getpass.getuser()}@127.0.0.1", sshd.port, str(sshd.user_key), command)
            trust(desk, scan(host), sshd.host_fingerprint())
            HostStore(desk).add(host)
        for p in procs:
            stack.callback(p.kill)
        # the same loop with the hosts running but no desk links: what the busy machine alone costs
        wait(app, lambda: False, 20)  # let the hosts start their terminals first
        baseline = longest_stall(app, min(10.0, args.seconds))
        remote = RemoteHosts(desk, backoff=(0.5, 2.0))
        stack.callback(remote.stop)
        events: list[dict] = []
        remote.event.connect(events.append)
        busy = {"max": 0.0, "total": 0.0}
        for host in HostStore(desk).load():
            link = remote._link(host)
            link._read = timed(link._read, busy)  # type: ignore[method-assign]  # before it is connected
        remote.start()
        ok = wait(app, lambda: all(link.state == "online" and link.snapshots
                                   for link in remote.links.values()), 180)
        if not ok:
            print("not every host came online:", [link.status() for link in remote.links.values()])
            return 1
        for n, link in remote.links.items():
            shared = [a["key"] for a in link.accounts if a["mode"] == "shared"]
            remote.send(n, {"cmd": "activate", "account": shared[-1]})
        accounts = len(remote.accounts())
        start_count = len(events)
        started = time.monotonic()
        busy.update(max=0.0, total=0.0)
        longest = longest_stall(app, args.seconds)
        elapsed = time.monotonic() - started
        carried = len(events) - start_count
        kinds: dict[str, int] = {}
        for ev in events[start_count:]:
            kinds[ev["event"]] = kinds.get(ev["event"], 0) + 1
        for p in procs:
            with contextlib.suppress(OSError, ValueError):
                p.stdin.write(b'{"cmd": "quit"}\n')  # type: ignore[union-attr]
                p.stdin.flush()  # type: ignore[union-attr]
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(60)
    figures = {"hosts": args.hosts, "accounts": accounts, "seconds": round(elapsed, 1), "events": carried,
               "events_per_second": round(carried / elapsed, 1), "longest_stall_ms": round(longest, 2),
               "longest_stall_without_links_ms": round(baseline, 2),
               "stall_target_ms": 16, "longest_read_ms": round(busy["max"], 3),
               "read_busy_share": round(busy["total"] / 1000 / elapsed, 5), "by_kind": kinds}
    print(f"{args.hosts} hosts, {accounts} accounts over SSH: {carried} events in {elapsed:.1f} s "
          f"({carried / elapsed:.1f}/s); desk loop's longest stall {longest:.2f} ms (target <= 16 ms; "
          f"{baseline:.2f} ms with the hosts running and no links); the desk's longest read of a host's output "
          f"{busy['max']:.2f} ms, busy {100 * busy['total'] / 1000 / elapsed:.2f}% of the time")
    write_results("bench_remote_hosts", **figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
