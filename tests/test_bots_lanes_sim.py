"""Bots through the Desk with real lanes (worker and terminal processes on the simulator): bots on two
shared accounts take turns exactly as the lock allows, bots on dedicated lanes trade at once and a
raising one stops alone, and the headless commands start, refuse and stop them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from lane_harness import Recorder, fast_desk, link_accounts
from test_lanes_sim import pick

from app.commands.headless_commands import HeadlessCommands

pytestmark = pytest.mark.slow

BOT = '''
from multi_user.bots import Bot, Param
from multi_user.bots.examples._orders import market

class TBot(Bot):
    interval = 0.1
    params = {"fail_after": Param(int, 0, min=0)}

    def on_start(self):
        self.sent = 0

    def on_timer(self):
        if self.ctx.params["fail_after"] and self.sent >= self.ctx.params["fail_after"]:
            raise RuntimeError("planned failure")
        self.sent += 1
        market(self.mt5, "EURUSD", "buy" if self.sent % 2 else "sell", 0.01, "tbot", magic=9)
'''


def run(loop: asyncio.AbstractEventLoop, coro):
    return loop.run_until_complete(asyncio.wait_for(coro, 150))


def bot_ev(key: str, **match):
    return lambda e: (e.get("event") == "bot" and e.get("account") == key
                      and all(e.get(k) == v for k, v in match.items()))


def write_bot(data_dir: Path) -> None:
    (data_dir / "bots").mkdir(exist_ok=True)
    (data_dir / "bots" / "tbot.py").write_text(BOT)


def test_bots_on_two_shared_accounts_take_turns_as_the_lock_allows(qloop, data_dir: Path,
                                                                   demo_accounts: list[dict]) -> None:
    keys = link_accounts(data_dir, demo_accounts[:2])
    write_bot(data_dir)
    desk = fast_desk(data_dir)
    rec = Recorder(desk)
    answers: list[dict] = []
    answered = asyncio.Event()
    cmds = HeadlessCommands(desk, lambda ev: (answers.append(ev), answered.set()), lambda: None)

    async def scenario() -> None:
        await desk.start()
        cmds.started()
        try:
            cmds.feed(json.dumps({"cmd": "bot_start", "account": keys[0], "bot": "tbot", "params": {"fail_after": -1},
                                  "id": 7}))
            cmds.feed(json.dumps({"cmd": "bot_start", "account": keys[0], "bot": "nope"}))
            while len(answers) < 2:
                answered.clear()
                await asyncio.wait_for(answered.wait(), 20)
            assert answers[0]["id"] == 7 and "'fail_after' must be at least 0" in answers[0]["message"]
            assert "no bot named 'nope'" in answers[1]["message"]
            assert desk.bots.runs == {}  # nothing queued for a refused bot
            for key in keys:  # each holds the terminal for a turn of 1.2 s, then lets the other one have it
                cmds.feed(json.dumps({"cmd": "bot_start", "account": key, "bot": "tbot", "turns": 0.02}))
            await rec.wait_for(bot_ev(keys[1], state="waiting"))
            for _ in range(2):  # two full rounds
                for key in keys:
                    mark = len(rec.events)
                    await rec.wait_for(bot_ev(key, kind="order", ok=True), after=mark, timeout=40)
            for key in keys:
                cmds.feed(json.dumps({"cmd": "bot_stop", "account": key}))
            for key in keys:
                await rec.wait_for(bot_ev(key, kind="state", state="stopped"), timeout=40)
            # the owner switches the terminal away from a running bot (confirmed): it pauses, then the switch
            mark = len(rec.events)
            await desk.bots.start(keys[0], "tbot", {})
            await rec.wait_for(bot_ev(keys[0], kind="order", ok=True), after=mark)
            desk.activate(keys[1])  # not confirmed: it waits behind the bot
            desk.activate(keys[1], preempt=True)
            paused = await rec.wait_for(bot_ev(keys[0], kind="state", state="paused"), after=mark)
            assert "switched the terminal to" in paused["message"]
            await rec.wait_for(lambda e: e["event"] == "account_state" and e["account"] == keys[1]
                               and e["state"] == "live", after=rec.events.index(paused))
            assert desk.bots.runs[keys[0]].state == "paused"
        finally:
            await desk.stop()

    run(qloop, scenario())
    # replay the events: an order only while its account holds the terminal, one bot running at a time
    holder, running = None, set()
    for e in rec.events:
        if e["event"] == "lock" and e.get("lane") == "shared":
            holder = (e.get("holder") or {}).get("account")
        elif e["event"] == "bot" and e.get("kind") == "state":
            (running.add if e["state"] == "running" else running.discard)(e["account"])
            assert len(running) <= 1, "two bots ran on the shared terminal at once"
        elif e["event"] == "bot" and e.get("kind") == "order":
            assert e["account"] == holder, f"an order of {e['account']} while {holder} held the terminal"
    turns = [e["account"] for e in rec.events if e["event"] == "bot" and e.get("state") == "running"]
    assert turns[:4] == [keys[0], keys[1], keys[0], keys[1]]


def test_bots_on_dedicated_lanes_trade_at_once_and_a_raising_one_stops_alone(qloop, data_dir: Path,
                                                                            demo_accounts: list[dict]) -> None:
    chosen = pick(demo_accounts, 2, distinct_servers=True)
    keys = link_accounts(data_dir, chosen, dedicated={f"{a['login']}@{a['server']}" for a in chosen})
    write_bot(data_dir)
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def scenario() -> None:
        await desk.start()
        try:
            for key in keys:
                await rec.wait_for(lambda e, k=key: e["event"] == "snapshot" and e["account"] == k)
            await desk.bots.start(keys[0], "tbot", {"fail_after": 3})
            await desk.bots.start(keys[1], "tbot", {}, restart=True)
            for key in keys:
                await rec.wait_for(bot_ev(key, kind="state", state="running"))
            failed = await rec.wait_for(bot_ev(keys[0], kind="state", state="failed"))
            assert "RuntimeError: planned failure" in failed["message"] and "on_timer" in failed["traceback"]
            mark = len(rec.events)
            await rec.wait_for(bot_ev(keys[1], kind="order", ok=True), after=mark)  # the other one goes on
            assert desk.bots.runs[keys[1]].state == "running"
        finally:
            await desk.stop()

    run(qloop, scenario())
    both = set()
    for e in rec.events:  # both were running at the same time
        if e["event"] == "bot" and e.get("kind") == "state":
            (both.add if e["state"] == "running" else both.discard)(e["account"])
        if len(both) == 2:
            break
    assert both == set(keys)

    # the app starts again: the bot the owner chose to keep running starts again, the failed one does not
    desk = fast_desk(data_dir)
    rec = Recorder(desk)

    async def again() -> None:
        await desk.start()
        try:
            await rec.wait_for(bot_ev(keys[1], kind="state", state="running"))
            await rec.wait_for(bot_ev(keys[1], kind="order", ok=True))
            assert keys[0] not in desk.bots.runs
            desk.close_all(keys[1])  # a close-all stops the bot first, then runs
            stopped = await rec.wait_for(bot_ev(keys[1], kind="state", state="stopped"))
            assert "close-all" in stopped["message"]
            bot_job = await rec.wait_for(lambda e: e["event"] == "job" and e["job"] == "bot" and e["state"] == "done")
            assert bot_job["result"]["orders"] >= 1 and 10009 in bot_job["retcodes"]  # (a requote may be among them)
            closed = await rec.wait_for(lambda e: e["event"] == "job" and e["job"] == "close_all"
                                        and e["state"] == "done")
            assert closed["result"]["closed"] >= 1
            assert rec.events.index(bot_job) < rec.events.index(closed)
        finally:
            await desk.stop()

    run(qloop, again())
    assert json.loads((data_dir / "bots.json").read_text()) == {}  # stopped: not started at the next launch
