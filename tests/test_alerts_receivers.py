"""Real alert receivers on loopback ([N] must show) and `alerts add|list|test|remove` against them:
an SMTP server (aiosmtpd, with a login) for a ``mailto://`` channel and a small HTTP server for apprise's
``json://`` channel. The channel URLs carry a password / token that must not show up in the data dir,
the logs, or the command's output.

The receivers are also imported by the other tests/test_alerts_*.py files.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMTP_PASSWORD = "smtpPassw0rdXYZ"
JSON_TOKEN = "jsonT0kenSECRET123"


class _Inbox:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._cv = threading.Condition()

    def put(self, item: dict[str, Any]) -> None:
        with self._cv:
            self.items.append(item)
            self._cv.notify_all()

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                found = next((m for m in self.items if predicate(m)), None)
                if found is not None:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"nothing matching arrived within {timeout} s; got {self.items}")
                self._cv.wait(remaining)


class SmtpReceiver(_Inbox):
    """aiosmtpd on 127.0.0.1 that accepts one user/password (AUTH without TLS: loopback only)."""

    def __init__(self, password: str = SMTP_PASSWORD) -> None:
        super().__init__()
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                import email

                msg = email.message_from_bytes(envelope.content)
                parts = [p.get_payload(decode=True).decode("utf-8", "replace") for p in msg.walk()
                         if p.get_content_type() == "text/plain"]
                receiver.put({"subject": str(msg["Subject"]), "body": "\n".join(parts), "to": envelope.rcpt_tos})
                return "250 OK"

        def auth(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            return AuthResult(success=isinstance(data, LoginPassword) and data.password == password.encode())

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, authenticator=auth,
                                     auth_require_tls=False)
        self.controller.start()

    def url(self) -> str:
        return (f"mailto://desk:{SMTP_PASSWORD}@127.0.0.1:{self.port}?mode=insecure&from=desk@example.com"
                "&to=owner@example.com")

    def stop(self) -> None:
        self.controller.stop()


class HttpReceiver(_Inbox):
    """A JSON webhook on 127.0.0.1; ``fail_next`` requests are answered 500 (a failing service)."""

    def __init__(self, port: int = 0) -> None:
        super().__init__()
        receiver = self
        self.fail_next = 0
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(size) or b"{}")
                receiver.requests += 1
                if receiver.fail_next > 0:
                    receiver.fail_next -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.put({"path": self.path, "auth": self.headers.get("Authorization"), **body})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="json-receiver", daemon=True)
        self.thread.start()

    def url(self, path: str = "hook") -> str:
        return f"json://desk:{JSON_TOKEN}@127.0.0.1:{self.port}/{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    r = SmtpReceiver()
    yield r
    r.stop()


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    r = HttpReceiver()
    yield r
    r.stop()


def cli(data_dir: Path, *args: str, stdin: str = "", timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "--data-dir", str(data_dir), "alerts", *args],
                          input=stdin, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT))


def files_containing(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.mark.slow
def test_alerts_test_arrives_by_mail_and_webhook_and_no_secret_is_kept(data_dir: Path, smtp, hook) -> None:
    added = cli(data_dir, "add", "--url", "-", "--label", "mail", "--json", stdin=smtp.url() + "\n")
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["channel"]["masked"] == f"mailto://***@127.0.0.1:{smtp.port}/…"
    added = cli(data_dir, "add", "--events", "guard,job,disconnect", stdin=hook.url() + "\n")
    assert added.returncode == 0, added.stderr
    listed = json.loads(cli(data_dir, "list", "--json").stdout)["channels"]
    assert [c["id"] for c in listed] == [1, 2] and listed[1]["events"] == ["guard", "job", "disconnect"]
    assert listed[1]["masked"] == f"json://***@127.0.0.1:{hook.port}/…"

    tested = cli(data_dir, "test")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    mail = smtp.wait_for(lambda m: m["subject"] == "MT5 Desk test alert")
    assert "This channel works" in mail["body"] and mail["to"] == ["owner@example.com"]
    posted = hook.wait_for(lambda m: m.get("title") == "MT5 Desk test alert")
    assert posted["path"] == "/hook" and posted["auth"]  # apprise logged in with the token
    for secret in (SMTP_PASSWORD, JSON_TOKEN):
        assert files_containing(data_dir, secret) == []  # alerts.json, settings, logs: none has it
        assert all(secret not in out for out in (added.stdout, added.stderr, tested.stdout, tested.stderr))

    assert cli(data_dir, "remove", "1").returncode == 0
    assert [c["id"] for c in json.loads(cli(data_dir, "list", "--json").stdout)["channels"]] == [2]


def test_a_channel_that_cannot_be_reached_fails_with_a_reason_and_no_secret() -> None:
    from app.alerts_channels import send

    ok, reason = send(f"json://desk:{JSON_TOKEN}@127.0.0.1:{free_port()}/x", "t", "b")  # nobody listens there
    assert ok is False and "127.0.0.1" in reason and JSON_TOKEN not in reason


def test_bad_input_changes_nothing(data_dir: Path) -> None:
    from app.alerts_channels import add_channel, parse_events
    from multi_user.credentials import MT5CredentialManager
    from multi_user.errors import BadInput

    creds = MT5CredentialManager(data_dir)
    with pytest.raises(BadInput, match="nonsense://") as bad:
        add_channel(data_dir, creds, "nonsense://what-is-this")
    assert "what-is-this" not in str(bad.value)
    for url in ("", "   ", "no scheme here", "json://a b"):
        with pytest.raises(BadInput):
            add_channel(data_dir, creds, url)
    with pytest.raises(BadInput, match="weather"):
        parse_events("guard,weather")
    assert parse_events("all") is None and parse_events("Job, guard,job") == ["job", "guard"]
    assert not (data_dir / "alerts.json").exists()
    assert cli(data_dir, "remove", "7").returncode == 2
    assert cli(data_dir, "settings", "--quiet-hours", "late").returncode == 2
    assert cli(data_dir, "settings", "--zone", "Mars/Olympus").returncode == 2
    shown = json.loads(cli(data_dir, "settings", "--disconnect-after", "45", "--quiet-hours", "22:00-07:00",
                           "--json").stdout)["settings"]
    assert shown["alert_disconnect_after"] == 45 and shown["alert_quiet_hours"] == "22:00-07:00"
