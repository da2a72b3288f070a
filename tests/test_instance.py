"""One owner of a data dir at a time (app/instance.py): the lock, who holds it, and that the OS frees it
when its owner dies, even by kill -9; a headless host or a GUI refuses to start next to another owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.instance import EXIT_BUSY, DataDirBusy, acquire, current_owner

ROOT = Path(__file__).resolve().parent.parent

HOLDER = """
import sys
from pathlib import Path
from app.instance import acquire
owner = acquire(Path(sys.argv[1]), sys.argv[2], *sys.argv[3:])
print("ready", flush=True)
sys.stdin.read()
"""


class OwnerChild:
    """Another process owning the data dir, as the GUI or a host would; ends when its stdin closes."""

    def __init__(self, data_dir: Path, kind: str = "gui", what: str = "") -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(data_dir), kind, what], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "ready\n"

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


def main_py(data_dir: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
                           *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT)


def test_a_second_owner_is_refused_with_who_owns_it(data_dir: Path) -> None:
    assert current_owner(data_dir) is None
    with acquire(data_dir, "headless"):
        owner = current_owner(data_dir)
        assert owner is not None and owner.pid == os.getpid() and owner.kind == "headless"
        with pytest.raises(DataDirBusy) as err:
            acquire(data_dir, "gui")
        assert str(err.value) == f"MT5 Desk is already running on this data dir (headless host, pid {os.getpid()})"
        assert err.value.exit_code == EXIT_BUSY == 5
    assert current_owner(data_dir) is None
    acquire(data_dir, "gui").release()  # free again once released


def test_kill_9_of_the_owner_frees_the_data_dir(data_dir: Path) -> None:
    child = OwnerChild(data_dir, "gui")
    try:
        owner = current_owner(data_dir)
        assert owner is not None and owner.pid == child.proc.pid and owner.kind == "gui"
        with pytest.raises(DataDirBusy, match=rf"\(GUI, pid {child.proc.pid}\)"):
            acquire(data_dir, "headless")
        os.kill(child.proc.pid, signal.SIGKILL)
        child.proc.wait(10)
        assert current_owner(data_dir) is None  # no stale lock, though owner.json is still there
        with acquire(data_dir, "headless") as mine:
            assert mine.held and current_owner(data_dir).pid == os.getpid()
    finally:
        child.close()


def test_the_headless_host_refuses_a_data_dir_a_gui_owns(data_dir: Path) -> None:
    child = OwnerChild(data_dir, "gui")
    try:
        r = main_py(data_dir, "run", "--headless", "--json", "--duration", "20")
        assert r.returncode == 5, r.stderr[-2000:]
        assert f"MT5 Desk is already running on this data dir (GUI, pid {child.proc.pid})" in r.stderr
        assert '"event": "error"' in r.stdout  # a --json reader sees why, too
        assert not (data_dir / "vault.sqlite3").exists()  # it touched nothing
    finally:
        child.close()


def test_the_gui_refuses_a_data_dir_a_headless_host_owns(data_dir: Path) -> None:
    child = OwnerChild(data_dir, "headless")
    try:
        r = main_py(data_dir, timeout=60)
        assert r.returncode == 5, r.stderr[-2000:]
        assert f"already running on this data dir (headless host, pid {child.proc.pid})" in r.stderr
    finally:
        child.close()


def test_a_verifying_link_owns_the_data_dir_but_a_plain_store_may_run_beside_it(data_dir: Path) -> None:
    """A CLI command driving a terminal holds the lock like an app (kind "cli"): an app cannot start
    under it; storing without a terminal (--no-verify) does not need it."""
    child = OwnerChild(data_dir, "cli", "accounts link")
    try:
        r = main_py(data_dir, "run", "--headless", "--duration", "20")
        assert r.returncode == 5
        assert f"(command line: accounts link, pid {child.proc.pid})" in r.stderr
        r = subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "accounts", "link",
                            "--login", "7", "--server", "S", "--no-verify"], input="pw-7\n", capture_output=True,
                           text=True, timeout=60, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        r = main_py(data_dir, "accounts", "link", "--login", "8", "--server", "S")
        assert r.returncode == 5 and "try again when it has finished. Nothing was changed." in r.stderr
    finally:
        child.close()
