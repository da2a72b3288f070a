"""``hosts add|list|remove|trust|test``: the owner's other machines, reached over SSH (docs/HOSTS.md).

- ``hosts add NAME DEST [--port P] [--identity FILE] [--command CMD] [--fingerprint F]``: store the host
  and confirm its SSH host key: the host's keys are read (ssh-keyscan) and their SHA256 fingerprints
  shown; the owner types (or passes with ``--fingerprint``) the one the host itself shows
  (``ssh-keygen -lf`` there). Without a confirmation the host is stored but never connected to.
- ``hosts trust NAME [--fingerprint F]``: the same confirmation later (a new or reinstalled host).
- ``hosts list``: the hosts and whether their key is confirmed. ``hosts remove NAME``.
- ``hosts test NAME``: connect once (``ssh ... CMD attach``), check the protocol both ways and say
  what runs there: exit 0, or 3 with the reason in plain words.

Exit codes: 0 ok, 2 bad input (nothing stored), 3 the host could not be reached or refused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from app.remote_hosts import HostStore, attach_argv, check_host, explain_ssh_failure, host_fields
from app.remote_keys import HostKey, known, scan, trust
from multi_user.errors import BadInput, TerminalError

TEST_TIMEOUT = 60


def add_hosts_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="hosts_command", metavar="ACTION", required=True)
    add = sub.add_parser("add", help="add a machine reached over SSH and confirm its host key")
    add.add_argument("name", help="a short name shown next to its accounts, e.g. vps1")
    add.add_argument("destination", help="the SSH destination, e.g. trader@vps.example.com")
    add.add_argument("--port", type=int, help="the SSH port (default: 22 or your ~/.ssh/config)")
    add.add_argument("--identity", metavar="FILE", help="the private key file SSH logs in with")
    add.add_argument("--command", dest="remote_command", default="mt5-desk",
                     help="what runs MT5 Desk on the host (default: mt5-desk)")
    add.add_argument("--fingerprint", help="the host key's SHA256 fingerprint, as the host shows it")
    add.add_argument("--json", action="store_true")
    tr = sub.add_parser("trust", help="confirm a host's SSH host key (first time, or after it changed)")
    tr.add_argument("name")
    tr.add_argument("--fingerprint", help="the host key's SHA256 fingerprint, as the host shows it")
    tr.add_argument("--json", action="store_true")
    ls = sub.add_parser("list", help="the hosts")
    ls.add_argument("--json", action="store_true")
    rm = sub.add_parser("remove", help="forget a host (nothing on the host changes)")
    rm.add_argument("name")
    rm.add_argument("--json", action="store_true")
    te = sub.add_parser("test", help="connect once and say what runs there")
    te.add_argument("name")
    te.add_argument("--json", action="store_true")


def _out(args: Any, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload) if args.json else text)


def _confirm(args: Any, keys: list[HostKey], name: str) -> HostKey | None:
    """The key the owner confirmed, None when nobody could be asked (then nothing is trusted)."""
    fingerprint = args.fingerprint
    if not fingerprint:
        if args.json or sys.stdin is None or not sys.stdin.isatty():
            return None
        print(f"The host {name} offers these keys:", file=sys.stderr)
        for key in keys:
            print(f"  {key.kind:24} {key.fingerprint}", file=sys.stderr)
        print("On the host, `ssh-keygen -lf` on its host key file (Windows: "
              "C:\\ProgramData\\ssh\\ssh_host_ed25519_key.pub) shows its fingerprint.", file=sys.stderr)
        fingerprint = input("Paste the fingerprint the host shows (empty: decide later): ").strip()
        if not fingerprint:
            return None
    return trust(args.data_dir, keys, fingerprint)


def _trust_step(args: Any, host_name: str, keys: list[HostKey]) -> dict[str, Any]:
    confirmed = _confirm(args, keys, host_name)
    return {"confirmed": confirmed.fingerprint if confirmed else None,
            "offered": [{"kind": k.kind, "fingerprint": k.fingerprint} for k in keys]}


def run_hosts(args: Any) -> int:
    store = HostStore(args.data_dir)
    action = args.hosts_command
    if action == "add":
        host = check_host(args.name, args.destination, args.port, args.identity, args.remote_command)
        if any(h.name == host.name for h in store.load()):
            raise BadInput(f"a host named {host.name!r} exists already; remove it first or choose another name")
        keys = scan(host)
        if args.fingerprint and not any(k.fingerprint.removeprefix("SHA256:") == args.fingerprint.strip()
                                        .removeprefix("SHA256:") for k in keys):
            raise BadInput(f"the fingerprint {args.fingerprint!r} is none of the host's keys; nothing was stored")
        step = _trust_step(args, host.name, keys)
        store.add(host)
        _out(args, {"added": host_fields(host), **step}, _said(host.name, step, added=True))
        return 0
    if action == "trust":
        host = store.get(args.name)
        step = _trust_step(args, host.name, scan(host))
        _out(args, {"host": host.name, **step}, _said(host.name, step, added=False))
        return 0 if step["confirmed"] else 2
    if action == "list":
        rows = [{**host_fields(h), "key_confirmed": bool(known(args.data_dir, h))} for h in store.load()]
        text = "\n".join(f"{r['name']:12} {r['destination']}{':' + str(r['port']) if r['port'] else ''}  "
                         f"runs: {r['command']}  key: {'confirmed' if r['key_confirmed'] else 'NOT confirmed'}"
                         for r in rows) or "No hosts yet: `hosts add NAME user@machine` adds one."
        _out(args, {"hosts": rows}, text)
        return 0
    if action == "remove":
        host = store.remove(args.name)
        from app.remote_keys import forget

        forget(args.data_dir, host)
        _out(args, {"removed": host.name}, f"Removed host {host.name}; nothing on the machine itself changed.")
        return 0
    return _test(args, store)


def _said(name: str, step: dict[str, Any], added: bool) -> str:
    first = f"Added host {name}. " if added else ""
    if step["confirmed"]:
        return f"{first}Its host key {step['confirmed']} is confirmed; `hosts test {name}` connects once."
    offered = "\n".join(f"  {k['kind']:24} {k['fingerprint']}" for k in step["offered"])
    return (f"{first}Its host key is NOT confirmed, so the desk will not connect. It offers:\n{offered}\n"
            f"Compare with the host (`ssh-keygen -lf` on its host key), then "
            f"`hosts trust {name} --fingerprint SHA256:...`.")


def _test(args: Any, store: HostStore) -> int:
    from app.control import PROTOCOL  # Qt: only when a test runs, not for every command line

    host = store.get(args.name)
    if not known(args.data_dir, host):
        raise TerminalError(f"{host.name}: its host key is not confirmed yet; `hosts trust {host.name}` first")
    hello_line = json.dumps({"cmd": "hello", "protocol": PROTOCOL, "client": "hosts test"}) + "\n"
    try:
        done = subprocess.run(attach_argv(host, args.data_dir, duration=1), input=hello_line, capture_output=True,
                              text=True, timeout=TEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TerminalError(f"{host.name} did not answer within {TEST_TIMEOUT} s") from None
    events = []
    for line in done.stdout.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if isinstance(ev, dict):
            events.append(ev)
    hello = next((e for e in events if e.get("event") == "hello"), None)
    if hello is None:
        message, _retry = explain_ssh_failure(host, done.stderr, done.returncode)
        raise TerminalError(message)
    refused = next((e for e in events if e.get("event") == "error" and e.get("command") == "hello"), None)
    if hello.get("protocol") != PROTOCOL or refused is not None:
        raise TerminalError(f"{host.name} speaks control protocol {hello.get('protocol')}, this desk {PROTOCOL}: "
                            "update the older of the two")
    accounts = hello.get("accounts") or []
    payload = {"host": host.name, "protocol": hello.get("protocol"), "kind": hello.get("kind"),
               "pid": hello.get("pid"), "accounts": [a.get("key") for a in accounts]}
    _out(args, payload, f"{host.name}: MT5 Desk ({hello.get('kind')}, pid {hello.get('pid')}) answers over SSH, "
                        f"protocol {PROTOCOL}, {len(accounts)} accounts.")
    return 0
