"""Replacing the encryption key where it lives (`key import`), keeping the previous one as an old key.

The new key goes where the current one is: the OS keyring, else the data dir's 0600 key file. The
previous key is appended to the old keys first (keyring entry, else ``encryption.old-keys``), so at no
moment is a stored password unreadable. A key given by ``MT5_ENCRYPTION_KEY`` cannot be replaced
from here: the owner changes the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from multi_user.credentials import (
    ENV_KEY,
    ENV_OLD_KEYS,
    KEYRING_OLD_USER,
    KEYRING_SERVICE,
    KEYRING_USER,
    load_current_key,
    stored_old_keys,
    write_private_temp,
)
from multi_user.errors import BadInput, VaultError
from multi_user.keys import check_fernet_key, fingerprint
from multi_user.paths import key_file_path, old_keys_path


def _write_private(path: Path, data: bytes) -> None:
    """Replace ``path`` whole with ``data`` (0600): a temp file, fsync'd, then renamed over it."""
    tmp = write_private_temp(path, data)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def import_key(data_dir: Path, new_key: str | bytes) -> dict[str, Any]:
    """Make ``new_key`` the current key; returns {fingerprint, previous, stored_in, changed}."""
    new = check_fernet_key(new_key)
    current, source = load_current_key(data_dir)
    result = {"fingerprint": fingerprint(new), "previous": fingerprint(current), "stored_in": source,
              "changed": new != current}
    if new == current:
        return result
    if source == "env":
        raise BadInput(f"The current key comes from {ENV_KEY}: set {ENV_KEY} to the new key there (and put the "
                       f"current one in {ENV_OLD_KEYS}). Nothing was changed.", field="key")
    old = [k for k in stored_old_keys(data_dir) if k != new]
    if current not in old:
        old.append(current)
    if source == "keyring":
        import keyring

        try:
            keyring.set_password(KEYRING_SERVICE, KEYRING_OLD_USER, ",".join(k.decode() for k in old))
            keyring.set_password(KEYRING_SERVICE, KEYRING_USER, new.decode())
        except Exception as exc:  # the keyring backend's own errors vary
            raise VaultError(f"The OS keyring refused the key ({type(exc).__name__}). "
                             "The previous key is still the current one.") from None
    else:
        _write_private(old_keys_path(Path(data_dir)), b"\n".join(old) + b"\n")
        _write_private(key_file_path(Path(data_dir)), new)
    return result


def export_key_file(data_dir: Path, target: Path, passphrase: str) -> str:
    """Write the current key wrapped with ``passphrase`` to a new file ``target`` (0600, never over an
    existing file); returns the key's fingerprint. scrypt makes this take about a second."""
    from multi_user.keys import check_passphrase, wrap

    target = Path(target)
    if target.exists():
        raise BadInput(f"{target} already exists: choose another name or delete it first", field="file")
    raw, _source = load_current_key(data_dir)
    text = wrap(raw, check_passphrase(passphrase))
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise BadInput(f"Cannot create {target}: {exc.strerror}", field="file") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return fingerprint(raw)


def read_key_file(path: Path, passphrase: str) -> bytes:
    """The key inside a file written by ``export_key_file``; a wrong passphrase or a damaged or
    unreadable file is BadInput and nothing is changed."""
    from multi_user.keys import unwrap

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise BadInput(f"Cannot read {path}: {getattr(exc, 'strerror', None) or exc}. Nothing was changed.",
                       field="file") from None
    return unwrap(text, passphrase)
