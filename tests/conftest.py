"""Test configuration shared by the whole suite.

- Qt runs offscreen (set here, before anything imports Qt).
- Every test gets its own data dir; nothing touches the real keyring or the user's data folder.
- A fixture fails any test that leaves a child process, a thread or an asyncio task behind.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
# The suite must never read or write the developer's real keyring.
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
os.environ.pop("MT5_ENCRYPTION_KEY", None)
os.environ.pop("MT5_ENCRYPTION_KEYS", None)
# Every process this run starts inherits this marker, so the leak check finds even re-parented ones
# (a simulated terminal outlives the worker that started it, exactly as a real terminal64.exe does).
RUN_MARKER = f"mt5desk-test-{uuid.uuid4().hex}"
os.environ["MT5DESK_TEST_RUN"] = RUN_MARKER

ROOT = Path(__file__).resolve().parent.parent

# As in the app (app/main_thread_gc.py): no automatic cyclic collection, which could start in any thread
# (a Desk's I/O thread, a lane's reader) and free a Qt object there. Cycles are collected on the main
# thread: after every test (no_leaks), and by a MainThreadGC while a test's qloop runs.
gc.disable()

# Fixture plugins, one per area, so each area keeps its fixtures in its own file.
pytest_plugins = ["fixtures_sim", "fixtures_vault", "fixtures_pg"]


def marked_processes() -> set[int]:
    """Pids of live processes (other than this one) carrying this test run's environment marker."""
    found: set[int] = set()
    needle = f"MT5DESK_TEST_RUN={RUN_MARKER}".encode()
    me = os.getpid()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            env = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # zombies have exited already; their parent reaps them
        if needle in env.split(b"\0") and ") Z " not in stat:
            found.add(int(entry.name))
    return found


def _wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture(autouse=True)
def no_leaks(request):
    """Fail a test that leaves a process, a thread or an asyncio task behind (and clean them up)."""
    procs_before = marked_processes()
    threads_before = set(threading.enumerate())
    yield
    # Collect the test's reference cycles now, between tests: left to the automatic GC they are freed
    # at a random point inside the next test's Qt event processing, where freeing a Qt object that Qt
    # is still dispatching to can crash the process (seen rarely as a segfault in pytest-qt/qasync).
    gc.collect()
    if request.node.get_closest_marker("allow_leaks"):
        return
    problems: list[str] = []
    if not _wait_until(lambda: not (marked_processes() - procs_before), 10.0):
        leaked = marked_processes() - procs_before
        cmdlines = []
        for pid in sorted(leaked):
            try:
                cmdlines.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                                .decode(errors="replace")[:200])
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        problems.append("child processes left behind:\n  " + "\n  ".join(cmdlines))

    def extra_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]

    if not _wait_until(lambda: not extra_threads(), 5.0):
        problems.append("threads left behind: " + ", ".join(t.name for t in extra_threads()))
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, isolated MT5 Desk data dir; also exported as MT5DESK_DATA_DIR for child processes."""
    d = tmp_path / "data"
    d.mkdir()
    monkeypatch.setenv("MT5DESK_DATA_DIR", str(d))
    return d


def assert_no_tasks_left(loop: asyncio.AbstractEventLoop) -> None:
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for t in pending:
        t.cancel()
    assert not pending, f"asyncio tasks left behind: {pending}"


@pytest.fixture
def qloop(qapp):
    """A qasync event loop on the test QApplication; fails the test if tasks are left pending."""
    import qasync

    from app.main_thread_gc import MainThreadGC

    loop = qasync.QEventLoop(qapp, already_running=False)
    asyncio.set_event_loop(loop)
    collector = MainThreadGC()
    collector.start()
    yield loop
    try:
        assert_no_tasks_left(loop)
    finally:
        collector.stop()
        asyncio.set_event_loop(None)
        loop.close()
