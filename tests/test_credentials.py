"""MT5CredentialManager: interop with plain Fernet (the seed's web server), key sources, old keys,
tamper and wrong-key errors that name no secret."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import keyring
import pytest
from cryptography.fernet import Fernet
from keyring.backend import KeyringBackend

from multi_user.credentials import KEYRING_SERVICE, KEYRING_USER, MT5CredentialManager
from multi_user.errors import VaultError

SECRET = "Tr1cky-pässwörd!"


def test_interop_with_plain_fernet_both_ways(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key = Fernet.generate_key()
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", key.decode())
    mgr = MT5CredentialManager(tmp_path)
    assert mgr.key_source == "env"
    server_token = Fernet(key).encrypt(SECRET.encode()).decode()  # what the web server stores
    assert mgr.decrypt(server_token) == SECRET
    assert Fernet(key).decrypt(mgr.encrypt(SECRET).encode()).decode() == SECRET
    assert not (tmp_path / "encryption.key").exists()


def test_key_file_fallback_is_private_and_stable(tmp_path: Path) -> None:
    mgr = MT5CredentialManager(tmp_path)  # conftest makes the keyring fail, as on a headless box
    assert mgr.key_source == "file"
    path = tmp_path / "encryption.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = mgr.encrypt(SECRET)
    assert MT5CredentialManager(tmp_path).decrypt(token) == SECRET
    assert SECRET.encode() not in path.read_bytes()


class MemoryKeyring(KeyringBackend):
    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def test_os_keyring_key_created_on_first_use(tmp_path: Path) -> None:
    backend = MemoryKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        mgr = MT5CredentialManager(tmp_path)
        assert mgr.key_source == "keyring"
        assert (KEYRING_SERVICE, KEYRING_USER) in backend.store
        token = mgr.encrypt(SECRET)
        assert MT5CredentialManager(tmp_path).decrypt(token) == SECRET
        assert not (tmp_path / "encryption.key").exists()
    finally:
        keyring.set_keyring(previous)


def test_old_keys_still_decrypt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    token = Fernet(old).encrypt(SECRET.encode()).decode()
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", new.decode())
    with pytest.raises(VaultError):
        MT5CredentialManager(tmp_path).decrypt(token)
    monkeypatch.setenv("MT5_ENCRYPTION_KEYS", f"{Fernet.generate_key().decode()}, {old.decode()}")
    mgr = MT5CredentialManager(tmp_path)
    assert mgr.decrypt(token) == SECRET
    rotated = mgr.rotate_token(token)
    assert Fernet(new).decrypt(rotated.encode()).decode() == SECRET


def test_tampered_and_foreign_tokens_are_clear_errors_without_secrets(tmp_path: Path) -> None:
    mgr = MT5CredentialManager(tmp_path)
    token = mgr.encrypt(SECRET)
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    for bad in (tampered, Fernet(Fernet.generate_key()).encrypt(SECRET.encode()).decode(), "not a token"):
        with pytest.raises(VaultError) as info:
            mgr.decrypt(bad)
        assert "another key" in str(info.value) and SECRET not in str(info.value)
        assert bad not in str(info.value)


def test_invalid_key_in_the_environment_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MT5_ENCRYPTION_KEY", "short")
    with pytest.raises(VaultError, match="MT5_ENCRYPTION_KEY is not a valid Fernet key"):
        MT5CredentialManager(tmp_path)
    assert os.environ["MT5_ENCRYPTION_KEY"] == "short"
