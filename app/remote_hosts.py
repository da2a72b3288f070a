"""The owner's other machines (issue 18, items 2-3): the host list and the ``ssh`` command line for each.

A host is an SSH destination (``user@host``, an optional port and identity file) and the command that
runs MT5 Desk there; it is stored in ``<data>/hosts.json`` (no secret in it: SSH authenticates with the
owner's keys or agent). The desk reaches a host with the system OpenSSH client, never asking for a
password (``BatchMode=yes``), and only to a machine whose host key the owner confirmed: the desk keeps
its own known-hosts file (``<data>/ssh_known_hosts``, ``StrictHostKeyChecking=yes``), filled by
``hosts add`` / ``hosts trust`` after the owner compared the fingerprint (app/remote_keys.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from multi_user.errors import BadInput, DeskError

HOSTS_FILE = "hosts.json"
KNOWN_HOSTS_FILE = "ssh_known_hosts"
DEFAULT_COMMAND = "mt5-desk"
KEEPALIVE_SECONDS = 15  # ssh's ServerAliveInterval: a dead link is noticed within ~3 of these
CONNECT_TIMEOUT = 15

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
# [user@]host: no spaces, no leading "-" (ssh would read it as an option), no shell characters
_DESTINATION = re.compile(r"^(?:[A-Za-z0-9._][A-Za-z0-9._-]{0,63}@)?[A-Za-z0-9_.:\[\]-]{1,253}$")


@dataclass(frozen=True)
class Host:
    name: str
    destination: str
    port: int | None = None
    identity: str | None = None
    command: str = DEFAULT_COMMAND

    @property
    def hostname(self) -> str:
        return self.destination.rsplit("@", 1)[-1]

    def describe(self) -> str:
        port = f" port {self.port}" if self.port else ""
        return f"{self.name} ({self.destination}{port})"


def check_host(name: str, destination: str, port: int | str | None = None, identity: str | None = None,
               command: str | None = None) -> Host:
    """A Host from the owner's input, or BadInput saying which field is wrong."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise BadInput(f"host name {name!r}: 1-40 letters, digits, '.', '_' or '-', starting with a letter or digit")
    destination = (destination or "").strip()
    if destination.startswith("-") or not _DESTINATION.match(destination):
        raise BadInput(f"destination {destination!r} is not an SSH destination like user@vps.example.com")
    number: int | None = None
    if port not in (None, ""):
        try:
            number = int(port)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise BadInput(f"port {port!r} is not a number") from None
        if not 1 <= number <= 65535:
            raise BadInput(f"port {number} is not between 1 and 65535")
    if identity:
        path = Path(identity).expanduser()
        if not path.is_file():
            raise BadInput(f"identity file {identity} does not exist (the private key SSH logs in with)")
        identity = str(path.resolve())
    command = (command or DEFAULT_COMMAND).strip()
    if not command or "\n" in command or "\r" in command or "\0" in command:
        raise BadInput("the command that runs MT5 Desk on the host must be one line, e.g. mt5-desk")
    return Host(name, destination, number, identity or None, command)


class HostStore:
    """``<data>/hosts.json``: the owner's hosts in the order added. Bad input changes nothing stored."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / HOSTS_FILE

    def load(self) -> list[Host]:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            raise DeskError(f"{self.path} is unreadable ({exc}); fix or remove it") from None
        hosts = []
        for item in raw.get("hosts", []) if isinstance(raw, dict) else []:
            try:
                hosts.append(Host(**{k: item[k] for k in ("name", "destination", "port", "identity", "command")
                                     if k in item}))
            except TypeError:
                continue
        return hosts

    def get(self, name: str) -> Host:
        for host in self.load():
            if host.name == name:
                return host
        known = ", ".join(h.name for h in self.load()) or "none yet; `hosts add` adds one"
        raise BadInput(f"no host named {name!r} (hosts: {known})")

    def add(self, host: Host) -> None:
        hosts = self.load()
        if any(h.name == host.name for h in hosts):
            raise BadInput(f"a host named {host.name!r} exists already; remove it first or choose another name")
        self._save([*hosts, host])

    def remove(self, name: str) -> Host:
        host = self.get(name)
        self._save([h for h in self.load() if h.name != name])
        return host

    def _save(self, hosts: list[Host]) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"hosts": [asdict(h) for h in hosts]}, indent=2), encoding="utf-8")
        os.replace(tmp, self.path)


def ssh_program(name: str = "ssh") -> str:
    """The system OpenSSH client (Windows 10/11 ship it in System32\\OpenSSH)."""
    found = shutil.which(name)
    if found is None and sys.platform == "win32":
        candidate = Path(os.environ.get("SYSTEMROOT", r"C:\Windows")) / "System32" / "OpenSSH" / f"{name}.exe"
        found = str(candidate) if candidate.is_file() else None
    if found is None:
        raise DeskError(f"the OpenSSH client ({name}) is not installed; MT5 Desk reaches other machines with it")
    return found


def known_hosts_file(data_dir: Path) -> Path:
    return Path(data_dir) / KNOWN_HOSTS_FILE


def ssh_options(host: Host, data_dir: Path) -> list[str]:
    """The options every connection to ``host`` uses: never a password prompt, never an unconfirmed key."""
    opts = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            # quoted: ssh splits this value at spaces ("MT5 Desk", "Application Support"); / on Windows too
            "-o", f'UserKnownHostsFile="{known_hosts_file(data_dir).as_posix()}"', "-o", "GlobalKnownHostsFile=none",
            "-o", f"ServerAliveInterval={KEEPALIVE_SECONDS}", "-o", "ServerAliveCountMax=3",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT}"]
    if host.port:
        opts += ["-p", str(host.port)]
    if host.identity:
        opts += ["-i", host.identity, "-o", "IdentitiesOnly=yes"]
    return opts


def ssh_argv(host: Host, data_dir: Path, remote: str) -> list[str]:
    """``ssh -T ... DEST 'COMMAND remote'``: the remote command runs in the host's login shell."""
    return [ssh_program(), "-T", *ssh_options(host, data_dir), "--", host.destination, f"{host.command} {remote}"]


def attach_argv(host: Host, data_dir: Path, duration: float | None = None) -> list[str]:
    remote = "attach" + (f" --duration {duration:g}" if duration else "")
    return ssh_argv(host, data_dir, remote)


def explain_ssh_failure(host: Host, stderr: str, code: int | None) -> tuple[str, bool]:
    """Plain words for why ssh ended, and whether trying again later may help."""
    text = stderr.strip()
    last = text.splitlines()[-1] if text else ""
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or ("Host key for" in text and "has changed" in text):
        return (f"{host.name}: the host's key has CHANGED since you confirmed it — someone may be in between, "
                f"or the machine was reinstalled. Check, then `hosts trust {host.name}`"), False
    if "Host key verification failed" in text or ("No " in text and "host key is known" in text):
        return (f"{host.name}: its host key is not confirmed yet; `hosts trust {host.name}` shows the fingerprint "
                "to compare"), False
    if "Permission denied" in text:
        return (f"{host.name}: SSH refused the login ({last}); the desk logs in with keys only — add your public "
                "key to the host's authorized_keys (docs/HOSTS.md)"), True
    if "not found" in text or "not recognized" in text or code == 127:
        return f"{host.name}: '{host.command}' does not run MT5 Desk there ({last})", False
    if code == 3 and "not running" in text:
        return f"{host.name}: MT5 Desk is not running there ({last})", True
    if last:
        return f"{host.name}: {last}", True
    return f"{host.name}: ssh ended (exit code {code})", True


def host_fields(host: Host) -> dict[str, Any]:
    return asdict(host)
