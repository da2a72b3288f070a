"""`key export|import|fingerprint` (issue 18, item 4): the key wrapped with a passphrase travels between
two data dirs, the second vault then decrypts the first's rows, and a wrong passphrase or a damaged file
changes nothing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from multi_user import keys
from multi_user.errors import BadInput

ROOT = Path(__file__).resolve().parent.parent
PASS = "correct horse battery"


def cli(data_dir: Path, *args: str, stdin: str = "", env: dict | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("MT5_ENCRYPTION_KEY", "MT5_ENCRYPTION_KEYS")}
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), *args],
                          input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env={**base, **(env or {})})


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and "logs" not in p.relative_to(folder).parts}


def vault_with(data_dir: Path, *rows: tuple[int, str, str]) -> None:
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        for login, server, password in rows:
            vault.link(login, server, password)
    finally:
        vault.close()


def tokens(data_dir: Path) -> list[tuple[int, str, str]]:
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        return [(a.login, a.server, vault.token(a.login, a.server)) for a in vault.list_accounts()]
    finally:
        vault.close()


@pytest.fixture
def two_dirs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "desk-a", tmp_path / "vps-b"
    a.mkdir()
    b.mkdir()
    vault_with(a, (1001, "Demo-A", "pw-a-1"), (1002, "Demo-A", "pw-a-2"))
    vault_with(b, (2001, "Demo-B", "pw-b-1"))
    return a, b


def test_export_import_round_trip_then_the_second_vault_decrypts_the_firsts_rows(two_dirs: tuple[Path, Path],
                                                                                  tmp_path: Path) -> None:
    a, b = two_dirs
    key_file = tmp_path / "desk.mt5key"
    r = cli(a, "key", "export", "--file", str(key_file), "--json", stdin=PASS + "\n")
    assert r.returncode == 0, r.stderr
    exported = json.loads(r.stdout)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert (a / "encryption.key").read_bytes().strip() not in key_file.read_bytes()  # never in the clear
    fp_a = json.loads(cli(a, "key", "fingerprint", "--json").stdout)["fingerprint"]
    assert exported["fingerprint"] == fp_a
    assert json.loads(cli(b, "key", "fingerprint", "--json").stdout)["fingerprint"] != fp_a

    r = cli(b, "key", "import", "--file", str(key_file), "--json", stdin=PASS + "\n")
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["changed"] is True and result["fingerprint"] == fp_a and result["stored_in"] == "file"
    fp = json.loads(cli(b, "key", "fingerprint", "--json").stdout)
    assert fp["fingerprint"] == fp_a and fp["old_keys"] == 1
    assert stat.S_IMODE((b / "encryption.old-keys").stat().st_mode) == 0o600

    # the first machine's tokens, stored as-is (the path cloud sync takes), decrypt on the second
    from multi_user.vault import Vault

    vault = Vault.open(b)
    try:
        for login, server, token in tokens(a):
            vault.put_remote(login, server, token, label=None, investor=False, mode="shared", order=0,
                             created_at="2026-01-01T00:00:00Z", updated_at="2026-01-01T00:00:00Z")
        got = {a_.key: vault.password(a_.login, a_.server) for a_ in vault.list_accounts()}
        assert vault.key_matches() is True
    finally:
        vault.close()
    # ... and the second machine's own row, made with its previous key, is still readable
    assert got == {"1001@Demo-A": "pw-a-1", "1002@Demo-A": "pw-a-2", "2001@Demo-B": "pw-b-1"}
    # rotating moves every row to the imported key
    assert cli(b, "accounts", "rotate").returncode == 0
    assert json.loads(cli(b, "accounts", "list", "--json").stdout)["accounts"]

    # importing the same key again changes nothing
    r = cli(b, "key", "import", "--file", str(key_file), "--json", stdin=PASS + "\n")
    assert r.returncode == 0 and json.loads(r.stdout)["changed"] is False


def test_wrong_passphrase_or_damaged_file_exits_2_and_changes_nothing(two_dirs: tuple[Path, Path],
                                                                       tmp_path: Path) -> None:
    a, b = two_dirs
    key_file = tmp_path / "desk.mt5key"
    assert cli(a, "key", "export", "--file", str(key_file), stdin=PASS + "\n").returncode == 0
    before = files(b)
    r = cli(b, "key", "import", "--file", str(key_file), stdin="not the passphrase\n")
    assert r.returncode == 2, r.stderr
    assert "Wrong passphrase" in r.stderr and "Nothing was changed" in r.stderr
    assert files(b) == before

    doc = json.loads(key_file.read_text())
    damaged = []
    ct = bytearray(doc["ciphertext"].encode())
    ct[10] = ord("A") if ct[10] != ord("A") else ord("B")
    damaged.append({**doc, "ciphertext": ct.decode()})
    damaged.append({**doc, "kdf": {**doc["kdf"], "n": 2**14}})  # an edited header fails the tag too
    damaged.append({**doc, "kdf": {**doc["kdf"], "n": 2**30}})  # never allocates what a file asks
    damaged.append({**doc, "version": 99})
    for i, bad in enumerate(damaged):
        path = tmp_path / f"bad{i}.mt5key"
        path.write_text(json.dumps(bad))
        r = cli(b, "key", "import", "--file", str(path), stdin=PASS + "\n")
        assert r.returncode == 2, (i, r.stderr)
        assert "Nothing was changed" in r.stderr, r.stderr
    truncated = tmp_path / "cut.mt5key"
    truncated.write_text(key_file.read_text()[:50])
    r = cli(b, "key", "import", "--file", str(truncated), stdin=PASS + "\n")
    assert r.returncode == 2 and "not a usable MT5 Desk key file" in r.stderr
    r = cli(b, "key", "import", "--file", str(tmp_path / "missing"), stdin=PASS + "\n")
    assert r.returncode == 2 and "Cannot read" in r.stderr
    assert files(b) == before


def test_raw_import_and_its_bad_input(data_dir: Path) -> None:
    vault_with(data_dir, (3001, "Demo-C", "pw-c"))
    new = Fernet.generate_key().decode()
    before = files(data_dir)
    r = cli(data_dir, "key", "import", "--raw", stdin="definitely-not-a-key\n")
    assert r.returncode == 2 and "not a Fernet key" in r.stderr and "definitely" not in r.stderr
    assert files(data_dir) == before
    r = cli(data_dir, "key", "import", "--raw", "--json", stdin=new + "\n")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["fingerprint"] == keys.fingerprint(new)
    assert new not in r.stdout + r.stderr
    listed = cli(data_dir, "accounts", "rotate", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"rotated": 1}
    # with only the new key (old keys file gone), the rotated row still decrypts
    (data_dir / "encryption.old-keys").unlink()
    from multi_user.vault import Vault

    vault = Vault.open(data_dir)
    try:
        assert vault.password(3001, "Demo-C") == "pw-c"
    finally:
        vault.close()


def test_export_refuses_an_existing_file_and_a_short_passphrase(data_dir: Path, tmp_path: Path) -> None:
    existing = tmp_path / "there.mt5key"
    existing.write_text("mine")
    r = cli(data_dir, "key", "export", "--file", str(existing), stdin=PASS + "\n")
    assert r.returncode == 2 and "already exists" in r.stderr and existing.read_text() == "mine"
    r = cli(data_dir, "key", "export", "--file", str(tmp_path / "new.mt5key"), stdin="short\n")
    assert r.returncode == 2 and "at least" in r.stderr and not (tmp_path / "new.mt5key").exists()


def test_a_key_from_the_environment_is_not_replaced(data_dir: Path) -> None:
    env = {"MT5_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    r = cli(data_dir, "key", "import", "--raw", stdin=Fernet.generate_key().decode() + "\n", env=env)
    assert r.returncode == 2 and "MT5_ENCRYPTION_KEY" in r.stderr
    assert not (data_dir / "encryption.key").exists() and not (data_dir / "encryption.old-keys").exists()


def test_wrap_unwrap_pure() -> None:
    key = Fernet.generate_key()
    text = keys.wrap(key, PASS, n=2**12)
    assert keys.unwrap(text, PASS) == key
    with pytest.raises(BadInput, match="Wrong passphrase"):
        keys.unwrap(text, PASS + "x")
    assert json.loads(text)["fingerprint"] == keys.fingerprint(key)
    assert len(keys.fingerprint(key)) == 14


def test_import_into_the_keyring_keeps_the_previous_key_there(data_dir: Path) -> None:
    """Where the key lives in the OS keyring, the new one goes there and the previous one to its old-keys entry."""
    import keyring
    from test_credentials import MemoryKeyring

    from multi_user.credentials import MT5CredentialManager
    from multi_user.key_store import import_key

    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    try:
        first = MT5CredentialManager(data_dir)
        assert first.key_source == "keyring"
        token = first.encrypt("pw-old")
        new = Fernet.generate_key()
        result = import_key(data_dir, new)
        assert result["stored_in"] == "keyring" and result["changed"]
        assert memory.store[("MT5 Desk", "encryption-key")] == new.decode()
        assert not (data_dir / "encryption.key").exists() and not (data_dir / "encryption.old-keys").exists()
        second = MT5CredentialManager(data_dir)
        assert second.decrypt(token) == "pw-old"
        assert Fernet(new).decrypt(second.encrypt("x").encode()) == b"x"
    finally:
        keyring.set_keyring(previous)
