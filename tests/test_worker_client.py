"""The GUI-side worker client against small stand-in workers (real processes speaking the protocol):
linear line reading with a size cap, a bad reply id that costs nothing else, a hung worker killed."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QProcess

from app.worker_client import WorkerClient, WorkerError
from multi_user import worker_protocol as wp

FAKE_WORKER = r'''
import json, os, sys
out = sys.stdout.buffer
def send(*msgs):
    out.write(b"".join(json.dumps(m).encode() + b"\n" for m in msgs)); out.flush()
send({"type": "hello", "protocol": PROTOCOL, "pid": os.getpid()})
for line in sys.stdin.buffer:
    req = json.loads(line)
    op, rid = req.get("op"), req.get("id")
    if op == "hello":
        send({"id": rid, "ok": True, "result": {"pid": os.getpid()}})
    elif op == "ping":
        send({"id": rid, "ok": True, "result": None})
    elif op == "bad_id":  # an answer with an unusable id, then a push and the real answer, in one write
        send({"id": [rid], "ok": True, "result": 1}, {"type": "ping"}, {"id": rid, "ok": True, "result": "after"})
    elif op == "big":  # one push of n bytes, then the answer, in one write
        out.write(b'{"type":"big","pad":"' + b"x" * req["n"] + b'"}\n')
        send({"id": rid, "ok": True, "result": "after"})
    elif op == "hang":
        pass  # never answers
'''.replace("PROTOCOL", str(wp.PROTOCOL_VERSION))


def run(loop: asyncio.AbstractEventLoop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, 60))


@pytest.fixture
def fake_worker(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER)
    return [sys.executable, str(script)]


class Seen:
    def __init__(self) -> None:
        self.pushes: list[dict] = []
        self.exits: list[tuple[int, bool]] = []
        self.exited = asyncio.Event()

    def push(self, msg: dict) -> None:
        self.pushes.append(msg)

    def exit(self, code: int, crashed: bool) -> None:
        self.exits.append((code, crashed))
        self.exited.set()


def test_lines_split_anywhere_are_dispatched_whole_and_in_order(qapp) -> None:
    seen = Seen()
    client = WorkerClient(["unused"], on_push=seen.push, on_exit=seen.exit)
    stream = b"".join(wp.encode({"type": "p", "n": i, "pad": "y" * (i * 37 % 500)}) for i in range(200))
    for i in range(0, len(stream), 7):  # 7-byte pieces: every line arrives in many reads
        client.feed(stream[i:i + 7])
    assert [m["n"] for m in seen.pushes] == list(range(200))
    assert not client._buf


def test_a_line_over_the_cap_is_dropped_with_a_clear_error_and_the_next_one_is_read(qapp) -> None:
    seen = Seen()
    client = WorkerClient(["unused"], on_push=seen.push, on_exit=seen.exit, max_line=1024 * 1024)
    client.feed(b'{"type":"big","pad":"' + b"x" * 700_000)
    client.feed(b"x" * 700_000)  # over the cap: dropped, and the buffer does not grow further
    assert len(client._buf) == 0
    client.feed(b"x" * 700_000 + b'"}\n' + wp.encode({"type": "after"}))
    assert [m["type"] for m in seen.pushes] == ["error", "after"]
    assert "longer than 1 MB" in seen.pushes[0]["message"]
    client.feed(b'{"type":"big","pad":"' + b"x" * 1_100_000 + b'"}\n' + wp.encode({"type": "next"}))  # one read
    assert [m["type"] for m in seen.pushes] == ["error", "after", "error", "next"]


def test_a_reply_with_a_bad_id_is_reported_and_the_rest_of_the_read_is_processed(qloop, fake_worker) -> None:
    seen = Seen()
    client = WorkerClient(fake_worker, on_push=seen.push, on_exit=seen.exit, name="fake worker")

    async def scenario() -> None:
        await client.start()
        try:
            assert await client.request("bad_id", timeout=20) == "after"
        finally:
            await client.stop()

    run(qloop, scenario())
    assert [m["type"] for m in seen.pushes] == ["error", "ping"]
    assert "not a string or an integer" in seen.pushes[0]["message"]


def test_a_long_line_from_a_real_worker_is_read(qloop, fake_worker) -> None:
    seen = Seen()
    client = WorkerClient(fake_worker, on_push=seen.push, on_exit=seen.exit)

    async def scenario() -> None:
        await client.start()
        try:
            assert await client.request("big", n=8 * 1024 * 1024, timeout=30) == "after"
        finally:
            await client.stop()

    run(qloop, scenario())
    assert len(seen.pushes) == 1 and len(seen.pushes[0]["pad"]) == 8 * 1024 * 1024


def test_a_request_goes_down_the_pipe_before_the_loop_turns(qloop, fake_worker) -> None:
    """[P] 3: QProcess alone keeps a write until the loop's next turn; a switch is sent at once."""
    seen = Seen()
    client = WorkerClient(fake_worker, on_push=seen.push, on_exit=seen.exit)

    async def scenario() -> None:
        await client.start()
        try:
            proc, left, lines = client._proc, [], []
            assert proc is not None
            plain = proc.write

            def write(data: bytes) -> int:
                lines.append(wp.decode(data))
                asyncio.get_running_loop().call_soon(lambda: left.append(proc.bytesToWrite()))  # next loop turn
                return plain(data)

            proc.write = write  # type: ignore[method-assign]
            client.notify("ping")
            assert proc.bytesToWrite() == 0
            assert await client.request("ping", timeout=20) is None
            assert left == [0, 0]
            assert "id" not in lines[0] and "id" in lines[1]  # a notify is not answered
        finally:
            await client.stop()

    run(qloop, scenario())


def test_output_or_an_exit_qt_reports_inside_a_write_is_handled_on_the_loop(qloop, fake_worker) -> None:
    """With the pipe full, Qt's flush may read the worker's output or see it exit: never inside the caller."""
    seen = Seen()
    client = WorkerClient(fake_worker, on_push=seen.push, on_exit=seen.exit)

    async def scenario() -> None:
        await client.start()
        calls: list[str] = []
        both = asyncio.Event()

        def record(what: str) -> None:
            calls.append(what)
            if len(calls) == 2:
                both.set()

        client.feed = lambda data: record("feed")  # type: ignore[method-assign]
        client._exit_seen = lambda code: record("exit")  # type: ignore[method-assign]
        client.sender = lambda: client._proc  # type: ignore[method-assign]  # as inside Qt's signal
        try:
            client._writing = True
            client._read_stdout()
            client._finished(0, QProcess.ExitStatus.NormalExit)
            client._writing = False
            assert calls == []
            await asyncio.wait_for(both.wait(), 10)
            assert calls == ["feed", "exit"]
        finally:
            del client.feed, client._exit_seen, client.sender
            await client.stop()

    run(qloop, scenario())


@pytest.mark.parametrize("how", ["request", "silent"])
def test_a_hung_worker_is_killed_and_reported_as_crashed(qloop, fake_worker, how: str) -> None:
    """A request left unanswered, or (watchdog) a stopped worker that gets no requests at all, as a
    dedicated lane's: either way it is killed, and its owner sees a crash and why."""
    seen = Seen()
    client = WorkerClient(fake_worker, on_push=seen.push, on_exit=seen.exit, name="fake worker",
                          request_timeout=0.6)

    async def scenario() -> None:
        pid = await client.start()
        try:
            if how == "request":
                with pytest.raises(WorkerError, match=r"did not answer 'hang' within 0\.6 s"):
                    await client.request("hang")
            else:
                os.kill(pid, signal.SIGSTOP)
            await asyncio.wait_for(seen.exited.wait(), 20)
            assert client.pid is None
            assert not Path(f"/proc/{pid}").exists() or ") Z " in Path(f"/proc/{pid}/stat").read_text()
        finally:
            await client.stop()

    run(qloop, scenario())
    assert seen.exits and seen.exits[0][1] is True  # a crash for the owner: it restarts the worker
    op = "hang" if how == "request" else "ping"
    assert f"did not answer '{op}'" in (client.failure or "") and "killed as hung" in (client.failure or "")


def test_a_slow_request_that_reports_progress_is_not_taken_for_a_hung_worker(qloop, tmp_path: Path) -> None:
    """A close-all of many positions may take longer than the timeout; while the worker writes
    progress it is alive and must not be killed mid-trade."""
    script = tmp_path / "slow_worker.py"
    script.write_text(FAKE_WORKER.replace('''    elif op == "hang":''', '''    elif op == "slow":
        import time
        for i in range(8):
            time.sleep(0.3)  # the stand-in's own work, not the test waiting
            send({"type": "progress", "op": "slow", "done": i, "total": 8})
        send({"id": rid, "ok": True, "result": "done"})
    elif op == "hang":'''))
    seen = Seen()
    client = WorkerClient([sys.executable, str(script)], on_push=seen.push, on_exit=seen.exit, request_timeout=1.5)

    async def scenario() -> None:
        await client.start()
        try:
            assert await client.request("slow") == "done"  # 2.4 s in all, 0.3 s between signs of life
        finally:
            await client.stop()

    run(qloop, scenario())
    assert [m["done"] for m in seen.pushes] == list(range(8))
    assert client.failure is None and not any(crashed for _, crashed in seen.exits)


def test_the_child_environment_keeps_what_children_need_and_drops_secrets() -> None:
    from multi_user.child_command import child_environment

    needed = {"PATH": "/usr/bin", "SystemRoot": r"C:\Windows", "TEMP": r"C:\Temp", "APPDATA": r"C:\U\AppData",
              "PYTHONPATH": "/src", "QT_QPA_PLATFORM": "offscreen", "MT5DESK_DATA_DIR": "/d", "MT5SIM_WORLD": "/w",
              "PYTHON_KEYRING_BACKEND": "x", "XAUTHORITY": "/x", "DBUS_SESSION_BUS_ADDRESS": "unix:path=/b",
              "WINEPREFIX": "/wine", "DATABASE_URL_HOST": "https://db.example/"}
    secret = {"MT5_ENCRYPTION_KEY": "k", "MT5_ENCRYPTION_KEYS": "k1,k2", "mt5_encryption_key": "k",
              "SUPABASE_KEY": "s", "GITHUB_TOKEN": "t", "AWS_SECRET_ACCESS_KEY": "a", "DB_PASSWORD": "p",
              "SSH_AUTH_SOCK": "/s", "PG_DSN": "postgres://x", "CLOUD_URL": "https://user:pw@host/"}
    assert child_environment({**needed, **secret}) == needed


def test_a_quiet_but_healthy_worker_is_pinged_and_kept(qloop, fake_worker) -> None:
    seen = Seen()
    client = WorkerClient(fake_worker, on_push=seen.push, on_exit=seen.exit, request_timeout=0.3)
    answered: list[object] = []
    three = asyncio.Event()

    async def scenario() -> None:
        await client.start()
        original = client.request

        async def counting(op: str, **kw):
            result = await original(op, **kw)
            answered.append(op)
            if answered.count("ping") >= 3:
                three.set()
            return result

        client.request = counting  # type: ignore[method-assign]
        try:
            await asyncio.wait_for(three.wait(), 20)  # the watchdog pings every 0.1 s of silence
        finally:
            await client.stop()

    run(qloop, scenario())
    assert client.failure is None and not any(crashed for _, crashed in seen.exits)


def test_a_worker_dying_during_start_up_is_started_again_once(qloop, tmp_path: Path) -> None:
    """[R] 6 with real processes: the first worker dies before its hello; exactly one more is started."""
    from app.supervisor import RestartPolicy, Supervised

    runs = tmp_path / "runs"
    script = tmp_path / "dies_first.py"
    script.write_text(f"import sys\nfrom pathlib import Path\nruns = Path({str(runs)!r})\n"
                      "runs.write_text(str(int(runs.read_text() or 0) + 1) if runs.exists() else '1')\n"
                      "if runs.read_text() == '1':\n    sys.exit(3)\n" + FAKE_WORKER)
    events: list[dict] = []
    sup: Supervised
    client = WorkerClient([sys.executable, str(script)], on_push=lambda m: None,
                          on_exit=lambda code, crashed: crashed and sup.exited(code))
    running = asyncio.Event()

    def emit(ev: dict) -> None:
        events.append(ev)
        if ev["state"] == "running":
            running.set()

    sup = Supervised("worker", "shared", None, emit, client.start, RestartPolicy(delays=(0.05,)))

    async def scenario() -> None:
        try:
            await sup.start()
            await asyncio.wait_for(running.wait(), 20)
            await asyncio.wait_for(sup._restart_task, 5)
        finally:
            await sup.cancel_restart()
            await client.stop()

    run(qloop, scenario())
    assert runs.read_text() == "2" and sup.restarts == 1
    assert [e["state"] for e in events].count("restarting") == 1
