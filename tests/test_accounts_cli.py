"""`accounts` commands as a trader or a script runs them, on the simulator: exit codes, JSON, and no
byte of a linked password anywhere under the data dir, in the logs or in any output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent


def cli(data_dir: Path, *args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
                           *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def all_bytes_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*")
                    if p.is_file() and "sim" not in p.relative_to(folder).parts)


def test_link_status_unlink_round_trip_without_leaking_the_password(data_dir: Path, demo_accounts: list[dict]) -> None:
    a = demo_accounts[0]
    outputs = []
    r = cli(data_dir, "accounts", "link", "--login", str(a["login"]), "--server", a["server"], "--label", "Main",
            "--json", stdin=a["password"] + "\n")
    outputs.append(r)
    assert r.returncode == 0, r.stderr
    linked = json.loads(r.stdout)
    assert linked["verified"] is True and linked["linked"]["key"] == f"{a['login']}@{a['server']}"
    assert linked["balance"] is not None
    r = cli(data_dir, "accounts", "status", "--json")
    outputs.append(r)
    status = json.loads(r.stdout)
    assert [x["key"] for x in status["accounts"]] == [linked["linked"]["key"]]
    assert status["accounts"][0]["equity"] is not None
    outputs.append(cli(data_dir, "accounts", "list"))
    outputs.append(cli(data_dir, "accounts", "rotate", "--json"))
    secret = a["password"].encode()
    assert secret not in all_bytes_under(data_dir), "the password is on disk in plaintext"
    for o in outputs:
        assert a["password"] not in o.stdout and a["password"] not in o.stderr
    r = cli(data_dir, "accounts", "unlink", "--login", str(a["login"]), "--server", a["server"], "--json")
    assert r.returncode == 0 and json.loads(r.stdout) == {"unlinked": linked["linked"]["key"]}
    assert json.loads(cli(data_dir, "accounts", "list", "--json").stdout) == {"accounts": []}
    assert secret not in all_bytes_under(data_dir)


def test_wrong_password_exits_3_and_stores_nothing(data_dir: Path, demo_accounts: list[dict]) -> None:
    a = demo_accounts[1]
    r = cli(data_dir, "accounts", "link", "--login", str(a["login"]), "--server", a["server"], stdin="Xq9-not-it\n")
    assert r.returncode == 3
    assert "Authorization failed" in r.stderr and "Xq9-not-it" not in r.stderr + r.stdout
    assert json.loads(cli(data_dir, "accounts", "list", "--json").stdout) == {"accounts": []}


@pytest.mark.parametrize("login,server,stdin", [
    ("abc", "S", "pw\n"), ("0", "S", "pw\n"), (str(2**63), "S", "pw\n"), ("1", "", "pw\n"), ("1", "x" * 129, "pw\n"),
    ("1", "Bad\tServer", "pw\n"), ("1", "S", "\n"),
])
def test_bad_input_exits_2_and_stores_nothing(data_dir: Path, login: str, server: str, stdin: str) -> None:
    r = cli(data_dir, "accounts", "link", "--login", login, "--server", server, "--no-verify", stdin=stdin)
    assert r.returncode == 2, r.stderr
    assert r.stderr.splitlines()[-1].startswith("error: ")
    assert json.loads(cli(data_dir, "accounts", "list", "--json").stdout) == {"accounts": []}


def test_unlink_of_an_unknown_account_exits_2(data_dir: Path) -> None:
    r = cli(data_dir, "accounts", "unlink", "--login", "42", "--server", "Nowhere")
    assert r.returncode == 2 and "No linked account 42 on Nowhere" in r.stderr


def test_no_verify_stores_without_a_terminal_and_says_so(data_dir: Path) -> None:
    r = cli(data_dir, "accounts", "link", "--login", "7", "--server", "Offline-Broker", "--no-verify",
            stdin="pw-7\n")
    assert r.returncode == 0 and "WITHOUT checking" in r.stdout


def test_another_key_exits_4_and_other_commands_still_work(data_dir: Path) -> None:
    key1, key2 = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    assert cli(data_dir, "accounts", "link", "--login", "7", "--server", "S", "--no-verify", stdin="pw\n",
               env={"MT5_ENCRYPTION_KEY": key1}).returncode == 0
    r = cli(data_dir, "accounts", "rotate", env={"MT5_ENCRYPTION_KEY": key2})
    assert r.returncode == 4 and "neither the current key" in r.stderr and "Nothing was re-encrypted" in r.stderr
    r = cli(data_dir, "accounts", "link", "--login", "8", "--server", "S", "--no-verify", stdin="pw\n",
            env={"MT5_ENCRYPTION_KEY": key2})
    assert r.returncode == 4
    listed = json.loads(cli(data_dir, "accounts", "list", "--json", env={"MT5_ENCRYPTION_KEY": key2}).stdout)
    assert [a["key"] for a in listed["accounts"]] == ["7@S"]


@pytest.mark.slow
def test_link_and_unlink_refuse_while_an_app_owns_the_data_dir_but_cannot_be_reached(data_dir: Path) -> None:
    """Issue 10, defect 5: while an app runs, link and unlink go through it (tests/test_control.py); one that
    does not answer on its control endpoint (an older MT5 Desk) leaves them refused, nothing changed."""
    from app.instance import acquire

    vault_before = cli(data_dir, "accounts", "list", "--json").stdout
    with acquire(data_dir, "headless"):  # owns the data dir, serves no endpoint
        for args, stdin in ((("link", "--login", "77", "--server", "New-Server", "--no-verify"), "pw-77"),
                            (("unlink", "--login", "77", "--server", "New-Server"), "")):
            r = cli(data_dir, "accounts", *args, stdin=stdin + "\n")
            assert r.returncode == 5, (args, r.stdout, r.stderr[-2000:])
            assert f"MT5 Desk is already running on this data dir (headless host, pid {os.getpid()})" in r.stderr
            assert "Nothing was changed." in r.stderr
        assert cli(data_dir, "accounts", "list", "--json").stdout == vault_before


def test_relinking_the_account_the_terminal_shows_with_a_wrong_password_exits_3(data_dir: Path,
                                                                                  demo_accounts: list[dict]) -> None:
    """[R] 4: the terminal already shows the account; the password must still be checked by the broker."""
    a = demo_accounts[0]
    args = ("accounts", "link", "--login", str(a["login"]), "--server", a["server"])
    assert cli(data_dir, *args, stdin=a["password"] + "\n").returncode == 0
    r = cli(data_dir, *args, stdin="Xq9-not-it\n")
    assert r.returncode == 3 and "Authorization failed" in r.stderr
