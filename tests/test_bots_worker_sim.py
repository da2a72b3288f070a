"""A bot inside a lane's worker, on the simulator (in this process): its orders are reported with their
retcodes, a raising bot stops alone, another account or a read-only one cannot be traded, a runaway
bot is stopped."""

from __future__ import annotations

import contextlib
import io
import json
import queue
import time
from pathlib import Path
from types import ModuleType

import pytest

from multi_user import worker_protocol as wp
from multi_user.bridge import UserMT5Bridge
from multi_user.worker import Worker

BOT = '''
from multi_user.bots import Bot, Param
from multi_user.bots.examples._orders import market

class T(Bot):
    interval = 0.001
    params = {"mode": Param(str, "once"), "symbol": Param(str, "EURUSD")}

    def on_start(self):
        self.sent = 0

    def on_timer(self):
        mode = self.ctx.params["mode"]
        if mode == "raise":
            raise ZeroDivisionError("the owner's bug")
        if mode == "login":
            self.mt5.login(1, password="x", server="y")
        if mode == "once" and self.sent:
            return
        self.sent += 1
        market(self.mt5, "EURUSD", "buy", 0.01, "test bot", magic=7)
'''


class Rig:
    def __init__(self, mt5: ModuleType, account: dict, data_dir: Path, password: str | None = None) -> None:
        self.out = io.BytesIO()
        self.worker = Worker(UserMT5Bridge(mt5, timeout_ms=10000), self.out, rate=3600, lane="shared")
        self.account = account
        self.data_dir = data_dir
        self.file = data_dir / "t_bot.py"
        self.file.write_text(BOT)
        self.rid = 0
        self.call("switch", login=account["login"], password=password or account["password"],
                  server=account["server"])

    def call(self, op: str, **fields: object) -> dict:
        self.rid += 1
        self.worker.handle(wp.encode({"id": self.rid, "op": op, **fields}))
        return next(m for m in self.lines() if m.get("id") == self.rid)

    def start(self, mode: str, **extra: object) -> dict:
        return self.call("bot_start", bot=str(self.file), params={"mode": mode}, login=self.account["login"],
                         server=self.account["server"], data_dir=str(self.data_dir), **extra)

    def lines(self) -> list[dict]:
        return [json.loads(x) for x in self.out.getvalue().splitlines()]

    def bot_events(self, kind: str) -> list[dict]:
        return [m for m in self.lines() if m.get("type") == "bot" and m.get("kind") == kind]

    def run_until(self, done, timeout: float = 20.0) -> None:
        """Drive the worker's loop (bot calls are due every millisecond) until ``done()``."""
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"not reached; bot events: {self.bot_events('state')}"
            self.worker.bot_step()


@pytest.fixture
def rig(mt5: ModuleType, demo_accounts: list[dict], data_dir: Path) -> Rig:
    return Rig(mt5, demo_accounts[0], data_dir)


def test_a_bot_order_is_sent_and_reported_with_its_retcode(rig: Rig, mt5: ModuleType) -> None:
    assert rig.start("once")["result"]["state"] == "running"
    rig.run_until(lambda: rig.bot_events("order"))
    order = rig.bot_events("order")[0]
    assert order["ok"] and order["retcode"] == mt5.TRADE_RETCODE_DONE and order["account"] == rig.worker.bot.account.key
    assert order["request"]["symbol"] == "EURUSD" and order["deal"] > 0
    stopped = rig.call("bot_stop")["result"]
    assert stopped["state"] == "stopped" and stopped["orders"] == 1 and stopped["retcodes"] == [10009]
    assert rig.bot_events("state")[-1]["state"] == "stopped"
    # stopped: no further call is made
    rig.worker.bot_step()
    assert len(rig.bot_events("order")) == 1


def test_a_raising_bot_fails_with_its_traceback_and_the_worker_goes_on(rig: Rig) -> None:
    rig.start("raise")
    rig.run_until(lambda: rig.bot_events("state")[-1]["state"] == "failed")
    failed = rig.bot_events("state")[-1]
    assert "ZeroDivisionError: the owner's bug" in failed["message"] and "on_timer" in failed["traceback"]
    assert rig.call("snapshot")["ok"]  # the lane still answers
    assert rig.start("once")["ok"]  # and a bot may start again


def test_a_bot_cannot_log_into_another_account(rig: Rig) -> None:
    rig.start("login")
    rig.run_until(lambda: rig.bot_events("state")[-1]["state"] == "failed")
    assert "may not call login()" in rig.bot_events("state")[-1]["message"]
    assert not rig.bot_events("order")


def test_an_order_is_refused_when_the_terminal_shows_another_account(rig: Rig, mt5: ModuleType,
                                                                     demo_accounts: list[dict]) -> None:
    rig.start("every")
    rig.run_until(lambda: rig.bot_events("order"))
    other = demo_accounts[1]
    assert mt5.login(other["login"], password=other["password"], server=other["server"])  # another program
    rig.run_until(lambda: rig.bot_events("state")[-1]["state"] == "failed")
    refused = [o for o in rig.bot_events("order") if o.get("refused")]
    assert len(refused) == 1 and "not" in refused[0]["refused"] and refused[0]["retcode"] is None
    assert all(o["ok"] for o in rig.bot_events("order") if not o.get("refused"))


def test_a_read_only_account_gets_no_bot(mt5: ModuleType, demo_accounts: list[dict], data_dir: Path) -> None:
    a = demo_accounts[0]
    rig = Rig(mt5, a, data_dir, password=a["investor_password"])
    answer = rig.start("once")
    assert not answer["ok"] and "read-only" in answer["error"]["message"]
    assert rig.worker.bot is None


def test_a_runaway_bot_is_stopped(rig: Rig) -> None:
    rig.start("every", max_orders_per_minute=3)
    rig.run_until(lambda: rig.bot_events("state")[-1]["state"] == "failed")
    assert "runaway: more than 3 orders in a minute" in rig.bot_events("state")[-1]["message"]
    orders = rig.bot_events("order")
    assert len([o for o in orders if not o.get("refused")]) == 3 and "runaway" in orders[-1]["refused"]


def test_bad_parameters_are_refused_before_anything_runs(rig: Rig) -> None:
    answer = rig.call("bot_start", bot="ma_cross", params={"fast": 0}, login=rig.account["login"],
                      server=rig.account["server"])
    assert not answer["ok"] and answer["error"]["kind"] == wp.ERR_BAD_REQUEST
    assert "'fast' must be at least 1" in answer["error"]["message"] and rig.worker.bot is None
    check = rig.call("bot_check", bot="grid", params={"levels": "4"})["result"]
    assert check["values"]["levels"] == 4 and check["name"] == "grid"


@pytest.mark.parametrize(("bot", "params"), [("ma_cross", {"fast": 2, "slow": 5}), ("grid", {"step_points": 1})])
def test_the_example_bots_trade_on_the_simulator(rig: Rig, mt5: ModuleType, bot: str, params: dict) -> None:
    answer = rig.call("bot_start", bot=bot, params=params, login=rig.account["login"], server=rig.account["server"])
    assert answer["ok"], answer
    deadline = time.monotonic() + 60
    while not rig.bot_events("order"):  # the grid waits for the price to move one point
        assert time.monotonic() < deadline and rig.worker.bot.active, rig.bot_events("state")
        with contextlib.suppress(queue.Empty):  # the worker's own loop: idle until the bot's next call is due
            rig.worker.requests.get(timeout=rig.worker.bot_wait())
        rig.worker.bot_step()
    order = rig.bot_events("order")[0]
    assert order["ok"] and order["retcode"] == mt5.TRADE_RETCODE_DONE and order["request"]["comment"] == bot
    deals = mt5.history_deals_get(0, time.time() + 86400 * 2) or ()
    assert any(d.order == order["order"] for d in deals)  # in the account's history
    assert rig.call("bot_stop")["result"]["state"] == "stopped"
