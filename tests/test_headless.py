"""`run --headless --json` on the demo world: events for every linked account, commands on stdin,
and a SIGKILLed terminal coming back as a restart with snapshots resuming."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.instance import current_owner

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


class Headless:
    """`main.py run --headless --json` as a child; its events are read on a thread."""

    def __init__(self, data_dir: Path, duration: float, command: list[str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
             *(command or ["run", "--headless", "--json", "--duration", str(duration)])],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        self.events: list[dict] = []
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cv:
                self.events.append(json.loads(line))
                self._cv.notify_all()
        with self._cv:
            self._cv.notify_all()

    def wait_for(self, predicate, timeout: float = 40.0, after: int = 0) -> dict:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for ev in self.events[after:]:
                    if predicate(ev):
                        return ev
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no matching event; last: {self.events[-10:]}")
                self._cv.wait(remaining)

    def send(self, cmd: dict) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout)
        self._reader.join(5)
        return code

    def __enter__(self) -> Headless:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def test_headless_demo_world_events_and_terminal_restart(data_dir: Path, sim_world: Path) -> None:
    host = Headless(data_dir, duration=25)
    try:
        accounts = host.wait_for(lambda e: e["event"] == "accounts" and e["accounts"])["accounts"]
        keys = [a["key"] for a in accounts]
        assert len(keys) >= 8
        shared = [a["key"] for a in accounts if a["mode"] == "shared"]
        dedicated = [a["key"] for a in accounts if a["mode"] == "dedicated"]
        assert shared and dedicated
        # every account gets a state; dedicated ones stream on their own terminals
        for key in keys:
            host.wait_for(lambda e, k=key: e["event"] == "account_state" and e["account"] == k)
        for key in dedicated:
            host.wait_for(lambda e, k=key: e["event"] == "snapshot" and e["account"] == k)
        # the owner activates a shared account: a lock event with it as holder, then its snapshots
        host.send({"cmd": "activate", "account": shared[0]})
        host.wait_for(lambda e: e["event"] == "lock" and (e["holder"] or {}).get("account") == shared[0])
        host.wait_for(lambda e: e["event"] == "snapshot" and e["account"] == shared[0])
        # a terminal killed with SIGKILL comes back as a restart, and snapshots resume
        running = host.wait_for(lambda e: e["event"] == "terminal" and e["state"] == "running"
                                and e["lane"].startswith("dedicated"))
        os.kill(running["pid"], signal.SIGKILL)
        host.wait_for(lambda e: e["event"] == "terminal" and e["lane"] == running["lane"] and e["state"] == "crashed")
        back = host.wait_for(lambda e: e["event"] == "terminal" and e["lane"] == running["lane"]
                             and e["state"] == "running" and e["restarts"] >= 1)
        mark = host.events.index(back)
        key = running["lane"].removeprefix("dedicated ")
        host.wait_for(lambda e: e["event"] == "snapshot" and e["account"] == key, after=mark)
        host.send({"cmd": "quit"})
        assert host.finish() == 0
    finally:
        if host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()
    kinds = {e["event"] for e in host.events}
    assert {"accounts", "lock", "account_state", "snapshot", "terminal", "worker"} <= kinds
    assert all("ts" in e for e in host.events)


def _children_of(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return ") Z " not in stat


def test_a_killed_host_leaves_no_orphans(data_dir: Path, sim_world: Path) -> None:
    host = Headless(data_dir, duration=60)
    try:
        dedicated = host.wait_for(lambda e: e["event"] == "worker" and e["state"] == "running"
                                  and e["lane"].startswith("dedicated"))
        host.wait_for(lambda e: e["event"] == "worker" and e["state"] == "running" and e["lane"] == "shared")
        children = _children_of(host.proc.pid)
        assert dedicated["pid"] in children and len(children) >= 4  # terminals and workers
        os.kill(host.proc.pid, signal.SIGKILL)  # no chance to clean up
        host.finish()
        assert current_owner(data_dir) is None  # freed at once: no child it started inherited the lock
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(_alive(p) for p in children):
            time.sleep(0.1)  # polling the condition, bounded: workers see EOF, terminals see their parent go
        assert not [p for p in children if _alive(p)], "children outlived the killed host"
    finally:
        if host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()


def test_ten_seconds_on_the_demo_world_cover_every_account(data_dir: Path, sim_world: Path) -> None:
    """`run --headless --duration 10 --json` exactly as documented: lock, snapshot and terminal events,
    and a snapshot of every linked account (live ones stream, idle ones are visited once)."""
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
                             "run", "--headless", "--duration", "10", "--json"],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    events = [json.loads(line) for line in result.stdout.splitlines()]
    keys = {a["key"] for a in next(e for e in events if e["event"] == "accounts")["accounts"]}
    assert len(keys) >= 8
    assert keys == {e["account"] for e in events if e["event"] == "snapshot"}
    assert any(e["event"] == "lock" and e["holder"] for e in events)
    lanes = {e["lane"] for e in events if e["event"] == "terminal" and e["state"] == "running" and e["pid"]}
    assert "shared" in lanes and len(lanes) >= 3
    # the stream ends with the shutdown: every lane's processes stopped, and the lock closed with no holder
    last_process = {(e["event"], e["lane"]): e["state"] for e in events if e["event"] in ("terminal", "worker")}
    assert set(last_process.values()) == {"stopped"}
    tail = events[-1]
    assert (tail["event"] in ("terminal", "worker") and tail["state"] == "stopped") or (
        tail["event"] == "lock" and tail["holder"] is None and tail["queue"] == [])


def test_a_second_host_on_the_same_data_dir_exits_5_and_the_first_runs_on(data_dir: Path, sim_world: Path) -> None:
    with Headless(data_dir, duration=60) as host:
        host.wait_for(lambda e: e["event"] == "worker" and e["state"] == "running" and e["lane"] == "shared")
        children = _children_of(host.proc.pid)
        second = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend",
                                 "sim", "run", "--headless", "--json", "--duration", "20"],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=90, cwd=ROOT)
        assert second.returncode == 5, second.stderr[-2000:]
        assert f"already running on this data dir (headless host, pid {host.proc.pid})" in second.stderr
        # the first host lost nothing: same children, still answering
        assert _children_of(host.proc.pid) >= {p for p in children if _alive(p)}
        mark = len(host.events)
        host.send({"cmd": "release"})
        host.send({"cmd": "quit"})
        assert host.finish() == 0
        assert not [e for e in host.events[mark:] if e["event"] == "terminal" and e["state"] == "crashed"]
