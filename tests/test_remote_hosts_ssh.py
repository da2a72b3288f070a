"""Remote hosts over a real OpenSSH server on loopback (issue 18 items 2-3, "Must show").

The fixture starts Debian's sshd on a free loopback port with a generated host key and a generated
user key (keys only, no password login) and stops it, with every session it forked, afterwards.
Each "host" is a data dir with a headless MT5 Desk on the simulator; the desk reaches it with
``ssh -T -o BatchMode=yes ... '<python main.py --data-dir D> attach'``, as it would a VPS.
Without sshd the tests are skipped with the reason, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import getpass
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SSHD = shutil.which("sshd") or ("/usr/sbin/sshd" if Path("/usr/sbin/sshd").is_file() else None)


def _need(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} (CI installs openssh-server; see .ci/run)", pytrace=False)
    pytest.skip(what)


@dataclass
class Sshd:
    port: int
    folder: Path
    user_key: Path
    host_pub: Path
    proc: subprocess.Popen

    def host_fingerprint(self) -> str:
        out = subprocess.run(["ssh-keygen", "-lf", str(self.host_pub)], capture_output=True, text=True, check=True)
        return out.stdout.split()[1]

    def log(self) -> str:
        path = self.folder / "sshd.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, pp in parents.items() if pp in frontier]
        found += kids
        frontier = kids
    return found


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    if SSHD is None or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        _need("OpenSSH server/client not installed (apt-get install openssh-server openssh-client)")
    folder = tmp_path / "sshd"
    folder.mkdir()
    for name in ("host_key", "user_key"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(folder / name)],
                       check=True, stdin=subprocess.DEVNULL)
    auth = folder / "authorized_keys"
    auth.write_text((folder / "user_key.pub").read_text())
    auth.chmod(0o600)
    privsep = Path("/run/sshd")  # sshd refuses to start without its privilege separation folder
    if not privsep.is_dir():
        try:
            privsep.mkdir(mode=0o755, parents=True)
        except OSError as exc:
            _need(f"sshd needs {privsep} and it cannot be made here ({exc})")
    port = _free_port()
    config = folder / "sshd_config"
    config.write_text("\n".join([
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {folder / 'host_key'}", f"PidFile {folder / 'sshd.pid'}",
        f"AuthorizedKeysFile {auth}", "StrictModes no", "UsePAM no", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "PermitRootLogin prohibit-password", "PubkeyAuthentication yes",
        "LogLevel VERBOSE", ""]))
    proc = subprocess.Popen([SSHD, "-f", str(config), "-D", "-E", str(folder / "sshd.log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = Sshd(port, folder, folder / "user_key", folder / "host_key.pub", proc)
    deadline = time.monotonic() + 20
    while "Server listening" not in server.log():
        if proc.poll() is not None or time.monotonic() > deadline:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            proc.kill()
            proc.wait()
            _need(f"sshd did not start: {err or server.log()}")
        time.sleep(0.05)  # sshd writes its log line once it listens; nothing to wait on but the file
    try:
        yield server
    finally:
        sessions = _descendants(proc.pid)
        proc.terminate()
        proc.wait(10)
        for pid in sessions:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if proc.stderr:
            proc.stderr.close()


def hosts_cli(desk: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(desk), "hosts", *args],
                          input=stdin, capture_output=True, text=True, timeout=120, cwd=ROOT)


def remote_command(host_dir: Path) -> str:
    return " ".join(shlex.quote(p) for p in (sys.executable, str(ROOT / "main.py"), "--data-dir", str(host_dir),
                                               "--backend", "sim"))


def add_host(desk: Path, server: Sshd, name: str, host_dir: Path, *confirm: str) -> subprocess.CompletedProcess:
    return hosts_cli(desk, "add", name, f"{getpass.getuser()}@127.0.0.1", "--port", str(server.port),
                     "--identity", str(server.user_key), "--command", remote_command(host_dir), "--json", *confirm)


def test_an_unknown_host_key_is_refused_until_the_owner_confirms_it(sshd: Sshd, tmp_path: Path, qtbot) -> None:
    from app.remote_desk import RemoteHosts

    desk = tmp_path / "desk"
    host_dir = tmp_path / "host"
    desk.mkdir()
    host_dir.mkdir()
    r = add_host(desk, sshd, "vps1", host_dir, "--fingerprint", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    assert r.returncode == 2 and "none of the host's keys" in r.stderr and not (desk / "hosts.json").exists()
    r = add_host(desk, sshd, "vps1", host_dir)  # nobody to ask: stored, key not confirmed
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["confirmed"] is None and sshd.host_fingerprint() in [k["fingerprint"] for k in out["offered"]]
    listed = json.loads(hosts_cli(desk, "list", "--json").stdout)["hosts"]
    assert listed[0]["name"] == "vps1" and listed[0]["key_confirmed"] is False
    r = hosts_cli(desk, "test", "vps1")
    assert r.returncode == 3 and "not confirmed" in r.stderr
    # the desk does not connect either: refused, and no retry
    hosts = RemoteHosts(desk, backoff=(0.2, 1.0))
    seen: list[dict] = []
    hosts.event.connect(seen.append)
    hosts.start()
    try:
        qtbot.waitUntil(lambda: hosts.links["vps1"].state == "refused", timeout=20000)
        assert "not confirmed" in hosts.links["vps1"].message
        assert not hosts.links["vps1"]._retry.isActive()
        assert "Accepted publickey" not in sshd.log()  # refused before logging in
        # confirmed: past the key, it logs in (no MT5 Desk runs there yet: said so)
        r = hosts_cli(desk, "trust", "vps1", "--fingerprint", sshd.host_fingerprint(), "--json")
        assert r.returncode == 0 and json.loads(r.stdout)["confirmed"] == sshd.host_fingerprint(), r.stderr
        r = hosts_cli(desk, "test", "vps1")
        assert r.returncode == 3 and "not running" in r.stderr, r.stderr
        assert "Accepted publickey" in sshd.log()
        hosts.reconnect("vps1")
        qtbot.waitUntil(lambda: hosts.links["vps1"].state == "offline" and hosts.links["vps1"].connects == 2,
                        timeout=20000)
        assert "not running" in hosts.links["vps1"].message
    finally:
        hosts.stop()
