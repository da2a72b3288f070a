"""The vault: one transaction per change, tombstones, rotation, wrong keys, and kill -9 at any point."""

from __future__ import annotations

import multiprocessing
import random
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from multi_user.credentials import MT5CredentialManager
from multi_user.errors import BadInput, VaultError
from multi_user.vault import Vault

ROOT = Path(__file__).resolve().parent.parent


def test_link_update_reorder_unlink(data_dir: Path) -> None:
    vault = Vault.open(data_dir)
    a = vault.link("111", "Broker-Demo", "pw-one", label="Challenge")
    b = vault.link(222, "Broker-Live", "pw-two", mode="dedicated")
    assert [x.key for x in vault.list_accounts()] == ["111@Broker-Demo", "222@Broker-Live"]
    assert "pw-one" not in repr(a) and vault.password(111, "Broker-Demo") == "pw-one"
    again = vault.link(111, "Broker-Demo", "pw-new")  # linking again updates
    assert len(vault.list_accounts()) == 2 and again.label == "Challenge" and again.created_at == a.created_at
    assert vault.password(111, "Broker-Demo") == "pw-new"
    vault.update(222, "Broker-Live", label="Live", mode="shared")
    vault.reorder([b.key])
    assert [x.key for x in vault.list_accounts()] == [b.key, a.key]
    vault.unlink(111, "Broker-Demo")
    assert [t[:2] for t in vault.tombstones()] == [(111, "Broker-Demo")]
    with pytest.raises(BadInput):
        vault.unlink(111, "Broker-Demo")
    vault.close()


@pytest.mark.parametrize("login,server,password,field", [
    ("abc", "S", "p", "login"), ("0", "S", "p", "login"), ("-5", "S", "p", "login"),
    (str(2**63), "S", "p", "login"), ("1", "", "p", "server"), ("1", "x" * 129, "p", "server"),
    ("1", "Bad\x07Server", "p", "server"), ("1", "S", "", "password"),
])
def test_bad_input_stores_nothing(data_dir: Path, login: str, server: str, password: str, field: str) -> None:
    vault = Vault.open(data_dir)
    with pytest.raises(BadInput) as info:
        vault.link(login, server, password)
    assert info.value.field == field and vault.list_accounts() == []
    vault.close()


def test_rotation_re_encrypts_everything_to_the_current_key(data_dir: Path, monkeypatch) -> None:
    old = Fernet.generate_key()
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", old.decode())
    vault = Vault.open(data_dir)
    for i in range(1, 4):
        vault.link(i, "S", f"pw-{i}")
    vault.close()
    new = Fernet.generate_key()
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", new.decode())
    monkeypatch.setenv("MT5_ENCRYPTION_KEYS", old.decode())
    vault = Vault.open(data_dir)
    assert vault.rotate() == 3
    vault.close()
    monkeypatch.delenv("MT5_ENCRYPTION_KEYS")
    vault = Vault.open(data_dir)  # the new key alone now reads everything
    assert [vault.password(i, "S") for i in range(1, 4)] == ["pw-1", "pw-2", "pw-3"]
    assert vault.key_matches() is True
    vault.close()


def test_wrong_key_is_exit_4_and_changes_nothing(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", Fernet.generate_key().decode())
    vault = Vault.open(data_dir)
    vault.link(1, "S", "pw-1")
    vault.close()
    before = (data_dir / "vault.sqlite3").read_bytes()
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", Fernet.generate_key().decode())
    vault = Vault.open(data_dir)
    assert [a.key for a in vault.list_accounts()] == ["1@S"]  # still listed
    with pytest.raises(VaultError) as info:
        vault.password(1, "S")
    assert info.value.exit_code == 4
    with pytest.raises(VaultError, match="another key"):
        vault.link(2, "S", "pw-2")
    with pytest.raises(VaultError):
        vault.rotate()
    assert [a.key for a in vault.list_accounts()] == ["1@S"]
    vault.close()
    assert (data_dir / "vault.sqlite3").read_bytes() == before


def test_a_tampered_token_fails_for_that_account_only(data_dir: Path) -> None:
    vault = Vault.open(data_dir)
    vault.link(1, "S", "pw-1")
    vault.link(2, "S", "pw-2")
    vault.close()
    conn = sqlite3.connect(data_dir / "vault.sqlite3")
    token = conn.execute("SELECT password_encrypted FROM accounts WHERE login=1").fetchone()[0]
    conn.execute("UPDATE accounts SET password_encrypted=? WHERE login=1", (token[:-4] + "AAAA",))
    conn.commit()
    conn.close()
    vault = Vault.open(data_dir)
    with pytest.raises(VaultError, match="Account 1 on S"):
        vault.password(1, "S")
    assert vault.password(2, "S") == "pw-2"
    vault.close()


def test_a_damaged_vault_file_is_a_clear_error(data_dir: Path) -> None:
    (data_dir / "vault.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(VaultError, match="damaged"):
        Vault.open(data_dir)


def test_kill_9_at_random_points_leaves_the_vault_whole(data_dir: Path) -> None:
    rng = random.Random(20261125)
    MT5CredentialManager(data_dir)  # create the key before the children race for it
    for _round in range(8):
        child = subprocess.Popen([sys.executable, str(ROOT / "tests" / "helpers" / "vault_writer.py"), str(data_dir)],
                                 stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert child.stdout is not None
        for _ in range(rng.randint(1, 40)):  # kill after a random number of committed steps
            if not child.stdout.readline():
                break
        child.kill()
        child.wait()
        child.stdout.close()
        conn = sqlite3.connect(data_dir / "vault.sqlite3")
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
        vault = Vault.open(data_dir)
        for a in vault.list_accounts():
            password = vault.password(a.login, a.server)  # every token whole and decryptable
            assert re.fullmatch(rf"pw-{a.login}-\d+", password)
            assert a.label == f"step {password.rsplit('-', 1)[1]}"  # row and token from the same write
        assert vault.key_matches() is True
        vault.close()


# ---- [R] 13: processes racing on a fresh data dir ---------------------------------------------------
def _link_together(data_dir: Path, logins: list[int]) -> list[subprocess.CompletedProcess]:
    """Start one `accounts link` per login, all released at once by a barrier (each child says ready first)."""
    children = []
    for login in logins:
        argv = [sys.executable, str(ROOT / "tests" / "helpers" / "cli_at_barrier.py"), "--data-dir", str(data_dir),
                "--backend", "sim", "accounts", "link", "--login", str(login), "--server", "Race-Server",
                "--no-verify", "--json"]
        children.append(subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, cwd=ROOT))
    for child in children:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    for child in children:  # the barrier: everyone is loaded and waiting; release them together
        assert child.stdin is not None
        child.stdin.write(f"go\npw-{child.args[child.args.index('--login') + 1]}\n")
        child.stdin.flush()
    results = []
    for child in children:
        out, err = child.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return results


def _open_at_barrier(data_dir: str, barrier, results) -> None:
    barrier.wait()
    try:
        Vault.open(Path(data_dir)).close()
        results.put("ok")
    except Exception as exc:  # reported to the parent, which fails the test with it
        results.put(f"{type(exc).__name__}: {exc}")


def test_many_set_ups_of_fresh_vaults_in_parallel_never_fail(tmp_path: Path) -> None:
    """The class of [R] 13: many rounds of six processes opening one fresh vault at the same instant
    (SQLite answers "busy" at once, without waiting, to two processes switching a new file to WAL)."""
    ctx = multiprocessing.get_context("fork")
    MT5CredentialManager(tmp_path)  # one key for all rounds: this test is about the vault file
    failures = []
    for round_ in range(25):
        data_dir = tmp_path / f"r{round_}"
        data_dir.mkdir()
        (data_dir / "encryption.key").write_bytes((tmp_path / "encryption.key").read_bytes())
        barrier, results = ctx.Barrier(6), ctx.Queue()
        children = [ctx.Process(target=_open_at_barrier, args=(str(data_dir), barrier, results)) for _ in range(6)]
        for child in children:
            child.start()
        failures += [r for r in (results.get(timeout=60) for _ in children) if r != "ok"]
        for child in children:
            child.join(60)
    assert failures == []


@pytest.mark.parametrize("round_", range(4))
def test_processes_setting_up_a_fresh_data_dir_together_all_succeed(tmp_path: Path, monkeypatch,
                                                                   round_: int) -> None:
    data_dir = tmp_path / f"fresh-{round_}"  # nothing in it: no key file, no vault
    logins = [7001 + i for i in range(5)]
    results = _link_together(data_dir, logins)
    for r in results:
        assert r.returncode == 0, r.stderr
    vault = Vault.open(data_dir)
    assert sorted(a.login for a in vault.list_accounts()) == logins
    assert [vault.password(n, "Race-Server") for n in logins] == [f"pw-{n}" for n in logins]
    vault.close()


# ---- [R] 12: a damaged or truncated vault is exit 4 with plain words, and left as it is -------------------
def _accounts_list(data_dir: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "accounts", "list"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)


def _vault_with_accounts(data_dir: Path) -> Path:
    vault = Vault.open(data_dir)
    for i in range(1, 40):
        vault.link(i, "Page-Server", f"pw-{i}", label=f"account number {i} " * 4)
    vault.close()
    return data_dir / "vault.sqlite3"


def _files(data_dir: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in data_dir.iterdir() if p.is_file() and p.name.startswith(("vault", "enc"))}


def test_a_damaged_vault_page_is_exit_4_with_a_plain_message(data_dir: Path) -> None:
    path = _vault_with_accounts(data_dir)
    conn = sqlite3.connect(path)
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='accounts'").fetchone()[0]
    conn.close()
    raw = bytearray(path.read_bytes())
    raw[(root - 1) * page:root * page] = bytes((i * 37) % 251 for i in range(page))  # the table's page: garbage
    path.write_bytes(bytes(raw))
    before = _files(data_dir)
    r = _accounts_list(data_dir)
    assert r.returncode == 4, r.stderr
    assert "Traceback" not in r.stderr and "damaged" in r.stderr and str(path) in r.stderr
    assert _files(data_dir) == before  # nothing changed on disk


def test_a_vault_held_by_another_program_is_a_vault_error_not_a_traceback(data_dir: Path) -> None:
    vault = Vault.open(data_dir)
    vault.link(1, "S", "pw-1")
    vault._conn.execute("PRAGMA busy_timeout = 50")  # the app waits 15 s; the test need not
    blocker = sqlite3.connect(data_dir / "vault.sqlite3", isolation_level=None, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(VaultError, match="busy") as info:
            vault.link(2, "S", "pw-2")
        assert info.value.exit_code == 4
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert [a.login for a in vault.list_accounts()] == [1]
    vault.close()


def test_a_vault_truncated_to_zero_bytes_is_damaged_not_new(data_dir: Path) -> None:
    path = _vault_with_accounts(data_dir)
    path.write_bytes(b"")
    before = _files(data_dir)
    r = _accounts_list(data_dir)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "Traceback" not in r.stderr and "empty" in r.stderr and str(path) in r.stderr
    assert _files(data_dir) == before and path.stat().st_size == 0  # not silently made a new vault


def test_a_vault_moved_aside_starts_a_new_one(data_dir: Path) -> None:
    path = _vault_with_accounts(data_dir)
    path.rename(data_dir / "old-vault.sqlite3")
    r = _accounts_list(data_dir)
    assert r.returncode == 0, r.stderr


# ---- [R] 17: re-linking to change a password keeps the account as the owner set it -------------------------
def test_relinking_keeps_mode_investor_terminal_label_and_order(data_dir: Path) -> None:
    vault = Vault.open(data_dir)
    vault.link(1, "S", "pw-1")
    vault.link(2, "S", "inv-2", label="Watch only", investor=True, mode="dedicated", terminal_path="/t/two")
    vault.link(3, "S", "pw-3")
    before = vault.get(2, "S")
    again = vault.link(2, "S", "inv-2-new")  # a new password only
    assert vault.password(2, "S") == "inv-2-new"
    assert (again.investor, again.mode, again.terminal_path, again.label, again.order) == \
        (True, "dedicated", "/t/two", "Watch only", before.order)
    assert [a.login for a in vault.list_accounts()] == [1, 2, 3]
    changed = vault.link(2, "S", "pw-2", investor=False, mode="shared", terminal_path="/t/other", label="Main")
    assert (changed.investor, changed.mode, changed.terminal_path, changed.label) == (False, "shared", "/t/other",
                                                                                   "Main")
    vault.close()


def test_relinking_on_the_command_line_keeps_the_account_settings(data_dir: Path) -> None:
    def link(*flags: str, password: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "--backend", "sim",
                               "accounts", "link", "--login", "5", "--server", "S", "--no-verify", "--json", *flags],
                              input=password + "\n", capture_output=True, text=True, timeout=120, cwd=ROOT)

    assert link("--investor", "--dedicated", "--label", "Five", password="pw-old").returncode == 0
    r = link(password="pw-new")
    assert r.returncode == 0, r.stderr
    vault = Vault.open(data_dir)
    a = vault.get(5, "S")
    assert (a.investor, a.mode, a.label) == (True, "dedicated", "Five") and vault.password(5, "S") == "pw-new"
    vault.close()
