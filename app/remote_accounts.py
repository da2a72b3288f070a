"""``accounts link|unlink --host NAME``: an account in a remote host's own vault (issue 18 item 3).

The password is read here (stdin or a hidden prompt), encrypted at once with this machine's key and
only the Fernet token goes over SSH to the host's running MT5 Desk (``ssh ... attach``), which
decrypts it with its key (the same key: ``key export`` / ``key import``), verifies the login on its own
terminal and stores it. A host with another key answers with exit code 4 and stores nothing.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from app.remote_hosts import HostStore, attach_argv, explain_ssh_failure
from multi_user.errors import BadInput, DeskError, TerminalError, VaultError

ANSWER_WAIT = 300  # seconds: a verify job on the host waits for its shared terminal's lock
_ERRORS: dict[int, type[DeskError]] = {2: BadInput, 3: TerminalError, 4: VaultError}


def request_on_host(args: Any, host_name: str, request: dict[str, Any]) -> dict[str, Any]:
    """Send one request to the host's running app and return its answer (the event with its id)."""
    from app.control import PROTOCOL

    host = HostStore(args.data_dir).get(host_name)
    request = {**request, "id": "cli-1"}
    lines = json.dumps({"cmd": "hello", "protocol": PROTOCOL, "client": "accounts --host"}) + "\n"
    lines += json.dumps(request) + "\n"
    proc = subprocess.Popen(attach_argv(host, args.data_dir, duration=ANSWER_WAIT), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(lines)
        proc.stdin.flush()
        for line in proc.stdout:  # attach ends by itself after ANSWER_WAIT seconds
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and ev.get("id") == "cli-1":
                return ev
            if isinstance(ev, dict) and ev.get("event") == "error" and ev.get("command") == "hello":
                raise TerminalError(f"{host.name}: {ev.get('message')}")
    finally:
        if proc.poll() is None:
            proc.kill()
        _out, err = proc.communicate()
    message, _retry = explain_ssh_failure(host, err, proc.returncode)
    raise TerminalError(f"{message} (no answer to {request['cmd']}; `accounts list` there shows whether it was made)")


def run_on_host(args: Any) -> int:
    from app.commands.accounts_cmd import _out, read_password, report_link
    from multi_user.credentials import MT5CredentialManager
    from multi_user.validation import check_password, parse_login, parse_server

    login, server = parse_login(args.login), parse_server(args.server)
    if args.accounts_command == "link":
        token = MT5CredentialManager(args.data_dir).encrypt(
            check_password(read_password(f"Password for {login} on {server} (on host {args.host}): ")))
        request = {"cmd": "link", "login": login, "server": server, "token": token, "label": args.label,
                   "investor": bool(args.investor), "dedicated": bool(args.dedicated), "terminal": args.terminal,
                   "verify": not args.no_verify}
    else:
        request = {"cmd": "unlink", "account": f"{login}@{server}"}
    answer = request_on_host(args, args.host, request)
    if answer.get("event") == "error":
        message = str(answer.get("message") or "failed").removeprefix(f"{request['cmd']}: ")
        raise _ERRORS.get(int(answer.get("exit_code") or 2), DeskError)(f"{message} (answered by host {args.host})")
    if request["cmd"] == "link":
        verified = bool(answer.get("verified")) and answer.get("balance") is not None
        report_link(args, {**answer["account"], "host": args.host},
                    {k: answer.get(k) for k in ("balance", "equity", "currency")} if verified else None)
    else:
        _out(args, {"unlinked": answer["account"], "host": args.host},
             f"Unlinked {answer['account']} on host {args.host}; its password was deleted there.")
    return 0


class RenameCommand:
    """``{"cmd": "rename", "account": KEY, "label": TEXT}`` on the control endpoint (item 3 of the round's
    brief: renaming a host's account from the desk): the app renames its own account (an empty label
    clears it) and answers ``renamed``; its ``accounts`` event tells every desk attached to it."""

    def _do_rename(self, cmd: dict[str, Any]) -> None:
        from app.commands.headless_commands import CommandError, clip

        key = self._account(cmd, "rename")  # type: ignore[attr-defined]
        label = cmd.get("label")
        if not isinstance(label, str):
            raise CommandError(f'"label" must be a string (empty: no name), not {clip(label)}', account=key)
        self.server.spawn(self._rename(key, label.strip(), cmd.get("id")))  # type: ignore[attr-defined]

    async def _rename(self, key: str, label: str, request_id: Any) -> None:
        from app.commands.headless_commands import answer

        try:
            await self.desk.update_account(key, label=label)  # type: ignore[attr-defined]
        except Exception as exc:
            self._failed("rename", exc, request_id)  # type: ignore[attr-defined]
            return
        self.client.send(answer({"event": "renamed", "account": key, "label": label}, request_id))  # type: ignore
