"""``alerts add|list|remove|test|settings`` ([N] 1): the channels alerts are sent to.

A channel is one apprise URL (docs/ALERTS.md). It carries a token or a password, so:
- give it on stdin (``--url -`` or no ``--url``: the first line of stdin, or a hidden prompt on a
  terminal). ``--url URL`` works too, but a command's arguments can be read by other programs of this
  machine while it runs (``ps``) and may stay in the shell's history;
- it is stored only encrypted with the vault's key (<data>/alerts.json) and printed masked.

A running MT5 Desk re-reads the channels and the alert settings within seconds. ``test`` sends from
this process, so it works whether or not MT5 Desk runs; it exits 3 when a channel could not be reached.

JSON shapes (``--json``): add/remove: {"channel": {id, masked, label, events, added}}; list:
{"channels": [...]}; test: {"results": [{id, masked, ok, error}]}; settings: {"settings": {...}}.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from multi_user.errors import EXIT_TERMINAL, BadInput

SETTING_ARGS = {"disconnect_after": "alert_disconnect_after", "quiet_hours": "alert_quiet_hours",
                "zone": "alert_zone", "rate_limit": "alert_rate_limit"}


def add_alerts_arguments(sub: Any) -> None:
    p = sub.add_parser("alerts", help="where alerts are sent (Telegram, ntfy, e-mail, ...): add, list, remove, test")
    s = p.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)
    add = s.add_parser("add", help="add a channel (its URL: first line of stdin, or a hidden prompt)")
    add.add_argument("--url", metavar="URL", default="-",
                     help="'-' (default): read it from stdin. A URL given here is visible to other processes")
    add.add_argument("--events", metavar="LIST", help="comma-separated: guard, hard_stop, job, disconnect, "
                     "terminal, margin, copier, bot, host, channel (default: all)")
    add.add_argument("--label", help="a name for it (shown instead of the masked URL)")
    add.add_argument("--json", action="store_true")
    ls = s.add_parser("list", help="the channels, masked")
    ls.add_argument("--json", action="store_true")
    rm = s.add_parser("remove", help="remove channel N")
    rm.add_argument("id", type=int, metavar="N")
    rm.add_argument("--json", action="store_true")
    t = s.add_parser("test", help="send a test alert to channel N (default: every channel)")
    t.add_argument("id", type=int, nargs="?", metavar="N")
    t.add_argument("--json", action="store_true")
    st = s.add_parser("settings", help="show or change: disconnect delay, quiet hours, zone, rate limit")
    st.add_argument("--disconnect-after", type=float, metavar="S", help="alert when a live account is down this long")
    st.add_argument("--quiet-hours", metavar="HH:MM-HH:MM", help="non-critical alerts wait ('off' to clear)")
    st.add_argument("--zone", metavar="ZONE", help="IANA zone for the times in alerts ('' = this machine's)")
    st.add_argument("--rate-limit", type=int, metavar="N", help="messages per channel per 10 minutes")
    st.add_argument("--json", action="store_true")


def run_alerts(args: Any) -> int:
    from app import alerts_channels as store

    data_dir = args.data_dir
    cmd = args.alerts_command
    if cmd == "list":
        channels = [store.public(c) for c in store.load_store(data_dir)["channels"]]
        if args.json:
            print(json.dumps({"channels": channels}))
        else:
            print("\n".join(_line(c) for c in channels) or "No alert channels (alerts add --url - adds one).")
        return 0
    if cmd == "remove":
        rec = store.remove_channel(data_dir, args.id)
        _out(args, {"channel": rec}, f"Removed alert channel {_line(rec)}.")
        return 0
    if cmd == "settings":
        return _settings(args)
    from multi_user.credentials import MT5CredentialManager

    creds = MT5CredentialManager(data_dir)
    if cmd == "add":
        events = store.parse_events(args.events)  # checked before the URL is asked for
        url = _read_url() if args.url in (None, "-") else args.url
        rec = store.add_channel(data_dir, creds, url, events, args.label)
        _out(args, {"channel": rec}, f"Added alert channel {_line(rec)}. `alerts test {rec['id']}` sends a test.")
        return 0
    return _test(args, store, creds)


def _test(args: Any, store: Any, creds: Any) -> int:
    from app.alerts import test_message
    from app.settings import load_settings
    from multi_user.alert_rules import owner_zone

    channels = store.load_store(args.data_dir)["channels"]
    if args.id is not None:
        channels = [c for c in channels if int(c["id"]) == args.id]
        if not channels:
            raise BadInput(f"no alert channel #{args.id} (alerts list shows them)", field="id")
    if not channels:
        raise BadInput("No alert channels to test (alerts add --url - adds one)")
    title, body = test_message(owner_zone(load_settings(args.data_dir).get("alert_zone")))
    results = []
    for rec in channels:
        ok, error = store.send(creds.decrypt(rec["url_encrypted"]), title, body, "info")
        results.append({**{k: v for k, v in store.public(rec).items() if k in ("id", "masked", "label")},
                        "ok": ok, "error": error or None})
    if args.json:
        print(json.dumps({"results": results}))
    else:
        for r in results:
            print(f"#{r['id']} {r['label'] or r['masked']}: " + ("sent" if r["ok"] else f"FAILED: {r['error']}"))
    return 0 if all(r["ok"] for r in results) else EXIT_TERMINAL


def _settings(args: Any) -> int:
    from app.alerts import ALERT_DEFAULTS
    from app.settings import load_settings, save_settings
    from multi_user.alert_rules import owner_zone, parse_quiet_hours

    change: dict[str, Any] = {}
    if args.disconnect_after is not None:
        if not 1 <= args.disconnect_after <= 86400:
            raise BadInput("--disconnect-after is 1 to 86400 seconds", field="disconnect_after")
        change["alert_disconnect_after"] = args.disconnect_after
    if args.quiet_hours is not None:
        try:
            parse_quiet_hours(args.quiet_hours)
        except ValueError as exc:
            raise BadInput(str(exc), field="quiet_hours") from None
        change["alert_quiet_hours"] = "" if args.quiet_hours.strip().lower() in ("off", "none") else \
            args.quiet_hours.strip()
    if args.zone is not None:
        if args.zone and owner_zone(args.zone) is None:
            raise BadInput(f"unknown time zone {args.zone!r} (an IANA name such as Europe/Prague)", field="zone")
        change["alert_zone"] = args.zone
    if args.rate_limit is not None:
        if not 1 <= args.rate_limit <= 1000:
            raise BadInput("--rate-limit is 1 to 1000 messages per 10 minutes", field="rate_limit")
        change["alert_rate_limit"] = args.rate_limit
    if change:
        save_settings(args.data_dir, change)
    stored = load_settings(args.data_dir)
    current = {k: stored.get(k, v) for k, v in ALERT_DEFAULTS.items()}
    _out(args, {"settings": current}, "\n".join(f"{k.removeprefix('alert_')}: {v!r}" for k, v in current.items()))
    return 0


def _read_url() -> str:
    """First line of stdin when it is not a terminal, else a hidden prompt."""
    if sys.stdin is None:
        raise BadInput("No channel URL given: pipe it on stdin or run in a terminal", field="url")
    if sys.stdin.isatty():
        return getpass.getpass("Channel URL (hidden): ")
    return sys.stdin.readline().strip()


def _line(c: dict[str, Any]) -> str:
    events = ", ".join(c.get("events") or []) or "all events"
    return f"#{c['id']} {c['masked']}" + (f" ({c['label']})" if c.get("label") else "") + f" — {events}"


def _out(args: Any, payload: dict[str, Any], text: str) -> None:
    print(json.dumps(payload) if getattr(args, "json", False) else text)
