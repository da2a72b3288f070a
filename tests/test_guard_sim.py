"""[H] 2 on the simulator: a guarded dedicated account past its floor is flattened once by the hard
stop (positions closed and pending orders deleted through its lane's lock) and stays blocked after a
restart; other accounts untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import guard_store
from multi_user.mt5sim import manual
from multi_user.rules import make_rules
from tests.test_headless import Headless

pytestmark = pytest.mark.slow


def test_hard_stop_flattens_the_breached_account_once_and_the_block_survives_a_restart(
        data_dir: Path, sim_world: Path) -> None:
    host = Headless(data_dir, duration=90)
    with host:
        accounts = host.wait_for(lambda e: e["event"] == "accounts" and e["accounts"])["accounts"]
        dedicated = [a["key"] for a in accounts if a["mode"] == "dedicated" and not a["investor"]]
        snaps = {}
        for key in dedicated:
            snaps[key] = host.wait_for(lambda e, k=key: e["event"] == "snapshot" and e["account"] == k)
        breached = next(k for k in dedicated if snaps[k]["positions"] > 0)
        calm = next(k for k in dedicated if k != breached)
        # initial 1.5 × the balance: the static floor (1.35 ×) is above the equity, so it acts at once
        login, server = breached.split("@")
        pending = manual.trade(sim_world, int(login), server, "EURUSD", "buy", 0.1, pending=0.5)
        assert pending["retcode"] == 10009, pending
        bad = make_rules("custom", round(snaps[breached]["balance"] * 1.5, 2), hard_stop=True)
        ok = make_rules("custom", round(snaps[calm]["balance"], 2), total_pct=0.9, daily_pct=0.9)
        guard_store.save_rules(data_dir, {breached: {"rules": bad.to_json(), "armed_at": 1.0},
                                          calm: {"rules": ok.to_json(), "armed_at": 1.0}})
        host.wait_for(lambda e: e["event"] == "guard" and e["account"] == breached and e["blocked"]
                      and e["level"] == "breached")
        done = host.wait_for(lambda e: e["event"] == "job" and e["account"] == breached and e["job"] == "flatten"
                             and e["state"] in ("done", "failed"))
        assert done["state"] == "done" and done["result"]["failed"] == 0 and done["result"]["closed"] > 0
        assert done["result"]["deleted"] >= 1  # its pending orders too
        host.wait_for(lambda e: e["event"] == "snapshot" and e["account"] == breached and e["positions"] == 0,
                      after=host.events.index(done))
        calm_ev = host.wait_for(lambda e: e["event"] == "guard" and e["account"] == calm)
        assert calm_ev["level"] == "ok" and not calm_ev["blocked"]
        host.send({"cmd": "quit"})
        assert host.finish() == 0
    jobs = [e for e in host.events if e["event"] == "job" and e["job"] == "flatten"]
    assert {e["account"] for e in jobs} == {breached}
    assert len({e["id"] for e in jobs}) == 1  # one flatten, not one per snapshot
    alerts = [e for e in host.events if e["event"] == "activity" and e.get("account") == breached
              and e["kind"] == "alert" and "breached" in e["title"]]
    assert len(alerts) == 1
    risks = [e["state"] for e in host.events if e["event"] == "risk" and e["account"] == breached]
    assert risks.count("breached") == 1  # a risk event per change of state, not per snapshot
    stored = json.loads((data_dir / guard_store.GUARD_FILE).read_text())
    assert stored[breached]["state"]["blocked"] is True

    again = Headless(data_dir, duration=60)
    with again:
        ev = again.wait_for(lambda e: e["event"] == "guard" and e["account"] == breached
                             and e["coverage"] != "unguarded")
        assert ev["blocked"] is True
        again.send({"cmd": "quit"})
        assert again.finish() == 0
    assert not [e for e in again.events if e["event"] == "job" and e["job"] == "flatten"]
