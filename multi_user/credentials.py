"""MT5CredentialManager: Fernet encryption of MT5 passwords, compatible with the seed's web server.

Key sources, in order: ``MT5_ENCRYPTION_KEY``; the OS keyring (created on first use); where no
keyring backend works (a headless Linux box), a key file in the data dir with mode 0600 and a
one-line warning. Older keys in ``MT5_ENCRYPTION_KEYS`` (comma-separated) still decrypt, and so do
the keys ``key import`` replaced (multi_user/key_store.py: keyring entry, else a 0600 file).
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from multi_user.errors import VaultError
from multi_user.paths import key_file_path, old_keys_path

log = logging.getLogger("mt5desk.credentials")

ENV_KEY = "MT5_ENCRYPTION_KEY"
ENV_OLD_KEYS = "MT5_ENCRYPTION_KEYS"
KEYRING_SERVICE = "MT5 Desk"
KEYRING_USER = "encryption-key"
KEYRING_OLD_USER = "old-encryption-keys"


def _fernet(key: str | bytes, where: str) -> Fernet:
    try:
        return Fernet(key.encode() if isinstance(key, str) else key)
    except (ValueError, TypeError):
        raise VaultError(f"{where} is not a valid Fernet key (32 url-safe base64-encoded bytes)") from None


def stored_old_keys(data_dir: Path | None) -> list[bytes]:
    """Keys replaced by `key import`: from the keyring entry, and from the data dir's old-keys file."""
    keys: list[bytes] = []
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            stored = keyring.get_password(KEYRING_SERVICE, KEYRING_OLD_USER) or ""
            keys += [k.strip().encode() for k in stored.split(",")]
        except (KeyringError, RuntimeError, OSError):
            pass
    except ImportError:
        pass
    if data_dir is not None:
        try:
            keys += [k.encode() for k in old_keys_path(Path(data_dir)).read_text("ascii").split()]
        except (OSError, UnicodeError):
            pass
    return [k for k in dict.fromkeys(keys) if _valid(k)]


def _valid(key: bytes) -> bool:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return False
    return True


def load_current_key(data_dir: Path | None) -> tuple[bytes, str]:
    """The current key and where it lives ("env", "keyring", "file"); created on first use."""
    return MT5CredentialManager(data_dir)._key_and_source()


def write_private_temp(path: Path, data: bytes) -> Path:
    """``data`` in a new private (0600) file beside ``path``, fsync'd; the caller links or renames it into
    place (so readers see the whole file or none) and removes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return tmp


class MT5CredentialManager:
    """Encrypts and decrypts passwords; never logs or echoes one."""

    def __init__(self, data_dir: Path | None = None, key: str | bytes | None = None) -> None:
        self.data_dir = data_dir
        if key is not None:
            current, self.key_source = _fernet(key, "the given key"), "given"
            raw = key.encode() if isinstance(key, str) else key
        else:
            raw, self.key_source = self._load_key()
            current = _fernet(raw, self._where())
        self._fingerprint = hashlib.sha256(raw.strip()).hexdigest()[:12]
        old = [_fernet(k.strip(), f"{ENV_OLD_KEYS} entry {i + 1}")
               for i, k in enumerate(os.environ.get(ENV_OLD_KEYS, "").split(",")) if k.strip()]
        old += [Fernet(k) for k in stored_old_keys(data_dir)]
        self._raw = raw.strip()
        self._current = current
        self._multi = MultiFernet([current, *old])

    def _key_and_source(self) -> tuple[bytes, str]:
        return self._raw, self.key_source

    def _where(self) -> str:
        return {"env": ENV_KEY, "keyring": "the key in the OS keyring", "file": "the key file"}.get(
            self.key_source, "the key")

    def _load_key(self) -> tuple[bytes, str]:
        env = os.environ.get(ENV_KEY, "").strip()
        if env:
            return env.encode(), "env"
        key = self._keyring_key()
        if key is not None:
            return key, "keyring"
        if self.data_dir is None:
            raise VaultError("No encryption key: set MT5_ENCRYPTION_KEY or use a machine with an OS keyring")
        return self._file_key(key_file_path(self.data_dir)), "file"

    @staticmethod
    def _keyring_key() -> bytes | None:
        try:
            import keyring
            from keyring.errors import KeyringError

            try:
                stored = keyring.get_password(KEYRING_SERVICE, KEYRING_USER)
                if stored:
                    return stored.encode()
                new = Fernet.generate_key()
                keyring.set_password(KEYRING_SERVICE, KEYRING_USER, new.decode())
                return new
            except (KeyringError, RuntimeError, OSError):
                return None
        except ImportError:
            return None

    @staticmethod
    def _file_key(path: Path) -> bytes:
        """Read the key file, or create it so that no process ever sees it half-written.

        The key goes to a private temporary file (fsync'd) that is then hard-linked to the real name:
        the link appears whole or not at all, and fails if another process created the key first (we
        then use theirs). Where the file system has no hard links, O_EXCL creation is the fallback.
        """
        try:
            return path.read_bytes().strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Fernet.generate_key()
        tmp = write_private_temp(path, key)
        try:
            try:
                os.link(tmp, path)
            except FileExistsError:  # another process created it first: use theirs (complete, by the link)
                return path.read_bytes().strip()
            except OSError:  # no hard links here (e.g. FAT): exclusive create, written in one call
                try:
                    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                except FileExistsError:
                    return path.read_bytes().strip()
                with os.fdopen(fd, "wb") as f:
                    f.write(key)
                    f.flush()
                    os.fsync(f.fileno())
        finally:
            tmp.unlink(missing_ok=True)
        log.warning("No OS keyring available: the encryption key is kept in %s (readable only by you)", path)
        return key

    # ---- the API -------------------------------------------------------------------------
    def fingerprint(self) -> str:
        """A short, non-secret id of the current key (to tell keys apart in messages)."""
        return self._fingerprint

    def encrypt(self, password: str) -> str:
        return self._current.encrypt(password.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._multi.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, AttributeError):
            raise VaultError("A stored password cannot be decrypted: it was encrypted with another key "
                             f"(set {ENV_KEY} or {ENV_OLD_KEYS} to the key it was made with) or it was "
                             "tampered with") from None

    def rotate_token(self, token: str) -> str:
        """Re-encrypt a token (made with the current or an old key) to the current key."""
        try:
            return self._multi.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeError):
            raise VaultError("A stored password cannot be re-encrypted: it was made with a key that is "
                             f"neither the current key nor one in {ENV_OLD_KEYS}, or it was tampered with") from None

    def can_decrypt(self, token: str) -> bool:
        try:
            self._multi.decrypt(token.encode("ascii"))
            return True
        except (InvalidToken, UnicodeError):
            return False
