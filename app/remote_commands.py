"""The headless host's commands with the owner's hosts in it ([K] #18 item 2: ``run --headless`` attaches
to the configured hosts like the window does).

A command naming a host's account (``KEY@HOST``, as the desk's events name it) goes to that host as the
same command with the host's own key; the host runs it under its own lock and its answer (an ``error``,
a ``flatten`` summary) comes back as a relayed event with ``host`` (and the request's ``id``). A host
that is not online answers at once with an ``error`` (app/remote_link.py): nothing is kept to run later.
``{"cmd": "release", "host": NAME}`` releases that host's shared terminal. Every other command, and every
command naming a local account, is the headless host's own (app/commands/headless_commands.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.commands.headless_commands import CommandError, HeadlessCommands, clip

RELAYED_FIELDS = ("cmd", "id", "preempt")


def _relaying(name: str) -> Callable[[HostCommands, dict[str, Any]], None]:
    def handler(self: HostCommands, cmd: dict[str, Any]) -> None:
        if not self._relayed(cmd):
            getattr(HeadlessCommands, name)(self, cmd)

    handler.__name__ = name
    return handler


class HostCommands(HeadlessCommands):
    def __init__(self, view: Any, emit: Callable[[dict[str, Any]], None], quit: Callable[[], None]) -> None:
        """``view``: app/remote_view.py's DeskWithHosts around the local Desk."""
        super().__init__(view._desk, emit, quit)
        self.view = view

    def _relayed(self, cmd: dict[str, Any]) -> bool:
        """True when ``cmd`` names a host's account and was handed to that host."""
        account = cmd.get("account")
        where = self.view.split(account) if isinstance(account, str) else None
        if where is None:
            return False
        host, key = where
        if key not in {a["key"] for a in self.view.remote.links[host].accounts}:
            raise CommandError(f"no linked account {clip(account)} on host {host}", account=clip(account))
        self.view.remote.send(host, {**{k: cmd[k] for k in RELAYED_FIELDS if k in cmd}, "account": key})
        return True

    # a command naming a host's account is relayed; any other is the headless host's own
    _do_activate = _relaying("_do_activate")
    _do_cancel = _relaying("_do_cancel")
    _do_close_all = _relaying("_do_close_all")
    _do_flatten = _relaying("_do_flatten")

    def _do_release(self, cmd: dict[str, Any]) -> None:
        host = cmd.get("host")
        if host is None:
            super()._do_release(cmd)
            return
        if not isinstance(host, str) or host not in self.view.remote.links:
            raise CommandError(f"no host named {clip(host)}")
        self.view.remote.send(host, {k: cmd[k] for k in RELAYED_FIELDS if k in cmd})
