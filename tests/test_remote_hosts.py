"""Remote hosts without a network: the host list, confirmed host keys, the ssh command line, and the
link's reading of what a host says (issue 18 item 2). The real SSH round trips: test_remote_hosts_ssh.py."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from app.control import PROTOCOL
from app.remote_hosts import Host, HostStore, attach_argv, check_host, explain_ssh_failure, known_hosts_file
from app.remote_keys import HostKey, trust
from app.remote_link import RemoteHost
from multi_user.errors import BadInput


@pytest.mark.parametrize(("fields", "words"), [
    (("", "u@h"), "host name"),
    (("a b", "u@h"), "host name"),
    (("vps", "-oProxyCommand=evil"), "not an SSH destination"),  # ssh would take it as an option
    (("vps", "u@h; rm -rf /"), "not an SSH destination"),
    (("vps", "u@h", "0"), "between 1 and 65535"),
    (("vps", "u@h", "x"), "not a number"),
    (("vps", "u@h", None, "/nonexistent/key"), "does not exist"),
    (("vps", "u@h", None, None, "mt5-desk\nrm x"), "one line"),
])
def test_bad_host_input_is_refused_and_nothing_is_stored(tmp_path: Path, fields: tuple, words: str) -> None:
    store = HostStore(tmp_path)
    with pytest.raises(BadInput, match=words):
        store.add(check_host(*fields))
    assert not store.path.exists()


def test_hosts_are_stored_in_order_and_names_are_unique(tmp_path: Path) -> None:
    store = HostStore(tmp_path)
    store.add(check_host("vps1", "trader@vps1.example.com", 2222, None, "C:/MT5Desk/mt5-desk.exe"))
    store.add(check_host("vps2", "vps2.example.com"))
    with pytest.raises(BadInput, match="exists already"):
        store.add(check_host("vps1", "other@host"))
    assert [h.name for h in store.load()] == ["vps1", "vps2"]
    assert store.get("vps1").port == 2222 and store.get("vps2").command == "mt5-desk"
    assert "password" not in store.path.read_text()
    store.remove("vps1")
    with pytest.raises(BadInput, match="no host named 'vps1'"):
        store.get("vps1")


def test_the_ssh_command_never_prompts_and_never_accepts_an_unknown_key(tmp_path: Path) -> None:
    host = Host("vps", "trader@vps.example.com", 2222, None, "mt5-desk")
    argv = attach_argv(host, tmp_path)
    joined = " ".join(argv)
    assert "BatchMode=yes" in joined and "StrictHostKeyChecking=yes" in joined
    assert f'UserKnownHostsFile="{known_hosts_file(tmp_path)}"' in joined and "ServerAliveInterval=" in joined
    assert argv[-3:] == ["--", "trader@vps.example.com", "mt5-desk attach"] and "-T" in argv


def _key(pattern: str, seed: bytes) -> HostKey:
    return HostKey(pattern, "ssh-ed25519", base64.b64encode(b"\0\0\0\x0bssh-ed25519" + seed).decode())


def test_only_the_key_the_owner_confirmed_is_trusted(tmp_path: Path) -> None:
    real, planted = _key("[vps]:2222", b"real" * 8), _key("[vps]:2222", b"evil" * 8)
    with pytest.raises(BadInput, match="none of the host's keys"):
        trust(tmp_path, [real, planted], "SHA256:nope")
    assert not known_hosts_file(tmp_path).exists()
    trust(tmp_path, [planted, real], real.fingerprint)
    text = known_hosts_file(tmp_path).read_text()
    assert real.blob in text and planted.blob not in text  # a key offered next to the real one stays out


@pytest.mark.parametrize(("stderr", "code", "words", "retry"), [
    ("@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.", 255, "CHANGED", False),
    ("No ED25519 host key is known for [h]:22 and you have requested strict checking.\n"
     "Host key verification failed.", 255, "not confirmed", False),
    ("trader@h: Permission denied (publickey).", 255, "keys only", True),
    ("bash: line 1: mt5-desk: command not found", 127, "does not run MT5 Desk", False),
    ("error: MT5 Desk is not running on this data dir", 3, "not running there", True),
    ("ssh: connect to host h port 22: Connection refused", 255, "Connection refused", True),
])
def test_why_ssh_ended_in_plain_words(stderr: str, code: int, words: str, retry: bool) -> None:
    message, again = explain_ssh_failure(Host("vps", "h"), stderr, code)
    assert words in message and again is retry and message.startswith("vps: ")


def test_a_command_for_a_host_that_is_not_online_is_answered_not_kept(qtbot, tmp_path: Path) -> None:
    link = RemoteHost(Host("vps", "h"), tmp_path)
    seen: list[dict] = []
    link.event.connect(seen.append)
    assert link.send({"cmd": "close_all", "account": "1@S", "id": "x"}) is False
    err = seen[-1]
    assert err["event"] == "error" and err["host"] == "vps" and err["id"] == "x" and "not sent" in err["message"]


def test_a_host_with_another_protocol_is_refused_and_not_retried(qtbot, tmp_path: Path) -> None:
    link = RemoteHost(Host("vps", "h"), tmp_path)
    seen: list[dict] = []
    link.event.connect(seen.append)
    link._line("Welcome to the VPS")  # a shell profile's banner is skipped
    link._line(json.dumps({"event": "hello", "protocol": PROTOCOL + 1, "accounts": []}))
    assert link.state == "refused" and "update the older" in link.message and not link._retry.isActive()
    assert seen[-1]["event"] == "host" and seen[-1]["state"] == "refused"


def test_the_hello_becomes_the_view_and_events_keep_it(qtbot, tmp_path: Path) -> None:
    link = RemoteHost(Host("vps", "h"), tmp_path)
    seen: list[dict] = []
    link.event.connect(seen.append)
    sent: list[bytes] = []
    link._write = lambda cmd: sent.append(json.dumps(cmd).encode())  # type: ignore[method-assign]
    acc = {"key": "1@S", "login": 1, "server": "S", "mode": "shared"}
    link._line(json.dumps({"event": "hello", "protocol": PROTOCOL, "kind": "headless", "pid": 9, "accounts": [acc],
                           "lock": {"event": "lock", "holder": None, "queue": []},
                           "states": [{"event": "account_state", "account": "1@S", "state": "idle"}],
                           "snapshots": [{"event": "snapshot", "account": "1@S", "equity": 5.0}]}))
    assert link.state == "online" and json.loads(sent[0])["cmd"] == "hello"  # the host checks our version
    assert [e["event"] for e in seen if e["event"] != "host"] == ["accounts", "lock", "account_state", "snapshot"]
    assert all(e["host"] == "vps" for e in seen)
    link._line(json.dumps({"event": "snapshot", "account": "1@S", "equity": 6.0}))
    assert link.snapshots["1@S"]["equity"] == 6.0 and link.states["1@S"]["state"] == "idle"


def test_without_an_ssh_client_the_host_is_refused_and_the_desk_goes_on(qtbot, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no ssh on PATH
    link = RemoteHost(Host("vps", "h"), tmp_path)
    link.start()
    assert link.state == "refused" and "OpenSSH client" in link.message
    link.stop()


def test_a_hosts_big_hello_in_pieces_is_read_whole(qtbot, tmp_path: Path) -> None:
    """A host with many accounts says hello in one line longer than a command may be (64 KiB)."""
    link = RemoteHost(Host("vps", "h"), tmp_path)
    link._write = lambda cmd: None  # type: ignore[method-assign]
    accounts = [{"key": f"{i}@Server-{i}", "login": i, "server": f"Server-{i}", "label": "x" * 400, "mode": "shared"}
                for i in range(400)]
    line = (json.dumps({"event": "hello", "protocol": PROTOCOL, "accounts": accounts}) + "\n").encode()
    assert len(line) > 64 * 1024
    for i in range(0, len(line), 4096):
        link._feed(line[i:i + 4096])
    assert link.state == "online" and len(link.accounts) == 400


@pytest.mark.parametrize(("cmd", "words"), [
    ({"what": "passwords"}, '"what" must be one of'),
    ({"what": "stats", "start": "yesterday"}, '"start" must be epoch seconds'),
    ({"what": "chart", "max_points": 10**9}, '"max_points" must be'),
])
def test_a_query_from_another_desk_reads_only_what_is_listed(cmd: dict, words: str) -> None:
    from app.remote_queries import check_query

    with pytest.raises(ValueError, match=words):
        check_query(cmd)
