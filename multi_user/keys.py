"""The encryption key between machines: a Fernet key wrapped with a passphrase, and its fingerprint.

File format (JSON, version 1)::

    {"format": "mt5desk-key", "version": 1,
     "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": B64},
     "cipher": "AES-256-GCM", "nonce": B64, "ciphertext": B64, "fingerprint": "ab12-cd34-ef56"}

scrypt (memory-hard) turns the passphrase into a 256-bit key; AES-GCM encrypts the Fernet key and
authenticates everything else in the file (its header is the associated data), so a wrong passphrase
and a damaged or edited file both fail the tag check and nothing is returned. The KDF parameters are
read from the file but bounded, so a crafted file cannot make us allocate gigabytes.
Pure: no Qt, no I/O beyond what the caller passes in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from multi_user.errors import BadInput

FORMAT = "mt5desk-key"
VERSION = 1
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1  # ~128 MiB, a fraction of a second
MAX_N, MAX_R, MAX_P = 2**20, 16, 4
MIN_PASSPHRASE = 8


def fingerprint(key: str | bytes) -> str:
    """A short, non-secret id of a Fernet key, to compare machines (same hash as the vault's messages)."""
    raw = key.encode() if isinstance(key, str) else key
    digest = hashlib.sha256(raw.strip()).hexdigest()[:12]
    return "-".join(digest[i:i + 4] for i in range(0, 12, 4))


def check_fernet_key(key: str | bytes) -> bytes:
    """The key as bytes if it is a valid Fernet key; else BadInput (the key is never echoed)."""
    raw = (key.encode() if isinstance(key, str) else key).strip()
    try:
        Fernet(raw)
    except (ValueError, TypeError, binascii.Error):
        raise BadInput("That is not a Fernet key (44 characters of url-safe base64, like the web server's "
                       "MT5_ENCRYPTION_KEY). Nothing was changed.", field="key") from None
    return raw


def check_passphrase(passphrase: str) -> str:
    if len(passphrase) < MIN_PASSPHRASE:
        raise BadInput(f"The passphrase must have at least {MIN_PASSPHRASE} characters.", field="passphrase")
    return passphrase


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(passphrase: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=r, p=p).derive(passphrase.encode("utf-8"))


def _header(doc: dict[str, Any]) -> bytes:
    """What the tag authenticates besides the ciphertext: every field that says how to decrypt."""
    fields = {k: doc[k] for k in ("format", "version", "kdf", "cipher", "nonce", "fingerprint")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()


def wrap(key: str | bytes, passphrase: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """The key wrapped with the passphrase, as the text of a key file."""
    raw = check_fernet_key(key)
    check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION,
                           "kdf": {"name": "scrypt", "n": n, "r": r, "p": p, "salt": _b64(salt)},
                           "cipher": "AES-256-GCM", "nonce": _b64(nonce), "fingerprint": fingerprint(raw)}
    ct = AESGCM(_derive(passphrase, salt, n, r, p)).encrypt(nonce, raw, _header(doc))
    doc["ciphertext"] = _b64(ct)
    return json.dumps(doc, indent=1) + "\n"


def _damaged(why: str) -> BadInput:
    return BadInput(f"This is not a usable MT5 Desk key file ({why}). Nothing was changed.", field="file")


def unwrap(text: str, passphrase: str) -> bytes:
    """The Fernet key in a key file; BadInput for a wrong passphrase or a damaged/foreign file."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise _damaged("not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _damaged("not an exported MT5 Desk key")
    if doc.get("version") != VERSION:
        raise _damaged(f"format version {doc.get('version')!r}; this MT5 Desk reads version {VERSION} — "
                       "update MT5 Desk on this machine")
    try:
        kdf = doc["kdf"]
        n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(doc["nonce"], validate=True)
        ct = base64.b64decode(doc["ciphertext"], validate=True)
        header = _header(doc)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise _damaged("a field is missing or malformed") from None
    if kdf.get("name") != "scrypt" or doc.get("cipher") != "AES-256-GCM":
        raise _damaged("unknown key derivation or cipher")
    if not (2 <= n <= MAX_N and n & (n - 1) == 0 and 1 <= r <= MAX_R and 1 <= p <= MAX_P) or len(nonce) != 12:
        raise _damaged("key derivation parameters out of range")
    try:
        raw = AESGCM(_derive(passphrase, salt, n, r, p)).decrypt(nonce, ct, header)
    except InvalidTag:
        raise BadInput("Wrong passphrase, or the key file was damaged or edited. Nothing was changed.",
                       field="passphrase") from None
    return check_fernet_key(raw)
