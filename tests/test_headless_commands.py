"""The headless host answers every command: its effect or an `error` event naming it (with the request's
id), also for commands sent while it starts; what it echoes is clipped; a 50 MB line is refused
without being held; a vault made with another key stops it with exit 4 (issue 10, defects 9 and 17)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from test_headless import Headless

from app.commands.headless_commands import COMMANDS, ECHO_CHARS, MAX_LINE_BYTES, clip, read_lines

ROOT = Path(__file__).resolve().parent.parent


def test_read_lines_skips_an_over_long_line_and_keeps_the_rest() -> None:
    huge = b'{"cmd": "' + b"y" * (3 * MAX_LINE_BYTES) + b'"}\n'
    data = b'{"cmd": "release"}\n\n' + huge + b'  {"cmd": "quit"}  \n{"cmd": "last"}'
    lines, too_long = [], []
    src = io.BytesIO(data)

    def read(n: int) -> bytes:
        return src.read(min(n, 1000))  # small reads: a line spans many of them

    read_lines(read, lines.append, too_long.append)
    assert lines == ['{"cmd": "release"}', '{"cmd": "quit"}', '{"cmd": "last"}']
    assert too_long == [len(huge) - 1]


def test_clip_keeps_short_values_and_says_the_size_of_long_ones() -> None:
    assert clip("activate") == "activate"
    assert clip(12) == "12"
    long = clip("z" * 50_000)
    assert long.startswith("z" * ECHO_CHARS) and long.endswith("(50000 characters)") and len(long) < ECHO_CHARS + 40


def _demo_modes(demo: list[dict]) -> tuple[list[str], list[str]]:
    """Shared and dedicated keys as the host links the demo world on its first start."""
    from app.desk_accounts import DEMO_DEDICATED

    shared, dedicated, servers = [], [], set()
    for i, d in enumerate(demo):
        key = f"{d['login']}@{d['server']}"
        if len(servers) < DEMO_DEDICATED and i > 0 and d["server"] not in servers:
            servers.add(d["server"])
            dedicated.append(key)
        else:
            shared.append(key)
    return shared, dedicated


def _error(host: Headless, after: int = 0, **match: object) -> dict:
    return host.wait_for(lambda e: e["event"] == "error" and all(e.get(k) == v for k, v in match.items()),
                         after=after)


@pytest.mark.slow
def test_every_command_gets_its_effect_or_an_error_naming_it(data_dir: Path, demo_accounts: list[dict]) -> None:
    shared, dedicated = _demo_modes(demo_accounts)
    target = shared[1]  # not the account the host would log in by itself after start-up
    with Headless(data_dir, duration=120) as host:
        # sent at once, while the host is still starting: held, then run in order
        host.send({"cmd": "activate", "account": "1@Nowhere", "id": "early"})
        host.send({"cmd": "activate", "account": target})
        accounts = host.wait_for(lambda e: e["event"] == "accounts" and e["accounts"])["accounts"]
        assert {a["key"] for a in accounts if a["mode"] == "dedicated"} == set(dedicated)
        early = _error(host, id="early")
        assert early["command"] == "activate" and "no linked account 1@Nowhere" in early["message"]
        host.wait_for(lambda e: e["event"] == "lock" and (e["holder"] or {}).get("account") == target)

        cases = [
            ({"cmd": "activate", "account": "1@Nowhere", "id": "a1"}, "activate", "no linked account 1@Nowhere"),
            ({"cmd": "activate", "id": "a2"}, "activate", "needs an account"),
            ({"cmd": "activate", "account": 12345, "id": 3}, "activate", "must be a string"),
            ({"cmd": "activate", "account": ["x"], "id": "a4"}, "activate", "must be a string"),
            ({"cmd": "activate", "account": dedicated[0], "id": "a5"}, "activate", "its own terminal"),
            ({"cmd": "close_all", "account": "1@Nowhere", "id": "c1"}, "close_all", "no linked account"),
            ({"cmd": "close_all", "id": "c2"}, "close_all", "needs an account"),
            ({"cmd": "cancel", "account": "2@Nowhere", "id": "x1"}, "cancel", "no linked account"),
            ({"cmd": "cancel", "account": shared[-1], "id": "x2"}, "cancel", "nothing to cancel"),
            ({"cmd": "frobnicate", "id": "u1"}, "frobnicate", "unknown command"),
            ({"id": "u2"}, None, 'no "cmd"'),
            ({"cmd": 7, "id": "u3"}, None, '"cmd" must be a string'),
        ]
        for cmd, name, words in cases:
            mark = len(host.events)
            host.send(cmd)
            ev = _error(host, after=mark, id=cmd["id"])
            assert ev["command"] == name and words in ev["message"], ev
            if name in COMMANDS:
                assert ev["message"].startswith(f"{name}: ")
        for raw, words in (("not json at all", "not JSON"), ("[1, 2]", "a command is a JSON object")):
            mark = len(host.events)
            host.proc.stdin.write(raw + "\n")
            host.proc.stdin.flush()
            assert words in _error(host, after=mark)["message"]

        # an unknown command of 60 kB is named, clipped; a 50 MB line is refused without echoing it
        mark = len(host.events)
        host.send({"cmd": "q" * 60_000, "id": "big"})
        ev = _error(host, after=mark, id="big")
        assert len(json.dumps(ev)) < 2 * ECHO_CHARS + 300 and "(60000 characters)" in ev["message"]
        mark = len(host.events)
        host.proc.stdin.write('{"cmd": "' + "w" * 50_000_000 + '", "id": "huge"}\n')
        host.proc.stdin.flush()
        ev = _error(host, after=mark)
        assert "command line too long" in ev["message"] and len(json.dumps(ev)) < 500

        # and the host still does what it is asked
        mark = len(host.events)
        host.send({"cmd": "activate", "account": shared[0]})
        host.wait_for(lambda e: e["event"] == "lock" and (e["holder"] or {}).get("account") == shared[0], after=mark)
        host.send({"cmd": "release"})
        host.wait_for(lambda e: e["event"] == "lock" and e["holder"] is None, after=mark)
        mark = len(host.events)
        host.send({"cmd": "release", "id": "r2"})
        assert "nothing to release" in _error(host, after=mark, id="r2")["message"]
        host.send({"cmd": "quit"})
        assert host.finish() == 0
    assert all(len(json.dumps(e)) < 5000 for e in host.events)


def test_a_host_started_with_another_key_exits_4(data_dir: Path, sim_world: Path) -> None:
    from app.settings import save_settings

    key1, key2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    base = [sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim"]
    link = subprocess.run([*base, "accounts", "link", "--login", "7", "--server", "S", "--no-verify"], input="pw\n",
                          capture_output=True, text=True, timeout=60, cwd=ROOT,
                          env={**os.environ, "MT5_ENCRYPTION_KEY": key1})
    assert link.returncode == 0, link.stderr
    save_settings(data_dir, {"demo_linked": True})  # as after an earlier run: no demo accounts to link
    r = subprocess.run([*base, "run", "--headless", "--json", "--duration", "15"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=90, cwd=ROOT,
                       env={**os.environ, "MT5_ENCRYPTION_KEY": key2})
    assert r.returncode == 4, r.stdout[-2000:] + r.stderr[-2000:]
    assert "encrypted with another key" in r.stderr and "MT5_ENCRYPTION_KEY" in r.stderr
    events = [json.loads(line) for line in r.stdout.splitlines()]
    assert [e["event"] for e in events] == ["error"]  # nothing started
