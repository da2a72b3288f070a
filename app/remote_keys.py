"""Host keys the owner confirmed: never accepted silently (issue 18 item 2).

``scan`` asks the host for its keys (``ssh-keyscan``) and shows their SHA256 fingerprints, the form
``ssh-keygen -lf`` prints on the host itself; the owner compares and confirms once; ``trust`` writes
exactly those keys to the desk's own known-hosts file, which every connection checks strictly
(app/remote_hosts.py). A changed key then stops the desk with a plain message instead of connecting.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.remote_hosts import Host, known_hosts_file, ssh_options, ssh_program
from multi_user.errors import BadInput, DeskError

SCAN_TIMEOUT = 20


@dataclass(frozen=True)
class HostKey:
    pattern: str  # the known-hosts name: host, or [host]:port
    kind: str  # ssh-ed25519, ecdsa-sha2-nistp256, ...
    blob: str  # base64

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(base64.b64decode(self.blob)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def line(self) -> str:
        return f"{self.pattern} {self.kind} {self.blob}"


def resolve(host: Host) -> tuple[str, int]:
    """The hostname and port ssh really connects to (``ssh -G`` applies the owner's ~/.ssh/config)."""
    try:
        out = subprocess.run([ssh_program(), "-G", *ssh_options(host, Path(".")), "--", host.destination],
                             capture_output=True, text=True, timeout=SCAN_TIMEOUT, stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        out = ""
    values = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    port = host.port or int(values.get("port", "22") or 22)
    return values.get("hostname", host.hostname), port


def pattern_for(hostname: str, port: int) -> str:
    return hostname if port == 22 else f"[{hostname}]:{port}"


def scan(host: Host) -> list[HostKey]:
    """The keys the host offers now (what the owner is asked to confirm)."""
    hostname, port = resolve(host)
    try:
        done = subprocess.run([ssh_program("ssh-keyscan"), "-p", str(port), "-T", "10", "--", hostname],
                              capture_output=True, text=True, timeout=SCAN_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise DeskError(f"{host.describe()} did not answer within {SCAN_TIMEOUT} s") from None
    keys = []
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            keys.append(HostKey(pattern_for(hostname, port), parts[1], parts[2]))
    if not keys:
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no SSH server answered"
        raise DeskError(f"could not read the host keys of {host.describe()}: {reason}")
    return keys


def known(data_dir: Path, host: Host) -> list[HostKey]:
    """The keys of ``host`` the owner confirmed before."""
    hostname, port = resolve(host)
    wanted = pattern_for(hostname, port)
    return [k for k in _read(known_hosts_file(data_dir)) if k.pattern == wanted]


def trust(data_dir: Path, keys: list[HostKey], fingerprint: str) -> HostKey:
    """Store the one key of ``keys`` whose fingerprint the owner confirmed (only that one: a man in the
    middle could offer the real key next to his own); replaces what was known for that host. A
    fingerprint that matches none: BadInput, nothing stored."""
    wanted = fingerprint.strip()
    match = next((k for k in keys if k.fingerprint == wanted or k.fingerprint.removeprefix("SHA256:") == wanted),
                 None)
    if match is None:
        raise BadInput(f"the fingerprint {wanted!r} is none of the host's keys; nothing was trusted")
    path = known_hosts_file(data_dir)
    patterns = {k.pattern for k in keys}
    kept = [k for k in _read(path) if k.pattern not in patterns]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(k.line() + "\n" for k in [*kept, match]), encoding="utf-8")
    tmp.replace(path)
    return match


def forget(data_dir: Path, host: Host) -> None:
    path = known_hosts_file(data_dir)
    if not path.exists():
        return
    hostname, port = resolve(host)
    drop = pattern_for(hostname, port)
    path.write_text("".join(k.line() + "\n" for k in _read(path) if k.pattern != drop), encoding="utf-8")


def _read(path: Path) -> list[HostKey]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and not line.startswith("#"):
            out.append(HostKey(parts[0], parts[1], parts[2]))
    return out
