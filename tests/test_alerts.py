"""[N] alerts: the pure rules (one alert per crossing, a disconnect once after the delay and its recovery
once), the outbox (folding with a count, rate limit, quiet hours, retry, late), masking, and the engine
in a Desk sending to a real loopback webhook (50 identical events -> one message; a failing channel is
retried, reported in the activity log and on the other channel)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lane_harness import Recorder
from test_alerts_receivers import JSON_TOKEN, HttpReceiver, files_containing, free_port
from test_alerts_receivers import hook as hook

from app.alerts_channels import mask_url, save_store, scrub, secrets_of
from app.alerts_fold import ChannelQueue, compose
from multi_user.alert_rules import Alert, AlertRules, describe_account, in_quiet_hours, owner_zone, parse_quiet_hours

KEY = "1001@Demo-Server"


def rules(**kw: Any) -> AlertRules:
    return AlertRules(describe=lambda k: describe_account({"label": "FTMO 100k", "login": 1001,
                                                            "server": "Demo-Server"}, k), **kw)


def state(s: str, ts: float = 0.0, msg: str = "") -> dict[str, Any]:
    return {"event": "account_state", "account": KEY, "state": s, "message": msg, "ts": ts}


# ---- rules ----------------------------------------------------------------------------------------
def test_disconnect_alerts_once_after_the_delay_and_recovery_once() -> None:
    r = rules(disconnect_after=30)
    assert r.on_event(state("live", 0), 0) == []
    assert r.on_event(state("disconnected", 10, "the terminal has no connection to the broker"), 10) == []
    assert r.tick(39) == []
    down = r.tick(40.5)
    assert len(down) == 1 and down[0].category == "disconnect" and down[0].level == "error"
    assert down[0].title == "FTMO 100k (1001, Demo-Server) is down"
    assert "no connection to the broker (for 30 s)" in down[0].body
    assert r.on_event(state("stale", 45), 45) == [] and r.tick(100) == []  # still the same outage
    back = r.on_event(state("live", 130), 130)
    assert len(back) == 1 and back[0].title.endswith("is live again") and "2 min 0 s" in back[0].body
    assert r.on_event(state("live", 131), 131) == [] and r.tick(500) == []


def test_a_short_outage_and_switching_away_raise_nothing() -> None:
    r = rules(disconnect_after=30)
    r.on_event(state("live"), 0)
    r.on_event(state("stale", 1), 1)
    assert r.on_event(state("live", 20), 20) == [] and r.tick(60) == []
    r.on_event(state("disconnected", 70), 70)
    r.on_event(state("idle", 71), 71)  # the owner switched to another account
    assert r.tick(200) == []
    r.on_event(state("offline", 300), 300)  # never live since: not a disconnect of a live account
    assert r.tick(400) == []


def test_an_account_unlinked_while_down_raises_nothing() -> None:
    r = rules(disconnect_after=30)
    r.on_event(state("live"), 0)
    r.on_event(state("disconnected", 1), 1)
    r.on_event({"event": "accounts", "accounts": [{"key": "2@Other"}]}, 2)
    assert r.tick(100) == []


def guard(level: str, coverage: str = "live") -> dict[str, Any]:
    return {"event": "guard", "account": KEY, "level": level, "coverage": coverage, "equity": 95000.0,
            "balance": 96000.0, "daily_floor": 94000.0, "daily_headroom": 1000.0, "total_floor": 90000.0,
            "total_headroom": 5000.0, "hard_stop": True}


def test_guard_alerts_once_per_crossing_and_a_breach_is_critical() -> None:
    r = rules()
    assert r.on_event(guard("ok"), 0) == []
    warn = r.on_event(guard("warning"), 1)
    assert len(warn) == 1 and not warn[0].critical and "is near a loss floor" in warn[0].title
    assert "equity 95,000.00" in warn[0].body and "daily floor 94,000.00 (room 1,000.00)" in warn[0].body
    assert r.on_event(guard("warning"), 2) == []
    breach = r.on_event(guard("breached"), 3)
    assert len(breach) == 1 and breach[0].critical and "breached" in breach[0].title
    assert r.on_event(guard("breached", "unguarded"), 4) == []
    assert r.on_event(guard("ok"), 5) == [] and len(r.on_event(guard("warning"), 6)) == 1


def test_hard_stop_fired_and_its_result_are_critical_and_its_runs_are_no_job_failures() -> None:
    r = rules()
    fired = r.on_event({"event": "activity", "kind": "alert", "level": "error", "account": KEY,
                        "title": "Hard stop on FTMO: closing all positions", "detail": "equity reached ..."}, 0)
    assert len(fired) == 1 and fired[0].critical and fired[0].category == "hard_stop"
    job = {"event": "job", "account": KEY, "job": "close_all", "message": "", "retcodes": []}
    assert r.on_event({**job, "state": "failed", "message": "requote"}, 1) == []  # the guard runs it again
    done = r.on_event({**job, "state": "done", "result": {"closed": 3, "failed": 0}}, 2)
    assert len(done) == 1 and done[0].critical and "all positions closed" in done[0].title
    assert "closed 3 position(s)" in done[0].body
    gave_up = r.on_event({"event": "activity", "kind": "alert", "level": "error", "account": KEY,
                          "title": "Hard stop on FTMO: positions may still be open", "detail": "..."}, 3)
    assert gave_up[0].critical
    assert r.on_event({"event": "activity", "kind": "job", "title": "Hard stop on nothing"}, 4) == []


def test_failed_jobs_alert_with_reason_and_retcodes_but_not_a_password_check() -> None:
    r = rules()
    job = {"event": "job", "account": KEY, "retcodes": [10018, 10018]}
    failed = r.on_event({**job, "job": "close_all", "state": "failed", "message": "market closed"}, 0)
    assert failed[0].title == "Close all on FTMO 100k (1001, Demo-Server) failed"
    assert failed[0].body == "market closed (retcodes 10018, 10018)"
    left = r.on_event({**job, "job": "close_all", "state": "done", "result": {"closed": 1, "failed": 2}}, 0)
    assert left[0].body.startswith("2 position(s) still open")
    assert r.on_event({**job, "job": "verify", "state": "failed", "message": "x"}, 0) == []
    assert r.on_event({**job, "job": "close_all", "state": "done", "result": {"closed": 2, "failed": 0}}, 0) == []
    assert r.on_event({**job, "job": "bot_order", "state": "failed", "message": "no money"}, 0)[0].title \
        .startswith("Bot order on")


def test_terminal_that_gave_up_and_alert_events_of_other_parts() -> None:
    r = rules()
    gave_up = r.on_event({"event": "terminal", "lane": f"dedicated {KEY}", "state": "failed", "restarts": 5,
                          "message": "exit code 1"}, 0)
    assert gave_up[0].title == "The terminal of FTMO 100k (1001, Demo-Server) gave up restarting"
    assert r.on_event({"event": "terminal", "lane": "shared", "state": "crashed"}, 0) == []
    margin = r.on_event({"event": "alert", "account": KEY, "kind": "margin", "level": "error",
                         "title": "Margin call ahead", "message": "margin level 120 %"}, 0)
    assert margin[0].category == "margin" and not margin[0].critical
    copier = r.on_event({"event": "alert", "kind": "copier", "title": "Follower out of sync", "critical": True}, 0)
    assert copier[0].category == "copier" and copier[0].critical


# ---- the outbox -----------------------------------------------------------------------------------
def alert(title: str = "X is down", ts: float = 0.0, critical: bool = False) -> Alert:
    return Alert("disconnect", title, "why", ts, KEY, "error", critical)


def test_identical_alerts_fold_with_a_count_and_the_rest_waits_for_the_rate_limit() -> None:
    q = ChannelQueue(fold_window=2, rate_limit=2, rate_window=600)
    for i in range(50):
        q.add(alert(ts=i * 0.01))
    assert q.due(1.0) == []  # still folding
    batch = q.due(2.5)
    assert len(batch) == 1 and batch[0].count == 50
    title, body, level = compose(batch, 2.5, owner_zone("UTC"))
    assert title == "X is down (×50)" and "50 times, first at 1970-01-01 00:00:00 UTC" in body and level == "error"
    q.succeeded(2.5)
    q.add(alert("B", 3))
    q.succeeded(q.due(6) and 6)  # second message of the window
    q.add(alert("C", 10))
    q.add(alert("D", 10, critical=True))
    sent = q.due(13)
    assert [p.alert.title for p in sent] == ["D"]  # over the limit: only the critical one goes
    q.succeeded(13)
    assert q.due(100) == [] and [p.alert.title for p in q.due(700)] == ["C"]


def test_quiet_hours_hold_all_but_critical_alerts() -> None:
    hours = parse_quiet_hours("22:00-07:00")
    prague = owner_zone("Europe/Prague")
    night = datetime(2026, 11, 25, 23, 30, tzinfo=prague).timestamp()
    day = datetime(2026, 11, 26, 7, 0, tzinfo=prague).timestamp()
    assert in_quiet_hours(night, hours, prague) and not in_quiet_hours(day, hours, prague)
    assert not in_quiet_hours(night, None, prague)
    with pytest.raises(ValueError):
        parse_quiet_hours("22-7")
    q = ChannelQueue(fold_window=0)
    q.add(alert("warning", night))
    q.add(alert("breach", night, critical=True))
    assert [p.alert.title for p in q.due(night + 1, quiet=True)] == ["breach"]
    q.succeeded(night + 1)
    held = q.due(day, quiet=False)
    assert [p.alert.title for p in held] == ["warning"]
    title, body, _ = compose(held, day, prague)
    assert title == "[late] warning" and "at 2026-11-25 23:30:00 CET (sent late, at 2026-11-26 07:00:00 CET)" in body


def test_a_failed_send_waits_with_a_growing_pause_and_folds_new_copies() -> None:
    q = ChannelQueue(fold_window=0, backoff=(5, 10))
    q.add(alert(ts=0))
    assert q.due(0)
    assert q.failed(0) == 5 and q.due(4) == []
    q.add(alert(ts=4))
    again = q.due(5)
    assert len(again) == 1 and again[0].count == 2 and again[0].alert.ts == 0
    assert q.failed(5) == 10 and q.failed(5) == 10  # the pause stops growing at the last step
    two = compose([again[0], *again], 300, None)[0]
    assert two.startswith("[late] MT5 Desk: 4 alerts")


# ---- masking ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("url", "masked", "secret"), [
    ("tgram://123456789:AAHsecretTokenValue/987654321", "tgram://***/…", "AAHsecretTokenValue"),
    ("mailto://me:pa55word@gmail.com", "mailto://***@gmail.com", "pa55word"),
    ("ntfys://ntfy.sh/my-private-topic-77", "ntfys://ntfy.sh/…", "my-private-topic-77"),
    ("json://user:T0ken@127.0.0.1:8080/hook", "json://***@127.0.0.1:8080/…", "T0ken"),
    ("discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js", "discord://***/…", "JHMHI8qBe7bk2ZwO5U711o3dV_js"),
])
def test_masked_urls_keep_no_secret(url: str, masked: str, secret: str) -> None:
    assert mask_url(url) == masked and secret not in mask_url(url)
    assert secret in secrets_of(url)
    assert secret not in scrub(f"could not reach {url} ({secret})", url)


# ---- the engine in a Desk ----------------------------------------------------------------------------
@pytest.fixture
def desk(data_dir: Path, qloop):
    from app.desk import Desk
    from app.settings import save_settings

    save_settings(data_dir, {"alert_fold_seconds": 0.3})
    d = Desk(data_dir, "sim")
    d._accounts = [{"key": KEY, "login": 1001, "server": "Demo-Server", "label": "FTMO 100k", "mode": "shared"}]
    yield d
    qloop.run_until_complete(d.stop())


def with_channels(desk: Any, qloop: Any, urls: list[str]) -> None:
    from multi_user.credentials import MT5CredentialManager

    creds = MT5CredentialManager(desk.data_dir)
    save_store(desk.data_dir, {"version": 1, "next_id": len(urls) + 1, "channels": [
        {"id": i + 1, "url_encrypted": creds.encrypt(u), "masked": mask_url(u), "label": None, "events": None,
         "added": 0} for i, u in enumerate(urls)]})
    qloop.run_until_complete(desk.alerts.start())


def wait(qloop: Any, rec: Recorder, predicate: Any, timeout: float = 30.0) -> dict[str, Any]:
    return qloop.run_until_complete(rec.wait_for(predicate, timeout))


def failed_job(i: int) -> dict[str, Any]:
    return {"event": "job", "id": f"j{i}", "lane": "shared", "account": KEY, "job": "close_all",
            "state": "failed", "message": "market closed", "retcodes": [10018]}


def test_fifty_identical_events_become_one_message_with_a_count(desk, qloop, hook) -> None:
    with_channels(desk, qloop, [hook.url()])
    rec = Recorder(desk)
    for i in range(50):
        desk.emit(failed_job(i))
    sent = wait(qloop, rec, lambda e: e.get("event") == "alert_delivery")
    assert sent["state"] == "sent" and sent["count"] == 50 and sent["alerts"] == 1
    msg = hook.wait_for(lambda m: True, 1)
    assert msg["title"] == "Close all on FTMO 100k (1001, Demo-Server) failed (×50)"
    assert "market closed (retcodes 10018)" in msg["message"] and "50 times, first at" in msg["message"]
    assert hook.requests == 1 and msg["type"] == "failure"


def test_a_failing_channel_is_retried_reported_and_alerted_on_the_other(desk, qloop, hook) -> None:
    bad = HttpReceiver()
    try:
        bad.fail_next = 2
        with_channels(desk, qloop, [bad.url(), hook.url()])
        failing = desk.alerts.channels[1]
        failing.queue.backoff = (0.3, 0.6)
        failing.queue.late_after = 0.5
        rec = Recorder(desk)
        desk.emit({"event": "terminal", "lane": "shared", "state": "failed", "restarts": 5, "message": "exit 1"})
        first = wait(qloop, rec, lambda e: e.get("event") == "alert_delivery" and e["channel"] == 1)
        assert first["state"] == "failed" and first["retry_in"] == 0.3 and JSON_TOKEN not in str(first)
        logged = wait(qloop, rec, lambda e: e.get("event") == "activity" and "fails" in e["title"])
        assert logged["kind"] == "failure" and logged["title"].startswith("Alert channel #1 json://***@127.0.0.1")
        # the receivers are waited for only once the app reported the delivery (the loop runs meanwhile)
        wait(qloop, rec, lambda e: e.get("event") == "alert_delivery" and e["channel"] == 2
             and e["title"].startswith("Alert channel #1") and e["state"] == "sent")
        hook.wait_for(lambda m: m["title"] == "The shared terminal gave up restarting", 1)
        told = hook.wait_for(lambda m: m["title"].startswith("Alert channel #1") and "fails" in m["title"], 1)
        assert "error=500" in told["message"] or "500" in told["message"]
        sent = wait(qloop, rec, lambda e: e.get("event") == "alert_delivery" and e["channel"] == 1
                    and e["state"] == "sent")
        assert bad.requests == 3 and sent["late"]
        msg = bad.wait_for(lambda m: True, 1)
        assert msg["title"] == "[late] The shared terminal gave up restarting" and "sent late" in msg["message"]
        wait(qloop, rec, lambda e: e.get("event") == "activity" and "works again" in e["title"])
        assert sum(1 for e in rec.events if e.get("event") == "activity" and "fails" in e["title"]) == 1
    finally:
        bad.stop()
    assert files_containing(desk.data_dir, JSON_TOKEN) == []  # activity log, settings, alerts.json


# ---- the outbox under any interleaving (hypothesis) -------------------------------------------------------
STEPS = st.lists(st.tuples(st.sampled_from(["add", "add_critical", "send_ok", "send_fail", "wait"]),
                           st.integers(0, 3), st.floats(0, 400)), max_size=60)


@settings(max_examples=100, deadline=None)
@given(STEPS, st.booleans())
def test_the_outbox_loses_and_doubles_nothing(steps, quiet) -> None:
    """Every alert added is sent exactly once (counted in its message), waits, or was dropped (counted);
    in quiet hours nothing non-critical goes out; a send is never started while one runs."""
    q = ChannelQueue(fold_window=2, rate_limit=2, rate_window=600, max_pending=5)
    now, added, delivered = 0.0, 0, 0
    for op, which, dt in steps:
        now += dt
        if op.startswith("add"):
            q.add(alert(f"A{which}", now, critical=op == "add_critical"))
            added += 1
            continue
        if op == "wait":
            continue
        running = bool(q.sending)
        batch = q.due(now, quiet=quiet)
        if running:
            assert batch == []
            batch = list(q.sending)
        if not batch:
            continue
        assert not quiet or all(p.alert.critical for p in batch)
        assert len({p.alert.fold_key for p in batch}) == len(batch)
        if op == "send_ok":
            delivered += sum(p.count for p in batch)
            q.succeeded(now)
        else:
            q.failed(now)
    waiting = sum(p.count for p in [*q.pending, *q.sending])
    assert delivered + waiting + q.dropped == added


def test_alerts_not_sent_before_a_quit_are_sent_late_at_the_next_start(data_dir: Path, qloop) -> None:
    import json

    from app.desk import Desk
    from app.settings import save_settings

    save_settings(data_dir, {"alert_fold_seconds": 0.1})
    port = free_port()  # nobody listens yet: the network is down
    url = f"json://desk:{JSON_TOKEN}@127.0.0.1:{port}/hook"
    first = Desk(data_dir, "sim")
    with_channels(first, qloop, [url])
    rec = Recorder(first)
    first.emit(failed_job(1))
    wait(qloop, rec, lambda e: e.get("event") == "alert_delivery" and e["state"] == "failed")
    qloop.run_until_complete(first.stop())
    kept = data_dir / "alerts_pending.json"
    saved = json.loads(kept.read_text())
    assert [p["alert"]["title"] for p in saved["1"]] == ["Close all on 1001, Demo-Server failed"]
    saved["1"][0]["alert"]["ts"] -= 600  # it happened ten minutes before the network came back
    kept.write_text(json.dumps(saved))
    receiver = HttpReceiver(port)
    second = Desk(data_dir, "sim")
    try:
        rec = Recorder(second)
        qloop.run_until_complete(second.alerts.start())
        sent = wait(qloop, rec, lambda e: e.get("event") == "alert_delivery")
        assert sent["state"] == "sent" and sent["late"]
        msg = receiver.wait_for(lambda m: True, 1)
        assert msg["title"] == "[late] Close all on 1001, Demo-Server failed" and "sent late" in msg["message"]
        assert not kept.exists()
    finally:
        qloop.run_until_complete(second.stop())
        receiver.stop()
    assert files_containing(data_dir, JSON_TOKEN) == []


def test_in_quiet_hours_only_the_breach_and_the_hard_stop_go_out(data_dir: Path, qloop, hook) -> None:
    from datetime import timedelta

    from app.desk import Desk
    from app.settings import save_settings

    now = datetime.now(owner_zone("UTC"))
    quiet = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    save_settings(data_dir, {"alert_fold_seconds": 0.1, "alert_quiet_hours": quiet, "alert_zone": "UTC"})
    desk = Desk(data_dir, "sim")
    try:
        with_channels(desk, qloop, [hook.url()])
        rec = Recorder(desk)
        desk.emit(failed_job(1))
        desk.emit({**guard("breached"), "event": "guard"})
        desk.log_activity({"kind": "alert", "level": "error", "account": KEY,
                           "title": "Hard stop on FTMO 100k: closing all positions", "detail": "equity reached ..."})
        sent = wait(qloop, rec, lambda e: e.get("event") == "alert_delivery")
        assert sent["state"] == "sent" and sent["alerts"] == 2
        msg = hook.wait_for(lambda m: True, 1)
        assert msg["title"] == "MT5 Desk: 2 alerts" and "breached a loss floor" in msg["message"]
        assert "Hard stop on FTMO 100k" in msg["message"] and "Close all" not in msg["message"]
        held = desk.alerts.channels[1].queue.pending
        assert [p.alert.category for p in held] == ["job"]
    finally:
        qloop.run_until_complete(desk.stop())
    assert (data_dir / "alerts_pending.json").exists()  # the held one goes out after the quiet hours


def test_hand_broken_alert_settings_fall_back_to_their_defaults() -> None:
    from app.alerts import ALERT_DEFAULTS, alert_settings

    got = alert_settings({"alert_disconnect_after": "soon", "alert_rate_limit": 3, "alert_quiet_hours": None})
    assert got == {**ALERT_DEFAULTS, "alert_rate_limit": 3}


def test_a_copier_skip_and_a_host_outage_alert_and_the_host_return_once() -> None:
    rules = AlertRules(describe=lambda k: f"<{k}>")
    skip = {"event": "copy", "master": "1@M", "follower": "2@F", "account": "2@F", "action": "skip",
            "master_position": 77, "symbol": "EURUSD", "reason": "the follower is blocked by its hard stop"}
    [a] = rules.on_event(skip, 100.0)
    assert (a.category, a.account) == ("copier", "2@F") and "did not copy EURUSD #77 of <1@M>" in a.title
    assert a.body == "the follower is blocked by its hard stop"
    assert rules.on_event({**skip, "action": "open", "ok": False}, 101.0) == []  # its failed job alerts instead
    down = {"event": "host", "host": "vps1", "state": "offline", "message": "the SSH connection dropped"}
    [a] = rules.on_event(down, 200.0)
    assert a.category == "host" and a.title == "Host vps1 is offline" and a.account is None
    assert rules.on_event({**down, "state": "connecting"}, 201.0) == []
    assert rules.on_event(down, 202.0) == [], "one alert per outage, however often the retry fails"
    [back] = rules.on_event({"event": "host", "host": "vps1", "state": "online"}, 290.0)
    assert back.title == "Host vps1 is online again" and back.body == "back after 90 s"
    assert rules.on_event({"event": "snapshot", "host": "vps1", "account": "3@S"}, 300.0) == []
