"""[N] in the headless host on the simulator: a broker disconnect longer than the delay (a short one
here) alerts once on a real loopback webhook, and its recovery once; the channel's token is in no
process's argv or environment (the host, its workers, its terminals), nor in the data dir or the logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_sim import sim_cli
from lane_harness import link_accounts
from test_alerts_receivers import JSON_TOKEN, files_containing
from test_alerts_receivers import hook as hook
from test_headless import Headless

pytestmark = pytest.mark.slow


def descendants(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, todo = {pid}, [pid]
    while todo:
        p = todo.pop()
        for child, parent in parents.items():
            if parent == p and child not in found:
                found.add(child)
                todo.append(child)
    return found


def test_disconnect_alerts_once_and_recovery_once_from_the_headless_host(data_dir: Path, demo_accounts, hook) -> None:
    from app.alerts_channels import mask_url, save_store
    from app.settings import save_settings
    from multi_user.credentials import MT5CredentialManager

    acc = demo_accounts[0]
    key = link_accounts(data_dir, [acc], dedicated={f"{acc['login']}@{acc['server']}"})[0]
    save_settings(data_dir, {"snapshot_rate": 0.2, "alert_disconnect_after": 2, "alert_fold_seconds": 0.2})
    url = hook.url()
    save_store(data_dir, {"version": 1, "next_id": 2, "channels": [
        {"id": 1, "url_encrypted": MT5CredentialManager(data_dir).encrypt(url), "masked": mask_url(url),
         "label": "phone", "events": ["disconnect"], "added": 0}]})
    host = Headless(data_dir, duration=120)
    try:
        host.wait_for(lambda e: e["event"] == "account_state" and e["account"] == key and e["state"] == "live", 60)
        assert sim_cli(data_dir, "fault", "disconnect", "--server", acc["server"]).returncode == 0
        host.wait_for(lambda e: e["event"] == "account_state" and e["account"] == key
                      and e["state"] in ("offline", "disconnected", "stale"))
        down = host.wait_for(lambda e: e["event"] == "alert_delivery" and "is down" in e["title"], 30)
        assert down["state"] == "sent" and down["count"] == 1 and down["masked"] == mask_url(url)
        for pid in descendants(host.proc.pid):  # the host, its workers and terminals
            for part in ("cmdline", "environ"):
                try:
                    seen = (Path(f"/proc/{pid}") / part).read_bytes()
                except OSError:
                    continue
                assert JSON_TOKEN.encode() not in seen, f"the token is in {part} of process {pid}"
        assert sim_cli(data_dir, "fault", "clear").returncode == 0
        mark = host.events.index(down)
        back = host.wait_for(lambda e: e["event"] == "alert_delivery" and "is live again" in e["title"], 30, mark)
        assert back["state"] == "sent"
        host.send({"cmd": "quit"})
        assert host.finish() == 0
    finally:
        if host.proc.poll() is None:
            host.proc.kill()
            host.proc.wait()
    titles = [m["title"] for m in hook.items]
    label = acc.get("name")
    who = f"{label} ({acc['login']}, {acc['server']})" if label else f"{acc['login']}, {acc['server']}"
    assert titles == [f"{who} is down", f"{who} is live again"], titles
    assert "connection to the broker" in hook.items[0]["message"]
    assert sum(1 for e in host.events if e["event"] == "alert_delivery") == 2
    assert files_containing(data_dir, JSON_TOKEN) == []  # alerts.json, activity log, logs/mt5desk.log
